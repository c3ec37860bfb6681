// Throughput of the agent's rollout stage against the LLM emulator, and the agent's own overhead per step, in one run.
//
// Every rollout has the same fixed length: the emulator's `replay` policy replays a recorded trajectory of S − 1
// distinct, cheap `execute_bash` calls (`echo step-i`) and then `finish`, so a rollout is S steps and S LLM calls, each
// answered after L ms (the emulator's latencyMs; default S = 30, L = 1000: real agents make tens of calls — the
// mini-swe-agent runs in ../shared/trajectories a median of 35, the OpenHands ones 24 to 50). At each concurrency c
// (default 1, 8, 32):
//   (a) the stage rolls out N = max(4, W·c) distinct instances (one sample each; W = 4 waves by default, so the start,
//       when all c containers are created at once, weighs as it does in a long run, not half of it) with `concurrency`
//       = `llmConcurrency` = c and the client's own llmConcurrency = c, on a fresh DuckDB file (agentMigrations),
//       through the real pieces: OpenAiLlmClient (the openai package over HTTP), the loopback emulator (by default in
//       a process of its own, started with its CLI, as a real endpoint is never in the agent's process), Docker;
//         prepare: a container of swe-gym/base-python with a small git repository at /testbed (create + start + mkdir +
//                  tar copy), created per rollout as a real harness would, removed when the rollout's agent phase ends;
//                  the stage's defaults decide when: a quarter of c more rollouts are prepared ahead of the agent slots,
//                  at most as many containers are made at once as the machine has cores, a rollout that finds a slot
//                  free makes its container while its first LLM call is in flight (the first tool call waits for it);
//         verify:  the echo steps change nothing, so every patch is empty and is graded `empty_patch` without a
//                  container, as the harness's evaluate does for an empty patch (no test run);
//       both inside the measured time: it is the stage's throughput;
//   (b) the baseline: the same container work per rollout (prepare, the S − 1 echo commands through the agent's own
//       execute_bash, the model patch, removal) with no LLM, no agent loop and no DuckDB, N at concurrency c, as fast
//       as the engine goes: what Docker alone allows on this machine, a ceiling for (a).
//
// Reported per level: rollouts/s of (a) (N ÷ wall time of the whole stream), the ideal c ÷ (S × L) (the issue's
// definition: nothing but the LLM's latency), their ratio, and (b)'s rollouts/s against the same ideal; CPU used during
// the level (this process, the emulator's, the Docker engine's processes, the containers', the whole machine, from /proc
// and cgroups); where an (a) rollout's time goes (prepare, steps from the first call's start — overlapping prepare —,
// model patch, container removal, storing + verify); and per step (median and mean over every step of every rollout):
//   wall      = from the step's start to the next step's start (the last step: to its RolloutStep event, i.e. recorded);
//   LLM       = the call's latency_ms as the client measured it (HTTP round trip to the emulator, the L ms included);
//   command   = time inside Container.exec of the step's tool calls (Docker's exec create/start/attach/inspect included);
//   overhead  = wall − LLM − command: the agent's own work (client request building and decoding, the LLM semaphore,
//               tool-call decoding, encoding the step and appending it to the step journal, the RolloutStep event,
//               the loop);
// with overhead split into client (llm_ms − latency_ms), tool (tools_ms − command), record (RolloutStep event − start −
// llm_ms − tools_ms: the step's journal append; before the journal, its DuckDB commit) and loop (next start − event).
//
//   cd libs/agent && npx vite-node --config vitest.config.ts ../../bench/rollout-throughput.ts
//   (needs Docker and the base image: npm run setup; BENCH_STEPS, BENCH_LATENCY_MS, BENCH_LEVELS=1,8,32,
//    BENCH_WAVES=W, BENCH_EMULATOR=inline runs the emulator in this process, BENCH_REPEATS=n repeats every level n
//    times and reports medians, BENCH_BASELINE=0 leaves (b) out, BENCH_TIMELINE=prefix writes every rollout's
//    timings to prefix.c<c>.<label>.tsv)
import type { TaskInstance } from "@swe-gym/domain"
import { OpenAiLlmClient } from "@swe-gym/llm"
import { type RecordedTrajectory, startLlmEmulator } from "@swe-gym/llm-emulator"
import type { Container, Sandbox } from "@swe-gym/sandbox"
import { Store } from "@swe-gym/store"
import { Chunk, Effect, Layer, Stream } from "effect"
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { availableParallelism, loadavg } from "node:os"
import { type ChildProcess, spawn } from "node:child_process"
import { join } from "node:path"
import { type AgentStep, agentMigrations, executeBash, modelPatch, rollout, type RolloutEvent, rolloutSteps } from "../libs/agent/src/index.js"
import { defaultConfig, dockerLayer, makeTestRepo, prepareTestbed, tempDir, testInstance } from "../libs/agent/test/agent-fixtures.js"

