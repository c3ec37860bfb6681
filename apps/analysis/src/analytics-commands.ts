// The analytics subcommands: import trajectories, count tokens, print and write the paper's analyses.
//
//   analysis import --format mini-swe-agent ../shared/trajectories/mini-swe-agent --db data/out/analytics.duckdb
//   analysis count-tokens --db data/out/analytics.duckdb
//   analysis report-table table3 --db data/out/analytics.duckdb --out table3.csv
import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import {
  analyses,
  analyticsMigrations,
  countMessageTokens,
  ImportFormat,
  importHarnessEvaluations,
  importTrajectories,
  qwenTokenCounter,
  runAnalysis,
} from "@swe-gym/analytics"
import { Store } from "@swe-gym/store"
import { Console, Effect, Option } from "effect"
import { exportCommands } from "./export-commands.js"
import { rowsAsCsv } from "./rows-csv.js"
import { formatTable } from "./table.js"

/** --db of the analytics commands (created when absent: the analytics tables are its own). */
export const analyticsDb = Options.text("db").pipe(
  Options.withDefault("data/out/analytics.duckdb"),
  Options.withDescription("the DuckDB file of trajectories (created with the analytics tables when absent)"),
)

/** The store the analytics commands use. */
export const analyticsStore = (db: string) => Store.layer({ path: db, migrations: analyticsMigrations })

const optional = <A>(o: Option.Option<A>): A | undefined => Option.getOrUndefined(o)

const importCommand = Command.make(
  "import",
  {
    format: Options.choice("format", ImportFormat.literals).pipe(Options.withDescription("what wrote the files")),
    paths: Args.path({ name: "path", exists: "yes" }).pipe(Args.atLeast(1), Args.withDescription("files or directories")),
    db: analyticsDb,
    runId: Options.text("run-id").pipe(Options.optional, Options.withDescription("run id of every trajectory (default <format>:<directory name>)")),
    model: Options.text("model").pipe(Options.optional, Options.withDescription("model name overriding the files'")),
    dataset: Options.text("dataset").pipe(Options.optional, Options.withDescription("dataset the instances come from, e.g. swe-bench-verified")),
    rejects: Options.text("rejects").pipe(Options.optional, Options.withDescription("where rejected lines and files are described (default <db>.rejects.jsonl)")),
  },
  (args) =>
    Effect.gen(function*() {
      const rejectsPath = Option.getOrElse(args.rejects, () => `${args.db}.rejects.jsonl`)
      const tty = process.stderr.isTTY === true
      const summary = yield* importTrajectories({
        format: args.format,
        paths: args.paths,
        rejectsPath,
        ...(Option.isSome(args.runId) ? { runId: args.runId.value } : {}),
        ...(Option.isSome(args.model) ? { model: args.model.value } : {}),
        ...(Option.isSome(args.dataset) ? { dataset: args.dataset.value } : {}),
        onProgress: (p) =>
          Effect.sync(() =>
            process.stderr.write(
              `${tty ? "\r" : ""}import ${p.format}: ${p.trajectories} trajectories, ${p.gradings} gradings, ${p.instances} instances, ${p.rejected} rejected (${p.files} files)${tty ? "" : "\n"}`,
            )
          ),
      })
      if (tty) process.stderr.write("\n")
      yield* Console.log(
        `imported ${summary.trajectories} trajectories, ${summary.gradings} gradings, ${summary.instances} instances from ${summary.files} files into ${args.db}; ${summary.rejected} rejected`,
      )
      if (summary.rejected > 0) yield* Console.log(`rejected lines and files (file, line, field, reason): ${summary.rejectsFile}`)
    }).pipe(Effect.provide(analyticsStore(args.db))),
).pipe(Command.withDescription("Import trajectories (openhands, mini-swe-agent, swe-agent, swe-bench predictions + reports, trajectory, instances)"))

