// Our own trajectories (libs/domain's Trajectory, one JSON object per line, as the rollout stage writes them).
// A step is one assistant message: its tool calls (or, in the text format, its content) are the action, the tool or
// user messages up to the next assistant message are the observation; per-step timing and usage come from `steps`.
import type { Trajectory } from "@swe-gym/domain"
import type { ImportedTrajectory, MessageRecord, StepRecord } from "../imported-trajectory.js"
import { contentText, utcTimestamp } from "./file-decoding.js"

/** Options of the conversion. */
export interface OwnTrajectoryContext {
  readonly file: string
  readonly line: number
  readonly runId: string
  readonly dataset: string | null
  readonly model: string | null
}

/** Converts one of our trajectories into an imported trajectory. */
export const fromOwnTrajectory = (t: Trajectory, context: OwnTrajectoryContext): ImportedTrajectory => {
  const messages: Array<MessageRecord> = t.messages.map((m) => {
    switch (m.role) {
      case "assistant":
        return {
          role: "assistant",
          content: m.content ?? "",
          tool_call_id: null,
          tool_calls: (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
        }
      case "tool":
        return { role: "tool", content: m.content, tool_call_id: m.tool_call_id, tool_calls: [] }
      case "user":
        return { role: "user", content: contentText(m.content), tool_call_id: null, tool_calls: [] }
      default:
        return { role: "system", content: m.content, tool_call_id: null, tool_calls: [] }
    }
  })
  const steps: Array<StepRecord> = []
  messages.forEach((m, i) => {
    if (m.role !== "assistant") return
    const observations: Array<string> = []
    for (let j = i + 1; j < messages.length; j++) {
      const next = messages[j]
      if (next === undefined || next.role === "assistant") break
      observations.push(next.content)
    }
    const timing = t.steps[steps.length]
    steps.push({
      action: m.tool_calls.length > 0 ? m.tool_calls.map((c) => `${c.name} ${c.arguments}`).join("\n") : m.content.trim(),
      tool: m.tool_calls[0]?.name ?? null,
      thought: m.content === "" ? null : m.content,
      observation: observations.length === 0 ? null : observations.join("\n"),
      observation_error: false,
      llm_ms: timing?.llm_ms ?? null,
      prompt_tokens: timing?.usage?.prompt_tokens ?? null,
      completion_tokens: timing?.usage?.completion_tokens ?? null,
    })
  })
  const model = context.model ?? t.model_name_or_path
  return {
    run: {
      run_id: context.runId,
      source_format: "trajectory",
      model,
      dataset: context.dataset,
      agent: "swe-gym",
      agent_config: null,
      sampling: null,
      source_path: context.file,
    },
    instance_id: t.instance_id,
    sample: t.sample,
    model,
    exit_reason: t.exit_reason,
    exit_detail: null,
    patch: t.model_patch,
    llm_calls: Math.max(t.steps.length, steps.length),
    cost: null,
    started_at: utcTimestamp(t.started_at),
    finished_at: utcTimestamp(t.finished_at ?? null),
    tools: t.tools.length === 0 ? null : t.tools,
    steps,
    messages,
    llmCallLog: [],
    evaluation: null,
    instance: null,
    source_file: context.file,
    source_line: context.line,
  }
}
