// kill -9 in the middle of a rollout run, then a re-run on the same database: every (instance, sample) exactly once,
// each with its whole run of steps once, and what was finished before the kill is not run again. (It found that an
// INSERT OR REPLACE on a primary-keyed DuckDB table fails after the WAL's replay: see rollout-store.ts.)
import { describe, expect, it } from "@effect/vitest"
import { startLlmEmulator } from "@swe-gym/llm-emulator"
import { OpenAiLlmClient } from "@swe-gym/llm"
import { removeLeftovers } from "@swe-gym/sandbox"
import { Store } from "@swe-gym/store"
import { Chunk, Effect, Layer, Schema, Stream } from "effect"
import { spawn } from "node:child_process"
import { join, resolve } from "node:path"
import { agentMigrations } from "../src/rollout-store.js"
import { replayStepJournal, stepJournalDir } from "../src/step-recorder.js"
import { type RolloutEvent, rollout } from "../src/rollout.js"
import { defaultConfig, dockerLayer, makeTestRepo, prepareTestbed, tempDir, testInstance, verifyByText } from "./agent-fixtures.js"

const packageDir = resolve(import.meta.dirname, "..")
const viteNode = join(packageDir, "../../node_modules/.bin/vite-node")
const repo = makeTestRepo()
const instances = [testInstance(repo, "calc__calc-1"), testInstance(repo, "calc__calc-2")]

/** Starts the child and SIGKILLs it once it printed `steps` step lines; resolves with its output and signal. */
const runAndKill = (envVars: Record<string, string>, steps: number) =>
  Effect.async<{ readonly stdout: string; readonly stderr: string; readonly signal: string | null }>((resume) => {
    const child = spawn(viteNode, ["--config", "vitest.config.ts", "test/crash-child.ts"], {
      cwd: packageDir,
      env: { ...process.env, ...envVars },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      if (stdout.split("\n").filter((l) => l.startsWith("STEP ")).length >= steps) child.kill("SIGKILL")
    })
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.on("exit", (_code, signal) => resume(Effect.succeed({ stdout, stderr, signal })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const Row = Schema.Struct({ instance_id: Schema.String, sample: Schema.Number, status: Schema.String, steps: Schema.Array(Schema.Number) })
/** The rows as the next run sees them: the killed run's step journal replayed first (as the next recorder does). */
const rowsOf = (db: string) =>
  Effect.gen(function*() {
    const store = yield* Store
    yield* replayStepJournal(stepJournalDir(db))
    return yield* store.query(
      `SELECT r.instance_id, r.sample, r.status, coalesce(list(s.step ORDER BY s.step) FILTER (WHERE s.step IS NOT NULL), []) AS steps
       FROM agent_rollouts r LEFT JOIN agent_steps s USING (rollout_key)
       GROUP BY r.instance_id, r.sample, r.status ORDER BY r.instance_id, r.sample`,
      [],
      Row,
    )
  }).pipe(Effect.provide(Store.layer({ path: db, migrations: agentMigrations })))

describe("crash", () => {
  it.scopedLive("kill -9 mid-run, then a re-run: every (instance, sample) once, finished ones not run again", () =>
    Effect.gen(function*() {
      const emulator = yield* startLlmEmulator({ instances, latencyMs: 200 })
      const db = join(tempDir("swe-gym-crash-"), "rollouts.duckdb")
      const runId = `test-agent-crash-${Date.now()}`
      const killed = yield* runAndKill({ CRASH_DB: db, CRASH_URL: emulator.url, CRASH_RUN: runId }, 10)
      expect(killed.signal, killed.stderr).toBe("SIGKILL")
      // The killed process could not remove its containers: the run's label finds them.
      yield* removeLeftovers({ runId })

      const before = yield* rowsOf(db)
      const done = before.filter((r) => r.status === "verified")
      const unfinished = before.filter((r) => r.status === "running")
      expect(done.length).toBeGreaterThanOrEqual(1)
      expect(unfinished.length).toBeGreaterThanOrEqual(1)
      // Every step the child reported is on disk but (at most) the one in flight per rollout.
      const reported = killed.stdout.split("\n").filter((l) => l.startsWith("STEP ")).length
      const stored = before.reduce((n, r) => n + r.steps.length, 0)
      expect(stored).toBeGreaterThanOrEqual(reported - 2)

      const config = yield* defaultConfig()
      const events: Array<RolloutEvent> = []
      const out = yield* Stream.fromIterable(instances).pipe(
        rollout({
          config,
          runId: "after-crash",
          samples: 2,
          concurrency: 2,
          prepare: () => prepareTestbed(repo),
          verify: verifyByText,
          onEvent: (e) => Effect.sync(() => events.push(e)),
        }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(Layer.mergeAll(
          Store.layer({ path: db, migrations: agentMigrations }),
          OpenAiLlmClient.layer({ baseUrl: emulator.url, model: "oracle" }),
        )),
      )
      expect(out.map((t) => `${t.instance_id}#${t.sample}`).sort()).toEqual(["calc__calc-1#0", "calc__calc-1#1", "calc__calc-2#0", "calc__calc-2#1"])
      expect(out.every((t) => t.exit_reason === "submitted" && t.resolved === true)).toBe(true)
      expect(events.filter((e) => e._tag === "RolloutResumed")).toHaveLength(done.length)

      const after = yield* rowsOf(db)
      expect(after.map((r) => `${r.instance_id}#${r.sample}:${r.status}`)).toEqual([
        "calc__calc-1#0:verified",
        "calc__calc-1#1:verified",
        "calc__calc-2#0:verified",
        "calc__calc-2#1:verified",
      ])
      for (const r of after) expect(r.steps).toEqual(r.steps.map((_, i) => i))
      const turns = new Map(out.map((t) => [`${t.instance_id}#${t.sample}`, t.turns]))
      for (const r of after) expect(r.steps.length).toBe(turns.get(`${r.instance_id}#${r.sample}`))
    }).pipe(Effect.provide(dockerLayer())), 600_000)
})
