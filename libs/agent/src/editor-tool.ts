// str_replace_editor with OpenHands' and SWE-agent's semantics (view, create, str_replace, insert, undo_edit). File
// contents move only through the container's archive API (readFile / copyFiles), never through a shell, and edits work
// on bytes: a file with invalid UTF-8, NUL bytes or CRLF keeps every byte outside the edited span. Paths reach commands
// as argv elements of fixed scripts. Undo keeps every earlier version of each file (absent = the file did not exist).
import { type Container, type ContainerDied, type EngineError } from "@swe-gym/sandbox"
import { Duration, Effect, Either } from "effect"
import { posix } from "node:path"
import type { AgentLimits } from "./agent-config.js"
import { CommandEnv, type Observation, observationText } from "./bash-tool.js"
import { type EditorArgs, RepoRoot } from "./tool-calls.js"

/** Files larger than this are not read into the editor (view them with execute_bash: head, sed -n, grep). */
export const MaxEditableBytes = 16 * 1024 * 1024

/** Lines shown around an edit. */
const SnippetLines = 4

const decoder = new TextDecoder("utf-8", { fatal: false })
const encoder = new TextEncoder()
const NL = 0x0a

type Fault = EngineError | ContainerDied

/** A path the editor may act on: absolute, normalised, under the repository root. */
export const checkEditorPath = (path: string): Either.Either<string, string> => {
  if (!path.startsWith("/")) {
    const suggestion = posix.join(RepoRoot, path)
    return Either.left(`The path ${path} is not an absolute path; it should start with \`/\`. Maybe you meant ${suggestion}?`)
  }
  const normal = posix.normalize(path).replace(/\/+$/, "") || "/"
  if (normal !== RepoRoot && !normal.startsWith(`${RepoRoot}/`)) {
    return Either.left(`The path ${path} is outside the repository; the editor works on paths under ${RepoRoot}.`)
  }
  return Either.right(normal)
}

// ── bytes ────────────────────────────────────────────────────────────────────────────────────────────────────────────

const indexOf = (haystack: Uint8Array, needle: Uint8Array, from: number): number =>
  Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle, from)

/** Start offsets of the non-overlapping occurrences of `needle` (as Python's str.count counts them). */
const occurrences = (haystack: Uint8Array, needle: Uint8Array): Array<number> => {
  const found: Array<number> = []
  for (let at = indexOf(haystack, needle, 0); at >= 0; at = indexOf(haystack, needle, at + needle.length)) found.push(at)
  return found
}

/** 1-based line number of a byte offset. */
const lineAt = (bytes: Uint8Array, offset: number): number => {
  let line = 1
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === NL) line++
  return line
}

const concatBytes = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** The file's lines as text (a trailing newline does not start another line). */
const textLines = (bytes: Uint8Array): Array<string> => {
  if (bytes.length === 0) return []
  const lines = decoder.decode(bytes).split("\n")
  if (bytes[bytes.length - 1] === NL) lines.pop()
  return lines
}

/** Lines `from`..`to` (1-based, inclusive) numbered like `cat -n`, cut to `maxBytes` at a line boundary. */
const numbered = (lines: ReadonlyArray<string>, from: number, to: number, maxBytes: number): string => {
  const out: Array<string> = []
  let bytes = 0
  for (let n = from; n <= to; n++) {
    const line = `${String(n).padStart(6)}\t${lines[n - 1] ?? ""}`
    bytes += Buffer.byteLength(line) + 1
    if (bytes > maxBytes && out.length > 0) {
      out.push(
        `<response clipped: lines ${n}-${to} not shown. Search the file with \`grep -n\` and view a smaller view_range.>`,
      )
      break
    }
    out.push(line)
  }
  return out.join("\n")
}

// ── the container side ───────────────────────────────────────────────────────────────────────────────────────────────

