// The agent loop in a real container with a scripted model (the end-to-end test drives it through the real client).
import { describe, expect, it } from "@effect/vitest"
import { LlmClient, LlmContextExceeded, LlmUnavailable } from "@swe-gym/llm"
import { Effect, Either, Layer } from "effect"
import type { AgentConfig } from "../src/agent-config.js"
import { type AgentStep, runAgent } from "../src/agent-loop.js"
import { args, defaultConfig, dockerLayer, makeTestRepo, prepareTestbed, type ScriptedAnswer, scriptedLlm, testInstance } from "./agent-fixtures.js"

const repo = makeTestRepo()
const instance = testInstance(repo)
const layer = dockerLayer()

const fix = ["str_replace_editor", args({ command: "str_replace", path: "/testbed/calc/ops.py", old_str: "def add(a, b):\n    return a - b", new_str: "def add(a, b):\n    return a + b" })] as const
const finish = ["finish", args({ message: "fixed add" })] as const

/** Runs the loop on a fresh testbed with a scripted model; returns the result and the steps handed to onStep. */
const runScripted = (script: (turn: number) => ScriptedAnswer, tune: (c: AgentConfig) => AgentConfig = (c) => c) =>
  Effect.gen(function*() {
    const config = tune(yield* defaultConfig())
    const container = yield* prepareTestbed(repo)
    const llm = yield* LlmClient
    const steps: Array<AgentStep> = []
    const result = yield* runAgent({
      instance,
      container,
      config,
      temperature: 0,
      label: "t",
      complete: llm.complete,
      onStep: (step) => Effect.sync(() => steps.push(step)),
    })
    return { result, steps }
  }).pipe(Effect.provide(Layer.merge(layer, scriptedLlm(script))))

