// listLeftovers / removeLeftovers / reapOrphans against the real engine: they find and remove swe-gym's containers by label,
// one run's only, and orphans only: containers whose creating process is gone.
import { afterAll, describe, expect } from "@effect/vitest"
import { Effect, Option } from "effect"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { listLeftovers, reapOrphans, removeLeftovers } from "../src/cleanup.js"
import { type ContainerOwner, currentOwner, ownerLabels } from "../src/container-owner.js"
import { DockerClient, DockerClientLive } from "../src/docker-sandbox.js"
import { ManagedLabel, RunLabel } from "../src/labels.js"
import { Sandbox } from "../src/sandbox.js"
import { containerExists, containersOfRun, liveTest, testImage, testRunId } from "./sandbox-fixtures.js"

const runId = testRunId("cleanup")
const live = liveTest(runId)

afterAll(async () => {
  const left = await Effect.runPromise(containersOfRun(runId).pipe(Effect.provide(DockerClientLive)))
  expect(left, `containers of run ${runId} left on the engine`).toEqual([])
})

describe("leftover cleanup", () => {
  live("lists and removes the containers of one run, and nothing else", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      const { docker } = yield* DockerClient
      const a = yield* sandbox.create({ image: testImage })
      const b = yield* sandbox.create({ image: testImage })
      // Carries our run label but not the managed label: not swe-gym's, so never touched.
      const foreign = yield* Effect.acquireRelease(
        Effect.promise(() =>
          docker.createContainer({ Image: testImage, Entrypoint: ["sleep", "infinity"], Labels: { [RunLabel]: runId } })),
        (c) => Effect.promise(() => c.remove({ force: true })),
      )

      const listed = yield* listLeftovers({ runId })
      expect(listed.map((l) => l.id).sort()).toEqual([a.id, b.id].sort())
      for (const l of listed) {
        expect(l.runId).toBe(runId)
        expect(l.image).toBe(testImage)
        expect(l.state).toBe("running")
        expect(l.name).not.toBe("")
      }
      const everyRun = yield* listLeftovers()
      expect(everyRun.map((l) => l.id)).toEqual(expect.arrayContaining([a.id, b.id]))
      expect(everyRun.map((l) => l.id)).not.toContain(foreign.id)
      expect(yield* listLeftovers({ runId: testRunId("other") })).toEqual([])

      const removal = yield* removeLeftovers({ runId })
      expect(removal.removed.map((l) => l.id).sort()).toEqual([a.id, b.id].sort())
      expect(removal.failed).toEqual([])
      expect(yield* listLeftovers({ runId })).toEqual([])
      expect(yield* containerExists(a.id)).toBe(false)
      expect(yield* containerExists(foreign.id)).toBe(true)

      // Removing again finds nothing; the scope's own removal of a and b then meets containers already gone.
      expect((yield* removeLeftovers({ runId })).removed).toEqual([])
      yield* a.destroy
    }))

  live("lists stopped containers too", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const c = yield* (yield* Sandbox).create({ image: testImage })
      yield* Effect.promise(() => docker.getContainer(c.id).kill())
      const listed = yield* listLeftovers({ runId })
      expect(listed.map((l) => [l.id, l.state])).toEqual([[c.id, "exited"]])
    }))
})

/** A process that has exited (and been reaped), as an owner: its pid and start time name no live process. */
const deadProcess = Effect.async<{ readonly pid: number; readonly startTime: string }, Error>((resume) => {
  const child = spawn("sleep", ["30"], { stdio: "ignore" })
  child.once("error", (e) => resume(Effect.fail(e)))
  child.once("spawn", () => {
    const pid = child.pid ?? 0
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const startTime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? ""
    child.once("exit", () => resume(Effect.succeed({ pid, startTime })))
    child.kill("SIGKILL")
  })
})

describe("orphan reaping", () => {
  live("removes containers of this host whose process is gone; keeps live processes', other hosts' and unlabelled ones", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const here = yield* currentOwner
      expect(here.startTime).toMatch(/^\d+$/)
      expect(here.bootId).not.toBe("")
      expect(here.pidNamespace).toMatch(/^pid:\[\d+\]$/)
      const dead = yield* deadProcess
      const labelled = (owner: ContainerOwner | undefined) =>
        Effect.acquireRelease(
          Effect.promise(() =>
            docker.createContainer({
              Image: testImage,
              Entrypoint: ["sleep", "infinity"],
              Labels: { ...(owner === undefined ? {} : ownerLabels(owner)), [ManagedLabel]: "true", [RunLabel]: runId },
              HostConfig: { NetworkMode: "none" },
            })),
          (c) => Effect.promise(() => c.remove({ force: true }).catch(() => undefined)),
        ).pipe(Effect.map((c) => c.id))

      // Made by this process through the Sandbox: its labels name this live process.
      const live = (yield* (yield* Sandbox).create({ image: testImage })).id
      const ofDeadPid = yield* labelled({ ...here, pid: dead.pid, startTime: dead.startTime })
      yield* Effect.promise(() => docker.getContainer(ofDeadPid).start())
      // This process's pid, but another start time: the pid was reused by a later process.
      const ofReusedPid = yield* labelled({ ...here, startTime: String(Number(here.startTime) + 1) })
      // This very process, but before a reboot.
      const ofEarlierBoot = yield* labelled({ ...here, bootId: "00000000-0000-0000-0000-000000000000" })
      const ofOtherHost = yield* labelled({ ...here, host: `${here.host}-elsewhere`, pid: dead.pid, startTime: dead.startTime })
      // A process in a container that shares this host's name: its pids are another namespace's.
      const ofOtherNamespace = yield* labelled({ ...here, pidNamespace: "pid:[1]", pid: dead.pid, startTime: dead.startTime })
      const unlabelled = yield* labelled(undefined)

      const listed = yield* listLeftovers({ runId })
      expect(listed.find((l) => l.id === live)?.owner).toEqual(Option.some(here))

      const reaping = yield* reapOrphans({ runId })
      expect(reaping.removed.map((l) => l.id).sort()).toEqual([ofDeadPid, ofReusedPid, ofEarlierBoot].sort())
      expect(reaping.failed).toEqual([])
      expect(reaping.kept.map((k) => [k.leftover.id, k.reason]).sort()).toEqual(
        [[live, "alive"], [ofOtherHost, "other-host"], [ofOtherNamespace, "other-host"], [unlabelled, "no-owner"]].sort(),
      )
      for (const id of [ofDeadPid, ofReusedPid, ofEarlierBoot]) expect(yield* containerExists(id)).toBe(false)
      for (const id of [live, ofOtherHost, ofOtherNamespace, unlabelled]) expect(yield* containerExists(id)).toBe(true)
      // Reaping again removes nothing more.
      expect((yield* reapOrphans({ runId })).removed).toEqual([])
    }))
})
