// Imports of every real file in the shared trajectories folder. The expected numbers were counted by hand from the
// files (python's json module over each file: messages per role, info.model_stats, report.json's `resolved`).
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { BigIntAsNumber, Store } from "@swe-gym/store"
import { Effect, Layer, Schema } from "effect"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { analyticsMigrations, exportParquet, importTrajectories } from "../src/index.js"
import { datasetsDir, trajectoriesDir } from "./shared-files.js"

const withDb = (dir: string) =>
  Layer.merge(Store.layer({ path: join(dir, "a.duckdb"), migrations: analyticsMigrations }), NodeFileSystem.layer)

const inTempDir = <A, E>(f: (dir: string) => Effect.Effect<A, E, Store | import("@effect/platform").FileSystem.FileSystem>) => {
  const dir = mkdtempSync(join(tmpdir(), "analytics-import-"))
  return f(dir).pipe(Effect.provide(withDb(dir)), Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))))
}

const Count = Schema.Struct({ n: BigIntAsNumber })
const count = (sql: string) =>
  Effect.flatMap(Store, (store) => store.query(sql, [], Count)).pipe(Effect.map((rows) => rows[0]?.n))

const mini = () => join(trajectoriesDir(), "mini-swe-agent")

describe("import mini-swe-agent", () => {
  it.live("43 runs, 35 resolved as their report.json says, turns and API calls as their info says", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        const summary = yield* importTrajectories({ format: "mini-swe-agent", paths: [mini()], rejectsPath: join(dir, "rejects.jsonl") })
        expect(summary).toMatchObject({ files: 43, trajectories: 43, gradings: 43, rejected: 0 })
        expect(yield* count("SELECT count(*) AS n FROM analytics_trajectories")).toBe(43)
        expect(yield* count("SELECT count(*) AS n FROM analytics_outcomes WHERE resolved")).toBe(35)
        expect(yield* count("SELECT count(*) AS n FROM analytics_outcomes WHERE NOT resolved")).toBe(8)
        const store = yield* Store
        const unresolved = yield* store.query(
          "SELECT instance_id FROM analytics_outcomes WHERE NOT resolved ORDER BY instance_id",
          [],
          Schema.Struct({ instance_id: Schema.String }),
        )
        expect(unresolved.map((r) => r.instance_id)).toEqual([
          "django__django-11149",
          "django__django-11790",
          "django__django-14140",
          "django__django-15732",
          "django__django-16667",
          "psf__requests-2317",
          "sympy__sympy-17630",
          "sympy__sympy-22080",
        ])
        // info.model_stats.api_calls summed over the 43 files; each file has exactly that many assistant messages.
        expect(yield* count("SELECT sum(llm_calls) AS n FROM analytics_trajectories")).toBe(1626)
        expect(yield* count("SELECT sum(turns) AS n FROM analytics_trajectories")).toBe(1626)
        expect(yield* count("SELECT count(*) AS n FROM analytics_trajectories WHERE turns <> llm_calls")).toBe(0)
        expect(yield* count("SELECT count(*) AS n FROM analytics_messages")).toBe(3338)
        expect(yield* count("SELECT count(*) AS n FROM analytics_steps")).toBe(1626)
        // Observations whose <returncode> is not 0.
        expect(yield* count("SELECT count(*) AS n FROM analytics_steps WHERE observation_error")).toBe(87)
        expect(yield* count("SELECT count(*) AS n FROM analytics_runs")).toBe(1)
        // The raw responses are stored as JSON objects (with usage), one per assistant message.
        expect(yield* count("SELECT count(*) AS n FROM analytics_llm_calls WHERE json_extract_string(response, '$.model') LIKE '%gemini-3-pro-preview'")).toBe(1626)
        expect(yield* count("SELECT sum(CAST(json_extract(response, '$.usage.prompt_tokens') AS BIGINT)) AS n FROM analytics_llm_calls WHERE trajectory_id LIKE '%django__django-9296%'")).toBe(163623)
        expect(yield* count("SELECT count(DISTINCT exit_reason) AS n FROM analytics_trajectories WHERE exit_reason = 'submitted'")).toBe(1)
        const one = yield* store.query(
          `SELECT turns, llm_calls, prompt_tokens, completion_tokens, final_context_tokens, model, cost, length(patch) AS patch_chars
           FROM analytics_trajectories WHERE instance_id = 'django__django-9296'`,
          [],
          Schema.Struct({
            turns: Schema.Number,
            llm_calls: Schema.Number,
            prompt_tokens: BigIntAsNumber,
            completion_tokens: BigIntAsNumber,
            final_context_tokens: BigIntAsNumber,
            model: Schema.String,
            cost: Schema.Number,
            patch_chars: BigIntAsNumber,
          }),
        )
        expect(one[0]).toMatchObject({
          turns: 18,
          llm_calls: 18,
          prompt_tokens: 163623,
          completion_tokens: 2296,
          final_context_tokens: 14447,
          model: "google/gemini-3-pro-preview",
          patch_chars: 1085,
        })
        // Re-importing the same files leaves the same tables.
        yield* importTrajectories({ format: "mini-swe-agent", paths: [mini()], rejectsPath: join(dir, "rejects.jsonl") })
        expect(yield* count("SELECT count(*) AS n FROM analytics_trajectories")).toBe(43)
        expect(yield* count("SELECT count(*) AS n FROM analytics_steps")).toBe(1626)
        expect(yield* count("SELECT count(*) AS n FROM analytics_evaluations")).toBe(43)
      })
    ))

  it.live("a malformed file is rejected with its place and counted, the rest imported", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        const copy = join(dir, "trajs")
        mkdirSync(copy)
        const names = readdirSync(mini()).filter((f) => f.startsWith("django__django-1")).sort()
        for (const f of names) copyFileSync(join(mini(), f), join(copy, f))
        const trajs = names.filter((f) => f.endsWith(".traj.json"))
        // A torn file (cut in the middle of line 1: these files are one line) and one missing its info.
        const torn = readFileSync(join(copy, trajs[0] ?? ""), "utf8")
        writeFileSync(join(copy, trajs[0] ?? ""), `{\n  "info": {\n` + torn.slice(0, 100))
        const noInfo = JSON.parse(readFileSync(join(copy, trajs[1] ?? ""), "utf8"))
        delete noInfo.info
        writeFileSync(join(copy, trajs[1] ?? ""), JSON.stringify(noInfo))
        const rejectsPath = join(dir, "rejects.jsonl")
        const summary = yield* importTrajectories({ format: "mini-swe-agent", paths: [copy], rejectsPath })
        expect(summary).toMatchObject({ files: trajs.length, trajectories: trajs.length - 2, rejected: 2 })
        const rejects = readFileSync(rejectsPath, "utf8").trim().split("\n").map((l) => JSON.parse(l))
        expect(rejects.map((r) => [r.file, r.kind, r.path])).toEqual([
          [join(copy, trajs[0] ?? ""), "not-json", ""],
          [join(copy, trajs[1] ?? ""), "schema", "info"],
        ])
        expect(rejects[0].line).toBe(3)
        expect(yield* count("SELECT count(*) AS n FROM analytics_trajectories")).toBe(trajs.length - 2)
      })
    ))
})

