import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

// A real git repository with GitHub-shaped history, fixed identities and dates (stable commit ids): a merge-commit PR,
// a squash-merged PR, and commits that are no PR.

const env = (date: string, name = "Alice", email = "alice@example.com", committer = { name, email }) => ({
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  HOME: os.tmpdir(),
  LC_ALL: "C",
  TZ: "UTC",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: name,
  GIT_AUTHOR_EMAIL: email,
  GIT_COMMITTER_NAME: committer.name,
  GIT_COMMITTER_EMAIL: committer.email,
  GIT_AUTHOR_DATE: date,
  GIT_COMMITTER_DATE: date,
})

/** Runs git in `cwd` at a fixed date and returns its trimmed output. */
export const gitAt = (cwd: string, date: string, args: ReadonlyArray<string>): string =>
  execFileSync("git", ["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", ...args], { cwd, env: env(date), encoding: "utf8" }).trim()

const write = (dir: string, file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
  fs.writeFileSync(path.join(dir, file), text)
}

/** The commit ids of the fixture history. */
export interface GitFixture {
  readonly work: string
  readonly initial: string
  readonly fixA: string
  readonly fixB: string
  readonly readme: string
  readonly merge: string
  readonly squash: string
  readonly bump: string
}

/** Builds the fixture repository (a work tree) under `root/work`. */
export const makeGitFixture = (root: string): GitFixture => {
  const work = path.join(root, "work")
  fs.mkdirSync(work, { recursive: true })
  const at = (date: string, args: ReadonlyArray<string>) => gitAt(work, date, args)
  at("2024-01-01T00:00:00Z", ["init", "-q"])
  write(work, "calc/ops.py", "def div(a, b):\n    return a / b\n")
  write(work, "tests/test_ops.py", "from calc.ops import div\n\n\ndef test_div():\n    assert div(4, 2) == 2\n")
  write(work, "README.md", "calc\n")
  at("2024-01-01T00:00:00Z", ["add", "-A"])
  at("2024-01-01T00:00:00Z", ["commit", "-q", "-m", "Initial commit"])
  const initial = at("2024-01-01T00:00:00Z", ["rev-parse", "HEAD"])

  at("2024-01-02T10:00:00Z", ["checkout", "-q", "-b", "fix-div"])
  write(work, "calc/ops.py", "class CalcError(Exception):\n    pass\n\n\ndef div(a, b):\n    if b == 0:\n        raise CalcError('division by zero')\n    return a / b\n")
  at("2024-01-02T10:00:00Z", ["commit", "-q", "-am", "Raise CalcError on division by zero\n\nFixes #1"])
  const fixA = at("2024-01-02T10:00:00Z", ["rev-parse", "HEAD"])
  write(work, "tests/test_ops.py", "import pytest\nfrom calc.ops import CalcError, div\n\n\ndef test_div():\n    assert div(4, 2) == 2\n\n\ndef test_div_zero():\n    with pytest.raises(CalcError):\n        div(1, 0)\n")
  at("2024-01-02T12:00:00Z", ["commit", "-q", "-am", "Test division by zero"])
  const fixB = at("2024-01-02T12:00:00Z", ["rev-parse", "HEAD"])

  at("2024-01-02T15:00:00Z", ["checkout", "-q", "main"])
  write(work, "README.md", "calc: a calculator\n")
  at("2024-01-02T15:00:00Z", ["commit", "-q", "-am", "Describe the project"])
  const readme = at("2024-01-02T15:00:00Z", ["rev-parse", "HEAD"])
  at("2024-01-03T09:00:00Z", ["merge", "-q", "--no-ff", "fix-div", "-m", "Merge pull request #2 from alice/fix-div\n\nRaise CalcError on division by zero"])
  const merge = at("2024-01-03T09:00:00Z", ["rev-parse", "HEAD"])

  write(work, "calc/ops.py", "class CalcError(Exception):\n    pass\n\n\ndef div(a, b):\n    if b == 0:\n        raise CalcError('division by zero')\n    return a / b\n\n\ndef mod(a, b):\n    return a % b\n")
  write(work, "tests/test_mod.py", "from calc.ops import mod\n\n\ndef test_mod():\n    assert mod(5, 3) == 2\n")
  at("2024-01-04T09:00:00Z", ["add", "-A"])
  at("2024-01-04T09:00:00Z", ["commit", "-q", "-m", "Add mod (#3)\n\n* Add mod()\n\n* Test mod()\n\nCloses #4"])
  const squash = at("2024-01-04T09:00:00Z", ["rev-parse", "HEAD"])

  write(work, "VERSION", "1.0\n")
  at("2024-01-05T09:00:00Z", ["add", "-A"])
  at("2024-01-05T09:00:00Z", ["commit", "-q", "-m", "Release 1.0"])
  const bump = at("2024-01-05T09:00:00Z", ["rev-parse", "HEAD"])
  return { work, initial, fixA, fixB, readme, merge, squash, bump }
}

