// The import stage: a source's items, in batches, into the analytics tables. Trajectories, runs, gradings and
// instances are upserted by key, and a trajectory's children (steps, messages, tool calls, LLM calls, token counts)
// replaced, so importing the same files again leaves the same database. Rejects go to a JSONL file and are counted.
import { FileSystem } from "@effect/platform"
import { type JsonlError, JsonlFileError, jsonlErrorFromPlatform, JsonlReject, openJsonlWriter } from "@swe-gym/domain"
import { type AppendFailed, type QueryDecodeFailed, type QueryFailed, type Row, Store } from "@swe-gym/store"
import { Chunk, Effect, Ref, Schema, Scope, Stream } from "effect"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { evaluationKey, type ImportedTrajectory, sha256, sumKnown, trajectoryId } from "./imported-trajectory.js"
import { expandPaths, formatSuffixes, type ImportFormat, type ImportItem, importSource, type SourceOptions } from "./import-sources.js"
import {
  evaluationsTable,
  llmCallsTable,
  messagesTable,
  messageTokensTable,
  runsTable,
  stepsTable,
  taskInstancesTable,
  toolCallsTable,
  trajectoriesTable,
} from "./tables.js"

/** Counts of an import so far (the progress line) and at its end (the summary). */
export const ImportSummary = Schema.Struct({
  format: Schema.String,
  files: Schema.Int,
  trajectories: Schema.Int,
  gradings: Schema.Int,
  instances: Schema.Int,
  rejected: Schema.Int,
  /** Where rejected lines and files are described (exists only when rejected > 0). */
  rejectsFile: Schema.String,
})
export type ImportSummary = typeof ImportSummary.Type

/** Options of `importTrajectories`. */
export interface ImportOptions extends SourceOptions {
  readonly format: ImportFormat
  /** Files or directories (a directory is searched for the format's files). */
  readonly paths: ReadonlyArray<string>
  /** Where rejects go (replaced at the start of the import). */
  readonly rejectsPath: string
  /** Items written per transaction batch (default 200 trajectories). */
  readonly batchSize?: number
  /** Called after every batch with the counts so far. */
  readonly onProgress?: (progress: ImportSummary) => Effect.Effect<void>
}

interface Numbered {
  readonly t: ImportedTrajectory
  readonly id: string
  readonly sample: number
}

const trajectoryRow = ({ t, id, sample }: Numbered): Row => {
  const lastCall = t.llmCallLog[t.llmCallLog.length - 1]
  const lastStep = [...t.steps].reverse().find((s) => s.prompt_tokens !== null)
  const finalContext = lastCall?.total_tokens ??
    (lastStep?.prompt_tokens == null ? null : lastStep.prompt_tokens + (lastStep.completion_tokens ?? 0))
  return {
    trajectory_id: id,
    run_id: t.run.run_id,
    instance_id: t.instance_id,
    sample,
    model: t.model,
    dataset: t.run.dataset,
    exit_reason: t.exit_reason,
    exit_detail: t.exit_detail,
    patch: t.patch,
    evaluation_key: evaluationKey(t.instance_id, t.patch),
    turns: t.steps.length,
    llm_calls: t.llm_calls,
    messages: t.messages.length,
    prompt_tokens: t.reportedTokens?.prompt ?? sumKnown(t.steps.map((s) => s.prompt_tokens)),
    completion_tokens: t.reportedTokens?.completion ?? sumKnown(t.steps.map((s) => s.completion_tokens)),
    final_context_tokens: finalContext,
    cost: t.cost,
    started_at: t.started_at,
    finished_at: t.finished_at,
    tools: t.tools === null ? null : JSON.stringify(t.tools),
    source_file: t.source_file,
    source_line: t.source_line,
  }
}

const KnownId = Schema.Struct({ trajectory_id: Schema.String })

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value))

