// Faults around validation, for real: a test command past its timeout, invalid UTF-8 and output past the cap; engine
// faults retried and then reported as infrastructure_error (never stored); an interrupted run leaves no container and
// its re-run finishes only the rest.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { DockerClient, EngineError, RunLabel, freshRunId } from "@swe-gym/sandbox"
import { Chunk, Effect, Fiber, Layer, Option, Stream } from "effect"
import { join } from "node:path"
import { ensureEnvironmentImage } from "../src/environment-image.js"
import { InstanceLabel, prepareInstance } from "../src/instance-container.js"
import { runTests } from "../src/test-run.js"
import { assignSetupCommits, validate, type Validated } from "../src/validate.js"
import { findValidation } from "../src/validation-store.js"
import { candidateOf, type CreateDecorator, dockerLayer, environmentsLayer, expectedPull, mirrorPath, newestCommit, sampleCandidates, storeLayer, tempDir, testSpec } from "./harness-fixtures.js"

const spec = testSpec({ repo: "sample/calc" })

describe("runTests (Docker)", () => {
  it.live("a run past its timeout is killed and reported as timed out; invalid UTF-8 is replaced; the output is capped", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const newest = newestCommit(mirror)
      const image = yield* ensureEnvironmentImage({ repo: "sample/calc", version: "0.1", setupCommit: newest, spec, mirror }, { logDir: tempDir("swe-gym-logs-") })
      yield* Effect.scoped(Effect.gen(function* () {
        const { container } = yield* prepareInstance(candidateOf(expectedPull("sample__calc-2")), image)
        const real = yield* runTests(container, spec, ["tests/test_ops.py"])
        expect(real).toMatchObject({ exitCode: 0, timedOut: false })
        expect(real.parsed.statuses["tests/test_ops.py::test_add"]).toBe("PASSED")
        expect(real.command).toBe("python3 -m pytest -rA -p no:cacheprovider tests/test_ops.py")

        const slow = yield* runTests(container, { ...spec, test_command: "echo started; sleep 60" }, [], { timeoutSeconds: 2 })
        expect(slow).toMatchObject({ exitCode: null, timedOut: true })
        expect(slow.log).toContain("started")
        expect(slow.log).toContain("killed after 2 s")

        const bytes = yield* runTests(container, { ...spec, test_command: "printf 'PASSED tests/x.py::t \\377\\376 end\\n'; exit 1" }, [])
        expect(bytes.exitCode).toBe(1)
        expect(bytes.log).toContain("\uFFFD")
        expect(bytes.log).toContain("end")

        const flood = yield* runTests(container, { ...spec, test_command: "yes 0123456789 | head -c 300000; echo; echo the-end" }, [], { maxOutputBytes: 64 * 1024 })
        expect(flood.outputTruncated).toBe(true)
        expect(flood.log.length).toBeLessThan(100_000)
        expect(flood.log).toContain("the-end")
      }))
    }).pipe(Effect.provide(dockerLayer())), 300_000)
})

/** Instance containers fail to start `failures` times (an engine fault), then start normally. */
const faultyInstances = (failures: number): CreateDecorator => {
  let left = failures
  return (create) => (containerSpec) =>
    containerSpec.labels?.[InstanceLabel] !== undefined && left-- > 0
      ? Effect.fail(new EngineError({ operation: "create", detail: "injected engine fault", hint: "test" }))
      : create(containerSpec)
}

describe("validate under faults (Docker)", () => {
  const candidate = assignSetupCommits(sampleCandidates()).find((c) => c.instance_id === "sample__calc-6")
  if (candidate === undefined) throw new Error("sample__calc-6 expected in the sample")
  const environments = environmentsLayer()

  const validateWith = (failures: number, db: string) =>
    Stream.make(candidate).pipe(
      validate({ retries: 2, retryBase: "10 millis" }),
      Stream.runCollect,
      Effect.map((c) => Chunk.toReadonlyArray(c)[0]),
      Effect.provide(environments),
      Effect.provide(Layer.mergeAll(dockerLayer({ created: 0 }, undefined, faultyInstances(failures)), storeLayer(db), NodeContext.layer)),
    )

  it.live("an engine fault is retried: two failures, then the verdict", () =>
    Effect.gen(function* () {
      const result = yield* validateWith(2, join(tempDir("swe-gym-faults-"), "v.duckdb"))
      expect(result?.result).toMatchObject({ kept: true, reason: "valid" })
    }), 300_000)

  it.live("a persistent engine fault ends as infrastructure_error after the retries, and is not stored", () =>
    Effect.gen(function* () {
      const db = join(tempDir("swe-gym-faults-"), "v.duckdb")
      const result = yield* validateWith(100, db)
      expect(result?.result).toMatchObject({ kept: false, reason: "infrastructure_error" })
      expect(result?.result.detail).toContain("injected engine fault")
      expect(result?.result.detail).toContain("after 3 attempts")
      const stored = yield* findValidation(result?.result.key ?? "").pipe(Effect.provide(storeLayer(db)))
      expect(Option.isNone(stored)).toBe(true)
    }), 300_000)

  it.live("interrupting a run removes its containers; the re-run validates only what was not finished", () =>
    Effect.gen(function* () {
      const db = join(tempDir("swe-gym-interrupt-"), "v.duckdb")
      const runId = `test-harness-interrupt-${freshRunId()}`
      const candidates = assignSetupCommits(sampleCandidates())
      const finished: Array<Validated> = []
      const layer = Layer.mergeAll(dockerLayer({ created: 0 }, runId), storeLayer(db), NodeContext.layer)
      const counts = yield* Effect.gen(function* () {
        const fiber = yield* Stream.fromIterable(candidates).pipe(
          validate({ concurrency: 2 }),
          Stream.tap((v) => Effect.sync(() => finished.push(v))),
          Stream.runDrain,
          Effect.provide(environments),
          Effect.fork,
        )
        // Interrupt once the first verdict is in and others are running.
        while (finished.length === 0) yield* Effect.sleep("200 millis")
        yield* Fiber.interrupt(fiber)
        const { docker } = yield* DockerClient
        const left = yield* Effect.promise(() => docker.listContainers({ all: true, filters: { label: [`${RunLabel}=${runId}`] } }))
        return { left: left.length, finished: finished.length }
      }).pipe(Effect.provide(layer))
      expect(counts.left).toBe(0)
      expect(counts.finished).toBeLessThan(candidates.length)

      const rerun = yield* Stream.fromIterable(candidates).pipe(
        validate({ concurrency: 2 }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(environments),
        Effect.provide(Layer.mergeAll(dockerLayer(), storeLayer(db), NodeContext.layer)),
      )
      // Every verdict the first run delivered is answered from the store (one that was stored just as the interruption
      // came may be too); the rest are validated now.
      const cached = rerun.filter((v) => v.cached).map((v) => v.result.instance_id)
      for (const v of finished) expect(cached).toContain(v.result.instance_id)
      expect(cached.length).toBeLessThan(candidates.length)
      expect(rerun).toHaveLength(candidates.length)
    }), 600_000)
})
