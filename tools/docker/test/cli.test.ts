import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { type ContainerOwner, currentOwner, DockerClientLive, HostLive, ManagedLabel, ownerLabels, RunLabel, ensureBaseImage } from "@swe-gym/sandbox"
import { DockerClient } from "@swe-gym/sandbox"
import { Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { runCliPrinting } from "./cli-output.js"

const environment = Layer.mergeAll(NodeContext.layer, HostLive, DockerClientLive)

/** Runs the CLI with `args`; returns what it printed on stdout (Console.log). */
const runCli = (...args: ReadonlyArray<string>) => Effect.map(runCliPrinting(...args), (printed) => printed.stdout)

/** A created (not started) container of the base image with these labels, force-removed at scope end. */
const container = (image: string, labels: Record<string, string>) =>
  Effect.gen(function* () {
    const { docker } = yield* DockerClient
    return yield* Effect.acquireRelease(
      Effect.promise(() => docker.createContainer({ Image: image, Cmd: ["true"], Labels: labels, HostConfig: { NetworkMode: "none" } })),
      (c) => Effect.promise(() => c.remove({ force: true }).catch(() => undefined)),
    )
  })

const exists = (id: string) =>
  Effect.flatMap(DockerClient, ({ docker }) =>
    Effect.promise(() => docker.getContainer(id).inspect().then(() => true, () => false)),
  )

describe("swe-gym-docker", () => {
  it.live("engine: reports the engine that answers; the engine's progress on stderr", () =>
    Effect.gen(function* () {
      const { stdout, stderr } = yield* runCliPrinting("engine")
      expect(stdout).toHaveLength(1)
      const answer = /^Docker (\d+\.\d+\S*) \(API (1\.\d+)\) at ((unix|tcp):\/\/\S+)$/.exec(stdout[0] ?? "")
      expect(answer).not.toBeNull()
      const [, version, api, endpoint] = answer ?? []
      expect(stderr).toEqual([
        `[engine] pinging the Docker engine at ${endpoint}`,
        `[engine] Docker ${version} (API ${api}) answers at ${endpoint}`,
      ])
    }).pipe(Effect.provide(environment)),
  )

  it.live("base-image: prints the tag as its last stdout line (the image exists afterwards); progress on stderr", () =>
    Effect.gen(function* () {
      const { stdout, stderr } = yield* runCliPrinting("base-image")
      const { tag, imageId } = yield* ensureBaseImage()
      expect(stdout.at(-1)).toBe(tag)
      expect(tag).toMatch(/^swe-gym\/base-python:[0-9a-f]{12}$/)
      // When the image was there already (it is after `npm run setup`), one line says so; a build reports its steps.
      if (stderr.length === 1) expect(stderr).toEqual([`[base-image] ${tag} exists (${imageId.slice(0, 19)}): nothing to build`])
      else expect(stderr.at(-1)).toMatch(/^\[base-image\] swe-gym\/base-python:\S+ runs: python 3\./)
    }).pipe(Effect.provide(environment)),
    900_000,
  )

  it.scoped("cleanup --run ID: removes that run's labelled container, leaves an unlabelled one and another run's alone", () =>
    Effect.gen(function* () {
      const { tag } = yield* ensureBaseImage()
      const runId = `test-${randomUUID()}`
      const ours = yield* container(tag, { [ManagedLabel]: "true", [RunLabel]: runId })
      const unlabelled = yield* container(tag, {})
      const otherRun = yield* container(tag, { [ManagedLabel]: "true", [RunLabel]: `other-${randomUUID()}` })

      const dry = yield* runCli("cleanup", "--run", runId, "--dry-run")
      expect(dry).toEqual([expect.stringMatching(new RegExp(`^would remove .*${ours.id.slice(0, 12)}.*run ${runId}`))])
      expect(yield* exists(ours.id)).toBe(true)

      const removed = yield* runCli("cleanup", "--run", runId)
      expect(removed).toEqual([expect.stringMatching(new RegExp(`^removed .*${ours.id.slice(0, 12)}`))])
      expect(yield* exists(ours.id)).toBe(false)
      expect(yield* exists(unlabelled.id)).toBe(true)
      expect(yield* exists(otherRun.id)).toBe(true)
    }).pipe(Effect.provide(environment)),
    900_000,
  )

  it.scoped("cleanup --all --dry-run: lists every managed container, never an unlabelled one", () =>
    Effect.gen(function* () {
      // Only a dry run: a real cleanup of every managed container would also hit containers of tests running in parallel.
      const { tag } = yield* ensureBaseImage()
      const managed = yield* container(tag, { [ManagedLabel]: "true", [RunLabel]: `test-${randomUUID()}` })
      const unlabelled = yield* container(tag, { "some.other.label": "x" })
      const listed = yield* runCli("cleanup", "--all", "--dry-run")
      expect(listed.some((line) => line.includes(managed.id.slice(0, 12)))).toBe(true)
      expect(listed.some((line) => line.includes(unlabelled.id.slice(0, 12)))).toBe(false)
      expect(yield* exists(managed.id)).toBe(true)
    }).pipe(Effect.provide(environment)),
    900_000,
  )

  it.scoped("cleanup: removes containers whose creating process is gone, keeps a live process's and another host's", () =>
    Effect.gen(function* () {
      const { tag } = yield* ensureBaseImage()
      const here = yield* currentOwner
      const dead = yield* Effect.async<number, Error>((resume) => {
        const child = spawn("true", [], { stdio: "ignore" })
        child.once("error", (e) => resume(Effect.fail(e)))
        child.once("exit", () => resume(Effect.succeed(child.pid ?? 0)))
      })
      const labels = (owner: ContainerOwner) => ({ ...ownerLabels(owner), [ManagedLabel]: "true", [RunLabel]: `test-${randomUUID()}` })
      const orphan = yield* container(tag, labels({ ...here, pid: dead }))
      const live = yield* container(tag, labels(here))
      const elsewhere = yield* container(tag, labels({ ...here, host: `${here.host}-elsewhere`, pid: dead }))

      const dry = yield* runCli("cleanup", "--dry-run")
      expect(dry).toContainEqual(expect.stringMatching(new RegExp(`^would remove .*${orphan.id.slice(0, 12)}.*pid ${dead} on `)))
      expect(yield* exists(orphan.id)).toBe(true)

      const removed = yield* runCli("cleanup")
      expect(removed).toContainEqual(expect.stringMatching(new RegExp(`^removed .*${orphan.id.slice(0, 12)}`)))
      for (const kept of [live, elsewhere]) expect(removed.some((line) => line.includes(kept.id.slice(0, 12)))).toBe(false)
      expect(yield* exists(orphan.id)).toBe(false)
      expect(yield* exists(live.id)).toBe(true)
      expect(yield* exists(elsewhere.id)).toBe(true)
    }).pipe(Effect.provide(environment)),
    900_000,
  )
})
