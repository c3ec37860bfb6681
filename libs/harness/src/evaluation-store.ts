// Evaluation results in DuckDB, keyed by content (instance, patch hash, image digest, spec hash, timeout), never by a run
// name: a re-run answers an identical prediction from the store and re-runs a changed one. Infrastructure failures are
// not stored as results (the next run retries them). Which results make up a run is recorded apart (evaluation_runs),
// so a run's reports can be rebuilt, and an interrupted run keeps every instance finished before the interrupt.
import { EvaluationResult } from "@swe-gym/domain"
import { type Migration, Store } from "@swe-gym/store"
import { HarnessTables } from "./tables.js"
import { Effect, Option, Schema } from "effect"

/** The evaluate stage's DuckDB tables (component "harness-eval", apart from validation's "harness" migrations). */
export const evaluationMigrations: ReadonlyArray<Migration> = [
  {
    component: "harness-eval",
    version: 1,
    name: "evaluations",
    up: `CREATE TABLE evaluations (
  key VARCHAR PRIMARY KEY,
  instance_id VARCHAR NOT NULL,
  patch_sha256 VARCHAR NOT NULL,
  image VARCHAR,
  spec_hash VARCHAR,
  outcome VARCHAR NOT NULL,
  resolution VARCHAR NOT NULL,
  evaluated_at VARCHAR NOT NULL,
  result JSON NOT NULL,
  test_output VARCHAR NOT NULL
);
CREATE INDEX evaluations_instance ON evaluations (instance_id);
CREATE TABLE evaluation_runs (
  run_id VARCHAR NOT NULL,
  model_name_or_path VARCHAR NOT NULL,
  instance_id VARCHAR NOT NULL,
  key VARCHAR NOT NULL,
  outcome VARCHAR NOT NULL,
  cached BOOLEAN NOT NULL,
  result JSON NOT NULL,
  recorded_at VARCHAR NOT NULL,
  PRIMARY KEY (run_id, model_name_or_path, instance_id)
);`,
  },
  {
    component: "harness-eval",
    version: 2,
    name: "drop evaluations_instance",
    // DuckDB 1.5.6: once a killed process's WAL has been replayed into a database, replacing a row of a table with a
    // primary key and a secondary index fails ("Failed to delete all rows from index") and invalidates the database;
    // without the secondary index it works (the index only sped up lookups by instance, which nothing hot does).
    up: "DROP INDEX IF EXISTS evaluations_instance;",
  },
]

const ResultJson = Schema.parseJson(EvaluationResult)
const StoredRow = Schema.Struct({ result: Schema.String, test_output: Schema.String })

/** A stored evaluation: the result and the test output it was graded on. */
export interface StoredEvaluation {
  readonly result: EvaluationResult
  readonly testOutput: string
}

/** Results that are stored under their key (an infrastructure failure is not a verdict on the patch). */
export const isStorableResult = (result: EvaluationResult): boolean => result.outcome !== "infrastructure_failure"

/** The stored evaluation with this content key, if any (a row this version cannot read counts as absent). */
export const findEvaluation = Effect.fn("harness.findEvaluation")(function* (key: string) {
  const store = yield* Store
  const rows = yield* store.query(
    `SELECT CAST(result AS VARCHAR) AS result, test_output FROM ${HarnessTables.evaluations} WHERE key = ?`,
    [key],
    StoredRow,
  )
  const row = rows[0]
  if (row === undefined) return Option.none<StoredEvaluation>()
  return yield* Schema.decode(ResultJson)(row.result).pipe(
    Effect.map((result) => Option.some<StoredEvaluation>({ result, testOutput: row.test_output })),
    Effect.orElseSucceed(() => Option.none<StoredEvaluation>()),
  )
})

// DuckDB VARCHAR holds UTF-8 text; a NUL byte in a test log would end it early in some clients: shown as U+2400.
const storableText = (text: string): string => text.replace(/\u0000/g, "\u2400")

/** Stores an evaluation under its key (replacing a row with the same key). */
export const saveEvaluation = Effect.fn("harness.saveEvaluation")(function* (result: EvaluationResult, testOutput: string) {
  const store = yield* Store
  const json = yield* Schema.encode(ResultJson)(result).pipe(Effect.orDie)
  yield* store.run(
    `INSERT OR REPLACE INTO ${HarnessTables.evaluations} (key, instance_id, patch_sha256, image, spec_hash, outcome, resolution, evaluated_at, result, test_output)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      result.key,
      result.instance_id,
      result.patch_sha256,
      result.image ?? null,
      result.spec_hash ?? null,
      result.outcome,
      result.resolution,
      result.evaluated_at,
      json,
      storableText(testOutput),
    ],
  )
})

/** Records that a run (and model) ended an instance with this result (replacing the run's earlier record of it). */
export const recordRunResult = Effect.fn("harness.recordRunResult")(function* (runId: string, result: EvaluationResult, cached: boolean) {
  const store = yield* Store
  const json = yield* Schema.encode(ResultJson)(result).pipe(Effect.orDie)
  yield* store.run(
    `INSERT OR REPLACE INTO ${HarnessTables.evaluationRuns} (run_id, model_name_or_path, instance_id, key, outcome, cached, result, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [runId, result.model_name_or_path, result.instance_id, result.key, result.outcome, cached, json, new Date().toISOString()],
  )
})

/** The results recorded for a run (every model), by instance id. */
export const runResults = Effect.fn("harness.runResults")(function* (runId: string) {
  const store = yield* Store
  const rows = yield* store.query(
    `SELECT CAST(result AS VARCHAR) AS result FROM ${HarnessTables.evaluationRuns} WHERE run_id = ? ORDER BY model_name_or_path, instance_id`,
    [runId],
    Schema.Struct({ result: Schema.String }),
  )
  return yield* Effect.forEach(rows, (row) => Schema.decode(ResultJson)(row.result).pipe(Effect.orDie))
})
