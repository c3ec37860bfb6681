import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import OpenAI from "openai"
import { type LlmEmulator, startLlmEmulator } from "../src/index.js"

const TOOLS: Array<OpenAI.Chat.ChatCompletionFunctionTool> = ["execute_bash", "str_replace_editor", "finish"].map((name) => ({
  type: "function",
  function: { name, parameters: { type: "object", properties: {} } },
}))

const first = (instance = "demo__x-1"): Array<OpenAI.Chat.ChatCompletionMessageParam> => [
  { role: "system", content: "You are an agent." },
  { role: "user", content: `Solve it.\nInstance: ${instance}` },
]

const complete = (emulator: LlmEmulator, model: string, messages: Array<OpenAI.Chat.ChatCompletionMessageParam>, tools = TOOLS) =>
  Effect.promise(() =>
    new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 }).chat.completions.create({
      model,
      messages,
      ...(tools.length === 0 ? {} : { tools }),
    })
  )

/** Runs `turns` native turns, answering every call with `observation`; returns the calls made. */
const converse = (emulator: LlmEmulator, model: string, turns: number) =>
  Effect.gen(function*() {
    const messages = first()
    const calls: Array<{ name: string; arguments: string }> = []
    for (let t = 0; t < turns; t += 1) {
      const c = yield* complete(emulator, model, messages)
      const message = c.choices[0]?.message
      const toolCalls = (message?.tool_calls ?? []).flatMap((tc) => tc.type === "function" ? [tc] : [])
      messages.push({ role: "assistant", content: message?.content ?? null, tool_calls: toolCalls })
      for (const tc of toolCalls) {
        calls.push({ name: tc.function.name, arguments: tc.function.arguments })
        messages.push({ role: "tool", tool_call_id: tc.id, content: "ok" })
      }
    }
    return calls
  })

const errorOf = <A>(p: Promise<A>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e)

describe("policies", () => {
  it.scoped("empty finishes at once; loop repeats one identical action", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({})
      const [finish] = yield* converse(emulator, "empty", 1)
      expect(finish?.name).toBe("finish")
      const loop = yield* converse(emulator, "loop", 4)
      expect(loop.length).toBe(4)
      expect(new Set(loop.map((c) => JSON.stringify(c))).size).toBe(1)
      expect(loop[0]).toEqual({ name: "execute_bash", arguments: JSON.stringify({ command: "ls /testbed" }) })
    }))

  it.scoped("babble: an unknown tool, unreadable JSON, a missing argument, then finish (or never, if told)", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({})
      const calls = yield* converse(emulator, "babble", 4)
      expect(calls[0]?.name).toBe("run_python")
      expect(() => JSON.parse(calls[1]?.arguments ?? "")).toThrow()
      expect(calls[2]).toEqual({ name: "str_replace_editor", arguments: JSON.stringify({ command: "view" }) })
      expect(calls[3]?.name).toBe("finish")
      const stubborn = yield* startLlmEmulator({ babbleTurns: Number.POSITIVE_INFINITY })
      const forever = yield* converse(stubborn, "babble", 7)
      expect(forever.some((c) => c.name === "finish")).toBe(false)
    }))

  it.scoped("babble in text mode writes markup the parser must reject", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({})
      const messages = first()
      const contents: Array<string> = []
      for (let t = 0; t < 3; t += 1) {
        const c = yield* complete(emulator, "babble", messages, [])
        const content = c.choices[0]?.message.content ?? ""
        contents.push(content)
        messages.push({ role: "assistant", content }, { role: "user", content: "EXECUTION RESULT of [x]:\nerror" })
      }
      expect(contents[0]).toContain("<function=run_python>")
      expect(contents[1]).toBe("Let me list the files.\n<function=execute_bash>\n<parameter=command>ls /testbed\n</function>")
      expect(contents[2]).toBe("Let me view the file.\n\n<function=str_replace_editor>\n<parameter=command>view</parameter>\n</function>")
    }))

  it.scoped("replay: the recorded calls in order, then finish; an unknown instance is a 400 naming it", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({
        policy: "replay",
        trajectories: [{
          instance_id: "demo__x-1",
          messages: [
            { role: "user", content: "Instance: demo__x-1" },
            { role: "assistant", content: "look", tool_calls: [{ function: { name: "execute_bash", arguments: "{\"command\":\"pwd\"}" } }] },
            { role: "tool", content: "/testbed" },
            { role: "assistant", content: null, tool_calls: [{ function: { name: "execute_bash", arguments: "{\"command\":\"ls\"}" } }] },
          ],
        }],
      })
      const calls = yield* converse(emulator, "any-model", 3)
      expect(calls).toEqual([
        { name: "execute_bash", arguments: "{\"command\":\"pwd\"}" },
        { name: "execute_bash", arguments: "{\"command\":\"ls\"}" },
        { name: "finish", arguments: JSON.stringify({ message: "Replayed the recorded trajectory." }) },
      ])
      const unknown = yield* Effect.promise(() =>
        errorOf(new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 }).chat.completions.create({
          model: "replay",
          messages: first("nobody__here-9"),
          tools: TOOLS,
        }))
      )
      expect(unknown).toBeInstanceOf(OpenAI.BadRequestError)
      expect(String(unknown)).toContain("nobody__here-9")
    }))

  it.scoped("a tool message that answers no call is a 400, as OpenAI answers it", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({ policy: "empty" })
      const e = yield* Effect.promise(() =>
        errorOf(new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 }).chat.completions.create({
          model: "empty",
          messages: [...first(), { role: "tool", tool_call_id: "call_nope", content: "x" }],
          tools: TOOLS,
        }))
      )
      expect(e).toBeInstanceOf(OpenAI.BadRequestError)
      expect(String(e)).toContain("must be a response to a preceeding message with 'tool_calls'")
    }))
})

