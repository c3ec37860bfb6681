// The Sandbox owns Docker: directory copy, commit and image inspect are Sandbox operations (no caller needs dockerode).
import { describe, expect } from "@effect/vitest"
import { Effect, Option } from "effect"
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DockerClient } from "../src/docker-sandbox.js"
import { Sandbox } from "../src/sandbox.js"
import { liveTest, testImage, testRunId } from "./sandbox-fixtures.js"

const live = liveTest(testRunId("images"))

/** A host directory with nested files, an executable, a symlink and a 3 MB file. */
const hostTree = () => {
  const dir = mkdtempSync(join(tmpdir(), "swe-gym-copydir-"))
  mkdirSync(join(dir, "a/b"), { recursive: true })
  writeFileSync(join(dir, "a/b/deep.txt"), "deep\n")
  writeFileSync(join(dir, "run.sh"), "#!/bin/sh\necho ran\n")
  chmodSync(join(dir, "run.sh"), 0o755)
  symlinkSync("a/b/deep.txt", join(dir, "link"))
  writeFileSync(join(dir, "big.bin"), Buffer.alloc(3 * 1024 * 1024, 7))
  return dir
}

describe("Sandbox: directories, commits and images", () => {
  live("copyDirectory streams a host directory into a new path, keeping modes and symlinks", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      const c = yield* sandbox.create({ image: testImage })
      const bytes = yield* c.copyDirectory(hostTree(), "/tmp/new/dest")
      expect(bytes).toBe(5 + 19 + 3 * 1024 * 1024)
      const out = yield* c.exec("cat /tmp/new/dest/a/b/deep.txt /tmp/new/dest/link && /tmp/new/dest/run.sh && stat -c %s /tmp/new/dest/big.bin && readlink /tmp/new/dest/link", { timeout: "30 seconds" })
      expect(out.stdout).toBe(`deep\ndeep\nran\n${3 * 1024 * 1024}\na/b/deep.txt\n`)
    }))

  live("copyDirectory of a directory that does not exist fails with InvalidPath naming it", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      const c = yield* sandbox.create({ image: testImage })
      const error = yield* Effect.flip(c.copyDirectory("/nonexistent/swe-gym-dir", "/tmp/x"))
      expect(error._tag).toBe("InvalidPath")
      expect(error.message).toContain("/nonexistent/swe-gym-dir")
    }))

  live("commit makes an image whose id imageId finds by tag; imageId of an unknown image is none", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      const c = yield* sandbox.create({ image: testImage })
      yield* c.exec("echo committed > /marker", { timeout: "30 seconds" })
      const tag = `t${Date.now()}`
      const id = yield* c.commit({ repo: "swe-gym/test-commit", tag, changes: ["WORKDIR /tmp", `LABEL swe-gym.test="yes"`] })
      yield* Effect.addFinalizer(() =>
        Effect.flatMap(DockerClient, ({ docker }) => Effect.promise(() => docker.getImage(id).remove({ force: true }).catch(() => undefined))))
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(yield* sandbox.imageId(`swe-gym/test-commit:${tag}`)).toEqual(Option.some(id))
      const d = yield* sandbox.create({ image: id })
      expect((yield* d.exec("cat /marker && pwd", { timeout: "30 seconds" })).stdout).toBe("committed\n/tmp\n")
      expect(yield* sandbox.imageId("swe-gym/no-such-image:nope")).toEqual(Option.none())
    }))
})
