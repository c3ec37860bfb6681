// SFT, verifier and predictions exports from real imported trajectories, read back and validated row by row with a
// JSON schema of OpenAI chat fine-tuning rows (written here from OpenAI's fine-tuning format, not from our types).
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Ajv } from "ajv"
import { Effect, Layer, Stream } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  analyticsMigrations,
  exportPredictions,
  exportSft,
  exportVerifier,
  importTrajectories,
  qwenTokenCounter,
  textToolCall,
} from "../src/index.js"
import { trajectoriesDir } from "./shared-files.js"

const toolCall = {
  type: "object",
  required: ["id", "type", "function"],
  additionalProperties: false,
  properties: {
    id: { type: "string" },
    type: { const: "function" },
    function: {
      type: "object",
      required: ["name", "arguments"],
      additionalProperties: false,
      properties: { name: { type: "string" }, arguments: { type: "string" } },
    },
  },
}

/** OpenAI chat fine-tuning row: messages (system/user/assistant/tool), optional tools (function definitions). */
const chatFineTuningRow = {
  type: "object",
  required: ["messages"],
  additionalProperties: false,
  properties: {
    messages: {
      type: "array",
      minItems: 2,
      items: {
        oneOf: [
          {
            type: "object",
            required: ["role", "content"],
            additionalProperties: false,
            properties: { role: { enum: ["system", "user"] }, content: { type: "string" }, name: { type: "string" } },
          },
          {
            type: "object",
            required: ["role"],
            additionalProperties: false,
            anyOf: [{ required: ["content"], properties: { content: { type: "string" } } }, { required: ["tool_calls"] }],
            properties: {
              role: { const: "assistant" },
              content: { type: ["string", "null"] },
              tool_calls: { type: "array", minItems: 1, items: toolCall },
              weight: { enum: [0, 1] },
            },
          },
          {
            type: "object",
            required: ["role", "tool_call_id", "content"],
            additionalProperties: false,
            properties: { role: { const: "tool" }, tool_call_id: { type: "string" }, content: { type: "string" } },
          },
        ],
      },
    },
    tools: {
      type: "array",
      items: {
        type: "object",
        required: ["type", "function"],
        properties: {
          type: { const: "function" },
          function: { type: "object", required: ["name"], properties: { name: { type: "string" }, parameters: { type: "object" } } },
        },
      },
    },
  },
}



interface Row {
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: string | null; readonly tool_calls?: ReadonlyArray<unknown> }>
  readonly tools?: ReadonlyArray<unknown>
}

const validate = new Ajv({ allErrors: true, strict: false }).compile<Row>(chatFineTuningRow)

const readRows = (file: string): Array<Row> =>
  readFileSync(file, "utf8").trim().split("\n").filter((l) => l !== "").map((line, i) => {
    const row: unknown = JSON.parse(line)
    if (!validate(row)) throw new Error(`${file}:${i + 1} is not an OpenAI chat fine-tuning row: ${JSON.stringify(validate.errors)}`)
    return row
  })

const inTempDb = <A, E>(f: (dir: string) => Effect.Effect<A, E, Store | import("@effect/platform").FileSystem.FileSystem>) => {
  const dir = mkdtempSync(join(tmpdir(), "analytics-export-"))
  return f(dir).pipe(
    Effect.provide(Layer.merge(Store.layer({ path: join(dir, "a.duckdb"), migrations: analyticsMigrations }), NodeFileSystem.layer)),
    Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
  )
}

describe("textToolCall", () => {
  it("writes one <parameter> per argument of a JSON object", () => {
    expect(textToolCall("str_replace_editor", JSON.stringify({ command: "view", path: "/a.py", view_range: [1, 5] }))).toBe(
      "<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>/a.py</parameter>\n<parameter=view_range>[1,5]</parameter>\n</function>",
    )
    expect(textToolCall("finish", "{}")).toBe("<function=finish>\n</function>")
  })
})

