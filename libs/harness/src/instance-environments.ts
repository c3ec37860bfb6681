// InstanceEnvironments: the one way every stage (validate, evaluate, rollouts) gets a task instance's environment:
// the repository's mirror → its environment spec → its environment image (built once per environment and run) → a
// fresh instance container at base_commit with no later history. Every failure on the way is one error,
// EnvironmentUnavailable, which says at which step it failed and whether it is an infrastructure fault (worth retrying:
// the engine failed, a container died) or a fact about the instance or its configuration (no mirror, no valid spec, a
// build that fails, a base commit the mirror lacks, a history leak), decided here, once.
import type { CommandExecutor, FileSystem, Path } from "@effect/platform"
import type { EnvironmentSpec, TaskInstance } from "@swe-gym/domain"
import type { MirrorLookup } from "@swe-gym/git"
import type { ContainerLimits, Sandbox } from "@swe-gym/sandbox"
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import { type EnvironmentBuildFailed, type EnvironmentBuildOptions, type EnvironmentImage, makeEnvironmentImages } from "./environment-image.js"
import { canonicalSpecJson, type DependencyInstall, type RepositoryTreeUnreadable, resolveSpec } from "./environment-spec-files.js"
import { DefaultHistoryMode, type HistoryMode, prepareInstance, type PreparedInstance } from "./instance-container.js"

/** The step at which an instance's environment could not be had. */
export const EnvironmentStep = Schema.Literal("mirror", "spec", "image_build", "base_commit", "history_leak", "prepare")
export type EnvironmentStep = typeof EnvironmentStep.Type

/** An instance's environment could not be had; `infrastructure` says whether retrying may help. */
export class EnvironmentUnavailable extends Schema.TaggedError<EnvironmentUnavailable>()("EnvironmentUnavailable", {
  instance_id: Schema.String,
  repo: Schema.String,
  step: EnvironmentStep,
  /** True for faults of the machinery (engine errors, a container that died, an image that vanished): retried. */
  infrastructure: Schema.Boolean,
  /** The underlying error's tag (MirrorNotFound, EnvironmentBuildFailed, HistoryLeak, EngineError, …). */
  cause: Schema.String,
  reason: Schema.String,
  /** The image reference (`tag@sha256:…`) when the failure came after the image was had. */
  image: Schema.optional(Schema.String),
  hint: Schema.String,
}) {
  override get message(): string {
    const kind = this.infrastructure ? " (infrastructure fault)" : ""
    return `${this.instance_id}: no environment (${this.step}${kind}): ${this.reason}${this.hint === "" ? "" : ` ${this.hint}`}`
  }
}

/** The sandbox errors that are infrastructure faults wherever they happen (the engine, not the instance, failed). */
const SandboxFaults = new Set(["EngineError", "ContainerDied", "ImageNotFound", "ExecTimeout"])

/** Whether an error is an infrastructure fault worth retrying: a sandbox fault, or an EnvironmentUnavailable saying so. */
export const isInfrastructureFault = (e: { readonly _tag: string }): boolean =>
  e instanceof EnvironmentUnavailable ? e.infrastructure : SandboxFaults.has(e._tag)

/** Options of the service. */
export interface InstanceEnvironmentsOptions {
  /** Where each repository's bare mirror is (environment images are built from it). */
  readonly mirrors: MirrorLookup
  /** Written environment specs (loadSpecs); a repository without one gets a guessed spec. */
  readonly specs?: ReadonlyArray<EnvironmentSpec>
  /** How a guessed spec installs declared dependencies (default "apt": Debian packages). */
  readonly dependencies?: DependencyInstall
  readonly build?: EnvironmentBuildOptions
  /** Limits of instance containers (default: the sandbox's). */
  readonly limits?: Partial<ContainerLimits>
  /** History an instance container keeps (default "base-only"; see instance-container.ts). */
  readonly history?: HistoryMode
}

/** Options of one preparation. */
export interface PrepareInstanceOptions {
  /** Extra labels of the container (e.g. the evaluation run). */
  readonly labels?: Readonly<Record<string, string>>
}

/** Environments of task instances, for every stage. */
export class InstanceEnvironments extends Context.Tag("@swe-gym/harness/InstanceEnvironments")<InstanceEnvironments, {
  /** The instance's environment image (found by its content-addressed tag, or built now; at most one build at a time per environment). */
  readonly imageFor: (instance: TaskInstance) => Effect.Effect<EnvironmentImage, EnvironmentUnavailable>
  /** A fresh container of the instance at base_commit with no later history; removed when the scope closes. */
  readonly prepare: (instance: TaskInstance, options?: PrepareInstanceOptions) => Effect.Effect<PreparedInstance, EnvironmentUnavailable, Scope.Scope>
  /** The history mode of prepared containers. */
  readonly history: HistoryMode
}>() {}

