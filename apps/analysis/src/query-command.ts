// `analysis query`: SQL over a database the command must not change. The file is attached READ_ONLY to an in-memory
// database (nothing is created in it, no migration runs, a missing file is an error rather than a new database), and
// the query runs with that file as the default catalog.
import { Args, Command, Options } from "@effect/cli"
import { quoteLiteral, Store } from "@swe-gym/store"
import { Console, Effect, Schema } from "effect"
import { existsSync } from "node:fs"
import { formatTable } from "./table.js"

/** The database a query reads does not exist. */
export class QueryDatabaseMissing extends Schema.TaggedError<QueryDatabaseMissing>()("QueryDatabaseMissing", {
  path: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `no database at ${this.path}: ${this.hint}`
  }
}

const Row = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** Runs `sql` over the DuckDB file at `db`, opened read-only; rows as JSON-safe values. */
export const queryReadOnly = (db: string, sql: string) =>
  Effect.gen(function*() {
    if (!existsSync(db)) {
      return yield* new QueryDatabaseMissing({ path: db, hint: "pass the --db of an existing database (query never creates one)" })
    }
    const store = yield* Store
    yield* store.run(`ATTACH ${quoteLiteral(db)} AS queried (READ_ONLY)`)
    yield* store.run("USE queried")
    return yield* store.query(sql, [], Row, { values: "json" })
  }).pipe(Effect.provide(Store.layer({ path: ":memory:" })))

export const queryCommand = Command.make(
  "query",
  {
    sql: Args.text({ name: "sql" }).pipe(Args.withDescription("a SQL query over the database")),
    db: Options.text("db").pipe(Options.withDefault("data/out/swe-gym.duckdb"), Options.withDescription("the DuckDB file (opened read-only)")),
  },
  ({ db, sql }) => Effect.flatMap(queryReadOnly(db, sql), (rows) => Console.log(formatTable(rows))),
).pipe(Command.withDescription("Run SQL over the database (opened read-only) and print the rows, multi-line cells whole"))
