// Stuck detection over the turns of a rollout, two rules under two names (PITFALLS: offer both, never mix them):
// - the paper's (SWE-Gym's "Stuck in Loop"): the exact same action in the last three turns; it ends the rollout;
// - OpenHands' detector: the same action–observation pair in the last four turns, or the same action in the last three
//   turns with each observation an error; recorded, and ends the rollout only when the config says so.
import type { OpenHandsStuckPattern } from "@swe-gym/domain"
import { Option } from "effect"

/** One turn as the detectors see it. */
export interface TurnSignature {
  /** The turn's action(s): tool names with canonical arguments, or the raw text of malformed calls. */
  readonly action: string
  /** Everything the turn's actions returned, in order. */
  readonly observation: string
  /** Whether an observation of the turn was an error (a failed tool call, a timeout, a format error). */
  readonly isError: boolean
  /** Whether every call of the turn decoded (a turn of malformed calls took no action). */
  readonly valid: boolean
}

const lastN = <A>(items: ReadonlyArray<A>, n: number): ReadonlyArray<A> | undefined =>
  items.length < n ? undefined : items.slice(items.length - n)

/** The paper's rule: the last three turns took the exact same action. */
export const paperStuck = (turns: ReadonlyArray<TurnSignature>): boolean => {
  const last = lastN(turns, 3)
  return last !== undefined && last.every((t) => t.valid && t.action === last[0]?.action)
}

/** OpenHands' rule: which of its patterns holds at the last turn, if any. */
export const openHandsStuck = (turns: ReadonlyArray<TurnSignature>): Option.Option<OpenHandsStuckPattern> => {
  const four = lastN(turns, 4)
  if (four !== undefined && four.every((t) => t.action === four[0]?.action && t.observation === four[0]?.observation)) {
    return Option.some("repeated_action_observation")
  }
  const three = lastN(turns, 3)
  if (three !== undefined && three.every((t) => t.action === three[0]?.action && t.isError)) {
    return Option.some("repeated_action_error")
  }
  return Option.none()
}
