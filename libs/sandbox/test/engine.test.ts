import { NodeContext, NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Console, Duration, Effect, Exit, Fiber, Layer, Option, Schedule, Scope } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import {
  CommandFailed,
  CommandRunner,
  EngineStartFailed,
  EngineUnavailable,
  HostLive,
  SystemFacts,
  ensureEngine,
  makeCommandRunner,
  parseDockerHost,
} from "../src/engine.js"
import { type ProgressLine, ProgressReporter } from "../src/progress.js"

const tempDirs: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swe-gym-engine-test-"))
  tempDirs.push(dir)
  return dir
}
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))
const withDockerHost = (value: string) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DOCKER_HOST", value]])))

interface Call {
  readonly line: string
  readonly env: Readonly<Record<string, string>>
  readonly detached: boolean
}

/** A CommandRunner that records every command; `onDetached` plays dockerd. */
const recordingRunner = (
  calls: Array<Call>,
  onDetached: (logFile: string) => Effect.Effect<number, CommandFailed> = () => Effect.succeed(4242),
  onRun: (args: ReadonlyArray<string>) => void = () => undefined,
) =>
  Layer.succeed(CommandRunner, {
    run: (command, args, options = {}) =>
      Effect.sync(() => {
        calls.push({ line: [command, ...args].join(" "), env: options.env ?? {}, detached: false })
        onRun(args)
        return { outputTail: "" }
      }),
    startDetached: (command, args, logFile) =>
      Effect.sync(() => calls.push({ line: [command, ...args].join(" "), env: {}, detached: true })).pipe(
        Effect.zipRight(onDetached(logFile)),
      ),
  })

const facts = (overrides: Partial<SystemFacts["Type"]>) =>
  Layer.succeed(SystemFacts, {
    isRoot: true,
    isDebianLike: true,
    resolveCommand: () => Effect.succeed(Option.none()),
    processName: () => Effect.succeed(Option.none()),
    ...overrides,
  })

/** A loopback stand-in for dockerd's API on a unix socket: /_ping and /version. */
const fakeEngine = (socketPath: string) =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((request, response) => {
        if (request.url?.endsWith("/_ping")) return void response.end("OK")
        response.setHeader("content-type", "application/json")
        response.end(JSON.stringify({ Version: "99.0.0-fake", ApiVersion: "1.41", Os: "linux", Arch: "amd64" }))
      })
      server.listen(socketPath, () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void))),
  )

/** A ProgressReporter that keeps every line it is given. */
const recordingReporter = (lines: Array<ProgressLine>) => Effect.provideService(ProgressReporter, { report: (p) => Effect.sync(() => void lines.push(p)) })

/** Runs `self` with a console that keeps whatever it is asked to print. */
const capturingConsole = <A, E, R>(printed: Array<string>, self: Effect.Effect<A, E, R>) =>
  Console.consoleWith((console) => {
    const keep = (...parts: ReadonlyArray<unknown>) => Effect.sync(() => void printed.push(parts.join(" ")))
    return self.pipe(Effect.withConsole({ ...console, log: keep, error: keep, warn: keep, info: keep, debug: keep, trace: keep }))
  })

/** The live CommandRunner on Node's command executor; `killGrace` between SIGTERM and SIGKILL. */
const liveRunner = (killGrace: Duration.DurationInput = "15 seconds") => Layer.effect(CommandRunner, makeCommandRunner({ killGrace })).pipe(Layer.provide(NodeContext.layer))

/** True while process `pid` exists and is not a zombie. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

/** Field `n` (1-based, as in proc(5)) of /proc/PID/stat. */
const statField = (pid: number, n: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[n - 3])
}

/** Polls until `read` returns a value (every 20 ms, up to 30 s). */
const eventually = <A>(what: string, read: () => A | undefined) =>
  Effect.sync(read).pipe(
    Effect.flatMap((value) => (value === undefined ? Effect.fail(`not yet: ${what}`) : Effect.succeed(value))),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(1_500)))),
    Effect.orDie,
  )

