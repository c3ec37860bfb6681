import { Schema } from "effect"
import { TestStatusMap } from "./test-status.js"

/** Why a candidate was kept or rejected by validation. */
export const ValidationReason = Schema.Literal(
  "valid",
  "no_fail_to_pass",
  "gold_breaks_tests",
  "test_patch_did_not_apply",
  "gold_patch_did_not_apply",
  "environment_failed",
  "tests_timed_out",
  "infrastructure_error",
)
export type ValidationReason = typeof ValidationReason.Type

/** One test run of a validation (before or after the gold patch), with the evidence behind the statuses. */
export const ValidationRun = Schema.Struct({
  phase: Schema.Literal("before", "after"),
  attempt: Schema.Number,
  exit_code: Schema.NullOr(Schema.Number),
  timed_out: Schema.Boolean,
  statuses: TestStatusMap,
  /** The end of the log (where test runners put their summary), capped. */
  log_tail: Schema.String,
  duration_ms: Schema.Number,
})
export type ValidationRun = typeof ValidationRun.Type

/**
 * What validation found about labels a candidate already carried (a published dataset's FAIL_TO_PASS / PASS_TO_PASS),
 * matched as grading matches them (either Django spelling, docstring lines, pytest ids cut at a space).
 */
export const LabelAudit = Schema.Struct({
  /** Labelled FAIL_TO_PASS tests that pass in a run before the gold patch: the label is wrong. */
  label_error: Schema.Array(Schema.String),
  /** Labelled PASS_TO_PASS tests that fail (or error) in every run, before and after: this environment differs from the labeller's. */
  environment_mismatch: Schema.Array(Schema.String),
  /** Labelled tests found in no run's log. */
  label_missing: Schema.Array(Schema.String),
  /** Labelled FAIL_TO_PASS tests present after the gold patch that do not pass in every after-run. */
  not_fixed_by_gold: Schema.Array(Schema.String),
  /** Cut labels standing for several tests whose outcomes differ in some run: never guessed. */
  label_ambiguous: Schema.Array(Schema.String),
  /** Labels whose id embeds a value of the moment (wall clock, epoch time, address, uuid, temp path): unsolvable. */
  label_volatile: Schema.Array(Schema.String),
})
export type LabelAudit = typeof LabelAudit.Type

/** The verdict of validating one task candidate in its environment. */
export const ValidationResult = Schema.Struct({
  instance_id: Schema.String,
  kept: Schema.Boolean,
  reason: ValidationReason,
  detail: Schema.optionalWith(Schema.String, { default: () => "" }),
  FAIL_TO_PASS: Schema.Array(Schema.String),
  PASS_TO_PASS: Schema.Array(Schema.String),
  /** Tests whose outcome differed between identical runs: excluded from both lists. */
  flaky: Schema.Array(Schema.String),
  /** Test ids present in one run and absent from an identical rerun (time- or random-parametrized): never counted. */
  unstable: Schema.Array(Schema.String),
  /** Tests that passed before and fail after the gold patch. */
  broken_by_gold: Schema.Array(Schema.String),
  runs: Schema.Array(ValidationRun),
  image: Schema.optional(Schema.String),
  /** Hash of the inputs (instance fields, environment spec, image digest) this verdict was computed from. */
  key: Schema.String,
  validated_at: Schema.String,
  /** The audit of the labels the candidate carried (absent when it carried none, and in verdicts made before audits). */
  label_audit: Schema.optional(LabelAudit),
})
export type ValidationResult = typeof ValidationResult.Type
