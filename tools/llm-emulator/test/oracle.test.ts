// The oracle against a real repository: a small agent (an editor with OpenHands' view / create / str_replace / insert and
// bash) runs the oracle's calls, over HTTP through the openai client, in a git work tree; the tree it leaves must be the
// gold patch's tree, file for file. The patch comes from `git diff` of a real change.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI from "openai"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { startLlmEmulator } from "../src/index.js"

const block = ["    x = 1", "    y = 2", "    z = 3", "    w = 4", "    v = 5", "    u = 6", "    t = 7", "    return x"]

const BEFORE: Record<string, string> = {
  "pkg/ops.py": ["def first():", ...block, "", "", "def second():", ...block, ""].join("\n"),
  "pkg/old.txt": "obsolete\n",
  "pkg/move.py": "A = 1\nB = 2\n",
  "README.md": "# demo\n",
}
const AFTER: Record<string, string> = {
  // The changed line sits in a block that occurs twice: its three lines of context are not unique in the file.
  "pkg/ops.py": ["def first():", ...block, "", "", "def second():", ...block.map((l) => l === "    w = 4" ? "    w = 40" : l), ""].join("\n"),
  "pkg/moved.py": "A = 1\nB = 3\n",
  "pkg/new_module.py": "def added():\n    return 'new'\n",
  "README.md": "# demo\n\nNow with a new module.\n",
}

const git = (cwd: string, ...args: Array<string>) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@e", ...args], { cwd, encoding: "utf8" })

const writeTree = (root: string, files: Record<string, string>) => {
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true })
    fs.writeFileSync(path.join(root, p), text)
  }
}

const readTree = (root: string): Record<string, string> => {
  const out: Record<string, string> = {}
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === ".git") continue
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else out[path.relative(root, full)] = fs.readFileSync(full, "utf8")
    }
  }
  walk(root)
  return out
}

/** A repository at BEFORE, and the gold patch that takes it to AFTER. */
const makeRepo = () =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "llm-oracle-"))
      git(root, "init", "-q")
      writeTree(root, BEFORE)
      git(root, "add", "-A")
      git(root, "commit", "-q", "-m", "base")
      for (const p of Object.keys(BEFORE)) fs.rmSync(path.join(root, p))
      writeTree(root, AFTER)
      git(root, "add", "-A")
      const patch = git(root, "diff", "--cached", "-M", "HEAD")
      git(root, "reset", "-q", "--hard", "HEAD")
      git(root, "clean", "-qfd")
      return { root, patch }
    }),
    ({ root }) => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true })),
  )

const TOOLS: Array<OpenAI.Chat.ChatCompletionFunctionTool> = ["execute_bash", "str_replace_editor", "finish"].map((name) => ({
  type: "function",
  function: { name, parameters: { type: "object", properties: {} } },
}))

/** OpenHands' editor, enough of it: the observations it writes are what the oracle reads back. */
const runTool = (root: string, name: string, args: Record<string, unknown>): string => {
  const local = (p: unknown) => String(p).replace(/^\/testbed/, root)
  if (name === "execute_bash") {
    try {
      return execFileSync("bash", ["-c", String(args["command"]).replaceAll("/testbed", root)], { encoding: "utf8" })
    } catch (e) {
      return `command failed: ${String(e)}`
    }
  }
  const file = local(args["path"])
  switch (args["command"]) {
    case "view": {
      if (!fs.existsSync(file)) return `ERROR: The path ${String(args["path"])} does not exist.`
      const lines = fs.readFileSync(file, "utf8").split("\n")
      return `Here's the result of running \`cat -n\` on ${String(args["path"])}:\n${
        lines.map((l, i) => `${String(i + 1).padStart(6)}\t${l}`).join("\n")
      }\n`
    }
    case "create":
      if (fs.existsSync(file)) return `ERROR: File already exists at: ${String(args["path"])}.`
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, String(args["file_text"]))
      return `File created successfully at: ${String(args["path"])}`
    case "str_replace": {
      const text = fs.readFileSync(file, "utf8")
      const old = String(args["old_str"])
      const count = text.split(old).length - 1
      if (count !== 1) return `ERROR: old_str occurs ${count} times in ${String(args["path"])}.`
      fs.writeFileSync(file, text.replace(old, () => String(args["new_str"] ?? "")))
      return `The file ${String(args["path"])} has been edited.`
    }
    case "insert": {
      const lines = fs.readFileSync(file, "utf8").split("\n")
      lines.splice(Number(args["insert_line"]), 0, ...String(args["new_str"]).split("\n"))
      fs.writeFileSync(file, lines.join("\n"))
      return `The file ${String(args["path"])} has been edited.`
    }
    default:
      return `ERROR: unknown command ${String(args["command"])}`
  }
}

describe("oracle policy", () => {
  it.scoped("edits a real repository into the gold patch's tree through the editor, runs the tests, finishes", () =>
    Effect.gen(function*() {
      const { root, patch } = yield* makeRepo()
      expect(patch).toContain("rename from pkg/move.py")
      const emulator = yield* startLlmEmulator({
        instances: [{ instance_id: "demo__ops-7", patch, test_patch: "" }],
      })
      const client = new OpenAI({ baseURL: emulator.url, apiKey: "none", maxRetries: 0 })
      const messages: Array<OpenAI.Chat.ChatCompletionMessageParam> = [
        { role: "system", content: "You are a software engineer." },
        { role: "user", content: "Fix the issue.\n\nInstance: demo__ops-7\nThe repository is at /testbed." },
      ]
      const calls: Array<{ name: string; args: Record<string, unknown>; observation: string }> = []
      for (let turn = 0; turn < 30; turn += 1) {
        const completion = yield* Effect.promise(() => client.chat.completions.create({ model: "oracle", messages, tools: TOOLS }))
        const message = completion.choices[0]?.message
        if (message === undefined) throw new Error("no choice")
        messages.push({ role: "assistant", content: message.content, ...(message.tool_calls === undefined ? {} : { tool_calls: message.tool_calls }) })
        const call = message.tool_calls?.[0]
        if (call?.type !== "function") throw new Error("expected a tool call")
        const args: Record<string, unknown> = JSON.parse(call.function.arguments)
        if (call.function.name === "finish") {
          calls.push({ name: "finish", args, observation: "" })
          break
        }
        const observation = runTool(root, call.function.name, args)
        calls.push({ name: call.function.name, args, observation })
        messages.push({ role: "tool", tool_call_id: call.id, content: observation })
      }
      expect(readTree(root)).toEqual(AFTER)
      expect(calls.filter((c) => c.observation.startsWith("ERROR"))).toEqual([])
      const commands = calls.map((c) => c.name === "str_replace_editor" ? String(c.args["command"]) : c.name)
      // In git's path order: README.md, pkg/move.py → pkg/moved.py, pkg/new_module.py, pkg/old.txt, pkg/ops.py.
      expect(commands).toEqual([
        "view",
        "str_replace",
        "execute_bash", // mv
        "view",
        "str_replace",
        "create",
        "execute_bash", // rm
        "view",
        "str_replace",
        "execute_bash", // the tests
        "finish",
      ])
      // The ops.py edit had to grow past the hunk's context to name one place.
      const opsEdit = calls.find((c) => c.args["command"] === "str_replace" && String(c.args["path"]).endsWith("ops.py"))
      expect(String(opsEdit?.args["old_str"]).split("\n").length).toBeGreaterThan(7)
    }))
})
