// The HTML report on the hand-made fixture: the page holds Chart.js and the charts' data, nothing to fetch; the data
// is checked against values worked out by hand.
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Effect, Layer } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { analyticsMigrations, histogram, sharedHistograms, writeReport } from "../src/index.js"
import { writeFixture } from "./analysis-fixture.js"

describe("histogram", () => {
  it("one bin per value for small integer ranges, equal widths otherwise, the maximum in the last bin", () => {
    expect(histogram([3, 4, 2, 4, 1, 3, 2, 0])).toEqual([
      { from: 0, to: 1, count: 1 },
      { from: 1, to: 2, count: 1 },
      { from: 2, to: 3, count: 2 },
      { from: 3, to: 4, count: 2 },
      { from: 4, to: 5, count: 2 },
    ])
    expect(histogram([0, 10, 100], 4)).toEqual([
      { from: 0, to: 25, count: 2 },
      { from: 25, to: 50, count: 0 },
      { from: 50, to: 75, count: 0 },
      { from: 75, to: 100, count: 1 },
    ])
    expect(histogram([])).toEqual([])
    expect(histogram([2.5, 2.5])).toEqual([{ from: 2.5, to: 3.5, count: 2 }])
    expect(sharedHistograms([{ key: "a", values: [1, 2] }, { key: "b", values: [4] }])).toEqual([
      { key: "a", bins: [{ from: 1, to: 2, count: 1 }, { from: 2, to: 3, count: 1 }, { from: 3, to: 4, count: 0 }, { from: 4, to: 5, count: 0 }] },
      { key: "b", bins: [{ from: 1, to: 2, count: 0 }, { from: 2, to: 3, count: 0 }, { from: 3, to: 4, count: 0 }, { from: 4, to: 5, count: 1 }] },
    ])
  })
})

describe("writeReport", () => {
  it.live("one self-contained page: Chart.js inlined, no external resource, the charts' data as computed by hand", () => {
    const dir = mkdtempSync(join(tmpdir(), "analytics-report-"))
    return Effect.gen(function*() {
      yield* writeFixture
      const file = yield* writeReport(join(dir, "report"))
      const page = readFileSync(file, "utf8")
      expect(page.includes("Chart.js v4.6.1")).toBe(true)
      // Outside the inlined scripts the page names no resource at all: nothing to fetch when it is viewed.
      const markup = page.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, "$1</script>")
      expect(markup.match(/<script[^>]*>/g)).toEqual(['<script type="application/json" id="report-data">', "<script>", "<script>"])
      expect(/\b(src|href)=|https?:|url\(/.test(markup)).toBe(false)
      const block = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page)?.[1] ?? ""
      const data = JSON.parse(block)
      expect(["chart-success", "chart-passk", "chart-exit", "chart-turns", "chart-tokens"].every((id) => page.includes(`<canvas id="${id}">`))).toBe(true)
      // Figure 3 as in the analyses test.
      expect(data.successDistribution).toEqual([
        { model: "A", successes: 0, instances: 2 },
        { model: "A", successes: 1, instances: 1 },
        { model: "A", successes: 2, instances: 0 },
        { model: "A", successes: 3, instances: 1 },
      ])
      // Turns: A 3 4 2 4 1 3 2, B 0; both over the shared bins 0..4.
      const bins = (counts: ReadonlyArray<number>) => counts.map((count, from) => ({ from, to: from + 1, count }))
      expect(data.turns).toEqual([
        { model: "A", bins: bins([0, 1, 2, 2, 2]) },
        { model: "B", bins: bins([1, 0, 0, 0, 0]) },
      ])
      // Tokens over the shared range 100..700 in 20 bins of 30: qwen3 only for o__r1-1/0 (100); reported usage 500, 700.
      expect(data.tokens.map((t: { source: string }) => t.source)).toEqual(["qwen3", "reported usage"])
      expect(data.tokens[0].bins).toHaveLength(20)
      expect(data.tokens[0].bins[0]).toEqual({ from: 100, to: 130, count: 1 })
      expect(data.tokens[1].bins[13]).toEqual({ from: 490, to: 520, count: 1 })
      expect(data.tokens[1].bins[19]).toEqual({ from: 670, to: 700, count: 1 })
      expect(data.tokens[1].bins.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(2)
      // Exit reasons: every fixture trajectory is "submitted"; A 7 of which 4 resolved, B 1.
      expect(data.exitReasons).toEqual([
        { model: "A", exit_reason: "submitted", trajectories: 7, resolved: 4 },
        { model: "B", exit_reason: "submitted", trajectories: 1, resolved: 0 },
      ])
      // Pass@k up to 3 (o__r1-1 has 3 graded samples); Pass@1 = (3/3 + 0 + 0 + 1/1) / 4.
      expect(data.passAtK.map((r: { k: number; pass_at_k: number }) => [r.k, r.pass_at_k])).toEqual([[1, 0.5], [2, 1], [3, 1]])
      expect(data.table3).toHaveLength(2)
    }).pipe(
      Effect.provide(Layer.merge(Store.layer({ path: ":memory:", migrations: analyticsMigrations }), NodeFileSystem.layer)),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
    )
  })
})
