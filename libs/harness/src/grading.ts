import { isPass, type InstanceReport, type ResolvedStatus, type TestOutcomes, type TestStatus } from "@swe-gym/domain"
import { indexLog, isAmbiguous, labelStatus, type LabelMatch } from "./label-matching.js"
import { type ParsedLog, worseStatus } from "./log-parsers/parsed-log.js"
import type { RunnerReport } from "./test-report-channel.js"
import { isVolatileId, replacedSiblings } from "./volatile-ids.js"

// Grading follows SWE-bench's harness (grading.py) where it is sound, and is stricter where it was fooled:
// - a test missing from the log did not pass; SKIPPED is not a pass for FAIL_TO_PASS (XFAIL is, as in SWE-bench);
// - a PASS_TO_PASS test that became SKIPPED counts as kept, as SWE-bench counts it, and is listed on its own
//   (`passToPassSkipped`) so a stricter caller can refuse it;
// - FULL = every F2P and P2P test passes (an empty list counts as all passing); PARTIAL = some F2P pass and all P2P
//   pass; NO otherwise;
// - a label finds its test under either Django spelling, by its docstring line, or as a pytest id cut at a space inside
//   its brackets (label-matching.ts); a cut label standing for several tests whose outcomes differ is ambiguous: not a
//   pass, listed in `ambiguous`, never guessed;
// - a label that names no test (a progress token such as "[100%]" frozen into SWE-bench's PASS_TO_PASS) is set aside
//   from PASS_TO_PASS and the optional categories and listed in `notTestIds`: no run can show it, so requiring it would
//   fail every patch. In FAIL_TO_PASS it stays a failure: a fix must be shown by a test;
// - the log must be evidence of a real run: a non-zero exit code with no failure in the log (a conftest.py that
//   prints PASSED lines), no results, no closing summary, or more passes than the runner itself counted, make the
//   instance not resolved, with the reason in `untrusted`;
// - where the runner wrote a report outside the repository (test-report-channel.ts), a labelled test passes only when
//   the log and the report agree; a report that is missing, unfinished (the process ended before its session did),
//   holds lines of another run, or contradicts the log or the exit code, is not evidence of a pass: the reasons go to
//   `untrusted`, the contradictions also to `disagreements`. A runner with no channel is graded from the log alone.

type Outcomes = typeof TestOutcomes.Type

/** SWE-bench's `tests_status`: the four categories with their outcomes. */
export type TestsStatus = NonNullable<InstanceReport["tests_status"]>

/** The labels of an instance and one evaluation run's evidence. */
export interface GradeInput {
  readonly FAIL_TO_PASS: ReadonlyArray<string>
  readonly PASS_TO_PASS: ReadonlyArray<string>
  /** Optional extra categories SWE-bench reports when the dataset has them. */
  readonly FAIL_TO_FAIL?: ReadonlyArray<string>
  readonly PASS_TO_FAIL?: ReadonlyArray<string>
  readonly log: ParsedLog
  /** The test command's exit code; null when it was killed (timeout) or never ran. */
  readonly exitCode: number | null
  /** The runner's own report of the run (absent: graded from the log alone, as validation does). */
  readonly report?: RunnerReport
}

/** The verdict on one evaluation run. */
export interface Grade {
  readonly resolution: ResolvedStatus
  readonly resolved: boolean
  readonly tests_status: TestsStatus
  /** PASS_TO_PASS tests that were SKIPPED in this run (counted as kept, as SWE-bench does). */
  readonly passToPassSkipped: ReadonlyArray<string>
  /** Why the log cannot be trusted as evidence; non-empty forces RESOLVED_NO. */
  readonly untrusted: ReadonlyArray<string>
  /** Cut labels that stand for several tests with different outcomes: counted as not passing (never guessed). */
  readonly ambiguous: ReadonlyArray<string>
  /** Labels that name no test (progress tokens frozen into a dataset): left out of every category but FAIL_TO_PASS. */
  readonly notTestIds: ReadonlyArray<string>
  /** Where the verdict came from: the log checked against the runner's report, or the log alone (no channel). */
  readonly channel: "log_and_report" | "log_only"
  /** Where the log and the runner's report (or the exit code) contradict each other; each also makes it untrusted. */
  readonly disagreements: ReadonlyArray<string>
  /**
   * Signs of forging, for the run summary: the log and the report disagreeing, a report missing or cut short while the
   * command ended on its own, a log contradicting the exit code or the runner's own counts.
   */
  readonly suspicious: ReadonlyArray<string>
}

