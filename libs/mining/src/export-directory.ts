/**
 * The export directory: repositories, pull requests and issues as GitHub's REST API returns them, plus each repository's git
 * history, on disk. Mining reads it as a source; the GitHub emulator serves the same directory over the REST API.
 *
 * ```
 * <root>/<owner>__<name>/
 *   repository.json            GET /repos/{owner}/{repo}                    ({full_name, default_branch, ...})
 *   mirror.bundle              `git bundle create --all` of the repository (refs/heads/*, refs/pull/<N>/head)
 *   pulls/<N>.json             GET /repos/{owner}/{repo}/pulls/{N}
 *   pulls/<N>.commits.json     GET /repos/{owner}/{repo}/pulls/{N}/commits  (oldest first)
 *   pulls/<N>.diff             the PR's diff (Accept: application/vnd.github.diff): `git diff base...head`, `diff --git` form
 *   issues/<N>.json            GET /repos/{owner}/{repo}/issues/{N}         (pull requests too, with `pull_request`)
 *   issues/<N>.comments.json   GET /repos/{owner}/{repo}/issues/{N}/comments (oldest first)
 * ```
 *
 * Every JSON file is decoded with the domain schemas; a bad file fails with {@link ExportFileInvalid} naming the file and the
 * field. `mirror.bundle` is one checked-in file instead of a bare repository's many object files: {@link mirror} clones it
 * once into a bare mirror in a cache directory (with `mirrorFromBundle`).
 */
import { FileSystem, Path } from "@effect/platform"
import { Issue, IssueComment, type IssueRecord, PullRequest, PullRequestCommit, type PullRequestRecord } from "@swe-gym/domain"
import { Effect, Option, ParseResult, Schema, Stream } from "effect"
import { type MirrorFailed, mirrorFromBundle } from "@swe-gym/git"