const pidIn = (file: string) => {
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : ""
  return /^\d+$/.test(text) ? Number(text) : undefined
}

describe("CommandRunnerLive", () => {
  it.live("a command that exits non-zero fails with CommandFailed: exit code, both streams in the tail, the log appended to", () =>
    Effect.gen(function* () {
      const runner = yield* CommandRunner
      const logFile = path.join(tempDir(), "run.log")
      fs.writeFileSync(logFile, "earlier output\n")
      const error = yield* runner.run("sh", ["-c", "echo out; echo err >&2; exit 3"], { logFile, hint: "Try again later." }).pipe(Effect.flip)
      expect(error).toBeInstanceOf(CommandFailed)
      expect(error.command).toBe("sh -c echo out; echo err >&2; exit 3")
      expect(error.exitCode).toBe(3)
      expect(error.reason).toBe("exit code 3")
      expect(error.logFile).toBe(logFile)
      expect(error.outputTail.split("\n").sort()).toEqual(["", "err", "out"])
      expect(error.message).toContain("`sh -c echo out; echo err >&2; exit 3` failed: exit code 3. Try again later.")
      expect(error.message).toContain(`--- last lines of output (full log: ${logFile}) ---`)
      const log = fs.readFileSync(logFile, "utf8")
      expect(log.startsWith("earlier output\n\n$ sh -c echo out; echo err >&2; exit 3\n")).toBe(true)
      expect(log.slice("earlier output\n".length).split("\n").slice(2).sort()).toEqual(["", "err", "out"])
    }).pipe(Effect.provide(liveRunner())),
  )

  it.live("a command that succeeds: its environment has the extra variables, stdin is closed, the tail is returned", () =>
    Effect.gen(function* () {
      const runner = yield* CommandRunner
      expect(yield* runner.run("sh", ["-c", 'echo "$GREETING from $0"'], { env: { GREETING: "hello" } })).toEqual({ outputTail: "hello from sh\n" })
      // cat ends at the end of its input: with a stdin pipe left open it would wait forever.
      expect(yield* runner.run("cat", [])).toEqual({ outputTail: "" })
    }).pipe(Effect.provide(liveRunner())),
  )

  it.live("a command that cannot be started fails with CommandFailed saying why", () =>
    Effect.gen(function* () {
      const runner = yield* CommandRunner
      const error = yield* runner.run("swe-gym-no-such-command", ["x"], { hint: "Install it." }).pipe(Effect.flip)
      expect(error.command).toBe("swe-gym-no-such-command x")
      expect(error.reason).toContain("ENOENT")
      expect(error.exitCode).toBeUndefined()
      expect(error.hint).toBe("Install it.")
    }).pipe(Effect.provide(liveRunner())),
  )

  it.live("interrupting a run stops the command and returns once it is gone", () =>
    Effect.gen(function* () {
      const runner = yield* CommandRunner
      const pidFile = path.join(tempDir(), "pid")
      const fiber = yield* Effect.fork(runner.run("sh", ["-c", 'echo $$ > "$1"; exec sleep 60', "sh", pidFile]))
      const pid = yield* eventually("the command's pid", () => pidIn(pidFile))
      expect(alive(pid)).toBe(true)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(alive(pid)).toBe(false)
    }).pipe(Effect.provide(liveRunner())),
  )

  it.live("a command that ignores SIGTERM is killed with SIGKILL after the grace period", () =>
    Effect.gen(function* () {
      const runner = yield* CommandRunner
      const pidFile = path.join(tempDir(), "pid")
      const fiber = yield* Effect.fork(runner.run("sh", ["-c", 'trap "" TERM; echo $$ > "$1"; while :; do sleep 1; done', "sh", pidFile]))
      const pid = yield* eventually("the command's pid", () => pidIn(pidFile))
      yield* Fiber.interrupt(fiber)
      expect(alive(pid)).toBe(false)
    }).pipe(Effect.provide(liveRunner("300 millis"))),
  )

  it.scopedLive("startDetached: the daemon runs in its own session, tied to us by no pipe, its output appended to the log", () =>
    Effect.gen(function* () {
      const runner = yield* CommandRunner
      const logFile = path.join(tempDir(), "logs", "daemon.log") // the directory does not exist yet
      const pid = yield* runner.startDetached("sh", ["-c", 'echo "daemon $$ up"; exec sleep 60'], logFile)
      yield* Effect.addFinalizer(() => Effect.sync(() => alive(pid) && process.kill(pid, "SIGKILL")))
      // Its output lands in the log, and the pid returned is the daemon's own ($$ of its shell).
      yield* eventually("the daemon's line in its log", () => (fs.existsSync(logFile) && fs.readFileSync(logFile, "utf8") === `daemon ${pid} up\n` ? true : undefined))
      // It survives its launcher, leads a session of its own (no signal to our process group or session reaches it),
      // is not our child, and its standard streams are /dev/null and the log: nothing of ours keeps it alive or dies with it.
      expect(alive(pid)).toBe(true)
      expect(statField(pid, 6)).toBe(pid) // session id
      expect(statField(pid, 5)).toBe(pid) // process group
      expect(statField(pid, 4)).not.toBe(process.pid) // parent
      expect([0, 1, 2].map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`))).toEqual(["/dev/null", logFile, logFile])
      // A second daemon appends to the same log.
      const second = yield* runner.startDetached("sh", ["-c", 'echo "second $$"'], logFile)
      yield* eventually("the second daemon's line", () => (fs.readFileSync(logFile, "utf8") === `daemon ${pid} up\nsecond ${second}\n` ? true : undefined))
    }).pipe(Effect.provide(liveRunner())),
  )

  it.live("startDetached: a missing command or an unwritable log fails with CommandFailed before anything starts", () =>
    Effect.gen(function* () {
      const runner = yield* CommandRunner
      const dir = tempDir()
      const missing = yield* runner.startDetached("swe-gym-no-such-daemon", ["--flag"], path.join(dir, "d.log")).pipe(Effect.flip)
      expect(missing).toBeInstanceOf(CommandFailed)
      expect(missing.command).toBe("swe-gym-no-such-daemon --flag")
      expect(missing.outputTail).toContain("swe-gym-no-such-daemon: command not found")
      expect(missing.exitCode).toBe(127)
      expect(missing.hint).toContain("Check that swe-gym-no-such-daemon is installed")
      expect(fs.existsSync(path.join(dir, "d.log"))).toBe(false)
      fs.writeFileSync(path.join(dir, "file"), "")
      const unwritable = yield* runner.startDetached("sleep", ["60"], path.join(dir, "file", "d.log")).pipe(Effect.flip)
      expect(unwritable).toBeInstanceOf(CommandFailed)
      expect(unwritable.outputTail).toContain("cannot create directory")
    }).pipe(Effect.provide(liveRunner())),
  )
})

describe("progress", () => {
  it.live("ensureEngine reports its steps through ProgressReporter and prints nothing itself", () =>
    Effect.gen(function* () {
      const lines: Array<ProgressLine> = []
      const printed: Array<string> = []
      const info = yield* capturingConsole(printed, ensureEngine().pipe(recordingReporter(lines)))
      expect(lines).toEqual([
        { scope: "engine", line: `pinging the Docker engine at ${info.endpoint}` },
        { scope: "engine", line: `Docker ${info.version} (API ${info.apiVersion}) answers at ${info.endpoint}` },
      ])
      // Without a reporter, the lines go nowhere.
      yield* capturingConsole(printed, ensureEngine())
      expect(printed).toEqual([])
    }).pipe(Effect.provide(HostLive)),
  )
})

describe("parseDockerHost", () => {
  it("reads unix:// and tcp:// and rejects the rest", () => {
    expect(parseDockerHost("unix:///var/run/docker.sock")).toEqual(Option.some({ _tag: "Unix", socketPath: "/var/run/docker.sock" }))
    expect(parseDockerHost("tcp://10.0.0.5:2376")).toEqual(Option.some({ _tag: "Tcp", host: "10.0.0.5", port: 2376 }))
    expect(parseDockerHost("tcp://docker")).toEqual(Option.some({ _tag: "Tcp", host: "docker", port: 2375 }))
    expect(parseDockerHost("ssh://me@host")).toEqual(Option.none())
    expect(parseDockerHost("unix://relative.sock")).toEqual(Option.none())
  })
})

describe("ensureEngine", () => {
  it.live("pings the real engine (DOCKER_HOST or /var/run/docker.sock) and starts nothing", () =>
    Effect.gen(function* () {
      const info = yield* ensureEngine()
      expect(info.started).toBe(false)
      expect(info.version).toMatch(/^\d+\.\d+/)
      expect(info.apiVersion).toMatch(/^1\.\d+$/)
    }).pipe(Effect.provide(HostLive)),
  )

  it.live("as a non-root user: says how to get an engine and runs no command", () =>
    Effect.gen(function* () {
      const calls: Array<Call> = []
      const socket = path.join(tempDir(), "none.sock")
      const error = yield* ensureEngine().pipe(
        withDockerHost(`unix://${socket}`),
        Effect.provide(Layer.mergeAll(facts({ isRoot: false }), recordingRunner(calls), NodeFileSystem.layer)),
        Effect.flip,
      )
      expect(error).toBeInstanceOf(EngineUnavailable)
      if (!(error instanceof EngineUnavailable)) return
      expect(error.socket).toBe(`unix://${socket}`)
      expect(error.hint).toContain("not root")
      expect(error.hint).toContain("Docker Desktop")
      expect(error.hint).toContain("sudo systemctl start docker")
      expect(error.hint).toContain("DOCKER_HOST")
      expect(error.hint).toContain("sudo npm run setup")
      expect(calls).toEqual([])
    }),
  )

  it.live("on a system that is not Debian-like: says so and runs no command", () =>
    Effect.gen(function* () {
      const calls: Array<Call> = []
      const socket = path.join(tempDir(), "none.sock")
      const error = yield* ensureEngine().pipe(
        withDockerHost(`unix://${socket}`),
        Effect.provide(Layer.mergeAll(facts({ isDebianLike: false }), recordingRunner(calls), NodeFileSystem.layer)),
        Effect.flip,
      )
      expect(error).toBeInstanceOf(EngineUnavailable)
      expect(error.message).toContain("not a Debian-like system")
      expect(error.message).toContain("sudo npm run setup")
      expect(calls).toEqual([])
    }),
  )

  it.live("for a DOCKER_HOST socket other than /var/run/docker.sock: never starts dockerd there, even as root on Debian", () =>
    Effect.gen(function* () {
      const calls: Array<Call> = []
      const socket = path.join(tempDir(), "custom.sock")
      const error = yield* ensureEngine().pipe(
        withDockerHost(`unix://${socket}`),
        Effect.provide(Layer.mergeAll(facts({ resolveCommand: () => Effect.succeed(Option.some("/usr/sbin/dockerd")) }), recordingRunner(calls), NodeFileSystem.layer)),
        Effect.flip,
      )
      expect(error).toBeInstanceOf(EngineUnavailable)
      expect(error.message).toContain("unset DOCKER_HOST")
      expect(calls).toEqual([])
    }),
  )

  it.live("for an unreachable tcp:// DOCKER_HOST: points at DOCKER_HOST, starts nothing even as root", () =>
    Effect.gen(function* () {
      const calls: Array<Call> = []
      // A port that was just free: nothing listens there.
      const port = yield* Effect.async<number>((resume) => {
        const server = http.createServer().listen(0, "127.0.0.1", () => {
          const address = server.address()
          server.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 1)))
        })
      })
      const error = yield* ensureEngine().pipe(
        withDockerHost(`tcp://127.0.0.1:${port}`),
        Effect.provide(Layer.mergeAll(facts({}), recordingRunner(calls), NodeFileSystem.layer)),
        Effect.flip,
      )
      expect(error).toBeInstanceOf(EngineUnavailable)
      expect(error.message).toContain(`tcp://127.0.0.1:${port}`)
      expect(error.message).toContain("unset DOCKER_HOST")
      expect(calls).toEqual([])
    }),
  )

  it.live("as root on Debian without dockerd: apt-get update, install docker.io, clear stale pid files, start dockerd, wait", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const socket = path.join(dir, "docker.sock")
      const pidFile = path.join(dir, "docker.pid")
      const containerdPidFile = path.join(dir, "containerd.pid")
      fs.writeFileSync(pidFile, "999999") // a killed dockerd's pid: no such process now
      fs.writeFileSync(containerdPidFile, "4100") // a killed containerd's pid, since reused by a shell
      const calls: Array<Call> = []
      const scope = yield* Effect.scope
      let installed = false
      const host = Layer.mergeAll(
        facts({
          resolveCommand: (name) => Effect.sync(() => (name === "dockerd" && installed ? Option.some("/usr/sbin/dockerd") : Option.none())),
          processName: (pid) => Effect.succeed(pid === 4242 ? Option.some("dockerd") : pid === 4100 ? Option.some("bash") : Option.none()),
        }),
        // "dockerd" here is a loopback HTTP server on the socket; "apt-get install docker.io" puts dockerd on PATH.
        recordingRunner(calls, () => fakeEngine(socket).pipe(Scope.extend(scope), Effect.as(4242)), (args) => void (installed ||= args.includes("docker.io"))),
        NodeFileSystem.layer,
      )
      const lines: Array<ProgressLine> = []
      const info = yield* ensureEngine({
        managedSocket: socket,
        logFile: path.join(dir, "dockerd.log"),
        installLogFile: path.join(dir, "install.log"),
        pidFile,
        containerdPidFile,
        pollInterval: "20 millis",
      }).pipe(
        withDockerHost(`unix://${socket}`),
        Effect.provide(host),
        recordingReporter(lines),
      )
      // Every step is reported (the heartbeats' elapsed times vary: shown as N).
      expect(lines.every((l) => l.scope === "engine")).toBe(true)
      expect(lines.map((l) => l.line.replace(/\d+\.\d s\b/g, "N s"))).toEqual([
        `pinging the Docker engine at unix://${socket}`,
        expect.stringMatching(/^no answer \(.+\); this is root on a Debian-like system, so starting dockerd$/),
        `dockerd is not installed: installing Debian's docker.io (apt-get log: ${path.join(dir, "install.log")})`,
        "apt-get update…",
        "apt-get update: done (N s)",
        "apt-get install docker.io (about a minute)…",
        "apt-get install docker.io (about a minute): done (N s)",
        `removing stale ${containerdPidFile} (pid 4100 is now "bash")`,
        `removing stale ${pidFile} (pid 999999 is not running)`,
        `started /usr/sbin/dockerd --host unix://${socket} --pidfile ${pidFile} (pid 4242, log ${path.join(dir, "dockerd.log")}); waiting for it to answer`,
        "waiting for dockerd to answer…",
        "waiting for dockerd to answer: done (N s)",
        `Docker 99.0.0-fake (API 1.41) answers at unix://${socket} after N s`,
      ])

      expect(info).toEqual({ endpoint: `unix://${socket}`, version: "99.0.0-fake", apiVersion: "1.41", started: true })
      expect(calls.map((c) => (c.detached ? `detached: ${c.line}` : c.line))).toEqual([
        "apt-get update",
        "apt-get install -y docker.io",
        `detached: /usr/sbin/dockerd --host unix://${socket} --pidfile ${pidFile}`,
      ])
      expect(calls.filter((c) => !c.detached).every((c) => c.env["DEBIAN_FRONTEND"] === "noninteractive")).toBe(true)
      expect(fs.existsSync(pidFile)).toBe(false)
      expect(fs.existsSync(containerdPidFile)).toBe(false)
    }).pipe(Effect.scoped),
  )

  it.live("does not start a second dockerd when the pid file names a live one; waits for it instead", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const socket = path.join(dir, "docker.sock")
      const pidFile = path.join(dir, "docker.pid")
      fs.writeFileSync(pidFile, "4242\n")
      yield* fakeEngine(socket).pipe(Effect.delay("200 millis"), Effect.forkScoped)
      const calls: Array<Call> = []
      const info = yield* ensureEngine({ managedSocket: socket, logFile: path.join(dir, "dockerd.log"), pidFile, containerdPidFile: path.join(dir, "c.pid"), pollInterval: "20 millis" }).pipe(
        withDockerHost(`unix://${socket}`),
        Effect.provide(
          Layer.mergeAll(
            facts({
              resolveCommand: () => Effect.succeed(Option.some("/usr/sbin/dockerd")),
              processName: (pid) => Effect.succeed(pid === 4242 ? Option.some("dockerd") : Option.none()),
            }),
            recordingRunner(calls),
            NodeFileSystem.layer,
          ),
        ),
      )
      expect(info.started).toBe(true)
      expect(calls).toEqual([])
      expect(fs.readFileSync(pidFile, "utf8")).toBe("4242\n")
    }).pipe(Effect.scoped),
  )

  it.live("when the started dockerd exits: fails with the tail of its log", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const logFile = path.join(dir, "dockerd.log")
      const calls: Array<Call> = []
      const socket = path.join(dir, "docker.sock")
      const error = yield* ensureEngine({ managedSocket: socket, logFile, pidFile: path.join(dir, "d.pid"), containerdPidFile: path.join(dir, "c.pid"), pollInterval: "20 millis" }).pipe(
        withDockerHost(`unix://${socket}`),
        Effect.provide(
          Layer.mergeAll(
            facts({ resolveCommand: () => Effect.succeed(Option.some("/usr/sbin/dockerd")) }), // pid 4242 is not running
            recordingRunner(calls, (log) =>
              Effect.sync(() => {
                fs.appendFileSync(log, "starting\nfailed to start daemon: error initializing graphdriver: boom\n")
                return 4242
              }),
            ),
            NodeFileSystem.layer,
          ),
        ),
        Effect.flip,
      )
      expect(error).toBeInstanceOf(EngineStartFailed)
      expect(error.message).toContain("exited")
      expect(error.message).toContain("error initializing graphdriver: boom")
      expect(calls.map((c) => c.detached)).toEqual([true])
    }),
  )

  it.live("when dockerd runs but never answers: gives up after the start timeout with the tail of its log", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const logFile = path.join(dir, "dockerd.log")
      const socket = path.join(dir, "docker.sock")
      const error = yield* ensureEngine({
        managedSocket: socket,
        logFile,
        pidFile: path.join(dir, "d.pid"),
        containerdPidFile: path.join(dir, "c.pid"),
        pollInterval: "50 millis",
        startTimeout: "1 second",
      }).pipe(
        withDockerHost(`unix://${socket}`),
        Effect.provide(
          Layer.mergeAll(
            facts({
              resolveCommand: () => Effect.succeed(Option.some("/usr/sbin/dockerd")),
              processName: () => Effect.succeed(Option.some("dockerd")),
            }),
            recordingRunner([], (log) => Effect.sync(() => (fs.appendFileSync(log, "waiting for containerd\n"), 4242))),
            NodeFileSystem.layer,
          ),
        ),
        Effect.flip,
      )
      expect(error).toBeInstanceOf(EngineStartFailed)
      expect(error.message).toContain("no answer within")
      expect(error.message).toContain("waiting for containerd")
    }),
  )
})