const importEvaluationsCommand = Command.make(
  "import-evaluations",
  {
    db: analyticsDb,
    from: Options.text("from").pipe(Options.optional, Options.withDescription("the DuckDB file holding the harness's evaluations (read-only; default: --db itself)")),
    table: Options.text("table").pipe(Options.withDefault("evaluations"), Options.withDescription("the harness's evaluation table")),
  },
  (args) =>
    Effect.gen(function*() {
      const n = yield* importHarnessEvaluations({ table: args.table, ...(Option.isSome(args.from) ? { fromDb: args.from.value } : {}) })
      yield* Console.log(`imported ${n} gradings (latest per instance and patch, infrastructure failures left out) into ${args.db}`)
    }).pipe(Effect.provide(analyticsStore(args.db))),
).pipe(Command.withDescription("Import the harness's evaluations (runner evaluate) as gradings joined to trajectories by content key"))

const countTokensCommand = Command.make(
  "count-tokens",
  { db: analyticsDb },
  ({ db }) =>
    Effect.gen(function*() {
      const qwen = yield* qwenTokenCounter
      const counted = yield* countMessageTokens(qwen, { onProgress: (n) => Effect.sync(() => process.stderr.write(`counted ${n} messages\n`)) })
      yield* Console.log(`counted the ${qwen.name} tokens of ${counted} messages`)
    }).pipe(Effect.provide(analyticsStore(db))),
).pipe(Command.withDescription("Count the tokens of every stored message with the Qwen2.5/3 tokenizer (label qwen3), for table8"))

const reportTableCommand = Command.make(
  "report-table",
  {
    name: Args.choice(analyses.map((a) => [a.name, a.name] as const), { name: "analysis" }).pipe(
      Args.withDescription(analyses.map((a) => `${a.name}: ${a.description}`).join("\n")),
    ),
    db: analyticsDb,
    k: Options.integer("k").pipe(Options.optional, Options.withDescription("capped-successes: successes kept per instance (default 1)")),
    seed: Options.text("seed").pipe(Options.optional, Options.withDescription("dedup, first-percent: seed of the random choices (default 0)")),
    percent: Options.float("percent").pipe(Options.optional, Options.withDescription("first-percent: share of instances, 0-100 (default 100)")),
    order: Options.choice("order", ["random", "repository"]).pipe(Options.optional, Options.withDescription("first-percent: sort instances randomly or by repository")),
    tokenizer: Options.text("tokenizer").pipe(Options.optional, Options.withDescription("table8: tokenizer label (default qwen3; fill with count-tokens)")),
    out: Options.text("out").pipe(Options.optional, Options.withDescription("also write the rows: .csv or .json")),
  },
  (args) =>
    Effect.gen(function*() {
      const rows = yield* runAnalysis(args.name, {
        ...(Option.isSome(args.k) ? { k: args.k.value } : {}),
        ...(Option.isSome(args.seed) ? { seed: args.seed.value } : {}),
        ...(Option.isSome(args.percent) ? { percent: args.percent.value } : {}),
        ...(Option.isSome(args.order) ? { order: args.order.value } : {}),
        ...(Option.isSome(args.tokenizer) ? { tokenizer: args.tokenizer.value } : {}),
      })
      yield* Console.log(formatTable(rows))
      const out = optional(args.out)
      if (out !== undefined) {
        const fs = yield* FileSystem.FileSystem
        yield* fs.writeFileString(out, out.endsWith(".json") ? `${JSON.stringify(rows, null, 2)}\n` : rowsAsCsv(rows))
        yield* Console.error(`wrote ${rows.length} rows to ${out}`)
      }
    }).pipe(Effect.provide(analyticsStore(args.db))),
).pipe(Command.withDescription("Run one of the paper's analyses and print it (and write it as CSV or JSON with --out)"))

/** Every analytics subcommand. */
export const analyticsCommands = [importCommand, importEvaluationsCommand, countTokensCommand, reportTableCommand, ...exportCommands] as const
