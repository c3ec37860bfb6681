import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { DockerClient, Sandbox } from "@swe-gym/sandbox"
import { Chunk, Effect, Either, Stream } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  buildEnvironments,
  ensureEnvironmentImage,
  environmentTag,
  EnvironmentBuildFailed,
} from "../src/environment-image.js"
import {
  declaredRequirements,
  debianPackageOf,
  detectRunner,
  findSpec,
  guessSpec,
  loadSpecs,
  readMirrorTree,
  type RepositoryTree,
  resolveSpec,
  SpecFileInvalid,
} from "../src/environment-spec-files.js"
import { dockerLayer, expected, mirrorPath, newestCommit, tempDir, testSpec } from "./harness-fixtures.js"

const tree = (files: Record<string, string>): RepositoryTree => ({ paths: Object.keys(files), read: (p) => files[p] })

describe("spec detection", () => {
  it("picks pytest from a test file importing pytest, conftest.py or pytest config", () => {
    expect(detectRunner(tree({ "tests/test_a.py": "import pytest\n" }))).toBe("pytest")
    expect(detectRunner(tree({ "tests/conftest.py": "", "tests/test_a.py": "import unittest\n" }))).toBe("pytest")
    expect(detectRunner(tree({ "pyproject.toml": "[tool.pytest.ini_options]\n", "tests/test_a.py": "import unittest\n" }))).toBe("pytest")
    expect(detectRunner(tree({ "setup.cfg": "[tool:pytest]\n", "t/test_a.py": "import unittest\n" }))).toBe("pytest")
  })

  it("picks unittest when every test file imports only unittest", () => {
    expect(detectRunner(tree({ "tests/test_a.py": "import unittest\n", "tests/test_b.py": "from unittest import TestCase\n" }))).toBe("unittest")
    expect(detectRunner(tree({ "README.md": "" }))).toBe("pytest")
  })

  it("reads requirements from requirements*.txt, pyproject dependencies and setup.cfg install_requires", () => {
    const t = tree({
      "requirements.txt": "requests>=2 # http\n-e .\n\nsix\n",
      "requirements-dev.txt": "pytest==8.0\n",
      "pyproject.toml": '[project]\ndependencies = ["attrs>=22", "typing_extensions"]\n',
      "setup.cfg": "[options]\ninstall_requires =\n    click>=8\n    Jinja2\n",
    })
    expect(declaredRequirements(t)).toEqual(["requests>=2", "six", "pytest==8.0", "attrs>=22", "typing_extensions", "click>=8", "Jinja2"])
    expect(debianPackageOf("typing_extensions>=4")).toBe("python3-typing-extensions")
    const guessed = guessSpec("o/r", t)
    expect(guessed.guessed).toBe(true)
    expect(guessed.apt_packages).toContain("python3-jinja2")
    expect(guessed.apt_packages).not.toContain("python3-pytest")
    expect(guessSpec("o/r", t, "pip").pip_packages).toContain("Jinja2")
  })

  it("guesses the sample's runners from the mirrors: pytest for calc and textkit, unittest for inventory", () =>
    Effect.gen(function* () {
      for (const repository of expected().repositories) {
        const mirror = mirrorPath(repository.repo)
        const head = (yield* readMirrorTree(mirror, "HEAD"))
        const guessed = guessSpec(repository.repo, head)
        expect(guessed.log_parser).toBe(repository.framework)
        // The test command the sample's expected.json uses, without its placeholder.
        expect(repository.test_command.replace(" {test_files}", "")).toBe(guessed.test_command)
      }
    }).pipe(Effect.provide(NodeContext.layer), Effect.runPromise))
})