const steps = Math.max(2, Number(process.env["BENCH_STEPS"] ?? "30"))
const latencyMs = Math.max(0, Number(process.env["BENCH_LATENCY_MS"] ?? "1000"))
const levels = (process.env["BENCH_LEVELS"] ?? "1,8,32").split(",").map((s) => Math.max(1, Number(s.trim())))
const repeats = Math.max(1, Number(process.env["BENCH_REPEATS"] ?? "1"))
const withBaseline = process.env["BENCH_BASELINE"] !== "0"
/** Rollouts per slot (BENCH_WAVES): N = max(4, waves × c). */
const waves = Math.max(1, Number(process.env["BENCH_WAVES"] ?? "4"))
const rolloutsAt = (c: number) => Math.max(4, waves * c)

const log = (text: string) => void process.stderr.write(`[bench] ${text}\n`)
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}
const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN
}
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ")

/** Clock ticks (user + system) of one process, children reaped included, from /proc (Linux); throws if it is gone. */
const pidTicks = (pid: number | string): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // utime, stime, cutime, cstime: fields 14-17 (12-15 after the command name).
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i] ?? 0), 0)
}
/** Clock ticks of every process whose name is in `names`. */
const ticksOf = (names: ReadonlySet<string>): number => {
  let ticks = 0
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (names.has(readFileSync(`/proc/${pid}/comm`, "utf8").trim())) ticks += pidTicks(pid)
    } catch {
      // The process ended while we looked.
    }
  }
  return ticks
}
/** CPU seconds used by every container so far (cgroup v1 cpuacct of Docker's cgroupfs parent; NaN where absent). */
const containersCpuSeconds = (): number => {
  try {
    return Number(readFileSync("/sys/fs/cgroup/cpuacct/docker/cpuacct.usage", "utf8").trim()) / 1e9
  } catch {
    return Number.NaN
  }
}
/** CPU seconds of one process (0 for none, NaN once it is gone). */
const processCpuSeconds = (pid: number | undefined): number => {
  if (pid === undefined) return 0
  try {
    return pidTicks(pid) / ticksPerSecond
  } catch {
    return Number.NaN
  }
}
const engineNames = new Set(["dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2"])
const ticksPerSecond = 100
/** Busy and total jiffies of the whole machine (/proc/stat's cpu line). */
const machineTicks = (): { busy: number; total: number } => {
  const cpu = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").split(/\s+/).slice(1).map(Number)
  const total = cpu.reduce((a, b) => a + b, 0)
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total }
}

/**
 * The emulator runs in a process of its own (as a real endpoint is never in the agent's process), started with its
 * CLI; its in-flight maximum is then not known here (reported as –). BENCH_EMULATOR=inline: in this process.
 */
