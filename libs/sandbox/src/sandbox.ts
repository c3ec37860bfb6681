// The Sandbox service: disposable containers to run untrusted code and tests in, with bounded exec and file copy.
// This module holds the interface, its errors and its data types; docker-sandbox.ts implements it with dockerode.
import { randomBytes } from "node:crypto"
import type { Readable } from "node:stream"
import { Context, Schema } from "effect"
import type { Duration, Effect, Option, Scope } from "effect"

// ---------------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------------

/** The image a container was asked for is not present on the engine (nothing is pulled implicitly). */
export class ImageNotFound extends Schema.TaggedError<ImageNotFound>()("ImageNotFound", {
  image: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `image ${this.image} is not on the Docker engine: ${this.hint}`
  }
}

/** The Docker engine refused or failed an operation (connection refused, HTTP 4xx/5xx, broken stream). */
export class EngineError extends Schema.TaggedError<EngineError>()("EngineError", {
  operation: Schema.String,
  detail: Schema.String,
  statusCode: Schema.optional(Schema.Number),
  containerId: Schema.optional(Schema.String),
  hint: Schema.String,
}) {
  override get message(): string {
    const where = this.containerId === undefined ? "" : ` (container ${this.containerId.slice(0, 12)})`
    const code = this.statusCode === undefined ? "" : ` [HTTP ${this.statusCode}]`
    return `docker ${this.operation} failed${where}${code}: ${this.detail}. ${this.hint}`
  }
}

/** The container stopped or vanished underneath us (killed, OOM-killed as a whole, removed by someone else). */
export class ContainerDied extends Schema.TaggedError<ContainerDied>()("ContainerDied", {
  containerId: Schema.String,
  operation: Schema.String,
  state: Schema.String,
  exitCode: Schema.optional(Schema.Number),
  oomKilled: Schema.optional(Schema.Boolean),
  hint: Schema.String,
}) {
  override get message(): string {
    const oom = this.oomKilled === true ? ", OOM-killed" : ""
    const code = this.exitCode === undefined ? "" : `, exit code ${this.exitCode}`
    return `container ${this.containerId.slice(0, 12)} is ${this.state}${code}${oom} (during ${this.operation}). ${this.hint}`
  }
}

/**
 * A command ran past its timeout and was killed. Carries what it printed until then (capped like ExecResult).
 * `containerKilled` is true when the in-container kill did not end it and the whole container was killed instead:
 * the container is then unusable and later calls fail with ContainerDied.
 */
export class ExecTimeout extends Schema.TaggedError<ExecTimeout>()("ExecTimeout", {
  containerId: Schema.String,
  command: Schema.String,
  timeoutMs: Schema.Number,
  stdout: Schema.String,
  stderr: Schema.String,
  containerKilled: Schema.Boolean,
}) {
  override get message(): string {
    const how = this.containerKilled ? "; the container was killed" : ""
    return `command timed out after ${this.timeoutMs} ms in container ${this.containerId.slice(0, 12)}${how}: ${this.command}`
  }
}