/** A bare mirror of the fixture at `target`, with `origin` pointing at a GitHub URL of `repo`. */
export const mirrorOf = (fixture: GitFixture, target: string, repo: string): string => {
  gitAt(path.dirname(target), "2024-01-06T00:00:00Z", ["clone", "-q", "--mirror", fixture.work, target])
  gitAt(target, "2024-01-06T00:00:00Z", ["remote", "set-url", "origin", `https://github.com/${repo}.git`])
  return target
}

/** Runs git in `cwd` at a fixed date as `author`, committed by `committer` (GitHub, for a merge made on github.com). */
const gitBy = (cwd: string, date: string, author: string, committer: string, args: ReadonlyArray<string>): string =>
  execFileSync("git", ["-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", ...args], {
    cwd,
    env: env(date, author, `${author.toLowerCase()}@example.com`, { name: committer, email: committer === "GitHub" ? "noreply@github.com" : `${committer.toLowerCase()}@example.com` }),
    encoding: "utf8",
  }).trim()

/** The commit ids of the release-branch fixture, by PR number (the commit that merged it). */
export interface ReleaseFixture {
  readonly work: string
  readonly initial: string
  /** #10: merge commit into `2.x-line`; its branch holds a commit whose subject ends in `(#11)` (an issue, not a PR). */
  readonly pr10: string
  readonly issue11Commit: string
  /** #12: squash merge into `2.x-line`. */
  readonly pr12: string
  /** #13: squash merge into `main` (by GitHub), then cherry-picked onto `2.x-line` (`pr13Backport`) before it merged forward. */
  readonly pr13: string
  readonly pr13Backport: string
  /** #16: a PR that merges `2.x-line` forward into `main`; #17: a squash merge into `2.x-line` by GitHub before it. */
  readonly pr16: string
  readonly pr17: string
  /** #14: merge commit into `stable/3.2` (never merged back); #15: squash merge into `stable/3.2`. */
  readonly pr14: string
  readonly pr15: string
}

/**
 * A repository with maintenance branches (a work tree under `root/release-work`): PRs merged into `2.x-line`, a backport
 * cherry-picked onto it with its `(#N)` subject, the line merged into `main` by a plain merge and later by a forward-port
 * PR, and `stable/3.2`, a release line never merged back. The PRs' own branches are deleted, as GitHub does.
 */
