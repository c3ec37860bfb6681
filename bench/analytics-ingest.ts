// Benchmark of @swe-gym/analytics' import against DuckDB's own read_json of the same file, measured in the same run,
// and the time of the Table-8 query on what was imported.
// Run: cd libs/analytics && npm run bench   (vite-node runs this TypeScript file against the library's sources)
//
// The input: N generated trajectories in our own format (libs/domain's Trajectory, one JSON object per line), 10 turns
// each (system, user, then assistant tool call + tool result pairs), texts of a few hundred bytes to a few KB.
// (a) importTrajectories({ format: "trajectory" }): decode with Schema, derive steps, write 5 tables (trajectories,
//     steps, messages, tool calls, runs) through the store's appender/upserts;
// (b) baseline: DuckDB alone, read_json of the same file into a table of trajectories plus a table of unnested
//     messages (what SQL over the file needs at the least), in one fresh database.
// (c) the table8 analysis on the database of (a), and the Qwen tokenizer's speed on a sample of its messages.
import { NodeFileSystem } from "@effect/platform-node"
import { analyticsMigrations, importTrajectories, qwenTokenCounter, runAnalysis } from "@swe-gym/analytics"
import { makeStore, Store } from "@swe-gym/store"
import { Effect, Layer } from "effect"
import { createWriteStream } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as nodePath from "node:path"

const trajectories = Number(process.env["BENCH_TRAJECTORIES"] ?? 10_000)
const turns = 10
const repeats = Number(process.env["BENCH_REPEATS"] ?? 2)

const words = "the a fix test file module import return value error line patch django sympy pytest def class self".split(" ")
const text = (seed: number, length: number) => {
  let out = ""
  let x = seed
  while (out.length < length) {
    x = (x * 1103515245 + 12345) % 2147483648
    out += `${words[x % words.length]}${x % 11 === 0 ? "\n" : " "}`
  }
  return out
}

const trajectory = (i: number) => {
  const messages: Array<unknown> = [
    { role: "system", content: text(i, 400) },
    { role: "user", content: text(i + 1, 1500) },
  ]
  const steps: Array<unknown> = []
  for (let t = 0; t < turns; t++) {
    const id = `call_${i}_${t}`
    messages.push({ role: "assistant", content: text(i * 31 + t, 200), tool_calls: [{ id, type: "function", function: { name: "execute_bash", arguments: JSON.stringify({ command: text(t, 40) }) } }] })
    messages.push({ role: "tool", tool_call_id: id, content: text(i * 17 + t, 800 + (t * 97) % 1200) })
    steps.push({ index: t, started_at: "2026-01-01T00:00:00Z", llm_ms: 900 + t, tools_ms: 40, usage: { prompt_tokens: 1000 + t * 400, completion_tokens: 60, total_tokens: 1060 + t * 400 } })
  }
  return {
    instance_id: `repo${i % 40}__proj-${i % 2000}`,
    model_name_or_path: `model-${i % 3}`,
    sample: Math.floor(i / 2000),
    messages,
    steps,
    exit_reason: i % 7 === 0 ? "max_steps" : "submitted",
    model_patch: i % 9 === 0 ? "" : `diff --git a/f.py b/f.py\n${text(i, 300)}`,
    started_at: "2026-01-01T00:00:00Z",
  }
}

const writeInput = async (file: string) => {
  const out = createWriteStream(file)
  for (let i = 0; i < trajectories; i++) {
    if (!out.write(`${JSON.stringify(trajectory(i))}\n`)) await new Promise<void>((r) => out.once("drain", () => r()))
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())))
}

const median = (xs: ReadonlyArray<number>): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN

const timed = async <A>(f: () => Promise<A>) => {
  const start = performance.now()
  const value = await f()
  return { ms: performance.now() - start, value }
}


