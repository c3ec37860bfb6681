// The agent loop, mini-swe-agent style: query the model, decode its tool calls, run them in the container, observe,
// check the limits; every way out is a tagged AgentExit that becomes the trajectory's exit reason. Each step is handed
// to `onStep` (persisted) before the next begins. Infrastructure faults (container or engine gone, LLM unavailable
// after the client's retries) fail the run, so the rollout stage can retry it whole; they never end it as a failed agent.
// The container may still be being prepared when the loop starts: the first LLM call needs none, so it runs meanwhile,
// and the first tool call (or the model patch) waits for the container.
import { ChatMessage, type ExitReason, type OpenHandsStuck, type TaskInstance, TokenUsage, type TrajectoryStep } from "@swe-gym/domain"
import { AssistantMessage, type ChatCompletion, type ChatRequest, LlmCall, type LlmError, type LlmUnavailable, type ToolSpec } from "@swe-gym/llm"
import type { Container, ContainerDied, EngineError } from "@swe-gym/sandbox"
import { Clock, Data, Duration, Effect, Either, Option, Schema } from "effect"
import { type AgentConfig, canonicalJson, renderTemplate } from "./agent-config.js"
import { executeBash, type Observation, observationText } from "./bash-tool.js"
import { makeEditor } from "./editor-tool.js"
import { modelPatch } from "./model-patch.js"
import { openHandsStuck, paperStuck, type TurnSignature } from "./stuck-detection.js"
import { type Action, decodeToolCall, type FormatProblem, toolSpecs } from "./tool-calls.js"

/** A tool call of a step as the detectors and analyses see it. */
export const StepAction = Schema.Struct({
  tool_call_id: Schema.optional(Schema.String),
  name: Schema.String,
  arguments: Schema.String,
  /** Whether the call decoded and ran. */
  valid: Schema.Boolean,
  /** Whether its observation is an error. */
  is_error: Schema.Boolean,
})

/** One step as persisted while the rollout runs: what the model said, what ran, what came back, the raw call. */
export const AgentStep = Schema.Struct({
  index: Schema.Number,
  started_at: Schema.String,
  llm_ms: Schema.Number,
  tools_ms: Schema.Number,
  usage: Schema.optional(TokenUsage),
  finish_reason: Schema.String,
  assistant: AssistantMessage,
  /** The messages the step added after the assistant's (tool results, format-error notes). */
  observations: Schema.Array(ChatMessage),
  actions: Schema.Array(StepAction),
  format_error: Schema.Boolean,
  /** The LLM call exactly as sent and received. */
  llm_call: LlmCall,
})
export type AgentStep = typeof AgentStep.Type

/** How a rollout's agent loop ended. */
export class AgentExit extends Data.TaggedClass("AgentExit")<{
  readonly reason: ExitReason
  readonly detail?: string
}> {}

/** Faults of the environment or the endpoint: the whole rollout is retried, then recorded as infrastructure_error. */
export type InfrastructureFault = EngineError | ContainerDied | LlmUnavailable

/** What the agent needs for one rollout. */
export interface AgentRunInput<E, R, EC = never> {
  readonly instance: TaskInstance
  /** The instance's container, or an effect giving it once it is ready (awaited by every use, so it should be cheap). */
  readonly container: Container | Effect.Effect<Container, EC>
  readonly config: AgentConfig
  readonly temperature: number
  readonly seed?: number
  /** Names the calls in their raw records: `${label}/${turn}`. */
  readonly label: string
  readonly complete: (request: ChatRequest) => Effect.Effect<ChatCompletion, LlmError>
  /** Persists a step; called once per step, in order, before the next step starts. */
  readonly onStep: (step: AgentStep) => Effect.Effect<void, E, R>
}

/** The outcome of the agent loop (the trajectory's body). */
export interface AgentResult {
  readonly exit: AgentExit
  /** The tool schemas offered to the model. */
  readonly tools: ReadonlyArray<ToolSpec>
  readonly messages: ReadonlyArray<ChatMessage>
  readonly steps: ReadonlyArray<TrajectoryStep>
  readonly turns: number
  readonly usage: TokenUsage
  readonly cost_usd: number
  readonly format_errors: number
  readonly llm_retries: number
  readonly openhands_stuck: OpenHandsStuck | undefined
  readonly model_patch: string
  readonly started_at: string
  readonly finished_at: string
}

const iso = (ms: number): string => new Date(ms).toISOString()

