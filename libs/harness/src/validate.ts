// The validate stage: task candidates in, verdicts out. For each candidate, in a fresh container of its environment at
// base_commit: apply test_patch, run the tests of the files it touches (`beforeRuns` times), apply the gold patch, run them
// again (`afterRuns` times), and derive FAIL_TO_PASS / PASS_TO_PASS with flaky, unstable and broken tests set apart.
// A candidate is kept iff FAIL_TO_PASS is not empty and the gold patch breaks no test (unless `keepBreaking`).
// Verdicts are stored under a hash of their inputs; infrastructure faults are retried, then reported as their own reason.
import type { EnvironmentSpec, TaskInstance, ValidationReason, ValidationResult, ValidationRun } from "@swe-gym/domain"
import type { Store, StoreError } from "@swe-gym/store"
import { Clock, type Duration, Effect, Exit, Option, Ref, Schedule, Stream } from "effect"
import { createHash } from "node:crypto"
import { canonicalSpecJson, specHash } from "./environment-spec-files.js"
import { deriveLabels, type DerivedLabels } from "./grading.js"
import { GradingVersion } from "./grading-version.js"
import { auditLabels, describeLabelAudit, labelAuditCount } from "./label-audit.js"
import { type EnvironmentUnavailable, InstanceEnvironments, isInfrastructureFault } from "./instance-environments.js"
import type { PreparedInstance } from "./instance-container.js"
import { applyPatch, patchTargetFiles } from "./patch-apply.js"
import { runTests, testFilesToRun, type TestRun } from "./test-run.js"
import { type HoldTestSlot, makeTestSlots, withoutTestSlot } from "./test-slots.js"
import { findValidation, isFinalVerdict, saveValidation } from "./validation-store.js"

/** Options of the validate stage (environments come from the InstanceEnvironments service). */
export interface ValidateOptions {
  /** Candidates whose tests run at once (default: the number of CPU cores). */
  readonly concurrency?: number
  /**
   * Candidates prepared ahead (default 1): while `concurrency` candidates run their tests, this many more have their
   * container created and their repository prepared, and a finished candidate's container is removed outside the
   * test slots — so a candidate's tests start as soon as a slot frees. 0 prepares each candidate in its slot.
   */
  readonly prepareAhead?: number
  /** Runs with only the test patch applied (default 2: an id seen in one run only is unstable, not broken). */
  readonly beforeRuns?: number
  /** Runs with the gold patch applied (default 2: a test whose outcome changes between them is flaky). */
  readonly afterRuns?: number
  /** Keep candidates whose gold patch breaks tests that passed before (default false: rejected). */
  readonly keepBreaking?: boolean
  /** Retries of a candidate after an infrastructure fault (default 3, exponential from 1 second). */
  readonly retries?: number
  readonly retryBase?: Duration.DurationInput
  /** Characters of each run's log kept in its ValidationRun (default 4000). */
  readonly logTailChars?: number
  /** Receives each verdict and the closing summary as they happen (the app renders them). */
  readonly onProgress?: (event: ValidationEvent) => Effect.Effect<void>
}

/** A result of the stage: the verdict, whether it came from the store, and the environment failure behind it, if any. */
export interface Validated {
  readonly result: ValidationResult
  readonly cached: boolean
  readonly environmentFailure?: EnvironmentUnavailable
}

/** What the validate stage reports while it runs. */
export type ValidationEvent =
  | {
    readonly _tag: "CandidateValidated"
    readonly validated: Validated
    /** Wall time of this candidate (0 when answered from the store). */
    readonly seconds: number
    readonly summary: ValidationSummary
  }
  | { readonly _tag: "ValidationFinished"; readonly summary: ValidationSummary; readonly seconds: number; readonly interrupted: boolean }

// ── pure parts ───────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Fills a missing environment_setup_commit with the convention's value: the base commit of the newest instance (by
 * created_at) of the same repository and version.
 */
export const assignSetupCommits = (instances: ReadonlyArray<TaskInstance>): ReadonlyArray<TaskInstance> => {
  const newest = new Map<string, TaskInstance>()
  for (const i of instances) {
    const key = `${i.repo}\0${i.version}`
    const current = newest.get(key)
    if (current === undefined || i.created_at > current.created_at) newest.set(key, i)
  }
  return instances.map((i) =>
    i.environment_setup_commit !== "" ? i : { ...i, environment_setup_commit: newest.get(`${i.repo}\0${i.version}`)?.base_commit ?? i.base_commit })
}

