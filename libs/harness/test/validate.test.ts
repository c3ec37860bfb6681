// The validate stage on the embedded sample, in real containers: every candidate the sample built to be valid is kept with
// exactly its expected FAIL_TO_PASS and PASS_TO_PASS; the flaky test and the unstable ids are excluded and reported; the
// breaking gold patch is rejected; the unittest repository works; a second run is answered from the store.
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { TaskInstance } from "@swe-gym/domain"
import { Chunk, Effect, Layer, Option, Stream } from "effect"
import { join } from "node:path"
import { loadSpecs } from "../src/environment-spec-files.js"
import { assignSetupCommits, validate, type Validated, type ValidateOptions, validationKey, verdictOf } from "../src/validate.js"
import { findValidation } from "../src/validation-store.js"
import { MirrorNotFound } from "@swe-gym/git"
import { appendIn, patchOf } from "./evaluate-fixtures.js"
import { type ContainerCounter, dockerLayer, environmentsLayer, expected, type Overlap, sampleCandidates, storeLayer, tempDir, trackOverlap } from "./harness-fixtures.js"

const matches = (pattern: string, id: string): boolean =>
  new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(id)

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()

const expectedIds = (ids: ReadonlyArray<string> | undefined) => sorted(ids ?? [])

const specsDir = join(import.meta.dirname, "../../../data/specs")

const run = (candidates: ReadonlyArray<TaskInstance>, options: ValidateOptions, counter: ContainerCounter, db: string) =>
  Effect.gen(function* () {
    const specs = yield* loadSpecs(specsDir)
    const results = yield* Stream.fromIterable(candidates).pipe(
      validate(options),
      Stream.runCollect,
      Effect.provide(environmentsLayer({ specs })),
    )
    return Chunk.toReadonlyArray(results)
  }).pipe(Effect.provide(Layer.mergeAll(dockerLayer(counter), storeLayer(db), NodeContext.layer)))

describe("verdictOf (pure)", () => {
  const labels = { FAIL_TO_PASS: ["a"], PASS_TO_PASS: ["b"], flaky: ["f"], unstable: [], broken_by_gold: [] }
  it("keeps a candidate with FAIL_TO_PASS and no broken test, reporting the excluded ones", () => {
    const v = verdictOf(labels, false)
    expect(v).toMatchObject({ kept: true, reason: "valid" })
    expect(v.detail).toContain("flaky (excluded): f")
  })
  it("rejects an empty FAIL_TO_PASS, and a breaking gold patch unless asked to keep it", () => {
    expect(verdictOf({ ...labels, FAIL_TO_PASS: [] }, false)).toMatchObject({ kept: false, reason: "no_fail_to_pass" })
    expect(verdictOf({ ...labels, broken_by_gold: ["c"] }, false)).toMatchObject({ kept: false, reason: "gold_breaks_tests" })
    expect(verdictOf({ ...labels, broken_by_gold: ["c"] }, true)).toMatchObject({ kept: true, reason: "valid" })
  })
  it("sets the environment commit to the base of the newest instance of the version", () => {
    const [a, b] = sampleCandidates().filter((c) => c.repo === "sample/calc")
    if (a === undefined || b === undefined) throw new Error("two calc candidates expected")
    const assigned = assignSetupCommits([a, { ...b, created_at: "2999-01-01T00:00:00Z" }])
    expect(assigned.map((i) => i.environment_setup_commit)).toEqual([b.base_commit, b.base_commit])
    expect(assignSetupCommits([{ ...a, environment_setup_commit: "abc1234" }])[0]?.environment_setup_commit).toBe("abc1234")
  })
  it("keys results by content: a changed patch changes the key", () => {
    const [a] = sampleCandidates()
    if (a === undefined) throw new Error("a candidate expected")
    const spec = { repo: a.repo, versions: [], apt_packages: [], pip_packages: [], install: [], test_command: "t", log_parser: "pytest" as const, timeouts: { build_seconds: 1, test_seconds: 1 }, env: {}, guessed: false }
    const runs = { beforeRuns: 2, afterRuns: 2, keepBreaking: false }
    const key = validationKey(a, spec, "sha256:1", runs)
    expect(validationKey({ ...a }, spec, "sha256:1", runs)).toBe(key)
    expect(validationKey({ ...a, patch: `${a.patch}\n` }, spec, "sha256:1", runs)).not.toBe(key)
    expect(validationKey(a, spec, "sha256:2", runs)).not.toBe(key)
    expect(validationKey(a, { ...spec, test_command: "u" }, "sha256:1", runs)).not.toBe(key)
    expect(validationKey(a, spec, "sha256:1", { ...runs, afterRuns: 3 })).not.toBe(key)
  })
})