/** The commit an instance's environment is built at: environment_setup_commit, else its own base commit. */
export const setupCommitOf = (instance: TaskInstance): string =>
  instance.environment_setup_commit === "" ? instance.base_commit : instance.environment_setup_commit

const prepareStep = (e: { readonly _tag: string }): EnvironmentStep =>
  e._tag === "BaseCommitMissing" ? "base_commit" : e._tag === "HistoryLeak" ? "history_leak" : "prepare"

/** Builds the service on the Docker sandbox; every method's requirements are captured here. */
export const makeInstanceEnvironments = (options: InstanceEnvironmentsOptions) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<Sandbox | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor>()
    const images = yield* makeEnvironmentImages(options.build)
    const history = options.history ?? DefaultHistoryMode
    // A failed build is remembered for the service's lifetime: one broken environment is not rebuilt per instance.
    const failedBuilds = new Map<string, EnvironmentBuildFailed>()

    // A guessed spec reads the mirror's tree (every test file of a large repository): once per environment, not per call.
    const specs = new Map<string, Effect.Effect<EnvironmentSpec, RepositoryTreeUnreadable, CommandExecutor.CommandExecutor>>()
    const specOf = (mirror: string, repo: string, version: string, setupCommit: string) => {
      const key = `${mirror}\0${repo}\0${version}\0${setupCommit}`
      const known = specs.get(key)
      if (known !== undefined) return known
      const once = Effect.runSync(Effect.cached(resolveSpec(options.specs ?? [], mirror, repo, version, setupCommit, options.dependencies ?? "apt")))
      specs.set(key, once)
      return once
    }

    const unavailable = (instance: TaskInstance, fields: { step: EnvironmentStep; infrastructure: boolean; cause: string; reason: string; hint?: string; image?: string }) =>
      new EnvironmentUnavailable({ instance_id: instance.instance_id, repo: instance.repo, hint: "", ...fields })

    const imageFor = (instance: TaskInstance): Effect.Effect<EnvironmentImage, EnvironmentUnavailable> =>
      Effect.gen(function* () {
        const mirror = yield* options.mirrors(instance.repo).pipe(
          Effect.mapError((e) => unavailable(instance, { step: "mirror", infrastructure: false, cause: e._tag, reason: e.message })),
        )
        const setupCommit = setupCommitOf(instance)
        const spec = yield* specOf(mirror, instance.repo, instance.version, setupCommit).pipe(
          Effect.mapError((e) => unavailable(instance, { step: "spec", infrastructure: false, cause: e._tag, reason: e.message })),
        )
        const request = { repo: instance.repo, version: instance.version, setupCommit, spec, mirror }
        const key = `${request.repo}\0${request.version}\0${request.setupCommit}\0${canonicalSpecJson(spec)}`
        const known = failedBuilds.get(key)
        const built = known !== undefined ? Effect.fail(known) : images.ensure(request).pipe(Effect.tapError((e) => Effect.sync(() => failedBuilds.set(key, e))))
        return yield* built.pipe(
          Effect.mapError((e) => unavailable(instance, { step: "image_build", infrastructure: false, cause: e._tag, reason: e.message })),
        )
      }).pipe(Effect.provide(context), Effect.withSpan("harness.InstanceEnvironments.imageFor", { attributes: { instance: instance.instance_id } }))

    const prepare = (instance: TaskInstance, prepareOptions: PrepareInstanceOptions = {}) =>
      Effect.gen(function* () {
        const image = yield* imageFor(instance)
        return yield* prepareInstance(instance, image, {
          history,
          ...(prepareOptions.labels === undefined ? {} : { labels: prepareOptions.labels }),
          ...(options.limits === undefined ? {} : { limits: options.limits }),
        }).pipe(
          Effect.mapError((e) =>
            unavailable(instance, {
              step: prepareStep(e),
              infrastructure: SandboxFaults.has(e._tag),
              cause: e._tag,
              reason: e.message,
              image: image.reference,
            })),
        )
      }).pipe(Effect.provide(context), Effect.withSpan("harness.InstanceEnvironments.prepare", { attributes: { instance: instance.instance_id } }))

    return InstanceEnvironments.of({ imageFor, prepare, history })
  })

/** The service on the Docker sandbox (Sandbox from the context, e.g. DockerSandboxLive). */
export const instanceEnvironmentsLayer = (
  options: InstanceEnvironmentsOptions,
): Layer.Layer<InstanceEnvironments, never, Sandbox | FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor> =>
  Layer.effect(InstanceEnvironments, makeInstanceEnvironments(options))
