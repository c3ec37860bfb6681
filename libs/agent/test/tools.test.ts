// The agent's tools in a real container of the Python base image, the test repository at /testbed.
import { describe, expect, it } from "@effect/vitest"
import type { Container } from "@swe-gym/sandbox"
import { Duration, Effect, Schema } from "effect"
import { executeBash } from "../src/bash-tool.js"
import { makeEditor } from "../src/editor-tool.js"
import { modelPatch } from "../src/model-patch.js"
import { AgentLimits } from "../src/agent-config.js"
import { dockerLayer, makeTestRepo, prepareTestbed, sh } from "./agent-fixtures.js"

const repo = makeTestRepo()
const limits = Schema.decodeSync(AgentLimits)({ max_output_bytes: 4000 })
const layer = dockerLayer()

describe("str_replace_editor", () => {
  it.scopedLive("view, create, str_replace, insert and undo_edit with OpenHands' semantics", () =>
    Effect.gen(function*() {
      const container = yield* prepareTestbed(repo)
      const editor = makeEditor(container, limits)
      const run = (args: Parameters<typeof editor.run>[0]) => editor.run(args)
      const cat = (path: string) => sh(container, `cat ${path}`)

      const dir = yield* run({ command: "view", path: "/testbed" })
      expect(dir.isError).toBe(false)
      expect(dir.text).toContain("up to 2 levels deep in /testbed")
      for (const entry of ["/testbed/calc/", "/testbed/calc/ops.py", "/testbed/tests/test_ops.py", "/testbed/README.md"]) {
        expect(dir.text.split("\n")).toContain(entry)
      }
      expect(dir.text).not.toContain(".hidden")
      expect(dir.text).not.toContain(".git")

      const file = yield* run({ command: "view", path: "/testbed/calc/ops.py" })
      expect(file.text).toContain("     1\tdef add(a, b):\n     2\t    return a - b")
      const range = yield* run({ command: "view", path: "/testbed/calc/ops.py", view_range: [5, -1] })
      expect(range.text).toContain("     5\tdef sub(a, b):\n     6\t    return a - b")
      expect(range.text).not.toContain("     1\t")
      expect((yield* run({ command: "view", path: "/testbed/calc/ops.py", view_range: [9, 10] })).isError).toBe(true)

      // str_replace needs exactly one occurrence, and says where the others are.
      const twice = yield* run({ command: "str_replace", path: "/testbed/calc/ops.py", old_str: "return a - b", new_str: "return a + b" })
      expect(twice.isError).toBe(true)
      expect(twice.text).toContain("Multiple occurrences of old_str `return a - b` in lines [2,6]")
      const none = yield* run({ command: "str_replace", path: "/testbed/calc/ops.py", old_str: "return a * b", new_str: "x" })
      expect(none.text).toContain("did not appear verbatim in /testbed/calc/ops.py")
      const original = yield* cat("/testbed/calc/ops.py")
      const once = yield* run({
        command: "str_replace",
        path: "/testbed/calc/ops.py",
        old_str: "def add(a, b):\n    return a - b",
        new_str: "def add(a, b):\n    return a + b",
      })
      expect(once.isError).toBe(false)
      expect(once.text).toContain("has been edited")
      expect(once.text).toContain("     2\t    return a + b")
      const replaced = yield* cat("/testbed/calc/ops.py")
      expect(replaced).toBe(original.replace("return a - b", "return a + b"))

      const inserted = yield* run({ command: "insert", path: "/testbed/calc/ops.py", insert_line: 0, new_str: "import os" })
      expect(inserted.text).toContain("     1\timport os\n     2\tdef add(a, b):")
      expect(yield* cat("/testbed/calc/ops.py")).toBe(`import os\n${replaced}`)
      expect((yield* run({ command: "insert", path: "/testbed/calc/ops.py", insert_line: 99, new_str: "x" })).text).toContain(
        "[0, 7]",
      )

      // undo_edit walks back one version at a time.
      expect((yield* run({ command: "undo_edit", path: "/testbed/calc/ops.py" })).isError).toBe(false)
      expect(yield* cat("/testbed/calc/ops.py")).toBe(replaced)
      yield* run({ command: "undo_edit", path: "/testbed/calc/ops.py" })
      expect(yield* cat("/testbed/calc/ops.py")).toBe(original)
      expect((yield* run({ command: "undo_edit", path: "/testbed/calc/ops.py" })).text).toContain("No edit history found")

      // create refuses to overwrite; its undo removes the file; parents are made.
      expect((yield* run({ command: "create", path: "/testbed/README.md", file_text: "x" })).text).toContain("File already exists")
      const shellish = "a = '$(touch /tmp/pwned)' \"`id`\" \\\n"
      expect((yield* run({ command: "create", path: "/testbed/pkg/sub/new.py", file_text: shellish })).isError).toBe(false)
      expect(yield* cat("/testbed/pkg/sub/new.py")).toBe(shellish)
      expect(yield* sh(container, "test -e /tmp/pwned && echo yes || echo no")).toBe("no\n")
      yield* run({ command: "undo_edit", path: "/testbed/pkg/sub/new.py" })
      expect(yield* sh(container, "test -e /testbed/pkg/sub/new.py && echo yes || echo no")).toBe("no\n")

      // Paths: absolute, under /testbed, symlinks not followed out of it.
      expect((yield* run({ command: "view", path: "calc/ops.py" })).text).toContain("Maybe you meant /testbed/calc/ops.py?")
      expect((yield* run({ command: "view", path: "/etc/passwd" })).text).toContain("outside the repository")
      expect((yield* run({ command: "view", path: "/testbed/../etc/passwd" })).text).toContain("outside the repository")
      yield* sh(container, "ln -s /etc/passwd /testbed/link")
      expect((yield* run({ command: "view", path: "/testbed/link" })).text).toContain("outside /testbed")
      expect((yield* run({ command: "view", path: "/testbed/missing.py" })).text).toContain("does not exist")
      expect((yield* run({ command: "str_replace", path: "/testbed/calc", old_str: "a", new_str: "b" })).text).toContain(
        "is a directory",
      )
    }).pipe(Effect.provide(layer)))

  it.scopedLive("edits keep every byte outside the edited span (invalid UTF-8, NUL, CRLF) and the file's mode", () =>
    Effect.gen(function*() {
      const container = yield* prepareTestbed(repo)
      const editor = makeEditor(container, limits)
      const before = Buffer.concat([
        Buffer.from([0xff, 0xfe, 0x00, 0x80]),
        Buffer.from("\r\nhello world\r\n"),
        Buffer.from([0xc3, 0x28, 0x0a]),
      ])
      yield* container.copyFiles([{ path: "blob.txt", content: before, mode: 0o755 }], "/testbed")
      const edited = yield* editor.run({ command: "str_replace", path: "/testbed/blob.txt", old_str: "hello", new_str: "héllo" })
      expect(edited.isError).toBe(false)
      const after = Buffer.from(yield* container.readFile("/testbed/blob.txt"))
      expect(after.equals(Buffer.from(before.toString("latin1").replace("hello", "h\u00c3\u00a9llo"), "latin1"))).toBe(true)
      expect(yield* sh(container, "stat -c %a /testbed/blob.txt")).toBe("755\n")
      yield* editor.run({ command: "undo_edit", path: "/testbed/blob.txt" })
      expect(Buffer.from(yield* container.readFile("/testbed/blob.txt")).equals(before)).toBe(true)
    }).pipe(Effect.provide(layer)))
})