/**
 * The hash of everything a verdict depends on: the instance's fields (its given labels too: they are audited), the spec,
 * the image id, the run counts and the grading code's version (a verdict from an older parser is not served after a fix).
 */
export const validationKey = (
  instance: TaskInstance,
  spec: EnvironmentSpec,
  imageId: string,
  runs: { readonly beforeRuns: number; readonly afterRuns: number; readonly keepBreaking: boolean },
): string =>
  createHash("sha256")
    .update(JSON.stringify({
      format: 2,
      grading: GradingVersion,
      instance: {
        instance_id: instance.instance_id,
        repo: instance.repo,
        base_commit: instance.base_commit,
        patch: instance.patch,
        test_patch: instance.test_patch,
        version: instance.version,
        environment_setup_commit: instance.environment_setup_commit,
        FAIL_TO_PASS: [...instance.FAIL_TO_PASS],
        PASS_TO_PASS: [...instance.PASS_TO_PASS],
      },
      spec: canonicalSpecJson(spec),
      image: imageId,
      runs,
    }))
    .digest("hex")

/** The verdict on derived labels: breaking first (unless kept), then an empty FAIL_TO_PASS. */
export const verdictOf = (labels: DerivedLabels, keepBreaking: boolean): { readonly kept: boolean; readonly reason: ValidationReason; readonly detail: string } => {
  const excluded = [
    labels.flaky.length > 0 ? `flaky (excluded): ${labels.flaky.join(", ")}` : "",
    labels.unstable.length > 0 ? `unstable ids (excluded): ${labels.unstable.join(", ")}` : "",
  ].filter((s) => s !== "").join("; ")
  const withExcluded = (s: string) => (excluded === "" ? s : `${s}; ${excluded}`)
  if (labels.broken_by_gold.length > 0 && !keepBreaking) {
    return { kept: false, reason: "gold_breaks_tests", detail: withExcluded(`the gold patch breaks tests that passed before: ${labels.broken_by_gold.join(", ")}`) }
  }
  if (labels.FAIL_TO_PASS.length === 0) {
    return { kept: false, reason: "no_fail_to_pass", detail: withExcluded("no test fails before the gold patch and passes after it in every run") }
  }
  return {
    kept: true,
    reason: "valid",
    detail: withExcluded(`${labels.FAIL_TO_PASS.length} FAIL_TO_PASS, ${labels.PASS_TO_PASS.length} PASS_TO_PASS${labels.broken_by_gold.length > 0 ? `; kept although it breaks ${labels.broken_by_gold.join(", ")}` : ""}`),
  }
}

/** Counts of a validation run: kept, rejected per reason, answered from the store. */
export interface ValidationSummary {
  readonly total: number
  readonly kept: number
  readonly cached: number
  readonly byReason: Readonly<Partial<Record<ValidationReason, number>>>
  /** Candidates that came with labels (audited against the runs), and per audit finding the candidates showing it. */
  readonly audited: number
  readonly auditFindings: Readonly<Record<string, number>>
}

/** Adds one result to a summary. */
export const addToSummary = (summary: ValidationSummary, validated: Validated): ValidationSummary => {
  const audit = validated.result.label_audit
  const findings = { ...summary.auditFindings }
  if (audit !== undefined) {
    for (const [kind, labels] of Object.entries(audit)) if (labels.length > 0) findings[kind] = (findings[kind] ?? 0) + 1
  }
  return {
    total: summary.total + 1,
    kept: summary.kept + (validated.result.kept ? 1 : 0),
    cached: summary.cached + (validated.cached ? 1 : 0),
    byReason: { ...summary.byReason, [validated.result.reason]: (summary.byReason[validated.result.reason] ?? 0) + 1 },
    audited: summary.audited + (audit === undefined ? 0 : 1),
    auditFindings: findings,
  }
}

/** The empty summary. */
export const emptySummary: ValidationSummary = { total: 0, kept: 0, cached: 0, byReason: {}, audited: 0, auditFindings: {} }

