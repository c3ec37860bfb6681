import { Clock, Config, Duration, Effect, Either, Layer, Option, Redacted, Ref, Schedule, Schema } from "effect"
import type { ConfigError } from "effect"
import OpenAI from "openai"
import { argumentsText, messageParam, toolParam, WireCompletion, type WireToolCall } from "./internal/chat-wire.js"
import { normalizingFetch } from "./internal/error-bodies.js"
import {
  type AttemptFailure,
  attemptFailure,
  retryAfterDelay,
  TransientFailure,
} from "./internal/failure-classes.js"
import {
  type AssistantMessage,
  type ChatCompletion,
  type ChatRequest,
  JsonObject,
  LlmClient,
  type LlmCall,
  type LlmError,
  LlmRequestRejected,
  LlmUnavailable,
  type Sampling,
  type TokenLogprob,
  type ToolMode,
} from "./llm-client.js"
import { parseTextToolCalls, TEXT_TOOL_STOP, toTextModeMessages } from "./text-tool-calls.js"

/** How transient failures are retried: exponential backoff with jitter, capped, or the server's Retry-After. */
export interface RetryPolicy {
  /** Retries after the first attempt (default 6). */
  readonly retries: number
  /** First backoff delay (default 1 second), doubled each retry. */
  readonly baseDelay: Duration.DurationInput
  /** Longest backoff delay, and the longest Retry-After honoured (default 60 seconds). */
  readonly maxDelay: Duration.DurationInput
}

/** Everything an `OpenAiLlmClient` needs. */
export interface OpenAiLlmClientOptions {
  /** The OpenAI-compatible base URL, e.g. `http://localhost:8000/v1` (vLLM), `http://localhost:11434/v1` (Ollama). */
  readonly baseUrl: string
  readonly model: string
  /** Sent as `Authorization: Bearer …`; servers started without a key (vLLM, Ollama) need none. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Sampling parameters used when a request leaves them out. */
  readonly defaults?: Sampling | undefined
  /** Tool mode used when a request leaves it out (default `native`). */
  readonly toolMode?: ToolMode | undefined
  /** Longest wait for one attempt's response (default 10 minutes); a timed-out attempt is retried. */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Requests in flight at most, across every caller of this layer (default 8). */
  readonly llmConcurrency?: number | undefined
  readonly retry?: Partial<RetryPolicy> | undefined
}

const DEFAULT_RETRY: RetryPolicy = { retries: 6, baseDelay: "1 second", maxDelay: "60 seconds" }
// vLLM's documented convention for a server without a key; the openai package refuses an empty one.
const NO_KEY = "EMPTY"

/** The client's options from the environment: `LLM_BASE_URL`, `LLM_MODEL`, `LLM_API_KEY`, `LLM_TOOL_MODE`, `LLM_TEMPERATURE`, … */
export const llmClientConfig: Config.Config<OpenAiLlmClientOptions> = Config.all({
  baseUrl: Config.string("BASE_URL"),
  model: Config.string("MODEL"),
  apiKey: Config.option(Config.redacted("API_KEY")),
  toolMode: Config.literal("native", "text")("TOOL_MODE").pipe(Config.withDefault("native" as const)),
  temperature: Config.option(Config.number("TEMPERATURE")),
  top_p: Config.option(Config.number("TOP_P")),
  max_tokens: Config.option(Config.integer("MAX_TOKENS")),
  seed: Config.option(Config.integer("SEED")),
  requestTimeoutSeconds: Config.number("REQUEST_TIMEOUT_SECONDS").pipe(Config.withDefault(600)),
  llmConcurrency: Config.integer("CONCURRENCY").pipe(Config.withDefault(8)),
  retries: Config.integer("MAX_RETRIES").pipe(Config.withDefault(DEFAULT_RETRY.retries)),
}).pipe(
  Config.nested("LLM"),
  Config.map((c): OpenAiLlmClientOptions => ({
    baseUrl: c.baseUrl,
    model: c.model,
    apiKey: Option.getOrUndefined(c.apiKey),
    toolMode: c.toolMode,
    defaults: {
      ...Option.match(c.temperature, { onNone: () => ({}), onSome: (temperature) => ({ temperature }) }),
      ...Option.match(c.top_p, { onNone: () => ({}), onSome: (top_p) => ({ top_p }) }),
      ...Option.match(c.max_tokens, { onNone: () => ({}), onSome: (max_tokens) => ({ max_tokens }) }),
      ...Option.match(c.seed, { onNone: () => ({}), onSome: (seed) => ({ seed }) }),
    },
    requestTimeout: Duration.seconds(c.requestTimeoutSeconds),
    llmConcurrency: c.llmConcurrency,
    retry: { retries: c.retries },
  })),
)

