// The Docker engine: where it is (DOCKER_HOST or the local socket), whether it answers, and — when it does not and this
// process may — installing Debian's docker.io and starting dockerd in the background. The machine is reached through two
// small services (SystemFacts, CommandRunner) plus @effect/platform's FileSystem, so tests can stand in for any of them.
import { Command, CommandExecutor, FileSystem } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { NodeCommandExecutor, NodeFileSystem } from "@effect/platform-node"
import Docker from "dockerode"
import { Clock, Config, Context, Duration, Effect, Either, Layer, Option, Schedule, Schema, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { reportProgress, withHeartbeat } from "./progress.js"

// ── errors ───────────────────────────────────────────────────────────────────────────────────────────────────────────

/** No engine answers and this process may not (or cannot) start one; `hint` says what the user must do. */
export class EngineUnavailable extends Schema.TaggedError<EngineUnavailable>()("EngineUnavailable", {
  socket: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `No Docker engine answers at ${this.socket}. ${this.hint}`
  }
}

/** dockerd was started but did not answer in time (or exited); carries the tail of its log. */
export class EngineStartFailed extends Schema.TaggedError<EngineStartFailed>()("EngineStartFailed", {
  socket: Schema.String,
  reason: Schema.String,
  logFile: Schema.String,
  logTail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `dockerd did not come up at ${this.socket}: ${this.reason}. ${this.hint}\n--- last lines of ${this.logFile} ---\n${this.logTail}`
  }
}

/** A host command (apt-get, debootstrap, tar, umount…) could not be run or exited non-zero. */
export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  command: Schema.String,
  exitCode: Schema.optional(Schema.Number),
  reason: Schema.String,
  logFile: Schema.optional(Schema.String),
  outputTail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    const where = this.logFile === undefined ? "" : ` (full log: ${this.logFile})`
    const tail = this.outputTail.trim() === "" ? "" : `\n--- last lines of output${where} ---\n${this.outputTail}`
    return `\`${this.command}\` failed: ${this.reason}. ${this.hint}${tail}`
  }
}

// ── where the engine is ──────────────────────────────────────────────────────────────────────────────────────────────

/** The local socket dockerd listens on by default. */
export const DefaultSocketPath = "/var/run/docker.sock"

/** Where the engine listens: a unix socket or a TCP address (plain HTTP). */
export type EngineEndpoint =
  | { readonly _tag: "Unix"; readonly socketPath: string }
  | { readonly _tag: "Tcp"; readonly host: string; readonly port: number }

/** Parses a DOCKER_HOST value (`unix:///path` or `tcp://host:port`); None when it is neither. */
export const parseDockerHost = (value: string): Option.Option<EngineEndpoint> => {
  if (value.startsWith("unix://")) {
    const socketPath = value.slice("unix://".length)
    return socketPath.startsWith("/") ? Option.some({ _tag: "Unix", socketPath }) : Option.none()
  }
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(value)
  if (tcp === null || tcp[1] === undefined) return Option.none()
  const port = tcp[2] === undefined ? 2375 : Number(tcp[2])
  return port > 0 && port < 65536 ? Option.some({ _tag: "Tcp", host: tcp[1], port }) : Option.none()
}

/** The endpoint as a user writes it (the DOCKER_HOST form). */
export const describeEndpoint = (endpoint: EngineEndpoint): string =>
  endpoint._tag === "Unix" ? `unix://${endpoint.socketPath}` : `tcp://${endpoint.host}:${endpoint.port}`

/** The engine endpoint from DOCKER_HOST, or the local socket when it is unset. */
export const engineEndpoint: Effect.Effect<EngineEndpoint, EngineUnavailable> = Effect.gen(function* () {
  const configured = yield* Config.option(Config.string("DOCKER_HOST")).pipe(Effect.orElseSucceed(() => Option.none<string>()))
  if (Option.isNone(configured) || configured.value.trim() === "") {
    return { _tag: "Unix", socketPath: DefaultSocketPath } as const
  }
  const parsed = parseDockerHost(configured.value.trim())
  if (Option.isSome(parsed)) return parsed.value
  return yield* new EngineUnavailable({
    socket: configured.value,
    hint: "DOCKER_HOST must look like unix:///var/run/docker.sock or tcp://HOST:2375 (ssh:// and TLS are not supported here); fix or unset it.",
  })
})

