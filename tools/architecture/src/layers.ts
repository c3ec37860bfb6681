// The dependency rule of the workspace, declared once: every Nx project sits in a layer, and a project may depend only
// on projects of lower layers (never on its own layer, never upwards). `npx nx graph` edges come from package.json
// dependencies and devDependencies and from imports, so a test-only import counts too.
//
//   0 test-config                      vitest settings shared by every package
//   1 domain                           schemas of every record, no I/O beyond codecs
//   2 test tools                       loopback emulators of outside services (GitHub, an OpenAI-compatible LLM)
//   3 adapters                         one outside system each: DuckDB, git, GitHub, Docker, LLM endpoints
//   4 dataset                          the task-instance tables every capability writes or reads
//   5 capabilities                     mining (PR → candidates), harness (environments, validate, evaluate)
//   6 capabilities above the harness   agent (rollouts), analytics (trajectories, exports)
//   7 apps and tools                   executables composing capabilities
//   8 data projects                    the Nx task graphs of datasets, running the apps

/** The layers, lowest first; each lists the Nx project names in it. */
export const Layers: ReadonlyArray<{ readonly name: string; readonly projects: ReadonlyArray<string> }> = [
  { name: "test-config", projects: ["@swe-gym/test-config"] },
  { name: "domain", projects: ["domain"] },
  { name: "test tools", projects: ["github-emulator", "llm-emulator"] },
  { name: "adapters", projects: ["store", "git", "github", "sandbox", "llm"] },
  { name: "dataset", projects: ["dataset"] },
  { name: "capabilities", projects: ["mining", "harness"] },
  { name: "capabilities above the harness", projects: ["agent", "analytics"] },
  { name: "apps and tools", projects: ["miner", "runner", "analysis", "docker-tools", "sample-tools", "architecture"] },
  { name: "data projects", projects: ["sample-dataset"] },
]

/** A project-graph edge: `source` depends on `target`. */
export interface Edge {
  readonly source: string
  readonly target: string
}

/** One breach of the rule, with the sentence that explains it. */
export interface Violation {
  readonly edge?: Edge
  readonly project?: string
  readonly reason: string
}

/** The layer index of every declared project. */
export const layerOf = (layers: typeof Layers = Layers): ReadonlyMap<string, number> =>
  new Map(layers.flatMap((layer, index) => layer.projects.map((p) => [p, index] as const)))

/**
 * The breaches of the rule in a project graph: a project no layer declares, and an edge to a project of the same or a
 * higher layer. Empty when the graph keeps the rule.
 */
export const violations = (projects: ReadonlyArray<string>, edges: ReadonlyArray<Edge>, layers: typeof Layers = Layers): ReadonlyArray<Violation> => {
  const rank = layerOf(layers)
  const name = (i: number | undefined) => (i === undefined ? "?" : `${i} ${layers[i]?.name ?? "?"}`)
  const undeclared = projects.filter((p) => !rank.has(p)).map((project): Violation => ({
    project,
    reason: `project ${project} is in no layer: add it to the layer it belongs to in tools/architecture/src/layers.ts`,
  }))
  const upward = edges.flatMap((edge): Array<Violation> => {
    const from = rank.get(edge.source)
    const to = rank.get(edge.target)
    if (from === undefined || to === undefined || to < from) return []
    return [{
      edge,
      reason: `${edge.source} (layer ${name(from)}) depends on ${edge.target} (layer ${name(to)}): a project may depend only on lower layers; move the shared code down or invert the dependency`,
    }]
  })
  return [...undeclared, ...upward]
}
