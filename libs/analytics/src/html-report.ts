// `report`: one self-contained HTML page of the analyses — tables, and charts drawn by Chart.js whose minified source
// is inlined into the page (nothing is fetched when the page is viewed). The charts' data sits in the page as one JSON
// block (`<script type="application/json" id="report-data">`), which is what the charts draw and what tests read.
import { FileSystem } from "@effect/platform"
import { Store } from "@swe-gym/store"
import { Effect, Schema } from "effect"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { runAnalysis } from "./analyses.js"
import { passAtKCurves } from "./best-of-n.js"
import { messageTokensTable, outcomesView } from "./tables.js"

/** One bar of a histogram: values v with from ≤ v < to (the last bin includes its upper edge). */
export interface HistogramBin {
  readonly from: number
  readonly to: number
  readonly count: number
}

/**
 * A histogram of `values` in at most `maxBins` bins of equal width. Integer data spanning at most `maxBins` values gets
 * one bin per value; otherwise the width is (max − min) / maxBins.
 */
export const histogram = (
  values: ReadonlyArray<number>,
  maxBins = 20,
  range?: { readonly min: number; readonly max: number; readonly integers: boolean },
): Array<HistogramBin> => {
  if (values.length === 0) return []
  let min = range?.min ?? Infinity
  let max = range?.max ?? -Infinity
  if (range === undefined) {
    for (const v of values) {
      if (v < min) min = v
      if (v > max) max = v
    }
  }
  const integers = range?.integers ?? values.every((v) => Number.isInteger(v))
  const width = integers && max - min + 1 <= maxBins ? 1 : max === min ? 1 : (max - min) / maxBins
  const count = integers && width === 1 ? max - min + 1 : max === min ? 1 : maxBins
  const bins = Array.from({ length: count }, (_, i) => ({ from: min + i * width, to: min + (i + 1) * width, count: 0 }))
  for (const v of values) {
    const i = Math.min(count - 1, Math.floor((v - min) / width))
    const bin = bins[i]
    if (bin !== undefined) bin.count += 1
  }
  return bins
}

/** Histograms of several series over the same bins (the range of all their values), so one chart can compare them. */
export const sharedHistograms = <K extends string>(
  series: ReadonlyArray<{ readonly key: K; readonly values: ReadonlyArray<number> }>,
  maxBins = 20,
): Array<{ readonly key: K; readonly bins: ReadonlyArray<HistogramBin> }> => {
  const all = series.flatMap((s) => s.values)
  if (all.length === 0) return series.map((s) => ({ key: s.key, bins: [] }))
  const range = { min: Math.min(...all), max: Math.max(...all), integers: all.every((v) => Number.isInteger(v)) }
  return series.map((s) => ({ key: s.key, bins: histogram(s.values, maxBins, range) }))
}

/** Everything the page shows. */
export interface ReportData {
  readonly generatedAt: string
  readonly table3: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly successDistribution: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly exitReasons: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly passAtK: ReadonlyArray<Readonly<Record<string, unknown>>>
  readonly turns: ReadonlyArray<{ readonly model: string; readonly bins: ReadonlyArray<HistogramBin> }>
  readonly tokens: ReadonlyArray<{ readonly model: string; readonly source: string; readonly bins: ReadonlyArray<HistogramBin> }>
}

const Values = Schema.Struct({ model: Schema.String, values: Schema.Array(Schema.Number) })
const MaxSamples = Schema.Struct({ k: Schema.NullOr(Schema.Number) })

