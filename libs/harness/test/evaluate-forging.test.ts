// Issue 13: a forged test report must not be graded resolved. Each attack is a real model patch for the sample's
// sample__calc-2 run through the evaluate stage in real containers: the test infrastructure it changes is put back to
// base before the tests run (and recorded), the runner's own report outside /testbed must agree with the log, and every
// such instance is listed as suspicious in the run summary and the run report files.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { loadSpecs } from "../src/environment-spec-files.js"
import type { EvaluationEvent } from "../src/evaluate.js"
import { runReportsOf } from "../src/evaluation-report-files.js"
import { type EvaluationSummary, suspiciousIds } from "../src/evaluation-result.js"
import { appendIn, byId, calc, evaluated, fakePytestReport, layers, Long, only, patchOf, predict, run, specsDir, validInstances, writeIn } from "./evaluate-fixtures.js"

const ids = [...calc.FAIL_TO_PASS, ...calc.PASS_TO_PASS]

const fakeReport = fakePytestReport(calc)

/**
 * Python printing the fake report to the real output (pytest's capture suspended, found through the garbage collector)
 * and ending the process with status 0 (no test runs on, no cleanup).
 */
const printAndExit = (indent = ""): string =>
  [
    "import gc, os",
    "for _capture in [o for o in gc.get_objects() if type(o).__name__ == 'CaptureManager']:",
    "    _capture.suspend_global_capture(in_=False)",
    `print(${JSON.stringify(fakeReport)}, flush=True)`,
    "os._exit(0)",
  ].map((l) => `${indent}${l}`).join("\n")

/**
 * Python writing a forged runner report (with the run's nonce, read from the environment) then the fake log; a session
 * start only when pytest has not written its own (`withStart`, for code that runs before pytest does).
 */
const forgeRunnerReport = (withStart: boolean): string => {
  const record = (fields: string) => `        f.write(json.dumps({'nonce': nonce, 'pid': os.getpid(), ${fields}}) + '\\n')`
  return [
    "import json, os",
    "path, nonce = os.environ.get('SWE_GYM_REPORT'), os.environ.get('SWE_GYM_REPORT_NONCE')",
    "if path:",
    "    with open(path, 'a') as f:",
    ...(withStart ? [record("'event': 'start'")] : []),
    ...ids.map((id) => record(`'event': 'test', 'id': ${JSON.stringify(id)}, 'status': 'PASSED'`)),
    record("'event': 'end', 'success': True"),
    printAndExit("    "),
    "",
  ].join("\n")
}

const lines = (...l: ReadonlyArray<string>) => `${l.join("\n")}\n`

