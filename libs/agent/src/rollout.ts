// The rollout stage: task instances in, one trajectory per (instance, sample) out. Each sample runs the agent in a
// container from `prepare`, records every step as it happens, stores the trajectory, then has its patch verified by
// `verify`. Agents (with their containers) and LLM requests are bounded apart; a few more rollouts than agent slots
// have their containers prepared (or removed) outside the slots, so a slot that frees starts its next agent at once, and
// containers are made a few at a time. Resume goes by the rollout's content key: a verified rollout is answered from
// the store, a rolled-out one is only verified, an unfinished one restarts from scratch.
// Infrastructure faults retry the whole rollout with backoff, then end it as `infrastructure_error` (never a failed
// agent, never stored as a result: a later run tries it again).
import type { RolloutTrajectory, TaskInstance, TokenUsage } from "@swe-gym/domain"
import { LlmClient } from "@swe-gym/llm"
import type { Container } from "@swe-gym/sandbox"
import type { AppendFailed, QueryDecodeFailed, QueryFailed, Store } from "@swe-gym/store"
import { Data, Deferred, Duration, Effect, Either, Option, Ref, Schema, type Scope, Stream } from "effect"
import { createHash } from "node:crypto"
import { availableParallelism } from "node:os"
import { type AgentConfig, agentConfigHash, canonicalJson, renderTemplate } from "./agent-config.js"
import { type AgentResult, type AgentStep, runAgent } from "./agent-loop.js"
import { beginAttempt, findRollout, type RolloutIdentity, saveRolledOut, saveVerified } from "./rollout-store.js"
import { makeStepRecorder, type StepJournalFailed } from "./step-recorder.js"

/** The verification of a patch by the tests (the harness's evaluate, wired by the caller). */
export interface Verification {
  readonly resolved: boolean
  readonly failure_class: string
  readonly evaluation_key: string
}

