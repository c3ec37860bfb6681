import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { NodeContext } from "@effect/platform-node"
import { readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { agentConfigHash, decodeAgentConfig, loadAgentConfig, renderTemplate } from "../src/agent-config.js"
import { defaultConfig, makeTestRepo, tempDir, testInstance } from "./agent-fixtures.js"

const agentsDir = join(import.meta.dirname, "../../../data/agents")

const minimal = { name: "m", system_template: "Instance: {{instance_id}}", instance_template: ["Repo {{repo}}", "{{problem_statement}}"] }

describe("agent config", () => {
  it.effect("data/agents/default.json decodes with the paper's limits and names the instance and /testbed", () =>
    Effect.gen(function*() {
      const config = yield* defaultConfig()
      expect(config.limits.max_turns).toBe(50)
      expect(config.limits.command_timeout_seconds).toBe(120)
      expect(config.limits.max_format_errors).toBe(3)
      expect(config.tools).toEqual(["execute_bash", "str_replace_editor", "finish"])
      expect(config.system_template).toContain("Instance: {{instance_id}}")
      expect(config.system_template).toContain("/testbed")
    }))

  it.effect("every config in data/agents loads, each under its own name and hash", () =>
    Effect.gen(function*() {
      const files = readdirSync(agentsDir).filter((f) => f.endsWith(".json"))
      expect(files).toContain("default.json")
      expect(files).toContain("text-tools.json")
      const configs = yield* Effect.forEach(files, (f) => loadAgentConfig(join(agentsDir, f)))
      expect(new Set(configs.map((c) => c.name)).size).toBe(files.length)
      expect(new Set(configs.map(agentConfigHash)).size).toBe(files.length)
      expect(configs.find((c) => c.name === "text-tools")?.tool_mode).toBe("text")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a file that is not JSON, or missing, fails naming the file", () =>
    Effect.gen(function*() {
      const broken = join(tempDir("swe-gym-agent-config-"), "broken.json")
      writeFileSync(broken, '{"name": "x",')
      const notJson = yield* Effect.flip(loadAgentConfig(broken))
      expect(notJson.message).toContain(broken)
      expect(notJson.message).toContain("not valid JSON")
      const missing = yield* Effect.flip(loadAgentConfig(join(agentsDir, "nope.json")))
      expect(missing.message).toContain("nope.json")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("the hash fills in defaults: spelled-out defaults hash alike, any changed value hashes apart", () =>
    Effect.gen(function*() {
      const a = yield* decodeAgentConfig(minimal, "a.json")
      const b = yield* decodeAgentConfig({ ...minimal, instance_template: "Repo {{repo}}\n{{problem_statement}}", limits: { max_turns: 50 }, tool_mode: "native" }, "b.json")
      const c = yield* decodeAgentConfig({ ...minimal, limits: { max_turns: 49 } }, "c.json")
      const d = yield* decodeAgentConfig({ ...minimal, system_template: "Instance:  {{instance_id}}" }, "d.json")
      expect(agentConfigHash(a)).toBe(agentConfigHash(b))
      expect(agentConfigHash(a)).not.toBe(agentConfigHash(c))
      expect(agentConfigHash(a)).not.toBe(agentConfigHash(d))
      expect(agentConfigHash(a)).toMatch(/^[0-9a-f]{16}$/)
    }))

  it.effect("a bad config names the file and the field", () =>
    Effect.gen(function*() {
      const unknownPlaceholder = yield* Effect.either(decodeAgentConfig({ ...minimal, system_template: "{{instance}}" }, "x.json"))
      const badLimit = yield* Effect.either(decodeAgentConfig({ ...minimal, limits: { max_turns: 0 } }, "y.json"))
      const typo = yield* Effect.either(decodeAgentConfig({ ...minimal, limit: {} }, "z.json"))
      const badTool = yield* Effect.either(decodeAgentConfig({ ...minimal, tools: ["execute_bash", "browse"] }, "t.json"))
      for (const [result, file, words] of [
        [unknownPlaceholder, "x.json", ["system_template", "{{instance}}"]],
        [badLimit, "y.json", ["max_turns"]],
        [typo, "z.json", ["limit"]],
        [badTool, "t.json", ["tools", "browse"]],
      ] as const) {
        expect(Either.isLeft(result)).toBe(true)
        if (Either.isLeft(result)) {
          expect(result.left.message).toContain(file)
          for (const w of words) expect(result.left.message).toContain(w)
        }
      }
    }))

  it("templates are filled in one pass (a placeholder inside the problem statement stays as written)", () => {
    const instance = { ...testInstance(makeTestRepo()), problem_statement: "uses {{repo}} literally" }
    expect(renderTemplate("{{instance_id}} in {{repo}}: {{problem_statement}}", instance)).toBe(
      "calc__calc-1 in calc/calc: uses {{repo}} literally",
    )
  })
})
