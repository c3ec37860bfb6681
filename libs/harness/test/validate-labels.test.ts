// Issue 10 on real containers: verdicts that do not depend on timing (a suite whose ids embed the wall clock, run in one
// second and in separate seconds), and the audit of labels a candidate already carries (a published dataset).
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { TaskInstance } from "@swe-gym/domain"
import { mirrorTable } from "@swe-gym/git"
import { Store } from "@swe-gym/store"
import { Chunk, Effect, Layer, Schema, Stream } from "effect"
import { join } from "node:path"
import { loadSpecs } from "../src/environment-spec-files.js"
import { isVolatileId } from "../src/volatile-ids.js"
import { assignSetupCommits, formatValidationSummary, toTaskInstance, validate, type Validated, addToSummary, emptySummary } from "../src/validate.js"
import { dockerLayer, environmentsLayer, expectedPull, sampleCandidates, storeLayer, tempDir, testSpec } from "./harness-fixtures.js"
import { writeTimeParametrizedRepo } from "./time-parametrized-repo.js"

const specsDir = join(import.meta.dirname, "../../../data/specs")

const validateAll = (candidates: ReadonlyArray<TaskInstance>, environment: Parameters<typeof environmentsLayer>[0], db: string) =>
  Stream.fromIterable(candidates).pipe(
    validate({ concurrency: 1 }),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.provide(environmentsLayer(environment)),
    Effect.provide(Layer.mergeAll(dockerLayer(), storeLayer(db), NodeContext.layer)),
  )

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()

describe("verdicts that do not depend on timing (ids embedding the wall clock)", () => {
  it.live("runs forced into one second and into separate seconds give the same verdict and labels; clock ids are only unstable", () =>
    Effect.gen(function* () {
      const generated = writeTimeParametrizedRepo()
      const mirrors = mirrorTable({ [generated.repo]: generated.mirror })
      // The clock is forced through the test command's environment (the spec's env reaches every exec).
      const specOf = (env: Record<string, string>) => testSpec({ repo: generated.repo, env })
      const sameSecond = yield* validateAll([generated.candidate], { mirrors, specs: [specOf({ CLOCK_EPOCH: "1796140000" })] }, join(tempDir("swe-gym-clock-"), "a.duckdb"))
      const separateSeconds = yield* validateAll([generated.candidate], { mirrors, specs: [specOf({ CLOCK_NEXT_SECOND: "1" })] }, join(tempDir("swe-gym-clock-"), "b.duckdb"))
      for (const [name, [v]] of [["same second", sameSecond], ["separate seconds", separateSeconds]] as const) {
        const r = v?.result
        expect(r?.kept, name).toBe(true)
        expect(r?.reason, name).toBe("valid")
        expect(sorted(r?.FAIL_TO_PASS ?? []), name).toEqual(sorted(generated.expected.FAIL_TO_PASS))
        expect(sorted(r?.PASS_TO_PASS ?? []), name).toEqual(sorted(generated.expected.PASS_TO_PASS))
        expect(r?.broken_by_gold, name).toEqual([])
        for (const id of [...(r?.FAIL_TO_PASS ?? []), ...(r?.PASS_TO_PASS ?? []), ...(r?.broken_by_gold ?? [])]) {
          expect(isVolatileId(id), `${name}: ${id}`).toBe(false)
        }
        // Every id of the clocked tests that any run printed is reported unstable.
        const printed = (r?.runs ?? []).flatMap((run) => Object.keys(run.statuses)).filter((id) => generated.expected.clockedTests.some((t) => id.startsWith(`${t}[`)))
        expect(printed.length, name).toBeGreaterThan(0)
        for (const id of printed) expect(r?.unstable, `${name}: ${id}`).toContain(id)
      }
    }), 600_000)
})

describe("the audit of labels a candidate carries", () => {
  it.live("reports a labelled FAIL_TO_PASS test that passes before the fix and a label in no log, in the verdict, the summary and the table; keeps given labels on request", () =>
    Effect.gen(function* () {
      const pull = expectedPull("sample__calc-2")
      const candidate = assignSetupCommits(sampleCandidates()).find((c) => c.instance_id === pull.instance_id)
      if (candidate === undefined) throw new Error("sample__calc-2 expected")
      const passing = pull.PASS_TO_PASS?.[0]
      if (passing === undefined) throw new Error("sample__calc-2 has PASS_TO_PASS tests")
      const missing = "tests/test_ops.py::test_no_such_test"
      const labelled: TaskInstance = { ...candidate, FAIL_TO_PASS: [...(pull.FAIL_TO_PASS ?? []), passing, missing], PASS_TO_PASS: pull.PASS_TO_PASS ?? [] }
      const db = join(tempDir("swe-gym-audit-"), "v.duckdb")
      const specs = yield* loadSpecs(specsDir)
      const [v] = yield* validateAll([labelled], { specs }, db)
      const r = v?.result
      expect(r?.kept).toBe(true)
      expect(r?.label_audit?.label_error).toEqual([passing])
      expect(r?.label_audit?.label_missing).toEqual([missing])
      expect(r?.label_audit?.environment_mismatch).toEqual([])
      expect(r?.detail).toContain("label_error")
      // Derived labels are still the environment's own; the given ones are kept only when asked for, and say so.
      expect(sorted(r?.FAIL_TO_PASS ?? [])).toEqual(sorted(pull.FAIL_TO_PASS ?? []))
      if (r === undefined || v === undefined) throw new Error("a verdict expected")
      expect(toTaskInstance(labelled, r).swe_gym?.labels).toBeUndefined()
      const given = toTaskInstance(labelled, r, undefined, "given")
      expect(given.FAIL_TO_PASS).toEqual(labelled.FAIL_TO_PASS)
      expect(given.swe_gym).toMatchObject({ labels: "given", labels_questioned: 2 })
      const summary = [v as Validated].reduce(addToSummary, emptySummary)
      expect(summary).toMatchObject({ audited: 1, auditFindings: { label_error: 1, label_missing: 1 } })
      expect(formatValidationSummary(summary)).toContain("given labels audited on 1: label_error in 1, label_missing in 1")
      const rows = yield* Effect.flatMap(Store, (store) =>
        store.query("SELECT label_errors, labels_missing, environment_mismatches FROM validations", [], Schema.Struct({ label_errors: Schema.Number, labels_missing: Schema.Number, environment_mismatches: Schema.Number }))).pipe(
        Effect.provide(storeLayer(db)),
      )
      expect(rows).toEqual([{ label_errors: 1, labels_missing: 1, environment_mismatches: 0 }])
      // The labels are part of the key: the same candidate without them is a different validation.
      const [unlabelled] = yield* validateAll([candidate], { specs }, db)
      expect(unlabelled?.cached).toBe(false)
      expect(unlabelled?.result.label_audit).toBeUndefined()
    }).pipe(Effect.provide(NodeContext.layer)), 600_000)
})
