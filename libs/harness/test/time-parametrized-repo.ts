// A generated Python repository whose test ids embed the wall clock at second resolution, as a real suite's did
// (`test_invalid_datetime_deserialization[12-01-2026 15:53:13]`), with a fix commit, for validating it in a container
// (issue 10, item 1). The runs' timing is forced through the environment of the test command:
//   CLOCK_EPOCH=<seconds>   every run reads this clock (all runs "in the same second");
//   CLOCK_NEXT_SECOND=1     each run first waits for the next second (no two runs share one).
// Expected verdict either way: kept, FAIL_TO_PASS = [test_parse_invalid], PASS_TO_PASS = [test_parse_valid], the clocked
// ids unstable, broken_by_gold empty. Needs python3 and pytest in the environment (the base image's spec installs pytest).
import type { TaskInstance } from "@swe-gym/domain"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

/** What the generator wrote: the work tree, a bare mirror of it, the candidate, and the labels validation must find. */
export interface TimeParametrizedRepo {
  readonly dir: string
  readonly mirror: string
  readonly repo: string
  readonly baseCommit: string
  readonly fixCommit: string
  readonly candidate: TaskInstance
  readonly expected: {
    readonly FAIL_TO_PASS: ReadonlyArray<string>
    readonly PASS_TO_PASS: ReadonlyArray<string>
    /** Tests whose ids embed the clock: every one of their ids must be reported unstable. */
    readonly clockedTests: ReadonlyArray<string>
  }
}

const buggyModule = `import datetime

FORMAT = "%d-%m-%Y %H:%M:%S"


def parse(text):
    """Reads a wall-clock reading written with FORMAT."""
    return datetime.datetime.strptime(text, FORMAT)
`

const fixedModule = `import datetime

FORMAT = "%d-%m-%Y %H:%M:%S"


def parse(text):
    """Reads a wall-clock reading written with FORMAT; None for text that is not one."""
    try:
        return datetime.datetime.strptime(text, FORMAT)
    except ValueError:
        return None
`

const baseTests = `import os
import time

import pytest

import clockfmt


def _now():
    frozen = os.environ.get("CLOCK_EPOCH")
    if frozen:
        return float(frozen)
    if os.environ.get("CLOCK_NEXT_SECOND") == "1":
        time.sleep(1 - (time.time() % 1) + 0.01)
    return time.time()


# The parameter is the moment the module was collected, at second resolution: a new id every second.
NOW = time.strftime(clockfmt.FORMAT, time.localtime(_now()))


@pytest.mark.parametrize("text", [NOW])
def test_roundtrip(text):
    assert clockfmt.parse(text).strftime(clockfmt.FORMAT) == text


def test_parse_valid():
    assert clockfmt.parse("12-01-2026 15:53:13").year == 2026
`

const addedTests = `

@pytest.mark.parametrize("text", [NOW])
def test_invalid_datetime_deserialization(text):
    assert clockfmt.parse(text + " and more") is None


def test_parse_invalid():
    assert clockfmt.parse("not a clock") is None
`

const git = (dir: string, args: ReadonlyArray<string>): string =>
  execFileSync("git", ["-C", dir, ...args], {
    encoding: "utf8",
    env: { ...process.env, GIT_AUTHOR_DATE: "2026-01-12T15:00:00Z", GIT_COMMITTER_DATE: "2026-01-12T15:00:00Z" },
  })

const write = (dir: string, files: Record<string, string>): void => {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
}

/** Writes the repository (base commit, then one commit with the fix and its tests) into a new temp dir. */
export const writeTimeParametrizedRepo = (repo = "swe-gym-tests/clockfmt"): TimeParametrizedRepo => {
  const root = mkdtempSync(join(tmpdir(), "swe-gym-clockfmt-"))
  const dir = join(root, "work")
  mkdirSync(dir)
  git(dir, ["init", "-q", "-b", "main"])
  git(dir, ["config", "user.name", "swe-gym tests"])
  git(dir, ["config", "user.email", "tests@swe-gym.invalid"])
  write(dir, {
    "clockfmt/__init__.py": buggyModule,
    "tests/__init__.py": "",
    "tests/test_clockfmt.py": baseTests,
    "pyproject.toml": '[project]\nname = "clockfmt"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
  })
  git(dir, ["add", "-A"])
  git(dir, ["commit", "-q", "-m", "clockfmt: parse wall-clock readings"])
  const baseCommit = git(dir, ["rev-parse", "HEAD"]).trim()
  write(dir, { "clockfmt/__init__.py": fixedModule, "tests/test_clockfmt.py": baseTests + addedTests })
  git(dir, ["add", "-A"])
  git(dir, ["commit", "-q", "-m", "clockfmt: parse returns None for text that is not a clock reading (fixes #1)"])
  const fixCommit = git(dir, ["rev-parse", "HEAD"]).trim()
  const mirror = join(root, "mirror.git")
  execFileSync("git", ["clone", "-q", "--mirror", dir, mirror])
  const tests = "tests/test_clockfmt.py::"
  return {
    dir,
    mirror,
    repo,
    baseCommit,
    fixCommit,
    candidate: {
      instance_id: `${repo.replace("/", "__")}-1`,
      repo,
      base_commit: baseCommit,
      patch: git(dir, ["diff", baseCommit, fixCommit, "--", "clockfmt"]),
      test_patch: git(dir, ["diff", baseCommit, fixCommit, "--", "tests"]),
      problem_statement: "parse() raises ValueError on text that is not a wall-clock reading; it should return None.",
      hints_text: "",
      created_at: "2026-01-12T15:00:00Z",
      version: "0.1",
      environment_setup_commit: "",
      FAIL_TO_PASS: [],
      PASS_TO_PASS: [],
    },
    expected: {
      FAIL_TO_PASS: [`${tests}test_parse_invalid`],
      PASS_TO_PASS: [`${tests}test_parse_valid`],
      clockedTests: [`${tests}test_roundtrip`, `${tests}test_invalid_datetime_deserialization`],
    },
  }
}
