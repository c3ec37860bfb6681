// Running an environment's test command for some test files in an instance container: stdout and stderr merged in the
// order the runner wrote them (`2>&1`), a timeout that kills the command, capped output, and the log parsed. With a
// report channel (evaluate), the runner also writes its own report outside the repository (test-report-channel.ts),
// read back after the command ends, however it ended.
import type { EnvironmentSpec, TestDirectives } from "@swe-gym/domain"
import type { Container, ContainerDied, EngineError, InvalidPath } from "@swe-gym/sandbox"
import { Duration, Effect } from "effect"
import { RepoDir } from "./environment-image.js"
import { parseLog } from "./log-parsers/index.js"
import type { ParsedLog } from "./log-parsers/parsed-log.js"
import { type ReportChannel, readRunnerReport, reportChannelEnvironment, reporterFiles, type RunnerReport } from "./test-report-channel.js"

/** One run of the test command. */
export interface TestRun {
  /** The command's exit code; null when it was killed at the timeout. */
  readonly exitCode: number | null
  readonly timedOut: boolean
  /** stdout and stderr interleaved as printed (UTF-8, invalid bytes replaced), capped head + tail. */
  readonly log: string
  readonly outputTruncated: boolean
  readonly parsed: ParsedLog
  readonly durationMs: number
  /** The shell command that ran. */
  readonly command: string
  /** The runner's report, when the run had a report channel. */
  readonly report?: RunnerReport
}

/** Options of runTests. */
export interface TestRunOptions {
  /** Default: the spec's timeouts.test_seconds. */
  readonly timeoutSeconds?: number
  /** Bytes of output kept (default 4 MiB: its first quarter and last three quarters). */
  readonly maxOutputBytes?: number
  readonly repoDir?: string
  /** Install this reporter outside the repository and read its report after the run (see test-report-channel.ts). */
  readonly reportChannel?: ReportChannel
}

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/**
 * The test files of a test patch's touched files that a runner can be given: Python files only (SWE-bench drops data and
 * fixture files the same way).
 */
export const testFilesToRun = (files: ReadonlyArray<string>): ReadonlyArray<string> => files.filter((f) => f.endsWith(".py"))

/** The directives of a spec: its own, else SWE-bench's default for its log parser (Django labels for Django's runner). */
export const testDirectivesOf = (spec: EnvironmentSpec): TestDirectives => spec.test_directives ?? (spec.log_parser === "django" ? "django" : "paths")

/**
 * The arguments test files become: paths as they are, or Django test labels (`tests/` and `.py` dropped, `/` → `.`,
 * as SWE-bench's get_test_directives makes them for `tests/runtests.py`).
 */
export const testDirectives = (directives: TestDirectives, files: ReadonlyArray<string>): ReadonlyArray<string> =>
  directives === "paths"
    ? files
    : files.map((f) => (f.startsWith("tests/") ? f.slice("tests/".length) : f).replace(/\.py$/, "").replaceAll("/", "."))

/** The command line: the spec's command with `{test_files}` replaced by the test directives, or them appended. */
export const testCommandLine = (spec: EnvironmentSpec, files: ReadonlyArray<string>): string => {
  const args = testDirectives(testDirectivesOf(spec), files).map(shellQuote).join(" ")
  return spec.test_command.includes("{test_files}") ? spec.test_command.replaceAll("{test_files}", args) : `${spec.test_command}${args === "" ? "" : ` ${args}`}`
}

const nullable = (n: number): number | null => n

/** Runs the spec's test command for `files` in the container and parses its log; a timeout is a result, not an error. */
export const runTests = Effect.fn("harness.runTests")(function* (
  container: Container,
  spec: EnvironmentSpec,
  files: ReadonlyArray<string>,
  options: TestRunOptions = {},
): Effect.fn.Return<TestRun, EngineError | ContainerDied | InvalidPath> {
  const command = testCommandLine(spec, files)
  const timeoutSeconds = options.timeoutSeconds ?? spec.timeouts.test_seconds
  const channel = options.reportChannel
  if (channel !== undefined) yield* container.copyFiles(reporterFiles(channel), channel.dir)
  const script = channel === undefined ? `${command} 2>&1` : `${reportChannelEnvironment(channel)}\n${command} 2>&1`
  const started = Date.now()
  const outcome = yield* container
    .exec(["sh", "-c", script], {
      timeout: Duration.seconds(timeoutSeconds),
      workdir: options.repoDir ?? RepoDir,
      env: spec.env,
      maxOutputBytes: options.maxOutputBytes ?? 4 * 1024 * 1024,
    })
    .pipe(
      Effect.map((r) => ({
        exitCode: nullable(r.exitCode),
        timedOut: false,
        log: `${r.stdout}${r.stderr}`,
        outputTruncated: r.stdoutTruncated || r.stderrTruncated,
        durationMs: r.durationMs,
      })),
      Effect.catchTag("ExecTimeout", (e) =>
        Effect.succeed({
          exitCode: null,
          timedOut: true,
          log: `${e.stdout}${e.stderr}\n[swe-gym: the test command was killed after ${timeoutSeconds} s]\n`,
          outputTruncated: false,
          durationMs: Date.now() - started,
        })),
    )
  const report = channel === undefined
    ? undefined
    : yield* container.readFile(channel.reportFile).pipe(
      Effect.map((bytes): RunnerReport => readRunnerReport(new TextDecoder("utf-8").decode(bytes), channel)),
      Effect.catchTag("FileNotFound", () => Effect.succeed<RunnerReport>({ _tag: "Missing", reason: `no ${channel.reportFile} was written` })),
    )
  return { ...outcome, parsed: parseLog(spec.log_parser, outcome.log), command, ...(report === undefined ? {} : { report }) }
})
