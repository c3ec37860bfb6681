// The pure parts of evaluation: exactly one class per attempt with its reason, content keys, SWE-bench-shaped summaries,
// and the store round trip on a real DuckDB file.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { InstanceReportFile, RunReport, type TaskInstance } from "@swe-gym/domain"
import { Store } from "@swe-gym/store"
import { Effect, Layer, Option, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { emptyPredictions, type Evaluated, goldPredictions, restoreTestFilesScript } from "../src/evaluate.js"
import { runReportsOf, writeInstanceFiles, writeRunReports } from "../src/evaluation-report-files.js"
import type { EvaluationResult } from "@swe-gym/domain"
import { type AttemptFacts, classify, evaluationKey, sha256Hex } from "../src/evaluation-result.js"
import { evaluationMigrations, findEvaluation, recordRunResult, runResults, saveEvaluation } from "../src/evaluation-store.js"
import { gradeLog } from "../src/grading.js"
import { parsePytestLog } from "../src/log-parsers/index.js"
import { harnessMigrations } from "../src/validation-store.js"
import { tempDir } from "./harness-fixtures.js"

const instance: TaskInstance = {
  instance_id: "o__r-1",
  repo: "o/r",
  base_commit: "a".repeat(40),
  patch: "diff --git a/x.py b/x.py\n",
  test_patch: "diff --git a/tests/test_x.py b/tests/test_x.py\n",
  problem_statement: "",
  hints_text: "",
  created_at: "2024-01-01T00:00:00Z",
  version: "0.1",
  environment_setup_commit: "",
  FAIL_TO_PASS: ["tests/test_x.py::test_new"],
  PASS_TO_PASS: ["tests/test_x.py::test_old"],
}

const pytestLog = (lines: ReadonlyArray<string>, summary: string) =>
  `============================= test session starts ==============================\ncollected 2 items\n\ntests/test_x.py ..\n\n=========================== short test summary info ============================\n${lines.join("\n")}\n============================== ${summary} ===============================\n`

const ran = (log: string, exitCode: number | null, extra: Partial<Extract<AttemptFacts, { _tag: "TestsRan" }>> = {}): AttemptFacts => ({
  _tag: "TestsRan",
  applyMethod: "git apply",
  exitCode,
  timedOut: false,
  timeoutSeconds: 60,
  outputTruncated: false,
  grade: gradeLog({ FAIL_TO_PASS: instance.FAIL_TO_PASS, PASS_TO_PASS: instance.PASS_TO_PASS, log: parsePytestLog(log), exitCode }),
  ...extra,
})

const passing = pytestLog(["PASSED tests/test_x.py::test_new", "PASSED tests/test_x.py::test_old"], "2 passed in 0.01s")

describe("classify: exactly one class per attempt, with its reason", () => {
  it("resolved when every FAIL_TO_PASS and PASS_TO_PASS test passes with exit 0", () => {
    const c = classify(ran(passing, 0))
    expect(c.outcome).toBe("resolved")
    expect(c.resolution).toBe("RESOLVED_FULL")
    expect(c.report.resolved).toBe(true)
    expect(c.report.tests_status?.FAIL_TO_PASS.success).toEqual(["tests/test_x.py::test_new"])
  })

  it("unresolved with the failing tests named; PARTIAL when some F2P pass and P2P all pass", () => {
    const c = classify(ran(pytestLog(["FAILED tests/test_x.py::test_new - x", "PASSED tests/test_x.py::test_old"], "1 failed, 1 passed in 0.01s"), 1))
    expect(c.outcome).toBe("unresolved")
    expect(c.reason).toContain("FAIL_TO_PASS not passing (1): tests/test_x.py::test_new")
    const someF2P: AttemptFacts = {
      _tag: "TestsRan",
      applyMethod: "git apply",
      exitCode: 0,
      timedOut: false,
      timeoutSeconds: 60,
      outputTruncated: false,
      grade: gradeLog({ FAIL_TO_PASS: [...instance.FAIL_TO_PASS, "tests/test_x.py::test_gone"], PASS_TO_PASS: instance.PASS_TO_PASS, log: parsePytestLog(passing), exitCode: 0 }),
    }
    const partial = classify(someF2P)
    expect(partial.outcome).toBe("unresolved")
    expect(partial.resolution).toBe("RESOLVED_PARTIAL")
  })

  it("a log showing passes under a failing exit code is unresolved with the exit code in the reason", () => {
    const c = classify(ran(passing, 1))
    expect(c.outcome).toBe("unresolved")
    expect(c.reason).toContain("exit code 1")
    expect(c.reason).toContain("spoofed")
  })

  it("timeout, patch_did_not_apply, empty_patch and infrastructure_failure are their own classes", () => {
    expect(classify(ran(passing.slice(0, 200), null, { timedOut: true })).outcome).toBe("timeout")
    const notApplied = classify({ _tag: "PatchNotApplied", which: "model_patch", reason: "the patch does not apply", log: "error: patch failed: x.py:3" })
    expect(notApplied.outcome).toBe("patch_did_not_apply")
    expect(notApplied.reason).toContain("patch failed: x.py:3")
    expect(notApplied.report.patch_successfully_applied).toBe(false)
    const empty = classify({ _tag: "EmptyPatch" })
    expect(empty.outcome).toBe("empty_patch")
    expect(empty.report.patch_exists).toBe(false)
    expect(classify({ _tag: "InfrastructureFailure", reason: "ContainerDied: …" }).outcome).toBe("infrastructure_failure")
  })

  it("notes truncated output in the reason and still grades", () => {
    const c = classify(ran(passing, 0, { outputTruncated: true }))
    expect(c.outcome).toBe("resolved")
    expect(c.reason).toContain("longer than the cap")
  })
})

describe("content keys", () => {
  it("change with the patch, the image digest, the spec hash, the timeout and the instance's labels, never with a run name", () => {
    const parts = { instance, patchSha256: sha256Hex("p"), imageId: "sha256:1", specHash: "s", timeoutSeconds: 60 }
    const key = evaluationKey(parts)
    expect(evaluationKey({ ...parts })).toBe(key)
    expect(evaluationKey({ ...parts, patchSha256: sha256Hex("p ") })).not.toBe(key)
    expect(evaluationKey({ ...parts, imageId: "sha256:2" })).not.toBe(key)
    expect(evaluationKey({ ...parts, specHash: "t" })).not.toBe(key)
    expect(evaluationKey({ ...parts, timeoutSeconds: 61 })).not.toBe(key)
    expect(evaluationKey({ ...parts, instance: { ...instance, FAIL_TO_PASS: [] } })).not.toBe(key)
  })

  it("restores test files from base (removing added ones) with quoted paths", () => {
    const script = restoreTestFilesScript("abc1234", ["tests/test_x.py", "tests/it's new.py"])
    expect(script).toContain("git checkout -q abc1234 -- tests/test_x.py")
    expect(script).toContain(`rm -rf -- 'tests/it'\\''s new.py'`)
  })

  it("gold and empty predictions are built from the instances", () => {
    expect(goldPredictions([instance])).toEqual([{ instance_id: "o__r-1", model_name_or_path: "gold", model_patch: instance.patch }])
    expect(emptyPredictions([instance])[0]?.model_patch).toBe("")
  })
})

const result = (id: string, outcome: EvaluationResult["outcome"], model = "m/one"): EvaluationResult => ({
  instance_id: id,
  model_name_or_path: model,
  outcome,
  reason: `because ${outcome}`,
  resolution: outcome === "resolved" ? "RESOLVED_FULL" : "RESOLVED_NO",
  report: { patch_is_None: false, patch_exists: true, patch_successfully_applied: true, resolved: outcome === "resolved" },
  key: `key-${id}-${outcome}`,
  patch_sha256: sha256Hex(id),
  image: "swe-gym/env:1@sha256:abc",
  spec_hash: "s",
  exit_code: outcome === "timeout" ? null : 0,
  timed_out: outcome === "timeout",
  output_truncated: false,
  untrusted: [],
  pass_to_pass_skipped: [],
  apply_method: "git apply",
  attempts: 1,
  duration_ms: 5,
  evaluated_at: "2026-11-23T00:00:00.000Z",
})

const evaluated = (r: EvaluationResult, output = "log \ufffd\n"): Evaluated => ({ _tag: "Evaluated", result: r, testOutput: output, patch: "diff --git a/x b/x\n", cached: false })

describe("run reports in SWE-bench's shapes", () => {
  const records = [
    evaluated(result("a", "resolved")),
    evaluated(result("b", "unresolved")),
    evaluated(result("c", "empty_patch")),
    evaluated(result("d", "patch_did_not_apply")),
    evaluated(result("e", "timeout")),
    evaluated(result("f", "infrastructure_failure")),
    { _tag: "PredictionRejected", prediction: { instance_id: "zz", model_name_or_path: "m/one", model_patch: "" }, reason: "unknown_instance", detail: "" },
  ] as const

  it("counts every instance in exactly one list, failures kept in the denominator", () => {
    const { sweBench, sweGym } = runReportsOf("run1", "m/one", ["a", "b", "c", "d", "e", "f", "g"], records)
    expect(sweBench.resolved_ids).toEqual(["a"])
    expect(sweBench.unresolved_ids).toEqual(["b"])
    expect(sweBench.completed_ids).toEqual(["a", "b"])
    expect(sweBench.empty_patch_ids).toEqual(["c"])
    expect(sweBench.error_ids).toEqual(["d", "e", "f", "zz"])
    expect(sweBench.incomplete_ids).toEqual(["g"])
    expect(sweBench.submitted_ids).toEqual(["a", "b", "c", "d", "e", "f", "zz"])
    expect(sweBench.total_instances).toBe(7)
    expect(sweBench.schema_version).toBe(2)
    expect(sweGym.patch_did_not_apply_ids).toEqual(["d"])
    expect(sweGym.timeout_ids).toEqual(["e"])
    expect(sweGym.infrastructure_failure_ids).toEqual(["f"])
    expect(sweGym.unknown_instance_ids).toEqual(["zz"])
    expect(sweGym.evaluated_instances).toBe(6)
    expect(sweGym.resolved_share).toBeCloseTo(1 / 6)
    expect(sweGym.instances["a"]?.resolution).toBe("RESOLVED_FULL")
  })

  it.effect("writes report.json for completed instances only, and both run files", () =>
    Effect.gen(function* () {
      const out = tempDir("swe-gym-eval-reports-")
      for (const r of records) if (r._tag === "Evaluated") yield* writeInstanceFiles(out, "run1", r)
      const files = yield* writeRunReports(out, "run1", ["a", "b", "c", "d", "e", "f"], records)
      expect(files).toEqual([join(out, "m__one.run1.json"), join(out, "m__one.run1.swe-gym.json")])
      const dirA = join(out, "run1", "m__one", "a")
      const report = Schema.decodeUnknownSync(Schema.parseJson(InstanceReportFile))(readFileSync(join(dirA, "report.json"), "utf8"))
      expect(report["a"]?.resolved).toBe(true)
      expect(readFileSync(join(dirA, "test_output.txt"), "utf8")).toBe("log \ufffd\n")
      expect(readFileSync(join(dirA, "patch.diff"), "utf8")).toBe("diff --git a/x b/x\n")
      expect(existsSync(join(out, "run1", "m__one", "d", "report.json"))).toBe(false)
      expect(existsSync(join(out, "run1", "m__one", "d", "evaluation.json"))).toBe(true)
      const summary = Schema.decodeUnknownSync(Schema.parseJson(RunReport))(readFileSync(files[0] ?? "", "utf8"))
      expect(summary.resolved_instances).toBe(1)
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("evaluation store", () => {
  it.effect("finds a stored result by its key (NUL bytes kept visible) and records what each run ended each instance with", () =>
    Effect.gen(function* () {
      const r = result("a", "resolved")
      expect(Option.isNone(yield* findEvaluation(r.key))).toBe(true)
      yield* saveEvaluation(r, "out\u0000put")
      const found = yield* findEvaluation(r.key)
      expect(Option.getOrThrow(found).result).toEqual(r)
      expect(Option.getOrThrow(found).testOutput).toBe("out\u2400put")
      yield* recordRunResult("run1", r, false)
      yield* recordRunResult("run1", result("b", "infrastructure_failure"), false)
      yield* recordRunResult("run1", result("a", "unresolved"), false)
      const members = yield* runResults("run1")
      expect(members.map((m) => [m.instance_id, m.outcome])).toEqual([["a", "unresolved"], ["b", "infrastructure_failure"]])
    }).pipe(Effect.provide(
      Store.layer({ path: join(tempDir("swe-gym-eval-store-"), "db.duckdb"), migrations: [...harnessMigrations, ...evaluationMigrations] }).pipe(Layer.orDie),
    )))
})
