// The evaluate stage: predictions in, one result per prediction out. For each prediction, in a fresh container of its
// instance's environment at base_commit (prepareInstance: no later history): apply the model patch (git apply, then
// patch with fuzz), put the files the test patch touches back to base (files it adds are removed), apply the test patch,
// run the tests of the files it touches, parse and grade. Every prediction of a known instance ends in exactly one class
// (EvaluationOutcome) with its reason. Test infrastructure the model patch changed (test-infrastructure.ts) is put back
// to base with the test patch's files and recorded; the runner also reports to a channel outside the repository
// (test-report-channel.ts), and the grade needs the log and that report to agree. Infrastructure faults (engine error,
// image missing, container died) are retried with backoff and, if they persist, end as infrastructure_failure. Results
// are stored under a content key, so an identical prediction is answered from the store and a changed one re-runs,
// whatever the run is called.
import type { EvaluationResult, Prediction, TaskInstance } from "@swe-gym/domain"
import { isStoreError, type Store, type StoreError } from "@swe-gym/store"
import { Clock, type Duration, Effect, Exit, Option, Ref, Schedule, Stream } from "effect"
import { type EnvironmentImage, RepoDir } from "./environment-image.js"
import {
  addEvaluation,
  type AttemptFacts,
  classify,
  emptyEvaluationSummary,
  type EvaluationSummary,
  evaluationKey,
  isEmptyPatch,
  sha256Hex,
} from "./evaluation-result.js"
import { findEvaluation, isStorableResult, recordRunResult, saveEvaluation, type StoredEvaluation } from "./evaluation-store.js"
import { gradeLog } from "./grading.js"
import { type EnvironmentUnavailable, InstanceEnvironments, isInfrastructureFault } from "./instance-environments.js"
import { applyPatch, patchPaths, patchTargetFiles } from "./patch-apply.js"
import { revertedPaths, revertTestInfrastructureScript, runnerFilesOf, testInfrastructureOf } from "./test-infrastructure.js"
import { freshReportChannel, reportRunnerOf } from "./test-report-channel.js"
import { runTests, testFilesToRun } from "./test-run.js"
import { type HoldTestSlot, makeTestSlots, withoutTestSlot } from "./test-slots.js"

/** Options of the evaluate stage (environments come from the InstanceEnvironments service). */
export interface EvaluateOptions {
  /** The run's name: results are recorded under it (never looked up by it). */
  readonly runId: string
  /** Predictions whose tests run at once (default: the number of CPU cores). */
  readonly concurrency?: number
  /**
   * Predictions prepared ahead (default 1): while `concurrency` predictions run, this many more have their container
   * created and prepared, and finished containers are removed outside the test slots. 0 prepares each in its slot.
   */
  readonly prepareAhead?: number
  /** Test-run timeout in seconds (default: the spec's timeouts.test_seconds). */
  readonly timeoutSeconds?: number
  /** Bytes of test output kept (default 4 MiB, head and tail). */
  readonly maxOutputBytes?: number
  /** Retries after an infrastructure fault (default 3), exponential backoff from `retryBase` (default 1 second). */
  readonly retries?: number
  readonly retryBase?: Duration.DurationInput
  /** Receives each result, each rejected prediction and the closing summary as they happen (the app renders them). */
  readonly onProgress?: (event: EvaluationEvent) => Effect.Effect<void>
}

/** One prediction's outcome: its result and the evidence files' contents. */
export interface Evaluated {
  readonly _tag: "Evaluated"
  readonly result: EvaluationResult
  /** The test output (with the patch-apply log before it), as graded. */
  readonly testOutput: string
  readonly patch: string
  /** Answered from the store (no container ran). */
  readonly cached: boolean
  /** The environment failure behind an infrastructure_failure, if that was it. */
  readonly environmentFailure?: EnvironmentUnavailable
  /** The image the result was graded on when it is not the one the instance was validated on (a moved tag). */
  readonly imageChangedFrom?: string
}

/** A prediction that could not be evaluated: no such instance, or a second prediction for the same instance. */
export interface PredictionRejected {
  readonly _tag: "PredictionRejected"
  readonly prediction: Prediction
  /** unreadable_prediction: the predictions file's entry for the instance did not decode (the runner adds these). */
  readonly reason: "unknown_instance" | "duplicate_prediction" | "unreadable_prediction"
  readonly detail: string
}

