// A headless Chromium for the tests that open the HTML report in a browser: SWE_GYM_CHROMIUM when set, else the first of
// chromium / chromium-browser / google-chrome on PATH; when there is none and this process is root on a Debian-like system,
// Debian's chromium package is installed with apt-get. The machine is reached through the sandbox's SystemFacts and
// CommandRunner (tests stand in for both) and progress goes through its ProgressReporter, as for the engine.
import { FileSystem } from "@effect/platform"
import { CommandRunner, reportProgress, SystemFacts, withHeartbeat } from "@swe-gym/sandbox"
import { Config, Effect, Option, Schema } from "effect"
import * as path from "node:path"

/** The names a Chromium goes by on PATH, in the order they are tried. */
export const chromiumCommands: ReadonlyArray<string> = ["chromium", "chromium-browser", "google-chrome"]

/** Where apt-get's output goes when it installs chromium. */
export const defaultChromiumInstallLog = "/var/log/swe-gym-chromium-install.log"

const howToGetOne = "install chromium (Debian: apt-get install chromium) or set SWE_GYM_CHROMIUM"

/** No Chromium could be found or installed; `hint` says what the user can do. */
export class BrowserUnavailable extends Schema.TaggedError<BrowserUnavailable>()("BrowserUnavailable", {
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `No Chromium: ${this.reason}. ${this.hint}`
  }
}

/** The Chromium that answered `--version`, and whether it was installed just now. */
export interface BrowserInfo {
  readonly path: string
  readonly version: string
  readonly installed: boolean
}

const scope = "browser"

/** The version line of `chromium --version`'s output (Debian's wrapper script may print shell noise beside it). */
export const chromiumVersion = (output: string): Option.Option<string> =>
  Option.fromNullable(output.split("\n").map((line) => line.trim()).find((line) => /\b(Chromium|Chrome)\b.*\d+\.\d+/.test(line)))

/** The first Chromium on PATH, by the names of chromiumCommands. */
const onPath = Effect.gen(function* () {
  const facts = yield* SystemFacts
  for (const name of chromiumCommands) {
    const found = yield* facts.resolveCommand(name)
    if (Option.isSome(found)) return found
  }
  return Option.none<string>()
})

/** Installs Debian's chromium with apt-get (without recommended packages: a headless browser needs none of them). */
const installChromium = Effect.fn("docker-tools.installChromium")(function* (logFile: string) {
  const runner = yield* CommandRunner
  const hint = `apt-get could not install chromium; check network access to the Debian mirror (/etc/apt/sources.list*) and the log ${logFile}, or set SWE_GYM_CHROMIUM.`
  const env = { DEBIAN_FRONTEND: "noninteractive" }
  yield* runner.run("apt-get", ["update"], { env, logFile, hint }).pipe(withHeartbeat(scope, "apt-get update"))
  yield* runner
    .run("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { env, logFile, hint })
    .pipe(withHeartbeat(scope, "apt-get install chromium (a minute or two)"))
})

/** The Chromium SWE_GYM_CHROMIUM names; it must be a file. */
const namedChromium = Effect.fn("docker-tools.namedChromium")(function* (named: string) {
  const fileSystem = yield* FileSystem.FileSystem
  const chosen = path.resolve(named)
  const info = yield* fileSystem.stat(chosen).pipe(Effect.option)
  if (Option.isNone(info) || info.value.type !== "File") {
    return yield* new BrowserUnavailable({
      reason: `SWE_GYM_CHROMIUM names ${chosen}, which is not a file`,
      hint: `Point SWE_GYM_CHROMIUM at a Chromium executable, or unset it so swe-gym looks for ${chromiumCommands.join(" / ")} on PATH.`,
    })
  }
  yield* reportProgress(scope, `using SWE_GYM_CHROMIUM=${chosen}`)
  return { path: chosen, installed: false }
})

/** The first Chromium on PATH; with none, as root on a Debian-like system, Debian's chromium installed now. */
const chromiumOnPathOrInstalled = Effect.fn("docker-tools.chromiumOnPathOrInstalled")(function* (installLogFile: string) {
  const found = yield* onPath
  if (Option.isSome(found)) return { path: found.value, installed: false }
  const facts = yield* SystemFacts
  if (!facts.isRoot || !facts.isDebianLike) {
    const why = !facts.isRoot
      ? "this process is not root, so swe-gym did not install one"
      : "this is not a Debian-like system (no /etc/debian_version), so swe-gym did not install Debian's chromium"
    return yield* new BrowserUnavailable({ reason: `none of ${chromiumCommands.join(", ")} is on PATH and ${why}`, hint: howToGetOne })
  }
  const fileSystem = yield* FileSystem.FileSystem
  yield* fileSystem.makeDirectory(path.dirname(installLogFile), { recursive: true }).pipe(Effect.ignore)
  yield* reportProgress(scope, `no Chromium on PATH: installing Debian's chromium (apt-get log: ${installLogFile})`)
  yield* installChromium(installLogFile)
  const after = yield* onPath
  if (Option.isNone(after)) {
    return yield* new BrowserUnavailable({
      reason: `chromium was installed but none of ${chromiumCommands.join(", ")} is on PATH`,
      hint: `See ${installLogFile}; ${howToGetOne}.`,
    })
  }
  return { path: after.value, installed: true }
})

/**
 * Makes sure a Chromium runs here and returns its path and version: SWE_GYM_CHROMIUM if set (it must exist), else the first
 * of chromium / chromium-browser / google-chrome on PATH; with none, as root on a Debian-like system, installs Debian's
 * chromium. Fails with BrowserUnavailable when there is none and it may not install one.
 */
export const ensureChromium = Effect.fn("docker-tools.ensureChromium")(function* (
  options: { readonly installLogFile?: string } = {},
) {
  const installLogFile = options.installLogFile ?? defaultChromiumInstallLog
  const runner = yield* CommandRunner
  const named = yield* Config.option(Config.nonEmptyString("SWE_GYM_CHROMIUM")).pipe(Effect.orElseSucceed(() => Option.none<string>()))

  const located = Option.isSome(named) ? yield* namedChromium(named.value) : yield* chromiumOnPathOrInstalled(installLogFile)
  const browser = located.path
  const installed = located.installed
  const answer = yield* runner.run(browser, ["--version"], { hint: `${browser} does not run; ${howToGetOne}.` })
  const version = chromiumVersion(answer.outputTail)
  if (Option.isNone(version)) {
    return yield* new BrowserUnavailable({
      reason: `${browser} --version printed no Chromium version (${JSON.stringify(answer.outputTail.trim().slice(-300))})`,
      hint: `Is ${browser} a Chromium? ${howToGetOne}.`,
    })
  }
  yield* reportProgress(scope, `${version.value} at ${browser}${installed ? " (installed now)" : ""}`)
  return { path: browser, version: version.value, installed } satisfies BrowserInfo
})