/** A fault of the environment or the LLM endpoint during one attempt. */
export class RolloutInfrastructureFault extends Schema.TaggedError<RolloutInfrastructureFault>()("RolloutInfrastructureFault", {
  instance_id: Schema.String,
  sample: Schema.Number,
  /** "prepare" (the environment), "sandbox" (the container during the run), or "llm". */
  stage: Schema.Literal("prepare", "sandbox", "llm"),
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.instance_id} sample ${this.sample}: ${this.stage} failed: ${this.detail}. ${this.hint}`
  }
}

/** Progress of the stage, as values (the app renders them). */
export type RolloutEvent = Data.TaggedEnum<{
  /** An attempt began (attempt counts every attempt of this rollout, earlier runs' included). */
  RolloutStarted: { readonly instance_id: string; readonly sample: number; readonly rollout_key: string; readonly attempt: number }
  /** A step was recorded. */
  RolloutStep: {
    readonly instance_id: string
    readonly sample: number
    readonly turn: number
    readonly usage: TokenUsage | undefined
    readonly tools: ReadonlyArray<string>
  }
  /** An attempt hit an infrastructure fault; the rollout starts again after `delayMs`. */
  RolloutRetrying: {
    readonly instance_id: string
    readonly sample: number
    readonly attempt: number
    readonly detail: string
    readonly delayMs: number
  }
  /** The rollout was already done: its stored trajectory is passed on, nothing ran. */
  RolloutResumed: { readonly trajectory: RolloutTrajectory }
  /** The rollout ended (and its patch was verified, unless it ended by an infrastructure error). */
  RolloutFinished: { readonly trajectory: RolloutTrajectory }
}>
export const RolloutEvent = Data.taggedEnum<RolloutEvent>()

/** Options of the rollout stage. */
export interface RolloutOptions<E, R, E2, R2> {
  readonly config: AgentConfig
  /** Recorded on every rollout row (the run that last touched it); not part of any key. */
  readonly runId: string
  /** Samples per instance (k, default 1). */
  readonly samples?: number
  /** Temperature of sample i: `temperatures[min(i, length - 1)]` (default [0, 0.5]: sample 0 greedy, others 0.5). */
  readonly temperatures?: ReadonlyArray<number>
  /** Seed sent with every call (part of the key when set). */
  readonly seed?: number
  /** Rollouts whose agent runs at once, each in its container (default 2). */
  readonly concurrency?: number
  /**
   * Rollouts beyond `concurrency` whose containers are prepared ahead, or removed and their trajectories stored and
   * verified, outside the agent slots (default: a quarter of `concurrency`, at least 1; 0: all of it in the slot). At
   * most `concurrency + prepareAhead` rollouts hold a container (theirs, or their verification's) at once.
   */
  readonly prepareAhead?: number
  /**
   * Preparations at once (default: the CPU cores). Making a container is CPU work for the engine and the kernel: more
   * at once than the machine has cores only delays each of them, and a machine saturated by them slows every agent's
   * steps (BENCHMARKS.md, rollout-throughput). A preparation that builds an environment image first holds its lane.
   */
  readonly prepareConcurrency?: number
  /** LLM requests in flight at once, across rollouts (default: `concurrency`). */
  readonly llmConcurrency?: number
  /** Attempts after the first when an infrastructure fault ends one (default 2), exponential backoff from `retryBase`. */
  readonly retries?: number
  readonly retryBase?: Duration.DurationInput
  /**
   * The instance's container: /testbed at base_commit, no network, limits. Every failure counts as infrastructure. It
   * runs beside the agent's first LLM call.
   */
  readonly prepare: (instance: TaskInstance) => Effect.Effect<Container, E, R | Scope.Scope>
  /** Runs the tests on a patch. A failure here fails the stage (the rollout stays stored as rolled out). */
  readonly verify: (instance: TaskInstance, patch: string) => Effect.Effect<Verification, E2, R2>
  /**
   * Whether a verification is a verdict on the patch (default: unless failure_class is "infrastructure_failure", the
   * harness's class for an evaluation that could not run). A rollout without a verdict is verified again next run.
   */
  readonly isVerdict?: (verification: Verification) => boolean
  readonly onEvent?: (event: RolloutEvent) => Effect.Effect<void>
}

/**
 * Rollouts prepared ahead by default: a quarter of the agent slots, at least one. Rollouts of one run tend to end
 * together (they start together and take similar numbers of turns), and each ending slot then finds a container ready.
 */
export const defaultPrepareAhead = (concurrency: number): number => Math.max(1, Math.ceil(concurrency / 4))

/** The temperature schedule's value for a sample. */
export const temperatureOf = (temperatures: ReadonlyArray<number>, sample: number): number =>
  temperatures[Math.min(sample, temperatures.length - 1)] ?? 0

/**
 * A rollout's content key: instance, sample, agent config hash, model, temperature, seed, and the rendered prompts and
 * base commit (an instance whose text changed under the same id is a new rollout).
 */
export const rolloutKey = (parts: {
  readonly instance: TaskInstance
  readonly sample: number
  readonly config: AgentConfig
  readonly model: string
  readonly temperature: number
  readonly seed: number | undefined
}): string =>
  createHash("sha256").update(canonicalJson({
    instance_id: parts.instance.instance_id,
    sample: parts.sample,
    config_hash: agentConfigHash(parts.config),
    model: parts.model,
    temperature: parts.temperature,
    seed: parts.seed ?? null,
    base_commit: parts.instance.base_commit,
    prompts: createHash("sha256")
      .update(renderTemplate(parts.config.system_template, parts.instance))
      .update("\0")
      .update(renderTemplate(parts.config.instance_template, parts.instance))
      .digest("hex"),
  })).digest("hex").slice(0, 32)

/** One (instance, sample) being rolled out. */
interface Rollout {
  readonly instance: TaskInstance
  readonly sample: number
  readonly id: RolloutIdentity
  /** Attempts so far, earlier runs' included. */
  readonly attempts: Ref.Ref<number>
}

/** Exit reasons that are no verdict on the agent: a stored rollout ending so is run again by the next run. */
const notAResult = new Set(["infrastructure_error", "llm_error"])

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/** The rollout stage: k samples per instance, each one trajectory (stored, resumable, verified). */
export const rollout = <E, R, E2, R2>(options: RolloutOptions<E, R, E2, R2>) =>
<EI, RI>(
  instances: Stream.Stream<TaskInstance, EI, RI>,
): Stream.Stream<
  RolloutTrajectory,
  EI | E2 | QueryFailed | QueryDecodeFailed | AppendFailed | StepJournalFailed,
  RI | Exclude<R, Scope.Scope> | R2 | LlmClient | Store
> => rolloutStream(options, instances)

const rolloutStream = <E, R, E2, R2, EI, RI>(options: RolloutOptions<E, R, E2, R2>, instances: Stream.Stream<TaskInstance, EI, RI>) =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const llm = yield* LlmClient
    const steps = yield* makeStepRecorder
    const concurrency = Math.max(1, options.concurrency ?? 2)
    const prepareAhead = Math.max(0, Math.floor(options.prepareAhead ?? defaultPrepareAhead(concurrency)))
    const agentSlots = yield* Effect.makeSemaphore(concurrency)
    const prepareLanes = yield* Effect.makeSemaphore(Math.max(1, Math.floor(options.prepareConcurrency ?? availableParallelism())))
    const llmSlots = yield* Effect.makeSemaphore(Math.max(1, options.llmConcurrency ?? concurrency))
    const samples = Math.max(1, options.samples ?? 1)
    const temperatures = options.temperatures !== undefined && options.temperatures.length > 0 ? options.temperatures : [0, 0.5]
    const emit = options.onEvent ?? (() => Effect.void)
    const config = options.config
    const configHash = agentConfigHash(config)
    const retries = Math.max(0, options.retries ?? 2)
    const retryBase = Duration.decode(options.retryBase ?? "1 second")
    const isVerdict = options.isVerdict ?? ((v: Verification) => v.failure_class !== "infrastructure_failure")
    const complete: typeof llm.complete = (request) => llmSlots.withPermits(1)(llm.complete(request))

    /** One attempt: a container, the agent loop, the patch; an infrastructure fault comes back as a Left. */
    const attemptOnce = (r: Rollout) =>
      Effect.gen(function*() {
        const attempt = yield* Ref.updateAndGet(r.attempts, (n) => n + 1)
        // An earlier attempt's steps must all be in the table before beginAttempt deletes them.
        if (attempt > 1) yield* steps.flush
        yield* beginAttempt(r.id, attempt)
        const fault = (stage: "prepare" | "sandbox" | "llm") => (error: unknown) =>
          new RolloutInfrastructureFault({
            instance_id: r.instance.instance_id,
            sample: r.sample,
            stage,
            detail: describe(error),
            hint: stage === "llm"
              ? "the LLM endpoint stayed unavailable through the client's retries; check that it is up and not overloaded"
              : "the container or the Docker engine failed; check the engine (docker info) and the host's memory",
          })
        const onStep = (step: AgentStep) =>
          steps.record(r.id.rollout_key, attempt, step).pipe(
            Effect.zipRight(emit(RolloutEvent.RolloutStep({
              instance_id: r.instance.instance_id,
              sample: r.sample,
              turn: step.index + 1,
              usage: step.usage,
              tools: step.actions.map((a) => a.name),
            }))),
          )
        // The container's preparation starts at once, before an agent slot is free (prepared ahead) or beside the
        // agent's first LLM call (which needs none); the first tool call waits for it, and a failed preparation ends the
        // attempt at once (a call in flight is cancelled). The agent holds its slot until its loop and model patch are
        // done; the container is removed after that (the attempt's scope closes), outside the slot, a preparation still
        // running interrupted first.
        return yield* Effect.scoped(Effect.gen(function*() {
          const ready = yield* Deferred.make<Container, RolloutInfrastructureFault>()
          yield* prepareLanes.withPermits(1)(options.prepare(r.instance)).pipe(
            Effect.mapError(fault("prepare")),
            Effect.exit,
            Effect.flatMap((exit) => Deferred.done(ready, exit)),
            Effect.forkScoped,
          )
          const prepareFailed = Deferred.await(ready).pipe(Effect.zipRight(Effect.never))
          const started = emit(RolloutEvent.RolloutStarted({ instance_id: r.instance.instance_id, sample: r.sample, rollout_key: r.id.rollout_key, attempt }))
          // A preparation that fails while the rollout waits for a slot ends the attempt then, not once a slot frees.
          return yield* Effect.raceFirst(agentSlots.withPermits(1)(Effect.zipRight(started, runAgent({
            instance: r.instance,
            container: Deferred.await(ready),
            config,
            temperature: r.id.temperature,
            ...(options.seed === undefined ? {} : { seed: options.seed }),
            label: `${r.instance.instance_id}/${r.sample}`,
            complete,
            onStep,
          }).pipe(
            Effect.catchTags({
              EngineError: (e) => Effect.fail(fault("sandbox")(e)),
              ContainerDied: (e) => Effect.fail(fault("sandbox")(e)),
              LlmUnavailable: (e) => Effect.fail(fault("llm")(e)),
            }),
          ))), prepareFailed)
        }))
      }).pipe(
        Effect.map((result) => Either.right<AgentResult>(result)),
        Effect.catchTag("RolloutInfrastructureFault", (e) => Effect.succeed(Either.left(e))),
      )

    /** Attempts until one gets through or the retries are spent (backoff doubling), then stores the trajectory. */
    const agentPhase = (r: Rollout) =>
      Effect.gen(function*() {
        let result = yield* attemptOnce(r)
        for (let retry = 0; Either.isLeft(result) && retry < retries; retry++) {
          const delay = Duration.times(retryBase, 2 ** retry)
          yield* emit(RolloutEvent.RolloutRetrying({
            instance_id: r.instance.instance_id,
            sample: r.sample,
            attempt: yield* Ref.get(r.attempts),
            detail: result.left.message,
            delayMs: Duration.toMillis(delay),
          }))
          yield* Effect.sleep(delay)
          result = yield* attemptOnce(r)
        }
        const attempts = yield* Ref.get(r.attempts)
        const trajectory = toTrajectory(r.id, config, attempts, result)
        // Its steps are committed (synced) before the row says rolled out: a stored trajectory never lacks a step.
        yield* steps.flush
        yield* saveRolledOut(r.id, attempts, trajectory)
        return trajectory
      })

    /** Verifies the patch (not after an infrastructure error: there is no patch of the agent's to judge). */
    const verifyPhase = (r: Rollout, trajectory: RolloutTrajectory) =>
      Effect.gen(function*() {
        const final: RolloutTrajectory = trajectory.exit_reason === "infrastructure_error"
          ? trajectory
          : { ...trajectory, ...(yield* options.verify(r.instance, trajectory.model_patch)) }
        // A verification that is no verdict (the evaluation's own infrastructure failed) leaves the rollout rolled out:
        // the next run verifies it again without re-running the agent.
        const verdict = final.failure_class === undefined || isVerdict({
          resolved: final.resolved ?? false,
          failure_class: final.failure_class,
          evaluation_key: final.evaluation_key ?? "",
        })
        yield* (verdict ? saveVerified : saveRolledOut)(r.id, yield* Ref.get(r.attempts), final)
        yield* emit(RolloutEvent.RolloutFinished({ trajectory: final }))
        return final
      })

    /** One (instance, sample): from the store if done, else the agent (unless an earlier run got past it), then verification. */
    const one = (instance: TaskInstance, sample: number) =>
      Effect.gen(function*() {
        const temperature = temperatureOf(temperatures, sample)
        const key = rolloutKey({ instance, sample, config, model: llm.model, temperature, seed: options.seed })
        const id: RolloutIdentity = {
          rollout_key: key,
          instance_id: instance.instance_id,
          sample,
          agent: config.name,
          config_hash: configHash,
          model: llm.model,
          temperature,
          run_id: options.runId,
        }
        const stored = yield* findRollout(key)
        const done = Option.flatMap(stored, (s) => (s.status === "verified" ? s.trajectory : Option.none()))
        if (Option.isSome(done) && !notAResult.has(done.value.exit_reason)) {
          yield* emit(RolloutEvent.RolloutResumed({ trajectory: done.value }))
          return done.value
        }
        const r: Rollout = { instance, sample, id, attempts: yield* Ref.make(Option.match(stored, { onNone: () => 0, onSome: (s) => s.attempt })) }
        const rolledOut = Option.flatMap(stored, (s) => (s.status === "rolled_out" ? s.trajectory : Option.none()))
        const trajectory = Option.isSome(rolledOut) ? rolledOut.value : yield* agentPhase(r)
        return yield* verifyPhase(r, trajectory)
      })

    // An instance listed twice would race itself for the same keys: its first listing is the one run.
    const seen = new Set<string>()
    return instances.pipe(
      Stream.filter((instance) => !seen.has(instance.instance_id) && seen.add(instance.instance_id) !== undefined),
      Stream.flatMap((instance) => Stream.fromIterable(Array.from({ length: samples }, (_, sample) => ({ instance, sample })))),
      Stream.mapEffect(({ instance, sample }) => one(instance, sample), { concurrency: concurrency + prepareAhead, unordered: true }),
    )
  }))

const toTrajectory = (
  id: RolloutIdentity,
  config: AgentConfig,
  attempts: number,
  result: Either.Either<AgentResult, RolloutInfrastructureFault>,
): RolloutTrajectory => {
  const common = {
    instance_id: id.instance_id,
    model_name_or_path: id.model,
    sample: id.sample,
    rollout_key: id.rollout_key,
    agent: config.name,
    config_hash: id.config_hash,
    temperature: id.temperature,
    attempts,
  }
  if (Either.isLeft(result)) {
    const now = new Date().toISOString()
    return {
      ...common,
      messages: [],
      tools: [],
      steps: [],
      exit_reason: "infrastructure_error",
      exit_detail: result.left.message,
      model_patch: "",
      started_at: now,
      finished_at: now,
      turns: 0,
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      cost_usd: 0,
      format_errors: 0,
      llm_retries: 0,
    }
  }
  const r = result.right
  return {
    ...common,
    messages: r.messages,
    tools: r.tools,
    steps: r.steps,
    exit_reason: r.exit.reason,
    ...(r.exit.detail === undefined ? {} : { exit_detail: r.exit.detail }),
    model_patch: r.model_patch,
    started_at: r.started_at,
    finished_at: r.finished_at,
    turns: r.turns,
    usage: r.usage,
    cost_usd: r.cost_usd,
    format_errors: r.format_errors,
    llm_retries: r.llm_retries,
    ...(r.openhands_stuck === undefined ? {} : { openhands_stuck: r.openhands_stuck }),
  }
}
