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

const git = (args: ReadonlyArray<string>): ReadonlyArray<string> => ["git", "-c", "safe.directory=*", "-c", "core.quotepath=true", ...args]

/** Takes the model patch of /testbed against `baseCommit` (a hex sha, as TaskInstance guarantees). */
export const modelPatch = Effect.fn("agent.modelPatch")(function*(
  container: Container,
  baseCommit: string,
): Effect.fn.Return<ModelPatch, EngineError | ContainerDied> {
  const opts = { timeout: Duration.seconds(300), workdir: RepoRoot, env: CommandEnv, maxOutputBytes: 64 * 1024 }
  const steps = [
    git(["add", "-A"]),
    git(["diff", "--cached", "--binary", "--no-color", "--no-ext-diff", `--output=${PatchFile}`, baseCommit]),
  ]
  for (const argv of steps) {
    const result = yield* container.exec(argv, opts).pipe(
      Effect.map((r) => (r.exitCode === 0 ? undefined : `\`${argv.slice(5).join(" ")}\` exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().slice(-500)}`)),
      Effect.catchTag("ExecTimeout", (t) => Effect.succeed(`\`${argv.slice(5).join(" ")}\` timed out after ${t.timeoutMs} ms`)),
    )
    if (result !== undefined) return { patch: "", problem: result }
  }
  const bytes = yield* container.readFile(PatchFile).pipe(
    Effect.catchTag("FileNotFound", () => Effect.succeed(new Uint8Array())),
  )
  yield* container.exec(["rm", "-f", PatchFile], opts).pipe(Effect.ignore)
  return { patch: withoutBinaryFiles(new TextDecoder("utf-8", { fatal: false }).decode(bytes)) }
})
