// Bare mirrors of repositories on this machine: a directory of `owner__name.git` mirrors, or an export directory holding
// `owner__name/mirror.bundle`, made into a mirror once (mirrorFromBundle). Every stage finds mirrors here.
import { type CommandExecutor, FileSystem, Path } from "@effect/platform"
import { Effect, Option, Schema, Stream } from "effect"
import { createHash } from "node:crypto"
import { runGit } from "./git.js"

/** The folder (and mirror) name of a repository: `owner__name`. */
export const repoFolderName = (repo: string): string => repo.replace("/", "__")

// The one way a `mirror.bundle` (`git bundle create --all`, as export directories hold it) becomes a bare mirror: cloned once
// into a cache directory under a name holding the bundle's content hash, through a temporary directory renamed into place.
// A regenerated bundle gets a fresh mirror; concurrent callers (in one process or several) all end with the same directory.

/** The bare mirror of a repository could not be made from its bundle. */
export class MirrorFailed extends Schema.TaggedError<MirrorFailed>()("MirrorFailed", {
  bundle: Schema.String,
  target: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `cannot make a mirror of ${this.bundle} at ${this.target}: ${this.reason} (${this.hint})`
  }
}

const exists = (file: string) => Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(file).pipe(Effect.orElseSucceed(() => false)))

/** The first 16 hex digits of the SHA-256 of a file, read as a stream. */
const fileHash = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const hash = createHash("sha256")
    yield* Stream.runForEach(fs.stream(file), (chunk) => Effect.sync(() => hash.update(chunk)))
    return hash.digest("hex").slice(0, 16)
  })

/**
 * The path of a bare mirror of `repo` made from the bundle file `bundle`: `<cacheDir>/<owner__name>-<hash>.git`. Made on
 * first use only (idempotent); safe to call concurrently: each caller clones into its own temporary directory, and the first
 * rename wins while the others drop theirs.
 */
export const mirrorFromBundle = Effect.fn("git.mirrorFromBundle")(function*(bundle: string, repo: string, cacheDir: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const absolute = path.resolve(bundle)
  const failed = (target: string, hint: string) => (e: { readonly message: string }) =>
    new MirrorFailed({ bundle: absolute, target, reason: e.message, hint })
  const hash = yield* fileHash(absolute).pipe(
    Effect.mapError(failed(cacheDir, "the bundle cannot be read: check that the export directory holds this repository's mirror.bundle")),
  )
  const target = path.resolve(cacheDir, `${repoFolderName(repo)}-${hash}.git`)
  if (yield* exists(path.join(target, "HEAD"))) return target
  const unwritable = failed(target, "check that the cache directory is writable")
  yield* fs.makeDirectory(cacheDir, { recursive: true }).pipe(Effect.mapError(unwritable))
  const temp = yield* fs.makeTempDirectory({ directory: path.resolve(cacheDir), prefix: `${repoFolderName(repo)}-${hash}.tmp-` }).pipe(
    Effect.mapError(unwritable),
  )
  const clone = path.join(temp, "mirror.git")
  yield* Effect.gen(function*() {
    yield* runGit(temp, ["clone", "--quiet", "--mirror", absolute, clone]).pipe(
      Effect.mapError(failed(target, "check that git is installed and the file is a git bundle (git bundle verify)")),
    )
    yield* fs.rename(clone, target).pipe(
      Effect.catchAll((e) => Effect.flatMap(exists(path.join(target, "HEAD")), (done) => (done ? Effect.void : Effect.fail(unwritable(e))))),
    )
  }).pipe(Effect.ensuring(fs.remove(temp, { recursive: true }).pipe(Effect.ignore)))
  return target
})

/**
 * The bare mirror of `repo` in `dir`: `<dir>/<owner__name>.git` when it is one, else the mirror of
 * `<dir>/<owner__name>/mirror.bundle` (an export directory) made by {@link mirrorFromBundle} in `cacheDir`; none when
 * `dir` holds neither.
 */
export const repositoryMirror = Effect.fn("git.repositoryMirror")(function*(dir: string, repo: string, cacheDir: string) {
  const path = yield* Path.Path
  const bare = path.resolve(dir, `${repoFolderName(repo)}.git`)
  if (yield* exists(path.join(bare, "HEAD"))) return Option.some(bare)
  const bundle = path.resolve(dir, repoFolderName(repo), "mirror.bundle")
  if (!(yield* exists(bundle))) return Option.none<string>()
  return Option.some(yield* mirrorFromBundle(bundle, repo, cacheDir))
})

/** No mirror of a repository was found. */
export class MirrorNotFound extends Schema.TaggedError<MirrorNotFound>()("MirrorNotFound", {
  repo: Schema.String,
  dir: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `no mirror of ${this.repo} in ${this.dir}: ${this.reason}. ${this.hint}`
  }
}

/** What finding mirrors needs. */
export type MirrorContext = FileSystem.FileSystem | Path.Path | CommandExecutor.CommandExecutor

/** Finds the bare mirror of a repository. */
export type MirrorLookup = (repo: string) => Effect.Effect<string, MirrorNotFound, MirrorContext>

/**
 * A lookup of bare mirrors in `dir` (making mirrors of export bundles in `cacheDir` on first use, once per repository and
 * process: concurrent callers share one clone).
 */
export const mirrorLookup = (dir: string, cacheDir: string): MirrorLookup => {
  const made = new Map<string, Effect.Effect<string, MirrorNotFound, MirrorContext>>()
  const find = (repo: string) => {
    const folder = repoFolderName(repo)
    const notFound = (reason: string) =>
      new MirrorNotFound({
        repo,
        dir,
        reason,
        hint: `Put a bare mirror at ${dir}/${folder}.git (git clone --mirror URL), or point at an export directory holding ${folder}/mirror.bundle.`,
      })
    return repositoryMirror(dir, repo, cacheDir).pipe(
      Effect.mapError((e) => notFound(`${e.reason} (${e.hint})`)),
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(notFound(`neither ${folder}.git nor ${folder}/mirror.bundle exists`)),
        onSome: Effect.succeed,
      })),
    )
  }
  return (repo) => {
    const known = made.get(repo)
    if (known !== undefined) return known
    const once = Effect.runSync(Effect.cached(find(repo)))
    made.set(repo, once)
    return once
  }
}

/** A lookup from a fixed table of repository → mirror path (tests, benchmarks, one-off runs). */
export const mirrorTable = (mirrors: Readonly<Record<string, string>>): MirrorLookup => (repo) => {
  const found = mirrors[repo]
  return found === undefined
    ? Effect.fail(new MirrorNotFound({ repo, dir: "(table)", reason: "not in the table of mirrors", hint: `Known: ${Object.keys(mirrors).join(", ") || "none"}.` }))
    : Effect.succeed(found)
}
