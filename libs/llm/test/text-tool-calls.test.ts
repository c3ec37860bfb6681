// The text tool-call format with examples as OpenHands writes them (its fn_call_converter's in-context examples, the
// format of SWE-Gym's released trajectories), and the ways models get it wrong.
import type { ChatMessage } from "@swe-gym/domain"
import { describe, expect, it } from "@effect/vitest"
import {
  describeTools,
  parseTextToolCalls,
  renderTextToolCall,
  textToolsPrompt,
  toTextModeMessages,
  type ToolSpec,
} from "../src/index.js"

const TOOLS: ReadonlyArray<ToolSpec> = [
  {
    type: "function",
    function: {
      name: "execute_bash",
      description: "Execute a bash command in the terminal.",
      parameters: {
        type: "object",
        properties: { command: { type: "string", description: "The bash command." }, timeout: { type: "number" } },
        required: ["command"],
      },
    },
  },
  {
    type: "function",
    function: {
      name: "str_replace_editor",
      description: "Custom editing tool for viewing, creating and editing files.",
      parameters: {
        type: "object",
        properties: {
          command: { type: "string", enum: ["view", "create", "str_replace", "insert", "undo_edit"] },
          path: { type: "string" },
          file_text: { type: "string" },
          old_str: { type: "string" },
          new_str: { type: "string" },
          insert_line: { type: "integer" },
          view_range: { type: "array", items: { type: "integer" } },
        },
        required: ["command", "path"],
      },
    },
  },
  { type: "function", function: { name: "finish", parameters: { type: "object", properties: { message: { type: "string" } } } } },
]

const ids = (n: number) => `toolu_${String(n + 1).padStart(2, "0")}`
const parse = (content: string) => parseTextToolCalls(content, TOOLS, ids)
const argsOf = (content: string, i = 0): unknown => JSON.parse(parse(content).toolCalls[i]?.function.arguments ?? "null")

describe("parseTextToolCalls on OpenHands' own examples", () => {
  it("a bash call with the value on its own lines, prose before it", () => {
    const content = "Sure! Let me first check the current directory:\n<function=execute_bash>\n<parameter=command>\npwd && ls\n</parameter>\n</function>"
    const parsed = parse(content)
    expect(parsed.errors).toEqual([])
    expect(parsed.content).toBe("Sure! Let me first check the current directory:")
    expect(parsed.toolCalls).toEqual([
      { id: "toolu_01", type: "function", function: { name: "execute_bash", arguments: JSON.stringify({ command: "pwd && ls" }) } },
    ])
  })

  it("create with a multi-line file_text: the newline after <parameter=…> and before </parameter> are the format's, not the file's", () => {
    const content = [
      "There is no `app.py` file in the current directory. Let me create a Python file `app.py`:",
      "<function=str_replace_editor>",
      "<parameter=command>create</parameter>",
      "<parameter=path>/workspace/app.py</parameter>",
      "<parameter=file_text>",
      "from flask import Flask",
      "app = Flask(__name__)",
      "",
      "@app.route('/')",
      "def index():",
      "    numbers = list(range(1, 11))",
      "    return str(numbers)",
      "",
      "if __name__ == '__main__':",
      "    app.run(port=5000)",
      "</parameter>",
      "</function>",
    ].join("\n")
    expect(argsOf(content)).toEqual({
      command: "create",
      path: "/workspace/app.py",
      file_text:
        "from flask import Flask\napp = Flask(__name__)\n\n@app.route('/')\ndef index():\n    numbers = list(range(1, 11))\n    return str(numbers)\n\nif __name__ == '__main__':\n    app.run(port=5000)",
    })
  })

  it("str_replace with one-line old_str and new_str holding quotes and angle brackets", () => {
    const content = [
      "Now let me display the numbers in a table format:",
      "<function=str_replace_editor>",
      "<parameter=command>str_replace</parameter>",
      "<parameter=path>/workspace/app.py</parameter>",
      "<parameter=old_str>return str(numbers)</parameter>",
      "<parameter=new_str>return '<table>' + ''.join([f'<tr><td>{i}</td></tr>' for i in numbers]) + '</table>'</parameter>",
      "</function>",
    ].join("\n")
    expect(argsOf(content)).toEqual({
      command: "str_replace",
      path: "/workspace/app.py",
      old_str: "return str(numbers)",
      new_str: "return '<table>' + ''.join([f'<tr><td>{i}</td></tr>' for i in numbers]) + '</table>'",
    })
  })

  it("finish after a paragraph of prose", () => {
    const content =
      "The server is running on port 5000 with PID 126. Let me know if you have any further requests!\n<function=finish>\n<parameter=message>The task has been completed.</parameter>\n</function>"
    const parsed = parse(content)
    expect(parsed.content).toBe("The server is running on port 5000 with PID 126. Let me know if you have any further requests!")
    expect(parsed.toolCalls[0]?.function).toEqual({ name: "finish", arguments: JSON.stringify({ message: "The task has been completed." }) })
  })
})

