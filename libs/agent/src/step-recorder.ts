// The step recorder: how a rollout's steps reach agent_steps, each one durable before the agent goes on.
//
// With a database file, a step is appended to a journal next to it, `<db>.steps/segment-NNNNNN.jsonl`, one line per
// step, and the agent goes on at once; a background writer copies the journal's rows into agent_steps, as many as are
// waiting per INSERT. Why not commit each step to DuckDB before going on (as the first version did): at 32 rollouts a
// commit waited for the one in flight (46 ms a step at the median, 80 ms on average, 30 times a rollout), and group
// commit released the steps of one INSERT together, so their rollouts sent their next LLM calls together and ran their
// commands together: the 32 rollouts merged into one cohort whose commands queued for the CPU each step (BENCHMARKS.md,
// rollout-throughput). A journal append is one write(2), each step on its own, in microseconds.
//
// What survives what:
// - kill -9 (or any crash of this process) loses at most the steps in flight: a write(2) that returned is in the
//   kernel's page cache, which outlives the process, and the next rollout run on the database replays the journal into
//   agent_steps before it starts (a torn last line, never acknowledged, is dropped).
// - A power loss or a kernel crash can also lose the journal's last unsynced lines (the append does not fsync: on this
//   machine an fdatasync waited tens of milliseconds whenever Docker was creating containers). What it can lose is
//   only ever steps of attempts still running, which the next run restarts from scratch anyway: before a rollout's
//   trajectory is stored, the stage flushes its steps into DuckDB, whose commit syncs its WAL.
//
// A segment is deleted once every row written to it is committed, so the journal holds what DuckDB does not have yet
// (a new segment is started past 64 MiB). Replay inserts a row only if its rollout's row is at the same attempt (a
// later attempt removed the earlier attempt's steps; they must not come back) and the row is not there yet (the crash
// may have come after the commit and before the deletion). If a background INSERT fails, the rows stay in the journal,
// and every later `record` and `flush` fails with that error: the stage stops, and the next run replays them.
//
// An in-memory database has nothing to replay after a crash: there `record` waits for its step's commit (group
// commit, as before).
import { type QueryFailed, Store } from "@swe-gym/store"
import { Cause, Chunk, Deferred, Effect, Exit, Option, Queue, Ref, Schema, type Scope } from "effect"
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs"
import { readdir, readFile, rmdir, unlink } from "node:fs/promises"
import { join } from "node:path"
import { AgentStep } from "./agent-loop.js"

/** The step journal could not be written or read. */
export class StepJournalFailed extends Schema.TaggedError<StepJournalFailed>()("StepJournalFailed", {
  path: Schema.String,
  operation: Schema.String,
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `step journal ${this.path}: ${this.operation} failed: ${this.detail}. ${this.hint}`
  }
}

/** Persists steps of the running attempts. */
export interface StepRecorder {
  /**
   * Returns once the step outlives this process: written to the journal (not synced; see above), or committed when the
   * database is in memory.
   */
  readonly record: (rolloutKey: string, attempt: number, step: AgentStep) => Effect.Effect<void, QueryFailed | StepJournalFailed>
  /** Returns once every step recorded so far is in agent_steps. */
  readonly flush: Effect.Effect<void, QueryFailed>
}

/** The journal directory of a database file. */
export const stepJournalDir = (databasePath: string): string => `${databasePath}.steps`

/** One journal line: rollout_key, step, attempt, recorded_at, the step's JSON. */
const JournalLine = Schema.parseJson(Schema.Tuple(Schema.String, Schema.Int, Schema.Int, Schema.String, Schema.String))
type Row = readonly [string, number, number, string, string]

const StepJson = Schema.parseJson(AgentStep)
const segmentFile = (n: number) => `segment-${String(n).padStart(6, "0")}.jsonl`
const segmentNumber = (name: string): number | undefined => {
  const m = /^segment-(\d{6,})\.jsonl$/.exec(name)
  return m === null ? undefined : Number(m[1])
}
/** A new segment is started once the current one is past this size (by default). */
const defaultSegmentBytes = 64 * 1024 * 1024
/** Most steps in one INSERT (5 parameters each). */
const maxStepsPerInsert = 64

const closeQuietly = (fd: number) => {
  try {
    closeSync(fd)
  } catch {
    // Already closed.
  }
}

const journalError = (path: string, operation: string, hint: string) => (cause: unknown) =>
  new StepJournalFailed({ path, operation, detail: cause instanceof Error ? cause.message : String(cause), hint })

const insertSql = (n: number) =>
  `INSERT INTO agent_steps (rollout_key, step, attempt, recorded_at, record) VALUES ${Array.from({ length: n }, () => "(?, ?, ?, ?, ?)").join(", ")}`

