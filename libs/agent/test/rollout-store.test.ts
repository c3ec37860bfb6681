// The rollout store on a real DuckDB file: a rollout's row, one statement per change (the step recorder's tests are in
// step-recorder.test.ts).
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Effect, Layer, Schema } from "effect"
import { join } from "node:path"
import type { RolloutTrajectory } from "@swe-gym/domain"
import { Option } from "effect"
import {
  agentMigrations,
  beginAttempt,
  findRollout,
  type RolloutIdentity,
  saveRolledOut,
  saveVerified,
} from "../src/rollout-store.js"
import { tempDir } from "./agent-fixtures.js"

/** The real store, with the first words of every `run` statement listed. */
const listingStore = (statements: Array<string>) => {
  const real = Store.layer({ path: join(tempDir("swe-gym-steps-"), "rollouts.duckdb"), migrations: agentMigrations })
  return Layer.effect(
    Store,
    Effect.map(Store, (store) => ({
      ...store,
      run: (sql: string, params?: Parameters<typeof store.run>[1]) => {
        statements.push(sql.trim().split(/\s+/).slice(0, 3).join(" "))
        return store.run(sql, params)
      },
    })),
  ).pipe(Layer.provideMerge(real))
}

const count = (sql: string) =>
  Effect.flatMap(Store, (store) => store.query(sql, [], Schema.Struct({ n: Schema.Number }))).pipe(Effect.map((rows) => rows[0]?.n ?? -1))

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
      // Attempt 1 has no earlier steps to delete; attempt 2 deletes attempt 1's.
      expect(statements).toEqual([
        "UPDATE agent_rollouts SET",
        "INSERT INTO agent_rollouts",
        "UPDATE agent_rollouts SET",
        "DELETE FROM agent_steps",
        ...Array.from({ length: 3 }, () => "UPDATE agent_rollouts SET"),
      ])
    }).pipe(Effect.scoped, Effect.provide(listingStore(statements)))
  })
})
