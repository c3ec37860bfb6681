// The Python base image of task environments, built from Debian packages (debootstrap + docker import) so no container
// registry is needed. Its recipe is data; its tag is a hash of that data, so a changed recipe means a new image.
import { Command, FileSystem } from "@effect/platform"
import { NodeStream } from "@effect/platform-node"
import type Docker from "dockerode"
import { Clock, Config, Effect, Either, Fiber, Option, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import {
  CommandFailed,
  CommandRunner,
  EngineUnavailable,
  SystemFacts,
  describeEndpoint,
  dockerClient,
  engineEndpoint,
  pingEngine,
  readTail,
} from "./engine.js"
import { reportProgress, withHeartbeat } from "./progress.js"
import { currentOwner, ownerLabels } from "./container-owner.js"
import { ManagedLabel } from "./labels.js"

// ── the recipe ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** How a base image is made: a debootstrap of `suite` with `packages`, imported with Dockerfile-style `changes`. */
export const BaseImageRecipe = Schema.Struct({
  /** Repository under swe-gym/ (the tag is swe-gym/<name>:<hash>). */
  name: Schema.String,
  suite: Schema.String,
  variant: Schema.String,
  components: Schema.Array(Schema.String),
  packages: Schema.Array(Schema.String),
  /** Dockerfile instructions applied by the import (ENV, CMD, LABEL…). */
  changes: Schema.Array(Schema.String),
  /** Default Debian mirror; not part of the tag (a mirror serves the same packages). */
  mirror: Schema.String,
})
/** How a base image is made. */
export type BaseImageRecipe = typeof BaseImageRecipe.Type

/** The Python base image: Debian bookworm minbase with Python 3 (also as `python`), pytest, pip, git and patch. */
export const pythonBaseRecipe: BaseImageRecipe = {
  name: "base-python",
  suite: "bookworm",
  variant: "minbase",
  components: ["main"],
  // ca-certificates: HTTPS for git and pip; python3-pip: environment specs that list pip packages (when PyPI is reachable);
  // python-is-python3: `python` on PATH, which test runners started by `#!/usr/bin/env python` need (Django's
  // tests/runtests.py, sympy's bin/test).
  packages: ["ca-certificates", "git", "patch", "python-is-python3", "python3", "python3-pip", "python3-pytest"],
  changes: [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["/bin/bash"]',
  ],
  mirror: "http://deb.debian.org/debian",
}

/** The recipe fields that decide the image's content, as JSON with sorted keys and sorted, de-duplicated packages. */
export const canonicalRecipeJson = (recipe: BaseImageRecipe): string =>
  JSON.stringify({
    changes: recipe.changes,
    components: [...new Set(recipe.components)].sort(),
    name: recipe.name,
    packages: [...new Set(recipe.packages)].sort(),
    suite: recipe.suite,
    variant: recipe.variant,
  })

/** First 12 hex digits of the sha256 of the canonical recipe JSON. */
export const recipeHash = (recipe: BaseImageRecipe): string =>
  createHash("sha256").update(canonicalRecipeJson(recipe)).digest("hex").slice(0, 12)

/** The image tag of a recipe: swe-gym/<name>:<recipe hash>. */
export const baseImageTag = (recipe: BaseImageRecipe): string => `swe-gym/${recipe.name}:${recipeHash(recipe)}`

/** Label holding the recipe hash on images built from a recipe. */
export const RecipeLabel = "swe-gym.base-recipe"

// ── errors ───────────────────────────────────────────────────────────────────────────────────────────────────────────

/** A step of making the base image failed; `hint` says what to do, `logTail` shows the end of the build log. */
export class BaseImageFailed extends Schema.TaggedError<BaseImageFailed>()("BaseImageFailed", {
  image: Schema.String,
  step: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
  logFile: Schema.optional(Schema.String),
  logTail: Schema.optional(Schema.String),
}) {
  override get message(): string {
    const tail = this.logTail === undefined || this.logTail === "" ? "" : `\n--- last lines of ${this.logFile ?? "the log"} ---\n${this.logTail}`
    return `Base image ${this.image}: ${this.step} failed: ${this.reason}. ${this.hint}${tail}`
  }
}

// ── options ──────────────────────────────────────────────────────────────────────────────────────────────────────────

/** What ensureBaseImage makes and where; unset fields come from the environment (Config) or the recipe. */
export interface BaseImageOptions {
  readonly recipe?: BaseImageRecipe
  /** Debian mirror (else SWE_GYM_DEBIAN_MIRROR, else the recipe's). */
  readonly mirror?: string
  /** A Python image (with pytest and git) to use instead of building one (else SWE_GYM_BASE_IMAGE); pulled if absent. */
  readonly image?: string
  /** Build log (else /var/log/swe-gym-base-image.log). */
  readonly logFile?: string
  /** Where the temporary root file system is made (else the system's temp directory; it needs about 400 MB). */
  readonly workDir?: string
}

/** What ensureBaseImage did. */
export interface BaseImageResult {
  readonly tag: string
  readonly imageId: string
  /** existing: the tag was there; pulled: a user-named image was pulled; built: debootstrap + import ran. */
  readonly source: "existing" | "pulled" | "built"
}

const optionalConfig = (name: string) =>
  Config.option(Config.nonEmptyString(name)).pipe(Effect.orElseSucceed(() => Option.none<string>()))

const scope = "base-image"
const defaultLogFile = "/var/log/swe-gym-base-image.log"

// ── docker steps ─────────────────────────────────────────────────────────────────────────────────────────────────────

const statusCode = (error: unknown): number | undefined =>
  typeof error === "object" && error !== null && "statusCode" in error && typeof error.statusCode === "number"
    ? error.statusCode
    : undefined
const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

const ImageInspect = Schema.Struct({ Id: Schema.String })

/** The id of a local image, None when the engine has no image of that name. */
export const localImageId = (docker: Docker, image: string) =>
  Effect.tryPromise({
    try: (): Promise<unknown> => docker.getImage(image).inspect(),
    catch: (error) => error,
  }).pipe(
    Effect.flatMap((raw) => Schema.decodeUnknown(ImageInspect)(raw)),
    Effect.map((inspect) => Option.some(inspect.Id)),
    Effect.catchAll((error) =>
      statusCode(error) === 404
        ? Effect.succeed(Option.none<string>())
        : Effect.fail(new BaseImageFailed({ image, step: "image inspect", reason: reasonOf(error), hint: "Check that the Docker engine answers (`swe-gym-docker engine`)." })),
    ),
  )

const ProgressMessage = Schema.Struct({
  status: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  errorDetail: Schema.optional(Schema.Struct({ message: Schema.optional(Schema.String) })),
})

/** Follows a /images/create progress stream to its end; fails on an error message in it. */
const followProgress = (docker: Docker, stream: NodeJS.ReadableStream) =>
  Effect.async<ReadonlyArray<typeof ProgressMessage.Type>, string>((resume) => {
    docker.modem.followProgress(stream, (error, output) => {
      if (error !== null) return resume(Effect.fail(error.message))
      const messages = Schema.decodeUnknownOption(Schema.Array(ProgressMessage))(output).pipe(Option.getOrElse(() => []))
      const failed = messages.find((m) => m.error !== undefined || m.errorDetail !== undefined)
      if (failed !== undefined) return resume(Effect.fail(failed.errorDetail?.message ?? failed.error ?? "unknown error"))
      resume(Effect.succeed(messages))
    })
  })

/** Pulls an image by name. */
const pullImage = (docker: Docker, image: string) =>
  Effect.tryPromise({ try: () => docker.pull(image), catch: reasonOf }).pipe(
    Effect.flatMap((stream) => followProgress(docker, stream)),
    Effect.mapError(
      (reason) =>
        new BaseImageFailed({
          image,
          step: "pull",
          reason,
          hint: "Check the image name and that its registry is reachable, or unset SWE_GYM_BASE_IMAGE (and drop --image) to build the Debian base image instead.",
        }),
    ),
    withHeartbeat(scope, `pulling ${image}`),
  )

const Wait = Schema.Struct({ StatusCode: Schema.Number })

/** Runs `python3 -c 'import pytest'` (and git --version) in a throwaway container of the image. */
export const verifyPythonImage = Effect.fn("sandbox.verifyPythonImage")(function* (docker: Docker, image: string) {
  const script = "import sys, pytest; print('python', sys.version.split()[0], 'pytest', pytest.__version__)"
  const owner = ownerLabels(yield* currentOwner)
  const container = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () =>
        docker.createContainer({
          Image: image,
          Cmd: ["sh", "-c", `python3 -c "${script}" && git --version`],
          Tty: true,
          Labels: { ...owner, [ManagedLabel]: "true" },
          HostConfig: { NetworkMode: "none" },
        }),
      catch: reasonOf,
    }),
    (c) => Effect.promise(() => c.remove({ force: true }).catch(() => undefined)),
  )
  yield* Effect.tryPromise({ try: () => container.start(), catch: reasonOf })
  const waited = yield* Effect.tryPromise({ try: (): Promise<unknown> => container.wait(), catch: reasonOf }).pipe(
    Effect.flatMap((raw) => Schema.decodeUnknown(Wait)(raw).pipe(Effect.mapError((e) => e.message))),
  )
  const logs = yield* Effect.tryPromise({ try: () => container.logs({ stdout: true, stderr: true, follow: false }), catch: reasonOf })
  const output = logs.toString("utf8").trim()
  if (waited.StatusCode !== 0) return yield* Effect.fail(`exit code ${waited.StatusCode}: ${output}`)
  return output
}, Effect.scoped)

