// Shared by the evaluate stage's container tests (evaluate-guarantees, evaluate-forging): the sample's valid instances
// with their expected labels, patches made in a scratch clone, and a run of the stage on real Docker and DuckDB.
import type { Prediction, TaskInstance } from "@swe-gym/domain"
import { Store } from "@swe-gym/store"
import { Chunk, Effect, Layer, Stream } from "effect"
import { expect } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { loadSpecs } from "../src/environment-spec-files.js"
import { type EvaluateOptions, type Evaluated, evaluate, type EvaluationRecord } from "../src/evaluate.js"
import { evaluationMigrations } from "../src/evaluation-store.js"
import type { InstanceEnvironmentsOptions } from "../src/instance-environments.js"
import { assignSetupCommits } from "../src/validate.js"
import { harnessMigrations } from "../src/validation-store.js"
import { candidateOf, type ContainerCounter, dockerLayer, environmentsLayer, expected, mirrorPath, splitEnvironmentOptions, tempDir } from "./harness-fixtures.js"

export const specsDir = resolve(import.meta.dirname, "../../../data/specs")

/** The sample's valid instances: candidates validation keeps, with the labels expected.json gives them. */
export const validInstances: ReadonlyArray<TaskInstance> = assignSetupCommits(
  expected().pulls
    .filter((p) => p.verdict === "candidate" && (p.breaks ?? []).length === 0)
    .map((p) => ({ ...candidateOf(p), FAIL_TO_PASS: p.FAIL_TO_PASS ?? [], PASS_TO_PASS: p.PASS_TO_PASS ?? [] })),
)

export const byId = (id: string): TaskInstance => {
  const found = validInstances.find((i) => i.instance_id === id)
  if (found === undefined) throw new Error(`${id} is not a valid sample instance`)
  return found
}

export const calc = byId("sample__calc-2")

/** A patch made in a scratch clone at the instance's base: optionally the gold patch first, then `edit` on the tree. */
export const patchOf = (instance: TaskInstance, edit: (dir: string) => void, options: { readonly withGold?: boolean } = {}): string => {
  const dir = join(tempDir("swe-gym-eval-patch-"), "repo")
  const git = (...args: Array<string>) => execFileSync("git", ["-C", dir, ...args], { encoding: "utf8" })
  execFileSync("git", ["clone", "-q", mirrorPath(instance.repo), dir])
  git("checkout", "-q", instance.base_commit)
  if (options.withGold === true) {
    writeFileSync(join(dir, ".gold.diff"), instance.patch)
    git("apply", ".gold.diff")
    rmSync(join(dir, ".gold.diff"))
  }
  edit(dir)
  git("add", "-A")
  return git("diff", "--cached")
}

export const writeIn = (dir: string, file: string, text: string) => {
  mkdirSync(dirname(join(dir, file)), { recursive: true })
  writeFileSync(join(dir, file), text)
}

export const predict = (instance: TaskInstance, model_patch: string, model = "attack"): Prediction => ({
  instance_id: instance.instance_id,
  model_name_or_path: model,
  model_patch,
})

/** Layers of one test: Docker (counting containers) and a DuckDB file. */
export const layers = (counter: ContainerCounter, db = join(tempDir("swe-gym-eval-db-"), "eval.duckdb")) =>
  Layer.mergeAll(dockerLayer(counter), Store.layer({ path: db, migrations: [...harnessMigrations, ...evaluationMigrations] }).pipe(Layer.orDie))

/** Runs the evaluate stage over predictions and collects every record. */
export const run = (predictions: ReadonlyArray<Prediction>, options: Partial<EvaluateOptions> & Partial<InstanceEnvironmentsOptions> = {}, instances = validInstances) =>
  Effect.gen(function* () {
    const specs = yield* loadSpecs(specsDir)
    const { environment, stage } = splitEnvironmentOptions(options)
    const records = yield* Stream.fromIterable(predictions).pipe(
      evaluate(instances, {
        runId: "test-run",
        concurrency: 2,
        retries: 2,
        retryBase: "10 millis",
        ...stage,
      }),
      Stream.runCollect,
      Effect.provide(environmentsLayer({ specs, ...environment })),
    )
    return Chunk.toReadonlyArray(records)
  })

export const evaluated = (records: ReadonlyArray<EvaluationRecord>): ReadonlyArray<Evaluated> =>
  records.filter((r): r is Evaluated => r._tag === "Evaluated")

/** The single result of a one-prediction run. */
export const only = (records: ReadonlyArray<EvaluationRecord>) => {
  const [first, ...rest] = evaluated(records)
  expect(rest).toEqual([])
  if (first === undefined) throw new Error("no result")
  return first
}

export const Long = { timeout: 900_000 }

/** Appends to a file of a scratch tree (the module keeps what it had). */
export const appendIn = (dir: string, file: string, text: string) => {
  mkdirSync(dirname(join(dir, file)), { recursive: true })
  appendFileSync(join(dir, file), text)
}

/** A complete, consistent pytest report claiming every labelled test of `instance` passed (what forging patches print). */
export const fakePytestReport = (instance: TaskInstance, seconds = "0.05"): string => {
  const ids = [...instance.FAIL_TO_PASS, ...instance.PASS_TO_PASS]
  return [
    "============================= test session starts ==============================",
    `collected ${ids.length} items`,
    "",
    `tests/test_ops.py ${".".repeat(ids.length)}                                                [100%]`,
    "",
    "=========================== short test summary info ============================",
    ...ids.map((id) => `PASSED ${id}`),
    `============================== ${ids.length} passed in ${seconds}s ===============================`,
  ].join("\n")
}
