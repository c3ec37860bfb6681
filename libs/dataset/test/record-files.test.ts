import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { JsonlReject, type Prediction, readJsonl, type TaskInstance, TaskInstance as TaskInstanceSchema } from "@swe-gym/domain"
import { makeStore, quoteLiteral } from "@swe-gym/store"
import { Chunk, Effect, Schema, Stream } from "effect"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { readInstanceFile, readPredictionFile, type RecordFileRead } from "../src/index.js"

// The 23 rows of SWE-bench Lite's dev split, verbatim (byte-identical to ../shared/datasets/swe-bench-lite-dev.jsonl):
// FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded strings, as the Hugging Face export ships them.
const devRows = fileURLToPath(new URL("../../../data/sample/swe-bench-lite-dev.jsonl", import.meta.url))

const tempDir = () => mkdtempSync(join(tmpdir(), "record-files-"))

const collect = <A>(read: RecordFileRead<A>) => Effect.map(Stream.runCollect(read.rows), Chunk.toReadonlyArray)

const expectedInstances = (dir: string) =>
  Effect.gen(function*() {
    const read = yield* readJsonl(devRows, TaskInstanceSchema, { rejectsPath: join(dir, "baseline.rejects.jsonl") })
    return Chunk.toReadonlyArray(yield* Stream.runCollect(read.rows))
  })

const columns = "instance_id, repo, base_commit, patch, test_patch, problem_statement, hints_text, created_at, version, environment_setup_commit"

/** Writes a Parquet file with DuckDB from a SELECT over the dev rows (read as text columns, like the Hugging Face export). */
const writeParquet = (target: string, select: (rows: string) => string) =>
  Effect.scoped(Effect.gen(function*() {
    const store = yield* makeStore({ path: ":memory:" })
    const rows = `read_json(${quoteLiteral(devRows)}, format = 'newline_delimited', columns = {instance_id: 'VARCHAR', repo: 'VARCHAR', ` +
      `base_commit: 'VARCHAR', patch: 'VARCHAR', test_patch: 'VARCHAR', problem_statement: 'VARCHAR', hints_text: 'VARCHAR', ` +
      `created_at: 'VARCHAR', version: 'VARCHAR', environment_setup_commit: 'VARCHAR', FAIL_TO_PASS: 'VARCHAR', PASS_TO_PASS: 'VARCHAR'})`
    yield* store.run(`COPY (${select(rows)}) TO ${quoteLiteral(target)} (FORMAT parquet)`)
  }))

const rejectsOf = (file: string) =>
  readFileSync(file, "utf8").trim().split("\n").map((line) => Schema.decodeUnknownSync(Schema.parseJson(JsonlReject))(line))