// ── build steps ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** Path of debootstrap, installing Debian's package with apt-get when missing and allowed (root on Debian). */
const ensureDebootstrap = Effect.fn("sandbox.ensureDebootstrap")(function* (image: string, logFile: string) {
  const facts = yield* SystemFacts
  const runner = yield* CommandRunner
  const alternative = "or set SWE_GYM_BASE_IMAGE (or --image) to a Python image with pytest and git that your engine has or can pull"
  if (!facts.isRoot) {
    return yield* new BaseImageFailed({
      image,
      step: "debootstrap",
      reason: "building the base image runs debootstrap, which needs root",
      hint: `Run \`sudo npm run setup\` (or \`sudo node tools/docker/dist/main.js base-image\`), ${alternative}.`,
    })
  }
  const found = yield* facts.resolveCommand("debootstrap")
  if (Option.isSome(found)) return found.value
  if (!facts.isDebianLike) {
    return yield* new BaseImageFailed({
      image,
      step: "debootstrap",
      reason: "debootstrap is not installed and this is not a Debian-like system (no apt-get)",
      hint: `Install debootstrap with your package manager (e.g. \`dnf install debootstrap\`, \`pacman -S debootstrap\`), ${alternative}.`,
    })
  }
  yield* reportProgress(scope, `debootstrap is not installed: installing it with apt-get (log: ${logFile})`)
  const env = { DEBIAN_FRONTEND: "noninteractive" }
  const hint = `apt-get could not install debootstrap; check access to the Debian mirror and the log ${logFile}.`
  yield* runner.run("apt-get", ["update"], { env, logFile, hint }).pipe(withHeartbeat(scope, "apt-get update"))
  yield* runner.run("apt-get", ["install", "-y", "debootstrap"], { env, logFile, hint }).pipe(
    withHeartbeat(scope, "apt-get install debootstrap"),
  )
  const installed = yield* facts.resolveCommand("debootstrap")
  if (Option.isSome(installed)) return installed.value
  return yield* new BaseImageFailed({ image, step: "debootstrap", reason: "apt-get installed debootstrap but it is not on PATH", hint: `See ${logFile}.`, logFile })
})

