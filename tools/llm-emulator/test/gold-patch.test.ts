import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { editsForFile, editsFromHunks, linesFromView, newFileText, parseUnifiedDiff, PatchParseError } from "../src/index.js"

const SAMPLE = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../../data/sample/swe-bench-lite-dev.jsonl")

const applyStrReplace = (text: string, oldStr: string, newStr: string): string => {
  expect(text.split(oldStr).length - 1).toBe(1)
  return text.replace(oldStr, () => newStr)
}

describe("gold patch reading", () => {
  it("reads every patch and test patch of SWE-bench Lite's dev split, hunk line counts matching their headers", () => {
    const rows = fs.readFileSync(SAMPLE, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))
    expect(rows.length).toBe(23)
    for (const row of rows) {
      for (const diff of [row.patch, row.test_patch]) {
        const files = parseUnifiedDiff(diff)
        expect(files.length).toBeGreaterThan(0)
        const headers = [...String(diff).matchAll(/^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/gm)]
        const hunks = files.flatMap((f) => f.hunks)
        expect(hunks.length).toBe(headers.length)
        hunks.forEach((h, i) => {
          expect(h.oldLines.length).toBe(Number(headers[i]?.[1] ?? 1))
          expect(h.newLines.length).toBe(Number(headers[i]?.[2] ?? 1))
        })
      }
    }
  })

  it("a hunk whose context is not unique: hunk-only edits are ambiguous, view-informed edits are not", () => {
    const block = ["a = 1", "b = 2", "c = 3", "d = 4", "e = 5", "f = 6", "g = 7"]
    const before = ["def one():", ...block, "", "def two():", ...block, ""]
    const patch = [
      "diff --git a/m.py b/m.py",
      "--- a/m.py",
      "+++ b/m.py",
      "@@ -13,7 +13,7 @@ def two():",
      " a = 1",
      " b = 2",
      " c = 3",
      "-d = 4",
      "+d = 40",
      " e = 5",
      " f = 6",
      " g = 7",
      "",
    ].join("\n")
    const [file] = parseUnifiedDiff(patch)
    if (file === undefined) throw new Error("no file")
    const naive = editsFromHunks("m.py", file.hunks)[0]
    if (naive?._tag !== "StrReplace") throw new Error("expected str_replace")
    expect(before.join("\n").split(naive.old_str).length - 1).toBe(2)
    const edits = editsForFile("m.py", file.hunks, before)
    let text = before.join("\n")
    for (const e of edits) {
      if (e._tag !== "StrReplace") throw new Error("expected str_replace")
      text = applyStrReplace(text, e.old_str, e.new_str)
    }
    expect(text).toBe(["def one():", ...block, "", "def two():", ...block.map((l) => l === "d = 4" ? "d = 40" : l), ""].join("\n"))
  })

  it("hunks apply in order even when an earlier one shifts the lines of a later one", () => {
    const before = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`)
    const patch = [
      "diff --git a/f.txt b/f.txt",
      "--- a/f.txt",
      "+++ b/f.txt",
      "@@ -2,3 +2,5 @@",
      " line 2",
      "+added 1",
      "+added 2",
      " line 3",
      " line 4",
      "@@ -30,3 +32,2 @@",
      " line 30",
      "-line 31",
      " line 32",
      "",
    ].join("\n")
    const [file] = parseUnifiedDiff(patch)
    let text = before.join("\n")
    for (const e of editsForFile("f.txt", file?.hunks ?? [], before)) {
      if (e._tag !== "StrReplace") throw new Error("expected str_replace")
      text = applyStrReplace(text, e.old_str, e.new_str)
    }
    const expected = [...before.slice(0, 2), "added 1", "added 2", ...before.slice(2, 30), ...before.slice(31)]
    expect(text).toBe(expected.join("\n"))
  })

  it("new files keep or drop the final newline as the patch says", () => {
    const withNewline = parseUnifiedDiff("diff --git a/n.py b/n.py\nnew file mode 100644\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+a\n+b\n")
    expect(withNewline[0]?.oldPath).toBeUndefined()
    expect(newFileText(withNewline[0]?.hunks ?? [])).toBe("a\nb\n")
    const without = parseUnifiedDiff(
      "diff --git a/n.py b/n.py\nnew file mode 100644\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file\n",
    )
    expect(newFileText(without[0]?.hunks ?? [])).toBe("a\nb")
  })

  it("a hunk with fewer lines than its header says is an error naming the line", () => {
    expect(() => parseUnifiedDiff("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n")).toThrow(PatchParseError)
  })

  it("reads a view listing, and refuses a clipped or partial one", () => {
    const listing = "Here's the result of running `cat -n` on /testbed/a.py:\n     1\tx = 1\n     2\t\n     3\ty = 2\n"
    expect(linesFromView(listing, 3)).toEqual(["x = 1", "", "y = 2"])
    expect(linesFromView(listing, 4)).toBeUndefined()
    expect(linesFromView(`${listing}<response clipped><NOTE>…</NOTE>`, 1)).toBeUndefined()
    expect(linesFromView("     2\tb\n     3\tc\n", 1)).toBeUndefined()
    expect(linesFromView("ERROR: The path /testbed/a.py does not exist.", 1)).toBeUndefined()
  })
})
