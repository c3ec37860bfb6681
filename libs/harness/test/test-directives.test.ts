// How a spec turns the test patch's files into the test command's arguments (issue 10, item 8): paths, or Django labels
// as SWE-bench's get_test_directives makes them, with the log parser's default when the spec says nothing.
import { describe, expect, it } from "@effect/vitest"
import { testCommandLine, testDirectives, testDirectivesOf } from "../src/test-run.js"
import { testSpec } from "./harness-fixtures.js"

describe("test directives", () => {
  it("Django labels: tests/ and .py dropped, / to . (django__django-11099's and -16379's test files)", () => {
    expect(testDirectives("django", ["tests/auth_tests/test_validators.py"])).toEqual(["auth_tests.test_validators"])
    expect(testDirectives("django", ["tests/cache/tests.py", "tests/migrations/test_optimizer.py"])).toEqual(["cache.tests", "migrations.test_optimizer"])
  })

  it("paths stay as they are (pytest, unittest, sympy's bin/test)", () => {
    expect(testDirectives("paths", ["sympy/core/tests/test_basic.py", "tests/test_x.py"])).toEqual(["sympy/core/tests/test_basic.py", "tests/test_x.py"])
  })

  it("defaults to the log parser's: Django labels for django, paths for the others; a spec can say otherwise", () => {
    expect(testDirectivesOf(testSpec({ repo: "django/django", log_parser: "django" }))).toBe("django")
    for (const parser of ["pytest", "unittest", "sympy"] as const) expect(testDirectivesOf(testSpec({ repo: "o/r", log_parser: parser }))).toBe("paths")
    expect(testDirectivesOf(testSpec({ repo: "django/django", log_parser: "django", test_directives: "paths" }))).toBe("paths")
  })

  it("the command line gets the directives in place of {test_files}, shell-quoted, or appended", () => {
    const django = testSpec({ repo: "django/django", log_parser: "django", test_command: "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 {test_files}" })
    expect(testCommandLine(django, ["tests/auth_tests/test_validators.py"])).toBe("./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 auth_tests.test_validators")
    const pytest = testSpec({ repo: "o/r", test_command: "python3 -m pytest -rA" })
    expect(testCommandLine(pytest, ["tests/test a.py"])).toBe("python3 -m pytest -rA 'tests/test a.py'")
  })
})
