// `runner rollout`: LLM agents solve task instances in sandboxes, k samples each. The agent's rollout stage
// (@swe-gym/agent) runs on the InstanceEnvironments service (one prepared, history-free container per rollout) and
// verifies each patch with the harness's evaluate (content-keyed: the same patch is never run twice). Each step is stored
// as it happens; a re-run resumes. The output files are written whole from the run's trajectories (resumed ones
// included): trajectories.jsonl (our schema, one line per rollout), preds.jsonl (SWE-bench predictions, one "model" per
// sample) and the evaluation reports in SWE-bench's shapes.
import { FileSystem } from "@effect/platform"
import { agentConfigHash, loadAgentConfig, rollout, type RolloutEvent } from "@swe-gym/agent"
import { Prediction, RolloutTrajectory, type TaskInstance, writeJsonlFile } from "@swe-gym/domain"
import { evaluateOne, type EvaluationRecord, InstanceEnvironments, writeInstanceFiles, writeRunReports } from "@swe-gym/harness"
import { type LlmClient, OpenAiLlmClient } from "@swe-gym/llm"
import { startLlmEmulator } from "@swe-gym/llm-emulator"
import { Clock, Config, Console, Effect, Exit, Layer, Option, type Redacted, Ref, Stream } from "effect"
import { join } from "node:path"
import type { CommonArgs } from "./pipelines.js"
import { readInstances } from "./pipelines.js"

/** Arguments of `runner rollout`. */
export interface RolloutArgs extends CommonArgs {
  /** The model name the endpoint serves; without `baseUrl`, the policy of the embedded emulator (oracle, empty, loop, babble). */
  readonly model: string
  /** An OpenAI-compatible endpoint (`…/v1`); none = the embedded loopback emulator (the sample's default). */
  readonly baseUrl?: string
  readonly samples: number
  /** Temperature of sample i (the last one repeats): default [0, 0.5]. */
  readonly temperatures: ReadonlyArray<number>
  /** Agent config file (data/agents/*.json). */
  readonly agent: string
  readonly llmConcurrency?: number
  /** Containers being made at once (default: the CPU cores). */
  readonly prepareConcurrency?: number
  readonly runId: string
  /** Directory of the output files. */
  readonly out: string
  /** Whether stderr is a terminal (a live progress line) or not (a line per rollout). */
  readonly tty?: boolean
}

/** The model name a sample's predictions carry (SWE-bench grades one prediction per instance and model). */
export const sampleModelName = (model: string, sample: number): string => `${model}@sample-${sample}`

/** A patch's size as `diff --stat` would sum it: files, added and removed lines. */
export const diffStat = (patch: string): string => {
  if (patch.trim() === "") return "empty"
  const lines = patch.split("\n")
  const files = lines.filter((l) => l.startsWith("diff --git ")).length
  const added = lines.filter((l) => l.startsWith("+") && !l.startsWith("+++")).length
  const removed = lines.filter((l) => l.startsWith("-") && !l.startsWith("---")).length
  return `${files} file${files === 1 ? "" : "s"}, +${added} -${removed}`
}

/** A patch indented for the summary, cut after `max` lines (the whole patch is in preds.jsonl). */
const indentPatch = (patch: string, max: number): string => {
  const lines = patch.trimEnd().split("\n")
  const shown = lines.slice(0, max).map((l) => `    ${l}`)
  return lines.length > max ? [...shown, `    … ${lines.length - max} more lines (preds.jsonl has the whole patch)`].join("\n") : shown.join("\n")
}

/** Progress of a run, as counts the renderer shows. */
interface RolloutProgress {
  readonly total: number
  readonly done: number
  readonly resolved: number
  readonly tokens: number
  readonly running: number
}

const renderLine = (p: RolloutProgress, startedMs: number, nowMs: number): string => {
  const seconds = (nowMs - startedMs) / 1000
  const fresh = p.done
  const eta = fresh === 0 ? "?" : `${Math.max(0, Math.round((seconds / fresh) * (p.total - p.done)))} s`
  return `[rollout] ${p.done}/${p.total} done, ${p.resolved} resolved, ${p.tokens} tokens, ${p.running} running, ${seconds.toFixed(0)} s elapsed, ETA ${eta}`
}

