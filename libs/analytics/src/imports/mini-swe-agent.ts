// mini-swe-agent's `<instance_id>.traj.json` (format mini-swe-agent-1.x), graded by SWE-bench's per-instance
// `<instance_id>.report.json` beside it when present. Actions are the bash block of each assistant message; the user
// message after it is the observation; `info.model_stats.api_calls` is the LLM call count.
import { Either, Option, Schema } from "effect"
import type { JsonlReject } from "@swe-gym/domain"
import type { ImportedTrajectory, LlmCallRecord, MessageRecord, RunRecord, StepRecord } from "../imported-trajectory.js"
import { sumKnown } from "../imported-trajectory.js"
import { contentText, decodeJsonText } from "./file-decoding.js"
import { evaluationOfReport, InstanceReportShape } from "./swe-bench-report.js"

const Usage = Schema.Struct({
  prompt_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
  completion_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
  total_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
})

const Response = Schema.Struct({ model: Schema.optional(Schema.String), usage: Schema.optional(Schema.NullOr(Usage)) })
const Extra = Schema.Struct({ response: Schema.optional(Schema.Unknown) })

const Message = Schema.Struct({
  role: Schema.Literal("system", "user", "assistant", "tool"),
  content: Schema.Union(Schema.String, Schema.Array(Schema.Unknown), Schema.Null),
  extra: Schema.optional(Schema.Unknown),
})

/** The fields of a mini-swe-agent trajectory the import reads. */
export const MiniSweAgentTrajectory = Schema.Struct({
  trajectory_format: Schema.optional(Schema.String),
  instance_id: Schema.String,
  info: Schema.Struct({
    exit_status: Schema.String,
    submission: Schema.optional(Schema.NullOr(Schema.String)),
    model_stats: Schema.Struct({ instance_cost: Schema.Number, api_calls: Schema.Number }),
    mini_version: Schema.optional(Schema.String),
    config: Schema.optional(Schema.Struct({
      model: Schema.optional(Schema.Struct({
        model_name: Schema.optional(Schema.String),
        model_kwargs: Schema.optional(Schema.Unknown),
      })),
      agent: Schema.optional(Schema.Unknown),
    })),
  }),
  messages: Schema.Array(Message),
})
export type MiniSweAgentTrajectory = typeof MiniSweAgentTrajectory.Type

// mini-swe-agent's own action regex (agents/default.py).
const bashBlock = /```bash\s*\n([\s\S]*?)\n```/g
const returnCode = /<returncode>(-?\d+)<\/returncode>/

/** The exit statuses of mini-swe-agent in the rollout vocabulary. */
export const miniExitReason = (status: string): string => {
  switch (status) {
    case "Submitted":
      return "submitted"
    case "LimitsExceeded":
      return "max_steps"
    case "FormatError":
      return "format_error"
    case "TimeoutError":
    case "ExecutionTimeoutError":
      return "timeout"
    default:
      return "error"
  }
}

const actionOf = (content: string): string => {
  const blocks = [...content.matchAll(bashBlock)].map((m) => (m[1] ?? "").trim())
  // One block is a valid action; none or several is a format error, whose text is what the model repeated.
  return blocks.length === 1 ? (blocks[0] ?? "") : content.trim()
}

const decodeExtra = Schema.decodeUnknownOption(Extra)
const decodeResponse = Schema.decodeUnknownOption(Response)

/** Options of the conversion: the run it belongs to, and a model name that overrides the file's. */
export interface MiniSweAgentContext {
  readonly file: string
  readonly runId: string
  readonly dataset: string | null
  readonly model: string | null
}

/** Converts a decoded mini-swe-agent trajectory (and its report text, if any) into an imported trajectory. */
export const fromMiniSweAgent = (
  traj: MiniSweAgentTrajectory,
  context: MiniSweAgentContext,
  report: { readonly file: string; readonly text: string } | null,
): Either.Either<ImportedTrajectory, JsonlReject> => {
  const messages: Array<MessageRecord> = traj.messages.map((m) => ({
    role: m.role,
    content: contentText(m.content),
    tool_call_id: null,
    tool_calls: [],
  }))
  const steps: Array<StepRecord> = []
  const calls: Array<LlmCallRecord> = []
  let reportedModel: string | null = null
  traj.messages.forEach((m, i) => {
    if (m.role !== "assistant") return
    const text = contentText(m.content)
    const next = traj.messages[i + 1]
    const observation = next !== undefined && next.role !== "assistant" ? contentText(next.content) : null
    const code = observation === null ? null : returnCode.exec(observation)
    const raw = Option.getOrUndefined(decodeExtra(m.extra))?.response
    const response = raw === undefined ? undefined : Option.getOrUndefined(decodeResponse(raw))
    const usage = response?.usage ?? null
    reportedModel = reportedModel ?? response?.model ?? null
    steps.push({
      action: actionOf(text),
      tool: "bash",
      thought: text,
      observation,
      observation_error: code?.[1] !== undefined && Number(code[1]) !== 0,
      llm_ms: null,
      prompt_tokens: usage?.prompt_tokens ?? null,
      completion_tokens: usage?.completion_tokens ?? null,
    })
    if (response !== undefined) {
      calls.push({
        model: response.model ?? null,
        // mini-swe-agent sends the whole history each call: the request is messages[0, i), not stored again.
        request: null,
        response: raw,
        prompt_tokens: usage?.prompt_tokens ?? null,
        completion_tokens: usage?.completion_tokens ?? null,
        total_tokens: usage?.total_tokens ?? null,
        latency_ms: null,
      })
    }
  })
  const configured = traj.info.config?.model?.model_name ?? null
  const model = context.model ?? reportedModel ?? configured ?? "unknown"
  const run: RunRecord = {
    run_id: context.runId,
    source_format: "mini-swe-agent",
    model,
    dataset: context.dataset,
    agent: `mini-swe-agent${traj.info.mini_version === undefined ? "" : ` ${traj.info.mini_version}`}`,
    agent_config: traj.info.config?.agent ?? null,
    sampling: traj.info.config?.model?.model_kwargs ?? null,
    source_path: context.file,
  }
  const patch = traj.info.submission ?? ""
  let evaluation: ImportedTrajectory["evaluation"] = null
  if (report !== null) {
    const decoded = decodeJsonText(report.file, report.text, InstanceReportShape)
    if (Either.isLeft(decoded)) return Either.left(decoded.left)
    evaluation = evaluationOfReport(decoded.right, report.file)
  }
  return Either.right({
    run,
    instance_id: traj.instance_id,
    sample: null,
    model,
    exit_reason: miniExitReason(traj.info.exit_status),
    exit_detail: traj.info.exit_status,
    patch,
    llm_calls: traj.info.model_stats.api_calls,
    cost: traj.info.model_stats.instance_cost,
    started_at: null,
    finished_at: null,
    tools: null,
    steps,
    messages,
    llmCallLog: calls,
    evaluation,
    instance: null,
    source_file: context.file,
    source_line: null,
  })
}

/** Token totals over steps (prompt, completion), null when no step reports usage. */
export const stepTokenTotals = (steps: ReadonlyArray<StepRecord>) => ({
  prompt: sumKnown(steps.map((s) => s.prompt_tokens)),
  completion: sumKnown(steps.map((s) => s.completion_tokens)),
})
