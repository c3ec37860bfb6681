// `rerank`: each trajectory's verifier prompt (the flattened interaction log, ending at `<judgement>`) goes to an
// OpenAI-compatible completions endpoint asking for one token with logprobs; p_yes = e^lyes / (e^lyes + e^lno) over the
// top logprobs of that token. Requests run with bounded concurrency, transient failures (429, 5xx, network) are retried,
// and each score is stored as it arrives, so an interrupted rerank resumes with the trajectories not yet scored.
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Store } from "@swe-gym/store"
import { Duration, Effect, Redacted, Schedule, Schema, Stream } from "effect"
import { trajectoryConversation } from "./exports.js"
import { outcomesView, verifierScoresTable } from "./tables.js"
import { verifierPrompt } from "./training-rows.js"

/** The verifier endpoint failed for good (after retries) or answered with something that is not a completion. */
export class VerifierRequestFailed extends Schema.TaggedError<VerifierRequestFailed>()("VerifierRequestFailed", {
  trajectory: Schema.String,
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `verifier request for ${this.trajectory} failed: ${this.detail} (${this.hint})`
  }
}

const Completion = Schema.Struct({
  choices: Schema.NonEmptyArray(Schema.Struct({
    logprobs: Schema.NullOr(Schema.Struct({
      top_logprobs: Schema.NonEmptyArray(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Number }))),
    })),
  })),
})

/** p_yes from the top logprobs of the judgement token: variants of YES / NO (case, surrounding space) take their best. */
export const pYes = (top: Readonly<Record<string, number>>): { readonly p: number; readonly yes: number | null; readonly no: number | null } | null => {
  let yes: number | null = null
  let no: number | null = null
  for (const [token, lp] of Object.entries(top)) {
    const word = token.trim().toUpperCase()
    if (word === "YES" && (yes === null || lp > yes)) yes = lp
    if (word === "NO" && (no === null || lp > no)) no = lp
  }
  if (yes === null && no === null) return null
  const ey = yes === null ? 0 : Math.exp(yes)
  const en = no === null ? 0 : Math.exp(no)
  return { p: ey / (ey + en), yes, no }
}

/** Options of `rerank`. */
export interface RerankOptions {
  /** Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1 (the request goes to <base>/completions). */
  readonly baseUrl: string
  /** The verifier model name as the server knows it; also the label of the stored scores. */
  readonly model: string
  readonly apiKey?: Redacted.Redacted<string>
  /** Requests in flight at once (default 4). */
  readonly concurrency?: number
  /** Top logprobs asked for (default 5). */
  readonly topLogprobs?: number
  /** Per-request timeout (default 120 s). */
  readonly timeout?: Duration.DurationInput
  /** Called after each stored score with the number scored so far. */
  readonly onProgress?: (scored: number, unreadable: number) => Effect.Effect<void>
}

const Pending = Schema.Struct({ trajectory_id: Schema.String, patch: Schema.String })

const isTransient = (status: number) => status === 429 || status >= 500

/** Scores every trajectory without a score from `model`; returns how many were scored and how many answers had neither YES nor NO. */
export const rerank = Effect.fn("analytics.rerank")(function*(options: RerankOptions) {
  const store = yield* Store
  const client = (yield* HttpClient.HttpClient).pipe(
    HttpClient.filterStatus((status) => !isTransient(status)),
    HttpClient.retryTransient({ schedule: Schedule.exponential("200 millis").pipe(Schedule.jittered), times: 5 }),
  )
  const pending = yield* store.query(
    `SELECT o.trajectory_id, o.patch FROM ${outcomesView} o
     WHERE NOT EXISTS (SELECT 1 FROM ${verifierScoresTable} s WHERE s.trajectory_id = o.trajectory_id AND s.verifier = ?)
     ORDER BY o.trajectory_id`,
    [options.model],
    Pending,
  )
  const url = `${options.baseUrl.replace(/\/+$/, "")}/completions`
  let scored = 0
  let unreadable = 0

  const scoreOne = (t: typeof Pending.Type) =>
    Effect.gen(function*() {
      const conversation = yield* trajectoryConversation(t.trajectory_id)
      const request = HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeaders(options.apiKey === undefined ? {} : { authorization: `Bearer ${Redacted.value(options.apiKey)}` }),
        HttpClientRequest.bodyUnsafeJson({
          model: options.model,
          prompt: verifierPrompt(conversation.messages, t.patch),
          max_tokens: 1,
          temperature: 0,
          logprobs: options.topLogprobs ?? 5,
        }),
      )
      const completion = yield* client.execute(request).pipe(
        Effect.flatMap(HttpClientResponse.filterStatusOk),
        Effect.flatMap(HttpClientResponse.schemaBodyJson(Completion)),
        Effect.scoped,
        Effect.timeout(options.timeout ?? "120 seconds"),
        Effect.mapError((e) =>
          new VerifierRequestFailed({
            trajectory: t.trajectory_id,
            detail: e._tag === "TimeoutException" ? "timed out" : e.message,
            hint: "check --base-url and --model, and that the server returns logprobs for /completions",
          })
        ),
      )
      const top = completion.choices[0].logprobs?.top_logprobs[0] ?? null
      const judged = top === null ? null : pYes(top)
      if (judged === null) {
        unreadable += 1
        return
      }
      yield* store.run(
        `INSERT OR REPLACE INTO ${verifierScoresTable} (trajectory_id, verifier, p_yes, logprob_yes, logprob_no, scored_at) VALUES (?, ?, ?, ?, ?, ?)`,
        [t.trajectory_id, options.model, judged.p, judged.yes, judged.no, new Date()],
      )
      scored += 1
      if (options.onProgress !== undefined) yield* options.onProgress(scored, unreadable)
    })

  yield* Stream.fromIterable(pending).pipe(
    Stream.mapEffect(scoreOne, { concurrency: options.concurrency ?? 4, unordered: true }),
    Stream.runDrain,
  )
  return { pending: pending.length, scored, unreadable }
})
