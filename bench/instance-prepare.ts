// Cost of preparing an instance container on a big history, against the plain way of getting the base tree, in one run:
//   a generated repository (BENCH_COMMITS commits, default 20,000; BENCH_FILES files, default 5,000; two files changed per
//   commit) is built into an environment image at its newest commit (not timed); then, per repetition:
//   (a) InstanceEnvironments.prepare, history "base-only" (the default): a fresh container at base_commit with no later
//       history, its check included, removed at the end;
//   (b) the baseline: a fresh container of the same image with the same limits, `git archive <base> | tar -x` into an
//       empty directory, removed at the end (what a hand harness does, with no history at all);
//   (c) InstanceEnvironments.prepare, history "full" (every ancestor of base), for reference.
// Two bases: BENCH_NEAR commits before the newest (default 300: an environment is built at the newest base of its
// version, so most instances are a few hundred commits older) and BENCH_FAR (default 10,000: nearly every file differs).
// Prints medians of BENCH_REPEATS (default 3) and the ratios (a)/(b), (c)/(b); then where (a)'s time goes, step by step.
//
//   cd libs/harness && npx vite-node --config vitest.config.ts ../../bench/instance-prepare.ts
//   (needs Docker and the base image: npm run setup)
import { NodeContext } from "@effect/platform-node"
import type { TaskInstance } from "@swe-gym/domain"
import { mirrorTable } from "@swe-gym/git"
import { DefaultLimits, Sandbox } from "@swe-gym/sandbox"
import { Effect, Layer } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { availableParallelism, loadavg } from "node:os"
import { join } from "node:path"
import { type HistoryMode, InstanceEnvironments, instanceEnvironmentsLayer, purgeScript, RepoDir } from "../libs/harness/src/index.js"
import { dockerLayer, tempDir, testSpec } from "../libs/harness/test/harness-fixtures.js"

const commits = Number(process.env["BENCH_COMMITS"] ?? "20000")
const files = Number(process.env["BENCH_FILES"] ?? "5000")
const near = Number(process.env["BENCH_NEAR"] ?? "300")
const far = Number(process.env["BENCH_FAR"] ?? "10000")
const repeats = Math.max(1, Number(process.env["BENCH_REPEATS"] ?? "3"))
const log = (text: string) => void process.stderr.write(`[bench] ${text}\n`)
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}

// ── the repository ───────────────────────────────────────────────────────────────────────────────────────────────────