/** Replay: a row goes in only at its rollout's current attempt, and only if it is not there yet. */
const replaySql = (n: number) =>
  `INSERT INTO agent_steps (rollout_key, step, attempt, recorded_at, record)
   SELECT v.rollout_key, v.step, v.attempt, v.recorded_at, v.record
   FROM (VALUES ${Array.from({ length: n }, () => "(?::VARCHAR, ?::INTEGER, ?::INTEGER, ?::VARCHAR, ?::JSON)").join(", ")})
     AS v(rollout_key, step, attempt, recorded_at, record)
   WHERE EXISTS (SELECT 1 FROM agent_rollouts r WHERE r.rollout_key = v.rollout_key AND r.attempt = v.attempt)
     AND NOT EXISTS (SELECT 1 FROM agent_steps s WHERE s.rollout_key = v.rollout_key AND s.step = v.step AND s.attempt = v.attempt)`

const chunks = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size))

/** The complete lines of a segment; a last line without its newline was torn by a crash and never acknowledged. */
const readSegment = (file: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: journalError(file, "reading", "check the file's permissions; the database's steps since the last commit are in it"),
    })
    const lines = text.split("\n").slice(0, -1)
    return yield* Effect.forEach(lines, (line, i) =>
      Schema.decode(JournalLine)(line).pipe(
        Effect.mapError((e) =>
          new StepJournalFailed({
            path: file,
            operation: `reading line ${i + 1}`,
            detail: `not a step record (${e.message.split("\n")[0] ?? ""})`,
            hint: "something else wrote to the journal; move the file away to open the database without its steps",
          })),
      ))
  })

/**
 * Replays a database's journal into agent_steps and deletes it; returns the segments read, the rows that went in and
 * the next segment's number. Run before anything records steps (makeStepRecorder does). No journal: nothing to do.
 */
export const replayStepJournal = Effect.fn("agent.replayStepJournal")(function*(dir: string) {
  const store = yield* Store
  const names = yield* Effect.tryPromise({
    try: () => readdir(dir),
    catch: (cause) => cause,
  }).pipe(
    Effect.catchAll((cause) =>
      typeof cause === "object" && cause !== null && "code" in cause && cause.code === "ENOENT"
        ? Effect.succeed([] as Array<string>)
        : Effect.fail(journalError(dir, "listing", "check the directory's permissions")(cause))),
  )
  const segments = names.flatMap((name) => {
    const n = segmentNumber(name)
    return n === undefined ? [] : [{ n, file: join(dir, name) }]
  }).sort((a, b) => a.n - b.n)
  let inserted = 0
  for (const segment of segments) {
    const rows = yield* readSegment(segment.file)
    for (const batch of chunks(rows, maxStepsPerInsert)) {
      inserted += yield* store.run(replaySql(batch.length), batch.flatMap((row) => [...row]))
    }
  }
  for (const segment of segments) {
    yield* Effect.tryPromise({ try: () => unlink(segment.file), catch: journalError(segment.file, "deleting", "delete it by hand: its rows are in the database") })
  }
  return { segments: segments.length, inserted, next: (segments.at(-1)?.n ?? 0) + 1 }
})

/** What the writer takes: a step's row (and, in memory, its caller's wait), or a flush's mark. */
type Item =
  | { readonly _tag: "Row"; readonly row: Row; readonly segment: number; readonly committed: Deferred.Deferred<void, QueryFailed> | undefined }
  | { readonly _tag: "Mark"; readonly done: Deferred.Deferred<void, QueryFailed> }

interface Segment {
  readonly n: number
  readonly file: string
  /** File descriptor, open for appending. */
  readonly fd: number
  bytes: number
  appended: number
  committed: number
}

/**
 * A step recorder on the Store: a journal beside a database file (replayed first, if a crash left one), a writer
 * copying rows into agent_steps in the background. It lives in the caller's scope; closing it writes what is waiting
 * and deletes the journal (kept, for the next run, if the database would not take it).
 */
