import { type CommandExecutor, FileSystem, Path } from "@effect/platform"
import { GitFailed, mirrorFromBundle, runGit, streamGitRecords } from "@swe-gym/git"
import type { PullRequest, PullRequestCommit, PullRequestRecord } from "@swe-gym/domain"
import { Chunk, Effect, Option, Ref, Schema, Stream } from "effect"
import {
  type PullRequestSource,
  pullsFromListing,
  RepositoryNotFound,
  repoFolderName,
  repoFromFolderName,
  SourceFailed,
  type SourceStats,
} from "./source.js"

// The offline source of last resort: pull requests recovered from a git mirror's history alone, no API.
//
// Every branch is read: `refs/heads/*` and a clone's remote branches (`refs/remotes/*`), the whole history behind them, not
// only the default branch's first-parent chain, so pull requests merged into release lines (`2.0.x`, `stable/…`) are found
// whether or not the release line was merged forward since. (Other refs are not: a GitHub mirror's `refs/pull/*` are
// unmerged PR heads.)
// - a merge commit `Merge pull request #N from owner/branch` is PR N: base = its first parent, head = its second parent,
//   diff = `git diff base...head` (merge-base..head), commits = `git log base..head`; base_commit is that merge-base,
//   the commit the diff applies to (it equals the first parent unless the target branch moved on meanwhile);
// - a single-parent commit whose subject ends in `(#N)` is a squash merge of PR N: base = its parent, diff = parent..commit;
//   but only on a branch's own line (see `historyPulls`), never among a PR's own commits, where `(#N)` names an issue.
// Identity: a PR is its number (GitHub numbers a repository's PRs uniquely), so every commit that names #N is that one PR:
// the same merge reached from several branches, a backport or forward-port cherry-picked with its `(#N)` subject, a merge
// made again. The earliest of them by committer date stands for the PR (the original merge; copies come later).
// Title: the merge's message body's first line (GitHub writes the PR title there), or the squash subject without `(#N)`.
// Body: the rest of the message; for a merge with nothing more, the messages of the PR's commits. Dates come from commits:
// created_at = the earliest author date of the PR's commits, updated_at = merged_at = the merge commit's committer date.
// base.ref is the branch the PR was merged into, as far as history tells (see `historyPulls`).
// Closed-unmerged PRs and PR discussion leave no trace in git, so these candidates are weaker (`weak_problem_statement`).

/** One commit as `git log -z --format=…` describes it. */
export interface GitCommit {
  readonly sha: string
  readonly parents: ReadonlyArray<string>
  readonly authorName: string
  readonly authorDate: string
  readonly committerName: string
  readonly committerDate: string
  readonly message: string
}

/** The `--format` that `parseGitCommit` reads (fields separated by 0x1f, commits by NUL with `-z`). */
export const gitCommitFormat = "--format=%H%x1f%P%x1f%an%x1f%aI%x1f%cn%x1f%cI%x1f%B"

/** GitHub's timestamp form (`2024-03-01T09:00:00Z`) of a git ISO-8601 date; the input when it does not parse. */
export const githubTime = (iso: string): string => {
  const t = Date.parse(iso)
  return Number.isNaN(t) ? iso : new Date(t).toISOString().replace(/\.000Z$/, "Z")
}

/** Parses one record of `git log -z` with `gitCommitFormat`; none for anything else. */
export const parseGitCommit = (record: string): Option.Option<GitCommit> => {
  const fields = record.replace(/^\n/, "").split("\x1f")
  if (fields.length < 7) return Option.none()
  const [sha, parents, authorName, authorDate, committerName, committerDate, ...rest] = fields
  if (sha === undefined || !/^[0-9a-f]{40,64}$/.test(sha)) return Option.none()
  return Option.some({
    sha,
    parents: (parents ?? "").split(" ").filter((p) => p !== ""),
    authorName: authorName ?? "",
    authorDate: githubTime(authorDate ?? ""),
    committerName: committerName ?? "",
    committerDate: githubTime(committerDate ?? ""),
    message: rest.join("\x1f").replace(/\n+$/, ""),
  })
}