describe("agent loop", () => {
  it.scopedLive("edits, finishes, and takes the patch; the prompts name the instance and /testbed", () =>
    Effect.gen(function*() {
      const { result, steps } = yield* runScripted((turn) => ({ calls: [turn === 0 ? fix : finish] }))
      expect(result.exit.reason).toBe("submitted")
      expect(result.exit.detail).toBe("fixed add")
      expect(result.turns).toBe(2)
      expect(result.model_patch).toContain("+    return a + b")
      expect(result.usage.total_tokens).toBe(220)
      expect(result.messages[0]?.content).toContain(`Instance: ${instance.instance_id}`)
      expect(result.messages[0]?.content).toContain("/testbed")
      expect(result.messages[1]?.content).toContain(instance.problem_statement)
      // system, user, then assistant + tool result per turn
      expect(result.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "tool"])
      expect(steps.map((s) => s.index)).toEqual([0, 1])
      expect(steps[0]?.llm_call.request["messages"]).toHaveLength(2)
      expect(result.tools.map((t) => t.function.name)).toEqual(["execute_bash", "str_replace_editor", "finish"])
    }))

  it.scopedLive("loop: the same action three turns running ends the rollout as stuck_in_loop at the third", () =>
    Effect.gen(function*() {
      const { result } = yield* runScripted(() => ({ calls: [["execute_bash", args({ command: "ls" })]] }))
      expect(result.exit.reason).toBe("stuck_in_loop")
      expect(result.turns).toBe(3)
      expect(result.model_patch).toBe("")
      expect(result.openhands_stuck).toBeUndefined()
    }))

  it.scopedLive("a hanging command is killed at its timeout and the agent goes on to finish", () =>
    Effect.gen(function*() {
      const { result, steps } = yield* runScripted((turn) => ({
        calls: [turn === 0 ? ["execute_bash", args({ command: "sleep 600", timeout: 2 })] : turn === 1 ? fix : finish],
      }))
      expect(result.exit.reason).toBe("submitted")
      expect(steps[0]?.observations[0]?.content).toContain("timed out after 2 seconds and was killed")
      expect(result.model_patch).toContain("+    return a + b")
    }))

  it.scopedLive("babble: malformed calls are error observations; recovery goes on, three in a row end it as format_error", () =>
    Effect.gen(function*() {
      const recovered = yield* runScripted((turn) =>
        turn === 0
          ? { calls: [["str_replace_editor", '{"command": "str_replace", "path": ']] }
          : turn === 1
          ? { parseErrors: ["<function=str_replace_editor> is missing </function>"] }
          : turn === 2
          ? { calls: [["open_file", "{}"]] }
          : turn === 3
          ? { calls: [], content: "I think the bug is in add." }
          : { calls: [turn === 4 ? fix : finish] }
      , (c) => ({ ...c, limits: { ...c.limits, max_format_errors: 5 } }))
      expect(recovered.result.exit.reason).toBe("submitted")
      expect(recovered.result.format_errors).toBe(4)
      expect(recovered.steps.slice(0, 4).map((s) => s.format_error)).toEqual([true, true, true, true])
      expect(recovered.steps[0]?.observations[0]).toMatchObject({ role: "tool" })
      expect(recovered.steps[0]?.observations[0]?.content).toContain("not valid JSON")
      expect(recovered.steps[1]?.observations[0]).toMatchObject({ role: "user", content: "<function=str_replace_editor> is missing </function>" })
      expect(recovered.steps[2]?.observations[0]?.content).toContain("Unknown tool `open_file`")
      expect(recovered.steps[3]?.observations[0]?.content).toContain("did not call a tool")
      expect(recovered.result.model_patch).toContain("+    return a + b")

      const hopeless = yield* runScripted(() => ({ calls: [["execute_bash", "{not json"]] }))
      expect(hopeless.result.exit.reason).toBe("format_error")
      expect(hopeless.result.turns).toBe(3)
      // Identical erroring actions: OpenHands' detector fires (recorded), the paper's rule does not (no action ran).
      expect(hopeless.result.openhands_stuck).toEqual({ pattern: "repeated_action_error", turn: 3 })
    }))

  it.scopedLive("limits and model errors end the loop with their reason; an unavailable endpoint fails it (infrastructure)", () =>
    Effect.gen(function*() {
      const busy = (turn: number): ScriptedAnswer => ({ calls: [["execute_bash", args({ command: `echo ${turn}` })]] })
      const turns = yield* runScripted(busy, (c) => ({ ...c, limits: { ...c.limits, max_turns: 2 } }))
      expect(turns.result.exit.reason).toBe("max_steps")
      expect(turns.result.turns).toBe(2)
      const tokens = yield* runScripted(busy, (c) => ({ ...c, limits: { ...c.limits, max_total_tokens: 300 } }))
      expect(tokens.result.exit.reason).toBe("token_limit")
      expect(tokens.result.turns).toBe(3)
      const cost = yield* runScripted(busy, (c) => ({
        ...c,
        limits: { ...c.limits, cost_budget_usd: 0.0005 },
        prices: { input_per_million_tokens: 2, output_per_million_tokens: 10 },
      }))
      // 100 × 2e-6 + 10 × 10e-6 = $0.0003 per turn: over the budget after the second
      expect(cost.result.exit.reason).toBe("cost_limit")
      expect(cost.result.turns).toBe(2)
      const clock = yield* runScripted(
        (turn) => turn === 0 ? busy(0) : { calls: [["execute_bash", args({ command: "sleep 30" })]] },
        (c) => ({ ...c, limits: { ...c.limits, wall_clock_seconds: 3 } }),
      )
      expect(clock.result.exit.reason).toBe("timeout")
      expect(clock.result.turns).toBe(1)

      const context = yield* runScripted((turn) =>
        turn === 0 ? busy(0) : { fail: new LlmContextExceeded({ model: "m", message: "maximum context length is 8192", hint: "" }) }
      )
      expect(context.result.exit.reason).toBe("context_exceeded")
      expect(context.result.exit.detail).toContain("8192")

      const down = yield* Effect.either(runScripted(() => ({
        fail: new LlmUnavailable({ model: "m", baseUrl: "http://127.0.0.1:1", reason: "connection", attempts: 5, message: "ECONNREFUSED", hint: "" }),
      })))
      expect(Either.isLeft(down)).toBe(true)
      if (Either.isLeft(down)) expect(down.left).toBeInstanceOf(LlmUnavailable)
    }), 300_000)
})
