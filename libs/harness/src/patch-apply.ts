// Applying a patch in an instance container the way SWE-bench does — `git apply -v`, then `git apply --reject`, then
// `patch --batch --fuzz=5 -p1` — after stripping anything before the first `diff --git` and normalising CRLF. Unlike
// SWE-bench, the tree is restored between attempts (a failed `--reject` leaves half the hunks applied, which then made
// `patch` fail on "previously applied" hunks) and after a final failure. A patch that is empty or names paths outside the
// repository is refused before anything runs; nothing here fails: the result says whether and how the patch applied.
// `patch` runs with --no-backup-if-mismatch, so a fuzzy apply leaves no .orig files in the work tree.
import type { Container, ContainerDied, EngineError, ExecTimeout } from "@swe-gym/sandbox"
import { Duration, Effect } from "effect"
import { RepoDir } from "./environment-image.js"

/** How a patch was applied (or "none"). */
export type ApplyMethod = "git apply" | "git apply --reject" | "patch --fuzz=5" | "none"

/** The outcome of applying a patch. */
export interface ApplyResult {
  readonly applied: boolean
  readonly method: ApplyMethod
  /** Why it was not applied ("" when applied). */
  readonly reason: string
  /** What the commands printed, attempt by attempt. */
  readonly log: string
}

/** A patch ready to apply, or why it cannot be. */
export type PreparedPatch = { readonly _tag: "Ready"; readonly text: string; readonly paths: ReadonlyArray<string> } | { readonly _tag: "Refused"; readonly reason: string }

const unquote = (p: string): string => {
  if (!p.startsWith('"')) return p
  try {
    const parsed: unknown = JSON.parse(p)
    return typeof parsed === "string" ? parsed : p
  } catch {
    return p
  }
}

/** Why a path named by a patch lies outside the repository work tree (undefined when it does not). */
export const pathProblem = (raw: string): string | undefined => {
  const p = unquote(raw.trim())
  if (p === "/dev/null") return undefined
  if (p.startsWith("/")) return `absolute path ${p}`
  const segments = p.split("/")
  if (segments.includes("..")) return `path ${p} leaves the repository (..)`
  if (segments[0] === ".git" || segments.includes(".git")) return `path ${p} is inside .git`
  return undefined
}

