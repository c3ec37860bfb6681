import { Effect, Fiber, Redacted } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import {
  type ChatCompletionBody,
  type ChatRequestBody,
  decodeChatRequest,
  errorBody,
  type ModelListBody,
  type ToolCallBody,
  toolConversationError,
} from "./chat-wire.js"
import { readConversation, textContent, type ToolMode } from "./conversation.js"
import { type ContextErrorStyle, type FaultKind, type FaultOptions, FaultPlan, hashUniform } from "./faults.js"
import { textLogprobs, verdictLogprobs } from "./logprobs.js"
import { answer, type OracleInstance, POLICIES, type PolicyName, type RecordedTrajectory } from "./policies.js"

/** How to start an LLM emulator. */
export interface LlmEmulatorOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** The policy of requests whose model name is not a policy name (default `oracle`). */
  readonly policy?: PolicyName
  /** Task instances for `oracle`. */
  readonly instances?: ReadonlyArray<OracleInstance>
  /** Recorded trajectories for `replay` (one per instance id; the first wins). */
  readonly trajectories?: ReadonlyArray<RecordedTrajectory>
  /** When set, requests must carry `Authorization: Bearer <key>` (401 otherwise). */
  readonly apiKey?: Redacted.Redacted<string>
  /** Wait before every response (default 0). */
  readonly latencyMs?: number
  readonly faults?: FaultOptions
  /** Prompt plus max_tokens above this many (estimated) tokens gets a context-length 400. */
  readonly contextWindow?: number
  /** Malformed turns of `babble` before it finishes (default 3; Infinity: never). */
  readonly babbleTurns?: number
  /** Seed of logprobs and judge verdicts (default 0). */
  readonly seed?: number
}

/** One request as the emulator saw it. Never holds the key. */
export interface LoggedLlmRequest {
  readonly seq: number
  readonly method: string
  readonly path: string
  readonly model: string | undefined
  readonly policy: PolicyName | undefined
  readonly toolMode: ToolMode | undefined
  /** The response status; 0 when the connection was reset. */
  readonly status: number
  readonly fault: FaultKind | undefined
  /** The client closed the connection before the response was sent (a cancelled request). */
  readonly aborted: boolean
  readonly authorized: boolean
  /** The request body as received (parsed JSON), if it parsed. */
  readonly request: unknown
  /** The response body as sent (parsed JSON), if one was sent. */
  readonly response: unknown
}

/** Counters of a running emulator. */
export interface LlmEmulatorStats {
  readonly requests: number
  /** Chat completions answered with 200. */
  readonly completions: number
  readonly inFlight: number
  /** Most requests in flight at once so far. */
  readonly maxInFlight: number
  readonly aborted: number
  /** Faults served, by kind. */
  readonly faults: Readonly<Record<FaultKind, number>>
}

/** Settings a test may change while the emulator runs. */
export interface LlmEmulatorSettings {
  readonly latencyMs?: number
  readonly policy?: PolicyName
  readonly faults?: Omit<FaultOptions, "script">
}

/** A running emulator. */
export interface LlmEmulator {
  /** OpenAI-compatible base URL, e.g. `http://127.0.0.1:40123/v1`. */
  readonly url: string
  readonly port: number
  readonly requests: Effect.Effect<ReadonlyArray<LoggedLlmRequest>>
  readonly stats: Effect.Effect<LlmEmulatorStats>
  /** Serves these faults to the next requests, in order. */
  readonly inject: (faults: ReadonlyArray<FaultKind>) => Effect.Effect<void>
  readonly configure: (settings: LlmEmulatorSettings) => Effect.Effect<void>
  /** Stops listening and drops open connections (the scope does it too). */
  readonly close: Effect.Effect<void>
}

interface Reply {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

const json = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): Reply =>
  headers === undefined ? { status, body } : { status, body, headers }

const estimateTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4))

