import { Schema } from "effect"

/** Tests of one category split by outcome, as SWE-bench's harness reports them. */
export const TestOutcomes = Schema.Struct({
  success: Schema.Array(Schema.String),
  failure: Schema.Array(Schema.String),
})

/** SWE-bench's resolution levels: FULL (all F2P and P2P pass), PARTIAL (some F2P and all P2P), NO. */
export const ResolvedStatus = Schema.Literal("RESOLVED_FULL", "RESOLVED_PARTIAL", "RESOLVED_NO")
export type ResolvedStatus = typeof ResolvedStatus.Type

/** How an evaluated instance ended: exactly one class per instance and run. */
export const EvaluationOutcome = Schema.Literal(
  "resolved",
  "unresolved",
  "empty_patch",
  "patch_did_not_apply",
  "timeout",
  "infrastructure_failure",
)
export type EvaluationOutcome = typeof EvaluationOutcome.Type

/** One instance's report, the value under its instance id in SWE-bench's `report.json`. */
export const InstanceReport = Schema.Struct({
  patch_is_None: Schema.Boolean,
  patch_exists: Schema.Boolean,
  patch_successfully_applied: Schema.Boolean,
  resolved: Schema.Boolean,
  tests_status: Schema.optional(
    Schema.Struct({
      FAIL_TO_PASS: TestOutcomes,
      PASS_TO_PASS: TestOutcomes,
      FAIL_TO_FAIL: TestOutcomes,
      PASS_TO_FAIL: TestOutcomes,
    }),
  ),
})
export type InstanceReport = typeof InstanceReport.Type

/** SWE-bench's per-instance `report.json`: `{ [instance_id]: InstanceReport }`. */
export const InstanceReportFile = Schema.Record({ key: Schema.String, value: InstanceReport })

/** The run summary SWE-bench's harness writes (`<model>.<run_id>.json`, schema_version 2). */
export const RunReport = Schema.Struct({
  total_instances: Schema.Number,
  submitted_instances: Schema.Number,
  completed_instances: Schema.Number,
  resolved_instances: Schema.Number,
  unresolved_instances: Schema.Number,
  empty_patch_instances: Schema.Number,
  error_instances: Schema.Number,
  completed_ids: Schema.Array(Schema.String),
  incomplete_ids: Schema.Array(Schema.String),
  empty_patch_ids: Schema.Array(Schema.String),
  submitted_ids: Schema.Array(Schema.String),
  resolved_ids: Schema.Array(Schema.String),
  unresolved_ids: Schema.Array(Schema.String),
  error_ids: Schema.Array(Schema.String),
  schema_version: Schema.Number,
  /** swe-gym's addition: instances whose result needs a look before it is trusted (forging made visible). */
  suspicious_ids: Schema.optional(Schema.Array(Schema.String)),
})
export type RunReport = typeof RunReport.Type
