// One Docker container behind the Container interface: exec with timeouts and capped output, tar copy in and out, removal.
// Commands go through the container's exec session (exec-session.ts: one long-lived exec, no engine round trip per
// command) when it has one, else each is a plain Docker exec as described here; both end in the same checks below.
//
// Timeouts: Docker has no API to kill one exec, so every command runs under coreutils `timeout -s KILL <t>` inside the
// container (which SIGKILLs the command's whole process group, itself included: the exec then ends with 137), and a
// host-side backstop kills the whole container when the exec has not finished `BackstopGraceMs` after its timeout
// (a `timeout` that does not work, a process stuck in the kernel, a hung engine). Either way exec fails with ExecTimeout.
import { posix } from "node:path"
import type { Readable } from "node:stream"
import type Docker from "dockerode"
import { Clock, Duration, Effect, Either, Option, Ref, Schema } from "effect"
import {
  ContainerDied,
  DefaultMaxOutputBytes,
  EngineError,
  ExecTimeout,
  FileNotFound,
  InvalidPath,
} from "../sandbox.js"
import type { Container, ContainerSpec, ExecOptions, ExecResult, FileEntry } from "../sandbox.js"
import { archiveFileName, packDirectory, packFiles, readFirstEntry } from "./archive.js"
import type { ArchiveFile } from "./archive.js"
import { callEngine, engineFailure, isNoSuchContainer, isNotRunning, toEngineError } from "./engine-failure.js"
import type { EngineFailure } from "./engine-failure.js"
import { CappedCapture, FrameDemuxer } from "./exec-output.js"
import { ExecSession, type SessionReply } from "./exec-session.js"

/** How long after its timeout an exec may still run before the backstop kills its container. */
export const BackstopGraceMs = 5_000

/**
 * How long a container is watched after an exec ends SIGKILLed (137) or without an exit code, before its command's exit
 * is taken as the command's own: the engine can end the exec a moment before it shows the container stopping.
 */
export const DeathWatchMs = 1_500
const DeathWatchPollMs = 100

/** How long a new exec session may take to say READY (Python's start-up in a busy container) before plain execs are used. */
export const SessionReadyTimeoutMs = 15_000
/** Sessions opened per container at most (a command can kill the server; after this many, plain execs only). */
const MaxSessionsPerContainer = 5

/** How a container runs commands: through an exec session when it can (the default), or always as plain Docker execs. */
export interface ExecSettings {
  readonly session: boolean
}

const ExecState = Schema.Struct({ Running: Schema.Boolean, ExitCode: Schema.NullOr(Schema.Number) })

const ContainerState = Schema.Struct({
  State: Schema.Struct({
    Status: Schema.String,
    Running: Schema.Boolean,
    OOMKilled: Schema.optional(Schema.Boolean),
    Dead: Schema.optional(Schema.Boolean),
    ExitCode: Schema.optional(Schema.Number),
  }),
})

const decodeExecState = Schema.decodeUnknown(ExecState)
const decodeContainerState = Schema.decodeUnknown(ContainerState)

// Exec measures real time (a container's clock does not stop for a TestClock): timeouts and durations use a live Clock.
const liveClock = Clock.make()

const DiedHint = "the container cannot run commands any more; create a new one (check memory limits if OOM-killed)"

/** Shell-quote an argv for error messages. */
const showCommand = (argv: ReadonlyArray<string>): string =>
  argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ")

/** KEY=value pairs as Docker wants them. */
export const envList = (env: Readonly<Record<string, string>> | undefined): Array<string> =>
  env === undefined ? [] : Object.entries(env).map(([k, v]) => `${k}=${v}`)

const toBuffer = (content: string | Uint8Array): Buffer =>
  typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content.buffer, content.byteOffset, content.byteLength)

