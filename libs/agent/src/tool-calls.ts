// The agent's tools as the model sees them (OpenAI function schemas) and the decoding of the calls it makes: a call with
// an unknown name, arguments that are not JSON, or arguments of the wrong shape becomes a FormatProblem, which the loop
// shows the model as an error observation; it never fails the rollout by itself.
import type { ToolCall } from "@swe-gym/domain"
import type { ToolSpec } from "@swe-gym/llm"
import { Either, ParseResult, Schema } from "effect"
import type { ToolName } from "./agent-config.js"

/** The repository's place in every instance container. */
export const RepoRoot = "/testbed"

const executeBashSpec: ToolSpec = {
  type: "function",
  function: {
    name: "execute_bash",
    description: [
      "Run a bash command in the task's container and return its output (stdout and stderr together) and exit code.",
      `* Each call runs in a fresh shell whose working directory is ${RepoRoot}: \`cd\` and variables do not carry over to the next call; chain commands with \`&&\`.`,
      "* The command is killed at its timeout (default 120 seconds); run long jobs with a smaller scope or in the background.",
      "* Long output is cut in the middle; redirect it to a file and inspect parts of it (head, tail, grep) instead.",
      "* There is no network access and no interactive input (stdin is empty).",
    ].join("\n"),
    parameters: {
      type: "object",
      properties: {
        command: { type: "string", description: "The bash command to run." },
        timeout: { type: "number", description: "Seconds before the command is killed (optional)." },
      },
      required: ["command"],
    },
  },
}

const editorSpec: ToolSpec = {
  type: "function",
  function: {
    name: "str_replace_editor",
    description: [
      "View, create and edit files.",
      "* `view` of a file shows it with line numbers (`cat -n`), optionally only `view_range`; of a directory, lists files and directories up to 2 levels deep, hidden ones left out.",
      "* `create` writes `file_text` to a new file; it refuses to overwrite an existing file.",
      "* `str_replace` replaces `old_str` by `new_str`; `old_str` must match exactly one place in the file, whitespace included.",
      "* `insert` inserts `new_str` after line `insert_line` (0 inserts at the top).",
      "* `undo_edit` reverts the last edit made to the file at `path`.",
      `* \`path\` is absolute and lies under ${RepoRoot}.`,
    ].join("\n"),
    parameters: {
      type: "object",
      properties: {
        command: {
          type: "string",
          enum: ["view", "create", "str_replace", "insert", "undo_edit"],
          description: "The command to run.",
        },
        path: { type: "string", description: `Absolute path of a file or directory, e.g. ${RepoRoot}/file.py.` },
        file_text: { type: "string", description: "`create`: the content of the new file." },
        old_str: { type: "string", description: "`str_replace`: the exact text to replace." },
        new_str: { type: "string", description: "`str_replace`: the replacement (default empty); `insert`: the text to insert." },
        insert_line: { type: "integer", description: "`insert`: the line after which `new_str` goes (0 = before the first line)." },
        view_range: {
          type: "array",
          items: { type: "integer" },
          description: "`view` of a file: [start, end] line numbers, 1-based and inclusive; end -1 means to the end.",
        },
      },
      required: ["command", "path"],
    },
  },
}

const finishSpec: ToolSpec = {
  type: "function",
  function: {
    name: "finish",
    description: "Finish the task once the change is made (or when it cannot be done); the repository's state is your answer.",
    parameters: {
      type: "object",
      properties: { message: { type: "string", description: "A short summary of what was done (optional)." } },
      required: [],
    },
  },
}

const specs: Record<ToolName, ToolSpec> = {
  execute_bash: executeBashSpec,
  str_replace_editor: editorSpec,
  finish: finishSpec,
}

/** The OpenAI function schemas of the named tools, in the given order. */
export const toolSpecs = (tools: ReadonlyArray<ToolName>): ReadonlyArray<ToolSpec> => tools.map((name) => specs[name])

