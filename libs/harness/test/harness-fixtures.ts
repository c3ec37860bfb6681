// Shared by the environment, instance-container, patch-apply and validate tests: the embedded sample (export directory +
// expected.json), bare mirrors made from its bundles, candidates built from expected.json and the PR diffs, and the
// layers (real Docker engine, real DuckDB file).
import { NodeContext } from "@effect/platform-node"
import type { EnvironmentSpec, TaskInstance } from "@swe-gym/domain"
import { DockerClient, DockerClientLive, Sandbox, baseImageTag, dockerSandboxLayer, execSessionSetting, freshRunId, pythonBaseRecipe } from "@swe-gym/sandbox"
import { Store } from "@swe-gym/store"
import { Effect, Layer, Schema } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { type InstanceEnvironmentsOptions, instanceEnvironmentsLayer } from "../src/instance-environments.js"
import { harnessMigrations } from "../src/validation-store.js"

/** The sample directory (data/sample of the repository; SWE_GYM_SAMPLE_DIR overrides it). */
export const sampleDir = process.env["SWE_GYM_SAMPLE_DIR"] ?? resolve(import.meta.dirname, "../../../data/sample")
const exportDir = join(sampleDir, "github")

const ExpectedPull = Schema.Struct({
  repo: Schema.String,
  number: Schema.Number,
  instance_id: Schema.String,
  base_commit: Schema.String,
  merge_commit_sha: Schema.NullOr(Schema.String),
  head_sha: Schema.String,
  verdict: Schema.String,
  patch_files: Schema.optional(Schema.Array(Schema.String)),
  test_patch_files: Schema.optional(Schema.Array(Schema.String)),
  FAIL_TO_PASS: Schema.optional(Schema.Array(Schema.String)),
  PASS_TO_PASS: Schema.optional(Schema.Array(Schema.String)),
  flaky: Schema.optional(Schema.Array(Schema.String)),
  unstable: Schema.optional(Schema.Array(Schema.String)),
  breaks: Schema.optional(Schema.Array(Schema.String)),
})
export type ExpectedPull = typeof ExpectedPull.Type

const Expected = Schema.Struct({
  repositories: Schema.Array(Schema.Struct({ repo: Schema.String, framework: Schema.String, test_command: Schema.String })),
  pulls: Schema.Array(ExpectedPull),
})

/** expected.json of the sample; throws with the reason when the sample is missing. */
export const expected = (): typeof Expected.Type => {
  const file = join(sampleDir, "expected.json")
  if (!existsSync(file)) throw new Error(`the sample is missing: ${file} not found (generate it with tools/sample: swe-gym-sample generate)`)
  return Schema.decodeUnknownSync(Schema.parseJson(Expected))(readFileSync(file, "utf8"))
}

/** The expected record of one candidate. */
export const expectedPull = (instanceId: string): ExpectedPull => {
  const found = expected().pulls.find((p) => p.instance_id === instanceId)
  if (found === undefined) throw new Error(`${instanceId} is not in the sample's expected.json`)
  return found
}

const mirrorRoot = mkdtempSync(join(tmpdir(), "swe-gym-harness-mirrors-"))

/** A bare mirror of a sample repository (cloned from its mirror.bundle once per test file). */
export const mirrorPath = (repo: string): string => {
  const target = join(mirrorRoot, `${repo.replace("/", "__")}.git`)
  if (!existsSync(target)) {
    execFileSync("git", ["clone", "-q", "--mirror", join(exportDir, repo.replace("/", "__"), "mirror.bundle"), target])
  }
  return target
}

/** Runs git on a mirror and returns its output. */
export const gitOut = (dir: string, args: ReadonlyArray<string>): string => execFileSync("git", ["--git-dir", dir, ...args], { encoding: "utf8" })

/** The newest commit of a mirror's main branch (the setup commit the tests build environments at). */
export const newestCommit = (mirror: string): string => gitOut(mirror, ["rev-parse", "refs/heads/main"]).trim()

/** A written (not guessed) pytest environment spec of `repo` with the tests' defaults, `fields` overriding them. */
export const testSpec = (fields: Partial<EnvironmentSpec> & Pick<EnvironmentSpec, "repo">): EnvironmentSpec => ({
  versions: [],
  apt_packages: [],
  pip_packages: [],
  install: [],
  test_command: "python3 -m pytest -rA -p no:cacheprovider",
  log_parser: "pytest",
  timeouts: { build_seconds: 600, test_seconds: 120 },
  env: {},
  guessed: false,
  ...fields,
})

/** Splits a `diff --git` diff into per-file sections keyed by their b/ path. */
export const diffSections = (diff: string): ReadonlyArray<{ readonly file: string; readonly text: string }> =>
  diff.split(/^(?=diff --git )/m).filter((s) => s.startsWith("diff --git ")).map((text) => ({
    file: /^diff --git a\/\S+ b\/(\S+)$/m.exec(text)?.[1] ?? "",
    text,
  }))

const PullJson = Schema.Struct({ created_at: Schema.String })

