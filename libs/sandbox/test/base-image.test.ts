import { Command, CommandExecutor } from "@effect/platform"
import { NodeCommandExecutor, NodeContext, NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import type Docker from "dockerode"
import { Effect, Exit, Fiber, Layer, Option, Schedule, Schema } from "effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  BaseImageFailed,
  RecipeLabel,
  baseImageTag,
  canonicalRecipeJson,
  ensureBaseImage,
  importRootfs,
  localImageId,
  pythonBaseRecipe,
  recipeHash,
  verifyPythonImage,
} from "../src/base-image.js"
import { CommandFailed, CommandRunner, HostLive, SystemFacts, dockerClient, engineEndpoint } from "../src/engine.js"

describe("baseImageTag", () => {
  it("is swe-gym/base-python:<12 hex> and stable for the same recipe", () => {
    const tag = baseImageTag(pythonBaseRecipe)
    expect(tag).toMatch(/^swe-gym\/base-python:[0-9a-f]{12}$/)
    expect(baseImageTag({ ...pythonBaseRecipe, packages: [...pythonBaseRecipe.packages] })).toBe(tag)
    // Package order and duplicates do not change what gets installed, nor does the mirror it comes from.
    expect(baseImageTag({ ...pythonBaseRecipe, packages: [...pythonBaseRecipe.packages].reverse().concat("git") })).toBe(tag)
    expect(baseImageTag({ ...pythonBaseRecipe, mirror: "http://mirror.example/debian" })).toBe(tag)
  })

  it("changes when a package, the suite or an image change changes", () => {
    const tag = baseImageTag(pythonBaseRecipe)
    const withoutPatch = pythonBaseRecipe.packages.filter((p) => p !== "patch")
    expect(baseImageTag({ ...pythonBaseRecipe, packages: withoutPatch })).not.toBe(tag)
    expect(baseImageTag({ ...pythonBaseRecipe, packages: [...pythonBaseRecipe.packages, "python3-numpy"] })).not.toBe(tag)
    expect(baseImageTag({ ...pythonBaseRecipe, suite: "trixie" })).not.toBe(tag)
    expect(baseImageTag({ ...pythonBaseRecipe, changes: [...pythonBaseRecipe.changes, "ENV A=1"] })).not.toBe(tag)
  })

  it("hashes the canonical JSON (sorted keys, sorted packages, no mirror)", () => {
    const json = canonicalRecipeJson(pythonBaseRecipe)
    expect(Object.keys(JSON.parse(json))).toEqual(["changes", "components", "name", "packages", "suite", "variant"])
    expect(json).not.toContain("deb.debian.org")
    expect(recipeHash(pythonBaseRecipe)).toBe(baseImageTag(pythonBaseRecipe).split(":")[1])
  })
})

// A recipe of its own (an extra label) so this test really builds, whatever images the machine already has.
const testRecipe = { ...pythonBaseRecipe, changes: [...pythonBaseRecipe.changes, `LABEL swe-gym.test-build=${randomUUID()}`] }
const testTag = baseImageTag(testRecipe)

const docker = Effect.map(engineEndpoint, (endpoint) => dockerClient(endpoint))

/** A CommandRunner that fails the test on any command: proves nothing is built. */
const noCommands = (calls: Array<string>) =>
  Layer.succeed(CommandRunner, {
    run: (command, args) => Effect.sync(() => void calls.push([command, ...args].join(" "))).pipe(Effect.zipRight(Effect.die(`unexpected command: ${command}`))),
    startDetached: (command, args) =>
      Effect.sync(() => void calls.push([command, ...args].join(" "))).pipe(Effect.zipRight(Effect.die(`unexpected command: ${command}`))),
  })

