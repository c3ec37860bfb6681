// What evaluating one prediction ends in: its class (exactly one of EvaluationOutcome) with the reason, SWE-bench's
// instance report, the evidence (exit code, timeout, truncation, untrusted-log reasons) and the content key it is stored
// under. Pure: the classification from an attempt's facts, the key, the summary of a run.
import type { EvaluationOutcome, EvaluationResult, InstanceReport, ResolvedStatus, TaskInstance } from "@swe-gym/domain"
import { createHash } from "node:crypto"
import type { Grade } from "./grading.js"
import { GradingVersion } from "./grading-version.js"
import type { TestInfrastructurePath } from "./test-infrastructure.js"


/** sha256 (hex) of a text's UTF-8 bytes. */
export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

/** Hash of the instance fields an evaluation depends on (base commit, test patch and labels). */
export const instanceContentHash = (instance: TaskInstance): string =>
  sha256Hex(JSON.stringify({
    instance_id: instance.instance_id,
    repo: instance.repo,
    base_commit: instance.base_commit,
    test_patch: instance.test_patch,
    FAIL_TO_PASS: [...instance.FAIL_TO_PASS],
    PASS_TO_PASS: [...instance.PASS_TO_PASS],
  }))

/** What a stored evaluation is keyed by: never a run name, only content. */
export interface EvaluationKeyParts {
  readonly instance: TaskInstance
  readonly patchSha256: string
  /** The image's digest (engine id `sha256:…`); "none" for results that need no image (empty patch). */
  readonly imageId: string
  readonly specHash: string
  readonly timeoutSeconds: number
}

/**
 * The content key of an evaluation: sha256 of instance content, patch hash, image digest, spec hash, test timeout and
 * the grading code's version (a result graded by an older parser or grader is not served after a fix).
 */
export const evaluationKey = (parts: EvaluationKeyParts, gradingVersion: number = GradingVersion): string =>
  sha256Hex(JSON.stringify({
    format: 1,
    instance: instanceContentHash(parts.instance),
    patch: parts.patchSha256,
    image: parts.imageId,
    spec: parts.specHash,
    timeout: parts.timeoutSeconds,
    grading: gradingVersion,
  }))

/** Whether a patch counts as empty (SWE-bench: none or ""; whitespace only is empty too). */
export const isEmptyPatch = (patch: string): boolean => patch.trim() === ""

// ── classification ───────────────────────────────────────────────────────────────────────────────────────────────────

/** The facts of one finished attempt, before classification. */
export type AttemptFacts =
  | { readonly _tag: "EmptyPatch" }
  | { readonly _tag: "PatchNotApplied"; readonly which: "model_patch" | "test_patch"; readonly reason: string; readonly log: string }
  | {
    readonly _tag: "TestsRan"
    readonly applyMethod: string
    readonly exitCode: number | null
    readonly timedOut: boolean
    readonly timeoutSeconds: number
    readonly outputTruncated: boolean
    readonly grade: Grade
    /** Test infrastructure of the model patch put back to base before the run (none when absent). */
    readonly testInfrastructureReverted?: ReadonlyArray<TestInfrastructurePath>
  }
  | { readonly _tag: "InfrastructureFailure"; readonly reason: string }

/** The class, reason, resolution and report of an attempt's facts. */
export interface Classified {
  readonly outcome: EvaluationOutcome
  readonly reason: string
  readonly resolution: ResolvedStatus
  readonly report: InstanceReport
  readonly untrusted: ReadonlyArray<string>
  readonly passToPassSkipped: ReadonlyArray<string>
  /** Paths of the model patch put back to base before the tests ran. */
  readonly testInfrastructureReverted: ReadonlyArray<string>
  /** Why the result needs a look before it is trusted (empty = nothing seen). */
  readonly suspicious: ReadonlyArray<string>
  /** Where the verdict came from (absent when no test ran). */
  readonly verdictChannel?: Grade["channel"]
}

const listed = (label: string, ids: ReadonlyArray<string>, max = 5): string =>
  ids.length === 0 ? "" : `${label} (${ids.length}): ${ids.slice(0, max).join(", ")}${ids.length > max ? ", …" : ""}`

const lastLines = (text: string, lines: number): string => text.trimEnd().split("\n").slice(-lines).join("\n")

