// swe-gym-docker browser: which Chromium it picks, when it installs Debian's chromium, and what it says when it may not.
// The machine is played by a SystemFacts whose PATH is a set of paths and a CommandRunner that records every command
// (its "apt-get install chromium" puts /usr/bin/chromium on that PATH); one test runs the real thing on this machine.
import { NodeContext, NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { CommandFailed, CommandRunner, HostLive, type ProgressLine, ProgressReporter, SystemFacts } from "@swe-gym/sandbox"
import { ConfigProvider, Effect, Exit, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { BrowserUnavailable, chromiumVersion, ensureChromium } from "../src/browser.js"
import { runCliPrinting } from "./cli-output.js"

const tempDirs: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swe-gym-browser-test-"))
  tempDirs.push(dir)
  return dir
}
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))

interface Call {
  readonly line: string
  readonly env: Readonly<Record<string, string>>
  readonly logFile: string | undefined
}

interface Machine {
  readonly isRoot: boolean
  readonly isDebianLike: boolean
  /** Executables on PATH, by name. */
  readonly onPath: Map<string, string>
  /** What `<browser> --version` prints. */
  readonly versionOutput?: string
  /** apt-get install puts nothing on PATH. */
  readonly installPutsNothing?: boolean
}

/** SystemFacts and a recording CommandRunner over `machine`; apt-get install chromium adds /usr/bin/chromium to its PATH. */
const fakeHost = (machine: Machine, calls: Array<Call>) =>
  Layer.mergeAll(
    Layer.succeed(SystemFacts, {
      isRoot: machine.isRoot,
      isDebianLike: machine.isDebianLike,
      resolveCommand: (name) => Effect.sync(() => Option.fromNullable(machine.onPath.get(name))),
      processName: () => Effect.succeed(Option.none()),
    }),
    Layer.succeed(CommandRunner, {
      run: (command, args, options = {}) =>
        Effect.sync(() => {
          const line = [command, ...args].join(" ")
          calls.push({ line, env: options.env ?? {}, logFile: options.logFile })
          if (line === "apt-get install -y --no-install-recommends chromium" && machine.installPutsNothing !== true) {
            machine.onPath.set("chromium", "/usr/bin/chromium")
          }
          const version = args[0] === "--version" ? (machine.versionOutput ?? "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)\n") : ""
          return { outputTail: version }
        }),
      startDetached: (command, args) => Effect.fail(new CommandFailed({ command: [command, ...args].join(" "), reason: "not expected here", outputTail: "", hint: "" })),
    }),
    NodeFileSystem.layer,
  )

const recordingReporter = (lines: Array<string>) =>
  Effect.provideService(ProgressReporter, { report: (p: ProgressLine) => Effect.sync(() => void lines.push(p.line.replace(/\(\d+\.\d s\)/, "(N s)"))) })

const withChromiumVariable = (value: string | undefined) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(value === undefined ? [] : [["SWE_GYM_CHROMIUM", value]])))