/** Runs `cmd` in a throwaway container of `image`; its exit code and trimmed output. */
const runInImage = (client: Docker, image: string, cmd: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const container = yield* Effect.acquireRelease(
      Effect.promise(() => client.createContainer({ Image: image, Cmd: [...cmd], Tty: true, HostConfig: { NetworkMode: "none" } })),
      (c) => Effect.promise(() => c.remove({ force: true }).catch(() => undefined)),
    )
    yield* Effect.promise(() => container.start())
    const waited = yield* Effect.promise((): Promise<unknown> => container.wait())
    const { StatusCode } = yield* Schema.decodeUnknown(Schema.Struct({ StatusCode: Schema.Number }))(waited)
    const logs = yield* Effect.promise(() => container.logs({ stdout: true, stderr: true, follow: false }))
    return { exitCode: StatusCode, output: logs.toString("utf8").replace(/\r\n/g, "\n").trim() }
  }).pipe(Effect.scoped)

const tempDirs: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swe-gym-base-test-"))
  tempDirs.push(dir)
  return dir
}

// Images the importRootfs tests may leave behind on failure.
const importTag = (what: string) => `swe-gym/test-import:${what}-${randomUUID().slice(0, 8)}`
const importTags: Array<string> = []

afterAll(async () => {
  tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true }))
  await Effect.runPromise(
    Effect.flatMap(docker, (d) =>
      Effect.promise(() => Promise.all([testTag, ...importTags].map((tag) => d.getImage(tag).remove({ force: true }).catch(() => undefined)))),
    ).pipe(Effect.ignore),
  )
})

/** True while process `pid` exists and is not a zombie. */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))
  } catch {
    return false
  }
}

/** The pid of a running `tar … -C dir …`, if any. */
const tarOf = (dir: string) =>
  fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).map(Number).find((pid) => {
    try {
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
      return args[0] === "tar" && args.includes(dir)
    } catch {
      return false
    }
  })

/** The bytes of `file` in an image, as a tar archive (the engine's archive of a created, never started container). */
const archiveOf = (client: Docker, image: string, file: string) =>
  Effect.gen(function* () {
    const container = yield* Effect.acquireRelease(
      Effect.promise(() => client.createContainer({ Image: image, Cmd: ["/nothing"], HostConfig: { NetworkMode: "none" } })),
      (c) => Effect.promise(() => c.remove({ force: true }).catch(() => undefined)),
    )
    return yield* Effect.promise(async () => {
      const chunks: Array<Buffer> = []
      for await (const chunk of await container.getArchive({ path: file })) chunks.push(Buffer.from(chunk))
      return Buffer.concat(chunks)
    })
  }).pipe(Effect.scoped)

/** Node's executor, except that `tar` archives in full and then exits 2 with a read error, as a tar that hits a bad file does. */
const tarFailingAtTheEnd = Layer.effect(
  CommandExecutor.CommandExecutor,
  Effect.map(CommandExecutor.CommandExecutor, (node) =>
    CommandExecutor.makeExecutor((command) =>
      command._tag === "StandardCommand" && command.command === "tar"
        ? node.start(Command.make("sh", "-c", 'tar "$@" && echo "tar: ./etc/shadow: Read error at byte 0: Input/output error" >&2; exit 2', "sh", ...command.args))
        : node.start(command)
    ),
  ),
).pipe(Layer.provide(NodeContext.layer))

