// Each named analysis on the hand-made fixture (test/analysis-fixture.ts), with the answers worked out by hand here.
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { analyticsMigrations, runAnalysis } from "../src/index.js"
import { writeFixture } from "./analysis-fixture.js"

const withFixture = <A, E>(body: Effect.Effect<A, E, Store>) =>
  Effect.gen(function*() {
    yield* writeFixture
    return yield* body
  }).pipe(Effect.provide(Store.layer({ path: ":memory:", migrations: analyticsMigrations })))

const md5 = (text: string) => createHash("md5").update(text).digest("hex")

describe("table3", () => {
  it.live("rates per model and dataset; a model with nothing graded has no resolve rate", () =>
    withFixture(Effect.gen(function*() {
      const rows = yield* runAnalysis("table3")
      expect(rows).toHaveLength(2)
      const [a, b] = rows
      // A: 7 trajectories, 6 graded (o__r0-2/1 is not), 4 resolved; one empty patch ("  \n");
      // paper rule: o__r1-1/1 (q q q), o__r0-2/0 (m m m m), o__r0-3/0 (k k k) → 3 of 7;
      // OpenHands: o__r1-1/1 (three identical erroring actions), o__r0-2/0 (four identical pairs) → 2 of 7
      // (o__r0-3/0 repeats k three times, but without errors and only three times);
      // turns 3+4+2+4+1+3+2 = 19.
      expect(a).toMatchObject({ model: "A", dataset: "d1", trajectories: 7, graded: 6, resolved: 4 })
      expect(a?.["resolve_rate"]).toBeCloseTo(4 / 6, 12)
      expect(a?.["empty_patch_rate"]).toBeCloseTo(1 / 7, 12)
      expect(a?.["stuck_in_loop_paper_rate"]).toBeCloseTo(3 / 7, 12)
      expect(a?.["stuck_in_loop_openhands_rate"]).toBeCloseTo(2 / 7, 12)
      expect(a?.["avg_turns"]).toBeCloseTo(19 / 7, 12)
      expect(b).toEqual({
        model: "B",
        dataset: null,
        trajectories: 1,
        graded: 0,
        resolved: 0,
        resolve_rate: null,
        empty_patch_rate: 0,
        stuck_in_loop_paper_rate: 0,
        stuck_in_loop_openhands_rate: 0,
        avg_turns: 0,
      })
    })))
})

describe("success-distribution (Figure 3)", () => {
  it.live("instances per number of successes over graded rounds, 0..N, empty buckets included; a model with nothing graded has no rows", () =>
    withFixture(Effect.gen(function*() {
      // Graded rounds only. A: o__r1-1 3 of 3, o__r0-2 0 of 1 (its sample 1 is ungraded), o__r0-3 0 of 1, o__r0-4 1 of 1;
      // N = 3. B has no graded trajectory, so no rows.
      expect(yield* runAnalysis("success-distribution")).toEqual([
        { model: "A", successes: 0, instances: 2 },
        { model: "A", successes: 1, instances: 1 },
        { model: "A", successes: 2, instances: 0 },
        { model: "A", successes: 3, instances: 1 },
      ])
    })))
})

describe("capped-successes (Table 4)", () => {
  it.live("at most k per instance, fewest LLM calls first, ties by trajectory id", () =>
    withFixture(Effect.gen(function*() {
      // o__r1-1's successes: sample 1 (5 calls), sample 2 (5 calls), sample 0 (10 calls).
      expect(yield* runAnalysis("capped-successes", { k: 2 })).toEqual([
        { model: "A", instance_id: "o__r0-4", trajectory_id: "run-A/o__r0-4/0", llm_calls: 7, rank: 1 },
        { model: "A", instance_id: "o__r1-1", trajectory_id: "run-A/o__r1-1/1", llm_calls: 5, rank: 1 },
        { model: "A", instance_id: "o__r1-1", trajectory_id: "run-A/o__r1-1/2", llm_calls: 5, rank: 2 },
      ])
      expect(yield* runAnalysis("capped-successes", { k: 0 })).toEqual([])
    })))
})

