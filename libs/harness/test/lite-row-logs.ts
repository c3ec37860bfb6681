// Builds test logs for SWE-bench rows: the output the row's own test runner prints on Python 3.11 when exactly the given
// labels run, some of them failing (tests only). Each builder copies a real run's shape (fixtures/logs/): Django's
// `runtests.py --verbosity 2`, sympy's `bin/test -C --verbose`, `pytest -rA`.
import { readFileSync } from "node:fs"
import { type LogParserName, type TaskInstance, TaskInstanceHf } from "@swe-gym/domain"
import { Schema } from "effect"

const unittestId = /^(\w+) \(([\w.]+)\)$/

/** `test_x (mod.Class.test_x)` → `test_x (mod.Class)`; any other label unchanged. */
export const oldStyle = (label: string): string => {
  const m = unittestId.exec(label)
  if (m === null) return label
  const [, name = "", owner = ""] = m
  return owner.endsWith(`.${name}`) ? `${name} (${owner.slice(0, -(name.length + 1))})` : label
}

/** `test_x (mod.Class)` → `test_x (mod.Class.test_x)`; any other label unchanged. */
export const newStyle = (label: string): string => {
  const m = unittestId.exec(label)
  if (m === null) return label
  const [, name = "", owner = ""] = m
  return owner.endsWith(`.${name}`) ? label : `${name} (${owner}.${name})`
}

/** Brackets a label leaves open (a pytest id SWE-bench's parser cut at the first space inside its parameters). */
export const openBrackets = (label: string): number => {
  let depth = 0
  for (const c of label) {
    if (c === "[") depth++
    else if (c === "]" && depth > 0) depth--
  }
  return depth
}

/**
 * The whole id pytest printed for a label: a label cut at the first space gets back a rest after that space and its
 * closing brackets (the real rest is unknown; any text after the space is what the runner could have printed).
 */
export const wholePytestId = (label: string): string => {
  const open = openBrackets(label)
  return open === 0 ? label : `${label} (rest of the parameter)${"]".repeat(open)}`
}

const lines = (text: string): Array<string> => text.replace(/\r\n?/g, "\n").split("\n")

/**
 * A Django log in the shape of a real Python 3.11 run (`template`: its preamble and closing lines are kept): every label
 * runs once, spelled `test_x (mod.Class.test_x)`; a docstring label becomes a test of its own whose docstring is the label.
 */
export const djangoLogFromTemplate = (template: string, labels: ReadonlyArray<string>, failing: ReadonlySet<string>): string => {
  const all = lines(template)
  const firstTest = all.findIndex((l) => /^\w+ \([\w.]+\)/.test(l))
  const ran = all.findIndex((l) => /^Ran \d+ tests? in /.test(l))
  const preamble = all.slice(0, firstTest)
  const closing = all.slice(ran + 3).filter((l) => l !== "")
  const progress: Array<string> = []
  const details: Array<string> = []
  labels.forEach((label, k) => {
    const m = unittestId.exec(label)
    const verdict = failing.has(label) ? "FAIL" : "ok"
    let id: string
    if (m === null) {
      const name = `test_docstring_${k}`
      id = `${name} (generated.tests.DocstringTests.${name})`
      progress.push(id, `${label} ... ${verdict}`)
    } else {
      id = newStyle(label)
      progress.push(`${id} ... ${verdict}`)
    }
    if (failing.has(label)) {
      details.push("=".repeat(70), `FAIL: ${id}`, ...(m === null ? [label] : []), "-".repeat(70), "Traceback (most recent call last):",
        '  File "/testbed/tests/generated/tests.py", line 10, in test', "    self.assertEqual(1, 2)", "AssertionError: 1 != 2", "")
    }
  })
  const verdict = failing.size === 0 ? "OK" : `FAILED (failures=${failing.size})`
  return [...preamble, ...progress, "", ...details, "-".repeat(70), `Ran ${labels.length} tests in 0.512s`, "", verdict, ...closing, ""].join("\n")
}

const banner = (title: string): string => {
  const width = 80 - title.length - 2
  return `${"=".repeat(Math.floor(width / 2))} ${title} ${"=".repeat(Math.ceil(width / 2))}`
}

