// A verdict channel outside the repository: while the tests run, a small reporter the harness installs in a fresh
// directory /tmp/swe-gym-<random>/ (never in /testbed) writes one JSON line per event to report.jsonl there — each
// session's start, each test's status, each session's end with the runner's own verdict — every line carrying a nonce
// made for this run. Grading (grading.ts) takes a test as passing only when the log and this report both say so.
//
// Per log parser:
// - pytest: a pytest plugin, loaded by PYTEST_PLUGINS from the directory put first on PYTHONPATH (any pytest command
//   line, no spec change); statuses from pytest_runtest_logreport, the end from pytest_sessionfinish.
// - unittest and django: Django's runner is unittest's TextTestRunner, so a sitecustomize.py in that directory wraps
//   unittest's TestResult (addSuccess, addFailure, …, startTestRun/stopTestRun) in every Python process; it first runs
//   the sitecustomize it shadows (Debian's), so the environment behaves as before.
// - sympy: no report channel (its runner has no plugin hook a small reporter could use without a tested patch of
//   sympy's own reporter): graded from the log only, and the result says so.
//
// The reporter imports nothing the repository could shadow at load time (only os and sys, which Python loads before
// any path of the repository is searched), and writes with os.open/os.write (O_APPEND: lines of several processes do
// not interleave). The nonce proves a line was written during this run, not planted before it; it does not prove who
// wrote it: code in the test process can read the environment, and forge lines as well as the log.
import type { LogParserName, TestStatus } from "@swe-gym/domain"
import { Schema } from "effect"
import { randomBytes } from "node:crypto"
import { worseStatus } from "./log-parsers/parsed-log.js"

/** The runners that have a report channel. */
export type ReportRunner = "pytest" | "unittest"

/** The report channel of a log parser's runner; undefined when it has none (sympy). */
export const reportRunnerOf = (parser: LogParserName): ReportRunner | undefined =>
  parser === "pytest" ? "pytest" : parser === "unittest" || parser === "django" ? "unittest" : undefined

/** One run's channel: where the reporter lives and writes, and the nonce its lines must carry. */
export interface ReportChannel {
  readonly runner: ReportRunner
  /** A fresh directory outside the repository, named per run. */
  readonly dir: string
  readonly reportFile: string
  readonly nonce: string
}

/** A new channel for one test run (random directory name and nonce). */
export const freshReportChannel = (runner: ReportRunner): ReportChannel => {
  const dir = `/tmp/swe-gym-${randomBytes(12).toString("hex")}`
  return { runner, dir, reportFile: `${dir}/report.jsonl`, nonce: randomBytes(16).toString("hex") }
}

const reporterSource = String.raw`# swe-gym's runner report (installed by the harness outside the repository; see test-report-channel.ts).
import os
import sys

_PATH = os.environ.get("SWE_GYM_REPORT", "")
_NONCE = os.environ.get("SWE_GYM_REPORT_NONCE", "")


def _quote(text):
    out = ['"']
    for ch in str(text):
        code = ord(ch)
        if ch == '"' or ch == "\\":
            out.append("\\" + ch)
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append("\\u%04x" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    return _quote(value)


def _write(event, **fields):
    if not _PATH:
        return
    parts = ['"nonce":' + _quote(_NONCE), '"pid":' + str(os.getpid()), '"event":' + _quote(event)]
    for key in sorted(fields):
        parts.append(_quote(key) + ":" + _value(fields[key]))
    data = ("{" + ",".join(parts) + "}\n").encode("utf-8")
    fd = os.open(_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# pytest: loaded as a plugin (PYTEST_PLUGINS=swe_gym_report).
def pytest_sessionstart(session):
    _write("start", runner="pytest")


def _pytest_status(report):
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "XPASS" if xfail else "PASSED"
        if report.failed:
            return "FAILED"
        return "XFAIL" if xfail else "SKIPPED"
    if report.failed:
        return "ERROR"
    if report.skipped and report.when == "setup":
        # xfail(run=False) is skipped at setup: it never ran (pytest prints XFAIL [NOTRUN]), so it is SKIPPED.
        return "SKIPPED"
    return None


def pytest_runtest_logreport(report):
    status = _pytest_status(report)
    if status is not None:
        _write("test", id=report.nodeid, status=status)


def pytest_collectreport(report):
    if report.failed:
        _write("collect_error", id=report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    _write("end", exitstatus=int(exitstatus), success=int(exitstatus) == 0)


# unittest (and Django's runner): wraps TestResult, whose subclasses call up to it.
def _test_id(test):
    try:
        return str(test)
    except Exception:
        return repr(test)


def install_unittest():
    import unittest.result

    base = unittest.result.TestResult

    def before(name, record):
        original = getattr(base, name)

        def method(self, *args, **kwargs):
            try:
                record(self, *args)
            except Exception:
                pass
            return original(self, *args, **kwargs)

        setattr(base, name, method)

    def subtest(self, test, sub, err):
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            _write("test", id=_test_id(test), status="FAILED" if failed else "ERROR")

    before("startTestRun", lambda self: _write("start", runner="unittest"))
    before("addSuccess", lambda self, test: _write("test", id=_test_id(test), status="PASSED"))
    before("addFailure", lambda self, test, err: _write("test", id=_test_id(test), status="FAILED"))
    before("addError", lambda self, test, err: _write("test", id=_test_id(test), status="ERROR"))
    before("addSkip", lambda self, test, reason: _write("test", id=_test_id(test), status="SKIPPED"))
    before("addExpectedFailure", lambda self, test, err: _write("test", id=_test_id(test), status="XFAIL"))
    before("addUnexpectedSuccess", lambda self, test: _write("test", id=_test_id(test), status="XPASS"))
    before("addSubTest", subtest)
    before("stopTestRun", lambda self: _write("end", success=bool(self.wasSuccessful())))
`

