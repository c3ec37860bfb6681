// OpenHands' evaluation `output.jsonl`: one rollout per line, its event `history` (actions and the observations they
// cause), `test_result.git_patch`, `metrics` (latencies and token usage per LLM response) and `error`. A step is an
// agent action that came from the model (it carries `tool_call_metadata`); its observation is the event it caused.
import { Either, Option, Schema } from "effect"
import type { JsonlReject } from "@swe-gym/domain"
import type { ImportedTrajectory, LlmCallRecord, MessageRecord, StepRecord, ToolCallRecord } from "../imported-trajectory.js"
import { repoOfInstanceId } from "../imported-trajectory.js"
import { testIds, utcTimestamp } from "./file-decoding.js"
import { evaluationOfReport, InstanceReportShape } from "./swe-bench-report.js"

const ToolCallMetadata = Schema.Struct({
  function_name: Schema.String,
  tool_call_id: Schema.String,
  model_response: Schema.optional(Schema.Unknown),
})

const Event = Schema.Struct({
  id: Schema.Number,
  timestamp: Schema.optional(Schema.String),
  source: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String),
  action: Schema.optional(Schema.String),
  observation: Schema.optional(Schema.String),
  content: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Number),
  args: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  extras: Schema.optional(Schema.Unknown),
  tool_call_metadata: Schema.optional(ToolCallMetadata),
})
type Event = typeof Event.Type

/** The fields of one OpenHands output line the import reads. */
export const OpenHandsOutput = Schema.Struct({
  instance_id: Schema.String,
  instance: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  test_result: Schema.optional(Schema.Struct({
    git_patch: Schema.optional(Schema.NullOr(Schema.String)),
    report: Schema.optional(Schema.Unknown),
  })),
  metadata: Schema.optional(Schema.Struct({
    agent_class: Schema.optional(Schema.String),
    llm_config: Schema.optional(Schema.Struct({
      model: Schema.String,
      temperature: Schema.optional(Schema.NullOr(Schema.Number)),
      top_p: Schema.optional(Schema.NullOr(Schema.Number)),
      seed: Schema.optional(Schema.Unknown),
    })),
    agent_config: Schema.optional(Schema.Unknown),
    max_iterations: Schema.optional(Schema.Number),
    dataset: Schema.optional(Schema.NullOr(Schema.String)),
  })),
  history: Schema.Array(Event),
  metrics: Schema.optional(Schema.NullOr(Schema.Struct({
    accumulated_cost: Schema.optional(Schema.Number),
    response_latencies: Schema.optional(Schema.Array(Schema.Struct({ latency: Schema.Number, response_id: Schema.String }))),
    token_usages: Schema.optional(Schema.Array(Schema.Struct({
      prompt_tokens: Schema.Number,
      completion_tokens: Schema.Number,
      response_id: Schema.String,
    }))),
  }))),
  error: Schema.optional(Schema.NullOr(Schema.String)),
})
export type OpenHandsOutput = typeof OpenHandsOutput.Type

const ModelResponse = Schema.Struct({
  id: Schema.String,
  model: Schema.optional(Schema.String),
  choices: Schema.Array(Schema.Struct({
    message: Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
        id: Schema.String,
        function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
      })))),
    }),
  })),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    completion_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    total_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
  }))),
})
type ModelResponse = typeof ModelResponse.Type
const decodeResponse = Schema.decodeUnknownOption(ModelResponse)

const RunObservationExtras = Schema.Struct({ metadata: Schema.Struct({ exit_code: Schema.Number }) })
const decodeRunExtras = Schema.decodeUnknownOption(RunObservationExtras)

/** OpenHands' `error` (and whether the agent finished) in the rollout vocabulary. */
export const openHandsExitReason = (error: string | null | undefined, finished: boolean): string => {
  if (error === null || error === undefined || error === "") return finished ? "submitted" : "unknown"
  if (/maximum iteration/i.test(error)) return "max_steps"
  if (/stuck|loop/i.test(error)) return "stuck_in_loop"
  if (/context ?window|ContextWindowExceeded|context length/i.test(error)) return "context_exceeded"
  if (/budget|cost/i.test(error)) return "cost_limit"
  if (/timeout|timed out/i.test(error)) return "timeout"
  return "error"
}

const observationFailed = (event: Event): boolean => {
  if (event.observation === "error") return true
  if (event.observation !== "run") return false
  const extras = decodeRunExtras(event.extras)
  return Option.isSome(extras) && extras.value.metadata.exit_code !== 0
}

/** Options of the conversion: the run it belongs to, and overrides. */
export interface OpenHandsContext {
  readonly file: string
  readonly line: number
  readonly runId: string
  readonly dataset: string | null
  readonly model: string | null
}

