// Which paths of a model patch are test infrastructure: files that configure, extend or are the test runner, or that
// Python runs at start-up. They are not the patch's to change: evaluate puts them back to base before the tests run
// (as it puts back the files the test patch touches), records each, and lists the instance as suspicious.
//
// - `conftest.py` anywhere: pytest loads every one on the way to a test file as a plugin.
// - `pytest.ini`, `.pytest.ini`, `tox.ini` anywhere: pytest takes its configuration (addopts, `-p` plugins) from the
//   first one found upwards from the test files, so a nested one counts too. Reverted whole.
// - `setup.cfg`, `pyproject.toml` anywhere: only their pytest configuration (`[tool:pytest]`/`[pytest]`,
//   `[tool.pytest…]`) is infrastructure, and the rest is often what a fix edits. Cutting a TOML table out of a file and
//   splicing the base one back cannot be done safely (dotted keys and inline tables define it too), so the rule is
//   semantic: the file's pytest configuration is read with the environment's own parsers (configparser, tomllib) at
//   base and after the patch, and when it differs — or either cannot be read — the whole file is reverted.
// - `sitecustomize.py`, `usercustomize.py`, `*.pth`: Python runs them at start-up, before any test.
// - The test files of the instance's test directives (the files the test patch touches).
// - The files the spec's test command runs (`./tests/runtests.py`, `bin/test`) and Django's settings module named by
//   `--settings=` beside that runner.
// - A top-level `pytest`, `_pytest`, `pluggy`, `py` or `unittest` module or package: the repository root comes first on
//   sys.path (`python -m`, PYTHONPATH=/testbed), so it would replace the runner itself.
//
// What this does not stop: code the patch puts in the repository's own modules still runs inside the test process and
// can reach the runner from there (README, "What a resolved result guarantees").

/** Why a path is test infrastructure. */
export type TestInfrastructureRule =
  | "conftest"
  | "pytest_config"
  | "pytest_section"
  | "python_startup"
  | "test_directive"
  | "test_runner"
  | "runner_shadow"

/** A path of a patch that is test infrastructure, with the rule that says so. */
export interface TestInfrastructurePath {
  readonly path: string
  readonly rule: TestInfrastructureRule
  /**
   * Reverted only when its pytest configuration differs from base (`setup.cfg`, `pyproject.toml`); every other rule
   * reverts the path whenever the patch touches it.
   */
  readonly conditional: boolean
}

/** What the rule needs to know of the instance and its environment. */
export interface TestInfrastructureContext {
  /** The files of the instance's test directives (every path the test patch touches). */
  readonly testFiles: ReadonlyArray<string>
  /** Repository files the test command runs (see `runnerFilesOf`). */
  readonly runnerFiles: ReadonlyArray<string>
}

const wholeConfigFiles = new Set(["pytest.ini", ".pytest.ini", "tox.ini"])
const sectionConfigFiles = new Set(["setup.cfg", "pyproject.toml"])
const startupFiles = new Set(["sitecustomize.py", "usercustomize.py"])
const runnerModules = new Set(["pytest", "_pytest", "pluggy", "py", "unittest"])

