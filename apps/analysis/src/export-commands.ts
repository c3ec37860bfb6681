// The export, best-of-n and report subcommands.
//
//   analysis export-sft --out sft.jsonl [--format text] [--cap 2 | --dedup-seed 0] [--max-tokens 32768]
//   analysis export-verifier --out orm.jsonl [--negatives-per-positive 1] [--seed 0]
//   analysis export-predictions --out preds.jsonl [--sample 0] [--run-id R]
//   analysis export-parquet --out dir/
//   analysis rerank --base-url http://127.0.0.1:8000/v1 --model verifier [--concurrency 8]   (key: VERIFIER_API_KEY)
//   analysis pass-at-k --max-k 8 [--verifier verifier] [--trials 100] [--out curves.csv]
//   analysis report --out report/ [--verifier verifier]
import { Command, Options } from "@effect/cli"
import { FetchHttpClient, FileSystem } from "@effect/platform"
import {
  analyticsMigrations,
  exportParquet,
  exportPredictions,
  exportSft,
  exportVerifier,
  passAtKCurves,
  qwenTokenCounter,
  rerank,
  writeReport,
} from "@swe-gym/analytics"
import { Store } from "@swe-gym/store"
import { Config, Console, Effect, Layer, Option } from "effect"
import { rowsAsCsv } from "./rows-csv.js"
import { formatTable } from "./table.js"

const db = Options.text("db").pipe(
  Options.withDefault("data/out/analytics.duckdb"),
  Options.withDescription("the DuckDB file of trajectories"),
)
const store = (path: string) => Store.layer({ path, migrations: analyticsMigrations })
const out = (what: string) => Options.text("out").pipe(Options.withDescription(what))

const exportSftCommand = Command.make(
  "export-sft",
  {
    db,
    out: out("the SFT JSONL file (OpenAI chat rows: messages, tools)"),
    format: Options.choice("format", ["function-calling", "text"]).pipe(
      Options.withDefault("function-calling"),
      Options.withDescription("tool calls as OpenAI tool_calls with tools, or written into the content as <function=NAME><parameter=P>…"),
    ),
    cap: Options.integer("cap").pipe(Options.optional, Options.withDescription("at most this many successes per instance, fewest LLM calls first")),
    dedupSeed: Options.text("dedup-seed").pipe(Options.optional, Options.withDescription("one success per instance, chosen with this seed")),
    maxTokens: Options.integer("max-tokens").pipe(Options.optional, Options.withDescription("drop rows longer than this many Qwen tokens")),
  },
  (args) =>
    Effect.gen(function*() {
      const maxTokens = Option.getOrUndefined(args.maxTokens)
      const counter = maxTokens === undefined ? undefined : yield* qwenTokenCounter
      const summary = yield* exportSft({
        out: args.out,
        format: args.format,
        ...(Option.isSome(args.cap) ? { capPerInstance: args.cap.value } : {}),
        ...(Option.isSome(args.dedupSeed) ? { dedupSeed: args.dedupSeed.value } : {}),
        ...(maxTokens === undefined || counter === undefined ? {} : { maxTokens, counter }),
      })
      yield* Console.log(
        `wrote ${summary.written} rows to ${summary.file} (${summary.fromLlmCalls} from raw LLM calls, the rest from messages); ${summary.droppedTooLong} longer than the token limit left out`,
      )
    }).pipe(Effect.provide(store(args.db))),
).pipe(Command.withDescription("Write the resolved trajectories as SFT JSONL for torchtune, TRL or Unsloth"))

const exportVerifierCommand = Command.make(
  "export-verifier",
  {
    db,
    out: out("the verifier JSONL file"),
    ratio: Options.float("negatives-per-positive").pipe(Options.withDefault(1), Options.withDescription("unresolved rows per resolved row (default 1: 1:1)")),
    seed: Options.text("seed").pipe(Options.withDefault("0"), Options.withDescription("seed of the choice and order of rows")),
  },
  (args) =>
    Effect.gen(function*() {
      const summary = yield* exportVerifier({ out: args.out, negativesPerPositive: args.ratio, seed: args.seed })
      yield* Console.log(`wrote ${summary.written} rows to ${summary.file}: ${summary.positives} YES, ${summary.negatives} NO`)
    }).pipe(Effect.provide(store(args.db))),
).pipe(Command.withDescription("Write verifier (ORM) training rows: the flattened interaction log, then <judgement>YES|NO</judgement>"))