/** The status of a labelled test in a parsed log (undefined = missing or ambiguous), under the matching rules of label-matching.ts. */
export const statusOf = (log: ParsedLog, label: string): TestStatus | undefined => labelStatus(indexLog(log), label).status

/** Whether the log itself shows something failed (a failed or errored test, a collection error, a failing summary). */
export const logShowsFailure = (log: ParsedLog): boolean =>
  Object.values(log.statuses).some((s) => s === "FAILED" || s === "ERROR") ||
  log.collectionErrors.length > 0 ||
  (log.summary !== undefined && !log.summary.success)

/** The reasons a log is not trustworthy evidence of a finished test run with the given exit code (empty = trusted). */
export const evidenceProblems = (log: ParsedLog, exitCode: number | null): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const statuses = Object.values(log.statuses)
  if (exitCode === null) problems.push("the test command has no exit code: it was killed (timeout) or never ran")
  if (statuses.length === 0) problems.push("the log holds no test results: no evidence the suite ran")
  if (log.summary === undefined) problems.push("the log has no closing summary with counts: the run did not finish or its output was cut")
  else if (log.truncated) problems.push("the output ended before the last session's closing summary")
  if (exitCode !== null && exitCode !== 0 && !logShowsFailure(log))
    problems.push(`the test command exited with ${exitCode} but the log shows no failure: the output may be spoofed (e.g. a conftest.py printing PASSED lines)`)
  const passes = statuses.filter((s) => s === "PASSED").length
  const summary = log.summary
  if (summary !== undefined) {
    const ceiling =
      summary.passed ?? (summary.total === undefined ? undefined : summary.total - summary.skipped - summary.xfailed - summary.xpassed)
    if (ceiling !== undefined && passes > ceiling)
      problems.push(`the log lists ${passes} passing tests but the runner's own summary counts at most ${ceiling}: the output may be spoofed`)
  }
  return problems
}

/** The reasons a runner's report is not evidence of a finished run (empty = it is). */
export const reportProblems = (report: RunnerReport | undefined): ReadonlyArray<string> => {
  if (report === undefined || report._tag === "NoChannel") return []
  if (report._tag === "Missing") return [`the runner's report is missing (${report.reason}): no evidence the tests ran`]
  const problems: Array<string> = []
  if (report.sessions === 0) problems.push("the runner's report holds no session: no evidence the tests ran")
  else if (report.finished < report.sessions)
    problems.push(`the runner's report has no end for ${report.sessions - report.finished} of ${report.sessions} sessions: the test process ended before its session finished (os._exit, a kill, a crash)`)
  if (report.foreign > 0) problems.push(`${report.foreign} lines of the runner's report carry another run's nonce: planted before the run, or forged`)
  if (report.malformed > 0) problems.push(`${report.malformed} lines of the runner's report are not report records`)
  return problems
}

type StatusClass = "pass" | "skip" | "fail" | "missing"
const classOf = (s: TestStatus | undefined): StatusClass =>
  s === undefined ? "missing" : isPass(s) ? "pass" : s === "SKIPPED" ? "skip" : "fail"

const split = (
  labels: ReadonlyArray<string>,
  status: (label: string) => TestStatus | undefined,
  ok: (s: TestStatus | undefined) => boolean,
): Outcomes => ({ success: labels.filter((t) => ok(status(t))), failure: labels.filter((t) => !ok(status(t))) })

const ratio = (outcomes: Outcomes): number => {
  const total = outcomes.success.length + outcomes.failure.length
  return total === 0 ? 1 : outcomes.success.length / total
}

