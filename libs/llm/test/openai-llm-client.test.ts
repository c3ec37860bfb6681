// The client against the LLM emulator over real HTTP on 127.0.0.1: retries by error class (counted), Retry-After on the
// test clock, cancellation, the in-flight bound as the server sees it, exact raw call records, context-length mapping.
import { describe, expect, it } from "@effect/vitest"
import type { ChatMessage } from "@swe-gym/domain"
import { type FaultKind, type LlmEmulatorOptions, startLlmEmulator } from "@swe-gym/llm-emulator"
import { Chunk, ConfigProvider, Effect, Either, Fiber, Logger, Redacted, TestClock } from "effect"
import {
  type ChatRequest,
  LlmClient,
  llmClientConfig,
  type LlmError,
  makeOpenAiLlmClient,
  OpenAiLlmClient,
  type OpenAiLlmClientOptions,
  textToolsPrompt,
  type ToolSpec,
} from "../src/index.js"

const TOOLS: ReadonlyArray<ToolSpec> = [
  {
    type: "function",
    function: {
      name: "execute_bash",
      parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
    },
  },
  {
    type: "function",
    function: {
      name: "str_replace_editor",
      parameters: {
        type: "object",
        properties: { command: { type: "string" }, path: { type: "string" }, file_text: { type: "string" } },
        required: ["command", "path"],
      },
    },
  },
  { type: "function", function: { name: "finish", parameters: { type: "object", properties: { message: { type: "string" } } } } },
]

const INSTANCE = {
  instance_id: "demo__calc-3",
  patch: "diff --git a/calc.py b/calc.py\nnew file mode 100644\n--- /dev/null\n+++ b/calc.py\n@@ -0,0 +1,2 @@\n+def add(a, b):\n+    return a + b\n",
}

const messages = (text = "Fix the bug."): ReadonlyArray<ChatMessage> => [
  { role: "system", content: "You are a careful software engineer." },
  { role: "user", content: `${text}\nInstance: demo__calc-3\nThe repository is at /testbed.` },
]

const request = (over: Partial<ChatRequest> = {}): ChatRequest => ({ messages: messages(), tools: TOOLS, ...over })

/** Polls a condition on the real clock (the test clock does not move by itself), for at most 10 seconds. */
const waitFor = <A>(probe: Effect.Effect<A>, ok: (a: A) => boolean): Effect.Effect<A> =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000; i += 1) {
      const a = yield* probe
      if (ok(a)) return a
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
    }
    return yield* Effect.dieMessage(`condition not reached in 10 s; last value: ${JSON.stringify(yield* probe)}`)
  })

const setup = (emulatorOptions: LlmEmulatorOptions = {}, client: Partial<OpenAiLlmClientOptions> = {}) =>
  Effect.gen(function*() {
    const emulator = yield* startLlmEmulator({ instances: [INSTANCE], ...emulatorOptions })
    const llm = yield* makeOpenAiLlmClient({
      baseUrl: emulator.url,
      model: "oracle",
      retry: { retries: 6, baseDelay: "1 millis", maxDelay: "20 millis" },
      ...client,
    })
    return { emulator, llm }
  })

/** A logger that keeps every formatted line. */
const captureLogs = (lines: Array<string>) =>
  Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, (line) => void lines.push(line)))

const failure = <A>(effect: Effect.Effect<A, LlmError>) =>
  Effect.map(Effect.either(effect), (e) => {
    if (Either.isRight(e)) throw new Error("expected the call to fail")
    return e.left
  })

