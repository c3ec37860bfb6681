// Our rollout stage's runner database (the tables libs/agent's migration "agent" v1 creates, written here as rows the
// way its rollout store writes them): finished rollouts import with their raw LLM calls, which the SFT export then uses.
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { BigIntAsNumber, Store } from "@swe-gym/store"
import { Effect, Exit, Layer, Schema, Stream } from "effect"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { analyticsMigrations, exportSft, importTrajectories } from "../src/index.js"

const agentTables = `CREATE TABLE agent_rollouts (
  rollout_key VARCHAR NOT NULL, instance_id VARCHAR NOT NULL, sample INTEGER NOT NULL, agent VARCHAR NOT NULL,
  config_hash VARCHAR NOT NULL, model VARCHAR NOT NULL, temperature DOUBLE NOT NULL, run_id VARCHAR NOT NULL,
  status VARCHAR NOT NULL, attempt INTEGER NOT NULL, updated_at VARCHAR NOT NULL, exit_reason VARCHAR, resolved BOOLEAN,
  trajectory JSON);
CREATE TABLE agent_steps (rollout_key VARCHAR NOT NULL, step INTEGER NOT NULL, attempt INTEGER NOT NULL, recorded_at VARCHAR NOT NULL, record JSON NOT NULL);`

const call = (id: string, name: string, args: string) => ({ id, type: "function", function: { name, arguments: args } })
const messages = [
  { role: "system", content: "sys" },
  { role: "user", content: "fix the bug" },
  { role: "assistant", content: "look", tool_calls: [call("a", "execute_bash", "{\"command\":\"ls\"}")] },
  { role: "tool", tool_call_id: "a", content: "x.py" },
  { role: "assistant", content: null, tool_calls: [call("b", "finish", "{}")] },
]
const tools = [{ type: "function", function: { name: "execute_bash", parameters: { type: "object" } } }]
const trajectory = (resolved: boolean) => ({
  instance_id: "o__r-1", model_name_or_path: "qwen-7b", sample: 0, messages, tools,
  steps: [{ index: 0, started_at: "2026-01-01T00:00:00Z", llm_ms: 5, tools_ms: 1 }, { index: 1, started_at: "2026-01-01T00:00:01Z", llm_ms: 6, tools_ms: 0 }],
  exit_reason: "submitted", model_patch: "diff --git a/x.py b/x.py\n", started_at: "2026-01-01T00:00:00Z",
  rollout_key: "k", agent: "default", config_hash: "h", temperature: 0.5, turns: 2,
  usage: { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 }, cost_usd: 0, format_errors: 0, llm_retries: 0, attempts: 1,
  resolved, failure_class: resolved ? "resolved" : "unresolved",
})
const llmStep = (turn: number) => ({
  turn,
  llm_call: {
    model: "qwen-7b", tool_mode: "native", latency_ms: 5 + turn, attempts: 1, started_at: "2026-01-01T00:00:00Z",
    usage: { prompt_tokens: 10 + turn * 10, completion_tokens: 3 + turn, total_tokens: 13 + turn * 11 },
    request: { model: "qwen-7b", messages: messages.slice(0, turn === 0 ? 2 : 4), tools },
    response: { choices: [{ index: 0, message: messages[turn === 0 ? 2 : 4], finish_reason: "tool_calls" }] },
  },
})