/** A `pytest -rA` log (pytest 7.2.1, Python 3.11.2) of whole test ids, each passing or failing; `brokenFiles` failed to import. */
export const pytestLogOf = (results: ReadonlyArray<{ readonly id: string; readonly passed: boolean }>, brokenFiles: ReadonlyArray<string> = []): string => {
  const files = new Map<string, string>()
  for (const { id, passed } of results) {
    const file = id.split("::")[0] ?? id
    files.set(file, (files.get(file) ?? "") + (passed ? "." : "F"))
  }
  const failures = results.filter((r) => !r.passed)
  const passed = results.length - failures.length
  const section = (id: string) => [`${"_".repeat(10)} ${id.split("::").slice(1).join(".")} ${"_".repeat(10)}`, "", "    def test():", ">       assert False", "E       assert False", ""]
  return [
    banner("test session starts"),
    "platform linux -- Python 3.11.2, pytest-7.2.1, pluggy-1.0.0+repack",
    "rootdir: /testbed",
    `collected ${results.length} items`,
    "",
    ...[...files].map(([file, dots]) => `${file} ${dots}`),
    "",
    ...(brokenFiles.length === 0 ? [] : [banner("ERRORS"), ...brokenFiles.flatMap((f) => [`${"_".repeat(10)} ERROR collecting ${f} ${"_".repeat(10)}`, "E   ImportError: cannot import name 'parse_clock'", ""])]),
    ...(failures.length === 0 ? [] : [banner("FAILURES"), ...failures.flatMap(({ id }) => section(id))]),
    banner("PASSES"),
    banner("short test summary info"),
    ...results.map(({ id, passed }) => (passed ? `PASSED ${id}` : `FAILED ${id} - assert False`)),
    ...brokenFiles.map((f) => `ERROR ${f} - ImportError: cannot import name 'parse_clock'`),
    banner([failures.length === 0 ? "" : `${failures.length} failed`, `${passed} passed`, brokenFiles.length === 0 ? "" : `${brokenFiles.length} error${brokenFiles.length === 1 ? "" : "s"}`].filter((p) => p !== "").join(", ") + " in 1.23s"),
    "",
  ].join("\n")
}

/** A `pytest -rA` log in which each label's test runs once (a cut label's test printed with its whole id). */
export const pytestLog = (labels: ReadonlyArray<string>, failing: ReadonlySet<string>): string =>
  pytestLogOf(labels.map((label) => ({ id: wholePytestId(label), passed: !failing.has(label) })))

/** A log of sympy's runner (`bin/test -C --verbose`, Python 3.11) in which each label's test runs once. */
export const sympyLog = (labels: ReadonlyArray<string>, failing: ReadonlySet<string>): string => {
  const file = "sympy/generated/tests/test_row.py"
  const failed = labels.filter((l) => failing.has(l))
  const body = labels.map((l) => `${l} ${failing.has(l) ? "F" : "ok"}`)
  const last = body.length - 1
  if (last >= 0) body[last] = `${body[last]}${" ".repeat(20)}[${failed.length === 0 ? "OK" : "FAIL"}]`
  const passed = labels.length - failed.length
  return [
    banner("test process starts"),
    "executable:         /usr/bin/python3  (3.11.2-final-0) [CPython]",
    "architecture:       64-bit",
    "cache:              no",
    "ground types:       python ",
    "numpy:              None",
    "random seed:        28554308",
    "hash randomization: on (PYTHONHASHSEED=1463152077)",
    "",
    `${file}[${labels.length}] `,
    ...body,
    "",
    ...failed.flatMap((l) => ["_".repeat(80), `${"_".repeat(8)} ${file}:${l} ${"_".repeat(8)}`, "Traceback (most recent call last):", "AssertionError", ""]),
    banner(`tests finished: ${passed} passed${failed.length === 0 ? "" : `, ${failed.length} failed`}, in 0.93 seconds`),
    ...(failed.length === 0 ? [] : ["DO *NOT* COMMIT!"]),
    "",
  ].join("\n")
}

/** The parser SWE-bench uses for a row's repository. */
export const parserOf = (row: TaskInstance): LogParserName =>
  row.repo === "django/django" ? "django" : row.repo === "sympy/sympy" ? "sympy" : "pytest"

/** Labels that name no test (SWE-bench's pytest parser froze progress tokens such as `[100%]` into some rows). */
export const isProgressToken = (label: string): boolean => label.startsWith("[")

/**
 * The log a row's runner prints on Python 3.11 when exactly its labelled tests run, `failing` among them failing.
 * A progress token is not a test, so no runner prints it as one: it is left out of a pytest log.
 */
export const logForRow = (row: TaskInstance, djangoTemplate: string, failing: ReadonlySet<string>): string => {
  const parser = parserOf(row)
  const labels = [...row.FAIL_TO_PASS, ...row.PASS_TO_PASS].filter((l) => parser !== "pytest" || !isProgressToken(l))
  return parser === "django" ? djangoLogFromTemplate(djangoTemplate, labels, failing) : parser === "sympy" ? sympyLog(labels, failing) : pytestLog(labels, failing)
}

const decodeRow = Schema.decodeUnknownSync(Schema.parseJson(TaskInstanceHf))

/** Every row of a SWE-bench JSONL file (path relative to this folder), decoded with the domain schema. */
export const readRows = (relative: string): ReadonlyArray<TaskInstance> =>
  readFileSync(new URL(relative, import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => decodeRow(line))