const separateEmulator = process.env["BENCH_EMULATOR"] !== "inline"
const emulatorProcess = (dir: string, trajectories: ReadonlyArray<RecordedTrajectory>) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; stats: Effect.Effect<{ maxInFlight: number }>; child: ChildProcess }, Error>((resume) => {
      const file = join(dir, "replay.jsonl")
      writeFileSync(file, trajectories.map((t) => JSON.stringify(t)).join("\n") + "\n")
      const emulatorDir = join(import.meta.dirname, "../tools/llm-emulator")
      const child = spawn(process.execPath, [
        join(import.meta.dirname, "../node_modules/vite-node/vite-node.mjs"),
        "src/main.ts",
        "--",
        "--policy", "replay", "--trajectories", file, "--latency-ms", String(latencyMs),
      ], { cwd: emulatorDir, stdio: ["ignore", "pipe", "inherit"] })
      let out = ""
      let listening = false
      const onData = (chunk: Buffer) => {
        out += chunk.toString()
        const url = /at (http:\/\/127\.0\.0\.1:\d+\S*) /.exec(out)?.[1]
        if (url === undefined) return
        listening = true
        child.stdout.off("data", onData)
        resume(Effect.succeed({ url, stats: Effect.succeed({ maxInFlight: Number.NaN }), child }))
      }
      child.stdout.on("data", onData)
      const failed = (why: string) => {
        if (!listening) resume(Effect.fail(new Error(`the emulator process ${why} before it listened: ${out}`)))
      }
      child.on("error", (error) => failed(`could not start (${error.message})`))
      child.on("exit", (code) => failed(`ended (${code})`))
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGTERM")),
  )

const repo = makeTestRepo()
const docker = dockerLayer()
const dirs: Array<string> = []

/** The recorded trajectory `replay` plays for an instance: S − 1 distinct echo commands (the policy adds `finish`). */
const recorded = (instanceId: string): RecordedTrajectory => ({
  instance_id: instanceId,
  messages: Array.from({ length: steps - 1 }, (_, i) => ({
    role: "assistant",
    content: `Step ${i + 1}.`,
    tool_calls: [{ function: { name: "execute_bash", arguments: JSON.stringify({ command: `echo step-${i + 1}` }) } }],
  })),
})

interface Interval {
  readonly start: number
  readonly end: number
}

/** What one rollout's timings were, by instance. */
interface RolloutTimes {
  started?: number
  finished?: number
  prepare?: Interval
  destroy?: Interval
  readonly execs: Array<Interval>
  /** When each RolloutStep event arrived (the step was recorded), by turn (1-based). */
  readonly stepEvents: Map<number, number>
}

interface StepTimes {
  readonly wall: number
  readonly llm: number
  readonly command: number
  readonly overhead: number
  readonly client: number
  readonly tool: number
  readonly record: number
  readonly loop: number
}

interface LevelRun {
  readonly concurrency: number
  readonly rollouts: number
  readonly wallMs: number
  readonly steps: ReadonlyArray<StepTimes>
  /** Per rollout: its parts in ms. */
  readonly parts: ReadonlyArray<{
    readonly total: number
    readonly prepare: number
    readonly agent: number
    readonly patch: number
    readonly destroy: number
    readonly after: number
  }>
  readonly maxInFlight: number
  /** CPU used during the level, in cores (CPU seconds per wall second): this process, the Docker engine, the machine. */
  readonly cpu: {
    readonly bench: number
    readonly engine: number
    readonly machine: number
    readonly eventLoop: number
    /** The containers' own processes (the exec session servers, the commands). */
    readonly containers: number
    /** The emulator's process, when it has one (else in `bench`). */
    readonly emulator: number
  }
  readonly exitReasons: ReadonlyMap<string, number>
}

/** One level: N rollouts at concurrency c on a fresh DuckDB file and a fresh emulator. */
const runLevel = (concurrency: number, label: string, n = rolloutsAt(concurrency)) =>
  Effect.scoped(Effect.gen(function*() {
    const instances: ReadonlyArray<TaskInstance> = Array.from({ length: n }, (_, i) => testInstance(repo, `bench__${label}-c${concurrency}-${i}`))
    const dir = tempDir("swe-gym-bench-rollout-")
    dirs.push(dir)
    const trajectories = instances.map((i) => recorded(i.instance_id))
    const emulator = separateEmulator
      ? yield* emulatorProcess(dir, trajectories)
      : yield* startLlmEmulator({ policy: "replay", trajectories, latencyMs })
    const services = Layer.mergeAll(
      Store.layer({ path: join(dir, "rollouts.duckdb"), migrations: agentMigrations }),
      OpenAiLlmClient.layer({ baseUrl: emulator.url, model: "replay", llmConcurrency: concurrency }),
    )
    const config = yield* defaultConfig()
    const times = new Map<string, RolloutTimes>()
    const timesOf = (id: string): RolloutTimes => {
      const t = times.get(id) ?? { execs: [], stepEvents: new Map() }
      times.set(id, t)
      return t
    }

    /** A testbed container whose execs are timed, removed (timed) when the rollout's scope closes. */
    const prepare = (instance: TaskInstance) =>
      Effect.gen(function*() {
        const t = timesOf(instance.instance_id)
        const start = Date.now()
        const container = yield* prepareTestbed(repo)
        t.prepare = { start, end: Date.now() }
        // Runs before the sandbox's own release (finalizers run last-in first-out), which then finds it removed.
        yield* Effect.addFinalizer(() =>
          Effect.gen(function*() {
            const from = Date.now()
            yield* container.destroy
            t.destroy = { start: from, end: Date.now() }
          })
        )
        const timed: Container = {
          ...container,
          exec: (cmd, opts) =>
            Effect.suspend(() => {
              const from = Date.now()
              return container.exec(cmd, opts).pipe(Effect.ensuring(Effect.sync(() => t.execs.push({ start: from, end: Date.now() }))))
            }),
        }
        return timed
      })

    const onEvent = (event: RolloutEvent) =>
      Effect.sync(() => {
        const now = Date.now()
        switch (event._tag) {
          case "RolloutStarted":
            timesOf(event.instance_id).started = now
            break
          case "RolloutStep":
            timesOf(event.instance_id).stepEvents.set(event.turn, now)
            break
          case "RolloutFinished":
            timesOf(event.trajectory.instance_id).finished = now
            break
          case "RolloutRetrying":
            log(`  retrying ${event.instance_id}: ${event.detail}`)
            break
          case "RolloutResumed":
            log(`  ${event.trajectory.instance_id} was answered from the store: the DuckDB file was not fresh`)
            break
        }
      })

    const verify = (_: TaskInstance, patch: string) =>
      patch.trim() === ""
        ? Effect.succeed({ resolved: false, failure_class: "empty_patch", evaluation_key: "empty" })
        : Effect.die(new Error(`an echo-only rollout produced a patch:\n${patch}`))

    return yield* Effect.gen(function*() {
      const cpu0 = process.cpuUsage()
      const emulatorPid = "child" in emulator ? emulator.child.pid : undefined
      const emulator0 = processCpuSeconds(emulatorPid)
      const containers0 = containersCpuSeconds()
      const engine0 = ticksOf(engineNames)
      const machine0 = machineTicks()
      const elu0 = performance.eventLoopUtilization()
      const started = performance.now()
      const trajectories = yield* Stream.fromIterable(instances).pipe(
        rollout({ config, runId: `bench-${label}`, concurrency, llmConcurrency: concurrency, prepare, verify, onEvent }),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
      )
      const wallMs = performance.now() - started
      const cpuUsed = process.cpuUsage(cpu0)
      const machine1 = machineTicks()
      const cpu = {
        bench: (cpuUsed.user + cpuUsed.system) / 1000 / wallMs,
        engine: (ticksOf(engineNames) - engine0) / ticksPerSecond / (wallMs / 1000),
        machine: ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * availableParallelism(),
        eventLoop: performance.eventLoopUtilization(elu0).utilization,
        containers: (containersCpuSeconds() - containers0) / (wallMs / 1000),
        emulator: (processCpuSeconds(emulatorPid) - emulator0) / (wallMs / 1000),
      }

      const exitReasons = new Map<string, number>()
      for (const t of trajectories) exitReasons.set(t.exit_reason, (exitReasons.get(t.exit_reason) ?? 0) + 1)
      const bad = trajectories.filter((t) => t.exit_reason !== "submitted" || t.turns !== steps)
      if (trajectories.length !== n || bad.length > 0) {
        throw new Error(
          `expected ${n} rollouts of ${steps} turns ending submitted, got ${trajectories.length}: ${
            bad.map((t) => `${t.instance_id} ${t.exit_reason} after ${t.turns} (${t.exit_detail ?? ""})`).join("; ")
          }`,
        )
      }

      const stepTimes: Array<StepTimes> = []
      const parts: Array<LevelRun["parts"][number]> = []
      for (const trajectory of trajectories) {
        const t = timesOf(trajectory.instance_id)
        const recordedSteps: ReadonlyArray<AgentStep> = yield* rolloutSteps(trajectory.rollout_key)
        const starts = recordedSteps.map((s) => Date.parse(s.started_at))
        recordedSteps.forEach((s, i) => {
          const start = starts[i] ?? Number.NaN
          const event = t.stepEvents.get(s.index + 1) ?? Number.NaN
          const next = starts[i + 1] ?? event
          const command = t.execs.filter((x) => x.start >= start && x.start < next).reduce((sum, x) => sum + x.end - x.start, 0)
          const wall = next - start
          stepTimes.push({
            wall,
            llm: s.llm_call.latency_ms,
            command,
            overhead: wall - s.llm_call.latency_ms - command,
            client: s.llm_ms - s.llm_call.latency_ms,
            tool: s.tools_ms - command,
            record: event - start - s.llm_ms - s.tools_ms,
            loop: next - event,
          })
        })
        const lastEvent = t.stepEvents.get(steps) ?? Number.NaN
        const firstStart = starts[0] ?? Number.NaN
        if (t.started === undefined || t.finished === undefined || t.prepare === undefined || t.destroy === undefined) {
          throw new Error(`${trajectory.instance_id}: timings missing`)
        }
        parts.push({
          total: t.finished - t.started,
          prepare: t.prepare.end - t.prepare.start,
          agent: lastEvent - firstStart,
          patch: t.destroy.start - lastEvent,
          destroy: t.destroy.end - t.destroy.start,
          after: t.finished - t.destroy.end,
        })
      }
      const timeline = process.env["BENCH_TIMELINE"]
      if (timeline !== undefined) {
        // Per rollout, seconds from the level's start: started, container ready, first step, last step recorded, container removal started and done, finished.
        const t0 = Date.now() - wallMs
        const rows = [...times.entries()].map(([id, t]) => [id, t.started, t.prepare?.start, t.prepare?.end, t.stepEvents.get(1), t.stepEvents.get(steps), t.destroy?.start, t.destroy?.end, t.finished]
          .map((x) => (typeof x === "number" ? ((x - t0) / 1000).toFixed(1) : x)).join("\t"))
        writeFileSync(`${timeline}.c${concurrency}.${label}.tsv`, ["id\tstarted\tprepare_start\tready\tfirst_step\tlast_step\tremove_start\tremoved\tfinished", ...rows].join("\n") + "\n")
      }
      const stats = yield* emulator.stats
      return { concurrency, rollouts: n, wallMs, steps: stepTimes, parts, maxInFlight: stats.maxInFlight, cpu, exitReasons } satisfies LevelRun
    }).pipe(Effect.provide(services))
  }))

/**
 * The baseline, (b): the same container work as a rollout (prepare, the S − 1 echo commands through the agent's own
 * execute_bash, the model patch, removal) with no LLM, no agent loop and no DuckDB, N of them at concurrency c, as fast
 * as the engine goes. Its rollouts/s is what Docker alone allows on this machine: a ceiling for the stage.
 */
const dockerOnly = (concurrency: number) =>
  Effect.gen(function*() {
    const { limits } = yield* defaultConfig()
    const n = rolloutsAt(concurrency)
    const engine0 = ticksOf(engineNames)
    const machine0 = machineTicks()
    const started = performance.now()
    yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      () =>
        Effect.scoped(Effect.gen(function*() {
          const container = yield* prepareTestbed(repo)
          for (let i = 1; i < steps; i++) yield* executeBash(container, { command: `echo step-${i}` }, limits)
          const patch = yield* modelPatch(container, repo.baseCommit)
          if (patch.patch !== "" || patch.problem !== undefined) throw new Error(`baseline: unexpected model patch ${JSON.stringify(patch)}`)
          yield* container.destroy
        })),
      { concurrency, discard: true },
    )
    const wallMs = performance.now() - started
    const machine1 = machineTicks()
    return {
      wallMs,
      perSecond: n / (wallMs / 1000),
      engine: (ticksOf(engineNames) - engine0) / ticksPerSecond / (wallMs / 1000),
      machine: ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * availableParallelism(),
    }
  })

