import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { gradeLog } from "../src/grading.js"
import { parseLog } from "../src/log-parsers/index.js"
import { readFixture } from "./fixture-logs.js"
import { isProgressToken, logForRow, parserOf, readRows } from "./lite-row-logs.js"

// Every row of SWE-bench Lite's test split, graded against a log built for it in which exactly its labelled tests run,
// spelled as its runner prints them on Python 3.11 (Django's new-style ids, pytest's whole parametrized ids, sympy's
// names). With every test passing, every label must be found passing and the row resolved; with its FAIL_TO_PASS tests
// failing, exactly those must be found failing. The labels hold every shape the grader must read: old- and new-style
// Django ids, docstring lines, pytest ids cut at the first space inside their brackets, progress tokens.

const file = "../../../data/reference/swe-bench-lite.jsonl"
const rows = readRows(file)
const template = readFixture("logs/django__django-16379.after.log")

describe("SWE-bench Lite (test split, 300 rows): every label found in a log of its row's runner", () => {
  it("reads the verbatim 300 rows", () => {
    const sha = createHash("sha256").update(readFileSync(new URL(file, import.meta.url))).digest("hex")
    expect(sha).toBe("c8b7405cefc53d1a138956fcd791ed63003ac8fcd6a6b1c25988ad8e52f5d49f")
    expect(rows).toHaveLength(300)
  })

  it("every label passes when every test passes: 300/300 rows resolved", () => {
    const unresolved: Array<string> = []
    let labels = 0
    for (const row of rows) {
      const log = parseLog(parserOf(row), logForRow(row, template, new Set()))
      const g = gradeLog({ FAIL_TO_PASS: row.FAIL_TO_PASS, PASS_TO_PASS: row.PASS_TO_PASS, log, exitCode: 0 })
      const failures = [...g.tests_status.FAIL_TO_PASS.failure, ...g.tests_status.PASS_TO_PASS.failure]
      labels += g.tests_status.FAIL_TO_PASS.success.length + g.tests_status.PASS_TO_PASS.success.length
      if (g.resolution !== "RESOLVED_FULL" || failures.length > 0 || g.ambiguous.length > 0) {
        unresolved.push(`${row.instance_id}: ${g.resolution}; ${failures.slice(0, 3).join(" | ")}`)
      }
      // Reports keep every label as the dataset spelled it, in the dataset's order.
      expect.soft(g.tests_status.FAIL_TO_PASS.success).toEqual(row.FAIL_TO_PASS)
      expect.soft(g.tests_status.PASS_TO_PASS.success).toEqual(row.PASS_TO_PASS.filter((l) => !isProgressToken(l)))
    }
    expect(unresolved).toEqual([])
    const total = rows.reduce((n, r) => n + r.FAIL_TO_PASS.length + r.PASS_TO_PASS.length, 0)
    // Only pytest-dev__pytest-5227's three progress tokens ("[100%]", "[", "[100%]----…") are not tests.
    expect(total - labels).toBe(3)
  })

  it("names SWE-bench's frozen progress tokens as labels that are not tests (set apart from PASS_TO_PASS)", () => {
    const row = rows.find((r) => r.instance_id === "pytest-dev__pytest-5227")
    expect(row).toBeDefined()
    if (row === undefined) return
    const log = parseLog("pytest", logForRow(row, template, new Set()))
    const g = gradeLog({ FAIL_TO_PASS: row.FAIL_TO_PASS, PASS_TO_PASS: row.PASS_TO_PASS, log, exitCode: 0 })
    expect(g.notTestIds).toEqual(["[100%]", "[", "[100%]------------------------------"])
  })

  it("the dev split too: 22/23 rows resolved; the other's label holds raw newlines, which no runner prints on one line", () => {
    const dev = readRows("../../../data/sample/swe-bench-lite-dev.jsonl")
    expect(dev).toHaveLength(23)
    // Its FAIL_TO_PASS label is `…test_string_format_uninferable[\n            "My unicode…` with real line breaks: a
    // result line cannot hold it, so no log matches it (a known gap, not guessed at).
    const multiline = "pylint-dev__astroid-1866"
    expect(dev.find((r) => r.instance_id === multiline)?.FAIL_TO_PASS.some((l) => l.includes("\n"))).toBe(true)
    const unresolved = dev.filter((r) => r.instance_id !== multiline).flatMap((row) => {
      const log = parseLog(parserOf(row), logForRow(row, template, new Set()))
      const g = gradeLog({ FAIL_TO_PASS: row.FAIL_TO_PASS, PASS_TO_PASS: row.PASS_TO_PASS, log, exitCode: 0 })
      return g.resolution === "RESOLVED_FULL" && g.notTestIds.length === 0 ? [] : [`${row.instance_id}: ${g.resolution}`]
    })
    expect(unresolved).toEqual([])
  })

  it("every FAIL_TO_PASS label fails when its test fails: 300/300 rows not resolved, the failures named exactly", () => {
    const wrong: Array<string> = []
    for (const row of rows) {
      const failing = new Set(row.FAIL_TO_PASS)
      const log = parseLog(parserOf(row), logForRow(row, template, failing))
      const g = gradeLog({ FAIL_TO_PASS: row.FAIL_TO_PASS, PASS_TO_PASS: row.PASS_TO_PASS, log, exitCode: 1 })
      const ok =
        g.resolution === "RESOLVED_NO" &&
        g.tests_status.FAIL_TO_PASS.failure.join("\n") === row.FAIL_TO_PASS.join("\n") &&
        g.tests_status.PASS_TO_PASS.failure.length === 0
      if (!ok) wrong.push(`${row.instance_id}: ${g.resolution}; F2P passing: ${g.tests_status.FAIL_TO_PASS.success.slice(0, 3).join(" | ")}; P2P failing: ${g.tests_status.PASS_TO_PASS.failure.slice(0, 3).join(" | ")}`)
    }
    expect(wrong).toEqual([])
  })
})