describe("SFT export", () => {
  it.live("mini-swe-agent: one valid row per resolved trajectory (35), ending with the assistant; capping and dedup; token filter", () =>
    inTempDb((dir) =>
      Effect.gen(function*() {
        yield* importTrajectories({ format: "mini-swe-agent", paths: [join(trajectoriesDir(), "mini-swe-agent")], rejectsPath: join(dir, "r.jsonl") })
        const all = yield* exportSft({ out: join(dir, "sft.jsonl"), format: "function-calling" })
        expect(all).toMatchObject({ written: 35, droppedTooLong: 0, fromLlmCalls: 0 })
        const rows = readRows(join(dir, "sft.jsonl"))
        expect(rows).toHaveLength(35)
        for (const row of rows) {
          expect(row.messages[0]?.role).toBe("system")
          expect(row.messages[row.messages.length - 1]?.role).toBe("assistant")
          expect(row.tools).toBeUndefined()
        }
        // django__django-9296 (resolved): 38 messages, the last a user observation → 37.
        expect(rows.some((r) => r.messages.length === 37 && (r.messages[1]?.content ?? "").includes("Paginator"))).toBe(true)
        expect((yield* exportSft({ out: join(dir, "cap.jsonl"), format: "text", capPerInstance: 1 })).written).toBe(35)
        expect((yield* exportSft({ out: join(dir, "dedup.jsonl"), format: "text", dedupSeed: "3" })).written).toBe(35)
        const qwen = yield* qwenTokenCounter
        const filtered = yield* exportSft({ out: join(dir, "short.jsonl"), format: "text", maxTokens: 10_000, counter: qwen })
        expect(filtered.written + filtered.droppedTooLong).toBe(35)
        expect(filtered.droppedTooLong).toBeGreaterThan(0)
        for (const row of readRows(join(dir, "short.jsonl"))) {
          expect(row.messages.reduce((n, m) => n + qwen.count(m.content ?? ""), 0)).toBeLessThanOrEqual(10_000)
        }
      })
    ))

  it.live("OpenHands: function calling with tools and tool messages, or the text format; the raw LLM call log wins when it holds the request", () =>
    inTempDb((dir) =>
      Effect.gen(function*() {
        const lines = readFileSync(join(trajectoriesDir(), "openhands", "output.jsonl"), "utf8").split("\n").filter((l) => l !== "")
        const graded = lines.map((line, i) => {
          const o = JSON.parse(line)
          return JSON.stringify({ ...o, test_result: { ...o.test_result, report: { resolved: i === 0, patch_exists: true, patch_successfully_applied: true } } })
        })
        const file = join(dir, "output.jsonl")
        writeFileSync(file, graded.join("\n") + "\n")
        const summary = yield* importTrajectories({ format: "openhands", paths: [file], rejectsPath: join(dir, "r.jsonl") })
        expect(summary).toMatchObject({ trajectories: 3, gradings: 3 })

        const fc = yield* exportSft({ out: join(dir, "fc.jsonl"), format: "function-calling" })
        expect(fc.written).toBe(1)
        const [row] = readRows(join(dir, "fc.jsonl"))
        expect(row?.tools?.length).toBeGreaterThan(0)
        // ponyc-4595: 23 actions, each its own response: 23 assistant messages with one tool call each, 23 tool results
        // (the finish call has none: the row ends with it).
        expect(row?.messages.filter((m) => m.role === "assistant" && m.tool_calls?.length === 1)).toHaveLength(23)
        expect(row?.messages.filter((m) => m.role === "tool")).toHaveLength(22)

        const text = yield* exportSft({ out: join(dir, "text.jsonl"), format: "text" })
        expect(text.written).toBe(1)
        const [textRow] = readRows(join(dir, "text.jsonl"))
        expect(textRow?.tools).toBeUndefined()
        expect(textRow?.messages.some((m) => m.role === "tool" || m.tool_calls !== undefined)).toBe(false)
        expect(textRow?.messages.filter((m) => m.role === "assistant" && (m.content ?? "").includes("<function=execute_bash>")).length).toBe(13)
        expect(textRow?.messages.filter((m) => m.role === "user" && (m.content ?? "").startsWith("EXECUTION RESULT of [execute_bash]:")).length).toBe(13)

        // A raw call log with the request: the export takes the request's messages and tools and the response.
        const store = yield* Store
        yield* store.append("analytics_llm_calls", Stream.make({
          trajectory_id: "openhands:" + dir.split("/").pop() + "/ponylang__ponyc-4595/0",
          call_idx: 99,
          request: { messages: [{ role: "system", content: "S" }, { role: "user", content: "U" }], tools: [{ type: "function", function: { name: "finish", parameters: { type: "object" } } }] },
          response: { choices: [{ message: { role: "assistant", content: null, tool_calls: [{ id: "x", type: "function", function: { name: "finish", arguments: "{}" } }] } }] },
        }))
        const fromLog = yield* exportSft({ out: join(dir, "log.jsonl"), format: "function-calling" })
        expect(fromLog).toMatchObject({ written: 1, fromLlmCalls: 1 })
        expect(readRows(join(dir, "log.jsonl"))).toEqual([{
          messages: [
            { role: "system", content: "S" },
            { role: "user", content: "U" },
            { role: "assistant", content: null, tool_calls: [{ id: "x", type: "function", function: { name: "finish", arguments: "{}" } }] },
          ],
          tools: [{ type: "function", function: { name: "finish", parameters: { type: "object" } } }],
        }])
      })
    ))
})