describe("parseTextToolCalls tolerance", () => {
  it("a call cut by the stop sequence `</function` (or left at `</`) is read as closed", () => {
    const cut = "<function=execute_bash>\n<parameter=command>ls -la /testbed</parameter>\n"
    expect(argsOf(cut)).toEqual({ command: "ls -la /testbed" })
    expect(argsOf(`${cut}</`)).toEqual({ command: "ls -la /testbed" })
    expect(argsOf(`${cut}</funct`)).toEqual({ command: "ls -la /testbed" })
  })

  it("whitespace around names and between parameters, CRLF line ends, no content before the call", () => {
    const content = "<function = str_replace_editor >\r\n\r\n  <parameter= command >view</parameter>\r\n\t<parameter=path>/testbed/setup.py</parameter>\r\n</function>"
    const parsed = parse(content)
    expect(parsed.errors).toEqual([])
    expect(parsed.content).toBe("")
    expect(JSON.parse(parsed.toolCalls[0]?.function.arguments ?? "")).toEqual({ command: "view", path: "/testbed/setup.py" })
  })

  it("values are converted to the declared types: integer, number, array", () => {
    const content = [
      "<function=str_replace_editor>",
      "<parameter=command>insert</parameter>",
      "<parameter=path>/testbed/a.py</parameter>",
      "<parameter=insert_line> 12 </parameter>",
      "<parameter=new_str>x = 1</parameter>",
      "</function>",
      "<function=str_replace_editor>",
      "<parameter=command>view</parameter>",
      "<parameter=path>/testbed/a.py</parameter>",
      "<parameter=view_range>[1, 20]</parameter>",
      "</function>",
      "<function=execute_bash>",
      "<parameter=command>sleep 1</parameter>",
      "<parameter=timeout>2.5</parameter>",
      "</function>",
    ].join("\n")
    const parsed = parse(content)
    expect(parsed.errors).toEqual([])
    expect(parsed.toolCalls.map((c) => c.id)).toEqual(["toolu_01", "toolu_02", "toolu_03"])
    expect(parsed.toolCalls.map((c) => JSON.parse(c.function.arguments))).toEqual([
      { command: "insert", path: "/testbed/a.py", insert_line: 12, new_str: "x = 1" },
      { command: "view", path: "/testbed/a.py", view_range: [1, 20] },
      { command: "sleep 1", timeout: 2.5 },
    ])
  })

  it("the collapsed `<parameter=command=view</parameter>` some models write is read (as OpenHands reads it)", () => {
    expect(argsOf("<function=str_replace_editor>\n<parameter=command=view</parameter>\n<parameter=path>/testbed</parameter>\n</function>"))
      .toEqual({ command: "view", path: "/testbed" })
  })

  it("an unknown tool is still a call (the agent answers it), its values kept as text", () => {
    expect(parse("<function=run_python>\n<parameter=code>print(1)</parameter>\n</function>").toolCalls[0]?.function).toEqual({
      name: "run_python",
      arguments: JSON.stringify({ code: "print(1)" }),
    })
  })

  it("plain prose is no call and no error", () => {
    expect(parse("I think the bug is in parse_args().")).toEqual({
      content: "I think the bug is in parse_args().",
      toolCalls: [],
      errors: [],
    })
  })
})