describe("OpenAiLlmClient: completions and raw records", () => {
  it.live("native: the call record holds the request exactly as the server received it and the response as it sent it", () =>
    Effect.scoped(Effect.gen(function*() {
      const { emulator, llm } = yield* setup({}, { defaults: { temperature: 0, max_tokens: 512, seed: 1 } })
      const completion = yield* llm.complete(request({ temperature: 0.5, label: "demo__calc-3/0/1" }))
      const [logged] = yield* emulator.requests
      expect(completion.call.request).toEqual(logged?.request)
      expect(completion.call.response).toEqual(logged?.response)
      expect(completion.call.request).toMatchObject({ model: "oracle", temperature: 0.5, max_tokens: 512, seed: 1 })
      expect(completion.call).toMatchObject({ label: "demo__calc-3/0/1", model: "oracle", tool_mode: "native", attempts: 1 })
      expect(completion.call.usage).toEqual(completion.usage)
      expect(completion.finish_reason).toBe("tool_calls")
      expect(completion.toolCallErrors).toEqual([])
      const call = completion.message.tool_calls?.[0]
      expect(call?.function.name).toBe("str_replace_editor")
      expect(JSON.parse(call?.function.arguments ?? "")).toEqual({
        command: "create",
        path: "/testbed/calc.py",
        file_text: "def add(a, b):\n    return a + b\n",
      })
    })))

  it.live("text mode: tools described in the system prompt, calls parsed from the content the server cut at the stop sequence", () =>
    Effect.scoped(Effect.gen(function*() {
      const { emulator, llm } = yield* setup({}, { toolMode: "text" })
      const completion = yield* llm.complete(request())
      const [logged] = yield* emulator.requests
      expect(logged?.toolMode).toBe("text")
      expect(completion.call.request["tools"]).toBeUndefined()
      expect(completion.call.request["stop"]).toEqual(["</function"])
      expect(completion.call.request["messages"]).toEqual([
        { role: "system", content: `You are a careful software engineer.${textToolsPrompt(TOOLS)}` },
        { role: "user", content: "Fix the bug.\nInstance: demo__calc-3\nThe repository is at /testbed." },
      ])
      expect(completion.call.tool_mode).toBe("text")
      expect(completion.message.content).toBe("I create calc.py.")
      expect(completion.message.tool_calls).toEqual([{
        id: "toolu_01",
        type: "function",
        function: {
          name: "str_replace_editor",
          arguments: JSON.stringify({ command: "create", path: "/testbed/calc.py", file_text: "def add(a, b):\n    return a + b\n" }),
        },
      }])
    })))

  it.live("logprobs on request", () =>
    Effect.scoped(Effect.gen(function*() {
      const { llm } = yield* setup({}, { model: "judge" })
      const c = yield* llm.complete({ messages: [{ role: "user", content: "YES or NO?" }], logprobs: { top_logprobs: 3 } })
      expect(c.logprobs?.[0]?.top_logprobs.map((t) => t.token).sort()).toContain(" YES")
      expect(c.call.request).toMatchObject({ logprobs: true, top_logprobs: 3 })
    })))
})

describe("OpenAiLlmClient: retries by error class", () => {
  const retried: ReadonlyArray<readonly [FaultKind, number]> = [
    ["server_error", 2],
    ["rate_limit", 2],
    ["reset", 3],
  ]
  for (const [kind, times] of retried) {
    it.live(`${kind} × ${times} is retried: ${times + 1} attempts, all seen by the server`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { emulator, llm } = yield* setup({ faults: { retryAfter: 0 } })
        yield* emulator.inject(Array.from({ length: times }, () => kind))
        const c = yield* llm.complete(request())
        expect(c.call.attempts).toBe(times + 1)
        const logged = yield* emulator.requests
        expect(logged.map((r) => r.fault)).toEqual([...Array.from({ length: times }, () => kind), undefined])
      })))
  }

  it.live("a slow response past the request timeout is cancelled (the server sees the abort) and retried", () =>
    Effect.scoped(Effect.gen(function*() {
      const { emulator, llm } = yield* setup({ faults: { slowMs: 20_000 } }, { requestTimeout: "300 millis" })
      yield* emulator.inject(["slow"])
      const c = yield* llm.complete(request())
      expect(c.call.attempts).toBe(2)
      const stats = yield* waitFor(emulator.stats, (s) => s.aborted === 1)
      expect(stats.faults.slow).toBe(1)
    })))

  const rejected: ReadonlyArray<readonly [FaultKind, number]> = [["bad_request", 400], ["unauthorized", 401], ["not_found", 404]]
  for (const [kind, status] of rejected) {
    it.live(`${status} is not retried: LlmRequestRejected after one request`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { emulator, llm } = yield* setup()
        yield* emulator.inject([kind])
        const e = yield* failure(llm.complete(request()))
        expect(e._tag).toBe("LlmRequestRejected")
        if (e._tag === "LlmRequestRejected") expect(e.status).toBe(status)
        expect((yield* emulator.stats).requests).toBe(1)
      })))
  }

  for (const style of ["openai", "vllm", "sglang"] as const) {
    it.live(`a context-length error worded as ${style} answers it is LlmContextExceeded, not retried`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { emulator, llm } = yield* setup({ contextWindow: 64, faults: { contextStyle: style } })
        const e = yield* failure(llm.complete(request({ max_tokens: 32 })))
        expect(e._tag).toBe("LlmContextExceeded")
        expect(e.message).toMatch(/context length/)
        expect((yield* emulator.stats).requests).toBe(1)
      })))
  }

  it.live("still failing after the retries: LlmUnavailable with the attempt count and the last status", () =>
    Effect.scoped(Effect.gen(function*() {
      const { emulator, llm } = yield* setup({}, { retry: { retries: 2, baseDelay: "1 millis", maxDelay: "5 millis" } })
      yield* emulator.inject(["server_error", "server_error", "server_error", "server_error"])
      const e = yield* failure(llm.complete(request()))
      expect(e).toMatchObject({ _tag: "LlmUnavailable", reason: "server_error", status: 500, attempts: 3 })
      expect((yield* emulator.stats).requests).toBe(3)
    })))

  it.live("nothing listening: LlmUnavailable (connection) after the retries", () =>
    Effect.gen(function*() {
      const port = yield* Effect.scoped(Effect.map(startLlmEmulator({}), (e) => e.port))
      const llm = yield* makeOpenAiLlmClient({
        baseUrl: `http://127.0.0.1:${port}/v1`,
        model: "oracle",
        retry: { retries: 1, baseDelay: "1 millis", maxDelay: "1 millis" },
      })
      const e = yield* failure(llm.complete(request()))
      expect(e).toMatchObject({ _tag: "LlmUnavailable", reason: "connection", attempts: 2 })
    }))

  it.live("20% faults of every kind: every request completes, the retries counted equal the faults served", () =>
    Effect.scoped(Effect.gen(function*() {
      const { emulator, llm } = yield* setup(
        { policy: "empty", faults: { rate: 0.2, seed: 11, retryAfter: 0, slowMs: 5 } },
        { model: "empty", retry: { retries: 10, baseDelay: "1 millis", maxDelay: "5 millis" }, llmConcurrency: 8 },
      )
      const completions = yield* Effect.forEach(
        Array.from({ length: 60 }, (_, i) => i),
        (i) => llm.complete({ messages: [{ role: "user", content: `request ${i}` }], tools: TOOLS }),
        { concurrency: 8 },
      )
      expect(completions.every((c) => c.message.tool_calls?.[0]?.function.name === "finish")).toBe(true)
      const stats = yield* emulator.stats
      const retries = completions.reduce((n, c) => n + c.call.attempts - 1, 0)
      const failing = stats.faults.rate_limit + stats.faults.server_error + stats.faults.reset
      expect(failing).toBeGreaterThan(3)
      expect(retries).toBe(failing)
      expect(stats.completions).toBe(60)
    })))
})