// Text-mode servers write every parameter as text (`<parameter=timeout>30</parameter>`): numbers and lists are also
// taken from their JSON text.
const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const Int = Schema.Union(Schema.Int, Schema.compose(Schema.NumberFromString, Schema.Int))
const IntList = Schema.Union(Schema.Array(Int), Schema.parseJson(Schema.Array(Schema.Int)))

/** Arguments of execute_bash. */
export const BashArgs = Schema.Struct({ command: Schema.String, timeout: Schema.optional(Num) })
export type BashArgs = typeof BashArgs.Type

/** Arguments of str_replace_editor (which ones a command needs is checked by the editor, with a message for the model). */
export const EditorArgs = Schema.Struct({
  command: Schema.Literal("view", "create", "str_replace", "insert", "undo_edit"),
  path: Schema.String,
  file_text: Schema.optional(Schema.String),
  old_str: Schema.optional(Schema.String),
  new_str: Schema.optional(Schema.String),
  insert_line: Schema.optional(Int),
  view_range: Schema.optional(IntList),
})
export type EditorArgs = typeof EditorArgs.Type

/** Arguments of finish. */
export const FinishArgs = Schema.Struct({ message: Schema.optional(Schema.String) })

/** A decoded tool call, ready to run. */
export type Action =
  | { readonly tool: "execute_bash"; readonly call: ToolCall; readonly args: BashArgs }
  | { readonly tool: "str_replace_editor"; readonly call: ToolCall; readonly args: EditorArgs }
  | { readonly tool: "finish"; readonly call: ToolCall; readonly args: typeof FinishArgs.Type }

/** A tool call that cannot run, with the message the model gets to correct it. */
export interface FormatProblem {
  readonly call: ToolCall | undefined
  readonly message: string
}

const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const where = issue.path.length === 0 ? "" : `\`${issue.path.join(".")}\`: `
      return `${where}${issue._tag === "Missing" ? "missing required parameter" : issue.message}`
    })
    .join("; ")

const decodeArgs = <A, I>(schema: Schema.Schema<A, I>, name: string, args: unknown): Either.Either<A, string> =>
  Schema.decodeUnknownEither(schema, { onExcessProperty: "error" })(args).pipe(
    Either.mapLeft((error) => `Invalid arguments for \`${name}\`: ${describeIssues(error)}.`),
  )

/** Decodes one tool call against the tools on offer. */
export const decodeToolCall = (call: ToolCall, tools: ReadonlyArray<ToolName>): Either.Either<Action, FormatProblem> => {
  const name = call.function.name
  const problem = (message: string): FormatProblem => ({ call, message })
  const offered = tools.find((t) => t === name)
  if (offered === undefined) {
    return Either.left(problem(`Unknown tool \`${name}\`. The tools are: ${tools.map((t) => `\`${t}\``).join(", ")}.`))
  }
  let args: unknown
  try {
    args = call.function.arguments.trim() === "" ? {} : JSON.parse(call.function.arguments)
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error)
    return Either.left(problem(`The arguments of \`${name}\` are not valid JSON (${why}). Send one JSON object.`))
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    return Either.left(problem(`The arguments of \`${name}\` must be a JSON object.`))
  }
  switch (offered) {
    case "execute_bash":
      return decodeArgs(BashArgs, name, args).pipe(
        Either.mapBoth({ onLeft: problem, onRight: (a): Action => ({ tool: offered, call, args: a }) }),
      )
    case "str_replace_editor":
      return decodeArgs(EditorArgs, name, args).pipe(
        Either.mapBoth({ onLeft: problem, onRight: (a): Action => ({ tool: offered, call, args: a }) }),
      )
    case "finish":
      return decodeArgs(FinishArgs, name, args).pipe(
        Either.mapBoth({ onLeft: problem, onRight: (a): Action => ({ tool: offered, call, args: a }) }),
      )
  }
}