/** Converts one decoded OpenHands output line into an imported trajectory. */
export const fromOpenHands = (out: OpenHandsOutput, context: OpenHandsContext): Either.Either<ImportedTrajectory, JsonlReject> => {
  const observationsByCause = new Map<number, Event>()
  for (const e of out.history) if (e.observation !== undefined && e.cause !== undefined) observationsByCause.set(e.cause, e)

  const latencyById = new Map((out.metrics?.response_latencies ?? []).map((l) => [l.response_id, l.latency * 1000]))
  const steps: Array<StepRecord> = []
  const messages: Array<MessageRecord> = []
  const calls: Array<LlmCallRecord> = []
  const seenResponses = new Set<string>()
  let finished = false
  let reportedModel: string | null = null
  let tools: unknown = null

  for (const e of out.history) {
    if (e.action === "system" && e.source === "agent") {
      tools = e.args?.["tools"] ?? null
      messages.push({ role: "system", content: e.args?.["content"] === undefined ? (e.message ?? "") : String(e.args["content"]), tool_call_id: null, tool_calls: [] })
      continue
    }
    if (e.action === "message" && e.source === "user") {
      messages.push({ role: "user", content: e.message ?? "", tool_call_id: null, tool_calls: [] })
      continue
    }
    const meta = e.tool_call_metadata
    if (e.action !== undefined && e.source === "agent" && meta !== undefined) {
      if (e.action === "finish") finished = true
      const response = Option.getOrUndefined(decodeResponse(meta.model_response))
      const call = response?.choices[0]?.message.tool_calls?.find((c) => c.id === meta.tool_call_id)
      if (response !== undefined && !seenResponses.has(response.id)) {
        seenResponses.add(response.id)
        reportedModel = reportedModel ?? response.model ?? null
        messages.push(assistantMessage(response))
        calls.push(llmCall(response, meta.model_response, latencyById.get(response.id) ?? null))
      }
      const observation = observationsByCause.get(e.id)
      const thought = e.args?.["thought"]
      steps.push({
        action: call === undefined ? `${e.action} ${JSON.stringify(e.args ?? {})}` : `${call.function.name} ${call.function.arguments}`,
        tool: meta.function_name,
        thought: typeof thought === "string" ? thought : null,
        observation: observation?.content ?? observation?.message ?? null,
        observation_error: observation !== undefined && observationFailed(observation),
        llm_ms: response === undefined ? null : latencyById.get(response.id) ?? null,
        prompt_tokens: response?.usage?.prompt_tokens ?? null,
        completion_tokens: response?.usage?.completion_tokens ?? null,
      })
      continue
    }
    if (e.observation !== undefined && e.observation !== "recall" && e.source === "agent") {
      const tcm = e.tool_call_metadata
      // An observation of a tool call answers it; an error without one (a malformed call) reaches the model as a user turn.
      messages.push(
        tcm !== undefined
          ? { role: "tool", content: e.content ?? "", tool_call_id: tcm.tool_call_id, tool_calls: [] }
          : { role: "user", content: e.content ?? e.message ?? "", tool_call_id: null, tool_calls: [] },
      )
    }
  }

  const llm = out.metadata?.llm_config
  const model = context.model ?? reportedModel ?? llm?.model ?? "unknown"
  const usages = out.metrics?.token_usages ?? []
  const latencies = out.metrics?.response_latencies ?? []
  const report = out.test_result?.report
  const graded = report === undefined ? Option.none() : Schema.decodeUnknownOption(InstanceReportShape)(report)
  const inst = out.instance
  const timestamps = out.history.map((e) => e.timestamp).filter((t): t is string => t !== undefined)
  return Either.right({
    run: {
      run_id: context.runId,
      source_format: "openhands",
      model,
      dataset: context.dataset ?? out.metadata?.dataset ?? null,
      agent: out.metadata?.agent_class ?? "OpenHands",
      agent_config: { agent_config: out.metadata?.agent_config ?? null, max_iterations: out.metadata?.max_iterations ?? null },
      sampling: llm === undefined ? null : { temperature: llm.temperature ?? null, top_p: llm.top_p ?? null, seed: llm.seed ?? null },
      source_path: context.file,
    },
    instance_id: out.instance_id,
    sample: null,
    model,
    exit_reason: openHandsExitReason(out.error, finished),
    exit_detail: out.error ?? null,
    patch: out.test_result?.git_patch ?? "",
    llm_calls: Math.max(latencies.length, usages.length, calls.length),
    cost: out.metrics?.accumulated_cost ?? null,
    started_at: utcTimestamp(timestamps[0]),
    finished_at: utcTimestamp(timestamps[timestamps.length - 1]),
    tools,
    steps,
    messages,
    llmCallLog: calls,
    evaluation: Option.isSome(graded) ? evaluationOfReport(graded.value, context.file) : null,
    instance: inst === undefined ? null : {
      instance_id: out.instance_id,
      repo: typeof inst["repo"] === "string" ? inst["repo"] : repoOfInstanceId(out.instance_id),
      base_commit: typeof inst["base_commit"] === "string" ? inst["base_commit"] : null,
      version: typeof inst["version"] === "string" || typeof inst["version"] === "number" ? String(inst["version"]) : null,
      problem_statement: typeof inst["problem_statement"] === "string" ? inst["problem_statement"] : null,
      FAIL_TO_PASS: testIds(inst["FAIL_TO_PASS"]),
      PASS_TO_PASS: testIds(inst["PASS_TO_PASS"]),
    },
    source_file: context.file,
    source_line: context.line,
    // OpenHands' own per-response usage counts each LLM call once (steps can share a response, or have none).
    reportedTokens: usages.length === 0 ? null : {
      prompt: usages.reduce((n, u) => n + u.prompt_tokens, 0),
      completion: usages.reduce((n, u) => n + u.completion_tokens, 0),
    },
  })
}

const assistantMessage = (response: ModelResponse): MessageRecord => {
  const message = response.choices[0]?.message
  const toolCalls: Array<ToolCallRecord> = (message?.tool_calls ?? []).map((c) => ({
    id: c.id,
    name: c.function.name,
    arguments: c.function.arguments,
  }))
  return { role: "assistant", content: message?.content ?? "", tool_call_id: null, tool_calls: toolCalls }
}

const llmCall = (response: ModelResponse, raw: unknown, latency: number | null): LlmCallRecord => ({
  model: response.model ?? null,
  request: null,
  response: raw,
  prompt_tokens: response.usage?.prompt_tokens ?? null,
  completion_tokens: response.usage?.completion_tokens ?? null,
  total_tokens: response.usage?.total_tokens ?? null,
  latency_ms: latency,
})