const normalise = (path: string): string => path.replace(/^\.\//, "")

/** The rule that makes a repository path test infrastructure, if any. */
export const testInfrastructureRule = (path: string, context: TestInfrastructureContext): TestInfrastructureRule | undefined => {
  const p = normalise(path)
  const segments = p.split("/")
  const name = segments[segments.length - 1] ?? ""
  if (context.testFiles.some((f) => normalise(f) === p)) return "test_directive"
  if (context.runnerFiles.some((f) => normalise(f) === p)) return "test_runner"
  if (name === "conftest.py") return "conftest"
  if (wholeConfigFiles.has(name)) return "pytest_config"
  if (sectionConfigFiles.has(name)) return "pytest_section"
  if (startupFiles.has(name) || name.endsWith(".pth")) return "python_startup"
  const top = segments[0] ?? ""
  if (runnerModules.has(segments.length === 1 ? top.replace(/\.py$/, "") : top)) return "runner_shadow"
  return undefined
}

/** The paths of a patch that are test infrastructure, in the patch's order, each once. */
export const testInfrastructureOf = (
  paths: ReadonlyArray<string>,
  context: TestInfrastructureContext,
): ReadonlyArray<TestInfrastructurePath> => {
  const seen = new Set<string>()
  const found: Array<TestInfrastructurePath> = []
  for (const raw of paths) {
    const path = normalise(raw)
    if (seen.has(path)) continue
    seen.add(path)
    const rule = testInfrastructureRule(path, context)
    if (rule !== undefined) found.push({ path, rule, conditional: rule === "pytest_section" })
  }
  return found
}

const repoFileToken = /^(?:\.\/)?[\w.-]+(?:\/[\w.-]+)+$|^\.\/[\w.-]+$/

/**
 * Repository files a test command runs: words that are relative paths (`./tests/runtests.py`, `bin/test`), and the
 * settings module `--settings=NAME` names beside a Python runner script (Django's `tests/test_sqlite.py`).
 */
export const runnerFilesOf = (testCommand: string): ReadonlyArray<string> => {
  const words = testCommand.split(/\s+/)
  const files = words.filter((w) => repoFileToken.test(w) && !w.startsWith("/")).map(normalise)
  const script = files.find((f) => f.endsWith(".py"))
  const settings = words.flatMap((w) => {
    const m = /^--settings=([\w.]+)$/.exec(w)
    return m?.[1] === undefined ? [] : [m[1]]
  })
  const dir = script === undefined ? "" : script.split("/").slice(0, -1).join("/")
  const settingsFiles = settings.map((s) => `${dir === "" ? "" : `${dir}/`}${s.replace(/\./g, "/")}.py`)
  return [...new Set([...files, ...settingsFiles])]
}

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** The marker a revert script prints before the index of each path it put back. */
export const RevertedMarker = "swe-gym-reverted"

// Compares a file's pytest configuration at base and in the work tree with the environment's own parsers; exit 0 =
// the same. `python3 -I` keeps the repository (cwd, PYTHONPATH) off sys.path, so the patch cannot shadow the parsers.
const samePytestConfig = [
  "import configparser, subprocess, sys",
  "base, path = sys.argv[1], sys.argv[2]",
  "def text_at_base():",
  "    r = subprocess.run(['git', 'show', base + ':' + path], capture_output=True)",
  "    return r.stdout.decode('utf-8') if r.returncode == 0 else ''",
  "def text_now():",
  "    try:",
  "        with open(path, encoding='utf-8') as f: return f.read()",
  "    except FileNotFoundError: return ''",
  "def pytest_config(text):",
  "    if path.endswith('.toml'):",
  "        import tomllib",
  "        return repr(tomllib.loads(text).get('tool', {}).get('pytest'))",
  "    cp = configparser.RawConfigParser(strict=False)",
  "    cp.read_string(text)",
  "    return repr([(s, sorted(cp.items(s))) for s in ('tool:pytest', 'pytest') if cp.has_section(s)])",
  "sys.exit(0 if pytest_config(text_at_base()) == pytest_config(text_now()) else 1)",
].join("\n")

/**
 * Shell script (run in the repository) putting test infrastructure back to base: a path present at base is checked
 * out from it, any other removed; a conditional path only when its pytest configuration changed (or cannot be read).
 * Prints `swe-gym-reverted <index>` for each path it put back.
 */
export const revertTestInfrastructureScript = (baseCommit: string, paths: ReadonlyArray<TestInfrastructurePath>): string =>
  [
    "set -e",
    ...paths.map((p, index) => {
      const q = shellQuote(p.path)
      const revert = `if git cat-file -e ${shellQuote(`${baseCommit}:${p.path}`)} 2>/dev/null; then git checkout -q ${shellQuote(baseCommit)} -- ${q}; else rm -rf -- ${q}; fi; echo ${RevertedMarker} ${index}`
      if (!p.conditional) return revert
      return `if python3 -I -c ${shellQuote(samePytestConfig)} ${shellQuote(baseCommit)} ${q} 2>/dev/null; then :; else ${revert}; fi`
    }),
  ].join("\n")

/** The paths a revert script's output says it put back. */
export const revertedPaths = (output: string, paths: ReadonlyArray<TestInfrastructurePath>): ReadonlyArray<TestInfrastructurePath> => {
  const indices = new Set<number>()
  for (const line of output.split("\n")) {
    const m = new RegExp(`^${RevertedMarker} (\\d+)$`).exec(line.trim())
    if (m?.[1] !== undefined) indices.add(Number(m[1]))
  }
  return paths.filter((_, i) => indices.has(i))
}
