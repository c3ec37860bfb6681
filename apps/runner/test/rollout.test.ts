// `runner rollout` on the sample with the embedded emulator, real containers, real DuckDB: k=2 oracle rollouts resolve
// and write trajectories, predictions and reports; empty ones end with an empty patch graded empty_patch; a second run
// resumes everything and writes the same files; the endpoint's key reaches no file; an interrupted run (Ctrl-C) leaves
// no container and keeps what finished.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { RolloutTrajectory } from "@swe-gym/domain"
import { startLlmEmulator } from "@swe-gym/llm-emulator"
import { DockerClient, DockerClientLive } from "@swe-gym/sandbox"
import { Console, Effect, Fiber, Layer, Redacted, Schedule, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { runnerLayer } from "../src/pipelines.js"
import { llmLayer, runRollout } from "../src/rollout.js"
import { filesUnder, repoRoot, sampleExport, sampleInstances, specsDir, temp, writeInstances } from "./sample-instances.js"

const calc = sampleInstances("sample/calc").slice(0, 2)
const agent = join(repoRoot, "data/agents/default.json")

const layer = (dir: string, runId: string) =>
  Layer.mergeAll(
    runnerLayer(join(dir, "runner.duckdb"), runId, { mirrors: sampleExport, mirrorCache: join(dir, "mirrors"), specs: specsDir, buildLogs: join(dir, "build-logs") }),
    NodeContext.layer,
  ).pipe(Layer.orDie)

const readTrajectories = (file: string) =>
  readFileSync(file, "utf8").trim().split("\n").map((line) => Schema.decodeUnknownSync(Schema.parseJson(RolloutTrajectory))(line))

describe("runner rollout (embedded emulator, real containers)", () => {
  it.live("oracle k=2 resolves every rollout; empty ends with an empty patch; a re-run resumes and writes the same files", () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-rollout-")
      const instances = writeInstances(dir, calc)
      const args = (model: string) => ({ instances, model, samples: 2, temperatures: [0, 0.5], agent, runId: `sample-${model}`, out: join(dir, model), concurrency: 2 })

      const oracle = yield* runRollout(args("oracle")).pipe(Effect.provide(llmLayer({ model: "oracle", instances: calc })), Effect.provide(layer(dir, "oracle")))
      expect(oracle).toHaveLength(4)
      for (const t of oracle) {
        expect(t).toMatchObject({ exit_reason: "submitted", resolved: true, failure_class: "resolved" })
        expect(t.model_patch).toContain("diff --git")
      }
      expect(oracle.map((t) => t.temperature).sort()).toEqual([0, 0, 0.5, 0.5])
      const written = readTrajectories(join(dir, "oracle", "trajectories.jsonl"))
      expect(written.map((t) => `${t.instance_id}/${t.sample}`)).toEqual(calc.flatMap((i) => [`${i.instance_id}/0`, `${i.instance_id}/1`]))
      const preds = readFileSync(join(dir, "oracle", "preds.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { model_name_or_path: string })
      expect(new Set(preds.map((p) => p.model_name_or_path))).toEqual(new Set(["oracle@sample-0", "oracle@sample-1"]))
      const report = JSON.parse(readFileSync(join(dir, "oracle", "evaluation", "oracle@sample-0.sample-oracle.json"), "utf8")) as { resolved_ids: ReadonlyArray<string> }
      expect([...report.resolved_ids].sort()).toEqual(calc.map((i) => i.instance_id).sort())

      const empty = yield* runRollout(args("empty")).pipe(Effect.provide(llmLayer({ model: "empty", instances: calc })), Effect.provide(layer(dir, "empty")))
      for (const t of empty) expect(t).toMatchObject({ exit_reason: "submitted", model_patch: "", resolved: false, failure_class: "empty_patch" })

      const before = filesUnder(join(dir, "oracle"))
      const again = yield* runRollout(args("oracle")).pipe(Effect.provide(llmLayer({ model: "oracle", instances: calc })), Effect.provide(layer(dir, "oracle")))
      expect(again.map((t) => t.rollout_key).sort()).toEqual(oracle.map((t) => t.rollout_key).sort())
      expect(filesUnder(join(dir, "oracle"))).toEqual(before)
    }), 900_000)

  it.live("the endpoint's key reaches no file the run writes", () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-rollout-key-")
      const secret = `sk-swe-gym-test-${Date.now().toString(36)}-secret`
      const emulator = yield* startLlmEmulator({ instances: calc, apiKey: Redacted.make(secret) })
      process.env["LLM_API_KEY"] = secret
      yield* Effect.addFinalizer(() => Effect.sync(() => delete process.env["LLM_API_KEY"]))
      const instances = writeInstances(dir, calc.slice(0, 1))
      const out = join(dir, "out")
      const run = yield* runRollout({ instances, model: "oracle", baseUrl: emulator.url, samples: 1, temperatures: [0], agent, runId: "key", out }).pipe(
        Effect.provide(llmLayer({ model: "oracle", baseUrl: emulator.url, instances: calc })),
        Effect.provide(layer(dir, "key")),
      )
      expect(run[0]?.resolved).toBe(true)
      for (const [file, text] of filesUnder(dir)) expect(text.includes(secret), file).toBe(false)
      // The DuckDB file too, as bytes.
      expect(readFileSync(join(dir, "runner.duckdb")).includes(Buffer.from(secret))).toBe(false)
    }).pipe(Effect.scoped), 600_000)

  it.live("an interrupted run (Ctrl-C) leaves no container and writes what finished; the re-run answers those from the store", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const dir = temp("swe-gym-rollout-interrupt-")
      const runId = `rollout-interrupt-${Date.now()}`
      const out = join(dir, "out")
      const args = { instances: writeInstances(dir, calc), model: "oracle", samples: 2, temperatures: [0, 0.5], agent, runId, out, concurrency: 1 }
      // The run's progress lines (stderr), captured: "[rollout] 1/4 …" says the first rollout is verified.
      const lines: Array<string> = []
      const console = yield* Effect.console
      const capturing: Console.Console = { ...console, error: (...parts) => Effect.sync(() => void lines.push(parts.map(String).join(" "))) }
      const ofRun = () => Effect.promise(() => docker.listContainers({ all: true, filters: { label: [`swe-gym.run=${runId}`] } }))
      const fiber = yield* Effect.fork(
        runRollout(args).pipe(Effect.provide(llmLayer({ model: "oracle", instances: calc })), Effect.provide(layer(dir, runId)), Effect.withConsole(capturing)),
      )
      // Interrupt (what Ctrl-C does in runMain) once a rollout is done and the next one's container runs.
      yield* Effect.gen(function* () {
        if (!lines.some((l) => l.startsWith("[rollout] 1/4 ")) || (yield* ofRun()).length === 0) return yield* Effect.fail("not yet")
      }).pipe(Effect.retry(Schedule.spaced("100 millis")))
      // Bounded, so a finalizer that never ends fails here instead of hanging the suite.
      yield* Fiber.interrupt(fiber).pipe(
        Effect.timeoutFail({ duration: "2 minutes", onTimeout: () => new Error("the interrupted run had not ended after 2 minutes") }),
      )
      expect(yield* ofRun()).toEqual([])
      expect(existsSync(join(out, "trajectories.jsonl"))).toBe(true)
      const kept = readTrajectories(join(out, "trajectories.jsonl"))
      expect(kept.length).toBeGreaterThanOrEqual(1)
      expect(kept.length).toBeLessThan(4)
      for (const t of kept) expect(t).toMatchObject({ exit_reason: "submitted", resolved: true })

      lines.length = 0
      const again = yield* runRollout(args).pipe(Effect.provide(llmLayer({ model: "oracle", instances: calc })), Effect.provide(layer(dir, runId)), Effect.withConsole(capturing))
      expect(again).toHaveLength(4)
      for (const t of again) expect(t).toMatchObject({ exit_reason: "submitted", resolved: true })
      const stored = lines.filter((l) => l.startsWith("[rollout] ") && l.endsWith("(stored)"))
      expect(stored.length).toBe(kept.length)
      expect(yield* ofRun()).toEqual([])
    }).pipe(Effect.provide(DockerClientLive)), 900_000)
})
