#!/usr/bin/env node
// The runner app: `runner validate` keeps the candidates whose tests really fail before and pass after the fix;
// `runner evaluate` grades predictions (or the gold / empty patches) against task instances in SWE-bench's report shapes.
// Ctrl-C interrupts the run: its containers are removed (they are scoped), finished instances stay stored.
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { freshRunId } from "@swe-gym/sandbox"
import { Effect, Option } from "effect"
import { exitCodeTeardown } from "./exit-code.js"
import { readInstances, runEvaluate, runnerLayer, runValidate } from "./pipelines.js"
import { llmLayer, runRollout } from "./rollout.js"

const db = Options.text("db").pipe(
  Options.withDefault("data/out/swe-gym.duckdb"),
  Options.withDescription("the DuckDB file where verdicts and results are stored (created when absent)"),
)
const instances = Options.file("instances", { exists: "yes" }).pipe(
  Options.withDescription("task instances: SWE-bench JSONL, a Hugging Face Parquet export, or a JSON list (FAIL_TO_PASS / PASS_TO_PASS as arrays or JSON strings)"),
)
const instanceIds = Options.text("instance-ids").pipe(
  Options.optional,
  Options.withDescription("only these instances (comma- or space-separated ids); an id the instances file lacks is an error"),
)
/** The ids of --instance-ids, split at commas and spaces. */
const idsOf = (value: Option.Option<string>) =>
  Option.map(value, (text) => text.split(/[\s,]+/).filter((id) => id !== ""))
const concurrency = Options.integer("concurrency").pipe(
  Options.optional,
  Options.withDescription("instances run at once (default: the number of CPU cores)"),
)
const prepareAhead = Options.integer("prepare-ahead").pipe(
  Options.optional,
  Options.withDescription("instances whose containers are prepared while --concurrency others run their tests (default 1; 0: prepare each in its slot)"),
)
/** --prepare-ahead, checked: a negative count is a usage error. */
const prepareAheadOf = (value: Option.Option<number>) =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (n) => (n < 0 ? Effect.fail(new Error(`--prepare-ahead must be 0 or more, not ${n}`)) : Effect.succeed(n)),
  })
const mirrors = Options.directory("mirrors").pipe(
  Options.withDefault("data/sample/github"),
  Options.withDescription("directory of bare mirrors (owner__name.git) or an export directory (owner__name/mirror.bundle)"),
)
const mirrorCache = Options.text("mirror-cache").pipe(
  Options.withDefault("data/out/mirrors"),
  Options.withDescription("where mirrors cloned from bundles are kept"),
)
const specs = Options.text("specs").pipe(
  Options.withDefault("data/specs"),
  Options.withDescription("directory of environment spec files (owner__name.json); a repository without one gets a guessed spec"),
)
const buildLogs = Options.text("build-logs").pipe(
  Options.withDefault("data/out/build-logs"),
  Options.withDescription("directory of environment image build logs"),
)
const history = Options.choice("history", ["base-only", "full"]).pipe(
  Options.withDefault("base-only" as const),
  Options.withDescription("history an instance container keeps: base-only (base_commit alone, fast) or full (every ancestor of base_commit); never anything later"),
)

/** The flags every command that runs instances has: where mirrors, specs and build logs are, and the history kept. */
const environmentOptions = { mirrors, mirrorCache, specs, buildLogs, history }

const optional = <A>(value: Option.Option<A>) => Option.getOrUndefined(value)

/** The environment settings of a command's flags. */
const environmentOf = (args: { mirrors: string; mirrorCache: string; specs: string; buildLogs: string; history: "base-only" | "full" }) => ({
  mirrors: args.mirrors,
  mirrorCache: args.mirrorCache,
  specs: args.specs,
  buildLogs: args.buildLogs,
  history: args.history,
})