/** Gathers the report's data from the store (Pass@k up to the largest number of graded samples of an instance, at most 10). */
export const reportData = Effect.fn("analytics.reportData")(function*(options: { readonly verifier?: string; readonly tokenizer?: string } = {}) {
  const store = yield* Store
  const [max] = yield* store.query(
    `SELECT CAST(max(n) AS INTEGER) AS k FROM (SELECT count(*) AS n FROM ${outcomesView} WHERE resolved IS NOT NULL GROUP BY model, instance_id)`,
    [],
    MaxSamples,
  )
  const turns = yield* store.query(
    `SELECT model, list(turns::DOUBLE ORDER BY trajectory_id) AS values FROM ${outcomesView} GROUP BY model ORDER BY model`,
    [],
    Values,
  )
  const tokenizer = options.tokenizer ?? "qwen3"
  const counted = yield* store.query(
    `WITH tok AS (SELECT trajectory_id, sum(tokens) AS tokens, count(*) AS n FROM ${messageTokensTable} WHERE tokenizer = ? GROUP BY trajectory_id)
     SELECT o.model, list(tok.tokens::DOUBLE ORDER BY o.trajectory_id) AS values
     FROM ${outcomesView} o JOIN tok USING (trajectory_id) WHERE tok.n = o.messages GROUP BY o.model ORDER BY o.model`,
    [tokenizer],
    Values,
  )
  const reported = yield* store.query(
    `SELECT model, list(final_context_tokens::DOUBLE ORDER BY trajectory_id) AS values FROM ${outcomesView}
     WHERE final_context_tokens IS NOT NULL GROUP BY model ORDER BY model`,
    [],
    Values,
  )
  const data: ReportData = {
    generatedAt: new Date().toISOString(),
    table3: yield* runAnalysis("table3"),
    successDistribution: yield* runAnalysis("success-distribution"),
    exitReasons: yield* runAnalysis("exit-reasons"),
    passAtK: max?.k == null ? [] : yield* passAtKCurves({ maxK: Math.min(10, max.k), ...(options.verifier === undefined ? {} : { verifier: options.verifier }) }),
    turns: sharedHistograms(turns.map((r) => ({ key: r.model, values: r.values }))).map((h) => ({ model: h.key, bins: h.bins })),
    tokens: sharedHistograms([
      ...counted.map((r) => ({ key: `${r.model}\u0000${tokenizer}`, values: r.values })),
      ...reported.map((r) => ({ key: `${r.model}\u0000reported usage`, values: r.values })),
    ]).map((h) => {
      const [model = "", source = ""] = h.key.split("\u0000")
      return { model, source, bins: h.bins }
    }),
  }
  return data
})

const escapeHtml = (text: string): string =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;")

const cell = (v: unknown): string =>
  escapeHtml(v === null || v === undefined ? "—" : typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : typeof v === "string" ? v : JSON.stringify(v))