/** What is at a path: nothing, a directory, or a file (with its real path, permission bits and size). */
type Stat =
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Directory"; readonly real: string }
  | { readonly _tag: "File"; readonly real: string; readonly mode: number; readonly size: number }
  | { readonly _tag: "Other"; readonly real: string; readonly kind: string }

// The path is "$1": the script text is fixed, so nothing the model writes is ever parsed by a shell.
const statScript = `p=$(realpath -e -- "$1" 2>/dev/null) || exit 3
stat -L -c '%F|%a|%s' -- "$p" || exit 3
printf '%s' "$p"`

const quick = { timeout: Duration.seconds(60), maxOutputBytes: 4 * 1024 * 1024, env: CommandEnv } as const

const statPath = (container: Container, path: string): Effect.Effect<Stat, Fault> =>
  Effect.gen(function*() {
    const r = yield* container.exec(["/bin/sh", "-c", statScript, "sh", path], quick).pipe(
      Effect.catchTag("ExecTimeout", () => Effect.succeed({ exitCode: 3, stdout: "" })),
    )
    if (r.exitCode !== 0) return { _tag: "Missing" as const }
    const newline = r.stdout.indexOf("\n")
    const [kind = "", mode = "644", size = "0"] = r.stdout.slice(0, newline).split("|")
    const real = r.stdout.slice(newline + 1)
    if (kind === "directory") return { _tag: "Directory" as const, real }
    if (kind === "regular file" || kind === "regular empty file") {
      return { _tag: "File" as const, real, mode: Number.parseInt(mode, 8), size: Number(size) }
    }
    return { _tag: "Other" as const, real, kind }
  })

const readBytes = (container: Container, path: string): Effect.Effect<Uint8Array, Fault> =>
  container.readFile(path).pipe(
    // Stat saw the file a moment ago; gone now means the agent's own background job removed it: an empty file.
    Effect.catchTag("FileNotFound", () => Effect.succeed(new Uint8Array())),
  )

const writeBytes = (container: Container, path: string, content: Uint8Array, mode: number): Effect.Effect<void, Fault> =>
  container.copyFiles([{ path: posix.basename(path), content, mode }], posix.dirname(path)).pipe(
    Effect.catchTag("InvalidPath", (e) => Effect.die(new Error(`editor wrote to an unchecked path: ${e.message}`))),
  )

const removeFile = (container: Container, path: string): Effect.Effect<void, Fault> =>
  container.exec(["rm", "-f", "--", path], quick).pipe(
    Effect.catchTag("ExecTimeout", () => Effect.void),
    Effect.asVoid,
  )

// ── the editor ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** The editor of one rollout: its undo history lives as long as the rollout. */
export interface Editor {
  readonly run: (args: EditorArgs) => Effect.Effect<Observation, Fault>
}

