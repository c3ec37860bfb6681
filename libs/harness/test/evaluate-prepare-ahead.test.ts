// evaluate prepares ahead: at concurrency 1 the next prediction's container is created and prepared while one runs its
// tests, never two test runs at once, and the results are the ones of preparing each prediction in its slot. And a
// result leaves the stage as soon as it is stored, never held behind a slower prediction ahead of it.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Chunk, Effect, Layer, Stream } from "effect"
import { join } from "node:path"
import { loadSpecs } from "../src/environment-spec-files.js"
import { evaluate, goldPredictions } from "../src/evaluate.js"
import { evaluationMigrations } from "../src/evaluation-store.js"
import { harnessMigrations } from "../src/validation-store.js"
import { appendIn, calc, evaluated, layers, Long, patchOf, predict, run, specsDir, validInstances } from "./evaluate-fixtures.js"
import { dockerLayer, environmentsLayer, type Overlap, tempDir, trackOverlap } from "./harness-fixtures.js"

const calcInstances = validInstances.filter((i) => i.repo === "sample/calc")

const runTracked = (prepareAhead: number) =>
  Effect.gen(function* () {
    const o: Overlap = { live: 0, maxLive: 0, tests: 0, maxTests: 0 }
    const specs = yield* loadSpecs(specsDir)
    const records = yield* Stream.fromIterable(goldPredictions(calcInstances)).pipe(
      evaluate(calcInstances, { runId: "ahead", concurrency: 1, prepareAhead }),
      Stream.runCollect,
      Effect.provide(environmentsLayer({ specs })),
      Effect.provide(Layer.mergeAll(
        dockerLayer({ created: 0 }, undefined, trackOverlap(o)),
        Store.layer({ path: join(tempDir("swe-gym-eval-ahead-"), "eval.duckdb"), migrations: [...harnessMigrations, ...evaluationMigrations] }).pipe(Layer.orDie),
      )),
    )
    const results = evaluated(Chunk.toReadonlyArray(records))
      .map((e) => [e.result.instance_id, e.result.outcome, e.result.report] as const)
      .sort(([a], [b]) => a.localeCompare(b))
    return { o, results }
  }).pipe(Effect.provide(NodeContext.layer))

describe("evaluate prepares ahead (Docker)", () => {
  it.live("at concurrency 1 the next prediction's container is prepared while one runs its tests; never two test runs at once; the same results", () =>
    Effect.gen(function* () {
      const ahead = yield* runTracked(1)
      const inSlot = yield* runTracked(0)
      expect(ahead.results).toHaveLength(calcInstances.length)
      expect(ahead.results.every(([, outcome]) => outcome === "resolved")).toBe(true)
      expect(ahead.results).toEqual(inSlot.results)
      expect(ahead.o).toMatchObject({ maxTests: 1, maxLive: 2 })
      expect(inSlot.o).toMatchObject({ maxTests: 1, maxLive: 1 })
    }), Long.timeout)

  it.live("a result is emitted as soon as it is stored: a fast prediction is not held behind a slow one ahead of it", () =>
    Effect.gen(function* () {
      // The same fix twice; the first one's module sleeps 8 s on import, so its tests end long after the second's.
      const slow = predict(calc, patchOf(calc, (d) => appendIn(d, "calc/__init__.py", "import time\ntime.sleep(8)\n"), { withGold: true }), "slow")
      const fast = predict(calc, calc.patch, "fast")
      const order: Array<string> = []
      const records = yield* run([slow, fast], { concurrency: 2, onProgress: (e) => Effect.sync(() => {
        if (e._tag === "PredictionEvaluated") order.push(e.evaluated.result.model_name_or_path)
      }) })
      const emitted = evaluated(records).map((e) => e.result.model_name_or_path)
      // Stored (and reported) fast first; the stage's output must follow that order, not the input's.
      expect(order).toEqual(["fast", "slow"])
      expect(emitted).toEqual(["fast", "slow"])
      expect(evaluated(records).every((e) => e.result.outcome === "resolved")).toBe(true)
    }).pipe(Effect.provide(layers({ created: 0 }))), Long.timeout)
})