const stripPrefix = (p: string): string => p.replace(/^(a|b)\//, "")

/** The paths a patch names in its file headers (`diff --git`, `---`/`+++`, rename and copy lines), without a/ b/. */
export const patchPaths = (text: string): ReadonlyArray<string> => {
  const paths = new Set<string>()
  let inHeader = false
  for (const line of text.split("\n")) {
    const header = /^diff --git (\S+|"[^"]*") (\S+|"[^"]*")$/.exec(line)
    if (header?.[1] !== undefined && header[2] !== undefined) {
      paths.add(stripPrefix(unquote(header[1])))
      paths.add(stripPrefix(unquote(header[2])))
      inHeader = true
      continue
    }
    // Hunk lines are content: a removed line "-- x" shows as "--- x" and names no file.
    if (line.startsWith("@@")) inHeader = false
    if (!inHeader) continue
    const file = /^(?:---|\+\+\+) (.+?)(?:\t.*)?$/.exec(line)
    if (file?.[1] !== undefined && file[1] !== "/dev/null") paths.add(stripPrefix(unquote(file[1])))
    const move = /^(?:rename|copy) (?:from|to) (.+)$/.exec(line)
    if (move?.[1] !== undefined) paths.add(unquote(move[1]))
  }
  return [...paths]
}

/** Normalises a patch (CRLF → LF, text before the first `diff --git` dropped) and refuses empty or escaping ones. */
export const preparePatch = (patch: string): PreparedPatch => {
  const normalised = patch.replace(/\r\n/g, "\n")
  const start = normalised.search(/^diff --git /m)
  if (normalised.trim() === "" || start === -1) {
    return { _tag: "Refused", reason: normalised.trim() === "" ? "empty patch" : "no `diff --git` section in the patch" }
  }
  const text = normalised.slice(start)
  const body = text.endsWith("\n") ? text : `${text}\n`
  const paths = patchPaths(body)
  for (const p of paths) {
    const problem = pathProblem(p)
    if (problem !== undefined) return { _tag: "Refused", reason: `the patch touches a path outside the repository: ${problem}` }
  }
  return { _tag: "Ready", text: body, paths }
}

/** The files of a patch that exist after it applies (new and changed files, not deleted ones). */
export const patchTargetFiles = (patch: string): ReadonlyArray<string> => {
  const files: Array<string> = []
  for (const section of patch.replace(/\r\n/g, "\n").split(/^(?=diff --git )/m)) {
    const header = /^diff --git (?:\S+|"[^"]*") (\S+|"[^"]*")$/m.exec(section)
    if (header?.[1] === undefined) continue
    if (/^\+\+\+ \/dev\/null$/m.test(section) || /^deleted file mode/m.test(section)) continue
    files.push(stripPrefix(unquote(header[1])))
  }
  return [...new Set(files)]
}

const PatchFile = "/tmp/swe-gym/patch.diff"
const SnapshotIndex = "/tmp/swe-gym/snapshot.index"

// Snapshot = every file of the work tree (untracked ones too, ignored ones not) in a scratch index; restore = write its
// files back and delete the files it does not know (those an attempt created: new files, .rej, .orig).
const snapshot = `set -e; cp .git/index ${SnapshotIndex} 2>/dev/null || rm -f ${SnapshotIndex}; GIT_INDEX_FILE=${SnapshotIndex} git add -A`
const restore = `set -e; GIT_INDEX_FILE=${SnapshotIndex} git checkout-index -a -f -q; GIT_INDEX_FILE=${SnapshotIndex} git clean -fdq`

const attempts: ReadonlyArray<{ readonly method: Exclude<ApplyMethod, "none">; readonly command: string }> = [
  { method: "git apply", command: `git apply -v ${PatchFile}` },
  { method: "git apply --reject", command: `git apply -v --reject ${PatchFile}` },
  { method: "patch --fuzz=5", command: `patch --batch --fuzz=5 -p1 --no-backup-if-mismatch -i ${PatchFile}` },
]

/** Options of applyPatch. */
export interface ApplyOptions {
  readonly repoDir?: string
  /** Per-command limit (default 2 minutes). */
  readonly timeoutSeconds?: number
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

// Exit codes of the apply script: AppliedExit + i when attempt i applied, NotAppliedExit when none did.
const AppliedExit = 10
const NotAppliedExit = 20

/**
 * One shell script doing what applyPatch does, so a patch costs one exec: the patch arrives on stdin; each attempt's
 * output is printed after a `>>> command (exit N)` line, a failed snapshot or restore as `[… failed: output]`.
 */
export const applyScript = (): string => {
  const out = "/tmp/swe-gym/apply.out"
  const lines = [
    `mkdir -p /tmp/swe-gym && cat > ${PatchFile} || exit 90`,
    // Not in a condition: `set -e` inside a subshell is ignored when the subshell is tested by if, || or &&.
    `(${snapshot}) > ${out} 2>&1 ; snap=$?`,
    `[ $snap = 0 ] || printf '[snapshot failed: %s]\\n' "$(cat ${out})"`,
  ]
  for (const [index, attempt] of attempts.entries()) {
    if (index > 0) {
      lines.push(
        `back=0; if [ $snap = 0 ]; then (${restore}) > ${out} 2>&1 ; back=$?; fi`,
        `[ $back = 0 ] || printf '[restore failed: %s]\\n' "$(cat ${out})"`,
      )
    }
    lines.push(
      `(${attempt.command}) > ${out} 2>&1; code=$?`,
      `printf '>>> %s (exit %d)\\n' ${shellQuote(attempt.command)} "$code"; cat ${out}`,
      `[ "$code" != 0 ] || exit ${AppliedExit + index}`,
    )
  }
  lines.push(`[ $snap != 0 ] || (${restore}) > /dev/null 2>&1`, `exit ${NotAppliedExit}`)
  return lines.join("\n")
}

/**
 * Applies a patch in the container's repository; never fails on a bad patch (see ApplyResult), only on the container.
 * One exec: the patch goes in on its stdin, and the attempts, the snapshot and the restores run in one script.
 */
export const applyPatch = Effect.fn("harness.applyPatch")(function* (
  container: Container,
  patch: string,
  options: ApplyOptions = {},
): Effect.fn.Return<ApplyResult, EngineError | ContainerDied | ExecTimeout> {
  const prepared = preparePatch(patch)
  if (prepared._tag === "Refused") return { applied: false, method: "none", reason: prepared.reason, log: "" }
  const workdir = options.repoDir ?? RepoDir
  // Each command had its own limit when they ran one exec each: the script gets the sum.
  const timeout = Duration.seconds((options.timeoutSeconds ?? 120) * (attempts.length * 2 + 1))
  const result = yield* container.exec(["sh", "-c", applyScript()], { timeout, workdir, stdin: prepared.text })
  const log = `${result.stdout}${result.stderr}`
  const applied = attempts[result.exitCode - AppliedExit]
  if (applied !== undefined) return { applied: true, method: applied.method, reason: "", log }
  if (result.exitCode === NotAppliedExit) {
    return { applied: false, method: "none", reason: "the patch does not apply (git apply, git apply --reject and patch --fuzz=5 all failed)", log }
  }
  return { applied: false, method: "none", reason: `the apply script failed (exit ${result.exitCode})`, log }
})
