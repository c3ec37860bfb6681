// Shared by the sandbox and cleanup tests: the test image (swe-gym's Python base image) and a per-file run id.
import { it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import type { Scope } from "effect"
import { baseImageTag, pythonBaseRecipe } from "../src/base-image.js"
import { DockerClient, DockerClientLive, dockerSandboxLayer } from "../src/docker-sandbox.js"
import { ManagedLabel, RunLabel } from "../src/labels.js"
import { freshRunId } from "../src/sandbox.js"
import type { Sandbox } from "../src/sandbox.js"

/** The image the tests run in: swe-gym's Python base image, which `npm run setup` builds. */
export const testImage = baseImageTag(pythonBaseRecipe)

/** Fails with the reason (never skips) when the test image is not on the engine. */
export const requireTestImage = Effect.gen(function* () {
  const { docker, endpoint } = yield* DockerClient
  yield* Effect.tryPromise(() => docker.getImage(testImage).inspect()).pipe(
    Effect.mapError(() =>
      new Error(`test image ${testImage} is not on the Docker engine at ${endpoint}: run npm run setup (it builds the base image)`)),
  )
})

/** A run id unique to one test file, so parallel test files never see each other's containers. */
export const testRunId = (file: string): string => `test-${file}-${freshRunId()}`

/** Sandbox + DockerClient for one run id; building it fails when the engine or the test image is missing. */
export const testLayer = (runId: string, execSession = true) =>
  dockerSandboxLayer({ runId, execSession }).pipe(
    Layer.provideMerge(Layer.effectDiscard(requireTestImage).pipe(Layer.provideMerge(DockerClientLive))),
  )

/** Ids of the containers on the engine carrying this run's labels (any state). */
export const containersOfRun = (runId: string) =>
  Effect.gen(function* () {
    const { docker } = yield* DockerClient
    const found = yield* Effect.promise(() =>
      docker.listContainers({ all: true, filters: { label: [`${ManagedLabel}=true`, `${RunLabel}=${runId}`] } }))
    return found.map((c) => c.Id)
  })

/** Whether a container still exists on the engine. */
export const containerExists = (id: string) =>
  Effect.gen(function* () {
    const { docker } = yield* DockerClient
    return yield* Effect.promise(() =>
      docker.getContainer(id).inspect().then(() => true, (e: unknown) => {
        if (typeof e === "object" && e !== null && "statusCode" in e && e.statusCode === 404) return false
        throw e
      }))
  })

/**
 * A test on real time with its own Sandbox layer: a missing engine or image fails each test with the reason
 * (a shared layer failing in beforeAll would show the tests as skipped).
 */
export const liveTest =
  (runId: string, execSession = true) =>
  (name: string, body: () => Effect.Effect<void, unknown, Sandbox | DockerClient | Scope.Scope>) =>
    it.scopedLive(name, () => body().pipe(Effect.provide(testLayer(runId, execSession))))