const exportPredictionsCommand = Command.make(
  "export-predictions",
  {
    db,
    out: out("the predictions JSONL file for SWE-bench's harness"),
    sample: Options.integer("sample").pipe(Options.withDefault(0), Options.withDescription("which sample of each instance")),
    runId: Options.text("run-id").pipe(Options.optional, Options.withDescription("only this run")),
  },
  (args) =>
    Effect.gen(function*() {
      const n = yield* exportPredictions({ out: args.out, sample: args.sample, ...(Option.isSome(args.runId) ? { runId: args.runId.value } : {}) })
      yield* Console.log(`wrote ${n} predictions to ${args.out}`)
    }).pipe(Effect.provide(store(args.db))),
).pipe(Command.withDescription("Write SWE-bench predictions (instance_id, model_name_or_path, model_patch)"))

const exportParquetCommand = Command.make(
  "export-parquet",
  { db, out: out("the directory for the Parquet files") },
  (args) =>
    Effect.gen(function*() {
      const counts = yield* exportParquet(args.out)
      yield* Console.log(formatTable(Object.entries(counts).map(([table, rows]) => ({ table, rows }))))
    }).pipe(Effect.provide(store(args.db))),
).pipe(Command.withDescription("Write every analytics table as Parquet partitioned by run and repository"))

const rerankCommand = Command.make(
  "rerank",
  {
    db,
    baseUrl: Options.text("base-url").pipe(Options.withDescription("the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1")),
    model: Options.text("model").pipe(Options.withDescription("the verifier model (also the label of its scores)")),
    concurrency: Options.integer("concurrency").pipe(Options.withDefault(4), Options.withDescription("requests in flight")),
  },
  (args) =>
    Effect.gen(function*() {
      const apiKey = yield* Config.option(Config.redacted("VERIFIER_API_KEY"))
      const result = yield* rerank({
        baseUrl: args.baseUrl,
        model: args.model,
        concurrency: args.concurrency,
        ...(Option.isSome(apiKey) ? { apiKey: apiKey.value } : {}),
        onProgress: (scored, unreadable) => Effect.sync(() => process.stderr.write(`scored ${scored}, unreadable ${unreadable}\n`)),
      })
      yield* Console.log(`scored ${result.scored} of ${result.pending} trajectories with ${args.model}; ${result.unreadable} answers had neither YES nor NO`)
    }).pipe(Effect.provide(Layer.merge(store(args.db), FetchHttpClient.layer))),
).pipe(Command.withDescription("Score trajectories with a verifier endpoint (completions with logprobs); key from VERIFIER_API_KEY"))

const passAtKCommand = Command.make(
  "pass-at-k",
  {
    db,
    maxK: Options.integer("max-k").pipe(Options.withDefault(8), Options.withDescription("largest k")),
    trials: Options.integer("trials").pipe(Options.withDefault(100), Options.withDescription("random draws per k")),
    seed: Options.text("seed").pipe(Options.withDefault("0")),
    verifier: Options.text("verifier").pipe(Options.optional, Options.withDescription("the verifier whose scores choose Best@k")),
    out: Options.text("out").pipe(Options.optional, Options.withDescription("also write the curves: .csv or .json")),
  },
  (args) =>
    Effect.gen(function*() {
      const rows = yield* passAtKCurves({
        maxK: args.maxK,
        trials: args.trials,
        seed: args.seed,
        ...(Option.isSome(args.verifier) ? { verifier: args.verifier.value } : {}),
      })
      yield* Console.log(formatTable(rows))
      if (Option.isSome(args.out)) {
        const fs = yield* FileSystem.FileSystem
        yield* fs.writeFileString(args.out.value, args.out.value.endsWith(".json") ? `${JSON.stringify(rows, null, 2)}\n` : rowsAsCsv(rows))
      }
    }).pipe(Effect.provide(store(args.db))),
).pipe(Command.withDescription("Pass@k (unbiased, and mean±std over random subsets) and Best@k per k and model"))

const reportCommand = Command.make(
  "report",
  {
    db,
    out: out("the directory of the page (index.html)"),
    verifier: Options.text("verifier").pipe(Options.optional, Options.withDescription("the verifier whose scores draw Best@k")),
  },
  (args) =>
    Effect.gen(function*() {
      const file = yield* writeReport(args.out, Option.isSome(args.verifier) ? { verifier: args.verifier.value } : {})
      yield* Console.log(`wrote ${file}: tables and charts in one page, nothing fetched when viewed`)
    }).pipe(Effect.provide(store(args.db))),
).pipe(Command.withDescription("Write one self-contained HTML page of the analyses and their charts (Chart.js inlined)"))

/** The export subcommands (SFT, verifier, predictions, Parquet) and best-of-n. */
export const exportCommands = [
  exportSftCommand,
  exportVerifierCommand,
  exportPredictionsCommand,
  exportParquetCommand,
  rerankCommand,
  passAtKCommand,
  reportCommand,
] as const
