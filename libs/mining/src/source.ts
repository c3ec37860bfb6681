import type { CandidateSource, IssueRecord, PullRequest, PullRequestRecord } from "@swe-gym/domain"
import { Effect, type Option, Schema, Stream } from "effect"

// Where mining reads pull requests from. Three sources (GitHub's REST API, an export directory, a git mirror's history)
// implement one interface, so the mining stream does not know which one it reads.

/** A source could not list or read something; `hint` says what the user can do. */
export class SourceFailed extends Schema.TaggedError<SourceFailed>()("SourceFailed", {
  source: Schema.String,
  repo: Schema.String,
  operation: Schema.String,
  message: Schema.String,
  hint: Schema.String,
}) {}

/** A source cannot serve a repository (not in the export, no mirror of it, not a repository name). */
export class RepositoryNotFound extends Schema.TaggedError<RepositoryNotFound>()("RepositoryNotFound", {
  source: Schema.String,
  repo: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.source} has no repository ${this.repo}: ${this.hint}`
  }
}

/** Every error a source may fail with. */
export type SourceError = SourceFailed | RepositoryNotFound

/** What a source did so far, for the run summary. Offline sources count no API calls. */
export const SourceStats = Schema.Struct({
  /** HTTP requests sent (retries and 304s included). */
  apiCalls: Schema.Number,
  /** Conditional requests answered 304 Not Modified (no quota spent). */
  cacheHits: Schema.Number,
  retries: Schema.Number,
  rateLimitWaits: Schema.Number,
  /** Files read (export directory) or git commands run (git history). */
  localReads: Schema.Number,
})
export type SourceStats = typeof SourceStats.Type

/** Stats of a source that has done nothing. */
export const noSourceStats: SourceStats = { apiCalls: 0, cacheHits: 0, retries: 0, rateLimitWaits: 0, localReads: 0 }

/** Options of `PullRequestSource.pulls`. */
export interface PullsOptions {
  /** Only pull requests updated at or after this instant (ISO-8601); the source may stop listing at the first older one. */
  readonly since?: string | undefined
  /**
   * Called with each listed pull request before its details (commits, diff) are read; `true` skips it. The miner uses it
   * to skip pull requests it already stored at the same `updated_at`, so an unchanged one costs no detail requests.
   */
  readonly skip?: ((pull: PullRequest) => Effect.Effect<boolean>) | undefined
  /** Pull requests read in detail at once (default 1); the stream keeps the listing's order. */
  readonly concurrency?: number | undefined
}

/** A source of pull requests and issues: GitHub, an export directory, or a git mirror's history. */
export interface PullRequestSource {
  readonly kind: CandidateSource
  /** A name for messages: `github (https://api.github.com)`, `export:DIR`, `git:DIR`. */
  readonly label: string
  /** Every repository the source holds (for a run without --repo); GitHub fails: it needs names. */
  readonly repositories: Effect.Effect<ReadonlyArray<string>, SourceError>
  /** Fails with RepositoryNotFound when the source cannot serve `repo` (checked before a run starts). */
  readonly check: (repo: string) => Effect.Effect<void, SourceError>
  /** The closed pull requests of `repo`, most recently updated first, with their commits and diffs. */
  readonly pulls: (repo: string, options?: PullsOptions) => Stream.Stream<PullRequestRecord, SourceError>
  /** An issue with its comments; none when absent or a pull request. The git source has no issues. */
  readonly issue: (repo: string, number: number) => Effect.Effect<Option.Option<IssueRecord>, SourceError>
  readonly stats: Effect.Effect<SourceStats>
}

/** Whether `pull` was updated before `since` (an unparsable date is never before). */
export const updatedBefore = (pull: PullRequest, since: string | undefined): boolean => {
  if (since === undefined) return false
  const t = Date.parse(pull.updated_at)
  const s = Date.parse(since)
  return !Number.isNaN(t) && !Number.isNaN(s) && t < s
}

/**
 * Builds `pulls` from a light listing (newest-updated first) and a detail read: pull requests older than `since` and
 * skipped ones are never read in detail (a listing that can stop early at `since` does so itself).
 */
export const pullsFromListing = <L, E, E2, R, R2>(
  list: (repo: string) => Stream.Stream<L, E, R>,
  pullOf: (listed: L) => PullRequest,
  details: (repo: string, listed: L) => Effect.Effect<PullRequestRecord, E2, R2>,
) =>
(repo: string, options?: PullsOptions): Stream.Stream<PullRequestRecord, E | E2, R | R2> =>
  list(repo).pipe(
    Stream.filter((listed) => !updatedBefore(pullOf(listed), options?.since)),
    Stream.filterEffect((listed) =>
      options?.skip === undefined ? Effect.succeed(true) : Effect.map(options.skip(pullOf(listed)), (s) => !s)
    ),
    Stream.mapEffect((listed) => details(repo, listed), { concurrency: Math.max(1, options?.concurrency ?? 1) }),
  )

/** Applies `since` and `skip` to a stream of full records (for sources whose listing already reads everything). */
export const filterPulls = <E, R>(
  records: Stream.Stream<PullRequestRecord, E, R>,
  options?: PullsOptions,
): Stream.Stream<PullRequestRecord, E, R> =>
  records.pipe(
    Stream.filter((r) => !updatedBefore(r.pull, options?.since)),
    Stream.filterEffect((r) => (options?.skip === undefined ? Effect.succeed(true) : Effect.map(options.skip(r.pull), (s) => !s))),
  )

/** `owner/name` → `owner__name`, the folder name of a repository in an export directory or a directory of mirrors. */
export { repoFolderName } from "@swe-gym/git"

/** `owner__name` (optionally `.git`) → `owner/name`; none when the name has no `__`. */
export const repoFromFolderName = (folder: string): string | undefined => {
  const m = /^([^_/\s][^/\s]*?)__([^/\s]+?)(?:\.git)?$/.exec(folder)
  return m?.[1] === undefined || m[2] === undefined ? undefined : `${m[1]}/${m[2]}`
}

/** Whether a string is an `owner/name` repository name. */
export const isRepoName = (repo: string): boolean => /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo)
