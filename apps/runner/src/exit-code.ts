// The runner's exit codes, decided from how the program ended: 0 when it succeeded, 130 when it was interrupted
// (SIGINT / SIGTERM: the shell convention for Ctrl-C, so scripts and Nx see that the run did not finish), 1 otherwise.
import { Cause, Exit } from "effect"

/** The exit code of a program's Exit. */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number =>
  Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1

/** A teardown for NodeRuntime.runMain that exits with exitCodeOf (a code set earlier through process.exitCode wins if not 0). */
export const exitCodeTeardown = <E, A>(exit: Exit.Exit<E, A>, onExit: (code: number) => void): void => {
  const code = exitCodeOf(exit)
  const set = typeof process.exitCode === "number" ? process.exitCode : 0
  onExit(code === 0 && set !== 0 ? set : code)
}