// Runs the sitecustomize this one shadows (Debian's, or the repository's own when it is on PYTHONPATH and unchanged),
// then installs the unittest reporter.
const sitecustomizeSource = String.raw`# swe-gym's runner report for unittest and Django (installed by the harness outside the repository).
import os
import sys


def _shadowed():
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


try:
    _shadowed()
except Exception:
    pass

import swe_gym_report

swe_gym_report.install_unittest()
`

/** The reporter's files, to copy into the channel's directory. */
export const reporterFiles = (channel: ReportChannel): ReadonlyArray<{ readonly path: string; readonly content: string }> => [
  { path: "swe_gym_report.py", content: reporterSource },
  ...(channel.runner === "unittest" ? [{ path: "sitecustomize.py", content: sitecustomizeSource }] : []),
]

/** Shell lines that put the reporter on the test command's path (before the command, in the same shell). */
export const reportChannelEnvironment = (channel: ReportChannel): string =>
  [
    `export PYTHONPATH="${channel.dir}\${PYTHONPATH:+:\$PYTHONPATH}"`,
    ...(channel.runner === "pytest" ? [`export PYTEST_PLUGINS="swe_gym_report\${PYTEST_PLUGINS:+,\$PYTEST_PLUGINS}"`] : []),
    `export SWE_GYM_REPORT=${channel.reportFile} SWE_GYM_REPORT_NONCE=${channel.nonce}`,
  ].join("\n")

// ── reading the report ───────────────────────────────────────────────────────────────────────────────────────────

/** What the runner's report says about one run. */
export type RunnerReport =
  /** The runner has no report channel: graded from the log only. */
  | { readonly _tag: "NoChannel"; readonly runner: LogParserName }
  /** The channel was installed but no report came back. */
  | { readonly _tag: "Missing"; readonly reason: string }
  | {
    readonly _tag: "Written"
    /** Test id (in the log parser's spelling) → the worst status reported for it. XPASS ids are in `xpassed`. */
    readonly statuses: Readonly<Record<string, TestStatus>>
    readonly xpassed: ReadonlyArray<string>
    readonly collectionErrors: ReadonlyArray<string>
    /** Sessions that started, and those of them that ended (pytest_sessionfinish, stopTestRun). */
    readonly sessions: number
    readonly finished: number
    /**
     * The runner's own verdict in the last session that ended (the outermost one: a session a test starts in a child
     * process ends before it); undefined when none ended.
     */
    readonly lastSessionSucceeded: boolean | undefined
    /** Lines carrying another nonce (planted before the run, or forged without it). */
    readonly foreign: number
    /** Lines that are not records (a line cut by a kill, or written by something else). */
    readonly malformed: number
  }

const ReportLine = Schema.Struct({
  nonce: Schema.String,
  pid: Schema.Number,
  event: Schema.Literal("start", "test", "collect_error", "end"),
  id: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Literal("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS")),
  success: Schema.optional(Schema.Boolean),
})
const decodeLine = Schema.decodeUnknownOption(Schema.parseJson(ReportLine))

// A failed import's "test" is named by the dotted module: `app.tests (unittest.loader._FailedTest.app.tests)`.
const unittestId = /^([\w.]+) \(([\w.]+)\)$/u
const failedTestClasses = new Set(["unittest.loader._FailedTest", "unittest.loader.ModuleImportFailure"])

/** A unittest id as the unittest parser spells it: `test_x (mod.Class.test_x)` → `test_x (mod.Class)`. */
const unittestSpelling = (id: string): { readonly id: string; readonly collectionError: boolean } => {
  const m = unittestId.exec(id)
  if (m === null) return { id, collectionError: false }
  const [, name = "", dotted = ""] = m
  const owner = dotted.endsWith(`.${name}`) ? dotted.slice(0, -(name.length + 1)) : dotted
  return { id: `${name} (${owner})`, collectionError: failedTestClasses.has(owner) }
}

/** Reads a report file's text for a channel (pure): lines of another nonce and malformed lines are counted, not used. */
export const readRunnerReport = (text: string, channel: ReportChannel): RunnerReport => {
  const statuses: Record<string, TestStatus> = {}
  const xpassed = new Set<string>()
  const collectionErrors = new Set<string>()
  let sessions = 0
  let finished = 0
  let lastSessionSucceeded: boolean | undefined
  let foreign = 0
  let malformed = 0
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    const decoded = decodeLine(line)
    if (decoded._tag === "None") {
      malformed++
      continue
    }
    const record = decoded.value
    if (record.nonce !== channel.nonce) {
      foreign++
      continue
    }
    switch (record.event) {
      case "start":
        sessions++
        break
      case "end":
        finished++
        lastSessionSucceeded = record.success
        break
      case "collect_error":
        if (record.id !== undefined) collectionErrors.add(record.id)
        break
      case "test": {
        if (record.id === undefined || record.status === undefined) {
          malformed++
          break
        }
        const spelled = channel.runner === "unittest" ? unittestSpelling(record.id) : { id: record.id, collectionError: false }
        if (spelled.collectionError) collectionErrors.add(spelled.id)
        else if (record.status === "XPASS") xpassed.add(spelled.id)
        else statuses[spelled.id] = worseStatus(statuses[spelled.id], record.status)
      }
    }
  }
  return {
    _tag: "Written",
    statuses,
    xpassed: [...xpassed],
    collectionErrors: [...collectionErrors],
    sessions,
    finished,
    lastSessionSucceeded,
    foreign,
    malformed,
  }
}
