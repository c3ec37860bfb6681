import { isPass } from "@swe-gym/domain"
import { describe, expect, it } from "vitest"
import { gradeLog, statusOf } from "../src/grading.js"
import { parseDjangoLog } from "../src/log-parsers/index.js"
import { readFixture, sweBenchRows } from "./fixture-logs.js"
import { djangoLogFromTemplate, newStyle, oldStyle } from "./lite-row-logs.js"

// SWE-bench labels Django tests `test_x (module.Class)` for rows made on Python < 3.11 and `test_x (module.Class.test_x)`
// for its Django 5.0 rows (the runner's own spelling on Python >= 3.11). A label in either spelling must match a log in
// either spelling, and reports keep the label as the dataset wrote it.

const realLogs = ["django__django-11099", "django__django-16046", "django__django-16379"] as const
const lite50 = ["django__django-16527", "django__django-16595", "django__django-16873", "django__django-17087"] as const
const rows = sweBenchRows([...realLogs, ...lite50])

describe("the real Django logs (Python 3.11, new-style ids)", () => {
  for (const id of realLogs) {
    const row = rows.get(id)
    const before = parseDjangoLog(readFixture(`logs/${id}.before.log`))
    const after = parseDjangoLog(readFixture(`logs/${id}.after.log`))
    const f2p = row?.FAIL_TO_PASS ?? []
    const p2p = row?.PASS_TO_PASS ?? []

    it(`${id}: the log prints new-style ids and the row's labels are old-style`, () => {
      expect(readFixture(`logs/${id}.after.log`)).toMatch(/^test_\w+ \([\w.]+\.(test_\w+)\) \.\.\. ok$/m)
      expect(f2p.length).toBeGreaterThan(0)
      for (const label of [...f2p, ...p2p]) expect(label === newStyle(label) && label !== oldStyle(label), label).toBe(false)
    })

    it(`${id}: the gold run is resolved under the row's old-style labels`, () => {
      const g = gradeLog({ FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p, log: after, exitCode: 0 })
      expect(g.tests_status.FAIL_TO_PASS.failure).toEqual([])
      expect(g.tests_status.PASS_TO_PASS.failure).toEqual([])
      expect(g.resolution).toBe("RESOLVED_FULL")
    })

    it(`${id}: the gold run is resolved under the same labels spelled new-style, and reports keep that spelling`, () => {
      const f2pNew = f2p.map(newStyle)
      const p2pNew = p2p.map(newStyle)
      expect(f2pNew.filter((l) => /\(([\w.]+)\)$/.test(l)).some((l, i) => l !== f2p[i])).toBe(true)
      const g = gradeLog({ FAIL_TO_PASS: f2pNew, PASS_TO_PASS: p2pNew, log: after, exitCode: 0 })
      expect(g.tests_status.FAIL_TO_PASS.failure).toEqual([])
      expect(g.tests_status.PASS_TO_PASS.failure).toEqual([])
      expect(g.tests_status.FAIL_TO_PASS.success).toEqual(f2pNew)
      expect(g.tests_status.PASS_TO_PASS.success).toEqual(p2pNew)
      expect(g.resolution).toBe("RESOLVED_FULL")
      // The test-patch-only run fails the same F2P tests in either spelling (11099's known label error aside).
      const b = gradeLog({ FAIL_TO_PASS: f2pNew, PASS_TO_PASS: p2pNew, log: before, exitCode: 1 })
      const bOld = gradeLog({ FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p, log: before, exitCode: 1 })
      expect(b.tests_status.FAIL_TO_PASS.failure).toEqual(bOld.tests_status.FAIL_TO_PASS.failure.map(newStyle))
      expect(b.resolved).toBe(false)
    })
  }

  it("a log in the old spelling (runner output on Python < 3.11) matches labels in both spellings", () => {
    const log = parseDjangoLog(readFixture("handwritten/django-legacy.log"))
    const ids = Object.keys(log.statuses).filter((id) => isPass(log.statuses[id]))
    expect(ids.length).toBeGreaterThan(0)
    for (const id of ids) {
      expect(isPass(statusOf(log, oldStyle(id))), oldStyle(id)).toBe(true)
      expect(isPass(statusOf(log, newStyle(id))), newStyle(id)).toBe(true)
    }
  })

  it("a label naming another class or another method does not match by respelling", () => {
    const log = parseDjangoLog(readFixture("logs/django__django-16046.after.log"))
    expect(statusOf(log, "test_empty (utils_tests.test_numberformat.TestNumberFormat.test_empty)")).toBe("PASSED")
    expect(statusOf(log, "test_empty (utils_tests.test_numberformat.TestNumberFormat.test_other)")).toBeUndefined()
    expect(statusOf(log, "test_empty (utils_tests.test_numberformat.Other.test_empty)")).toBeUndefined()
    expect(statusOf(log, "test_empty (utils_tests.test_numberformat)")).toBeUndefined()
  })
})

