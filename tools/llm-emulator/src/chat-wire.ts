// The Chat Completions wire format as the emulator reads and writes it. Response shapes follow OpenAI's API reference;
// test/openai-shapes.test.ts checks them against the `openai` package's types and decodes them through its client.
import { Either, ParseResult, Schema } from "effect"

const JsonRecord = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const WireToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.optional(Schema.String),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
})

/** One request message, as loosely as servers accept them. */
export const WireMessage = Schema.Struct({
  role: Schema.Literal("system", "developer", "user", "assistant", "tool"),
  content: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(JsonRecord)))),
  tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCall))),
  tool_call_id: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
})
export type WireMessage = typeof WireMessage.Type

const WireTool = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(JsonRecord),
  }),
})

const OptionalNumber = Schema.optional(Schema.NullOr(Schema.Number))

/** The request body fields the emulator reads. */
export const ChatRequestBody = Schema.Struct({
  model: Schema.String,
  messages: Schema.NonEmptyArray(WireMessage),
  tools: Schema.optional(Schema.NullOr(Schema.Array(WireTool))),
  stream: Schema.optional(Schema.NullOr(Schema.Boolean)),
  n: OptionalNumber,
  stop: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Array(Schema.String)))),
  logprobs: Schema.optional(Schema.NullOr(Schema.Boolean)),
  top_logprobs: OptionalNumber,
  max_tokens: OptionalNumber,
  max_completion_tokens: OptionalNumber,
  temperature: OptionalNumber,
  top_p: OptionalNumber,
  seed: OptionalNumber,
})
export type ChatRequestBody = typeof ChatRequestBody.Type

/** Decodes a request body; Left: a message naming the bad field, as an API would answer. */
export const decodeChatRequest = (body: unknown): Either.Either<ChatRequestBody, string> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(ChatRequestBody)(body, { onExcessProperty: "ignore" }),
    (e) => ParseResult.TreeFormatter.formatErrorSync(e),
  )

/** The text of a message's content (text parts joined). */
export const contentText = (m: WireMessage): string => {
  const c = m.content
  if (c === undefined || c === null) return ""
  if (typeof c === "string") return c
  return c.map((p) => (p["type"] === "text" && typeof p["text"] === "string" ? p["text"] : "")).join("")
}

/**
 * OpenAI's checks of a tool conversation: every `tool` message answers a call of the assistant message before it, and
 * every call is answered before the next other message. Undefined when the conversation is well formed.
 */
export const toolConversationError = (messages: ReadonlyArray<WireMessage>): string | undefined => {
  let open = new Set<string>()
  for (const [i, m] of messages.entries()) {
    if (m.role === "tool") {
      if (m.tool_call_id === undefined || !open.has(m.tool_call_id)) {
        return `Invalid parameter: messages[${i}]: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`
      }
      open.delete(m.tool_call_id)
      continue
    }
    if (open.size > 0) {
      return `messages[${i}]: An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${
        [...open].join(", ")
      }`
    }
    open = new Set(m.role === "assistant" ? (m.tool_calls ?? []).map((c) => c.id) : [])
  }
  return undefined
}

/** A tool call in a response. */
export interface ToolCallBody {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

/** Log probability of one token with its alternatives. */
export interface TokenLogprobBody {
  readonly token: string
  readonly logprob: number
  readonly bytes: Array<number> | null
  readonly top_logprobs: Array<{ readonly token: string; readonly logprob: number; readonly bytes: Array<number> | null }>
}

/** A `chat.completion` object (non-streaming). */
export interface ChatCompletionBody {
  readonly id: string
  readonly object: "chat.completion"
  readonly created: number
  readonly model: string
  readonly system_fingerprint: string
  readonly choices: Array<{
    readonly index: number
    readonly message: {
      readonly role: "assistant"
      readonly content: string | null
      readonly refusal: null
      readonly tool_calls?: Array<ToolCallBody>
    }
    readonly logprobs: { readonly content: Array<TokenLogprobBody>; readonly refusal: null } | null
    readonly finish_reason: "stop" | "tool_calls" | "length"
  }>
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number }
}

/** OpenAI's error body. */
export interface ErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null }
}

/** An error body in OpenAI's shape. */
export const errorBody = (message: string, type: string, code: string | null = null, param: string | null = null): ErrorBody => ({
  error: { message, type, param, code },
})

/** The model list (`GET /v1/models`). */
export interface ModelListBody {
  readonly object: "list"
  readonly data: Array<{ readonly id: string; readonly object: "model"; readonly created: number; readonly owned_by: string }>
}