/** Mount points at or under `dir`, deepest first (from /proc/self/mounts; octal escapes decoded). */
const mountsUnder = (dir: string) =>
  Effect.gen(function* () {
    const fileSystem = yield* FileSystem.FileSystem
    const table = yield* fileSystem.readFileString("/proc/self/mounts").pipe(Effect.orElseSucceed(() => ""))
    return table
      .split("\n")
      .map((line) => (line.split(" ")[1] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))))
      .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length)
  })

/**
 * A scoped temporary directory for the root file system. On release it unmounts whatever debootstrap left mounted in it
 * (/proc, /sys, bind-mounted /dev entries after a kill) before removing it, and refuses to remove it while anything is
 * still mounted there (removing through a bind mount would delete the host's files).
 */
const scopedRootfs = (workDir: string | undefined) => Effect.acquireRelease(
  Effect.flatMap(FileSystem.FileSystem, (fileSystem) =>
    fileSystem.makeTempDirectory(workDir === undefined ? { prefix: "swe-gym-rootfs-" } : { prefix: "swe-gym-rootfs-", directory: workDir })).pipe(
    Effect.mapError((e) => new BaseImageFailed({ image: "rootfs", step: "temp dir", reason: e.message, hint: "Check that the temp directory is writable." })),
  ),
  (dir) =>
    Effect.gen(function* () {
      const fileSystem = yield* FileSystem.FileSystem
      const runner = yield* CommandRunner
      for (const mountPoint of yield* mountsUnder(dir)) {
        yield* runner.run("umount", ["-l", mountPoint]).pipe(Effect.ignore)
      }
      const left = yield* mountsUnder(dir)
      if (left.length > 0) {
        return yield* reportProgress(scope, `not removing ${dir}: still mounted there: ${left.join(", ")} (unmount them, then remove it)`)
      }
      yield* fileSystem.remove(dir, { recursive: true }).pipe(Effect.ignore)
    }),
)

