// Validation verdicts in DuckDB, keyed by the hash of their inputs, so a re-run answers unchanged candidates from the
// store. Only verdicts on the candidate are stored: infrastructure and environment failures (engine faults, a failed
// build, a failed history check) are tried again by the next run, never cached.
import { LabelAudit, ValidationResult } from "@swe-gym/domain"
import { type Migration, Store } from "@swe-gym/store"
import { HarnessTables } from "./tables.js"
import { Effect, Option, Schema } from "effect"

/** The harness's DuckDB tables. */
export const harnessMigrations: ReadonlyArray<Migration> = [
  {
    component: "harness",
    version: 1,
    name: "validations",
    up: `CREATE TABLE validations (
  key VARCHAR PRIMARY KEY,
  instance_id VARCHAR NOT NULL,
  kept BOOLEAN NOT NULL,
  reason VARCHAR NOT NULL,
  image VARCHAR,
  validated_at VARCHAR NOT NULL,
  result JSON NOT NULL
);
CREATE INDEX validations_instance ON validations (instance_id);`,
  },
  {
    component: "harness",
    version: 2,
    name: "validations label audit",
    // The audit of labels a candidate carried, as counts to filter on and the lists as JSON; NULL where no audit was
    // made (the candidate carried no labels, or the verdict predates audits). Plain ADD COLUMNs: dropping and creating
    // the instance_id index again in the same transaction aborts DuckDB 1.5.6 (pure virtual method called) on a
    // database it reopened.
    up: `ALTER TABLE validations ADD COLUMN label_errors INTEGER;
ALTER TABLE validations ADD COLUMN environment_mismatches INTEGER;
ALTER TABLE validations ADD COLUMN labels_missing INTEGER;
ALTER TABLE validations ADD COLUMN label_audit JSON;`,
  },
  {
    component: "harness",
    version: 3,
    name: "drop validations_instance",
    // See evaluation-store.ts: after a kill -9 and WAL replay, DuckDB 1.5.6 cannot replace rows of a table with a
    // secondary index; validations are replaced by key on every re-run.
    up: "DROP INDEX IF EXISTS validations_instance;",
  },
]

const ResultJson = Schema.parseJson(ValidationResult)
const Stored = Schema.Struct({ result: Schema.String })

/** Verdicts that are stored (an infrastructure or environment failure is not a verdict on the candidate). */
export const isFinalVerdict = (result: ValidationResult): boolean =>
  result.reason !== "infrastructure_error" && result.reason !== "environment_failed"

/** The stored verdict with this key, if any. */
export const findValidation = Effect.fn("harness.findValidation")(function* (key: string) {
  const store = yield* Store
  const rows = yield* store.query(`SELECT CAST(result AS VARCHAR) AS result FROM ${HarnessTables.validations} WHERE key = ?`, [key], Stored)
  const row = rows[0]
  if (row === undefined) return Option.none<ValidationResult>()
  return yield* Schema.decode(ResultJson)(row.result).pipe(
    Effect.map(Option.some),
    // A row this version cannot read is treated as absent: the candidate is validated again and the row replaced.
    Effect.orElseSucceed(() => Option.none<ValidationResult>()),
  )
})

const AuditJson = Schema.parseJson(LabelAudit)

/** Stores a verdict under its key (replacing an older row with the same key), with its label audit's counts. */
export const saveValidation = Effect.fn("harness.saveValidation")(function* (result: ValidationResult) {
  const store = yield* Store
  const json = yield* Schema.encode(ResultJson)(result).pipe(Effect.orDie)
  const audit = result.label_audit
  const auditJson = audit === undefined ? null : yield* Schema.encode(AuditJson)(audit).pipe(Effect.orDie)
  yield* store.run(
    `INSERT OR REPLACE INTO ${HarnessTables.validations}
  (key, instance_id, kept, reason, image, validated_at, result, label_errors, environment_mismatches, labels_missing, label_audit)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      result.key,
      result.instance_id,
      result.kept,
      result.reason,
      result.image ?? null,
      result.validated_at,
      json,
      audit?.label_error.length ?? null,
      audit?.environment_mismatch.length ?? null,
      audit?.label_missing.length ?? null,
      auditJson,
    ],
  )
})

/** Every stored verdict of an instance (all keys), newest first. */
export const validationsOf = Effect.fn("harness.validationsOf")(function* (instanceId: string) {
  const store = yield* Store
  const rows = yield* store.query(
    `SELECT CAST(result AS VARCHAR) AS result FROM ${HarnessTables.validations} WHERE instance_id = ? ORDER BY validated_at DESC`,
    [instanceId],
    Stored,
  )
  return yield* Effect.forEach(rows, (row) => Schema.decode(ResultJson)(row.result).pipe(Effect.orDie))
})
