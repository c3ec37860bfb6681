// The rollout store on a real DuckDB file. The step recorder: group commit (concurrent rollouts' steps share INSERTs),
// each caller answered only after its commit, a failed batch failing its callers without stopping the writer, and an
// interrupted caller's step committed before the interruption completes. A rollout's row: one statement per change.
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { type Duration, Effect, Exit, Fiber, Layer, Schema } from "effect"
import { join } from "node:path"
import type { AgentStep } from "../src/agent-loop.js"
import type { RolloutTrajectory } from "@swe-gym/domain"
import { Option } from "effect"
import {
  agentMigrations,
  beginAttempt,
  findRollout,
  makeStepRecorder,
  type RolloutIdentity,
  rolloutSteps,
  saveRolledOut,
  saveVerified,
} from "../src/rollout-store.js"
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

/**
 * The real store, with its INSERT statements into agent_steps counted (and started after `delay`: a slow disk), and the
 * first words of every `run` statement listed.
 */
const countingStore = (inserts: { n: number }, delay: Duration.DurationInput = 0, statements: Array<string> = []) => {
  const real = Store.layer({ path: join(tempDir("swe-gym-steps-"), "rollouts.duckdb"), migrations: agentMigrations })
  return Layer.effect(
    Store,
    Effect.map(Store, (store) => ({
      ...store,
      run: (sql: string, params?: Parameters<typeof store.run>[1]) => {
        statements.push(sql.trim().split(/\s+/).slice(0, 3).join(" "))
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

describe("rollout rows", () => {
  it.live("a rollout's row: inserted once, then each state change one UPDATE; one row per key, the last state read back", () => {
    const statements: Array<string> = []
    const id: RolloutIdentity = {
      rollout_key: "key-1",
      instance_id: "calc__calc-1",
      sample: 1,
      agent: "default",
      config_hash: "h",
      model: "m",
      temperature: 0.5,
      run_id: "run-1",
    }
    const trajectory = (attempts: number, verified: boolean): RolloutTrajectory => ({
      instance_id: id.instance_id,
      model_name_or_path: id.model,
      sample: id.sample,
      messages: [{ role: "user", content: "go" }],
      tools: [],
      steps: [],
      exit_reason: "submitted",
      model_patch: "diff --git a/x b/x\n",
      started_at: "2024-01-01T00:00:00.000Z",
      finished_at: "2024-01-01T00:00:10.000Z",
      rollout_key: id.rollout_key,
      agent: id.agent,
      config_hash: id.config_hash,
      temperature: id.temperature,
      turns: 1,
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      cost_usd: 0,
      format_errors: 0,
      llm_retries: 0,
      attempts,
      ...(verified ? { resolved: true, failure_class: "resolved", evaluation_key: "e" } : {}),
    })
    return Effect.gen(function*() {
      yield* beginAttempt(id, 1)
      expect(Option.map(yield* findRollout(id.rollout_key), (r) => r.status)).toEqual(Option.some("running"))
      yield* saveRolledOut(id, 1, trajectory(1, false))
      // A second attempt of the same key (an earlier run's rollout that ended by an infrastructure error).
      yield* beginAttempt({ ...id, run_id: "run-2" }, 2)
      yield* saveRolledOut({ ...id, run_id: "run-2" }, 2, trajectory(2, false))
      yield* saveVerified({ ...id, run_id: "run-2" }, 2, trajectory(2, true))
      const stored = yield* findRollout(id.rollout_key)
      expect(Option.map(stored, (r) => [r.status, r.attempt])).toEqual(Option.some(["verified", 2]))
      expect(Option.flatMap(stored, (r) => r.trajectory)).toEqual(Option.some(trajectory(2, true)))
      expect(yield* count("SELECT count(*)::INTEGER AS n FROM agent_rollouts")).toBe(1)
      const runs = yield* Effect.flatMap(Store, (s) =>
        s.query("SELECT run_id, resolved FROM agent_rollouts", [], Schema.Struct({ run_id: Schema.String, resolved: Schema.NullOr(Schema.Boolean) })))
      expect(runs).toEqual([{ run_id: "run-2", resolved: true }])
      expect(statements.filter((x) => !x.startsWith("DELETE"))).toEqual([
        "UPDATE agent_rollouts SET",
        "INSERT INTO agent_rollouts",
        ...Array.from({ length: 4 }, () => "UPDATE agent_rollouts SET"),
      ])
    }).pipe(Effect.scoped, Effect.provide(countingStore({ n: 0 }, 0, statements)))
  })
})
