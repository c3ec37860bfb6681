// A unified diff (a task instance's gold `patch`) read into files and hunks, and turned into the editor actions that make
// the same change: `create` for a new file, `str_replace` per hunk for a changed one (its old text grown with neighbouring
// lines until it occurs once in the file, when the file's current text is known from a `view`), `rm` / `mv` for deleted
// and renamed files.

/** One hunk: the lines it expects (context and removed) and the lines it leaves (context and added). */
export interface Hunk {
  /** 1-based line of the first old line (for an insertion with no old lines: the line it goes after). */
  readonly oldStart: number
  readonly oldLines: ReadonlyArray<string>
  readonly newLines: ReadonlyArray<string>
  /** The new side's last line has no newline at the end of the file. */
  readonly newNoNewlineAtEnd: boolean
}

/** What a diff does to one file. */
export interface FilePatch {
  /** Path before the change (undefined for a new file). */
  readonly oldPath: string | undefined
  /** Path after the change (undefined for a deleted file). */
  readonly newPath: string | undefined
  readonly binary: boolean
  readonly hunks: ReadonlyArray<Hunk>
}

/** A diff that cannot be read, with the line where reading stopped. */
export class PatchParseError extends Error {
  constructor(readonly line: number, readonly detail: string) {
    super(`patch line ${line}: ${detail}`)
  }
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/

const stripPrefix = (path: string): string | undefined => {
  const p = path.replace(/\t.*$/, "").trim()
  if (p === "/dev/null") return undefined
  const quoted: unknown = p.startsWith("\"") && p.endsWith("\"") ? JSON.parse(p) : p
  const unquoted = typeof quoted === "string" ? quoted : p
  return unquoted.replace(/^[ab]\//, "")
}

/** Reads a unified diff in `git diff` form into file patches. */
export const parseUnifiedDiff = (diff: string): ReadonlyArray<FilePatch> => {
  const lines = diff.replace(/\r\n/g, "\n").split("\n")
  // The newline that ends the last line does not start another one.
  if (lines[lines.length - 1] === "") lines.pop()
  const files: Array<FilePatch> = []
  let i = 0
  while (i < lines.length) {
    const header = lines[i] ?? ""
    if (!header.startsWith("diff --git ")) {
      i += 1
      continue
    }
    const names = /^diff --git (?:"?a\/)(.+?)"? (?:"?b\/)(.+?)"?$/.exec(header)
    let oldPath: string | undefined = names?.[1]
    let newPath: string | undefined = names?.[2]
    let binary = false
    const hunks: Array<Hunk> = []
    i += 1
    for (; i < lines.length && !(lines[i] ?? "").startsWith("diff --git "); i += 1) {
      const line = lines[i] ?? ""
      if (line.startsWith("new file mode")) oldPath = undefined
      else if (line.startsWith("deleted file mode")) newPath = undefined
      else if (line.startsWith("rename from ")) oldPath = line.slice("rename from ".length)
      else if (line.startsWith("rename to ")) newPath = line.slice("rename to ".length)
      else if (line.startsWith("Binary files ") || line.startsWith("GIT binary patch")) binary = true
      else if (line.startsWith("--- ")) oldPath = stripPrefix(line.slice(4))
      else if (line.startsWith("+++ ")) newPath = stripPrefix(line.slice(4))
      else if (line.startsWith("@@")) {
        const m = HUNK_HEADER.exec(line)
        if (m === null) throw new PatchParseError(i + 1, `bad hunk header ${JSON.stringify(line)}`)
        let oldCount = m[2] === undefined ? 1 : Number(m[2])
        let newCount = m[4] === undefined ? 1 : Number(m[4])
        const oldLines: Array<string> = []
        const newLines: Array<string> = []
        let newNoNewlineAtEnd = false
        let last: "old" | "new" | "both" = "both"
        while (oldCount > 0 || newCount > 0 || (lines[i + 1] ?? "").startsWith("\\")) {
          i += 1
          if (i >= lines.length) throw new PatchParseError(i, "hunk ends before its line counts are reached")
          const body = lines[i] ?? ""
          if (body.startsWith("\\")) {
            if (last !== "old") newNoNewlineAtEnd = true
            continue
          }
          const tag = body[0]
          const text = body.slice(1)
          // A context line that lost its leading space (some tools strip trailing whitespace) is an empty context line.
          if (tag === " " || body === "") {
            oldLines.push(text)
            newLines.push(text)
            oldCount -= 1
            newCount -= 1
            last = "both"
          } else if (tag === "-") {
            oldLines.push(text)
            oldCount -= 1
            last = "old"
          } else if (tag === "+") {
            newLines.push(text)
            newCount -= 1
            last = "new"
          } else {
            throw new PatchParseError(i + 1, `unexpected line in hunk: ${JSON.stringify(body.slice(0, 80))}`)
          }
          if (oldCount < 0 || newCount < 0) throw new PatchParseError(i + 1, "hunk has more lines than its header says")
        }
        hunks.push({ oldStart: Number(m[1]), oldLines, newLines, newNoNewlineAtEnd })
      }
    }
    files.push({ oldPath, newPath, binary, hunks })
  }
  return files
}

/** An edit the oracle makes through the agent's tools. */
export type OracleEdit =
  | { readonly _tag: "StrReplace"; readonly path: string; readonly old_str: string; readonly new_str: string }
  | { readonly _tag: "Insert"; readonly path: string; readonly insert_line: number; readonly new_str: string }

const occurrences = (haystack: string, needle: string): number => {
  if (needle === "") return Number.POSITIVE_INFINITY
  let n = 0
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) n += 1
  return n
}

const sameLines = (a: ReadonlyArray<string>, at: number, b: ReadonlyArray<string>): boolean =>
  at >= 0 && at + b.length <= a.length && b.every((line, k) => a[at + k] === line)

/** Where a hunk's old lines are in `lines`: at the expected index, or the nearest place they match. */
const locate = (lines: ReadonlyArray<string>, old: ReadonlyArray<string>, expected: number): number | undefined => {
  for (let d = 0; d <= lines.length; d += 1) {
    if (sameLines(lines, expected - d, old)) return expected - d
    if (sameLines(lines, expected + d, old)) return expected + d
  }
  return undefined
}

/** Edits from the hunks alone, when the file's text is unknown: each hunk's old text as it is (3 lines of context). */
export const editsFromHunks = (path: string, hunks: ReadonlyArray<Hunk>): ReadonlyArray<OracleEdit> =>
  hunks.map((h): OracleEdit =>
    h.oldLines.length === 0
      ? { _tag: "Insert", path, insert_line: h.oldStart, new_str: h.newLines.join("\n") }
      : { _tag: "StrReplace", path, old_str: h.oldLines.join("\n"), new_str: h.newLines.join("\n") }
  )

/**
 * Edits that turn `lines` (the file as the agent's `view` showed it) into the patched file, each `str_replace` unique in
 * the file as it is when that edit runs. A hunk that does not match the file falls back to its own old text.
 */
export const editsForFile = (
  path: string,
  hunks: ReadonlyArray<Hunk>,
  lines: ReadonlyArray<string>,
): ReadonlyArray<OracleEdit> => {
  const current = [...lines]
  const edits: Array<OracleEdit> = []
  let offset = 0
  for (const h of hunks) {
    const expected = (h.oldLines.length === 0 ? h.oldStart : h.oldStart - 1) + offset
    const at = locate(current, h.oldLines, expected)
    if (at === undefined) {
      edits.push(...editsFromHunks(path, [h]))
      continue
    }
    const text = current.join("\n")
    let start = at
    let end = at + h.oldLines.length
    const window = () => current.slice(start, end).join("\n")
    const unique = () => window().trim() !== "" && occurrences(text, window()) === 1
    // Grow the old text by a line at a time, alternately downwards and upwards, until it names one place in the file.
    for (let grow = 0; !unique() && (start > 0 || end < current.length); grow += 1) {
      if ((grow % 2 === 0 && end < current.length) || start === 0) end += 1
      else start -= 1
    }
    const oldStr = window()
    const replacement = [...current.slice(start, at), ...h.newLines, ...current.slice(at + h.oldLines.length, end)]
    if (oldStr === "") {
      edits.push({ _tag: "Insert", path, insert_line: at, new_str: h.newLines.join("\n") })
    } else {
      edits.push({ _tag: "StrReplace", path, old_str: oldStr, new_str: replacement.join("\n") })
    }
    current.splice(at, h.oldLines.length, ...h.newLines)
    offset += h.newLines.length - h.oldLines.length
  }
  return edits
}

/** The full text of a new file from its one hunk. */
export const newFileText = (hunks: ReadonlyArray<Hunk>): string => {
  const lines = hunks.flatMap((h) => h.newLines)
  const last = hunks[hunks.length - 1]
  return lines.length === 0 ? "" : lines.join("\n") + (last?.newNoNewlineAtEnd === true ? "" : "\n")
}

/**
 * The file's lines as a `view` observation lists them (`cat -n` style: optional spaces, the 1-based number, a tab, the
 * line). Undefined when the observation is not a complete listing from line 1 (an error, a clipped response).
 */
export const linesFromView = (observation: string, needLines: number): ReadonlyArray<string> | undefined => {
  if (/<response clipped>|\[\.\.\.|output truncated|lines? (?:omitted|cut)/i.test(observation)) return undefined
  const out: Array<string> = []
  for (const line of observation.split("\n")) {
    const m = /^ *(\d+)\t(.*)$/.exec(line)
    if (m === null) {
      if (out.length > 0) break
      continue
    }
    if (Number(m[1]) !== out.length + 1) return undefined
    out.push(m[2] ?? "")
  }
  if (out.length === 0 || out.length < needLines) return undefined
  return out
}
