// The runner's two pipelines, as Effects the CLI (main.ts) and the tests run: validate candidates, evaluate predictions.
// Each reads its JSONL inputs (bad lines go to a rejects file), streams the harness stage with bounded concurrency over
// the InstanceEnvironments service, and stores each result as it completes, so an interrupted run keeps everything
// finished before the interrupt. Output files are written whole from the results of the run (finished ones answered
// from the store), never appended: a re-run after a crash writes the same files a clean run writes.
import { NodeContext } from "@effect/platform-node"
import { agentMigrations } from "@swe-gym/agent"
import { readInstanceFile, readPredictionFile } from "@swe-gym/dataset"
import { TaskInstance, writeJsonlFile } from "@swe-gym/domain"
import { mirrorLookup } from "@swe-gym/git"
import {
  addToSummary,
  assignSetupCommits,
  emptySummary,
  emptyPredictions,
  evaluate,
  type EvaluationRecord,
  evaluationMigrations,
  findSpec,
  formatValidationSummary,
  goldPredictions,
  harnessMigrations,
  type HistoryMode,
  instanceEnvironmentsLayer,
  type LabelChoice,
  loadSpecs,
  runReportsOf,
  toTaskInstance,
  validate,
  type Validated,
  writeInstanceFiles,
  writeRunReports,
} from "@swe-gym/harness"
import { DockerClientLive, dockerSandboxLayer, reapOrphans } from "@swe-gym/sandbox"
import { Store } from "@swe-gym/store"
import { FileSystem } from "@effect/platform"
import { Chunk, Console, type Duration, Effect, Exit, Layer, Option, Schema, Stream } from "effect"
import { renderEvaluationEvent, renderValidationEvent } from "./progress.js"

/** Every migration the runner's database needs (validation, evaluation and rollout tables). */
export const runnerMigrations = [...harnessMigrations, ...evaluationMigrations, ...agentMigrations]

/** Settings shared by both pipelines. */
export interface CommonArgs {
  /** Task instances (candidates for validate): SWE-bench JSONL, a Hugging Face Parquet export, or a JSON list. */
  readonly instances: string
  /** Only these instances of the file (default: all). */
  readonly instanceIds?: ReadonlyArray<string>
  readonly concurrency?: number
  /** Instances prepared ahead of the test slots (default 1; 0: each prepared in its slot). */
  readonly prepareAhead?: number
}

/** Where environments come from (the InstanceEnvironments service of a run). */
export interface EnvironmentArgs {
  /** Directory of bare mirrors (`owner__name.git`) or an export directory (`owner__name/mirror.bundle`). */
  readonly mirrors: string
  /** Where mirrors cloned from bundles are kept. */
  readonly mirrorCache: string
  /** Directory of environment spec files. */
  readonly specs: string
  /** Directory of environment build logs. */
  readonly buildLogs?: string
  /** History kept in instance containers (default base-only). */
  readonly history?: HistoryMode
}

/**
 * Reads task instances from JSONL, a Hugging Face Parquet export or a JSON list (bad rows to the rejects file, reported
 * on stderr), keeping only `instanceIds` when given (an id the file lacks is an error naming it), and fills
 * environment_setup_commit.
 */
export const readInstances = Effect.fn("runner.readInstances")(function* (file: string, instanceIds?: ReadonlyArray<string>) {
  const read = yield* readInstanceFile(file, { instanceIds })
  const rows = Chunk.toReadonlyArray(yield* Stream.runCollect(read.rows))
  const summary = yield* read.summary
  if (summary.rejected > 0) yield* Console.error(`${file}: ${summary.rejected} of ${summary.records} rows rejected (not task instances), see ${summary.rejectsFile}`)
  return assignSetupCommits(rows)
})

/** Arguments of `runner evaluate`. */
export interface EvaluateArgs extends CommonArgs {
  /** A predictions JSONL file, or "gold" / "empty" to predict every instance's gold patch / an empty patch. */
  readonly predictions: string
  readonly runId: string
  /** Directory of report files. */
  readonly out: string
  readonly timeoutSeconds?: number
  readonly retryBase?: Duration.DurationInput
}

