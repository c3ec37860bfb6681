// Overhead and throughput of the harness's validate stage on the sample's 8 candidates, in one run:
//   (a) validate at concurrency 1, fresh DuckDB (nothing answered from the store): wall time per instance and in total,
//   (a0) the same with prepareAhead 0 (each candidate prepared in its own slot, nothing overlapped), and
//   (a-) also with plain Docker execs (SWE_GYM_EXEC_SESSION=0): the harness's overhead without either,
//   (b) the same as (a) at concurrency 2 (another fresh DuckDB): throughput and speed-up over (a),
//   (c) the baseline: per candidate, the same steps as one plain `docker run --rm --network none` shell command (with the
//       harness's container limits: 1 CPU, 2 GiB, 512 pids) through
//       the docker CLI (check out base_commit, git apply test_patch, test command twice, git apply patch, test command
//       twice), sequentially. (a)/(c) is the harness's overhead.
// Environment images are ensured once beforehand, outside every timing; all three use the same images.
//
//   cd libs/harness && npx vite-node --config vitest.config.ts ../../bench/validation-overhead.ts
//   (needs Docker and the base image: npm run setup; BENCH_REPEATS=n repeats (a), (b), (c) n times and reports medians)
import { NodeContext } from "@effect/platform-node"
import type { TaskInstance } from "@swe-gym/domain"
import { DefaultLimits } from "@swe-gym/sandbox"
import { Chunk, Effect, Layer, Stream } from "effect"
import { spawn } from "node:child_process"
import { availableParallelism, loadavg } from "node:os"
import { join } from "node:path"
import {
  assignSetupCommits,
  type EnvironmentImage,
  loadSpecs,
  makeEnvironmentImages,
  patchTargetFiles,
  resolveSpec,
  RepoDir,
  setupCommitOf,
  testCommandLine,
  testFilesToRun,
  validate,
  type Validated,
} from "../libs/harness/src/index.js"
import { dockerLayer, environmentsLayer, mirrorPath, sampleCandidates, storeLayer, tempDir } from "../libs/harness/test/harness-fixtures.js"

const specsDir = join(import.meta.dirname, "../data/specs")
const repeats = Math.max(1, Number(process.env["BENCH_REPEATS"] ?? "1"))
const runsPerPhase = 2 // validate's defaults: beforeRuns 2, afterRuns 2
const log = (text: string) => void process.stderr.write(`[bench] ${text}\n`)
const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2
}

const candidates = assignSetupCommits(sampleCandidates())

// ── environment images, once, outside the timings ───────────────────────────────────────────────────────────────────

const ensureImages = Effect.gen(function* () {
  const specs = yield* loadSpecs(specsDir)
  const images = yield* makeEnvironmentImages({ logDir: tempDir("swe-gym-bench-build-logs-") })
  const byInstance = new Map<string, EnvironmentImage>()
  for (const c of candidates) {
    const mirror = mirrorPath(c.repo)
    const spec = yield* resolveSpec(specs, mirror, c.repo, c.version, setupCommitOf(c), "apt")
    byInstance.set(c.instance_id, yield* images.ensure({ repo: c.repo, version: c.version, setupCommit: setupCommitOf(c), spec, mirror }))
  }
  return byInstance
}).pipe(Effect.provide(Layer.mergeAll(dockerLayer(), NodeContext.layer)))

// ── (a), (b): the harness ────────────────────────────────────────────────────────────────────────────────────────────

interface HarnessRun {
  readonly totalMs: number
  /** Per instance: time from the previous completion (or the start) to its own; exact per-instance wall time at concurrency 1. */
  readonly perInstanceMs: ReadonlyMap<string, number>
  readonly results: ReadonlyArray<Validated>
}

const harnessRun = (concurrency: number, prepareAhead?: number): Promise<HarnessRun> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const specs = yield* loadSpecs(specsDir)
      const perInstanceMs = new Map<string, number>()
      const started = performance.now()
      let last = started
      const results = yield* Stream.fromIterable(candidates).pipe(
        validate({ concurrency, ...(prepareAhead === undefined ? {} : { prepareAhead }) }),
        Stream.provideSomeLayer(environmentsLayer({ specs })),
        Stream.tap((v) =>
          Effect.sync(() => {
            const now = performance.now()
            perInstanceMs.set(v.result.instance_id, now - last)
            last = now
          })),
        Stream.runCollect,
      )
      return { totalMs: performance.now() - started, perInstanceMs, results: Chunk.toReadonlyArray(results) }
    }).pipe(Effect.provide(Layer.mergeAll(dockerLayer(), storeLayer(join(tempDir("swe-gym-bench-validate-"), "validate.duckdb")), NodeContext.layer))),
  )

