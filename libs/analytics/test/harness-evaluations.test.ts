// Gradings from a harness evaluation table (the shape libs/harness creates) join trajectories by content key.
import { describe, expect, it } from "@effect/vitest"
import { BigIntAsNumber, Store } from "@swe-gym/store"
import { Effect, Schema, Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { analyticsMigrations, evaluationKey, importHarnessEvaluations, sha256 } from "../src/index.js"

const harnessTable = `CREATE TABLE evaluations (
  key VARCHAR PRIMARY KEY, instance_id VARCHAR NOT NULL, patch_sha256 VARCHAR NOT NULL, image VARCHAR, spec_hash VARCHAR,
  outcome VARCHAR NOT NULL, resolution VARCHAR NOT NULL, evaluated_at VARCHAR NOT NULL, result JSON NOT NULL, test_output VARCHAR NOT NULL)`

describe("importHarnessEvaluations", () => {
  it.live("from another database file: the latest grading per patch, infrastructure failures left out, joined by content key", () => {
    const dir = mkdtempSync(join(tmpdir(), "analytics-harness-"))
    const runnerDb = join(dir, "runner.duckdb")
    const row = (key: string, instance: string, patch: string, outcome: string, at: string) => ({
      key, instance_id: instance, patch_sha256: sha256(patch), outcome, resolution: "x", evaluated_at: at, result: { outcome }, test_output: "",
    })
    return Effect.gen(function*() {
      yield* Effect.gen(function*() {
        const store = yield* Store
        yield* store.run(harnessTable)
        yield* store.append("evaluations", Stream.make(
          row("k1", "o__r-1", "P1", "unresolved", "2026-01-01T00:00:00Z"),
          row("k2", "o__r-1", "P1", "resolved", "2026-01-02T00:00:00Z"), // same patch, newer image: wins
          row("k3", "o__r-2", "P2", "infrastructure_failure", "2026-01-02T00:00:00Z"),
          row("k4", "o__r-3", "P3", "patch_did_not_apply", "2026-01-02T00:00:00Z"),
        ))
      }).pipe(Effect.provide(Store.layer({ path: runnerDb })))
      const store = yield* Store
      yield* store.append("analytics_trajectories", Stream.make(
        { trajectory_id: "t1", run_id: "r", instance_id: "o__r-1", sample: 0, model: "m", exit_reason: "submitted", patch: "P1", evaluation_key: evaluationKey("o__r-1", "P1"), turns: 1, llm_calls: 1, messages: 2, source_file: "f" },
        { trajectory_id: "t2", run_id: "r", instance_id: "o__r-2", sample: 0, model: "m", exit_reason: "submitted", patch: "P2", evaluation_key: evaluationKey("o__r-2", "P2"), turns: 1, llm_calls: 1, messages: 2, source_file: "f" },
      ))
      expect(yield* importHarnessEvaluations({ table: "evaluations", fromDb: runnerDb })).toBe(2)
      const rows = yield* store.query(
        "SELECT trajectory_id, resolved, evaluation_outcome FROM analytics_outcomes ORDER BY trajectory_id",
        [],
        Schema.Struct({ trajectory_id: Schema.String, resolved: Schema.NullOr(Schema.Boolean), evaluation_outcome: Schema.NullOr(Schema.String) }),
      )
      expect(rows).toEqual([
        { trajectory_id: "t1", resolved: true, evaluation_outcome: "resolved" },
        { trajectory_id: "t2", resolved: null, evaluation_outcome: null },
      ])
      const applied = yield* store.query("SELECT count(*) AS n FROM analytics_evaluations WHERE patch_applied = false", [], Schema.Struct({ n: BigIntAsNumber }))
      expect(applied[0]?.n).toBe(1)
    }).pipe(
      Effect.provide(Store.layer({ path: join(dir, "a.duckdb"), migrations: analyticsMigrations })),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
    )
  })
})
