// Environment images: one per (repository, version), layered on the base image, tagged by a hash of what went into them.
//
// An image is made by starting a container from the base image (network only if packages must be downloaded), copying the
// repository's bare mirror into it, cloning it to /testbed at the setup commit, installing the spec's Debian packages, pip
// packages and install commands, and committing the container. Every step's output goes to a build log on disk. The
// mirror copy is created and deleted inside that one container, so it is not in the committed layer; /testbed/.git holds
// the whole history, which prepareInstance (instance-container.ts) cuts back to the instance's base commit.
//
// Per-instance images (the environment image with one instance prepared and committed) are an opt-in cache level not
// built here: they cost gigabytes each at scale, and preparing an instance from its environment image takes seconds.
import { FileSystem, Path } from "@effect/platform"
import type { EnvironmentSpec } from "@swe-gym/domain"
import { Sandbox, baseImageTag, pythonBaseRecipe } from "@swe-gym/sandbox"
import { Clock, Duration, Effect, Either, Option, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import { canonicalSpecJson, specHash } from "./environment-spec-files.js"

/** Where the repository lives inside environment and instance containers (SWE-bench's convention). */
export const RepoDir = "/testbed"

/** Label names put on environment images. */
export const EnvironmentLabels = {
  repo: "swe-gym.env.repo",
  version: "swe-gym.env.version",
  setupCommit: "swe-gym.env.setup-commit",
  specHash: "swe-gym.env.spec-hash",
  baseImageId: "swe-gym.env.base-image-id",
} as const

/** Default directory of build logs. */
export const DefaultBuildLogDir = "data/out/build-logs"

// ── data and errors ──────────────────────────────────────────────────────────────────────────────────────────────────

/** What an environment image is made of. */
export interface EnvironmentRequest {
  readonly repo: string
  readonly version: string
  /** The commit /testbed is checked out at and installed from (environment_setup_commit). */
  readonly setupCommit: string
  readonly spec: EnvironmentSpec
  /** Path of the repository's bare mirror on this machine. */
  readonly mirror: string
}

/** A built (or found) environment image. */
export interface EnvironmentImage {
  readonly repo: string
  readonly version: string
  readonly setupCommit: string
  readonly spec: EnvironmentSpec
  readonly specHash: string
  /** Content-addressed tag, e.g. `swe-gym/env-sample__calc:0.1-1a2b3c4d5e6f`. */
  readonly tag: string
  /** The engine's image id (`sha256:…`, a content digest of the image). */
  readonly id: string
  /** `tag@id`: what instances record, so a moved tag is noticed. */
  readonly reference: string
  readonly baseImage: string
  readonly baseImageId: string
  /** existing: the tag was on the engine; built: made now. */
  readonly source: "existing" | "built"
  /** The build log (also for an existing image, where it may be from an earlier build). */
  readonly logFile: string
}

/** Building an environment image failed at `step`; the end of its log says why. */
export class EnvironmentBuildFailed extends Schema.TaggedError<EnvironmentBuildFailed>()("EnvironmentBuildFailed", {
  repo: Schema.String,
  version: Schema.String,
  tag: Schema.String,
  step: Schema.String,
  reason: Schema.String,
  logFile: Schema.String,
  logTail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    const tail = this.logTail === "" ? "" : `\n--- last lines of ${this.logFile} ---\n${this.logTail}`
    return `environment ${this.tag} (${this.repo} ${this.version}): ${this.step} failed: ${this.reason}. ${this.hint}${tail}`
  }
}

/** Options of image building. */
export interface EnvironmentBuildOptions {
  /** Directory of build logs (default data/out/build-logs). */
  readonly logDir?: string
  /** Memory limit of the build container in bytes (default 4 GiB). */
  readonly memoryBytes?: number
  /** Network of steps that download packages (default "bridge"); every other step runs without network. */
  readonly network?: string
}

// ── tags ─────────────────────────────────────────────────────────────────────────────────────────────────────────────

/** The base image of a spec: its own `base_image`, else swe-gym's Python base image. */
export const baseImageOf = (spec: EnvironmentSpec): string => spec.base_image ?? baseImageTag(pythonBaseRecipe)

/** The content-addressed tag of an environment: a hash of base image id, spec, repository, version and setup commit. */
export const environmentTag = (baseImageId: string, request: Omit<EnvironmentRequest, "mirror">): string => {
  const hash = createHash("sha256")
    .update(JSON.stringify({ baseImageId, spec: canonicalSpecJson(request.spec), repo: request.repo, version: request.version, setupCommit: request.setupCommit }))
    .digest("hex")
    .slice(0, 12)
  const name = `env-${request.repo.replace("/", "__")}`.toLowerCase().replace(/[^a-z0-9_.-]/g, "-")
  const version = request.version.replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[.-]+/, "").slice(0, 60)
  return `swe-gym/${name}:${version === "" ? "" : `${version}-`}${hash}`
}


