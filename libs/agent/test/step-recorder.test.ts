// The step recorder on a real DuckDB file: each step is in the synced journal when `record` returns, without waiting
// for any INSERT; the background writer copies steps into agent_steps, many per INSERT; a crash's journal is replayed
// by the next recorder (only the rollout's current attempt, no row twice, a torn last line dropped); a failed INSERT
// stops the recorder with the rows kept for the next run; committed segments are deleted. In memory (no file to
// replay), `record` waits for its step's commit.
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Deferred, Effect, Exit, Fiber, Layer, Schema } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { AgentStep } from "../src/agent-loop.js"
import { agentMigrations, beginAttempt, type RolloutIdentity, rolloutSteps } from "../src/rollout-store.js"
import { makeStepRecorder, makeStepRecorderWith, stepJournalDir } from "../src/step-recorder.js"
import { tempDir } from "./agent-fixtures.js"

const stepAt = (index: number, padding = ""): AgentStep => {
  const message = { role: "assistant" as const, content: `step ${index}${padding}` }
  return {
    index,
    started_at: new Date(Date.UTC(2024, 0, 1, 0, 0, index)).toISOString(),
    llm_ms: 1000,
    tools_ms: 10,
    finish_reason: "tool_calls",
    assistant: message,
    observations: [{ role: "tool", tool_call_id: `call_${index}`, content: "ok" }],
    actions: [{ tool_call_id: `call_${index}`, name: "execute_bash", arguments: `{"command":"echo ${index}"}`, valid: true, is_error: false }],
    format_error: false,
    llm_call: {
      model: "m",
      tool_mode: "native",
      request: { model: "m", messages: [{ role: "user", content: "go" }] },
      response: { choices: [{ message }] },
      latency_ms: 1000,
      attempts: 1,
      started_at: new Date(Date.UTC(2024, 0, 1)).toISOString(),
    },
  }
}

const identity = (key: string): RolloutIdentity => ({
  rollout_key: key,
  instance_id: `calc__${key}`,
  sample: 0,
  agent: "default",
  config_hash: "h",
  model: "m",
  temperature: 0,
  run_id: "run-1",
})

/**
 * The real store on `path`, with INSERTs into agent_steps counted and, while `gate` is not done, held back (a slow or
 * stuck database), and failing while `broken.on` is set.
 */
const storeOn = (
  path: string,
  inserts: { n: number } = { n: 0 },
  gate?: Deferred.Deferred<void>,
  broken: { on: boolean } = { on: false },
) =>
  Layer.effect(
    Store,
    Effect.map(Store, (store) => ({
      ...store,
      run: (sql: string, params?: Parameters<typeof store.run>[1]) => {
        if (!sql.trimStart().startsWith("INSERT INTO agent_steps")) return store.run(sql, params)
        inserts.n += 1
        const run = broken.on ? store.run("INSERT INTO no_such_table VALUES (1)") : store.run(sql, params)
        return gate === undefined ? run : Effect.zipRight(Deferred.await(gate), run)
      },
    })),
  ).pipe(Layer.provideMerge(Store.layer({ path, migrations: agentMigrations })))

const dbPath = () => join(tempDir("swe-gym-steps-"), "rollouts.duckdb")

const count = (sql: string, params: ReadonlyArray<string | number> = []) =>
  Effect.flatMap(Store, (store) => store.query(sql, params, Schema.Struct({ n: Schema.Number }))).pipe(Effect.map((rows) => rows[0]?.n ?? -1))

/** The journal's lines (every segment, in order). */
const journalLines = (db: string): Array<ReadonlyArray<unknown>> => {
  const dir = stepJournalDir(db)
  if (!existsSync(dir)) return []
  return readdirSync(dir).sort().flatMap((name) =>
    readFileSync(join(dir, name), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as ReadonlyArray<unknown>)
  )
}

