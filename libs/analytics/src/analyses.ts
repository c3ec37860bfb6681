// The SWE-Gym paper's analyses as named SQL over the analytics tables. Each is one query with its parameters bound;
// the CLI prints the rows and writes them as CSV or JSON. Seeded choices use md5(seed || ':' || id), so a seed gives the
// same selection on every machine and DuckDB version.
import { Store } from "@swe-gym/store"
import { Effect, Schema } from "effect"
import { messageTokensTable, outcomesView, stepsTable } from "./tables.js"

/** Parameters the analyses take (each uses the ones it names). */
export interface AnalysisParams {
  /** Table 4: successes kept per instance (default 1). */
  readonly k?: number
  /** Seed of random choices (default "0"). */
  readonly seed?: string
  /** Table 7: share of instances kept, 0–100 (default 100). */
  readonly percent?: number
  /** Table 7: how instances are sorted before the first X% are taken. */
  readonly order?: "random" | "repository"
  /** Table 8: the tokenizer whose counts are read (default qwen3). */
  readonly tokenizer?: string
}

/** A named analysis: what it shows, and its SQL with the parameters bound in order. */
export interface Analysis {
  readonly name: string
  readonly description: string
  readonly query: (params: AnalysisParams) => { readonly sql: string; readonly params: ReadonlyArray<string | number> }
}

/**
 * Per-trajectory facts every analysis starts from: the outcomes view plus the two stuck-in-loop verdicts.
 * - paper: the exact same action in the last three turns (SWE-Gym, section 4).
 * - OpenHands: the last four action–observation pairs identical, or the last three actions identical and each
 *   observation an error (OpenHands' StuckDetector, its two action-repetition cases).
 */
export const trajectoryFactsSql = `
WITH tail AS (
  SELECT trajectory_id, action, coalesce(observation, '') AS observation, observation_error,
         row_number() OVER (PARTITION BY trajectory_id ORDER BY step DESC) AS back
  FROM ${stepsTable}
), stuck AS (
  SELECT trajectory_id,
    count(*) FILTER (WHERE back <= 3) = 3 AND count(DISTINCT action) FILTER (WHERE back <= 3) = 1 AS stuck_paper,
    (count(*) = 4 AND count(DISTINCT action) = 1 AND count(DISTINCT observation) = 1)
      OR (count(*) FILTER (WHERE back <= 3) = 3 AND count(DISTINCT action) FILTER (WHERE back <= 3) = 1
          AND bool_and(observation_error) FILTER (WHERE back <= 3)) AS stuck_openhands
  FROM tail WHERE back <= 4 GROUP BY trajectory_id
), facts AS (
  SELECT o.*, coalesce(s.stuck_paper, false) AS stuck_paper, coalesce(s.stuck_openhands, false) AS stuck_openhands
  FROM ${outcomesView} o LEFT JOIN stuck s USING (trajectory_id)
)`

const table3: Analysis = {
  name: "table3",
  description:
    "Per model and dataset: trajectories, graded, resolve rate (of graded), empty-patch rate, stuck-in-loop rate (paper: 3 identical actions; OpenHands: 4 identical pairs or 3 identical erroring actions), average turns",
  query: () => ({
    sql: `${trajectoryFactsSql}
SELECT model, dataset,
  count(*) AS trajectories,
  count(resolved) AS graded,
  count(*) FILTER (WHERE resolved) AS resolved,
  CASE WHEN count(resolved) = 0 THEN NULL ELSE (count(*) FILTER (WHERE resolved)) / count(resolved) END AS resolve_rate,
  avg(CASE WHEN empty_patch THEN 1.0 ELSE 0.0 END) AS empty_patch_rate,
  avg(CASE WHEN stuck_paper THEN 1.0 ELSE 0.0 END) AS stuck_in_loop_paper_rate,
  avg(CASE WHEN stuck_openhands THEN 1.0 ELSE 0.0 END) AS stuck_in_loop_openhands_rate,
  avg(turns) AS avg_turns
FROM facts
GROUP BY model, dataset
ORDER BY model, dataset NULLS FIRST`,
    params: [],
  }),
}

const successDistribution: Analysis = {
  name: "success-distribution",
  description: "Figure 3: per model, how many instances were resolved in 0, 1, …, N of their N rounds (graded trajectories), zeros included",
  query: () => ({
    sql: `WITH per_instance AS (
  SELECT model, instance_id, count(*) AS rounds, count(*) FILTER (WHERE resolved) AS successes
  FROM ${outcomesView} WHERE resolved IS NOT NULL GROUP BY model, instance_id
), buckets AS (
  SELECT model, unnest(generate_series(0, max(rounds))) AS successes FROM per_instance GROUP BY model
)
SELECT b.model, b.successes, count(p.instance_id) AS instances
FROM buckets b LEFT JOIN per_instance p ON p.model = b.model AND p.successes = b.successes
GROUP BY b.model, b.successes
ORDER BY b.model, b.successes`,
    params: [],
  }),
}

/** Table 4's selection as SQL (also used by the SFT export): at most k resolved trajectories per instance, fewest LLM calls first. */
export const cappedSuccessesSql = `
SELECT model, instance_id, trajectory_id, llm_calls, rank FROM (
  SELECT model, instance_id, trajectory_id, llm_calls,
    row_number() OVER (PARTITION BY model, instance_id ORDER BY llm_calls, trajectory_id) AS rank
  FROM ${outcomesView} WHERE resolved
) WHERE rank <= ?`

const cappedSuccesses: Analysis = {
  name: "capped-successes",
  description: "Table 4: at most k resolved trajectories per (model, instance), fewest LLM calls first (ties by trajectory id); --k",
  query: (p) => ({ sql: `${cappedSuccessesSql}\nORDER BY model, instance_id, rank`, params: [p.k ?? 1] }),
}

