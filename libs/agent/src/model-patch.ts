// The model patch: every change of /testbed against the base commit, taken in the container as OpenHands takes its
// git_patch (`git add -A`, then `git diff --cached` against base), with binary files left out. The diff goes to a file
// and is printed by the same exec: up to `inlineBytes` it comes back in the exec's reply; a larger one is read from the
// file through the archive API, so no output cap can cut it. (The archive API costs the engine a process of its own per
// call: about 0.09 CPU-seconds and 75 ms here, once per rollout, against a few ms for the reply.)
import type { Container, ContainerDied, EngineError } from "@swe-gym/sandbox"
import { Duration, Effect, Either } from "effect"
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

/** Patches up to this size come back in the exec's reply (default 8 MiB); larger ones through the archive API. */
export const DefaultInlinePatchBytes = 8 * 1024 * 1024

/** Takes the model patch of /testbed against `baseCommit` (a hex sha, as TaskInstance guarantees). */
export const modelPatch = Effect.fn("agent.modelPatch")(function*(
  container: Container,
  baseCommit: string,
  inlineBytes: number = DefaultInlinePatchBytes,
): Effect.fn.Return<ModelPatch, EngineError | ContainerDied> {
  const opts = { timeout: Duration.seconds(300), workdir: RepoRoot, env: CommandEnv, maxOutputBytes: inlineBytes }
  // One exec for the whole job (each exec is several engine round trips, and every rollout ends here); a file left by an
  // earlier call goes first, so a failed diff can never hand back a stale patch.
  const shown = `git add -A && git diff --cached --binary ${baseCommit}`
  const git = "git -c 'safe.directory=*' -c core.quotepath=true"
  const script = `rm -f -- "$1" && ${git} add -A && ${git} diff --cached --binary --no-color --no-ext-diff --output="$1" "$2" && cat -- "$1"`
  const outcome = yield* container.exec(["/bin/sh", "-c", script, "model-patch", PatchFile, baseCommit], opts).pipe(
    Effect.map((r) =>
      r.exitCode === 0
        ? Either.right(r)
        : Either.left(`\`${shown}\` exited ${r.exitCode}: ${(r.stderr || r.stdout).slice(-2000).trim().slice(-500)}`)
    ),
    Effect.catchTag("ExecTimeout", (t) => Effect.succeed(Either.left(`\`${shown}\` timed out after ${t.timeoutMs} ms`))),
  )
  if (Either.isLeft(outcome)) return { patch: "", problem: outcome.left }
  if (!outcome.right.stdoutTruncated) return { patch: withoutBinaryFiles(outcome.right.stdout) }
  const bytes = yield* container.readFile(PatchFile).pipe(
    Effect.catchTag("FileNotFound", () => Effect.succeed(new Uint8Array())),
  )
  return { patch: withoutBinaryFiles(new TextDecoder("utf-8", { fatal: false }).decode(bytes)) }
})