describe("step recorder", () => {
  it.live("32 rollouts recording at once: each step is in the journal when record returns, every step lands once, INSERTs are shared", () => {
    const db = dbPath()
    const inserts = { n: 0 }
    return Effect.gen(function*() {
      const recorder = yield* makeStepRecorder
      const rollouts = 32
      const steps = 5
      yield* Effect.forEach(
        Array.from({ length: rollouts }, (_, r) => `rollout-${r}`),
        (key) =>
          Effect.forEach(Array.from({ length: steps }, (_, i) => i), (i) =>
            Effect.gen(function*() {
              yield* recorder.record(key, 1, stepAt(i))
              // Acknowledged means durable: the line is in the journal at once.
              expect(journalLines(db).filter((l) => l[0] === key && l[1] === i)).toHaveLength(1)
            })),
        { concurrency: "unbounded", discard: true },
      )
      yield* recorder.flush
      expect(yield* count("SELECT count(*)::INTEGER AS n FROM agent_steps")).toBe(rollouts * steps)
      expect(yield* count("SELECT count(DISTINCT (rollout_key, step))::INTEGER AS n FROM agent_steps")).toBe(rollouts * steps)
      const read = yield* rolloutSteps("rollout-7")
      expect(read.map((s) => s.index)).toEqual([0, 1, 2, 3, 4])
      expect(read[3]).toEqual(stepAt(3))
      // One statement per step would be 160.
      expect(inserts.n).toBeGreaterThan(0)
      expect(inserts.n).toBeLessThanOrEqual((rollouts * steps) / 2)
    }).pipe(
      Effect.scoped,
      Effect.zipRight(Effect.sync(() => expect(existsSync(stepJournalDir(db))).toBe(false))),
      Effect.provide(storeOn(db, inserts)),
    )
  })

  it.live("record does not wait for the database: with every INSERT held back, steps are acknowledged from the journal, and land once it answers", () => {
    const db = dbPath()
    return Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      yield* Effect.gen(function*() {
        const recorder = yield* makeStepRecorder
        yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) => recorder.record("k", 1, stepAt(i)), { concurrency: "unbounded", discard: true })
        expect(journalLines(db).map((l) => l[1]).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
        expect(yield* count("SELECT count(*)::INTEGER AS n FROM agent_steps")).toBe(0)
        yield* Deferred.succeed(gate, undefined)
        yield* recorder.flush
        expect((yield* rolloutSteps("k")).map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      }).pipe(Effect.scoped, Effect.provide(storeOn(db, { n: 0 }, gate)))
    })
  })

  it.live("interrupted callers: each step handed over is in the journal when the interruption returns, and in the table after close", () => {
    const db = dbPath()
    return Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      yield* Effect.gen(function*() {
        const recorder = yield* makeStepRecorder
        const fibers = yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), (i) => Effect.fork(recorder.record("k", 1, stepAt(i))))
        yield* Effect.yieldNow()
        yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
        const journaled = journalLines(db).map((l) => l[1] as number).sort()
        yield* Deferred.succeed(gate, undefined)
        return journaled
      }).pipe(
        Effect.scoped,
        Effect.flatMap((journaled) =>
          Effect.gen(function*() {
            // Closing the recorder wrote everything journaled, and the journal is gone.
            expect(existsSync(stepJournalDir(db))).toBe(false)
            const stored = (yield* rolloutSteps("k")).map((s) => s.index)
            expect(stored).toEqual(journaled)
          })
        ),
        Effect.provide(storeOn(db, { n: 0 }, gate)),
      )
    })
  })

  it.live("a crash's journal is replayed by the next recorder: the current attempt only, no row twice, the torn last line dropped", () => {
    const db = dbPath()
    const dir = stepJournalDir(db)
    const line = (key: string, step: number, attempt: number) =>
      JSON.stringify([key, step, attempt, "2024-01-01T00:00:00.000Z", JSON.stringify(stepAt(step))])
    return Effect.gen(function*() {
      const store = yield* Store
      // Rollout "a" is at attempt 2 (attempt 1's steps were deleted when it began); "b" has step 0 in the table already
      // (the crash came after the commit, before the segment was deleted); "c" has no row (never begun): nothing goes in.
      yield* beginAttempt(identity("a"), 1)
      yield* beginAttempt(identity("a"), 2)
      yield* beginAttempt(identity("b"), 1)
      yield* store.run(
        "INSERT INTO agent_steps (rollout_key, step, attempt, recorded_at, record) VALUES (?, ?, ?, ?, ?)",
        ["b", 0, 1, "2024-01-01T00:00:00.000Z", JSON.stringify(stepAt(0))],
      )
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, "segment-000001.jsonl"), [line("a", 0, 1), line("a", 1, 1), line("b", 0, 1), line("a", 0, 2)].join("\n") + "\n")
      // The last line of the newest segment was being written when the process died.
      writeFileSync(join(dir, "segment-000002.jsonl"), [line("a", 1, 2), line("b", 1, 1), line("c", 0, 1)].join("\n") + "\n" + line("a", 2, 2).slice(0, 40))

      yield* Effect.scoped(Effect.gen(function*() {
        const recorder = yield* makeStepRecorder
        // Replayed before anything else; the old segments are gone, new steps go to a new one.
        expect(readdirSync(dir)).toEqual([])
        yield* recorder.record("b", 1, stepAt(2))
        expect(readdirSync(dir)).toEqual(["segment-000003.jsonl"])
      }))
      const rows = yield* store.query(
        "SELECT rollout_key, step, attempt FROM agent_steps ORDER BY rollout_key, step, attempt",
        [],
        Schema.Struct({ rollout_key: Schema.String, step: Schema.Number, attempt: Schema.Number }),
      )
      expect(rows.map((r) => `${r.rollout_key}:${r.step}@${r.attempt}`)).toEqual(["a:0@2", "a:1@2", "b:0@1", "b:1@1", "b:2@1"])
      expect(existsSync(dir)).toBe(false)
    }).pipe(Effect.provide(storeOn(db)))
  })

  it.live("a journal line that is not a step record (not the last one) is an error naming the file and line; nothing is deleted", () => {
    const db = dbPath()
    const dir = stepJournalDir(db)
    mkdirSync(dir, { recursive: true })
    const file = join(dir, "segment-000001.jsonl")
    writeFileSync(file, `{"not": "a step"}\n${JSON.stringify(["a", 0, 1, "t", "{}"])}\n`)
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(makeStepRecorder))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("StepJournalFailed")
      expect(error?.message).toContain(file)
      expect(error?.message).toContain("line 1")
      expect(existsSync(file)).toBe(true)
    }).pipe(Effect.provide(storeOn(db)))
  })

  it.live("a failed INSERT stops the recorder: later record and flush fail with QueryFailed, and the next recorder replays the rows kept in the journal", () => {
    const db = dbPath()
    const broken = { on: true }
    return Effect.gen(function*() {
      yield* beginAttempt(identity("k"), 1)
      yield* Effect.scoped(Effect.gen(function*() {
        const recorder = yield* makeStepRecorder
        yield* recorder.record("k", 1, stepAt(0))
        const flushed = yield* Effect.exit(recorder.flush)
        expect(Exit.isFailure(flushed) && flushed.cause._tag === "Fail" ? flushed.cause.error._tag : "no failure").toBe("QueryFailed")
        const recorded = yield* Effect.exit(recorder.record("k", 1, stepAt(1)))
        expect(Exit.isFailure(recorded) && recorded.cause._tag === "Fail" ? recorded.cause.error._tag : "no failure").toBe("QueryFailed")
      }))
      expect(journalLines(db).map((l) => l[1])).toEqual([0])
      expect(yield* count("SELECT count(*)::INTEGER AS n FROM agent_steps")).toBe(0)
      broken.on = false
      yield* Effect.scoped(makeStepRecorder)
      expect((yield* rolloutSteps("k")).map((s) => s.index)).toEqual([0])
      expect(existsSync(stepJournalDir(db))).toBe(false)
    }).pipe(Effect.provide(storeOn(db, { n: 0 }, undefined, broken)))
  })

  it.live("a segment is deleted once its rows are committed and a newer one is being written", () => {
    const db = dbPath()
    return Effect.gen(function*() {
      const recorder = yield* makeStepRecorderWith({ segmentBytes: 4096 })
      for (let i = 0; i < 12; i++) {
        yield* recorder.record("k", 1, stepAt(i, "x".repeat(1500)))
        yield* recorder.flush
      }
      // Twelve steps of ~2 KB fill several 4 KB segments; only the one being written remains.
      const left = readdirSync(stepJournalDir(db))
      expect(left).toHaveLength(1)
      expect(left[0]).not.toBe("segment-000001.jsonl")
      expect((yield* rolloutSteps("k")).map((s) => s.index)).toEqual(Array.from({ length: 12 }, (_, i) => i))
    }).pipe(Effect.scoped, Effect.provide(storeOn(db)))
  })

  it.live("in memory there is no journal: record returns once its step is committed, and steps share INSERTs", () => {
    const inserts = { n: 0 }
    return Effect.gen(function*() {
      const recorder = yield* makeStepRecorder
      yield* Effect.forEach(Array.from({ length: 32 }, (_, r) => `rollout-${r}`), (key) =>
        Effect.forEach(Array.from({ length: 3 }, (_, i) => i), (i) =>
          Effect.gen(function*() {
            yield* recorder.record(key, 1, stepAt(i))
            expect(yield* count("SELECT count(*)::INTEGER AS n FROM agent_steps WHERE rollout_key = ? AND step = ?", [key, i])).toBe(1)
          })), { concurrency: "unbounded", discard: true })
      expect(inserts.n).toBeLessThanOrEqual(48)
    }).pipe(Effect.scoped, Effect.provide(storeOn(":memory:", inserts)))
  })
})