const htmlTable = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string => {
  const first = rows[0]
  if (first === undefined) return "<p>(no rows)</p>"
  const columns = Object.keys(first)
  // Column names are long snake_case words: a header may break after an underscore, so a wide table fits the page.
  return `<table><thead><tr>${columns.map((c) => `<th>${escapeHtml(c).replaceAll("_", "_<wbr>")}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${columns.map((c) => `<td>${cell(r[c])}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`
}

// Draws every chart from the data block; runs in the page.
const chartsScript = `
const data = JSON.parse(document.getElementById("report-data").textContent);
const palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"];
const models = (rows) => [...new Set(rows.map((r) => r.model))];
const bar = (id, labels, datasets, stacked) => new Chart(document.getElementById(id), {
  type: "bar", data: { labels, datasets },
  options: { animation: false, scales: { x: { stacked }, y: { stacked, beginAtZero: true } } } });
const success = models(data.successDistribution);
const maxSuccess = Math.max(0, ...data.successDistribution.map((r) => r.successes));
bar("chart-success", Array.from({ length: maxSuccess + 1 }, (_, i) => String(i)), success.map((m, i) => ({
  label: m, backgroundColor: palette[i % palette.length],
  data: Array.from({ length: maxSuccess + 1 }, (_, s) => (data.successDistribution.find((r) => r.model === m && r.successes === s) || { instances: 0 }).instances) })), false);
const reasons = [...new Set(data.exitReasons.map((r) => r.exit_reason))];
const exitModels = models(data.exitReasons);
bar("chart-exit", exitModels, reasons.map((reason, i) => ({ label: reason, backgroundColor: palette[i % palette.length],
  data: exitModels.map((m) => (data.exitReasons.find((r) => r.model === m && r.exit_reason === reason) || { trajectories: 0 }).trajectories) })), true);
const ks = [...new Set(data.passAtK.map((r) => r.k))].sort((a, b) => a - b);
new Chart(document.getElementById("chart-passk"), { type: "line", data: { labels: ks.map(String), datasets: models(data.passAtK).flatMap((m, i) => [
  { label: m + " Pass@k", pointRadius: 4, clip: 6, borderColor: palette[(2 * i) % palette.length], data: ks.map((k) => (data.passAtK.find((r) => r.model === m && r.k === k) || {}).pass_at_k ?? null) },
  { label: m + " Best@k", pointRadius: 4, clip: 6, borderColor: palette[(2 * i + 1) % palette.length], borderDash: [4, 4], data: ks.map((k) => (data.passAtK.find((r) => r.model === m && r.k === k) || {}).best_at_k_mean ?? null) },
]) }, options: { animation: false, scales: { y: { min: 0, max: 1 } } } });
const histogram = (id, series) => {
  const edges = [...new Set(series.flatMap((s) => s.bins.map((b) => b.from)))].sort((a, b) => a - b);
  bar(id, edges.map((e) => Number.isInteger(e) ? String(e) : e.toFixed(0)), series.map((s, i) => ({ label: s.label, backgroundColor: palette[i % palette.length],
    data: edges.map((e) => (s.bins.find((b) => b.from === e) || { count: 0 }).count) })), false);
};
histogram("chart-turns", data.turns.map((t) => ({ label: t.model, bins: t.bins })));
histogram("chart-tokens", data.tokens.map((t) => ({ label: t.model + " (" + t.source + ")", bins: t.bins })));
// What each chart drew, kept on its canvas as data-drawn (a browser test reads it back from the DOM): its labels, each
// dataset's colour, values and drawn points (x, y, base in canvas pixels), the plot area and where the canvas sits on the page.
const round = (v) => (typeof v === "number" ? Math.round(v * 10) / 10 : null);
for (const chart of Object.values(Chart.instances || {})) {
  const box = chart.canvas.getBoundingClientRect();
  const area = chart.chartArea;
  chart.canvas.dataset.drawn = JSON.stringify({
    type: chart.config.type, labels: chart.data.labels,
    box: { left: round(box.left + window.scrollX), top: round(box.top + window.scrollY), width: round(box.width), height: round(box.height) },
    area: { left: round(area.left), top: round(area.top), right: round(area.right), bottom: round(area.bottom) },
    datasets: chart.data.datasets.map((d, i) => ({ label: d.label, color: chart.config.type === "line" ? d.borderColor : d.backgroundColor, data: d.data,
      points: chart.getDatasetMeta(i).data.map((e) => [round(e.x), round(e.y), round(e.base)]) })) });
}
document.body.dataset.chartsDrawn = String(Chart.instances ? Object.keys(Chart.instances).length : 0);
`

/** The page: tables, five charts, the data block and Chart.js inlined. */
export const renderReport = (data: ReportData, chartJsSource: string): string => {
  const json = JSON.stringify(data).replaceAll("</", "<\\/")
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>swe-gym trajectory report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f4f4f4; }
table { max-width: 100%; }
.chart { max-width: 900px; margin: 1rem 0 2rem; }
</style></head>
<body>
<h1>Trajectories</h1>
<p>Generated ${escapeHtml(data.generatedAt)}.</p>
<h2>Table 3: resolve, empty-patch and stuck-in-loop rates, turns</h2>
${htmlTable(data.table3)}
<h2>Figure 3: instances by number of successes</h2>
<div class="chart"><canvas id="chart-success"></canvas></div>
<h2>Pass@k and Best@k</h2>
<div class="chart"><canvas id="chart-passk"></canvas></div>
${htmlTable(data.passAtK)}
<h2>Exit reasons</h2>
<div class="chart"><canvas id="chart-exit"></canvas></div>
<h2>Turns per trajectory</h2>
<div class="chart"><canvas id="chart-turns"></canvas></div>
<h2>Tokens per trajectory</h2>
<div class="chart"><canvas id="chart-tokens"></canvas></div>
<script type="application/json" id="report-data">${json}</script>
<script>${chartJsSource.replaceAll("</script", "<\\/script")}</script>
<script>${chartsScript}</script>
</body></html>
`
}

/** Chart.js's UMD bundle (the package does not export its path, so it is found beside its main file). */
export const chartJsSource = Effect.flatMap(FileSystem.FileSystem, (fs) =>
  fs.readFileString(join(dirname(createRequire(import.meta.url).resolve("chart.js")), "chart.umd.min.js")))

/** Writes `<dir>/index.html`; returns its path. */
export const writeReport = Effect.fn("analytics.writeReport")(function*(dir: string, options: { readonly verifier?: string; readonly tokenizer?: string } = {}) {
  const fs = yield* FileSystem.FileSystem
  const data = yield* reportData(options)
  const page = renderReport(data, yield* chartJsSource)
  yield* fs.makeDirectory(dir, { recursive: true })
  const file = join(dir, "index.html")
  yield* fs.writeFileString(file, page)
  return file
})
