import { LabelAudit } from "@swe-gym/domain"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { auditLabels, describeLabelAudit, labelAuditCount } from "../src/label-audit.js"
import { parseDjangoLog, parsePytestLog } from "../src/log-parsers/index.js"
import { readFixture, sweBenchRows } from "./fixture-logs.js"
import { newStyle, pytestLogOf } from "./lite-row-logs.js"

// Validating rows that already carry labels must say where the labels and this environment disagree, per instance.

const none = { label_error: [], environment_mismatch: [], label_missing: [], not_fixed_by_gold: [], label_ambiguous: [], label_volatile: [] }

describe("auditLabels on real logs and real labels", () => {
  const rows = sweBenchRows(["django__django-11099", "django__django-16046", "django__django-16379", "pallets__flask-4992"])
  const django = (id: string) => ({
    before: [parseDjangoLog(readFixture(`logs/${id}.before.log`))],
    after: [parseDjangoLog(readFixture(`logs/${id}.after.log`))],
  })
  const helpText = "test_help_text (auth_tests.test_validators.UserAttributeSimilarityValidatorTest)"

  it("django__django-11099: finds SWE-bench Lite's known label error (a FAIL_TO_PASS test that passes before the fix)", () => {
    const row = rows.get("django__django-11099")
    const { before, after } = django("django__django-11099")
    const audit = auditLabels({ FAIL_TO_PASS: row?.FAIL_TO_PASS ?? [], PASS_TO_PASS: row?.PASS_TO_PASS ?? [] }, before, after)
    expect(audit).toEqual({ ...none, label_error: [helpText] })
    expect(labelAuditCount(audit)).toBe(1)
    expect(describeLabelAudit(audit)).toEqual([`label_error (labelled FAIL_TO_PASS passes before the gold patch): 1: ${helpText}`])
  })

  it("django__django-11099: the same finding under labels spelled new-style, in that spelling", () => {
    const row = rows.get("django__django-11099")
    const { before, after } = django("django__django-11099")
    const audit = auditLabels({ FAIL_TO_PASS: (row?.FAIL_TO_PASS ?? []).map(newStyle), PASS_TO_PASS: (row?.PASS_TO_PASS ?? []).map(newStyle) }, before, after)
    expect(audit).toEqual({ ...none, label_error: [newStyle(helpText)] })
  })

  for (const id of ["django__django-16046", "django__django-16379"]) {
    it(`${id}: the row's labels (docstring lines included) hold up against its real logs`, () => {
      const row = rows.get(id)
      const { before, after } = django(id)
      expect(auditLabels({ FAIL_TO_PASS: row?.FAIL_TO_PASS ?? [], PASS_TO_PASS: row?.PASS_TO_PASS ?? [] }, before, after)).toEqual(none)
    })
  }

  it("pallets__flask-4992: a labelled test absent from every log, and a labelled FAIL_TO_PASS the gold run does not pass", () => {
    const row = rows.get("pallets__flask-4992")
    const before = [parsePytestLog(readFixture("logs/pallets__flask-4992.before.log"))]
    const after = [parsePytestLog(readFixture("logs/pallets__flask-4992.after.log"))]
    const f2p = row?.FAIL_TO_PASS ?? []
    const p2p = row?.PASS_TO_PASS ?? []
    expect(auditLabels({ FAIL_TO_PASS: f2p, PASS_TO_PASS: p2p }, before, after)).toEqual(none)
    const gone = "tests/test_config.py::test_removed_long_ago"
    // The gold run of another row stands in for a gold patch that does not fix the test.
    const audit = auditLabels({ FAIL_TO_PASS: f2p, PASS_TO_PASS: [...p2p, gone] }, before, before)
    expect(audit).toEqual({ ...none, label_missing: [gone], not_fixed_by_gold: f2p })
  })
})

describe("auditLabels: each finding", () => {
  const f = "tests/test_x.py::"
  const log = (results: Record<string, boolean>) => parsePytestLog(pytestLogOf(Object.entries(results).map(([t, passed]) => ({ id: `${f}${t}`, passed }))))

  it("environment_mismatch: a labelled PASS_TO_PASS test that fails before and after (not one that fails on one side only)", () => {
    const before = [log({ a: false, b: true, c: false, needs_network: false }), log({ a: false, b: true, c: false, needs_network: false })]
    const after = [log({ a: true, b: true, c: true, needs_network: false }), log({ a: true, b: true, c: true, needs_network: false })]
    const audit = auditLabels({ FAIL_TO_PASS: [`${f}a`], PASS_TO_PASS: [`${f}b`, `${f}c`, `${f}needs_network`] }, before, after)
    expect(audit).toEqual({ ...none, environment_mismatch: [`${f}needs_network`] })
  })

  it("label_error: passing in one before-run is enough (the test can pass without the fix)", () => {
    const audit = auditLabels({ FAIL_TO_PASS: [`${f}a`], PASS_TO_PASS: [] }, [log({ a: false }), log({ a: true })], [log({ a: true })])
    expect(audit.label_error).toEqual([`${f}a`])
  })

  it("matches as grading does: cut labels by prefix, ambiguous ones reported, progress tokens missing, volatile ids named", () => {
    const before = [log({ "p[baz bar]": false, "q[x y]": true, "q[x z]": true, "t[12-01-2026 15:53:13]": false })]
    const after = [log({ "p[baz bar]": true, "q[x y]": true, "q[x z]": false, "t[12-01-2026 15:53:13]": true })]
    const audit = auditLabels({ FAIL_TO_PASS: [`${f}p[baz`, `${f}t[12-01-2026 15:53:13]`], PASS_TO_PASS: [`${f}q[x`, "[100%]"] }, before, after)
    expect(audit).toEqual({ ...none, label_missing: ["[100%]"], label_ambiguous: [`${f}q[x`], label_volatile: [`${f}t[12-01-2026 15:53:13]`] })
  })

  it("its result is the domain's LabelAudit (a ValidationResult field), and empty labels give an empty audit", () => {
    const audit = auditLabels({ FAIL_TO_PASS: [], PASS_TO_PASS: [] }, [log({ a: true })], [log({ a: true })])
    expect(Schema.decodeUnknownSync(LabelAudit)(audit)).toEqual(none)
    expect(labelAuditCount(audit)).toBe(0)
    expect(describeLabelAudit(audit)).toEqual([])
  })
})
