// `analysis publish`: the dataset's publish stage on the command line.
//
//   publish --candidates mine/candidates.jsonl --validated validate/validated.jsonl --validation-db validate/validation.duckdb \
//           --mining-db mine/mining.duckdb --out publish/
//   publish --candidates mine/candidates.jsonl --verdicts verdicts.jsonl --out publish/
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option, Schema } from "effect"
import { formatPublishSummary, publish, PublishInputInvalid, PublishSummary, type VerdictSource } from "@swe-gym/dataset"
import { HarnessTables } from "@swe-gym/harness/tables"
import { MiningTables } from "@swe-gym/mining/tables"

const candidates = Options.file("candidates").pipe(Options.withDescription("JSONL of the current task candidates (the miner's --out)"))
const verdicts = Options.file("verdicts").pipe(Options.optional, Options.withDescription("JSONL of validation verdicts (ValidationResult) on the candidates"))
const validated = Options.file("validated").pipe(Options.optional, Options.withDescription("JSONL of the kept candidates with their labels (runner validate --out); with --validation-db"))
const validationDb = Options.file("validation-db").pipe(Options.optional, Options.withDescription("the runner's DuckDB file (its validations table), read-only; with --validated"))
const miningDb = Options.file("mining-db").pipe(Options.optional, Options.withDescription("the miner's DuckDB file, for the PRs its filters rejected (read-only)"))
const out = Options.directory("out").pipe(Options.withDescription("the output directory: dataset.jsonl, dataset.parquet, dataset.duckdb, summary.json"))
const json = Options.boolean("json").pipe(Options.withDescription("print the summary as JSON instead of text"))

/** The verdict source the flags name: --verdicts, or --validated with --validation-db. */
const verdictSource = (args: {
  readonly verdicts: Option.Option<string>
  readonly validated: Option.Option<string>
  readonly validationDb: Option.Option<string>
}): Effect.Effect<VerdictSource, PublishInputInvalid> => {
  if (Option.isSome(args.verdicts) && Option.isNone(args.validated) && Option.isNone(args.validationDb)) {
    return Effect.succeed({ _tag: "VerdictsFile", file: args.verdicts.value })
  }
  if (Option.isNone(args.verdicts) && Option.isSome(args.validated) && Option.isSome(args.validationDb)) {
    return Effect.succeed({ _tag: "ValidationStore", validated: args.validated.value, db: args.validationDb.value, table: HarnessTables.validations })
  }
  return Effect.fail(new PublishInputInvalid({ file: "(command line)", reason: "no usable verdict source", hint: "pass --verdicts FILE, or --validated FILE with --validation-db FILE" }))
}

/** The `publish` command: writes the dataset and prints its summary; exits 1 when candidates lack a final verdict. */
export const publishCommand = Command.make(
  "publish",
  { candidates, verdicts, validated, validationDb, miningDb, out, json },
  (args) =>
    Effect.gen(function*() {
      const source = yield* verdictSource(args)
      const summary = yield* publish({
        candidates: args.candidates,
        verdicts: source,
        mining: Option.match(args.miningDb, { onNone: () => undefined, onSome: (db) => ({ db, rejectionsTable: MiningTables.rejections }) }),
        outDir: args.out,
        onProgress: (line) => Console.error(`[publish] ${line}`),
      })
      yield* Console.log(args.json ? JSON.stringify(yield* Schema.encode(PublishSummary)(summary), null, 2) : formatPublishSummary(summary))
      if (summary.incomplete.length > 0) yield* Effect.sync(() => void (process.exitCode = 1))
    }).pipe(
      Effect.catchTags({
        PublishInputInvalid: (e) => Effect.zipRight(Console.error(`publish: ${e.message}`), Effect.sync(() => void (process.exitCode = 1))),
      }),
    ),
).pipe(Command.withDescription("Publish the validated task instances as JSONL, Parquet and DuckDB in SWE-bench's format, with a summary"))
