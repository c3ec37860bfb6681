// Every analytics table as Parquet, partitioned the Hive way (key=value directories) by run and repository where a
// row belongs to a trajectory, so DuckDB, Spark or pandas read one run or one repository without opening the rest:
//   <dir>/analytics_steps/run_id=…/repo=…/data_0.parquet
import { QueryFailed, quoteIdentifier, quoteLiteral, Store } from "@swe-gym/store"
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import { join } from "node:path"
import {
  evaluationsTable,
  llmCallsTable,
  messagesTable,
  messageTokensTable,
  outcomesView,
  runsTable,
  stepsTable,
  taskInstancesTable,
  toolCallsTable,
  trajectoriesTable,
  verifierScoresTable,
} from "./tables.js"

const perTrajectory = [stepsTable, messagesTable, toolCallsTable, llmCallsTable, messageTokensTable, verifierScoresTable]

/** Writes every analytics table under `dir` (replacing what a previous export wrote there); returns rows per table. */
export const exportParquet = Effect.fn("analytics.exportParquet")(function*(dir: string) {
  const store = yield* Store
  const fs = yield* FileSystem.FileSystem
  yield* fs.makeDirectory(dir, { recursive: true }).pipe(Effect.mapError((e) => new QueryFailed({ sql: `mkdir ${dir}`, detail: e.message })))
  const copy = (table: string, query: string, partition: ReadonlyArray<string>) =>
    store.run(
      `COPY (${query}) TO ${quoteLiteral(join(dir, table))} (FORMAT parquet${
        partition.length === 0 ? "" : `, PARTITION_BY (${partition.join(", ")}), OVERWRITE_OR_IGNORE true`
      })`,
    )
  const counts: Record<string, number> = {}
  const plain = (table: string) => copy(`${table}.parquet`, `SELECT * FROM ${quoteIdentifier(table)}`, [])
  counts[trajectoriesTable] = yield* copy(trajectoriesTable, `SELECT t.*, o.repo FROM ${trajectoriesTable} t JOIN ${outcomesView} o USING (trajectory_id)`, ["run_id", "repo"])
  for (const table of perTrajectory) {
    counts[table] = yield* copy(table, `SELECT x.*, o.run_id, o.repo FROM ${table} x JOIN ${outcomesView} o USING (trajectory_id)`, ["run_id", "repo"])
  }
  counts[runsTable] = yield* copy(runsTable, `SELECT * FROM ${runsTable}`, ["run_id"])
  counts[evaluationsTable] = yield* plain(evaluationsTable)
  counts[taskInstancesTable] = yield* plain(taskInstancesTable)
  return counts
})
