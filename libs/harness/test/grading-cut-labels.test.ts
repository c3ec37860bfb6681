import { describe, expect, it } from "vitest"
import { gradeLog, statusOf } from "../src/grading.js"
import { matchLabel, indexLog } from "../src/label-matching.js"
import { parsePytestLog } from "../src/log-parsers/index.js"
import { sweBenchRows } from "./fixture-logs.js"
import { pytestLogOf } from "./lite-row-logs.js"

// SWE-bench's pytest parser splits a result line at whitespace, so a parametrized id with a space inside its brackets was
// cut there and frozen into the labels: `…[baz` for the test pytest prints as `…[baz bar]`. Such a label matches the one
// log id that continues it after a space; it is matched only when its brackets are left open, and never guessed.

const moto = "tests/test_s3/test_server.py::test_s3_server_bucket_create"

describe("labels cut at the first space inside brackets", () => {
  it("match the one log id that continues them after a space (getmoto: `[baz` is `[baz bar]`)", () => {
    const log = parsePytestLog(pytestLogOf([
      { id: `${moto}[bar_baz]`, passed: true },
      { id: `${moto}[baz bar]`, passed: true },
      { id: `${moto}[bazooka]`, passed: false },
    ]))
    expect(log.statuses[`${moto}[baz bar]`]).toBe("PASSED")
    expect(statusOf(log, `${moto}[baz`)).toBe("PASSED")
    const g = gradeLog({ FAIL_TO_PASS: [`${moto}[baz`], PASS_TO_PASS: [`${moto}[bar_baz]`], log, exitCode: 1 })
    expect(g.tests_status.FAIL_TO_PASS).toEqual({ success: [`${moto}[baz`], failure: [] })
    expect(g.resolution).toBe("RESOLVED_FULL")
    expect(g.ambiguous).toEqual([])
  })

  it("a failing whole test fails its cut label", () => {
    const log = parsePytestLog(pytestLogOf([{ id: `${moto}[baz bar]`, passed: false }, { id: `${moto}[x]`, passed: true }]))
    expect(statusOf(log, `${moto}[baz`)).toBe("FAILED")
  })

  it("do not match an id that continues them without a space (`[baz` is not `[bazooka]`)", () => {
    const log = parsePytestLog(pytestLogOf([{ id: `${moto}[bazooka]`, passed: true }]))
    expect(statusOf(log, `${moto}[baz`)).toBeUndefined()
    expect(matchLabel(indexLog(log), `${moto}[baz`)._tag).toBe("Missing")
  })

  it("a label whose brackets are closed is never matched by prefix", () => {
    const log = parsePytestLog(pytestLogOf([{ id: `${moto}[baz] x]`, passed: true }, { id: `${moto}_more`, passed: true }]))
    expect(statusOf(log, `${moto}[baz]`)).toBeUndefined()
    expect(statusOf(log, moto)).toBeUndefined()
  })

  describe("pallets__flask-5063: its real parametrization of test_locate_app", () => {
    const file = "tests/test_cli.py::test_locate_app"
    // tests/test_cli.py at the row's base commit: the ids pytest prints for test_locate_app's eight cases.
    const ids = [
      "cliapp.app-None-testapp",
      "cliapp.app-testapp-testapp",
      "cliapp.factory-None-app",
      "cliapp.factory-create_app-app",
      "cliapp.factory-create_app()-app",
      'cliapp.factory-create_app2("foo", "bar")-app2_foo_bar',
      'cliapp.factory-create_app2("foo", "bar", )-app2_foo_bar',
      "cliapp.factory- create_app () -app",
    ].map((p) => `${file}[${p}]`)
    const row = sweBenchRows(["pallets__flask-5063"]).get("pallets__flask-5063")
    const labels = (row?.PASS_TO_PASS ?? []).filter((l) => l.startsWith(`${file}[`))
    const logWith = (failing: ReadonlyArray<string>) => parsePytestLog(pytestLogOf(ids.map((id) => ({ id, passed: !failing.includes(id) }))))

    it("the row holds the two cut labels", () => {
      expect(labels).toContain(`${file}[cliapp.factory-create_app2("foo",`)
      expect(labels).toContain(`${file}[cliapp.factory-`)
      expect(labels).toHaveLength(7)
    })

    it("the gold run passes every label: `[cliapp.factory-` is the one id with a space after that prefix", () => {
      const log = logWith([])
      expect(matchLabel(indexLog(log), `${file}[cliapp.factory-`)).toEqual({ _tag: "Prefix", ids: [`${file}[cliapp.factory- create_app () -app]`] })
      const g = gradeLog({ FAIL_TO_PASS: [], PASS_TO_PASS: labels, log, exitCode: 0 })
      expect(g.tests_status.PASS_TO_PASS).toEqual({ success: labels, failure: [] })
      expect(g.resolution).toBe("RESOLVED_FULL")
    })

    it("`…create_app2(\"foo\",` stands for two tests: it passes when both pass, fails when both fail", () => {
      const label = `${file}[cliapp.factory-create_app2("foo",`
      const two = ids.filter((id) => id.startsWith(`${label} `))
      expect(two).toHaveLength(2)
      expect(matchLabel(indexLog(logWith([])), label)).toEqual({ _tag: "Prefix", ids: two })
      expect(statusOf(logWith([]), label)).toBe("PASSED")
      expect(statusOf(logWith(two), label)).toBe("FAILED")
      expect(gradeLog({ FAIL_TO_PASS: [], PASS_TO_PASS: labels, log: logWith([]), exitCode: 0 }).ambiguous).toEqual([])
    })

    it("when those two tests disagree the label is ambiguous: reported, and not a pass (never guessed)", () => {
      const label = `${file}[cliapp.factory-create_app2("foo",`
      const log = logWith([`${file}[cliapp.factory-create_app2("foo", "bar", )-app2_foo_bar]`])
      expect(statusOf(log, label)).toBeUndefined()
      const g = gradeLog({ FAIL_TO_PASS: [label], PASS_TO_PASS: labels.filter((l) => l !== label), log, exitCode: 1 })
      expect(g.ambiguous).toEqual([label])
      expect(g.tests_status.FAIL_TO_PASS).toEqual({ success: [], failure: [label] })
      expect(g.resolution).toBe("RESOLVED_NO")
    })
  })
})
