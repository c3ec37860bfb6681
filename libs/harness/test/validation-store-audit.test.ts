import { describe, expect, it } from "@effect/vitest"
import type { ValidationResult } from "@swe-gym/domain"
import { Store } from "@swe-gym/store"
import { Effect, Layer, Option, Schema } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { auditLabels } from "../src/label-audit.js"
import { parseDjangoLog } from "../src/log-parsers/index.js"
import { findValidation, harnessMigrations, saveValidation, validationsOf } from "../src/validation-store.js"
import { readFixture, sweBenchRows } from "./fixture-logs.js"

// The label audit in the DuckDB table: counts to filter on and the lists as JSON, through migration 2, which a
// database made by version 1 upgrades to with its rows kept and readable.

const verdict = (fields: Partial<ValidationResult> = {}): ValidationResult => ({
  instance_id: "django__django-11099",
  kept: true,
  reason: "valid",
  detail: "",
  FAIL_TO_PASS: [],
  PASS_TO_PASS: [],
  flaky: [],
  unstable: [],
  broken_by_gold: [],
  runs: [],
  key: "k-old",
  validated_at: "2026-01-12T15:53:13.000Z",
  ...fields,
})

const Counts = Schema.Struct({
  key: Schema.String,
  label_errors: Schema.NullOr(Schema.Number),
  environment_mismatches: Schema.NullOr(Schema.Number),
  labels_missing: Schema.NullOr(Schema.Number),
  label_audit: Schema.NullOr(Schema.String),
})

const storeAt = (path: string, migrations = harnessMigrations) => Store.layer({ path, migrations }).pipe(Layer.orDie)

describe("validation store: label audit columns (migration 2)", () => {
  it.effect("a version-1 database upgrades: its rows stay readable with no audit, new verdicts store theirs", () =>
    Effect.gen(function* () {
      const path = join(mkdtempSync(join(tmpdir(), "swe-gym-validation-audit-")), "db.duckdb")
      const old = verdict()
      // A database as version 1 wrote it (before audits).
      yield* Effect.gen(function* () {
        const store = yield* Store
        yield* store.run(
          "INSERT INTO validations (key, instance_id, kept, reason, image, validated_at, result) VALUES (?, ?, ?, ?, ?, ?, ?)",
          [old.key, old.instance_id, old.kept, old.reason, null, old.validated_at, JSON.stringify(old)],
        )
      }).pipe(Effect.provide(storeAt(path, harnessMigrations.filter((m) => m.version === 1))))

      yield* Effect.gen(function* () {
        const store = yield* Store
        expect((yield* store.appliedMigrations).filter((m) => m.component === "harness").map((m) => m.version)).toEqual([1, 2, 3])
        expect(Option.getOrThrow(yield* findValidation(old.key))).toEqual(old)

        const row = sweBenchRows(["django__django-11099"]).get("django__django-11099")
        const audit = auditLabels(
          { FAIL_TO_PASS: row?.FAIL_TO_PASS ?? [], PASS_TO_PASS: [...(row?.PASS_TO_PASS ?? []), "test_gone (auth_tests.Gone)"] },
          [parseDjangoLog(readFixture("logs/django__django-11099.before.log"))],
          [parseDjangoLog(readFixture("logs/django__django-11099.after.log"))],
        )
        const audited = verdict({ key: "k-new", validated_at: "2026-01-12T15:53:20.000Z", label_audit: audit })
        yield* saveValidation(audited)
        expect(Option.getOrThrow(yield* findValidation("k-new"))).toEqual(audited)
        expect((yield* validationsOf("django__django-11099")).map((v) => v.key)).toEqual(["k-new", "k-old"])

        const counts = yield* store.query(
          "SELECT key, label_errors, environment_mismatches, labels_missing, CAST(label_audit AS VARCHAR) AS label_audit FROM validations ORDER BY key",
          [],
          Counts,
        )
        expect(counts.map(({ label_audit: _, ...c }) => c)).toEqual([
          { key: "k-new", label_errors: 1, environment_mismatches: 0, labels_missing: 1 },
          { key: "k-old", label_errors: null, environment_mismatches: null, labels_missing: null },
        ])
        expect(JSON.parse(counts[0]?.label_audit ?? "null")).toEqual(audit)
        expect(audit.label_missing).toEqual(["test_gone (auth_tests.Gone)"])
        // Migration 3 dropped the secondary index (DuckDB 1.5.6 cannot replace rows of an indexed table after a WAL replay).
        const indexes = yield* store.query("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'validations'", [], Schema.Struct({ index_name: Schema.String }))
        expect(indexes.map((i) => i.index_name)).toEqual([])
      }).pipe(Effect.provide(storeAt(path)))
    }))
})

describe("validation store: a new database", () => {
  it.effect("applies both migrations at once and stores a verdict without an audit as NULL counts", () =>
    Effect.gen(function* () {
      const store = yield* Store
      yield* saveValidation(verdict({ key: "k" }))
      const counts = yield* store.query(
        "SELECT key, label_errors, environment_mismatches, labels_missing, CAST(label_audit AS VARCHAR) AS label_audit FROM validations",
        [],
        Counts,
      )
      expect(counts).toEqual([{ key: "k", label_errors: null, environment_mismatches: null, labels_missing: null, label_audit: null }])
      expect(Option.getOrThrow(yield* findValidation("k"))).toEqual(verdict({ key: "k" }))
    }).pipe(Effect.provide(storeAt(join(mkdtempSync(join(tmpdir(), "swe-gym-validation-new-")), "db.duckdb")))))
})
