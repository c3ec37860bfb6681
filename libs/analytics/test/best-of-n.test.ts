// Pass@k and Best@k on hand-made samples, and the unbiased estimator against the random-subset mean.
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Effect, Stream } from "effect"
import { analyticsMigrations, curves, type GradedSample, passAtK, passAtKCurves } from "../src/index.js"
import { writeFixture } from "./analysis-fixture.js"

const s = (resolved: boolean, score: number | null = null): GradedSample => ({ resolved, score })

describe("passAtK", () => {
  it("1 − C(n−c, k)/C(n, k)", () => {
    expect(passAtK(4, 1, 2)).toBeCloseTo(1 - 3 / 6, 12) // C(3,2)=3, C(4,2)=6
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 12) // C(3,2)=3, C(5,2)=10
    expect(passAtK(3, 0, 3)).toBe(0)
    expect(passAtK(2, 2, 1)).toBe(1)
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 12)
    expect(passAtK(3, 1, 3)).toBe(1)
    expect(() => passAtK(2, 1, 3)).toThrow(RangeError)
  })
})

describe("curves", () => {
  const instances = [
    [s(true, 0.9), s(false, 0.1), s(false, 0.5)], // highest score resolved
    [s(false, 0.8), s(true, 0.2), s(false, 0.3)], // highest score not resolved
    [s(false, 0.4), s(false, 0.6)], // never resolved, only 2 samples
  ]

  it("k = n draws every sample: Pass@k and Best@k are exact with std 0; instances with fewer than k samples are left out", () => {
    const points = curves(instances, { maxK: 3, trials: 20, seed: "x" })
    const k3 = points.find((p) => p.k === 3)
    expect(k3).toEqual({ k: 3, instances: 2, pass_at_k: 1, pass_at_k_mean: 1, pass_at_k_std: 0, best_at_k_mean: 0.5, best_at_k_std: 0 })
    // k = 1: pass@1 = mean of c/n over the 3 instances = (1/3 + 1/3 + 0) / 3.
    expect(points[0]?.pass_at_k).toBeCloseTo(2 / 9, 12)
    expect(points[0]?.instances).toBe(3)
  })

  it("Best@k is null when a drawn sample has no score", () => {
    const points = curves([[s(true), s(false)]], { maxK: 2, trials: 5 })
    expect(points.map((p) => p.best_at_k_mean)).toEqual([null, null])
  })

  it("the unbiased estimator agrees with the mean over random subsets within sampling error; the seed fixes the draws", () => {
    const many = Array.from({ length: 40 }, (_, i) => Array.from({ length: 8 }, (_, j) => s((i * 7 + j * 3) % 5 === 0)))
    const trials = 2000
    for (const p of curves(many, { maxK: 8, trials, seed: "7" })) {
      // Standard error of a mean of `trials` draws.
      expect(Math.abs(p.pass_at_k_mean - p.pass_at_k)).toBeLessThanOrEqual(4 * p.pass_at_k_std / Math.sqrt(trials) + 1e-12)
    }
    expect(curves(many, { maxK: 3, trials: 50, seed: "a" })).toEqual(curves(many, { maxK: 3, trials: 50, seed: "a" }))
    expect(curves(many, { maxK: 3, trials: 50, seed: "a" })).not.toEqual(curves(many, { maxK: 3, trials: 50, seed: "b" }))
  })
})

describe("passAtKCurves", () => {
  it.live("per model from the store, graded trajectories only, with the named verifier's scores", () =>
    Effect.gen(function*() {
      yield* writeFixture
      const store = yield* Store
      // Model A's graded samples: o__r1-1 3 of 3 resolved, o__r0-2 0 of 1 graded, o__r0-3 0 of 1, o__r0-4 1 of 1.
      yield* store.append("analytics_verifier_scores", Stream.fromIterable(
        ["run-A/o__r1-1/0", "run-A/o__r1-1/1", "run-A/o__r1-1/2", "run-A/o__r0-2/0", "run-A/o__r0-3/0", "run-A/o__r0-4/0"].map((trajectory_id, i) => ({
          trajectory_id,
          verifier: "v",
          p_yes: i / 10,
          scored_at: new Date(),
        })),
      ))
      const rows = yield* passAtKCurves({ maxK: 3, trials: 10, verifier: "v" })
      expect(rows.map((r) => [r.model, r.k, r.instances, r.pass_at_k])).toEqual([["A", 1, 4, 2 / 4], ["A", 2, 1, 1], ["A", 3, 1, 1]])
      expect(rows[0]?.best_at_k_mean).toBe(0.5)
      expect(yield* passAtKCurves({ maxK: 1, trials: 10 })).toMatchObject([{ model: "A", k: 1, best_at_k_mean: null }])
    }).pipe(Effect.provide(Store.layer({ path: ":memory:", migrations: analyticsMigrations }))))
})