describe("OpenAiLlmClient: Retry-After on the test clock", () => {
  it.scoped("a 429 with Retry-After: 7 waits exactly 7 seconds (no jitter, no backoff) before the retry", () =>
    Effect.gen(function*() {
      const { emulator, llm } = yield* setup({ faults: { retryAfter: 7 } }, { retry: { retries: 3, baseDelay: "1 second", maxDelay: "60 seconds" } })
      yield* emulator.inject(["rate_limit"])
      const fiber = yield* Effect.fork(llm.complete(request()))
      yield* waitFor(emulator.requests, (r) => r.length === 1)
      const now = yield* TestClock.currentTimeMillis
      const sleeps = yield* waitFor(Effect.map(TestClock.sleeps(), Chunk.toReadonlyArray), (s) => s.some((t) => t === now + 7000))
      expect(sleeps.filter((t) => t < now + 7000 && t > now)).toEqual([])
      yield* TestClock.adjust("7 seconds")
      const c = yield* Fiber.join(fiber)
      expect(c.call.attempts).toBe(2)
    }))

  it.scoped("Retry-After as an HTTP date waits until that moment", () =>
    Effect.gen(function*() {
      const at = "Wed, 21 Oct 2015 07:28:07 GMT"
      yield* TestClock.setTime(Date.parse(at) - 5000)
      const { emulator, llm } = yield* setup({ faults: { retryAfter: at } }, { retry: { retries: 3, baseDelay: "1 second", maxDelay: "60 seconds" } })
      yield* emulator.inject(["rate_limit"])
      const fiber = yield* Effect.fork(llm.complete(request()))
      const sleeps = yield* waitFor(Effect.map(TestClock.sleeps(), Chunk.toReadonlyArray), (s) => s.includes(Date.parse(at)))
      expect(sleeps.filter((t) => t < Date.parse(at) && t > Date.parse(at) - 5000)).toEqual([])
      yield* TestClock.adjust("5 seconds")
      expect((yield* Fiber.join(fiber)).call.attempts).toBe(2)
    }))
})