/** A dockerode client for the endpoint (requests without a timeout: image imports and execs take long). */
export const dockerClient = (endpoint: EngineEndpoint, options: { readonly timeoutMs?: number } = {}): Docker =>
  endpoint._tag === "Unix"
    ? new Docker({ socketPath: endpoint.socketPath, ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }) })
    : new Docker({ host: endpoint.host, port: endpoint.port, protocol: "http", ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }) })

// ── whether it answers ───────────────────────────────────────────────────────────────────────────────────────────────

const VersionResponse = Schema.Struct({
  Version: Schema.String,
  ApiVersion: Schema.String,
  Os: Schema.optional(Schema.String),
  Arch: Schema.optional(Schema.String),
})

/** What a reachable engine told us about itself. */
export interface EngineInfo {
  readonly endpoint: string
  readonly version: string
  readonly apiVersion: string
  /** True when ensureEngine had to start (and maybe install) dockerd. */
  readonly started: boolean
}

/** Why a ping failed (connection refused, socket missing, permission denied, timeout…). */
export class EngineUnreachable extends Schema.TaggedError<EngineUnreachable>()("EngineUnreachable", {
  endpoint: Schema.String,
  reason: Schema.String,
  code: Schema.optional(Schema.String),
}) {}

const errorCode = (error: unknown): string | undefined => {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return error.code
  return undefined
}

/** Pings the engine once (5 s at most) and reads its version. */
export const pingEngine = Effect.fn("sandbox.pingEngine")(function* (endpoint: EngineEndpoint) {
  const docker = dockerClient(endpoint, { timeoutMs: 5_000 })
  const where = describeEndpoint(endpoint)
  const unreachable = (error: unknown) => {
    const code = errorCode(error)
    return new EngineUnreachable({
      endpoint: where,
      reason: error instanceof Error ? error.message : String(error),
      ...(code === undefined ? {} : { code }),
    })
  }
  // The client's 5 s request timeout also bounds a TCP engine that never answers.
  yield* Effect.tryPromise({ try: () => docker.ping(), catch: unreachable })
  const raw = yield* Effect.tryPromise({ try: (): Promise<unknown> => docker.version(), catch: unreachable })
  const version = yield* Schema.decodeUnknown(VersionResponse)(raw).pipe(
    Effect.mapError((e) => new EngineUnreachable({ endpoint: where, reason: `unexpected /version answer: ${e.message}` })),
  )
  return { version: version.Version, apiVersion: version.ApiVersion }
})

// ── the machine ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** Facts about the machine that decide whether swe-gym may install and start things itself. */
export class SystemFacts extends Context.Tag("@swe-gym/sandbox/SystemFacts")<SystemFacts, {
  readonly isRoot: boolean
  /** /etc/debian_version exists (Debian, Ubuntu and derivatives: apt-get and Debian's packages are there). */
  readonly isDebianLike: boolean
  /** Absolute path of an executable found on PATH (or in the sbin directories root's PATH usually has). */
  readonly resolveCommand: (name: string) => Effect.Effect<Option.Option<string>>
  /** The name of a running process (/proc/PID/comm); None when no such process runs. */
  readonly processName: (pid: number) => Effect.Effect<Option.Option<string>>
}>() {}

const sbinDirectories = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

/** SystemFacts of this machine. */
export const SystemFactsLive: Layer.Layer<SystemFacts> = Layer.effect(
  SystemFacts,
  Effect.gen(function* () {
    const pathVariable = yield* Config.string("PATH").pipe(Config.withDefault(""), Effect.orElseSucceed(() => ""))
    const directories = [...pathVariable.split(path.delimiter).filter((d) => d !== ""), ...sbinDirectories]
    return {
      isRoot: typeof process.getuid === "function" && process.getuid() === 0,
      isDebianLike: fs.existsSync("/etc/debian_version"),
      resolveCommand: (name) =>
        Effect.sync(() =>
          Option.fromNullable(
            directories.map((d) => path.join(d, name)).find((candidate) => {
              try {
                fs.accessSync(candidate, fs.constants.X_OK)
                return fs.statSync(candidate).isFile()
              } catch {
                return false
              }
            }),
          ),
        ),
      processName: (pid) =>
        Effect.sync(() => {
          try {
            return Option.some(fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim())
          } catch {
            return Option.none()
          }
        }),
    }
  }),
)

