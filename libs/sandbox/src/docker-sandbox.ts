// The Sandbox service on a Docker engine, through dockerode: the client from DOCKER_HOST, container creation with labels,
// limits and no network, and removal when the scope closes. The per-container API is in internal/docker-container.ts.
import type Docker from "dockerode"
import { Config, Context, Effect, Layer, Option, Ref, Schema } from "effect"
import { currentOwner, ownerLabels } from "./container-owner.js"
import { describeEndpoint, dockerClient, EngineUnavailable, engineEndpoint } from "./engine.js"
import { envList, makeContainer, removeContainer } from "./internal/docker-container.js"
import { callEngine, toEngineError } from "./internal/engine-failure.js"
import { ManagedLabel, RunLabel } from "./labels.js"
import { DefaultLimits, freshRunId, ImageNotFound, Sandbox } from "./sandbox.js"
import type { ContainerSpec } from "./sandbox.js"

/** A dockerode client connected to the engine named by DOCKER_HOST (default: the local socket). */
export class DockerClient extends Context.Tag("@swe-gym/sandbox/DockerClient")<DockerClient, {
  readonly docker: Docker
  /** Where the engine is, as DOCKER_HOST would say it (for messages). */
  readonly endpoint: string
}>() {}

/** Connect to the engine of DOCKER_HOST (unix:// or tcp://), or /var/run/docker.sock when unset. */
export const DockerClientLive: Layer.Layer<DockerClient, EngineUnavailable> = Layer.effect(
  DockerClient,
  Effect.map(engineEndpoint, (endpoint) => ({ docker: dockerClient(endpoint), endpoint: describeEndpoint(endpoint) })),
)

/** Options of the Docker implementation of Sandbox. */
export interface DockerSandboxOptions {
  /** Put on every container as the run label; default a fresh id. */
  readonly runId?: string
  /**
   * Run commands through a per-container exec session (one long-lived exec; see internal/exec-session.ts) instead of
   * one Docker exec each. Default true; SWE_GYM_EXEC_SESSION=0 turns it off for DockerSandboxLive.
   */
  readonly execSession?: boolean
}

/** Build the Docker Sandbox service on a client (checks that the engine answers). */
export const makeDockerSandbox = Effect.fn("sandbox.makeDocker")(function* (options: DockerSandboxOptions = {}) {
  const { docker, endpoint } = yield* DockerClient
  const runId = options.runId ?? freshRunId()
  // Host, pid and process start time on every container: a later run removes those whose process is gone (reapOrphans).
  const owner = ownerLabels(yield* currentOwner)
  yield* callEngine(() => docker.ping()).pipe(
    Effect.mapError((f) =>
      new EngineUnavailable({
        socket: endpoint,
        hint: `${f.detail}; start the engine (npm run setup) or point DOCKER_HOST at one`,
      })),
  )

  const create = Effect.fn("sandbox.create")(function* (spec: ContainerSpec) {
    const limits = { ...DefaultLimits, ...spec.limits }
    const labels = { ...spec.labels, ...owner, [ManagedLabel]: "true", [RunLabel]: runId }
    const destroyed = yield* Ref.make(false)
    yield* Effect.annotateCurrentSpan({ "sandbox.image": spec.image, "sandbox.run": runId })
    const id = yield* Effect.acquireRelease(
      callEngine(() =>
        docker.createContainer({
          Image: spec.image,
          Entrypoint: [...(spec.keepAlive ?? ["sleep", "infinity"])],
          Cmd: [],
          Labels: labels,
          Env: envList(spec.env),
          Tty: false,
          OpenStdin: false,
          ...(spec.user === undefined ? {} : { User: spec.user }),
          ...(spec.workdir === undefined ? {} : { WorkingDir: spec.workdir }),
          HostConfig: {
            NetworkMode: spec.network ?? "none",
            Memory: limits.memoryBytes,
            MemorySwap: limits.memoryBytes,
            PidsLimit: limits.pids,
            NanoCpus: Math.round(limits.cpus * 1e9),
            // A real init as PID 1 reaps the zombies that killed commands leave behind.
            Init: true,
          },
        })
      ).pipe(
        Effect.map((c) => c.id),
        Effect.mapError((f) =>
          f.statusCode === 404 && /no such image/i.test(f.detail)
            ? new ImageNotFound({
              image: spec.image,
              hint: "images are never pulled: build it first (npm run setup builds the base image)",
            })
            : toEngineError("create", undefined, f)),
      ),
      (id) => removeContainer(docker, id, destroyed),
    )
    yield* callEngine(() => docker.getContainer(id).start()).pipe(Effect.mapError((f) => toEngineError("start", id, f)))
    return makeContainer(docker, id, spec, destroyed, { session: options.execSession ?? true })
  })

  const imageId = Effect.fn("sandbox.imageId")(function* (image: string) {
    const raw = yield* callEngine(() => docker.getImage(image).inspect()).pipe(
      Effect.map(Option.some),
      Effect.catchAll((f) => (f.statusCode === 404 ? Effect.succeed(Option.none()) : Effect.fail(toEngineError("inspect image", undefined, f)))),
    )
    if (Option.isNone(raw)) return Option.none<string>()
    const inspected = yield* Schema.decodeUnknown(Schema.Struct({ Id: Schema.String }))(raw.value).pipe(
      Effect.mapError((e) => toEngineError("inspect image", undefined, { detail: `unexpected answer: ${e.message}`, statusCode: undefined, code: undefined })),
    )
    return Option.some(inspected.Id)
  })

  return Sandbox.of({ runId, create, imageId })
})

/** The Docker Sandbox with the given options, on a DockerClient. */
export const dockerSandboxLayer = (options: DockerSandboxOptions = {}): Layer.Layer<Sandbox, EngineUnavailable, DockerClient> =>
  Layer.effect(Sandbox, makeDockerSandbox(options))

/** SWE_GYM_EXEC_SESSION: "0" or "false" makes every command a plain Docker exec (default: exec sessions). */
export const execSessionSetting: Effect.Effect<boolean> = Config.string("SWE_GYM_EXEC_SESSION").pipe(
  Config.withDefault("1"),
  Effect.map((value) => !["0", "false", "no", "off"].includes(value.trim().toLowerCase())),
  Effect.orElseSucceed(() => true),
)

/** The Docker Sandbox from the environment: DOCKER_HOST for the engine, SWE_GYM_RUN_ID for the run id (default fresh). */
export const DockerSandboxLive: Layer.Layer<Sandbox, EngineUnavailable> = Layer.unwrapEffect(
  Effect.all([
    Config.option(Config.nonEmptyString("SWE_GYM_RUN_ID")).pipe(Effect.orElseSucceed(() => Option.none<string>())),
    execSessionSetting,
  ]).pipe(
    Effect.map(([runId, execSession]) => dockerSandboxLayer({ ...(Option.isSome(runId) ? { runId: runId.value } : {}), execSession })),
  ),
).pipe(Layer.provide(DockerClientLive))