const validateCommand = Command.make(
  "validate",
  {
    instances: instances.pipe(Options.withDescription("task candidates (SWE-bench JSONL, Parquet or a JSON list)")),
    instanceIds,
    labels: Options.choice("labels", ["derived", "given"]).pipe(
      Options.withDefault("derived" as const),
      Options.withDescription("labels the kept instances are written with: derived by this validation (default), or the rows' own FAIL_TO_PASS / PASS_TO_PASS (audited either way)"),
    ),
    db,
    out: Options.text("out").pipe(Options.optional, Options.withDescription("write the kept candidates, with their labels, to this JSONL file (rewritten whole by every run, stored verdicts included)")),
    concurrency,
    reruns: Options.integer("reruns").pipe(Options.optional, Options.withDescription("runs of the tests after the gold patch (default 2): a test whose outcome differs between them is flaky")),
    prepareAhead,
    ...environmentOptions,
  },
  (args) =>
    Effect.gen(function* () {
      const out = optional(args.out)
      const n = optional(args.concurrency)
      const reruns = optional(args.reruns)
      const prepareAhead = yield* prepareAheadOf(args.prepareAhead)
      const ids = optional(idsOf(args.instanceIds))
      yield* runValidate({
        instances: args.instances,
        specs: args.specs,
        labels: args.labels,
        ...(ids === undefined ? {} : { instanceIds: ids }),
        ...(out === undefined ? {} : { out }),
        ...(n === undefined ? {} : { concurrency: n }),
        ...(reruns === undefined ? {} : { reruns }),
        ...(prepareAhead === undefined ? {} : { prepareAhead }),
      })
    }).pipe(Effect.provide(runnerLayer(args.db, `validate-${freshRunId()}`, environmentOf(args)))),
).pipe(Command.withDescription("Validate task candidates: keep those with FAIL_TO_PASS tests, set flaky, unstable and breaking ones apart"))

const evaluateCommand = Command.make(
  "evaluate",
  {
    predictions: Options.text("predictions").pipe(
      Options.withDescription(`predictions {instance_id, model_name_or_path, model_patch} as JSONL or SWE-bench's preds.json (an object keyed by instance id, or a list); or "gold" / "empty" for every instance's gold / an empty patch`),
    ),
    instances,
    instanceIds,
    runId: Options.text("run-id").pipe(Options.withDescription("name of this run (reports go under it; results are looked up by content, never by it)")),
    db,
    out: Options.text("out").pipe(Options.withDefault("data/out/evaluation"), Options.withDescription("directory of the report files")),
    concurrency,
    prepareAhead,
    timeout: Options.integer("timeout").pipe(Options.optional, Options.withDescription("test-run timeout in seconds (default: the environment spec's)")),
    ...environmentOptions,
  },
  (args) =>
    Effect.gen(function* () {
      const n = optional(args.concurrency)
      const timeout = optional(args.timeout)
      const prepareAhead = yield* prepareAheadOf(args.prepareAhead)
      const ids = optional(idsOf(args.instanceIds))
      yield* runEvaluate({
        ...(ids === undefined ? {} : { instanceIds: ids }),
        predictions: args.predictions,
        instances: args.instances,
        runId: args.runId,
        out: args.out,
        ...(n === undefined ? {} : { concurrency: n }),
        ...(timeout === undefined ? {} : { timeoutSeconds: timeout }),
        ...(prepareAhead === undefined ? {} : { prepareAhead }),
      })
    }).pipe(Effect.provide(runnerLayer(args.db, args.runId, environmentOf(args)))),
).pipe(Command.withDescription("Evaluate predictions: run each instance's tests on the patch, grade, write SWE-bench-shaped reports"))