/** Grades one evaluation run against an instance's FAIL_TO_PASS / PASS_TO_PASS labels. */
export const gradeLog = (input: GradeInput): Grade => {
  const index = indexLog(input.log)
  const matches = new Map<string, { readonly match: LabelMatch; readonly status: TestStatus | undefined }>()
  const found = (label: string) => {
    let m = matches.get(label)
    if (m === undefined) {
      m = labelStatus(index, label)
      matches.set(label, m)
    }
    return m
  }
  const report = input.report?._tag === "Written" ? input.report : undefined
  // The report in the log's shape, with the log's docstring lines: a label finds its test in both the same way.
  const reportIndex = report === undefined
    ? undefined
    : indexLog({ ...input.log, statuses: report.statuses, xpassed: report.xpassed, collectionErrors: report.collectionErrors })
  const disagreements: Array<string> = []
  const checked = new Map<string, TestStatus | undefined>()
  const status = (label: string): TestStatus | undefined => {
    const fromLog = found(label).status
    if (reportIndex === undefined) return fromLog
    if (checked.has(label)) return checked.get(label)
    const fromReport = labelStatus(reportIndex, label).status
    let agreed: TestStatus | undefined = fromLog
    if (classOf(fromLog) !== classOf(fromReport)) {
      disagreements.push(`${label}: the log says ${fromLog ?? "nothing"}, the runner's report ${fromReport ?? "nothing"}`)
      agreed = fromLog === undefined || fromReport === undefined ? undefined : worseStatus(fromLog, fromReport)
    }
    checked.set(label, agreed)
    return agreed
  }
  const isTest = (label: string) => found(label).match._tag !== "NotATestId"
  const kept = (s: TestStatus | undefined) => isPass(s) || s === "SKIPPED"
  const PASS_TO_PASS = input.PASS_TO_PASS.filter(isTest)
  const tests_status: TestsStatus = {
    FAIL_TO_PASS: split(input.FAIL_TO_PASS, status, isPass),
    PASS_TO_PASS: split(PASS_TO_PASS, status, kept),
    FAIL_TO_FAIL: split((input.FAIL_TO_FAIL ?? []).filter(isTest), status, isPass),
    PASS_TO_FAIL: split((input.PASS_TO_FAIL ?? []).filter(isTest), status, isPass),
  }
  if (report !== undefined && input.exitCode === 0 && report.lastSessionSucceeded === false)
    disagreements.push("the test command exited with 0 but the runner's report says its session failed")
  const fromLog = evidenceProblems(input.log, input.exitCode)
  const fromReport = reportProblems(input.report)
  const untrusted = [
    ...fromLog,
    ...fromReport,
    ...(disagreements.length === 0 ? [] : [`the log and the runner's report disagree (${disagreements.length}): ${disagreements.slice(0, 3).join("; ")}${disagreements.length > 3 ? "; …" : ""}`]),
  ]
  const f2p = ratio(tests_status.FAIL_TO_PASS)
  const p2p = ratio(tests_status.PASS_TO_PASS)
  const resolution: ResolvedStatus =
    untrusted.length > 0
      ? "RESOLVED_NO"
      : f2p === 1 && p2p === 1
        ? "RESOLVED_FULL"
        : f2p > 0 && f2p < 1 && p2p === 1
          ? "RESOLVED_PARTIAL"
          : "RESOLVED_NO"
  const labels = [...new Set([...input.FAIL_TO_PASS, ...input.PASS_TO_PASS, ...(input.FAIL_TO_FAIL ?? []), ...(input.PASS_TO_FAIL ?? [])])]
  return {
    resolution,
    resolved: resolution === "RESOLVED_FULL",
    tests_status,
    passToPassSkipped: PASS_TO_PASS.filter((t) => status(t) === "SKIPPED"),
    untrusted,
    ambiguous: labels.filter((l) => isAmbiguous(index, found(l).match)),
    notTestIds: labels.filter((l) => !isTest(l)),
    channel: input.report === undefined || input.report._tag === "NoChannel" ? "log_only" : "log_and_report",
    disagreements,
    suspicious: [
      ...(disagreements.length === 0 ? [] : [`log_and_report_disagree (${disagreements.length}): ${disagreements.slice(0, 5).join("; ")}${disagreements.length > 5 ? "; …" : ""}`]),
      // A killed command (timeout) cuts its report short by itself: that is not a sign of forging.
      ...(input.exitCode === null ? [] : fromReport.map((p) => `runner_report: ${p}`)),
      ...fromLog.filter((p) => p.includes("spoofed")).map((p) => `log_contradicts_runner: ${p}`),
    ],
  }
}

