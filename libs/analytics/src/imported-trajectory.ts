// The one shape every import produces, whatever tool wrote the trajectory: a run, the trajectory's counts and patch,
// its steps (action–observation pairs), messages, tool calls, raw LLM calls, and a grading when the source has one.
import { createHash } from "node:crypto"

/** Where the trajectories came from (one rollout run, or one imported directory / file of another tool). */
export interface RunRecord {
  readonly run_id: string
  readonly source_format: string
  readonly model: string
  readonly dataset: string | null
  readonly agent: string | null
  readonly agent_config: unknown
  readonly sampling: unknown
  readonly source_path: string
}

/** One action–observation pair. `action` is the text compared by the stuck-in-loop rules. */
export interface StepRecord {
  readonly action: string
  readonly tool: string | null
  readonly thought: string | null
  readonly observation: string | null
  readonly observation_error: boolean
  readonly llm_ms: number | null
  readonly prompt_tokens: number | null
  readonly completion_tokens: number | null
}

/** One tool call of an assistant message (OpenAI function calling). */
export interface ToolCallRecord {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/** One chat message. */
export interface MessageRecord {
  readonly role: "system" | "user" | "assistant" | "tool"
  readonly content: string
  readonly tool_call_id: string | null
  readonly tool_calls: ReadonlyArray<ToolCallRecord>
}

/** One raw LLM call as sent and received. */
export interface LlmCallRecord {
  readonly model: string | null
  readonly request: unknown
  readonly response: unknown
  readonly prompt_tokens: number | null
  readonly completion_tokens: number | null
  readonly total_tokens: number | null
  readonly latency_ms: number | null
}

/** A grading of the trajectory's patch (SWE-bench's report, or our harness's). */
export interface EvaluationRecord {
  readonly resolved: boolean
  /** resolved, unresolved, empty_patch, patch_did_not_apply, ... (the harness's outcome vocabulary). */
  readonly outcome: string
  readonly patch_applied: boolean | null
  readonly report: unknown
  readonly source_file: string
}

/** A task instance the source carries along (OpenHands puts the instance row into every line). */
export interface InstanceRecord {
  readonly instance_id: string
  readonly repo: string
  readonly base_commit: string | null
  readonly version: string | null
  readonly problem_statement: string | null
  readonly FAIL_TO_PASS: ReadonlyArray<string> | null
  readonly PASS_TO_PASS: ReadonlyArray<string> | null
}

/**
 * Why a trajectory ended, normalised across tools: the rollout vocabulary (submitted, max_steps, stuck_in_loop,
 * context_exceeded, cost_limit, timeout, llm_error, sandbox_error) plus format_error, error (any other error,
 * detail kept in exit_detail) and unknown (the source does not say).
 */
export type NormalisedExitReason = string

/** One imported trajectory with everything the tables hold. */
export interface ImportedTrajectory {
  readonly run: RunRecord
  readonly instance_id: string
  /** The sample index when the source says; otherwise the import numbers repeats of (run, instance) from 0. */
  readonly sample: number | null
  readonly model: string
  readonly exit_reason: NormalisedExitReason
  readonly exit_detail: string | null
  readonly patch: string
  /** LLM calls made (the source's own count when it keeps one, else the assistant messages). */
  readonly llm_calls: number
  readonly cost: number | null
  readonly started_at: string | null
  readonly finished_at: string | null
  readonly tools: unknown
  readonly steps: ReadonlyArray<StepRecord>
  readonly messages: ReadonlyArray<MessageRecord>
  readonly llmCallLog: ReadonlyArray<LlmCallRecord>
  readonly evaluation: EvaluationRecord | null
  readonly instance: InstanceRecord | null
  readonly source_file: string
  readonly source_line: number | null
  /** Token totals the tool itself reports for the whole run (else the sums over LLM calls are used). */
  readonly reportedTokens?: { readonly prompt: number | null; readonly completion: number | null } | null
}

/** SHA-256 of a text, hex. */
export const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

/**
 * The evaluation content key of a patch for an instance: sha256 of `instance_id` and the patch's sha256. Gradings
 * are joined to trajectories by it, never by a run name, so one grading serves every trajectory with the same patch.
 */
export const evaluationKey = (instanceId: string, patch: string): string => sha256(`${instanceId}\n${sha256(patch)}`)

/** The trajectory id: readable, and the same on every re-import of the same run, instance and sample. */
export const trajectoryId = (runId: string, instanceId: string, sample: number): string => `${runId}/${instanceId}/${sample}`

/** The repository of a SWE-bench instance id (`owner__name-123` → `owner/name`). */
export const repoOfInstanceId = (instanceId: string): string => instanceId.replace(/-\d+$/, "").replace("__", "/")

/** Sums the numbers of a list, or null when none is known. */
export const sumKnown = (values: ReadonlyArray<number | null>): number | null => {
  let total: number | null = null
  for (const v of values) if (v !== null) total = (total ?? 0) + v
  return total
}