/** Puts an attempt in exactly one class, with the reason and SWE-bench's report. */
export const classify = (facts: AttemptFacts): Classified => {
  const notRun = (outcome: EvaluationOutcome, reason: string, patch: { exists: boolean; applied: boolean }): Classified => ({
    outcome,
    reason,
    resolution: "RESOLVED_NO",
    report: { patch_is_None: false, patch_exists: patch.exists, patch_successfully_applied: patch.applied, resolved: false },
    untrusted: [],
    passToPassSkipped: [],
    testInfrastructureReverted: [],
    suspicious: [],
  })
  switch (facts._tag) {
    case "EmptyPatch":
      return notRun("empty_patch", "the model patch is empty: nothing was run", { exists: false, applied: false })
    case "PatchNotApplied": {
      const what = facts.which === "model_patch" ? "the model patch did not apply" : "the test patch did not apply after the model patch"
      const log = facts.log.trim() === "" ? "" : `\n${lastLines(facts.log, 15)}`
      return notRun("patch_did_not_apply", `${what}: ${facts.reason}${log}`, { exists: true, applied: facts.which === "test_patch" })
    }
    case "InfrastructureFailure":
      return notRun("infrastructure_failure", facts.reason, { exists: true, applied: false })
    case "TestsRan": {
      const g = facts.grade
      const report: InstanceReport = {
        patch_is_None: false,
        patch_exists: true,
        patch_successfully_applied: true,
        resolved: g.resolved && !facts.timedOut,
        tests_status: g.tests_status,
      }
      const reverted = facts.testInfrastructureReverted ?? []
      const revertedList = reverted.map((r) => `${r.path} (${r.rule})`)
      const notes = [
        facts.outputTruncated ? "the test output was longer than the cap: its middle was cut (head and tail kept, graded on what was kept)" : "",
        g.passToPassSkipped.length > 0 ? listed("PASS_TO_PASS tests skipped (counted as kept)", g.passToPassSkipped) : "",
        listed("test_infrastructure_reverted: the patch's changes to test infrastructure were put back before the run", revertedList),
        g.channel === "log_only" ? "graded from the log alone: this runner has no report channel" : "",
      ].filter((s) => s !== "")
      const withNotes = (s: string) => [s, ...notes].join("; ")
      const suspicious = [
        ...(reverted.length === 0 ? [] : [listed("test_infrastructure_reverted", revertedList, 10)]),
        ...g.suspicious,
      ]
      const base = {
        report,
        untrusted: g.untrusted,
        passToPassSkipped: g.passToPassSkipped,
        testInfrastructureReverted: reverted.map((r) => r.path),
        suspicious,
        verdictChannel: g.channel,
      }
      if (facts.timedOut) {
        return {
          ...base,
          outcome: "timeout",
          reason: withNotes(`the test command was killed after ${facts.timeoutSeconds} s`),
          resolution: "RESOLVED_NO",
        }
      }
      if (g.resolved) {
        const f2p = g.tests_status.FAIL_TO_PASS.success.length
        const p2p = g.tests_status.PASS_TO_PASS.success.length
        return {
          ...base,
          outcome: "resolved",
          reason: withNotes(`all ${f2p} FAIL_TO_PASS and ${p2p} PASS_TO_PASS tests pass (exit code ${facts.exitCode}, patch applied with ${facts.applyMethod})`),
          resolution: g.resolution,
        }
      }
      const why = [
        ...g.untrusted.map((u) => `untrusted log: ${u}`),
        listed("FAIL_TO_PASS not passing", g.tests_status.FAIL_TO_PASS.failure),
        listed("PASS_TO_PASS not passing", g.tests_status.PASS_TO_PASS.failure),
      ].filter((s) => s !== "")
      return {
        ...base,
        outcome: "unresolved",
        reason: withNotes(`${g.resolution} (exit code ${facts.exitCode}): ${why.join("; ")}`),
        resolution: g.resolution,
      }
    }
  }
}

// ── summary ──────────────────────────────────────────────────────────────────────────────────────────────────────────

/** An evaluated instance whose result needs a look before it is trusted, with the reasons. */
export interface SuspiciousResult {
  readonly instance_id: string
  readonly model_name_or_path: string
  readonly reasons: ReadonlyArray<string>
}

/** Counts of an evaluation run. */
export interface EvaluationSummary {
  readonly total: number
  readonly cached: number
  readonly byOutcome: Readonly<Record<EvaluationOutcome, number>>
  /** Predictions not evaluated: unknown instance id or a second prediction for the same instance. */
  readonly rejected: number
  /** Results that need a look (test infrastructure reverted, log and report disagreeing, …), in evaluation order. */
  readonly suspicious: ReadonlyArray<SuspiciousResult>
}

/** The empty summary. */
export const emptyEvaluationSummary: EvaluationSummary = {
  total: 0,
  cached: 0,
  rejected: 0,
  suspicious: [],
  byOutcome: { resolved: 0, unresolved: 0, empty_patch: 0, patch_did_not_apply: 0, timeout: 0, infrastructure_failure: 0 },
}

/** Adds one result to a summary. */
export const addEvaluation = (summary: EvaluationSummary, result: EvaluationResult, cached: boolean): EvaluationSummary => ({
  ...summary,
  total: summary.total + 1,
  cached: summary.cached + (cached ? 1 : 0),
  byOutcome: { ...summary.byOutcome, [result.outcome]: summary.byOutcome[result.outcome] + 1 },
  suspicious: (result.suspicious ?? []).length === 0
    ? summary.suspicious
    : [...summary.suspicious, { instance_id: result.instance_id, model_name_or_path: result.model_name_or_path, reasons: result.suspicious ?? [] }],
})

/** The ids of a summary's suspicious results, sorted, each once. */
export const suspiciousIds = (s: EvaluationSummary): ReadonlyArray<string> => [...new Set(s.suspicious.map((x) => x.instance_id))].sort()

/** The closing summary as text (resolved share over every evaluated instance, failures included). */
export const formatEvaluationSummary = (s: EvaluationSummary): string => {
  const pct = s.total === 0 ? 0 : (100 * s.byOutcome.resolved) / s.total
  const classes = Object.entries(s.byOutcome).map(([k, n]) => `${k} ${n}`).join(", ")
  const rejected = s.rejected === 0 ? "" : `; ${s.rejected} predictions rejected (unknown or duplicate instance id)`
  const ids = suspiciousIds(s)
  const suspicious = ids.length === 0 ? "" : `; ${ids.length} suspicious (look before trusting them): ${ids.slice(0, 10).join(", ")}${ids.length > 10 ? ", …" : ""}`
  return `evaluated ${s.total}: resolved ${s.byOutcome.resolved} (${pct.toFixed(1)}%); ${classes}; ${s.cached} answered from the store${rejected}${suspicious}`
}
