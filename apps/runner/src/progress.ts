// How the runner shows its stages' progress: the harness reports values (ValidationEvent, EvaluationEvent), this module
// turns them into lines on stderr. One line per finished instance, loud lines for what a user must not miss (a history
// leak, an image that changed under a validated instance), and the closing summary.
import { type EvaluationEvent, formatEvaluationSummary, formatValidationSummary, type ValidationEvent } from "@swe-gym/harness"
import { Console, Effect } from "effect"

const firstLine = (text: string, chars: number): string => {
  const line = text.split("\n")[0] ?? ""
  return line.length <= chars ? line : `${line.slice(0, chars)}…`
}

/** Renders one validate event as stderr lines. */
export const renderValidationEvent = (event: ValidationEvent): Effect.Effect<void> => {
  switch (event._tag) {
    case "CandidateValidated": {
      const { validated, seconds, summary } = event
      const r = validated.result
      const what = r.kept ? `kept (${r.FAIL_TO_PASS.length} FAIL_TO_PASS, ${r.PASS_TO_PASS.length} PASS_TO_PASS)` : `rejected: ${r.reason}`
      const when = validated.cached ? " (stored)" : ` ${seconds.toFixed(1)} s`
      const leak = validated.environmentFailure?.step === "history_leak" ? Console.error(`[validate] ${r.instance_id}: HISTORY LEAK: ${validated.environmentFailure.message}`) : Effect.void
      return Effect.zipRight(leak, Console.error(`[validate] ${summary.total} ${r.instance_id}: ${what}${when}`))
    }
    case "ValidationFinished": {
      const stopped = event.interrupted ? " (interrupted: finished verdicts are stored; run again to do the rest)" : ""
      return Console.error(`[validate] ${formatValidationSummary(event.summary)} in ${event.seconds.toFixed(1)} s${stopped}`)
    }
  }
}

/** Renders one evaluate event as stderr lines. */
export const renderEvaluationEvent = (event: EvaluationEvent): Effect.Effect<void> => {
  switch (event._tag) {
    case "PredictionEvaluated": {
      const { evaluated, summary } = event
      const r = evaluated.result
      const detail = r.outcome === "resolved" || r.outcome === "empty_patch" ? "" : `: ${firstLine(r.reason, 240)}`
      // A stored result ran earlier: its duration is that run's, not this one's.
      const when = evaluated.cached ? " (stored)" : ` ${(r.duration_ms / 1000).toFixed(1)} s`
      const lines = [
        ...(evaluated.environmentFailure?.step === "history_leak" ? [`[evaluate] ${r.instance_id}: HISTORY LEAK: ${evaluated.environmentFailure.message}`] : []),
        ...(evaluated.imageChangedFrom === undefined ? [] : [`[evaluate] ${r.instance_id}: evaluated on ${r.image ?? "?"}, validated on ${evaluated.imageChangedFrom}`]),
        `[evaluate] ${summary.total} ${r.instance_id}: ${r.outcome}${when}${detail}`,
      ]
      return Effect.forEach(lines, (line) => Console.error(line), { discard: true })
    }
    case "PredictionRejected":
      return Console.error(`[evaluate] ${event.rejected.prediction.instance_id}: not evaluated: ${event.rejected.detail}`)
    case "EvaluationFinished": {
      const stopped = event.interrupted ? " (interrupted: the finished instances are stored; run again to do the rest)" : ""
      // Forging made visible: each suspicious result with its first reason, before the totals a user would trust.
      const suspicious = event.summary.suspicious.map((s) => `[evaluate] SUSPICIOUS ${s.instance_id} (${s.model_name_or_path}): ${firstLine(s.reasons.join("; "), 240)}`)
      return Effect.forEach([...suspicious, `[evaluate] ${event.runId}: ${formatEvaluationSummary(event.summary)} in ${event.seconds.toFixed(1)} s${stopped}`], (line) => Console.error(line), { discard: true })
    }
  }
}
