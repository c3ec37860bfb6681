import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { pythonJsonList, TaskInstance, TaskInstanceHf, ValidationResult } from "@swe-gym/domain"
import { Store } from "@swe-gym/store"
import { Console, Effect, Exit, Schema } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { InstanceRow } from "../src/instance-rows.js"
import { formatPublishSummary, publish, sizeBucket, sizeDistribution } from "../src/publish.js"

const candidate = (repo: string, n: number, extra: Partial<TaskInstance> = {}): TaskInstance => ({
  instance_id: `${repo.replace("/", "__")}-${n}`,
  repo,
  base_commit: "88f9bce78661821a4b1e0e0df9115b826eb3adbc",
  patch: `diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a = ${n}\n+a = ${n + 1}\n`,
  test_patch: "diff --git a/tests/test_x.py b/tests/test_x.py\n",
  problem_statement: `Issue ${n}: ünïcode stays`,
  hints_text: "",
  created_at: "2024-01-02T03:04:05Z",
  version: "",
  environment_setup_commit: "",
  FAIL_TO_PASS: [],
  PASS_TO_PASS: [],
  swe_gym: { source: "export", pull_number: n, issue_numbers: [n - 1], pr_updated_at: "2024-01-03T00:00:00Z", mined_at: `2026-11-23T16:0${n % 10}:00.000Z` },
  ...extra,
})

const verdict = (instance: TaskInstance, fields: Partial<ValidationResult>): ValidationResult => ({
  instance_id: instance.instance_id,
  kept: true,
  reason: "valid",
  detail: "",
  FAIL_TO_PASS: [],
  PASS_TO_PASS: [],
  flaky: [],
  unstable: [],
  broken_by_gold: [],
  runs: [{ phase: "before", attempt: 1, exit_code: 1, timed_out: false, statuses: {}, log_tail: "a long log", duration_ms: 10 }],
  image: `swe-gym-env:${instance.repo.replace("/", "-")}@sha256:${"ab".repeat(32)}`,
  key: `key-${instance.instance_id}`,
  validated_at: "2026-11-23T16:00:00.000Z",
  ...fields,
})

const a2 = candidate("sample/calc", 2)
const a4 = candidate("sample/calc", 4)
const b3 = candidate("sample/textkit", 3)
const b7 = candidate("sample/textkit", 7)
const b9 = candidate("sample/textkit", 9)
const candidates = [b9, a2, b7, a4, b3]
const verdicts = [
  verdict(a2, { FAIL_TO_PASS: ["tests/test_ops.py::test_div_by_zero[1]", "tests/test_ops.py::test_mod_by_zero"], PASS_TO_PASS: ["tests/test_ops.py::test_add"] }),
  verdict(a4, { FAIL_TO_PASS: ["tests/test_parse.py::test_parse[1  +  2]", "tests/test_parse.py::test_é[ü]", "tests/test_parse.py::test_c"], PASS_TO_PASS: [] }),
  verdict(b3, { FAIL_TO_PASS: ["test_keeps (tests.test_wrap.WrapTest)"], PASS_TO_PASS: ["a", "b", "c", "d"], flaky: ["tests/test_wrap.py::test_random"], unstable: ["tests/test_wrap.py::test_t[1]", "tests/test_wrap.py::test_t[2]"] }),
  verdict(b7, { kept: false, reason: "gold_breaks_tests", detail: "the gold patch breaks tests that passed before: x", FAIL_TO_PASS: ["x1"], broken_by_gold: ["x"] }),
  // b9 has no verdict: not validated.
]

const miningRejections = [
  { instance_id: "sample__calc-8", repo: "sample/calc", reason: "no_test_change", detail: "only x.py" },
  { instance_id: "sample__calc-11", repo: "sample/calc", reason: "no_linked_issue", detail: "" },
  { instance_id: "sample__textkit-12", repo: "sample/textkit", reason: "no_linked_issue", detail: "" },
]

const jsonl = <A, I>(schema: Schema.Schema<A, I>, rows: ReadonlyArray<A>) => rows.map((r) => JSON.stringify(Schema.encodeSync(schema)(r))).join("\n") + "\n"

