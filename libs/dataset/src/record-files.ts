// Files of records keyed by `instance_id` in the shapes users have them: JSONL (SWE-bench's own), Parquet (Hugging Face
// exports of SWE-bench / SWE-Gym), and JSON documents (SWE-bench's `preds.json`: a list, or an object keyed by instance id).
// Every record is decoded with the caller's schema; one that does not decode goes to a rejects file (JsonlReject rows:
// file, line, field, reason) and is counted, never dropped silently. `line` is the record's place in its file: the line
// of a JSONL file, the 1-based row of a Parquet file, the 1-based entry of a JSON list or object.
import { FileSystem } from "@effect/platform"
import {
  decodeJsonlLine,
  defaultRejectsPath,
  isBlankJsonlLine,
  type JsonlError,
  jsonlErrorFromPlatform,
  JsonlFileError,
  type JsonlLine,
  jsonlLines,
  JsonlReject,
  openJsonlWriter,
} from "@swe-gym/domain"
import { makeStore, quoteLiteral, type StoreService } from "@swe-gym/store"
import { Chunk, Effect, Either, Option, Ref, Schema, Scope, Stream } from "effect"
import { extname, resolve } from "node:path"

/** How a record file is laid out. */
export const RecordFileFormat = Schema.Literal("jsonl", "parquet", "json-list", "json-object", "json-record")
/**
 * How a record file is laid out: JSON Lines; Parquet; a JSON list of records; a JSON object of records keyed by
 * instance id (SWE-bench's `preds.json`); a JSON file holding one record.
 */
export type RecordFileFormat = typeof RecordFileFormat.Type

/** What one read of a record file found. */
export const RecordFileSummary = Schema.Struct({
  file: Schema.String,
  format: RecordFileFormat,
  /** Where rejected records are written (the file exists only if `rejected > 0`). */
  rejectsFile: Schema.String,
  /** Records read: non-blank JSONL lines, Parquet rows, entries of a JSON list or object. */
  records: Schema.Int,
  decoded: Schema.Int,
  rejected: Schema.Int,
  /** Decoded records left out because their instance_id is not one of `instanceIds`. */
  skipped: Schema.Int,
  /** The last JSONL line had no trailing "\n" and did not parse: a write cut off by a crash. */
  tornFinalLine: Schema.Boolean,
  /** The whole file was read (false while reading, or when the stream was stopped early or failed). */
  complete: Schema.Boolean,
})
/** What one read of a record file found. */
export type RecordFileSummary = typeof RecordFileSummary.Type

/** A record file cannot be read as any format it could be in. */
export class RecordFileUnreadable extends Schema.TaggedError<RecordFileUnreadable>()("RecordFileUnreadable", {
  file: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.file}: ${this.reason} (${this.hint})`
  }
}

/** Instance ids asked for (`--instance-ids`) that no record of the file has. */
export class UnknownInstanceIds extends Schema.TaggedError<UnknownInstanceIds>()("UnknownInstanceIds", {
  file: Schema.String,
  ids: Schema.Array(Schema.String),
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.file} has no record of ${this.ids.length === 1 ? "instance" : `${this.ids.length} instances`}: ${this.ids.join(", ")} (${this.hint})`
  }
}

/** Every error reading a record file can fail with. */
export type RecordFileError = JsonlError | RecordFileUnreadable

/** Options of reading a record file. */
export interface RecordFileOptions {
  /** Only the records of these instances; an id no record of the file has fails the read with UnknownInstanceIds. */
  readonly instanceIds?: ReadonlyArray<string> | undefined
  /** Where rejected records go (default `<file>.rejects.jsonl`); replaced at the start of every read. */
  readonly rejectsPath?: string | undefined
}

/** A read of a record file: its format, the decoded records, and the summary of the latest run of `rows`. */
export interface RecordFileRead<A> {
  readonly file: string
  readonly format: RecordFileFormat
  /** Decoded records in file order (only those of `instanceIds`, when given); each run reads the file anew. */
  readonly rows: Stream.Stream<A, RecordFileError, FileSystem.FileSystem>
  /** Counts of the latest run of `rows` so far; final (`complete: true`) once `rows` has been run to its end. */
  readonly summary: Effect.Effect<RecordFileSummary>
}

// A record to decode: a line of text as the JSONL decoder takes it (Parquet rows and JSON entries are written as one), or
// a record already known to be wrong (a keyed entry whose instance_id contradicts its key).
interface RecordItem {
  readonly line: JsonlLine
  readonly problem?: { readonly path: string; readonly reason: string } | undefined
}

// Where the records of a file come from, once its format is known.
interface RecordSource {
  readonly format: RecordFileFormat
  readonly items: Stream.Stream<RecordItem, RecordFileError, FileSystem.FileSystem>
  /** The instance ids of the file's records (those that name one), for checking `instanceIds` before any work. */
  readonly ids: Effect.Effect<ReadonlySet<string>, RecordFileError, FileSystem.FileSystem>
}

