// Which failures of one attempt are worth another: decided here, once, where the error is made. 429 (honouring
// Retry-After), 408, 409, 5xx, connection resets and timeouts are transient; a context-length error ends the rollout;
// every other 4xx is the request's fault and is not retried.
import { Data, Duration } from "effect"
import OpenAI from "openai"
import { LlmContextExceeded, LlmRequestRejected, type UnavailableReason } from "../llm-client.js"

/** When the server asked us to come back: after a delay, or at a moment. */
export type RetryAfter =
  | { readonly _tag: "Delay"; readonly millis: number }
  | { readonly _tag: "At"; readonly epochMillis: number }

/** A failed attempt that another attempt may fix. */
export class TransientFailure extends Data.TaggedError("TransientFailure")<{
  readonly reason: UnavailableReason
  readonly status: number | undefined
  readonly message: string
  readonly retryAfter: RetryAfter | undefined
}> {}

/** How one attempt failed. */
export type AttemptFailure = TransientFailure | LlmContextExceeded | LlmRequestRejected

/** Reads `retry-after-ms` (OpenAI's) or `retry-after` (seconds, or an HTTP date). */
export const retryAfterOf = (headers: Headers | undefined): RetryAfter | undefined => {
  const ms = headers?.get("retry-after-ms")?.trim()
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms)) return { _tag: "Delay", millis: Number(ms) }
  const value = headers?.get("retry-after")?.trim()
  if (value === undefined || value === "") return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return { _tag: "Delay", millis: Number(value) * 1000 }
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : { _tag: "At", epochMillis: at }
}

/** The wait a Retry-After asks for at `now`, capped at `max` (a date in the past asks for none). */
export const retryAfterDelay = (retryAfter: RetryAfter, now: number, max: Duration.Duration): Duration.Duration => {
  const millis = retryAfter._tag === "Delay" ? retryAfter.millis : Math.max(0, retryAfter.epochMillis - now)
  return Duration.min(Duration.millis(millis), max)
}

// OpenAI: code context_length_exceeded, "This model's maximum context length is N tokens". vLLM: the same sentence
// (also after "'max_tokens' … is too large"). SGLang: "The input (N tokens) is longer than the model's context length".
// Ollama: "… exceeds the context length". llama.cpp: "the request exceeds the available context size".
const CONTEXT_PATTERNS: ReadonlyArray<RegExp> = [
  /maximum context length/i,
  /context length/i,
  /context (?:size|window)/i,
  /prompt is too long/i,
  /too many (?:input )?tokens/i,
]
const EXCEEDS = /exceed|longer than|too long|too large|too many|maximum context length|however, you requested/i

/** Whether a rejection is the prompt not fitting the model's context window. */
export const isContextLengthError = (code: string | null | undefined, message: string): boolean =>
  code === "context_length_exceeded" || code === "string_above_max_length" && /context/i.test(message) ||
  CONTEXT_PATTERNS.some((p) => p.test(message)) && EXCEEDS.test(message)

/** The hint of a rejected request, by status. */
const rejectionHint = (status: number, baseUrl: string, model: string): string => {
  switch (status) {
    case 401:
      return "The endpoint refused the API key: set LLM_API_KEY (or --api-key) to a key it accepts."
    case 403:
      return `The key may not use model ${model} at ${baseUrl}: check the key's permissions.`
    case 404:
      return `No model ${model} or no Chat Completions route at ${baseUrl}: the base URL usually ends in /v1; GET <base>/models lists the models it serves.`
    default:
      return "The server rejected the request (see the message): an unsupported parameter on this server (seed, logprobs, tools)? For servers without native tool calling use tool mode text."
  }
}

/** The failure of one attempt, from whatever the `openai` client threw. `scrub` removes the API key from any text. */
export const attemptFailure = (
  error: unknown,
  context: { readonly model: string; readonly baseUrl: string; readonly scrub: (text: string) => string },
): AttemptFailure => {
  const { model, baseUrl, scrub } = context
  if (error instanceof OpenAI.APIConnectionTimeoutError || error instanceof OpenAI.APIUserAbortError) {
    return new TransientFailure({ reason: "timeout", status: undefined, message: scrub(error.message), retryAfter: undefined })
  }
  if (error instanceof OpenAI.APIConnectionError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : ""
    return new TransientFailure({
      reason: "connection",
      status: undefined,
      message: scrub(`${error.message}${cause}`),
      retryAfter: undefined,
    })
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    const status = error.status
    const message = scrub(error.message)
    const retryAfter = retryAfterOf(error.headers)
    if (status === 429) return new TransientFailure({ reason: "rate_limited", status, message, retryAfter })
    if (status === 408) return new TransientFailure({ reason: "timeout", status, message, retryAfter })
    if (status === 409 || status >= 500) return new TransientFailure({ reason: "server_error", status, message, retryAfter })
    if (isContextLengthError(error.code, message)) {
      return new LlmContextExceeded({
        model,
        message,
        hint:
          "The conversation no longer fits the model's context window: the rollout ends as context_exceeded. A model with a longer context, a lower max_tokens or shorter observations leave more room.",
      })
    }
    return new LlmRequestRejected({ model, status, message, hint: rejectionHint(status, baseUrl, model) })
  }
  if (error instanceof OpenAI.OpenAIError) {
    // Raised before anything was sent (a bad option): retrying cannot help.
    return new LlmRequestRejected({
      model,
      status: 0,
      message: scrub(error.message),
      hint: "The openai client refused the request before sending it: check the LLM options.",
    })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new TransientFailure({ reason: "connection", status: undefined, message: scrub(message), retryAfter: undefined })
}