/** The context-length error each server family sends (vLLM and SGLang write it at the top level, OpenAI under `error`). */
const contextLengthReply = (style: ContextErrorStyle, window: number, prompt: number, completion: number): Reply => {
  switch (style) {
    case "openai":
      return json(
        400,
        errorBody(
          `This model's maximum context length is ${window} tokens. However, your messages resulted in ${prompt} tokens. Please reduce the length of the messages.`,
          "invalid_request_error",
          "context_length_exceeded",
          "messages",
        ),
      )
    case "vllm":
      return json(400, {
        object: "error",
        message: `This model's maximum context length is ${window} tokens. However, you requested ${
          prompt + completion
        } tokens (${prompt} in the messages, ${completion} in the completion). Please reduce the length of the messages or completion.`,
        type: "BadRequestError",
        param: null,
        code: 400,
      })
    case "sglang":
      return json(400, {
        object: "error",
        message: `The input (${prompt} tokens) is longer than the model's context length (${window} tokens).`,
        type: "BadRequestError",
        param: null,
        code: 400,
      })
  }
}

const policyOf = (model: string, fallback: PolicyName): PolicyName => {
  const name = model.split("/").pop() ?? model
  return POLICIES.find((p) => p === name) ?? fallback
}

/** Cuts text at the first stop sequence, as a server stops generating there (the sequence itself is not sent). */
const applyStop = (text: string, stop: ChatRequestBody["stop"]): string => {
  const stops = stop === undefined || stop === null ? [] : typeof stop === "string" ? [stop] : stop
  let cut = text.length
  for (const s of stops) {
    const at = s === "" ? -1 : text.indexOf(s)
    if (at >= 0 && at < cut) cut = at
  }
  return text.slice(0, cut)
}

const emptyFaultCounts = (): Record<FaultKind, number> => ({
  rate_limit: 0,
  server_error: 0,
  reset: 0,
  slow: 0,
  context_length: 0,
  bad_request: 0,
  unauthorized: 0,
  not_found: 0,
})

