import { createHash } from "node:crypto"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import type { TaskInstance } from "@swe-gym/domain"
import { describe, expect, it } from "vitest"
import { GradingVersion, gradingSources, gradingSourceSha256 } from "../src/grading-version.js"
import { evaluationKey } from "../src/evaluation-result.js"

// A stored grade must not outlive a fix of the parser or grader that made it: the key of every stored result holds
// GradingVersion, and this test fails when the graded sources change without a bump.

const root = resolve(import.meta.dirname, "..")

const filesOf = (entry: string): ReadonlyArray<string> => {
  const path = resolve(root, entry)
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path, { recursive: true, encoding: "utf8" })
    .map((name) => join(path, name))
    .filter((file) => statSync(file).isFile())
}

/** sha256 over every covered file: its path (relative to libs/harness, "/"-separated) and its text (LF line ends). */
const sourceHash = (): string => {
  const hash = createHash("sha256")
  const files = gradingSources.flatMap(filesOf).map((file) => ({ file, name: relative(root, file).split("\\").join("/") }))
  for (const { file, name } of files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    hash.update(`${name}\0${readFileSync(file, "utf8").replace(/\r\n/g, "\n")}\0`)
  }
  return hash.digest("hex")
}

describe("GradingVersion", () => {
  it("is bumped with every change to the parsers, label matching, grading or label derivation", () => {
    const now = sourceHash()
    expect(
      gradingSourceSha256[GradingVersion],
      `The grading sources changed (${gradingSources.join(", ")}). Stored grades made by the old code would be served ` +
        `again: in libs/harness/src/grading-version.ts set GradingVersion to ${GradingVersion + 1} and add ` +
        `\`${GradingVersion + 1}: "${now}"\` to gradingSourceSha256.`,
    ).toBe(now)
  })

  it("records one hash per version, the newest being GradingVersion's", () => {
    const versions = Object.keys(gradingSourceSha256).map(Number)
    expect(Math.max(...versions)).toBe(GradingVersion)
    const hashes = Object.values(gradingSourceSha256)
    expect(new Set(hashes).size, "two versions with one hash: a version was bumped without a change").toBe(hashes.length)
  })

  it("covers every parser file and every grading module", () => {
    const covered = gradingSources.flatMap(filesOf).map((f) => relative(root, f).split("\\").join("/"))
    const parsers = readdirSync(resolve(root, "src/log-parsers")).map((f) => `src/log-parsers/${f}`)
    for (const file of [...parsers, "src/grading.ts", "src/label-matching.ts", "src/label-audit.ts", "src/volatile-ids.ts"]) expect(covered).toContain(file)
  })

  it("is part of the evaluation key: the same attempt graded by another version has another key", () => {
    const instance: TaskInstance = {
      instance_id: "a__b-1",
      repo: "a/b",
      base_commit: "abc1234",
      patch: "",
      test_patch: "",
      problem_statement: "",
      hints_text: "",
      created_at: "2026-01-12T00:00:00Z",
      version: "1.0",
      environment_setup_commit: "",
      FAIL_TO_PASS: ["t.py::test_a"],
      PASS_TO_PASS: [],
    }
    const parts = { instance, patchSha256: "p", imageId: "sha256:i", specHash: "s", timeoutSeconds: 60 }
    const key = evaluationKey(parts)
    expect(evaluationKey(parts, GradingVersion)).toBe(key)
    expect(evaluationKey(parts, GradingVersion - 1)).not.toBe(key)
  })
})