/** The Container API over one Docker container (its removal shared with the scope through `destroyed`). */
export const makeContainer = (
  docker: Docker,
  id: string,
  spec: ContainerSpec,
  destroyed: Ref.Ref<boolean>,
  settings: ExecSettings = { session: true },
): Container => {
  const handle = docker.getContainer(id)

  // The exec session (exec-session.ts), opened by the first exec that can use it and reopened if a command killed it.
  let session: ExecSession | undefined
  let opening: Promise<ExecSession | string> | undefined
  let sessionsOpened = 0
  let sessionUnavailable = !settings.session

  /** The session for an exec as `user`, if one is (or can be) running; None means a plain Docker exec. */
  const sessionFor = (user: string | undefined): Effect.Effect<Option.Option<ExecSession>> =>
    Effect.suspend(() => {
      if (sessionUnavailable || user !== spec.user) return Effect.succeed(Option.none())
      if (session !== undefined && !session.closed) return Effect.succeed(Option.some(session))
      if (opening === undefined) {
        if (sessionsOpened >= MaxSessionsPerContainer) {
          sessionUnavailable = true
          return Effect.succeed(Option.none())
        }
        sessionsOpened++
        opening = ExecSession.open(docker, id, { user: spec.user, workdir: spec.workdir, readyTimeoutMs: SessionReadyTimeoutMs }).then((opened) => {
          opening = undefined
          if (typeof opened === "string") sessionUnavailable = true
          else session = opened
          return opened
        })
      }
      const pending = opening
      return Effect.promise(() => pending).pipe(
        Effect.tap((opened) => typeof opened === "string" ? Effect.logDebug(`container ${id}: plain execs only (${opened})`) : Effect.void),
        Effect.map((opened) => (typeof opened === "string" ? Option.none() : Option.some(opened))),
      )
    })

  /** ContainerDied when the engine says the container is gone or stopped; EngineError otherwise. */
  const classify = (operation: string) => (f: EngineFailure): Effect.Effect<never, EngineError | ContainerDied> =>
    isNoSuchContainer(f)
      ? Effect.fail(new ContainerDied({ containerId: id, operation, state: "removed", hint: DiedHint }))
      : isNotRunning(f)
        ? stateOf(operation).pipe(Effect.flatMap(Effect.fail))
        : Effect.fail(toEngineError(operation, id, f))

  /** The container's state as a ContainerDied (used once we know it is not running). */
  const stateOf = (operation: string): Effect.Effect<ContainerDied, EngineError> =>
    callEngine(() => handle.inspect()).pipe(
      Effect.flatMap((raw) => decodeContainerState(raw).pipe(Effect.orDie)),
      Effect.map(({ State }) =>
        new ContainerDied({
          containerId: id,
          operation,
          state: State.Status,
          hint: DiedHint,
          ...(State.ExitCode === undefined ? {} : { exitCode: State.ExitCode }),
          ...(State.OOMKilled === undefined ? {} : { oomKilled: State.OOMKilled }),
        })),
      Effect.catchAll((f) =>
        isNoSuchContainer(f)
          ? Effect.succeed(new ContainerDied({ containerId: id, operation, state: "removed", hint: DiedHint }))
          : Effect.fail(toEngineError(operation, id, f))),
    )

  const isRunning: Effect.Effect<boolean> = callEngine(() => handle.inspect()).pipe(
    Effect.flatMap((raw) => decodeContainerState(raw)),
    Effect.map(({ State }) => State.Running && State.Status === "running" && State.Dead !== true),
    Effect.orElseSucceed(() => false),
  )

  /** Whether the container still runs `DeathWatchMs` after an exec was SIGKILLed (false as soon as it is seen stopping). */
  const stillRunningAfterKill: Effect.Effect<boolean> = Effect.gen(function* () {
    const until = (yield* Clock.currentTimeMillis) + DeathWatchMs
    while (yield* isRunning) {
      if ((yield* Clock.currentTimeMillis) >= until) return true
      yield* Effect.sleep(Duration.millis(DeathWatchPollMs))
    }
    return false
  })

  /** The parts of an exec both paths share: the command line, the limit, the captures. */
  interface ExecPlan {
    readonly argv: ReadonlyArray<string>
    readonly command: string
    readonly bounded: boolean
    readonly limit: number
    readonly stdout: CappedCapture
    readonly stderr: CappedCapture
    readonly headBytes: number
    readonly tailBytes: number
    readonly stdin: Buffer | undefined
    readonly user: string | undefined
    readonly workdir: string | undefined
  }

  /** What running the command gave: its exit code (null: none reported), whether our own timeout killed it, or no end in time. */
  type Ended = { readonly _tag: "Ended"; readonly code: number | null; readonly ourTimeout: boolean; readonly durationMs: number } | { readonly _tag: "Backstop" }

  /** A plain Docker exec: create, start and attach, drain, inspect until it exited. */
  const plainExec = (plan: ExecPlan, opts: ExecOptions): Effect.Effect<Ended, EngineError | ContainerDied> =>
    Effect.gen(function* () {
      const wrapped = plan.bounded ? ["timeout", "-s", "KILL", `${plan.limit / 1000}`, ...plan.argv] : [...plan.argv]
      const demux = new FrameDemuxer((stream, payload) => {
        if (stream === "stdout") plan.stdout.push(payload)
        else if (stream === "stderr") plan.stderr.push(payload)
      })
      const stdin = plan.stdin
      const execHandle = yield* callEngine(() =>
        handle.exec({
          Cmd: wrapped,
          AttachStdin: stdin !== undefined,
          AttachStdout: true,
          AttachStderr: true,
          Tty: false,
          Env: envList(opts.env),
          ...(plan.user === undefined ? {} : { User: plan.user }),
          ...(plan.workdir === undefined ? {} : { WorkingDir: plan.workdir }),
        })).pipe(Effect.catchAll(classify("exec.create")))

      const startedAt = yield* Clock.currentTimeMillis
      const socket = yield* callEngine(() =>
        execHandle.start({ hijack: stdin !== undefined, stdin: stdin !== undefined, Detach: false, Tty: false })
      ).pipe(Effect.catchAll(classify("exec.start")))

      // Drain the attach stream to its end (all writers of stdout/stderr gone), capturing within the caps.
      const drained = Effect.async<void, EngineError>((resume) => {
        let settled = false
        const settle = (result: Effect.Effect<void, EngineError>) => {
          if (settled) return
          settled = true
          resume(result)
        }
        socket.on("data", (chunk: Buffer) => demux.push(chunk))
        socket.on("end", () => settle(Effect.void))
        socket.on("close", () => settle(Effect.void))
        socket.on("error", (err: unknown) => settle(Effect.fail(toEngineError("exec.stream", id, engineFailure(err)))))
        if (stdin !== undefined) socket.end(stdin)
        return Effect.sync(() => socket.destroy())
      })

      // The stream can end before the process does (it may close its outputs): poll until the engine says it exited.
      const inspectExec = callEngine(() => execHandle.inspect()).pipe(
        Effect.catchAll(classify("exec.inspect")),
        Effect.flatMap((raw) => decodeExecState(raw).pipe(Effect.orDie)),
      )
      const pollExit = (delayMs: number): Effect.Effect<number | null, EngineError | ContainerDied> =>
        Effect.flatMap(inspectExec, (s) =>
          s.Running
            ? Effect.zipRight(Effect.sleep(Duration.millis(delayMs)), pollExit(Math.min(delayMs * 1.5, 250)))
            : Effect.succeed(s.ExitCode))

      const finished = Effect.zipRight(drained, pollExit(10))
      const outcome = plan.bounded
        ? yield* Effect.timeoutOption(finished, Duration.millis(plan.limit + BackstopGraceMs))
        : Option.some(yield* finished)
      if (Option.isNone(outcome)) return { _tag: "Backstop" } satisfies Ended
      const durationMs = (yield* Clock.currentTimeMillis) - startedAt
      // `timeout -s KILL` kills its own process group, itself included: the exec then reports 137 after the limit.
      const code = outcome.value
      return { _tag: "Ended", code, ourTimeout: plan.bounded && code === 137 && durationMs >= plan.limit, durationMs } satisfies Ended
    })

  /** The command through the exec session; None when the server could not start it (a plain exec then runs it). */
  const sessionExec = (s: ExecSession, plan: ExecPlan, opts: ExecOptions): Effect.Effect<Option.Option<Ended>> =>
    Effect.gen(function* () {
      const startedAt = yield* Clock.currentTimeMillis
      const request = {
        argv: plan.argv,
        cwd: opts.workdir,
        env: opts.env,
        timeoutSeconds: plan.bounded ? plan.limit / 1000 : undefined,
        headBytes: plan.headBytes,
        tailBytes: plan.tailBytes,
        stdin: plan.stdin,
      }
      const replied = Effect.async<SessionReply>((resume) => {
        const kill = s.run(request, (reply) => resume(Effect.succeed(reply)))
        return Effect.sync(kill)
      })
      const outcome = plan.bounded ? yield* Effect.timeoutOption(replied, Duration.millis(plan.limit + BackstopGraceMs)) : Option.some(yield* replied)
      if (Option.isNone(outcome)) return Option.some<Ended>({ _tag: "Backstop" })
      const durationMs = (yield* Clock.currentTimeMillis) - startedAt
      const reply = outcome.value
      switch (reply._tag) {
        case "NotStarted":
          yield* Effect.logDebug(`container ${id}: the session could not start ${plan.command} (${reply.reason}); running it as a plain exec`)
          return Option.none()
        case "SessionEnded":
          // The server is gone with the command (killed by it, by the OOM killer, or the container stopped): the command
          // ends as killed, and the death watch below tells the cases apart.
          plan.stderr.push(Buffer.from(`[swe-gym: the command's exec session ended: ${reply.reason}]\n`))
          return Option.some<Ended>({ _tag: "Ended", code: 137, ourTimeout: false, durationMs })
        case "Finished":
          plan.stdout.restore(reply.stdout.head, reply.stdout.tail, reply.stdout.total)
          plan.stderr.restore(reply.stderr.head, reply.stderr.tail, reply.stderr.total)
          // A process outside the command's group still holds its output past the limit: as for a plain exec whose
          // stream does not end, only killing the container stops it.
          if (reply.escaped) return Option.some<Ended>({ _tag: "Backstop" })
          return Option.some<Ended>({ _tag: "Ended", code: reply.exitCode, ourTimeout: reply.timedOut, durationMs })
      }
    })

  const exec = Effect.fn("sandbox.exec")(function* (cmd: string | ReadonlyArray<string>, opts: ExecOptions) {
    const argv = typeof cmd === "string" ? ["/bin/sh", "-c", cmd] : [...cmd]
    const command = showCommand(argv)
    yield* Effect.annotateCurrentSpan({ "sandbox.container": id, "sandbox.command": command })
    const timeoutMs = Duration.toMillis(Duration.decode(opts.timeout))
    // `timeout 0` would mean "no timeout": the smallest real limit is 1 ms.
    const cap = Math.max(opts.maxOutputBytes ?? DefaultMaxOutputBytes, 0)
    const headBytes = Math.floor(cap / 4)
    const plan: ExecPlan = {
      argv,
      command,
      bounded: Number.isFinite(timeoutMs),
      limit: Math.max(timeoutMs, 1),
      stdout: new CappedCapture(headBytes, cap - headBytes),
      stderr: new CappedCapture(headBytes, cap - headBytes),
      headBytes,
      tailBytes: cap - headBytes,
      stdin: opts.stdin === undefined ? undefined : toBuffer(opts.stdin),
      user: opts.user ?? spec.user,
      workdir: opts.workdir ?? spec.workdir,
    }

    const viaSession = yield* sessionFor(plan.user)
    yield* Effect.annotateCurrentSpan({ "sandbox.exec_session": Option.isSome(viaSession) })
    const fromSession = Option.isSome(viaSession) ? yield* sessionExec(viaSession.value, plan, opts) : Option.none<Ended>()
    const ended = Option.isSome(fromSession) ? fromSession.value : yield* plainExec(plan, opts)

    const timedOut = (containerKilled: boolean) =>
      new ExecTimeout({
        containerId: id,
        command,
        timeoutMs: plan.limit,
        stdout: plan.stdout.text(),
        stderr: plan.stderr.text(),
        containerKilled,
      })

    if (ended._tag === "Backstop") {
      // Backstop: the in-container kill did not end the exec. Killing the container is the only sure stop.
      yield* callEngine(() => handle.kill({ signal: "SIGKILL" })).pipe(Effect.ignore)
      return yield* Effect.fail(timedOut(true))
    }
    const { code, ourTimeout, durationMs } = ended
    if (code === null || code === 137) {
      // Killed: by our timeout, by the OOM killer, or the whole container died underneath the command. The engine can
      // report the exec's end a moment before the container's: unless it was our timeout, watch the container briefly.
      if (!(yield* (ourTimeout ? isRunning : stillRunningAfterKill))) return yield* Effect.fail(yield* stateOf("exec"))
    }
    if (code === null) return yield* Effect.fail(yield* stateOf("exec"))
    if (ourTimeout) return yield* Effect.fail(timedOut(false))

    const result: ExecResult = {
      exitCode: code,
      stdout: plan.stdout.text(),
      stderr: plan.stderr.text(),
      stdoutTruncated: plan.stdout.truncated,
      stderrTruncated: plan.stderr.truncated,
      stdoutBytes: plan.stdout.totalBytes,
      stderrBytes: plan.stderr.totalBytes,
      durationMs,
    }
    return result
  }, Effect.withClock(liveClock))

  const putArchive = Effect.fn("sandbox.putArchive")(function* (archive: Uint8Array | Readable, destPath: string) {
    const body = archive instanceof Uint8Array ? toBuffer(archive) : archive
    yield* callEngine(() => handle.putArchive(body, { path: destPath })).pipe(
      Effect.catchAll((f): Effect.Effect<never, EngineError | ContainerDied | FileNotFound> =>
        f.statusCode === 404 && !isNoSuchContainer(f)
          ? Effect.fail(
            new FileNotFound({
              containerId: id,
              path: destPath,
              hint: "the destination directory must exist (create it first, or use copyFiles, which creates it)",
            }),
          )
          : classify("putArchive")(f)),
    )
  })

  const copyFiles = Effect.fn("sandbox.copyFiles")(function* (files: ReadonlyArray<FileEntry>, destDir: string) {
    const entries: Array<ArchiveFile> = []
    for (const f of files) {
      const name = archiveFileName(destDir, f.path)
      if (Either.isLeft(name)) {
        return yield* Effect.fail(new InvalidPath({ path: f.path, destDir, hint: name.left }))
      }
      entries.push({ name: name.right, content: toBuffer(f.content), mode: f.mode ?? 0o644 })
    }
    const archive = yield* Effect.promise(() => packFiles(entries))
    // Extracting at / with full paths makes Docker create any missing parent directory.
    yield* putArchive(archive, "/").pipe(
      Effect.catchTag("FileNotFound", () => Effect.die(new Error("putArchive to / reported a missing directory"))),
    )
  })

  const readFile = Effect.fn("sandbox.readFile")(function* (path: string) {
    let current = path
    for (let hops = 0; hops < 16; hops++) {
      const at = current
      const source = yield* callEngine(() => handle.getArchive({ path: at })).pipe(
        Effect.catchAll((f): Effect.Effect<never, EngineError | ContainerDied | FileNotFound> =>
          f.statusCode === 404 && !isNoSuchContainer(f)
            ? Effect.fail(new FileNotFound({ containerId: id, path, hint: `no such file: ${at}` }))
            : classify("readFile")(f)),
      )
      const entry = yield* Effect.tryPromise({ try: () => readFirstEntry(source), catch: (err) => toEngineError("readFile.extract", id, engineFailure(err)) })
      switch (entry._tag) {
        case "File":
          return entry.content
        case "Symlink":
          current = posix.resolve(posix.dirname(at), entry.target)
          continue
        case "Other":
          return yield* Effect.fail(
            new FileNotFound({ containerId: id, path, hint: `${at} is a ${entry.type}, not a regular file` }),
          )
      }
    }
    return yield* Effect.fail(new FileNotFound({ containerId: id, path, hint: "too many levels of symbolic links" }))
  })

  const copyDirectory = Effect.fn("sandbox.copyDirectory")(function* (hostDir: string, destDir: string) {
    const name = archiveFileName("/", destDir.replace(/^\/+/, ""))
    if (!posix.isAbsolute(destDir) || Either.isLeft(name)) {
      return yield* Effect.fail(new InvalidPath({ path: hostDir, destDir, hint: "the destination must be an absolute path other than /" }))
    }
    const archive = packDirectory(hostDir, name.right)
    const put = yield* Effect.either(putArchive(archive.stream, "/"))
    const unreadable = archive.failure()
    if (unreadable !== undefined) {
      return yield* Effect.fail(new InvalidPath({ path: hostDir, destDir, hint: `the host directory could not be read: ${unreadable.message}` }))
    }
    if (Either.isLeft(put)) {
      if (put.left._tag === "FileNotFound") return yield* Effect.die(new Error("putArchive to / reported a missing directory"))
      return yield* Effect.fail(put.left)
    }
    return archive.bytes()
  })

  const commit = Effect.fn("sandbox.commit")(function* (image: { readonly repo: string; readonly tag: string; readonly changes: ReadonlyArray<string> }) {
    const raw = yield* callEngine(() => handle.commit({ repo: image.repo, tag: image.tag, changes: [...image.changes], pause: true })).pipe(
      Effect.catchAll(classify("commit")),
    )
    const committed = yield* Schema.decodeUnknown(Schema.Struct({ Id: Schema.String }))(raw).pipe(
      Effect.mapError((e) => toEngineError("commit", id, { detail: `unexpected answer: ${e.message}`, statusCode: undefined, code: undefined })),
    )
    return committed.Id
  })

  return {
    id,
    image: spec.image,
    exec,
    putArchive,
    copyFiles,
    copyDirectory,
    commit,
    readFile,
    destroy: removeContainer(docker, id, destroyed),
  }
}

/** Force-remove a container once; a container already gone counts as removed. Failures are logged, never raised. */
export const removeContainer = (docker: Docker, id: string, destroyed: Ref.Ref<boolean>): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (yield* Ref.getAndSet(destroyed, true)) return
    yield* callEngine(() => docker.getContainer(id).remove({ force: true, v: true })).pipe(
      Effect.catchAll((f) =>
        isNoSuchContainer(f) || (f.statusCode === 409 && /already in progress/i.test(f.detail))
          ? Effect.void
          : Effect.logWarning(`could not remove container ${id}: ${f.detail}; \`swe-gym-docker cleanup\` removes leftovers`)),
    )
  }).pipe(Effect.withSpan("sandbox.destroy", { attributes: { "sandbox.container": id } }))

