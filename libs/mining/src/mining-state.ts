import { createTaskInstanceTable, InstanceRow, toInstanceRow } from "@swe-gym/dataset"
import type { TaskInstance } from "@swe-gym/domain"
import { CachedResponse, EtagCache } from "@swe-gym/github"
import { type Migration, type QueryDecodeFailed, type QueryFailed, Store } from "@swe-gym/store"
import { Chunk, Clock, Effect, Layer, Option, Schema, Stream } from "effect"
import type { Rejection } from "./filters.js"
import { MiningTables } from "./tables.js"

// The miner's tables in DuckDB (component "mining"):
// - mining_state: per repository, the newest PR `updated_at` whose PRs are all stored (the next run lists from there),
//   and the options (source kind, filters) that state holds for — other options make the next run list everything again;
// - mining_candidates: the current candidate of every PR that passes, with task_instances' columns (the same row mapping
//   as @swe-gym/dataset, so a candidate reads back as a TaskInstance) plus the PR's updated_at. Candidates live apart from
//   task_instances because they are not validated yet: validation reads this table and writes task_instances;
// - mining_rejections: the current verdict of every PR that fails a filter, with its reason;
// - github_etags: the GitHub client's conditional-request cache (ETag, body, Link), so an unchanged re-run costs 304s.
// A PR has at most one row in candidates ∪ rejections: a new verdict removes the other table's row before it is written.
// Each row keeps the PR's updated_at and the options it was mined with: a listed PR stored at the same updated_at with
// the same options is not mined again (after an interrupted run too, whose state was never advanced).

/** The component under which the miner's migrations are recorded. */
export const miningComponent = "mining"

/** The miner's tables. */
export const miningMigrations: ReadonlyArray<Migration> = [
  {
    component: miningComponent,
    version: 1,
    name: "mining state, candidates, rejections, etags",
    up: `
      CREATE TABLE mining_state (
        repo VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        options VARCHAR NOT NULL,
        last_updated_at VARCHAR,
        last_run_at VARCHAR NOT NULL,
        prs_seen INTEGER NOT NULL,
        candidates INTEGER NOT NULL,
        rejected INTEGER NOT NULL
      );
      ${createTaskInstanceTable("mining_candidates", { indent: "        ", extraColumns: ["pr_updated_at VARCHAR NOT NULL", "mining_options VARCHAR NOT NULL"] })};
      CREATE TABLE mining_rejections (
        instance_id VARCHAR PRIMARY KEY,
        repo VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR NOT NULL,
        pr_updated_at VARCHAR NOT NULL,
        mining_options VARCHAR NOT NULL,
        mined_at VARCHAR NOT NULL
      );
      CREATE TABLE github_etags (
        url VARCHAR PRIMARY KEY,
        etag VARCHAR NOT NULL,
        body VARCHAR NOT NULL,
        format VARCHAR NOT NULL,
        link VARCHAR,
        fetched_at VARCHAR NOT NULL
      );`,
  },
]

/** A repository's mining state. */
export const RepoState = Schema.Struct({
  repo: Schema.String,
  source: Schema.String,
  /** JSON of the options the state holds for (see `optionsKey`). */
  options: Schema.String,
  /** Every PR updated at or before this instant was stored by a completed run; null before the first one. */
  last_updated_at: Schema.NullOr(Schema.String),
  last_run_at: Schema.String,
  prs_seen: Schema.Number,
  candidates: Schema.Number,
  rejected: Schema.Number,
})
export type RepoState = typeof RepoState.Type

/** The state of `repo`, if a run completed it. */
export const readState = (repo: string): Effect.Effect<Option.Option<RepoState>, QueryFailed | QueryDecodeFailed, Store> =>
  Effect.flatMap(Store, (store) => store.query(`SELECT * FROM ${MiningTables.state} WHERE repo = $1`, [repo], RepoState)).pipe(
    Effect.map((rows) => Option.fromNullable(rows[0])),
  )

