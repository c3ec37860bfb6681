// How a dataset's label finds its test in a parsed log. Published labels were written by other parsers on other Python
// versions, so a label and the id our parser reads can spell the same test differently:
// - Django/unittest: `test_x (module.Class)` (Python < 3.11, SWE-bench's older rows) and `test_x (module.Class.test_x)`
//   (Python >= 3.11, SWE-bench's Django 5.0 rows) name one test; either label matches a log in either spelling.
// - Django tests with a docstring were labelled by the docstring's first line (SWE-bench's Django parser took the line
//   before " ... ok" as the id).
// - pytest ids with a space inside their parameter brackets were cut at that space (SWE-bench's parser splits result
//   lines at whitespace): `…[baz` for `…[baz bar]`. Such a label matches the log ids that continue it after a space, and
//   only when its brackets are left open. When it stands for several ids (two parameters sharing the cut prefix, which
//   SWE-bench's parser collapsed into one label) their outcome counts only if they all agree: otherwise it is ambiguous.
// - SWE-bench's pytest parser also froze progress tokens (`[100%]`, `[`) into some rows: no test id starts with "[", so
//   such a label names no test.
import type { TestStatus } from "@swe-gym/domain"
import { isPass } from "@swe-gym/domain"
import { worseStatus, type ParsedLog } from "./log-parsers/parsed-log.js"

/** Where a label was found in a log. */
export type LabelMatch =
  /** The label is a log id as written. */
  | { readonly _tag: "Exact"; readonly id: string }
  /** The label names a log id in the other Django/unittest spelling. */
  | { readonly _tag: "Respelled"; readonly id: string }
  /** The label is the docstring line these tests printed. */
  | { readonly _tag: "Description"; readonly ids: ReadonlyArray<string> }
  /** The label is a pytest id cut at the first space inside its brackets; these ids continue it. */
  | { readonly _tag: "Prefix"; readonly ids: ReadonlyArray<string> }
  /** No test in the log answers to the label. */
  | { readonly _tag: "Missing" }
  /** The label cannot name a test at all (a progress token frozen into a dataset). */
  | { readonly _tag: "NotATestId" }

/** A parsed log prepared for matching many labels. */
export interface LogIndex {
  readonly log: ParsedLog
  /** Docstring line → the ids that printed it. */
  readonly byDescription: ReadonlyMap<string, ReadonlyArray<string>>
  /** Every id, sorted (a cut label's continuations are a contiguous run). */
  readonly sortedIds: ReadonlyArray<string>
}

/** Prepares a parsed log for matching labels. */
export const indexLog = (log: ParsedLog): LogIndex => {
  const byDescription = new Map<string, Array<string>>()
  for (const [id, line] of Object.entries(log.descriptions)) {
    const ids = byDescription.get(line)
    if (ids === undefined) byDescription.set(line, [id])
    else ids.push(id)
  }
  return { log, byDescription, sortedIds: Object.keys(log.statuses).sort() }
}

const unittestId = /^(\w+) \(([\w.]+)\)$/

/** The other spelling of a Django/unittest id (`test_x (m.C)` ↔ `test_x (m.C.test_x)`), if the label has that shape. */
export const otherSpelling = (label: string): string | undefined => {
  const m = unittestId.exec(label)
  if (m === null) return undefined
  const [, name = "", owner = ""] = m
  if (owner.endsWith(`.${name}`)) {
    const cls = owner.slice(0, -(name.length + 1))
    return cls === "" ? undefined : `${name} (${cls})`
  }
  return `${name} (${owner}.${name})`
}

/** Brackets a label opens and never closes: a pytest id cut inside its parameters leaves at least one. */
export const openBrackets = (label: string): number => {
  let depth = 0
  for (const c of label) {
    if (c === "[") depth++
    else if (c === "]" && depth > 0) depth--
  }
  return depth
}

/** Whether a label has the shape of a pytest id cut at the first space inside its brackets. */
export const isCutLabel = (label: string): boolean => !/\s/.test(label) && openBrackets(label) > 0

/** The ids that start with `prefix` (binary search into the sorted ids). */
const idsStartingWith = (sorted: ReadonlyArray<string>, prefix: string): ReadonlyArray<string> => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] ?? "") < prefix) lo = mid + 1
    else hi = mid
  }
  const found: Array<string> = []
  for (let i = lo; i < sorted.length && (sorted[i] ?? "").startsWith(prefix); i++) found.push(sorted[i] ?? "")
  return found
}

/** Finds a label's test(s) in an indexed log. */
export const matchLabel = (index: LogIndex, label: string): LabelMatch => {
  const statuses = index.log.statuses
  if (statuses[label] !== undefined) return { _tag: "Exact", id: label }
  const other = otherSpelling(label)
  if (other !== undefined && statuses[other] !== undefined) return { _tag: "Respelled", id: other }
  const described = (index.byDescription.get(label) ?? []).filter((id) => statuses[id] !== undefined)
  if (described.length > 0) return { _tag: "Description", ids: described }
  if (isCutLabel(label)) {
    // The cut was at a space, so the whole id continues the label with one.
    const ids = idsStartingWith(index.sortedIds, `${label} `)
    if (ids.length > 0) return { _tag: "Prefix", ids }
  }
  if (index.log.format === "pytest" && label.startsWith("[")) return { _tag: "NotATestId" }
  return { _tag: "Missing" }
}

/** The ids a match stands for (none when missing). */
export const matchedIds = (match: LabelMatch): ReadonlyArray<string> =>
  match._tag === "Exact" || match._tag === "Respelled" ? [match.id] : match._tag === "Description" || match._tag === "Prefix" ? match.ids : []

/** Whether a match stands for several tests whose statuses differ, so that which one the label meant decides. */
export const isAmbiguous = (index: LogIndex, match: LabelMatch): boolean => {
  if (match._tag !== "Prefix") return false
  const seen = new Set(match.ids.map((id) => index.log.statuses[id]))
  return seen.size > 1
}

/**
 * The status a match gives its label (undefined = not found, or ambiguous). A docstring line stands for every test that
 * printed it (any failure fails it, else any pass passes it); a cut label's continuations count only when they agree.
 */
export const statusOfMatch = (index: LogIndex, match: LabelMatch): TestStatus | undefined => {
  const statuses = index.log.statuses
  switch (match._tag) {
    case "Exact":
    case "Respelled":
      return statuses[match.id]
    case "Prefix":
      return isAmbiguous(index, match) ? undefined : statuses[match.ids[0] ?? ""]
    case "Description": {
      const found = match.ids.flatMap((id) => {
        const status = statuses[id]
        return status === undefined ? [] : [status]
      })
      const worst = found.reduce<TestStatus | undefined>((acc, s) => worseStatus(acc, s), undefined)
      if (worst === "FAILED" || worst === "ERROR") return worst
      return found.some(isPass) ? "PASSED" : worst
    }
    case "Missing":
    case "NotATestId":
      return undefined
  }
}

/** A label's status in a log, with how it was found. */
export const labelStatus = (index: LogIndex, label: string): { readonly match: LabelMatch; readonly status: TestStatus | undefined } => {
  const match = matchLabel(index, label)
  return { match, status: statusOfMatch(index, match) }
}