/** An element of the evaluate stage's output. */
export type EvaluationRecord = Evaluated | PredictionRejected

/** What the evaluate stage reports while it runs. */
export type EvaluationEvent =
  | { readonly _tag: "PredictionEvaluated"; readonly evaluated: Evaluated; readonly summary: EvaluationSummary }
  | { readonly _tag: "PredictionRejected"; readonly rejected: PredictionRejected; readonly summary: EvaluationSummary }
  | { readonly _tag: "EvaluationFinished"; readonly runId: string; readonly summary: EvaluationSummary; readonly seconds: number; readonly interrupted: boolean }

const head = (text: string, chars: number): string => (text.length <= chars ? text : `${text.slice(0, chars)}…`)
const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/**
 * Shell script putting the files a test patch touches back to their base version: a file present at base is checked
 * out from it, any other (one the test patch adds, or the model patch created) is removed.
 */
export const restoreTestFilesScript = (baseCommit: string, files: ReadonlyArray<string>): string =>
  [
    "set -e",
    ...files.map((f) => {
      const q = shellQuote(f)
      return `if git cat-file -e ${shellQuote(`${baseCommit}:${f}`)} 2>/dev/null; then git checkout -q ${shellQuote(baseCommit)} -- ${q}; else rm -rf -- ${q}; fi`
    }),
  ].join("\n")

/** The outcome of one attempt in a container: the facts, the log to keep, and the apply method. */
interface Attempt {
  /** The image the tests ran on (absent when they did not run). */
  readonly image?: EnvironmentImage
  readonly facts: AttemptFacts
  readonly testOutput: string
  readonly exitCode: number | null
  readonly timedOut: boolean
  readonly outputTruncated: boolean
  readonly applyMethod: string
}

/** One attempt: prepare the container, apply the model patch, restore and apply the test patch, run, grade. */
const attemptOnce = (
  instance: TaskInstance,
  patch: string,
  options: EvaluateOptions,
  timeoutSeconds: number,
  holdTestSlot: HoldTestSlot,
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const environments = yield* InstanceEnvironments
      const prepared = yield* environments.prepare(instance, { labels: { "swe-gym.eval.run": options.runId } })
      // The test slot is taken once the container is ready: preparing (and removing) happen outside it.
      return yield* holdTestSlot(Effect.gen(function* () {
        const image = prepared.image
        const container = prepared.container
        const model = yield* applyPatch(container, patch)
        const applyLog = `>>> model patch\n${model.log}`
        if (!model.applied) {
          return {
            facts: { _tag: "PatchNotApplied", which: "model_patch", reason: model.reason, log: model.log },
            testOutput: applyLog,
            exitCode: null,
            timedOut: false,
            outputTruncated: false,
            applyMethod: "none",
          } satisfies Attempt
        }
        const touched = patchPaths(instance.test_patch)
        // The model patch's test infrastructure goes back to base (the test patch's own files are put back just after,
        // as before: the model patch's changes to them are recorded here too).
        const infrastructure = testInfrastructureOf(patchPaths(patch), { testFiles: touched, runnerFiles: runnerFilesOf(image.spec.test_command) })
        const revertible = infrastructure.filter((p) => p.rule !== "test_directive")
        const revertScript = `${revertTestInfrastructureScript(instance.base_commit, revertible)}\n${restoreTestFilesScript(instance.base_commit, touched)}`
        const restore = yield* container.exec(["sh", "-c", `{\n${revertScript}\n} 2>&1`], {
          timeout: "2 minutes",
          workdir: RepoDir,
        })
        const reverted = [...revertedPaths(restore.stdout, revertible), ...infrastructure.filter((p) => p.rule === "test_directive")]
        const revertedNote = reverted.length === 0 ? "" : `>>> test infrastructure of the model patch put back to base: ${reverted.map((r) => `${r.path} (${r.rule})`).join(", ")}\n`
        const restoreLog = `>>> restore test files to ${instance.base_commit} (exit ${restore.exitCode})\n${restore.stdout}${restore.stderr}${revertedNote}`
        const tests = yield* applyPatch(container, instance.test_patch)
        const beforeRun = `${applyLog}${restoreLog}>>> test patch\n${tests.log}`
        if (restore.exitCode !== 0 || !tests.applied) {
          return {
            facts: {
              _tag: "PatchNotApplied",
              which: "test_patch",
              reason: restore.exitCode !== 0 ? `restoring the test files failed (exit ${restore.exitCode})` : tests.reason,
              log: `${restore.stdout}${restore.stderr}${tests.log}`,
            },
            testOutput: beforeRun,
            exitCode: null,
            timedOut: false,
            outputTruncated: false,
            applyMethod: model.method,
          } satisfies Attempt
        }
        const runner = reportRunnerOf(image.spec.log_parser)
        const run = yield* runTests(container, image.spec, testFilesToRun(patchTargetFiles(instance.test_patch)), {
          timeoutSeconds,
          ...(options.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.maxOutputBytes }),
          ...(runner === undefined ? {} : { reportChannel: freshReportChannel(runner) }),
        })
        const grade = gradeLog({
          FAIL_TO_PASS: instance.FAIL_TO_PASS,
          PASS_TO_PASS: instance.PASS_TO_PASS,
          log: run.parsed,
          exitCode: run.exitCode,
          report: run.report ?? { _tag: "NoChannel", runner: image.spec.log_parser },
        })
        return {
          facts: {
            _tag: "TestsRan",
            applyMethod: model.method,
            exitCode: run.exitCode,
            timedOut: run.timedOut,
            timeoutSeconds,
            outputTruncated: run.outputTruncated,
            grade,
            testInfrastructureReverted: reverted,
          },
          testOutput: `${beforeRun}>>> ${run.command} (exit ${run.exitCode === null ? "none: killed" : run.exitCode})\n${run.log}`,
          exitCode: run.exitCode,
          timedOut: run.timedOut,
          outputTruncated: run.outputTruncated,
          applyMethod: model.method,
          image,
        } satisfies Attempt
      }))
    }),
  )