/** A bare repository of `commits` commits over `files` files, written through git fast-import. */
const generateRepository = async (dir: string): Promise<void> => {
  execFileSync("git", ["init", "-q", "--bare", "-b", "main", dir])
  const child = spawn("git", ["--git-dir", dir, "fast-import", "--quiet"], { stdio: ["pipe", "inherit", "inherit"] })
  const done = new Promise<void>((resolve, reject) => child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`)))))
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`
  const content = (i: number, v: number) => `# module ${i} version ${v}\n${`def f${i}():\n    return ${v}\n`.repeat(20)}`
  const write = (s: string) => (child.stdin.write(s) ? Promise.resolve() : new Promise<void>((r) => child.stdin.once("drain", () => r())))
  let t = 1_600_000_000
  let chunk = `commit refs/heads/main\nmark :1\ncommitter Bench <b@example.com> ${t} +0000\n${data("initial")}`
  for (let i = 0; i < files; i++) chunk += `M 100644 inline pkg/d${i % 50}/m${i}.py\n${data(content(i, 0))}`
  await write(`${chunk}\n`)
  for (let c = 2; c <= commits; c++) {
    t += 60
    let text = `commit refs/heads/main\nmark :${c}\ncommitter Bench <b@example.com> ${t} +0000\n${data(`change ${c}`)}from :${c - 1}\n`
    for (let k = 0; k < 2; k++) {
      const i = (c * 7919 + k * 104729) % files
      text += `M 100644 inline pkg/d${i % 50}/m${i}.py\n${data(content(i, c))}`
    }
    await write(`${text}\n`)
  }
  child.stdin.end()
  await done
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────────────────────────────

const mirror = join(tempDir("swe-gym-bench-prepare-"), "big.git")
log(`generating ${commits} commits over ${files} files`)
await generateRepository(mirror)
const revList = execFileSync("git", ["--git-dir", mirror, "rev-list", "main"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).trim().split("\n")
const newest = revList[0] ?? ""
const baseAt = (back: number) => revList[Math.min(back, revList.length - 1)] ?? ""
const repo = "bench/big"
const spec = testSpec({ repo, env: { SWE_GYM_BENCH: "instance-prepare" } })
const instanceAt = (back: number): TaskInstance => ({
  instance_id: `bench__big-${back}`,
  repo,
  base_commit: baseAt(back),
  patch: "",
  test_patch: "",
  problem_statement: "",
  hints_text: "",
  created_at: "2020-01-01T00:00:00Z",
  version: "1.0",
  environment_setup_commit: newest,
  FAIL_TO_PASS: [],
  PASS_TO_PASS: [],
})

const environments = (history: HistoryMode) =>
  instanceEnvironmentsLayer({ mirrors: mirrorTable({ [repo]: mirror }), specs: [spec], history, build: { logDir: tempDir("swe-gym-bench-logs-") } })
const docker = dockerLayer()
const run = <A, E>(effect: Effect.Effect<A, E, InstanceEnvironments | Sandbox>, history: HistoryMode) =>
  Effect.runPromise(effect.pipe(Effect.provide(environments(history)), Effect.provide(Layer.mergeAll(docker, NodeContext.layer))))

const timed = async (f: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await f()
  return performance.now() - started
}

const prepareOnce = (instance: TaskInstance, history: HistoryMode) =>
  run(Effect.scoped(Effect.flatMap(InstanceEnvironments, (e) => e.prepare(instance))), history)

const archiveOnce = (instance: TaskInstance) =>
  run(Effect.scoped(Effect.gen(function* () {
    const environments = yield* InstanceEnvironments
    const image = yield* environments.imageFor(instance)
    const sandbox = yield* Sandbox
    const container = yield* sandbox.create({ image: image.id, workdir: RepoDir, env: { ...image.spec.env }, limits: DefaultLimits })
    const r = yield* container.exec(["sh", "-c", `mkdir /tmp/base && git archive ${instance.base_commit} | tar -x -C /tmp/base`], { timeout: "10 minutes" })
    if (r.exitCode !== 0) return yield* Effect.die(new Error(`git archive failed: ${r.stderr}`))
  })), "base-only")

/** Where (a)'s time goes: the purge script's steps timed inside one container, then the history check. */
const breakdown = (instance: TaskInstance) =>
  run(Effect.scoped(Effect.gen(function* () {
    const environments = yield* InstanceEnvironments
    const image = yield* environments.imageFor(instance)
    const sandbox = yield* Sandbox
    const t0 = performance.now()
    const container = yield* sandbox.create({ image: image.id, workdir: RepoDir, env: { ...image.spec.env }, limits: DefaultLimits })
    const created = performance.now() - t0
    // Each line of the script timed on its own (`date +%s%N` around it).
    const steps = purgeScript(instance.base_commit, "base-only").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("set "))
    const script = ["set -eu", ...steps.flatMap((l, i) => [`s=$(date +%s%N)`, l, `echo "step ${i} $(( ($(date +%s%N) - s) / 1000000 ))" >&2`])].join("\n")
    const r = yield* container.exec(["sh", "-c", script], { timeout: "10 minutes" })
    const times = [...r.stderr.matchAll(/^step (\d+) (\d+)$/gm)].map((m) => ({ step: steps[Number(m[1])] ?? "", ms: Number(m[2]) }))
    return { created, times: times.filter((t) => t.ms >= 20) }
  })), "base-only")

log(`building the environment image at ${newest.slice(0, 12)} (not timed)`)
await run(Effect.flatMap(InstanceEnvironments, (e) => e.imageFor(instanceAt(near))), "base-only")
await archiveOnce(instanceAt(near)) // warm caches once, untimed

const rows: Array<string> = []
const ratios: Array<string> = []
for (const back of [near, far]) {
  const instance = instanceAt(back)
  const a: Array<number> = []
  const b: Array<number> = []
  const c: Array<number> = []
  for (let i = 0; i < repeats; i++) {
    a.push(await timed(() => prepareOnce(instance, "base-only")))
    b.push(await timed(() => archiveOnce(instance)))
    c.push(await timed(() => prepareOnce(instance, "full")))
    log(`base ${back} back, repetition ${i + 1}: (a) ${(a.at(-1) ?? 0).toFixed(0)} ms, (b) ${(b.at(-1) ?? 0).toFixed(0)} ms, (c) ${(c.at(-1) ?? 0).toFixed(0)} ms`)
  }
  const [ma, mb, mc] = [median(a), median(b), median(c)]
  const changed = execFileSync("git", ["--git-dir", mirror, "diff", "--name-only", instance.base_commit, newest], { encoding: "utf8" }).trim().split("\n").length
  rows.push(`| ${back} commits before the newest (${changed} of ${files} files differ) | ${(ma / 1000).toFixed(2)} s | ${(mb / 1000).toFixed(2)} s | ${(mc / 1000).toFixed(2)} s | ${(ma / mb).toFixed(2)}x | ${(mc / mb).toFixed(2)}x |`)
  ratios.push(`base ${back} back: prepare (base-only) / git archive = ${(ma / mb).toFixed(2)}x; prepare (full) / git archive = ${(mc / mb).toFixed(2)}x`)
}
const where = await breakdown(instanceAt(near))

console.log([
  `instance-prepare: generated repository, ${commits} commits, ${files} files; container limits ${DefaultLimits.cpus} CPU, ${DefaultLimits.memoryBytes / 1024 ** 3} GiB; ${repeats === 1 ? "1 repetition" : `medians of ${repeats}`}; ${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  "",
  "| base | (a) prepare, base-only | (b) git archive \\| tar -x | (c) prepare, full | (a)/(b) | (c)/(b) |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
  ...rows,
  "",
  ...ratios,
  "",
  `where (a) goes, base ${near} back (steps of 20 ms or more; container create ${where.created.toFixed(0)} ms):`,
  ...where.times.map((t) => `  ${String(t.ms).padStart(6)} ms  ${t.step.slice(0, 110)}`),
].join("\n"))