/** Records `repo`'s state (after all its PRs are stored). */
export const writeState = (state: RepoState) =>
  Effect.flatMap(Store, (store) => store.upsert(MiningTables.state, Stream.make(state), { key: ["repo"], schema: RepoState }))

/** Whether the PR `instanceId` is stored (as a candidate or a rejection) at exactly `updatedAt`, mined with `options`. */
export const storedAt = (
  instanceId: string,
  updatedAt: string,
  options: string,
): Effect.Effect<boolean, QueryFailed | QueryDecodeFailed, Store> =>
  Effect.flatMap(Store, (store) =>
    store.query(
      `SELECT 1 AS found FROM ${MiningTables.candidates} WHERE instance_id = $1 AND pr_updated_at = $2 AND mining_options = $3
       UNION ALL SELECT 1 AS found FROM ${MiningTables.rejections} WHERE instance_id = $1 AND pr_updated_at = $2 AND mining_options = $3`,
      [instanceId, updatedAt, options],
      Schema.Struct({ found: Schema.Number }),
    )).pipe(Effect.map((rows) => rows.length > 0))

/** Whether any PR of `repo` is stored with `options` (when none, no listed PR can be skipped: no need to ask each). */
export const anyStored = (repo: string, options: string): Effect.Effect<boolean, QueryFailed | QueryDecodeFailed, Store> =>
  Effect.flatMap(Store, (store) =>
    store.query(
      `SELECT 1 AS found WHERE EXISTS (SELECT 1 FROM ${MiningTables.candidates} WHERE repo = $1 AND mining_options = $2)
       OR EXISTS (SELECT 1 FROM ${MiningTables.rejections} WHERE repo = $1 AND mining_options = $2)`,
      [repo, options],
      Schema.Struct({ found: Schema.Number }),
    )).pipe(Effect.map((rows) => rows.length > 0))

/** A PR's verdict of one run; `options` is the key of the mining options it was reached with. */
export type Verdict =
  | { readonly _tag: "Candidate"; readonly candidate: TaskInstance; readonly prUpdatedAt: string; readonly options: string }
  | {
    readonly _tag: "Rejected"
    readonly rejection: Rejection
    readonly repo: string
    readonly prUpdatedAt: string
    readonly options: string
    readonly minedAt: string
  }

const ids = (verdicts: ReadonlyArray<Verdict>, tag: Verdict["_tag"]) =>
  verdicts.flatMap((v) => (v._tag !== tag ? [] : [v._tag === "Candidate" ? v.candidate.instance_id : v.rejection.instance_id]))

/**
 * Stores a batch of verdicts: first removes each PR's row from the table its new verdict does not go to, then upserts
 * candidates and rejections by instance_id. Interrupted midway, a PR has its new row, its old row of an older
 * `updated_at`, or none — never a stale row at the new `updated_at` — so `storedAt` never skips a PR wrongly.
 */
export const storeVerdicts = Effect.fn("mining.storeVerdicts")(function*(verdicts: ReadonlyArray<Verdict>) {
  const store = yield* Store
  const candidateIds = ids(verdicts, "Candidate")
  const rejectedIds = ids(verdicts, "Rejected")
  if (candidateIds.length > 0) yield* store.run(`DELETE FROM ${MiningTables.rejections} WHERE list_contains($1::VARCHAR[], instance_id)`, [candidateIds])
  if (rejectedIds.length > 0) yield* store.run(`DELETE FROM ${MiningTables.candidates} WHERE list_contains($1::VARCHAR[], instance_id)`, [rejectedIds])
  const candidates = verdicts.flatMap((v) => (v._tag === "Candidate" ? [{ ...toInstanceRow(v.candidate), pr_updated_at: v.prUpdatedAt, mining_options: v.options }] : []))
  const rejections = verdicts.flatMap((v) =>
    v._tag === "Rejected"
      ? [{ instance_id: v.rejection.instance_id, repo: v.repo, reason: v.rejection.reason, detail: v.rejection.detail, pr_updated_at: v.prUpdatedAt, mining_options: v.options, mined_at: v.minedAt }]
      : []
  )
  if (candidates.length > 0) yield* store.upsert(MiningTables.candidates, Stream.fromIterable(candidates), { key: ["instance_id"] })
  if (rejections.length > 0) yield* store.upsert(MiningTables.rejections, Stream.fromIterable(rejections), { key: ["instance_id"] })
})