describe("execute_bash", () => {
  it.scopedLive("output, exit code, invalid UTF-8, a hanging command killed at its timeout, no network", () =>
    Effect.gen(function*() {
      const container = yield* prepareTestbed(repo)
      const bash = (command: string, timeout?: number) =>
        executeBash(container, timeout === undefined ? { command } : { command, timeout }, limits)

      const plain = yield* bash("pwd; echo out; echo err >&2; printf '\\377\\376ok\\n'; exit 3")
      expect(plain.text).toBe("/testbed\nout\nerr\n\ufffd\ufffdok\n[The command completed with exit code 3.]")
      expect(plain.isError).toBe(false)

      const hang = yield* bash("echo started; sleep 600", 2)
      expect(hang.isError).toBe(true)
      expect(hang.text).toContain("started")
      expect(hang.text).toContain("timed out after 2 seconds and was killed")
      expect((yield* bash("echo alive")).text).toContain("alive")

      const net = yield* bash(
        "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)\" && echo CONNECTED; ls /sys/class/net",
      )
      expect(net.text).not.toContain("CONNECTED")
      expect(net.text).toMatch(/Network is unreachable|timed out|No route/)
      expect(net.text).toContain("lo")
      expect(net.text).not.toContain("eth0")
    }).pipe(Effect.provide(layer)))

  it.scopedLive("a fork bomb and 1 GB of output stay inside the limits; the container answers afterwards", () =>
    Effect.gen(function*() {
      const container = yield* prepareTestbed(repo)
      const bash = (command: string, timeout: number) => executeBash(container, { command, timeout }, limits)

      const bomb = yield* bash("bomb() { bomb | bomb & }; bomb; sleep 30", 5)
      expect(bomb.text).toContain("timed out after 5 seconds")
      const pids = yield* sh(container, "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max")
      expect(pids.trim()).toBe("128")

      const flood = yield* bash("head -c 1000000000 /dev/zero | tr '\\0' 'a'; echo; echo END", 300)
      expect(flood.isError).toBe(false)
      expect(Buffer.byteLength(flood.text)).toBeLessThan(limits.max_output_bytes + 200)
      expect(flood.text).toMatch(/\[\.\.\. swe-gym: \d+ bytes of output truncated \.\.\.\]/)
      expect(flood.text).toContain("END\n[The command completed with exit code 0.]")

      // Processes left by the bomb are gone or dying; the container still runs commands.
      const after = yield* container.exec(["echo", "alive"], { timeout: Duration.seconds(60) })
      expect(after.stdout).toBe("alive\n")
    }).pipe(Effect.provide(layer)), 600_000)
})

