// The runner's pipelines on the embedded sample with real Docker and a real DuckDB file: evaluate with a predictions
// file (gold patches, an unknown instance, a malformed line), with "empty", interrupted mid-run and resumed; validate.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { InstanceReportFile, RunReport, TaskInstance } from "@swe-gym/domain"
import { SweGymRunReport } from "@swe-gym/harness"
import { DockerClient, DockerClientLive } from "@swe-gym/sandbox"
import { Effect, Fiber, Layer, Schedule, Schema } from "effect"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { type EvaluateArgs, runEvaluate, runnerLayer, runValidate } from "../src/pipelines.js"
import { sampleExport, sampleInstances, specsDir, temp, writeInstances } from "./sample-instances.js"

const calc = sampleInstances("sample/calc")

const environment = (dir: string) => ({
  mirrors: sampleExport,
  mirrorCache: join(dir, "mirrors"),
  specs: specsDir,
  buildLogs: join(dir, "build-logs"),
})

const common = (_dir: string) => ({ specs: specsDir })

const layer = (db: string, runId: string) =>
  Layer.mergeAll(runnerLayer(db, runId, environment(dirname(db))), NodeContext.layer).pipe(Layer.orDie)

const readJson = <A, I>(schema: Schema.Schema<A, I>, file: string): A => Schema.decodeUnknownSync(Schema.parseJson(schema))(readFileSync(file, "utf8"))

const Long = { timeout: 900_000 }

describe("runner evaluate", () => {
  it.live("gold patches from a predictions file resolve 100%; an unknown instance id is an error in the summary; a malformed line goes to the rejects file, once; an entry naming its instance that does not decode is that instance's unreadable prediction, not a missing one", () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-runner-eval-")
      const [unreadable, ...predicted] = [...calc].reverse()
      if (unreadable === undefined) throw new Error("calc instances expected")
      const instances = writeInstances(dir, calc)
      const predictions = join(dir, "predictions.jsonl")
      writeFileSync(predictions, [
        ...predicted.map((i) => JSON.stringify({ instance_id: i.instance_id, model_name_or_path: "org/model-x", model_patch: i.patch })),
        JSON.stringify({ instance_id: "nobody__nothing-7", model_name_or_path: "org/model-x", model_patch: "diff --git a/x b/x\n" }),
        `{"instance_id": "sample__calc-2", "model_patch": `,
        JSON.stringify({ instance_id: unreadable.instance_id, model_name_or_path: "org/model-x", model_patch: 42 }),
      ].join("\n") + "\n")
      const out = join(dir, "out")
      const { records } = yield* runEvaluate({ ...common(dir), predictions, instances, runId: "run-1", out, concurrency: 2 }).pipe(
        Effect.provide(layer(join(dir, "db.duckdb"), "run-1")),
      )
      expect(records).toHaveLength(calc.length + 1)
      const summary = readJson(RunReport, join(out, "org__model-x.run-1.json"))
      expect(summary.resolved_ids).toEqual(predicted.map((i) => i.instance_id).sort())
      expect(summary.resolved_instances).toBe(predicted.length)
      expect(summary.error_ids).toEqual(["nobody__nothing-7", unreadable.instance_id].sort())
      const own = readJson(SweGymRunReport, join(out, "org__model-x.run-1.swe-gym.json"))
      expect(own.unreadable_prediction_ids).toEqual([unreadable.instance_id])
      expect(own.missing_prediction_ids).toEqual([])
      expect(summary.schema_version).toBe(2)
      const report = readJson(InstanceReportFile, join(out, "run-1", "org__model-x", "sample__calc-2", "report.json"))
      expect(report["sample__calc-2"]?.resolved).toBe(true)
      expect(readFileSync(join(out, "run-1", "org__model-x", "sample__calc-2", "test_output.txt"), "utf8")).toContain("passed")
      const rejects = readFileSync(`${predictions}.rejects.jsonl`, "utf8").trim().split("\n")
      expect(rejects).toHaveLength(2)
      expect(existsSync(join(out, "org__model-x.run-1.swe-gym.json"))).toBe(true)
    }), Long)

  it.live(`"empty" predictions resolve 0%, every instance counted as an empty patch`, () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-runner-empty-")
      const out = join(dir, "out")
      yield* runEvaluate({ ...common(dir), predictions: "empty", instances: writeInstances(dir, calc), runId: "run-e", out }).pipe(
        Effect.provide(layer(join(dir, "db.duckdb"), "run-e")),
      )
      const summary = readJson(RunReport, join(out, "empty.run-e.json"))
      expect(summary.resolved_instances).toBe(0)
      expect(summary.empty_patch_ids).toEqual(calc.map((i) => i.instance_id).sort())
      expect(summary.completed_ids).toEqual([])
    }), Long)

  it.live("an interrupted run leaves no container behind and keeps what finished; the re-run answers those from the store", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const dir = temp("swe-gym-runner-interrupt-")
      const db = join(dir, "db.duckdb")
      const out = join(dir, "out")
      const runId = `interrupt-${Date.now()}`
      // The default prepare-ahead (1): a later prediction can finish before the one ahead of it; it must not then wait
      // in the stage's output, or an interrupt would lose its files (not its stored result) and the sets below differ.
      const args: EvaluateArgs = { ...common(dir), predictions: "gold", instances: writeInstances(dir, calc), runId, out, concurrency: 1 }
      const ofRun = () => Effect.promise(() => docker.listContainers({ all: true, filters: { label: [`swe-gym.run=${runId}`] } }))
      const fiber = yield* Effect.fork(runEvaluate(args).pipe(Effect.provide(layer(db, runId))))
      const goldDir = join(out, runId, "gold")
      const finished = () => (existsSync(goldDir) ? readdirSync(goldDir) : [])
      // Wait until one instance is done and the next one's container runs, then interrupt (what Ctrl-C does in runMain).
      yield* Effect.gen(function* () {
        if (finished().length === 0 || (yield* ofRun()).length === 0) return yield* Effect.fail("not yet")
      }).pipe(Effect.retry(Schedule.spaced("100 millis")))
      yield* Fiber.interrupt(fiber)
      expect(yield* ofRun()).toEqual([])
      const done = finished()
      expect(done.length).toBeGreaterThan(0)
      expect(done.length).toBeLessThan(calc.length)

      const { records } = yield* runEvaluate(args).pipe(Effect.provide(layer(db, runId)))
      const cached = records.flatMap((r) => (r._tag === "Evaluated" && r.cached ? [r.result.instance_id] : []))
      expect(cached.sort()).toEqual([...done].sort())
      expect(records.every((r) => r._tag === "Evaluated" && r.result.outcome === "resolved")).toBe(true)
    }).pipe(Effect.provide(DockerClientLive)), Long)
})

