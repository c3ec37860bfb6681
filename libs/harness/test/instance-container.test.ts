// Guarantee 1 of issue 6: a prepared instance container holds nothing newer than base_commit. The mirror here holds the
// fix (the PR's merge commit and head), later commits, a branch, a lightweight and an annotated tag on later commits:
// inside the prepared container no git command reaches any of them.
import { describe, expect, it } from "@effect/vitest"
import { type Container, Sandbox } from "@swe-gym/sandbox"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { cpSync } from "node:fs"
import { join } from "node:path"
import { ensureEnvironmentImage } from "../src/environment-image.js"
import { BaseCommitMissing, checkHistory, HistoryLeak, InstanceBranch, prepareInstance } from "../src/instance-container.js"
import { dockerLayer, expectedPull, gitOut, mirrorPath, newestCommit, tempDir, testSpec } from "./harness-fixtures.js"

// Its own environment (another tag than the other tests' images): built from the mirror with the extra refs below.
const spec = testSpec({ repo: "sample/calc", env: { SWE_GYM_TEST: "history-purge" } })

const pull = expectedPull("sample__calc-2")
const fixCommit = pull.merge_commit_sha ?? ""

/** A copy of the calc mirror with later refs added: a branch and two tags on the fix and the newest commit. */
const mirrorWithLaterRefs = (): string => {
  const dir = join(tempDir("swe-gym-history-"), "calc.git")
  cpSync(mirrorPath("sample/calc"), dir, { recursive: true })
  const git = (...args: Array<string>) =>
    execFileSync("git", ["--git-dir", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { encoding: "utf8" })
  git("tag", "v9.0-future", fixCommit)
  git("tag", "-a", "-m", "annotated future tag", "v9.1-future", "refs/heads/main")
  git("branch", "future-branch", pull.head_sha)
  // An annotated tag on the base commit itself: its ref must not survive, nor its object.
  git("tag", "-a", "-m", "annotated tag on the base commit", "v0.1-base", pull.base_commit)
  return dir
}

const exec = (container: Container, cmd: string) => container.exec(cmd, { timeout: "60 seconds" })

describe("prepareInstance: no future history", () => {
  it.live.each(["base-only", "full"] as const)("%s: removes every later commit, ref, tag, reflog entry and object, and its check passes", (history) =>
    Effect.gen(function* () {
      const mirror = mirrorWithLaterRefs()
      const newest = newestCommit(mirror)
      const later = gitOut(mirror, ["rev-list", "--all", `^${pull.base_commit}`]).trim().split("\n")
      expect(later).toContain(fixCommit)
      expect(later).toContain(pull.head_sha)
      // The environment is built at the newest commit, so its /testbed starts out holding the fix and everything after.
      const image = yield* ensureEnvironmentImage({ repo: "sample/calc", version: "history", setupCommit: newest, spec, mirror }, { logDir: tempDir("swe-gym-logs-") })

      yield* Effect.scoped(Effect.gen(function* () {
        const { container } = yield* prepareInstance({ instance_id: pull.instance_id, base_commit: pull.base_commit }, image, { history })
        const run = (cmd: string) => exec(container, cmd)
        expect((yield* run("git rev-parse HEAD")).stdout.trim()).toBe(pull.base_commit)
        expect((yield* run("git symbolic-ref HEAD")).stdout.trim()).toBe(`refs/heads/${InstanceBranch}`)
        const all = (yield* run("git log --all --reflog --format=%H")).stdout.trim().split("\n")
        // full: every ancestor of base and nothing else; base-only: base itself (its parents are not there either).
        const ancestors = history === "full" ? gitOut(mirror, ["rev-list", pull.base_commit]).trim().split("\n") : [pull.base_commit]
        expect(all.sort()).toEqual(ancestors.sort())
        if (history === "base-only") {
          expect((yield* run(`git cat-file -e ${pull.base_commit}~1`)).exitCode).not.toBe(0)
          expect((yield* run("git diff --stat HEAD && git stash list")).exitCode).toBe(0)
        }
        for (const sha of [fixCommit, pull.head_sha, newest]) {
          const probe = yield* run(`git cat-file -e ${sha}`)
          expect(probe.exitCode, `git cat-file -e ${sha}`).not.toBe(0)
          expect((yield* run(`git show ${sha}`)).exitCode).not.toBe(0)
        }
        expect((yield* run("git tag")).stdout).toBe("")
        expect((yield* run("git remote -v")).stdout).toBe("")
        expect((yield* run("git branch -a --format='%(refname)'")).stdout.trim()).toBe(`refs/heads/${InstanceBranch}`)
        expect((yield* run("git for-each-ref --format='%(refname)'")).stdout.trim()).toBe(`refs/heads/${InstanceBranch}`)
        expect((yield* run("git reflog --all")).stdout).toBe("")
        expect((yield* run("git stash list")).stdout).toBe("")
        const fsck = yield* run("git fsck --lost-found --unreachable --dangling --no-reflogs 2>&1; ls .git/lost-found 2>/dev/null || true")
        expect(fsck.stdout).not.toMatch(/unreachable|dangling|commit|other/)
        // Nothing of the fix is left in the object store: no object of the gold patch's new file content.
        const fixBlob = gitOut(mirror, ["rev-parse", `${fixCommit}:calc/ops.py`]).trim()
        expect((yield* run(`git cat-file -e ${fixBlob}`)).exitCode).not.toBe(0)
        // The work tree is the base commit's, clean.
        expect((yield* run("git status --porcelain")).stdout).toBe("")
        expect((yield* run("cat calc/ops.py")).stdout).not.toContain("CalcError")
        // No old pack or loose object files of the environment image remain readable under .git.
        expect((yield* run("grep -rl CalcError .git 2>/dev/null || true")).stdout).toBe("")
      }))
    }).pipe(Effect.provide(dockerLayer())), 300_000)

  it.live("the check fails loudly (HistoryLeak) on a repository that still holds later history", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const newest = newestCommit(mirror)
      const image = yield* ensureEnvironmentImage({ repo: "sample/calc", version: "history", setupCommit: newest, spec, mirror }, { logDir: tempDir("swe-gym-logs-") })
      const sandbox = yield* Sandbox
      const leak = yield* Effect.scoped(Effect.gen(function* () {
        // The environment image's own /testbed, only checked out at base: everything later is still there.
        const container = yield* sandbox.create({ image: image.id, workdir: "/testbed" })
        yield* container.exec(`git checkout -q -f --detach ${pull.base_commit} && git rev-list --all ^${pull.base_commit} > /tmp/swe-gym-later`, { timeout: "60 seconds" })
        return yield* Effect.flip(checkHistory(container, pull.instance_id, pull.base_commit))
      }))
      if (!(leak instanceof HistoryLeak)) throw new Error(`expected HistoryLeak, got ${leak._tag}: ${leak.message}`)
      expect(leak.check).toBe("git log --all")
      expect(leak.detail).toContain("git cat-file -e")
      expect(leak.detail).toContain("git remote")
    }).pipe(Effect.provide(dockerLayer())), 300_000)

  it.live("a base commit the image does not hold is a typed error", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const newest = newestCommit(mirror)
      const image = yield* ensureEnvironmentImage({ repo: "sample/calc", version: "history", setupCommit: newest, spec, mirror }, { logDir: tempDir("swe-gym-logs-") })
      const error = yield* Effect.flip(Effect.scoped(prepareInstance({ instance_id: "x-1", base_commit: "0123456789abcdef0123456789abcdef01234567" }, image)))
      expect(error).toBeInstanceOf(BaseCommitMissing)
    }).pipe(Effect.provide(dockerLayer())), 300_000)

  it.live("a tracked file the install step changed (same size, same second as the checkout) is put back to base", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const newest = newestCommit(mirror)
      // README.md is the same at base and at the setup commit, so the checkout has no reason of its own to rewrite it:
      // only the index's racy-entry rule (content compared when mtime is not older than the index) catches the change.
      expect(gitOut(mirror, ["diff", "--stat", pull.base_commit, newest, "--", "README.md"])).toBe("")
      const installSpec = testSpec({ repo: "sample/calc", env: { SWE_GYM_TEST: "install-edits-tracked" }, install: ["sed -i 's/^#/%/' README.md"] })
      const image = yield* ensureEnvironmentImage({ repo: "sample/calc", version: "install-edit", setupCommit: newest, spec: installSpec, mirror }, { logDir: tempDir("swe-gym-logs-") })
      yield* Effect.scoped(Effect.gen(function* () {
        const { container } = yield* prepareInstance({ instance_id: pull.instance_id, base_commit: pull.base_commit }, image)
        expect((yield* exec(container, "git status --porcelain")).stdout).toBe("")
        expect((yield* exec(container, "cat README.md")).stdout).toBe(gitOut(mirror, ["show", `${pull.base_commit}:README.md`]))
      }))
    }).pipe(Effect.provide(dockerLayer())), 300_000)
})
