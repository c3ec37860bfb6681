// A task instance's container: a fresh container of its environment image, the repository checked out at base_commit,
// and every trace of later history removed and then checked for (an agent must not find the fix in `git log --all`).
//
// The purge does not trust `git gc` alone: it replaces /testbed/.git by a new repository cloned from base only, which
// holds just the objects reachable from that one commit; the work tree, with whatever the install step built in it,
// stays. Two history modes:
// - "base-only" (the default): a depth-1 clone. The repository holds base_commit (same sha, message and tree) and no
//   parent: `git log` shows one commit, `git diff`/`git status`/`git stash` work, `git show HEAD~1` does not. Costs about
//   what a `git archive` of the base tree costs, whatever the length of the history.
// - "full": a single-branch clone of base, so every ancestor of base is there (`git log`, `git blame` back to the first
//   commit) and nothing after it. Costs a repack of the history up to base: tens of seconds on Django or sympy.
// The check then asks git itself, in the prepared container, whether anything later is still reachable or present.
import { type Container, type ContainerDied, type ContainerLimits, type EngineError, type ExecTimeout, type ImageNotFound, Sandbox } from "@swe-gym/sandbox"
import type { EnvironmentSpec, TaskInstance } from "@swe-gym/domain"
import { Duration, Effect, Schema } from "effect"
import { type EnvironmentImage, RepoDir } from "./environment-image.js"

/** The branch the prepared repository has (the only ref in it). */
export const InstanceBranch = "main"

/** Label put on instance containers (its value is the instance id). */
export const InstanceLabel = "swe-gym.instance"

// ── errors ───────────────────────────────────────────────────────────────────────────────────────────────────────────

/** The environment image does not hold the instance's base commit (the mirror it was built from is older). */
export class BaseCommitMissing extends Schema.TaggedError<BaseCommitMissing>()("BaseCommitMissing", {
  instance_id: Schema.String,
  base_commit: Schema.String,
  image: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.instance_id}: base commit ${this.base_commit} is not in ${this.image}. ${this.hint}`
  }
}

/** A step of preparing the instance's repository failed. */
export class PrepareFailed extends Schema.TaggedError<PrepareFailed>()("PrepareFailed", {
  instance_id: Schema.String,
  step: Schema.String,
  exitCode: Schema.Number,
  output: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.instance_id}: ${this.step} failed (exit ${this.exitCode}): ${this.output.trim().split("\n").slice(-10).join("\n")}. ${this.hint}`
  }
}

/** The prepared repository still shows history later than base_commit: the instance must not run. */
export class HistoryLeak extends Schema.TaggedError<HistoryLeak>()("HistoryLeak", {
  instance_id: Schema.String,
  base_commit: Schema.String,
  /** Which check found it (e.g. "git log --all", "git cat-file -e"). */
  check: Schema.String,
  detail: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.instance_id}: later history is reachable at base ${this.base_commit} (${this.check}): ${this.detail}. ${this.hint}`
  }
}

/** Every error of preparing an instance container. */
export type PrepareError = BaseCommitMissing | PrepareFailed | HistoryLeak | ImageNotFound | EngineError | ContainerDied | ExecTimeout

// ── the scripts ──────────────────────────────────────────────────────────────────────────────────────────────────────

/** Whether a string is a commit sha (the scripts put it in single quotes, so nothing else may reach them). */
export const isCommitSha = (s: string): boolean => /^[0-9a-f]{7,40}$/.test(s)

/** How much of the history up to base_commit a prepared repository keeps (see the top of this file). */
export type HistoryMode = "base-only" | "full"

/** The default history mode: base-only (what an agent needs, at the cost of a checkout). */
export const DefaultHistoryMode: HistoryMode = "base-only"

/**
 * Shell script: check out base, write the commits not reachable from it to /tmp/swe-gym-later (for the check), replace
 * .git by a clone of base (depth 1 or its whole ancestry, by `mode`), drop caches that could hold later code
 * (__pycache__), rebuild the index.
 */
export const purgeScript = (baseCommit: string, mode: HistoryMode = DefaultHistoryMode): string => {
  const base = baseCommit
  // The checkout compares the image's index with the work tree by size and mtime only: in a new container every file's
  // ctime, inode and device differ from what the index recorded at build time, and git would otherwise re-read every
  // file (seconds on a large tree). A file changed in the second its index entry was written is racily clean, and git
  // compares its content anyway.
  // Depth needs the file:// transport (a local path clone ignores it); pack.window=0: the objects of one tree are
  // packed as they are, without a delta search that costs more than it saves inside a throwaway container.
  const clone = mode === "base-only"
    ? `git -c pack.window=0 clone -q --bare --depth 1 --single-branch --no-tags --branch swe-gym-base file://${RepoDir} /tmp/swe-gym-purged.git`
    : `git clone -q --bare --no-local --single-branch --no-tags --branch swe-gym-base ${RepoDir} /tmp/swe-gym-purged.git`
  // A clone of a whole history can carry objects its branch does not reach (on swe-bench's Django mirror: an annotated
  // tag object and 7 more, which the check rightly called a leak); the repack drops them. A depth-1 clone carried none
  // there, and "full" alone pays for the repack.
  const gc = mode === "full" ? "git gc -q --prune=now" : ""
  return `set -eu
cd ${RepoDir}
if ! git cat-file -e '${base}^{commit}' 2>/dev/null; then echo "swe-gym: base commit missing"; exit 3; fi
git rev-list --all --reflog '^${base}' > /tmp/swe-gym-later
git -c core.checkStat=minimal -c core.trustctime=false checkout -q -f --detach '${base}'
git clean -q -fd
git update-ref refs/heads/swe-gym-base '${base}'
rm -rf /tmp/swe-gym-purged.git
${clone}
rm -rf ${RepoDir}/.git
mv /tmp/swe-gym-purged.git ${RepoDir}/.git
git config --unset core.bare || true
git config core.bare false
for remote in $(git remote); do git remote remove "$remote"; done
git branch -m swe-gym-base ${InstanceBranch}
git symbolic-ref HEAD refs/heads/${InstanceBranch}
rm -rf .git/logs .git/FETCH_HEAD .git/ORIG_HEAD .git/packed-refs.lock .git/objects/info/commit-graph .git/objects/info/commit-graphs
git reset -q
git reflog expire --expire=now --all
${gc}
find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
echo "swe-gym: prepared at $(git rev-parse HEAD)"
`
}

