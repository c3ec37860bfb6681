// The step recorder on a real DuckDB file: group commit (concurrent rollouts' steps share INSERTs), each caller answered
// only after its commit, a failed batch failing its callers without stopping the writer, and an interrupted caller's step
// committed before the interruption completes.
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { type Duration, Effect, Exit, Fiber, Layer, Schema } from "effect"
import { join } from "node:path"
import type { AgentStep } from "../src/agent-loop.js"
import { agentMigrations, makeStepRecorder, rolloutSteps } from "../src/rollout-store.js"
import { tempDir } from "./agent-fixtures.js"

const stepAt = (index: number): AgentStep => {
  const message = { role: "assistant" as const, content: `step ${index}` }
  return {
    index,
    started_at: new Date(Date.UTC(2024, 0, 1, 0, 0, index)).toISOString(),
    llm_ms: 1000,
    tools_ms: 10,
    finish_reason: "tool_calls",
    assistant: message,
    observations: [{ role: "tool", tool_call_id: `call_${index}`, content: "ok" }],
    actions: [{ tool_call_id: `call_${index}`, name: "execute_bash", arguments: `{"command":"echo ${index}"}`, valid: true, is_error: false }],
    format_error: false,
    llm_call: {
      model: "m",
      tool_mode: "native",
      request: { model: "m", messages: [{ role: "user", content: "go" }] },
      response: { choices: [{ message }] },
      latency_ms: 1000,
      attempts: 1,
      started_at: new Date(Date.UTC(2024, 0, 1)).toISOString(),
    },
  }
}

/** The real store, with its INSERT statements into agent_steps counted (and started after `delay`: a slow disk). */
const countingStore = (inserts: { n: number }, delay: Duration.DurationInput = 0) => {
  const real = Store.layer({ path: join(tempDir("swe-gym-steps-"), "rollouts.duckdb"), migrations: agentMigrations })
  return Layer.effect(
    Store,
    Effect.map(Store, (store) => ({
      ...store,
      run: (sql: string, params?: Parameters<typeof store.run>[1]) => {
        if (!sql.startsWith("INSERT INTO agent_steps")) return store.run(sql, params)
        inserts.n += 1
        return Effect.zipRight(Effect.sleep(delay), store.run(sql, params))
      },
    })),
  ).pipe(Layer.provideMerge(real))
}

const count = (sql: string) =>
  Effect.flatMap(Store, (store) => store.query(sql, [], Schema.Struct({ n: Schema.Number }))).pipe(Effect.map((rows) => rows[0]?.n ?? -1))

describe("step recorder", () => {
  it.live("32 rollouts recording at once share INSERTs; every step lands once, and is there when record returns", () => {
    const inserts = { n: 0 }
    return Effect.gen(function*() {
      const recorder = yield* makeStepRecorder
      const store = yield* Store
      const rollouts = 32
      const steps = 5
      yield* Effect.forEach(
        Array.from({ length: rollouts }, (_, r) => `rollout-${r}`),
        (key) =>
          Effect.forEach(Array.from({ length: steps }, (_, i) => i), (i) =>
            Effect.gen(function*() {
              yield* recorder.record(key, 1, stepAt(i))
              // Acknowledged means committed: the row is visible at once.
              const rows = yield* store.query(
                "SELECT count(*)::INTEGER AS n FROM agent_steps WHERE rollout_key = ? AND step = ?",
                [key, i],
                Schema.Struct({ n: Schema.Number }),
              )
              expect(rows[0]?.n).toBe(1)
            })),
        { concurrency: "unbounded", discard: true },
      )
      expect(yield* count("SELECT count(*)::INTEGER AS n FROM agent_steps")).toBe(rollouts * steps)
      expect(yield* count("SELECT count(DISTINCT (rollout_key, step))::INTEGER AS n FROM agent_steps")).toBe(rollouts * steps)
      const read = yield* rolloutSteps("rollout-7")
      expect(read.map((s) => s.index)).toEqual([0, 1, 2, 3, 4])
      expect(read[3]).toEqual(stepAt(3))
      // One statement per step would be 160; group commit needs far fewer.
      expect(inserts.n).toBeGreaterThan(0)
      expect(inserts.n).toBeLessThanOrEqual((rollouts * steps) / 2)
    }).pipe(Effect.scoped, Effect.provide(countingStore(inserts)))
  })

  it.live("a failed batch fails its callers with QueryFailed, and the writer goes on with the next steps", () =>
    Effect.gen(function*() {
      const recorder = yield* makeStepRecorder
      const store = yield* Store
      yield* store.run("ALTER TABLE agent_steps RENAME TO agent_steps_away")
      const failed = yield* recorder.record("k", 1, stepAt(0)).pipe(Effect.exit)
      expect(Exit.isFailure(failed) && failed.cause._tag === "Fail" ? failed.cause.error._tag : "no failure").toBe("QueryFailed")
      yield* store.run("ALTER TABLE agent_steps_away RENAME TO agent_steps")
      yield* recorder.record("k", 1, stepAt(1))
      expect((yield* rolloutSteps("k")).map((s) => s.index)).toEqual([1])
    }).pipe(Effect.scoped, Effect.provide(countingStore({ n: 0 }))))

  it.live("interrupting a caller waits for its step's commit: the step is there when the interruption returns, not landing later", () =>
    Effect.gen(function*() {
      const recorder = yield* makeStepRecorder
      const fibers = yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) => Effect.fork(recorder.record("k", 1, stepAt(i))))
      // Every fiber hands its step over; the (slowed) INSERT is still to come.
      yield* Effect.sleep("20 millis")
      yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
      expect(yield* count("SELECT count(*)::INTEGER AS n FROM agent_steps")).toBe(8)
    }).pipe(Effect.scoped, Effect.provide(countingStore({ n: 0 }, "300 millis"))))
})
