import { Schema } from "effect"
import { TokenUsage, Trajectory } from "./trajectory.js"

/** Which of OpenHands' stuck patterns fired: 4 identical action–observation pairs, or 3 identical actions each erroring. */
export const OpenHandsStuckPattern = Schema.Literal("repeated_action_observation", "repeated_action_error")
export type OpenHandsStuckPattern = typeof OpenHandsStuckPattern.Type

/** OpenHands' stuck detector firing: the pattern and the turn (1-based) at which it first held. */
export const OpenHandsStuck = Schema.Struct({ pattern: OpenHandsStuckPattern, turn: Schema.Number })
export type OpenHandsStuck = typeof OpenHandsStuck.Type

/**
 * A trajectory of the rollout stage: the Trajectory record plus what identifies the rollout (its content key, the agent
 * config's hash, the sampling temperature), its totals, the detectors' findings, and the verification of its patch.
 */
export const RolloutTrajectory = Schema.extend(
  Trajectory,
  Schema.Struct({
    /** Content key of (instance, sample, agent config hash, model, temperature): resume and dedup go by it. */
    rollout_key: Schema.String,
    /** The agent config's name and canonical hash. */
    agent: Schema.String,
    config_hash: Schema.String,
    temperature: Schema.Number,
    /** Turns taken (LLM calls answered). */
    turns: Schema.Number,
    /** Usage summed over the rollout's LLM calls. */
    usage: TokenUsage,
    /** Cost at the config's prices (0 when it names none). */
    cost_usd: Schema.Number,
    /** Turns whose tool calls the model got wrong (unknown tool, bad JSON, bad arguments, no call). */
    format_errors: Schema.Number,
    /** LLM call attempts beyond the first, summed (transient faults the client retried). */
    llm_retries: Schema.Number,
    /** What ended the rollout, in words (the error behind `infrastructure_error`, `llm_error`, `context_exceeded`). */
    exit_detail: Schema.optional(Schema.String),
    /** The paper's stuck rule firing is `exit_reason: stuck_in_loop`; OpenHands' detector is recorded here on its own. */
    openhands_stuck: Schema.optional(OpenHandsStuck),
    /** Whole-rollout attempts made (more than 1 after infrastructure faults). */
    attempts: Schema.Number,
    /** Verification of model_patch by the tests (absent when the rollout ended by an infrastructure error). */
    resolved: Schema.optional(Schema.Boolean),
    failure_class: Schema.optional(Schema.String),
    evaluation_key: Schema.optional(Schema.String),
  }),
).annotations({ identifier: "RolloutTrajectory" })
export type RolloutTrajectory = typeof RolloutTrajectory.Type
