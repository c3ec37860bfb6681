// End to end: the main job (`npm start`) in a fresh copy of the workspace builds the sample dataset through the Nx
// pipeline mine -> validate -> publish (real Docker), and the published dataset is what the sample was built to produce
// (data/sample/expected.json). Then: a rebuild with nothing changed comes from Nx's cache with the same bytes; after
// one repository's export changes, mining and validation redo only that repository's changed PR and the dataset equals
// a build from scratch of the changed sample. Needs the Docker engine: fails (never skips) without one.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import {
  type CommandRun,
  copyWorkspace,
  datasetOut,
  nx,
  publishedJsonl,
  removeWorkspace,
  run,
  touchedFile,
  touchedPull,
  touchRepository,
  workspaceRoot,
} from "./workspace-copy.js"

interface ExpectedPull {
  readonly instance_id: string
  readonly repo: string
  readonly verdict: string
  readonly FAIL_TO_PASS?: ReadonlyArray<string>
  readonly PASS_TO_PASS?: ReadonlyArray<string>
  readonly flaky?: ReadonlyArray<string>
  readonly unstable?: ReadonlyArray<string>
  readonly breaks?: ReadonlyArray<string>
}
interface PublishedRow {
  readonly instance_id: string
  readonly repo: string
  readonly patch: string
  readonly FAIL_TO_PASS: string
  readonly PASS_TO_PASS: string
}
interface Summary {
  readonly instances: number
  readonly candidates: number
  readonly per_repo: ReadonlyArray<{ readonly repo: string; readonly instances: number }>
  readonly rejected: { readonly mining: Record<string, number>; readonly validation: Record<string, number> }
  readonly incomplete: ReadonlyArray<string>
}

const expected = JSON.parse(readFileSync(join(workspaceRoot, "data/sample/expected.json"), "utf8")) as { readonly pulls: ReadonlyArray<ExpectedPull> }
const candidates = expected.pulls.filter((p) => p.verdict === "candidate")
const valid = candidates.filter((p) => (p.breaks ?? []).length === 0)
const breaking = candidates.filter((p) => (p.breaks ?? []).length > 0)
const countBy = (xs: ReadonlyArray<string>) => Object.fromEntries([...new Set(xs)].sort().map((x) => [x, xs.filter((y) => y === x).length]))