/**
 * Imports the directory `rootfs` as image `tag` (`tar -C rootfs -c .` streamed into the engine's import, with Dockerfile-style
 * `changes`). When tar fails, the half-imported image is removed and the error carries tar's stderr; interruption aborts
 * the import and stops tar.
 */
export const importRootfs = Effect.fn("sandbox.importRootfs")(function* (docker: Docker, rootfs: string, tag: string, changes: ReadonlyArray<string>) {
  const colon = tag.lastIndexOf(":")
  const repo = tag.slice(0, colon)
  const version = tag.slice(colon + 1)
  const tarFailed = (reason: string, logTail?: string) =>
    new BaseImageFailed({
      image: tag,
      step: "tar",
      reason,
      hint: "The root file system could not be archived; see tar's output.",
      ...(logTail === undefined ? {} : { logTail }),
    })
  const tar = yield* Command.start(Command.make("tar", "--numeric-owner", "-C", rootfs, "-c", ".").pipe(Command.stdin(Stream.empty))).pipe(
    Effect.mapError((e) => tarFailed(e.message)),
  )
  const tarErrors = yield* tar.stderr.pipe(
    Stream.decodeText(),
    Stream.runFold("", (text, chunk) => (text + chunk).slice(-4_000)),
    Effect.orElseSucceed(() => ""),
    Effect.forkScoped,
  )
  const archive = yield* NodeStream.toReadable(tar.stdout)
  // Scope finalizers run last-in first-out: the import request is aborted before the scope stops tar.
  const request = yield* Effect.acquireRelease(Effect.sync(() => new AbortController()), (controller) => Effect.sync(() => controller.abort()))
  const imported = yield* Effect.tryPromise({
    try: () => docker.importImage(archive, { repo, tag: version, changes: [...changes], abortSignal: request.signal }),
    catch: reasonOf,
  }).pipe(Effect.flatMap((stream) => followProgress(docker, stream)), Effect.either)
  // tar's outcome first: a tar that fails ends the archive early, and the engine may then keep a truncated image or fail
  // with a less telling error. After a failed import tar may be blocked on a pipe nobody reads: the scope stops it.
  const tarFailure = tar.exitCode.pipe(
    Effect.map((code) => (code === 0 ? Option.none<string>() : Option.some(`tar exited with ${code}`))),
    Effect.catchAll((e) => Effect.succeed(Option.some(e.description ?? e.message))),
  )
  const tarExit = yield* Either.isLeft(imported)
    ? tarFailure.pipe(Effect.timeoutTo({ duration: "2 seconds", onTimeout: () => Option.none<string>(), onSuccess: (failure) => failure }))
    : tarFailure
  if (Option.isSome(tarExit)) {
    yield* Effect.promise(() => docker.getImage(tag).remove({ force: true }).catch(() => undefined))
    return yield* tarFailed(tarExit.value, yield* Fiber.join(tarErrors))
  }
  if (Either.isLeft(imported)) {
    return yield* new BaseImageFailed({
      image: tag,
      step: "docker import",
      reason: imported.left,
      hint: "Check the engine's log (e.g. /var/log/swe-gym-dockerd.log) and free disk space.",
    })
  }
  return imported.right.flatMap((m) => (m.status === undefined ? [] : [m.status])).join(" ")
}, Effect.scoped)

