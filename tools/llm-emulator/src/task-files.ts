// The emulator's inputs: task instances (for `oracle`) and recorded trajectories (for `replay`), as JSONL (one record a
// line) or one JSON array. The emulator needs every record, so a bad line fails the load, naming the file, line and field.
import { FileSystem } from "@effect/platform"
import { Effect, Either, ParseResult, Schema } from "effect"
import type { OracleInstance, RecordedTrajectory } from "./policies.js"

/** A task or trajectory file that cannot be read. */
export class TaskFileError extends Schema.TaggedError<TaskFileError>()("TaskFileError", {
  path: Schema.String,
  /** 1-based line (JSONL) or array index + 1 (JSON array); 0 for the whole file. */
  line: Schema.Number,
  detail: Schema.String,
  hint: Schema.String,
}) {}

const InstanceRecord = Schema.Struct({
  instance_id: Schema.NonEmptyString,
  patch: Schema.String,
  test_patch: Schema.optional(Schema.NullOr(Schema.String)),
})

const TrajectoryRecord = Schema.Struct({
  instance_id: Schema.NonEmptyString,
  messages: Schema.Array(Schema.Struct({
    role: Schema.String,
    content: Schema.optional(Schema.Unknown),
    tool_calls: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
      function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
    })))),
  })),
})

const readRecords = <A, I>(path: string, schema: Schema.Schema<A, I>, hint: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((e) => new TaskFileError({ path, line: 0, detail: e.message, hint })),
    )
    const decode = Schema.decodeUnknownEither(schema, { onExcessProperty: "ignore" })
    const fail = (line: number, detail: string) => Effect.fail(new TaskFileError({ path, line, detail, hint }))
    const entries: Array<readonly [number, unknown]> = []
    const trimmed = text.trimStart()
    if (trimmed.startsWith("[")) {
      let parsed: unknown
      try {
        parsed = JSON.parse(trimmed)
      } catch (e) {
        return yield* fail(0, `not JSON: ${e instanceof Error ? e.message : String(e)}`)
      }
      if (!Array.isArray(parsed)) return yield* fail(0, "expected a JSON array of records")
      parsed.forEach((value: unknown, i) => entries.push([i + 1, value]))
    } else {
      for (const [i, line] of text.split("\n").entries()) {
        if (line.trim() === "") continue
        try {
          entries.push([i + 1, JSON.parse(line)])
        } catch (e) {
          return yield* fail(i + 1, `not JSON: ${e instanceof Error ? e.message : String(e)}`)
        }
      }
    }
    const out: Array<A> = []
    for (const [line, value] of entries) {
      const decoded = decode(value)
      if (Either.isLeft(decoded)) return yield* fail(line, ParseResult.TreeFormatter.formatErrorSync(decoded.left))
      out.push(decoded.right)
    }
    return out
  })

/** Reads task instances (SWE-bench rows: `instance_id`, `patch`, optional `test_patch`). */
export const readInstances = (path: string): Effect.Effect<ReadonlyArray<OracleInstance>, TaskFileError, FileSystem.FileSystem> =>
  Effect.map(
    readRecords(path, InstanceRecord, "Give SWE-bench task instances as JSONL (or a JSON array) with instance_id and patch."),
    (rows) => rows.map((r) => ({ instance_id: r.instance_id, patch: r.patch, test_patch: r.test_patch ?? undefined })),
  )

/** Reads recorded trajectories (`instance_id` and OpenAI chat `messages`, as swe-gym writes them). */
export const readTrajectories = (
  path: string,
): Effect.Effect<ReadonlyArray<RecordedTrajectory>, TaskFileError, FileSystem.FileSystem> =>
  readRecords(path, TrajectoryRecord, "Give trajectories as JSONL (or a JSON array) with instance_id and messages, as runner rollout writes them.")
