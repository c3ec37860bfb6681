// Evaluation reports on disk in SWE-bench's shapes, so tools that read SWE-bench's output read ours:
//   <out>/<run_id>/<model>/<instance_id>/report.json    {instance_id: InstanceReport}, for completed instances only
//                                       /test_output.txt  the apply and test output the grade was made from
//                                       /patch.diff       the model patch
//                                       /evaluation.json  swe-gym's full result (class, reason, key, image@digest)
//   <out>/<model>.<run_id>.json                          SWE-bench's run summary (RunReport, schema_version 2)
//   <out>/<model>.<run_id>.swe-gym.json                  FULL / PARTIAL / NO per instance and the failure-class lists
// Both summaries list `suspicious_ids`: instances whose result needs a look before it is trusted (test infrastructure
// reverted, log and runner report disagreeing, …); the swe-gym file gives each one's reasons.
// As in SWE-bench, "completed" means the tests ran to a grade (resolved or unresolved); a patch that did not apply, a
// timeout and an infrastructure failure are errors there, and have their own lists in the swe-gym file.
import { FileSystem, Path } from "@effect/platform"
import { type EvaluationOutcome, EvaluationResult, InstanceReportFile, type ResolvedStatus, RunReport } from "@swe-gym/domain"
import { Effect, Schema } from "effect"
import type { Evaluated, EvaluationRecord } from "./evaluate.js"