/** Writes the inputs of a publish into `dir`: candidates, verdicts, and a miner-shaped DuckDB with mining_rejections. */
const writeInputs = (dir: string, order: (xs: ReadonlyArray<unknown>) => ReadonlyArray<unknown> = (xs) => xs) =>
  Effect.gen(function*() {
    writeFileSync(join(dir, "candidates.jsonl"), jsonl(TaskInstance, order(candidates) as ReadonlyArray<TaskInstance>))
    writeFileSync(join(dir, "verdicts.jsonl"), jsonl(ValidationResult, order(verdicts) as ReadonlyArray<ValidationResult>))
    yield* Effect.gen(function*() {
      const store = yield* Store
      yield* store.run("CREATE TABLE IF NOT EXISTS mining_rejections (instance_id VARCHAR PRIMARY KEY, repo VARCHAR, reason VARCHAR, detail VARCHAR, pr_updated_at VARCHAR)")
      for (const r of miningRejections) {
        yield* store.run("INSERT OR REPLACE INTO mining_rejections VALUES (?, ?, ?, ?, '2024-01-01T00:00:00Z')", [r.instance_id, r.repo, r.reason, r.detail])
      }
    }).pipe(Effect.provide(Store.layer({ path: join(dir, "mining.duckdb") })))
  })

const inputsOf = (dir: string, out: string) => ({
  candidates: join(dir, "candidates.jsonl"),
  verdicts: { _tag: "VerdictsFile", file: join(dir, "verdicts.jsonl") } as const,
  mining: { db: join(dir, "mining.duckdb"), rejectionsTable: "mining_rejections" },
  outDir: out,
})

const withTempDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "dataset-publish-"))),
    f,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
  )

const Strings = Schema.Record({ key: Schema.String, value: Schema.Unknown })

