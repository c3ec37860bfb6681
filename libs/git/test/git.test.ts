import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { GitFailed, MirrorNotFound, mirrorFromBundle, mirrorLookup, runGit, runGitDir, streamGitRecords } from "../src/index.js"

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix))
const git = (dir: string, ...args: Array<string>) =>
  execFileSync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { encoding: "utf8" })

/** A repository with `n` commits and its bundle. */
const repoWithBundle = (n: number) => {
  const dir = temp("swe-gym-git-repo-")
  git(dir, "init", "-q", "-b", "main")
  for (let i = 0; i < n; i++) {
    writeFileSync(join(dir, "f.txt"), `${i}\n`)
    git(dir, "add", "f.txt")
    git(dir, "commit", "-q", "-m", `commit ${i}`)
  }
  const bundle = join(temp("swe-gym-git-bundle-"), "mirror.bundle")
  git(dir, "bundle", "create", bundle, "--all")
  return { dir, bundle }
}

describe("runGit", () => {
  it.effect("returns standard output, and fails with GitFailed carrying git's message and a hint", () =>
    Effect.gen(function* () {
      const { dir } = repoWithBundle(3)
      expect((yield* runGit(dir, ["rev-list", "--count", "HEAD"])).trim()).toBe("3")
      const failed = yield* Effect.either(runGit(dir, ["rev-parse", "--verify", "no-such-ref^{commit}"]))
      if (Either.isRight(failed)) throw new Error("expected a failure")
      expect(failed.left).toBeInstanceOf(GitFailed)
      expect(failed.left.exitCode).not.toBe(0)
      expect(failed.left.message).toContain("rev-parse")
      const notRepo = yield* Effect.flip(runGit(temp("swe-gym-git-empty-"), ["log"]))
      expect(notRepo.hint).toContain("not a git repository")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("streams NUL-separated records, and runGitDir reads a bare repository", () =>
    Effect.gen(function* () {
      const { dir } = repoWithBundle(4)
      const subjects = Chunk.toReadonlyArray(yield* Stream.runCollect(streamGitRecords(dir, ["log", "-z", "--format=%s"])))
      expect(subjects).toEqual(["commit 3", "commit 2", "commit 1", "commit 0"])
      expect((yield* runGitDir(join(dir, ".git"), ["rev-list", "--count", "main"])).trim()).toBe("4")
    }).pipe(Effect.provide(NodeContext.layer)))
})

describe("mirrors", () => {
  it.effect("mirrorFromBundle makes one mirror per bundle content, idempotent and safe when called concurrently", () =>
    Effect.gen(function* () {
      const { bundle } = repoWithBundle(2)
      const cache = temp("swe-gym-git-cache-")
      const made = yield* Effect.all([1, 2, 3].map(() => mirrorFromBundle(bundle, "o/r", cache)), { concurrency: 3 })
      expect(new Set(made).size).toBe(1)
      const mirror = made[0] ?? ""
      expect(existsSync(join(mirror, "HEAD"))).toBe(true)
      expect((yield* runGitDir(mirror, ["rev-list", "--count", "main"])).trim()).toBe("2")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("mirrorLookup finds owner__name/mirror.bundle or owner__name.git, and names what is missing", () =>
    Effect.gen(function* () {
      const { bundle } = repoWithBundle(1)
      const root = temp("swe-gym-git-root-")
      execFileSync("mkdir", ["-p", join(root, "o__bundled")])
      execFileSync("cp", [bundle, join(root, "o__bundled", "mirror.bundle")])
      execFileSync("git", ["clone", "-q", "--mirror", bundle, join(root, "o__bare.git")])
      const lookup = mirrorLookup(root, temp("swe-gym-git-cache-"))
      expect(yield* lookup("o/bare")).toBe(join(root, "o__bare.git"))
      expect(yield* lookup("o/bundled")).toMatch(/o__bundled-[0-9a-f]{16}\.git$/)
      const missing = yield* Effect.flip(lookup("o/none"))
      expect(missing).toBeInstanceOf(MirrorNotFound)
      expect(missing.message).toContain("o__none.git")
    }).pipe(Effect.provide(NodeContext.layer)))
})