describe("import OpenHands output.jsonl", () => {
  const file = () => join(trajectoriesDir(), "openhands", "output.jsonl")
  const Row = Schema.Struct({
    instance_id: Schema.String,
    turns: Schema.Number,
    llm_calls: Schema.Number,
    exit_reason: Schema.String,
    prompt_tokens: BigIntAsNumber,
    completion_tokens: BigIntAsNumber,
    patch_chars: BigIntAsNumber,
    source_line: Schema.Number,
    resolved: Schema.NullOr(Schema.Boolean),
  })

  it.live("3 runs: actions as turns, LLM calls from metrics, exit from error/finish, instances from each line", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        const summary = yield* importTrajectories({ format: "openhands", paths: [file()], rejectsPath: join(dir, "r.jsonl") })
        expect(summary).toMatchObject({ files: 1, trajectories: 3, instances: 3, gradings: 0, rejected: 0 })
        const store = yield* Store
        const rows = yield* store.query(
          `SELECT instance_id, turns, llm_calls, exit_reason, prompt_tokens, completion_tokens, length(patch) AS patch_chars,
                  source_line, resolved FROM analytics_outcomes ORDER BY source_line`,
          [],
          Row,
        )
        // ponyc-4595: run 13 + read 6 + edit 2 + think 1 + finish 1 actions, 23 response latencies.
        // ponyc-4593: run 12 + read 9 + edit 11 + finish 1 = 33 actions; 34 LLM calls (one answered by an error observation).
        // ponyc-4588: run 24 + read 8 + think 1 + edit 16 = 49 actions, 50 calls, "maximum iteration" error.
        expect(rows).toEqual([
          { instance_id: "ponylang__ponyc-4595", turns: 23, llm_calls: 23, exit_reason: "submitted", prompt_tokens: 565158, completion_tokens: 2558, patch_chars: 342, source_line: 1, resolved: null },
          { instance_id: "ponylang__ponyc-4593", turns: 33, llm_calls: 34, exit_reason: "submitted", prompt_tokens: 410169, completion_tokens: 5156, patch_chars: 533, source_line: 2, resolved: null },
          { instance_id: "ponylang__ponyc-4588", turns: 49, llm_calls: 50, exit_reason: "max_steps", prompt_tokens: 938015, completion_tokens: 5627, patch_chars: 557, source_line: 3, resolved: null },
        ])
        expect(yield* count("SELECT count(*) AS n FROM analytics_task_instances WHERE repo = 'ponylang/ponyc'")).toBe(3)
        // One tool call per action; every response recorded once.
        expect(yield* count("SELECT count(*) AS n FROM analytics_tool_calls")).toBe(23 + 33 + 49)
        expect(yield* count("SELECT count(*) AS n FROM analytics_llm_calls")).toBe(23 + 33 + 49)
        expect(yield* count("SELECT count(*) AS n FROM analytics_trajectories WHERE tools IS NOT NULL")).toBe(3)
      })
    ))

  it.live("a malformed line is rejected with its line number and counted, the others imported", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        const lines = readFileSync(file(), "utf8").split("\n").filter((l) => l.length > 0)
        const bad = join(dir, "output.jsonl")
        const noHistory = JSON.parse(lines[1] ?? "{}")
        delete noHistory.history
        writeFileSync(bad, [lines[0], "{oops", JSON.stringify(noHistory), lines[2]].join("\n") + "\n")
        const rejectsPath = join(dir, "rejects.jsonl")
        const summary = yield* importTrajectories({ format: "openhands", paths: [bad], rejectsPath })
        expect(summary).toMatchObject({ trajectories: 2, rejected: 2 })
        const rejects = readFileSync(rejectsPath, "utf8").trim().split("\n").map((l) => JSON.parse(l))
        expect(rejects.map((r) => [r.line, r.kind, r.path])).toEqual([[2, "not-json", ""], [3, "schema", "history"]])
      })
    ))
})

