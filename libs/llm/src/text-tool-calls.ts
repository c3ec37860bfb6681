// Tool calls written in the content, for servers or models without native tool calling: the format of SWE-Gym's OpenHands
// trajectories (OpenHands' fn_call_converter), so models fine-tuned on that data see exactly what they were trained on.
//
//   <function=str_replace_editor>
//   <parameter=command>create</parameter>
//   <parameter=path>/testbed/a.py</parameter>
//   <parameter=file_text>
//   print("hi")
//   </parameter>
//   </function>
//
// A multi-line value is written with one newline after the opening tag and one before the closing tag; the parser drops
// exactly those two, so rendering and parsing round-trip every string. Tool results go back as user messages starting
// `EXECUTION RESULT of [NAME]:`.
import type { ChatMessage, ToolCall } from "@swe-gym/domain"
import { Option, Schema } from "effect"
import { JsonObject, type ToolCallParseError, type ToolSpec } from "./llm-client.js"

/** Stop sequence for text mode: generation ends before the model writes a result of its own call (OpenHands' STOP_WORDS). */
export const TEXT_TOOL_STOP = "</function"

/** What `parseTextToolCalls` read from one assistant message. */
export interface ParsedTextToolCalls {
  /** The text before the first call, trimmed (the whole content, untouched, when a call was malformed). */
  readonly content: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly errors: ReadonlyArray<ToolCallParseError>
}

const FUNCTION_OPEN = /<function\s*=\s*([^>\n]*?)\s*>/g
const PARAMETER_OPEN = /^<parameter\s*=\s*([^>\n]*?)\s*>/
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/
// Some models write `<parameter=command=view</parameter>`; OpenHands rewrites it to the canonical form, and so do we.
const COLLAPSED_PARAMETER = /<parameter=([A-Za-z0-9_]+)=([^<>\n]*)<\/parameter>/g

const parseError = (message: string, text: string, name?: string): ToolCallParseError =>
  name === undefined ? { _tag: "ToolCallParseError", message, text } : { _tag: "ToolCallParseError", message, text, name }

const decodeJsonObject = Schema.decodeUnknownOption(JsonObject)
const EMPTY: JsonObject = {}

/** The JSON Schema `type` of a tool's parameter, when the tool declares one (the first non-null of a type list). */
const parameterType = (tool: ToolSpec | undefined, parameter: string): string | undefined => {
  const properties = Option.getOrUndefined(decodeJsonObject(tool?.function.parameters?.["properties"]))
  const declared = Option.getOrUndefined(decodeJsonObject(properties?.[parameter]))?.["type"]
  if (typeof declared === "string") return declared
  if (Array.isArray(declared)) return declared.find((t): t is string => typeof t === "string" && t !== "null")
  return undefined
}

/** Converts a written value to its declared JSON type; a string is an error message for the model. */
const convertValue = (
  fn: string,
  parameter: string,
  raw: string,
  type: string | undefined,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string } => {
  const text = raw.trim()
  const wrong = (what: string) => ({
    ok: false as const,
    message: `Parameter '${parameter}' of function '${fn}' must be ${what}, got ${JSON.stringify(raw)}.`,
  })
  switch (type) {
    case "integer":
      return /^[+-]?\d+$/.test(text) ? { ok: true, value: Number(text) } : wrong("an integer")
    case "number": {
      const n = Number(text)
      return text !== "" && Number.isFinite(n) ? { ok: true, value: n } : wrong("a number")
    }
    case "boolean":
      return /^(true|false)$/i.test(text) ? { ok: true, value: text.toLowerCase() === "true" } : wrong("true or false")
    case "array":
    case "object": {
      try {
        const value: unknown = JSON.parse(text)
        const isArray = Array.isArray(value)
        const fits = type === "array" ? isArray : typeof value === "object" && value !== null && !isArray
        return fits ? { ok: true, value } : wrong(type === "array" ? "a JSON array" : "a JSON object")
      } catch {
        return wrong(type === "array" ? "a JSON array" : "a JSON object")
      }
    }
    default:
      return { ok: true, value: raw }
  }
}

/** Drops the one newline the renderer writes after an opening and before a closing tag. */
const unwrapValue = (value: string): string => {
  const start = value.startsWith("\r\n") ? 2 : value.startsWith("\n") ? 1 : 0
  const end = value.endsWith("\r\n") ? 2 : value.endsWith("\n") ? 1 : 0
  return start + end > value.length ? "" : value.slice(start, value.length - end)
}

type BlockResult =
  | { readonly ok: true; readonly name: string; readonly args: Record<string, unknown> }
  | { readonly ok: false; readonly error: ToolCallParseError }