/** How to run a command: extra environment variables, and a file that receives its output (appended). */
export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>
  readonly logFile?: string
  /** Said to the user when the command fails. */
  readonly hint?: string
}

/** Runs host commands; a test passes a fake that records the command sequence. */
export class CommandRunner extends Context.Tag("@swe-gym/sandbox/CommandRunner")<CommandRunner, {
  /** Runs to completion; fails with CommandFailed on a non-zero exit. Interrupting it stops the command (SIGTERM, then SIGKILL). */
  readonly run: (
    command: string,
    args: ReadonlyArray<string>,
    options?: RunOptions,
  ) => Effect.Effect<{ readonly outputTail: string }, CommandFailed>
  /** Starts a command in its own session, output appended to logFile, not waited for: it outlives this process. */
  readonly startDetached: (command: string, args: ReadonlyArray<string>, logFile: string) => Effect.Effect<number, CommandFailed>
}>() {}

const tailBytes = 6_000
const commandLine = (command: string, args: ReadonlyArray<string>) => [command, ...args].join(" ")

/** How the live CommandRunner stops an interrupted command. */
export interface CommandRunnerSettings {
  /** Time between SIGTERM and SIGKILL (to the command's process group). */
  readonly killGrace: Duration.DurationInput
}

// Runs CMD ARGS… in a new session with its output appended to LOG and its input from /dev/null, so no pipe and no
// process group ties it to us, and prints its pid. Arguments arrive as positional parameters: nothing is quoted by hand.
// setsid execs CMD in place (the background child is no group leader), so $! is the daemon's own pid.
const detachScript = [
  'log=$1; shift',
  'command -v "$1" >/dev/null 2>&1 || { echo "$1: command not found" >&2; exit 127; }',
  'mkdir -p "$(dirname "$log")" && : >>"$log" || exit 1',
  'nohup setsid "$@" >>"$log" 2>&1 </dev/null &',
  'echo $!',
].join("\n")

/** Pairs each chunk of a byte stream with its text (decoded across chunk boundaries). */
const withText = <E>(bytes: Stream.Stream<Uint8Array, E>) =>
  Stream.suspend(() => {
    const decoder = new TextDecoder()
    return Stream.map(bytes, (chunk) => [chunk, decoder.decode(chunk, { stream: true })] as const)
  })

const platformReason = (error: PlatformError) => error.description ?? error.message

