// What a policy sees of a request: the tool mode, the first user message, and the turns so far (each assistant message and
// the observations that answered it). The emulator keeps no state between requests: like a model, it reads the
// conversation it is sent.
import { contentText, type WireMessage } from "./chat-wire.js"

/** Native: `tools` in the request, calls in `tool_calls`. Text: calls written as `<function=…>` in the content. */
export type ToolMode = "native" | "text"

/** One earlier assistant turn and what came back. */
export interface Turn {
  /** The tool results (native) or user messages (text) after the assistant message, joined; undefined if none yet. */
  readonly observation: string | undefined
}

/** A request as policies read it. */
export interface Conversation {
  readonly mode: ToolMode
  /** Text of the first user message (where the agent names the instance). */
  readonly firstUserText: string
  readonly turns: ReadonlyArray<Turn>
  /** The whole conversation's text, for deterministic choices (judge verdicts). */
  readonly fingerprint: string
}

const EXECUTION_RESULT = /^EXECUTION RESULT of \[[^\]]*\]:\n/

/** Reads the turns of a conversation. */
export const readConversation = (messages: ReadonlyArray<WireMessage>, mode: ToolMode): Conversation => {
  const firstUser = messages.find((m) => m.role === "user")
  const turns: Array<{ observation: string | undefined }> = []
  for (const m of messages) {
    if (m.role === "assistant") {
      turns.push({ observation: undefined })
      continue
    }
    const last = turns[turns.length - 1]
    if (last === undefined || (m.role !== "tool" && m.role !== "user")) continue
    const text = contentText(m).replace(EXECUTION_RESULT, "")
    last.observation = last.observation === undefined ? text : `${last.observation}\n${text}`
  }
  return {
    mode,
    firstUserText: firstUser === undefined ? "" : contentText(firstUser),
    turns,
    fingerprint: messages.map((m) => `${m.role}:${contentText(m)}`).join("\n"),
  }
}

/** A tool call a policy makes; `arguments` is JSON text, malformed on purpose by `babble`. */
export interface EmulatedCall {
  readonly name: string
  readonly arguments: string
}

/** What a policy answers with. */
export interface Action {
  readonly content: string | null
  readonly calls: ReadonlyArray<EmulatedCall>
  /** Text mode: the content exactly as written, instead of rendering `calls` (malformed markup). */
  readonly text?: string
}

/** A call with JSON arguments. */
export const call = (name: string, args: Readonly<Record<string, unknown>>): EmulatedCall => ({
  name,
  arguments: JSON.stringify(args),
})

const renderValue = (value: unknown): string => {
  if (typeof value === "string") return value.includes("\n") ? `\n${value}\n` : value
  if (typeof value === "object" && value !== null) return JSON.stringify(value)
  return String(value)
}

/** A call in SWE-Gym's OpenHands text format. */
export const renderTextCall = (c: EmulatedCall): string => {
  let args: unknown
  try {
    args = JSON.parse(c.arguments)
  } catch {
    args = { arguments: c.arguments }
  }
  const entries = typeof args === "object" && args !== null && !Array.isArray(args) ? Object.entries(args) : []
  const parameters = entries.map(([k, v]) => `<parameter=${k}>${renderValue(v)}</parameter>\n`).join("")
  return `<function=${c.name}>\n${parameters}</function>`
}

/** The content of an action in text mode. */
export const textContent = (action: Action): string => {
  if (action.text !== undefined) return action.text
  const calls = action.calls.map(renderTextCall).join("\n")
  const prose = action.content ?? ""
  if (calls === "") return prose
  return prose === "" ? calls : `${prose}\n\n${calls}`
}