/** The closing summary of a validation run as text. */
export const formatValidationSummary = (summary: ValidationSummary): string => {
  const rejected = Object.entries(summary.byReason)
    .filter(([reason]) => reason !== "valid")
    .map(([reason, n]) => `${reason} ${n}`)
    .join(", ")
  const findings = Object.entries(summary.auditFindings).map(([kind, n]) => `${kind} in ${n}`).join(", ")
  const audit = summary.audited === 0 ? "" : `; given labels audited on ${summary.audited}: ${findings === "" ? "all hold up" : findings}`
  return `validated ${summary.total}: kept ${summary.kept}, rejected ${summary.total - summary.kept}${rejected === "" ? "" : ` (${rejected})`}; ${summary.cached} answered from the store${audit}`
}

// ── one candidate ────────────────────────────────────────────────────────────────────────────────────────────────────

const tail = (text: string, chars: number): string => (text.length <= chars ? text : `…${text.slice(-chars)}`)

const toRun = (phase: "before" | "after", attempt: number, run: TestRun, chars: number): ValidationRun => ({
  phase,
  attempt,
  exit_code: run.exitCode,
  timed_out: run.timedOut,
  statuses: run.parsed.statuses,
  log_tail: tail(run.log, chars),
  duration_ms: run.durationMs,
})

type PhaseOutcome =
  | { readonly _tag: "Ran"; readonly before: ReadonlyArray<TestRun>; readonly after: ReadonlyArray<TestRun>; readonly image: string }
  | { readonly _tag: "Stopped"; readonly reason: ValidationReason; readonly detail: string; readonly before: ReadonlyArray<TestRun>; readonly after: ReadonlyArray<TestRun> }

/**
 * Prepares the container and runs both phases (one container: before runs, gold patch, after runs); the phases run
 * holding one of the stage's test slots, the preparation and the container's removal do not.
 */
const runPhases = (instance: TaskInstance, options: Required<Pick<ValidateOptions, "beforeRuns" | "afterRuns">>, holdTestSlot: HoldTestSlot) =>
  Effect.scoped(
    Effect.gen(function* () {
      const environments = yield* InstanceEnvironments
      const prepared = yield* environments.prepare(instance)
      return yield* holdTestSlot(phasesIn(prepared, instance, options))
    }),
  )

const phasesIn = (prepared: PreparedInstance, instance: TaskInstance, options: Required<Pick<ValidateOptions, "beforeRuns" | "afterRuns">>) =>
  Effect.gen(function* () {
    const container = prepared.container
    const spec = prepared.spec
    const files = testFilesToRun(patchTargetFiles(instance.test_patch))
    const testPatch = yield* applyPatch(container, instance.test_patch)
    if (!testPatch.applied) {
      return { _tag: "Stopped", reason: "test_patch_did_not_apply", detail: `${testPatch.reason}\n${tail(testPatch.log, 2000)}`, before: [], after: [] } satisfies PhaseOutcome
    }
    const before: Array<TestRun> = []
    for (let i = 0; i < options.beforeRuns; i++) {
      const run = yield* runTests(container, spec, files)
      before.push(run)
      if (run.timedOut) return { _tag: "Stopped", reason: "tests_timed_out", detail: `run ${i + 1} before the gold patch was killed after ${spec.timeouts.test_seconds} s: ${run.command}`, before, after: [] } satisfies PhaseOutcome
    }
    const gold = yield* applyPatch(container, instance.patch)
    if (!gold.applied) {
      return { _tag: "Stopped", reason: "gold_patch_did_not_apply", detail: `${gold.reason}\n${tail(gold.log, 2000)}`, before, after: [] } satisfies PhaseOutcome
    }
    const after: Array<TestRun> = []
    for (let i = 0; i < options.afterRuns; i++) {
      const run = yield* runTests(container, spec, files)
      after.push(run)
      if (run.timedOut) return { _tag: "Stopped", reason: "tests_timed_out", detail: `run ${i + 1} after the gold patch was killed after ${spec.timeouts.test_seconds} s: ${run.command}`, before, after } satisfies PhaseOutcome
    }
    return { _tag: "Ran", before, after, image: prepared.image.reference } satisfies PhaseOutcome
  })

/** Store writes that fail are retried (a locked or busy database) before the stage fails. */
const storeRetries = Schedule.exponential("200 millis").pipe(Schedule.intersect(Schedule.recurs(3)))