/** A file of the export directory that could not be read. */
export class ExportFileUnreadable extends Schema.TaggedError<ExportFileUnreadable>()("ExportFileUnreadable", {
  file: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {}

/** A file of the export directory whose content is not what GitHub returns for it. */
export class ExportFileInvalid extends Schema.TaggedError<ExportFileInvalid>()("ExportFileInvalid", {
  file: Schema.String,
  /** Dotted path of the offending field (`base.sha`, `0.commit.message`); empty when the file is not JSON at all. */
  field: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {}

/** Every error of this module. */
export type ExportDirectoryError = ExportFileUnreadable | ExportFileInvalid | MirrorFailed

/** What a reader needs of repository.json. */
export const ExportRepository = Schema.Struct({ full_name: Schema.String, default_branch: Schema.String })
export type ExportRepository = typeof ExportRepository.Type

/** Options of {@link pullRequests}. */
export interface PullRequestsOptions {
  /** Only pull requests updated at or after this ISO 8601 time. */
  readonly since?: string
}

/** The folder of `repo` ("owner/name") under `root`. */
export const repositoryFolder = (root: string, repo: string): string => `${root}/${repo.replace("/", "__")}`

const readText = Effect.fn("mining.export.readText")(function*(file: string) {
  const fs = yield* FileSystem.FileSystem
  return yield* fs.readFileString(file).pipe(
    Effect.mapError((e) => new ExportFileUnreadable({ file, reason: e.message, hint: "check that the export directory is complete (see its README.md)" })),
  )
})

/** Reads `file` and decodes its JSON with `schema`; errors name the file and the field. */
const readJson = <A, I>(file: string, schema: Schema.Schema<A, I>) =>
  Effect.flatMap(readText(file), (text) =>
    Schema.decodeUnknown(Schema.parseJson(schema), { errors: "all" })(text).pipe(
      Effect.mapError((error) => {
        const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
        return new ExportFileInvalid({
          file,
          field: (first?.path ?? []).map(String).join("."),
          reason: first?.message ?? error.message,
          hint: "the file must hold what GitHub's REST API returns for it (see the export directory's README.md); regenerate or re-export it",
        })
      }),
    ))

const exists = (file: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(file).pipe(Effect.orElseSucceed(() => false)))

/** The repositories of an export directory, by full name. */
export const listRepositories = Effect.fn("mining.export.listRepositories")(function*(root: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const entries = yield* fs.readDirectory(root).pipe(
    Effect.mapError((e) => new ExportFileUnreadable({ file: root, reason: e.message, hint: "pass the root of an export directory" })),
  )
  const repos: Array<ExportRepository> = []
  for (const entry of [...entries].sort()) {
    const file = path.join(root, entry, "repository.json")
    if (!entry.includes("__") || !(yield* exists(file))) continue
    const repo = yield* readJson(file, ExportRepository)
    if (repo.full_name.replace("/", "__") !== entry) {
      return yield* new ExportFileInvalid({ file, field: "full_name", reason: `"${repo.full_name}" does not match the folder name ${entry}`, hint: "name the folder <owner>__<name>" })
    }
    repos.push(repo)
  }
  return repos.sort((a, b) => (a.full_name < b.full_name ? -1 : a.full_name > b.full_name ? 1 : 0))
})

/** Reads one pull request's commits and diff into a record. */
const pullRecord = (folder: string, repo: string, pull: PullRequest) =>
  Effect.all({
    commits: readJson(`${folder}/pulls/${pull.number}.commits.json`, Schema.Array(PullRequestCommit)),
    diff: readText(`${folder}/pulls/${pull.number}.diff`),
  }).pipe(Effect.map(({ commits, diff }): PullRequestRecord => ({ repo, pull, commits, diff })))

/** The pull requests of `repo`, newest `updated_at` first (as the API lists them), only those updated at or after `since`. */
export const pullRequests = (root: string, repo: string, options: PullRequestsOptions = {}) =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const folder = repositoryFolder(root, repo)
    const dir = `${folder}/pulls`
    const names = yield* fs.readDirectory(dir).pipe(
      Effect.mapError((e) => new ExportFileUnreadable({ file: dir, reason: e.message, hint: `is ${repo} in the export directory (listRepositories)?` })),
    )
    const files = names.filter((n) => /^\d+\.json$/.test(n)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
    const pulls = yield* Effect.forEach(files, (n) => readJson(`${dir}/${n}`, PullRequest), { concurrency: 8 })
    const since = options.since === undefined ? undefined : Date.parse(options.since)
    const selected = pulls
      .filter((p) => since === undefined || Date.parse(p.updated_at) >= since)
      .sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at) || b.number - a.number)
    return Stream.fromIterable(selected).pipe(Stream.mapEffect((p) => pullRecord(folder, repo, p), { concurrency: 4 }))
  }))

/** Issue `number` of `repo` with its comments; none when the export has no such issue. */
export const issue = Effect.fn("mining.export.issue")(function*(root: string, repo: string, number: number) {
  const folder = repositoryFolder(root, repo)
  const file = `${folder}/issues/${number}.json`
  if (!(yield* exists(file))) return Option.none<IssueRecord>()
  const data = yield* readJson(file, Issue)
  const commentsFile = `${folder}/issues/${number}.comments.json`
  const comments = (yield* exists(commentsFile)) ? yield* readJson(commentsFile, Schema.Array(IssueComment)) : []
  return Option.some<IssueRecord>({ repo, issue: data, comments })
})

/**
 * The path of a bare mirror of `repo` made from its `mirror.bundle`, under `cacheDir` (see `mirrorFromBundle`: made on first
 * use only, named by the bundle's hash, safe to call concurrently).
 */
export const mirror = Effect.fn("mining.export.mirror")(function*(root: string, repo: string, cacheDir: string) {
  const path = yield* Path.Path
  const bundle = path.resolve(repositoryFolder(root, repo), "mirror.bundle")
  if (!(yield* exists(bundle))) {
    return yield* new ExportFileUnreadable({ file: bundle, reason: "no such file", hint: "the export directory has no git history for this repository" })
  }
  return yield* mirrorFromBundle(bundle, repo, cacheDir)
})