/** Store writes that fail are retried (a locked or busy database) before the stage fails. */
const storeRetries = Schedule.exponential("200 millis").pipe(Schedule.intersect(Schedule.recurs(3)))

/**
 * Evaluates one prediction of a known instance. Every problem with the patch or the environment ends in a class with
 * its reason; the only failure is a result that cannot be stored (after retries).
 */
export const evaluateOne = Effect.fn("harness.evaluateOne")(function* (
  prediction: Prediction,
  instance: TaskInstance,
  options: EvaluateOptions,
  holdTestSlot: HoldTestSlot = withoutTestSlot,
) {
  const environments = yield* InstanceEnvironments
  const patch = prediction.model_patch
  const patchSha256 = sha256Hex(patch)
  const started = yield* Clock.currentTimeMillis
  const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => ({ at: new Date(ms).toISOString(), ms: ms - started })))
  const finish = (
    facts: AttemptFacts,
    fields: { key: string; image?: string; spec_hash?: string; attempts: number; exitCode?: number | null; timedOut?: boolean; outputTruncated?: boolean; applyMethod?: string },
    testOutput: string,
  ) =>
    Effect.gen(function* () {
      const c = classify(facts)
      const t = yield* now
      const result: EvaluationResult = {
        instance_id: instance.instance_id,
        model_name_or_path: prediction.model_name_or_path,
        outcome: c.outcome,
        reason: c.reason,
        resolution: c.resolution,
        report: c.report,
        key: fields.key,
        patch_sha256: patchSha256,
        ...(fields.image === undefined ? {} : { image: fields.image }),
        ...(fields.spec_hash === undefined ? {} : { spec_hash: fields.spec_hash }),
        exit_code: fields.exitCode ?? null,
        timed_out: fields.timedOut ?? false,
        output_truncated: fields.outputTruncated ?? false,
        untrusted: c.untrusted,
        pass_to_pass_skipped: c.passToPassSkipped,
        ...(c.testInfrastructureReverted.length === 0 ? {} : { test_infrastructure_reverted: c.testInfrastructureReverted }),
        ...(c.suspicious.length === 0 ? {} : { suspicious: c.suspicious }),
        ...(c.verdictChannel === undefined ? {} : { verdict_channel: c.verdictChannel }),
        apply_method: fields.applyMethod ?? "none",
        attempts: fields.attempts,
        duration_ms: t.ms,
        evaluated_at: t.at,
      }
      return { _tag: "Evaluated", result, testOutput, patch, cached: false } satisfies Evaluated
    })
  const store = (evaluated: Evaluated) =>
    Effect.gen(function* () {
      if (isStorableResult(evaluated.result)) yield* saveEvaluation(evaluated.result, evaluated.testOutput).pipe(Effect.retry(storeRetries))
      return evaluated
    })
  const fromStore = (key: string) =>
    findEvaluation(key).pipe(
      Effect.retry(storeRetries),
      Effect.map(Option.map((stored: StoredEvaluation): Evaluated => ({
        _tag: "Evaluated",
        result: { ...stored.result, model_name_or_path: prediction.model_name_or_path },
        testOutput: stored.testOutput,
        patch,
        cached: true,
      }))),
    )

  if (isEmptyPatch(patch)) {
    const key = evaluationKey({ instance, patchSha256, imageId: "none", specHash: "none", timeoutSeconds: 0 })
    return yield* finish({ _tag: "EmptyPatch" }, { key, attempts: 0 }, "")
  }

  // The image is had in every attempt: one that vanished between attempts is built again.
  const attempts = yield* Ref.make(0)
  const lastImage = yield* Ref.make<EnvironmentImage | undefined>(undefined)
  const timeoutOf = (image: EnvironmentImage) => options.timeoutSeconds ?? image.spec.timeouts.test_seconds
  const keyOf = (image: EnvironmentImage) => evaluationKey({ instance, patchSha256, imageId: image.id, specHash: image.specHash, timeoutSeconds: timeoutOf(image) })
  const attempt = Effect.gen(function* () {
    yield* Ref.update(attempts, (n) => n + 1)
    const image = yield* environments.imageFor(instance)
    yield* Ref.set(lastImage, image)
    const stored = yield* fromStore(keyOf(image))
    if (Option.isSome(stored)) return { _tag: "Stored", evaluated: stored.value } as const
    const ran = yield* attemptOnce(instance, patch, options, timeoutOf(image), holdTestSlot)
    // The key is the image the tests ran on (the same one, unless it was rebuilt in between).
    const on = ran.image ?? image
    return { _tag: "Ran", ran, image: on, key: keyOf(on) } as const
  })
  const schedule = Schedule.exponential(options.retryBase ?? "1 second").pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(options.retries ?? 3)),
  )
  const outcome = yield* Effect.either(attempt.pipe(Effect.retry({ schedule, while: isInfrastructureFault })))
  const tries = yield* Ref.get(attempts)
  const image = yield* Ref.get(lastImage)
  if (outcome._tag === "Left") {
    const e = outcome.left
    if (isStoreError(e)) return yield* Effect.fail(e)
    const key = image === undefined ? `unkeyed:${instance.instance_id}:${patchSha256}` : keyOf(image)
    const retried = isInfrastructureFault(e) ? ` (after ${tries} attempts)` : ""
    const reason = `${e._tag}: ${e.message}${retried}`
    const failed = yield* finish({ _tag: "InfrastructureFailure", reason }, {
      key,
      attempts: tries,
      ...(image === undefined ? {} : { image: image.reference, spec_hash: image.specHash }),
    }, reason)
    return e._tag === "EnvironmentUnavailable" ? { ...failed, environmentFailure: e } : failed
  }
  if (outcome.right._tag === "Stored") return outcome.right.evaluated
  const { ran, key } = outcome.right
  const evaluated = yield* finish(ran.facts, {
    key,
    image: outcome.right.image.reference,
    spec_hash: outcome.right.image.specHash,
    attempts: tries,
    exitCode: ran.exitCode,
    timedOut: ran.timedOut,
    outputTruncated: ran.outputTruncated,
    applyMethod: ran.applyMethod,
  }, ran.testOutput)
  // A tag can move: say so when the image is not the one the instance was validated on.
  const validatedOn = instance.swe_gym?.image
  if (validatedOn !== undefined && validatedOn !== outcome.right.image.reference) {
    const note = `; the environment image is not the one the instance was validated on (${validatedOn})`
    return yield* store({ ...evaluated, result: { ...evaluated.result, reason: `${evaluated.result.reason}${note}` }, imageChangedFrom: validatedOn })
  }
  return yield* store(evaluated)
})