// ── (c): the baseline, plain docker run ──────────────────────────────────────────────────────────────────────────────

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** The same steps validate runs for one candidate, as one shell script (patches arrive base64-encoded on stdin). */
const baselineScript = (instance: TaskInstance, image: EnvironmentImage): string => {
  const command = testCommandLine(image.spec, testFilesToRun(patchTargetFiles(instance.test_patch)))
  const runs = (phase: string) =>
    Array.from({ length: runsPerPhase }, (_, i) => `(${command}) > /tmp/${phase}-${i + 1}.log 2>&1; echo "${phase} run ${i + 1}: exit $?"`).join("\n")
  return `set -e
cd ${RepoDir}
cat > /tmp/in
sed -n 1p /tmp/in | base64 -d > /tmp/test.patch
sed -n 2p /tmp/in | base64 -d > /tmp/gold.patch
git checkout -q -f --detach ${shellQuote(instance.base_commit)}
git clean -q -fd
git apply /tmp/test.patch
set +e
${runs("before")}
set -e
git apply /tmp/gold.patch
set +e
${runs("after")}
`
}

interface BaselineRun {
  readonly ms: number
  readonly output: string
}

const dockerRun = (instance: TaskInstance, image: EnvironmentImage): Promise<BaselineRun> =>
  new Promise((resolvePromise, reject) => {
    const env = Object.entries(image.spec.env).flatMap(([k, v]) => ["-e", `${k}=${v}`])
    // The harness's container limits (DefaultLimits): 1 CPU, 2 GiB without swap, 512 pids.
    const limits = ["--cpus", String(DefaultLimits.cpus), "--memory", String(DefaultLimits.memoryBytes), "--memory-swap", String(DefaultLimits.memoryBytes), "--pids-limit", String(DefaultLimits.pids)]
    const args = ["run", "-i", "--rm", "--network", "none", ...limits, "-w", RepoDir, ...env, "--entrypoint", "sh", image.id, "-c", baselineScript(instance, image)]
    const started = performance.now()
    const child = spawn("docker", args, { stdio: ["pipe", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (b: Buffer) => (output += b.toString("utf8")))
    child.stderr.on("data", (b: Buffer) => (output += b.toString("utf8")))
    child.on("error", reject)
    child.on("close", (code) => {
      const ms = performance.now() - started
      if (code !== 0) reject(new Error(`docker run for ${instance.instance_id} exited ${code}:\n${output}`))
      else resolvePromise({ ms, output })
    })
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64")
    child.stdin.end(`${b64(instance.test_patch)}\n${b64(instance.patch)}\n`)
  })

const baselineRun = async (images: ReadonlyMap<string, EnvironmentImage>) => {
  const perInstanceMs = new Map<string, number>()
  const outputs = new Map<string, string>()
  const started = performance.now()
  for (const c of candidates) {
    const image = images.get(c.instance_id)
    if (image === undefined) throw new Error(`no environment image for ${c.instance_id}`)
    const r = await dockerRun(c, image)
    perInstanceMs.set(c.instance_id, r.ms)
    outputs.set(c.instance_id, r.output.trim().replace(/\n/g, "; "))
  }
  return { totalMs: performance.now() - started, perInstanceMs, outputs }
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────────────────────────────

log(`${candidates.length} candidates; ensuring environment images (not timed)`)
const images = await Effect.runPromise(ensureImages)
for (const [id, image] of images) log(`${id}: ${image.reference} (${image.source})`)
// One untimed docker run first, so the first timed container does not pay for cold caches alone.
const [warm] = candidates
if (warm !== undefined) await dockerRun(warm, images.get(warm.instance_id) ?? (() => { throw new Error("no image") })())

const a: Array<HarnessRun> = []
const a0: Array<HarnessRun> = []
const aPlain: Array<HarnessRun> = []
const b: Array<HarnessRun> = []
const c: Array<Awaited<ReturnType<typeof baselineRun>>> = []
for (let i = 0; i < repeats; i++) {
  log(`repetition ${i + 1}/${repeats}: (a) validate, concurrency 1`)
  a.push(await harnessRun(1))
  log(`  ${(a.at(-1)?.totalMs ?? 0) / 1000} s; (a0) validate, concurrency 1, prepareAhead 0`)
  a0.push(await harnessRun(1, 0))
  log(`  ${(a0.at(-1)?.totalMs ?? 0) / 1000} s; (a-) validate, concurrency 1, prepareAhead 0, plain Docker execs`)
  process.env["SWE_GYM_EXEC_SESSION"] = "0"
  aPlain.push(await harnessRun(1, 0))
  delete process.env["SWE_GYM_EXEC_SESSION"]
  log(`  ${(aPlain.at(-1)?.totalMs ?? 0) / 1000} s; (b) validate, concurrency 2`)
  b.push(await harnessRun(2))
  log(`  ${(b.at(-1)?.totalMs ?? 0) / 1000} s; (c) plain docker run, sequential`)
  c.push(await baselineRun(images))
  log(`  ${(c.at(-1)?.totalMs ?? 0) / 1000} s`)
}

for (const run of [...a, ...a0, ...aPlain, ...b]) {
  const fromStore = run.results.filter((v) => v.cached).length
  if (fromStore > 0) throw new Error(`${fromStore} verdicts came from the store: the DuckDB file was not fresh`)
  if (run.results.length !== candidates.length) throw new Error(`validate returned ${run.results.length} of ${candidates.length} verdicts`)
}

// Every way of running must reach the same verdicts and labels: overlap and exec sessions change speed, not results.
const labelsOf = (r: HarnessRun) =>
  JSON.stringify(r.results.map((v) => [v.result.instance_id, v.result.kept, v.result.reason, v.result.FAIL_TO_PASS, v.result.PASS_TO_PASS]).sort())
for (const [name, runs] of [["(a0)", a0], ["(a-)", aPlain], ["(b)", b], ["(a)", a]] as const) {
  for (const run of runs) {
    if (a[0] !== undefined && labelsOf(run) !== labelsOf(a[0])) throw new Error(`${name} reached other verdicts or labels than (a)'s first run`)
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`
// Per instance from (a0): with candidates prepared ahead, (a)'s verdicts overlap and come out in input order, so the
// time between two of them says little about either; (a) is compared in total.
const perA = (id: string) => median(a0.map((r) => r.perInstanceMs.get(id) ?? 0))
const perC = (id: string) => median(c.map((r) => r.perInstanceMs.get(id) ?? 0))
const totalA = median(a.map((r) => r.totalMs))
const totalB = median(b.map((r) => r.totalMs))
const totalA0 = median(a0.map((r) => r.totalMs))
const totalAPlain = median(aPlain.map((r) => r.totalMs))
const totalC = median(c.map((r) => r.totalMs))
const perMinute = (ms: number) => ((candidates.length * 60_000) / ms).toFixed(2)
const verdicts = new Map((a[0]?.results ?? []).map((v) => [v.result.instance_id, v.result.kept ? "kept" : v.result.reason]))
// Time (a) spent inside the test command's exec calls (ValidationRun.duration_ms); the rest is container start, checkout,
// history purge and check, patch copy and apply, parsing, storing.
const testMsOf = (r: HarnessRun, id: string) =>
  r.results.find((v) => v.result.instance_id === id)?.result.runs.reduce((sum, x) => sum + x.duration_ms, 0) ?? 0
const testA = (id: string) => median(a0.map((r) => testMsOf(r, id)))
const testTotalA = median(a0.map((r) => candidates.reduce((sum, x) => sum + testMsOf(r, x.instance_id), 0)))

const lines = [
  `validation-overhead: sample (${candidates.length} candidates, ${runsPerPhase} test runs before + ${runsPerPhase} after the gold patch each), ${repeats === 1 ? "1 repetition (no medians)" : `medians of ${repeats} repetitions`}, ${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`,
  "",
  "| instance | (a0) validate, concurrency 1, prepareAhead 0 | of which in the 4 test runs | (c) plain docker run | (a0)/(c) | verdict |",
  "| --- | ---: | ---: | ---: | ---: | --- |",
  ...candidates.map((x) => `| ${x.instance_id} | ${secs(perA(x.instance_id))} | ${secs(testA(x.instance_id))} | ${secs(perC(x.instance_id))} | ${(perA(x.instance_id) / perC(x.instance_id)).toFixed(2)}x | ${verdicts.get(x.instance_id) ?? "?"} |`),
  `| **total** | ${secs(totalA0)} | ${secs(testTotalA)} | ${secs(totalC)} | ${(totalA0 / totalC).toFixed(2)}x | |`,
  "",
  "| run | wall time | instances/min |",
  "| --- | ---: | ---: |",
  `| (a) validate, concurrency 1 (prepareAhead 1, the default) | ${secs(totalA)} | ${perMinute(totalA)} |`,
  `| (a0) validate, concurrency 1, prepareAhead 0 | ${secs(totalA0)} | ${perMinute(totalA0)} |`,
  `| (a-) validate, concurrency 1, prepareAhead 0, plain Docker execs | ${secs(totalAPlain)} | ${perMinute(totalAPlain)} |`,
  `| (b) validate, concurrency 2 | ${secs(totalB)} | ${perMinute(totalB)} |`,
  `| (c) plain docker run, sequential | ${secs(totalC)} | ${perMinute(totalC)} |`,
  "",
  `harness overhead (a)/(c):            ${(totalA / totalC).toFixed(2)}x the wall time of plain docker run`,
  `without preparing ahead (a0)/(c):    ${(totalA0 / totalC).toFixed(2)}x`,
  `without exec sessions either (a-)/(c): ${(totalAPlain / totalC).toFixed(2)}x`,
  `speed-up of concurrency 2 (a)/(b):   ${(totalA / totalB).toFixed(2)}x`,
  `concurrency 2 vs plain sequential (c)/(b): ${(totalC / totalB).toFixed(2)}x`,
]
console.log(lines.join("\n"))
log(`baseline exit codes: ${[...(c[0]?.outputs ?? new Map<string, string>())].map(([id, o]) => `${id}: ${o}`).join(" | ")}`)
