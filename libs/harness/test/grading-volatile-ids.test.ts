import { describe, expect, it } from "vitest"
import { deriveLabels, type DerivedLabels } from "../src/grading.js"
import { parsePytestLog, type ParsedLog } from "../src/log-parsers/index.js"
import { isVolatileId, replacedSiblings, volatileValueIn } from "../src/volatile-ids.js"
import { readFixture } from "./fixture-logs.js"
import { pytestLogOf, readRows } from "./lite-row-logs.js"

// A real test suite parametrized an id by the wall clock at second resolution
// (`test_invalid_datetime_deserialization[12-01-2026 15:53:13]`): runs in one second share the id, runs in different
// seconds do not. Validated twice, the same candidate was once kept with such an id in FAIL_TO_PASS and once rejected as
// `gold_breaks_tests`. Such ids must be unstable in both situations, and the labels must not depend on the timing.

const file = "tests/test_serializers.py"
const clocked = (test: string, clock: string) => `${file}::${test}[${clock}]`

/** One run of the suite with its clock reading `clock`: before the fix (`fixed` false) or after. */
const run = (clock: string, fixed: boolean, extra: ReadonlyArray<{ readonly id: string; readonly passed: boolean }> = []): ParsedLog =>
  parsePytestLog(pytestLogOf([
    { id: clocked("test_invalid_datetime_deserialization", clock), passed: fixed },
    { id: clocked("test_roundtrip", clock), passed: true },
    { id: `${file}::test_parse_invalid`, passed: fixed },
    { id: `${file}::test_parse_valid`, passed: true },
    ...extra,
  ]))

const labelled = (labels: DerivedLabels) => [...labels.FAIL_TO_PASS, ...labels.PASS_TO_PASS, ...labels.broken_by_gold]

describe("ids of the moment (deriveLabels)", () => {
  const sameSecond = deriveLabels(
    [run("12-01-2026 15:53:13", false), run("12-01-2026 15:53:13", false)],
    [run("12-01-2026 15:53:13", true), run("12-01-2026 15:53:13", true)],
  )
  // Before runs in one second, after runs in later ones (the gold patch took a few seconds to apply).
  const differentSeconds = deriveLabels(
    [run("12-01-2026 15:53:13", false), run("12-01-2026 15:53:13", false)],
    [run("12-01-2026 15:53:20", true), run("12-01-2026 15:53:21", true)],
  )

  it("runs in one second: the wall-clock ids (identical in every run) are unstable, never FAIL_TO_PASS or PASS_TO_PASS", () => {
    expect(sameSecond).toEqual({
      FAIL_TO_PASS: [`${file}::test_parse_invalid`],
      PASS_TO_PASS: [`${file}::test_parse_valid`],
      flaky: [],
      unstable: [clocked("test_invalid_datetime_deserialization", "12-01-2026 15:53:13"), clocked("test_roundtrip", "12-01-2026 15:53:13")],
      broken_by_gold: [],
    })
  })

  it("runs in different seconds: the ids are unstable, none is broken by the gold patch", () => {
    expect(differentSeconds.broken_by_gold).toEqual([])
    expect(differentSeconds.unstable).toHaveLength(6)
    expect(differentSeconds.unstable.every((id) => id.includes("[12-01-2026 15:53:"))).toBe(true)
  })

  it("gives the same labels whatever the timing, with no wall-clock id among them", () => {
    const { unstable: _a, ...same } = sameSecond
    const { unstable: _b, ...different } = differentSeconds
    expect(different).toEqual(same)
    for (const labels of [sameSecond, differentSeconds]) expect(labelled(labels).filter((id) => id.includes("15:53"))).toEqual([])
  })

  it("a value with no telling shape (a random token): a test whose ids were replaced between before and after is unstable", () => {
    const token = (t: string) => `${file}::test_token[run-${t}]`
    const before = [run("x", false, [{ id: token("4821"), passed: true }]), run("x", false, [{ id: token("4821"), passed: true }])]
    const after = [run("x", true, [{ id: token("9917"), passed: true }]), run("x", true, [{ id: token("9917"), passed: true }])]
    const labels = deriveLabels(before, after)
    expect(labels.unstable).toContain(token("4821"))
    expect(labels.unstable).toContain(token("9917"))
    expect(labels.broken_by_gold).toEqual([])
    expect(labels.FAIL_TO_PASS).toEqual([`${file}::test_invalid_datetime_deserialization[x]`, `${file}::test_parse_invalid`])
  })

  it("keeps a new test module that failed to import before and passes after as FAIL_TO_PASS", () => {
    const added = ["tests/test_clock.py::test_parse_clock[1]", "tests/test_clock.py::test_parse_clock[2]", "tests/test_clock.py::test_format"]
    const before = parsePytestLog(pytestLogOf([{ id: `${file}::test_parse_valid`, passed: true }], ["tests/test_clock.py"]))
    expect(before.collectionErrors).toEqual(["tests/test_clock.py"])
    const after = parsePytestLog(pytestLogOf([{ id: `${file}::test_parse_valid`, passed: true }, ...added.map((id) => ({ id, passed: true }))]))
    const labels = deriveLabels([before, before], [after, after])
    expect([...labels.FAIL_TO_PASS].sort()).toEqual([...added].sort())
    expect(labels.unstable).toEqual([])
  })

  it("keeps a parameter case the gold patch adds (FAIL_TO_PASS) and one it removes (broken_by_gold)", () => {
    const fmt = (p: string) => `${file}::test_fmt[${p}]`
    const ok = (ps: ReadonlyArray<string>) => parsePytestLog(pytestLogOf(ps.map((p) => ({ id: fmt(p), passed: true }))))
    const adds = deriveLabels([ok(["a", "b"])], [ok(["a", "b", "c"])])
    expect(adds).toMatchObject({ FAIL_TO_PASS: [fmt("c")], PASS_TO_PASS: [fmt("a"), fmt("b")], unstable: [] })
    const removes = deriveLabels([ok(["a", "b", "c"])], [ok(["a", "b"])])
    expect(removes).toMatchObject({ broken_by_gold: [fmt("c")], PASS_TO_PASS: [fmt("a"), fmt("b")], unstable: [] })
  })
})