describe("model patch", () => {
  it.scopedLive("is the diff against base of every change, binary files left out, and applies to a clean checkout", () =>
    Effect.gen(function*() {
      const container = yield* prepareTestbed(repo)
      yield* sh(container, "cd /testbed && sed -i 's/return a - b/return a + b/' calc/ops.py && echo 'x = 1' > calc/new.py && printf '\\000\\001\\002binary' > calc/data.bin && rm README.md")
      const { patch, problem } = yield* modelPatch(container, repo.baseCommit)
      expect(problem).toBeUndefined()
      expect(patch).toContain("diff --git a/calc/ops.py b/calc/ops.py")
      expect(patch).toContain("+    return a + b")
      expect(patch).toContain("diff --git a/calc/new.py b/calc/new.py")
      expect(patch).toContain("diff --git a/README.md b/README.md\ndeleted file mode")
      expect(patch).not.toContain("data.bin")

      yield* sh(container, "cd /testbed && git reset -q --hard && git clean -qfdx")
      expect((yield* modelPatch(container, repo.baseCommit)).patch).toBe("")
      yield* container.copyFiles([{ path: "model.patch", content: patch }], "/tmp")
      yield* sh(container, "cd /testbed && git apply --check /tmp/model.patch")
    }).pipe(Effect.provide(layer)))

  it.scopedLive("takes one exec and no archive call (every rollout ends with it); a diff that fails is a problem and an empty patch, never an earlier call's", () =>
    Effect.gen(function*() {
      const real = yield* prepareTestbed(repo)
      const execs: Array<string> = []
      const reads: Array<string> = []
      const container: Container = {
        ...real,
        exec: (cmd, opts) => Effect.suspend(() => (execs.push(String(cmd)), real.exec(cmd, opts))),
        readFile: (path) => Effect.suspend(() => (reads.push(path), real.readFile(path))),
      }
      yield* sh(real, "cd /testbed && echo 'x = 1' > calc/new.py")
      expect((yield* modelPatch(container, repo.baseCommit)).patch).toContain("diff --git a/calc/new.py b/calc/new.py")
      expect(execs).toHaveLength(1)
      expect(reads).toEqual([])

      const unknown = "0".repeat(40)
      const failed = yield* modelPatch(container, unknown)
      expect(failed.patch).toBe("")
      expect(failed.problem).toContain(`\`git add -A && git diff --cached --binary ${unknown}\` exited 128`)
      expect(execs).toHaveLength(2)
    }).pipe(Effect.provide(layer)))

  it.scopedLive("a patch larger than the exec's reply may carry comes whole from the file, the same bytes as an inline one", () =>
    Effect.gen(function*() {
      const real = yield* prepareTestbed(repo)
      const reads: Array<string> = []
      const container: Container = { ...real, readFile: (path) => Effect.suspend(() => (reads.push(path), real.readFile(path))) }
      // About 40 KB of diff, with non-ASCII text.
      yield* sh(real, "cd /testbed && for i in $(seq 1 2000); do echo \"line $i ünïcødé\"; done > calc/big.txt")
      const inline = yield* modelPatch(container, repo.baseCommit)
      expect(reads).toEqual([])
      const viaFile = yield* modelPatch(container, repo.baseCommit, 4096)
      expect(reads).toHaveLength(1)
      expect(viaFile.patch.length).toBeGreaterThan(4096)
      expect(viaFile).toEqual(inline)
      expect(inline.patch).toContain("+line 2000 ünïcødé")
    }).pipe(Effect.provide(layer)))
})