/** Imports the files of one format into the analytics tables; returns the counts. Rejects never stop an import. */
export const importTrajectories = Effect.fn("analytics.importTrajectories")(function*(options: ImportOptions) {
  const store = yield* Store
  if (options.paths.some((p) => resolve(p) === resolve(options.rejectsPath))) {
    return yield* new JsonlFileError({
      path: options.rejectsPath,
      operation: "import",
      detail: "the rejects file is one of the inputs",
      hint: "Pass another --rejects path.",
    })
  }
  const files = yield* expandPaths(options.paths, formatSuffixes[options.format])
  const summary = yield* Ref.make<ImportSummary>({
    format: options.format,
    files: files.length,
    trajectories: 0,
    gradings: 0,
    instances: 0,
    rejected: 0,
    rejectsFile: options.rejectsPath,
  })
  const scope = yield* Effect.scope
  const fs = yield* FileSystem.FileSystem
  // The rejects file describes the latest import only; it is created on the first reject.
  yield* fs.remove(options.rejectsPath, { force: true }).pipe(Effect.mapError(jsonlErrorFromPlatform(options.rejectsPath, "remove stale rejects file")))
  const rejects = yield* Effect.cached(Scope.extend(openJsonlWriter(options.rejectsPath, JsonlReject), scope))
  const samples = new Map<string, number>()
  const runsWritten = new Set<string>()
  const importedAt = new Date()

  const writeBatch = (items: Chunk.Chunk<ImportItem>) =>
    Effect.gen(function*() {
      const numbered: Array<Numbered> = []
      const gradings: Array<Row> = []
      const instances = new Map<string, Row>()
      const rejected: Array<JsonlReject> = []
      for (const item of items) {
        switch (item._tag) {
          case "reject":
            rejected.push(item.reject)
            break
          case "grading":
            gradings.push(evaluationRow(item.instance_id, item.patch, item.evaluation))
            break
          case "instance":
            instances.set(item.value.instance_id, instanceRow(item.value, item.dataset, item.file))
            break
          case "trajectory": {
            const t = item.value
            const pair = `${t.run.run_id}\u0000${t.instance_id}`
            const sample = t.sample ?? samples.get(pair) ?? 0
            samples.set(pair, Math.max(sample + 1, samples.get(pair) ?? 0))
            numbered.push({ t, id: trajectoryId(t.run.run_id, t.instance_id, sample), sample })
            if (t.evaluation !== null) gradings.push(evaluationRow(t.instance_id, t.patch, t.evaluation))
            if (t.instance !== null) instances.set(t.instance_id, instanceRow(t.instance, t.run.dataset, t.source_file))
          }
        }
      }
      if (rejected.length > 0) yield* Effect.flatMap(rejects, (w) => w.writeAll(rejected))
      yield* writeTrajectories(numbered, importedAt)
      if (gradings.length > 0) yield* store.upsert(evaluationsTable, Stream.fromIterable(dedupe(gradings, "evaluation_key")), { key: ["evaluation_key"] })
      if (instances.size > 0) yield* store.upsert(taskInstancesTable, Stream.fromIterable(instances.values()), { key: ["instance_id"] })
      const now = yield* Ref.updateAndGet(summary, (s) => ({
        ...s,
        trajectories: s.trajectories + numbered.length,
        gradings: s.gradings + gradings.length,
        instances: s.instances + instances.size,
        rejected: s.rejected + rejected.length,
      }))
      if (options.onProgress !== undefined) yield* options.onProgress(now)
    })

  // Child rows (long texts, many rows) go in through DuckDB's own JSON reader, which takes them about twice as fast as
  // the appender's per-cell conversion: one NDJSON file per table and batch in a scoped temporary directory.
  const tmp = yield* Effect.acquireRelease(
    fs.makeTempDirectory({ prefix: "analytics-import-" }),
    (dir) => fs.remove(dir, { recursive: true }).pipe(Effect.ignore),
  ).pipe(Effect.mapError(jsonlErrorFromPlatform(tmpdir(), "create a temporary directory")))
  const bulk = (table: string, rows: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
    Effect.gen(function*() {
      if (rows.length === 0) return 0
      const file = join(tmp, `${table}.jsonl`)
      yield* fs.writeFileString(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`).pipe(
        Effect.mapError(jsonlErrorFromPlatform(file, "write")),
      )
      return yield* store.importFrom(table, file, "jsonl")
    })

  const writeTrajectories = (batch: ReadonlyArray<Numbered>, at: Date) =>
    Effect.gen(function*() {
      if (batch.length === 0) return
      const runs = new Map<string, Row>()
      for (const { t } of batch) {
        // A run is written once per import (its first trajectory's record), not once per batch.
        if (runsWritten.has(t.run.run_id)) continue
        runs.set(t.run.run_id, {
          run_id: t.run.run_id,
          source_format: t.run.source_format,
          model: t.run.model,
          dataset: t.run.dataset,
          agent: t.run.agent,
          agent_config: json(t.run.agent_config),
          sampling: json(t.run.sampling),
          source_path: t.run.source_path,
          imported_at: at,
        })
      }
      if (runs.size > 0) yield* store.upsert(runsTable, Stream.fromIterable(runs.values()), { key: ["run_id"] })
      for (const id of runs.keys()) runsWritten.add(id)
      const ids = batch.map((n) => n.id)
      // Children of a re-imported trajectory are replaced; a first import (the common case) skips the deletes.
      const known = yield* store.query(
        `SELECT trajectory_id FROM ${trajectoriesTable} WHERE trajectory_id IN (SELECT unnest($1::VARCHAR[]))`,
        [ids],
        KnownId,
      )
      yield* store.upsert(trajectoriesTable, Stream.fromIterable(dedupe(batch.map((n) => trajectoryRow(n)), "trajectory_id")), { key: ["trajectory_id"] })
      if (known.length > 0) {
        for (const table of [stepsTable, messagesTable, toolCallsTable, llmCallsTable, messageTokensTable]) {
          yield* store.run(`DELETE FROM ${table} WHERE trajectory_id IN (SELECT unnest($1::VARCHAR[]))`, [known.map((k) => k.trajectory_id)])
        }
      }
      yield* bulk(stepsTable, batch.flatMap(({ t, id }) => t.steps.map((s, step): Row => ({ trajectory_id: id, step, ...s }))))
      yield* bulk(
        messagesTable,
        batch.flatMap(({ t, id }) =>
          t.messages.map((m, idx): Row => ({ trajectory_id: id, idx, role: m.role, content: m.content, tool_call_id: m.tool_call_id }))
        ),
      )
      yield* bulk(
        toolCallsTable,
        batch.flatMap(({ t, id }) =>
          t.messages.flatMap((m, message_idx) =>
            m.tool_calls.map((c, call_idx): Row => ({ trajectory_id: id, message_idx, call_idx, call_id: c.id, name: c.name, arguments: c.arguments }))
          )
        ),
      )
      yield* bulk(
        llmCallsTable,
        batch.flatMap(({ t, id }) =>
          t.llmCallLog.map((c, call_idx) => ({
            trajectory_id: id,
            call_idx,
            model: c.model,
            // Raw values: the JSON reader stores them as JSON objects (a stringified one would be a JSON string).
            request: c.request ?? null,
            response: c.response ?? null,
            prompt_tokens: c.prompt_tokens,
            completion_tokens: c.completion_tokens,
            total_tokens: c.total_tokens,
            latency_ms: c.latency_ms,
          }))
        ),
      )
    })

  // DuckDB checkpoints whenever its WAL passes 16 MB, and a checkpoint costs more the bigger the database: an import of
  // thousands of trajectories checkpointed every other batch and slowed down as it went. Checkpoint once, at the end.
  yield* Effect.acquireRelease(
    store.run("SET checkpoint_threshold = '1GB'"),
    () => store.run("CHECKPOINT").pipe(Effect.zipRight(store.run("RESET checkpoint_threshold")), Effect.ignore),
  )
  yield* importSource(options.format, files, options).pipe(
    Stream.grouped(options.batchSize ?? 200),
    // The next batch is read and decoded while DuckDB (on its own threads) writes this one.
    Stream.buffer({ capacity: 1 }),
    Stream.runForEach(writeBatch),
  )
  const final = yield* Ref.get(summary)
  return final
}, Effect.scoped)

const dedupe = (rows: ReadonlyArray<Row>, key: string): ReadonlyArray<Row> => [...new Map(rows.map((r) => [String(r[key]), r])).values()]

const evaluationRow = (instanceId: string, patch: string, e: ImportedTrajectory["evaluation"] & object): Row => ({
  evaluation_key: evaluationKey(instanceId, patch),
  instance_id: instanceId,
  patch_sha256: sha256(patch),
  resolved: e.resolved,
  outcome: e.outcome,
  patch_applied: e.patch_applied,
  report: json(e.report),
  source_file: e.source_file,
})

const instanceRow = (i: NonNullable<ImportedTrajectory["instance"]>, dataset: string | null, file: string): Row => ({
  instance_id: i.instance_id,
  repo: i.repo,
  dataset,
  base_commit: i.base_commit,
  version: i.version,
  problem_statement: i.problem_statement,
  FAIL_TO_PASS: i.FAIL_TO_PASS,
  PASS_TO_PASS: i.PASS_TO_PASS,
  source_file: file,
})

/** Errors an import can end with (a bad line or file is a reject, not an error). */
export type ImportError = JsonlError | QueryFailed | QueryDecodeFailed | AppendFailed

/** The Effect type of an import, for callers that name it. */
export type ImportEffect = Effect.Effect<ImportSummary, ImportError, Store | FileSystem.FileSystem>
