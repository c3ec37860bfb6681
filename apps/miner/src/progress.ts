import type { RepoProgress } from "@swe-gym/mining"
import { type Duration, Effect, Ref, Schedule } from "effect"

// Progress on stderr while a run goes: on a terminal one live line (rewritten in place), otherwise (CI, a log file) a
// line per repository when it ends and a line of totals every `every` when something moved.

/** Where progress goes: a writable text stream and whether it is a terminal. */
export interface ProgressOutput {
  readonly isTTY: boolean
  readonly write: (text: string) => void
}

/** One repository's progress as a short text. */
export const formatRepoProgress = (p: RepoProgress): string =>
  `${p.repo}: ${p.seen - p.unchanged} PRs mined${p.unchanged > 0 ? ` (+${p.unchanged} unchanged)` : ""}, ${p.candidates} candidates, ${p.rejected} rejected`

/** The totals line over all repositories so far. */
export const formatTotals = (all: ReadonlyArray<RepoProgress>): string => {
  const running = all.filter((p) => p.state === "running")
  const mined = all.reduce((n, p) => n + p.seen - p.unchanged, 0)
  const candidates = all.reduce((n, p) => n + p.candidates, 0)
  const done = all.filter((p) => p.state !== "running").length
  const now = running.map((p) => `${p.repo} ${p.seen - p.unchanged}`).join(", ")
  return `mining: ${done} repositories done, ${mined} PRs mined, ${candidates} candidates${now === "" ? "" : ` | ${now}`}`
}

/**
 * Starts rendering progress to `output` for the current scope (the last state is drawn when the scope ends) and returns
 * the callback the miner reports to.
 */
export const progressReporter = (output: ProgressOutput, every: { readonly tty: Duration.DurationInput; readonly log: Duration.DurationInput } = { tty: "200 millis", log: "10 seconds" }) =>
  Effect.gen(function*() {
    const latest = yield* Ref.make(new Map<string, RepoProgress>())
    const drawn = yield* Ref.make("")
    const draw = Effect.gen(function*() {
      const all = [...(yield* Ref.get(latest)).values()]
      if (all.length === 0) return
      const line = formatTotals(all)
      if (line === (yield* Ref.get(drawn))) return
      yield* Ref.set(drawn, line)
      output.write(output.isTTY ? `\r\x1b[2K${line.slice(0, 200)}` : `${line}\n`)
    })
    yield* Effect.forkScoped(Effect.interruptible(Effect.repeat(draw, Schedule.spaced(output.isTTY ? every.tty : every.log))))
    yield* Effect.addFinalizer(() => Effect.zipRight(draw, Effect.sync(() => output.isTTY && output.write("\n"))))
    return (p: RepoProgress): Effect.Effect<void> =>
      Effect.gen(function*() {
        yield* Ref.update(latest, (m) => new Map(m).set(p.repo, p))
        if (p.state === "running") return
        const line = `${formatRepoProgress(p)}${p.state === "failed" ? " — failed" : ""}`
        output.write(output.isTTY ? `\r\x1b[2K${line}\n` : `${line}\n`)
      })
  })