describe("dedup and first-percent (Table 7)", () => {
  it.live("one success per instance chosen by md5(seed:id); the first X% by repository or by seeded random order", () =>
    withFixture(Effect.gen(function*() {
      const candidates = ["run-A/o__r1-1/0", "run-A/o__r1-1/1", "run-A/o__r1-1/2"]
      for (const seed of ["0", "7", "abc"]) {
        const chosen = [...candidates].sort((x, y) => md5(`${seed}:${x}`).localeCompare(md5(`${seed}:${y}`)))[0]
        expect(yield* runAnalysis("dedup", { seed })).toEqual([
          { model: "A", instance_id: "o__r0-4", repo: "o/r0", trajectory_id: "run-A/o__r0-4/0" },
          { model: "A", instance_id: "o__r1-1", repo: "o/r1", trajectory_id: chosen },
        ])
      }
      // Two instances with a success: by repository o/r0 (o__r0-4) comes first; 50% of 2 → 1, 60% → ceil(1.2) = 2.
      const byRepo50 = yield* runAnalysis("first-percent", { order: "repository", percent: 50 })
      expect(byRepo50.map((r) => [r["position"], r["instance_id"]])).toEqual([[1, "o__r0-4"]])
      const byRepo60 = yield* runAnalysis("first-percent", { order: "repository", percent: 60 })
      expect(byRepo60.map((r) => r["instance_id"])).toEqual(["o__r0-4", "o__r1-1"])
      expect(yield* runAnalysis("first-percent", { order: "repository", percent: 0 })).toEqual([])
      for (const seed of ["1", "2", "3", "4"]) {
        const first = ["o__r0-4", "o__r1-1"].sort((x, y) => md5(`${seed}:${x}`).localeCompare(md5(`${seed}:${y}`)))[0]
        const random50 = yield* runAnalysis("first-percent", { order: "random", percent: 50, seed })
        expect(random50.map((r) => r["instance_id"])).toEqual([first])
      }
    })))
})

describe("table8", () => {
  it.live("count, mean, std, min, max and percentiles of messages and tokens, resolved vs not; empty groups have count 0", () =>
    withFixture(Effect.gen(function*() {
      const rows = yield* runAnalysis("table8")
      const find = (metric: string, outcome: string) => rows.find((r) => r["metric"] === metric && r["outcome"] === outcome)
      // Messages of the resolved: 4, 6, 10, 8 → sorted 4 6 8 10; mean 7; sample std sqrt((9+1+9+1)/3);
      // linear percentiles at position p·(n−1): p5 0.15 → 4.3, p10 0.3 → 4.6, p25 0.75 → 5.5, p50 1.5 → 7,
      // p75 2.25 → 8.5, p90 2.7 → 9.4, p95 2.85 → 9.7.
      const resolved = find("messages", "resolved")
      expect(resolved).toMatchObject({ count: 4, min: 4, max: 10 })
      const expected = { mean: 7, std: Math.sqrt(20 / 3), p5: 4.3, p10: 4.6, p25: 5.5, p50: 7, p75: 8.5, p90: 9.4, p95: 9.7 }
      for (const [k, v] of Object.entries(expected)) expect(resolved?.[k]).toBeCloseTo(v, 9)
      // Unresolved: 3 and 5. Ungraded: 2 (A) and 1 (B).
      expect(find("messages", "unresolved")).toMatchObject({ count: 2, mean: 4, min: 3, max: 5, p50: 4 })
      expect(find("messages", "unresolved")?.["std"]).toBeCloseTo(Math.SQRT2, 12)
      expect(find("messages", "ungraded")).toMatchObject({ count: 2, mean: 1.5, min: 1, max: 2 })
      // Tokens by qwen3: only o__r1-1/0 has all its messages counted (10+20+30+40): one value, no std.
      expect(find("tokens (qwen3)", "resolved")).toMatchObject({ count: 1, mean: 100, std: null, min: 100, max: 100, p5: 100, p95: 100 })
      expect(find("tokens (qwen3)", "unresolved")).toMatchObject({ count: 0, mean: null, min: null, p50: null })
      // Reported usage: 500 and 700 among the resolved.
      expect(find("tokens (reported usage)", "resolved")).toMatchObject({ count: 2, mean: 600, min: 500, max: 700, p50: 600 })
      expect(rows).toHaveLength(9)
    })))
})

describe("runAnalysis", () => {
  it.live("an unknown name fails with the list of names", () =>
    withFixture(Effect.gen(function*() {
      const error = yield* Effect.flip(runAnalysis("table9"))
      expect(error._tag).toBe("UnknownAnalysis")
      expect(error.message).toContain("table3")
    })))
})