const candidateColumns =
  "instance_id, repo, base_commit, patch, test_patch, problem_statement, hints_text, created_at, version, environment_setup_commit, FAIL_TO_PASS, PASS_TO_PASS, swe_gym"

/** Every stored candidate as a TaskInstance, by instance_id, read in pages (memory stays flat). */
export const storedCandidates = (pageSize = 500): Stream.Stream<TaskInstance, QueryFailed | QueryDecodeFailed, Store> =>
  Stream.unwrap(
    Effect.map(Store, (store) =>
      Stream.paginateChunkEffect(Option.none<string>(), (after) =>
        store.query(
          `SELECT ${candidateColumns} FROM ${MiningTables.candidates} WHERE $1::VARCHAR IS NULL OR instance_id > $1 ORDER BY instance_id LIMIT ${pageSize}`,
          [Option.getOrNull(after)],
          InstanceRow,
        ).pipe(
          Effect.map((rows) => {
            const last = rows[rows.length - 1]
            return [
              rows,
              rows.length < pageSize || last === undefined ? Option.none() : Option.some(Option.some(last.instance_id)),
            ] as const
          }),
          Effect.map(([rows, next]) => [Chunk.unsafeFromArray([...rows]), next] as const),
        )
      )
    ),
  )

/** A stored rejection. */
export const StoredRejection = Schema.Struct({
  instance_id: Schema.String,
  repo: Schema.String,
  reason: Schema.String,
  detail: Schema.String,
  pr_updated_at: Schema.String,
})
export type StoredRejection = typeof StoredRejection.Type

/** Every stored rejection of the given repositories (all when empty), by instance_id. */
export const storedRejections = (repos: ReadonlyArray<string> = []) =>
  Effect.flatMap(Store, (store) =>
    repos.length === 0
      ? store.query(`SELECT instance_id, repo, reason, detail, pr_updated_at FROM ${MiningTables.rejections} ORDER BY instance_id`, [], StoredRejection)
      : store.query(
        `SELECT instance_id, repo, reason, detail, pr_updated_at FROM ${MiningTables.rejections} WHERE list_contains($1::VARCHAR[], repo) ORDER BY instance_id`,
        [repos],
        StoredRejection,
      ))

/** Number of stored candidates. */
export const countCandidates = Effect.flatMap(Store, (store) =>
  store.query(`SELECT count(*)::INTEGER AS n FROM ${MiningTables.candidates}`, [], Schema.Struct({ n: Schema.Number }))).pipe(
    Effect.map((rows) => rows[0]?.n ?? 0),
  )

const EtagRow = Schema.Struct({ etag: Schema.String, body: Schema.String, format: Schema.Literal("json", "text"), link: Schema.NullOr(Schema.String) })

/**
 * The GitHub client's ETag cache on the `github_etags` table, so conditional requests survive between runs. A failing
 * read or write answers as a miss (the request is then made unconditionally), as the EtagCache contract asks.
 */
export const EtagCacheStore: Layer.Layer<EtagCache, never, Store> = Layer.effect(
  EtagCache,
  Effect.map(Store, (store) => ({
    get: (key: string) =>
      store.query(`SELECT etag, body, format, link FROM ${MiningTables.etags} WHERE url = $1`, [key], EtagRow).pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]).pipe(Option.flatMap(Schema.decodeUnknownOption(CachedResponse)))),
        Effect.orElseSucceed(() => Option.none()),
      ),
    set: (key: string, value: CachedResponse) =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) =>
          store.upsert(MiningTables.etags, Stream.make({ url: key, ...value, fetched_at: new Date(now).toISOString() }), { key: ["url"] })
        ),
        Effect.asVoid,
        Effect.orElseSucceed(() => undefined),
      ),
  })),
)
