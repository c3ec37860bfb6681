// Environment specs: the data files a user writes per repository (data/specs/<owner>__<name>.json), the choice of the
// spec for an instance's version, and a guessed default read from the repository tree when no file exists.
import { FileSystem, Path } from "@effect/platform"
import { EnvironmentSpec } from "@swe-gym/domain"
import { Effect, ParseResult, Schema } from "effect"
import { runGitDir } from "@swe-gym/git"
import { createHash } from "node:crypto"

// ── errors ───────────────────────────────────────────────────────────────────────────────────────────────────────────

/** A spec file that could not be read or does not hold EnvironmentSpec JSON. */
export class SpecFileInvalid extends Schema.TaggedError<SpecFileInvalid>()("SpecFileInvalid", {
  file: Schema.String,
  /** Dotted path of the offending field; empty when the file is unreadable or not JSON. */
  field: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `${this.file}${this.field === "" ? "" : ` (${this.field})`}: ${this.reason}. ${this.hint}`
  }
}

/** The repository tree at a commit could not be read from its mirror (to guess a spec). */
export class RepositoryTreeUnreadable extends Schema.TaggedError<RepositoryTreeUnreadable>()("RepositoryTreeUnreadable", {
  mirror: Schema.String,
  commit: Schema.String,
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message(): string {
    return `cannot read ${this.commit} from ${this.mirror}: ${this.reason}. ${this.hint}`
  }
}

// ── spec files ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** A spec file holds one spec, or a list of specs for different version ranges of the same repository. */
const SpecFileContent = Schema.Union(EnvironmentSpec, Schema.Array(EnvironmentSpec))

/** The file name of a repository's spec: `owner__name.json`. */
export const specFileName = (repo: string): string => `${repo.replace("/", "__")}.json`

/** Reads every `*.json` spec file of `dir` (a missing directory holds none); a bad file fails naming file and field. */
export const loadSpecs = Effect.fn("harness.loadSpecs")(function* (
  dir: string,
): Effect.fn.Return<ReadonlyArray<EnvironmentSpec>, SpecFileInvalid, FileSystem.FileSystem | Path.Path> {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  if (!(yield* fs.exists(dir).pipe(Effect.orElseSucceed(() => false)))) return []
  const names = yield* fs.readDirectory(dir).pipe(
    Effect.mapError((e) => new SpecFileInvalid({ file: dir, field: "", reason: e.message, hint: "Check that the spec directory is readable." })),
  )
  const specs: Array<EnvironmentSpec> = []
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const file = path.join(dir, name)
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => new SpecFileInvalid({ file, field: "", reason: e.message, hint: "Check that the file is readable." })),
    )
    const decoded = yield* Schema.decodeUnknown(Schema.parseJson(SpecFileContent), { errors: "all" })(text).pipe(
      Effect.mapError((error) => {
        const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
        return new SpecFileInvalid({
          file,
          field: (first?.path ?? []).map(String).join("."),
          reason: first?.message ?? error.message,
          hint: "A spec file holds one EnvironmentSpec object (repo, test_command, log_parser, …) or an array of them; see data/specs/README.md.",
        })
      }),
    )
    const list = Array.isArray(decoded) ? decoded : [decoded]
    const expected = name.slice(0, -".json".length).replace("__", "/")
    const stray = list.find((s) => s.repo !== expected)
    if (stray !== undefined) {
      return yield* new SpecFileInvalid({
        file,
        field: "repo",
        reason: `the spec is for ${stray.repo} but the file is named for ${expected}`,
        hint: `Name the file ${specFileName(stray.repo)} or fix its "repo" field.`,
      })
    }
    specs.push(...list)
  }
  return specs
})

/** The written spec for a repository and version: one listing the version wins over one for every version; none = undefined. */
export const findSpec = (specs: ReadonlyArray<EnvironmentSpec>, repo: string, version: string): EnvironmentSpec | undefined =>
  specs.find((s) => s.repo === repo && s.versions.includes(version)) ?? specs.find((s) => s.repo === repo && s.versions.length === 0)

/** The spec fields that decide an environment, as JSON with a fixed key order (the input of spec hashes). */
export const canonicalSpecJson = (spec: EnvironmentSpec): string =>
  JSON.stringify({
    repo: spec.repo,
    base_image: spec.base_image ?? null,
    apt_packages: [...spec.apt_packages],
    pip_packages: [...spec.pip_packages],
    install: [...spec.install],
    test_command: spec.test_command,
    log_parser: spec.log_parser,
    timeouts: { build_seconds: spec.timeouts.build_seconds, test_seconds: spec.timeouts.test_seconds },
    env: Object.fromEntries(Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b))),
  })

/** First 16 hex digits of the sha256 of the canonical spec JSON. */
export const specHash = (spec: EnvironmentSpec): string =>
  createHash("sha256").update(canonicalSpecJson(spec)).digest("hex").slice(0, 16)

// ── guessing a spec from the repository tree ─────────────────────────────────────────────────────────────────────────

/** A repository tree at one commit: its file paths and a reader of (small) files. */
export interface RepositoryTree {
  readonly paths: ReadonlyArray<string>
  readonly read: (path: string) => string | undefined
}

/** How a guessed spec installs the repository's declared dependencies. */
export type DependencyInstall = "apt" | "pip"

/** The default test commands of the two runners a guess can pick (the sample and SWE-bench use the same). */
export const defaultTestCommands = {
  pytest: "python3 -m pytest -rA -p no:cacheprovider",
  unittest: "python3 -m unittest -v",
} as const