/** A pull request found in history: which commit merged it, how, and what the message says. */
export interface HistoryPull {
  readonly number: number
  readonly kind: "merge" | "squash"
  /** The merge or squash commit. */
  readonly commit: GitCommit
  /** The first parent (the target branch before the merge). */
  readonly base: string
  /** The PR's last commit: the merge's second parent, or the squash commit itself. */
  readonly head: string
  /** `owner/branch` of a merge's subject, or "" for a squash. */
  readonly branch: string
  readonly title: string
  /** The message after the title; "" when none. */
  readonly body: string
}

const mergeSubject = /^Merge pull request #(\d+) from (\S+)/
const squashSubject = /^(.*?)\s*\(#(\d+)\)$/

/** Recognises a GitHub merge commit or squash commit of a pull request; none for any other commit. */
export const historyPullOf = (commit: GitCommit): Option.Option<HistoryPull> => {
  const [subject = "", ...restLines] = commit.message.split("\n")
  const rest = restLines.join("\n").replace(/^\s*\n/, "").trim()
  const merge = mergeSubject.exec(subject)
  if (merge?.[1] !== undefined && commit.parents.length === 2) {
    const [titleLine = "", ...bodyLines] = rest.split("\n")
    return Option.some({
      number: Number(merge[1]),
      kind: "merge",
      commit,
      base: commit.parents[0] ?? "",
      head: commit.parents[1] ?? "",
      branch: merge[2] ?? "",
      title: titleLine.trim() === "" ? subject : titleLine.trim(),
      body: bodyLines.join("\n").trim(),
    })
  }
  const squash = squashSubject.exec(subject.trimEnd())
  if (squash?.[2] !== undefined && commit.parents.length === 1 && !mergeSubject.test(subject)) {
    return Option.some({
      number: Number(squash[2]),
      kind: "squash",
      commit,
      base: commit.parents[0] ?? "",
      head: commit.sha,
      branch: "",
      title: (squash[1] ?? "").trim(),
      body: rest,
    })
  }
  return Option.none()
}

/** The pull request object of a pull found in history (before its commits are read); `target` is the branch merged into. */
export const historyPullRequest = (repo: string, pull: HistoryPull, target: string): PullRequest => ({
  number: pull.number,
  title: pull.title,
  body: pull.body === "" ? null : pull.body,
  state: "closed",
  created_at: pull.commit.authorDate,
  updated_at: pull.commit.committerDate,
  closed_at: pull.commit.committerDate,
  merged_at: pull.commit.committerDate,
  merge_commit_sha: pull.commit.sha,
  base: { ref: target, sha: pull.base, repo: { full_name: repo } },
  head: { ref: pull.branch.replace(/^[^/]+\//, ""), sha: pull.head, repo: null },
})

/** A branch to read history from: its short name (`main`, `2.0.x`; a remote branch without its remote) and its tip. */
export interface BranchTip {
  readonly name: string
  readonly sha: string
}

/** A pull request found in history and the branch it was merged into. */
export interface BranchPull {
  readonly pull: HistoryPull
  readonly target: string
}

// Which branch a commit belongs to: the line (a first-parent chain) that reaches it first, as `git name-rev` does, walking
// the default branch first, then branches merged by plain merges (`Merge branch '2.0.x'`, named by that subject), then the
// PRs' own branches (second parents of `Merge pull request` merges), then the other branch refs (release lines never
// merged forward, unmerged work). A squash-shaped commit on a PR's own branch is one of that PR's commits (contributors
// write `Fix x (#123)` naming the issue), not a squash merge, unless GitHub committed it (a squash merge into a release
// line that a PR then merged forward).
const mergedBranchSubject = /^Merge (remote-tracking |remote )?branch '([^']+)'/

const lineOfMerge = (subject: string, merging: string): { readonly name: string; readonly pull: boolean } => {
  const pull = mergeSubject.exec(subject)
  if (pull?.[2] !== undefined) return { name: pull[2].replace(/^[^/]+\//, ""), pull: true }
  const branch = mergedBranchSubject.exec(subject)
  if (branch?.[2] !== undefined) return { name: branch[1] === undefined ? branch[2] : branch[2].replace(/^[^/]+\//, ""), pull: false }
  return { name: merging, pull: false }
}

/**
 * The pull requests of a history, each once (identity: its number; the earliest commit by committer date stands for it),
 * most recently merged first. `commits` is every commit reachable from `tips` in `git log --date-order` order; `tips`
 * starts with the default branch.
 */
export const historyPulls = (commits: ReadonlyArray<GitCommit>, tips: ReadonlyArray<BranchTip>): ReadonlyArray<BranchPull> => {
  const byId = new Map(commits.map((c, i) => [c.sha, { commit: c, index: i }]))
  const lines = new Map<string, { readonly name: string; readonly pull: boolean; readonly order: number }>()
  const plain: Array<BranchTip> = tips.slice(0, 1)
  const pulls: Array<BranchTip> = []
  const refs = tips.slice(1)
  const cursor = { plain: 0, pulls: 0, refs: 0 }
  for (;;) {
    const next = cursor.plain < plain.length
      ? { tip: plain[cursor.plain++], pull: false }
      : cursor.pulls < pulls.length
      ? { tip: pulls[cursor.pulls++], pull: true }
      : cursor.refs < refs.length
      ? { tip: refs[cursor.refs++], pull: false }
      : undefined
    if (next?.tip === undefined) break
    let sha: string | undefined = next.tip.sha
    while (sha !== undefined && !lines.has(sha)) {
      const found = byId.get(sha)
      if (found === undefined) break
      lines.set(sha, { name: next.tip.name, pull: next.pull, order: lines.size })
      const subject = found.commit.message.split("\n", 1)[0] ?? ""
      for (const parent of found.commit.parents.slice(1)) {
        const merged = lineOfMerge(subject, next.tip.name)
        ;(merged.pull ? pulls : plain).push({ name: merged.name, sha: parent })
      }
      sha = found.commit.parents[0]
    }
  }
  const chosen = new Map<number, { readonly listed: BranchPull; readonly time: number; readonly order: number }>()
  for (const commit of commits) {
    const line = lines.get(commit.sha)
    if (line === undefined) continue
    const pull = Option.getOrUndefined(historyPullOf(commit))
    if (pull === undefined) continue
    if (pull.kind === "squash" && line.pull && commit.committerName !== "GitHub") continue
    const time = Date.parse(commit.committerDate)
    const seen = chosen.get(pull.number)
    const earlier = seen === undefined || time < seen.time || (time === seen.time && line.order < seen.order)
    if (earlier) chosen.set(pull.number, { listed: { pull, target: line.name }, time, order: line.order })
  }
  const index = (p: BranchPull) => byId.get(p.pull.commit.sha)?.index ?? 0
  return [...chosen.values()]
    .map((c) => c.listed)
    .sort((a, b) => (Date.parse(b.pull.commit.committerDate) - Date.parse(a.pull.commit.committerDate)) || index(a) - index(b))
}

/** The branch tips of a repository from `git for-each-ref --format=%(objectname)%09%(symref)%09%(refname)`, default first. */
export const branchTips = (refList: string, defaultBranch: string): ReadonlyArray<BranchTip> => {
  const tips = refList.split("\n").flatMap((line): Array<BranchTip & { readonly local: boolean }> => {
    const [sha = "", symref = "", ref = ""] = line.split("\t")
    if (symref !== "" || !/^[0-9a-f]{40,64}$/.test(sha)) return []
    const local = /^refs\/heads\/(.+)$/.exec(ref)
    const remote = /^refs\/remotes\/[^/]+\/(.+)$/.exec(ref)
    const name = local?.[1] ?? remote?.[1]
    return name === undefined ? [] : [{ name, sha, local: local !== null }]
  })
  const rank = (t: BranchTip & { readonly local: boolean }) =>
    (t.name === defaultBranch ? 0 : t.name === "main" ? 2 : t.name === "master" ? 4 : 6) + (t.local ? 0 : 1)
  return tips.map((t, i) => ({ t, i })).sort((a, b) => rank(a.t) - rank(b.t) || a.i - b.i).map(({ t }) => ({ name: t.name, sha: t.sha }))
}

// Commits that name no PR keep only their subject (merge subjects name branches): a long history stays small in memory.
const slim = (commit: GitCommit): GitCommit =>
  Option.isSome(historyPullOf(commit)) ? commit : { ...commit, message: commit.message.split("\n", 1)[0] ?? "" }

const toPullRequestCommit = (c: GitCommit): PullRequestCommit => ({
  sha: c.sha,
  commit: {
    message: c.message,
    author: { name: c.authorName, date: c.authorDate },
    committer: { name: c.committerName, date: c.committerDate },
  },
})

// Diff options: GitHub's .diff shape (renames detected, no binary content), whatever the local configuration says.
const diffArgs = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames", "--src-prefix=a/", "--dst-prefix=b/"]

/** One mirror's pull requests, recovered from history. */
export interface GitMirror {
  readonly repo: string
  readonly dir: string
}

/** Reads pull requests from a git mirror's history; `count` is told of every git command run. */
const mirrorReader = (mirror: GitMirror, count: Effect.Effect<void>) => {
  const git = (args: ReadonlyArray<string>) => Effect.zipRight(count, runGit(mirror.dir, args))
  const defaultBranch = git(["symbolic-ref", "--quiet", "--short", "HEAD"]).pipe(
    Effect.map((s) => s.trim()),
    Effect.orElseSucceed(() => "main"),
    Effect.cached,
  )

  /** History pulls of every branch, each once, most recently merged first. */
  const list: Stream.Stream<{ readonly pull: HistoryPull; readonly request: PullRequest }, GitFailed, CommandExecutor.CommandExecutor> =
    Stream.unwrap(
      Effect.gen(function*() {
        const refArgs = ["for-each-ref", "--format=%(objectname)%09%(symref)%09%(refname)", "refs/heads", "refs/remotes"]
        const tips = branchTips(yield* git(refArgs), yield* yield* defaultBranch)
        if (tips.length === 0) {
          return yield* new GitFailed({
            dir: mirror.dir,
            args: refArgs,
            exitCode: 0,
            stderr: "no branches",
            hint: "the repository has no branch to read history from: clone it again with --mirror",
          })
        }
        yield* count
        const commits = yield* streamGitRecords(mirror.dir, ["log", "--date-order", "-z", gitCommitFormat, "--branches", "--remotes", "--"]).pipe(
          Stream.filterMap(parseGitCommit),
          Stream.map(slim),
          Stream.runCollect,
        )
        return Stream.fromIterable(historyPulls(Chunk.toReadonlyArray(commits), tips)).pipe(
          Stream.map(({ pull, target }) => ({ pull, request: historyPullRequest(mirror.repo, pull, target) })),
        )
      }),
    )

  const details = (pull: HistoryPull, request: PullRequest) =>
    Effect.gen(function*() {
      const base = pull.kind === "merge" ? (yield* git(["merge-base", pull.base, pull.head])).trim() : pull.base
      const commits: ReadonlyArray<GitCommit> = pull.kind === "merge"
        ? (yield* git(["log", "--reverse", "-z", gitCommitFormat, `${pull.base}..${pull.head}`, "--"]))
          .split("\0")
          .flatMap((r) => Option.toArray(parseGitCommit(r)))
        : [pull.commit]
      const diff = yield* git([...diffArgs, pull.kind === "merge" ? `${pull.base}...${pull.head}` : `${pull.base}..${pull.head}`, "--"])
      const authored = commits.map((c) => c.authorDate).filter((d) => !Number.isNaN(Date.parse(d)))
      const createdAt = authored.length === 0 ? request.created_at : authored.reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a))
      const body = request.body ?? (pull.kind === "merge" && commits.length > 0 ? commits.map((c) => c.message).join("\n\n") : null)
      const record: PullRequestRecord = {
        repo: mirror.repo,
        pull: { ...request, body, created_at: createdAt, base: { ...request.base, sha: base } },
        commits: commits.map(toPullRequestCommit),
        diff,
      }
      return record
    })

  return { list, details }
}

/** Options of the git-history source. */
export interface GitHistorySourceOptions {
  /** The mirrors to read, one per repository. */
  readonly mirrors: ReadonlyArray<GitMirror>
  /** Shown in messages (default `git`). */
  readonly label?: string
}

/** A PullRequestSource over git mirrors' history only (no issues: candidates fall back to the PR's own text). */
export const gitHistorySource = (
  options: GitHistorySourceOptions,
): Effect.Effect<PullRequestSource, never, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const executor = yield* Effect.context<CommandExecutor.CommandExecutor>()
    const commands = yield* Ref.make(0)
    const count = Ref.update(commands, (n) => n + 1)
    const label = options.label ?? "git"
    const byRepo = new Map(options.mirrors.map((m) => [m.repo.toLowerCase(), m]))
    const known = options.mirrors.map((m) => m.repo).join(", ")
    const find = (repo: string) =>
      Option.match(Option.fromNullable(byRepo.get(repo.toLowerCase())), {
        onNone: () =>
          Effect.fail(
            new RepositoryNotFound({
              source: label,
              repo,
              hint: known === ""
                ? "the directory holds no mirror: pass a mirror (git clone --mirror URL) or a directory of owner__name.git mirrors"
                : `its mirrors are: ${known}; add a mirror named ${repoFolderName(repo)}.git or pass one of those to --repo`,
            }),
          ),
        onSome: Effect.succeed,
      })
    const failed = (repo: string, operation: string) => (e: GitFailed) =>
      new SourceFailed({ source: label, repo, operation, message: e.message, hint: e.hint })

    const pulls: PullRequestSource["pulls"] = (repo, opts) =>
      Stream.unwrap(
        Effect.map(find(repo), (mirror) => {
          const reader = mirrorReader(mirror, count)
          return pullsFromListing(
            () => reader.list.pipe(Stream.mapError(failed(repo, "list merged pull requests"))),
            (listed) => listed.request,
            (_repo, listed) =>
              reader.details(listed.pull, listed.request).pipe(Effect.mapError(failed(repo, `read pull request #${listed.pull.number}`))),
          )(repo, opts)
        }),
      ).pipe(Stream.provideContext(executor))

    const stats = Effect.map(Ref.get(commands), (n): SourceStats => ({ apiCalls: 0, cacheHits: 0, retries: 0, rateLimitWaits: 0, localReads: n }))

    const source: PullRequestSource = {
      kind: "git",
      label,
      repositories: Effect.succeed(options.mirrors.map((m) => m.repo)),
      check: (repo) => Effect.asVoid(find(repo)),
      pulls,
      issue: () => Effect.succeed(Option.none()),
      stats,
    }
    return source
  })

/** The `owner/name` a remote URL names (github.com or any host, https or ssh); none otherwise. */
export const repoFromRemoteUrl = (url: string): Option.Option<string> => {
  const m = /[/:]([^/:\s]+)\/([^/\s]+?)(?:\.git)?\/?$/.exec(url.trim())
  return m?.[1] === undefined || m[2] === undefined ? Option.none() : Option.some(`${m[1]}/${m[2]}`)
}

/** A directory given as git:DIR could not be used. */
export class MirrorDirectoryInvalid extends Schema.TaggedError<MirrorDirectoryInvalid>()("MirrorDirectoryInvalid", {
  dir: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `--source git:${this.dir}: ${this.reason} (${this.hint})`
  }
}

/** Whether `dir` is itself a git repository (bare, or a work tree's top), not merely inside one. */
const isRepositoryRoot = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const gitDir = yield* runGit(dir, ["rev-parse", "--absolute-git-dir"]).pipe(Effect.option)
    if (Option.isNone(gitDir)) return false
    const real = (p: string) => fs.realPath(p).pipe(Effect.orElseSucceed(() => p))
    const found = yield* real(gitDir.value.trim())
    return found === (yield* real(dir)) || found === (yield* real(path.join(dir, ".git")))
  })

