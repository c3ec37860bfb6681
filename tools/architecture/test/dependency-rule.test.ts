// The dependency rule on the real Nx project graph (`nx graph --file`), and on made-up graphs that break it.
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Layers, violations } from "../src/layers.js"

const root = resolve(import.meta.dirname, "../../..")

const GraphFile = Schema.Struct({
  graph: Schema.Struct({
    nodes: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
    dependencies: Schema.Record({ key: Schema.String, value: Schema.Array(Schema.Struct({ source: Schema.String, target: Schema.String })) }),
  }),
})

/** The workspace's project graph as Nx computes it (no daemon, no cloud). */
const projectGraph = () => {
  const file = join(mkdtempSync(join(tmpdir(), "swe-gym-graph-")), "graph.json")
  execFileSync("npx", ["nx", "graph", `--file=${file}`], { cwd: root, env: { ...process.env, NX_DAEMON: "false", NX_NO_CLOUD: "true" }, stdio: "pipe" })
  const { graph } = Schema.decodeUnknownSync(Schema.parseJson(GraphFile))(readFileSync(file, "utf8"))
  return { projects: Object.keys(graph.nodes), edges: Object.values(graph.dependencies).flat().filter((e) => !e.target.startsWith("npm:")) }
}

describe("the dependency rule", () => {
  it("holds on the workspace's Nx project graph: every project in a layer, every edge pointing down", () => {
    const { projects, edges } = projectGraph()
    expect(projects).toContain("harness")
    expect(edges.length).toBeGreaterThan(20)
    expect(violations(projects, edges)).toEqual([])
  }, 120_000)

  it("reports an edge to the same or a higher layer, and a project no layer declares", () => {
    const projects = ["domain", "store", "harness", "mining", "runner", "newcomer"]
    const edges = [
      { source: "harness", target: "store" }, // down: fine
      { source: "harness", target: "mining" }, // same layer
      { source: "store", target: "runner" }, // upwards
      { source: "runner", target: "harness" }, // down: fine
    ]
    const found = violations(projects, edges)
    expect(found.map((v) => v.edge ?? v.project)).toEqual(["newcomer", { source: "harness", target: "mining" }, { source: "store", target: "runner" }])
    expect(found[1]?.reason).toContain("layer 5 capabilities")
  })

  it("declares each project once", () => {
    const all = Layers.flatMap((l) => l.projects)
    expect(new Set(all).size).toBe(all.length)
  })
})