/**
 * Validates one candidate. Every problem with the candidate or its environment ends as a verdict with its reason; the
 * only failure is a verdict that cannot be stored (after retries): a result that is not kept is not a result.
 */
export const validateOne = Effect.fn("harness.validateOne")(function* (instance: TaskInstance, options: ValidateOptions, holdTestSlot: HoldTestSlot = withoutTestSlot) {
  const environments = yield* InstanceEnvironments
  const beforeRuns = Math.max(1, options.beforeRuns ?? 2)
  const afterRuns = Math.max(1, options.afterRuns ?? 2)
  const keepBreaking = options.keepBreaking ?? false
  const chars = options.logTailChars ?? 4000
  const now = Clock.currentTimeMillis.pipe(Effect.map((ms) => new Date(ms).toISOString()))
  const result = (fields: Omit<ValidationResult, "instance_id" | "validated_at" | "FAIL_TO_PASS" | "PASS_TO_PASS" | "flaky" | "unstable" | "broken_by_gold" | "runs"> & Partial<ValidationResult>) =>
    Effect.map(now, (validated_at): ValidationResult => ({
      instance_id: instance.instance_id,
      FAIL_TO_PASS: [],
      PASS_TO_PASS: [],
      flaky: [],
      unstable: [],
      broken_by_gold: [],
      runs: [],
      validated_at,
      ...fields,
    }))

  const image = yield* Effect.either(environments.imageFor(instance))
  if (image._tag === "Left") {
    const verdict = yield* result({ kept: false, reason: "environment_failed", detail: image.left.message, key: `unkeyed:${instance.instance_id}` })
    return { cached: false, result: verdict, environmentFailure: image.left } satisfies Validated
  }
  const env = image.right
  const key = validationKey(instance, env.spec, env.id, { beforeRuns, afterRuns, keepBreaking })
  const stored = yield* findValidation(key).pipe(Effect.retry(storeRetries))
  if (Option.isSome(stored)) return { cached: true, result: stored.value } satisfies Validated

  const transient = Schedule.exponential(options.retryBase ?? "1 second").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(options.retries ?? 3)))
  const phases = yield* Effect.either(
    runPhases(instance, { beforeRuns, afterRuns }, holdTestSlot).pipe(Effect.retry({ schedule: transient, while: isInfrastructureFault })),
  )
  const base = { key, image: env.reference }
  let verdict: ValidationResult
  let environmentFailure: EnvironmentUnavailable | undefined
  if (phases._tag === "Left") {
    const e = phases.left
    const infra = isInfrastructureFault(e)
    if (e._tag === "EnvironmentUnavailable") environmentFailure = e
    verdict = yield* result({
      ...base,
      kept: false,
      reason: infra ? "infrastructure_error" : "environment_failed",
      detail: `${e._tag}: ${e.message}${infra ? ` (after ${(options.retries ?? 3) + 1} attempts)` : ""}`,
    })
  } else {
    const outcome = phases.right
    const runs = [
      ...outcome.before.map((r, i) => toRun("before", i + 1, r, chars)),
      ...outcome.after.map((r, i) => toRun("after", i + 1, r, chars)),
    ]
    if (outcome._tag === "Stopped") {
      verdict = yield* result({ ...base, kept: false, reason: outcome.reason, detail: outcome.detail, runs })
    } else {
      const beforeLogs = outcome.before.map((r) => r.parsed)
      const afterLogs = outcome.after.map((r) => r.parsed)
      const labels = deriveLabels(beforeLogs, afterLogs)
      const v = verdictOf(labels, keepBreaking)
      // A row that came with labels (a published dataset) has them audited against these runs, not silently replaced.
      const given = instance.FAIL_TO_PASS.length + instance.PASS_TO_PASS.length > 0
      const audit = given ? auditLabels(instance, beforeLogs, afterLogs) : undefined
      const auditLines = audit === undefined ? [] : describeLabelAudit(audit)
      const auditText = audit === undefined ? "" : labelAuditCount(audit) === 0 ? "; given labels hold up" : `; given labels questioned: ${auditLines.join("; ")}`
      const excerpts = v.kept ? "" : `\n--- last run before the gold patch ---\n${tail(outcome.before.at(-1)?.log ?? "", 1500)}\n--- last run after ---\n${tail(outcome.after.at(-1)?.log ?? "", 1500)}`
      verdict = yield* result({
        ...base,
        image: outcome.image,
        kept: v.kept,
        reason: v.reason,
        detail: `${v.detail}${auditText}${excerpts}`,
        ...(audit === undefined ? {} : { label_audit: audit }),
        FAIL_TO_PASS: labels.FAIL_TO_PASS,
        PASS_TO_PASS: labels.PASS_TO_PASS,
        flaky: labels.flaky,
        unstable: labels.unstable,
        broken_by_gold: labels.broken_by_gold,
        runs,
      })
    }
  }
  if (isFinalVerdict(verdict)) yield* saveValidation(verdict).pipe(Effect.retry(storeRetries))
  return { cached: false, result: verdict, ...(environmentFailure === undefined ? {} : { environmentFailure }) } satisfies Validated
})

