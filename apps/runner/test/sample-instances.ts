// The embedded sample's valid task instances as the runner reads them: expected.json's candidates, their PR diffs split
// into patch / test_patch by its file lists, and the labels it expects validation to derive.
import { TaskInstance } from "@swe-gym/domain"
import { Schema } from "effect"
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative, resolve } from "node:path"

/** The repository root (data/sample and data/specs live under it). */
export const repoRoot = resolve(import.meta.dirname, "../../..")

/** The sample's export directory (mirror bundles under owner__name/). */
export const sampleExport = join(repoRoot, "data/sample/github")

/** The sample's environment specs. */
export const specsDir = join(repoRoot, "data/specs")

const Expected = Schema.Struct({
  pulls: Schema.Array(Schema.Struct({
    repo: Schema.String,
    number: Schema.Number,
    instance_id: Schema.String,
    base_commit: Schema.String,
    verdict: Schema.String,
    test_patch_files: Schema.optional(Schema.Array(Schema.String)),
    FAIL_TO_PASS: Schema.optional(Schema.Array(Schema.String)),
    PASS_TO_PASS: Schema.optional(Schema.Array(Schema.String)),
    breaks: Schema.optional(Schema.Array(Schema.String)),
  })),
})

const Pull = Schema.Struct({ created_at: Schema.String })

/** Candidates of the sample (labels included, for evaluate; validate ignores them), optionally of one repository. */
export const sampleInstances = (repo?: string): ReadonlyArray<TaskInstance> =>
  Schema.decodeUnknownSync(Schema.parseJson(Expected))(readFileSync(join(repoRoot, "data/sample/expected.json"), "utf8")).pulls
    .filter((p) => p.verdict === "candidate" && (repo === undefined || p.repo === repo))
    .map((p) => {
      const folder = join(sampleExport, p.repo.replace("/", "__"), "pulls")
      const diff = readFileSync(join(folder, `${p.number}.diff`), "utf8")
      const sections = diff.split(/^(?=diff --git )/m).filter((s) => s.startsWith("diff --git "))
      const isTest = (s: string) => (p.test_patch_files ?? []).includes(/^diff --git a\/\S+ b\/(\S+)$/m.exec(s)?.[1] ?? "")
      return {
        instance_id: p.instance_id,
        repo: p.repo,
        base_commit: p.base_commit,
        patch: sections.filter((s) => !isTest(s)).join(""),
        test_patch: sections.filter(isTest).join(""),
        problem_statement: "",
        hints_text: "",
        created_at: Schema.decodeUnknownSync(Schema.parseJson(Pull))(readFileSync(join(folder, `${p.number}.json`), "utf8")).created_at,
        version: "0.1",
        environment_setup_commit: "",
        FAIL_TO_PASS: p.FAIL_TO_PASS ?? [],
        PASS_TO_PASS: p.PASS_TO_PASS ?? [],
      } satisfies TaskInstance
    })

/** A fresh temp directory. */
export const temp = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix))

/** Writes task instances as SWE-bench JSONL into `dir`, returning the file. */
export const writeInstances = (dir: string, instances: ReadonlyArray<TaskInstance>): string => {
  const file = join(dir, "instances.jsonl")
  writeFileSync(file, instances.map((i) => JSON.stringify(Schema.encodeSync(TaskInstance)(i))).join("\n") + "\n")
  return file
}

/** Every file under `dir` by path relative to it, with its content as text. */
export const filesUnder = (dir: string): ReadonlyMap<string, string> => {
  const out = new Map<string, string>()
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name)
      if (statSync(full).isDirectory()) walk(full)
      else out.set(relative(dir, full), readFileSync(full, "utf8"))
    }
  }
  walk(dir)
  return out
}