describe("import SWE-agent .traj", () => {
  it.live("one run: 12 steps, 26 history messages, the model from all_preds.jsonl, exit submitted", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        const summary = yield* importTrajectories({ format: "swe-agent", paths: [join(trajectoriesDir(), "swe-agent")], rejectsPath: join(dir, "r.jsonl") })
        expect(summary).toMatchObject({ files: 1, trajectories: 1, rejected: 0 })
        const store = yield* Store
        const rows = yield* store.query(
          "SELECT instance_id, model, turns, llm_calls, messages, exit_reason, prompt_tokens, completion_tokens, cost FROM analytics_trajectories",
          [],
          Schema.Struct({
            instance_id: Schema.String,
            model: Schema.String,
            turns: Schema.Number,
            llm_calls: Schema.Number,
            messages: Schema.Number,
            exit_reason: Schema.String,
            prompt_tokens: BigIntAsNumber,
            completion_tokens: BigIntAsNumber,
            cost: Schema.Number,
          }),
        )
        expect(rows).toEqual([{
          instance_id: "pydicom__pydicom-1458",
          model: "gpt4__swe-bench-dev-easy_first_only__default__t-0.00__p-0.95__c-3.00__install-1",
          turns: 12,
          llm_calls: 12,
          messages: 26,
          exit_reason: "submitted",
          prompt_tokens: 122612,
          completion_tokens: 1369,
          cost: 1.26719,
        }])
      })
    ))
})

describe("import SWE-bench predictions and reports", () => {
  it.live("all_preds.jsonl as a prediction, graded by a report.json keyed by instance id; an ungraded report entry is rejected", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        const preds = join(trajectoriesDir(), "swe-agent", "all_preds.jsonl")
        const report = join(dir, "report.json")
        writeFileSync(report, JSON.stringify({
          "pydicom__pydicom-1458": { patch_is_None: false, patch_exists: true, patch_successfully_applied: true, resolved: true },
          "other__repo-1": { patch_is_None: false, patch_exists: true, patch_successfully_applied: true, resolved: false },
        }))
        const summary = yield* importTrajectories({ format: "swe-bench", paths: [preds, report], rejectsPath: join(dir, "r.jsonl") })
        expect(summary).toMatchObject({ trajectories: 1, gradings: 1, rejected: 1 })
        expect(yield* count("SELECT count(*) AS n FROM analytics_outcomes WHERE resolved AND instance_id = 'pydicom__pydicom-1458'")).toBe(1)
        // The .traj of the same run and patch joins the same grading by content key.
        yield* importTrajectories({ format: "swe-agent", paths: [join(trajectoriesDir(), "swe-agent")], rejectsPath: join(dir, "r.jsonl") })
        expect(yield* count("SELECT count(*) AS n FROM analytics_outcomes WHERE resolved")).toBe(2)
      })
    ))
})

