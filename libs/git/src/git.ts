// Running git: every git process of swe-gym goes through @effect/platform's Command (interrupting the effect kills the
// process; tests can swap the executor), with options that make its output independent of the user's configuration,
// and fails with one error, GitFailed, carrying git's own message and a hint.
import { Command, type CommandExecutor } from "@effect/platform"
import { Effect, Schema, Stream } from "effect"

/** A git command failed (or git is not installed). */
export class GitFailed extends Schema.TaggedError<GitFailed>()("GitFailed", {
  dir: Schema.String,
  args: Schema.Array(Schema.String),
  exitCode: Schema.NullOr(Schema.Number),
  stderr: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `git ${this.args.join(" ")} in ${this.dir} failed${this.exitCode === null ? "" : ` (exit ${this.exitCode})`}: ${this.stderr.trim()} (${this.hint})`
  }
}

// Options that make output independent of the user's and the machine's git configuration.
const fixedConfig = [
  "-c", "color.ui=false",
  "-c", "diff.noprefix=false",
  "-c", "diff.mnemonicPrefix=false",
  "-c", "diff.relative=false",
  "-c", "log.showSignature=false",
  "-c", "i18n.logOutputEncoding=UTF-8",
  "-c", "core.quotePath=true",
]

const gitCommand = (dir: string, args: ReadonlyArray<string>) =>
  Command.make("git", ...fixedConfig, ...args).pipe(
    Command.workingDirectory(dir),
    Command.env({ GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", GIT_PAGER: "cat" }),
  )

const platformFailure = (dir: string, args: ReadonlyArray<string>) => (e: { readonly message: string }) =>
  new GitFailed({ dir, args, exitCode: null, stderr: e.message, hint: "is git installed and on PATH, and is the directory readable?" })

const collectText = <E>(bytes: Stream.Stream<Uint8Array, E>) =>
  bytes.pipe(Stream.decodeText(), Stream.runFold("", (acc, s) => acc + s))

/** Runs git in `dir` and returns its standard output; a non-zero exit fails with git's stderr. */
export const runGit = (dir: string, args: ReadonlyArray<string>): Effect.Effect<string, GitFailed, CommandExecutor.CommandExecutor> =>
  Effect.scoped(
    Effect.gen(function*() {
      const proc = yield* Command.start(gitCommand(dir, args))
      const [stdout, stderr, code] = yield* Effect.all([collectText(proc.stdout), collectText(proc.stderr), proc.exitCode], {
        concurrency: 3,
      })
      if (code !== 0) return yield* new GitFailed({ dir, args, exitCode: code, stderr: stderr.slice(-4000), hint: hintFor(stderr) })
      return stdout
    }),
  ).pipe(Effect.catchTag("SystemError", "BadArgument", platformFailure(dir, args)))

const hintFor = (stderr: string): string =>
  /not a git repository/i.test(stderr)
    ? "the directory is not a git repository: pass a mirror (git clone --mirror URL) or a directory of them"
    : /unknown revision|bad revision|bad object/i.test(stderr)
    ? "the mirror lacks a commit: update it (git fetch) or clone it again with --mirror"
    : "see git's message"

/** Streams git's output split at NUL bytes (`-z` output); the process is killed when the stream stops early. */
export const streamGitRecords = (
  dir: string,
  args: ReadonlyArray<string>,
): Stream.Stream<string, GitFailed, CommandExecutor.CommandExecutor> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const proc = yield* Command.start(gitCommand(dir, args))
      const stderr = yield* Effect.fork(collectText(proc.stderr))
      let pending = ""
      const records = proc.stdout.pipe(
        Stream.decodeText(),
        Stream.mapConcat((text) => {
          const parts = (pending + text).split("\0")
          pending = parts.pop() ?? ""
          return parts
        }),
      )
      const finish = Effect.gen(function*() {
        const code = yield* proc.exitCode
        const err = yield* stderr.await.pipe(Effect.flatten, Effect.orElseSucceed(() => ""))
        if (code !== 0) return yield* new GitFailed({ dir, args, exitCode: code, stderr: err.slice(-4000), hint: hintFor(err) })
        return pending === "" ? [] : [pending]
      })
      return Stream.concat(records, Stream.fromIterableEffect(finish))
    }),
  ).pipe(Stream.catchTags({ SystemError: platformFailure(dir, args), BadArgument: platformFailure(dir, args) }))


/** Runs git on a bare repository (`--git-dir`), from the current directory; see runGit. */
export const runGitDir = (gitDir: string, args: ReadonlyArray<string>): Effect.Effect<string, GitFailed, CommandExecutor.CommandExecutor> =>
  runGit(".", ["--git-dir", gitDir, ...args])
