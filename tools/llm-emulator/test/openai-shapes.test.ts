// The emulator's answers, read by the real `openai` client over HTTP: shapes checked by the compiler against the
// package's types and decoded at run time by its client, errors raised as the package's own error classes.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import OpenAI from "openai"
import { type ChatCompletionBody, type ErrorBody, type ModelListBody, startLlmEmulator } from "../src/index.js"

// Compile-time: our response types are assignable to the package's (a field we got wrong fails `tsc`).
type Assignable<A extends B, B> = A
export type ShapeChecks = [
  Assignable<ChatCompletionBody, OpenAI.Chat.ChatCompletion>,
  Assignable<ModelListBody["data"][number], OpenAI.Models.Model>,
  Assignable<ErrorBody["error"], { message: string; type: string; param: string | null; code: string | null }>,
]

const KEY = "sk-emulator-shape-test-0123456789"

const TOOLS: Array<OpenAI.Chat.ChatCompletionFunctionTool> = [
  {
    type: "function",
    function: {
      name: "execute_bash",
      parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
    },
  },
  { type: "function", function: { name: "finish", parameters: { type: "object", properties: { message: { type: "string" } } } } },
]

const instance = {
  instance_id: "octo__calc-1",
  patch: "diff --git a/calc.py b/calc.py\nnew file mode 100644\n--- /dev/null\n+++ b/calc.py\n@@ -0,0 +1 @@\n+x = 1\n",
}

const client = (url: string) => new OpenAI({ baseURL: url, apiKey: KEY, maxRetries: 0 })

describe("llm-emulator through the openai client", () => {
  it.scoped("a native tool-call completion decodes with the package's types", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({ apiKey: Redacted.make(KEY), instances: [instance] })
      const completion = yield* Effect.promise(() =>
        client(emulator.url).chat.completions.create({
          model: "oracle",
          messages: [{ role: "system", content: "You are an agent." }, { role: "user", content: "Fix it.\nInstance: octo__calc-1\n" }],
          tools: TOOLS,
        })
      )
      expect(completion.object).toBe("chat.completion")
      const choice = completion.choices[0]
      expect(choice?.finish_reason).toBe("tool_calls")
      const call = choice?.message.tool_calls?.[0]
      expect(call?.type).toBe("function")
      if (call?.type !== "function") throw new Error("expected a function call")
      expect(call.function.name).toBe("str_replace_editor")
      expect(JSON.parse(call.function.arguments)).toEqual({ command: "create", path: "/testbed/calc.py", file_text: "x = 1\n" })
      expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0))
      const [logged] = yield* emulator.requests
      expect(logged?.authorized).toBe(true)
      // The response as logged is the body the client decoded.
      expect(logged?.response).toEqual(JSON.parse(JSON.stringify(completion)))
    }))

  it.scoped("text mode: the call is written in the content and cut at the stop sequence", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({ apiKey: Redacted.make(KEY), policy: "empty" })
      const completion = yield* Effect.promise(() =>
        client(emulator.url).chat.completions.create({
          model: "swe-gym-text",
          messages: [{ role: "user", content: "Instance: x" }],
          stop: ["</function"],
        })
      )
      expect(completion.choices[0]?.message.content).toBe(
        "<function=finish>\n<parameter=message>Nothing to change.</parameter>\n",
      )
      expect(completion.choices[0]?.message.tool_calls).toBeUndefined()
      expect(completion.choices[0]?.finish_reason).toBe("stop")
    }))

  it.scoped("logprobs: a judge verdict with YES/NO alternatives, the same for the same seed", () =>
    Effect.gen(function*() {
      const ask = (url: string) =>
        Effect.promise(() =>
          client(url).chat.completions.create({
            model: "judge",
            messages: [{ role: "user", content: "Did the agent solve the issue? Answer YES or NO." }],
            logprobs: true,
            top_logprobs: 5,
          })
        )
      const a = yield* startLlmEmulator({ apiKey: Redacted.make(KEY), seed: 7 })
      const b = yield* startLlmEmulator({ apiKey: Redacted.make(KEY), seed: 7 })
      const first = yield* ask(a.url)
      const second = yield* ask(b.url)
      const lp = first.choices[0]?.logprobs?.content?.[0]
      expect(lp?.top_logprobs.length).toBe(5)
      const yes = lp?.top_logprobs.find((t) => t.token === " YES")?.logprob ?? Number.NaN
      const no = lp?.top_logprobs.find((t) => t.token === " NO")?.logprob ?? Number.NaN
      expect(Math.exp(yes) + Math.exp(no)).toBeCloseTo(1, 6)
      expect(first.choices[0]?.message.content).toBe(yes > no ? " YES" : " NO")
      expect(second.choices[0]?.logprobs).toEqual(first.choices[0]?.logprobs)
    }))

  it.scoped("errors arrive as the package's error classes, with Retry-After and the context-length code", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({
        apiKey: Redacted.make(KEY),
        policy: "empty",
        faults: { retryAfter: 3, contextStyle: "openai" },
      })
      yield* emulator.inject(["rate_limit", "server_error", "context_length", "not_found"])
      const send = (c: OpenAI) =>
        Effect.promise(() =>
          c.chat.completions.create({ model: "empty", messages: [{ role: "user", content: "hi" }] }).then(
            () => undefined,
            (e: unknown) => e,
          )
        )
      const limited = yield* send(client(emulator.url))
      expect(limited).toBeInstanceOf(OpenAI.RateLimitError)
      if (limited instanceof OpenAI.RateLimitError) expect(limited.headers.get("retry-after")).toBe("3")
      expect(yield* send(client(emulator.url))).toBeInstanceOf(OpenAI.InternalServerError)
      const context = yield* send(client(emulator.url))
      expect(context).toBeInstanceOf(OpenAI.BadRequestError)
      if (context instanceof OpenAI.BadRequestError) expect(context.code).toBe("context_length_exceeded")
      expect(yield* send(client(emulator.url))).toBeInstanceOf(OpenAI.NotFoundError)
      const denied = yield* send(new OpenAI({ baseURL: emulator.url, apiKey: "sk-wrong", maxRetries: 0 }))
      expect(denied).toBeInstanceOf(OpenAI.AuthenticationError)
      const stats = yield* emulator.stats
      expect(stats.faults).toMatchObject({ rate_limit: 1, server_error: 1, context_length: 1, not_found: 1 })
    }))

  it.scoped("GET /models lists the policies", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({})
      const page = yield* Effect.promise(() => new OpenAI({ baseURL: emulator.url, apiKey: "none" }).models.list())
      expect(page.data.map((m) => m.id)).toEqual(["oracle", "replay", "empty", "loop", "babble", "judge"])
    }))
})