/** Replaces every copy of the key (and OpenAI's masked echo of a wrong key) in a text. */
const scrubber = (key: string | undefined) => (text: string): string => {
  const masked = text.replace(/(Incorrect API key provided: )\S+/g, "$1[redacted]")
  return key === undefined || key === "" ? masked : masked.split(key).join("[redacted]")
}

const decodeJsonObject = Schema.decodeUnknownEither(JsonObject)
const decodeCompletion = Schema.decodeUnknownEither(WireCompletion)

/** Tool calls already in the conversation, so text-mode call ids continue the count (`toolu_01`, `toolu_02`, …). */
const callsSoFar = (request: ChatRequest): number =>
  request.messages.reduce((n, m) => n + (m.role === "assistant" ? m.tool_calls?.length ?? 0 : 0), 0)

const textCallId = (n: number) => `toolu_${String(n).padStart(2, "0")}`

/** An `LlmClient` over the official `openai` package: one semaphore bounds requests in flight, retries by error class. */
export const makeOpenAiLlmClient = (options: OpenAiLlmClientOptions): Effect.Effect<LlmClient["Type"]> =>
  Effect.gen(function*() {
    const { baseUrl, model } = options
    const key = options.apiKey === undefined ? undefined : Redacted.value(options.apiKey)
    const scrub = scrubber(key)
    const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry }
    const maxDelay = Duration.decode(policy.maxDelay)
    const timeout = Duration.decode(options.requestTimeout ?? "10 minutes")
    const permits = yield* Effect.makeSemaphore(Math.max(1, options.llmConcurrency ?? 8))
    const client = new OpenAI({
      baseURL: baseUrl,
      apiKey: key === undefined || key === "" ? NO_KEY : key,
      // Configuration comes from our options only: never from OPENAI_* variables the package would read itself.
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      logLevel: "off",
      // Retries are ours (by error class, on the Effect clock); the package's own timeout is only a backstop.
      maxRetries: 0,
      timeout: Duration.toMillis(timeout) + 60_000,
      fetch: normalizingFetch(),
    })

    const schedule = Schedule.exponential(policy.baseDelay, 2).pipe(
      Schedule.union(Schedule.spaced(maxDelay)),
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(policy.retries)),
      Schedule.intersect(Schedule.identity<AttemptFailure>()),
      Schedule.modifyDelayEffect(([, failure], delay) =>
{
        const retryAfter = failure._tag === "TransientFailure" ? failure.retryAfter : undefined
        return retryAfter === undefined
          ? Effect.succeed(delay)
          : Effect.map(Clock.currentTimeMillis, (now) => retryAfterDelay(retryAfter, now, maxDelay))
      }
      ),
    )

    const complete = (request: ChatRequest): Effect.Effect<ChatCompletion, LlmError> =>
      Effect.gen(function*() {
        const mode = request.toolMode ?? options.toolMode ?? "native"
        const tools = request.tools ?? []
        const sampling: Sampling = { ...options.defaults, ...definedSampling(request) }
        const stop = mode === "text" && tools.length > 0
          ? [...new Set([...(sampling.stop ?? []), TEXT_TOOL_STOP])]
          : sampling.stop
        const messages = Either.all(
          (mode === "text" ? toTextModeMessages(request.messages, tools) : request.messages).map(messageParam),
        )
        if (Either.isLeft(messages)) {
          return yield* new LlmRequestRejected({
            model,
            status: 0,
            message: messages.left,
            hint: "Send text (or image_url) content parts only.",
          })
        }
        const body: OpenAI.Chat.ChatCompletionCreateParamsNonStreaming = {
          model,
          messages: messages.right,
          ...(mode === "native" && tools.length > 0 ? { tools: tools.map(toolParam) } : {}),
          ...(sampling.temperature === undefined ? {} : { temperature: sampling.temperature }),
          ...(sampling.top_p === undefined ? {} : { top_p: sampling.top_p }),
          ...(sampling.max_tokens === undefined ? {} : { max_tokens: sampling.max_tokens }),
          ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
          ...(stop === undefined || stop.length === 0 ? {} : { stop: [...stop] }),
          ...(request.logprobs === undefined ? {} : { logprobs: true, top_logprobs: request.logprobs.top_logprobs }),
        }
        const sent = Either.getOrThrow(decodeJsonObject(body))
        const startedAt = new Date(yield* Clock.currentTimeMillis).toISOString()
        const attempts = yield* Ref.make(0)

        const attempt = Effect.gen(function*() {
          yield* Ref.update(attempts, (n) => n + 1)
          const t0 = yield* Clock.currentTimeMillis
          const { data } = yield* Effect.tryPromise({
            // The signal aborts the HTTP request when this fiber is interrupted (a timeout, the caller, Ctrl-C).
            try: (signal) => client.chat.completions.create(body, { signal }).withResponse(),
            catch: (error) => attemptFailure(error, { model, baseUrl, scrub }),
          }).pipe(
            Effect.timeoutFail({
              duration: timeout,
              onTimeout: () =>
                new TransientFailure({
                  reason: "timeout",
                  status: undefined,
                  message: `no response within ${Duration.format(timeout)}`,
                  retryAfter: undefined,
                }),
            }),
          )
          const latency = (yield* Clock.currentTimeMillis) - t0
          const received = decodeJsonObject(data)
          const wire = decodeCompletion(data)
          if (Either.isLeft(received) || Either.isLeft(wire)) {
            return yield* new TransientFailure({
              reason: "invalid_response",
              status: 200,
              message: scrub(`the response is not a chat completion: ${JSON.stringify(data).slice(0, 300)}`),
              retryAfter: undefined,
            })
          }
          return { received: received.right, wire: wire.right, latency }
        }).pipe(permits.withPermits(1))

        const { received, wire, latency } = yield* attempt.pipe(
          Effect.retry({ schedule, while: (f) => f._tag === "TransientFailure" }),
          Effect.catchTag("TransientFailure", (f) =>
            Effect.flatMap(Ref.get(attempts), (n) =>
              Effect.fail(
                new LlmUnavailable({
                  model,
                  baseUrl,
                  reason: f.reason,
                  ...(f.status === undefined ? {} : { status: f.status }),
                  attempts: n,
                  message: f.message,
                  hint:
                    `The endpoint at ${baseUrl} kept failing (${f.reason}) through ${n} attempts: check that it is up, or lower --llm-concurrency if it is overloaded.`,
                }),
              ))),
        )

        const choice = wire.choices[0]
        const usage = wire.usage === undefined || wire.usage === null ? undefined : {
          prompt_tokens: wire.usage.prompt_tokens,
          completion_tokens: wire.usage.completion_tokens,
          total_tokens: wire.usage.total_tokens ?? wire.usage.prompt_tokens + wire.usage.completion_tokens,
        }
        const content = choice.message.content ?? null
        const nativeCalls = (choice.message.tool_calls ?? []).map((c: WireToolCall, i) => ({
          id: c.id ?? textCallId(callsSoFar(request) + i + 1),
          type: "function" as const,
          function: { name: c.function.name, arguments: argumentsText(c.function.arguments) },
        }))
        const parsed = mode === "text" && nativeCalls.length === 0 && content !== null
          ? parseTextToolCalls(content, tools, (n) => textCallId(callsSoFar(request) + n + 1))
          : undefined
        const toolCalls = parsed?.toolCalls ?? nativeCalls
        const message: AssistantMessage = {
          role: "assistant",
          content: parsed === undefined ? content : parsed.content === "" && toolCalls.length > 0 ? null : parsed.content,
          ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
        }
        const logprobs: ReadonlyArray<TokenLogprob> | undefined = choice.logprobs?.content?.map((t) => ({
          token: t.token,
          logprob: t.logprob,
          top_logprobs: t.top_logprobs.map((a) => ({ token: a.token, logprob: a.logprob })),
        }))
        const call: LlmCall = {
          ...(request.label === undefined ? {} : { label: request.label }),
          model,
          tool_mode: mode,
          request: sent,
          response: received,
          ...(usage === undefined ? {} : { usage }),
          latency_ms: latency,
          attempts: yield* Ref.get(attempts),
          started_at: startedAt,
        }
        return {
          message,
          toolCallErrors: parsed?.errors ?? [],
          finish_reason: choice.finish_reason ?? "stop",
          usage,
          logprobs,
          call,
        }
      }).pipe(Effect.withSpan("llm.complete", { attributes: { model, label: request.label } }))

    return LlmClient.of({ model, complete })
  })

/** The sampling fields a request sets (undefined ones left out, so they do not hide the defaults). */
const definedSampling = (r: ChatRequest): Sampling => ({
  ...(r.temperature === undefined ? {} : { temperature: r.temperature }),
  ...(r.top_p === undefined ? {} : { top_p: r.top_p }),
  ...(r.max_tokens === undefined ? {} : { max_tokens: r.max_tokens }),
  ...(r.seed === undefined ? {} : { seed: r.seed }),
  ...(r.stop === undefined ? {} : { stop: r.stop }),
})

/** Layers of the `openai`-package client. */
export const OpenAiLlmClient = {
  /** From explicit options (an app's flags). */
  layer: (options: OpenAiLlmClientOptions): Layer.Layer<LlmClient> => Layer.effect(LlmClient, makeOpenAiLlmClient(options)),
  /** From the environment (`LLM_*`, see `llmClientConfig`), with `overrides` on top. */
  layerConfig: (overrides?: Partial<OpenAiLlmClientOptions>): Layer.Layer<LlmClient, ConfigError.ConfigError> =>
    Layer.effect(
      LlmClient,
      Effect.flatMap(llmClientConfig, (options) => makeOpenAiLlmClient({ ...options, ...overrides })),
    ),
}