/** Table 7's dedup as SQL: one resolved trajectory per (model, instance), chosen by md5(seed:trajectory_id). */
export const dedupSuccessesSql = `
SELECT model, instance_id, repo, trajectory_id FROM (
  SELECT model, instance_id, repo, trajectory_id,
    row_number() OVER (PARTITION BY model, instance_id ORDER BY md5(? || ':' || trajectory_id), trajectory_id) AS pick
  FROM ${outcomesView} WHERE resolved
) WHERE pick = 1`

const dedup: Analysis = {
  name: "dedup",
  description: "Table 7: one resolved trajectory per (model, instance), chosen at random with --seed",
  query: (p) => ({ sql: `${dedupSuccessesSql}\nORDER BY model, instance_id`, params: [p.seed ?? "0"] }),
}

/** Table 7's first X% as SQL: instances with a success, sorted randomly (seeded) or by repository, the first ceil(X% of n) kept. */
export const firstPercentSql = (order: "random" | "repository") => `
WITH picked AS (${dedupSuccessesSql}),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY model ORDER BY ${
  order === "random" ? "md5(? || ':' || instance_id), instance_id" : "repo, instance_id"
}) AS position,
    count(*) OVER (PARTITION BY model) AS instances
  FROM picked
)
SELECT model, position, instance_id, repo, trajectory_id FROM ranked
WHERE position <= ceil(instances * ? / 100.0)`

const firstPercent: Analysis = {
  name: "first-percent",
  description: "Table 7: the deduplicated successes of the first --percent of instances, sorted by --order random (seeded) or repository",
  query: (p) => {
    const seed = p.seed ?? "0"
    const order = p.order ?? "random"
    return {
      sql: `${firstPercentSql(order)}\nORDER BY model, position`,
      params: order === "random" ? [seed, seed, p.percent ?? 100] : [seed, p.percent ?? 100],
    }
  },
}

const statsColumns = (x: string) => `count(${x}) AS count, avg(${x}) AS mean, stddev_samp(${x}) AS std, min(${x}) AS min, max(${x}) AS max,
  quantile_cont(${x}, 0.05) AS p5, quantile_cont(${x}, 0.10) AS p10, quantile_cont(${x}, 0.25) AS p25,
  quantile_cont(${x}, 0.50) AS p50, quantile_cont(${x}, 0.75) AS p75, quantile_cont(${x}, 0.90) AS p90,
  quantile_cont(${x}, 0.95) AS p95`

const table8: Analysis = {
  name: "table8",
  description:
    "Table 8: messages and tokens per trajectory (tokens by --tokenizer over every message, and the model's reported usage: the last call's prompt + completion), count, mean, std, min, max, p5–p95, for resolved, unresolved and ungraded",
  query: (p) => ({
    sql: `WITH tok AS (
  SELECT trajectory_id, sum(tokens) AS tokens, count(*) AS counted FROM ${messageTokensTable} WHERE tokenizer = ? GROUP BY trajectory_id
), per AS (
  SELECT CASE WHEN o.resolved THEN 'resolved' WHEN NOT o.resolved THEN 'unresolved' ELSE 'ungraded' END AS outcome,
    o.messages::DOUBLE AS messages,
    CASE WHEN tok.counted = o.messages THEN tok.tokens::DOUBLE END AS tokens_tokenizer,
    o.final_context_tokens::DOUBLE AS tokens_reported
  FROM ${outcomesView} o LEFT JOIN tok USING (trajectory_id)
), long AS (
  SELECT outcome, 'messages' AS metric, messages AS value FROM per
  UNION ALL SELECT outcome, 'tokens (' || ? || ')', tokens_tokenizer FROM per
  UNION ALL SELECT outcome, 'tokens (reported usage)', tokens_reported FROM per
)
SELECT metric, outcome, ${statsColumns("value")}
FROM long GROUP BY metric, outcome
ORDER BY metric, outcome`,
    params: [p.tokenizer ?? "qwen3", p.tokenizer ?? "qwen3"],
  }),
}

const exitReasons: Analysis = {
  name: "exit-reasons",
  description: "Trajectories per model and exit reason, with how many of them were resolved",
  query: () => ({
    sql: `SELECT model, exit_reason, count(*) AS trajectories, count(*) FILTER (WHERE resolved) AS resolved
FROM ${outcomesView} GROUP BY model, exit_reason ORDER BY model, trajectories DESC, exit_reason`,
    params: [],
  }),
}

/** Every named analysis, by name. */
export const analyses: ReadonlyArray<Analysis> = [table3, successDistribution, cappedSuccesses, dedup, firstPercent, table8, exitReasons]

/** An analysis name that is not known. */
export class UnknownAnalysis extends Schema.TaggedError<UnknownAnalysis>()("UnknownAnalysis", {
  name: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `no analysis named "${this.name}": ${this.hint}`
  }
}

const AnyRow = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** Runs a named analysis; rows with JSON-safe values (BIGINT as decimal text is avoided: counts are cast to numbers). */
export const runAnalysis = Effect.fn("analytics.runAnalysis")(function*(name: string, params: AnalysisParams = {}) {
  const analysis = analyses.find((a) => a.name === name)
  if (analysis === undefined) {
    return yield* new UnknownAnalysis({ name, hint: `choose one of ${analyses.map((a) => a.name).join(", ")}` })
  }
  const store = yield* Store
  const { sql, params: bound } = analysis.query(params)
  const rows = yield* store.query(sql, bound, AnyRow)
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])))
})