/** A sample candidate as a TaskInstance: its PR diff split into patch and test_patch by expected.json's file lists. */
export const candidateOf = (pull: ExpectedPull): TaskInstance => {
  const folder = join(exportDir, pull.repo.replace("/", "__"), "pulls")
  const diff = readFileSync(join(folder, `${pull.number}.diff`), "utf8")
  const tests = new Set(pull.test_patch_files ?? [])
  const sections = diffSections(diff)
  const created = Schema.decodeUnknownSync(Schema.parseJson(PullJson))(readFileSync(join(folder, `${pull.number}.json`), "utf8"))
  return {
    instance_id: pull.instance_id,
    repo: pull.repo,
    base_commit: pull.base_commit,
    patch: sections.filter((s) => !tests.has(s.file)).map((s) => s.text).join(""),
    test_patch: sections.filter((s) => tests.has(s.file)).map((s) => s.text).join(""),
    problem_statement: "",
    hints_text: "",
    created_at: created.created_at,
    version: "0.1",
    environment_setup_commit: "",
    FAIL_TO_PASS: [],
    PASS_TO_PASS: [],
  }
}

/** Every candidate of the sample, as TaskInstances. */
export const sampleCandidates = (): ReadonlyArray<TaskInstance> =>
  expected().pulls.filter((p) => p.verdict === "candidate").map(candidateOf)

/** A temp directory for one test file. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix))

/** The base image the environments build on. */
export const baseImage = baseImageTag(pythonBaseRecipe)

/** Fails with the reason (never skips) when the engine or the base image is missing. */
const requireBaseImage = Effect.gen(function* () {
  const { docker, endpoint } = yield* DockerClient
  yield* Effect.tryPromise(() => docker.getImage(baseImage).inspect()).pipe(
    Effect.mapError(() => new Error(`base image ${baseImage} is not on the Docker engine at ${endpoint}: run npm run setup (it builds it)`)),
  )
})

/** Counts containers created through the Sandbox. */
export interface ContainerCounter {
  created: number
}

/** A decorator of Sandbox.create (fault injection). */
export type CreateDecorator = (create: Sandbox["Type"]["create"]) => Sandbox["Type"]["create"]

/** Sandbox (counting creations, optionally decorated) + DockerClient + platform, for one run id (SWE_GYM_EXEC_SESSION=0: plain execs). */
export const dockerLayer = (counter: ContainerCounter = { created: 0 }, runId = `test-harness-${freshRunId()}`, decorate: CreateDecorator = (c) => c) => {
  const counting = Layer.effect(
    Sandbox,
    Effect.map(Sandbox, (sandbox) =>
      Sandbox.of({
        ...sandbox,
        create: decorate((spec) => Effect.zipRight(Effect.sync(() => counter.created++), sandbox.create(spec))),
      })),
  ).pipe(Layer.provide(Layer.unwrapEffect(Effect.map(execSessionSetting, (execSession) => dockerSandboxLayer({ runId, execSession })))))
  return Layer.mergeAll(counting, NodeContext.layer).pipe(
    Layer.provideMerge(Layer.effectDiscard(requireBaseImage).pipe(Layer.provideMerge(DockerClientLive))),
  )
}

/** Live containers and test-command execs in flight (the sample's test commands run pytest or unittest), with their maxima. */
export interface Overlap {
  live: number
  maxLive: number
  tests: number
  maxTests: number
}

/** A CreateDecorator counting into `o`: a container from its creation to its scope's end, a test exec while it runs. */
export const trackOverlap = (o: Overlap): CreateDecorator => (create) => (spec) =>
  Effect.gen(function* () {
    const c = yield* create(spec)
    o.live++
    o.maxLive = Math.max(o.maxLive, o.live)
    yield* Effect.addFinalizer(() => Effect.sync(() => void o.live--))
    const exec: typeof c.exec = (cmd, opts) => {
      const isTest = /pytest|unittest/.test(typeof cmd === "string" ? cmd : cmd.join(" "))
      return Effect.acquireUseRelease(
        Effect.sync(() => {
          if (!isTest) return
          o.tests++
          o.maxTests = Math.max(o.maxTests, o.tests)
        }),
        () => c.exec(cmd, opts),
        () => Effect.sync(() => void (isTest && o.tests--)),
      )
    }
    return { ...c, exec }
  })

/** InstanceEnvironments over the sample's mirrors (a fresh build-log directory), `options` overriding the defaults. */
export const environmentsLayer = (options: Partial<InstanceEnvironmentsOptions> = {}) =>
  instanceEnvironmentsLayer({
    mirrors: (repo) => Effect.sync(() => mirrorPath(repo)),
    build: { logDir: tempDir("swe-gym-build-logs-") },
    ...options,
  })

/** Splits options into the environment service's and the stage's. */
export const splitEnvironmentOptions = <O extends object>(options: O & Partial<InstanceEnvironmentsOptions>) => {
  const { mirrors, specs, dependencies, build, limits, history, ...stage } = options
  const environment: Partial<InstanceEnvironmentsOptions> = {
    ...(mirrors === undefined ? {} : { mirrors }),
    ...(specs === undefined ? {} : { specs }),
    ...(dependencies === undefined ? {} : { dependencies }),
    ...(build === undefined ? {} : { build }),
    ...(limits === undefined ? {} : { limits }),
    ...(history === undefined ? {} : { history }),
  }
  return { environment, stage }
}

/** A DuckDB file store with the harness tables. */
export const storeLayer = (path: string) => Store.layer({ path, migrations: harnessMigrations })
