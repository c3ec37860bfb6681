// kill -9 of the runner mid-run, then a re-run: the output files equal a clean run's, and no container of the killed run
// is left once the re-run has started (its containers carry the killed process's pid: the re-run removes them).
// The killed run is the real CLI (src/main.ts through vite-node), killed with SIGKILL as a process group.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { DockerClient, DockerClientLive } from "@swe-gym/sandbox"
import { Effect, Layer, Schedule } from "effect"
import { spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { runEvaluate, runnerLayer, runValidate } from "../src/pipelines.js"
import { filesUnder, sampleExport, sampleInstances, specsDir, temp, writeInstances } from "./sample-instances.js"

const calc = sampleInstances("sample/calc")

const appDir = resolve(import.meta.dirname, "..")
const environmentFlags = (dir: string) => ["--mirrors", sampleExport, "--mirror-cache", join(dir, "mirrors"), "--specs", specsDir, "--build-logs", join(dir, "build-logs")]
const environment = (dir: string) => ({ mirrors: sampleExport, mirrorCache: join(dir, "mirrors"), specs: specsDir, buildLogs: join(dir, "build-logs") })
const layer = (db: string, runId: string) => Layer.mergeAll(runnerLayer(db, runId, environment(dirname(db))), NodeContext.layer).pipe(Layer.orDie)

/** Starts the runner CLI in its own process group; resolves when `ready` matches its stderr, returns the group's pid. */
const startCli = (args: ReadonlyArray<string>, ready: RegExp) =>
  Effect.async<{ readonly pid: number; readonly stderr: () => string }, Error>((resume) => {
    const child = spawn("npx", ["vite-node", "--config", "vitest.config.ts", "src/main.ts", ...args], { cwd: appDir, detached: true, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    let done = false
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString("utf8")
      if (!done && ready.test(stderr) && child.pid !== undefined) {
        done = true
        resume(Effect.succeed({ pid: child.pid, stderr: () => stderr }))
      }
    })
    child.on("exit", (code) => {
      if (!done) resume(Effect.fail(new Error(`the runner exited (${code}) before ${ready}: ${stderr}`)))
    })
  })

/** Whether any process of the group is left (a killed process is gone only once its parent reaped it). */
const groupAlive = (pid: number): boolean => {
  try {
    process.kill(-pid, 0)
    return true
  } catch {
    return false
  }
}

/** kill -9 of a whole process group (npx, vite-node, node), returning once every process of it is gone. */
const killGroup = (pid: number) =>
  Effect.gen(function* () {
    yield* Effect.sync(() => process.kill(-pid, "SIGKILL"))
    yield* Effect.suspend(() => (groupAlive(pid) ? Effect.fail("still there") : Effect.void)).pipe(
      Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(100)))),
      Effect.orDie,
    )
  })

/** Containers of a run (any state). */
const containersOf = (runId: string) =>
  Effect.flatMap(DockerClient, ({ docker }) => Effect.promise(() => docker.listContainers({ all: true, filters: { label: [`swe-gym.run=${runId}`] } })))

const Long = { timeout: 900_000 }

