// SWE-bench's gradings: the per-instance report (`{resolved, patch_exists, ...}`, bare as mini-swe-agent keeps it or
// keyed by instance id as the harness writes report.json), the run summary (`resolved_ids`, ...), and predictions.
import { Prediction, RunReport } from "@swe-gym/domain"
import { Schema } from "effect"
import type { EvaluationRecord } from "../imported-trajectory.js"

/** The fields of one instance's report the import reads (tests_status is kept whole in `report`). */
export const InstanceReportShape = Schema.Struct({
  patch_is_None: Schema.optional(Schema.Boolean),
  patch_exists: Schema.optional(Schema.Boolean),
  patch_successfully_applied: Schema.optional(Schema.Boolean),
  resolved: Schema.Boolean,
  tests_status: Schema.optional(Schema.Unknown),
})
export type InstanceReportShape = typeof InstanceReportShape.Type

/** A report.json keyed by instance id, or a run summary: whichever the file is. */
export const ReportFile = Schema.Union(
  RunReport,
  Schema.Record({ key: Schema.String, value: InstanceReportShape }),
)
export type ReportFile = typeof ReportFile.Type

/** The outcome class of a SWE-bench instance report (the harness's vocabulary). */
export const outcomeOfReport = (report: InstanceReportShape): string => {
  if (report.resolved) return "resolved"
  if (report.patch_is_None === true || report.patch_exists === false) return "empty_patch"
  if (report.patch_successfully_applied === false) return "patch_did_not_apply"
  return "unresolved"
}

/** An evaluation record from one instance's report. */
export const evaluationOfReport = (report: InstanceReportShape, file: string): EvaluationRecord => ({
  resolved: report.resolved,
  outcome: outcomeOfReport(report),
  patch_applied: report.patch_successfully_applied ?? null,
  report,
  source_file: file,
})

const isRunReport = Schema.is(RunReport)

/** Per-instance gradings of a report file: from a keyed report.json, or from a run summary's id lists. */
export const gradingsOfReport = (report: ReportFile, file: string): ReadonlyArray<{ readonly instance_id: string; readonly evaluation: EvaluationRecord }> => {
  if (isRunReport(report)) {
    const summary = report
    const out: Array<{ instance_id: string; evaluation: EvaluationRecord }> = []
    const add = (ids: ReadonlyArray<string>, resolved: boolean, outcome: string) => {
      for (const id of ids) out.push({ instance_id: id, evaluation: { resolved, outcome, patch_applied: null, report: null, source_file: file } })
    }
    add(summary.resolved_ids, true, "resolved")
    add(summary.unresolved_ids, false, "unresolved")
    add(summary.empty_patch_ids, false, "empty_patch")
    add(summary.error_ids, false, "infrastructure_failure")
    return out
  }
  return Object.entries(report).map(([instance_id, r]) => ({
    instance_id,
    evaluation: evaluationOfReport(r, file),
  }))
}

/** A prediction line of SWE-bench's harness input. */
export { Prediction }