export const makeReleaseFixture = (root: string): ReleaseFixture => {
  const work = path.join(root, "release-work")
  fs.mkdirSync(work, { recursive: true })
  const at = (date: string, args: ReadonlyArray<string>, author = "Alice", committer = author) => gitBy(work, date, author, committer, args)
  const head = () => at("2024-03-01T00:00:00Z", ["rev-parse", "HEAD"])
  const change = (date: string, files: Record<string, string>, message: string, author = "Alice", committer = author) => {
    for (const [file, text] of Object.entries(files)) write(work, file, text)
    at(date, ["add", "-A"])
    at(date, ["commit", "-q", "-m", message], author, committer)
    return head()
  }
  at("2024-02-01T00:00:00Z", ["init", "-q"])
  const initial = change("2024-02-01T00:00:00Z", {
    "lib/core.py": "def a():\n    return 1\n",
    "tests/test_core.py": "from lib.core import a\n\n\ndef test_a():\n    assert a() == 1\n",
  }, "Initial commit")

  at("2024-02-02T00:00:00Z", ["branch", "2.x-line"])
  at("2024-02-02T00:00:00Z", ["checkout", "-q", "-b", "fix-a", "2.x-line"])
  const issue11Commit = change("2024-02-02T10:00:00Z", {
    "lib/core.py": "def a():\n    return 2\n",
    "tests/test_core.py": "from lib.core import a\n\n\ndef test_a():\n    assert a() == 2\n",
  }, "Fix a for the 2.x line (#11)", "Bob")
  at("2024-02-03T09:00:00Z", ["checkout", "-q", "2.x-line"])
  at("2024-02-03T09:00:00Z", ["merge", "-q", "--no-ff", "fix-a", "-m", "Merge pull request #10 from bob/fix-a\n\nFix a on the 2.x line"], "Alice", "GitHub")
  const pr10 = head()
  const pr12 = change("2024-02-04T09:00:00Z", {
    "lib/guard.py": "def b(x):\n    return x or 0\n",
    "tests/test_guard.py": "from lib.guard import b\n\n\ndef test_b():\n    assert b(None) == 0\n",
  }, "Guard b (#12)\n\nb(None) returned None")

  at("2024-02-04T12:00:00Z", ["checkout", "-q", "main"])
  const pr13 = change("2024-02-04T12:00:00Z", {
    "lib/c.py": "def c():\n    return 3\n",
    "tests/test_c.py": "from lib.c import c\n\n\ndef test_c():\n    assert c() == 3\n",
  }, "Add c (#13)\n\n* Add c()", "Carol", "GitHub")
  at("2024-02-04T15:00:00Z", ["checkout", "-q", "2.x-line"])
  at("2024-02-04T15:00:00Z", ["cherry-pick", "-x", pr13])
  const pr13Backport = head()
  at("2024-02-05T09:00:00Z", ["checkout", "-q", "main"])
  at("2024-02-05T09:00:00Z", ["merge", "-q", "--no-ff", "2.x-line", "-m", "Merge branch '2.x-line'"])

  at("2024-02-07T09:00:00Z", ["checkout", "-q", "2.x-line"])
  const pr17 = change("2024-02-07T09:00:00Z", {
    "lib/e.py": "def e():\n    return 5\n",
    "tests/test_e.py": "from lib.e import e\n\n\ndef test_e():\n    assert e() == 5\n",
  }, "Fix e (#17)\n\nAdd e()", "Dave", "GitHub")
  at("2024-02-08T09:00:00Z", ["checkout", "-q", "main"])
  at("2024-02-08T09:00:00Z", ["merge", "-q", "--no-ff", "2.x-line", "-m", "Merge pull request #16 from acme/2.x-line\n\nForward-port 2.x-line"], "Alice", "GitHub")
  const pr16 = head()

  at("2024-02-09T09:00:00Z", ["checkout", "-q", "-b", "stable/3.2"])
  at("2024-02-09T09:00:00Z", ["checkout", "-q", "-b", "fix-d"])
  change("2024-02-09T10:00:00Z", {
    "lib/d.py": "def d():\n    return 4\n",
    "tests/test_d.py": "from lib.d import d\n\n\ndef test_d():\n    assert d() == 4\n",
  }, "Add d", "Carol")
  at("2024-02-10T09:00:00Z", ["checkout", "-q", "stable/3.2"])
  at("2024-02-10T09:00:00Z", ["merge", "-q", "--no-ff", "fix-d", "-m", "Merge pull request #14 from carol/fix-d\n\nAdd d to 3.2"], "Alice", "GitHub")
  const pr14 = head()
  const pr15 = change("2024-02-11T09:00:00Z", { "lib/d.py": "def d():\n    return 4  # stable\n" }, "Fix f (#15)")
  at("2024-02-11T09:00:00Z", ["checkout", "-q", "main"])
  at("2024-02-11T09:00:00Z", ["branch", "-q", "-D", "fix-a", "fix-d"])
  return { work, initial, pr10, issue11Commit, pr12, pr13, pr13Backport, pr16, pr17, pr14, pr15 }
}