/** Parses the body of one `<function=NAME>` block (the text between the opening tag and `</function>`). */
const parseBlock = (
  name: string,
  body: string,
  text: string,
  tools: ReadonlyArray<ToolSpec>,
): BlockResult => {
  if (!NAME.test(name)) {
    return { ok: false, error: parseError(`Invalid function name ${JSON.stringify(name)} in <function=...>.`, text) }
  }
  const tool = tools.find((t) => t.function.name === name)
  const args: Record<string, unknown> = {}
  let rest = body.replace(COLLAPSED_PARAMETER, "<parameter=$1>$2</parameter>")
  for (;;) {
    rest = rest.trimStart()
    if (rest === "") break
    const open = PARAMETER_OPEN.exec(rest)
    if (open === null) {
      const snippet = rest.length > 80 ? `${rest.slice(0, 80)}…` : rest
      return {
        ok: false,
        error: parseError(
          `Unexpected text inside <function=${name}>: ${
            JSON.stringify(snippet)
          }. Write each argument as <parameter=NAME>VALUE</parameter>.`,
          text,
          name,
        ),
      }
    }
    const parameter = open[1] ?? ""
    if (!NAME.test(parameter)) {
      return {
        ok: false,
        error: parseError(`Invalid parameter name ${JSON.stringify(parameter)} in function '${name}'.`, text, name),
      }
    }
    rest = rest.slice(open[0].length)
    const close = rest.indexOf("</parameter>")
    if (close < 0) {
      return {
        ok: false,
        error: parseError(`Parameter '${parameter}' of function '${name}' is missing its closing </parameter>.`, text, name),
      }
    }
    if (Object.hasOwn(args, parameter)) {
      return { ok: false, error: parseError(`Parameter '${parameter}' of function '${name}' is given twice.`, text, name) }
    }
    const converted = convertValue(name, parameter, unwrapValue(rest.slice(0, close)), parameterType(tool, parameter))
    if (!converted.ok) return { ok: false, error: parseError(converted.message, text, name) }
    args[parameter] = converted.value
    rest = rest.slice(close + "</parameter>".length)
  }
  return { ok: true, name, args }
}

/**
 * Reads the `<function=NAME><parameter=P>…</parameter></function>` calls in an assistant message. Never fails: a malformed
 * call becomes a `ToolCallParseError` whose message the agent can show the model. A last call cut off by the stop sequence
 * (no `</function>`) is read as closed. Parameter values are converted to the types the tool's JSON Schema declares.
 */
export const parseTextToolCalls = (
  content: string,
  tools: ReadonlyArray<ToolSpec>,
  /** Makes the id of the n-th call (0-based) of this message. */
  callId: (n: number) => string,
): ParsedTextToolCalls => {
  const opens = [...content.matchAll(FUNCTION_OPEN)]
  const first = opens[0]
  if (first === undefined) {
    const stray = /<\/?(function|parameter)\b/.exec(content)
    if (stray === null) return { content, toolCalls: [], errors: [] }
    return {
      content,
      toolCalls: [],
      errors: [parseError(`Found ${JSON.stringify(stray[0])} without an opening <function=NAME> tag.`, content)],
    }
  }
  const toolCalls: Array<ToolCall> = []
  const errors: Array<ToolCallParseError> = []
  opens.forEach((open, i) => {
    const start = (open.index ?? 0) + open[0].length
    const next = opens[i + 1]
    const end = next === undefined ? content.length : (next.index ?? content.length)
    const block = content.slice(start, end)
    const name = (open[1] ?? "").trim()
    const text = content.slice(open.index ?? 0, end).trimEnd()
    const close = block.indexOf("</function>")
    let body: string
    if (close >= 0) {
      body = block.slice(0, close)
    } else if (next === undefined) {
      // Cut by the stop sequence (or a model that stops early): the end of the content closes the call.
      body = block.replace(/<\/(f(u(n(c(t(i(on?)?)?)?)?)?)?)?$/, "")
    } else {
      errors.push(parseError(`Function '${name}' is missing its closing </function> before the next <function=...>.`, text, name))
      return
    }
    const parsed = parseBlock(name, body, text, tools)
    if (parsed.ok) {
      toolCalls.push({
        id: callId(toolCalls.length),
        type: "function",
        function: { name: parsed.name, arguments: JSON.stringify(parsed.args) },
      })
    } else {
      errors.push(parsed.error)
    }
  })
  if (errors.length > 0) return { content, toolCalls: [], errors }
  return { content: content.slice(0, first.index ?? 0).trim(), toolCalls, errors }
}

/** Writes one value as the text of a `<parameter>` (multi-line strings on their own lines). */
const renderValue = (value: unknown): string => {
  if (typeof value === "string") return value.includes("\n") ? `\n${value}\n` : value
  if (typeof value === "object" && value !== null) return JSON.stringify(value)
  return String(value)
}