export const makeStepRecorderWith = (options: { readonly segmentBytes?: number } = {}): Effect.Effect<StepRecorder, QueryFailed | StepJournalFailed, Store | Scope.Scope> => Effect.gen(function*() {
  const segmentBytes = options.segmentBytes ?? defaultSegmentBytes
  const store = yield* Store
  const dir = store.path === ":memory:" ? undefined : stepJournalDir(store.path)
  const replayed = dir === undefined ? undefined : yield* replayStepJournal(dir)
  if (replayed !== undefined && replayed.segments > 0) {
    yield* Effect.logInfo(`replayed the step journal ${dir}: ${replayed.inserted} step(s) the last run had not copied into the database`)
  }
  const queue = yield* Queue.unbounded<Item>()
  /** The first failed INSERT: from then on every record and flush fails (the rows wait in the journal). */
  const failure = yield* Ref.make(Option.none<QueryFailed>())
  const segments = new Map<number, Segment>()
  let current: Segment | undefined
  let nextSegment = replayed?.next ?? 1

  /** Closes and deletes segments that are no longer written and whose rows are all committed. */
  const dropCommitted = Effect.suspend(() =>
    Effect.forEach([...segments.values()], (s) =>
      s === current || s.committed < s.appended
        ? Effect.void
        : Effect.promise(async () => {
          segments.delete(s.n)
          closeQuietly(s.fd)
          await unlink(s.file).catch(() => undefined)
        }), { discard: true })
  )

  const write = (items: ReadonlyArray<Item>) =>
    Effect.gen(function*() {
      const rows = items.flatMap((item) => (item._tag === "Row" ? [item] : []))
      const failed = yield* Ref.get(failure)
      const exit: Exit.Exit<void, QueryFailed> = Option.isSome(failed)
        ? Exit.fail(failed.value)
        : rows.length === 0
        ? Exit.void
        : yield* store.run(insertSql(rows.length), rows.flatMap((r) => [...r.row])).pipe(Effect.asVoid, Effect.exit)
      if (Exit.isSuccess(exit)) {
        for (const r of rows) {
          const segment = segments.get(r.segment)
          if (segment !== undefined) segment.committed += 1
        }
        yield* dropCommitted
      } else if (dir !== undefined && Option.isNone(failed)) {
        // Fail-stop: the rows are safe in the journal, and the next run replays them.
        yield* Ref.set(failure, Cause.failureOption(exit.cause))
      }
      yield* Effect.forEach(items, (item) =>
        item._tag === "Mark"
          ? Deferred.done(item.done, exit)
          : item.committed === undefined
          ? Effect.void
          : Deferred.done(item.committed, exit), { discard: true })
    }).pipe(Effect.withSpan("agent.recordSteps", { attributes: { items: items.length } }))

  // Once a batch is taken it is written and its waiters answered, even when the scope is closing. The loop itself is
  // interruptible while it waits, even if the recorder was made in an uninterruptible region (else closing would hang).
  yield* Effect.uninterruptibleMask((restore) =>
    restore(Queue.takeBetween(queue, 1, maxStepsPerInsert)).pipe(Effect.flatMap((batch) => write(Chunk.toReadonlyArray(batch))))
  ).pipe(Effect.forever, Effect.interruptible, Effect.forkScoped)

  const flush: Effect.Effect<void, QueryFailed> = Effect.gen(function*() {
    const done = yield* Deferred.make<void, QueryFailed>()
    yield* Queue.offer(queue, { _tag: "Mark", done })
    yield* Deferred.await(done)
  }).pipe(Effect.uninterruptible, Effect.withSpan("agent.flushSteps"))

  // On close: what is waiting is written, then the journal goes (kept if the database did not take every row).
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      const flushed = yield* Effect.exit(flush)
      for (const s of segments.values()) closeQuietly(s.fd)
      if (Exit.isFailure(flushed) || dir === undefined) {
        if (dir !== undefined) yield* Effect.logWarning(`the step journal ${dir} keeps steps the database did not take; the next rollout run on it replays them`)
        return
      }
      for (const s of segments.values()) yield* Effect.promise(() => unlink(s.file).catch(() => undefined))
      yield* Effect.promise(() => rmdir(dir).catch(() => undefined))
    })
  )

  // Synchronous on purpose, in one piece: no other append can come between opening a segment and writing to it, lines
  // are written in order, and one write(2) of one line needs no thread-pool hop to queue behind DuckDB's work.
  const append = (journal: string, row: Row): Effect.Effect<number, StepJournalFailed> =>
    Effect.try({
      try: () => {
        if (current === undefined || current.bytes >= segmentBytes) {
          mkdirSync(journal, { recursive: true })
          const file = join(journal, segmentFile(nextSegment))
          const opened: Segment = { n: nextSegment, file, fd: openSync(file, "a"), bytes: 0, appended: 0, committed: 0 }
          nextSegment += 1
          segments.set(opened.n, opened)
          current = opened
        }
        const segment = current
        const line = Buffer.from(`${JSON.stringify(row)}\n`)
        let written = 0
        try {
          while (written < line.length) written += writeSync(segment.fd, line, written)
        } catch (error) {
          // A line cut short stays the last of its segment (replay drops it): later steps go to a new one.
          current = undefined
          throw error
        }
        segment.bytes += line.length
        segment.appended += 1
        return segment.n
      },
      catch: journalError(journal, "appending a step", "check that the database's disk is writable and not full; the run can be resumed"),
    })

  return {
    flush,
    record: (rolloutKey, attempt, step) =>
      Effect.gen(function*() {
        const failed = yield* Ref.get(failure)
        if (Option.isSome(failed)) return yield* Effect.fail(failed.value)
        const json = yield* Schema.encode(StepJson)(step).pipe(Effect.orDie)
        const row: Row = [rolloutKey, step.index, attempt, new Date().toISOString(), json]
        if (dir === undefined) {
          const committed = yield* Deferred.make<void, QueryFailed>()
          yield* Queue.offer(queue, { _tag: "Row", row, segment: 0, committed })
          return yield* Deferred.await(committed)
        }
        const segment = yield* append(dir, row)
        yield* Queue.offer(queue, { _tag: "Row", row, segment, committed: undefined })
      }).pipe(Effect.uninterruptible, Effect.withSpan("agent.recordStep")),
  }
})

/** The step recorder with 64 MiB journal segments. */
export const makeStepRecorder = makeStepRecorderWith()
