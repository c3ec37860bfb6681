// Issue 6's guarantees 2-5 on the evaluate stage, each built as a real attack or fault against real containers on the
// sample's valid instances: spoof-proof grading, status semantics, failure classes (every instance in exactly one class,
// none lost), and results keyed by content.
import { describe, expect, it } from "@effect/vitest"
import { DockerClient } from "@swe-gym/sandbox"
import { Effect, Fiber, Option, Schedule } from "effect"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { loadSpecs } from "../src/environment-spec-files.js"
import { emptyPredictions, goldPredictions } from "../src/evaluate.js"
import { appendIn, calc, evaluated, fakePytestReport, layers, Long, only, patchOf, predict, run, specsDir, validInstances, writeIn } from "./evaluate-fixtures.js"
import { baseImage, dockerLayer, tempDir } from "./harness-fixtures.js"

// Since issue 13 the model patch's test infrastructure (conftest.py, pytest.ini, …) is put back to base before the tests
// run (evaluate-forging.test.ts), so the attacks and faults below that need code running in the test process put it
// where a fix's code goes: the package the tests import (calc/__init__.py). From there it reaches pytest through the
// garbage collector — the residual the README names — and the grader must still see through it.

/** Python for calc/__init__.py that finds the running pytest's Config and passes it to `body` (indented code). */
const withPytestConfig = (body: ReadonlyArray<string>): string =>
  [
    "",
    "import gc as _gc",
    "for _config in [o for o in _gc.get_objects() if type(o).__name__ == 'Config' and type(o).__module__ == '_pytest.config']:",
    ...body.map((line) => `    ${line}`),
    "    break",
    "",
  ].join("\n")