/**
 * The evaluate stage: predictions to results, `concurrency` at a time against the given task instances. Containers are
 * removed when a prediction ends or the stream is interrupted; each result is stored and recorded under the run as it
 * completes. Reports each result and the closing summary through `onProgress`; fails only when a result cannot be stored.
 */
export const evaluate = (instances: ReadonlyArray<TaskInstance>, options: EvaluateOptions) =>
<E, R>(
  predictions: Stream.Stream<Prediction, E, R>,
): Stream.Stream<EvaluationRecord, E | StoreError, R | InstanceEnvironments | Store> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const byId = new Map(instances.map((i) => [i.instance_id, i]))
      const seen = new Set<string>()
      const summary = yield* Ref.make<EvaluationSummary>(emptyEvaluationSummary)
      const report = options.onProgress ?? (() => Effect.void)
      const t0 = yield* Clock.currentTimeMillis
      yield* Effect.addFinalizer((exit) =>
        Effect.gen(function* () {
          const seconds = ((yield* Clock.currentTimeMillis) - t0) / 1000
          yield* report({ _tag: "EvaluationFinished", runId: options.runId, summary: yield* Ref.get(summary), seconds, interrupted: Exit.isInterrupted(exit) })
        }))
      const reject = (prediction: Prediction, reason: PredictionRejected["reason"], detail: string) =>
        Effect.gen(function* () {
          const rejected = { _tag: "PredictionRejected", prediction, reason, detail } satisfies PredictionRejected
          const s = yield* Ref.updateAndGet(summary, (x) => ({ ...x, rejected: x.rejected + 1 }))
          yield* report({ _tag: "PredictionRejected", rejected, summary: s })
          return rejected
        })
      const testSlots = yield* makeTestSlots(options.concurrency, options.prepareAhead)
      return predictions.pipe(
        Stream.mapEffect(
          (prediction): Effect.Effect<EvaluationRecord, StoreError, InstanceEnvironments | Store> => {
            const instance = byId.get(prediction.instance_id)
            if (instance === undefined) {
              return reject(prediction, "unknown_instance", `no task instance ${prediction.instance_id} in the instances file`)
            }
            const seenKey = `${prediction.model_name_or_path}\0${prediction.instance_id}`
            if (seen.has(seenKey)) {
              return reject(prediction, "duplicate_prediction", `a second prediction of ${prediction.model_name_or_path} for ${prediction.instance_id} (the first one is evaluated)`)
            }
            seen.add(seenKey)
            return Effect.gen(function* () {
              const evaluated = yield* evaluateOne(prediction, instance, options, testSlots.hold)
              yield* recordRunResult(options.runId, evaluated.result, evaluated.cached).pipe(Effect.retry(storeRetries))
              const s = yield* Ref.updateAndGet(summary, (x) => addEvaluation(x, evaluated.result, evaluated.cached))
              yield* report({ _tag: "PredictionEvaluated", evaluated, summary: s })
              return evaluated
            })
          },
          // Unordered: a result is emitted as soon as it is stored, so what finished is never held behind a slower one
          // (an interrupt would lose it from the run's files); the report files order results by id.
          { concurrency: testSlots.streamConcurrency, unordered: true },
        ),
      )
    }),
  )

/** Predictions made of the instances' gold patches (SWE-bench's `--predictions_path gold`), model name "gold". */
export const goldPredictions = (instances: ReadonlyArray<TaskInstance>): ReadonlyArray<Prediction> =>
  instances.map((i) => ({ instance_id: i.instance_id, model_name_or_path: "gold", model_patch: i.patch }))

/** Predictions with empty patches for every instance, model name "empty". */
export const emptyPredictions = (instances: ReadonlyArray<TaskInstance>): ReadonlyArray<Prediction> =>
  instances.map((i) => ({ instance_id: i.instance_id, model_name_or_path: "empty", model_patch: "" }))

