#!/usr/bin/env node
import { Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option, Redacted } from "effect"
import { startLlmEmulator } from "./emulator.js"
import { FAULT_KINDS } from "./faults.js"
import { POLICIES } from "./policies.js"
import { readInstances, readTrajectories } from "./task-files.js"

const port = Options.integer("port").pipe(Options.withDefault(0), Options.withDescription("port on 127.0.0.1 (0: any free)"))
const policy = Options.choice("policy", POLICIES).pipe(
  Options.withDefault("oracle" as const),
  Options.withDescription("policy for requests whose model name is not a policy name"),
)
const instances = Options.file("instances", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("task instances (JSONL) for the oracle policy"),
)
const trajectories = Options.file("trajectories", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("recorded trajectories (JSONL) for the replay policy"),
)
const apiKey = Options.redacted("api-key").pipe(
  Options.optional,
  Options.withDescription("require this key (Authorization: Bearer KEY)"),
)
const latencyMs = Options.integer("latency-ms").pipe(Options.withDefault(0), Options.withDescription("wait before every response"))
const faultRate = Options.float("fault-rate").pipe(Options.withDefault(0), Options.withDescription("share of requests that get a fault (0-1)"))
const faultSeed = Options.integer("fault-seed").pipe(Options.withDefault(0))
const faultKinds = Options.choice("fault", FAULT_KINDS).pipe(
  Options.repeated,
  Options.withDescription("a fault kind to draw from (repeat; default rate_limit, server_error, reset, slow)"),
)
const retryAfter = Options.text("retry-after").pipe(Options.withDefault("1"), Options.withDescription("Retry-After of 429s: seconds or an HTTP date"))
const contextWindow = Options.integer("context-window").pipe(Options.optional, Options.withDescription("estimated tokens above which requests get a context-length 400"))
const babbleTurns = Options.integer("babble-turns").pipe(Options.withDefault(3))
const seed = Options.integer("seed").pipe(Options.withDefault(0), Options.withDescription("seed of logprobs and judge verdicts"))

const command = Command.make(
  "llm-emulator",
  { port, policy, instances, trajectories, apiKey, latencyMs, faultRate, faultSeed, faultKinds, retryAfter, contextWindow, babbleTurns, seed },
  (o) =>
    Effect.scoped(Effect.gen(function*() {
      const rows = Option.isSome(o.instances) ? yield* readInstances(o.instances.value) : []
      const recorded = Option.isSome(o.trajectories) ? yield* readTrajectories(o.trajectories.value) : []
      const emulator = yield* startLlmEmulator({
        port: o.port,
        policy: o.policy,
        instances: rows,
        trajectories: recorded,
        latencyMs: o.latencyMs,
        babbleTurns: o.babbleTurns,
        seed: o.seed,
        faults: {
          rate: o.faultRate,
          seed: o.faultSeed,
          ...(o.faultKinds.length === 0 ? {} : { kinds: o.faultKinds }),
          retryAfter: /^\d+$/.test(o.retryAfter) ? Number(o.retryAfter) : o.retryAfter,
        },
        ...(Option.isSome(o.apiKey) ? { apiKey: Redacted.make(Redacted.value(o.apiKey.value)) } : {}),
        ...(Option.isSome(o.contextWindow) ? { contextWindow: o.contextWindow.value } : {}),
      })
      yield* Console.log(
        `llm-emulator (${o.policy}, ${rows.length} instances, ${recorded.length} trajectories) at ${emulator.url} (LLM_BASE_URL=${emulator.url})`,
      )
      return yield* Effect.never
    })),
)

const cli = Command.run(command, { name: "llm-emulator", version: "0.1.0" })

cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain)
