// How the emulated model behaves. A policy is a plan written as a generator: each `yield` is one assistant turn and
// receives the observation the agent sent back for it. The emulator replays the plan over the conversation's turns and
// answers with the next action, so the same conversation always gets the same answer.
import { type Action, call, type Conversation, type EmulatedCall } from "./conversation.js"
import { editsForFile, editsFromHunks, linesFromView, newFileText, type OracleEdit, parseUnifiedDiff } from "./gold-patch.js"

/** The policies a server (or a request's model name) can choose. */
export const POLICIES = ["oracle", "replay", "empty", "loop", "babble", "judge"] as const
export type PolicyName = typeof POLICIES[number]

/** A task instance as the oracle needs it (SWE-bench field names). */
export interface OracleInstance {
  readonly instance_id: string
  readonly patch: string
  readonly test_patch?: string | undefined
}

/** A recorded trajectory for `replay`: its assistant messages are replayed in order. */
export interface RecordedTrajectory {
  readonly instance_id: string
  readonly messages: ReadonlyArray<{
    readonly role: string
    readonly content?: unknown
    readonly tool_calls?: ReadonlyArray<{ readonly function: { readonly name: string; readonly arguments: string } }> | null | undefined
  }>
}

/** What the policies draw on. */
export interface PolicyData {
  readonly instances: ReadonlyMap<string, OracleInstance>
  readonly trajectories: ReadonlyMap<string, RecordedTrajectory>
  /** Malformed turns `babble` makes before it finishes (Infinity: never). */
  readonly babbleTurns: number
}

/** A policy's answer: an assistant action, or an HTTP error when the request cannot be served (unknown instance). */
export type PolicyReply =
  | { readonly _tag: "Act"; readonly action: Action }
  | { readonly _tag: "Verdict"; readonly yes: boolean; readonly pYes: number }
  | { readonly _tag: "Refuse"; readonly message: string }

export const REPO = "/testbed"
export const TOOL_BASH = "execute_bash"
export const TOOL_EDITOR = "str_replace_editor"
export const TOOL_FINISH = "finish"

type Plan = Generator<Action, void, string | undefined>

const act = (content: string | null, ...calls: ReadonlyArray<EmulatedCall>): Action => ({ content, calls })
const finish = (message: string): Action => act(null, call(TOOL_FINISH, { message }))
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
const inRepo = (path: string): string => `${REPO}/${path}`

/** Finds the instance the agent names: the line `Instance: <id>`, else the longest known id in the first user message. */
export const instanceIdOf = (text: string, known: Iterable<string>): string | undefined => {
  const named = /^\s*Instance:\s*(\S+)\s*$/m.exec(text)?.[1]
  if (named !== undefined) return named
  let best: string | undefined
  for (const id of known) if (text.includes(id) && (best === undefined || id.length > best.length)) best = id
  return best
}

const editAction = (edit: OracleEdit): Action =>
  edit._tag === "StrReplace"
    ? act(
      `Now I edit ${edit.path}.`,
      call(TOOL_EDITOR, { command: "str_replace", path: inRepo(edit.path), old_str: edit.old_str, new_str: edit.new_str }),
    )
    : act(
      `Now I insert the new lines into ${edit.path}.`,
      call(TOOL_EDITOR, { command: "insert", path: inRepo(edit.path), insert_line: edit.insert_line, new_str: edit.new_str }),
    )

/** The command the oracle runs to test: the test files the test patch changes that exist before it is applied. */
export const oracleTestCommand = (testPatch: string | undefined): string => {
  const files = parseUnifiedDiff(testPatch ?? "")
    .filter((f) => f.oldPath !== undefined && f.newPath !== undefined && !f.binary)
    .map((f) => f.newPath ?? "")
  // No bytecode or cache files: they would land in the model patch.
  const run = files.length === 0
    ? ""
    : ` && PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -q -x -p no:cacheprovider ${
      files.map(shellQuote).join(" ")
    } 2>&1 | tail -n 30`
  return `cd ${REPO} && git status --short${run}`
}

