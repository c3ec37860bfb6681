import { Schema } from "effect"

/** A tool call an assistant message asks for (OpenAI chat format). */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
})
export type ToolCall = typeof ToolCall.Type

/** A content part of a message (text; other part types are kept as they are). */
const ContentPart = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String }),
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
)

/** One OpenAI chat message. */
export const ChatMessage = Schema.Union(
  Schema.Struct({ role: Schema.Literal("system", "developer"), content: Schema.String }),
  Schema.Struct({ role: Schema.Literal("user"), content: Schema.Union(Schema.String, Schema.Array(ContentPart)) }),
  Schema.Struct({
    role: Schema.Literal("assistant"),
    content: Schema.NullOr(Schema.String),
    tool_calls: Schema.optional(Schema.Array(ToolCall)),
  }),
  Schema.Struct({ role: Schema.Literal("tool"), tool_call_id: Schema.String, content: Schema.String }),
)
export type ChatMessage = typeof ChatMessage.Type

/** Token usage of one LLM call, as OpenAI-compatible servers report it. */
export const TokenUsage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.Number,
})
export type TokenUsage = typeof TokenUsage.Type

/** Timing and usage of one step (one LLM call and the actions it asked for). */
export const TrajectoryStep = Schema.Struct({
  index: Schema.Number,
  started_at: Schema.String,
  llm_ms: Schema.Number,
  tools_ms: Schema.Number,
  usage: Schema.optional(TokenUsage),
})
export type TrajectoryStep = typeof TrajectoryStep.Type

/** Why an agent run ended. */
export const ExitReason = Schema.Literal(
  "submitted",
  "max_steps",
  "stuck_in_loop",
  "context_exceeded",
  "cost_limit",
  "timeout",
  "llm_error",
  "sandbox_error",
  /** The model got the tool-call format wrong too many turns in a row. */
  "format_error",
  /** The rollout's tokens (prompt + completion, summed over its LLM calls) reached the limit. */
  "token_limit",
  /** The environment or the LLM endpoint kept failing (container died, engine error, LLM unavailable): not a verdict on the agent. */
  "infrastructure_error",
)
export type ExitReason = typeof ExitReason.Type

/** One agent rollout on one task instance: the messages, per-step timing and usage, and how it ended. */
export const Trajectory = Schema.Struct({
  instance_id: Schema.String,
  model_name_or_path: Schema.String,
  /** Which of the k samples of this instance this is. */
  sample: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  messages: Schema.Array(ChatMessage),
  /** The tool schemas offered to the model (OpenAI `tools`), kept for fine-tuning exports. */
  tools: Schema.optionalWith(Schema.Array(Schema.Unknown), { default: () => [] }),
  steps: Schema.Array(TrajectoryStep),
  exit_reason: ExitReason,
  /** The diff of the repository at the end of the run (`git diff`), the model patch. */
  model_patch: Schema.optionalWith(Schema.String, { default: () => "" }),
  started_at: Schema.String,
  finished_at: Schema.optional(Schema.String),
})
export type Trajectory = typeof Trajectory.Type