describe("runner validate", () => {
  it.live("keeps the sample's calc candidates with exactly the expected FAIL_TO_PASS and writes them as task instances", () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-runner-validate-")
      const candidates = calc.map((i) => ({ ...i, FAIL_TO_PASS: [], PASS_TO_PASS: [] }))
      const out = join(dir, "valid.jsonl")
      const results = yield* runValidate({ ...common(dir), instances: writeInstances(dir, candidates), out }).pipe(
        Effect.provide(layer(join(dir, "db.duckdb"), "validate-test")),
      )
      expect(results.map((r) => [r.result.instance_id, r.result.kept])).toEqual(calc.map((i) => [i.instance_id, true]))
      const written = readFileSync(out, "utf8").trim().split("\n").map((line) => Schema.decodeUnknownSync(Schema.parseJson(TaskInstance))(line))
      for (const instance of calc) {
        const got = written.find((w) => w.instance_id === instance.instance_id)
        expect([...(got?.FAIL_TO_PASS ?? [])].sort()).toEqual([...instance.FAIL_TO_PASS].sort())
        expect(got?.swe_gym?.image).toMatch(/@sha256:/)
      }
    }), Long)

  it.live("--out is rewritten whole from the run's verdicts (stored ones included), never appended: a re-run writes the same bytes", () =>
    Effect.gen(function* () {
      const dir = temp("swe-gym-runner-rewrite-")
      const candidates = calc.map((i) => ({ ...i, FAIL_TO_PASS: [], PASS_TO_PASS: [] }))
      const instances = writeInstances(dir, candidates)
      const out = join(dir, "valid.jsonl")
      const db = join(dir, "db.duckdb")
      yield* runValidate({ ...common(dir), instances, out }).pipe(Effect.provide(layer(db, "rewrite-1")))
      const first = readFileSync(out, "utf8")
      expect(first.trim().split("\n")).toHaveLength(calc.length)
      // What a killed earlier run could have left: lines of its own, a torn last line.
      writeFileSync(out, `${first}${first}{"instance_id": "torn`)
      const again = yield* runValidate({ ...common(dir), instances, out }).pipe(Effect.provide(layer(db, "rewrite-2")))
      expect(again.every((v) => v.cached)).toBe(true)
      expect(readFileSync(out, "utf8")).toBe(first)
      expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).toEqual([])
    }), Long)
})
