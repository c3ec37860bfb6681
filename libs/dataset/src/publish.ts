// The publish stage: the current candidates (mining's output) and their validation verdicts in, the dataset out, in
// SWE-bench's format: `dataset.jsonl` (one row per kept instance, FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded strings like
// the Hugging Face exports), `dataset.parquet` (the same columns, converted from the JSONL by DuckDB), `dataset.duckdb`
// (task_instances plus every candidate, verdict and rejection, for SQL) and `summary.json`.
// Everything is ordered by instance_id and nothing time-dependent is written (mining's `mined_at` is dropped), so a
// rebuild of unchanged inputs gives the same bytes as a build from scratch.
import { FileSystem, Path } from "@effect/platform"
import { readJsonl, type SweGymFields, TaskInstance, TaskInstanceHf, openJsonlWriter, ValidationResult } from "@swe-gym/domain"
import { type Migration, quoteIdentifier, quoteLiteral, Store } from "@swe-gym/store"
import { Chunk, Clock, Effect, Option, Schema, Stream } from "effect"
import { InstanceRow, toInstanceRow } from "./instance-rows.js"
import { createTaskInstanceTable, datasetMigrations } from "./tables.js"

/** An input of publish that cannot be used: which file, what is wrong, and what to do. */
export class PublishInputInvalid extends Schema.TaggedError<PublishInputInvalid>()("PublishInputInvalid", {
  file: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.file}: ${this.reason} (${this.hint})`
  }
}

/**
 * Where the verdicts come from: a JSONL file of ValidationResult (one per candidate), or the validate stage's own
 * outputs — the JSONL of kept candidates with their labels (`runner validate --out`) and its DuckDB file, whose
 * verdicts table (`table`: @swe-gym/harness's `HarnessTables.validations`) holds every verdict by input hash.
 */
export type VerdictSource =
  | { readonly _tag: "VerdictsFile"; readonly file: string }
  | { readonly _tag: "ValidationStore"; readonly validated: string; readonly db: string; readonly table: string }

/** The miner's database and the table of the PRs its filters rejected (@swe-gym/mining's `MiningTables.rejections`). */
export interface MiningSource {
  readonly db: string
  readonly rejectionsTable: string
}

/** What publish reads and where it writes. */
export interface PublishOptions {
  /** JSONL of the current task candidates (mining's `--out`): the set the dataset is published from. */
  readonly candidates: string
  /** The verdicts on those candidates; a candidate without one is counted as not validated. */
  readonly verdicts: VerdictSource
  /** The miner's DuckDB file and its table of PRs rejected by a filter, attached read-only. */
  readonly mining?: MiningSource | undefined
  /** The output directory: dataset.jsonl, dataset.parquet, dataset.duckdb, summary.json (replaced, never appended). */
  readonly outDir: string
  /** Receives a line per step (reading inputs, writing each file, done in N s); the caller decides where it goes. */
  readonly onProgress?: ((line: string) => Effect.Effect<void>) | undefined
}

/** Size distribution of a test list over the published instances. */
export const SizeDistribution = Schema.Struct({
  min: Schema.Number,
  median: Schema.Number,
  max: Schema.Number,
  /** Instances per size bucket: "0", "1", "2-3", "4-7", "8-15", ... (only buckets that occur, smallest first). */
  histogram: Schema.Array(Schema.Struct({ size: Schema.String, instances: Schema.Number })),
})
export type SizeDistribution = typeof SizeDistribution.Type

/** What a publish wrote: deterministic (no times, no absolute paths), so two builds of the same inputs compare equal. */
export const PublishSummary = Schema.Struct({
  instances: Schema.Number,
  candidates: Schema.Number,
  per_repo: Schema.Array(Schema.Struct({ repo: Schema.String, instances: Schema.Number })),
  /** Rejections per stage and reason: `mining` (the miner's filters) and `validation` (the harness's verdicts). */
  rejected: Schema.Struct({
    mining: Schema.Record({ key: Schema.String, value: Schema.Number }),
    validation: Schema.Record({ key: Schema.String, value: Schema.Number }),
  }),
  /** Candidates without a final verdict (none stored, or an infrastructure error): the dataset is incomplete. */
  incomplete: Schema.Array(Schema.String),
  /** Test ids left out of both lists across the published instances: flaky outcomes and unstable ids. */
  excluded_tests: Schema.Struct({ flaky: Schema.Number, unstable: Schema.Number }),
  FAIL_TO_PASS: SizeDistribution,
  PASS_TO_PASS: SizeDistribution,
  files: Schema.Struct({ jsonl: Schema.String, parquet: Schema.String, duckdb: Schema.String, summary: Schema.String }),
})
export type PublishSummary = typeof PublishSummary.Type

/** The verdict reason given to a candidate that has no verdict in the verdicts file. */
export const notValidatedReason = "not_validated"

/** The published dataset's tables beyond task_instances: every candidate, its verdict, and every rejection. */
export const publishMigrations: ReadonlyArray<Migration> = [
  ...datasetMigrations,
  {
    component: "dataset-publish",
    version: 1,
    name: "candidates, verdicts, rejections",
    up: `
      ${createTaskInstanceTable("candidates")};
      CREATE TABLE verdicts (
        instance_id VARCHAR PRIMARY KEY,
        kept BOOLEAN NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR NOT NULL,
        FAIL_TO_PASS VARCHAR[] NOT NULL,
        PASS_TO_PASS VARCHAR[] NOT NULL,
        flaky VARCHAR[] NOT NULL,
        unstable VARCHAR[] NOT NULL,
        broken_by_gold VARCHAR[] NOT NULL,
        image VARCHAR,
        key VARCHAR NOT NULL
      );
      CREATE TABLE rejections (
        instance_id VARCHAR PRIMARY KEY,
        repo VARCHAR NOT NULL,
        stage VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR NOT NULL
      );`,
  },
]

/** The size buckets of the histograms: 0, 1, then powers of two. */
export const sizeBucket = (n: number): string => {
  if (n <= 1) return String(n)
  const low = 2 ** Math.floor(Math.log2(n))
  return `${low}-${low * 2 - 1}`
}

/** Min, median, max and histogram of list sizes (all 0 for no instances). */
export const sizeDistribution = (sizes: ReadonlyArray<number>): SizeDistribution => {
  const sorted = [...sizes].sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return { min: 0, median: 0, max: 0, histogram: [] }
  const mid = Math.floor(n / 2)
  const median = n % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
  const counts = new Map<string, number>()
  for (const s of sorted) counts.set(sizeBucket(s), (counts.get(sizeBucket(s)) ?? 0) + 1)
  return { min: sorted[0] ?? 0, median, max: sorted[n - 1] ?? 0, histogram: [...counts].map(([size, instances]) => ({ size, instances })) }
}

/** The swe_gym fields a published row keeps: provenance and validation, without the time it was mined. */
const publishedSweGym = (fields: SweGymFields | undefined, verdict: { readonly image: string | null; readonly key: string }): SweGymFields => {
  const { mined_at: _minedAt, ...kept } = fields ?? {}
  return { ...kept, ...(verdict.image === null ? {} : { image: verdict.image }), validation_key: verdict.key }
}

const PublishedRow = Schema.Struct({
  candidate: InstanceRow,
  FAIL_TO_PASS: Schema.Array(Schema.String),
  PASS_TO_PASS: Schema.Array(Schema.String),
  image: Schema.NullOr(Schema.String),
  key: Schema.String,
})

const hfColumns = "{instance_id: 'VARCHAR', repo: 'VARCHAR', base_commit: 'VARCHAR', patch: 'VARCHAR', test_patch: 'VARCHAR', " +
  "problem_statement: 'VARCHAR', hints_text: 'VARCHAR', created_at: 'VARCHAR', version: 'VARCHAR', environment_setup_commit: 'VARCHAR', " +
  "FAIL_TO_PASS: 'VARCHAR', PASS_TO_PASS: 'VARCHAR', swe_gym: 'JSON'}"

const Count = Schema.Struct({ n: Schema.Number })
const ReasonCount = Schema.Struct({ stage: Schema.String, reason: Schema.String, n: Schema.Number })
const Sizes = Schema.Struct({ f2p: Schema.Number, p2p: Schema.Number })
const Excluded = Schema.Struct({ flaky: Schema.Number, unstable: Schema.Number })
const Ids = Schema.Struct({ instance_id: Schema.String })

/** Loads the candidates file into `candidates`; a line that does not decode stops publish (it is our own output). */
const loadCandidates = Effect.fn("dataset.publish.candidates")(function*(file: string, rejectsPath: string) {
  const store = yield* Store
  const read = yield* readJsonl(file, TaskInstance, { rejectsPath })
  yield* store.upsert("candidates", read.rows.pipe(Stream.map(toInstanceRow)), { key: ["instance_id"] })
  const summary = yield* read.summary
  if (summary.rejected > 0) {
    return yield* new PublishInputInvalid({ file, reason: `${summary.rejected} lines are not task instances`, hint: `see ${rejectsPath}; re-run the mine stage` })
  }
})

/** Loads the verdicts file into `verdicts` (without the run logs); for an instance given twice, the later line wins. */
const loadVerdicts = Effect.fn("dataset.publish.verdicts")(function*(file: string, rejectsPath: string) {
  const store = yield* Store
  const read = yield* readJsonl(file, ValidationResult, { rejectsPath })
  yield* store.upsert(
    "verdicts",
    read.rows.pipe(Stream.map((v) => ({
      instance_id: v.instance_id,
      kept: v.kept,
      reason: v.reason,
      detail: v.detail,
      FAIL_TO_PASS: [...v.FAIL_TO_PASS],
      PASS_TO_PASS: [...v.PASS_TO_PASS],
      flaky: [...v.flaky],
      unstable: [...v.unstable],
      broken_by_gold: [...v.broken_by_gold],
      image: v.image ?? null,
      key: v.key,
    }))),
    { key: ["instance_id"] },
  )
  const summary = yield* read.summary
  if (summary.rejected > 0) {
    return yield* new PublishInputInvalid({ file, reason: `${summary.rejected} lines are not validation verdicts`, hint: `see ${rejectsPath}; re-run the validate stage` })
  }
})

/**
 * Loads the validate stage's outputs: the kept instances as it wrote them (with environment_setup_commit, image, spec
 * hash) into `validated`, and one verdict per current candidate from its `validations` table (attached read-only): the
 * one whose key the kept instance names, else the newest. A verdict that says kept for an instance missing from the kept
 * file belongs to another run: counted as not validated.
 */
const loadValidationStore = Effect.fn("dataset.publish.validationStore")(function*(validated: string, db: string, table: string, rejectsPath: string) {
  const store = yield* Store
  const read = yield* readJsonl(validated, TaskInstance, { rejectsPath })
  yield* store.upsert("validated", read.rows.pipe(Stream.map(toInstanceRow)), { key: ["instance_id"] })
  const summary = yield* read.summary
  if (summary.rejected > 0) {
    return yield* new PublishInputInvalid({ file: validated, reason: `${summary.rejected} lines are not task instances`, hint: `see ${rejectsPath}; re-run the validate stage` })
  }
  const list = (field: string) => `coalesce(from_json(v.result->'${field}', '["VARCHAR"]'), []::VARCHAR[])`
  yield* store.run(`ATTACH ${quoteLiteral(db)} AS validation_db (READ_ONLY)`)
  yield* store.run(
    `INSERT OR REPLACE INTO verdicts
     SELECT instance_id, kept, reason, detail, FAIL_TO_PASS, PASS_TO_PASS, flaky, unstable, broken_by_gold, image, key FROM (
       SELECT v.instance_id, v.kept, v.reason, coalesce(v.result->>'detail', '') AS detail,
         ${list("FAIL_TO_PASS")} AS FAIL_TO_PASS, ${list("PASS_TO_PASS")} AS PASS_TO_PASS, ${list("flaky")} AS flaky,
         ${list("unstable")} AS unstable, ${list("broken_by_gold")} AS broken_by_gold, v.image, v.key,
         row_number() OVER (
           PARTITION BY v.instance_id
           ORDER BY (v.key IS NOT DISTINCT FROM (t.swe_gym->>'validation_key')) DESC, v.validated_at DESC, v.key DESC
         ) AS pick
       FROM validation_db.${quoteIdentifier(table)} v JOIN candidates c USING (instance_id) LEFT JOIN validated t USING (instance_id)
     ) WHERE pick = 1`,
  ).pipe(Effect.ensuring(store.run("DETACH validation_db").pipe(Effect.ignore)))
  yield* store.run(
    `UPDATE verdicts SET kept = false, reason = '${notValidatedReason}', detail = 'kept by a verdict, but not in the kept file of this run'
     WHERE kept AND instance_id NOT IN (SELECT instance_id FROM validated)`,
  )
})

/** Fills `validated` from the candidates and their verdicts' labels (when the verdicts came as a file). */
const validatedFromCandidates = Effect.flatMap(Store, (store) =>
  store.run(
    `INSERT INTO validated SELECT c.* REPLACE (v.FAIL_TO_PASS AS FAIL_TO_PASS, v.PASS_TO_PASS AS PASS_TO_PASS)
     FROM candidates c JOIN verdicts v USING (instance_id) WHERE v.kept`,
  ))

/** Records the mining rejections of the miner's database (attached read-only) and the validation rejections. */
const recordRejections = Effect.fn("dataset.publish.rejections")(function*(mining: MiningSource | undefined) {
  const store = yield* Store
  if (mining !== undefined) {
    yield* store.run(`ATTACH ${quoteLiteral(mining.db)} AS mining_db (READ_ONLY)`)
    yield* store.run(
      `INSERT OR REPLACE INTO rejections SELECT instance_id, repo, 'mining', reason, detail FROM mining_db.${quoteIdentifier(mining.rejectionsTable)}`,
    ).pipe(Effect.ensuring(store.run("DETACH mining_db").pipe(Effect.ignore)))
  }
  yield* store.run(
    `INSERT OR REPLACE INTO rejections
     SELECT c.instance_id, c.repo, 'validation', coalesce(v.reason, '${notValidatedReason}'), coalesce(v.detail, 'no verdict on this candidate')
     FROM candidates c LEFT JOIN verdicts v USING (instance_id) WHERE v.kept IS NOT TRUE`,
  )
})

/** The kept candidates with their labels, by instance_id, read in pages (memory stays flat). */
const publishedInstances = (pageSize = 500) =>
  Stream.unwrap(Effect.map(Store, (store) =>
    Stream.paginateChunkEffect(Option.none<string>(), (after) =>
      store.query(
        `SELECT t AS candidate, v.FAIL_TO_PASS, v.PASS_TO_PASS, v.image, v.key
         FROM validated t JOIN verdicts v USING (instance_id) JOIN candidates c USING (instance_id)
         WHERE v.kept AND ($1::VARCHAR IS NULL OR t.instance_id > $1) ORDER BY t.instance_id LIMIT ${pageSize}`,
        [Option.getOrNull(after)],
        PublishedRow,
      ).pipe(Effect.map((rows) => {
        const instances = rows.map((r): TaskInstance => {
          const { swe_gym, ...swebench } = r.candidate
          return { ...swebench, FAIL_TO_PASS: r.FAIL_TO_PASS, PASS_TO_PASS: r.PASS_TO_PASS, swe_gym: publishedSweGym(swe_gym, r) }
        })
        const last = instances[instances.length - 1]
        const next = rows.length < pageSize || last === undefined ? Option.none() : Option.some(Option.some(last.instance_id))
        return [Chunk.unsafeFromArray(instances), next] as const
      }))
    )
  ))

/** Reads the summary's numbers from the published database. */
const summarize = Effect.fn("dataset.publish.summarize")(function*(files: PublishSummary["files"]) {
  const store = yield* Store
  const count = (sql: string) => Effect.map(store.query(sql, [], Count), (rows) => rows[0]?.n ?? 0)
  const perRepo = yield* store.query(
    "SELECT repo, count(*)::INTEGER AS instances FROM task_instances GROUP BY repo ORDER BY repo",
    [],
    Schema.Struct({ repo: Schema.String, instances: Schema.Number }),
  )
  const reasons = yield* store.query("SELECT stage, reason, count(*)::INTEGER AS n FROM rejections GROUP BY stage, reason ORDER BY stage, reason", [], ReasonCount)
  const byStage = (stage: string) => Object.fromEntries(reasons.filter((r) => r.stage === stage).map((r) => [r.reason, r.n]))
  const sizes = yield* store.query("SELECT len(FAIL_TO_PASS)::INTEGER AS f2p, len(PASS_TO_PASS)::INTEGER AS p2p FROM task_instances", [], Sizes)
  const excluded = yield* store.query(
    `SELECT coalesce(sum(len(v.flaky)), 0)::INTEGER AS flaky, coalesce(sum(len(v.unstable)), 0)::INTEGER AS unstable
     FROM verdicts v JOIN task_instances t USING (instance_id)`,
    [],
    Excluded,
  )
  const incomplete = yield* store.query(
    `SELECT instance_id FROM rejections WHERE stage = 'validation' AND reason IN ('${notValidatedReason}', 'infrastructure_error') ORDER BY instance_id`,
    [],
    Ids,
  )
  return {
    instances: yield* count("SELECT count(*)::INTEGER AS n FROM task_instances"),
    candidates: yield* count("SELECT count(*)::INTEGER AS n FROM candidates"),
    per_repo: perRepo,
    rejected: { mining: byStage("mining"), validation: byStage("validation") },
    incomplete: incomplete.map((r) => r.instance_id),
    excluded_tests: excluded[0] ?? { flaky: 0, unstable: 0 },
    FAIL_TO_PASS: sizeDistribution(sizes.map((s) => s.f2p)),
    PASS_TO_PASS: sizeDistribution(sizes.map((s) => s.p2p)),
    files,
  } satisfies PublishSummary
})

/**
 * Publishes the dataset: the kept candidates with the labels of their verdicts, as JSONL (Hugging Face shape), Parquet
 * and DuckDB, plus the summary (also returned). The output directory's dataset files are replaced, never appended to.
 */
export const publish = Effect.fn("dataset.publish")(function*(options: PublishOptions) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const say = options.onProgress ?? (() => Effect.void)
  const started = yield* Clock.currentTimeMillis
  const outDir = path.resolve(options.outDir)
  const files = { jsonl: "dataset.jsonl", parquet: "dataset.parquet", duckdb: "dataset.duckdb", summary: "summary.json" }
  const at = (name: string) => path.join(outDir, name)
  const source = options.verdicts
  const inputs: ReadonlyArray<readonly [string, string]> = [
    [options.candidates, "candidates"],
    ...(source._tag === "VerdictsFile" ? [[source.file, "verdicts"] as const] : [[source.validated, "kept instances"] as const, [source.db, "validation database"] as const]),
    ...(options.mining === undefined ? [] : [[options.mining.db, "mining database"] as const]),
  ]
  for (const [file, what] of inputs) {
    if (!(yield* fs.exists(file))) {
      return yield* new PublishInputInvalid({ file, reason: `the ${what} file does not exist`, hint: "run the stage that writes it first (mine, then validate)" })
    }
  }
  yield* fs.makeDirectory(outDir, { recursive: true })
  for (const name of [...Object.values(files), `${files.duckdb}.wal`, `${files.jsonl}.tmp`]) yield* fs.remove(at(name), { force: true })

  const summary = yield* Effect.gen(function*() {
    const store = yield* Store
    yield* say(`reading ${inputs.map(([file, what]) => `${what} ${file}`).join(", ")}`)
    yield* loadCandidates(options.candidates, at("candidates.rejects.jsonl"))
    // The kept instances as published, before the swe_gym fields are settled (a staging table, not part of the output).
    yield* store.run("CREATE TEMP TABLE validated AS SELECT * FROM candidates LIMIT 0")
    if (source._tag === "VerdictsFile") {
      yield* loadVerdicts(source.file, at("verdicts.rejects.jsonl"))
      yield* validatedFromCandidates
    } else {
      yield* loadValidationStore(source.validated, path.resolve(source.db), source.table, at("validated.rejects.jsonl"))
    }
    yield* recordRejections(options.mining === undefined ? undefined : { ...options.mining, db: path.resolve(options.mining.db) })
    yield* say(`writing ${at(files.jsonl)}`)
    const written = yield* Effect.scoped(Effect.gen(function*() {
      const writer = yield* openJsonlWriter(at(`${files.jsonl}.tmp`), TaskInstanceHf, { syncEvery: 10_000 })
      return yield* store.upsert(
        "task_instances",
        publishedInstances().pipe(Stream.tap((instance) => writer.write(instance)), Stream.map(toInstanceRow)),
        { key: ["instance_id"] },
      )
    }))
    yield* fs.rename(at(`${files.jsonl}.tmp`), at(files.jsonl))
    yield* say(`writing ${at(files.parquet)}`)
    yield* store.exportTo(
      { query: `SELECT * FROM read_json(${quoteLiteral(at(files.jsonl))}, format = 'newline_delimited', columns = ${hfColumns})` },
      at(files.parquet),
      "parquet",
    )
    yield* store.run("DROP TABLE validated")
    const summary = yield* summarize(files)
    yield* say(`${written} instances written to ${files.jsonl}, ${files.parquet} and ${files.duckdb}`)
    return summary
  }).pipe(Effect.provide(Store.layer({ path: at(files.duckdb), migrations: publishMigrations })))

  yield* fs.writeFileString(at(files.summary), `${JSON.stringify(yield* Schema.encode(PublishSummary)(summary), null, 2)}\n`)
  yield* say(`done in ${(((yield* Clock.currentTimeMillis) - started) / 1000).toFixed(1)} s`)
  return summary
})

const reasonsText = (counts: Readonly<Record<string, number>>): string => {
  const entries = Object.entries(counts)
  return entries.length === 0 ? "none" : entries.map(([reason, n]) => `${reason} ${n}`).join(", ")
}

const distributionText = (d: SizeDistribution): string =>
  `min ${d.min}, median ${d.median}, max ${d.max}; ${d.histogram.map((h) => `${h.size}: ${h.instances}`).join(", ") || "no instances"}`

/** The summary as lines of text, for people. */
export const formatPublishSummary = (s: PublishSummary): string => {
  const sum = (c: Readonly<Record<string, number>>) => Object.values(c).reduce((a, b) => a + b, 0)
  return [
    `dataset: ${s.instances} task instances from ${s.candidates} candidates`,
    ...s.per_repo.map((r) => `  ${r.repo}: ${r.instances}`),
    `rejected by mining: ${sum(s.rejected.mining)} (${reasonsText(s.rejected.mining)})`,
    `rejected by validation: ${sum(s.rejected.validation)} (${reasonsText(s.rejected.validation)})`,
    `tests left out: ${s.excluded_tests.flaky} flaky, ${s.excluded_tests.unstable} unstable ids`,
    `FAIL_TO_PASS per instance: ${distributionText(s.FAIL_TO_PASS)}`,
    `PASS_TO_PASS per instance: ${distributionText(s.PASS_TO_PASS)}`,
    `files: ${s.files.jsonl}, ${s.files.parquet}, ${s.files.duckdb}, ${s.files.summary}`,
    ...(s.incomplete.length === 0 ? [] : [`INCOMPLETE: ${s.incomplete.length} candidates have no final verdict (${s.incomplete.join(", ")}): re-run validate`]),
  ].join("\n")
}
