#!/usr/bin/env node
// The analysis app: loads SWE-bench-format task instances into DuckDB, answers SQL over them, publishes the dataset,
// imports trajectories and runs the paper's analyses and exports over them.
import { Args, Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { datasetMigrations, instancesPerRepo, loadInstances } from "@swe-gym/dataset"
import { Store } from "@swe-gym/store"
import { Console, Effect, Option } from "effect"
import { analyticsCommands } from "./analytics-commands.js"
import { publishCommand } from "./publish-command.js"
import { queryCommand } from "./query-command.js"
import { formatTable } from "./table.js"

const db = Options.text("db").pipe(
  Options.withDefault("data/out/swe-gym.duckdb"),
  Options.withDescription("the DuckDB file (created when absent)"),
)

const load = Command.make(
  "load",
  {
    file: Args.file({ name: "instances.jsonl", exists: "yes" }).pipe(Args.withDescription("SWE-bench-format JSONL of task instances")),
    rejects: Options.text("rejects").pipe(Options.optional, Options.withDescription("where lines that do not decode go (default <file>.rejects.jsonl)")),
    db,
  },
  ({ db, file, rejects }) =>
    Effect.gen(function*() {
      yield* Console.error(`loading ${file} into ${db} (table task_instances, upsert by instance_id)`)
      const result = yield* loadInstances(file, Option.match(rejects, { onNone: () => ({}), onSome: (rejectsPath) => ({ rejectsPath }) }))
      const { read } = result
      yield* Console.log(`read ${read.lines} lines: ${read.decoded} instances, ${read.rejected} rejected${read.tornFinalLine ? " (torn final line)" : ""}`)
      if (read.rejected > 0) yield* Console.log(`rejected lines (file, line, field, reason): ${read.rejectsFile}`)
      yield* Console.log(`wrote ${result.written} rows; task_instances now holds ${result.total}`)
      yield* Console.log(formatTable(yield* instancesPerRepo))
    }).pipe(Effect.provide(Store.layer({ path: db, migrations: datasetMigrations }))),
).pipe(Command.withDescription("Load SWE-bench-format task instances (JSONL) into DuckDB"))

const analysis = Command.make("analysis").pipe(Command.withSubcommands([load, queryCommand, publishCommand, ...analyticsCommands]))

const cli = Command.run(analysis, { name: "analysis", version: "0.1.0" })

cli(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain,
)