describe("verifier export", () => {
  it.live("the paper's format: flattened log, <judgement>YES|NO</judgement>, 1:1 negatives by default, seeded; a ratio flag", () =>
    inTempDb((dir) =>
      Effect.gen(function*() {
        yield* importTrajectories({ format: "mini-swe-agent", paths: [join(trajectoriesDir(), "mini-swe-agent")], rejectsPath: join(dir, "r.jsonl") })
        // 35 positives; 1:1 asks for 35 negatives but only 8 exist.
        const oneToOne = yield* exportVerifier({ out: join(dir, "v.jsonl"), seed: "1" })
        expect(oneToOne).toMatchObject({ written: 43, positives: 35, negatives: 8 })
        const rows = readRows(join(dir, "v.jsonl"))
        expect(rows.map((r) => r.messages.map((m) => m.role))).toEqual(rows.map(() => ["system", "user", "assistant"]))
        expect(rows.filter((r) => r.messages[2]?.content === "<judgement>YES</judgement>")).toHaveLength(35)
        expect(rows.filter((r) => r.messages[2]?.content === "<judgement>NO</judgement>")).toHaveLength(8)
        expect(rows[0]?.messages[1]?.content).toContain("[FINAL PATCH]\ndiff --git")
        // ratio 0.1: ceil(3.5) = 4 negatives; the same seed picks the same ones.
        const tenth = yield* exportVerifier({ out: join(dir, "v1.jsonl"), seed: "1", negativesPerPositive: 0.1 })
        expect(tenth).toMatchObject({ positives: 35, negatives: 4 })
        yield* exportVerifier({ out: join(dir, "v2.jsonl"), seed: "1", negativesPerPositive: 0.1 })
        expect(readFileSync(join(dir, "v1.jsonl"), "utf8")).toBe(readFileSync(join(dir, "v2.jsonl"), "utf8"))
        yield* exportVerifier({ out: join(dir, "v3.jsonl"), seed: "2", negativesPerPositive: 0.1 })
        expect(readFileSync(join(dir, "v3.jsonl"), "utf8")).not.toBe(readFileSync(join(dir, "v1.jsonl"), "utf8"))
      })
    ))
})

describe("predictions export", () => {
  it.live("one line per instance: instance_id, model_name_or_path, model_patch", () =>
    inTempDb((dir) =>
      Effect.gen(function*() {
        yield* importTrajectories({ format: "mini-swe-agent", paths: [join(trajectoriesDir(), "mini-swe-agent")], rejectsPath: join(dir, "r.jsonl") })
        expect(yield* exportPredictions({ out: join(dir, "preds.jsonl") })).toBe(43)
        const lines = readFileSync(join(dir, "preds.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
        expect(Object.keys(lines[0]).sort()).toEqual(["instance_id", "model_name_or_path", "model_patch"])
        expect(new Set(lines.map((l) => l.instance_id)).size).toBe(43)
      })
    ))
})