/** Runs ensureChromium on `machine`; returns its exit, the commands it ran and its progress lines. */
const onMachine = (machine: Machine, options: { readonly variable?: string; readonly installLogFile?: string } = {}) =>
  Effect.gen(function* () {
    const calls: Array<Call> = []
    const progress: Array<string> = []
    const exit = yield* ensureChromium(options.installLogFile === undefined ? {} : { installLogFile: options.installLogFile }).pipe(
      recordingReporter(progress),
      withChromiumVariable(options.variable),
      Effect.provide(fakeHost(machine, calls)),
      Effect.exit,
    )
    return { exit, calls, progress }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return failure
}

describe("ensureChromium", () => {
  it.effect("a Chromium on PATH: used as it is, nothing installed; the names are tried in order", () =>
    Effect.gen(function* () {
      const machine = { isRoot: true, isDebianLike: true, onPath: new Map([["google-chrome", "/opt/google/chrome/google-chrome"], ["chromium-browser", "/usr/bin/chromium-browser"]]) }
      const { exit, calls, progress } = yield* onMachine(machine)
      expect(exit).toEqual(Exit.succeed({ path: "/usr/bin/chromium-browser", version: "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)", installed: false }))
      expect(calls.map((c) => c.line)).toEqual(["/usr/bin/chromium-browser --version"])
      expect(progress).toEqual(["Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm) at /usr/bin/chromium-browser"])
    }),
  )

  it.effect("none on PATH, root on Debian: apt-get update, then install chromium without recommends, then --version", () =>
    Effect.gen(function* () {
      const installLogFile = path.join(tempDir(), "logs", "chromium-install.log")
      const machine = { isRoot: true, isDebianLike: true, onPath: new Map<string, string>() }
      const { exit, calls, progress } = yield* onMachine(machine, { installLogFile })
      expect(exit).toEqual(Exit.succeed({ path: "/usr/bin/chromium", version: "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)", installed: true }))
      expect(calls.map((c) => c.line)).toEqual([
        "apt-get update",
        "apt-get install -y --no-install-recommends chromium",
        "/usr/bin/chromium --version",
      ])
      for (const apt of calls.slice(0, 2)) {
        expect(apt.env).toEqual({ DEBIAN_FRONTEND: "noninteractive" })
        expect(apt.logFile).toBe(installLogFile)
      }
      // The log's directory is made, so apt-get's output has somewhere to go.
      expect(fs.statSync(path.dirname(installLogFile)).isDirectory()).toBe(true)
      expect(progress).toEqual([
        `no Chromium on PATH: installing Debian's chromium (apt-get log: ${installLogFile})`,
        "apt-get update…",
        "apt-get update: done (N s)",
        "apt-get install chromium (a minute or two)…",
        "apt-get install chromium (a minute or two): done (N s)",
        "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm) at /usr/bin/chromium (installed now)",
      ])
    }),
  )

  it.effect("none on PATH and not root (or not Debian): nothing run, BrowserUnavailable with the hint", () =>
    Effect.gen(function* () {
      const notRoot = yield* onMachine({ isRoot: false, isDebianLike: true, onPath: new Map() })
      expect(notRoot.calls).toEqual([])
      const error = failureOf(notRoot.exit)
      expect(error).toBeInstanceOf(BrowserUnavailable)
      expect(error).toMatchObject({
        reason: "none of chromium, chromium-browser, google-chrome is on PATH and this process is not root, so swe-gym did not install one",
        hint: "install chromium (Debian: apt-get install chromium) or set SWE_GYM_CHROMIUM",
      })
      expect(error.message).toContain("No Chromium: none of chromium")

      const notDebian = yield* onMachine({ isRoot: true, isDebianLike: false, onPath: new Map() })
      expect(notDebian.calls).toEqual([])
      expect(failureOf(notDebian.exit)).toMatchObject({
        _tag: "BrowserUnavailable",
        reason: expect.stringContaining("not a Debian-like system"),
        hint: "install chromium (Debian: apt-get install chromium) or set SWE_GYM_CHROMIUM",
      })
    }),
  )

  it.effect("installed but still nothing on PATH: BrowserUnavailable naming the apt-get log", () =>
    Effect.gen(function* () {
      const installLogFile = path.join(tempDir(), "install.log")
      const { exit, calls } = yield* onMachine({ isRoot: true, isDebianLike: true, onPath: new Map(), installPutsNothing: true }, { installLogFile })
      expect(calls.map((c) => c.line)).toEqual(["apt-get update", "apt-get install -y --no-install-recommends chromium"])
      expect(failureOf(exit)).toMatchObject({ _tag: "BrowserUnavailable", hint: expect.stringContaining(installLogFile) })
    }),
  )

  it.effect("SWE_GYM_CHROMIUM: used before PATH when it is a file; a missing one is an error naming it", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const chosen = path.join(dir, "my-chrome")
      fs.writeFileSync(chosen, "#!/bin/sh\necho Chromium 120.0.1\n", { mode: 0o755 })
      const machine = { isRoot: true, isDebianLike: true, onPath: new Map([["chromium", "/usr/bin/chromium"]]) }
      const named = yield* onMachine(machine, { variable: chosen })
      expect(named.exit).toEqual(Exit.succeed({ path: chosen, version: "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)", installed: false }))
      expect(named.calls.map((c) => c.line)).toEqual([`${chosen} --version`])

      const missing = yield* onMachine({ isRoot: true, isDebianLike: true, onPath: new Map() }, { variable: path.join(dir, "absent") })
      expect(missing.calls).toEqual([])
      expect(failureOf(missing.exit)).toMatchObject({ _tag: "BrowserUnavailable", reason: `SWE_GYM_CHROMIUM names ${path.join(dir, "absent")}, which is not a file` })
      const directory = yield* onMachine({ isRoot: true, isDebianLike: true, onPath: new Map() }, { variable: dir })
      expect(failureOf(directory.exit)).toMatchObject({ _tag: "BrowserUnavailable" })
    }),
  )

  it.effect("a program that prints no Chromium version is not taken for one", () =>
    Effect.gen(function* () {
      const { exit } = yield* onMachine({ isRoot: true, isDebianLike: true, onPath: new Map([["chromium", "/usr/bin/chromium"]]), versionOutput: "usage: chromium [options]\n" })
      expect(failureOf(exit)).toMatchObject({ _tag: "BrowserUnavailable", reason: expect.stringContaining("printed no Chromium version") })
    }),
  )
})

