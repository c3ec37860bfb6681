// Our rollout stage's output: trajectory lines that carry, beside the Trajectory record, the rollout's identity, totals
// and verification (libs/domain's RolloutTrajectory), and the runner's DuckDB file, whose `agent_rollouts` rows hold the
// finished trajectories and whose `agent_steps` rows hold each step's raw LLM call (request and response as sent and
// received: what fine-tuning rows are built from). The file is opened read-only; only finished rollouts are imported.
import { JsonlFileError, Trajectory } from "@swe-gym/domain"
import { quoteIdentifier, quoteLiteral, Store } from "@swe-gym/store"
import { Chunk, Effect, Either, Option, Schema, Stream } from "effect"
import { readdirSync } from "node:fs"
import type { ImportedTrajectory, LlmCallRecord } from "../imported-trajectory.js"
import { fileReject } from "./file-decoding.js"
import { fromOwnTrajectory, type OwnTrajectoryContext } from "./own-trajectory.js"

/** A trajectory line, with the rollout stage's fields when it has them (all optional: plain trajectories decode too). */
export const RolloutLine = Schema.extend(
  Trajectory,
  Schema.Struct({
    agent: Schema.optional(Schema.String),
    config_hash: Schema.optional(Schema.String),
    temperature: Schema.optional(Schema.Number),
    cost_usd: Schema.optional(Schema.Number),
    exit_detail: Schema.optional(Schema.String),
    resolved: Schema.optional(Schema.Boolean),
    failure_class: Schema.optional(Schema.String),
    usage: Schema.optional(Schema.Struct({ prompt_tokens: Schema.Number, completion_tokens: Schema.Number })),
  }),
)
export type RolloutLine = typeof RolloutLine.Type

/** A trajectory line (plain or from the rollout stage) as an imported trajectory, with its grading when it was verified. */
export const fromRolloutLine = (t: RolloutLine, context: OwnTrajectoryContext, llmCalls: ReadonlyArray<LlmCallRecord> = []): ImportedTrajectory => {
  const base = fromOwnTrajectory(t, context)
  return {
    ...base,
    run: {
      ...base.run,
      agent: t.agent ?? base.run.agent,
      agent_config: t.config_hash === undefined ? null : { config_hash: t.config_hash },
      sampling: t.temperature === undefined ? null : { temperature: t.temperature },
    },
    exit_detail: t.exit_detail ?? null,
    cost: t.cost_usd ?? null,
    llmCallLog: llmCalls,
    llm_calls: Math.max(base.llm_calls, llmCalls.length),
    reportedTokens: t.usage === undefined ? null : { prompt: t.usage.prompt_tokens, completion: t.usage.completion_tokens },
    evaluation: t.resolved === undefined ? null : {
      resolved: t.resolved,
      outcome: t.failure_class ?? (t.resolved ? "resolved" : "unresolved"),
      patch_applied: null,
      report: null,
      source_file: context.file,
    },
  }
}

const StepRecord = Schema.Struct({
  llm_call: Schema.optional(Schema.Struct({
    model: Schema.optional(Schema.String),
    request: Schema.Unknown,
    response: Schema.Unknown,
    usage: Schema.optional(Schema.Struct({ prompt_tokens: Schema.Number, completion_tokens: Schema.Number, total_tokens: Schema.Number })),
    latency_ms: Schema.optional(Schema.Number),
  })),
})
const decodeStep = Schema.decodeUnknownOption(Schema.parseJson(StepRecord))
const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(RolloutLine))

const RolloutRow = Schema.Struct({ rollout_key: Schema.String, run_id: Schema.String, attempt: Schema.Number, trajectory: Schema.String })
const StepRow = Schema.Struct({ step: Schema.Number, record: Schema.String })

/** The agent's table names (libs/agent's migration "agent" v1). */
export interface RolloutTables {
  readonly rollouts: string
  readonly steps: string
}
export const defaultRolloutTables: RolloutTables = { rollouts: "agent_rollouts", steps: "agent_steps" }

