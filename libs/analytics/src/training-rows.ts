// Rows of OpenAI chat fine-tuning JSONL (`messages`, optional `tools`), the shape torchtune, TRL and Unsloth read, in
// the two forms SWE-Gym trains on: native function calling, and the text format in which a tool call is written into
// the assistant's content as `<function=NAME><parameter=P>…</parameter></function>` and a tool result comes back as a
// user turn (the format of SWE-Gym's OpenHands data). Also the verifier (ORM) row: the flattened interaction log, then
// `<judgement>YES</judgement>` or `<judgement>NO</judgement>`.
import { Schema } from "effect"

/** A tool call in a training row. */
export const ChatToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
})

/** One message of a training row. */
export const TrainingMessage = Schema.Union(
  Schema.Struct({ role: Schema.Literal("system", "user"), content: Schema.String }),
  Schema.Struct({ role: Schema.Literal("assistant"), content: Schema.NullOr(Schema.String), tool_calls: Schema.optional(Schema.Array(ChatToolCall)) }),
  Schema.Struct({ role: Schema.Literal("tool"), tool_call_id: Schema.String, content: Schema.String }),
)
export type TrainingMessage = typeof TrainingMessage.Type

/** One row of an SFT or verifier JSONL file. */
export const TrainingRow = Schema.Struct({
  messages: Schema.Array(TrainingMessage),
  tools: Schema.optional(Schema.Array(Schema.Unknown)),
})
export type TrainingRow = typeof TrainingRow.Type

/** The two forms of tool use in exports. */
export type ToolFormat = "function-calling" | "text"

/** A tool call's arguments as the text format writes them: one `<parameter>` per argument of a JSON object. */
export const textToolCall = (name: string, args: string): string => {
  let parsed: unknown
  try {
    parsed = JSON.parse(args)
  } catch {
    parsed = undefined
  }
  const params = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? Object.entries(parsed).map(([k, v]) => `<parameter=${k}>${typeof v === "string" ? v : JSON.stringify(v)}</parameter>`)
    : args.trim() === "" || args.trim() === "{}" ? [] : [`<parameter=arguments>${args}</parameter>`]
  return `<function=${name}>\n${params.join("\n")}${params.length > 0 ? "\n" : ""}</function>`
}

/**
 * Messages in the text format: each assistant tool call appended to the content as `<function=…>`, each tool
 * result a user message `EXECUTION RESULT of [NAME]:` (OpenHands' wording), no `tools`.
 */
export const toTextFormat = (messages: ReadonlyArray<TrainingMessage>): Array<TrainingMessage> => {
  const names = new Map<string, string>()
  return messages.map((m): TrainingMessage => {
    if (m.role === "assistant") {
      const calls = m.tool_calls ?? []
      for (const c of calls) names.set(c.id, c.function.name)
      const text = [m.content ?? "", ...calls.map((c) => textToolCall(c.function.name, c.function.arguments))].filter((t) => t !== "").join("\n\n")
      return { role: "assistant", content: text }
    }
    if (m.role === "tool") return { role: "user", content: `EXECUTION RESULT of [${names.get(m.tool_call_id) ?? "tool"}]:\n${m.content}` }
    return m
  })
}

/** Drops the messages after the last assistant message: a training row ends with what the model said. */
export const endWithAssistant = (messages: ReadonlyArray<TrainingMessage>): Array<TrainingMessage> => {
  let last = messages.length - 1
  while (last >= 0 && messages[last]?.role !== "assistant") last -= 1
  return messages.slice(0, last + 1)
}

/** The verifier's instruction (system message of every ORM row). */
export const verifierSystemPrompt =
  "You are an expert judge of software engineering agents. You are given the full interaction log of an agent " +
  "working on a GitHub issue in a repository, and the patch it produced. Decide whether the patch resolves the issue " +
  "(the repository's hidden tests for the issue would pass). Answer with <judgement>YES</judgement> or <judgement>NO</judgement>."

/** The interaction log flattened into one text: each message under its role, tool calls in the text format, then the patch. */
export const flattenInteraction = (messages: ReadonlyArray<TrainingMessage>, patch: string): string => {
  const parts = toTextFormat(messages).map((m) => `[${m.role.toUpperCase()}]\n${m.content ?? ""}`)
  return `${parts.join("\n\n")}\n\n[FINAL PATCH]\n${patch}\n\nDid the agent resolve the issue?`
}

/** The verifier row of a trajectory: the flattened log as the user turn, the judgement as the assistant turn. */
export const verifierRow = (messages: ReadonlyArray<TrainingMessage>, patch: string, resolved: boolean): TrainingRow => ({
  messages: [
    { role: "system", content: verifierSystemPrompt },
    { role: "user", content: flattenInteraction(messages, patch) },
    { role: "assistant", content: `<judgement>${resolved ? "YES" : "NO"}</judgement>` },
  ],
})

/** The verifier prompt of a trajectory for scoring (the row without its answer, ending where the judgement begins). */
export const verifierPrompt = (messages: ReadonlyArray<TrainingMessage>, patch: string): string =>
  `${verifierSystemPrompt}\n\n${flattenInteraction(messages, patch)}\n\n<judgement>`

/** Tokens of a row by a counter (every message's content and tool calls). */
export const rowTokens = (row: TrainingRow, count: (text: string) => number): number =>
  row.messages.reduce((n, m) => {
    const calls = m.role === "assistant" ? (m.tool_calls ?? []).map((c) => `${c.function.name} ${c.function.arguments}`).join("\n") : ""
    return n + count(m.content ?? "") + (calls === "" ? 0 : count(calls))
  }, 0)