/** Edits the files of the gold patch through the editor (viewing each changed file first), runs the tests, finishes. */
function* oracle(instance: OracleInstance): Plan {
  for (const f of parseUnifiedDiff(instance.patch)) {
    if (f.binary) continue
    if (f.newPath === undefined) {
      if (f.oldPath !== undefined) yield act(`${f.oldPath} is not needed.`, call(TOOL_BASH, { command: `rm -f -- ${shellQuote(inRepo(f.oldPath))}` }))
      continue
    }
    if (f.oldPath === undefined) {
      yield act(
        `I create ${f.newPath}.`,
        call(TOOL_EDITOR, { command: "create", path: inRepo(f.newPath), file_text: newFileText(f.hunks) }),
      )
      continue
    }
    if (f.oldPath !== f.newPath) {
      yield act(
        `I rename ${f.oldPath} to ${f.newPath}.`,
        call(TOOL_BASH, {
          command: `mkdir -p -- "$(dirname -- ${shellQuote(inRepo(f.newPath))})" && mv -- ${shellQuote(inRepo(f.oldPath))} ${
            shellQuote(inRepo(f.newPath))
          }`,
        }),
      )
    }
    if (f.hunks.length === 0) continue
    const observation = yield act(`Let me look at ${f.newPath}.`, call(TOOL_EDITOR, { command: "view", path: inRepo(f.newPath) }))
    const needLines = Math.max(...f.hunks.map((h) => h.oldStart + h.oldLines.length - 1))
    const lines = observation === undefined ? undefined : linesFromView(observation, needLines)
    const edits = lines === undefined ? editsFromHunks(f.newPath, f.hunks) : editsForFile(f.newPath, f.hunks, lines)
    for (const edit of edits) yield editAction(edit)
  }
  yield act("Let me run the tests.", call(TOOL_BASH, { command: oracleTestCommand(instance.test_patch) }))
  yield finish("I made the change the issue asks for and ran the tests.")
}

/** Replays the assistant turns of a recorded trajectory, then finishes. */
function* replay(trajectory: RecordedTrajectory): Plan {
  for (const m of trajectory.messages) {
    if (m.role !== "assistant") continue
    const content = typeof m.content === "string" ? m.content : null
    yield act(content, ...(m.tool_calls ?? []).map((c) => ({ name: c.function.name, arguments: c.function.arguments })))
  }
  yield finish("Replayed the recorded trajectory.")
}

function* empty(): Plan {
  yield finish("Nothing to change.")
}

/** The same action, forever (the paper's stuck-in-loop case). */
function* loop(): Plan {
  for (;;) yield act("Let me look at the repository.", call(TOOL_BASH, { command: `ls ${REPO}` }))
}

/** Malformed calls: an unknown tool, unreadable arguments, a missing argument; then (unless told never) a valid finish. */
function* babble(turns: number, mode: Conversation["mode"]): Plan {
  const malformed: ReadonlyArray<Action> = mode === "native"
    ? [
      act("Let me run some Python.", call("run_python", { code: "print(1)" })),
      act("Let me list the files.", { name: TOOL_BASH, arguments: `{"command": "ls ${REPO}"` }),
      act("Let me view the file.", call(TOOL_EDITOR, { command: "view" })),
    ]
    : [
      act("Let me run some Python.", call("run_python", { code: "print(1)" })),
      { content: null, calls: [], text: `Let me list the files.\n<function=${TOOL_BASH}>\n<parameter=command>ls ${REPO}\n</function>` },
      act("Let me view the file.", call(TOOL_EDITOR, { command: "view" })),
    ]
  for (let i = 0; i < turns; i += 1) yield malformed[i % malformed.length] ?? finish("Done.")
  yield finish("Done.")
}

/** Runs a plan over the turns so far and returns its next action (finish again if the plan has ended). */
const drive = (plan: Plan, conversation: Conversation): Action => {
  let step = plan.next(undefined)
  for (const turn of conversation.turns) {
    if (step.done === true) break
    step = plan.next(turn.observation)
  }
  return step.done === true ? finish("Done.") : step.value
}

/** A policy's answer to one request. `uniform` is a deterministic number in [0, 1) for this conversation. */
export const answer = (name: PolicyName, conversation: Conversation, data: PolicyData, uniform: number): PolicyReply => {
  const instance = () => {
    const known = name === "replay" ? data.trajectories.keys() : data.instances.keys()
    return instanceIdOf(conversation.firstUserText, known)
  }
  switch (name) {
    case "oracle": {
      const id = instance()
      const found = id === undefined ? undefined : data.instances.get(id)
      if (found === undefined) {
        return {
          _tag: "Refuse",
          message: id === undefined
            ? "llm-emulator oracle: the first user message names no instance (expected a line 'Instance: <instance_id>')"
            : `llm-emulator oracle: no instance ${id} among the ${data.instances.size} the emulator was given (--instances)`,
        }
      }
      return { _tag: "Act", action: drive(oracle(found), conversation) }
    }
    case "replay": {
      const id = instance()
      const found = id === undefined ? undefined : data.trajectories.get(id)
      if (found === undefined) {
        return {
          _tag: "Refuse",
          message: `llm-emulator replay: no recorded trajectory for ${id ?? "the instance (no 'Instance: <id>' line)"} (--trajectories)`,
        }
      }
      return { _tag: "Act", action: drive(replay(found), conversation) }
    }
    case "empty":
      return { _tag: "Act", action: drive(empty(), conversation) }
    case "loop":
      return { _tag: "Act", action: drive(loop(), conversation) }
    case "babble":
      return { _tag: "Act", action: drive(babble(data.babbleTurns, conversation.mode), conversation) }
    case "judge":
    {
      const pYes = 0.02 + 0.96 * uniform
      return { _tag: "Verdict", yes: pYes >= 0.5, pYes }
    }
  }
}
