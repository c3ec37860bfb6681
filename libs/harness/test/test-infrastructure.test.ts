// The rule deciding which paths of a model patch are test infrastructure (test-infrastructure.ts), and the check that
// no gold patch of SWE-bench Lite's 300 test rows touches one: gold results do not change under the rule.
import { describe, expect, it } from "vitest"
import { patchPaths } from "../src/patch-apply.js"
import { revertedPaths, runnerFilesOf, testInfrastructureOf, testInfrastructureRule } from "../src/test-infrastructure.js"
import { readRows } from "./lite-row-logs.js"

// The test commands of the specs the project's real rows were run with (/work/shared/real-specs, data/specs).
const djangoCommand =
  "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 $(printf '%s\\n' {test_files} | sed -e 's#^tests/##' -e 's#\\.py$##' -e 's#/#.#g')"
const sympyCommand = "bin/test -C --verbose {test_files}"
const pytestCommand = "python3 -m pytest -rA -p no:cacheprovider {test_files}"

const none = { testFiles: [], runnerFiles: [] }

describe("testInfrastructureRule", () => {
  it("names conftest.py, pytest's configuration files, start-up files and runner shadows anywhere they act", () => {
    const cases: ReadonlyArray<readonly [string, string | undefined]> = [
      ["conftest.py", "conftest"],
      ["tests/unit/conftest.py", "conftest"],
      ["pytest.ini", "pytest_config"],
      ["tests/pytest.ini", "pytest_config"],
      [".pytest.ini", "pytest_config"],
      ["tox.ini", "pytest_config"],
      ["setup.cfg", "pytest_section"],
      ["sub/pyproject.toml", "pytest_section"],
      ["sitecustomize.py", "python_startup"],
      ["lib/usercustomize.py", "python_startup"],
      ["evil.pth", "python_startup"],
      ["pytest.py", "runner_shadow"],
      ["_pytest/terminal.py", "runner_shadow"],
      ["unittest/__init__.py", "runner_shadow"],
      ["pluggy.py", "runner_shadow"],
      // Not infrastructure: code a fix edits, test-like names that are not these files.
      ["src/_pytest/terminal.py", undefined],
      ["contest.py", undefined],
      ["conftest.py.orig", undefined],
      ["tests/test_ops.py", undefined],
      ["calc/ops.py", undefined],
      ["setup.py", undefined],
      ["docs/pytest.rst", undefined],
    ]
    expect(cases.map(([p]) => [p, testInfrastructureRule(p, none)])).toEqual(cases)
  })

  it("names the test directives' files and the files the test command runs", () => {
    const context = { testFiles: ["tests/test_ops.py", "tests/data.json"], runnerFiles: runnerFilesOf(djangoCommand) }
    expect(testInfrastructureRule("tests/test_ops.py", context)).toBe("test_directive")
    expect(testInfrastructureRule("tests/data.json", context)).toBe("test_directive")
    expect(testInfrastructureRule("tests/runtests.py", context)).toBe("test_runner")
    expect(testInfrastructureRule("tests/test_sqlite.py", context)).toBe("test_runner")
    expect(testInfrastructureRule("tests/test_other.py", context)).toBeUndefined()
  })

  it("reads the runner files out of real test commands", () => {
    expect(runnerFilesOf(djangoCommand)).toEqual(["tests/runtests.py", "tests/test_sqlite.py"])
    expect(runnerFilesOf(sympyCommand)).toEqual(["bin/test"])
    expect(runnerFilesOf(pytestCommand)).toEqual([])
    expect(runnerFilesOf("pytest -n0 -rA {test_files}")).toEqual([])
  })

  it("lists a patch's infrastructure once each, in the patch's order; only setup.cfg and pyproject.toml are conditional", () => {
    const patch = [
      "diff --git a/calc/ops.py b/calc/ops.py", "--- a/calc/ops.py", "+++ b/calc/ops.py", "@@ -1 +1 @@", "-a", "+b",
      "diff --git a/tests/conftest.py b/tests/conftest.py", "new file mode 100644", "--- /dev/null", "+++ b/tests/conftest.py", "@@ -0,0 +1 @@", "+x",
      "diff --git a/setup.cfg b/setup.cfg", "--- a/setup.cfg", "+++ b/setup.cfg", "@@ -1 +1 @@", "-a", "+b",
      "",
    ].join("\n")
    expect(testInfrastructureOf(patchPaths(patch), none)).toEqual([
      { path: "tests/conftest.py", rule: "conftest", conditional: false },
      { path: "setup.cfg", rule: "pytest_section", conditional: true },
    ])
  })

  it("reads back which paths a revert script put back", () => {
    const paths = testInfrastructureOf(["a/conftest.py", "setup.cfg", "pytest.ini"], none)
    expect(revertedPaths("swe-gym-reverted 0\nnoise\nswe-gym-reverted 2\n", paths).map((p) => p.path)).toEqual(["a/conftest.py", "pytest.ini"])
  })
})

describe("SWE-bench Lite (test split, 300 rows): no gold patch touches test infrastructure", () => {
  const rows = readRows("../../../data/reference/swe-bench-lite.jsonl")
  const commandOf = (repo: string) => (repo === "django/django" ? djangoCommand : repo === "sympy/sympy" ? sympyCommand : pytestCommand)

  it("300 rows, 0 gold patches with a path the rule reverts", () => {
    expect(rows).toHaveLength(300)
    const touched = rows.flatMap((row) =>
      testInfrastructureOf(patchPaths(row.patch), { testFiles: patchPaths(row.test_patch), runnerFiles: runnerFilesOf(commandOf(row.repo)) })
        .map((p) => `${row.instance_id}: ${p.path} (${p.rule})`)
    )
    expect(touched).toEqual([])
  })

  it("while their test patches do touch the directives' files (the rule is not vacuous on these rows)", () => {
    const withTests = rows.filter((row) =>
      testInfrastructureOf(patchPaths(row.test_patch), { testFiles: patchPaths(row.test_patch), runnerFiles: [] }).length > 0
    )
    expect(withTests).toHaveLength(300)
  })
})
