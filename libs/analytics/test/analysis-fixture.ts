// A small hand-made set of trajectories whose analyses are computed by hand in the tests. Two models:
//   model A, dataset d1:
//     o__r1-1: samples 0 (resolved, 10 calls, actions x y z), 1 (resolved, 5 calls, actions p q q q, the last three
//              erroring), 2 (resolved, 5 calls — a tie with sample 1)
//     o__r0-2: sample 0 (unresolved, empty patch, actions m m m m with identical observations), 1 (ungraded, 1 turn)
//     o__r0-3: sample 0 (unresolved, actions k k k with different observations, no errors)
//     o__r0-4: sample 0 (resolved, 7 calls)
//   model B, no dataset: o__r1-1 sample 0 (ungraded, no steps): a group with nothing graded.
import { type Row, Store } from "@swe-gym/store"
import { Effect, Stream } from "effect"
import { evaluationKey, sha256 } from "../src/imported-trajectory.js"

interface FixtureTrajectory {
  readonly model: "A" | "B"
  readonly instance: string
  readonly sample: number
  readonly resolved: boolean | null
  readonly llmCalls: number
  readonly patch: string
  readonly steps: ReadonlyArray<{ readonly action: string; readonly observation: string; readonly error: boolean }>
  readonly messages: number
  readonly finalContext: number | null
}

const step = (action: string, observation = `out of ${action}`, error = false) => ({ action, observation, error })

export const fixtureTrajectories: ReadonlyArray<FixtureTrajectory> = [
  { model: "A", instance: "o__r1-1", sample: 0, resolved: true, llmCalls: 10, patch: "p1", steps: [step("x"), step("y"), step("z")], messages: 4, finalContext: 500 },
  {
    model: "A",
    instance: "o__r1-1",
    sample: 1,
    resolved: true,
    llmCalls: 5,
    patch: "p2",
    steps: [step("p"), step("q", "e1", true), step("q", "e2", true), step("q", "e3", true)],
    messages: 6,
    finalContext: 700,
  },
  { model: "A", instance: "o__r1-1", sample: 2, resolved: true, llmCalls: 5, patch: "p3", steps: [step("a"), step("b")], messages: 10, finalContext: null },
  {
    model: "A",
    instance: "o__r0-2",
    sample: 0,
    resolved: false,
    llmCalls: 4,
    patch: "  \n",
    steps: [step("m", "same"), step("m", "same"), step("m", "same"), step("m", "same")],
    messages: 3,
    finalContext: null,
  },
  { model: "A", instance: "o__r0-2", sample: 1, resolved: null, llmCalls: 1, patch: "p5", steps: [step("n")], messages: 2, finalContext: null },
  { model: "A", instance: "o__r0-3", sample: 0, resolved: false, llmCalls: 3, patch: "p6", steps: [step("k", "1"), step("k", "2"), step("k", "3")], messages: 5, finalContext: null },
  { model: "A", instance: "o__r0-4", sample: 0, resolved: true, llmCalls: 7, patch: "p7", steps: [step("s"), step("t")], messages: 8, finalContext: null },
  { model: "B", instance: "o__r1-1", sample: 0, resolved: null, llmCalls: 0, patch: "p8", steps: [], messages: 1, finalContext: null },
]

/** The trajectory id of a fixture trajectory. */
export const fixtureId = (t: Pick<FixtureTrajectory, "model" | "instance" | "sample">): string => `run-${t.model}/${t.instance}/${t.sample}`

/** Writes the fixture (and the qwen3 token counts of o__r1-1 sample 0's four messages: 10+20+30+40) into the store. */
export const writeFixture = Effect.gen(function*() {
  const store = yield* Store
  const trajectories: Array<Row> = fixtureTrajectories.map((t) => ({
    trajectory_id: fixtureId(t),
    run_id: `run-${t.model}`,
    instance_id: t.instance,
    sample: t.sample,
    model: t.model,
    dataset: t.model === "A" ? "d1" : null,
    exit_reason: "submitted",
    patch: t.patch,
    evaluation_key: evaluationKey(t.instance, t.patch),
    turns: t.steps.length,
    llm_calls: t.llmCalls,
    messages: t.messages,
    final_context_tokens: t.finalContext,
    source_file: "fixture",
  }))
  yield* store.append("analytics_trajectories", Stream.fromIterable(trajectories))
  yield* store.append(
    "analytics_steps",
    Stream.fromIterable(fixtureTrajectories.flatMap((t) =>
      t.steps.map((s, i): Row => ({ trajectory_id: fixtureId(t), step: i, action: s.action, observation: s.observation, observation_error: s.error }))
    )),
  )
  yield* store.append(
    "analytics_evaluations",
    Stream.fromIterable(fixtureTrajectories.flatMap((t): Array<Row> =>
      t.resolved === null ? [] : [{
        evaluation_key: evaluationKey(t.instance, t.patch),
        instance_id: t.instance,
        patch_sha256: sha256(t.patch),
        resolved: t.resolved,
        outcome: t.resolved ? "resolved" : "unresolved",
        source_file: "fixture",
      }]
    )),
  )
  yield* store.append(
    "analytics_message_tokens",
    Stream.fromIterable([10, 20, 30, 40].map((tokens, idx): Row => ({ trajectory_id: "run-A/o__r1-1/0", idx, tokenizer: "qwen3", tokens }))),
  )
})