/** Runs the rollouts of `args`, writing the output files (also when interrupted) and printing a summary. */
export const runRollout = Effect.fn("runner.rollout")(function* (args: RolloutArgs) {
  const fs = yield* FileSystem.FileSystem
  const instances = yield* readInstances(args.instances, args.instanceIds)
  const config = yield* loadAgentConfig(args.agent)
  const environments = yield* InstanceEnvironments
  const total = instances.length * args.samples
  const started = yield* Clock.currentTimeMillis
  const progress = yield* Ref.make<RolloutProgress>({ total, done: 0, resolved: 0, tokens: 0, running: 0 })
  const evaluations = new Map<string, EvaluationRecord>()
  const trajectories: Array<RolloutTrajectory> = []
  yield* Console.error(`[rollout] ${args.runId}: ${instances.length} instances × ${args.samples} samples with ${args.model} (agent ${config.name}, config ${agentConfigHash(config).slice(0, 12)})${args.baseUrl === undefined ? " on the embedded emulator" : ` at ${args.baseUrl}`}`)

  const show = (line: string) => (args.tty === true ? Effect.sync(() => void process.stderr.write(`\r\x1b[2K${line}`)) : Console.error(line))
  const onEvent = (event: RolloutEvent): Effect.Effect<void> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      switch (event._tag) {
        case "RolloutStarted":
          yield* Ref.update(progress, (p) => ({ ...p, running: p.running + 1 }))
          if (args.tty === true) yield* show(renderLine(yield* Ref.get(progress), started, now))
          return
        case "RolloutStep": {
          const p = yield* Ref.updateAndGet(progress, (x) => ({ ...x, tokens: x.tokens + (event.usage?.total_tokens ?? 0) }))
          if (args.tty === true) yield* show(renderLine(p, started, now))
          return
        }
        case "RolloutRetrying":
          yield* Ref.update(progress, (p) => ({ ...p, running: Math.max(0, p.running - 1) }))
          yield* Console.error(`${args.tty === true ? "\n" : ""}[rollout] ${event.instance_id} sample ${event.sample}: infrastructure fault, attempt ${event.attempt} again in ${Math.round(event.delayMs / 1000)} s: ${event.detail.split("\n")[0] ?? ""}`)
          return
        case "RolloutResumed":
        case "RolloutFinished": {
          const t = event.trajectory
          const p = yield* Ref.updateAndGet(progress, (x) => ({
            ...x,
            done: x.done + 1,
            resolved: x.resolved + (t.resolved === true ? 1 : 0),
            tokens: x.tokens + (event._tag === "RolloutResumed" ? t.usage.total_tokens : 0),
            running: event._tag === "RolloutFinished" ? Math.max(0, x.running - 1) : x.running,
          }))
          const what = `${t.instance_id} sample ${t.sample}: ${t.exit_reason}, ${t.resolved === true ? "resolved" : (t.failure_class ?? "not verified")}, ${t.turns} turns${event._tag === "RolloutResumed" ? " (stored)" : ""}`
          yield* args.tty === true ? show(renderLine(p, started, now)) : Console.error(`[rollout] ${p.done}/${p.total} ${what}`)
          return
        }
      }
    })

  const prepare = (instance: TaskInstance) =>
    Effect.map(environments.prepare(instance, { labels: { "swe-gym.rollout.run": args.runId } }), (prepared) => prepared.container)
  // Verification is the harness's evaluate of one prediction: stored by content key, so an identical patch is answered
  // from the store (the report files below look every rollout's evaluation up that way).
  const evaluation = (instance: TaskInstance, patch: string) =>
    evaluateOne({ instance_id: instance.instance_id, model_name_or_path: args.model, model_patch: patch }, instance, { runId: args.runId })
  const verify = (instance: TaskInstance, patch: string) =>
    Effect.map(evaluation(instance, patch), (evaluated) => ({
      resolved: evaluated.result.outcome === "resolved",
      failure_class: evaluated.result.outcome,
      evaluation_key: evaluated.result.key,
    }))

  const writeOutputs = Effect.gen(function* () {
    yield* fs.makeDirectory(args.out, { recursive: true })
    const ordered = [...trajectories].sort((a, b) => (a.instance_id === b.instance_id ? a.sample - b.sample : a.instance_id < b.instance_id ? -1 : 1))
    yield* writeJsonlFile(join(args.out, "trajectories.jsonl"), RolloutTrajectory, Stream.fromIterable(ordered))
    const predictions = ordered.map((t): Prediction => ({ instance_id: t.instance_id, model_name_or_path: sampleModelName(args.model, t.sample), model_patch: t.model_patch }))
    yield* writeJsonlFile(join(args.out, "preds.jsonl"), Prediction, Stream.fromIterable(predictions))
    const records = ordered.flatMap((t) => {
      const record = evaluations.get(t.rollout_key)
      if (record === undefined || record._tag !== "Evaluated") return []
      return [{ ...record, result: { ...record.result, model_name_or_path: sampleModelName(args.model, t.sample) } }]
    })
    for (const record of records) yield* writeInstanceFiles(join(args.out, "evaluation"), args.runId, record)
    return yield* writeRunReports(join(args.out, "evaluation"), args.runId, instances.map((i) => i.instance_id), records)
  })

  const run = Stream.fromIterable(instances).pipe(
    rollout({
      config,
      runId: args.runId,
      samples: args.samples,
      temperatures: args.temperatures,
      ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
      ...(args.prepareAhead === undefined ? {} : { prepareAhead: args.prepareAhead }),
      ...(args.prepareConcurrency === undefined ? {} : { prepareConcurrency: args.prepareConcurrency }),
      ...(args.llmConcurrency === undefined ? {} : { llmConcurrency: args.llmConcurrency }),
      prepare,
      verify,
      onEvent,
    }),
    Stream.runForEach((t) => Effect.sync(() => trajectories.push(t))),
  )
  yield* run.pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(writeOutputs))))
  // Every verified rollout's evaluation, answered from the store by its content key (verified now or in an earlier run).
  const byId = new Map(instances.map((i) => [i.instance_id, i]))
  for (const t of trajectories) {
    const instance = byId.get(t.instance_id)
    if (instance === undefined || t.failure_class === undefined || t.failure_class === "infrastructure_failure") continue
    evaluations.set(t.rollout_key, yield* evaluation(instance, t.model_patch))
  }
  const files = yield* writeOutputs
  const p = yield* Ref.get(progress)
  if (args.tty === true) yield* Console.error("")
  const byExit = new Map<string, number>()
  for (const t of trajectories) byExit.set(t.exit_reason, (byExit.get(t.exit_reason) ?? 0) + 1)
  const tokens = trajectories.reduce((n, t) => n + t.usage.total_tokens, 0)
  yield* Console.log(`${args.model}: ${trajectories.length} rollouts, resolved ${p.resolved} (${total === 0 ? "0.0" : ((100 * p.resolved) / total).toFixed(1)}%); exit reasons: ${[...byExit].map(([k, n]) => `${k} ${n}`).join(", ")}; ${tokens} tokens`)
  for (const t of [...trajectories].sort((a, b) => (a.instance_id === b.instance_id ? a.sample - b.sample : a.instance_id < b.instance_id ? -1 : 1))) {
    const verdict = t.resolved === true ? "resolved" : (t.failure_class ?? "not verified")
    yield* Console.log(`  ${t.instance_id} sample ${t.sample} (temperature ${t.temperature}): ${t.exit_reason}, ${verdict}, ${t.turns} turns, patch ${diffStat(t.model_patch)}`)
    if (t.resolved === true) yield* Console.log(indentPatch(t.model_patch, 40))
  }
  for (const file of [join(args.out, "trajectories.jsonl"), join(args.out, "preds.jsonl"), ...files]) yield* Console.log(`wrote ${file}`)
  return trajectories
})

/**
 * The LLM client of a run: the endpoint at `baseUrl` (key from LLM_API_KEY, never printed), or, without one, the
 * embedded loopback emulator serving the run's instances with the policy named by `model`.
 */
export const llmLayer = (args: { readonly model: string; readonly baseUrl?: string; readonly llmConcurrency?: number; readonly instances: ReadonlyArray<TaskInstance> }) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const llmConcurrency = args.llmConcurrency === undefined ? {} : { llmConcurrency: args.llmConcurrency }
      if (args.baseUrl !== undefined) {
        const apiKey = yield* Config.option(Config.redacted("LLM_API_KEY")).pipe(Effect.orElseSucceed(() => Option.none<Redacted.Redacted<string>>()))
        return OpenAiLlmClient.layer({ baseUrl: args.baseUrl, model: args.model, apiKey: Option.getOrUndefined(apiKey), ...llmConcurrency })
      }
      const emulator = yield* startLlmEmulator({ instances: args.instances })
      return OpenAiLlmClient.layer({ baseUrl: emulator.url, model: args.model, ...llmConcurrency })
    }),
  ) satisfies Layer.Layer<LlmClient, unknown>