/** A model name as a folder or file name (SWE-bench replaces "/" with "__"). */
export const modelFolderName = (model: string): string => model.replace(/\//g, "__")

/** The folder of one instance's evaluation files. */
export const instanceReportDir = (path: Path.Path, out: string, runId: string, model: string, instanceId: string): string =>
  path.join(out, runId, modelFolderName(model), instanceId)

/** Outcomes that count as completed in SWE-bench's summary (the tests ran and were graded). */
export const isCompleted = (outcome: EvaluationOutcome): boolean => outcome === "resolved" || outcome === "unresolved"

/** swe-gym's own run file: every instance's class and resolution, and the failure classes as lists. */
export const SweGymRunReport = Schema.Struct({
  run_id: Schema.String,
  model_name_or_path: Schema.String,
  total_instances: Schema.Number,
  /** Evaluated instances (every class); the denominator of `resolved_share`. */
  evaluated_instances: Schema.Number,
  resolved_share: Schema.Number,
  counts: Schema.Record({ key: Schema.String, value: Schema.Number }),
  resolved_ids: Schema.Array(Schema.String),
  unresolved_ids: Schema.Array(Schema.String),
  empty_patch_ids: Schema.Array(Schema.String),
  patch_did_not_apply_ids: Schema.Array(Schema.String),
  timeout_ids: Schema.Array(Schema.String),
  infrastructure_failure_ids: Schema.Array(Schema.String),
  /** Predictions naming an instance the instances file does not hold. */
  unknown_instance_ids: Schema.Array(Schema.String),
  /** Later predictions for an instance already predicted (the first was evaluated). */
  duplicate_prediction_ids: Schema.Array(Schema.String),
  /** Instances of the file with no prediction. */
  missing_prediction_ids: Schema.Array(Schema.String),
  /** Instances whose prediction was in the file but did not decode (see the predictions' rejects file); absent in older files. */
  unreadable_prediction_ids: Schema.optional(Schema.Array(Schema.String)),
  /** Instances whose result needs a look before it is trusted (reasons under `instances`); absent in older files. */
  suspicious_ids: Schema.optional(Schema.Array(Schema.String)),
  instances: Schema.Record({
    key: Schema.String,
    value: Schema.Struct({
      outcome: Schema.String,
      resolution: Schema.String,
      reason: Schema.String,
      image: Schema.optional(Schema.String),
      key: Schema.String,
      exit_code: Schema.NullOr(Schema.Number),
      cached: Schema.Boolean,
      test_infrastructure_reverted: Schema.optional(Schema.Array(Schema.String)),
      suspicious: Schema.optional(Schema.Array(Schema.String)),
      verdict_channel: Schema.optional(Schema.String),
    }),
  }),
})
export type SweGymRunReport = typeof SweGymRunReport.Type

const sorted = (ids: Iterable<string>): Array<string> => [...new Set(ids)].sort()

/** The run's reports (SWE-bench's and swe-gym's) for one model, from its records and the instance ids of the file. */
export const runReportsOf = (
  runId: string,
  model: string,
  instanceIds: ReadonlyArray<string>,
  records: ReadonlyArray<EvaluationRecord>,
): { readonly sweBench: RunReport; readonly sweGym: SweGymRunReport } => {
  const mine = records.filter((r) => (r._tag === "Evaluated" ? r.result.model_name_or_path : r.prediction.model_name_or_path) === model)
  const evaluated = mine.filter((r): r is Evaluated => r._tag === "Evaluated")
  const ids = (o: EvaluationOutcome) => sorted(evaluated.filter((e) => e.result.outcome === o).map((e) => e.result.instance_id))
  const rejected = (reason: string) =>
    sorted(mine.flatMap((r) => (r._tag === "PredictionRejected" && r.reason === reason ? [r.prediction.instance_id] : [])))
  const submitted = sorted(mine.map((r) => (r._tag === "Evaluated" ? r.result.instance_id : r.prediction.instance_id)))
  const predicted = new Set(submitted)
  const missing = sorted(instanceIds.filter((id) => !predicted.has(id)))
  const unknown = rejected("unknown_instance")
  const unreadable = rejected("unreadable_prediction")
  const errors = sorted([...ids("patch_did_not_apply"), ...ids("timeout"), ...ids("infrastructure_failure"), ...unknown, ...unreadable])
  const completed = sorted(evaluated.filter((e) => isCompleted(e.result.outcome)).map((e) => e.result.instance_id))
  const suspicious = sorted(evaluated.filter((e) => (e.result.suspicious ?? []).length > 0).map((e) => e.result.instance_id))
  const sweBench: RunReport = {
    total_instances: instanceIds.length,
    submitted_instances: submitted.length,
    completed_instances: completed.length,
    resolved_instances: ids("resolved").length,
    unresolved_instances: ids("unresolved").length,
    empty_patch_instances: ids("empty_patch").length,
    error_instances: errors.length,
    completed_ids: completed,
    incomplete_ids: missing,
    empty_patch_ids: ids("empty_patch"),
    submitted_ids: submitted,
    resolved_ids: ids("resolved"),
    unresolved_ids: ids("unresolved"),
    error_ids: errors,
    schema_version: 2,
    suspicious_ids: suspicious,
  }
  const counts: Record<string, number> = {}
  const resolutions: Record<ResolvedStatus, number> = { RESOLVED_FULL: 0, RESOLVED_PARTIAL: 0, RESOLVED_NO: 0 }
  for (const e of evaluated) {
    counts[e.result.outcome] = (counts[e.result.outcome] ?? 0) + 1
    resolutions[e.result.resolution] += 1
  }
  const sweGym: SweGymRunReport = {
    run_id: runId,
    model_name_or_path: model,
    total_instances: instanceIds.length,
    evaluated_instances: evaluated.length,
    resolved_share: evaluated.length === 0 ? 0 : ids("resolved").length / evaluated.length,
    counts: { ...counts, ...resolutions },
    resolved_ids: ids("resolved"),
    unresolved_ids: ids("unresolved"),
    empty_patch_ids: ids("empty_patch"),
    patch_did_not_apply_ids: ids("patch_did_not_apply"),
    timeout_ids: ids("timeout"),
    infrastructure_failure_ids: ids("infrastructure_failure"),
    unknown_instance_ids: unknown,
    duplicate_prediction_ids: rejected("duplicate_prediction"),
    missing_prediction_ids: missing,
    unreadable_prediction_ids: unreadable,
    suspicious_ids: suspicious,
    instances: Object.fromEntries(
      [...evaluated].sort((a, b) => a.result.instance_id.localeCompare(b.result.instance_id)).map((e) => [e.result.instance_id, {
        outcome: e.result.outcome,
        resolution: e.result.resolution,
        reason: e.result.reason,
        ...(e.result.image === undefined ? {} : { image: e.result.image }),
        key: e.result.key,
        exit_code: e.result.exit_code,
        cached: e.cached,
        ...(e.result.test_infrastructure_reverted === undefined ? {} : { test_infrastructure_reverted: e.result.test_infrastructure_reverted }),
        ...(e.result.suspicious === undefined ? {} : { suspicious: e.result.suspicious }),
        ...(e.result.verdict_channel === undefined ? {} : { verdict_channel: e.result.verdict_channel }),
      }]),
    ),
  }
  return { sweBench, sweGym }
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`

/** Writes one instance's files (report.json only when it completed); returns its folder. */
export const writeInstanceFiles = Effect.fn("harness.writeInstanceFiles")(function* (out: string, runId: string, evaluated: Evaluated) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const r = evaluated.result
  const dir = instanceReportDir(path, out, runId, r.model_name_or_path, r.instance_id)
  yield* fs.makeDirectory(dir, { recursive: true })
  yield* fs.writeFileString(path.join(dir, "patch.diff"), evaluated.patch)
  yield* fs.writeFileString(path.join(dir, "test_output.txt"), evaluated.testOutput)
  yield* fs.writeFileString(path.join(dir, "evaluation.json"), json(yield* Schema.encode(EvaluationResult)(r).pipe(Effect.orDie)))
  const report = path.join(dir, "report.json")
  if (isCompleted(r.outcome)) {
    yield* fs.writeFileString(report, json(yield* Schema.encode(InstanceReportFile)({ [r.instance_id]: r.report }).pipe(Effect.orDie)))
  } else {
    // A report.json left by an earlier evaluation of this run would count the instance as completed.
    yield* fs.remove(report, { force: true })
  }
  return dir
})

/** Writes the run summaries of every model in the records; returns the files written. */
export const writeRunReports = Effect.fn("harness.writeRunReports")(function* (
  out: string,
  runId: string,
  instanceIds: ReadonlyArray<string>,
  records: ReadonlyArray<EvaluationRecord>,
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  yield* fs.makeDirectory(out, { recursive: true })
  const models = sorted(records.map((r) => (r._tag === "Evaluated" ? r.result.model_name_or_path : r.prediction.model_name_or_path)))
  const files: Array<string> = []
  for (const model of models) {
    const { sweBench, sweGym } = runReportsOf(runId, model, instanceIds, records)
    const base = path.join(out, `${modelFolderName(model)}.${runId}`)
    yield* fs.writeFileString(`${base}.json`, json(yield* Schema.encode(RunReport)(sweBench).pipe(Effect.orDie)))
    yield* fs.writeFileString(`${base}.swe-gym.json`, json(yield* Schema.encode(SweGymRunReport)(sweGym).pipe(Effect.orDie)))
    files.push(`${base}.json`, `${base}.swe-gym.json`)
  }
  return files
})