describe("importRootfs", () => {
  it.live("imports a directory as an image, with the changes applied", () =>
    Effect.gen(function* () {
      const rootfs = tempDir()
      fs.writeFileSync(path.join(rootfs, "hello.txt"), "hello from the root file system\n")
      const tag = importTag("ok")
      importTags.push(tag)
      const client = yield* docker
      yield* importRootfs(client, rootfs, tag, ["LABEL swe-gym.test-import=yes", "ENV GREETING=hi"])
      const inspect = yield* Effect.promise(() => client.getImage(tag).inspect())
      expect(inspect.Config.Labels?.["swe-gym.test-import"]).toBe("yes")
      expect(inspect.Config.Env).toContain("GREETING=hi")
      expect((yield* archiveOf(client, tag, "/hello.txt")).includes("hello from the root file system\n")).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer)),
  )

  it.live("when tar cannot start archiving: BaseImageFailed at step tar with tar's stderr, no image", () =>
    Effect.gen(function* () {
      const rootfs = path.join(tempDir(), "missing")
      const tag = importTag("missing")
      importTags.push(tag)
      const client = yield* docker
      const error = yield* importRootfs(client, rootfs, tag, []).pipe(Effect.flip)
      expect(error).toBeInstanceOf(BaseImageFailed)
      expect(error.step).toBe("tar")
      expect(error.reason).toBe("tar exited with 2")
      expect(error.logTail).toContain(`${rootfs}: Cannot open: No such file or directory`)
      expect(yield* localImageId(client, tag)).toEqual(Option.none())
    }).pipe(Effect.provide(NodeContext.layer)),
  )

  it.live("when tar fails after the engine has imported its archive: the image is removed, the error carries tar's stderr", () =>
    Effect.gen(function* () {
      const rootfs = tempDir()
      fs.writeFileSync(path.join(rootfs, "hello.txt"), "hello\n")
      const tag = importTag("late")
      importTags.push(tag)
      const client = yield* docker
      const error = yield* importRootfs(client, rootfs, tag, []).pipe(Effect.provide(tarFailingAtTheEnd), Effect.flip)
      expect(error).toBeInstanceOf(BaseImageFailed)
      expect(error.step).toBe("tar")
      expect(error.message).toContain("tar: ./etc/shadow: Read error at byte 0: Input/output error")
      expect(yield* localImageId(client, tag)).toEqual(Option.none())
    }),
  )

  it.live("interrupted: tar is stopped and the import aborted (no image)", () =>
    Effect.gen(function* () {
      const rootfs = tempDir()
      // 4 GiB of zeros that take no disk: tar is still streaming them when the import is interrupted.
      fs.writeFileSync(path.join(rootfs, "big"), "")
      fs.truncateSync(path.join(rootfs, "big"), 4 * 1024 ** 3)
      const tag = importTag("interrupted")
      importTags.push(tag)
      const client = yield* docker
      const fiber = yield* Effect.fork(importRootfs(client, rootfs, tag, []))
      const tar = yield* Effect.sync(() => tarOf(rootfs)).pipe(
        Effect.flatMap((pid) => (pid === undefined ? Effect.fail("tar has not started yet") : Effect.succeed(pid))),
        Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(3_000)))),
      )
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(alive(tar)).toBe(false)
      expect(yield* localImageId(client, tag)).toEqual(Option.none())
    }).pipe(Effect.provide(NodeContext.layer)),
  )
})