// ── the stage ────────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The validate stage: a Stream of candidates to a Stream of verdicts, `concurrency` candidates at a time (containers are
 * removed when a candidate ends or the stream is interrupted). Reports each verdict and the closing summary through
 * `onProgress`. Fails only when a verdict cannot be stored.
 */
export const validate = (options: ValidateOptions = {}) =>
<E, R>(candidates: Stream.Stream<TaskInstance, E, R>): Stream.Stream<Validated, E | StoreError, R | InstanceEnvironments | Store> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const summary = yield* Ref.make(emptySummary)
      const report = options.onProgress ?? (() => Effect.void)
      const started = yield* Clock.currentTimeMillis
      const elapsed = (since: number) => Effect.map(Clock.currentTimeMillis, (t) => (t - since) / 1000)
      yield* Effect.addFinalizer((exit) =>
        Effect.gen(function* () {
          yield* report({ _tag: "ValidationFinished", summary: yield* Ref.get(summary), seconds: yield* elapsed(started), interrupted: Exit.isInterrupted(exit) })
        }))
      const testSlots = yield* makeTestSlots(options.concurrency, options.prepareAhead)
      return candidates.pipe(
        Stream.mapEffect(
          (instance) =>
            Effect.gen(function* () {
              const t0 = yield* Clock.currentTimeMillis
              const validated = yield* validateOne(instance, options, testSlots.hold)
              const s = yield* Ref.updateAndGet(summary, (x) => addToSummary(x, validated))
              yield* report({ _tag: "CandidateValidated", validated, seconds: validated.cached ? 0 : yield* elapsed(t0), summary: s })
              return validated
            }),
          // Unordered: a result is emitted as soon as it is stored, so what finished is never held behind a slower one
          // (an interrupt would lose it from the run's files); `runner validate` puts verdicts back in input order.
          { concurrency: testSlots.streamConcurrency, unordered: true },
        ),
      )
    }),
  )

/** Which labels a kept instance is published with: the ones validation derived, or the row's own (audited). */
export type LabelChoice = "derived" | "given"

/**
 * The task instance a kept verdict makes of its candidate: labels (derived, or the candidate's own when `labels` is
 * "given" and it has some), image reference, spec hash, validation key, and which labels these are.
 */
export const toTaskInstance = (candidate: TaskInstance, result: ValidationResult, spec?: EnvironmentSpec, labels: LabelChoice = "derived"): TaskInstance => {
  const keepGiven = labels === "given" && candidate.FAIL_TO_PASS.length + candidate.PASS_TO_PASS.length > 0
  return {
    ...candidate,
    FAIL_TO_PASS: keepGiven ? candidate.FAIL_TO_PASS : result.FAIL_TO_PASS,
    PASS_TO_PASS: keepGiven ? candidate.PASS_TO_PASS : result.PASS_TO_PASS,
    swe_gym: {
      ...candidate.swe_gym,
      ...(result.image === undefined ? {} : { image: result.image }),
      ...(spec === undefined ? {} : { spec_hash: specHash(spec) }),
      validation_key: result.key,
      // Derived labels are the default and go unmarked (rows read as before); kept given labels say so.
      ...(keepGiven ? { labels: "given" as const } : {}),
      ...(result.label_audit === undefined ? {} : { labels_questioned: labelAuditCount(result.label_audit) }),
    },
  }
}
