// Run by crash.test.ts in a child process (vite-node), which it kills with SIGKILL mid-run: the rollout stage over two
// instances, k = 2, against the emulator's oracle, printing a line per recorded step.
import { OpenAiLlmClient } from "@swe-gym/llm"
import { Store } from "@swe-gym/store"
import { Effect, Layer, Stream } from "effect"
import { agentMigrations } from "../src/rollout-store.js"
import { rollout } from "../src/rollout.js"
import { defaultConfig, dockerLayer, makeTestRepo, prepareTestbed, testInstance, verifyByText } from "./agent-fixtures.js"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set: crash-child.ts is run by crash.test.ts`)
  return value
}

const repo = makeTestRepo()
const program = Effect.gen(function*() {
  const config = yield* defaultConfig()
  yield* Stream.make(testInstance(repo, "calc__calc-1"), testInstance(repo, "calc__calc-2")).pipe(
    rollout({
      config,
      runId: env("CRASH_RUN"),
      samples: 2,
      concurrency: 2,
      prepare: () => prepareTestbed(repo),
      verify: verifyByText,
      onEvent: (e) =>
        e._tag === "RolloutStep" ? Effect.sync(() => process.stdout.write(`STEP ${e.instance_id} ${e.sample} ${e.turn}\n`)) : Effect.void,
    }),
    Stream.runDrain,
  )
}).pipe(
  Effect.provide(Layer.mergeAll(
    dockerLayer(env("CRASH_RUN")),
    Store.layer({ path: env("CRASH_DB"), migrations: agentMigrations }),
    OpenAiLlmClient.layer({ baseUrl: env("CRASH_URL"), model: "oracle" }),
  )),
)

Effect.runPromise(program).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  },
)