/** debootstrap into a temp dir, import it as `tag`, verify python3 + pytest run in it. */
const buildBaseImage = Effect.fn("sandbox.buildBaseImage")(function* (
  docker: Docker,
  recipe: BaseImageRecipe,
  tag: string,
  mirror: string,
  logFile: string,
  workDir: string | undefined,
) {
  const fileSystem = yield* FileSystem.FileSystem
  const runner = yield* CommandRunner
  yield* fileSystem.writeFileString(logFile, `# swe-gym base image ${tag} from ${mirror}\n# recipe ${canonicalRecipeJson(recipe)}\n`).pipe(
    Effect.mapError((e) => new BaseImageFailed({ image: tag, step: "build log", reason: e.message, hint: `Make ${logFile} writable, or pass another log file.` })),
  )
  const debootstrap = yield* ensureDebootstrap(tag, logFile)
  const rootfs = yield* scopedRootfs(workDir)
  const args = [
    `--variant=${recipe.variant}`,
    `--components=${recipe.components.join(",")}`,
    `--include=${[...new Set(recipe.packages)].sort().join(",")}`,
    recipe.suite,
    rootfs,
    mirror,
  ]
  yield* reportProgress(scope, `building ${tag}: debootstrap ${args.join(" ")} (log: ${logFile})`)
  yield* runner
    .run(debootstrap, args, { logFile, hint: `Check that ${mirror} is reachable (or pass --mirror / SWE_GYM_DEBIAN_MIRROR) and read ${logFile}.` })
    .pipe(
      withHeartbeat(
        scope,
        `debootstrap ${recipe.suite} (a minute or more)`,
        "15 seconds",
        readTail(logFile, 1).pipe(Effect.map((line) => `— ${line.trim()}`), Effect.provideService(FileSystem.FileSystem, fileSystem)),
      ),
      Effect.catchTag("CommandFailed", (failed) =>
        readTail(logFile).pipe(
          Effect.flatMap((logTail) =>
            Effect.fail(new BaseImageFailed({ image: tag, step: "debootstrap", reason: failed.reason, hint: failed.hint, logFile, logTail })),
          ),
        ),
      ),
    )
  // Downloaded .debs are not part of the environment.
  const archives = `${rootfs}/var/cache/apt/archives`
  for (const entry of yield* fileSystem.readDirectory(archives).pipe(Effect.orElseSucceed((): Array<string> => []))) {
    if (entry.endsWith(".deb")) yield* fileSystem.remove(`${archives}/${entry}`).pipe(Effect.ignore)
  }
  yield* importRootfs(docker, rootfs, tag, [...recipe.changes, `LABEL ${RecipeLabel}=${recipeHash(recipe)}`]).pipe(
    withHeartbeat(scope, `importing the root file system as ${tag}`),
  )
}, Effect.scoped)

