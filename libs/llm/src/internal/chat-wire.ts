// The request and response bodies of Chat Completions as they cross the wire: our messages written in the `openai`
// package's parameter types, and responses decoded with Schema (a server is a trust boundary: vLLM, SGLang and Ollama
// each leave out or add fields).
import type { ChatMessage, ToolCall } from "@swe-gym/domain"
import { Either, Schema } from "effect"
import type OpenAI from "openai"
import type { ToolSpec } from "../llm-client.js"
import type { TextModeMessage } from "../text-tool-calls.js"

type MessageParam = OpenAI.Chat.ChatCompletionMessageParam
type ContentPart = OpenAI.Chat.ChatCompletionContentPart

const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({
    url: Schema.String,
    detail: Schema.optional(Schema.Literal("auto", "low", "high")),
  }),
})
const decodePart = Schema.decodeUnknownEither(Schema.Union(TextPart, ImagePart))

/** A user content part in the `openai` type, or why it cannot be sent. */
const contentPart = (part: unknown): Either.Either<ContentPart, string> =>
  Either.match(decodePart(part), {
    onLeft: () => Either.left(`unsupported user content part ${JSON.stringify(part).slice(0, 120)} (text and image_url only)`),
    onRight: (p): Either.Either<ContentPart, string> =>
      p.type === "text"
        ? Either.right({ type: "text", text: p.text })
        : Either.right({
          type: "image_url",
          image_url: p.image_url.detail === undefined ? { url: p.image_url.url } : { url: p.image_url.url, detail: p.image_url.detail },
        }),
  })

const userContent = (
  content: Extract<ChatMessage, { role: "user" }>["content"],
): Either.Either<string | Array<ContentPart>, string> =>
  typeof content === "string" ? Either.right(content) : Either.all(content.map(contentPart))

const toolCallParam = (c: ToolCall): OpenAI.Chat.ChatCompletionMessageFunctionToolCall => ({
  id: c.id,
  type: "function",
  function: { name: c.function.name, arguments: c.function.arguments },
})

/** One message of ours in the `openai` parameter type (Left: a content part the API cannot carry). */
export const messageParam = (m: ChatMessage | TextModeMessage): Either.Either<MessageParam, string> => {
  switch (m.role) {
    case "system":
      return Either.right({ role: "system", content: m.content })
    case "developer":
      return Either.right({ role: "developer", content: m.content })
    case "user":
      return Either.map(userContent(m.content), (content) => ({ role: "user", content }))
    case "assistant": {
      const calls = "tool_calls" in m ? m.tool_calls ?? [] : []
      // Some servers reject an empty tool_calls array: leave the key out instead.
      return Either.right(
        calls.length === 0
          ? { role: "assistant", content: m.content }
          : { role: "assistant", content: m.content, tool_calls: calls.map(toolCallParam) },
      )
    }
    case "tool":
      return Either.right({ role: "tool", tool_call_id: m.tool_call_id, content: m.content })
  }
}

/** A tool spec in the `openai` parameter type. */
export const toolParam = (t: ToolSpec): OpenAI.Chat.ChatCompletionFunctionTool => ({
  type: "function",
  function: {
    name: t.function.name,
    ...(t.function.description === undefined ? {} : { description: t.function.description }),
    ...(t.function.parameters === undefined ? {} : { parameters: { ...t.function.parameters } }),
  },
})

// Ollama has sent arguments as an object; the domain keeps them as the JSON text OpenAI specifies (see `argumentsText`).
const Arguments = Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/** The arguments of a decoded tool call as JSON text. */
export const argumentsText = (args: typeof Arguments.Type): string => typeof args === "string" ? args : JSON.stringify(args)

const WireToolCall = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.Struct({ name: Schema.String, arguments: Arguments }),
})

const WireTopLogprob = Schema.Struct({ token: Schema.String, logprob: Schema.Number })
const WireTokenLogprob = Schema.Struct({
  token: Schema.String,
  logprob: Schema.Number,
  top_logprobs: Schema.optionalWith(Schema.Array(WireTopLogprob), { default: () => [], nullable: true }),
})

const WireChoice = Schema.Struct({
  message: Schema.Struct({
    content: Schema.optional(Schema.NullOr(Schema.String)),
    tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCall))),
  }),
  finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
  logprobs: Schema.optional(Schema.NullOr(Schema.Struct({
    content: Schema.optional(Schema.NullOr(Schema.Array(WireTokenLogprob))),
  }))),
})

const WireUsage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.optional(Schema.Number),
})

/** The fields of a chat completion response this client reads. */
export const WireCompletion = Schema.Struct({
  choices: Schema.NonEmptyArray(WireChoice),
  usage: Schema.optional(Schema.NullOr(WireUsage)),
})
export type WireCompletion = typeof WireCompletion.Type
export type WireToolCall = typeof WireToolCall.Type