describe("OpenAiLlmClient: cancellation and the in-flight bound", () => {
  it.live("interrupting a call cancels its HTTP request: the server sees the connection close", () =>
    Effect.scoped(Effect.gen(function*() {
      const { emulator, llm } = yield* setup({ latencyMs: 60_000 })
      const fiber = yield* Effect.fork(llm.complete(request()))
      yield* waitFor(emulator.stats, (s) => s.inFlight === 1)
      yield* Fiber.interrupt(fiber)
      const stats = yield* waitFor(emulator.stats, (s) => s.aborted === 1 && s.inFlight === 0)
      expect(stats.completions).toBe(0)
    })))

  it.live("llmConcurrency bounds the requests the server has in flight at once", () =>
    Effect.scoped(Effect.gen(function*() {
      const { emulator, llm } = yield* setup({ policy: "empty", latencyMs: 50 }, { model: "empty", llmConcurrency: 3 })
      yield* Effect.forEach(
        Array.from({ length: 12 }, (_, i) => i),
        (i) => llm.complete({ messages: [{ role: "user", content: `r${i}` }] }),
        { concurrency: "unbounded" },
      )
      const stats = yield* emulator.stats
      expect(stats.maxInFlight).toBe(3)
      expect(stats.completions).toBe(12)
    })))
})

describe("OpenAiLlmClient: the API key", () => {
  it.live("reaches the server, and no record, error, log line or server log holds it", () =>
    Effect.scoped(Effect.gen(function*() {
      const KEY = "sk-live-SECRET-5f1c9e0a7b3d42e8a6c1"
      const WRONG = "sk-live-OTHER-93be07d1c4a8f2e65b10"
      const written: Array<string> = []
      const { emulator, llm } = yield* setup(
        { apiKey: Redacted.make(KEY), contextWindow: 2000 },
        { apiKey: Redacted.make(KEY), retry: { retries: 1, baseDelay: "1 millis", maxDelay: "1 millis" } },
      )
      const ok = yield* llm.complete(request())
      written.push(JSON.stringify(ok), String(ok.message.content))
      yield* emulator.inject(["server_error", "server_error"])
      const unavailable = yield* failure(llm.complete(request()))
      const tooLong = yield* failure(llm.complete(request({ messages: messages("x".repeat(12_000)) })))
      const other = yield* makeOpenAiLlmClient({ baseUrl: emulator.url, model: "oracle", apiKey: Redacted.make(WRONG) })
      const denied = yield* failure(other.complete(request()))
      expect([unavailable._tag, tooLong._tag, denied._tag]).toEqual(["LlmUnavailable", "LlmContextExceeded", "LlmRequestRejected"])
      for (const e of [unavailable, tooLong, denied]) written.push(String(e), JSON.stringify(e), e.message, e.hint)
      written.push(JSON.stringify(yield* emulator.requests))
      const logs: Array<string> = []
      yield* Effect.logInfo("call", ok.call, denied).pipe(
        Effect.withLogSpan("llm"),
        Effect.provide(captureLogs(logs)),
      )
      written.push(...logs)
      const leaked = written.filter((w) => [KEY, WRONG].some((k) => w.includes(k) || w.includes(k.slice(8))))
      expect(leaked).toEqual([])
      expect(ok.call.attempts).toBe(1)
      expect((yield* emulator.requests).filter((r) => r.authorized).length).toBeGreaterThan(2)
    })))
})

describe("OpenAiLlmClient: configuration", () => {
  it.live("from LLM_* variables, the key redacted in the config value", () =>
    Effect.scoped(Effect.gen(function*() {
      const KEY = "sk-config-SECRET-0d2f7a91c3"
      const emulator = yield* startLlmEmulator({ instances: [INSTANCE], apiKey: Redacted.make(KEY) })
      const provider = ConfigProvider.fromMap(new Map([
        ["LLM_BASE_URL", emulator.url],
        ["LLM_MODEL", "oracle"],
        ["LLM_API_KEY", KEY],
        ["LLM_TEMPERATURE", "0.5"],
        ["LLM_SEED", "3"],
        ["LLM_CONCURRENCY", "2"],
        ["LLM_TOOL_MODE", "text"],
      ]), { pathDelim: "_" }) // as the environment provider reads names
      const options = yield* llmClientConfig.pipe(Effect.withConfigProvider(provider))
      expect(options).toMatchObject({ model: "oracle", toolMode: "text", llmConcurrency: 2, defaults: { temperature: 0.5, seed: 3 } })
      expect(JSON.stringify(options)).not.toContain(KEY)
      expect(String(options.apiKey)).not.toContain(KEY)
      const c = yield* Effect.flatMap(LlmClient, (llm) => llm.complete(request())).pipe(
        Effect.provide(OpenAiLlmClient.layerConfig()),
        Effect.withConfigProvider(provider),
      )
      expect(c.call).toMatchObject({ tool_mode: "text", request: { temperature: 0.5, seed: 3 } })
    })))

  it.live("a missing LLM_BASE_URL is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(llmClientConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["LLM_MODEL", "m"]]), { pathDelim: "_" }))))
      expect(String(e)).toContain("LLM_BASE_URL")
    }))
})