describe("validate on the sample (Docker)", () => {
  const db = join(tempDir("swe-gym-validate-"), "validate.duckdb")
  const candidates = assignSetupCommits(sampleCandidates())
  // The defaults: 2 runs before and 2 after the gold patch (the sample's flaky test alternates run by run).
  const options = { concurrency: 2, build: { logDir: tempDir("swe-gym-build-logs-") } }
  let first: ReadonlyArray<Validated> = []

  it.live("keeps every valid candidate with exactly its expected labels and rejects the breaking one", () =>
    Effect.gen(function* () {
      const counter = { created: 0 }
      first = yield* run(candidates, options, counter, db)
      expect(first.map((v) => v.result.instance_id).sort()).toEqual(candidates.map((c) => c.instance_id).sort())
      expect(counter.created).toBeGreaterThanOrEqual(candidates.length)
      for (const pull of expected().pulls.filter((p) => p.verdict === "candidate")) {
        const found = first.find((v) => v.result.instance_id === pull.instance_id)
        if (found === undefined) throw new Error(`${pull.instance_id} has no result`)
        const r = found.result
        const context = `${pull.instance_id}: ${r.reason} ${r.detail}`
        expect(found.cached).toBe(false)
        expect(r.image, context).toMatch(/^swe-gym\/env-sample__[a-z]+:0\.1-[0-9a-f]{12}@sha256:[0-9a-f]{64}$/)
        expect(r.runs.filter((x) => x.phase === "before")).toHaveLength(2)
        expect(r.runs.filter((x) => x.phase === "after")).toHaveLength(2)
        if ((pull.breaks ?? []).length > 0) {
          expect(r.kept, context).toBe(false)
          expect(r.reason, context).toBe("gold_breaks_tests")
          expect(sorted(r.broken_by_gold)).toEqual(sorted(pull.breaks ?? []))
          expect(r.detail).toContain("the gold patch breaks tests that passed before")
          continue
        }
        expect(r.kept, context).toBe(true)
        expect(r.reason).toBe("valid")
        expect(sorted(r.FAIL_TO_PASS), context).toEqual(expectedIds(pull.FAIL_TO_PASS))
        expect(sorted(r.PASS_TO_PASS), context).toEqual(expectedIds(pull.PASS_TO_PASS))
        expect(sorted(r.flaky), context).toEqual(sorted(pull.flaky ?? []))
        expect(r.broken_by_gold).toEqual([])
        const patterns = pull.unstable ?? []
        for (const id of r.unstable) expect(patterns.some((p) => matches(p, id)), `${id} is unstable but not expected to be`).toBe(true)
        for (const p of patterns) {
          // A different id in every run, none of them in any label list.
          expect(r.unstable.filter((id) => matches(p, id)).length, p).toBeGreaterThanOrEqual(2)
          expect([...r.FAIL_TO_PASS, ...r.PASS_TO_PASS].some((id) => matches(p, id))).toBe(false)
        }
        if (r.flaky.length > 0 || r.unstable.length > 0) expect(r.detail).toMatch(/flaky \(excluded\)|unstable ids \(excluded\)/)
      }
      // The unittest repository: unittest's ids, in SWE-bench's shape `name (module.Class)`.
      const inventory = first.find((v) => v.result.instance_id === "sample__inventory-2")?.result
      expect(inventory?.kept).toBe(true)
      expect(inventory?.FAIL_TO_PASS.every((id) => /^\w+ \(tests\.test_stock\.StockTest\)$/.test(id))).toBe(true)
    }), 900_000)

  it.live("a second run is answered from the store: same verdicts, no container started", () =>
    Effect.gen(function* () {
      if (first.length === 0) throw new Error("the first run did not finish")
      const counter = { created: 0 }
      const second = yield* run(candidates, options, counter, db)
      expect(counter.created).toBe(0)
      expect(second.every((v) => v.cached)).toBe(true)
      const strip = (vs: ReadonlyArray<Validated>) => vs.map((v) => ({ ...v.result, cached: undefined })).sort((a, b) => a.instance_id.localeCompare(b.instance_id))
      expect(strip(second)).toEqual(strip(first))
      // A changed input is validated again: here, a different number of runs after the gold patch.
      const changed = yield* run(candidates.slice(0, 1), { ...options, afterRuns: 3 }, counter, db)
      expect(changed[0]?.cached).toBe(false)
      expect(counter.created).toBe(1)
    }), 900_000)

  it.live("without a written spec, the guessed one validates the unittest repository the same way", () =>
    Effect.gen(function* () {
      const inventory = candidates.filter((c) => c.repo === "sample/inventory")
      const results = yield* Stream.fromIterable(inventory).pipe(
        validate(options),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(environmentsLayer({ specs: [] })),
      )
      for (const v of results) {
        const pull = expected().pulls.find((p) => p.instance_id === v.result.instance_id)
        expect(v.result.kept).toBe(true)
        expect(sorted(v.result.FAIL_TO_PASS)).toEqual(expectedIds(pull?.FAIL_TO_PASS))
        expect(sorted(v.result.PASS_TO_PASS)).toEqual(expectedIds(pull?.PASS_TO_PASS))
      }
      expect(results).toHaveLength(inventory.length)
    }).pipe(Effect.provide(Layer.mergeAll(dockerLayer(), storeLayer(join(tempDir("swe-gym-validate-"), "g.duckdb")), NodeContext.layer))), 600_000)

  it.live("a repository without a mirror ends as environment_failed and is not stored", () =>
    Effect.gen(function* () {
      const [candidate] = candidates
      if (candidate === undefined) throw new Error("a candidate expected")
      const missing = { ...candidate, instance_id: "nowhere__repo-1", repo: "nowhere/repo" }
      const results = yield* Stream.make(missing).pipe(
        validate(),
        Stream.runCollect,
        Effect.provide(environmentsLayer({
          mirrors: (repo) => Effect.fail(new MirrorNotFound({ repo, dir: "/exports", reason: `no export of ${repo}`, hint: "" })),
        })),
      )
      const [r] = Chunk.toReadonlyArray(results)
      expect(r?.result).toMatchObject({ kept: false, reason: "environment_failed" })
      expect(r?.result.detail).toContain("no export of nowhere/repo")
      expect(Option.isNone(yield* findValidation(r?.result.key ?? ""))).toBe(true)
    }).pipe(Effect.provide(Layer.mergeAll(dockerLayer(), storeLayer(join(tempDir("swe-gym-validate-"), "v.duckdb")), NodeContext.layer))), 120_000)
})