describe("spec files", () => {
  it.effect("loads specs, prefers the one listing the version, and reports a bad field with its file", () =>
    Effect.gen(function* () {
      const dir = tempDir("swe-gym-specs-")
      writeFileSync(join(dir, "o__r.json"), JSON.stringify([
        { repo: "o/r", test_command: "pytest", log_parser: "pytest" },
        { repo: "o/r", versions: ["2.0"], test_command: "python3 -m unittest -v", log_parser: "unittest" },
      ]))
      const specs = yield* loadSpecs(dir)
      expect(findSpec(specs, "o/r", "2.0")?.log_parser).toBe("unittest")
      expect(findSpec(specs, "o/r", "1.0")?.log_parser).toBe("pytest")
      expect(findSpec(specs, "x/y", "1.0")).toBeUndefined()
      expect(yield* loadSpecs(join(dir, "missing"))).toEqual([])

      writeFileSync(join(dir, "o__bad.json"), JSON.stringify({ repo: "o/bad", test_command: "pytest", log_parser: "nose" }))
      const error = yield* Effect.flip(loadSpecs(dir))
      expect(error).toBeInstanceOf(SpecFileInvalid)
      expect(error.file).toContain("o__bad.json")
      expect(error.field).toBe("log_parser")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("the checked-in spec files decode", () =>
    Effect.gen(function* () {
      const specs = yield* loadSpecs(join(import.meta.dirname, "../../../data/specs"))
      expect(specs.map((s) => s.repo).sort()).toEqual(["sample/calc", "sample/inventory", "sample/textkit"])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("resolveSpec uses a written spec first, else guesses from the tree at the commit", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/inventory")
      const written = testSpec({ repo: "sample/inventory", log_parser: "unittest", test_command: "python3 -m unittest" })
      expect(yield* resolveSpec([written], mirror, "sample/inventory", "0.1", "HEAD")).toBe(written)
      const guessed = yield* resolveSpec([], mirror, "sample/inventory", "0.1", "HEAD")
      expect(guessed.guessed).toBe(true)
      expect(guessed.log_parser).toBe("unittest")
    }).pipe(Effect.provide(NodeContext.layer)))

  it("content-addressed tags change with every input and only with them", () => {
    const request = { repo: "sample/calc", version: "0.1", setupCommit: "a".repeat(40), spec: testSpec({ repo: "sample/calc" }) }
    const tag = environmentTag("sha256:1", request)
    expect(tag).toMatch(/^swe-gym\/env-sample__calc:0\.1-[0-9a-f]{12}$/)
    expect(environmentTag("sha256:1", { ...request })).toBe(tag)
    expect(environmentTag("sha256:2", request)).not.toBe(tag)
    expect(environmentTag("sha256:1", { ...request, setupCommit: "b".repeat(40) })).not.toBe(tag)
    expect(environmentTag("sha256:1", { ...request, spec: testSpec({ repo: "sample/calc", install: ["true"] }) })).not.toBe(tag)
    expect(environmentTag("sha256:1", { ...request, version: "0.2" })).not.toBe(tag)
  })
})

describe("environment images (Docker)", () => {
  const logDir = tempDir("swe-gym-build-logs-")

  it.live("builds an image with the repository at the setup commit and its install steps, then finds it by tag", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const setupCommit = expected().pulls.find((p) => p.instance_id === "sample__calc-4")?.base_commit ?? ""
      const request = {
        repo: "sample/calc",
        version: "env-test",
        setupCommit,
        // A unique install step: this test always builds (an image left by an earlier run has another tag).
        spec: testSpec({ repo: "sample/calc", install: [`echo built-${Date.now()} > /tmp/marker`, "python3 -c 'import calc.ops'"] }),
        mirror,
      }
      const built = yield* ensureEnvironmentImage(request, { logDir })
      expect(built.source).toBe("built")
      expect(built.id).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(built.reference).toBe(`${built.tag}@${built.id}`)
      const log = readFileSync(built.logFile, "utf8")
      expect(log).toContain("## install 2")
      expect(log).toContain(`# built ${built.tag}`)

      const again = yield* ensureEnvironmentImage(request, { logDir })
      expect(again.source).toBe("existing")
      expect(again.id).toBe(built.id)
      // This image's tag is unique to the run: remove it so test runs do not pile images up.
      const { docker } = yield* DockerClient
      yield* Effect.promise(() => docker.getImage(built.tag).remove({ force: true }))
    }).pipe(Effect.provide(dockerLayer())), 300_000)

  it.live("installs the spec's Debian packages with apt-get during the build (network only there), none in test containers", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const request = {
        repo: "sample/calc",
        version: "apt",
        setupCommit: newestCommit(mirror),
        // A unique env value: this test always builds (and removes its image at the end).
        spec: testSpec({ repo: "sample/calc", apt_packages: ["python3-six"], install: ["python3 -c 'import six; print(six.__version__)'"], env: { RUN: `${Date.now()}` } }),
        mirror,
      }
      const image = yield* ensureEnvironmentImage(request, { logDir })
      expect(readFileSync(image.logFile, "utf8")).toContain("## apt-get install")
      const sandbox = yield* Sandbox
      const probe = yield* Effect.scoped(Effect.gen(function* () {
        const container = yield* sandbox.create({ image: image.id })
        const imported = yield* container.exec("python3 -c 'import six; print(\"six\", six.__version__)'", { timeout: "30 seconds" })
        const network = yield* container.exec("python3 -c 'import socket; socket.create_connection((\"deb.debian.org\", 80), timeout=5)' 2>&1 || echo no-network", { timeout: "30 seconds" })
        return { imported: imported.stdout, network: network.stdout }
      }))
      expect(probe.imported).toMatch(/^six \d/)
      expect(probe.network).toContain("no-network")
      const { docker } = yield* DockerClient
      yield* Effect.promise(() => docker.getImage(image.tag).remove({ force: true }))
    }).pipe(Effect.provide(dockerLayer())), 600_000)

  it.live("a failed build is reported with its log tail and does not stop the stream", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const setupCommit = newestCommit(mirror)
      const good = { repo: "sample/calc", version: "stream-ok", setupCommit, spec: testSpec({ repo: "sample/calc" }), mirror }
      const bad = {
        ...good,
        version: "stream-bad",
        spec: testSpec({ repo: "sample/calc", install: [`echo about to fail ${Date.now()}; echo 'E: no such thing' >&2; exit 7`] }),
      }
      const outcomes = Chunk.toReadonlyArray(yield* Stream.runCollect(buildEnvironments({ logDir, concurrency: 2 })(Stream.make(bad, good))))
      expect(outcomes).toHaveLength(2)
      const [first, second] = outcomes
      if (first === undefined || second === undefined) throw new Error("two outcomes expected")
      expect(Either.isLeft(first)).toBe(true)
      if (Either.isLeft(first)) {
        expect(first.left).toBeInstanceOf(EnvironmentBuildFailed)
        expect(first.left.step, first.left.message).toBe("install 1")
        expect(first.left.reason).toBe("exit code 7")
        expect(first.left.logTail).toContain("E: no such thing")
        expect(existsSync(first.left.logFile)).toBe(true)
      }
      expect(Either.isRight(second)).toBe(true)
    }).pipe(Effect.provide(dockerLayer())), 300_000)

  it.live("a missing setup commit fails the clone step with a hint", () =>
    Effect.gen(function* () {
      const mirror = mirrorPath("sample/calc")
      const error = yield* Effect.flip(ensureEnvironmentImage({
        repo: "sample/calc",
        version: "missing",
        setupCommit: "0123456789abcdef0123456789abcdef01234567",
        spec: testSpec({ repo: "sample/calc", install: [`true ${Date.now()}`] }),
        mirror,
      }, { logDir }))
      expect(error.step).toBe("clone")
      expect(error.hint).toContain("setup commit")
    }).pipe(Effect.provide(dockerLayer())), 300_000)
})