const noCallMessage = (config: AgentConfig): string =>
  `Your last response did not call a tool. Act only through tool calls: ${config.tools.map((t) => `\`${t}\``).join(", ")}${
    config.tools.includes("finish") ? "; call `finish` when the task is done" : ""
  }.`

/** Runs the agent on one instance in its prepared container until a limit, the model, or a detector ends it. */
export const runAgent = <E, R, EC = never>(
  input: AgentRunInput<E, R, EC>,
): Effect.Effect<AgentResult, InfrastructureFault | E | EC, R> =>
  Effect.gen(function*() {
    const { config, instance } = input
    const container: Effect.Effect<Container, EC> = Effect.isEffect(input.container) ? input.container : Effect.succeed(input.container)
    const limits = config.limits
    const tools = toolSpecs(config.tools)
    // Made at the first edit (it needs the container); it keeps the undo history for the rest of the run.
    let editor: ReturnType<typeof makeEditor> | undefined
    const startedAt = yield* Clock.currentTimeMillis
    // Committed at the end of each step, so a wall-clock timeout mid-step leaves the last whole step.
    const state: {
      messages: ReadonlyArray<ChatMessage>
      steps: ReadonlyArray<TrajectoryStep>
      turns: ReadonlyArray<TurnSignature>
      usage: TokenUsage
      cost: number
      formatErrors: number
      consecutiveFormatErrors: number
      llmRetries: number
      openhands: OpenHandsStuck | undefined
    } = {
      messages: [
        { role: "system", content: renderTemplate(config.system_template, instance) },
        { role: "user", content: renderTemplate(config.instance_template, instance) },
      ],
      steps: [],
      turns: [],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      cost: 0,
      formatErrors: 0,
      consecutiveFormatErrors: 0,
      llmRetries: 0,
      openhands: undefined,
    }

    const runAction = (action: Action): Effect.Effect<Observation, EngineError | ContainerDied | EC> => {
      switch (action.tool) {
        case "execute_bash":
          return Effect.flatMap(container, (c) => executeBash(c, action.args, limits))
        case "str_replace_editor":
          return Effect.flatMap(container, (c) => (editor ??= makeEditor(c, limits)).run(action.args))
        case "finish":
          return Effect.succeed({ text: "Finished.", isError: false })
      }
    }

    const loop: Effect.Effect<AgentExit, InfrastructureFault | E | EC, R> = Effect.gen(function*() {
      while (true) {
        // ── limits ──
        if (state.steps.length >= limits.max_turns) return new AgentExit({ reason: "max_steps" })
        if (limits.max_total_tokens !== null && state.usage.total_tokens >= limits.max_total_tokens) {
          return new AgentExit({ reason: "token_limit", detail: `${state.usage.total_tokens} tokens used` })
        }
        if (limits.cost_budget_usd !== null && state.cost >= limits.cost_budget_usd) {
          return new AgentExit({ reason: "cost_limit", detail: `$${state.cost.toFixed(4)} spent` })
        }

        // ── query the model ──
        const index = state.steps.length
        const stepStart = yield* Clock.currentTimeMillis
        const answer = yield* input.complete({
          messages: state.messages,
          tools,
          toolMode: config.tool_mode,
          temperature: input.temperature,
          ...config.sampling,
          ...(input.seed === undefined ? {} : { seed: input.seed }),
          label: `${input.label}/${index + 1}`,
        }).pipe(Effect.either)
        if (Either.isLeft(answer)) {
          const error = answer.left
          switch (error._tag) {
            case "LlmContextExceeded":
              return new AgentExit({ reason: "context_exceeded", detail: error.message })
            case "LlmRequestRejected":
              return new AgentExit({ reason: "llm_error", detail: `HTTP ${error.status}: ${error.message}` })
            case "LlmUnavailable":
              return yield* Effect.fail(error)
          }
        }
        const completion = answer.right
        const llmDone = yield* Clock.currentTimeMillis

        // ── parse and run the actions ──
        const observations: Array<ChatMessage> = []
        const actions: Array<typeof StepAction.Type> = []
        const notes: Array<string> = []
        let finished: string | undefined
        let problems = 0
        let anyError = false
        for (const call of completion.message.tool_calls ?? []) {
          const decoded: Either.Either<Action, FormatProblem> = finished === undefined
            ? decodeToolCall(call, config.tools)
            : Either.left({ call, message: "Not run: `finish` was called before this call." })
          const observation = Either.isRight(decoded)
            ? yield* runAction(decoded.right)
            : { text: observationText(decoded.left.message), isError: true }
          if (Either.isLeft(decoded) && finished === undefined) problems++
          if (Either.isRight(decoded) && decoded.right.tool === "finish") finished = decoded.right.args.message ?? ""
          anyError ||= observation.isError
          observations.push({ role: "tool", tool_call_id: call.id, content: observation.text })
          actions.push({
            tool_call_id: call.id,
            name: call.function.name,
            arguments: Either.isRight(decoded) ? canonicalJson(decoded.right.args) : call.function.arguments,
            valid: Either.isRight(decoded),
            is_error: observation.isError,
          })
        }
        for (const parseError of completion.toolCallErrors) {
          problems++
          notes.push(parseError.message)
          actions.push({ name: parseError.name ?? "", arguments: parseError.text, valid: false, is_error: true })
        }
        if (actions.length === 0) {
          problems++
          notes.push(noCallMessage(config))
        }
        if (notes.length > 0) {
          anyError = true
          observations.push({ role: "user", content: observationText(notes.join("\n\n")) })
        }
        const toolsDone = yield* Clock.currentTimeMillis

        // ── record the step, then commit it ──
        const usage = completion.usage
        const step: AgentStep = {
          index,
          started_at: iso(stepStart),
          llm_ms: llmDone - stepStart,
          tools_ms: toolsDone - llmDone,
          ...(usage === undefined ? {} : { usage }),
          finish_reason: completion.finish_reason,
          assistant: completion.message,
          observations,
          actions,
          format_error: problems > 0,
          llm_call: completion.call,
        }
        yield* input.onStep(step)
        state.messages = [...state.messages, completion.message, ...observations]
        state.steps = [...state.steps, {
          index,
          started_at: step.started_at,
          llm_ms: step.llm_ms,
          tools_ms: step.tools_ms,
          ...(usage === undefined ? {} : { usage }),
        }]
        if (usage !== undefined) {
          state.usage = {
            prompt_tokens: state.usage.prompt_tokens + usage.prompt_tokens,
            completion_tokens: state.usage.completion_tokens + usage.completion_tokens,
            total_tokens: state.usage.total_tokens + usage.total_tokens,
          }
          state.cost += (usage.prompt_tokens * config.prices.input_per_million_tokens +
            usage.completion_tokens * config.prices.output_per_million_tokens) / 1e6
        }
        state.llmRetries += Math.max(0, completion.call.attempts - 1)
        state.formatErrors += problems > 0 ? 1 : 0
        state.consecutiveFormatErrors = problems > 0 ? state.consecutiveFormatErrors + 1 : 0
        state.turns = [...state.turns, {
          action: canonicalJson(actions.map((a) => [a.name, a.arguments])),
          observation: observations.map((o) => (typeof o.content === "string" ? o.content : "")).join("\n"),
          isError: anyError,
          valid: problems === 0,
        }]

        // OpenHands' detector is recorded before any way out: it may fire on the turn another rule ends the run.
        const pattern = openHandsStuck(state.turns)
        if (Option.isSome(pattern) && state.openhands === undefined) {
          state.openhands = { pattern: pattern.value, turn: state.turns.length }
        }

        // ── ways out ──
        if (finished !== undefined) return new AgentExit({ reason: "submitted", ...(finished === "" ? {} : { detail: finished }) })
        if (state.consecutiveFormatErrors >= limits.max_format_errors) {
          return new AgentExit({ reason: "format_error", detail: `${state.consecutiveFormatErrors} turns in a row without a valid tool call` })
        }
        if (paperStuck(state.turns)) {
          return new AgentExit({ reason: "stuck_in_loop", detail: "the same action in the last three turns" })
        }
        if (state.openhands !== undefined && config.openhands_stuck_ends_run) {
          return new AgentExit({ reason: "stuck_in_loop", detail: `OpenHands' detector: ${state.openhands.pattern}` })
        }
      }
    })

    const exit = limits.wall_clock_seconds === null
      ? yield* loop
      : yield* loop.pipe(
        Effect.timeoutTo({
          duration: Duration.seconds(limits.wall_clock_seconds),
          onSuccess: (e): AgentExit => e,
          onTimeout: () => new AgentExit({ reason: "timeout", detail: `wall clock of ${limits.wall_clock_seconds} s reached` }),
        }),
      )

    const patch = yield* Effect.flatMap(container, (c) => modelPatch(c, instance.base_commit))
    const finishedAt = yield* Clock.currentTimeMillis
    const detail = [exit.detail, patch.problem === undefined ? undefined : `model patch not taken: ${patch.problem}`]
      .filter((d): d is string => d !== undefined)
      .join("; ")
    return {
      exit: new AgentExit({ reason: exit.reason, ...(detail === "" ? {} : { detail }) }),
      tools,
      messages: state.messages,
      steps: state.steps,
      turns: state.steps.length,
      usage: state.usage,
      cost_usd: state.cost,
      format_errors: state.formatErrors,
      llm_retries: state.llmRetries,
      openhands_stuck: state.openhands,
      model_patch: patch.patch,
      started_at: iso(startedAt),
      finished_at: iso(finishedAt),
    }
  })