describe("kill -9 mid-run, then a re-run", () => {
  it.live("runner validate: --out equals a clean run's byte for byte; the killed run's containers are gone", () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-crash-validate-")
      const candidates = calc.map((i) => ({ ...i, FAIL_TO_PASS: [], PASS_TO_PASS: [] }))
      const instances = writeInstances(dir, candidates)
      const clean = join(dir, "clean.jsonl")
      yield* runValidate({ instances, specs: specsDir, out: clean }).pipe(Effect.provide(layer(join(dir, "clean.duckdb"), "crash-clean")))

      const out = join(dir, "out.jsonl")
      const db = join(dir, "crash.duckdb")
      // An earlier run's leftovers in the out file: the re-run must replace them, not append.
      writeFileSync(out, readFileSync(clean, "utf8"))
      const cli = yield* startCli(["validate", "--instances", instances, "--db", db, "--out", out, "--concurrency", "1", ...environmentFlags(dir)], /\[validate\] 1 /)
      // The second candidate is running (its container exists) when the process group is killed.
      const killedRun = yield* Effect.gen(function* () {
        const ids = yield* Effect.flatMap(DockerClient, ({ docker }) =>
          Effect.promise(() => docker.listContainers({ all: true, filters: { label: ["swe-gym.managed=true", `swe-gym.pid`] } })))
        const ours = ids.filter((c) => c.Labels["swe-gym.run"]?.startsWith("validate-") === true && c.Labels["swe-gym.eval.run"] === undefined)
        if (ours.length === 0) return yield* Effect.fail("no container yet")
        return ours[0]?.Labels["swe-gym.run"] ?? ""
      }).pipe(Effect.retry(Schedule.spaced("200 millis")), Effect.timeout("5 minutes"))
      yield* killGroup(cli.pid)
      expect((yield* containersOf(killedRun)).length).toBeGreaterThan(0)

      const rerun = yield* runValidate({ instances, specs: specsDir, out }).pipe(Effect.provide(layer(db, "crash-rerun")))
      expect(rerun.filter((v) => v.cached).length).toBeGreaterThan(0)
      expect(yield* containersOf(killedRun)).toEqual([])
      expect(readFileSync(out, "utf8")).toBe(readFileSync(clean, "utf8"))
    }).pipe(Effect.provide(DockerClientLive)), Long)

  it.live("runner evaluate: the report files equal a clean run's (up to timings); the killed run's containers are gone", () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-crash-evaluate-")
      const instances = writeInstances(dir, calc)
      const cleanOut = join(dir, "clean")
      yield* runEvaluate({ instances, predictions: "gold", runId: "crash", out: cleanOut, concurrency: 1 }).pipe(Effect.provide(layer(join(dir, "clean.duckdb"), "crash")))

      const out = join(dir, "out")
      const db = join(dir, "crash.duckdb")
      const cli = yield* startCli(["evaluate", "--instances", instances, "--predictions", "gold", "--run-id", "crash", "--db", db, "--out", out, "--concurrency", "1", ...environmentFlags(dir)], /\[evaluate\] 1 /)
      yield* Effect.gen(function* () {
        if ((yield* containersOf("crash")).length === 0) return yield* Effect.fail("no container yet")
      }).pipe(Effect.retry(Schedule.spaced("200 millis")), Effect.timeout("5 minutes"))
      yield* killGroup(cli.pid)
      expect((yield* containersOf("crash")).length).toBeGreaterThan(0)

      const { records } = yield* runEvaluate({ instances, predictions: "gold", runId: "crash", out, concurrency: 1 }).pipe(Effect.provide(layer(db, "crash")))
      expect(records.filter((r) => r._tag === "Evaluated" && r.cached).length).toBeGreaterThan(0)
      // The re-run uses the same run id: only containers it made itself may carry it, and those are gone when it ends.
      expect(yield* containersOf("crash")).toEqual([])
      // Two runs differ in their measurements only: pytest's own timing in the test output ("3 passed in 0.05s"), a
      // result's duration and time of evaluation, and whether the run answered it from the store (the swe-gym report's
      // `cached`). Outcomes, reasons, keys, images and every SWE-bench report are byte for byte the same.
      const normal = (_file: string, text: string) =>
        text.replace(/ in \d+\.\d+s/g, " in <t>s").replace(/"duration_ms": \d+/g, `"duration_ms": <t>`).replace(/"evaluated_at": "[^"]+"/g, `"evaluated_at": <t>`)
          .replace(/"cached": (true|false)/g, `"cached": <b>`)
      const clean = filesUnder(cleanOut)
      const crashed = filesUnder(out)
      expect([...crashed.keys()].sort()).toEqual([...clean.keys()].sort())
      for (const [file, text] of clean) expect(normal(file, crashed.get(file) ?? ""), file).toBe(normal(file, text))
    }).pipe(Effect.provide(DockerClientLive)), Long)
})