/** Options of `resolveMirrors`. */
export interface ResolveMirrorsOptions {
  /** Repositories named on the command line: names a single mirror, or selects from a directory of them. */
  readonly repos: ReadonlyArray<string>
  /** Where mirrors cloned from `mirror.bundle` files are kept (one per bundle content, see `mirrorFromBundle`). */
  readonly cacheDir: string
}

/**
 * The mirrors of git:DIR: DIR itself when it is a repository (named by --repo, its origin URL, or an `owner__name`
 * folder name), else every `owner__name[.git]` repository in DIR, and every `owner__name/mirror.bundle` (an export
 * directory), cloned once into `cacheDir`.
 */
export const resolveMirrors = Effect.fn("mining.resolveMirrors")(function*(dir: string, options: ResolveMirrorsOptions) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const invalid = (reason: string, hint: string) => new MirrorDirectoryInvalid({ dir, reason, hint })
  const stat = yield* fs.stat(dir).pipe(Effect.option)
  if (Option.isNone(stat) || stat.value.type !== "Directory") {
    return yield* invalid("no such directory", "pass a git mirror (git clone --mirror URL DIR) or a directory of owner__name.git mirrors")
  }
  if (yield* isRepositoryRoot(dir)) {
    const [only, ...more] = options.repos
    if (more.length > 0) return yield* invalid(`is one repository but ${options.repos.length} --repo were given`, "give at most one --repo for a single mirror")
    const origin = yield* runGit(dir, ["config", "--get", "remote.origin.url"]).pipe(Effect.map(repoFromRemoteUrl), Effect.orElseSucceed(() => Option.none<string>()))
    const repo = only ?? Option.getOrUndefined(origin) ?? repoFromFolderName(path.basename(path.resolve(dir)))
    if (repo === undefined) return yield* invalid("cannot tell which repository it is", "pass --repo owner/name")
    return [{ repo, dir: path.resolve(dir) }] satisfies ReadonlyArray<GitMirror>
  }
  const mirrors: Array<GitMirror> = []
  for (const entry of (yield* fs.readDirectory(dir).pipe(Effect.mapError((e) => invalid(e.message, "check the directory can be read")))).sort()) {
    const repo = repoFromFolderName(entry)
    if (repo === undefined) continue
    const full = path.resolve(dir, entry)
    if (yield* isRepositoryRoot(full)) {
      mirrors.push({ repo, dir: full })
      continue
    }
    const bundle = path.join(full, "mirror.bundle")
    if (yield* fs.exists(bundle).pipe(Effect.orElseSucceed(() => false))) {
      mirrors.push({ repo, dir: yield* mirrorFromBundle(bundle, repo, options.cacheDir) })
    }
  }
  if (mirrors.length === 0) {
    return yield* invalid("holds no git mirror", "name mirrors owner__name.git (git clone --mirror URL DIR/owner__name.git), or point at one mirror")
  }
  const missing = options.repos.filter((r) => !mirrors.some((m) => m.repo.toLowerCase() === r.toLowerCase()))
  if (missing.length > 0) {
    return yield* invalid(
      `has no mirror of ${missing.join(", ")}`,
      `its mirrors are ${mirrors.map((m) => m.repo).join(", ")}; add ${missing.map((r) => `${repoFolderName(r)}.git`).join(", ")} or drop those --repo`,
    )
  }
  return options.repos.length === 0 ? mirrors : mirrors.filter((m) => options.repos.some((r) => r.toLowerCase() === m.repo.toLowerCase()))
})