describe("import our own trajectories and task instances", () => {
  it.live("own trajectory JSONL: steps from assistant messages, tool calls, usage; SWE-bench Lite rows as instances", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        const file = join(dir, "trajectories.jsonl")
        const call = (id: string, cmd: string) => ({ id, type: "function", function: { name: "execute_bash", arguments: JSON.stringify({ command: cmd }) } })
        const t = {
          instance_id: "sqlfluff__sqlfluff-1625",
          model_name_or_path: "qwen",
          sample: 1,
          messages: [
            { role: "system", content: "sys" },
            { role: "user", content: "fix it" },
            { role: "assistant", content: "look", tool_calls: [call("a", "ls")] },
            { role: "tool", tool_call_id: "a", content: "src" },
            { role: "assistant", content: null, tool_calls: [call("b", "ls src")] },
            { role: "tool", tool_call_id: "b", content: "x.py" },
            { role: "assistant", content: "done", tool_calls: [{ id: "c", type: "function", function: { name: "finish", arguments: "{}" } }] },
          ],
          steps: [
            { index: 0, started_at: "2026-01-01T00:00:00Z", llm_ms: 10, tools_ms: 1, usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 } },
            { index: 1, started_at: "2026-01-01T00:00:01Z", llm_ms: 20, tools_ms: 1, usage: { prompt_tokens: 120, completion_tokens: 6, total_tokens: 126 } },
            { index: 2, started_at: "2026-01-01T00:00:02Z", llm_ms: 30, tools_ms: 0 },
          ],
          exit_reason: "submitted",
          model_patch: "diff --git a/x b/x\n",
          started_at: "2026-01-01T00:00:00Z",
        }
        writeFileSync(file, JSON.stringify(t) + "\n" + JSON.stringify({ ...t, exit_reason: "gave_up" }) + "\n")
        const summary = yield* importTrajectories({ format: "trajectory", paths: [file], rejectsPath: join(dir, "r.jsonl") })
        expect(summary).toMatchObject({ trajectories: 1, rejected: 1 })
        const store = yield* Store
        const rows = yield* store.query(
          "SELECT trajectory_id, sample, turns, llm_calls, prompt_tokens, completion_tokens FROM analytics_trajectories",
          [],
          Schema.Struct({ trajectory_id: Schema.String, sample: Schema.Number, turns: Schema.Number, llm_calls: Schema.Number, prompt_tokens: BigIntAsNumber, completion_tokens: BigIntAsNumber }),
        )
        expect(rows).toEqual([{ trajectory_id: `trajectory:${dir.split("/").pop()}/sqlfluff__sqlfluff-1625/1`, sample: 1, turns: 3, llm_calls: 3, prompt_tokens: 220, completion_tokens: 11 }])
        expect(yield* count("SELECT count(*) AS n FROM analytics_tool_calls")).toBe(3)
        const lite = yield* importTrajectories({ format: "instances", paths: [join(datasetsDir(), "swe-bench-lite-dev.jsonl")], rejectsPath: join(dir, "r.jsonl") })
        expect(lite).toMatchObject({ instances: 23, rejected: 0 })
        expect(yield* count("SELECT count(*) AS n FROM analytics_outcomes WHERE repo = 'sqlfluff/sqlfluff'")).toBe(1)
        expect(existsSync(join(dir, "r.jsonl"))).toBe(false)
      })
    ))
})

describe("exportParquet", () => {
  it.live("every table as Parquet partitioned by run and repository, read back in place by DuckDB", () =>
    inTempDir((dir) =>
      Effect.gen(function*() {
        yield* importTrajectories({ format: "mini-swe-agent", paths: [mini()], rejectsPath: join(dir, "r.jsonl") })
        const out = join(dir, "parquet")
        const counts = yield* exportParquet(out)
        expect(counts).toMatchObject({ analytics_trajectories: 43, analytics_steps: 1626, analytics_messages: 3338, analytics_evaluations: 43, analytics_runs: 1 })
        expect(existsSync(join(out, "analytics_steps", "run_id=mini-swe-agent%3Amini-swe-agent", "repo=django%2Fdjango"))
          || existsSync(join(out, "analytics_steps", "run_id=mini-swe-agent:mini-swe-agent", "repo=django%2Fdjango"))).toBe(true)
        const store = yield* Store
        const rows = yield* store.query(
          `SELECT repo, count(*) AS n FROM read_parquet('${join(out, "analytics_trajectories")}/**/*.parquet', hive_partitioning = true)
           GROUP BY repo ORDER BY repo`,
          [],
          Schema.Struct({ repo: Schema.String, n: BigIntAsNumber }),
        )
        // 20 django, 3 sympy… by instance id prefix in the 43 files.
        expect(rows.reduce((s, r) => s + r.n, 0)).toBe(43)
        expect(rows.find((r) => r.repo === "django/django")?.n).toBe(20)
      })
    ))
})
