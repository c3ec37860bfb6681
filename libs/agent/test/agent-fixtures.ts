// Shared by the agent tests: a small git repository (fixed dates, so its base commit is known before any container
// exists), containers of swe-gym's Python base image with that repository at /testbed, a scripted LlmClient for unit
// runs of the loop, and the task instance of the repository.
import { NodeContext } from "@effect/platform-node"
import type { TaskInstance, ToolCall } from "@swe-gym/domain"
import { type ChatCompletion, type ChatRequest, LlmClient, type LlmError } from "@swe-gym/llm"
import { baseImageTag, type Container, DockerClient, DockerClientLive, dockerSandboxLayer, freshRunId, pythonBaseRecipe, Sandbox } from "@swe-gym/sandbox"
import { Duration, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { decodeAgentConfig } from "../src/agent-config.js"
import { readFileSync } from "node:fs"

/** The image the tests run in (built by `npm run setup`). */
export const testImage = baseImageTag(pythonBaseRecipe)

/** A temp directory. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix))

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: "swe-gym",
  GIT_AUTHOR_EMAIL: "swe-gym@example.invalid",
  GIT_COMMITTER_NAME: "swe-gym",
  GIT_COMMITTER_EMAIL: "swe-gym@example.invalid",
  GIT_AUTHOR_DATE: "2024-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2024-01-01T00:00:00Z",
}

/** The test repository: its tar (work tree and .git) and base commit. */
export interface TestRepo {
  readonly tar: Uint8Array
  readonly baseCommit: string
  /** The fix (add() adds), as `git diff` writes it. */
  readonly goldPatch: string
}

/** A small Python repository with one commit (same bytes, same sha on every run). */
export const makeTestRepo = (): TestRepo => {
  const dir = tempDir("swe-gym-agent-repo-")
  mkdirSync(join(dir, "calc"))
  mkdirSync(join(dir, "tests"))
  mkdirSync(join(dir, ".hidden"))
  writeFileSync(join(dir, "calc", "__init__.py"), "")
  writeFileSync(join(dir, "calc", "ops.py"), "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n")
  writeFileSync(join(dir, "tests", "test_ops.py"), "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
  writeFileSync(join(dir, ".hidden", "secret.txt"), "hidden\n")
  writeFileSync(join(dir, "README.md"), "# calc\n")
  const git = (...args: Array<string>) => execFileSync("git", args, { cwd: dir, env: gitEnv, encoding: "utf8" }).trim()
  git("init", "-q", "-b", "main")
  git("add", "-A")
  git("commit", "-q", "-m", "base")
  const baseCommit = git("rev-parse", "HEAD")
  const tar = execFileSync("tar", ["-C", dir, "-cf", "-", "."], { maxBuffer: 64 * 1024 * 1024 })
  writeFileSync(join(dir, "calc", "ops.py"), "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
  const goldPatch = execFileSync("git", ["diff", "--no-color"], { cwd: dir, encoding: "utf8" })
  return { tar: new Uint8Array(tar), baseCommit, goldPatch }
}

/** The task instance of the test repository. */
export const testInstance = (repo: TestRepo, id = "calc__calc-1"): TaskInstance => ({
  instance_id: id,
  repo: "calc/calc",
  base_commit: repo.baseCommit,
  patch: repo.goldPatch,
  test_patch: "",
  problem_statement: "add() subtracts instead of adding.",
  hints_text: "",
  created_at: "2024-01-01T00:00:00Z",
  version: "0.1",
  environment_setup_commit: "",
  FAIL_TO_PASS: ["tests/test_ops.py::test_add"],
  PASS_TO_PASS: [],
})

/** Container limits of the tests: small, so a runaway command meets them quickly. */
export const testLimits = { memoryBytes: 512 * 1024 ** 2, pids: 128, cpus: 1 }

/** A container of the test image, no network, with the repository at /testbed. */
export const prepareTestbed = (repo: TestRepo) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox
    const container = yield* sandbox.create({ image: testImage, limits: testLimits, labels: { "swe-gym.test": "agent" } })
    yield* container.exec(["mkdir", "-p", "/testbed"], { timeout: Duration.seconds(30) })
    yield* container.putArchive(repo.tar, "/testbed")
    return container
  })

/** Runs a command in the container and returns stdout (fails on a non-zero exit). */
export const sh = (container: Container, command: string) =>
  Effect.flatMap(container.exec(["/bin/sh", "-c", command], { timeout: Duration.seconds(60) }), (r) =>
    r.exitCode === 0 ? Effect.succeed(r.stdout) : Effect.fail(new Error(`${command} exited ${r.exitCode}: ${r.stderr}`)))

/** Fails with the reason (never skips) when the engine or the test image is missing. */
const requireTestImage = Effect.gen(function*() {
  const { docker, endpoint } = yield* DockerClient
  yield* Effect.tryPromise(() => docker.getImage(testImage).inspect()).pipe(
    Effect.mapError(() => new Error(`test image ${testImage} is not on the Docker engine at ${endpoint}: run npm run setup (it builds it)`)),
  )
})

/** Sandbox on the local engine for one run id, + platform services. */
export const dockerLayer = (runId = `test-agent-${freshRunId()}`) =>
  Layer.mergeAll(dockerSandboxLayer({ runId }), NodeContext.layer).pipe(
    Layer.provideMerge(Layer.effectDiscard(requireTestImage).pipe(Layer.provideMerge(DockerClientLive))),
  )

/** data/agents/default.json, decoded. */
export const defaultConfig = () =>
  decodeAgentConfig(
    JSON.parse(readFileSync(join(import.meta.dirname, "../../../data/agents/default.json"), "utf8")),
    "data/agents/default.json",
  )

// ── a scripted LLM (units of the loop; the end-to-end test uses the real client and the emulator) ─────────────────────

/** One scripted answer: tool calls (name and raw arguments text), text-mode parse errors, or an error. */
export type ScriptedAnswer =
  | { readonly calls: ReadonlyArray<readonly [name: string, args: string]>; readonly content?: string }
  | { readonly parseErrors: ReadonlyArray<string> }
  | { readonly fail: LlmError }

let callCounter = 0

/** A ChatCompletion as the real client returns it. */
export const completion = (request: ChatRequest, answer: Exclude<ScriptedAnswer, { fail: LlmError }>): ChatCompletion => {
  const toolCalls: Array<ToolCall> = "calls" in answer
    ? answer.calls.map(([name, args]) => ({ id: `call_${++callCounter}`, type: "function", function: { name, arguments: args } }))
    : []
  const message = {
    role: "assistant" as const,
    content: "calls" in answer ? answer.content ?? null : "<function=oops>",
    ...(toolCalls.length === 0 ? {} : { tool_calls: toolCalls }),
  }
  const usage = { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 }
  return {
    message,
    toolCallErrors: "parseErrors" in answer
      ? answer.parseErrors.map((m) => ({ _tag: "ToolCallParseError" as const, message: m, text: "<function=oops>" }))
      : [],
    finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop",
    usage,
    logprobs: undefined,
    call: {
      ...(request.label === undefined ? {} : { label: request.label }),
      model: "scripted",
      tool_mode: request.toolMode ?? "native",
      request: { model: "scripted", messages: request.messages, tools: request.tools ?? [] },
      response: { choices: [{ message, finish_reason: "tool_calls" }], usage },
      usage,
      latency_ms: 1,
      attempts: 1,
      started_at: new Date().toISOString(),
    },
  }
}

/** An LlmClient answering by `script(turn, request)` (turn counts from 0 per conversation: messages decide it). */
export const scriptedLlm = (script: (turn: number, request: ChatRequest) => ScriptedAnswer, model = "scripted") =>
  Layer.succeed(LlmClient, {
    model,
    complete: (request) =>
      Effect.suspend(() => {
        const turn = request.messages.filter((m) => m.role === "assistant").length
        const answer = script(turn, request)
        return "fail" in answer ? Effect.fail(answer.fail) : Effect.succeed(completion(request, answer))
      }),
  })

/** JSON text of tool arguments. */
export const args = (value: Record<string, unknown>): string => JSON.stringify(value)
/** Verification by the patch text alone (tests of the stage's bookkeeping; the e2e test runs the real tests). */
export const verifyByText = (_: TaskInstance, patch: string) =>
  Effect.succeed({
    resolved: patch.includes("+    return a + b"),
    failure_class: patch.trim() === "" ? "empty_patch" : patch.includes("+    return a + b") ? "resolved" : "unresolved",
    evaluation_key: createHash("sha256").update(patch).digest("hex"),
  })
