// Grading against the runner's own report (test-report-channel.ts): a test passes only when the log and the report
// agree; a report that is missing, unfinished, planted or contradicted is not evidence of a pass, and says why. On
// SWE-bench Lite's 300 rows, a report that agrees with the log changes no grade (no false alarm from label spellings).
import type { TestStatus } from "@swe-gym/domain"
import { describe, expect, it } from "vitest"
import { gradeLog } from "../src/grading.js"
import { indexLog, matchedIds, matchLabel } from "../src/label-matching.js"
import { parseLog, parsePytestLog } from "../src/log-parsers/index.js"
import { type ReportChannel, readRunnerReport, reportRunnerOf, type RunnerReport } from "../src/test-report-channel.js"
import { readFixture } from "./fixture-logs.js"
import { logForRow, newStyle, parserOf, readRows } from "./lite-row-logs.js"

const pytestChannel: ReportChannel = { runner: "pytest", dir: "/tmp/swe-gym-x", reportFile: "/tmp/swe-gym-x/report.jsonl", nonce: "n0nce" }
const unittestChannel: ReportChannel = { ...pytestChannel, runner: "unittest" }

type Line = { readonly event: string; readonly id?: string; readonly status?: string; readonly success?: boolean; readonly nonce?: string }
const reportText = (lines: ReadonlyArray<Line>, nonce = "n0nce"): string =>
  lines.map((l) => JSON.stringify({ nonce, pid: 7, ...l })).join("\n") + "\n"
const session = (tests: ReadonlyArray<readonly [string, TestStatus | "XPASS"]>, success = true): ReadonlyArray<Line> => [
  { event: "start" },
  ...tests.map(([id, status]) => ({ event: "test", id, status })),
  { event: "end", success },
]

const F2P = ["tests/test_x.py::test_new"]
const P2P = ["tests/test_x.py::test_old"]
const passingLog = parsePytestLog(
  "============================= test session starts ==============================\ncollected 2 items\n\ntests/test_x.py ..\n\n" +
    "=========================== short test summary info ============================\nPASSED tests/test_x.py::test_new\nPASSED tests/test_x.py::test_old\n" +
    "============================== 2 passed in 0.01s ===============================\n",
)
const grade = (report: RunnerReport, exitCode: number | null = 0) => gradeLog({ FAIL_TO_PASS: F2P, PASS_TO_PASS: P2P, log: passingLog, exitCode, report })
const written = (lines: ReadonlyArray<Line>, channel = pytestChannel) => readRunnerReport(reportText(lines), channel)

describe("readRunnerReport", () => {
  it("keeps the worst status per test, XPASS apart, and counts sessions, lines of another nonce and malformed lines", () => {
    const text = reportText([
      { event: "start" },
      { event: "test", id: "t::a", status: "PASSED" },
      { event: "test", id: "t::a", status: "ERROR" },
      { event: "test", id: "t::b", status: "XPASS" },
      { event: "collect_error", id: "t/broken.py" },
    ]) + reportText([{ event: "test", id: "t::c", status: "PASSED" }], "planted") + "{\"nonce\": \"n0nce\", cut mid-li"
    const r = readRunnerReport(text, pytestChannel)
    expect(r).toEqual({
      _tag: "Written",
      statuses: { "t::a": "ERROR" },
      xpassed: ["t::b"],
      collectionErrors: ["t/broken.py"],
      sessions: 1,
      finished: 0,
      lastSessionSucceeded: undefined,
      foreign: 1,
      malformed: 1,
    })
  })

  it("spells unittest ids as the unittest parser does; a module that failed to import is a collection error", () => {
    const r = written(session([["test_x (app.tests.T.test_x)", "PASSED"], ["test_y (app.tests.T)", "FAILED"], ["app.tests (unittest.loader._FailedTest.app.tests)", "ERROR"]]), unittestChannel)
    expect(r._tag === "Written" && r.statuses).toEqual({ "test_x (app.tests.T)": "PASSED", "test_y (app.tests.T)": "FAILED" })
  })

  it("has a channel for pytest, unittest and Django, none for sympy", () => {
    expect([reportRunnerOf("pytest"), reportRunnerOf("unittest"), reportRunnerOf("django"), reportRunnerOf("sympy")]).toEqual(["pytest", "unittest", "unittest", undefined])
  })
})

