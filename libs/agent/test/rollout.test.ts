// The rollout stage on real containers and a real DuckDB file, with a scripted model: k samples and the temperature
// schedule, bounded containers and LLM requests, resume after a crash, infrastructure faults.
import { describe, expect, it } from "@effect/vitest"
import type { RolloutTrajectory, TaskInstance } from "@swe-gym/domain"
import { type ChatRequest, LlmClient, LlmUnavailable } from "@swe-gym/llm"
import type { Sandbox } from "@swe-gym/sandbox"
import { Store } from "@swe-gym/store"
import { Chunk, Deferred, Effect, Fiber, Layer, Ref, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import { join } from "node:path"
import { type RolloutEvent, rollout, type RolloutOptions, type Verification } from "../src/rollout.js"
import { agentMigrations } from "../src/rollout-store.js"
import { args, completion, defaultConfig, dockerLayer, makeTestRepo, prepareTestbed, tempDir, testInstance } from "./agent-fixtures.js"

const repo = makeTestRepo()
const instances: ReadonlyArray<TaskInstance> = [testInstance(repo, "calc__calc-1"), testInstance(repo, "calc__calc-2")]
const docker = dockerLayer()

const fix = ["str_replace_editor", args({ command: "str_replace", path: "/testbed/calc/ops.py", old_str: "def add(a, b):\n    return a - b", new_str: "def add(a, b):\n    return a + b" })] as const

/** A model that fixes then finishes, recording what it was asked and how many requests overlapped. */
const recordingLlm = (seen: Array<ChatRequest>, inFlight: { now: number; max: number }, fail?: (request: ChatRequest) => boolean) =>
  Layer.succeed(LlmClient, {
    model: "scripted-model",
    complete: (request) =>
      Effect.gen(function*() {
        seen.push(request)
        if (fail?.(request) === true) {
          return yield* new LlmUnavailable({ model: "scripted-model", baseUrl: "http://127.0.0.1:9", reason: "connection", attempts: 3, message: "ECONNREFUSED", hint: "" })
        }
        // Counted down even when interrupted (the crash below interrupts calls in flight).
        yield* Effect.sync(() => {
          inFlight.now++
          inFlight.max = Math.max(inFlight.max, inFlight.now)
        }).pipe(Effect.zipRight(Effect.sleep("50 millis")), Effect.ensuring(Effect.sync(() => inFlight.now--)))
        const turn = request.messages.filter((m) => m.role === "assistant").length
        return completion(request, { calls: [turn === 0 ? fix : ["finish", "{}"]] })
      }),
  })

/** Verification by the patch text (the harness's evaluate is wired by the runner), counting its calls. */
const verifyBy = (calls: Ref.Ref<number>) => (_: TaskInstance, patch: string) =>
  Effect.as(Ref.update(calls, (n) => n + 1), {
    resolved: patch.includes("+    return a + b"),
    failure_class: patch.includes("+    return a + b") ? "resolved" : "unresolved",
    evaluation_key: createHash("sha256").update(patch).digest("hex"),
  } satisfies Verification)

/**
 * A model that fixes then finishes, running `before` first on every call (with the call's instance id and turn): the
 * tests below hold or watch calls there.
 */
const fixThenFinish = (before: (id: string, turn: number) => Effect.Effect<void>) =>
  Layer.succeed(LlmClient, {
    model: "scripted-model",
    complete: (request) =>
      Effect.gen(function*() {
        const turn = request.messages.filter((m) => m.role === "assistant").length
        yield* before(request.label?.split("/")[0] ?? "", turn)
        return completion(request, { calls: [turn === 0 ? fix : ["finish", "{}"]] })
      }),
  })

/** Waits for `done` (at most 20 s): whether it came in time. */
const cameInTime = (done: Deferred.Deferred<void>) =>
  Deferred.await(done).pipe(Effect.timeout("20 seconds"), Effect.as(true), Effect.orElseSucceed(() => false))

const storeAt = (path: string) => Store.layer({ path, migrations: agentMigrations })

const keyOf = (t: RolloutTrajectory) => `${t.instance_id}#${t.sample}`

describe("rollout stage", () => {
  it.scopedLive("k samples with the temperature schedule; a crash mid-run, then re-runs: every (instance, sample) exactly once", () =>
    Effect.gen(function*() {
      const config = yield* defaultConfig()
      const db = join(tempDir("swe-gym-rollout-"), "rollouts.duckdb")
      const seen: Array<ChatRequest> = []
      const inFlight = { now: 0, max: 0 }
      const live = { now: 0, max: 0 }
      const verifyCalls = yield* Ref.make(0)
      const options = (onEvent: (e: RolloutEvent) => Effect.Effect<void>): RolloutOptions<unknown, Sandbox, never, never> => ({
        config,
        runId: "test-run",
        samples: 2,
        concurrency: 2,
        // Every container in an agent slot (the prepared-ahead bound has its own test).
        prepareAhead: 0,
        llmConcurrency: 1,
        prepare: (instance) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              live.max = Math.max(live.max, ++live.now)
            }),
            () => Effect.sync(() => live.now--),
          ).pipe(Effect.zipRight(prepareTestbed(repo)), Effect.tap(() => Effect.annotateCurrentSpan("instance", instance.instance_id))),
        verify: verifyBy(verifyCalls),
        onEvent,
      })
      // The second listing of an instance is dropped (it would race the first for the same keys).
      const run = (onEvent: (e: RolloutEvent) => Effect.Effect<void>) =>
        Stream.fromIterable([...instances, ...instances.slice(0, 1)]).pipe(rollout(options(onEvent)), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      const env = Layer.mergeAll(docker, storeAt(db), recordingLlm(seen, inFlight))

      // Run 1 "crashes" once the fifth step is recorded (mid-rollout: 2 steps per rollout).
      const steps = yield* Ref.make(0)
      const crash = yield* Deferred.make<void>()
      const first = yield* Effect.fork(
        run((e) => e._tag === "RolloutStep" ? Ref.updateAndGet(steps, (n) => n + 1).pipe(Effect.flatMap((n) => n === 5 ? Deferred.succeed(crash, undefined) : Effect.void)) : Effect.void)
          .pipe(Effect.provide(env)),
      )
      yield* Deferred.await(crash)
      yield* Fiber.interrupt(first)
      const afterCrash = yield* Effect.gen(function*() {
        const store = yield* Store
        return yield* store.query("SELECT status, count(*)::INTEGER AS n FROM agent_rollouts GROUP BY status", [], Schema.Struct({ status: Schema.String, n: Schema.Number }))
      }).pipe(Effect.provide(storeAt(db)))
      const verifiedBefore = afterCrash.find((r) => r.status === "verified")?.n ?? 0
      expect(verifiedBefore).toBeGreaterThanOrEqual(1)
      expect(afterCrash.find((r) => r.status === "running")?.n ?? 0).toBeGreaterThanOrEqual(1)
      const verifiesBefore = yield* Ref.get(verifyCalls)

      // Run 2: the finished ones come from the store, the rest (unfinished or never started) run from scratch.
      const events: Array<RolloutEvent> = []
      const out = yield* run((e) => Effect.sync(() => events.push(e))).pipe(Effect.provide(env))
      expect(out.map(keyOf).sort()).toEqual(["calc__calc-1#0", "calc__calc-1#1", "calc__calc-2#0", "calc__calc-2#1"])
      expect(events.filter((e) => e._tag === "RolloutResumed")).toHaveLength(verifiedBefore)
      expect(yield* Ref.get(verifyCalls)).toBe(verifiesBefore + 4 - verifiedBefore)
      for (const t of out) {
        expect(t.exit_reason).toBe("submitted")
        expect(t.resolved).toBe(true)
        expect(t.temperature).toBe(t.sample === 0 ? 0 : 0.5)
        expect(t.config_hash).toMatch(/^[0-9a-f]{16}$/)
        expect(t.model_name_or_path).toBe("scripted-model")
      }
      // The model saw each sample's temperature.
      for (const request of seen) expect(request.temperature).toBe(request.label?.split("/")[1] === "0" ? 0 : 0.5)
      expect(inFlight.max).toBe(1)
      expect(live.max).toBeLessThanOrEqual(2)

      // The store: one row per (instance, sample), verified, each with steps 0 and 1 once.
      const rows = yield* Effect.gen(function*() {
        const store = yield* Store
        const rollouts = yield* store.query(
          "SELECT rollout_key, instance_id, sample, status, attempt FROM agent_rollouts ORDER BY instance_id, sample",
          [],
          Schema.Struct({ rollout_key: Schema.String, instance_id: Schema.String, sample: Schema.Number, status: Schema.String, attempt: Schema.Number }),
        )
        const stepRows = yield* store.query(
          "SELECT rollout_key, list(step ORDER BY step) AS steps FROM agent_steps GROUP BY rollout_key",
          [],
          Schema.Struct({ rollout_key: Schema.String, steps: Schema.Array(Schema.Number) }),
        )
        return { rollouts, stepRows }
      }).pipe(Effect.provide(storeAt(db)))
      expect(rows.rollouts.map((r) => `${r.instance_id}#${r.sample}:${r.status}`)).toEqual([
        "calc__calc-1#0:verified",
        "calc__calc-1#1:verified",
        "calc__calc-2#0:verified",
        "calc__calc-2#1:verified",
      ])
      expect(rows.rollouts.some((r) => r.attempt === 2)).toBe(true)
      expect(rows.stepRows).toHaveLength(4)
      for (const r of rows.stepRows) expect(r.steps).toEqual([0, 1])

      // Run 3: nothing left to do.
      const again: Array<RolloutEvent> = []
      const verifies = yield* Ref.get(verifyCalls)
      const third = yield* run((e) => Effect.sync(() => again.push(e))).pipe(Effect.provide(env))
      expect(third.map(keyOf).sort()).toEqual(out.map(keyOf).sort())
      expect(again.map((e) => e._tag)).toEqual(["RolloutResumed", "RolloutResumed", "RolloutResumed", "RolloutResumed"])
      expect(yield* Ref.get(verifyCalls)).toBe(verifies)
    }), 600_000)

  it.scopedLive("infrastructure faults retry the whole rollout, then end it as infrastructure_error (not verified, run again next time)", () =>
    Effect.gen(function*() {
      const config = yield* defaultConfig()
      const db = join(tempDir("swe-gym-rollout-"), "rollouts.duckdb")
      const prepares = new Map<string, number>()
      const verifyCalls = yield* Ref.make(0)
      const flaky = testInstance(repo, "calc__flaky-1")
      const broken = testInstance(repo, "calc__broken-1")
      const unreachable = testInstance(repo, "calc__llm-down-1")
      const unverifiable = testInstance(repo, "calc__eval-down-1")
      let evaluationUp = false
      const events: Array<RolloutEvent> = []
      const run = Stream.fromIterable([flaky, broken, unreachable, unverifiable]).pipe(
        rollout({
          config,
          runId: "test-run",
          concurrency: 1,
          prepareAhead: 0,
          retries: 2,
          retryBase: "10 millis",
          prepare: (instance) =>
            Effect.gen(function*() {
              const n = (prepares.get(instance.instance_id) ?? 0) + 1
              prepares.set(instance.instance_id, n)
              if (instance === broken || (instance === flaky && n <= 2)) return yield* Effect.fail(new Error(`engine hiccup ${n}`))
              return yield* prepareTestbed(repo)
            }),
          verify: (instance, patch) =>
            instance === unverifiable && !evaluationUp
              ? Effect.as(Ref.update(verifyCalls, (n) => n + 1), { resolved: false, failure_class: "infrastructure_failure", evaluation_key: "k" })
              : verifyBy(verifyCalls)(instance, patch),
          onEvent: (e) => Effect.sync(() => events.push(e)),
        }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Layer.mergeAll(docker, storeAt(db), recordingLlm([], { now: 0, max: 0 }, (r) => r.label?.startsWith("calc__llm-down-1") === true))),
      )
      const out = yield* run
      const byId = new Map(out.map((t) => [t.instance_id, t]))
      expect(byId.get(flaky.instance_id)).toMatchObject({ exit_reason: "submitted", attempts: 3, resolved: true })
      expect(byId.get(broken.instance_id)).toMatchObject({ exit_reason: "infrastructure_error", attempts: 3 })
      expect(byId.get(broken.instance_id)?.exit_detail).toContain("engine hiccup 3")
      expect(byId.get(broken.instance_id)?.resolved).toBeUndefined()
      expect(byId.get(unreachable.instance_id)).toMatchObject({ exit_reason: "infrastructure_error", attempts: 3 })
      expect(byId.get(unreachable.instance_id)?.exit_detail).toContain("llm failed")
      expect(byId.get(unverifiable.instance_id)).toMatchObject({ exit_reason: "submitted", resolved: false, failure_class: "infrastructure_failure" })
      expect(yield* Ref.get(verifyCalls)).toBe(2)
      expect(events.filter((e) => e._tag === "RolloutRetrying").map((e) => e._tag === "RolloutRetrying" ? e.instance_id : "")).toEqual([
        flaky.instance_id,
        flaky.instance_id,
        broken.instance_id,
        broken.instance_id,
        unreachable.instance_id,
        unreachable.instance_id,
      ])

      // A later run tries the infrastructure errors again, verifies the unverified patch again (without running its
      // agent), and answers the finished one from the store.
      events.length = 0
      evaluationUp = true
      const second = yield* run
      expect(events.filter((e) => e._tag === "RolloutResumed").map((e) => e._tag === "RolloutResumed" ? e.trajectory.instance_id : "")).toEqual([flaky.instance_id])
      expect(prepares.get(broken.instance_id)).toBe(6)
      expect(prepares.get(unverifiable.instance_id)).toBe(1)
      expect(second.find((t) => t.instance_id === unverifiable.instance_id)).toMatchObject({ resolved: true, failure_class: "resolved" })
      expect(yield* Ref.get(verifyCalls)).toBe(3)
    }), 600_000)

  it.scopedLive("the container is prepared while the first LLM call is in flight; a failed preparation cancels that call", () =>
    Effect.gen(function*() {
      const config = yield* defaultConfig()
      const db = join(tempDir("swe-gym-rollout-"), "rollouts.duckdb")
      const overlapped = testInstance(repo, "calc__overlap-1")
      const doomed = testInstance(repo, "calc__doomed-1")
      const callStarted = new Map([[overlapped.instance_id, yield* Deferred.make<void>()], [doomed.instance_id, yield* Deferred.make<void>()]])
      const startedOf = (id: string): Deferred.Deferred<void> => {
        const started = callStarted.get(id)
        if (started === undefined) throw new Error(`no instance ${id} in this test`)
        return started
      }
      let doomedCallCancelled = false
      const llm = fixThenFinish((id, turn) =>
        Effect.gen(function*() {
          if (turn === 0) yield* Deferred.succeed(startedOf(id), undefined)
          // The doomed rollout's first call takes long; it must be cancelled when the preparation fails, not awaited.
          if (id === doomed.instance_id) yield* Effect.sleep("30 seconds").pipe(Effect.onInterrupt(() => Effect.sync(() => void (doomedCallCancelled = true))))
        })
      )
      const out = yield* Stream.fromIterable([overlapped, doomed]).pipe(
        rollout({
          config,
          runId: "test-run",
          concurrency: 1,
          retries: 0,
          // Each preparation waits for its rollout's first LLM call to have started: run one after the other, the
          // first would time out and the rollout end as an infrastructure error.
          prepare: (instance) =>
            Deferred.await(startedOf(instance.instance_id)).pipe(
              Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`${instance.instance_id}: the first LLM call never started during the preparation`) }),
              Effect.zipRight(instance === doomed ? Effect.fail(new Error("engine hiccup")) : prepareTestbed(repo)),
            ),
          verify: verifyBy(yield* Ref.make(0)),
        }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Layer.mergeAll(docker, storeAt(db), llm)),
      )
      const byId = new Map(out.map((t) => [t.instance_id, t]))
      expect(byId.get(overlapped.instance_id)).toMatchObject({ exit_reason: "submitted", resolved: true, attempts: 1, turns: 2 })
      expect(byId.get(doomed.instance_id)).toMatchObject({ exit_reason: "infrastructure_error", attempts: 1 })
      expect(byId.get(doomed.instance_id)?.exit_detail).toContain("prepare failed: engine hiccup")
      expect(doomedCallCancelled).toBe(true)
    }), 600_000)

  it.scopedLive("prepared ahead: while the agent slot is busy the next rollout's container is made; containers stay within concurrency + prepareAhead, agents within concurrency", () =>
    Effect.gen(function*() {
      const config = yield* defaultConfig()
      const db = join(tempDir("swe-gym-rollout-"), "rollouts.duckdb")
      const three = [testInstance(repo, "calc__ahead-1"), testInstance(repo, "calc__ahead-2"), testInstance(repo, "calc__ahead-3")]
      const secondReady = yield* Deferred.make<void>()
      let secondReadyDuringFirst = false
      const live = { now: 0, max: 0 }
      const inFlight = { now: 0, max: 0 }
      const llm = fixThenFinish((id, turn) =>
        Effect.gen(function*() {
          inFlight.max = Math.max(inFlight.max, ++inFlight.now)
          // The first rollout's last call waits (at most 20 s) for the second rollout's container: it is made only if
          // preparation runs ahead of the agent slot, which the first rollout holds until it ends.
          if (id === "calc__ahead-1" && turn === 1) secondReadyDuringFirst = yield* cameInTime(secondReady)
        }).pipe(Effect.ensuring(Effect.sync(() => inFlight.now--)))
      )
      const out = yield* Stream.fromIterable(three).pipe(
        rollout({
          config,
          runId: "test-run",
          concurrency: 1,
          prepareAhead: 1,
          llmConcurrency: 4,
          prepare: (instance) =>
            Effect.acquireRelease(Effect.sync(() => void (live.max = Math.max(live.max, ++live.now))), () => Effect.sync(() => live.now--)).pipe(
              Effect.zipRight(prepareTestbed(repo)),
              Effect.tap(() => (instance.instance_id === "calc__ahead-2" ? Deferred.succeed(secondReady, undefined) : Effect.void)),
            ),
          verify: verifyBy(yield* Ref.make(0)),
        }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Layer.mergeAll(docker, storeAt(db), llm)),
      )
      expect(out.map((t) => [t.instance_id, t.exit_reason, t.resolved])).toEqual(expect.arrayContaining(three.map((i) => [i.instance_id, "submitted", true])))
      expect(out).toHaveLength(3)
      expect(secondReadyDuringFirst).toBe(true)
      // One agent at a time (the LLM allowed 4 requests), at most two containers (one in the slot, one ahead).
      expect(inFlight.max).toBe(1)
      expect(live.max).toBe(2)
    }), 600_000)

  it.scopedLive("preparations run at most prepareConcurrency at once, apart from the agent slots", () =>
    Effect.gen(function*() {
      const config = yield* defaultConfig()
      const db = join(tempDir("swe-gym-rollout-"), "rollouts.duckdb")
      const four = Array.from({ length: 4 }, (_, i) => testInstance(repo, `calc__lane-${i + 1}`))
      const preparing = { now: 0, max: 0 }
      const events: Array<RolloutEvent> = []
      const out = yield* Stream.fromIterable(four).pipe(
        rollout({
          config,
          runId: "test-run",
          concurrency: 4,
          prepareConcurrency: 1,
          prepare: () =>
            Effect.sync(() => void (preparing.max = Math.max(preparing.max, ++preparing.now))).pipe(
              Effect.zipRight(prepareTestbed(repo)),
              Effect.ensuring(Effect.sync(() => void preparing.now--)),
            ),
          verify: verifyBy(yield* Ref.make(0)),
          onEvent: (e) => Effect.sync(() => void events.push(e)),
        }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Layer.mergeAll(docker, storeAt(db), recordingLlm([], { now: 0, max: 0 }))),
      )
      expect(out.map((t) => [t.exit_reason, t.resolved])).toEqual(four.map(() => ["submitted", true]))
      expect(preparing.max).toBe(1)
      // The agents were not held to one: all four had started before the first one finished.
      const firstFinished = events.findIndex((e) => e._tag === "RolloutFinished")
      expect(events.slice(0, firstFinished).filter((e) => e._tag === "RolloutStarted")).toHaveLength(4)
    }), 600_000)

  it.scopedLive("a preparation that fails while its rollout waits for an agent slot ends that attempt at once", () =>
    Effect.gen(function*() {
      const config = yield* defaultConfig()
      const db = join(tempDir("swe-gym-rollout-"), "rollouts.duckdb")
      const busy = testInstance(repo, "calc__busy-1")
      const doomed = testInstance(repo, "calc__doomed-2")
      const doomedDone = yield* Deferred.make<void>()
      let doomedEndedWhileBusy = false
      // The busy rollout holds the only slot until the doomed one has ended (or 20 s passed).
      const llm = fixThenFinish((id, turn) =>
        id === busy.instance_id && turn === 1 ? Effect.map(cameInTime(doomedDone), (inTime) => void (doomedEndedWhileBusy = inTime)) : Effect.void
      )
      const out = yield* Stream.fromIterable([busy, doomed]).pipe(
        rollout({
          config,
          runId: "test-run",
          concurrency: 1,
          prepareAhead: 1,
          retries: 0,
          prepare: (instance) => (instance === doomed ? Effect.fail(new Error("engine hiccup")) : prepareTestbed(repo)),
          verify: verifyBy(yield* Ref.make(0)),
          onEvent: (e) =>
            e._tag === "RolloutFinished" && e.trajectory.instance_id === doomed.instance_id ? Deferred.succeed(doomedDone, undefined) : Effect.void,
        }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Layer.mergeAll(docker, storeAt(db), llm)),
      )
      // The doomed rollout ended while the busy one still held the only slot.
      expect(doomedEndedWhileBusy).toBe(true)
      const byId = new Map(out.map((t) => [t.instance_id, t]))
      expect(byId.get(doomed.instance_id)).toMatchObject({ exit_reason: "infrastructure_error", attempts: 1 })
      expect(byId.get(busy.instance_id)).toMatchObject({ exit_reason: "submitted", resolved: true })
    }), 600_000)
})