/** Starts a loopback OpenAI-compatible Chat Completions server; it stops when the scope closes. */
export const startLlmEmulator = (options: LlmEmulatorOptions = {}): Effect.Effect<LlmEmulator, never, Scope.Scope> =>
  Effect.gen(function*() {
    const log: Array<LoggedLlmRequest> = []
    const faultCounts = emptyFaultCounts()
    const counters = { inFlight: 0, maxInFlight: 0, aborted: 0, completions: 0 }
    const faults = new FaultPlan(options.faults)
    const settings: { latencyMs: number; policy: PolicyName } = {
      latencyMs: options.latencyMs ?? 0,
      policy: options.policy ?? "oracle",
    }
    const key = options.apiKey === undefined ? undefined : Redacted.value(options.apiKey)
    const seed = options.seed ?? 0
    const data = {
      instances: new Map((options.instances ?? []).map((i) => [i.instance_id, i] as const)),
      trajectories: new Map<string, RecordedTrajectory>(),
      babbleTurns: options.babbleTurns ?? 3,
    }
    for (const t of options.trajectories ?? []) if (!data.trajectories.has(t.instance_id)) data.trajectories.set(t.instance_id, t)
    let seq = 0

    const chat = (raw: string, parsed: unknown, entry: { model?: string; policy?: PolicyName; toolMode?: ToolMode; fault?: FaultKind | undefined }) =>
      Effect.gen(function*() {
        const decoded = decodeChatRequest(parsed)
        if (decoded._tag === "Left") {
          return json(400, errorBody(`Invalid request body: ${decoded.left}`, "invalid_request_error"))
        }
        const request = decoded.right
        const mode: ToolMode = (request.tools ?? []).length > 0 ? "native" : "text"
        const policy = policyOf(request.model, settings.policy)
        entry.model = request.model
        entry.policy = policy
        entry.toolMode = mode

        const fault = faults.choose(createHash("sha256").update(raw).digest("hex"))
        entry.fault = fault
        const promptTokens = estimateTokens(JSON.stringify(request.messages) + JSON.stringify(request.tools ?? []))
        const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? 0
        if (fault !== undefined) faultCounts[fault] += 1
        switch (fault) {
          case "reset":
            return "reset" as const
          case "rate_limit": {
            const retryAfter = faults.settings.retryAfter ?? 1
            return json(
              429,
              errorBody(
                "Rate limit reached for requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again later.",
                "requests",
                "rate_limit_exceeded",
              ),
              { "retry-after": String(retryAfter) },
            )
          }
          case "server_error":
            return json(500, errorBody("The server had an error while processing your request. Sorry about that!", "server_error"))
          case "context_length":
            return contextLengthReply(
              faults.settings.contextStyle ?? "vllm",
              options.contextWindow ?? Math.max(1, promptTokens - 1),
              promptTokens,
              maxTokens,
            )
          case "bad_request":
            return json(400, errorBody("Injected fault: the request is invalid.", "invalid_request_error"))
          case "unauthorized":
            return json(401, errorBody("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
          case "not_found":
            return json(
              404,
              errorBody(`The model \`${request.model}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found"),
            )
          case "slow":
            yield* Effect.sleep(faults.settings.slowMs ?? 2000)
            break
          case undefined:
            break
        }
        if (request.stream === true) {
          return json(400, errorBody("llm-emulator does not stream: send stream: false.", "invalid_request_error", null, "stream"))
        }
        if ((request.n ?? 1) !== 1) return json(400, errorBody("llm-emulator answers n = 1 only.", "invalid_request_error", null, "n"))
        const malformed = toolConversationError(request.messages)
        if (malformed !== undefined) return json(400, errorBody(malformed, "invalid_request_error", null, "messages"))
        if (options.contextWindow !== undefined && promptTokens + maxTokens > options.contextWindow) {
          return contextLengthReply(faults.settings.contextStyle ?? "vllm", options.contextWindow, promptTokens, maxTokens)
        }

        const conversation = readConversation(request.messages, mode)
        const reply = answer(policy, conversation, data, hashUniform(seed, conversation.fingerprint))
        if (reply._tag === "Refuse") return json(400, errorBody(reply.message, "invalid_request_error", "instance_not_found"))

        const top = request.logprobs === true ? Math.max(0, Math.min(20, request.top_logprobs ?? 0)) : undefined
        let content: string | null
        let toolCalls: Array<ToolCallBody> = []
        let logprobs: ChatCompletionBody["choices"][number]["logprobs"] = null
        if (reply._tag === "Verdict") {
          content = reply.yes ? " YES" : " NO"
          if (top !== undefined) logprobs = { content: verdictLogprobs(reply.yes, reply.pYes, top), refusal: null }
        } else if (mode === "text") {
          content = applyStop(textContent(reply.action), request.stop)
          if (top !== undefined) logprobs = { content: textLogprobs(content, top, seed), refusal: null }
        } else {
          content = reply.action.content
          toolCalls = reply.action.calls.map((c, i) => ({
            id: `call_${createHash("sha256").update(`${conversation.fingerprint}\u0000${i}`).digest("hex").slice(0, 24)}`,
            type: "function",
            function: { name: c.name, arguments: c.arguments },
          }))
          if (top !== undefined && content !== null) logprobs = { content: textLogprobs(content, top, seed), refusal: null }
        }
        const completionTokens = estimateTokens((content ?? "") + toolCalls.map((c) => c.function.name + c.function.arguments).join(""))
        const body: ChatCompletionBody = {
          id: `chatcmpl-emu${createHash("sha256").update(raw).digest("hex").slice(0, 24)}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          system_fingerprint: "llm-emulator",
          choices: [{
            index: 0,
            message: toolCalls.length === 0
              ? { role: "assistant", content, refusal: null }
              : { role: "assistant", content, refusal: null, tool_calls: toolCalls },
            logprobs,
            finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop",
          }],
          usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        }
        return json(200, body)
      })

    const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
      seq += 1
      const entry: {
        seq: number
        model?: string
        policy?: PolicyName
        toolMode?: ToolMode
        fault?: FaultKind | undefined
        request?: unknown
      } = { seq }
      const method = req.method ?? "GET"
      const url = new URL(req.url ?? "/", "http://127.0.0.1")
      const path = url.pathname.replace(/\/+$/, "")
      const authorized = key === undefined || req.headers.authorization === `Bearer ${key}`
      const record = (status: number, response: unknown, aborted = false) =>
        log.push({
          seq: entry.seq,
          method,
          path: url.pathname,
          model: entry.model,
          policy: entry.policy,
          toolMode: entry.toolMode,
          status,
          fault: entry.fault,
          aborted,
          authorized,
          request: entry.request,
          response,
        })
      return Effect.gen(function*() {
        const raw = yield* Effect.async<string>((resume) => {
          const chunks: Array<Buffer> = []
          req.on("data", (c: Buffer) => chunks.push(c))
          req.on("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString("utf8"))))
          req.on("error", () => resume(Effect.succeed("")))
        })
        let reply: Reply | "reset"
        if (!authorized) {
          reply = json(401, errorBody("Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"))
        } else if (method === "GET" && (path === "/v1/models" || path === "/models")) {
          const models: ModelListBody = {
            object: "list",
            data: POLICIES.map((id) => ({ id, object: "model", created: 0, owned_by: "llm-emulator" })),
          }
          reply = json(200, models)
        } else if (method === "POST" && (path === "/v1/chat/completions" || path === "/chat/completions")) {
          let parsed: unknown
          try {
            parsed = JSON.parse(raw)
            entry.request = parsed
          } catch {
            parsed = undefined
          }
          reply = parsed === undefined
            ? json(400, errorBody("We could not parse the JSON body of your request.", "invalid_request_error"))
            : yield* chat(raw, parsed, entry)
        } else {
          reply = json(404, errorBody(`Unknown request URL: ${method} ${url.pathname}.`, "invalid_request_error", "unknown_url"))
        }
        if (reply === "reset") {
          record(0, undefined)
          req.socket.destroy()
          return
        }
        if (settings.latencyMs > 0) yield* Effect.sleep(settings.latencyMs)
        const text = JSON.stringify(reply.body)
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers })
        res.end(text)
        if (reply.status === 200 && path.endsWith("/chat/completions")) counters.completions += 1
        record(reply.status, reply.body)
      }).pipe(
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            counters.aborted += 1
            record(0, undefined, true)
          })
        ),
        Effect.catchAllCause((cause) =>
          Effect.sync(() => {
            if (res.headersSent) return
            res.writeHead(500, { "content-type": "application/json" })
            res.end(JSON.stringify(errorBody(`llm-emulator failed: ${String(cause)}`, "server_error")))
          })
        ),
      )
    }

    const server = yield* Effect.acquireRelease(
      Effect.async<http.Server>((resume) => {
        const s = http.createServer((req, res) => {
          counters.inFlight += 1
          counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight)
          const fiber = Effect.runFork(handle(req, res))
          res.on("close", () => {
            counters.inFlight -= 1
            // The client went away before the answer: stop working on it, as a server cancels a generation.
            if (!res.writableFinished) Effect.runFork(Fiber.interrupt(fiber))
          })
        })
        s.listen(options.port ?? 0, "127.0.0.1", () => resume(Effect.succeed(s)))
      }),
      (s) =>
        Effect.async<void>((resume) => {
          s.closeAllConnections()
          s.close(() => resume(Effect.void))
        }),
    )
    const address: AddressInfo | string | null = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return {
      url: `http://127.0.0.1:${port}/v1`,
      port,
      requests: Effect.sync(() => log.slice()),
      stats: Effect.sync(() => ({
        requests: seq,
        completions: counters.completions,
        inFlight: counters.inFlight,
        maxInFlight: counters.maxInFlight,
        aborted: counters.aborted,
        faults: { ...faultCounts },
      })),
      inject: (kinds) => Effect.sync(() => faults.enqueue(kinds)),
      configure: (s) =>
        Effect.sync(() => {
          if (s.latencyMs !== undefined) settings.latencyMs = s.latencyMs
          if (s.policy !== undefined) settings.policy = s.policy
          if (s.faults !== undefined) faults.configure(s.faults)
        }),
      close: Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      }),
    }
  })
