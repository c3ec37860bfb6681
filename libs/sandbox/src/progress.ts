// Progress of the sandbox's long host steps (starting dockerd, installing packages, building the base image). The library
// reports lines as values through ProgressReporter; the app that runs the steps decides where they go (tools/docker prints
// them on stderr). Nothing is printed unless an app provides a reporter.
import { Clock, Context, Duration, Effect, Fiber } from "effect"

/** One progress line of a host step: which part of swe-gym reports (`engine`, `base-image`) and what it is doing. */
export interface ProgressLine {
  readonly scope: string
  readonly line: string
}

/** Where progress lines go; the default drops them (a library prints nothing by itself). */
export class ProgressReporter extends Context.Reference<ProgressReporter>()("@swe-gym/sandbox/ProgressReporter", {
  defaultValue: (): { readonly report: (progress: ProgressLine) => Effect.Effect<void> } => ({ report: () => Effect.void }),
}) {}

/** Reports one progress line to the current ProgressReporter. */
export const reportProgress = (scope: string, line: string): Effect.Effect<void> =>
  Effect.flatMap(ProgressReporter, (reporter) => reporter.report({ scope, line }))

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/**
 * Runs `self`, reporting "`label`… (N s)" every `every` while it runs (followed by what `status` says, e.g. the last line
 * of a log) and the elapsed time when it ends.
 */
export const withHeartbeat =
  (scope: string, label: string, every: Duration.DurationInput = "10 seconds", status: Effect.Effect<string> = Effect.succeed("")) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const start = yield* Clock.currentTimeMillis
      const elapsed = Clock.currentTimeMillis.pipe(Effect.map((now) => seconds(now - start)))
      yield* reportProgress(scope, `${label}…`)
      const beat = yield* Effect.fork(
        elapsed.pipe(
          Effect.zip(status),
          Effect.flatMap(([e, now]) => reportProgress(scope, `${label}… (${e})${now === "" ? "" : ` ${now}`}`)),
          Effect.delay(every),
          Effect.forever,
        ),
      )
      const result = yield* self.pipe(Effect.ensuring(Fiber.interrupt(beat)))
      yield* elapsed.pipe(Effect.flatMap((e) => reportProgress(scope, `${label}: done (${e})`)))
      return result
    })