// ── the run ──────────────────────────────────────────────────────────────────────────────────────────────────────────

const ms = (x: number) => `${Math.round(x)} ms`
const secs = (x: number) => `${(x / 1000).toFixed(1)} s`

const main = Effect.gen(function*() {
  const loadBefore = load()
  log(`S = ${steps} steps, L = ${latencyMs} ms, levels ${levels.join(", ")}, ${repeats} repetition(s); load average ${loadBefore}`)
  log("warm-up: one rollout at concurrency 1 (not reported)")
  yield* runLevel(1, "warm", 1)
  const runs = new Map<number, Array<LevelRun>>()
  const baselines = new Map<number, Array<Effect.Effect.Success<ReturnType<typeof dockerOnly>>>>()
  for (let r = 0; r < repeats; r++) {
    for (const c of levels) {
      log(`repetition ${r + 1}/${repeats}: concurrency ${c}, ${rolloutsAt(c)} rollouts (load average ${load()})`)
      const run = yield* runLevel(c, `r${r}`)
      log(`  ${secs(run.wallMs)}, ${(run.rollouts / (run.wallMs / 1000)).toFixed(3)} rollouts/s`)
      runs.set(c, [...(runs.get(c) ?? []), run])
      if (!withBaseline) continue
      log(`  (b) containers only, concurrency ${c}`)
      const base = yield* dockerOnly(c)
      log(`  ${secs(base.wallMs)}, ${base.perSecond.toFixed(3)} rollouts/s`)
      baselines.set(c, [...(baselines.get(c) ?? []), base])
    }
  }
  const baseOf = (c: number) => baselines.get(c) ?? []

  const idealPerSecond = (c: number) => c / (steps * latencyMs / 1000)
  const of = (c: number) => runs.get(c) ?? []
  const throughput = (c: number) => median(of(c).map((r) => r.rollouts / (r.wallMs / 1000)))
  const allSteps = (c: number) => of(c).flatMap((r) => r.steps)
  const allParts = (c: number) => of(c).flatMap((r) => r.parts)
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
  // Median and mean: throughput follows the mean, which the slow tail of steps pulls up.
  const stepCol = (c: number, f: (s: StepTimes) => number) => `${ms(median(allSteps(c).map(f)))} / ${ms(mean(allSteps(c).map(f)))}`
  const partCol = (c: number, f: (p: LevelRun["parts"][number]) => number) => secs(median(allParts(c).map(f)))

  const lines = [
    `rollout-throughput: S = ${steps} steps per rollout (${steps - 1} × execute_bash \`echo step-i\` + finish), L = ${latencyMs} ms per LLM response, N = max(4, ${waves}c) rollouts per level, the emulator ${separateEmulator ? "in a process of its own" : "in this process"}, ${
      repeats === 1 ? "1 repetition (no medians over runs)" : `medians of ${repeats} repetitions`
    }, ${availableParallelism()} CPUs, load average ${loadBefore} (start) ${load()} (end)`,
    "",
    "| concurrency c | rollouts | (a) wall time | (a) rollouts/s | ideal c/(S×L) | **(a)/ideal** | (b) containers only, rollouts/s | (b)/ideal | LLM requests in flight (max) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...levels.map((c) => {
      const b = median(baseOf(c).map((x) => x.perSecond))
      const fixed = (x: number, digits: number) => (Number.isNaN(x) ? "–" : x.toFixed(digits))
      return `| ${c} | ${rolloutsAt(c)} | ${secs(median(of(c).map((r) => r.wallMs)))} | ${throughput(c).toFixed(3)} | ${idealPerSecond(c).toFixed(3)} | **${
        (throughput(c) / idealPerSecond(c)).toFixed(2)
      }** | ${fixed(b, 3)} | ${fixed(b / idealPerSecond(c), 2)} | ${fixed(Math.max(...of(c).map((r) => r.maxInFlight)), 0)} |`
    }),
    "",
    "CPU during each level, in cores (CPU seconds per second of wall time; the machine has " + availableParallelism() + "):",
    "",
    `| c | (a) this process (agent, client, DuckDB${separateEmulator ? "" : ", emulator"}) | (a) its event loop busy |${
      separateEmulator ? " (a) emulator process |" : ""
    } (a) Docker engine (dockerd, containerd, shims) | (a) containers (session servers, commands) | (a) whole machine (other jobs included) | (b) Docker engine | (b) whole machine |`,
    `| ---: | ---: | ---: |${separateEmulator ? " ---: |" : ""} ---: | ---: | ---: | ---: | ---: |`,
    ...levels.map((c) => {
      const col = (f: (r: LevelRun) => number, digits = 2) => median(of(c).map(f)).toFixed(digits)
      return `| ${c} | ${col((r) => r.cpu.bench)} | ${(median(of(c).map((r) => r.cpu.eventLoop)) * 100).toFixed(0)}% |${
        separateEmulator ? ` ${col((r) => r.cpu.emulator)} |` : ""
      } ${col((r) => r.cpu.engine)} | ${col((r) => r.cpu.containers)} | ${col((r) => r.cpu.machine)} | ${baseOf(c).length === 0 ? "–" : median(baseOf(c).map((x) => x.engine)).toFixed(2)} | ${
        baseOf(c).length === 0 ? "–" : median(baseOf(c).map((x) => x.machine)).toFixed(2)
      } |`
    }),
    "",
    "where a rollout's time goes (medians per rollout):",
    "",
    "| c | rollout | prepare (container + repo) | S steps (overlapping prepare) | model patch | container removal | store + verify |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...levels.map((c) =>
      `| ${c} | ${partCol(c, (p) => p.total)} | ${partCol(c, (p) => p.prepare)} | ${partCol(c, (p) => p.agent)} | ${partCol(c, (p) => p.patch)} | ${
        partCol(c, (p) => p.destroy)
      } | ${partCol(c, (p) => p.after)} |`
    ),
    "",
    "per step (median / mean over every step; overhead = wall − LLM − command, split into client + tool + record + loop; the first step's tool part includes its wait for the container):",
    "",
    "| c | step wall | LLM latency_ms | command (exec) | **agent overhead** | overhead p90 | client | tool | record (journal) | loop |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...levels.map((c) =>
      `| ${c} | ${stepCol(c, (s) => s.wall)} | ${stepCol(c, (s) => s.llm)} | ${stepCol(c, (s) => s.command)} | **${stepCol(c, (s) => s.overhead)}** | ${
        ms(quantile(allSteps(c).map((s) => s.overhead), 0.9))
      } | ${stepCol(c, (s) => s.client)} | ${stepCol(c, (s) => s.tool)} | ${stepCol(c, (s) => s.record)} | ${stepCol(c, (s) => s.loop)} |`
    ),
  ]
  console.log(lines.join("\n"))
})

try {
  await Effect.runPromise(main.pipe(Effect.provide(docker)))
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