describe("gradeLog with the runner's report", () => {
  it("resolves when the log and the report agree, graded from both", () => {
    const g = grade(written(session([[F2P[0] ?? "", "PASSED"], [P2P[0] ?? "", "PASSED"]])))
    expect([g.resolution, g.channel, g.disagreements, g.untrusted, g.suspicious]).toEqual(["RESOLVED_FULL", "log_and_report", [], [], []])
  })

  it("a log showing passes the report does not hold (a forged log) is not resolved, and is suspicious", () => {
    const g = grade(written(session([[F2P[0] ?? "", "FAILED"], [P2P[0] ?? "", "PASSED"]], false)))
    expect(g.resolution).toBe("RESOLVED_NO")
    expect(g.tests_status.FAIL_TO_PASS.failure).toEqual(F2P)
    expect(g.disagreements).toEqual([
      "tests/test_x.py::test_new: the log says PASSED, the runner's report FAILED",
      "the test command exited with 0 but the runner's report says its session failed",
    ])
    expect(g.suspicious.join("\n")).toContain("log_and_report_disagree (2)")
  })

  it("a test the log shows and the report lacks is not a pass", () => {
    const g = grade(written(session([[P2P[0] ?? "", "PASSED"]])))
    expect(g.resolution).toBe("RESOLVED_NO")
    expect(g.disagreements).toEqual(["tests/test_x.py::test_new: the log says PASSED, the runner's report nothing"])
  })

  it("a missing report, one with no session, one cut short, one with another run's lines: not evidence of a pass", () => {
    const cases: ReadonlyArray<readonly [RunnerReport, string]> = [
      [{ _tag: "Missing", reason: "no /tmp/swe-gym-x/report.jsonl was written" }, "the runner's report is missing (no /tmp/swe-gym-x/report.jsonl was written)"],
      [written([]), "the runner's report holds no session"],
      [written(session([[F2P[0] ?? "", "PASSED"], [P2P[0] ?? "", "PASSED"]]).slice(0, -1)), "the runner's report has no end for 1 of 1 sessions"],
      [readRunnerReport(reportText(session([[F2P[0] ?? "", "PASSED"], [P2P[0] ?? "", "PASSED"]]), "before"), pytestChannel), "4 lines of the runner's report carry another run's nonce"],
    ]
    for (const [report, reason] of cases) {
      const g = grade(report)
      expect(g.resolution).toBe("RESOLVED_NO")
      expect(g.untrusted.join("\n")).toContain(reason)
      expect(g.suspicious.join("\n")).toContain(`runner_report: ${reason}`)
    }
  })

  it("a report cut short by a timeout kill is untrusted but not suspicious; a runner with no channel is graded from the log, flagged", () => {
    const killed = grade(written(session([[F2P[0] ?? "", "PASSED"]]).slice(0, -1)), null)
    expect(killed.resolution).toBe("RESOLVED_NO")
    expect(killed.suspicious.filter((s) => s.startsWith("runner_report"))).toEqual([])
    const logOnly = grade({ _tag: "NoChannel", runner: "sympy" })
    expect([logOnly.resolution, logOnly.channel]).toEqual(["RESOLVED_FULL", "log_only"])
  })
})

describe("SWE-bench Lite (test split): a report that agrees with the log changes no grade", () => {
  const rows = readRows("../../../data/reference/swe-bench-lite.jsonl").filter((r) => parserOf(r) !== "sympy")
  const template = readFixture("logs/django__django-16379.after.log")
  // What the reporter writes for the log's tests: str(test) on Python 3.11 for Django, pytest's node ids otherwise.
  const reportOf = (statuses: Readonly<Record<string, TestStatus>>, django: boolean, flip: ReadonlySet<string> = new Set()) =>
    readRunnerReport(
      reportText(session(Object.entries(statuses).map(([id, s]) => [django ? newStyle(id) : id, flip.has(id) ? "FAILED" : s] as const))),
      django ? unittestChannel : pytestChannel,
    )

  it(`every non-sympy row resolves with its report (${223} rows), none with a disagreement`, () => {
    expect(rows).toHaveLength(223)
    const wrong = rows.flatMap((row) => {
      const log = parseLog(parserOf(row), logForRow(row, template, new Set()))
      const g = gradeLog({ FAIL_TO_PASS: row.FAIL_TO_PASS, PASS_TO_PASS: row.PASS_TO_PASS, log, exitCode: 0, report: reportOf(log.statuses, parserOf(row) === "django") })
      return g.resolution === "RESOLVED_FULL" && g.disagreements.length === 0 ? [] : [`${row.instance_id}: ${g.resolution} ${g.disagreements.slice(0, 2).join(" | ")}`]
    })
    expect(wrong).toEqual([])
  })

  it("and every row whose report fails its FAIL_TO_PASS tests while the log passes them is not resolved", () => {
    const wrong = rows.flatMap((row) => {
      const log = parseLog(parserOf(row), logForRow(row, template, new Set()))
      const index = indexLog(log)
      const failing = new Set(row.FAIL_TO_PASS.flatMap((l) => matchedIds(matchLabel(index, l))))
      const g = gradeLog({ FAIL_TO_PASS: row.FAIL_TO_PASS, PASS_TO_PASS: row.PASS_TO_PASS, log, exitCode: 0, report: reportOf(log.statuses, parserOf(row) === "django", failing) })
      return g.resolution === "RESOLVED_NO" && g.disagreements.length > 0 ? [] : [`${row.instance_id}: ${g.resolution}`]
    })
    expect(wrong).toEqual([])
  })
})
