// How swe-gym-docker shows progress: the sandbox reports lines as values (ProgressReporter); this app prints them on
// stderr as `[scope] line`, so stdout stays free for the results scripts capture (the base image's tag).
import { type ProgressLine, ProgressReporter } from "@swe-gym/sandbox"
import { Console, Effect } from "effect"

/** A progress line as printed: `[engine] pinging the Docker engine at unix:///var/run/docker.sock`. */
export const progressText = (progress: ProgressLine): string => `[${progress.scope}] ${progress.line}`

/** Runs `self` with the sandbox's progress printed on stderr. */
export const withStderrProgress = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(self, ProgressReporter, { report: (progress) => Console.error(progressText(progress)) })