/** A CommandRunner on @effect/platform's CommandExecutor; log files are written through FileSystem. */
export const makeCommandRunner = (settings: CommandRunnerSettings = { killGrace: "15 seconds" }) =>
  Effect.gen(function* () {
    const executor = yield* CommandExecutor.CommandExecutor
    const fileSystem = yield* FileSystem.FileSystem

    // SIGTERM, then SIGKILL after the grace period; returns once the process is gone, so the caller's cleanup (unmounting,
    // removing directories) does not race the command's own exit handlers.
    const stop = (child: CommandExecutor.Process) =>
      Effect.gen(function* () {
        if (!(yield* child.isRunning)) return
        const stopped = yield* child.kill("SIGTERM").pipe(Effect.interruptible, Effect.timeout(settings.killGrace), Effect.option)
        if (Option.isNone(stopped)) yield* child.kill("SIGKILL")
      }).pipe(Effect.ignore)

    const run: CommandRunner["Type"]["run"] = (command, args, options = {}) =>
      Effect.suspend(() => {
        const shown = commandLine(command, args)
        let tail = ""
        const failed = (reason: string, exitCode?: number) =>
          new CommandFailed({
            command: shown,
            reason,
            outputTail: tail,
            hint: options.hint ?? "See the output above.",
            ...(exitCode === undefined ? {} : { exitCode }),
            ...(options.logFile === undefined ? {} : { logFile: options.logFile }),
          })
        return Effect.gen(function* () {
          const logFile = options.logFile
          const log = logFile === undefined
            ? undefined
            : yield* fileSystem.open(logFile, { flag: "a" }).pipe(Effect.mapError((e) => failed(`cannot append to its log ${logFile}: ${platformReason(e)}`)))
          // The log is the user's copy of the output: a write that fails there does not fail the command.
          const append = (bytes: Uint8Array) => (log === undefined ? Effect.void : Effect.ignore(log.writeAll(bytes)))
          yield* append(new TextEncoder().encode(`\n$ ${shown}\n`))
          const child = yield* executor.start(
            Command.make(command, ...args).pipe(Command.env(options.env ?? {}), Command.stdin(Stream.empty)),
          )
          const output = Stream.merge(withText(child.stdout), withText(child.stderr)).pipe(
            Stream.runForEach(([bytes, text]) => {
              tail = (tail + text).slice(-tailBytes)
              return append(bytes)
            }),
          )
          const [, code] = yield* Effect.all([output, child.exitCode], { concurrency: 2 }).pipe(Effect.ensuring(stop(child)))
          if (code !== 0) return yield* failed(`exit code ${code}`, code)
          return { outputTail: tail }
        }).pipe(
          Effect.scoped,
          Effect.catchTags({ SystemError: (e) => failed(platformReason(e)), BadArgument: (e) => failed(platformReason(e)) }),
        )
      })

    const startDetached: CommandRunner["Type"]["startDetached"] = (command, args, logFile) => {
      const failed = (reason: string, outputTail = "", exitCode?: number) =>
        new CommandFailed({
          command: commandLine(command, args),
          reason,
          logFile,
          outputTail,
          hint: `Check that ${command} is installed and that ${logFile} is writable.`,
          ...(exitCode === undefined ? {} : { exitCode }),
        })
      return Effect.gen(function* () {
        const child = yield* executor.start(
          Command.make("sh", "-c", detachScript, "sh", logFile, command, ...args).pipe(Command.stdin(Stream.empty)),
        )
        const text = (bytes: Stream.Stream<Uint8Array, PlatformError>) => bytes.pipe(Stream.decodeText(), Stream.mkString)
        const [stdout, stderr, code] = yield* Effect.all([text(child.stdout), text(child.stderr), child.exitCode], { concurrency: 3 })
        if (code !== 0) return yield* failed(`exit code ${code}`, stderr, code)
        const pid = /^\d+$/.test(stdout.trim()) ? Number(stdout.trim()) : 0
        if (pid <= 0) return yield* failed(`no pid in the launcher's output ${JSON.stringify(stdout)}`, stderr)
        return pid
      }).pipe(
        Effect.scoped,
        Effect.catchTags({ SystemError: (e) => failed(platformReason(e)), BadArgument: (e) => failed(platformReason(e)) }),
      )
    }

    return CommandRunner.of({ run, startDetached })
  })

/** The CommandRunner on the CommandExecutor and FileSystem it is given (NodeContext provides both). */
export const CommandRunnerLive: Layer.Layer<CommandRunner, never, CommandExecutor.CommandExecutor | FileSystem.FileSystem> = Layer.effect(
  CommandRunner,
  makeCommandRunner(),
)

/** The live machine: system facts, command runner, Node's command executor and file system. */
export const HostLive: Layer.Layer<SystemFacts | CommandRunner | CommandExecutor.CommandExecutor | FileSystem.FileSystem> = CommandRunnerLive.pipe(
  Layer.provideMerge(NodeCommandExecutor.layer),
  Layer.provideMerge(NodeFileSystem.layer),
  Layer.merge(SystemFactsLive),
)

// ── log files ────────────────────────────────────────────────────────────────────────────────────────────────────────

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** Last `lines` lines of a text file ("" when it cannot be read). */
export const readTail = (file: string, lines = 30) =>
  Effect.gen(function* () {
    const fileSystem = yield* FileSystem.FileSystem
    const text = yield* fileSystem.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
    return text.trimEnd().split("\n").slice(-lines).join("\n")
  })

// ── ensureEngine ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** Where ensureEngine keeps dockerd's files, and how long it waits. Defaults are Debian's docker.io paths. */
export interface EngineStartOptions {
  /** The only socket swe-gym starts dockerd on; a DOCKER_HOST naming another socket is never started, only pinged. */
  readonly managedSocket: string
  /** dockerd's stdout and stderr. */
  readonly logFile: string
  /** apt-get's output when it installs docker.io. */
  readonly installLogFile: string
  readonly pidFile: string
  readonly containerdPidFile: string
  readonly startTimeout: Duration.DurationInput
  readonly pollInterval: Duration.DurationInput
}

/** The defaults of EngineStartOptions. */
export const defaultEngineStartOptions: EngineStartOptions = {
  managedSocket: DefaultSocketPath,
  logFile: "/var/log/swe-gym-dockerd.log",
  installLogFile: "/var/log/swe-gym-docker-install.log",
  pidFile: "/var/run/docker.pid",
  containerdPidFile: "/var/run/docker/containerd/containerd.pid",
  startTimeout: "60 seconds",
  pollInterval: "500 millis",
}