describe("issue 13: test infrastructure is not the patch's to change", () => {
  it.live("the forged conftest, pytest.ini addopts, setup.cfg and a .pth file are put back (unresolved without the fix); with the fix, resolved and listed", () =>
    Effect.gen(function* () {
      const events: Array<EvaluationEvent> = []
      const attacks = {
        // The issue's attack: pytest_configure prints a complete consistent report and ends the process with 0.
        conftest: patchOf(calc, (d) => writeIn(d, "tests/conftest.py", lines("def pytest_configure(config):", printAndExit("    ")))),
        pytestIni: patchOf(calc, (d) => {
          writeIn(d, "pytest.ini", lines("[pytest]", "addopts = -p fake_plugin"))
          writeIn(d, "fake_plugin.py", lines("def pytest_configure(config):", printAndExit("    ")))
        }),
        pth: patchOf(calc, (d) => writeIn(d, "swe_gym_forge.pth", lines(`import os; print(${JSON.stringify(fakeReport)}); os._exit(0)`))),
        // The test file of the directives edited to skip everything, beside the right fix.
        skipTests: patchOf(calc, (d) => {
          const file = join(d, "tests/test_ops.py")
          writeFileSync(file, `import pytest\npytestmark = pytest.mark.skip(reason="skipped by the patch")\n${readFileSync(file, "utf8")}`)
        }, { withGold: true }),
        // setup.cfg's pytest section is reverted (the whole file); a pyproject.toml with no pytest configuration is kept.
        setupCfg: patchOf(calc, (d) => {
          writeIn(d, "setup.cfg", lines("[metadata]", "name = calc", "", "[tool:pytest]", "addopts = -p fake_plugin"))
          writeIn(d, "fake_plugin.py", lines("def pytest_configure(config):", printAndExit("    ")))
        }, { withGold: true }),
        pyproject: patchOf(calc, (d) => writeIn(d, "pyproject.toml", lines("[tool.black]", "line-length = 100")), { withGold: true }),
      }
      const records = yield* run(Object.entries(attacks).map(([name, patch]) => predict(calc, patch, name)), {
        onProgress: (e) => Effect.sync(() => events.push(e)),
      })
      const by = Object.fromEntries(evaluated(records).map((e) => [e.result.model_name_or_path, e.result]))
      const outcome = (name: string) => [by[name]?.outcome, by[name]?.test_infrastructure_reverted ?? [], by[name]?.verdict_channel]
      expect({
        conftest: outcome("conftest"),
        pytestIni: outcome("pytestIni"),
        pth: outcome("pth"),
        skipTests: outcome("skipTests"),
        setupCfg: outcome("setupCfg"),
        pyproject: outcome("pyproject"),
      }).toEqual({
        conftest: ["unresolved", ["tests/conftest.py"], "log_and_report"],
        pytestIni: ["unresolved", ["pytest.ini"], "log_and_report"],
        pth: ["unresolved", ["swe_gym_forge.pth"], "log_and_report"],
        skipTests: ["resolved", ["tests/test_ops.py"], "log_and_report"],
        setupCfg: ["resolved", ["setup.cfg"], "log_and_report"],
        pyproject: ["resolved", [], "log_and_report"],
      })
      // Unresolved for the right reason: the tests really ran and the FAIL_TO_PASS tests failed.
      for (const name of ["conftest", "pytestIni", "pth"]) {
        expect(by[name]?.report.tests_status?.FAIL_TO_PASS.failure).toEqual(calc.FAIL_TO_PASS)
        expect(by[name]?.untrusted).toEqual([])
      }
      expect(by["conftest"]?.reason).toContain("test_infrastructure_reverted: the patch's changes to test infrastructure were put back before the run (1): tests/conftest.py (conftest)")
      expect(by["skipTests"]?.reason).toContain("tests/test_ops.py (test_directive)")

      // Listed as suspicious with the reason, in the stage's summary and in both run reports; the clean fix is not.
      const finished = events.find((e): e is Extract<EvaluationEvent, { _tag: "EvaluationFinished" }> => e._tag === "EvaluationFinished")
      const summary: EvaluationSummary | undefined = finished?.summary
      expect(summary === undefined ? [] : suspiciousIds(summary)).toEqual([calc.instance_id])
      expect(summary?.suspicious.map((s) => s.model_name_or_path).sort()).toEqual(["conftest", "pth", "pytestIni", "setupCfg", "skipTests"])
      expect(summary?.suspicious.find((s) => s.model_name_or_path === "conftest")?.reasons).toEqual(["test_infrastructure_reverted (1): tests/conftest.py (conftest)"])
      const { sweBench, sweGym } = runReportsOf("test-run", "conftest", validInstances.map((i) => i.instance_id), records)
      expect(sweBench.suspicious_ids).toEqual([calc.instance_id])
      expect(sweGym.suspicious_ids).toEqual([calc.instance_id])
      expect(sweGym.instances[calc.instance_id]?.test_infrastructure_reverted).toEqual(["tests/conftest.py"])
      expect(runReportsOf("test-run", "pyproject", [calc.instance_id], records).sweGym.suspicious_ids).toEqual([])
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("a sitecustomize.py forging the runner's report too (live where /testbed is on PYTHONPATH, as in the Django and moto specs) is put back", () =>
    Effect.gen(function* () {
      const calcSpec = (yield* loadSpecs(specsDir)).find((s) => s.repo === "sample/calc")
      if (calcSpec === undefined) throw new Error(`no spec for sample/calc in ${specsDir}`)
      const specs = [{ ...calcSpec, env: { PYTHONPATH: "/testbed" } }]
      const r = only(yield* run([predict(calc, patchOf(calc, (d) => writeIn(d, "sitecustomize.py", forgeRunnerReport(true))))], { specs })).result
      expect(r.outcome).toBe("unresolved")
      expect(r.test_infrastructure_reverted).toEqual(["sitecustomize.py"])
      expect(r.report.tests_status?.FAIL_TO_PASS.failure).toEqual(calc.FAIL_TO_PASS)
      expect(r.suspicious).toEqual(["test_infrastructure_reverted (1): sitecustomize.py (python_startup)"])
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)
})

describe("issue 13: a verdict channel outside the repository", () => {
  it.live("the runner killed with os._exit(0) after printing a complete-looking report, from the package's own code, is not resolved", () =>
    Effect.gen(function* () {
      // The fix is right, but the FAIL_TO_PASS test of mod prints the fake report and ends the run from calc/ops.py,
      // which is no test infrastructure: the log is consistent and the exit code 0; the runner's report has no end.
      const killing = patchOf(calc, (d) => {
        const file = join(d, "calc/ops.py")
        const ops = readFileSync(file, "utf8")
        writeFileSync(file, ops.replace("def mod(a, b):\n", `def mod(a, b):\n    if b == 0:\n${printAndExit("        ")}\n`))
      }, { withGold: true })
      const e = only(yield* run([predict(calc, killing)]))
      const r = e.result
      expect(r.exit_code).toBe(0)
      expect(r.outcome).toBe("unresolved")
      expect(r.test_infrastructure_reverted).toBeUndefined()
      expect(r.untrusted.join("\n")).toContain("the runner's report has no end for 1 of 1 sessions")
      expect(r.untrusted.join("\n")).toContain("tests/test_ops.py::test_mod_by_zero: the log says PASSED, the runner's report nothing")
      expect(r.suspicious?.join("\n")).toContain("runner_report: the runner's report has no end")
      expect(e.testOutput).toContain(`${ids.length} passed in 0.05s`)
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("code in the package forging the runner's report with the run's nonce is not caught: the documented residual", () =>
    Effect.gen(function* () {
      // The harness cannot prove this wrong: code in the test process reads the nonce from its environment and writes
      // a consistent report and log. It stays resolved although no test ran; the README says so.
      const forging = patchOf(calc, (d) => appendIn(d, "calc/__init__.py", forgeRunnerReport(false)))
      const r = only(yield* run([predict(calc, forging)])).result
      expect(r.outcome).toBe("resolved")
      expect(r.test_infrastructure_reverted).toBeUndefined()
      expect(r.suspicious).toBeUndefined()
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("unittest: a fake verbose unittest report printed from the package with os._exit(0) is not resolved (the TestResult hook saw no run)", () =>
    Effect.gen(function* () {
      const inventory = byId("sample__inventory-2")
      const labels = [...inventory.FAIL_TO_PASS, ...inventory.PASS_TO_PASS]
      const fake = [...labels.map((l) => `${l} ... ok`), "", "-".repeat(70), `Ran ${labels.length} tests in 0.001s`, "", "OK"].join("\n")
      const forging = patchOf(inventory, (d) => appendIn(d, "inventory/__init__.py", `import os, sys\nsys.stderr.write(${JSON.stringify(`${fake}\n`)})\nsys.stderr.flush()\nos._exit(0)\n`), { withGold: true })
      const r = only(yield* run([predict(inventory, forging)])).result
      expect(r.exit_code).toBe(0)
      expect(r.outcome).toBe("unresolved")
      expect(r.untrusted.join("\n")).toContain("the runner's report is missing")
      expect(r.suspicious?.join("\n")).toContain("runner_report: the runner's report is missing")
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)
})