/**
 * Shell script printing one `check<TAB>finding` line per problem (no line = clean): HEAD is base; `git log --all` and the
 * reflog hold only base's ancestors; no remotes, tags or other refs; none of the commits that were later than base is
 * present (`git cat-file -e`); fsck finds nothing unreachable or dangling (with reflogs not counted as references, which
 * also covers what `fsck --lost-found` would find); every object present is reachable.
 */
export const checkScript = (baseCommit: string): string => {
  const base = baseCommit
  return `set -u
cd ${RepoDir}
report() { printf '%s\\t%s\\n' "$1" "$2"; }
head=$(git rev-parse HEAD 2>&1) || report "git rev-parse HEAD" "$head"
[ "$head" = "${base}" ] || report "git rev-parse HEAD" "HEAD is $head"
later=$(git log --all --reflog --format=%H '^${base}' | head -5)
[ -z "$later" ] || report "git log --all" "commits not reachable from the base commit: $later"
[ -z "$(git remote)" ] || report "git remote" "$(git remote | tr '\\n' ' ')"
[ -z "$(git tag)" ] || report "git tag" "$(git tag | head -5 | tr '\\n' ' ')"
refs=$(git for-each-ref --format='%(refname)' | grep -v '^refs/heads/${InstanceBranch}$' | head -5)
[ -z "$refs" ] || report "git for-each-ref" "$refs"
[ -z "$(git reflog --all 2>/dev/null)" ] || report "git reflog" "$(git reflog --all | head -3)"
[ ! -e .git/packed-refs ] || ! grep -v '^#' .git/packed-refs | grep -qv ' refs/heads/${InstanceBranch}$' || report "packed-refs" "$(head -3 .git/packed-refs)"
if [ -s /tmp/swe-gym-later ]; then
  present=$(git cat-file --batch-check < /tmp/swe-gym-later | grep -v ' missing$' | head -5)
  [ -z "$present" ] || report "git cat-file -e" "$present"
fi
fsck=$(git fsck --no-reflogs --unreachable --dangling --no-progress 2>&1 | grep -E '^(unreachable|dangling)' | head -5)
[ -z "$fsck" ] || report "git fsck" "$fsck"
reachable=$(git rev-list --objects --all | wc -l)
stored=$(git count-objects -v | awk '/^count:/ {c+=$2} /^in-pack:/ {c+=$2} END {print c}')
[ "$reachable" = "$stored" ] || report "git count-objects" "$stored objects stored, $reachable reachable from the base commit"
rm -f /tmp/swe-gym-later
exit 0
`
}

/** One problem the history check found. */
export interface HistoryFinding {
  readonly check: string
  readonly detail: string
}

/** Reads the check script's output (`check<TAB>detail` lines; a detail may continue on following lines). */
export const parseCheckOutput = (output: string): ReadonlyArray<HistoryFinding> => {
  const findings: Array<{ check: string; detail: string }> = []
  for (const line of output.split("\n")) {
    const tab = line.indexOf("\t")
    if (tab > 0) findings.push({ check: line.slice(0, tab), detail: line.slice(tab + 1) })
    else if (line.trim() !== "" && findings.length > 0) {
      const last = findings[findings.length - 1]
      if (last !== undefined) last.detail = `${last.detail} ${line.trim()}`
    }
  }
  return findings
}