// ── ensureBaseImage ──────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Makes sure the Python base image exists and returns its tag: nothing to do when the recipe's tag exists; a user-named
 * image (options.image / SWE_GYM_BASE_IMAGE) is used (pulled if absent); otherwise debootstrap + docker import build it.
 */
export const ensureBaseImage = Effect.fn("sandbox.ensureBaseImage")(function* (options: BaseImageOptions = {}) {
  const recipe = options.recipe ?? pythonBaseRecipe
  const endpoint = yield* engineEndpoint
  yield* pingEngine(endpoint).pipe(
    Effect.mapError(
      (e) => new EngineUnavailable({ socket: describeEndpoint(endpoint), hint: `(${e.reason}) Run \`swe-gym-docker engine\` (or \`npm run setup\`) first.` }),
    ),
  )
  const docker = dockerClient(endpoint)
  const verify = (image: string) =>
    verifyPythonImage(docker, image).pipe(
      Effect.tap((output) => reportProgress(scope, `${image} runs: ${output.replace(/\s+/g, " ")}`)),
      Effect.mapError(
        (reason) => new BaseImageFailed({ image, step: "verify (python3 -c 'import pytest')", reason, hint: "The image must have python3 with pytest, and git." }),
      ),
    )

  const userImage = options.image ?? Option.getOrUndefined(yield* optionalConfig("SWE_GYM_BASE_IMAGE"))
  if (userImage !== undefined) {
    const existing = yield* localImageId(docker, userImage)
    if (Option.isSome(existing)) {
      yield* reportProgress(scope, `using ${userImage} (already present)`)
      return { tag: userImage, imageId: existing.value, source: "existing" } satisfies BaseImageResult
    }
    yield* pullImage(docker, userImage)
    yield* verify(userImage)
    const pulled = yield* localImageId(docker, userImage)
    return { tag: userImage, imageId: Option.getOrElse(pulled, () => ""), source: "pulled" } satisfies BaseImageResult
  }

  const tag = baseImageTag(recipe)
  const existing = yield* localImageId(docker, tag)
  if (Option.isSome(existing)) {
    yield* reportProgress(scope, `${tag} exists (${existing.value.slice(0, 19)}): nothing to build`)
    return { tag, imageId: existing.value, source: "existing" } satisfies BaseImageResult
  }

  const mirror = options.mirror ?? Option.getOrElse(yield* optionalConfig("SWE_GYM_DEBIAN_MIRROR"), () => recipe.mirror)
  const logFile = options.logFile ?? defaultLogFile
  const started = yield* Clock.currentTimeMillis
  yield* buildBaseImage(docker, recipe, tag, mirror, logFile, options.workDir)
  yield* reportProgress(scope, `built ${tag} in ${(((yield* Clock.currentTimeMillis) - started) / 1000).toFixed(1)} s`)
  yield* verify(tag).pipe(
    Effect.tapError(() => Effect.promise(() => docker.getImage(tag).remove({ force: true }).catch(() => undefined))),
  )
  const built = yield* localImageId(docker, tag)
  if (Option.isNone(built)) {
    return yield* new BaseImageFailed({ image: tag, step: "docker import", reason: "the image is missing after the import", hint: "Read the engine's log." })
  }
  return { tag, imageId: built.value, source: "built" } satisfies BaseImageResult
})

/** Errors ensureBaseImage can end with. */
export type BaseImageError = BaseImageFailed | EngineUnavailable | CommandFailed