/** Writes a tool call in the text format; arguments that are not a JSON object are written as one `arguments` parameter. */
export const renderTextToolCall = (call: ToolCall): string => {
  let args: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(call.function.arguments)
    args = Option.getOrElse(decodeJsonObject(parsed), () => ({ arguments: call.function.arguments }))
  } catch {
    args = { arguments: call.function.arguments }
  }
  const parameters = Object.entries(args).map(([k, v]) => `<parameter=${k}>${renderValue(v)}</parameter>\n`).join("")
  return `<function=${call.function.name}>\n${parameters}</function>`
}

/** The tool list as OpenHands writes it into the system prompt. */
export const describeTools = (tools: ReadonlyArray<ToolSpec>): string =>
  tools.map((tool, i) => {
    const fn = tool.function
    const lines = [`---- BEGIN FUNCTION #${i + 1}: ${fn.name} ----`]
    if (fn.description !== undefined) lines.push(`Description: ${fn.description}`)
    if (fn.parameters === undefined) {
      lines.push("No parameters are required for this function.")
    } else {
      lines.push("Parameters:")
      const properties = Option.getOrElse(decodeJsonObject(fn.parameters["properties"]), () => EMPTY)
      const required = fn.parameters["required"]
      const requiredNames = Array.isArray(required) ? required.filter((r) => typeof r === "string") : []
      Object.entries(properties).forEach(([name, spec], j) => {
        const info = Option.getOrElse(decodeJsonObject(spec), () => EMPTY)
        const type = parameterType(tool, name) ?? "string"
        let description = typeof info["description"] === "string" ? info["description"] : "No description provided"
        if (Array.isArray(info["enum"])) {
          description += `\nAllowed values: [${info["enum"].map((v) => `\`${String(v)}\``).join(", ")}]`
        }
        const status = requiredNames.includes(name) ? "required" : "optional"
        lines.push(`  (${j + 1}) ${name} (${type}, ${status}): ${description}`)
      })
    }
    lines.push(`---- END FUNCTION #${i + 1} ----`)
    return lines.join("\n") + "\n"
  }).join("\n")

/** What text mode appends to the system prompt (OpenHands' SYSTEM_PROMPT_SUFFIX_TEMPLATE). */
export const textToolsPrompt = (tools: ReadonlyArray<ToolSpec>): string =>
  `
You have access to the following functions:

${describeTools(tools)}
If you choose to call a function ONLY reply in the following format with NO suffix:

<function=example_function_name>
<parameter=example_parameter_1>value_1</parameter>
<parameter=example_parameter_2>
This is the value for the second parameter
that can span
multiple lines
</parameter>
</function>

<IMPORTANT>
Reminder:
- Function calls MUST follow the specified format, start with <function= and end with </function>
- Required parameters MUST be specified
- Only call one function at a time
- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after.
- If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls
</IMPORTANT>
`

/** The prefix of a tool result written back as a user message. */
export const executionResultPrefix = (toolName: string): string => `EXECUTION RESULT of [${toolName}]:\n`

/** A message of a text-mode request: no tool roles, no tool_calls, only text. */
export type TextModeMessage =
  | { readonly role: "system" | "developer"; readonly content: string }
  | { readonly role: "user"; readonly content: Extract<ChatMessage, { role: "user" }>["content"] }
  | { readonly role: "assistant"; readonly content: string }

/**
 * Rewrites a native conversation for a server without tool calling: the tool descriptions join the system prompt (a
 * system message is added when there is none), assistant tool calls are written into the content, tool results become
 * user messages `EXECUTION RESULT of [NAME]:`.
 */
export const toTextModeMessages = (
  messages: ReadonlyArray<ChatMessage>,
  tools: ReadonlyArray<ToolSpec>,
): ReadonlyArray<TextModeMessage> => {
  const suffix = tools.length > 0 ? textToolsPrompt(tools) : ""
  const names = new Map<string, string>()
  const out: Array<TextModeMessage> = []
  if (suffix !== "" && !messages.some((m) => m.role === "system")) out.push({ role: "system", content: suffix.trimStart() })
  let systemSeen = false
  for (const m of messages) {
    switch (m.role) {
      case "system":
      case "developer": {
        const first = m.role === "system" && !systemSeen
        if (m.role === "system") systemSeen = true
        out.push({ role: m.role, content: first ? m.content + suffix : m.content })
        break
      }
      case "user":
        out.push({ role: "user", content: m.content })
        break
      case "assistant": {
        const calls = m.tool_calls ?? []
        for (const c of calls) names.set(c.id, c.function.name)
        const written = calls.map(renderTextToolCall).join("\n")
        const text = m.content ?? ""
        out.push({ role: "assistant", content: written === "" ? text : `${text}\n\n${written}`.trimStart() })
        break
      }
      case "tool":
        out.push({ role: "user", content: executionResultPrefix(names.get(m.tool_call_id) ?? "function") + m.content })
        break
    }
  }
  return out
}