// ── preparing ────────────────────────────────────────────────────────────────────────────────────────────────────────

/** Options of prepareInstance. */
export interface PrepareOptions {
  readonly limits?: Partial<ContainerLimits>
  /** Time allowed for the purge (a large repository's clone takes a while in "full" mode); default 10 minutes. */
  readonly timeoutSeconds?: number
  /** How much history up to base the repository keeps (default "base-only"). */
  readonly history?: HistoryMode
  readonly labels?: Readonly<Record<string, string>>
}

/** A container ready for an instance: /testbed at base_commit with no later history. */
export interface PreparedInstance {
  readonly container: Container
  /** Where the repository is in the container (/testbed). */
  readonly repoDir: string
  readonly baseCommit: string
  /** The environment image; `image.reference` is `tag@sha256:…`. */
  readonly image: EnvironmentImage
  readonly spec: EnvironmentSpec
  readonly specHash: string
  readonly history: HistoryMode
}

/** The HistoryLeak for a check script's output, if it found anything. */
const historyLeak = (output: { readonly exitCode: number; readonly stdout: string; readonly stderr: string }, instanceId: string, baseCommit: string) => {
  const findings = parseCheckOutput(output.stdout)
  const first = findings[0]
  if (output.exitCode === 0 && first === undefined) return Effect.void
  return Effect.fail(
    new HistoryLeak({
      instance_id: instanceId,
      base_commit: baseCommit,
      check: first?.check ?? "check script",
      detail: first === undefined ? `exit ${output.exitCode}: ${output.stderr}` : findings.map((f) => `${f.check}: ${f.detail}`).join("; "),
      hint: "The instance was not run. This is a bug in the purge or an environment image built differently: report it with the image reference.",
    }),
  )
}

/** Checks that the repository in `container` holds nothing later than `baseCommit`; fails with HistoryLeak if it does. */
export const checkHistory = Effect.fn("harness.checkHistory")(function* (container: Container, instanceId: string, baseCommit: string) {
  const result = yield* container.exec(["sh", "-c", checkScript(baseCommit)], { timeout: "10 minutes" })
  return yield* historyLeak(result, instanceId, baseCommit)
})

/**
 * The purge, then the check, as one script (one exec per prepared instance): the purge's output goes to stderr and its
 * exit code ends the script when it failed; the check's findings are the only stdout.
 */
export const prepareScript = (baseCommit: string, mode: HistoryMode = DefaultHistoryMode): string =>
  // The purge runs in a subshell that is not tested by if/||/&&, so its `set -e` holds.
  `(
${purgeScript(baseCommit, mode)}
) >&2
purged=$?
[ "$purged" = 0 ] || exit "$purged"
${checkScript(baseCommit)}`

/**
 * Starts a fresh container (no network, limits) of the instance's environment image, checks out base_commit, removes
 * every later commit, ref, tag, reflog entry and object, and checks that none is left. The container lives in the scope.
 */
export const prepareInstance = Effect.fn("harness.prepareInstance")(function* (
  instance: Pick<TaskInstance, "instance_id" | "base_commit">,
  image: EnvironmentImage,
  options: PrepareOptions = {},
) {
  if (!isCommitSha(instance.base_commit)) {
    return yield* new PrepareFailed({
      instance_id: instance.instance_id,
      step: "read base_commit",
      exitCode: -1,
      output: instance.base_commit,
      hint: "base_commit must be a hex commit sha.",
    })
  }
  const sandbox = yield* Sandbox
  const container = yield* sandbox.create({
    image: image.id,
    workdir: RepoDir,
    labels: { ...options.labels, [InstanceLabel]: instance.instance_id },
    env: { ...image.spec.env },
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  })
  const timeout = Duration.seconds(options.timeoutSeconds ?? 600)
  const purge = yield* container.exec(["sh", "-c", prepareScript(instance.base_commit, options.history ?? DefaultHistoryMode)], { timeout })
  if (purge.exitCode === 3) {
    return yield* new BaseCommitMissing({
      instance_id: instance.instance_id,
      base_commit: instance.base_commit,
      image: image.reference,
      hint: "The image was built from a mirror without this commit: update the mirror and rebuild the environment (delete the image tag).",
    })
  }
  if (purge.exitCode !== 0) {
    return yield* new PrepareFailed({
      instance_id: instance.instance_id,
      step: "check out base commit and remove later history",
      exitCode: purge.exitCode,
      output: `${purge.stdout}${purge.stderr}`,
      hint: "See the output; the environment image's /testbed must be a git work tree.",
    })
  }
  yield* historyLeak(purge, instance.instance_id, instance.base_commit)
  return {
    container,
    repoDir: RepoDir,
    baseCommit: instance.base_commit,
    image,
    spec: image.spec,
    specHash: image.specHash,
    history: options.history ?? DefaultHistoryMode,
  } satisfies PreparedInstance
})