describe("SWE-bench Lite's Django 5.0 rows (new-style labels) against logs built from a real Python 3.11 run", () => {
  for (const id of lite50) {
    const row = rows.get(id)
    const f2p = row?.FAIL_TO_PASS ?? []
    const p2p = row?.PASS_TO_PASS ?? []

    it(`${id}: its labels are new-style and docstring lines, and the gold run grades resolved`, () => {
      expect(row?.version).toBe("5.0")
      expect(f2p.every((l) => l === newStyle(l) && l !== oldStyle(l))).toBe(true)
      const log = parseDjangoLog(djangoLogFromTemplate(readFixture("logs/django__django-16379.after.log"), [...f2p, ...p2p], new Set()))
      expect(log.truncated).toBe(false)
      const g = gradeLog({ FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p, log, exitCode: 0 })
      expect(g.tests_status.FAIL_TO_PASS).toEqual({ success: f2p, failure: [] })
      expect(g.tests_status.PASS_TO_PASS).toEqual({ success: p2p, failure: [] })
      expect(g.resolution).toBe("RESOLVED_FULL")
    })

    it(`${id}: with its FAIL_TO_PASS tests failing, the run is not resolved and names them in the label's spelling`, () => {
      const log = parseDjangoLog(djangoLogFromTemplate(readFixture("logs/django__django-16379.before.log"), [...f2p, ...p2p], new Set(f2p)))
      const g = gradeLog({ FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p, log, exitCode: 1 })
      expect(g.tests_status.FAIL_TO_PASS).toEqual({ success: [], failure: f2p })
      expect(g.tests_status.PASS_TO_PASS.failure).toEqual([])
      expect(g.resolution).toBe("RESOLVED_NO")
    })

    it(`${id}: the same rows spelled old-style still match the Python 3.11 log`, () => {
      const log = parseDjangoLog(djangoLogFromTemplate(readFixture("logs/django__django-16379.after.log"), [...f2p, ...p2p], new Set()))
      const g = gradeLog({ FAIL_TO_PASS: f2p.map(oldStyle), PASS_TO_PASS: p2p.map(oldStyle), log, exitCode: 0 })
      expect(g.resolution).toBe("RESOLVED_FULL")
    })
  }

  it("django__django-16595: the docstring label \"AlterField should optimize into AddField.\" is graded by its test's line", () => {
    const row = rows.get("django__django-16595")
    const labels = [...(row?.FAIL_TO_PASS ?? []), ...(row?.PASS_TO_PASS ?? [])]
    expect(labels).toContain("AlterField should optimize into AddField.")
    const failing = new Set(["AlterField should optimize into AddField."])
    const log = parseDjangoLog(djangoLogFromTemplate(readFixture("logs/django__django-16379.after.log"), labels, failing))
    expect(statusOf(log, "AlterField should optimize into AddField.")).toBe("FAILED")
    expect(statusOf(log, "RemoveField should cancel AddField")).toBe("PASSED")
  })
})
