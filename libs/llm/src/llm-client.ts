import { ChatMessage, ToolCall, TokenUsage } from "@swe-gym/domain"
import { Context, type Effect, Schema } from "effect"

/** A JSON object, as a tool's parameter schema or a raw request/response body is. */
export const JsonObject = Schema.Record({ key: Schema.String, value: Schema.Unknown })
export type JsonObject = typeof JsonObject.Type

/** One tool the model may call (OpenAI's function tool spec, as sent in `tools`). */
export const ToolSpec = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    /** JSON Schema of the arguments object. */
    parameters: Schema.optional(JsonObject),
  }),
})
export type ToolSpec = typeof ToolSpec.Type

/**
 * How tools reach the model: `native` sends `tools` and reads `tool_calls`; `text` describes the tools in the system
 * prompt and reads `<function=NAME><parameter=P>…</parameter></function>` from the content (SWE-Gym's OpenHands format),
 * for servers or models without native tool calling.
 */
export const ToolMode = Schema.Literal("native", "text")
export type ToolMode = typeof ToolMode.Type

/** Sampling parameters; unset ones fall back to the client's defaults, then to the server's. */
export interface Sampling {
  readonly temperature?: number
  readonly top_p?: number
  readonly max_tokens?: number
  readonly seed?: number
  readonly stop?: ReadonlyArray<string>
}

/** One chat completion request. `messages` are always in the native shape (tool_calls, role "tool"), whatever the mode. */
export interface ChatRequest extends Sampling {
  readonly messages: ReadonlyArray<ChatMessage>
  readonly tools?: ReadonlyArray<ToolSpec>
  /** Default: the client's (`native` unless configured). */
  readonly toolMode?: ToolMode
  /** Ask for log probabilities of the sampled tokens, with this many alternatives per token (0–20). */
  readonly logprobs?: { readonly top_logprobs: number }
  /** A name for this call in the raw call record (e.g. `instance/sample/step`). */
  readonly label?: string
}

/** The assistant message of a completion, in the native shape (in text mode, tool_calls parsed from the content). */
export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: Schema.NullOr(Schema.String),
  tool_calls: Schema.optional(Schema.Array(ToolCall)),
})
export type AssistantMessage = typeof AssistantMessage.Type

/**
 * A tool call written in the content that could not be read (text mode): the agent shows `message` to the model as an
 * observation; it is never a failure of the call.
 */
export const ToolCallParseError = Schema.Struct({
  _tag: Schema.Literal("ToolCallParseError"),
  /** What was wrong, written for the model to read and correct. */
  message: Schema.String,
  /** The text of the malformed call. */
  text: Schema.String,
  /** The function name, when it could be read. */
  name: Schema.optional(Schema.String),
})
export type ToolCallParseError = typeof ToolCallParseError.Type

/** Why the server stopped generating (OpenAI's values; servers may send others, kept as they are). */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call" | (string & {})

/** Log probability of one sampled token, with its top alternatives. */
export const TokenLogprob = Schema.Struct({
  token: Schema.String,
  logprob: Schema.Number,
  top_logprobs: Schema.Array(Schema.Struct({ token: Schema.String, logprob: Schema.Number })),
})
export type TokenLogprob = typeof TokenLogprob.Type

/**
 * One LLM call exactly as it went over the wire: fine-tuning and verifier data are built from these records, never from
 * a re-rendering. Holds no credential.
 */
export const LlmCall = Schema.Struct({
  label: Schema.optional(Schema.String),
  model: Schema.String,
  tool_mode: ToolMode,
  /** The request body as sent (model, messages, tools, sampling parameters). */
  request: JsonObject,
  /** The response body as received. */
  response: JsonObject,
  usage: Schema.optional(TokenUsage),
  /** Wall time of the successful attempt, from sending to the decoded response. */
  latency_ms: Schema.Number,
  /** Attempts made, 1 when the first succeeded (so retries = attempts − 1). */
  attempts: Schema.Number,
  /** When the first attempt started (ISO 8601). */
  started_at: Schema.String,
})
export type LlmCall = typeof LlmCall.Type

/** A completion: the assistant message, why it stopped, usage, and the raw call record. */
export interface ChatCompletion {
  readonly message: AssistantMessage
  /** Malformed tool calls found in the content (text mode only; empty in native mode). */
  readonly toolCallErrors: ReadonlyArray<ToolCallParseError>
  readonly finish_reason: FinishReason
  readonly usage: TokenUsage | undefined
  /** Present when the request asked for logprobs and the server returned them. */
  readonly logprobs: ReadonlyArray<TokenLogprob> | undefined
  readonly call: LlmCall
}

/** The prompt (plus the requested completion) does not fit the model's context: the rollout ends as `context_exceeded`. */
export class LlmContextExceeded extends Schema.TaggedError<LlmContextExceeded>()("LlmContextExceeded", {
  model: Schema.String,
  /** The server's message. */
  message: Schema.String,
  hint: Schema.String,
}) {}

/** The server refused the request (400, 401, 403, 404, 422 …): retrying the same request cannot help. */
export class LlmRequestRejected extends Schema.TaggedError<LlmRequestRejected>()("LlmRequestRejected", {
  model: Schema.String,
  status: Schema.Number,
  message: Schema.String,
  hint: Schema.String,
}) {}

/** Why an endpoint counts as unavailable. */
export const UnavailableReason = Schema.Literal("rate_limited", "server_error", "connection", "timeout", "invalid_response")
export type UnavailableReason = typeof UnavailableReason.Type

/** The endpoint kept failing transiently (429, 5xx, resets, timeouts, unreadable responses) through every retry. */
export class LlmUnavailable extends Schema.TaggedError<LlmUnavailable>()("LlmUnavailable", {
  model: Schema.String,
  baseUrl: Schema.String,
  reason: UnavailableReason,
  /** HTTP status of the last attempt, when there was a response. */
  status: Schema.optional(Schema.Number),
  /** Attempts made, the first included. */
  attempts: Schema.Number,
  message: Schema.String,
  hint: Schema.String,
}) {}

/** Every way an LLM call fails. No error holds the API key. */
export type LlmError = LlmContextExceeded | LlmRequestRejected | LlmUnavailable

/** An OpenAI-compatible Chat Completions endpoint (vLLM, SGLang, Ollama, OpenAI, the emulator). */
export class LlmClient extends Context.Tag("@swe-gym/llm/LlmClient")<LlmClient, {
  /** The model name sent with every request. */
  readonly model: string
  /** One chat completion, retried on transient faults; interrupting it cancels the HTTP request. */
  readonly complete: (request: ChatRequest) => Effect.Effect<ChatCompletion, LlmError>
}>() {}