const rolloutCommand = Command.make(
  "rollout",
  {
    instances,
    instanceIds,
    model: Options.text("model").pipe(
      Options.withDefault("oracle"),
      Options.withDescription("the model the endpoint serves; without --base-url, the embedded emulator's policy: oracle (applies the gold patch through the editor), empty, loop or babble"),
    ),
    baseUrl: Options.text("base-url").pipe(
      Options.optional,
      Options.withDescription("an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM), http://localhost:30000/v1 (SGLang), http://localhost:11434/v1 (Ollama), https://api.openai.com/v1; its key in LLM_API_KEY (never printed or stored)"),
    ),
    samples: Options.integer("samples").pipe(Options.withDefault(1), Options.withDescription("samples (rollouts) per instance, k")),
    temperatureSchedule: Options.text("temperature-schedule").pipe(
      Options.withDefault("0,0.5"),
      Options.withDescription("temperature of sample 0, 1, …, comma-separated; the last repeats (default 0,0.5: the first greedy, the others 0.5, as in the SWE-Gym paper)"),
    ),
    agent: Options.file("agent", { exists: "yes" }).pipe(Options.withDefault("data/agents/default.json"), Options.withDescription("agent config: prompts, tools, limits (its hash is part of every key)")),
    concurrency: Options.integer("concurrency").pipe(
      Options.optional,
      Options.withDescription("agents at once, each in its container (default 2)"),
    ),
    prepareAhead: Options.integer("prepare-ahead").pipe(
      Options.optional,
      Options.withDescription("rollouts whose containers are prepared (or removed, stored and verified) while --concurrency agents run (default: a quarter of --concurrency, at least 1; 0: all of it in the agent's slot)"),
    ),
    prepareConcurrency: Options.integer("prepare-concurrency").pipe(
      Options.optional,
      Options.withDescription("containers being made at once (default: the CPU cores; more only slows each one and every agent's steps)"),
    ),
    llmConcurrency: Options.integer("llm-concurrency").pipe(Options.optional, Options.withDescription("LLM requests in flight at most, apart from --concurrency (agents)")),
    runId: Options.text("run-id").pipe(Options.withDescription("name of this run (rollouts are resumed by content, not by it)")),
    db,
    out: Options.text("out").pipe(Options.withDefault("data/out/rollouts"), Options.withDescription("directory of trajectories.jsonl, preds.jsonl and the evaluation reports")),
    ...environmentOptions,
  },
  (args) =>
    Effect.gen(function* () {
      const temperatures = args.temperatureSchedule.split(",").map((t) => Number(t.trim()))
      if (temperatures.length === 0 || temperatures.some((t) => !Number.isFinite(t) || t < 0 || t > 2)) {
        return yield* Effect.fail(new Error(`--temperature-schedule ${args.temperatureSchedule}: give temperatures between 0 and 2, comma-separated (e.g. 0,0.5)`))
      }
      if (args.samples < 1) return yield* Effect.fail(new Error(`--samples ${args.samples}: give 1 or more`))
      const ids = optional(idsOf(args.instanceIds))
      const n = optional(args.concurrency)
      const ahead = yield* prepareAheadOf(args.prepareAhead)
      const lanes = optional(args.prepareConcurrency)
      if (lanes !== undefined && lanes < 1) return yield* Effect.fail(new Error(`--prepare-concurrency must be 1 or more, not ${lanes}`))
      const llmConcurrency = optional(args.llmConcurrency)
      const baseUrl = optional(args.baseUrl)
      const common = { instances: args.instances, ...(ids === undefined ? {} : { instanceIds: ids }) }
      const listed = yield* readInstances(args.instances, ids)
      yield* runRollout({
        ...common,
        model: args.model,
        samples: args.samples,
        temperatures,
        agent: args.agent,
        runId: args.runId,
        out: args.out,
        tty: process.stderr.isTTY === true,
        ...(baseUrl === undefined ? {} : { baseUrl }),
        ...(n === undefined ? {} : { concurrency: n }),
        ...(ahead === undefined ? {} : { prepareAhead: ahead }),
        ...(lanes === undefined ? {} : { prepareConcurrency: lanes }),
        ...(llmConcurrency === undefined ? {} : { llmConcurrency }),
      }).pipe(Effect.provide(llmLayer({ model: args.model, instances: listed, ...(baseUrl === undefined ? {} : { baseUrl }), ...(llmConcurrency === undefined ? {} : { llmConcurrency }) })))
    }).pipe(Effect.provide(runnerLayer(args.db, args.runId, environmentOf(args)))),
).pipe(Command.withDescription("Roll out an LLM agent on task instances in sandboxes, k samples each, verify each patch with the tests, write trajectories, predictions and reports"))

const runner = Command.make("runner").pipe(Command.withSubcommands([validateCommand, evaluateCommand, rolloutCommand]))

const cli = Command.run(runner, { name: "runner", version: "0.1.0" })

// Exit codes: 0 done, 1 failed (the error is printed), 130 interrupted (Ctrl-C / SIGTERM; finished results are stored).
cli(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ teardown: exitCodeTeardown }),
)
