// The model patch: every change of /testbed against the base commit, taken in the container as OpenHands takes its
// git_patch (`git add -A`, then `git diff --cached` against base), with binary files left out. The diff goes to a file
// and comes back through the archive API, so no output cap can cut it.
import type { Container, ContainerDied, EngineError } from "@swe-gym/sandbox"
import { Duration, Effect } from "effect"
import { CommandEnv } from "./bash-tool.js"
import { RepoRoot } from "./tool-calls.js"

const PatchFile = "/tmp/swe-gym-model.patch"

/** The patch, or why it could not be taken (the agent broke the repository, say); the patch is then empty. */
export interface ModelPatch {
  readonly patch: string
  readonly problem?: string
}

/**
 * Leaves out the file sections of a `git diff --binary` that carry binary content. A text hunk line always starts with
 * ' ', '+', '-', '\\' or '@@', so "diff --git " at a line start is a section header and "GIT binary patch" or
 * "Binary files … differ" a binary section's marker; quoted file names never hold a raw newline.
 */
export const withoutBinaryFiles = (diff: string): string => {
  const sections = diff.split(/^(?=diff --git )/m)
  return sections
    .filter((section) => !/^(GIT binary patch|Binary files .* differ)$/m.test(section))
    .join("")
}

/** Takes the model patch of /testbed against `baseCommit` (a hex sha, as TaskInstance guarantees). */
export const modelPatch = Effect.fn("agent.modelPatch")(function*(
  container: Container,
  baseCommit: string,
): Effect.fn.Return<ModelPatch, EngineError | ContainerDied> {
  const opts = { timeout: Duration.seconds(300), workdir: RepoRoot, env: CommandEnv, maxOutputBytes: 64 * 1024 }
  // One exec for the whole job (each exec is several engine round trips, and every rollout ends here); a file left by an
  // earlier call goes first, so a failed diff can never hand back a stale patch.
  const shown = `git add -A && git diff --cached --binary ${baseCommit}`
  const git = "git -c 'safe.directory=*' -c core.quotepath=true"
  const script = `rm -f -- "$1" && ${git} add -A && ${git} diff --cached --binary --no-color --no-ext-diff --output="$1" "$2"`
  const problem = yield* container.exec(["/bin/sh", "-c", script, "model-patch", PatchFile, baseCommit], opts).pipe(
    Effect.map((r) => (r.exitCode === 0 ? undefined : `\`${shown}\` exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-500)}`)),
    Effect.catchTag("ExecTimeout", (t) => Effect.succeed(`\`${shown}\` timed out after ${t.timeoutMs} ms`)),
  )
  if (problem !== undefined) return { patch: "", problem }
  const bytes = yield* container.readFile(PatchFile).pipe(
    Effect.catchTag("FileNotFound", () => Effect.succeed(new Uint8Array())),
  )
  return { patch: withoutBinaryFiles(new TextDecoder("utf-8", { fatal: false }).decode(bytes)) }
})
