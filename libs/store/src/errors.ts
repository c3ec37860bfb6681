import { Schema } from "effect"

/** The database file is locked by another process (or already open in this one). */
export class DatabaseLocked extends Schema.TaggedError<DatabaseLocked>()("DatabaseLocked", {
  path: Schema.String,
  pid: Schema.NullOr(Schema.Number),
  holder: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `database ${this.path} is locked by ${this.holder} (PID ${this.pid ?? "unknown"}): ${this.hint}`
  }
}

/** The file exists but is not a DuckDB database (or its storage is damaged). */
export class DatabaseCorrupt extends Schema.TaggedError<DatabaseCorrupt>()("DatabaseCorrupt", {
  path: Schema.String,
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.path} is not a readable DuckDB database (${this.detail}): ${this.hint}`
  }
}

/** The database could not be opened for another reason (permissions, a directory, a newer storage format). */
export class DatabaseOpenFailed extends Schema.TaggedError<DatabaseOpenFailed>()("DatabaseOpenFailed", {
  path: Schema.String,
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `cannot open ${this.path}: ${this.detail} (${this.hint})`
  }
}

/** The database records a migration version for a component that is newer than this code knows. */
export class MigrationFromNewerVersion extends Schema.TaggedError<MigrationFromNewerVersion>()(
  "MigrationFromNewerVersion",
  {
    path: Schema.String,
    component: Schema.String,
    dbVersion: Schema.Number,
    knownVersion: Schema.Number,
    hint: Schema.String,
  },
) {
  override get message(): string {
    return `${this.path}: component "${this.component}" is at schema version ${this.dbVersion}, this code knows up to ${this.knownVersion}: ${this.hint}`
  }
}

/** A migration's SQL failed; the whole pending set was rolled back. */
export class MigrationFailed extends Schema.TaggedError<MigrationFailed>()("MigrationFailed", {
  component: Schema.String,
  version: Schema.Number,
  name: Schema.String,
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `migration ${this.component}@${this.version} (${this.name}) failed: ${this.detail} (${this.hint})`
  }
}

/** A migration list is malformed (duplicate or non-positive versions): a programming error in the component. */
export class MigrationListInvalid extends Schema.TaggedError<MigrationListInvalid>()("MigrationListInvalid", {
  component: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `migration list of "${this.component}" is invalid: ${this.detail}`
  }
}

/** DuckDB rejected a statement; `sql` is its first line. */
export class QueryFailed extends Schema.TaggedError<QueryFailed>()("QueryFailed", {
  sql: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `query failed: ${this.detail} [sql: ${this.sql}]`
  }
}

/** A result row did not match the caller's Schema. */
export class QueryDecodeFailed extends Schema.TaggedError<QueryDecodeFailed>()("QueryDecodeFailed", {
  sql: Schema.String,
  row: Schema.Number,
  column: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `row ${this.row}, column "${this.column}" of [${this.sql}] does not match the schema: ${this.detail}`
  }
}

/** A record could not be written: unknown column, a value of the wrong type, a missing key, or a Schema encode failure. */
export class AppendFailed extends Schema.TaggedError<AppendFailed>()("AppendFailed", {
  table: Schema.String,
  row: Schema.Number,
  column: Schema.String,
  detail: Schema.String,
}) {
  override get message(): string {
    return `cannot write row ${this.row} into ${this.table}, column "${this.column}": ${this.detail}`
  }
}

/** Errors raised while opening a Store. */
export type OpenError = DatabaseLocked | DatabaseCorrupt | DatabaseOpenFailed

/** Errors raised while applying migrations. */
export type MigrationError = MigrationFromNewerVersion | MigrationFailed | MigrationListInvalid | QueryFailed

/** Every error a Store operation can fail with. */
export type StoreError = OpenError | MigrationError | QueryDecodeFailed | AppendFailed

const StoreErrorTags: ReadonlySet<string> = new Set([
  "DatabaseLocked", "DatabaseCorrupt", "DatabaseOpenFailed", "MigrationFromNewerVersion", "MigrationFailed",
  "MigrationListInvalid", "QueryFailed", "QueryDecodeFailed", "AppendFailed",
])

/** Whether an error is one of the store's (a caller mixing errors of several services tells them apart with it). */
export const isStoreError = <E extends { readonly _tag: string }>(e: E): e is Extract<E, StoreError> => StoreErrorTags.has(e._tag)