const echo = (text: string) => void process.stderr.write(text)
const rowsOf = (jsonl: string): ReadonlyArray<PublishedRow> => jsonl.trimEnd().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as PublishedRow)
const summaryOf = (root: string) => JSON.parse(readFileSync(join(root, datasetOut, "publish", "summary.json"), "utf8")) as Summary
const unstableMatch = (pattern: string) => new RegExp(`^${pattern.split("*").map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
const ok = (r: CommandRun) => expect(r.code, `${r.command} failed:\n${r.output.slice(-4000)}`).toBe(0)

interface PackageJson {
  readonly name: string
  readonly nx?: { readonly name?: string }
  readonly dependencies?: Record<string, string>
}
interface ProjectJson {
  readonly targets: Record<string, { readonly inputs?: ReadonlyArray<string | { readonly input?: string; readonly projects?: ReadonlyArray<string> }> }>
}

/** Workspace packages by npm name: their Nx project name and the workspace packages they depend on at run time. */
const workspacePackages = (): ReadonlyMap<string, { readonly project: string; readonly deps: ReadonlyArray<string> }> => {
  const packages = new Map<string, { readonly project: string; readonly deps: ReadonlyArray<string> }>()
  for (const group of ["libs", "apps", "tools"]) {
    for (const dir of readdirSync(join(workspaceRoot, group))) {
      const pkg = JSON.parse(readFileSync(join(workspaceRoot, group, dir, "package.json"), "utf8")) as PackageJson
      packages.set(pkg.name, { project: pkg.nx?.name ?? pkg.name, deps: Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith("@swe-gym/")) })
    }
  }
  return packages
}

describe("the sample dataset's Nx project", () => {
  it("each stage hashes the production files of every package the app it runs loads (dependencies, transitively)", () => {
    const packages = workspacePackages()
    const closure = (name: string, seen: Set<string> = new Set()): Set<string> => {
      if (seen.has(name)) return seen
      seen.add(name)
      for (const dep of packages.get(name)?.deps ?? []) closure(dep, seen)
      return seen
    }
    const project = JSON.parse(readFileSync(join(workspaceRoot, "data/sample-dataset/project.json"), "utf8")) as ProjectJson
    for (const [target, app] of [["mine", "@swe-gym/miner"], ["validate", "@swe-gym/runner"], ["publish", "@swe-gym/analysis"], ["rollout", "@swe-gym/runner"], ["analyze", "@swe-gym/analysis"]] as const) {
      const hashed = (project.targets[target]?.inputs ?? []).flatMap((i) => (typeof i === "object" && i.input === "production" ? (i.projects ?? []) : []))
      const needed = [...closure(app)].map((name) => packages.get(name)?.project ?? name)
      expect([...hashed].sort(), target).toEqual(needed.sort())
    }
  })
})

describe("the sample dataset, end to end (Nx pipeline, real Docker)", () => {
  let root = ""
  let fromScratch = ""

  beforeAll(async () => {
    // Fails here, with the reason, when the engine is unreachable (the test never skips).
    const docker = await run(workspaceRoot, "docker", ["info", "--format", "{{.ServerVersion}}"])
    expect(docker.code, `the Docker engine is not reachable (run npm run setup):\n${docker.output}`).toBe(0)
    root = copyWorkspace()
  })
  afterAll(() => {
    if (root !== "") removeWorkspace(root)
  })

  it("npm start in a fresh copy builds the dataset the sample was built to produce", async () => {
    const start = await run(root, "npm", ["start"], echo)
    ok(start)
    expect(start.output).toMatch(/nx run sample-dataset:mine/)
    expect(start.output).toMatch(/nx run sample-dataset:validate/)
    expect(start.output).toMatch(/nx run sample-dataset:publish/)
    expect(start.output).toContain(`dataset: ${valid.length} task instances from ${candidates.length} candidates`)
    // The rollout stage: k=2 samples per instance with the emulator's oracle (resolves) and empty (never) policies.
    expect(start.output).toMatch(/nx run sample-dataset:rollout/)
    expect(start.output).toContain(`oracle: ${2 * valid.length} rollouts, resolved ${2 * valid.length} (100.0%)`)
    expect(start.output).toContain(`empty: ${2 * valid.length} rollouts, resolved 0 (0.0%)`)
    // The analyze stage: the rollouts in DuckDB, Table 3 and the HTML report.
    expect(start.output).toMatch(/nx run sample-dataset:analyze/)
    expect(start.output).toContain(`imported ${4 * valid.length} trajectories`)
    const table3 = readFileSync(join(root, "data/out/sample-dataset/analyze/table3.csv"), "utf8")
    expect(table3).toMatch(/^oracle,.*,14,14,14,1,0,/m)

    fromScratch = publishedJsonl(root)
    const rows = rowsOf(fromScratch)
    expect(rows.map((r) => r.instance_id)).toEqual(valid.map((p) => p.instance_id).sort())
    for (const pull of valid) {
      const row = rows.find((r) => r.instance_id === pull.instance_id)
      // As the Hugging Face exports write them: JSON-encoded strings.
      expect(typeof row?.FAIL_TO_PASS).toBe("string")
      const f2p = JSON.parse(row?.FAIL_TO_PASS ?? "null") as ReadonlyArray<string>
      const p2p = JSON.parse(row?.PASS_TO_PASS ?? "null") as ReadonlyArray<string>
      expect([...f2p].sort(), pull.instance_id).toEqual([...(pull.FAIL_TO_PASS ?? [])].sort())
      expect([...p2p].sort(), pull.instance_id).toEqual([...(pull.PASS_TO_PASS ?? [])].sort())
      for (const id of [...f2p, ...p2p]) {
        expect(pull.flaky ?? []).not.toContain(id)
        for (const pattern of pull.unstable ?? []) expect(id).not.toMatch(unstableMatch(pattern))
      }
    }

    const summary = summaryOf(root)
    expect(summary.instances).toBe(valid.length)
    expect(summary.candidates).toBe(candidates.length)
    expect(summary.incomplete).toEqual([])
    expect(summary.per_repo).toEqual(Object.entries(countBy(valid.map((p) => p.repo))).map(([repo, instances]) => ({ repo, instances })))
    expect(summary.rejected.mining).toEqual(countBy(expected.pulls.filter((p) => p.verdict !== "candidate").map((p) => p.verdict)))
    expect(summary.rejected.validation).toEqual(breaking.length === 0 ? {} : { gold_breaks_tests: breaking.length })
  })

  it("a rebuild with nothing changed comes from Nx's cache, with the same bytes", async () => {
    const again = await nx(root, ["run", "sample-dataset:publish"], echo)
    ok(again)
    const cached = /Nx read the output from the cache instead of running the command for (\d+) out of (\d+) tasks/.exec(again.output)
    expect(cached?.[1], again.output.slice(-2000)).toBeDefined()
    expect(cached?.[1]).toBe(cached?.[2])
    expect(publishedJsonl(root)).toBe(fromScratch)
  })

  let touched = ""
  it("after one repository's export changes, mine and validate redo only its changed PR", async () => {
    touchRepository(root)
    const rebuild = await nx(root, ["run", "sample-dataset:publish"], echo)
    ok(rebuild)
    // Mining: only sample/calc mines a PR (the touched one); the other repositories list nothing new.
    expect(rebuild.output).toMatch(/sample\/calc: 1 PRs mined/)
    expect(rebuild.output).toMatch(/sample\/textkit: 0 PRs mined/)
    expect(rebuild.output).toMatch(/sample\/inventory: 0 PRs mined/)
    expect(rebuild.output).toMatch(/candidates written: 1 \(8 in total\)/)
    // Validation: only the touched candidate runs; the others are answered from the stage's store.
    const lines = rebuild.output.split("\n").filter((l) => /\[validate\] \d+ \S+: /.test(l))
    expect(lines).toHaveLength(candidates.length)
    expect(lines.filter((l) => !l.includes("(stored)")).map((l) => /\[validate\] \d+ (\S+):/.exec(l)?.[1])).toEqual([touchedPull.instance_id])
    expect(rebuild.output).toContain(`${candidates.length - 1} answered from the store`)

    touched = publishedJsonl(root)
    const row = rowsOf(touched).find((r) => r.instance_id === touchedPull.instance_id)
    expect(row?.patch).toContain(`diff --git a/${touchedFile} b/${touchedFile}`)
    expect(touched).not.toBe(fromScratch)
  })

  it("the incrementally rebuilt dataset equals a build from scratch of the changed sample", async () => {
    removeWorkspace(join(root, datasetOut))
    const scratch = await nx(root, ["run-many", "-t", "mine", "validate", "publish", "-p", "sample-dataset", "--skip-nx-cache", "--exclude-task-dependencies"], echo)
    ok(scratch)
    expect(scratch.output).toContain("0 answered from the store")
    expect(publishedJsonl(root)).toBe(touched)
  })
})