describe("import rollouts (runner database)", () => {
  it.live("finished rollouts with the raw calls of their last attempt; a running one is left out; SFT rows come from the raw calls", () => {
    const dir = mkdtempSync(join(tmpdir(), "analytics-rollouts-"))
    const runnerDb = join(dir, "runner.duckdb")
    return Effect.gen(function*() {
      yield* Effect.gen(function*() {
        const store = yield* Store
        yield* store.run(agentTables)
        const row = (key: string, sample: number, status: string, attempt: number, t: object | null) => ({
          trajectory: t === null ? null : JSON.stringify(t),
          rollout_key: key, instance_id: "o__r-1", sample, agent: "default", config_hash: "h", model: "qwen-7b", temperature: 0.5,
          run_id: "run-1", status, attempt, updated_at: "2026-01-01T00:00:00Z",
        })
        yield* store.append("agent_rollouts", Stream.make(
          row("k0", 0, "verified", 2, trajectory(true)),
          row("k1", 1, "verified", 1, { ...trajectory(false), sample: 1, model_patch: "diff --git a/y.py b/y.py\n" }),
          row("k2", 2, "running", 1, null),
        ))
        yield* store.append("agent_steps", Stream.make(
          { rollout_key: "k0", step: 0, attempt: 1, recorded_at: "t", record: llmStep(0) }, // an earlier attempt: not imported
          { rollout_key: "k0", step: 0, attempt: 2, recorded_at: "t", record: llmStep(0) },
          { rollout_key: "k0", step: 1, attempt: 2, recorded_at: "t", record: llmStep(1) },
          { rollout_key: "k1", step: 0, attempt: 1, recorded_at: "t", record: llmStep(0) },
        ))
      }).pipe(Effect.provide(Store.layer({ path: runnerDb })))

      const summary = yield* importTrajectories({ format: "rollouts", paths: [runnerDb], rejectsPath: join(dir, "r.jsonl") })
      expect(summary).toMatchObject({ files: 1, trajectories: 2, gradings: 2, rejected: 0 })
      const store = yield* Store
      const rows = yield* store.query(
        "SELECT trajectory_id, resolved, turns, llm_calls, prompt_tokens, final_context_tokens FROM analytics_outcomes ORDER BY trajectory_id",
        [],
        Schema.Struct({ trajectory_id: Schema.String, resolved: Schema.Boolean, turns: Schema.Number, llm_calls: Schema.Number, prompt_tokens: BigIntAsNumber, final_context_tokens: BigIntAsNumber }),
      )
      // k0: 2 raw calls of attempt 2, usage 30/7 from the trajectory, final context = the last call's 13 + 11.
      expect(rows).toEqual([
        { trajectory_id: "run-1/o__r-1/0", resolved: true, turns: 2, llm_calls: 2, prompt_tokens: 30, final_context_tokens: 24 },
        { trajectory_id: "run-1/o__r-1/1", resolved: false, turns: 2, llm_calls: 2, prompt_tokens: 30, final_context_tokens: 13 },
      ])
      const sft = yield* exportSft({ out: join(dir, "sft.jsonl"), format: "function-calling" })
      expect(sft).toMatchObject({ written: 1, fromLlmCalls: 1 })
      const [line] = readFileSync(join(dir, "sft.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      // The last call's request (4 messages) and its response (the finish call), with the request's tools.
      expect(line.messages.map((m: { role: string }) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant"])
      expect(line.messages[4].tool_calls[0].function.name).toBe("finish")
      expect(line.tools).toEqual(tools)
    }).pipe(
      Effect.provide(Layer.merge(Store.layer({ path: join(dir, "a.duckdb"), migrations: analyticsMigrations }), NodeFileSystem.layer)),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
    )
  })
  it.live("a database whose step journal still holds steps (a run was killed) is refused, naming the journal and what to run", () => {
    const dir = mkdtempSync(join(tmpdir(), "analytics-rollouts-"))
    const runnerDb = join(dir, "runner.duckdb")
    return Effect.gen(function*() {
      yield* Effect.flatMap(Store, (store) => store.run(agentTables)).pipe(Effect.provide(Store.layer({ path: runnerDb })))
      mkdirSync(`${runnerDb}.steps`)
      writeFileSync(join(`${runnerDb}.steps`, "segment-000001.jsonl"), `${JSON.stringify(["k0", 0, 1, "t", "{}"])}\n`)
      const exit = yield* Effect.exit(importTrajectories({ format: "rollouts", paths: [runnerDb], rejectsPath: join(dir, "r.jsonl") }))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("JsonlFileError")
      expect(error?.message).toContain(`${runnerDb}.steps`)
      expect(error?.message).toContain("segment-000001.jsonl")
      expect(error?.message).toContain("runner rollout")
      const store = yield* Store
      const imported = yield* store.query("SELECT count(*)::INTEGER AS n FROM analytics_outcomes", [], Schema.Struct({ n: Schema.Number }))
      expect(imported).toEqual([{ n: 0 }])
    }).pipe(
      Effect.provide(Layer.merge(Store.layer({ path: join(dir, "a.duckdb"), migrations: analyticsMigrations }), NodeFileSystem.layer)),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
    )
  })
})