/** Labels derived from validation runs (before = test patch only, after = test and gold patch). */
export interface DerivedLabels {
  /** Pass in every after-run and not a pass in any before-run (absent before included). */
  readonly FAIL_TO_PASS: ReadonlyArray<string>
  /** Pass in every before-run and every after-run. */
  readonly PASS_TO_PASS: ReadonlyArray<string>
  /** Pass in some runs of a phase and not in others: never labelled. */
  readonly flaky: ReadonlyArray<string>
  /**
   * Never labelled: ids present in some runs of a phase and absent from others, ids that embed a value of the moment
   * (a wall-clock timestamp, epoch time, memory address, uuid, temporary path: volatile-ids.ts), and a parametrized
   * test's ids that were replaced between before and after (each side holds ids the other lacks).
   */
  readonly unstable: ReadonlyArray<string>
  /** Pass in every before-run and in no after-run (absent after included). */
  readonly broken_by_gold: ReadonlyArray<string>
}

const allSame = (values: ReadonlyArray<boolean>): boolean => values.every((v) => v === values[0])

const idsOf = (runs: ReadonlyArray<ParsedLog>): ReadonlySet<string> => new Set(runs.flatMap((r) => Object.keys(r.statuses)))

/**
 * Derives FAIL_TO_PASS / PASS_TO_PASS from repeated before and after runs, setting flaky and unstable ids apart. An id of
 * the moment is unstable whether the runs fell in one second (the id is the same everywhere: its shape tells) or in
 * several (its test's ids were replaced between the sides). A test absent before and passing after stays FAIL_TO_PASS
 * (a new test module that failed to import before), as does a parameter case the gold patch adds.
 */
export const deriveLabels = (beforeRuns: ReadonlyArray<ParsedLog>, afterRuns: ReadonlyArray<ParsedLog>): DerivedLabels => {
  const seenBefore = idsOf(beforeRuns)
  const seenAfter = idsOf(afterRuns)
  const ids = new Set([...seenBefore, ...seenAfter])
  const replaced = replacedSiblings(seenBefore, seenAfter)
  const labels: { readonly [K in keyof DerivedLabels]: Array<string> } = {
    FAIL_TO_PASS: [],
    PASS_TO_PASS: [],
    flaky: [],
    unstable: [],
    broken_by_gold: [],
  }
  for (const id of [...ids].sort()) {
    const presentBefore = beforeRuns.map((r) => r.statuses[id] !== undefined)
    const presentAfter = afterRuns.map((r) => r.statuses[id] !== undefined)
    if (!allSame(presentBefore) || !allSame(presentAfter) || isVolatileId(id) || replaced.has(id)) {
      labels.unstable.push(id)
      continue
    }
    const passBefore = beforeRuns.map((r) => isPass(r.statuses[id]))
    const passAfter = afterRuns.map((r) => isPass(r.statuses[id]))
    if (!allSame(passBefore) || !allSame(passAfter)) {
      labels.flaky.push(id)
      continue
    }
    const before = passBefore[0] ?? false
    const after = passAfter[0] ?? false
    if (after && !before) labels.FAIL_TO_PASS.push(id)
    else if (after && before) labels.PASS_TO_PASS.push(id)
    else if (before && !after) labels.broken_by_gold.push(id)
  }
  return labels
}
