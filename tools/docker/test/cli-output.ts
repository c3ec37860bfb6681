// Runs the swe-gym-docker CLI in the test's process and keeps what it printed, for the CLI tests of each command.
import { Console, Effect } from "effect"
import { cli } from "../src/cli.js"

/** Runs the CLI with `args`; returns what it printed on stdout (Console.log) and on stderr (Console.error). */
export const runCliPrinting = (...args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const keep = (lines: Array<string>) => (...parts: ReadonlyArray<unknown>) => Effect.sync(() => void lines.push(parts.join(" ")))
    yield* Console.consoleWith((console) =>
      cli(["node", "swe-gym-docker", ...args]).pipe(Effect.withConsole({ ...console, log: keep(stdout), error: keep(stderr) })),
    )
    return { stdout, stderr }
  })