describe("real runs of the generated clockfmt repository (fixtures/golden/clockfmt, time-parametrized-repo.ts)", () => {
  const runs = (timing: "same" | "diff", phase: "before" | "after") =>
    [1, 2].map((i) => parsePytestLog(readFixture(`golden/clockfmt/${timing}.${phase}.${i}.log`)))
  const tests = "tests/test_clockfmt.py::"

  for (const timing of ["same", "diff"] as const) {
    it(`runs ${timing === "same" ? "forced into one second" : "each in its own second"}: the clocked ids are unstable, the labels the generator expects`, () => {
      const labels = deriveLabels(runs(timing, "before"), runs(timing, "after"))
      expect(labels.FAIL_TO_PASS).toEqual([`${tests}test_parse_invalid`])
      expect(labels.PASS_TO_PASS).toEqual([`${tests}test_parse_valid`])
      expect(labels.broken_by_gold).toEqual([])
      expect(labels.flaky).toEqual([])
      const clocked = [...new Set([...runs(timing, "before"), ...runs(timing, "after")].flatMap((r) => Object.keys(r.statuses)))].filter((id) => id.includes("["))
      expect(clocked.length).toBe(timing === "same" ? 2 : 8)
      expect([...labels.unstable].sort()).toEqual(clocked.sort())
    })
  }
})

describe("the shape of a volatile value (volatileValueIn)", () => {
  it("flags none of the 26,980 labels of SWE-bench Lite's test and dev splits", () => {
    const rows = [...readRows("../../../data/reference/swe-bench-lite.jsonl"), ...readRows("../../../data/sample/swe-bench-lite-dev.jsonl")]
    const labels = rows.flatMap((r) => [...r.FAIL_TO_PASS, ...r.PASS_TO_PASS])
    expect(labels).toHaveLength(26980)
    expect(labels.filter(isVolatileId)).toEqual([])
  })

  const volatile: ReadonlyArray<readonly [string, string]> = [
    ["t.py::test_x[12-01-2026 15:53:13]", "wall-clock timestamp"],
    ["t.py::test_x[2026-01-12T15:53:13.123456+00:00]", "wall-clock timestamp"],
    ["t.py::test_x[2026/01/12 15:53:13]", "wall-clock timestamp"],
    ["t.py::test_x[Mon Jan 12 15:53:13 2026]", "wall-clock timestamp"],
    ["t.py::test_x[1768233193]", "epoch time"],
    ["t.py::test_x[1768233193.4521]", "epoch time"],
    ["t.py::test_x[1768233193452]", "epoch time"],
    ["t.py::test_x[obj-<Foo object at 0x7f3a2b1c4d50>]", "memory address"],
    ["t.py::test_x[3f2c1e9a-7b4d-4c1e-9f0a-2b3c4d5e6f70]", "uuid"],
    ["t.py::test_x[/tmp/pytest-of-root/pytest-3/test_x0]", "temporary path"],
    ["t.py::test_x[tmpk3j_x9zq]", "temporary path"],
    ["t.py::test_x[/tmp/tmpabcdefgh/data.txt]", "temporary path"],
    ["t.py::test_x[/var/folders/x1/abc/T/data.txt]", "temporary path"],
  ]
  for (const [id, kind] of volatile) it(`${id} embeds a ${kind}`, () => expect(volatileValueIn(id)).toBe(kind))

  const stable = [
    "t.py::test_x[2026-01-12]",
    "t.py::test_x[15:53]",
    "t.py::test_x[0x1F]",
    "t.py::test_x[0xdeadbeef]",
    "t.py::test_x[12345]",
    "t.py::test_x[1.2.3]",
    "t.py::test_x[tmpdir_path]",
    // pytest-dev__pytest-11143's PASS_TO_PASS: fixed paths under /tmp are literals.
    "testing/test_assertrewrite.py::TestPyCacheDir::test_get_cache_dir[/tmp/pycs-/home/projects/src/foo.py-/tmp/pycs/home/projects/src]",
    "testing/test_assertrewrite.py::TestPyCacheDir::test_get_cache_dir[c:/tmp/pycs-d:/projects/src/foo.py-c:/tmp/pycs/projects/src]",
    "t.py::test_x[12345678-1234-5678-1234-567812345678]",
    "tests/tmp/test_2026-01-12T15:53:13.py::test_x",
    "/tmp/repo/tests/test_x.py::test_y[a]",
    "test_x (module.Class)",
    "test_issue_1768233193",
  ]
  for (const id of stable) it(`${id} embeds none`, () => expect(isVolatileId(id)).toBe(false))

  it("replacedSiblings: ids replaced on both sides only", () => {
    expect([...replacedSiblings(new Set(["t::a[1]", "t::a[2]", "t::b[x]"]), new Set(["t::a[1]", "t::a[3]", "t::b[x]", "t::b[y]"]))].sort()).toEqual(["t::a[2]", "t::a[3]"])
  })
})
