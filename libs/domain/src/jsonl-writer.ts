// Durable JSONL appender: every record's line goes out whole in one write call (several lines may share one), so a
// crash leaves at most one torn last line; fsync every `syncEvery` records, every `syncInterval`, and on close.
import { FileSystem } from "@effect/platform"
import { Duration, Effect, Either, ParseResult, Ref, Schedule, Schema, type Scope, Sink, Stream } from "effect"
import { dirname } from "node:path"
import { jsonlErrorFromPlatform, JsonlEncodeError, JsonlFileError, type JsonlError, type JsonlIoError } from "./jsonl-errors.js"
import { formatFieldPath } from "./jsonl-rejects.js"

/** Options of the JSONL appender. */
export interface JsonlWriterOptions {
  /** fsync once this many records were written since the last fsync (default 1000; 1 = every record). */
  readonly syncEvery?: number
  /** fsync written records at least this often while the writer is open (default 1 second). */
  readonly syncInterval?: Duration.DurationInput
  /** Create the parent directory when missing (default true). */
  readonly createDirectory?: boolean
}

/** An open JSONL file, appended to with one schema. */
export interface JsonlWriter<A, R = never> {
  readonly path: string
  /** Appends one record as one full line. */
  readonly write: (record: A) => Effect.Effect<void, JsonlError, R>
  /** Appends records, each line whole within one write call. */
  readonly writeAll: (records: Iterable<A>) => Effect.Effect<void, JsonlError, R>
  /** Flushes written records to disk (fsync). */
  readonly sync: Effect.Effect<void, JsonlIoError>
  /** Number of records written by this writer. */
  readonly written: Effect.Effect<number>
  /** Whether opening found a torn last line (no trailing "\n") and started a new line after it. */
  readonly repairedTornLine: boolean
}

// Lines are gathered into writes of at most this size (a longer line goes out alone).
const maxWriteBytes = 1024 * 1024
const NEWLINE = 0x0a

const encodeError = (path: string, field: string, detail: string) =>
  new JsonlEncodeError({
    path,
    field,
    detail,
    hint: "The record does not match the schema it is written with: fix the producer of the record or the schema.",
  })