const parquetMagic = "PAR1"
const jsonlExtensions = new Set([".jsonl", ".ndjson"])
const parquetPageRows = 500

const unreadable = (file: string, reason: string, hint: string) => new RecordFileUnreadable({ file, reason, hint })

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    const value: unknown = JSON.parse(text)
    return Either.right(value)
  } catch (error) {
    return Either.left(error instanceof Error ? error.message : String(error))
  }
}

const isObject = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const instanceIdOf = (value: unknown): string | undefined =>
  isObject(value) && typeof value["instance_id"] === "string" ? value["instance_id"] : undefined

/** A record as one line of text, the form the JSONL decoder (and its reject records) take. */
const itemOf = (index: number, value: unknown, problem?: RecordItem["problem"]): RecordItem => {
  const text = JSON.stringify(value) ?? "null"
  return { line: { line: index + 1, text, terminated: true, bytes: Buffer.byteLength(text), overlong: false }, problem }
}

// ---- JSON documents ---------------------------------------------------------------------------------------------------

/** The records of a parsed JSON document: a list, an object keyed by instance id, or one record. */
const jsonDocumentSource = (file: string, document: unknown): Either.Either<RecordSource, RecordFileUnreadable> => {
  const fixed = (format: RecordFileFormat, items: ReadonlyArray<RecordItem>, ids: ReadonlyArray<string | undefined>): RecordSource => ({
    format,
    items: Stream.fromIterable(items),
    ids: Effect.succeed(new Set(ids.filter((id): id is string => id !== undefined))),
  })
  if (Array.isArray(document)) {
    return Either.right(fixed("json-list", document.map((v, i) => itemOf(i, v)), document.map(instanceIdOf)))
  }
  if (!isObject(document)) {
    return Either.left(unreadable(file, "a JSON document that is neither a list nor an object of records", "give a list of records or an object keyed by instance_id"))
  }
  if (instanceIdOf(document) !== undefined) return Either.right(fixed("json-record", [itemOf(0, document)], [instanceIdOf(document)]))
  // SWE-bench's preds.json: {"<instance_id>": {...record...}}. The key names the instance; a record may omit instance_id.
  const entries = Object.entries(document)
  const items = entries.map(([key, value], i) => {
    if (!isObject(value)) return itemOf(i, value)
    const own = value["instance_id"]
    if (own === undefined || own === null) return itemOf(i, { ...value, instance_id: key })
    return own === key
      ? itemOf(i, value)
      : itemOf(i, value, { path: "instance_id", reason: `instance_id ${JSON.stringify(own)} differs from its key ${JSON.stringify(key)}` })
  })
  return Either.right(fixed("json-object", items, entries.map(([key]) => key)))
}

// ---- JSONL -----------------------------------------------------------------------------------------------------------

const jsonlSource = (file: string): RecordSource => ({
  format: "jsonl",
  items: jsonlLines(file).pipe(Stream.map((line): RecordItem => ({ line }))),
  ids: jsonlLines(file).pipe(
    Stream.runFold(new Set<string>(), (ids, line) => {
      const id = instanceIdOf(Either.getOrUndefined(parseJson(line.text)))
      if (id !== undefined) ids.add(id)
      return ids
    }),
  ),
})

// ---- Parquet ---------------------------------------------------------------------------------------------------------

/** A date as GitHub and SWE-bench write it (`2023-03-16T10:00:00Z`). */
const isoTime = (date: Date): string => (Number.isNaN(date.getTime()) ? String(date) : date.toISOString().replace(/\.000Z$/, "Z"))

/**
 * A Parquet cell as the JSON a JSONL row would hold: dates as ISO text, 64-bit integers as numbers, bytes as UTF-8 text,
 * and null fields of structs left out (a Parquet struct has every field in every row; a missing one reads as null).
 */
const jsonValueOf = (value: unknown): unknown => {
  if (value instanceof Date) return isoTime(value)
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value instanceof Uint8Array) return new TextDecoder().decode(value)
  if (Array.isArray(value)) return value.map(jsonValueOf)
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, jsonValueOf(v)]))
  }
  return value
}

const ParquetColumn = Schema.Struct({ column_name: Schema.String, column_type: Schema.String })
const ParquetRow = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const RowNumber = "file_row_number"

/** A Parquet row as a record: null columns are absent fields, JSON-typed columns (swe-gym's own `swe_gym`) parsed. */
const parquetRecord = (row: { readonly [column: string]: unknown }, jsonColumns: ReadonlySet<string>): unknown => {
  const record: { [field: string]: unknown } = {}
  for (const [column, cell] of Object.entries(row)) {
    if (column === RowNumber || cell === null || cell === undefined) continue
    record[column] = jsonColumns.has(column) && typeof cell === "string"
      ? Either.getOrElse(parseJson(cell), () => cell)
      : jsonValueOf(cell)
  }
  return record
}