describe("parseTextToolCalls errors are values the agent shows the model", () => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["unclosed parameter", "<function=execute_bash>\n<parameter=command>ls /testbed\n</function>", /missing its closing <\/parameter>/],
    ["text outside parameters", "<function=execute_bash>\nls /testbed\n</function>", /Unexpected text inside <function=execute_bash>/],
    ["duplicate parameter", "<function=execute_bash>\n<parameter=command>a</parameter>\n<parameter=command>b</parameter>\n</function>", /given twice/],
    ["not an integer", "<function=str_replace_editor>\n<parameter=command>insert</parameter>\n<parameter=path>/t</parameter>\n<parameter=insert_line>ten</parameter>\n</function>", /'insert_line' of function 'str_replace_editor' must be an integer, got "ten"/],
    ["not an array", "<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>/t</parameter>\n<parameter=view_range>1-20</parameter>\n</function>", /must be a JSON array/],
    ["no closing tag before the next call", "<function=execute_bash>\n<parameter=command>a</parameter>\n<function=finish>\n</function>", /missing its closing <\/function> before the next/],
    ["bad function name", "<function=rm -rf>\n</function>", /Invalid function name/],
    ["parameter without a function", "<parameter=command>ls</parameter>", /without an opening <function=NAME> tag/],
  ]
  for (const [name, content, message] of cases) {
    it(name, () => {
      const parsed = parse(content)
      expect(parsed.toolCalls).toEqual([])
      expect(parsed.content).toBe(content)
      expect(parsed.errors.length).toBe(1)
      expect(parsed.errors[0]?.message).toMatch(message)
      expect(parsed.errors[0]?._tag).toBe("ToolCallParseError")
    })
  }
})

describe("renderTextToolCall", () => {
  it("round-trips strings with leading and trailing newlines, empty strings, angle brackets and non-ASCII", () => {
    const values = ["", "\n", "a\n", "\na", "\n\nx\n\n", "if a < b and c > d:\n    return '<p>'", "ünïcødé ✓", "  padded  "]
    for (const v of values) {
      const call = { id: "toolu_01", type: "function" as const, function: { name: "str_replace_editor", arguments: JSON.stringify({ command: "create", path: "/testbed/f", file_text: v }) } }
      const text = renderTextToolCall(call)
      expect(argsOf(text)).toEqual({ command: "create", path: "/testbed/f", file_text: v })
    }
  })

  it("writes what OpenHands writes for a multi-line value", () => {
    expect(renderTextToolCall({ id: "x", type: "function", function: { name: "execute_bash", arguments: JSON.stringify({ command: "cd /testbed\nls" }) } }))
      .toBe("<function=execute_bash>\n<parameter=command>\ncd /testbed\nls\n</parameter>\n</function>")
  })
})

describe("toTextModeMessages", () => {
  it("tools join the system prompt, calls go into the content, results come back as EXECUTION RESULT user messages", () => {
    const messages: ReadonlyArray<ChatMessage> = [
      { role: "system", content: "You are OpenHands agent." },
      { role: "user", content: "Instance: a__b-1" },
      {
        role: "assistant",
        content: "Let me look.",
        tool_calls: [{ id: "toolu_01", type: "function", function: { name: "execute_bash", arguments: JSON.stringify({ command: "ls" }) } }],
      },
      { role: "tool", tool_call_id: "toolu_01", content: "setup.py" },
    ]
    expect(toTextModeMessages(messages, TOOLS)).toEqual([
      { role: "system", content: `You are OpenHands agent.${textToolsPrompt(TOOLS)}` },
      { role: "user", content: "Instance: a__b-1" },
      { role: "assistant", content: "Let me look.\n\n<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>" },
      { role: "user", content: "EXECUTION RESULT of [execute_bash]:\nsetup.py" },
    ])
  })

  it("describes tools as OpenHands does: numbered parameters with type, required or optional, allowed values", () => {
    const text = describeTools(TOOLS)
    expect(text).toContain("---- BEGIN FUNCTION #1: execute_bash ----\nDescription: Execute a bash command in the terminal.\nParameters:\n  (1) command (string, required): The bash command.\n  (2) timeout (number, optional): No description provided\n---- END FUNCTION #1 ----")
    expect(text).toContain("  (1) command (string, required): No description provided\nAllowed values: [`view`, `create`, `str_replace`, `insert`, `undo_edit`]")
    expect(text).toContain("  (6) insert_line (integer, optional)")
  })
})