const baseName = (p: string): string => p.slice(p.lastIndexOf("/") + 1)
const isTestFile = (p: string): boolean => /^test_.*\.py$|^.*_test\.py$/.test(baseName(p))

/** Requirement names declared by requirements*.txt, pyproject.toml `dependencies` and setup.cfg `install_requires`. */
export const declaredRequirements = (tree: RepositoryTree): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const p of tree.paths.filter((p) => !p.includes("/") && /^requirements.*\.txt$/.test(p))) {
    for (const line of (tree.read(p) ?? "").split("\n")) {
      const req = line.replace(/#.*/, "").trim()
      if (req !== "" && !req.startsWith("-")) found.push(req)
    }
  }
  const pyproject = tree.read("pyproject.toml") ?? ""
  const deps = /^dependencies\s*=\s*\[([^\]]*)\]/m.exec(pyproject)
  if (deps?.[1] !== undefined) for (const m of deps[1].matchAll(/["']([^"']+)["']/g)) if (m[1] !== undefined) found.push(m[1])
  const setupCfg = tree.read("setup.cfg") ?? ""
  const requires = /^install_requires\s*=\s*\n((?:[ \t]+.*\n?)*)/m.exec(setupCfg)
  if (requires?.[1] !== undefined) for (const line of requires[1].split("\n")) if (line.trim() !== "") found.push(line.trim())
  return [...new Set(found)]
}

/** The Debian package that usually ships a Python distribution: `python3-<name>` (lower case, `_`/`.` → `-`). */
export const debianPackageOf = (requirement: string): string => {
  const name = (/^[A-Za-z0-9._-]+/.exec(requirement)?.[0] ?? requirement).toLowerCase().replace(/[_.]+/g, "-")
  return `python3-${name}`
}

/** Which runner the tree's tests are written for: pytest when anything says so, unittest when the tests only import it. */
export const detectRunner = (tree: RepositoryTree): "pytest" | "unittest" => {
  const has = (name: string) => tree.paths.some((p) => p === name || p.endsWith(`/${name}`))
  if (has("conftest.py") || tree.paths.includes("pytest.ini")) return "pytest"
  if (/\[tool\.pytest/.test(tree.read("pyproject.toml") ?? "")) return "pytest"
  if (/\[(tool:)?pytest\]/.test(`${tree.read("setup.cfg") ?? ""}\n${tree.read("tox.ini") ?? ""}`)) return "pytest"
  const tests = tree.paths.filter(isTestFile).slice(0, 50)
  const sources = tests.map((p) => tree.read(p) ?? "")
  if (sources.some((s) => /^\s*(import pytest|from pytest\b)/m.test(s))) return "pytest"
  if (sources.length > 0 && sources.every((s) => /^\s*(import unittest|from unittest\b)/m.test(s))) return "unittest"
  return "pytest"
}

/**
 * A default spec read from the repository tree, marked `guessed`: pytest or unittest (see detectRunner), the declared
 * requirements as Debian packages (`apt`, works without PyPI) or pip requirements (`pip`, needs PyPI), and no install step
 * (tests run from the repository root, which both runners put on sys.path).
 */
export const guessSpec = (repo: string, tree: RepositoryTree, dependencies: DependencyInstall = "apt"): EnvironmentSpec => {
  const runner = detectRunner(tree)
  const requirements = declaredRequirements(tree).filter((r) => !/^pytest\b/i.test(r))
  return {
    repo,
    versions: [],
    apt_packages: dependencies === "apt" ? [...new Set(requirements.map(debianPackageOf))] : [],
    pip_packages: dependencies === "pip" ? requirements : [],
    install: [],
    test_command: defaultTestCommands[runner],
    log_parser: runner,
    timeouts: { build_seconds: 1800, test_seconds: 900 },
    env: {},
    guessed: true,
  }
}

// ── reading a tree from a bare mirror ────────────────────────────────────────────────────────────────────────────────

const git = (mirror: string, args: ReadonlyArray<string>) =>
  runGitDir(mirror, args).pipe(Effect.mapError((e) => e.stderr.trim() || e.message))

// Files a guess reads: config files at the root and test files (for their imports).
const wanted = (p: string): boolean =>
  ["pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini", "setup.py"].includes(p) || /^requirements.*\.txt$/.test(p) || isTestFile(p)

/** Reads the tree of `commit` from a bare mirror on this machine (paths, and the files a guess looks at). */
export const readMirrorTree = Effect.fn("harness.readMirrorTree")(function* (mirror: string, commit: string) {
  const fail = (reason: string) =>
    new RepositoryTreeUnreadable({ mirror, commit, reason, hint: "Check that the mirror is a git repository holding this commit." })
  const listing = yield* git(mirror, ["ls-tree", "-r", "--name-only", "-z", commit]).pipe(Effect.mapError(fail))
  const paths = listing.split("\0").filter((p) => p !== "")
  const contents = new Map<string, string>()
  for (const p of paths.filter(wanted).slice(0, 80)) {
    contents.set(p, yield* git(mirror, ["show", `${commit}:${p}`]).pipe(Effect.mapError(fail)))
  }
  return { paths, read: (p: string) => contents.get(p) } satisfies RepositoryTree
})

/** The written spec for the repository and version, else a guess from the tree at `commit` of the mirror. */
export const resolveSpec = Effect.fn("harness.resolveSpec")(function* (
  specs: ReadonlyArray<EnvironmentSpec>,
  mirror: string,
  repo: string,
  version: string,
  commit: string,
  dependencies: DependencyInstall = "apt",
) {
  const written = findSpec(specs, repo, version)
  if (written !== undefined) return written
  return guessSpec(repo, yield* readMirrorTree(mirror, commit), dependencies)
})
