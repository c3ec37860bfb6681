import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { PullRequestRecord } from "@swe-gym/domain"
import { mirrorFromBundle, repositoryMirror } from "@swe-gym/git"
import { toCandidate } from "../src/candidate.js"
import {
  gitHistorySource,
  branchTips,
  historyPullOf,
  parseGitCommit,
  repoFromRemoteUrl,
  resolveMirrors,
} from "../src/git-history.js"
import { gitAt, makeGitFixture, makeReleaseFixture, mirrorOf } from "./git-fixture.js"

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "mining-git-"))

const commit = (message: string, parents: ReadonlyArray<string>) =>
  Option.getOrThrow(parseGitCommit([
    "a".repeat(40),
    parents.join(" "),
    "Alice",
    "2024-01-03T09:00:00+00:00",
    "GitHub",
    "2024-01-03T10:00:00+01:00",
    message,
  ].join("\x1f")))

describe("historyPullOf", () => {
  it("reads a GitHub merge commit: PR number, branch, title from the body, base and head from the parents", () => {
    const pull = Option.getOrThrow(historyPullOf(commit("Merge pull request #12 from bob/fix-x\n\nFix x when y\n\nMore words", ["b".repeat(40), "c".repeat(40)])))
    expect(pull).toMatchObject({ number: 12, kind: "merge", branch: "bob/fix-x", title: "Fix x when y", body: "More words", base: "b".repeat(40), head: "c".repeat(40) })
    expect(pull.commit.committerDate).toBe("2024-01-03T09:00:00Z")
  })

  it("reads a squash commit `title (#N)` with one parent", () => {
    const pull = Option.getOrThrow(historyPullOf(commit("Add a thing (#7)\n\n* one\n\n* two", ["b".repeat(40)])))
    expect(pull).toMatchObject({ number: 7, kind: "squash", title: "Add a thing", body: "* one\n\n* two", head: "a".repeat(40) })
  })

  it("ignores other commits: plain merges, `(#N)` mid-subject, a merge subject with one parent", () => {
    expect(Option.isNone(historyPullOf(commit("Merge branch 'dev'", ["b".repeat(40), "c".repeat(40)])))).toBe(true)
    expect(Option.isNone(historyPullOf(commit("See (#3) for why", ["b".repeat(40)])))).toBe(true)
    expect(Option.isNone(historyPullOf(commit("Merge pull request #3 from a/b", ["b".repeat(40)])))).toBe(true)
    expect(Option.isNone(historyPullOf(commit("Initial commit", [])))).toBe(true)
  })

  it("names the repository of a remote URL", () => {
    expect(repoFromRemoteUrl("https://github.com/acme/calc.git")).toEqual(Option.some("acme/calc"))
    expect(repoFromRemoteUrl("git@github.com:acme/calc")).toEqual(Option.some("acme/calc"))
  })
})