describe("guarantee 4 (failure classes) on the sample: gold, empty, unknown", () => {
  it.live("gold patches as predictions resolve 100% of the valid instances, each recording its image with digest", () =>
    Effect.gen(function* () {
      const records = yield* run(goldPredictions(validInstances))
      // In id order: results leave the stage as they finish.
      const results = evaluated(records).map((e) => e.result).sort((x, y) => x.instance_id.localeCompare(y.instance_id))
      expect(results.map((r) => [r.instance_id, r.outcome, r.reason])).toEqual(
        [...validInstances].sort((x, y) => x.instance_id.localeCompare(y.instance_id)).map((i) => [i.instance_id, "resolved", expect.stringContaining("pass")]),
      )
      for (const r of results) {
        expect(r.resolution).toBe("RESOLVED_FULL")
        // Recorded; not always 0: tests outside the labels may fail (textkit-9's test broken by an earlier PR).
        expect(r.exit_code).toEqual(expect.any(Number))
        expect(r.image).toMatch(/^swe-gym\/env-.+@sha256:[0-9a-f]{64}$/)
        expect(r.report.tests_status?.FAIL_TO_PASS.failure).toEqual([])
        // Graded from the log and the runner's own report (pytest plugin; unittest hook for inventory), nothing to flag.
        expect([r.verdict_channel, r.suspicious, r.test_infrastructure_reverted]).toEqual(["log_and_report", undefined, undefined])
      }
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("empty patches resolve 0%, all in empty_patch, with no container started; an unknown instance id is reported, not crashed on", () =>
    Effect.gen(function* () {
      const counter = { created: 0 }
      const records = yield* run([...emptyPredictions(validInstances), { instance_id: "nobody__nothing-1", model_name_or_path: "empty", model_patch: "x" }]).pipe(
        Effect.provide(layers(counter)),
      )
      expect(evaluated(records).map((e) => e.result.outcome)).toEqual(validInstances.map(() => "empty_patch"))
      expect(records.filter((r) => r._tag === "PredictionRejected").map((r) => r._tag === "PredictionRejected" && r.reason)).toEqual(["unknown_instance"])
      expect(counter.created).toBe(0)
    }), Long)
})

describe("guarantee 2: spoof-proof grading", () => {
  it.live("code in the patch silencing pytest and printing fake PASSED lines for the FAIL_TO_PASS tests is not resolved, and the exit code is recorded", () =>
    Effect.gen(function* () {
      const fake = fakePytestReport(calc, "0.02")
      // Silences pytest's own terminal output and prints a perfect fake log when pytest ends (from the package the
      // tests import: a conftest.py doing the same is put back to base before the run).
      const forging = withPytestConfig([
        "import os",
        "from _pytest._io import TerminalWriter",
        "_config.pluginmanager.getplugin('terminalreporter')._tw = TerminalWriter(open(os.devnull, 'w'))",
        "class _Forge:",
        "    def pytest_unconfigure(self, config):",
        `        print(${JSON.stringify(fake)})`,
        "_config.pluginmanager.register(_Forge())",
      ])
      const r = only(yield* run([predict(calc, patchOf(calc, (d) => appendIn(d, "calc/__init__.py", forging)))])).result
      expect(r.outcome).toBe("unresolved")
      expect(r.exit_code).toBe(1)
      expect(r.resolution).toBe("RESOLVED_NO")
      expect(r.reason).toContain("exited with 1 but the log shows no failure")
      // The runner's own report saw the FAIL_TO_PASS tests fail.
      expect(r.reason).toContain("the log says PASSED, the runner's report FAILED")
      expect(r.suspicious?.join("\n")).toContain("log_and_report_disagree")
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("a patch making the test runner exit early with status 0 and no results is not resolved", () =>
    Effect.gen(function* () {
      const r = only(yield* run([predict(calc, patchOf(calc, (d) => appendIn(d, "calc/__init__.py", "import os\nos._exit(0)\n")))])).result
      expect(r.outcome).toBe("unresolved")
      expect(r.exit_code).toBe(0)
      expect(r.untrusted.join("\n")).toContain("no test results")
      expect(r.untrusted.join("\n")).toContain("the runner's report has no end for 1 of 1 sessions")
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("a patch deleting the FAIL_TO_PASS tests, or hiding them from collection, is not resolved", () =>
    Effect.gen(function* () {
      const deleting = patchOf(calc, (d) => rmSync(join(d, "tests/test_ops.py")))
      expect(deleting).toContain("deleted file mode")
      const hiding = patchOf(calc, (d) =>
        writeIn(d, "tests/conftest.py", "def pytest_collection_modifyitems(items):\n    items[:] = [i for i in items if 'by_zero' not in i.nodeid]\n"))
      const records = yield* run([predict(calc, deleting, "deleting"), predict(calc, hiding, "hiding")])
      for (const e of evaluated(records)) {
        expect(e.result.outcome).toBe("unresolved")
        expect(e.result.report.tests_status?.FAIL_TO_PASS.failure).toEqual(calc.FAIL_TO_PASS)
      }
      expect(evaluated(records)).toHaveLength(2)
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)
})

describe("guarantee 3: status semantics", () => {
  it.live("a skipped or xfail(run=False) FAIL_TO_PASS test is not a pass (on a real pytest run)", () =>
    Effect.gen(function* () {
      const marking = (marker: string) =>
        patchOf(calc, (d) =>
          appendIn(d, "calc/__init__.py", withPytestConfig([
            "import pytest",
            "class _Mark:",
            "    def pytest_collection_modifyitems(self, items):",
            "        for item in items:",
            "            if 'by_zero' in item.nodeid:",
            `                item.add_marker(${marker})`,
            "_config.pluginmanager.register(_Mark())",
          ])), { withGold: true })
      const records = yield* run([
        predict(calc, marking(`pytest.mark.skip(reason="skipped by the patch")`), "skip"),
        predict(calc, marking(`pytest.mark.xfail(run=False, reason="not run")`), "notrun"),
      ])
      expect(evaluated(records)).toHaveLength(2)
      for (const e of evaluated(records)) {
        expect(e.result.exit_code).toBe(0)
        expect(e.result.outcome).toBe("unresolved")
        expect(e.result.report.tests_status?.FAIL_TO_PASS.failure).toEqual(calc.FAIL_TO_PASS)
        expect(e.result.report.tests_status?.PASS_TO_PASS.failure).toEqual([])
      }
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)
})

describe("guarantee 4: failure classes", () => {
  it.live("a patch that does not apply, or touches a path outside the repository, is patch_did_not_apply with the reason", () =>
    Effect.gen(function* () {
      const stale = "diff --git a/calc/missing.py b/calc/missing.py\n--- a/calc/missing.py\n+++ b/calc/missing.py\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n"
      const escaping = "diff --git a/../../etc/evil b/../../etc/evil\nnew file mode 100644\n--- /dev/null\n+++ b/../../etc/evil\n@@ -0,0 +1 @@\n+x\n"
      const records = yield* run([predict(calc, stale, "stale"), predict(calc, escaping, "escaping")])
      const ofModel = (model: string) => evaluated(records).find((e) => e.result.model_name_or_path === model)?.result
      const [a, b] = [ofModel("stale"), ofModel("escaping")]
      expect(a?.outcome).toBe("patch_did_not_apply")
      expect(a?.reason).toContain("does not apply")
      expect(b?.outcome).toBe("patch_did_not_apply")
      expect(b?.reason).toContain("outside the repository")
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("a patch adding a sleep longer than the test timeout ends in timeout", () =>
    Effect.gen(function* () {
      const sleeping = patchOf(calc, (d) => appendIn(d, "calc/__init__.py", "import time\ntime.sleep(120)\n"), { withGold: true })
      const r = only(yield* run([predict(calc, sleeping)], { timeoutSeconds: 5 })).result
      expect(r.outcome).toBe("timeout")
      expect(r.timed_out).toBe(true)
      expect(r.exit_code).toBeNull()
      expect(r.reason).toContain("killed after 5 s")
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("a container killed while its tests run is retried, then reported as infrastructure_failure (not lost, not unresolved)", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const runId = `kill-${Date.now()}`
      // Kills every container of this run as soon as pytest runs in it.
      const killer = Effect.gen(function* () {
        const list = yield* Effect.tryPromise(() => docker.listContainers({ filters: { label: [`swe-gym.eval.run=${runId}`] } }))
        for (const c of list) {
          const top = yield* Effect.tryPromise(() => docker.getContainer(c.Id).top()).pipe(Effect.option)
          if (Option.isSome(top) && JSON.stringify(top.value).includes("pytest")) {
            yield* Effect.tryPromise(() => docker.getContainer(c.Id).kill()).pipe(Effect.ignore)
          }
        }
      }).pipe(Effect.ignore, Effect.repeat(Schedule.spaced("200 millis")))
      const fiber = yield* Effect.fork(killer)
      const slow = patchOf(calc, (d) => appendIn(d, "calc/__init__.py", "import time\ntime.sleep(60)\n"), { withGold: true })
      const counter = { created: 0 }
      const r = only(yield* run([predict(calc, slow)], { runId }).pipe(Effect.provide(layers(counter)))).result
      yield* Fiber.interrupt(fiber)
      expect(r.outcome).toBe("infrastructure_failure")
      expect(r.attempts).toBe(3)
      expect(counter.created).toBe(3)
      expect(r.reason).toContain("ContainerDied")
      expect(r.image).toMatch(/@sha256:/)
    }).pipe(Effect.provide(dockerLayer())), Long)

  it.live("an environment image that vanishes is built again; one that cannot be (its base image gone too) is infrastructure_failure, kept in the results", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const base = `swe-gym-test/vanishing-base:${Date.now()}`
      yield* Effect.tryPromise(() => docker.getImage(baseImage).tag({ repo: base.split(":")[0] ?? "", tag: base.split(":")[1] ?? "" }))
      const calcSpec = (yield* loadSpecs(specsDir)).find((s) => s.repo === "sample/calc")
      if (calcSpec === undefined) throw new Error(`no spec for sample/calc in ${specsDir}`)
      const specs = [{ ...calcSpec, base_image: base, env: { SWE_GYM_TEST: "vanishing" } }]
      const first = only(yield* run([predict(calc, calc.patch, "v1")], { specs })).result
      expect(first.outcome).toBe("resolved")
      const envImage = (first.image ?? "").split("@")[0] ?? ""
      const removeImage = (name: string) => Effect.tryPromise(() => docker.getImage(name).remove({ force: true }))

      yield* removeImage(envImage)
      const rebuilt = only(yield* run([predict(calc, calc.patch, "v2")], { specs })).result
      expect(rebuilt.outcome).toBe("resolved")
      expect(rebuilt.image?.split("@")[0]).toBe(envImage)

      yield* removeImage(envImage)
      yield* removeImage(base)
      const records = yield* run([predict(calc, calc.patch, "v3")], { specs })
      const gone = only(records).result
      expect(gone.outcome).toBe("infrastructure_failure")
      expect(gone.reason).toContain("not on the Docker engine")
      expect(gone.report.resolved).toBe(false)
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("invalid UTF-8 in the test output is decoded with replacement and graded, not lost", () =>
    Effect.gen(function* () {
      const bad = patchOf(calc, (d) =>
        appendIn(d, "calc/__init__.py", "import atexit, os\natexit.register(lambda: os.write(1, b'bad bytes: \\xff\\xfe\\xc3\\x28 end\\n'))\n"), { withGold: true })
      const e = only(yield* run([predict(calc, bad)]))
      expect(e.result.outcome).toBe("resolved")
      expect(e.testOutput).toContain("bad bytes: \ufffd\ufffd\ufffd( end")
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("output past the cap is cut in the middle and still graded, with the truncation noted", () =>
    Effect.gen(function* () {
      // test_add prints 300 kB; pytest -rA shows it under PASSES, before the summary (head and tail are kept).
      const loud = patchOf(calc, (d) => {
        const ops = readFileSync(join(d, "calc/ops.py"), "utf8")
        writeFileSync(join(d, "calc/ops.py"), ops.replace("def add(a, b):\n", "def add(a, b):\n    print(('x' * 99 + '\\n') * 3000, end='')\n"))
      }, { withGold: true })
      const r = only(yield* run([predict(calc, loud)], { maxOutputBytes: 64 * 1024 })).result
      expect(r.output_truncated).toBe(true)
      expect(r.outcome).toBe("resolved")
      expect(r.reason).toContain("longer than the cap")
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)
})

describe("guarantee 5: results keyed by content", () => {
  it.live("an instance validated on another image than the one it is evaluated on says so in its reason", () =>
    Effect.gen(function* () {
      const validatedOn = `swe-gym/env-sample__calc:old@sha256:${"0".repeat(64)}`
      const moved = validInstances.map((i) => (i.instance_id === calc.instance_id ? { ...i, swe_gym: { image: validatedOn } } : i))
      const r = only(yield* run([predict(calc, calc.patch)], {}, moved)).result
      expect(r.outcome).toBe("resolved")
      expect(r.image).not.toBe(validatedOn)
      expect(r.reason).toContain(`not the one the instance was validated on (${validatedOn})`)
    }).pipe(Effect.provide(layers({ created: 0 }))), Long)

  it.live("an identical prediction is answered from the store; a changed patch under the same run id re-runs", () =>
    Effect.gen(function* () {
      const counter = { created: 0 }
      const db = join(tempDir("swe-gym-eval-db-"), "eval.duckdb")
      const once = (patch: string) => run([predict(calc, patch, "model")], { runId: "same-run" }).pipe(Effect.provide(layers(counter, db)))
      const first = only(yield* once(calc.patch))
      expect(first.cached).toBe(false)
      expect(first.result.outcome).toBe("resolved")
      const afterFirst = counter.created
      expect(afterFirst).toBeGreaterThan(0)

      const again = only(yield* once(calc.patch))
      expect(again.cached).toBe(true)
      expect(again.result).toEqual(first.result)
      expect(counter.created).toBe(afterFirst)

      const changed = patchOf(calc, (d) => writeIn(d, "calc/__init__.py", "# changed\n"), { withGold: true })
      const third = only(yield* once(changed))
      expect(third.cached).toBe(false)
      expect(third.result.key).not.toBe(first.result.key)
      expect(counter.created).toBe(afterFirst + 1)
    }), Long)
})
