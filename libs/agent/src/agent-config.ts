// An agent configuration is data (data/agents/*.json): prompts, tools, tool mode and limits. It is decoded with Schema
// (an error names the file and the field), and its canonical hash is part of every rollout key, so a changed prompt or
// limit is a new experiment whose rollouts never mix with the old one's.
import { FileSystem } from "@effect/platform"
import type { TaskInstance } from "@swe-gym/domain"
import { ToolMode } from "@swe-gym/llm"
import { Effect, ParseResult, Schema } from "effect"
import { createHash } from "node:crypto"

/** The tools an agent can be given. */
export const ToolName = Schema.Literal("execute_bash", "str_replace_editor", "finish")
export type ToolName = typeof ToolName.Type

/** The placeholders a template may use, and the instance field each one is filled from. */
export const TemplateFields = ["instance_id", "problem_statement", "repo", "base_commit", "hints_text", "version"] as const
type TemplateField = (typeof TemplateFields)[number]

const placeholderPattern = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g

const unknownPlaceholders = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(placeholderPattern)]
    .map((m) => m[1] ?? "")
    .filter((name) => !(TemplateFields as ReadonlyArray<string>).includes(name))

/** A prompt template: one string, or lines joined with "\n" (easier to read in JSON); only known placeholders. */
const Template = Schema.Union(
  Schema.String,
  Schema.transform(Schema.Array(Schema.String), Schema.String, {
    strict: true,
    decode: (lines) => lines.join("\n"),
    encode: (text) => text.split("\n"),
  }),
).pipe(
  Schema.filter((text) => {
    const unknown = unknownPlaceholders(text)
    return unknown.length === 0 ||
      `unknown placeholder ${unknown.map((u) => `{{${u}}}`).join(", ")}; known: ${TemplateFields.map((f) => `{{${f}}}`).join(", ")}`
  }),
)

const PositiveInt = Schema.Int.pipe(Schema.positive())
const PositiveNumber = Schema.Number.pipe(Schema.positive())
const NonNegative = Schema.Number.pipe(Schema.nonNegative())

/** Limits of one rollout; a `null` limit is no limit. */
export const AgentLimits = Schema.Struct({
  /** Turns (LLM calls) before the rollout ends as `max_steps`. */
  max_turns: Schema.optionalWith(PositiveInt, { default: () => 50 }),
  /** Prompt + completion tokens summed over the rollout's calls, before it ends as `token_limit`. */
  max_total_tokens: Schema.optionalWith(Schema.NullOr(PositiveInt), { default: () => null }),
  /** Wall-clock seconds of the agent loop before it ends as `timeout`. */
  wall_clock_seconds: Schema.optionalWith(Schema.NullOr(PositiveNumber), { default: () => 3600 }),
  /** Dollars at `prices` before the rollout ends as `cost_limit`. */
  cost_budget_usd: Schema.optionalWith(Schema.NullOr(PositiveNumber), { default: () => null }),
  /** Consecutive turns with a malformed or missing tool call before the rollout ends as `format_error`. */
  max_format_errors: Schema.optionalWith(PositiveInt, { default: () => 3 }),
  /** Seconds a command runs when the model names no timeout. */
  command_timeout_seconds: Schema.optionalWith(PositiveNumber, { default: () => 120 }),
  /** The largest timeout the model may ask for (larger requests are lowered to it). */
  max_command_timeout_seconds: Schema.optionalWith(PositiveNumber, { default: () => 600 }),
  /** Bytes of a command's output (or a file view) shown to the model: head and tail kept, the cut marked. */
  max_output_bytes: Schema.optionalWith(PositiveInt, { default: () => 30_000 }),
})
export type AgentLimits = typeof AgentLimits.Type

/** Prices used for the cost budget, in dollars per million tokens. */
export const Prices = Schema.Struct({
  input_per_million_tokens: Schema.optionalWith(NonNegative, { default: () => 0 }),
  output_per_million_tokens: Schema.optionalWith(NonNegative, { default: () => 0 }),
})