const parquetSource = (file: string): RecordSource => {
  const relation = `read_parquet(${quoteLiteral(file)}, file_row_number = true)`
  const failed = (reason: string, hint: string) => (e: { readonly message: string }) => unreadable(file, `${reason}: ${e.message}`, hint)
  const withStore = <A>(use: (store: StoreService) => Effect.Effect<A, RecordFileUnreadable>) =>
    makeStore({ path: ":memory:" }).pipe(
      Effect.mapError(failed("cannot open DuckDB to read it", "check that @duckdb/node-api is installed")),
      Effect.flatMap(use),
    )
  const notParquet = failed("cannot be read as Parquet", "check that the file is a complete Parquet file (a download may have been cut off)")
  const items = Stream.unwrapScoped(
    withStore((store) =>
      Effect.gen(function*() {
        const columns = yield* store.query(`DESCRIBE SELECT * FROM ${relation}`, [], ParquetColumn).pipe(Effect.mapError(notParquet))
        const jsonColumns = new Set(columns.filter((c) => c.column_type === "JSON").map((c) => c.column_name))
        // Pages by row number, so a large file is never held in memory whole.
        const page = (from: number) =>
          store.query(
            `SELECT * FROM ${relation} WHERE ${RowNumber} >= ${from} AND ${RowNumber} < ${from + parquetPageRows} ORDER BY ${RowNumber}`,
            [],
            ParquetRow,
          ).pipe(
            Effect.mapError(notParquet),
            Effect.map((rows) => {
              const chunk = Chunk.fromIterable(rows.map((row, i) => itemOf(from + i, parquetRecord(row, jsonColumns))))
              const next = rows.length < parquetPageRows ? Option.none<number>() : Option.some(from + parquetPageRows)
              return [chunk, next] as const
            }),
          )
        return Stream.paginateChunkEffect(0, page)
      })
    ),
  )
  const ids = Effect.scoped(
    withStore((store) =>
      store.query(`SELECT DISTINCT instance_id::VARCHAR AS id FROM ${relation} WHERE instance_id IS NOT NULL`, [], Schema.Struct({ id: Schema.String })).pipe(
        Effect.mapError(failed("has no readable instance_id column", "a file of task instances or predictions needs one")),
        Effect.map((rows): ReadonlySet<string> => new Set(rows.map((r) => r.id))),
      )
    ),
  )
  return { format: "parquet", items, ids }
}

// ---- Detection -------------------------------------------------------------------------------------------------------

/**
 * The source of `file`: Parquet when it starts with Parquet's magic bytes (a `.parquet` file that does not fails); JSONL
 * by a `.jsonl` / `.ndjson` extension; otherwise by content: a JSON document (list, object keyed by instance id, one
 * record), or JSONL when the whole is not one JSON document but its first line is (a JSONL file named `.json`).
 */
const detectSource = (file: string): Effect.Effect<RecordSource, RecordFileError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file).pipe(Effect.mapError(jsonlErrorFromPlatform(file, "read")))
    if (info.type !== "File") {
      return yield* new JsonlFileError({ path: file, operation: "read", detail: `is a ${info.type.toLowerCase()}`, hint: "pass the path of a .jsonl, .json or .parquet file" })
    }
    const head = yield* fs.stream(file, { bytesToRead: 4 }).pipe(
      Stream.runFold(new Uint8Array(0), (acc, chunk) => new Uint8Array([...acc, ...chunk])),
      Effect.mapError(jsonlErrorFromPlatform(file, "read")),
    )
    const extension = extname(file).toLowerCase()
    if (new TextDecoder().decode(head) === parquetMagic) return parquetSource(file)
    if (extension === ".parquet") {
      return yield* unreadable(file, "not a Parquet file (it does not start with PAR1)", "check the file: a .parquet file may be a Git LFS pointer or a cut-off download")
    }
    if (jsonlExtensions.has(extension)) return jsonlSource(file)
    const text = (yield* fs.readFileString(file).pipe(Effect.mapError(jsonlErrorFromPlatform(file, "read")))).replace(/^\uFEFF/, "")
    if (text.trim() === "") return yield* unreadable(file, "the file is empty", "give a file of records")
    const document = parseJson(text)
    if (Either.isRight(document)) {
      const source = jsonDocumentSource(file, document.right)
      if (Either.isLeft(source)) return yield* source.left
      return source.right
    }
    const firstLine = text.split("\n").find((l) => l.trim() !== "") ?? ""
    if (Either.isRight(parseJson(firstLine))) return jsonlSource(file)
    return yield* unreadable(file, `not JSON, JSON Lines or Parquet: ${document.left}`, "give a .jsonl file, a JSON list or object of records, or a Parquet file")
  })

