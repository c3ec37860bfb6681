import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { decodeToolCall, toolSpecs } from "../src/tool-calls.js"

const all = ["execute_bash", "str_replace_editor", "finish"] as const
const call = (name: string, args: string) => ({ id: "c1", type: "function" as const, function: { name, arguments: args } })
const problem = (name: string, args: string) => {
  const decoded = decodeToolCall(call(name, args), all)
  if (Either.isRight(decoded)) throw new Error(`${name} ${args} decoded`)
  return decoded.left.message
}

describe("tool calls", () => {
  it("offers OpenAI function schemas for the configured tools, in order", () => {
    const specs = toolSpecs(["finish", "execute_bash"])
    expect(specs.map((s) => s.function.name)).toEqual(["finish", "execute_bash"])
    for (const spec of toolSpecs(all)) {
      expect(spec.type).toBe("function")
      expect(spec.function.parameters?.["type"]).toBe("object")
    }
  })

  it("decodes valid calls, text-mode strings for numbers and lists included", () => {
    const bash = decodeToolCall(call("execute_bash", '{"command": "ls", "timeout": "5"}'), all)
    expect(Either.getOrThrow(bash)).toMatchObject({ tool: "execute_bash", args: { command: "ls", timeout: 5 } })
    const view = decodeToolCall(call("str_replace_editor", '{"command": "view", "path": "/testbed/a", "view_range": "[1, -1]"}'), all)
    expect(Either.getOrThrow(view)).toMatchObject({ args: { view_range: [1, -1] } })
    const insert = decodeToolCall(call("str_replace_editor", '{"command": "insert", "path": "/testbed/a", "insert_line": 3, "new_str": "x"}'), all)
    expect(Either.getOrThrow(insert)).toMatchObject({ args: { insert_line: 3 } })
    expect(Either.getOrThrow(decodeToolCall(call("finish", ""), all))).toMatchObject({ tool: "finish" })
  })

  it("turns wrong calls into messages the model can act on", () => {
    expect(problem("browse", "{}")).toMatch(/Unknown tool `browse`.*`execute_bash`/)
    expect(problem("execute_bash", '{"command": "ls"')).toMatch(/not valid JSON/)
    expect(problem("execute_bash", "[1]")).toMatch(/must be a JSON object/)
    expect(problem("execute_bash", "{}")).toMatch(/`command`: missing required parameter/)
    expect(problem("execute_bash", '{"command": 3}')).toMatch(/`command`/)
    expect(problem("str_replace_editor", '{"command": "delete", "path": "/testbed/a"}')).toMatch(/`command`/)
    expect(problem("str_replace_editor", '{"command": "view", "path": "/testbed", "bogus": 1}')).toMatch(/bogus/)
    expect(problem("str_replace_editor", '{"command": "insert", "path": "/a", "insert_line": 1.5}')).toMatch(/insert_line/)
  })

  it("only offered tools are callable", () => {
    expect(Either.isLeft(decodeToolCall(call("execute_bash", '{"command": "ls"}'), ["finish"]))).toBe(true)
  })
})
