// The harness's tables stay writable after a process writing them was killed with SIGKILL: DuckDB 1.5.6 replays the
// killed process's WAL on the next open, and afterwards replacing a row of a table with a primary key and a secondary
// index fails ("Failed to delete all rows from index") and invalidates the database. The stores' migrations drop those
// indexes; this test kills a real writer process and writes again.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { ValidationResult } from "@swe-gym/domain"
import { Store } from "@swe-gym/store"
import { Effect, Option } from "effect"
import { spawnSync } from "node:child_process"
import { join, resolve } from "node:path"
import { evaluationMigrations } from "../src/evaluation-store.js"
import { HarnessTables } from "../src/tables.js"
import { findValidation, harnessMigrations, saveValidation } from "../src/validation-store.js"
import { tempDir } from "./harness-fixtures.js"

const duckdbApi = resolve(import.meta.dirname, "../../../node_modules/@duckdb/node-api/lib/index.js")

/** A node process that replaces rows of `table` (big JSON values, several times each) and then kills itself with SIGKILL. */
const writeAndDie = (path: string, table: string) => {
  const script = `
import { DuckDBInstance } from ${JSON.stringify(duckdbApi)}
const db = await DuckDBInstance.create(${JSON.stringify(path)})
const c = await db.connect()
const put = (key, big) => c.run("INSERT OR REPLACE INTO ${table} (key, instance_id, kept, reason, validated_at, result) VALUES ($1, $1, true, 'valid', '2026-01-01', $2)", [key, JSON.stringify({ x: big })])
for (const k of ["a", "b", "c", "d"]) await put(k, "")
for (const k of ["a", "b"]) { await put(k, "y".repeat(50000)); await put(k, "z".repeat(50000)) }
process.kill(process.pid, "SIGKILL")
`
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })
  expect(run.signal).toBe("SIGKILL")
}

const verdict = (key: string): ValidationResult => ({
  instance_id: key,
  kept: true,
  reason: "valid",
  detail: "",
  key,
  FAIL_TO_PASS: ["t"],
  PASS_TO_PASS: [],
  flaky: [],
  unstable: [],
  broken_by_gold: [],
  runs: [],
  validated_at: "2026-12-01T00:00:00.000Z",
})

describe("the harness's tables after a writer was killed", () => {
  it.effect("a verdict replaces an older one after the killed writer's WAL was replayed and the database reopened", () =>
    Effect.gen(function* () {
      const path = join(tempDir("swe-gym-crash-store-"), "runner.duckdb")
      const layer = Store.layer({ path, migrations: [...harnessMigrations, ...evaluationMigrations] })
      yield* Effect.provide(Effect.void, layer)
      writeAndDie(path, HarnessTables.validations)
      // The first open replays the WAL (and checkpoints it on close); the second writes.
      yield* Effect.provide(Effect.void, layer)
      yield* Effect.gen(function* () {
        for (const key of ["c", "d", "a"]) yield* saveValidation(verdict(key))
        expect(Option.map(yield* findValidation("a"), (v) => v.FAIL_TO_PASS)).toEqual(Option.some(["t"]))
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.provide(NodeContext.layer)), 120_000)
})