// ---- Reading ---------------------------------------------------------------------------------------------------------

/** A record that failed before decoding (a keyed entry contradicting its key), as a rejects-file row. */
const problemReject = (file: string, line: JsonlLine, problem: NonNullable<RecordItem["problem"]>): JsonlReject => ({
  file,
  line: line.line,
  kind: "schema",
  path: problem.path,
  reason: problem.reason,
  issues: [{ path: problem.path, message: problem.reason }],
  raw: line.text.slice(0, 8192),
  rawTruncated: line.text.length > 8192,
  bytes: line.bytes,
})

/**
 * Reads a file of records keyed by `instance_id` in any format it comes in (JSONL, Parquet, a JSON list or keyed object),
 * decoding each with `schema`. Fails before anything is read when the format cannot be told, or when `instanceIds` names
 * an id no record of the file has.
 */
export const readRecordFile = <A extends { readonly instance_id: string }, I>(
  file: string,
  schema: Schema.Schema<A, I, never>,
  options?: RecordFileOptions,
): Effect.Effect<RecordFileRead<A>, RecordFileError | UnknownInstanceIds, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const source = yield* detectSource(file)
    const wanted = options?.instanceIds === undefined ? undefined : new Set(options.instanceIds)
    if (wanted !== undefined) {
      const found = yield* source.ids
      const unknown = [...wanted].filter((id) => !found.has(id))
      if (unknown.length > 0) {
        return yield* new UnknownInstanceIds({
          file,
          ids: unknown,
          hint: `check the ids against the file (${found.size} instances in it)${source.format === "parquet" ? "" : "; a record that does not decode still counts as present"}`,
        })
      }
    }
    const rejectsFile = options?.rejectsPath ?? defaultRejectsPath(file)
    const initial: RecordFileSummary = {
      file,
      format: source.format,
      rejectsFile,
      records: 0,
      decoded: 0,
      rejected: 0,
      skipped: 0,
      tornFinalLine: false,
      complete: false,
    }
    const summary = yield* Ref.make(initial)
    const decode = decodeJsonlLine(file, schema)

    const rows = Stream.unwrapScoped(Effect.gen(function*() {
      if (resolve(rejectsFile) === resolve(file)) {
        return yield* new JsonlFileError({ path: file, operation: "read", detail: "the rejects file is the input file", hint: "Set rejectsPath to another file." })
      }
      const fs = yield* FileSystem.FileSystem
      yield* Ref.set(summary, initial)
      // The rejects file describes the latest read only: drop a stale one; a new one is created on the first reject.
      yield* fs.remove(rejectsFile, { force: true }).pipe(Effect.mapError(jsonlErrorFromPlatform(rejectsFile, "remove stale rejects file")))
      const scope = yield* Effect.scope
      const rejects = yield* Effect.cached(Scope.extend(openJsonlWriter(rejectsFile, JsonlReject), scope))
      const writeReject = (reject: JsonlReject) => Effect.flatMap(rejects, (writer) => writer.write(reject))

      const decodeChunk = (items: Chunk.Chunk<RecordItem>) =>
        Effect.gen(function*() {
          const values: Array<A> = []
          let records = 0
          let decoded = 0
          let rejected = 0
          let skipped = 0
          let torn = false
          for (const item of items) {
            if (isBlankJsonlLine(item.line)) continue
            records += 1
            const result = item.problem === undefined ? yield* decode(item.line) : Either.left(problemReject(file, item.line, item.problem))
            if (Either.isLeft(result)) {
              yield* writeReject(result.left)
              rejected += 1
              torn = torn || result.left.kind === "torn"
              continue
            }
            decoded += 1
            if (wanted !== undefined && !wanted.has(result.right.instance_id)) {
              skipped += 1
              continue
            }
            values.push(result.right)
          }
          yield* Ref.update(summary, (s) => ({
            ...s,
            records: s.records + records,
            decoded: s.decoded + decoded,
            rejected: s.rejected + rejected,
            skipped: s.skipped + skipped,
            tornFinalLine: s.tornFinalLine || torn,
          }))
          return Chunk.unsafeFromArray(values)
        })

      return source.items.pipe(
        Stream.mapChunksEffect(decodeChunk),
        Stream.onEnd(Ref.update(summary, (s) => ({ ...s, complete: true }))),
      )
    })).pipe(Stream.withSpan("dataset.readRecordFile", { attributes: { file, format: source.format } }))

    return { file, format: source.format, rows, summary: Ref.get(summary) } satisfies RecordFileRead<A>
  })