/** A path asked for (readFile) or written to (putArchive destination) does not exist in the container. */
export class FileNotFound extends Schema.TaggedError<FileNotFound>()("FileNotFound", {
  containerId: Schema.String,
  path: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.path} not found in container ${this.containerId.slice(0, 12)}: ${this.hint}`
  }
}

/** A file given to copyFiles would land outside its destination directory (absolute path or `..`). */
export class InvalidPath extends Schema.TaggedError<InvalidPath>()("InvalidPath", {
  path: Schema.String,
  destDir: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `cannot copy ${this.path} into ${this.destDir}: ${this.hint}`
  }
}

/** Every error the Sandbox service can fail with. */
export type SandboxError = ImageNotFound | EngineError | ContainerDied | ExecTimeout | FileNotFound | InvalidPath

// ---------------------------------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------------------------------

/** Resource limits of a container. */
export interface ContainerLimits {
  /** Memory limit in bytes (swap is disabled: memory + swap = this). */
  readonly memoryBytes: number
  /** Maximum number of processes and threads. */
  readonly pids: number
  /** CPU share in whole or fractional CPUs (sent to Docker as NanoCpus). */
  readonly cpus: number
}

/** Limits used for every field a ContainerSpec leaves out: 2 GiB, 512 pids, 1 CPU. */
export const DefaultLimits: ContainerLimits = { memoryBytes: 2 * 1024 ** 3, pids: 512, cpus: 1 }

/** What to start a container from. */
export interface ContainerSpec {
  /** Image reference; must already be on the engine (nothing is pulled). */
  readonly image: string
  /** Extra labels; the managed and run labels are always added and cannot be overridden. */
  readonly labels?: Readonly<Record<string, string>>
  readonly env?: Readonly<Record<string, string>>
  readonly workdir?: string
  readonly user?: string
  /** "none" (the default: loopback only) or a Docker network to attach to, e.g. "bridge" for steps that install packages. */
  readonly network?: string
  readonly limits?: Partial<ContainerLimits>
  /** The container's main process, which only keeps it alive; default `sleep infinity` (imported images have no CMD). */
  readonly keepAlive?: ReadonlyArray<string>
}

/** Options of one exec. */
export interface ExecOptions {
  /** Wall-clock limit; past it the command is killed and exec fails with ExecTimeout. */
  readonly timeout: Duration.DurationInput
  /** Bytes kept per stream (stdout, stderr), default 1 MiB; see ExecResult for what is kept. */
  readonly maxOutputBytes?: number
  readonly workdir?: string
  readonly env?: Readonly<Record<string, string>>
  readonly user?: string
  /** Bytes written to the command's standard input, which is then closed. Without it stdin is not attached. */
  readonly stdin?: string | Uint8Array
}

/** Default per-stream capture cap of exec (1 MiB). */
export const DefaultMaxOutputBytes = 1024 * 1024

/**
 * The outcome of a command that exited on its own (any exit code). Output is decoded as UTF-8 with U+FFFD for invalid
 * bytes. Past `maxOutputBytes` a stream keeps its first quarter (the start: collection errors, tracebacks) and its last
 * three quarters (the end: pytest's summary), joined by a `[... swe-gym: N bytes of output truncated ...]` line.
 * Exit code 137 without a timeout means the process was SIGKILLed, usually by the OOM killer at the memory limit.
 */
export const ExecResult = Schema.Struct({
  exitCode: Schema.Number,
  stdout: Schema.String,
  stderr: Schema.String,
  stdoutTruncated: Schema.Boolean,
  stderrTruncated: Schema.Boolean,
  /** Bytes the command wrote to stdout, kept or not. */
  stdoutBytes: Schema.Number,
  stderrBytes: Schema.Number,
  durationMs: Schema.Number,
})
export type ExecResult = typeof ExecResult.Type

/** A file to copy into a container; `path` is relative to the destination directory. */
export interface FileEntry {
  readonly path: string
  readonly content: string | Uint8Array
  /** Permission bits, default 0o644. */
  readonly mode?: number
}

/** A running container. Its lifetime is the Scope it was created in. */
export interface Container {
  readonly id: string
  readonly image: string
  /** Run a command: an argv array as is, or a string through `/bin/sh -c`. */
  readonly exec: (
    cmd: string | ReadonlyArray<string>,
    opts: ExecOptions,
  ) => Effect.Effect<ExecResult, EngineError | ContainerDied | ExecTimeout>
  /** Extract a tar archive into the container at destPath (an existing directory). */
  readonly putArchive: (
    tar: Uint8Array | Readable,
    destPath: string,
  ) => Effect.Effect<void, EngineError | ContainerDied | FileNotFound>
  /** Write files under destDir (an absolute path; missing directories are created, owned by root). */
  readonly copyFiles: (
    files: ReadonlyArray<FileEntry>,
    destDir: string,
  ) => Effect.Effect<void, EngineError | ContainerDied | InvalidPath>
  /**
   * Copy a host directory's content (files, directories, symlinks, modes) to destDir in the container (created with its
   * parents), streamed: nothing is held in memory. Returns the bytes of file content copied. A host directory that
   * cannot be read fails with InvalidPath.
   */
  readonly copyDirectory: (
    hostDir: string,
    destDir: string,
  ) => Effect.Effect<number, EngineError | ContainerDied | InvalidPath>
  /** Commit the container's file system as image `repo:tag` with Dockerfile `changes` (paused meanwhile); returns its id. */
  readonly commit: (image: {
    readonly repo: string
    readonly tag: string
    readonly changes: ReadonlyArray<string>
  }) => Effect.Effect<string, EngineError | ContainerDied>
  /** Read one regular file (symlinks are followed). */
  readonly readFile: (path: string) => Effect.Effect<Uint8Array, EngineError | ContainerDied | FileNotFound>
  /** Remove the container now (force). Idempotent; also runs when the scope closes. Failures are logged, not raised. */
  readonly destroy: Effect.Effect<void>
}

// ---------------------------------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------------------------------

/** Creates containers whose lifetime is bound to a Scope. */
export class Sandbox extends Context.Tag("@swe-gym/sandbox/Sandbox")<
  Sandbox,
  {
    /** The id of this run, put on every container as the run label (cleanup can remove one run's leftovers). */
    readonly runId: string
    /** Start a container; it is force-removed when the scope closes (success, failure or interruption). */
    readonly create: (spec: ContainerSpec) => Effect.Effect<Container, SandboxError, Scope.Scope>
    /** The id (`sha256:…`, a content digest) of a local image by name or id; none when the engine has no such image. */
    readonly imageId: (image: string) => Effect.Effect<Option.Option<string>, EngineError>
  }
>() {}

/** A new run id: UTC time to the second plus random hex, e.g. `20261123T151300-3f9a2c`, sortable and unique. */
export const freshRunId = (): string => {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "")
  return `${stamp}-${randomBytes(3).toString("hex")}`
}
