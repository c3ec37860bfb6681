// Text tool-call mode end to end: the client in text mode, the emulator's oracle writing `<function=…>` calls (cut at the
// stop sequence), and a small editor running them in a real git work tree, until the tree is the gold patch's.
import { describe, expect, it } from "@effect/vitest"
import type { ChatMessage } from "@swe-gym/domain"
import { startLlmEmulator } from "@swe-gym/llm-emulator"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { makeOpenAiLlmClient, type ToolSpec } from "../src/index.js"

const tool = (name: string, properties: Record<string, unknown>, required: Array<string>): ToolSpec => ({
  type: "function",
  function: { name, parameters: { type: "object", properties, required } },
})
const TOOLS: ReadonlyArray<ToolSpec> = [
  tool("execute_bash", { command: { type: "string" }, timeout: { type: "number" } }, ["command"]),
  tool("str_replace_editor", {
    command: { type: "string", enum: ["view", "create", "str_replace", "insert", "undo_edit"] },
    path: { type: "string" },
    file_text: { type: "string" },
    old_str: { type: "string" },
    new_str: { type: "string" },
    insert_line: { type: "integer" },
    view_range: { type: "array", items: { type: "integer" } },
  }, ["command", "path"]),
  tool("finish", { message: { type: "string" } }, []),
]

const BEFORE = "def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n    return w + h\n"
const AFTER = "def area(w, h):\n    return w * h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n"
const TEST = "from shapes import perimeter\n\n\ndef test_perimeter():\n    assert perimeter(2, 3) == 10\n"

const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@e", ...args], { cwd, encoding: "utf8" })

const run = (root: string, name: string, args: Record<string, unknown>): string => {
  const file = String(args["path"]).replace(/^\/testbed/, root)
  if (name === "execute_bash") {
    try {
      return execFileSync("bash", ["-c", String(args["command"]).replaceAll("/testbed", root)], { encoding: "utf8" })
    } catch (e) {
      return String(e)
    }
  }
  switch (args["command"]) {
    case "view":
      return `Here's the result of running \`cat -n\` on ${String(args["path"])}:\n${
        fs.readFileSync(file, "utf8").split("\n").map((l, i) => `${String(i + 1).padStart(6)}\t${l}`).join("\n")
      }\n`
    case "create":
      fs.writeFileSync(file, String(args["file_text"]))
      return "File created successfully."
    case "str_replace": {
      const text = fs.readFileSync(file, "utf8")
      const old = String(args["old_str"])
      if (text.split(old).length !== 2) return "ERROR: old_str is not unique."
      fs.writeFileSync(file, text.replace(old, () => String(args["new_str"])))
      return "The file has been edited."
    }
    default:
      return `ERROR: unsupported ${String(args["command"])}`
  }
}

describe("text tool-call mode end to end", () => {
  it.live("the oracle's text-mode calls, parsed by the client, turn the repository into the gold patch's", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "llm-text-mode-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })),
      )
      git(root, "init", "-q")
      fs.writeFileSync(path.join(root, "shapes.py"), BEFORE)
      fs.writeFileSync(path.join(root, "test_shapes.py"), TEST.replace("10", "5"))
      git(root, "add", "-A")
      git(root, "commit", "-q", "-m", "base")
      fs.writeFileSync(path.join(root, "shapes.py"), AFTER)
      const patch = git(root, "diff")
      fs.writeFileSync(path.join(root, "test_shapes.py"), TEST)
      const testPatch = git(root, "diff", "--", "test_shapes.py")
      git(root, "checkout", "-q", "--", ".")

      const emulator = yield* startLlmEmulator({ instances: [{ instance_id: "demo__shapes-2", patch, test_patch: testPatch }] })
      const llm = yield* makeOpenAiLlmClient({ baseUrl: emulator.url, model: "oracle", toolMode: "text" })
      const messages: Array<ChatMessage> = [
        { role: "system", content: "You are a software engineer." },
        { role: "user", content: "Make perimeter right.\nInstance: demo__shapes-2" },
      ]
      const made: Array<string> = []
      for (let turn = 0; turn < 10; turn += 1) {
        const c = yield* llm.complete({ messages, tools: TOOLS, temperature: 0 })
        expect(c.toolCallErrors).toEqual([])
        messages.push(c.message)
        const call = c.message.tool_calls?.[0]
        if (call === undefined) throw new Error(`no call in ${JSON.stringify(c.call.response)}`)
        made.push(call.function.name)
        if (call.function.name === "finish") break
        messages.push({ role: "tool", tool_call_id: call.id, content: run(root, call.function.name, JSON.parse(call.function.arguments)) })
      }
      expect(made).toEqual(["str_replace_editor", "str_replace_editor", "execute_bash", "finish"])
      expect(fs.readFileSync(path.join(root, "shapes.py"), "utf8")).toBe(AFTER)
      // Every request went out in text mode: no tools field, results as EXECUTION RESULT user messages.
      const requests = yield* emulator.requests
      expect(requests.every((r) => r.toolMode === "text")).toBe(true)
      expect(JSON.stringify(requests[requests.length - 1]?.request)).toContain("EXECUTION RESULT of [execute_bash]:")
      // The calls carry ids the conversation can refer to, numbered across turns.
      expect(messages.flatMap((m) => m.role === "assistant" ? (m.tool_calls ?? []).map((t) => t.id) : [])).toEqual([
        "toolu_01",
        "toolu_02",
        "toolu_03",
        "toolu_04",
      ])
    })))
})
