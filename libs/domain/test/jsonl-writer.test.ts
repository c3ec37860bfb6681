import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Chunk, Effect, Fiber, Schema, Stream } from "effect"
import { appendFileSync } from "node:fs"
import { appendJsonl, openJsonlWriter, readJsonl, JsonlReject, writeJsonlFile } from "../src/jsonl.js"

const Row = Schema.Struct({ id: Schema.String, tags: Schema.Array(Schema.String) })
type Row = typeof Row.Type

const rowsOf = (n: number, from = 0): Array<Row> =>
  Array.from({ length: n }, (_, i) => ({ id: `row-${from + i}`, tags: [`t${from + i}`, "ü ✓"] }))

const tempPath = (name: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "jsonl-writer-" })
    return `${dir}/${name}`
  })

const readAll = <A, I>(path: string, schema: Schema.Schema<A, I>) =>
  Effect.gen(function*() {
    const read = yield* readJsonl(path, schema)
    const rows = Chunk.toArray(yield* Stream.runCollect(read.rows))
    return { rows, summary: yield* read.summary }
  })

layer(NodeFileSystem.layer)("appendJsonl", (it) => {
  it.scoped("writes N records that read back equal, as a Sink that returns the count", () =>
    Effect.gen(function*() {
      const path = yield* tempPath("out/nested/rows.jsonl") // parent directories are created
      const rows = rowsOf(2500)
      const count = yield* Stream.fromIterable(rows).pipe(
        Stream.rechunk(7),
        Stream.run(appendJsonl(path, Row, { syncEvery: 100 })),
      )
      expect(count).toBe(2500)
      const back = yield* readAll(path, Row)
      expect(back.rows).toEqual(rows)
      expect(back.summary).toMatchObject({ lines: 2500, decoded: 2500, rejected: 0, tornFinalLine: false })
      // One record per line, every line ended.
      const text = yield* FileSystem.FileSystem.pipe(Effect.flatMap((fs) => fs.readFileString(path)))
      expect(text.endsWith("\n")).toBe(true)
      expect(text.split("\n")).toHaveLength(2501)
    }))

  it.scoped("writes a whole file from an uninterruptible region (a finalizer after Ctrl-C) and returns", () =>
    Effect.gen(function*() {
      const path = yield* tempPath("finalizer.jsonl")
      // A forked fiber inherits uninterruptibility: the writer's periodic sync must still stop when its scope closes.
      // (A daemon fiber awaited with a bound, so a hang fails this test rather than the whole suite's clean-up.)
      const writing = yield* writeJsonlFile(path, Row, Stream.fromIterable(rowsOf(3))).pipe(Effect.uninterruptible, Effect.forkDaemon)
      const written = yield* Fiber.join(writing).pipe(
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("writeJsonlFile did not return from an uninterruptible region") }),
      )
      expect(written).toBe(3)
      expect((yield* readAll(path, Row)).rows).toEqual(rowsOf(3))
    }))

  it.scoped("appends to an existing file across writer sessions", () =>
    Effect.gen(function*() {
      const path = yield* tempPath("rows.jsonl")
      yield* Stream.fromIterable(rowsOf(3)).pipe(Stream.run(appendJsonl(path, Row)))
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* openJsonlWriter(path, Row, { syncEvery: 1 })
        expect(writer.repairedTornLine).toBe(false)
        yield* writer.write(rowsOf(1, 3)[0] ?? { id: "", tags: [] })
        yield* writer.writeAll(rowsOf(2, 4))
        expect(yield* writer.written).toBe(3)
      }))
      expect((yield* readAll(path, Row)).rows).toEqual(rowsOf(6))
    }))

  it.scoped("keeps lines whole when many fibers write through one writer at once", () =>
    Effect.gen(function*() {
      const path = yield* tempPath("concurrent.jsonl")
      const rows = rowsOf(300)
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* openJsonlWriter(path, Row, { syncEvery: 50 })
        yield* Effect.forEach(rows, (row) => writer.write(row), { concurrency: 16, discard: true })
      }))
      const back = yield* readAll(path, Row)
      expect(back.summary.rejected).toBe(0)
      expect([...back.rows].sort((a, b) => a.id.localeCompare(b.id))).toEqual([...rows].sort((a, b) => a.id.localeCompare(b.id)))
    }))

  it.scoped("after a crash left a torn line, appends on a new line: all complete records read, one reject", () =>
    Effect.gen(function*() {
      const path = yield* tempPath("crash.jsonl")
      yield* Stream.fromIterable(rowsOf(3)).pipe(Stream.run(appendJsonl(path, Row)))
      // What a crash mid-write leaves: the start of a line, no newline.
      appendFileSync(path, `{"id":"row-torn","tags":["t`)

      // The torn line, read now, is the torn final line.
      const before = yield* readAll(path, Row)
      expect(before.summary).toMatchObject({ decoded: 3, rejected: 1, tornFinalLine: true })

      const repaired = yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* openJsonlWriter(path, Row)
        yield* writer.writeAll(rowsOf(2, 3))
        return writer.repairedTornLine
      }))
      expect(repaired).toBe(true)

      const after = yield* readAll(path, Row)
      expect(after.rows).toEqual(rowsOf(5))
      expect(after.summary).toMatchObject({ lines: 6, decoded: 5, rejected: 1, tornFinalLine: false })
      const rejects = (yield* readAll(after.summary.rejectsFile, JsonlReject)).rows
      expect(rejects.map((r) => [r.line, r.kind, r.raw])).toEqual([[4, "not-json", `{"id":"row-torn","tags":["t`]])
    }))

  it.scoped("round-trips a schema whose encoded form holds a JSON-encoded string field", () =>
    Effect.gen(function*() {
      // Like Hugging Face exports of SWE-bench: FAIL_TO_PASS as a string holding a JSON array.
      const HfRow = Schema.Struct({ id: Schema.String, tags: Schema.parseJson(Schema.Array(Schema.String)) })
      const path = yield* tempPath("hf.jsonl")
      const rows = [{ id: "a", tags: ["tests/test_x.py::test_a[1-2]", "quote \" and \\ backslash"] }, { id: "b", tags: [] }]
      yield* Stream.fromIterable(rows).pipe(Stream.run(appendJsonl(path, HfRow)))

      const text = yield* FileSystem.FileSystem.pipe(Effect.flatMap((fs) => fs.readFileString(path)))
      const firstLine: unknown = JSON.parse(text.split("\n")[0] ?? "")
      expect(firstLine).toEqual({ id: "a", tags: JSON.stringify(rows[0]?.tags) })

      expect((yield* readAll(path, HfRow)).rows).toEqual(rows)
      // Read with the array schema, the string field is rejected at its path.
      const plain = yield* readAll(path, Row)
      expect(plain.summary.rejected).toBe(2)
      const rejects = (yield* readAll(plain.summary.rejectsFile, JsonlReject)).rows
      expect(rejects.map((r) => r.path)).toEqual(["tags", "tags"])
    }))

  it.scoped("fails with JsonlEncodeError naming the field when a record does not encode", () =>
    Effect.gen(function*() {
      const Strict = Schema.Struct({ id: Schema.String.pipe(Schema.minLength(1)), tags: Schema.Array(Schema.String) })
      const path = yield* tempPath("strict.jsonl")
      const error = yield* Stream.make({ id: "ok", tags: [] }, { id: "", tags: [] }).pipe(
        Stream.run(appendJsonl(path, Strict)),
        Effect.flip,
      )
      expect(error).toMatchObject({ _tag: "JsonlEncodeError", path, field: "id" })
      // The record before the bad one was written whole.
      expect((yield* readAll(path, Strict)).rows).toEqual([{ id: "ok", tags: [] }])
    }))

  it.scoped("fails with JsonlFileError when the path is a directory", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const error = yield* Stream.make({ id: "a", tags: [] }).pipe(Stream.run(appendJsonl(dir, Row)), Effect.flip)
      expect(error).toMatchObject({ _tag: "JsonlFileError", path: dir })
      expect(error.message).toMatch(/directory/)
    }))
})
