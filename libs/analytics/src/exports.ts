// Exports for trainers: SFT JSONL of resolved trajectories (built from the raw LLM call log when it holds the requests,
// else from the imported messages), verifier (ORM) JSONL with seeded negatives, and SWE-bench predictions JSONL.
// Trajectories are read one at a time by id, so an export of any size runs in flat memory.
import type { FileSystem } from "@effect/platform"
import { openJsonlWriter } from "@swe-gym/domain"
import { quoteLiteral, Store } from "@swe-gym/store"
import { Effect, Option, Schema } from "effect"
import { cappedSuccessesSql, dedupSuccessesSql } from "./analyses.js"
import { contentText } from "./imports/file-decoding.js"
import { llmCallsTable, messagesTable, outcomesView, toolCallsTable, trajectoriesTable } from "./tables.js"
import type { TokenCounter } from "./token-counts.js"
import { endWithAssistant, rowTokens, toTextFormat, type ToolFormat, type TrainingMessage, TrainingRow, verifierRow } from "./training-rows.js"

const RequestMessage = Schema.Struct({
  role: Schema.Literal("system", "developer", "user", "assistant", "tool"),
  content: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.Unknown), Schema.Null)),
  tool_call_id: Schema.optional(Schema.String),
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
    id: Schema.String,
    function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
  })))),
})
type RequestMessage = typeof RequestMessage.Type

const LoggedRequest = Schema.parseJson(Schema.Struct({
  messages: Schema.Array(RequestMessage),
  tools: Schema.optional(Schema.NullOr(Schema.Array(Schema.Unknown))),
}))
const LoggedResponse = Schema.parseJson(Schema.Struct({
  choices: Schema.NonEmptyArray(Schema.Struct({ message: RequestMessage })),
}))
const ToolsJson = Schema.parseJson(Schema.Array(Schema.Unknown))

/** A chat message of a logged request or response as a training message. */
export const trainingMessage = (m: RequestMessage): TrainingMessage => {
  const text = contentText(m.content ?? "")
  switch (m.role) {
    case "assistant": {
      const calls = (m.tool_calls ?? []).map((c) => ({ id: c.id, type: "function" as const, function: c.function }))
      return calls.length > 0 ? { role: "assistant", content: text === "" ? null : text, tool_calls: calls } : { role: "assistant", content: text }
    }
    case "tool":
      return { role: "tool", tool_call_id: m.tool_call_id ?? "", content: text }
    case "user":
      return { role: "user", content: text }
    default:
      return { role: "system", content: text }
  }
}

const LastCall = Schema.Struct({ request: Schema.String, response: Schema.String })
const StoredMessage = Schema.Struct({
  idx: Schema.Number,
  role: Schema.Literal("system", "user", "assistant", "tool"),
  content: Schema.String,
  tool_call_id: Schema.NullOr(Schema.String),
  calls: Schema.Array(Schema.Struct({ call_id: Schema.String, name: Schema.String, arguments: Schema.String })),
})
const Tools = Schema.Struct({ tools: Schema.NullOr(Schema.String) })

/** A trajectory's conversation for training: the last logged LLM call's request and response when logged, else the stored messages. */
export const trajectoryConversation = Effect.fn("analytics.trajectoryConversation")(function*(trajectoryId: string) {
  const store = yield* Store
  const logged = yield* store.query(
    `SELECT CAST(request AS VARCHAR) AS request, CAST(response AS VARCHAR) AS response FROM ${llmCallsTable}
     WHERE trajectory_id = ? AND request IS NOT NULL AND response IS NOT NULL ORDER BY call_idx DESC LIMIT 1`,
    [trajectoryId],
    LastCall,
  )
  const last = logged[0]
  if (last !== undefined) {
    const request = Schema.decodeOption(LoggedRequest)(last.request)
    const response = Schema.decodeOption(LoggedResponse)(last.response)
    if (Option.isSome(request) && Option.isSome(response)) {
      return {
        messages: [...request.value.messages.map(trainingMessage), trainingMessage(response.value.choices[0].message)],
        tools: request.value.tools ?? null,
        source: "llm-calls" as const,
      }
    }
  }
  const rows = yield* store.query(
    `SELECT m.idx, m.role, m.content, m.tool_call_id,
       coalesce(list({'call_id': c.call_id, 'name': c.name, 'arguments': c.arguments} ORDER BY c.call_idx) FILTER (WHERE c.call_id IS NOT NULL), []) AS calls
     FROM ${messagesTable} m LEFT JOIN ${toolCallsTable} c ON c.trajectory_id = m.trajectory_id AND c.message_idx = m.idx
     WHERE m.trajectory_id = ? GROUP BY ALL ORDER BY m.idx`,
    [trajectoryId],
    StoredMessage,
  )
  const tools = yield* store.query(`SELECT CAST(tools AS VARCHAR) AS tools FROM ${trajectoriesTable} WHERE trajectory_id = ?`, [trajectoryId], Tools)
  const toolsText = tools[0]?.tools ?? null
  const messages = rows.map((m): TrainingMessage =>
    trainingMessage({
      role: m.role,
      content: m.content,
      ...(m.tool_call_id === null ? {} : { tool_call_id: m.tool_call_id }),
      tool_calls: m.calls.map((c) => ({ id: c.call_id, function: { name: c.name, arguments: c.arguments } })),
    })
  )
  return {
    messages,
    tools: toolsText === null ? null : Option.getOrNull(Schema.decodeOption(ToolsJson)(toolsText)),
    source: "messages" as const,
  }
})

