// The result of evaluating one prediction, beside ValidationResult (validation.ts): the harness makes it, the runner
// writes it, analytics joins trajectories to it by its content key.
import { Schema } from "effect"
import { EvaluationOutcome, InstanceReport, ResolvedStatus } from "./evaluation-report.js"

/** The verdict on one prediction (the test output is kept beside it, not in it). */
export const EvaluationResult = Schema.Struct({
  instance_id: Schema.String,
  model_name_or_path: Schema.String,
  outcome: EvaluationOutcome,
  /** Why it ended in its class, in words (failing tests, untrusted log, apply error, engine error). */
  reason: Schema.String,
  resolution: ResolvedStatus,
  /** SWE-bench's report.json value for the instance. */
  report: InstanceReport,
  /** Content key: hash of (instance, patch sha256, image digest, spec hash, test timeout). */
  key: Schema.String,
  patch_sha256: Schema.String,
  /** The environment image as `tag@sha256:…` (absent when no image was needed or none could be had). */
  image: Schema.optional(Schema.String),
  spec_hash: Schema.optional(Schema.String),
  /** The test command's exit code; null when it was killed at the timeout or never ran. */
  exit_code: Schema.NullOr(Schema.Number),
  timed_out: Schema.Boolean,
  /** The test output was longer than the cap: its middle was cut (head and tail kept). */
  output_truncated: Schema.Boolean,
  /** Why the log is not evidence of a finished run (non-empty forces RESOLVED_NO). */
  untrusted: Schema.Array(Schema.String),
  /** PASS_TO_PASS tests that were skipped in this run (kept, as SWE-bench counts them, and listed). */
  pass_to_pass_skipped: Schema.Array(Schema.String),
  /**
   * Test infrastructure the model patch changed (conftest.py, pytest configuration, start-up files, the test
   * directives' files, the runner), put back to base before the tests ran. Absent in results made before it was recorded.
   */
  test_infrastructure_reverted: Schema.optional(Schema.Array(Schema.String)),
  /**
   * Why the result needs a look before it is trusted (infrastructure reverted, the log and the runner's report
   * disagreeing, a report missing or cut short, a log contradicting the exit code); empty or absent = nothing seen.
   */
  suspicious: Schema.optional(Schema.Array(Schema.String)),
  /** Where the verdict came from: the log checked against the runner's own report, or the log alone (no channel). */
  verdict_channel: Schema.optional(Schema.Literal("log_and_report", "log_only")),
  /** How the model patch applied ("git apply", "git apply --reject", "patch --fuzz=5" or "none"). */
  apply_method: Schema.String,
  /** Attempts made (more than 1 after infrastructure faults). */
  attempts: Schema.Number,
  duration_ms: Schema.Number,
  evaluated_at: Schema.String,
})
export type EvaluationResult = typeof EvaluationResult.Type