/** The id of a local image, None when the engine has none of that name; an engine failure as its message. */
export const imageId = (image: string) =>
  Effect.flatMap(Sandbox, (sandbox) => sandbox.imageId(image).pipe(Effect.mapError((e) => e.message)))

// ── building ─────────────────────────────────────────────────────────────────────────────────────────────────────────

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** Builds the image of `request` (or finds it by tag) and returns it with its id. */
export const ensureEnvironmentImage = Effect.fn("harness.ensureEnvironmentImage")(function* (
  request: EnvironmentRequest,
  options: EnvironmentBuildOptions = {},
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const baseImage = baseImageOf(request.spec)
  const logDir = path.resolve(options.logDir ?? DefaultBuildLogDir)
  const failed = (tag: string, logFile: string, step: string, reason: string, hint: string) =>
    fs.readFileString(logFile).pipe(
      Effect.orElseSucceed(() => ""),
      Effect.flatMap((log) =>
        Effect.fail(new EnvironmentBuildFailed({
          repo: request.repo,
          version: request.version,
          tag,
          step,
          reason,
          logFile,
          logTail: log.trimEnd().split("\n").slice(-30).join("\n"),
          hint,
        }))),
    )

  const baseId = yield* imageId(baseImage).pipe(
    Effect.catchAll((reason) => failed(baseImage, "", "inspect base image", reason, "Check that the Docker engine answers.")),
  )
  if (Option.isNone(baseId)) {
    return yield* failed(baseImage, "", "find base image", `${baseImage} is not on the Docker engine`,
      request.spec.base_image === undefined ? "Run `npm run setup` (it builds the base image)." : "Pull or build the image the spec names in base_image.")
  }
  const tag = environmentTag(baseId.value, request)
  const logFile = path.join(logDir, `${tag.replace(/[/:]/g, "_")}.log`)
  const found = yield* imageId(tag).pipe(Effect.catchAll((reason) => failed(tag, logFile, "inspect image", reason, "Check that the Docker engine answers.")))
  const image = (id: string, source: "existing" | "built"): EnvironmentImage => ({
    repo: request.repo,
    version: request.version,
    setupCommit: request.setupCommit,
    spec: request.spec,
    specHash: specHash(request.spec),
    tag,
    id,
    reference: `${tag}@${id}`,
    baseImage,
    baseImageId: baseId.value,
    source,
    logFile,
  })
  if (Option.isSome(found)) return image(found.value, "existing")

  yield* fs.makeDirectory(logDir, { recursive: true }).pipe(
    Effect.catchAll((e) => failed(tag, logFile, "create log directory", e.message, `Check that ${logDir} is writable.`)),
  )
  const started = yield* Clock.currentTimeMillis
  yield* fs.writeFileString(logFile, `# swe-gym environment ${tag}\n# repo ${request.repo} version ${request.version} setup ${request.setupCommit}\n# base ${baseImage} (${baseId.value})\n# spec ${canonicalSpecJson(request.spec)}\n`).pipe(
    Effect.catchAll((e) => failed(tag, logFile, "write build log", e.message, `Check that ${logDir} is writable.`)),
  )
  const log = (text: string) => fs.writeFileString(logFile, text, { flag: "a" }).pipe(Effect.ignore)

  const sandbox = yield* Sandbox
  const spec = request.spec
  const needsNetwork = spec.apt_packages.length > 0 || spec.pip_packages.length > 0
  const timeout = Duration.seconds(spec.timeouts.build_seconds)
  yield* Effect.scoped(
    Effect.gen(function* () {
      const container = yield* sandbox.create({
        image: baseId.value,
        labels: { "swe-gym.build": tag },
        ...(needsNetwork ? { network: options.network ?? "bridge" } : {}),
        limits: { memoryBytes: options.memoryBytes ?? 4 * 1024 ** 3, pids: 4096, cpus: 2 },
      }).pipe(Effect.catchAll((e) => failed(tag, logFile, "create build container", e.message, "Check the Docker engine.")))
      const step = (name: string, command: string, hint: string) =>
        Effect.gen(function* () {
          yield* log(`\n## ${name}\n$ ${command}\n`)
          const result = yield* container.exec(["sh", "-c", `${command} 2>&1`], { timeout, env: spec.env, maxOutputBytes: 4 * 1024 * 1024 }).pipe(
            Effect.catchAll((e) =>
              log(e._tag === "ExecTimeout" ? `${e.stdout}${e.stderr}\n[swe-gym: timed out after ${spec.timeouts.build_seconds} s]\n` : `[swe-gym: ${e.message}]\n`).pipe(
                Effect.zipRight(failed(tag, logFile, name, e.message, e._tag === "ExecTimeout" ? "Raise timeouts.build_seconds in the spec, or make the step faster." : hint)),
              )),
          )
          yield* log(`${result.stdout}${result.stderr}[exit ${result.exitCode}]\n`)
          if (result.exitCode !== 0) return yield* failed(tag, logFile, name, `exit code ${result.exitCode}`, hint)
        })
      yield* step("git config", "git config --system --add safe.directory '*' && git config --system advice.detachedHead false", "The base image needs git.")
      if (spec.apt_packages.length > 0) {
        yield* step(
          "apt-get install",
          `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${spec.apt_packages.map(shellQuote).join(" ")} && rm -rf /var/lib/apt/lists/*`,
          "Check the Debian package names in apt_packages (`apt-cache search python3-<name>`) and that the build can reach the Debian mirror.",
        )
      }
      yield* log(`\n## copy mirror ${request.mirror}\n`)
      const copied = yield* Effect.either(container.copyDirectory(request.mirror, "/tmp/swe-gym-mirror.git"))
      if (Either.isLeft(copied)) {
        return yield* failed(tag, logFile, "copy mirror", copied.left.message, `Check that ${request.mirror} is a readable bare repository.`)
      }
      yield* log(`[${copied.right} bytes]\n`)
      yield* step(
        "clone",
        `git clone -q --mirror /tmp/swe-gym-mirror.git ${RepoDir}/.git && rm -rf /tmp/swe-gym-mirror.git && cd ${RepoDir} && git config core.bare false && git checkout -q -f --detach ${shellQuote(request.setupCommit)}`,
        `Check that the mirror holds the setup commit ${request.setupCommit} (environment_setup_commit).`,
      )
      if (spec.pip_packages.length > 0) {
        yield* step(
          "pip install",
          `python3 -m pip install --no-input --break-system-packages ${spec.pip_packages.map(shellQuote).join(" ")}`,
          "pip needs PyPI (or PIP_INDEX_URL) to be reachable from the build; where it is not, list Debian packages in apt_packages instead.",
        )
      }
      for (const [index, command] of spec.install.entries()) {
        yield* step(`install ${index + 1}`, `cd ${RepoDir} && ${command}`, "Fix the install command in the spec (see the log).")
      }
      const changes = [
        `WORKDIR ${RepoDir}`,
        ...Object.entries({
          [EnvironmentLabels.repo]: request.repo,
          [EnvironmentLabels.version]: request.version,
          [EnvironmentLabels.setupCommit]: request.setupCommit,
          [EnvironmentLabels.specHash]: specHash(spec),
          [EnvironmentLabels.baseImageId]: baseId.value,
        }).map(([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`),
      ]
      const colon = tag.lastIndexOf(":")
      yield* log(`\n## commit ${tag}\n`)
      yield* container.commit({ repo: tag.slice(0, colon), tag: tag.slice(colon + 1), changes }).pipe(
        Effect.catchAll((e) => failed(tag, logFile, "commit", e.message, "Check the engine's free disk space.")),
      )
    }),
  )
  const id = yield* imageId(tag).pipe(Effect.catchAll((reason) => failed(tag, logFile, "inspect built image", reason, "Check the Docker engine.")))
  if (Option.isNone(id)) return yield* failed(tag, logFile, "inspect built image", "the committed image is not on the engine", "Check the Docker engine.")
  const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
  yield* log(`\n# built ${tag} = ${id.value} in ${seconds.toFixed(1)} s\n`)
  return image(id.value, "built")
})

/** Builds a Stream of environment requests with bounded concurrency; a failed build is an element, not the end. */
export const buildEnvironments = (options: EnvironmentBuildOptions & { readonly concurrency?: number } = {}) =>
<E, R>(requests: Stream.Stream<EnvironmentRequest, E, R>) =>
  requests.pipe(
    Stream.mapEffect((request) => Effect.either(ensureEnvironmentImage(request, options)), { concurrency: options.concurrency ?? 2 }),
  )

/** A build outcome of buildEnvironments. */
export type EnvironmentBuildOutcome = Either.Either<EnvironmentImage, EnvironmentBuildFailed>

/** Environment images of one run: ensureEnvironmentImage behind a per-environment lock. */
export interface EnvironmentImages {
  readonly ensure: (
    request: EnvironmentRequest,
  ) => Effect.Effect<EnvironmentImage, EnvironmentBuildFailed, Sandbox | FileSystem.FileSystem | Path.Path>
}

/**
 * Ensures environment images with at most one build per environment at a time (instances of one version share one
 * build). Made once per run.
 */
export const makeEnvironmentImages = (options: EnvironmentBuildOptions = {}): Effect.Effect<EnvironmentImages> =>
  Effect.sync(() => {
    const locks = new Map<string, Effect.Semaphore>()
    const lockOf = (key: string) => {
      const existing = locks.get(key)
      if (existing !== undefined) return existing
      const made = Effect.unsafeMakeSemaphore(1)
      locks.set(key, made)
      return made
    }
    return {
      ensure: (request: EnvironmentRequest) =>
        lockOf(`${request.repo}\0${request.version}\0${request.setupCommit}\0${canonicalSpecJson(request.spec)}`).withPermits(1)(
          ensureEnvironmentImage(request, options),
        ),
    }
  })
