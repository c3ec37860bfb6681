// SWE-agent's `.traj`: `trajectory[]` of {action, observation, response, thought}, the chat `history[]`, and `info`
// (exit_status, submission, model_stats). The model's name is not in the file: SWE-agent writes it into the
// `all_preds.jsonl` beside the trajectories (model_name_or_path), which the import reads when present.
import { Either, Schema } from "effect"
import type { JsonlReject } from "@swe-gym/domain"
import type { ImportedTrajectory, MessageRecord, StepRecord } from "../imported-trajectory.js"
import { contentText } from "./file-decoding.js"

/** The fields of a SWE-agent trajectory the import reads. */
export const SweAgentTrajectory = Schema.Struct({
  environment: Schema.optional(Schema.Unknown),
  trajectory: Schema.Array(Schema.Struct({
    action: Schema.String,
    observation: Schema.optional(Schema.NullOr(Schema.String)),
    response: Schema.optional(Schema.NullOr(Schema.String)),
    thought: Schema.optional(Schema.NullOr(Schema.String)),
    execution_time: Schema.optional(Schema.Number),
  })),
  history: Schema.Array(Schema.Struct({
    role: Schema.Literal("system", "user", "assistant", "tool"),
    content: Schema.Union(Schema.String, Schema.Array(Schema.Unknown), Schema.Null),
    tool_call_ids: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  })),
  info: Schema.Struct({
    exit_status: Schema.optional(Schema.NullOr(Schema.String)),
    submission: Schema.optional(Schema.NullOr(Schema.String)),
    model_stats: Schema.optional(Schema.Struct({
      instance_cost: Schema.optional(Schema.Number),
      tokens_sent: Schema.optional(Schema.Number),
      tokens_received: Schema.optional(Schema.Number),
      api_calls: Schema.optional(Schema.Number),
    })),
  }),
})
export type SweAgentTrajectory = typeof SweAgentTrajectory.Type

/** SWE-agent's exit statuses in the rollout vocabulary (`submitted (exit_cost)` is an autosubmission at the cost limit). */
export const sweAgentExitReason = (status: string | null | undefined): string => {
  if (status === null || status === undefined) return "unknown"
  if (/exit_cost/.test(status)) return "cost_limit"
  if (/exit_context/.test(status)) return "context_exceeded"
  if (/exit_format/.test(status)) return "format_error"
  if (/exit_command_timeout|timeout/.test(status)) return "timeout"
  if (/exit_api|exit_error|early_exit/.test(status)) return "error"
  if (/^submitted$/.test(status)) return "submitted"
  return "error"
}

/** Options of the conversion. */
export interface SweAgentContext {
  readonly file: string
  readonly runId: string
  readonly dataset: string | null
  /** The model: the caller's override, else all_preds.jsonl's, else "unknown". */
  readonly model: string
}

/** Converts a decoded SWE-agent trajectory into an imported trajectory; the instance id is the file name's stem. */
export const fromSweAgent = (
  traj: SweAgentTrajectory,
  instanceId: string,
  context: SweAgentContext,
): Either.Either<ImportedTrajectory, JsonlReject> => {
  const steps: Array<StepRecord> = traj.trajectory.map((s) => ({
    action: s.action.trim(),
    tool: s.action.trim().split(/\s+/)[0] ?? null,
    thought: s.thought ?? null,
    observation: s.observation ?? null,
    // SWE-agent does not record exit codes in the trajectory.
    observation_error: false,
    llm_ms: null,
    prompt_tokens: null,
    completion_tokens: null,
  }))
  const messages: Array<MessageRecord> = traj.history.map((m) => ({
    role: m.role,
    content: contentText(m.content),
    tool_call_id: null,
    tool_calls: [],
  }))
  const stats = traj.info.model_stats
  return Either.right({
    run: {
      run_id: context.runId,
      source_format: "swe-agent",
      model: context.model,
      dataset: context.dataset,
      agent: "SWE-agent",
      agent_config: null,
      sampling: null,
      source_path: context.file,
    },
    instance_id: instanceId,
    sample: null,
    model: context.model,
    exit_reason: sweAgentExitReason(traj.info.exit_status),
    exit_detail: traj.info.exit_status ?? null,
    patch: traj.info.submission ?? "",
    llm_calls: stats?.api_calls ?? messages.filter((m) => m.role === "assistant").length,
    cost: stats?.instance_cost ?? null,
    started_at: null,
    finished_at: null,
    tools: null,
    steps,
    messages,
    llmCallLog: [],
    evaluation: null,
    instance: null,
    source_file: context.file,
    source_line: null,
    reportedTokens: stats === undefined ? null : { prompt: stats.tokens_sent ?? null, completion: stats.tokens_received ?? null },
  })
}