const scope = "engine"

const howToGetAnEngine =
  "Start one (Docker Desktop, or `sudo systemctl start docker` on Linux), or set DOCKER_HOST to a running engine " +
  "(e.g. DOCKER_HOST=tcp://HOST:2375), or run `sudo npm run setup` on Debian/Ubuntu to let swe-gym install Debian's docker.io and start dockerd."

/** The hint of EngineUnavailable when this process may not install or start the engine itself. */
export const unavailableHint = (
  endpoint: EngineEndpoint,
  facts: { readonly isRoot: boolean; readonly isDebianLike: boolean },
  failure: EngineUnreachable,
): string => {
  const cause = `(${failure.reason})`
  if (endpoint._tag === "Tcp") {
    return `${cause} Check that the engine at ${describeEndpoint(endpoint)} runs and is reachable from here, or unset DOCKER_HOST to use the local socket ${DefaultSocketPath}.`
  }
  if (endpoint.socketPath !== DefaultSocketPath && facts.isRoot && facts.isDebianLike) {
    return `${cause} DOCKER_HOST names ${describeEndpoint(endpoint)}, where swe-gym never starts an engine itself: start the engine there, or unset DOCKER_HOST so swe-gym uses (and, as root on Debian, starts) ${DefaultSocketPath}.`
  }
  if (failure.code === "EACCES") {
    return `${cause} The socket exists but this user may not use it: add yourself to the docker group (\`sudo usermod -aG docker $USER\`, then log in again), or run as root.`
  }
  const why = !facts.isRoot
    ? "swe-gym did not start one because this process is not root."
    : "swe-gym did not start one because this is not a Debian-like system (no /etc/debian_version), so it cannot install Debian's docker.io."
  return `${cause} ${why} ${howToGetAnEngine}`
}

type PidFileState = { readonly _tag: "Running"; readonly pid: number } | { readonly _tag: "Clear" }

/** Removes a pid file left by a killed daemon (its pid dead or reused by another process); reports a live one. */
const clearStalePidFile = Effect.fn("sandbox.clearStalePidFile")(function* (file: string, daemon: string) {
  const fileSystem = yield* FileSystem.FileSystem
  const facts = yield* SystemFacts
  const content = yield* fileSystem.readFileString(file).pipe(Effect.option)
  if (Option.isNone(content)) return { _tag: "Clear" } as PidFileState
  const pid = Number.parseInt(content.value.trim(), 10)
  const name = Number.isInteger(pid) && pid > 0 ? yield* facts.processName(pid) : Option.none<string>()
  if (Option.isSome(name) && name.value === daemon) return { _tag: "Running", pid } as PidFileState
  const why = Option.isSome(name) ? `pid ${pid} is now "${name.value}"` : `pid ${content.value.trim()} is not running`
  yield* reportProgress(scope, `removing stale ${file} (${why})`)
  yield* fileSystem.remove(file, { force: true }).pipe(Effect.ignore)
  return { _tag: "Clear" } as PidFileState
})

/** Installs Debian's docker.io with apt-get. */
const installDockerIo = Effect.fn("sandbox.installDockerIo")(function* (logFile: string) {
  const runner = yield* CommandRunner
  const hint = `apt-get could not install docker.io; check network access to the Debian mirror (/etc/apt/sources.list*) and the log ${logFile}.`
  const env = { DEBIAN_FRONTEND: "noninteractive" }
  yield* runner.run("apt-get", ["update"], { env, logFile, hint }).pipe(withHeartbeat(scope, "apt-get update"))
  yield* runner
    .run("apt-get", ["install", "-y", "docker.io"], { env, logFile, hint })
    .pipe(withHeartbeat(scope, "apt-get install docker.io (about a minute)"))
})

/**
 * Makes sure a Docker engine answers: pings it at DOCKER_HOST or /var/run/docker.sock; if none answers and this process is
 * root on a Debian-like system, installs docker.io (when dockerd is missing), starts dockerd in the background and waits.
 */