/** Options of the SFT export. */
export interface SftExportOptions {
  readonly out: string
  readonly format: ToolFormat
  /** Keep at most k successes per (model, instance), fewest LLM calls first (Table 4). */
  readonly capPerInstance?: number
  /** Keep one success per (model, instance), chosen with this seed (Table 7). */
  readonly dedupSeed?: string
  /** Drop rows longer than this many tokens (by `counter`). */
  readonly maxTokens?: number
  readonly counter?: TokenCounter
}

/** What an export wrote. */
export interface ExportSummary {
  readonly file: string
  readonly written: number
  readonly droppedTooLong: number
  readonly fromLlmCalls: number
}

const Id = Schema.Struct({ trajectory_id: Schema.String })

/** Writes the SFT JSONL of resolved trajectories; returns the counts. */
export const exportSft = Effect.fn("analytics.exportSft")(function*(options: SftExportOptions) {
  const store = yield* Store
  const selection = options.capPerInstance !== undefined
    ? { sql: `SELECT trajectory_id FROM (${cappedSuccessesSql}) ORDER BY trajectory_id`, params: [options.capPerInstance] }
    : options.dedupSeed !== undefined
    ? { sql: `SELECT trajectory_id FROM (${dedupSuccessesSql}) ORDER BY trajectory_id`, params: [options.dedupSeed] }
    : { sql: `SELECT trajectory_id FROM ${outcomesView} WHERE resolved ORDER BY trajectory_id`, params: [] }
  const ids = yield* store.query(selection.sql, selection.params, Id)
  const writer = yield* openJsonlWriter(options.out, TrainingRow)
  let droppedTooLong = 0
  let fromLlmCalls = 0
  for (const { trajectory_id } of ids) {
    const conversation = yield* trajectoryConversation(trajectory_id)
    const messages = endWithAssistant(conversation.messages)
    const row: TrainingRow = options.format === "text" || conversation.tools === null
      ? { messages: options.format === "text" ? toTextFormat(messages) : messages }
      : { messages, tools: conversation.tools }
    if (options.maxTokens !== undefined && options.counter !== undefined && rowTokens(row, options.counter.count) > options.maxTokens) {
      droppedTooLong += 1
      continue
    }
    if (conversation.source === "llm-calls") fromLlmCalls += 1
    yield* writer.write(row)
  }
  return { file: options.out, written: (yield* writer.written), droppedTooLong, fromLlmCalls } satisfies ExportSummary
}, Effect.scoped)

/** Options of the verifier export. */
export interface VerifierExportOptions {
  readonly out: string
  /** Negatives per positive (default 1: the paper's 1:1). */
  readonly negativesPerPositive?: number
  readonly seed?: string
}

const Labelled = Schema.Struct({ trajectory_id: Schema.String, patch: Schema.String, resolved: Schema.Boolean })

/**
 * Writes verifier (ORM) rows: every resolved trajectory (YES) and ceil(ratio × positives) unresolved ones (NO), chosen
 * and ordered by md5(seed:id). Ungraded trajectories are left out.
 */
export const exportVerifier = Effect.fn("analytics.exportVerifier")(function*(options: VerifierExportOptions) {
  const store = yield* Store
  const seed = options.seed ?? "0"
  const ratio = options.negativesPerPositive ?? 1
  const rows = yield* store.query(
    `WITH pos AS (SELECT trajectory_id, patch, resolved FROM ${outcomesView} WHERE resolved),
          neg AS (SELECT trajectory_id, patch, resolved FROM ${outcomesView} WHERE NOT resolved
                  ORDER BY md5(? || ':' || trajectory_id), trajectory_id
                  LIMIT (SELECT CAST(ceil(count(*) * ?) AS BIGINT) FROM pos))
     SELECT * FROM (SELECT * FROM pos UNION ALL SELECT * FROM neg) ORDER BY md5(? || ':' || trajectory_id), trajectory_id`,
    [seed, ratio, seed],
    Labelled,
  )
  const writer = yield* openJsonlWriter(options.out, TrainingRow)
  for (const r of rows) {
    const conversation = yield* trajectoryConversation(r.trajectory_id)
    yield* writer.write(verifierRow(conversation.messages, r.patch, r.resolved))
  }
  const positives = rows.filter((r) => r.resolved).length
  return { file: options.out, written: yield* writer.written, positives, negatives: rows.length - positives }
}, Effect.scoped)

/** Writes SWE-bench predictions JSONL (instance_id, model_name_or_path, model_patch) of one sample per instance and model. */
export const exportPredictions = Effect.fn("analytics.exportPredictions")(function*(options: { readonly out: string; readonly sample?: number; readonly runId?: string }) {
  const store = yield* Store
  const where = options.runId === undefined ? "" : ` AND run_id = ${quoteLiteral(options.runId)}`
  return yield* store.exportTo(
    {
      query: `SELECT instance_id, model AS model_name_or_path, patch AS model_patch FROM ${trajectoriesTable}
              WHERE sample = ${Math.trunc(options.sample ?? 0)}${where} ORDER BY model, instance_id`,
    },
    options.out,
    "jsonl",
  )
})

/** The requirements of the exports. */
export type ExportRequirements = Store | FileSystem.FileSystem