/** Evaluates predictions against task instances, writing per-instance files as each completes and the run summaries. */
export const runEvaluate = Effect.fn("runner.evaluate")(function* (args: EvaluateArgs) {
  yield* reapOrphanedContainers
  const instances = yield* readInstances(args.instances, args.instanceIds)
  const subset = new Set(instances.map((i) => i.instance_id))
  const fromFile = args.predictions !== "gold" && args.predictions !== "empty"
  // Predictions: JSONL or SWE-bench's preds.json (an object keyed by instance id, or a list). With --instance-ids, the
  // predictions of other instances are left out, not reported as unknown.
  const predictionsRead = fromFile ? yield* readPredictionFile(args.predictions) : undefined
  const predictions = predictionsRead !== undefined
    ? predictionsRead.rows.pipe(Stream.filter((p) => args.instanceIds === undefined || subset.has(p.instance_id)))
    : Stream.fromIterable(args.predictions === "gold" ? goldPredictions(instances) : emptyPredictions(instances))
  const records: Array<EvaluationRecord> = []
  const instanceIds = instances.map((i) => i.instance_id)
  // The run files are written from what finished, also when the run is interrupted (Ctrl-C) or fails midway.
  const writeReports = Effect.gen(function* () {
    const files = yield* writeRunReports(args.out, args.runId, instanceIds, records)
    const models = modelsOf(records)
    for (const model of models) {
      const { sweGym: g } = runReportsOf(args.runId, model, instanceIds, records)
      const share = (100 * g.resolved_share).toFixed(1)
      const lists = (["unresolved", "empty_patch", "patch_did_not_apply", "timeout", "infrastructure_failure"] as const)
        .map((o) => `${o} ${g.counts[o] ?? 0}`)
        .join(", ")
      const unknown = g.unknown_instance_ids.length === 0 ? "" : `; ${g.unknown_instance_ids.length} predictions for unknown instances (errors): ${g.unknown_instance_ids.join(", ")}`
      yield* Console.log(`${model}: resolved ${g.resolved_ids.length} of ${g.evaluated_instances} (${share}%); ${lists}${unknown}`)
    }
    for (const file of files) yield* Console.log(`wrote ${file}`)
    return files
  })
  yield* predictions.pipe(
    evaluate(instances, {
      runId: args.runId,
      onProgress: renderEvaluationEvent,
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(args.timeoutSeconds === undefined ? {} : { timeoutSeconds: args.timeoutSeconds }),
      ...(args.retryBase === undefined ? {} : { retryBase: args.retryBase }),
      ...(args.prepareAhead === undefined ? {} : { prepareAhead: args.prepareAhead }),
    }),
    Stream.runForEach((record) =>
      Effect.gen(function* () {
        records.push(record)
        if (record._tag === "Evaluated") yield* writeInstanceFiles(args.out, args.runId, record)
      })),
    Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(writeReports))),
  )
  if (predictionsRead !== undefined) {
    const read = yield* predictionsRead.summary
    if (read.rejected > 0) {
      yield* Console.error(`${args.predictions}: ${read.rejected} of ${read.records} predictions rejected, see ${read.rejectsFile}`)
      // An entry that names its instance but does not decode is that instance's prediction, unreadable: reported as such
      // (an error), not as a missing prediction.
      const models = modelsOf(records)
      for (const entry of yield* unreadablePredictions(read.rejectsFile, models.length === 1 ? models[0] : undefined)) {
        if (subset.has(entry.instance_id)) records.push({ _tag: "PredictionRejected", prediction: { ...entry, model_patch: "" }, reason: "unreadable_prediction", detail: entry.detail })
      }
    }
  }
  const files = yield* writeReports
  return { records, files } as const
})

/** The models the records are of, sorted. */
const modelsOf = (records: ReadonlyArray<EvaluationRecord>): ReadonlyArray<string> =>
  [...new Set(records.map((r) => (r._tag === "Evaluated" ? r.result.model_name_or_path : r.prediction.model_name_or_path)))].sort()

const RejectedEntry = Schema.Struct({ raw: Schema.String, reason: Schema.String, line: Schema.Number })
const NamedEntry = Schema.Struct({ instance_id: Schema.String, model_name_or_path: Schema.optional(Schema.String) })

/**
 * The entries of a predictions rejects file that still name an instance (and a model, or `model` when the run has one):
 * the prediction was there but did not decode.
 */
const unreadablePredictions = (rejectsFile: string, model: string | undefined) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(rejectsFile).pipe(Effect.orElseSucceed(() => ""))
    return text.split("\n").filter((l) => l.trim() !== "").flatMap((line) => {
      const entry = Option.getOrUndefined(Schema.decodeUnknownOption(Schema.parseJson(RejectedEntry))(line))
      const named = entry === undefined ? undefined : Option.getOrUndefined(Schema.decodeUnknownOption(Schema.parseJson(NamedEntry))(entry.raw))
      const modelName = named?.model_name_or_path ?? model
      return named === undefined || modelName === undefined
        ? []
        : [{ instance_id: named.instance_id, model_name_or_path: modelName, detail: `entry ${entry?.line ?? "?"} of the predictions file did not decode: ${entry?.reason ?? ""}` }]
    })
  })

/** Removes the containers of earlier runs whose process is gone (kill -9, a crash), saying what it removed. */
const reapOrphanedContainers = Effect.gen(function* () {
  const reaped = yield* reapOrphans()
  for (const c of reaped.removed) yield* Console.error(`removed container ${c.id.slice(0, 12)} of run ${c.runId || "?"}: its process is gone`)
  for (const f of reaped.failed) yield* Console.error(`could not remove container ${f.leftover.id.slice(0, 12)} of a finished run: ${f.reason}`)
}).pipe(Effect.catchAll((e) => Console.error(`could not look for containers of crashed runs: ${e.message}`)))