/** Sampling parameters of every call; the temperature comes from the rollout's schedule, not from here. */
export const ConfigSampling = Schema.Struct({
  top_p: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { exact: true }),
  max_tokens: Schema.optionalWith(PositiveInt, { exact: true }),
  stop: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
})

/** An agent configuration (a data/agents/*.json file). */
export const AgentConfig = Schema.Struct({
  name: Schema.NonEmptyString,
  description: Schema.optionalWith(Schema.String, { default: () => "" }),
  system_template: Template,
  instance_template: Template,
  tools: Schema.optionalWith(
    Schema.Array(ToolName).pipe(Schema.minItems(1)),
    { default: () => ["execute_bash", "str_replace_editor", "finish"] },
  ),
  tool_mode: Schema.optionalWith(ToolMode, { default: () => "native" as const }),
  limits: Schema.optionalWith(AgentLimits, { default: () => Schema.decodeSync(AgentLimits)({}) }),
  prices: Schema.optionalWith(Prices, { default: () => Schema.decodeSync(Prices)({}) }),
  sampling: Schema.optionalWith(ConfigSampling, { default: () => ({}) }),
  /** Whether OpenHands' stuck detector ends the run (as `stuck_in_loop`); by default it is only recorded. */
  openhands_stuck_ends_run: Schema.optionalWith(Schema.Boolean, { default: () => false }),
}).annotations({ identifier: "AgentConfig" })
export type AgentConfig = typeof AgentConfig.Type

/** An agent config file that cannot be read or does not decode. */
export class AgentConfigInvalid extends Schema.TaggedError<AgentConfigInvalid>()("AgentConfigInvalid", {
  path: Schema.String,
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `agent config ${this.path}: ${this.detail}. ${this.hint}`
  }
}

const configHint = "Fix the field named above; data/agents/default.json shows every field with its default."

/** Decodes an agent config from parsed JSON; `source` names it in errors. */
export const decodeAgentConfig = (json: unknown, source: string): Effect.Effect<AgentConfig, AgentConfigInvalid> =>
  Schema.decodeUnknown(AgentConfig, { onExcessProperty: "error" })(json).pipe(
    Effect.mapError((error) =>
      new AgentConfigInvalid({ path: source, detail: ParseResult.TreeFormatter.formatErrorSync(error), hint: configHint })
    ),
  )

/** Reads and decodes an agent config file. */
export const loadAgentConfig = Effect.fn("agent.loadAgentConfig")(function*(path: string) {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(path).pipe(
    Effect.mapError((error) =>
      new AgentConfigInvalid({ path, detail: error.message, hint: "Pass the path of an agent config (data/agents/*.json)." })
    ),
  )
  const json = yield* Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) =>
      new AgentConfigInvalid({
        path,
        detail: `not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        hint: "The file must hold one JSON object.",
      }),
  })
  return yield* decodeAgentConfig(json, path)
})

/** JSON text with object keys sorted at every level: equal values give equal text. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/**
 * The config's hash: first 16 hex digits of the sha256 of its canonical JSON, defaults filled in (a file that spells
 * out a default hashes like one that leaves it out; changing a default in code makes a new experiment).
 */
export const agentConfigHash = (config: AgentConfig): string =>
  createHash("sha256").update(canonicalJson(Schema.encodeSync(AgentConfig)(config))).digest("hex").slice(0, 16)

const fieldValue = (instance: TaskInstance, field: TemplateField): string => {
  switch (field) {
    case "instance_id":
      return instance.instance_id
    case "problem_statement":
      return instance.problem_statement
    case "repo":
      return instance.repo
    case "base_commit":
      return instance.base_commit
    case "hints_text":
      return instance.hints_text
    case "version":
      return instance.version
  }
}

const isTemplateField = (name: string): name is TemplateField => (TemplateFields as ReadonlyArray<string>).includes(name)

/** Fills a template's placeholders from the instance (in one pass: text put in is never scanned again). */
export const renderTemplate = (template: string, instance: TaskInstance): string =>
  template.replace(placeholderPattern, (whole, name: string) => (isTemplateField(name) ? fieldValue(instance, name) : whole))