describe("gitHistorySource on a real repository", () => {
  const root = tempDir()
  const fixture = makeGitFixture(root)
  const mirrors = path.join(root, "mirrors")
  fs.mkdirSync(mirrors)
  const mirror = mirrorOf(fixture, path.join(mirrors, "acme__calc.git"), "acme/calc")

  const sourceOf = Effect.gen(function*() {
    const found = yield* resolveMirrors(mirrors, { repos: [], cacheDir: path.join(root, "cache") })
    return yield* gitHistorySource({ mirrors: found, label: `git:${mirrors}` })
  })

  it.effect("finds the merge and the squash PRs, newest first, with base, commits, dates and diff", () =>
    Effect.gen(function*() {
      const source = yield* sourceOf
      expect(yield* source.repositories).toEqual(["acme/calc"])
      const records = Chunk.toReadonlyArray(yield* Stream.runCollect(source.pulls("acme/calc")))
      expect(records.map((r) => r.pull.number)).toEqual([3, 2])
      const [squash, merge] = records
      if (squash === undefined || merge === undefined) throw new Error("two records expected")

      expect(merge.pull).toMatchObject({
        title: "Raise CalcError on division by zero",
        state: "closed",
        created_at: "2024-01-02T10:00:00Z",
        updated_at: "2024-01-03T09:00:00Z",
        merged_at: "2024-01-03T09:00:00Z",
        merge_commit_sha: fixture.merge,
        base: { ref: "main", sha: fixture.initial },
        head: { ref: "fix-div", sha: fixture.fixB },
      })
      // The merge message holds only the title: the body falls back to the PR's commit messages.
      expect(merge.pull.body).toBe("Raise CalcError on division by zero\n\nFixes #1\n\nTest division by zero")
      expect(merge.commits.map((c) => c.sha)).toEqual([fixture.fixA, fixture.fixB])
      expect(merge.commits[0]?.commit.author).toEqual({ name: "Alice", date: "2024-01-02T10:00:00Z" })
      // merge-base...head: the README change made on main meanwhile is not part of the PR.
      expect(merge.diff).toContain("diff --git a/calc/ops.py b/calc/ops.py")
      expect(merge.diff).toContain("diff --git a/tests/test_ops.py b/tests/test_ops.py")
      expect(merge.diff).not.toContain("README.md")

      expect(squash.pull).toMatchObject({ title: "Add mod", body: "* Add mod()\n\n* Test mod()\n\nCloses #4", base: { sha: fixture.merge }, head: { sha: fixture.squash } })
      expect(squash.commits.map((c) => c.sha)).toEqual([fixture.squash])
      expect(squash.diff).toContain("tests/test_mod.py")
      expect(squash.diff).not.toContain("VERSION")
      expect(yield* source.issue("acme/calc", 1)).toEqual(Option.none())
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("its records become weak candidates whose patches apply at base_commit", () =>
    Effect.gen(function*() {
      const source = yield* sourceOf
      const records = Chunk.toReadonlyArray(yield* Stream.runCollect(source.pulls("acme/calc")))
      for (const record of records) {
        const candidate = toCandidate(record, [], { source: "git" })
        if (Either.isLeft(candidate)) throw new Error(`#${record.pull.number} rejected: ${candidate.left.detail}`)
        expect(candidate.right.swe_gym).toMatchObject({ source: "git", weak_problem_statement: true })
        const check = path.join(root, `check-${record.pull.number}`)
        gitAt(root, "2024-01-06T00:00:00Z", ["clone", "-q", mirror, check])
        gitAt(check, "2024-01-06T00:00:00Z", ["checkout", "-q", candidate.right.base_commit])
        for (const patch of [candidate.right.test_patch, candidate.right.patch]) {
          execFileSync("git", ["apply", "--index", "-"], { cwd: check, input: patch })
        }
        expect(gitAt(check, "2024-01-06T00:00:00Z", ["write-tree"])).toBe(gitAt(check, "2024-01-06T00:00:00Z", ["rev-parse", `${record.pull.head.sha}^{tree}`]))
      }
      const issuesOf = (n: number) =>
        records.filter((r) => r.pull.number === n).map((r) => Either.getOrThrow(toCandidate(r, [], { source: "git" })).swe_gym?.issue_numbers)
      expect(issuesOf(2)).toEqual([[1]])
      expect(issuesOf(3)).toEqual([[4]])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("`since` drops older PRs; `skip` avoids reading a listed PR's details", () =>
    Effect.gen(function*() {
      const source = yield* sourceOf
      const recent = yield* Stream.runCollect(source.pulls("acme/calc", { since: "2024-01-04T00:00:00Z" }))
      expect(Chunk.toReadonlyArray(recent).map((r) => r.pull.number)).toEqual([3])
      const before = (yield* source.stats).localReads
      const skipped = yield* Stream.runCollect(source.pulls("acme/calc", { skip: () => Effect.succeed(true) }))
      expect(Chunk.size(skipped)).toBe(0)
      // Listing only: the default branch, the branch list and one `git log`.
      expect((yield* source.stats).localReads - before).toBe(3)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a single mirror is named by its origin URL; a mirror cloned from a bundle reads the same", () =>
    Effect.gen(function*() {
      const single = yield* resolveMirrors(mirror, { repos: [], cacheDir: path.join(root, "cache") })
      expect(single).toEqual([{ repo: "acme/calc", dir: mirror }])

      const exportDir = path.join(root, "export")
      fs.mkdirSync(path.join(exportDir, "acme__calc"), { recursive: true })
      gitAt(mirror, "2024-01-06T00:00:00Z", ["bundle", "create", "-q", path.join(exportDir, "acme__calc", "mirror.bundle"), "--all"])
      const fromBundle = yield* resolveMirrors(exportDir, { repos: ["acme/calc"], cacheDir: path.join(root, "cache") })
      const [made] = fromBundle
      expect(made?.repo).toBe("acme/calc")
      expect(path.relative(path.join(root, "cache"), made?.dir ?? "")).toMatch(/^acme__calc-[0-9a-f]{16}\.git$/)
      // A second resolve, and the runner's per-repository lookup, reuse the same clone (named by the bundle's content).
      expect(yield* resolveMirrors(exportDir, { repos: ["acme/calc"], cacheDir: path.join(root, "cache") })).toEqual(fromBundle)
      expect(yield* repositoryMirror(exportDir, "acme/calc", path.join(root, "cache"))).toEqual(Option.some(made?.dir))
      expect(yield* repositoryMirror(mirrors, "acme/calc", path.join(root, "cache"))).toEqual(Option.some(mirror))
      expect(yield* repositoryMirror(exportDir, "acme/other", path.join(root, "cache"))).toEqual(Option.none())
      // Concurrent first uses in a fresh cache agree on one mirror and leave no temporary directory behind.
      const fresh = path.join(root, "cache-concurrent")
      const bundle = path.join(exportDir, "acme__calc", "mirror.bundle")
      const dirs = yield* Effect.all(Array.from({ length: 4 }, () => mirrorFromBundle(bundle, "acme/calc", fresh)), { concurrency: "unbounded" })
      expect(new Set(dirs).size).toBe(1)
      expect(fs.readdirSync(fresh)).toEqual([path.basename(made?.dir ?? "")])
      const source = yield* gitHistorySource({ mirrors: fromBundle })
      const numbers = Chunk.toReadonlyArray(yield* Stream.runCollect(source.pulls("acme/calc"))).map((r) => r.pull.number)
      expect(numbers).toEqual([3, 2])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("bad directories fail naming the flag and what to do; nothing is read", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(resolveMirrors(path.join(root, "nope"), { repos: [], cacheDir: root }))
      expect(missing.message).toContain("--source git:")
      expect(missing.message).toContain("no such directory")
      const empty = path.join(root, "empty")
      fs.mkdirSync(empty)
      expect((yield* Effect.flip(resolveMirrors(empty, { repos: [], cacheDir: root }))).message).toContain("holds no git mirror")
      const unknown = yield* Effect.flip(resolveMirrors(mirrors, { repos: ["acme/other"], cacheDir: root }))
      expect(unknown.message).toContain("has no mirror of acme/other")
      const source = yield* sourceOf
      const notFound = yield* Effect.flip(source.check("acme/other"))
      expect(notFound._tag).toBe("RepositoryNotFound")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("gitHistorySource on maintenance branches", () => {
  const root = tempDir()
  const fixture = makeReleaseFixture(root)
  const mirror = path.join(root, "acme__calc.git")
  gitAt(root, "2024-03-01T00:00:00Z", ["clone", "-q", "--mirror", fixture.work, mirror])
  const listed = (dir: string) =>
    Effect.gen(function*() {
      const source = yield* gitHistorySource({ mirrors: [{ repo: "acme/calc", dir }] })
      return Chunk.toReadonlyArray(yield* Stream.runCollect(source.pulls("acme/calc")))
    })
  // Every PR once, most recently merged first, with the branch it was merged into.
  const expected = [
    [15, "stable/3.2", fixture.pr15],
    [14, "stable/3.2", fixture.pr14],
    [16, "main", fixture.pr16],
    [17, "2.x-line", fixture.pr17],
    [13, "main", fixture.pr13],
    [12, "2.x-line", fixture.pr12],
    [10, "2.x-line", fixture.pr10],
  ]
  const summary = (records: ReadonlyArray<PullRequestRecord>) =>
    records.map((r) => [r.pull.number, r.pull.base.ref, r.pull.merge_commit_sha])

  it.effect("reads every branch of a mirror: PRs merged into release lines, merged forward or not, each once", () =>
    Effect.gen(function*() {
      const records = yield* listed(mirror)
      // #13 was cherry-picked onto 2.x-line with its `(#13)` subject: one PR, its original squash merge on main.
      // `(#11)` is a commit inside PR #10 naming an issue: no PR.
      expect(summary(records)).toEqual(expected)
      const byNumber = new Map(records.map((r) => [r.pull.number, r]))
      const pr10 = byNumber.get(10)
      expect(pr10?.commits.map((c) => c.sha)).toEqual([fixture.issue11Commit])
      expect(pr10?.pull.base.sha).toBe(fixture.initial)
      expect(pr10?.diff).toContain("diff --git a/lib/core.py b/lib/core.py")
      const pr14 = byNumber.get(14)
      expect(pr14?.diff).toContain("lib/d.py")
      expect(pr14?.diff).not.toContain("lib/e.py")
      // The forward-port PR's diff is what 2.x-line brought since main last merged it: #17's file, not #13's again.
      expect(byNumber.get(16)?.diff).toContain("lib/e.py")
      expect(byNumber.get(16)?.diff).not.toContain("lib/c.py")

      const applied: Array<number> = []
      for (const record of records) {
        const candidate = toCandidate(record, [], { source: "git" })
        if (Either.isLeft(candidate)) continue
        applied.push(record.pull.number)
        const check = path.join(root, `check-${record.pull.number}`)
        gitAt(root, "2024-03-01T00:00:00Z", ["clone", "-q", mirror, check])
        gitAt(check, "2024-03-01T00:00:00Z", ["checkout", "-q", candidate.right.base_commit])
        for (const patch of [candidate.right.test_patch, candidate.right.patch]) {
          if (patch !== "") execFileSync("git", ["apply", "--index", "-"], { cwd: check, input: patch })
        }
        expect(gitAt(check, "2024-03-01T00:00:00Z", ["write-tree"])).toBe(gitAt(check, "2024-03-01T00:00:00Z", ["rev-parse", `${record.pull.head.sha}^{tree}`]))
      }
      // #15 edits no test: no candidate.
      expect(applied).toEqual([14, 16, 17, 13, 12, 10])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("reads a clone's remote branches, and a mirror whose HEAD names a missing branch (as a bundle's clone may)", () =>
    Effect.gen(function*() {
      const clone = path.join(root, "clone")
      gitAt(root, "2024-03-01T00:00:00Z", ["clone", "-q", mirror, clone])
      expect(gitAt(clone, "2024-03-01T00:00:00Z", ["branch", "--list"])).toBe("* main")
      expect(summary(yield* listed(clone))).toEqual(expected)

      const headless = path.join(root, "headless.git")
      gitAt(root, "2024-03-01T00:00:00Z", ["clone", "-q", "--mirror", mirror, headless])
      gitAt(headless, "2024-03-01T00:00:00Z", ["symbolic-ref", "HEAD", "refs/heads/master"])
      expect(summary(yield* listed(headless))).toEqual(expected)
    }).pipe(Effect.provide(NodeContext.layer)))

  it("orders branch tips default first (local before remote), then main and master; drops symbolic refs", () => {
    const sha = (c: string) => c.repeat(40)
    const refs = [
      `${sha("a")}\t\trefs/heads/2.x-line`,
      `${sha("b")}\t\trefs/heads/master`,
      `${sha("c")}\t\trefs/remotes/origin/develop`,
      `${sha("d")}\trefs/remotes/origin/develop\trefs/remotes/origin/HEAD`,
      `${sha("e")}\t\trefs/remotes/origin/stable/3.2`,
      `${sha("f")}\t\trefs/heads/develop`,
    ].join("\n")
    expect(branchTips(refs, "develop")).toEqual([
      { name: "develop", sha: sha("f") },
      { name: "develop", sha: sha("c") },
      { name: "master", sha: sha("b") },
      { name: "2.x-line", sha: sha("a") },
      { name: "stable/3.2", sha: sha("e") },
    ])
    expect(branchTips(refs, "gone")[0]).toEqual({ name: "master", sha: sha("b") })
  })
})
