// Tar archives in and out of containers (Docker's archive API speaks tar only), with tar-stream.
import { createReadStream } from "node:fs"
import { lstat, readdir, readlink } from "node:fs/promises"
import { join, posix } from "node:path"
import { Readable } from "node:stream"
import { buffer } from "node:stream/consumers"
import { Either } from "effect"
import tar from "tar-stream"

/** One file of an archive to build; `name` is the path inside the archive (no leading slash). */
export interface ArchiveFile {
  readonly name: string
  readonly content: Uint8Array
  readonly mode: number
}

/** Build an uncompressed tar holding the files (parent directories are implied; Docker creates them on extract). */
export const packFiles = async (files: ReadonlyArray<ArchiveFile>): Promise<Buffer> => {
  const pack = tar.pack()
  const collected = buffer(pack)
  for (const f of files) {
    const content = Buffer.from(f.content.buffer, f.content.byteOffset, f.content.byteLength)
    await new Promise<void>((resolve, reject) =>
      pack.entry({ name: f.name, mode: f.mode, size: content.length, mtime: new Date(0), uid: 0, gid: 0 }, content, (err) =>
        err ? reject(err) : resolve()))
  }
  pack.finalize()
  return collected
}

/** What the first entry of an archive from Docker's getArchive turned out to be. */
export type ArchivedPath =
  | { readonly _tag: "File"; readonly content: Uint8Array }
  | { readonly _tag: "Symlink"; readonly target: string }
  | { readonly _tag: "Other"; readonly type: string }

/** Read the first entry of a tar stream (getArchive of one path puts that path first). */
export const readFirstEntry = async (source: NodeJS.ReadableStream): Promise<ArchivedPath> => {
  const extract = tar.extract()
  const input = Readable.from(source)
  input.on("error", (err) => extract.destroy(err))
  input.pipe(extract)
  try {
    for await (const entry of extract) {
      const type = entry.header.type ?? "file"
      if (type === "file" || type === "contiguous-file") {
        return { _tag: "File", content: new Uint8Array(await buffer(entry)) }
      }
      if (type === "symlink") return { _tag: "Symlink", target: entry.header.linkname ?? "" }
      return { _tag: "Other", type }
    }
    return { _tag: "Other", type: "empty archive" }
  } finally {
    input.unpipe(extract)
    input.destroy()
    extract.destroy()
  }
}

/** The archive name (for extraction at /) of `path` under `destDir`, or why it would escape destDir. */
export const archiveFileName = (destDir: string, path: string): Either.Either<string, string> => {
  if (!posix.isAbsolute(destDir)) return Either.left("the destination directory must be an absolute path")
  if (path === "" || posix.isAbsolute(path)) return Either.left("file paths must be relative to the destination")
  const dir = posix.normalize(destDir)
  const full = posix.normalize(posix.join(dir, path))
  const rel = posix.relative(dir, full)
  if (rel === "" || rel === ".." || rel.startsWith("../")) return Either.left("the path leaves the destination directory")
  return Either.right(full.slice(1))
}

/** A host directory packed as a tar stream, and the bytes of file content packed so far. */
export interface DirectoryArchive {
  readonly stream: Readable
  readonly bytes: () => number
  /** Why packing stopped early (a host file could not be read), if it did. */
  readonly failure: () => Error | undefined
}

/**
 * Packs the host directory `dir` (regular files, directories and symbolic links, modes kept, owner root) as a tar
 * stream whose entries are named under `prefix`, reading one file at a time: a mirror of hundreds of MB never sits in
 * memory. A file that cannot be read ends the stream with that error.
 */
export const packDirectory = (dir: string, prefix: string): DirectoryArchive => {
  const pack = tar.pack()
  let bytes = 0
  let failure: Error | undefined
  const name = (rel: string) => (rel === "" ? prefix : posix.join(prefix, rel))
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true })
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`
      const full = join(dir, child)
      const info = await lstat(full)
      const header = { name: name(child), mode: info.mode & 0o7777, mtime: info.mtime, uid: 0, gid: 0 }
      if (info.isDirectory()) {
        await new Promise<void>((resolve, reject) => pack.entry({ ...header, type: "directory" }, (err) => (err ? reject(err) : resolve())))
        await walk(child)
      } else if (info.isSymbolicLink()) {
        const target = await readlink(full)
        await new Promise<void>((resolve, reject) => pack.entry({ ...header, type: "symlink", linkname: target }, (err) => (err ? reject(err) : resolve())))
      } else if (info.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const sink = pack.entry({ ...header, size: info.size }, (err) => (err ? reject(err) : resolve()))
          const source = createReadStream(full)
          source.on("data", (chunk) => {
            bytes += chunk.length
          })
          source.on("error", (err) => {
            sink.destroy(err)
            reject(err)
          })
          source.pipe(sink)
        })
      }
    }
  }
  void (async () => {
    try {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: prefix, type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve())))
      await walk("")
      pack.finalize()
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err))
      pack.destroy(failure)
    }
  })()
  return { stream: Readable.from(pack, { objectMode: false }), bytes: () => bytes, failure: () => failure }
}