/** Opens `path` for appending records encoded with `schema`; the file is synced and closed when the scope ends. */
export const openJsonlWriter = <A, I, R>(
  path: string,
  schema: Schema.Schema<A, I, R>,
  options?: JsonlWriterOptions,
): Effect.Effect<JsonlWriter<A, R>, JsonlIoError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const syncEvery = Math.max(1, options?.syncEvery ?? 1000)
    const syncInterval = Duration.decode(options?.syncInterval ?? "1 second")
    const ioError = (operation: string) => jsonlErrorFromPlatform(path, operation)

    if (options?.createDirectory ?? true) {
      yield* fs.makeDirectory(dirname(path), { recursive: true }).pipe(Effect.mapError(ioError("create directory")))
    }
    const file = yield* fs.open(path, { flag: "a+" }).pipe(Effect.mapError(ioError("open for append")))
    const info = yield* file.stat.pipe(Effect.mapError(ioError("stat")))
    if (info.type !== "File") {
      return yield* new JsonlFileError({
        path,
        operation: "open for append",
        detail: `not a regular file (${info.type})`,
        hint: "Pass the path of a .jsonl file, not a directory or a device.",
      })
    }

    // A torn last line from an earlier crash: start on a new line, so the next record is not glued to it.
    let repairedTornLine = false
    if (info.size > 0n) {
      yield* file.seek(info.size - 1n, "start")
      const last = yield* file.readAlloc(1).pipe(Effect.mapError(ioError("read last byte")))
      if (last._tag === "Some" && last.value[0] !== NEWLINE) {
        yield* file.writeAll(new Uint8Array([NEWLINE])).pipe(Effect.mapError(ioError("append")))
        repairedTornLine = true
        yield* Effect.logWarning("jsonl: the file ended in a torn line; appending after it on a new line").pipe(
          Effect.annotateLogs({ path }),
        )
      }
    }

    const lock = yield* Effect.makeSemaphore(1)
    const written = yield* Ref.make(0)
    const unsynced = yield* Ref.make(repairedTornLine ? 1 : 0)

    const syncNow = Effect.gen(function*() {
      if ((yield* Ref.get(unsynced)) === 0) return
      yield* file.sync.pipe(Effect.mapError(ioError("fsync")))
      yield* Ref.set(unsynced, 0)
    })
    const sync = lock.withPermits(1)(syncNow)

    const encode = Schema.encode(schema)
    const encoder = new TextEncoder()
    const encodeLine = (record: A): Effect.Effect<Uint8Array, JsonlEncodeError, R> =>
      encode(record).pipe(
        Effect.mapError((error) => {
          const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
          return encodeError(path, issue ? formatFieldPath(issue.path) : "", issue?.message ?? error.message)
        }),
        Effect.flatMap((encoded) =>
          Effect.try({
            try: () => JSON.stringify(encoded),
            catch: (error) => encodeError(path, "", error instanceof Error ? error.message : String(error)),
          })
        ),
        Effect.flatMap((json) =>
          // JSON.stringify yields undefined for undefined and functions, whatever its declared type says.
          typeof json === "string"
            ? Effect.succeed(encoder.encode(`${json}\n`))
            : Effect.fail(encodeError(path, "", "the encoded record is not representable as JSON"))
        ),
      )

    const writeBatch = (batch: ReadonlyArray<Uint8Array>, bytes: number) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const buffer = batch.length === 1 && batch[0] !== undefined ? batch[0] : concat(batch, bytes)
        yield* file.writeAll(buffer).pipe(Effect.mapError(ioError("append")))
        yield* Ref.update(written, (n) => n + batch.length)
        const pending = yield* Ref.updateAndGet(unsynced, (n) => n + batch.length)
        if (pending >= syncEvery) yield* syncNow
      }))

    // Records are encoded one by one and written in batches of whole lines; a record that fails to encode fails
    // the call after the records before it were written.
    const writeAll = (records: Iterable<A>): Effect.Effect<void, JsonlError, R> =>
      Effect.gen(function*() {
        let batch: Array<Uint8Array> = []
        let bytes = 0
        for (const record of records) {
          const line = yield* Effect.either(encodeLine(record))
          if (Either.isLeft(line)) {
            if (batch.length > 0) yield* writeBatch(batch, bytes)
            return yield* line.left
          }
          if (bytes > 0 && bytes + line.right.length > maxWriteBytes) {
            yield* writeBatch(batch, bytes)
            batch = []
            bytes = 0
          }
          batch.push(line.right)
          bytes += line.right.length
        }
        if (batch.length > 0) yield* writeBatch(batch, bytes)
      })

    // Finalizers run in reverse: the periodic sync stops, then the last sync, then fs.open's close.
    yield* Effect.addFinalizer(() =>
      sync.pipe(
        Effect.catchAll((error) =>
          Effect.logError("jsonl: final fsync failed; the last records may not be on disk").pipe(
            Effect.annotateLogs({ path, error: error.message }),
          )
        ),
      )
    )
    // Interruptible even when the writer is opened in an uninterruptible region (a finalizer writing what finished after
    // Ctrl-C): a forked fiber inherits that, and the scope's close would then wait for this endless loop forever.
    yield* sync.pipe(
      Effect.catchAll((error) =>
        Effect.logWarning("jsonl: periodic fsync failed").pipe(Effect.annotateLogs({ path, error: error.message }))
      ),
      Effect.repeat(Schedule.spaced(syncInterval)),
      Effect.interruptible,
      Effect.forkScoped,
    )

    return {
      path,
      write: (record) => writeAll([record]),
      writeAll,
      sync,
      written: Ref.get(written),
      repairedTornLine,
    } satisfies JsonlWriter<A, R>
  }).pipe(Effect.withSpan("jsonl.openWriter", { attributes: { path } }))

const concat = (parts: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  const out = new Uint8Array(total)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** A Sink that appends every element to `path` (encoded with `schema`), fsyncs at the end, and returns the count. */
export const appendJsonl = <A, I, R>(
  path: string,
  schema: Schema.Schema<A, I, R>,
  options?: JsonlWriterOptions,
): Sink.Sink<number, A, never, JsonlError, FileSystem.FileSystem | R> =>
  Sink.unwrapScoped<number, A, never, JsonlError, FileSystem.FileSystem | R | Scope.Scope>(
    Effect.map(openJsonlWriter(path, schema, options), (writer) =>
      Sink.forEachChunk((chunk: Iterable<A>) => writer.writeAll(chunk)).pipe(
        Sink.mapEffect(() => Effect.zipRight(writer.sync, writer.written)),
      )),
  )

/**
 * Writes a whole JSONL file from a stream, replacing `path` only when every record is written (a temporary file next to
 * it, synced, then renamed into place): a reader never sees a half-written file, and a crash leaves the old one.
 */
export const writeJsonlFile = <A, I, R, E, R2>(
  path: string,
  schema: Schema.Schema<A, I, R>,
  records: Stream.Stream<A, E, R2>,
): Effect.Effect<number, E | JsonlError | JsonlIoError, FileSystem.FileSystem | R | R2> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const temp = `${path}.tmp-${process.pid}`
    const written = yield* Stream.run(records, appendJsonl(temp, schema, { syncEvery: 10_000 })).pipe(
      Effect.onError(() => fs.remove(temp, { force: true }).pipe(Effect.ignore)),
    )
    yield* fs.rename(temp, path).pipe(Effect.mapError(jsonlErrorFromPlatform(path, "rename into place")))
    return written
  })
