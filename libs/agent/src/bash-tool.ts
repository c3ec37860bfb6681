// execute_bash: one command in a fresh bash in /testbed, stdout and stderr together, killed at its timeout. The sandbox
// caps the captured output (head and tail, the cut marked) and decodes it with U+FFFD for invalid UTF-8; a timeout is
// an observation the agent continues from. Only a container that stops answering is a fault (infrastructure).
import { type Container, ContainerDied, type EngineError } from "@swe-gym/sandbox"
import { Duration, Effect } from "effect"
import type { AgentLimits } from "./agent-config.js"
import { type BashArgs, RepoRoot } from "./tool-calls.js"

/** What a tool returned to the model; `isError` marks failures of the tool call itself (for OpenHands' detector). */
export interface Observation {
  readonly text: string
  readonly isError: boolean
}

/** Environment of every command: no pagers or progress bars waiting for a terminal that is not there. */
export const CommandEnv: Readonly<Record<string, string>> = {
  PAGER: "cat",
  MANPAGER: "cat",
  GIT_PAGER: "cat",
  LESS: "-R",
  TERM: "dumb",
  PIP_PROGRESS_BAR: "off",
  TQDM_DISABLE: "1",
  PYTHONDONTWRITEBYTECODE: "1",
}

/** Text sent to the model: NUL bytes shown as U+2400 (several servers and DuckDB's text end a string at NUL). */
export const observationText = (text: string): string => text.replace(/\u0000/g, "\u2400")

/** The timeout a call gets: the model's (lowered to the maximum), or the default. */
export const commandTimeoutSeconds = (args: BashArgs, limits: AgentLimits): number =>
  args.timeout === undefined || !(args.timeout > 0)
    ? limits.command_timeout_seconds
    : Math.min(args.timeout, limits.max_command_timeout_seconds)

const joinStreams = (stdout: string, stderr: string): string =>
  stderr.length === 0 ? stdout : stdout.length === 0 ? stderr : `${stdout}${stdout.endsWith("\n") ? "" : "\n"}${stderr}`

/** Runs a command for the agent. */
export const executeBash = Effect.fn("agent.executeBash")(function*(
  container: Container,
  args: BashArgs,
  limits: AgentLimits,
): Effect.fn.Return<Observation, EngineError | ContainerDied> {
  const seconds = commandTimeoutSeconds(args, limits)
  // `exec 2>&1` first, so the model sees both streams interleaved as a terminal shows them; the command reaches bash as
  // one argv element, never through a quoting layer.
  const result = yield* container.exec(["/bin/bash", "-c", `exec 2>&1\n${args.command}`], {
    timeout: Duration.seconds(seconds),
    maxOutputBytes: limits.max_output_bytes,
    workdir: RepoRoot,
    env: CommandEnv,
  }).pipe(
    Effect.map((r) => ({ _tag: "Exited" as const, ...r })),
    Effect.catchTag("ExecTimeout", (timeout) =>
      timeout.containerKilled
        ? Effect.fail(
          new ContainerDied({
            containerId: timeout.containerId,
            operation: "execute_bash",
            state: "killed",
            hint: "a command outlived its timeout and the kill inside the container; the container was killed",
          }),
        )
        : Effect.succeed({ _tag: "TimedOut" as const, stdout: timeout.stdout, stderr: timeout.stderr })),
  )
  const output = joinStreams(result.stdout, result.stderr)
  if (result._tag === "TimedOut") {
    return {
      text: observationText(
        `${output}${output.length === 0 || output.endsWith("\n") ? "" : "\n"}[The command timed out after ${seconds} seconds and was killed. Run a shorter command, or give a larger timeout if it must take longer.]`,
      ),
      isError: true,
    }
  }
  return {
    text: observationText(`${output}${output.length === 0 || output.endsWith("\n") ? "" : "\n"}[The command completed with exit code ${result.exitCode}.]`),
    isError: false,
  }
})