/** Arguments of `runner validate`. */
export interface ValidateArgs extends CommonArgs {
  /** Where kept candidates are written as task instances (JSONL, rewritten whole by every run); none = not written. */
  readonly out?: string
  /** Labels the kept instances are written with: derived by validation (default), or the rows' own (audited). */
  readonly labels?: LabelChoice
  /** Runs of the tests after the gold patch (default 2; outcomes differing between them are flaky). */
  readonly reruns?: number
  /** Directory of environment spec files (the published instances record the spec hash). */
  readonly specs: string
}

/**
 * Validates candidates, storing each verdict as it completes. `out` is then written whole (a temporary file renamed
 * into place) with the kept candidates in input order, whether their verdicts were made now or answered from the store.
 */
export const runValidate = Effect.fn("runner.validate")(function* (args: ValidateArgs) {
  yield* reapOrphanedContainers
  const candidates = yield* readInstances(args.instances, args.instanceIds)
  const specs = yield* loadSpecs(args.specs)
  const results: Array<Validated> = []
  const keptInstances = () => {
    const byId = new Map(results.map((v) => [v.result.instance_id, v.result]))
    return candidates.flatMap((candidate) => {
      const result = byId.get(candidate.instance_id)
      return result === undefined || !result.kept ? [] : [toTaskInstance(candidate, result, findSpec(specs, candidate.repo, candidate.version), args.labels ?? "derived")]
    })
  }
  const writeOut = (out: string) => writeJsonlFile(out, TaskInstance, Stream.fromIterable(keptInstances()))
  yield* Stream.fromIterable(candidates).pipe(
    validate({
      onProgress: renderValidationEvent,
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(args.reruns === undefined ? {} : { afterRuns: args.reruns }),
      ...(args.prepareAhead === undefined ? {} : { prepareAhead: args.prepareAhead }),
    }),
    Stream.runForEach((v) => Effect.sync(() => results.push(v))),
    // Interrupted or failed: the out file still holds what finished (the next run rewrites it whole).
    Effect.onExit((exit) => (Exit.isSuccess(exit) || args.out === undefined ? Effect.void : Effect.ignore(writeOut(args.out)))),
  )
  // The stage emits verdicts as they finish; the run reports them in input order.
  const position = new Map(candidates.map((c, i) => [c.instance_id, i]))
  results.sort((a, b) => (position.get(a.result.instance_id) ?? 0) - (position.get(b.result.instance_id) ?? 0))
  const kept = keptInstances()
  if (args.out !== undefined) yield* writeOut(args.out)
  const summary = results.reduce(addToSummary, emptySummary)
  yield* Console.log(formatValidationSummary(summary))
  for (const v of results.filter((r) => !r.result.kept)) {
    yield* Console.log(`  rejected ${v.result.instance_id}: ${v.result.reason}: ${(v.result.detail.split("\n")[0] ?? "").slice(0, 200)}`)
  }
  if (args.out !== undefined) yield* Console.log(`wrote ${kept.length} kept candidates to ${args.out}`)
  const unfinished = results.filter((v) => unfinishedReasons.has(v.result.reason)).map((v) => v.result.instance_id)
  // A run with verdicts the next run will redo must not look finished (Nx would cache it, publish would find holes).
  if (unfinished.length > 0) return yield* new ValidationIncomplete({ instances: unfinished })
  return results
})

/** Verdicts that are not about the candidate but about the machine: not stored, redone by the next run. */
const unfinishedReasons: ReadonlySet<string> = new Set(["infrastructure_error", "environment_failed"])

/** Some candidates got no verdict of their own (infrastructure or environment failure): the run exits non-zero. */
export class ValidationIncomplete extends Schema.TaggedError<ValidationIncomplete>()("ValidationIncomplete", {
  instances: Schema.Array(Schema.String),
}) {
  override get message(): string {
    return `${this.instances.length} candidate(s) could not be validated (infrastructure or environment failure, see above): ${this.instances.join(", ")}. Their verdicts were not stored: fix the cause (build logs, Docker engine) and run again; the others are answered from the store.`
  }
}

/**
 * The layers of a run: DuckDB at `db` with the runner's tables, the Docker sandbox labelled with `runId`, and the
 * InstanceEnvironments service over the mirrors and specs of `environment`.
 */
export const runnerLayer = (db: string, runId: string, environment: EnvironmentArgs) => {
  const sandbox = dockerSandboxLayer({ runId }).pipe(Layer.provide(DockerClientLive))
  const environments = Layer.unwrapEffect(
    Effect.map(loadSpecs(environment.specs), (specs) =>
      instanceEnvironmentsLayer({
        mirrors: mirrorLookup(environment.mirrors, environment.mirrorCache),
        specs,
        ...(environment.buildLogs === undefined ? {} : { build: { logDir: environment.buildLogs } }),
        ...(environment.history === undefined ? {} : { history: environment.history }),
      })),
  )
  return Layer.mergeAll(Store.layer({ path: db, migrations: runnerMigrations }), environments.pipe(Layer.provideMerge(sandbox))).pipe(
    Layer.provideMerge(DockerClientLive),
    Layer.provideMerge(NodeContext.layer),
  )
}