describe("publish", () => {
  it.live("writes the kept candidates with their verdicts' labels as HF-shaped JSONL, Parquet and DuckDB, by instance_id", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        yield* writeInputs(dir)
        const out = join(dir, "out")
        const summary = yield* publish(inputsOf(dir, out))

        const lines = readFileSync(join(out, "dataset.jsonl"), "utf8").trimEnd().split("\n")
        const rows = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
        expect(rows.map((r) => r.instance_id)).toEqual(["sample__calc-2", "sample__calc-4", "sample__textkit-3"])
        // FAIL_TO_PASS / PASS_TO_PASS are JSON-encoded strings, written as Python's json.dumps writes them.
        expect(rows[1]?.FAIL_TO_PASS).toBe(pythonJsonList(verdicts[1]?.FAIL_TO_PASS ?? []))
        expect(rows[1]?.FAIL_TO_PASS).toBe('["tests/test_parse.py::test_parse[1  +  2]", "tests/test_parse.py::test_\\u00e9[\\u00fc]", "tests/test_parse.py::test_c"]')
        expect(rows[1]?.PASS_TO_PASS).toBe("[]")
        expect(Object.keys(rows[0] ?? {})).toEqual([
          "instance_id", "repo", "base_commit", "patch", "test_patch", "problem_statement", "hints_text", "created_at", "version",
          "environment_setup_commit", "FAIL_TO_PASS", "PASS_TO_PASS", "swe_gym",
        ])
        // Every row decodes as a task instance whose labels are the verdict's; mined_at is dropped, image and key added.
        const decoded = lines.map((l) => Schema.decodeUnknownSync(Schema.parseJson(TaskInstanceHf))(l))
        expect(decoded[0]).toEqual({
          ...a2,
          FAIL_TO_PASS: verdicts[0]?.FAIL_TO_PASS,
          PASS_TO_PASS: verdicts[0]?.PASS_TO_PASS,
          swe_gym: { source: "export", pull_number: 2, issue_numbers: [1], pr_updated_at: "2024-01-03T00:00:00Z", image: verdicts[0]?.image, validation_key: "key-sample__calc-2" },
        })

        yield* Effect.gen(function*() {
          const store = yield* Store
          const parquet = yield* store.query(`SELECT * FROM read_parquet('${join(out, "dataset.parquet")}') ORDER BY instance_id`, [], Strings, { values: "json" })
          expect(parquet.map((r) => ({ ...r, swe_gym: JSON.parse(String(r.swe_gym)) }))).toEqual(rows)
          yield* store.run(`ATTACH '${join(out, "dataset.duckdb")}' AS published (READ_ONLY)`)
          const stored = yield* store.query("SELECT * FROM published.task_instances ORDER BY instance_id", [], InstanceRow)
          expect(stored).toEqual(decoded)
          const rejections = yield* store.query("SELECT instance_id, stage, reason FROM published.rejections ORDER BY instance_id", [], Strings)
          expect(rejections).toEqual([
            { instance_id: "sample__calc-11", stage: "mining", reason: "no_linked_issue" },
            { instance_id: "sample__calc-8", stage: "mining", reason: "no_test_change" },
            { instance_id: "sample__textkit-12", stage: "mining", reason: "no_linked_issue" },
            { instance_id: "sample__textkit-7", stage: "validation", reason: "gold_breaks_tests" },
            { instance_id: "sample__textkit-9", stage: "validation", reason: "not_validated" },
          ])
        }).pipe(Effect.provide(Store.layer({ path: ":memory:" })))

        expect(summary).toEqual({
          instances: 3,
          candidates: 5,
          per_repo: [{ repo: "sample/calc", instances: 2 }, { repo: "sample/textkit", instances: 1 }],
          rejected: { mining: { no_linked_issue: 2, no_test_change: 1 }, validation: { gold_breaks_tests: 1, not_validated: 1 } },
          incomplete: ["sample__textkit-9"],
          excluded_tests: { flaky: 1, unstable: 2 },
          FAIL_TO_PASS: { min: 1, median: 2, max: 3, histogram: [{ size: "1", instances: 1 }, { size: "2-3", instances: 2 }] },
          PASS_TO_PASS: { min: 0, median: 1, max: 4, histogram: [{ size: "0", instances: 1 }, { size: "1", instances: 1 }, { size: "4-7", instances: 1 }] },
          files: { jsonl: "dataset.jsonl", parquet: "dataset.parquet", duckdb: "dataset.duckdb", summary: "summary.json" },
        })
        expect(JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))).toEqual(summary)
        const text = formatPublishSummary(summary)
        expect(text).toContain("dataset: 3 task instances from 5 candidates")
        expect(text).toContain("rejected by mining: 3 (no_linked_issue 2, no_test_change 1)")
        expect(text).toContain("INCOMPLETE: 1 candidates have no final verdict (sample__textkit-9)")
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.live("publishing again, from inputs in another order, into the same directory gives the same bytes", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        yield* writeInputs(dir)
        const first = join(dir, "first")
        yield* publish(inputsOf(dir, first))
        const again = join(dir, "again")
        yield* publish(inputsOf(dir, again))
        yield* writeInputs(dir, (xs) => [...xs].reverse())
        yield* publish(inputsOf(dir, again)) // over the previous output: replaced, not appended
        for (const file of ["dataset.jsonl", "summary.json"]) {
          expect(readFileSync(join(again, file), "utf8")).toBe(readFileSync(join(first, file), "utf8"))
        }
        expect(readFileSync(join(again, "dataset.parquet")).equals(readFileSync(join(first, "dataset.parquet")))).toBe(true)
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.live("reports its steps through onProgress, and prints nothing itself", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        yield* writeInputs(dir)
        const out = join(dir, "out")
        const lines: Array<string> = []
        const printed: Array<string> = []
        const keep = (...parts: ReadonlyArray<unknown>) => Effect.sync(() => void printed.push(parts.join(" ")))
        const quietly = <A, E, R>(self: Effect.Effect<A, E, R>) =>
          Console.consoleWith((console) => self.pipe(Effect.withConsole({ ...console, log: keep, error: keep, warn: keep, info: keep })))
        yield* quietly(publish({ ...inputsOf(dir, out), onProgress: (line) => Effect.sync(() => void lines.push(line)) }))
        expect(lines.slice(0, -1)).toEqual([
          `reading candidates ${join(dir, "candidates.jsonl")}, verdicts ${join(dir, "verdicts.jsonl")}, mining database ${join(dir, "mining.duckdb")}`,
          `writing ${join(out, "dataset.jsonl")}`,
          `writing ${join(out, "dataset.parquet")}`,
          "3 instances written to dataset.jsonl, dataset.parquet and dataset.duckdb",
        ])
        expect(lines.at(-1)).toMatch(/^done in \d+\.\d s$/)
        yield* quietly(publish(inputsOf(dir, out)))
        expect(printed).toEqual([])
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.live("a missing input fails with the file and what to run; a line that is not a verdict fails with its rejects file", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        yield* writeInputs(dir)
        const missing = yield* Effect.exit(publish({ ...inputsOf(dir, join(dir, "out")), verdicts: { _tag: "VerdictsFile", file: join(dir, "nope.jsonl") } }))
        expect(missing).toEqual(Exit.fail(expect.objectContaining({ _tag: "PublishInputInvalid", file: join(dir, "nope.jsonl") })))
        writeFileSync(join(dir, "verdicts.jsonl"), readFileSync(join(dir, "verdicts.jsonl"), "utf8") + '{"instance_id": "x"}\n')
        const bad = yield* Effect.flip(publish(inputsOf(dir, join(dir, "out"))))
        expect(bad).toMatchObject({ _tag: "PublishInputInvalid", reason: "1 lines are not validation verdicts" })
        expect(bad.message).toContain(join(dir, "out", "verdicts.rejects.jsonl"))
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it.live("from the validate stage's outputs: kept instances as the runner wrote them, the verdict their key names, else the newest", () =>
    withTempDir((dir) =>
      Effect.gen(function*() {
        yield* writeInputs(dir)
        const setup = "0123456789abcdef0123456789abcdef01234567"
        const keptFile = (v: ValidationResult, c: TaskInstance): TaskInstance => ({
          ...c,
          environment_setup_commit: setup,
          FAIL_TO_PASS: v.FAIL_TO_PASS,
          PASS_TO_PASS: v.PASS_TO_PASS,
          swe_gym: { ...c.swe_gym, ...(v.image === undefined ? {} : { image: v.image }), spec_hash: "spec-1", validation_key: v.key },
        })
        const [va2, va4, vb3, vb7] = verdicts
        if (va2 === undefined || va4 === undefined || vb3 === undefined || vb7 === undefined) throw new Error("fixture")
        // b3's verdict says kept but b3 is not in the kept file (a verdict of another run).
        writeFileSync(join(dir, "validated.jsonl"), jsonl(TaskInstance, [keptFile(va4, a4), keptFile(va2, a2)]))
        // The harness's validations table (libs/harness validation-store.ts): several verdicts per instance over time.
        yield* Effect.gen(function*() {
          const store = yield* Store
          yield* store.run(`CREATE TABLE validations (key VARCHAR PRIMARY KEY, instance_id VARCHAR NOT NULL, kept BOOLEAN NOT NULL,
            reason VARCHAR NOT NULL, image VARCHAR, validated_at VARCHAR NOT NULL, result JSON NOT NULL)`)
          const save = (v: ValidationResult) =>
            store.run("INSERT INTO validations VALUES (?, ?, ?, ?, ?, ?, ?)", [
              v.key, v.instance_id, v.kept, v.reason, v.image ?? null, v.validated_at, JSON.stringify(Schema.encodeSync(ValidationResult)(v)),
            ])
          yield* save(va2)
          // Newer, but not the key the kept instance names (e.g. an older spec validated again later).
          yield* save({ ...va2, key: "other-key", kept: false, reason: "no_fail_to_pass", FAIL_TO_PASS: [], validated_at: "2026-11-24T00:00:00.000Z" })
          yield* save(va4)
          yield* save(vb3)
          yield* save({ ...vb7, key: "old-b7", reason: "tests_timed_out", validated_at: "2026-11-01T00:00:00.000Z" })
          yield* save(vb7)
        }).pipe(Effect.provide(Store.layer({ path: join(dir, "validation.duckdb") })))

        const out = join(dir, "out")
        const summary = yield* publish({
          ...inputsOf(dir, out),
          verdicts: { _tag: "ValidationStore", validated: join(dir, "validated.jsonl"), db: join(dir, "validation.duckdb"), table: "validations" },
        })
        const rows = readFileSync(join(out, "dataset.jsonl"), "utf8").trimEnd().split("\n")
          .map((l) => Schema.decodeUnknownSync(Schema.parseJson(TaskInstanceHf))(l))
        expect(rows.map((r) => [r.instance_id, r.environment_setup_commit, r.FAIL_TO_PASS, r.swe_gym])).toEqual([
          ["sample__calc-2", setup, va2.FAIL_TO_PASS, { source: "export", pull_number: 2, issue_numbers: [1], pr_updated_at: "2024-01-03T00:00:00Z", image: va2.image, spec_hash: "spec-1", validation_key: va2.key }],
          ["sample__calc-4", setup, va4.FAIL_TO_PASS, { source: "export", pull_number: 4, issue_numbers: [3], pr_updated_at: "2024-01-03T00:00:00Z", image: va4.image, spec_hash: "spec-1", validation_key: va4.key }],
        ])
        expect(summary.rejected.validation).toEqual({ gold_breaks_tests: 1, not_validated: 2 })
        expect(summary.incomplete).toEqual(["sample__textkit-3", "sample__textkit-9"])
        expect(summary.excluded_tests).toEqual({ flaky: 0, unstable: 0 })
      })
    ).pipe(Effect.provide(NodeContext.layer)))

  it("size distribution: min, median (mean of the middle two), max and power-of-two buckets", () => {
    expect(sizeDistribution([])).toEqual({ min: 0, median: 0, max: 0, histogram: [] })
    expect(sizeDistribution([5, 1, 2, 0])).toEqual({
      min: 0,
      median: 1.5,
      max: 5,
      histogram: [{ size: "0", instances: 1 }, { size: "1", instances: 1 }, { size: "2-3", instances: 1 }, { size: "4-7", instances: 1 }],
    })
    expect([0, 1, 2, 3, 4, 7, 8, 100].map(sizeBucket)).toEqual(["0", "1", "2-3", "2-3", "4-7", "4-7", "8-15", "64-127"])
  })
})