describe("validate prepares ahead (Docker)", () => {
  const runTracked = (prepareAhead: number, o: Overlap = { live: 0, maxLive: 0, tests: 0, maxTests: 0 }) =>
    Effect.gen(function* () {
      const specs = yield* loadSpecs(specsDir)
      const candidates = assignSetupCommits(sampleCandidates()).filter((c) => c.repo === "sample/calc")
      const results = yield* Stream.fromIterable(candidates).pipe(
        validate({ concurrency: 1, prepareAhead }),
        Stream.runCollect,
        Effect.provide(environmentsLayer({ specs })),
      )
      // In id order: verdicts leave the stage as they finish.
      const verdicts = Chunk.toReadonlyArray(results)
        .map((v) => [v.result.instance_id, v.result.reason, v.result.FAIL_TO_PASS, v.result.PASS_TO_PASS] as const)
        .sort(([a], [b]) => a.localeCompare(b))
      return { o, verdicts }
    }).pipe(Effect.provide(Layer.mergeAll(dockerLayer({ created: 0 }, undefined, trackOverlap(o)), storeLayer(join(tempDir("swe-gym-ahead-"), "v.duckdb")), NodeContext.layer)))

  it.live("at concurrency 1 the next candidate's container is prepared while one runs its tests; never two test runs at once; the same verdicts", () =>
    Effect.gen(function* () {
      const ahead = yield* runTracked(1)
      const inSlot = yield* runTracked(0)
      expect(ahead.verdicts).toHaveLength(3)
      expect(ahead.verdicts).toEqual(inSlot.verdicts)
      expect(ahead.o.maxTests).toBe(1)
      expect(ahead.o.maxLive).toBe(2)
      expect(inSlot.o).toMatchObject({ maxTests: 1, maxLive: 1 })
    }), 300_000)
})

describe("validate emits verdicts as they finish (Docker)", () => {
  it.live("a fast candidate's verdict is not held behind a slow one ahead of it", () =>
    Effect.gen(function* () {
      const calc = assignSetupCommits(sampleCandidates()).filter((c) => c.repo === "sample/calc").slice(0, 2)
      const [first, second] = calc
      if (first === undefined || second === undefined) throw new Error("the sample has no two calc candidates")
      // The first one's fix also sleeps 8 s on import: its runs after the gold patch end long after the second's.
      const slow = { ...first, patch: patchOf(first, (d) => appendIn(d, "calc/__init__.py", "import time\ntime.sleep(8)\n"), { withGold: true }) }
      const verdicts = yield* run([slow, second], { concurrency: 2 }, { created: 0 }, join(tempDir("swe-gym-validate-order-"), "v.duckdb"))
      expect(verdicts.map((v) => v.result.instance_id)).toEqual([second.instance_id, slow.instance_id])
      expect(verdicts.map((v) => v.result.kept)).toEqual([true, true])
    }), 900_000)
})