const program = Effect.gen(function*() {
  const dir = yield* Effect.promise(() => fs.mkdtemp(nodePath.join(os.tmpdir(), "bench-analytics-")))
  const input = nodePath.join(dir, "trajectories.jsonl")
  yield* Effect.promise(() => writeInput(input))
  const bytes = (yield* Effect.promise(() => fs.stat(input))).size
  const ours: Array<number> = []
  const duck: Array<number> = []
  const table8: Array<number> = []
  let rssPeak = 0
  let heapPeak = 0
  let written = 0
  for (let r = 0; r < repeats; r++) {
    // (a) our import, a fresh database each time
    const oursDb = nodePath.join(dir, `ours-${r}.duckdb`)
    const sampler = setInterval(() => {
      const m = process.memoryUsage()
      rssPeak = Math.max(rssPeak, m.rss)
      heapPeak = Math.max(heapPeak, m.heapUsed)
    }, 50)
    const a = yield* Effect.scoped(Effect.gen(function*() {
      const store = yield* makeStore({ path: oursDb, migrations: analyticsMigrations })
      const layer = Layer.merge(Layer.succeed(Store, store), NodeFileSystem.layer)
      const start = performance.now()
      const summary = yield* importTrajectories({ format: "trajectory", paths: [input], rejectsPath: nodePath.join(dir, "rejects.jsonl"), batchSize: 500 }).pipe(Effect.provide(layer))
      const ms = performance.now() - start
      // table8 reads a token count per message; the bench fills them by SQL (length / 4) to time the query, not the
      // tokenizer (timed apart below on a sample of the same messages).
      yield* store.run("INSERT INTO analytics_message_tokens SELECT trajectory_id, idx, 'qwen3', length(content) // 4 FROM analytics_messages")
      // And a grading per patch (a third resolved), so the query splits resolved from unresolved.
      yield* store.run(`INSERT INTO analytics_evaluations (evaluation_key, instance_id, patch_sha256, resolved, outcome, source_file)
        SELECT evaluation_key, any_value(instance_id), '', hash(evaluation_key) % 3 = 0, 'bench', 'bench' FROM analytics_trajectories GROUP BY evaluation_key`)
      const s8 = performance.now()
      const rows = yield* runAnalysis("table8").pipe(Effect.provide(layer))
      const t8 = performance.now() - s8
      if (rows.length !== 6) throw new Error(`table8 gave ${rows.length} rows, expected 3 metrics × 2 outcomes`)
      return { summary, ms, t8, rows }
    }))
    clearInterval(sampler)
    ours.push(a.ms)
    table8.push(a.t8)
    written = a.summary.trajectories
    if (a.summary.rejected !== 0) throw new Error(`the generated file had ${a.summary.rejected} rejects`)
    // (b) DuckDB's read_json of the same file
    const b = yield* Effect.scoped(Effect.gen(function*() {
      const store = yield* makeStore({ path: nodePath.join(dir, `duck-${r}.duckdb`) })
      const start = performance.now()
      yield* store.run(`CREATE TABLE raw AS SELECT * FROM read_json('${input}', format = 'newline_delimited', maximum_object_size = 268435456)`)
      yield* store.run(`CREATE TABLE msgs AS SELECT instance_id, sample, unnest(messages, recursive := true) FROM raw`)
      return performance.now() - start
    }))
    duck.push(b)
  }
  // The real Qwen tokenizer on the first 2,000 messages of the input.
  const qwen = yield* qwenTokenCounter
  const sample = (yield* Effect.promise(() => fs.readFile(input, "utf8"))).split("\n", 100).filter((l) => l !== "")
    .flatMap((line): Array<string> => {
      const parsed: unknown = JSON.parse(line)
      const messages = typeof parsed === "object" && parsed !== null && "messages" in parsed && Array.isArray(parsed.messages) ? parsed.messages : []
      return messages.map((m: unknown) => (typeof m === "object" && m !== null && "content" in m && typeof m.content === "string" ? m.content : ""))
    }).slice(0, 2000)
  const tokStart = performance.now()
  const tokens = sample.reduce((n, text) => n + qwen.count(text), 0)
  const tokMs = performance.now() - tokStart
  const tokChars = sample.reduce((n, text) => n + text.length, 0)
  const a = median(ours)
  const b = median(duck)
  const mb = bytes / 1e6
  console.log(`analytics-ingest: ${trajectories} trajectories (${turns} turns, ${2 + 2 * turns} messages each), ${mb.toFixed(1)} MB of JSONL, medians of ${repeats}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`)
  console.log("")
  console.log("| run | time | trajectories/s | MB/s |")
  console.log("| --- | ---: | ---: | ---: |")
  console.log(`| (a) analysis import --format trajectory (5 tables) | ${(a / 1000).toFixed(2)} s | ${Math.round(written / (a / 1000))} | ${(mb / (a / 1000)).toFixed(1)} |`)
  console.log(`| (b) DuckDB read_json + unnest(messages) | ${(b / 1000).toFixed(2)} s | ${Math.round(trajectories / (b / 1000))} | ${(mb / (b / 1000)).toFixed(1)} |`)
  console.log("")
  console.log(`(a)/(b): ${(a / b).toFixed(2)}x the time of DuckDB's own JSON reader`)
  console.log(`table8 query on (a)'s database (${written * (2 + 2 * turns)} messages with token counts): ${median(table8).toFixed(0)} ms (median of ${repeats})`)
  console.log(`Qwen tokenizer (count-tokens): ${sample.length} messages, ${(tokChars / 1e6).toFixed(1)} M chars, ${tokens} tokens in ${(tokMs / 1000).toFixed(2)} s (${Math.round(tokens / (tokMs / 1000))} tokens/s)`)
  console.log(`peak during (a) for a ${mb.toFixed(0)} MB input: JS heap ${(heapPeak / 1e6).toFixed(0)} MB, process RSS ${(rssPeak / 1e6).toFixed(0)} MB (RSS includes DuckDB's buffer pool)`)
  yield* Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
})

Effect.runPromise(program).catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