/**
 * Segment files of a runner database's step journal (`<db>.steps/segment-*.jsonl`, written by libs/agent's step
 * recorder): steps not yet copied into agent_steps. The rollout stage deletes them as it copies; any left over means a
 * run stopped early, and the next rollout run on the database replays them.
 */
export const pendingStepJournal = (file: string): ReadonlyArray<string> => {
  try {
    return readdirSync(`${file}.steps`).filter((name) => /^segment-\d+\.jsonl$/.test(name)).sort()
  } catch {
    return []
  }
}

/** Finished rollouts of a runner database, in pages of 100, each with the raw LLM calls of its last attempt. */
export const rolloutsOfDatabase = (
  file: string,
  options: { readonly dataset: string | null; readonly model: string | null; readonly runId?: string },
  tables: RolloutTables = defaultRolloutTables,
) =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const store = yield* Store
    const pending = pendingStepJournal(file)
    if (pending.length > 0) {
      return yield* Effect.fail(
        new JsonlFileError({
          path: `${file}.steps`,
          operation: `importing the rollouts of ${file}`,
          detail: `a rollout run on this database stopped (kill -9, a crash or a failed write) with steps in its journal (${pending.join(", ")}) that it may not have copied into the database, so trajectories could be imported without some of their LLM calls`,
          hint: "run `runner rollout --db` with this database again (it first copies the journal's missing steps in and deletes the journal, then resumes the run), then import",
        }),
      )
    }
    const alias = `rollouts_${Math.random().toString(36).slice(2, 10)}`
    yield* Effect.acquireRelease(
      store.run(`ATTACH ${quoteLiteral(file)} AS ${alias} (READ_ONLY)`),
      () => Effect.ignore(store.run(`DETACH ${alias}`)),
    )
    const rollouts = `${alias}.${quoteIdentifier(tables.rollouts)}`
    const steps = `${alias}.${quoteIdentifier(tables.steps)}`
    const page = (after: string) =>
      store.query(
        `SELECT rollout_key, run_id, attempt, CAST(trajectory AS VARCHAR) AS trajectory FROM ${rollouts}
         WHERE trajectory IS NOT NULL AND rollout_key > ? ORDER BY rollout_key LIMIT 100`,
        [after],
        RolloutRow,
      )
    const convert = (row: typeof RolloutRow.Type) =>
      Effect.gen(function*() {
        const decoded = decodeLine(row.trajectory)
        if (Either.isLeft(decoded)) {
          return Either.left(fileReject(file, 0, "schema", `rollout ${row.rollout_key}: ${decoded.left.message.split("\n")[0] ?? ""}`, row.trajectory, row.rollout_key))
        }
        const stepRows = yield* store.query(
          `SELECT step, CAST(record AS VARCHAR) AS record FROM ${steps} WHERE rollout_key = ? AND attempt = ? ORDER BY step`,
          [row.rollout_key, row.attempt],
          StepRow,
        )
        const calls: Array<LlmCallRecord> = stepRows.flatMap((s) => {
          const call = Option.getOrUndefined(decodeStep(s.record))?.llm_call
          return call === undefined ? [] : [{
            model: call.model ?? null,
            request: call.request,
            response: call.response,
            prompt_tokens: call.usage?.prompt_tokens ?? null,
            completion_tokens: call.usage?.completion_tokens ?? null,
            total_tokens: call.usage?.total_tokens ?? null,
            latency_ms: call.latency_ms ?? null,
          }]
        })
        return Either.right(fromRolloutLine(decoded.right, {
          file,
          line: 0,
          runId: options.runId ?? row.run_id,
          dataset: options.dataset,
          model: options.model,
        }, calls))
      })
    return Stream.paginateChunkEffect("", (after) =>
      Effect.map(page(after), (rows) => {
        const last = rows[rows.length - 1]
        return [Chunk.fromIterable(rows), last === undefined || rows.length < 100 ? Option.none<string>() : Option.some(last.rollout_key)] as const
      })
    ).pipe(Stream.mapEffect(convert))
  }))
