// Decoding a whole JSON file (a .traj.json, a .traj, a report.json) with a Schema, and the reject record of a file that
// does not decode: the same JsonlReject a bad JSONL line gets, so one rejects file and one count cover both. A whole
// file's reject names the line of a JSON syntax error when the parser says where; line 0 means "the file as a whole".
import { FileSystem } from "@effect/platform"
import { formatFieldPath, type JsonlIoError, jsonlErrorFromPlatform, type JsonlReject } from "@swe-gym/domain"
import { Effect, Either, ParseResult, Schema } from "effect"

const rawChars = 2000

const lineOfPosition = (text: string, message: string): number => {
  const explicit = /line (\d+) column/.exec(message)
  if (explicit?.[1] !== undefined) return Number(explicit[1])
  const position = /at position (\d+)/.exec(message)
  if (position?.[1] === undefined) return 0
  let line = 1
  const end = Math.min(Number(position[1]), text.length)
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line += 1
  return line
}

/** A reject record for a file (or a place in it) that could not be imported. */
export const fileReject = (
  file: string,
  line: number,
  kind: JsonlReject["kind"],
  reason: string,
  text: string,
  path = "",
): JsonlReject => ({
  file,
  line,
  kind,
  path,
  reason,
  issues: [{ path, message: reason }],
  raw: text.slice(0, rawChars),
  rawTruncated: text.length > rawChars,
  bytes: Buffer.byteLength(text, "utf8"),
})

/** Parses JSON text and decodes it with `schema`: the value, or the reject saying where and why not. */
export const decodeJsonText = <A, I>(file: string, text: string, schema: Schema.Schema<A, I, never>): Either.Either<A, JsonlReject> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return Either.left(fileReject(file, lineOfPosition(text, message), "not-json", `not JSON: ${message}`, text))
  }
  const decoded = Schema.decodeUnknownEither(schema, { errors: "all" })(json)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((issue) => ({
    path: formatFieldPath(issue.path),
    message: issue.message,
  }))
  const first = issues[0]
  const reason = first === undefined ? decoded.left.message : `${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more issues)` : ""}`
  return Either.left({ ...fileReject(file, 0, "schema", reason, text, first?.path ?? ""), issues })
}

/** Reads a file as UTF-8 text (invalid bytes replaced). */
export const readText = (path: string): Effect.Effect<string, JsonlIoError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFile(path)).pipe(
    Effect.map((bytes) => new TextDecoder("utf-8", { fatal: false }).decode(bytes)),
    Effect.mapError(jsonlErrorFromPlatform(path, "read")),
  )

/** Whether a file exists (a missing optional companion, such as a report, is not an error). */
export const fileExists = (path: string): Effect.Effect<boolean, never, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(path)).pipe(Effect.orElseSucceed(() => false))

/** Message content as text: a string as it is, content parts' text joined by newlines. */
export const contentText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        typeof part === "object" && part !== null && "text" in part && typeof part.text === "string" ? part.text : ""
      )
      .filter((t) => t.length > 0)
      .join("\n")
  }
  return ""
}

/** A timestamp without a zone (OpenHands writes local ISO times) is read as UTC, so imports do not depend on TZ. */
export const utcTimestamp = (text: string | undefined | null): string | null => {
  if (text === undefined || text === null || text === "") return null
  const withZone = /(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text.replace(" ", "T")}Z`
  return Number.isNaN(new Date(withZone).getTime()) ? null : new Date(withZone).toISOString()
}

/** A test-id list given as an array or as a JSON-encoded string; null when neither. */
export const testIds = (value: unknown): ReadonlyArray<string> | null => {
  const list: unknown = typeof value === "string" ? safeJson(value) : value
  return Array.isArray(list) && list.every((x): x is string => typeof x === "string") ? list : null
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