describe("faults", () => {
  it.scoped("at a rate with a seed: about that share, the same faults for the same seed, counted in the stats", () =>
    Effect.gen(function*() {
      const run = Effect.gen(function*() {
        const emulator = yield* startLlmEmulator({ policy: "empty", faults: { rate: 0.2, seed: 42, kinds: ["server_error", "rate_limit"] } })
        const statuses: Array<number> = []
        for (let i = 0; i < 100; i += 1) {
          const e = yield* Effect.promise(() =>
            errorOf(new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 }).chat.completions.create({
              model: "empty",
              messages: [{ role: "user", content: `request ${i}` }],
            }))
          )
          statuses.push(e instanceof OpenAI.APIError ? e.status ?? -1 : 200)
        }
        return { statuses, stats: yield* emulator.stats }
      })
      const a = yield* run
      const b = yield* run
      const faulted = a.statuses.filter((s) => s !== 200).length
      expect(faulted).toBeGreaterThan(8)
      expect(faulted).toBeLessThan(35)
      expect(a.stats.faults.server_error + a.stats.faults.rate_limit).toBe(faulted)
      expect(b.statuses).toEqual(a.statuses)
    }))

  it.scoped("a reset drops the connection; the log and stats count it", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({ policy: "empty" })
      yield* emulator.inject(["reset"])
      const e = yield* Effect.promise(() =>
        errorOf(new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 }).chat.completions.create({
          model: "empty",
          messages: [{ role: "user", content: "hi" }],
        }))
      )
      expect(e).toBeInstanceOf(OpenAI.APIConnectionError)
      const [logged] = yield* emulator.requests
      expect(logged).toMatchObject({ status: 0, fault: "reset" })
      expect((yield* emulator.stats).faults.reset).toBe(1)
    }))

  it.scoped("a prompt over the context window gets vLLM's context-length 400", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({ policy: "empty", contextWindow: 50 })
      const e = yield* Effect.promise(() =>
        errorOf(new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 }).chat.completions.create({
          model: "empty",
          messages: [{ role: "user", content: "x".repeat(400) }],
        }))
      )
      expect(e).toBeInstanceOf(OpenAI.BadRequestError)
      const [logged] = yield* emulator.requests
      expect(logged?.response).toMatchObject({ object: "error", type: "BadRequestError", code: 400 })
      expect(JSON.stringify(logged?.response)).toContain("maximum context length is 50 tokens")
    }))

  // Live clock: the test polls the emulator's counters while the request is in flight.
  it.scopedLive("a cancelled request is logged as aborted; concurrent requests are counted in flight", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({ policy: "empty", latencyMs: 30_000 })
      const controller = new AbortController()
      const pending = errorOf(
        new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 }).chat.completions.create(
          { model: "empty", messages: [{ role: "user", content: "slow" }] },
          { signal: controller.signal },
        ),
      )
      yield* emulator.stats.pipe(
        Effect.filterOrFail((s) => s.inFlight === 1),
        Effect.retry(Schedule.spaced("10 millis")),
      )
      controller.abort()
      expect(yield* Effect.promise(() => pending)).toBeInstanceOf(OpenAI.APIUserAbortError)
      const stats = yield* emulator.stats.pipe(
        Effect.filterOrFail((s) => s.aborted === 1 && s.inFlight === 0),
        Effect.retry(Schedule.spaced("10 millis")),
      )
      expect(stats.completions).toBe(0)
      const [logged] = yield* emulator.requests
      expect(logged).toMatchObject({ aborted: true, status: 0 })

      yield* emulator.configure({ latencyMs: 200 })
      yield* Effect.all(
        Array.from({ length: 5 }, (_, i) => complete(emulator, "empty", [{ role: "user", content: `c${i}` }], [])),
        { concurrency: "unbounded" },
      )
      expect((yield* emulator.stats).maxInFlight).toBe(5)
    }))
})