/** An editor over a container, with an empty undo history. */
export const makeEditor = (container: Container, limits: AgentLimits): Editor => {
  // Earlier versions of each file (by real path), newest last; `undefined` = the file did not exist.
  const history = new Map<string, Array<Uint8Array | undefined>>()
  const remember = (real: string, previous: Uint8Array | undefined) => {
    const versions = history.get(real) ?? []
    versions.push(previous)
    history.set(real, versions)
  }
  const ok = (text: string): Observation => ({ text: observationText(text), isError: false })
  const error = (text: string): Observation => ({ text: observationText(text), isError: true })
  const tooLarge = (path: string, size: number) =>
    error(`The file ${path} has ${size} bytes, more than the editor handles (${MaxEditableBytes}); use execute_bash (sed -n, grep, python) on it.`)

  const snippet = (path: string, bytes: Uint8Array, firstLine: number, lastLine: number, what: string) => {
    const lines = textLines(bytes)
    const from = Math.max(1, firstLine - SnippetLines)
    const to = Math.min(lines.length, lastLine + SnippetLines)
    return ok(
      `The file ${path} has been edited. Here's the result of running \`cat -n\` on a snippet of ${what}:\n${
        numbered(lines, from, to, limits.max_output_bytes)
      }\nReview the changes and make sure they are as expected. Edit the file again if necessary.`,
    )
  }

  const viewDirectory = (path: string, real: string) =>
    Effect.gen(function*() {
      const r = yield* container.exec(
        ["find", real, "-mindepth", "1", "-maxdepth", "2", "-printf", "%P\\t%y\\n"],
        { ...quick, maxOutputBytes: limits.max_output_bytes * 4 },
      ).pipe(Effect.catchTag("ExecTimeout", (t) => Effect.succeed({ exitCode: 124, stdout: t.stdout })))
      const entries = r.stdout.split("\n")
        .map((line) => line.split("\t"))
        .filter((parts): parts is [string, string] => parts.length === 2 && parts[0] !== "")
        .filter(([rel]) => !rel.split("/").some((segment) => segment.startsWith(".")))
        .map(([rel, type]) => `${posix.join(path, rel)}${type === "d" ? "/" : ""}`)
        .sort()
      const listing = [`${path}/`, ...entries].join("\n")
      const cut = Buffer.byteLength(listing) > limits.max_output_bytes
        ? `${Buffer.from(listing).subarray(0, limits.max_output_bytes).toString("utf8").replace(/\n[^\n]*$/, "")}\n<response clipped: list deeper directories one at a time.>`
        : listing
      return ok(`Here's the files and directories up to 2 levels deep in ${path}, excluding hidden items:\n${cut}`)
    })

  const viewFile = (path: string, real: string, size: number, range: ReadonlyArray<number> | undefined) =>
    Effect.gen(function*() {
      if (size > MaxEditableBytes) return tooLarge(path, size)
      const lines = textLines(yield* readBytes(container, real))
      if (range === undefined) {
        return ok(`Here's the result of running \`cat -n\` on ${path}:\n${numbered(lines, 1, lines.length, limits.max_output_bytes)}`)
      }
      const [start, end] = range
      if (range.length !== 2 || start === undefined || end === undefined) {
        return error("Invalid `view_range`: it should be a list of two integers, [start, end].")
      }
      if (start < 1 || start > Math.max(lines.length, 1)) {
        return error(`Invalid \`view_range\`: [${start}, ${end}]. Its first element should be within [1, ${lines.length}], the lines of the file.`)
      }
      if (end !== -1 && end < start) {
        return error(`Invalid \`view_range\`: [${start}, ${end}]. Its second element should be -1 or at least its first element.`)
      }
      const last = end === -1 ? lines.length : Math.min(end, lines.length)
      return ok(`Here's the result of running \`cat -n\` on ${path}:\n${numbered(lines, start, last, limits.max_output_bytes)}`)
    })

  const run = (args: EditorArgs): Effect.Effect<Observation, Fault> =>
    Effect.gen(function*() {
      const checked = checkEditorPath(args.path)
      if (Either.isLeft(checked)) return error(checked.left)
      const path = checked.right
      const stat = yield* statPath(container, path)
      // Symlinks are followed for reading and writing, and must still end inside the repository.
      if (stat._tag !== "Missing" && Either.isLeft(checkEditorPath(stat.real))) {
        return error(`The path ${path} resolves to ${stat.real}, outside ${RepoRoot}; the editor does not follow it there.`)
      }
      if (stat._tag === "Other") return error(`The path ${path} is a ${stat.kind}, not a regular file or a directory.`)

      switch (args.command) {
        case "view": {
          if (stat._tag === "Missing") return error(`The path ${path} does not exist. Please provide a valid path.`)
          if (stat._tag === "Directory") {
            if (args.view_range !== undefined) return error("The `view_range` parameter is not allowed when `path` points to a directory.")
            return yield* viewDirectory(path, stat.real)
          }
          return yield* viewFile(path, stat.real, stat.size, args.view_range)
        }
        case "create": {
          if (args.file_text === undefined) return error("Parameter `file_text` is required for command: create.")
          if (stat._tag !== "Missing") {
            return error(`File already exists at: ${path}. Cannot overwrite files using command \`create\`.`)
          }
          yield* writeBytes(container, path, encoder.encode(args.file_text), 0o644)
          remember(path, undefined)
          return ok(`File created successfully at: ${path}`)
        }
        case "undo_edit": {
          const target = stat._tag === "Missing" ? path : stat.real
          const versions = history.get(target)
          if (versions === undefined || versions.length === 0) return error(`No edit history found for ${path}.`)
          const previous = versions.pop()
          if (previous === undefined) {
            yield* removeFile(container, target)
            return ok(`Last edit to ${path} undone successfully: the file did not exist before it and is removed.`)
          }
          yield* writeBytes(container, target, previous, stat._tag === "File" ? stat.mode : 0o644)
          return ok(`Last edit to ${path} undone successfully.`)
        }
        case "str_replace":
        case "insert":
          break
      }

      if (stat._tag === "Missing") return error(`The path ${path} does not exist. Please provide a valid path.`)
      if (stat._tag === "Directory") {
        return error(`The path ${path} is a directory and only the \`view\` command can be used on directories.`)
      }
      if (stat.size > MaxEditableBytes) return tooLarge(path, stat.size)
      const before = yield* readBytes(container, stat.real)

      if (args.command === "str_replace") {
        if (args.old_str === undefined) return error("Parameter `old_str` is required for command: str_replace.")
        const newStr = args.new_str ?? ""
        if (args.old_str === newStr) return error("No replacement was performed. `new_str` and `old_str` must be different.")
        const needle = encoder.encode(args.old_str)
        const found = needle.length === 0 ? [] : occurrences(before, needle)
        if (found.length === 0) {
          return error(`No replacement was performed, old_str \`${args.old_str}\` did not appear verbatim in ${path}.`)
        }
        if (found.length > 1) {
          const lines = found.map((at) => lineAt(before, at))
          return error(
            `No replacement was performed. Multiple occurrences of old_str \`${args.old_str}\` in lines ${JSON.stringify(lines)} (${found.length} occurrences). Please ensure it is unique.`,
          )
        }
        const at = found[0] ?? 0
        const replacement = encoder.encode(newStr)
        const after = concatBytes(before.subarray(0, at), replacement, before.subarray(at + needle.length))
        yield* writeBytes(container, stat.real, after, stat.mode)
        remember(stat.real, before)
        const first = lineAt(after, at)
        return snippet(path, after, first, first + newStr.split("\n").length - 1, path)
      }

      // insert
      if (args.insert_line === undefined) return error("Parameter `insert_line` is required for command: insert.")
      if (args.new_str === undefined) return error("Parameter `new_str` is required for command: insert.")
      const lineCount = textLines(before).length
      const line = args.insert_line
      if (line < 0 || line > lineCount) {
        return error(`Invalid \`insert_line\` parameter: ${line}. It should be within the range of lines of the file: [0, ${lineCount}].`)
      }
      // The byte offset just after line `line` (0 = the start); a last line without "\n" gets one first.
      let offset = 0
      for (let seen = 0; seen < line; seen++) {
        const next = indexOf(before, new Uint8Array([NL]), offset)
        offset = next < 0 ? before.length : next + 1
      }
      const needsNewline = offset === before.length && before.length > 0 && before[before.length - 1] !== NL
      const text = args.new_str.endsWith("\n") ? args.new_str : `${args.new_str}\n`
      const after = concatBytes(
        before.subarray(0, offset),
        encoder.encode(needsNewline ? `\n${text}` : text),
        before.subarray(offset),
      )
      yield* writeBytes(container, stat.real, after, stat.mode)
      remember(stat.real, before)
      return snippet(path, after, line + 1, line + text.split("\n").length - 1, "the edited file")
    })

  return { run }
}