export const ensureEngine = Effect.fn("sandbox.ensureEngine")(function* (overrides: Partial<EngineStartOptions> = {}) {
  const options = { ...defaultEngineStartOptions, ...overrides }
  const endpoint = yield* engineEndpoint
  const where = describeEndpoint(endpoint)
  const started = yield* Clock.currentTimeMillis
  const elapsed = Clock.currentTimeMillis.pipe(Effect.map((now) => seconds(now - started)))

  yield* reportProgress(scope, `pinging the Docker engine at ${where}`)
  const first = yield* Effect.either(pingEngine(endpoint))
  if (Either.isRight(first)) {
    yield* reportProgress(scope, `Docker ${first.right.version} (API ${first.right.apiVersion}) answers at ${where}`)
    return { endpoint: where, ...first.right, started: false } satisfies EngineInfo
  }

  const facts = yield* SystemFacts
  if (
    endpoint._tag === "Tcp" || endpoint.socketPath !== options.managedSocket || !facts.isRoot || !facts.isDebianLike ||
    first.left.code === "EACCES"
  ) {
    return yield* new EngineUnavailable({ socket: where, hint: unavailableHint(endpoint, facts, first.left) })
  }
  yield* reportProgress(scope, `no answer (${first.left.reason}); this is root on a Debian-like system, so starting dockerd`)

  const fileSystem = yield* FileSystem.FileSystem
  yield* fileSystem.makeDirectory(path.dirname(options.logFile), { recursive: true }).pipe(Effect.ignore)
  let dockerd = yield* facts.resolveCommand("dockerd")
  if (Option.isNone(dockerd)) {
    yield* fileSystem.makeDirectory(path.dirname(options.installLogFile), { recursive: true }).pipe(Effect.ignore)
    yield* reportProgress(scope, `dockerd is not installed: installing Debian's docker.io (apt-get log: ${options.installLogFile})`)
    yield* installDockerIo(options.installLogFile)
    dockerd = yield* facts.resolveCommand("dockerd")
  }
  if (Option.isNone(dockerd)) {
    return yield* new EngineUnavailable({
      socket: where,
      hint: `docker.io was installed but no dockerd is on PATH; see ${options.installLogFile}. ${howToGetAnEngine}`,
    })
  }

  yield* clearStalePidFile(options.containerdPidFile, "containerd")
  const daemon = yield* clearStalePidFile(options.pidFile, "dockerd")
  let pid: number
  if (daemon._tag === "Running") {
    pid = daemon.pid
    yield* reportProgress(scope, `dockerd already runs (pid ${pid}) but does not answer yet; waiting for it`)
  } else {
    const args: Array<string> = []
    if (endpoint.socketPath !== DefaultSocketPath) args.push("--host", where)
    if (options.pidFile !== defaultEngineStartOptions.pidFile) args.push("--pidfile", options.pidFile)
    const runner = yield* CommandRunner
    pid = yield* runner.startDetached(dockerd.value, args, options.logFile)
    yield* reportProgress(scope, `started ${[dockerd.value, ...args].join(" ")} (pid ${pid}, log ${options.logFile}); waiting for it to answer`)
  }

  const startFailed = (reason: string) =>
    readTail(options.logFile).pipe(
      Effect.flatMap((logTail) =>
        Effect.fail(
          new EngineStartFailed({
            socket: where,
            reason,
            logFile: options.logFile,
            logTail,
            hint: `Read ${options.logFile}; a dockerd inside a container needs --privileged. ${howToGetAnEngine}`,
          }),
        ),
      ),
    )
  // Each attempt: did dockerd exit? Otherwise ping it.
  const attempt = Effect.gen(function* () {
    const alive = yield* facts.processName(pid)
    if (Option.isNone(alive)) return yield* Effect.fail("exited" as const)
    return yield* pingEngine(endpoint)
  })
  const answered = yield* attempt.pipe(
    Effect.retry({ schedule: Schedule.spaced(options.pollInterval), while: (e) => e !== "exited" }),
    withHeartbeat(scope, "waiting for dockerd to answer", "5 seconds"),
    Effect.timeoutFail({ duration: options.startTimeout, onTimeout: () => "timeout" as const }),
    Effect.catchAll((e) =>
      startFailed(
        e === "exited"
          ? `dockerd (pid ${pid}) exited`
          : e === "timeout"
            ? `no answer within ${Duration.format(Duration.decode(options.startTimeout))}`
            : e.reason,
      ),
    ),
  )
  yield* reportProgress(scope, `Docker ${answered.version} (API ${answered.apiVersion}) answers at ${where} after ${yield* elapsed}`)
  return { endpoint: where, ...answered, started: true } satisfies EngineInfo
})
