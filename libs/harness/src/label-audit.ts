// The audit of labels a candidate already carries (a published dataset's FAIL_TO_PASS / PASS_TO_PASS) against the runs
// validation made: what a user auditing a dataset must be told instead of seeing the labels silently re-derived. Labels
// are matched as grading matches them (label-matching.ts), so a finding is never an artefact of spelling.
import { isPass, type LabelAudit, type TestStatus } from "@swe-gym/domain"
import { indexLog, isAmbiguous, labelStatus, type LabelMatch } from "./label-matching.js"
import type { ParsedLog } from "./log-parsers/parsed-log.js"
import { isVolatileId } from "./volatile-ids.js"

/** The labels a row carries. */
export interface GivenLabels {
  readonly FAIL_TO_PASS: ReadonlyArray<string>
  readonly PASS_TO_PASS: ReadonlyArray<string>
}

const isFound = (seen: { readonly match: LabelMatch }): boolean => seen.match._tag !== "Missing" && seen.match._tag !== "NotATestId"
const isFailure = (status: TestStatus | undefined): boolean => status === "FAILED" || status === "ERROR" || status === undefined

/**
 * Audits given labels against the runs before the gold patch (test patch only) and after it:
 * - `label_error`: a FAIL_TO_PASS test that passes in some run before the gold patch;
 * - `environment_mismatch`: a PASS_TO_PASS test found in the logs that fails (or errors, or is absent) in every run,
 *   before and after — it cannot pass in this environment;
 * - `label_missing`: a test found in no run's log (a label that names no test, such as "[100%]", included);
 * - `not_fixed_by_gold`: a FAIL_TO_PASS test found in the logs that does not pass in every run after the gold patch;
 * - `label_ambiguous`: a cut label standing for several tests whose outcomes differ in some run;
 * - `label_volatile`: a label whose id embeds a value of the moment (volatile-ids.ts): no run can find it again.
 * Each list keeps the labels' own spelling and order.
 */
export const auditLabels = (given: GivenLabels, beforeRuns: ReadonlyArray<ParsedLog>, afterRuns: ReadonlyArray<ParsedLog>): LabelAudit => {
  const before = beforeRuns.map(indexLog)
  const after = afterRuns.map(indexLog)
  const seen = (label: string) => ({
    before: before.map((index) => ({ index, ...labelStatus(index, label) })),
    after: after.map((index) => ({ index, ...labelStatus(index, label) })),
  })
  const audit: { readonly [K in keyof LabelAudit]: Array<string> } = {
    label_error: [],
    environment_mismatch: [],
    label_missing: [],
    not_fixed_by_gold: [],
    label_ambiguous: [],
    label_volatile: [],
  }
  const common = (label: string, runs: ReturnType<typeof seen>): boolean => {
    const all = [...runs.before, ...runs.after]
    if (isVolatileId(label) && !audit.label_volatile.includes(label)) audit.label_volatile.push(label)
    if (all.some((r) => isAmbiguous(r.index, r.match)) && !audit.label_ambiguous.includes(label)) audit.label_ambiguous.push(label)
    if (all.some(isFound)) return true
    if (!audit.label_missing.includes(label)) audit.label_missing.push(label)
    return false
  }
  for (const label of given.FAIL_TO_PASS) {
    const runs = seen(label)
    if (!common(label, runs)) continue
    if (runs.before.some((r) => isPass(r.status))) audit.label_error.push(label)
    if (runs.after.length > 0 && !runs.after.every((r) => isPass(r.status))) audit.not_fixed_by_gold.push(label)
  }
  for (const label of given.PASS_TO_PASS) {
    const runs = seen(label)
    if (!common(label, runs)) continue
    const all = [...runs.before, ...runs.after]
    if (runs.before.length > 0 && runs.after.length > 0 && all.every((r) => isFailure(r.status))) audit.environment_mismatch.push(label)
  }
  return audit
}

/** How many labels an audit questions (each label counted once). */
export const labelAuditCount = (audit: LabelAudit): number =>
  new Set([
    ...audit.label_error,
    ...audit.environment_mismatch,
    ...audit.label_missing,
    ...audit.not_fixed_by_gold,
    ...audit.label_ambiguous,
    ...audit.label_volatile,
  ]).size

/** The audit's findings as one line per kind (empty when the labels hold up), for a verdict's detail. */
export const describeLabelAudit = (audit: LabelAudit, max = 5): ReadonlyArray<string> => {
  const kinds: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["label_error (labelled FAIL_TO_PASS passes before the gold patch)", audit.label_error],
    ["environment_mismatch (labelled PASS_TO_PASS fails before and after)", audit.environment_mismatch],
    ["label_missing (labelled test in no log)", audit.label_missing],
    ["not_fixed_by_gold (labelled FAIL_TO_PASS does not pass after the gold patch)", audit.not_fixed_by_gold],
    ["label_ambiguous (cut label standing for tests with different outcomes)", audit.label_ambiguous],
    ["label_volatile (label embeds a value of the moment)", audit.label_volatile],
  ]
  return kinds
    .filter(([, labels]) => labels.length > 0)
    .map(([kind, labels]) => `${kind}: ${labels.length}: ${labels.slice(0, max).join(", ")}${labels.length > max ? ", …" : ""}`)
}
