// End to end: the rollout stage with the real LLM client (openai package over HTTP) against the loopback emulator's
// policies, real containers, a real DuckDB file, and a real verification (the patch applied to a fresh checkout, the
// tests run).
import { describe, expect, it } from "@effect/vitest"
import type { RolloutTrajectory, TaskInstance } from "@swe-gym/domain"
import { OpenAiLlmClient } from "@swe-gym/llm"
import { startLlmEmulator } from "@swe-gym/llm-emulator"
import type { Sandbox } from "@swe-gym/sandbox"
import { Store } from "@swe-gym/store"
import { Chunk, Effect, Layer, Redacted, Schema, Stream } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { AgentConfig } from "../src/agent-config.js"
import { rolloutSteps } from "../src/rollout-store.js"
import { agentMigrations } from "../src/rollout-store.js"
import { rollout } from "../src/rollout.js"
import { defaultConfig, dockerLayer, makeTestRepo, prepareTestbed, sh, tempDir, testInstance } from "./agent-fixtures.js"

const repo = makeTestRepo()
const instance = testInstance(repo)
const docker = dockerLayer()

/** Applies the patch to a fresh testbed and runs the tests: resolved when they pass. */
const verify = (_: TaskInstance, patch: string) =>
  Effect.scoped(Effect.gen(function*() {
    const evaluation_key = createHash("sha256").update(patch).digest("hex")
    if (patch.trim() === "") return { resolved: false, failure_class: "empty_patch", evaluation_key }
    const container = yield* prepareTestbed(repo)
    yield* container.copyFiles([{ path: "model.patch", content: patch }], "/tmp")
    yield* sh(container, "cd /testbed && git apply /tmp/model.patch")
    const tests = yield* sh(container, "cd /testbed && python3 -m pytest -q -p no:cacheprovider tests; echo EXIT=$?")
    const resolved = tests.includes("EXIT=0")
    return { resolved, failure_class: resolved ? "resolved" : "tests_fail", evaluation_key }
  }))

describe("rollout end to end (real client, emulator)", () => {
  it.scopedLive("oracle resolves (native and text tool calls, and under 20% faults), empty is an empty patch, loop is stuck at turn 3, babble recovers or ends format_error", () =>
    Effect.gen(function*() {
      const base = yield* defaultConfig()
      // The endpoint wants a key: it must reach no row and no byte of the database.
      const secret = `sk-swe-gym-${randomBytes(12).toString("hex")}`
      const emulator = yield* startLlmEmulator({ instances: [instance], babbleTurns: 2, apiKey: Redacted.make(secret) })
      const dir = tempDir("swe-gym-e2e-")
      const store = Store.layer({ path: join(dir, "rollouts.duckdb"), migrations: agentMigrations })
      const runWith = (model: string, config: AgentConfig = base) =>
        Stream.make(instance).pipe(
          rollout<unknown, Sandbox, unknown, Sandbox>({ config, runId: "e2e", prepare: () => prepareTestbed(repo), verify }),
          Stream.runCollect,
          Effect.map((c): RolloutTrajectory => {
            const [only] = Chunk.toReadonlyArray(c)
            if (only === undefined) throw new Error("no trajectory")
            return only
          }),
          Effect.provide(Layer.mergeAll(docker, store, OpenAiLlmClient.layer({ baseUrl: emulator.url, model, apiKey: Redacted.make(secret), retry: { baseDelay: "10 millis" } }))),
        )

      const oracle = yield* runWith("oracle")
      expect(oracle).toMatchObject({ exit_reason: "submitted", resolved: true, failure_class: "resolved" })
      expect(oracle.model_patch).toContain("+    return a + b")
      expect(oracle.model_patch).not.toContain("__pycache__")
      const steps = yield* rolloutSteps(oracle.rollout_key).pipe(Effect.provide(store))
      expect(steps).toHaveLength(oracle.turns)
      // The raw calls are kept as sent and received: the first request holds the system and instance prompts.
      expect(JSON.stringify(steps[0]?.llm_call.request)).toContain(`Instance: ${instance.instance_id}`)
      expect(steps.every((s) => s.llm_call.usage !== undefined)).toBe(true)

      const text = yield* runWith("oracle", { ...base, tool_mode: "text" })
      expect(text).toMatchObject({ exit_reason: "submitted", resolved: true })
      expect(text.config_hash).not.toBe(oracle.config_hash)
      expect(text.model_patch).toBe(oracle.model_patch)

      yield* emulator.configure({ faults: { rate: 0.2, seed: 7, kinds: ["server_error", "reset"] } })
      const faulty = yield* runWith("oracle", { ...base, name: "faulty" })
      yield* emulator.configure({ faults: { rate: 0 } })
      expect(faulty).toMatchObject({ exit_reason: "submitted", resolved: true, turns: oracle.turns })
      expect(faulty.model_patch).toBe(oracle.model_patch)
      const stats = yield* emulator.stats
      expect(stats.faults.server_error + stats.faults.reset).toBeGreaterThan(0)
      expect(faulty.llm_retries).toBe(stats.faults.server_error + stats.faults.reset)

      const empty = yield* runWith("empty")
      expect(empty).toMatchObject({ exit_reason: "submitted", model_patch: "", resolved: false, failure_class: "empty_patch" })

      const loop = yield* runWith("loop")
      expect(loop).toMatchObject({ exit_reason: "stuck_in_loop", turns: 3, resolved: false })

      const babble = yield* runWith("babble")
      expect(babble).toMatchObject({ exit_reason: "submitted", format_errors: 2 })
      // In text mode the malformed calls are in the content: the client's parse errors become observations.
      const textBabble = yield* runWith("babble", { ...base, tool_mode: "text" })
      expect(textBabble).toMatchObject({ exit_reason: "submitted", format_errors: 2 })
      const strict = yield* runWith("babble", { ...base, limits: { ...base.limits, max_format_errors: 2 } })
      expect(strict).toMatchObject({ exit_reason: "format_error", turns: 2 })

      const leaks = yield* Effect.gen(function*() {
        const db = yield* Store
        return yield* db.query(
          `SELECT (SELECT count(*) FROM agent_steps WHERE CAST(record AS VARCHAR) LIKE ?)
                + (SELECT count(*) FROM agent_rollouts WHERE CAST(trajectory AS VARCHAR) LIKE ?) AS n`,
          [`%${secret}%`, `%${secret}%`],
          Schema.Struct({ n: Schema.Union(Schema.Number, Schema.BigIntFromSelf) }),
        )
      }).pipe(Effect.provide(store))
      expect(Number(leaks[0]?.n)).toBe(0)
      for (const file of readdirSync(dir)) expect(readFileSync(join(dir, file)).includes(secret)).toBe(false)
    }).pipe(Effect.provide(docker)), 600_000)
})