describe("readInstanceFile", () => {
  it.effect("reads a Parquet export with FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded strings: the same 23 instances as the JSONL", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const parquet = join(dir, "lite-dev.parquet")
      yield* writeParquet(parquet, (rows) => `SELECT * FROM ${rows}`)
      const read = yield* readInstanceFile(parquet)
      expect(read.format).toBe("parquet")
      const instances = yield* collect(read)
      expect(instances).toEqual(yield* expectedInstances(dir))
      expect(yield* read.summary).toMatchObject({ records: 23, decoded: 23, rejected: 0, skipped: 0, complete: true })
      expect(existsSync(`${parquet}.rejects.jsonl`)).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("reads a Parquet export with the lists as lists and created_at as a timestamp (SWE-Gym's shape)", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const parquet = join(dir, "lists.parquet")
      yield* writeParquet(parquet, (rows) =>
        `SELECT * REPLACE (from_json(FAIL_TO_PASS, '["VARCHAR"]') AS FAIL_TO_PASS, from_json(PASS_TO_PASS, '["VARCHAR"]') AS PASS_TO_PASS, ` +
        `created_at::TIMESTAMPTZ AS created_at) FROM ${rows}`)
      const types = yield* Effect.scoped(Effect.flatMap(makeStore({ path: ":memory:" }), (store) =>
        store.query(`DESCRIBE SELECT FAIL_TO_PASS, created_at FROM read_parquet(${quoteLiteral(parquet)})`, [], Schema.Struct({ column_type: Schema.String }))))
      expect(types.map((t) => t.column_type)).toEqual(["VARCHAR[]", "TIMESTAMP WITH TIME ZONE"])
      const instances = yield* collect(yield* readInstanceFile(parquet))
      expect(instances).toEqual(yield* expectedInstances(dir))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a row that is not a task instance goes to the rejects file with its row number, field and reason; the rest are read", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const parquet = join(dir, "bad.parquet")
      // Row 2 loses its FAIL_TO_PASS (null: an absent field), row 5 gets a base_commit that is no sha.
      yield* writeParquet(parquet, (rows) =>
        `SELECT ${columns}, CASE WHEN n = 1 THEN NULL ELSE FAIL_TO_PASS END AS FAIL_TO_PASS, PASS_TO_PASS FROM ` +
        `(SELECT * REPLACE (CASE WHEN n = 4 THEN 'not-a-sha' ELSE base_commit END AS base_commit) FROM (SELECT *, row_number() OVER () - 1 AS n FROM ${rows})) ORDER BY n`)
      const rejectsPath = join(dir, "rejects.jsonl")
      const read = yield* readInstanceFile(parquet, { rejectsPath })
      const instances = yield* collect(read)
      const expected = yield* expectedInstances(dir)
      expect(instances.map((i) => i.instance_id)).toEqual(expected.filter((_, i) => i !== 1 && i !== 4).map((i) => i.instance_id))
      expect(yield* read.summary).toMatchObject({ records: 23, decoded: 21, rejected: 2, rejectsFile: rejectsPath, complete: true })
      const rejects = rejectsOf(rejectsPath)
      expect(rejects.map((r) => ({ file: r.file, line: r.line, path: r.path, kind: r.kind }))).toEqual([
        { file: parquet, line: 2, path: "FAIL_TO_PASS", kind: "schema" },
        { file: parquet, line: 5, path: "base_commit", kind: "schema" },
      ])
      expect(rejects[1]?.reason).toBe("base_commit must be a hex sha")
      expect(rejects[0]?.raw).toContain(expected[1]?.instance_id)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("instanceIds keeps those instances in file order, from Parquet and JSONL; an id the file lacks fails, named", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const parquet = join(dir, "lite-dev.parquet")
      yield* writeParquet(parquet, (rows) => `SELECT * FROM ${rows}`)
      const ids = ["pydicom__pydicom-901", "sqlfluff__sqlfluff-1625", "pvlib__pvlib-python-1072"]
      for (const file of [parquet, devRows]) {
        const read = yield* readInstanceFile(file, { instanceIds: ids, rejectsPath: join(dir, "r.jsonl") })
        expect((yield* collect(read)).map((i) => i.instance_id)).toEqual(["sqlfluff__sqlfluff-1625", "pvlib__pvlib-python-1072", "pydicom__pydicom-901"])
        expect(yield* read.summary).toMatchObject({ records: 23, decoded: 23, skipped: 20 })
        const unknown = yield* Effect.flip(readInstanceFile(file, { instanceIds: [...ids, "django__django-1", "nope-2"] }))
        expect(unknown._tag).toBe("UnknownInstanceIds")
        if (unknown._tag !== "UnknownInstanceIds") throw new Error("UnknownInstanceIds expected")
        expect(unknown.ids).toEqual(["django__django-1", "nope-2"])
        expect(unknown.message).toContain(`${file} has no record of 2 instances: django__django-1, nope-2`)
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("reads the dataset's own Parquet shape: swe_gym as a JSON column, null where absent", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const parquet = join(dir, "published.parquet")
      yield* writeParquet(parquet, (rows) =>
        `SELECT *, CASE WHEN instance_id = 'pydicom__pydicom-901' THEN '{"source":"git","pull_number":901,"weak_problem_statement":true}' END::JSON AS swe_gym FROM ${rows}`)
      const instances = yield* collect(yield* readInstanceFile(parquet))
      const expected = yield* expectedInstances(dir)
      expect(instances).toEqual(expected.map((i): TaskInstance =>
        i.instance_id === "pydicom__pydicom-901" ? { ...i, swe_gym: { source: "git", pull_number: 901, weak_problem_statement: true } } : i
      ))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("tells formats by extension and content; a JSONL line that is not an instance keeps its line number", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const expected = yield* expectedInstances(dir)
      const lines = readFileSync(devRows, "utf8").trim().split("\n")
      // A JSON list of rows, and a JSONL file named .json.
      const list = join(dir, "rows.json")
      writeFileSync(list, JSON.stringify(lines.map((l) => JSON.parse(l))))
      const listRead = yield* readInstanceFile(list)
      expect(listRead.format).toBe("json-list")
      expect(yield* collect(listRead)).toEqual(expected)
      const misnamed = join(dir, "rows-lines.json")
      writeFileSync(misnamed, `${lines.join("\n")}\n`)
      const misnamedRead = yield* readInstanceFile(misnamed)
      expect(misnamedRead.format).toBe("jsonl")
      expect(yield* collect(misnamedRead)).toEqual(expected)

      const broken = join(dir, "broken.jsonl")
      writeFileSync(broken, `${lines[0]}\n{"instance_id": "x"}\n${lines[1]}\n`)
      const brokenRead = yield* readInstanceFile(broken)
      expect((yield* collect(brokenRead)).length).toBe(2)
      expect(rejectsOf(`${broken}.rejects.jsonl`).map((r) => [r.line, r.kind])).toEqual([[2, "schema"]])

      // A .parquet that is not one (a Git LFS pointer), a cut-off Parquet file, an empty file, a directory.
      const pointer = join(dir, "pointer.parquet")
      writeFileSync(pointer, "version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 10\n")
      expect((yield* Effect.flip(readInstanceFile(pointer))).message).toContain("not a Parquet file")
      const whole = join(dir, "whole.parquet")
      yield* writeParquet(whole, (rows) => `SELECT * FROM ${rows}`)
      const cut = join(dir, "cut.parquet")
      writeFileSync(cut, readFileSync(whole).subarray(0, 5000))
      const cutRead = yield* Effect.either(Effect.flatMap(readInstanceFile(cut), collect))
      expect(cutRead._tag).toBe("Left")
      if (cutRead._tag === "Left") expect(cutRead.left.message).toContain("cannot be read as Parquet")
      const empty = join(dir, "empty.json")
      writeFileSync(empty, "\n")
      expect((yield* Effect.flip(readInstanceFile(empty))).message).toContain("the file is empty")
      expect((yield* Effect.flip(readInstanceFile(dir)))._tag).toBe("JsonlFileError")
      expect((yield* Effect.flip(readInstanceFile(join(dir, "missing.parquet"))))._tag).toBe("JsonlFileNotFound")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("readPredictionFile", () => {
  // The gold patches of the dev rows as one model's predictions.
  const goldOf = (dir: string) =>
    Effect.map(expectedInstances(dir), (rows) =>
      rows.map((i): Prediction => ({ instance_id: i.instance_id, model_name_or_path: "gold", model_patch: i.patch })))

  it.effect("reads SWE-bench's preds.json keyed by instance id (records with or without instance_id) and as a list", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const gold = yield* goldOf(dir)
      const keyed = join(dir, "preds.json")
      writeFileSync(keyed, JSON.stringify(Object.fromEntries(gold.map((p, i) => [p.instance_id, i % 2 === 0 ? p : { model_name_or_path: p.model_name_or_path, model_patch: p.model_patch }]))))
      const keyedRead = yield* readPredictionFile(keyed)
      expect(keyedRead.format).toBe("json-object")
      expect(yield* collect(keyedRead)).toEqual(gold)

      const list = join(dir, "preds-list.json")
      writeFileSync(list, JSON.stringify(gold, null, 2))
      const listRead = yield* readPredictionFile(list)
      expect(listRead.format).toBe("json-list")
      expect(yield* collect(listRead)).toEqual(gold)

      const jsonl = join(dir, "preds.jsonl")
      writeFileSync(jsonl, gold.map((p) => JSON.stringify(p)).join("\n") + "\n")
      expect(yield* collect(yield* readPredictionFile(jsonl))).toEqual(gold)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("an entry whose instance_id contradicts its key, or that is no prediction, is rejected with its entry number; null patches read as empty", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const [a, b, c] = yield* goldOf(dir)
      if (a === undefined || b === undefined || c === undefined) throw new Error("three predictions expected")
      const keyed = join(dir, "preds.json")
      writeFileSync(keyed, JSON.stringify({
        [a.instance_id]: { ...a, model_patch: null },
        [b.instance_id]: { ...b, instance_id: c.instance_id },
        [c.instance_id]: { instance_id: c.instance_id, model_patch: c.model_patch },
      }))
      const read = yield* readPredictionFile(keyed)
      expect(yield* collect(read)).toEqual([{ ...a, model_patch: "" }])
      expect(yield* read.summary).toMatchObject({ format: "json-object", records: 3, decoded: 1, rejected: 2 })
      const rejects = rejectsOf(`${keyed}.rejects.jsonl`)
      expect(rejects.map((r) => [r.line, r.path])).toEqual([[2, "instance_id"], [3, "model_name_or_path"]])
      expect(rejects[0]?.reason).toBe(`instance_id "${c.instance_id}" differs from its key "${b.instance_id}"`)
      // The subset filter works on predictions too, and names ids without a prediction.
      const subset = yield* readPredictionFile(keyed, { instanceIds: [a.instance_id] })
      expect((yield* collect(subset)).map((p) => p.instance_id)).toEqual([a.instance_id])
      const unknown = yield* Effect.flip(readPredictionFile(keyed, { instanceIds: ["astropy__astropy-12907"] }))
      expect(unknown.message).toContain("has no record of instance: astropy__astropy-12907")
    }).pipe(Effect.provide(NodeContext.layer)))
})