describe("ensureBaseImage", () => {
  it.live(
    "builds the image from Debian packages (debootstrap + import); python3 imports pytest in it",
    () =>
      Effect.gen(function* () {
        const logFile = path.join(tempDir(), "build.log")
        // Its own work dir, so the check below sees this build's temp root file system only (not a concurrent build's).
        const workDir = tempDir()
        const result = yield* ensureBaseImage({ recipe: testRecipe, logFile, workDir })
        expect(result.source).toBe("built")
        expect(result.tag).toBe(testTag)
        const client = yield* docker
        const output = yield* verifyPythonImage(client, testTag)
        expect(output).toMatch(/^python 3\.\d+\.\d+ pytest \d+\.\d+/)
        expect(output).toContain("git version")
        // `python` too: SWE-bench's Django and sympy runners start with `#!/usr/bin/env python`.
        expect(yield* runInImage(client, testTag, ["sh", "-c", "python --version && /usr/bin/env python -c 'import sys; print(sys.executable)'"])).toEqual({
          exitCode: 0,
          output: expect.stringMatching(/^Python 3\.\d+\.\d+\n\/usr\/bin\/python\d?[\d.]*$/),
        })
        const inspect = yield* Effect.promise(() => client.getImage(testTag).inspect())
        expect(inspect.Config.Labels?.[RecipeLabel]).toBe(recipeHash(testRecipe))
        expect(inspect.Config.Env).toContain("LANG=C.UTF-8")
        expect(fs.readFileSync(logFile, "utf8")).toContain("Base system installed successfully")
        // The temp root file system is gone.
        expect(fs.readdirSync(workDir)).toEqual([])
      }).pipe(Effect.provide(HostLive)),
    1_200_000,
  )

  it.live("does nothing when the tag exists: same image id, no command run", () =>
    Effect.gen(function* () {
      const client = yield* docker
      const before = yield* localImageId(client, testTag)
      expect(Option.isSome(before)).toBe(true)
      const calls: Array<string> = []
      const result = yield* ensureBaseImage({ recipe: testRecipe }).pipe(
        Effect.provide(noCommands(calls)), // inner: wins over HostLive's runner
        Effect.provide(HostLive),
      )
      expect(result).toEqual({ tag: testTag, imageId: Option.getOrThrow(before), source: "existing" })
      expect(calls).toEqual([])
      expect(yield* localImageId(client, testTag)).toEqual(before)
    }),
  )

  it.live("as a non-root user with no image: says debootstrap needs root and how to proceed, runs nothing", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const recipe = { ...pythonBaseRecipe, packages: [...pythonBaseRecipe.packages, `never-built-${randomUUID()}`] }
      const error = yield* ensureBaseImage({ recipe, logFile: path.join(tempDir(), "build.log") }).pipe(
        Effect.provide(
          Layer.mergeAll(
            noCommands(calls),
            Layer.succeed(SystemFacts, {
              isRoot: false,
              isDebianLike: true,
              resolveCommand: () => Effect.succeed(Option.none()),
              processName: () => Effect.succeed(Option.none()),
            }),
            NodeCommandExecutor.layer.pipe(Layer.provideMerge(NodeFileSystem.layer)),
          ),
        ),
        Effect.flip,
      )
      expect(error).toBeInstanceOf(BaseImageFailed)
      expect(error.message).toContain("needs root")
      expect(error.message).toContain("sudo npm run setup")
      expect(error.message).toContain("SWE_GYM_BASE_IMAGE")
      expect(calls).toEqual([])
    }),
  )

  it.live("as root on Debian without debootstrap: installs it with apt-get, runs it, and on failure shows its log tail and removes the temp rootfs", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      let installed = false
      let rootfs = ""
      const logFile = path.join(tempDir(), "build.log")
      const recipe = { ...pythonBaseRecipe, packages: [...pythonBaseRecipe.packages, `never-built-${randomUUID()}`] }
      const error = yield* ensureBaseImage({ recipe, logFile, mirror: "http://mirror.invalid/debian" }).pipe(
        Effect.provide(
          Layer.mergeAll(
            Layer.succeed(CommandRunner, {
              run: (command, args, options = {}) =>
                Effect.gen(function* () {
                  calls.push([command, ...args].join(" "))
                  if (command === "apt-get" && args.includes("debootstrap")) installed = true
                  if (command !== "/usr/sbin/debootstrap") return { outputTail: "" }
                  rootfs = args.at(-2) ?? ""
                  fs.appendFileSync(options.logFile ?? "/dev/null", "I: Retrieving InRelease\nE: Failed getting release file http://mirror.invalid/debian/dists/bookworm/InRelease\n")
                  return yield* new CommandFailed({ command, reason: "exit code 1", exitCode: 1, outputTail: "", hint: options.hint ?? "" })
                }),
              startDetached: () => Effect.die("unexpected detached command"),
            }),
            Layer.succeed(SystemFacts, {
              isRoot: true,
              isDebianLike: true,
              resolveCommand: (name) => Effect.sync(() => (name === "debootstrap" && installed ? Option.some("/usr/sbin/debootstrap") : Option.none())),
              processName: () => Effect.succeed(Option.none()),
            }),
            NodeCommandExecutor.layer.pipe(Layer.provideMerge(NodeFileSystem.layer)),
          ),
        ),
        Effect.flip,
      )
      expect(calls.map((c) => c.split(" ").slice(0, 4).join(" "))).toEqual([
        "apt-get update",
        "apt-get install -y debootstrap",
        `/usr/sbin/debootstrap --variant=minbase --components=main --include=${[...recipe.packages].sort().join(",")}`,
      ])
      expect(calls[2]).toMatch(/ bookworm \/\S+swe-gym-rootfs-\S+ http:\/\/mirror\.invalid\/debian$/)
      expect(error).toBeInstanceOf(BaseImageFailed)
      expect(error.message).toContain("debootstrap failed")
      expect(error.message).toContain("E: Failed getting release file")
      expect(rootfs).not.toBe("")
      expect(fs.existsSync(rootfs)).toBe(false)
    }),
  )
})