describe("chromiumVersion", () => {
  it("finds the version line among the shell noise of Debian's wrapper script", () => {
    expect(chromiumVersion("/usr/bin/chromium: 9: [: 25275990016: unexpected operator\nChromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)\n"))
      .toEqual(Option.some("Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)"))
    expect(chromiumVersion("Google Chrome 131.0.6778.85 \n")).toEqual(Option.some("Google Chrome 131.0.6778.85"))
    expect(chromiumVersion("bash: chromium: command not found\n")).toEqual(Option.none())
  })
})

describe("swe-gym-docker browser", () => {
  it.effect("prints the browser's path as the last stdout line, progress on stderr", () =>
    Effect.gen(function* () {
      const calls: Array<Call> = []
      const installLogFile = path.join(tempDir(), "install.log")
      const { stdout, stderr } = yield* runCliPrinting("browser", "--log-file", installLogFile).pipe(
        withChromiumVariable(undefined),
        Effect.provide(Layer.mergeAll(fakeHost({ isRoot: true, isDebianLike: true, onPath: new Map() }, calls), NodeContext.layer)),
      )
      expect(stdout).toEqual(["/usr/bin/chromium"])
      expect(stderr[0]).toBe(`[browser] no Chromium on PATH: installing Debian's chromium (apt-get log: ${installLogFile})`)
      expect(stderr.at(-1)).toBe("[browser] Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm) at /usr/bin/chromium (installed now)")
      expect(calls.every((c) => c.line === "/usr/bin/chromium --version" || c.logFile === installLogFile)).toBe(true)
    }),
  )

  it.live("on this machine: the Chromium it names answers --version (npm test's set-up step, for real)", () =>
    Effect.gen(function* () {
      const { stdout, stderr } = yield* runCliPrinting("browser")
      const browser = stdout.at(-1) ?? ""
      expect(path.isAbsolute(browser)).toBe(true)
      expect(fs.statSync(browser).isFile()).toBe(true)
      expect(stderr.at(-1)).toMatch(new RegExp(`^\\[browser\\] (Chromium|Google Chrome) \\d+\\.[\\d.]+.* at ${browser.replaceAll(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`))
    }).pipe(Effect.provide(Layer.mergeAll(NodeContext.layer, HostLive))),
    600_000,
  )
})
