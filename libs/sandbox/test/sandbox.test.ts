// The Docker Sandbox against the real engine: every test starts real containers from swe-gym's Python base image.
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Fiber, Layer, Schedule } from "effect"
import tar from "tar-stream"
import { buffer } from "node:stream/consumers"
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DockerClient, DockerClientLive, DockerSandboxLive } from "../src/docker-sandbox.js"
import { ManagedLabel, RunLabel } from "../src/labels.js"
import { type Container, DefaultLimits, Sandbox } from "../src/sandbox.js"
import { containerExists, containersOfRun, liveTest, testImage, testLayer, testRunId } from "./sandbox-fixtures.js"

const runId = testRunId("sandbox")

afterAll(async () => {
  const left = await Effect.runPromise(containersOfRun(runId).pipe(Effect.provide(DockerClientLive)))
  expect(left, `containers of run ${runId} left on the engine`).toEqual([])
})

const timeout = "30 seconds"

/** The error an effect failed with (the test fails if it succeeded). */
const failureOf = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.flip(self).pipe(Effect.catchAllDefect((d) => Effect.dieMessage(`expected a failure, got a defect: ${String(d)}`)))

// Every test runs twice: commands through the container's exec session (the default) and as plain Docker execs.
describe.each([
  { mode: "exec session", execSession: true },
  { mode: "plain Docker execs", execSession: false },
])("Docker sandbox ($mode)", ({ execSession }) => {
  const live = liveTest(runId, execSession)
  live("runs python3 and reports its exit code and stdout", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      const c = yield* sandbox.create({ image: testImage })
      const ok = yield* c.exec(["python3", "-c", "print('hello from', 6 * 7)"], { timeout })
      expect(ok.exitCode).toBe(0)
      expect(ok.stdout).toBe("hello from 42\n")
      expect(ok.stderr).toBe("")
      expect(ok.stdoutTruncated).toBe(false)
      expect(ok.stdoutBytes).toBe(14)

      const failed = yield* c.exec("python3 -c 'import sys; sys.exit(3)'", { timeout })
      expect(failed.exitCode).toBe(3)
    }))

  live("keeps stderr apart from stdout", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      const r = yield* c.exec(
        ["python3", "-c", "import sys\nfor i in range(3):\n print('out', i, flush=True); print('err', i, file=sys.stderr, flush=True)"],
        { timeout },
      )
      expect(r.stdout).toBe("out 0\nout 1\nout 2\n")
      expect(r.stderr).toBe("err 0\nerr 1\nerr 2\n")
    }))

  live("passes stdin, env, workdir and user to the command", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage, env: { FROM_SPEC: "spec" } })
      const upper = yield* c.exec(["python3", "-c", "import sys; print(sys.stdin.read().upper(), end='')"], {
        timeout,
        stdin: "abc\ndef\n",
      })
      expect(upper.stdout).toBe("ABC\nDEF\n")
      const r = yield* c.exec('id -un; pwd; echo "$FROM_SPEC $FROM_EXEC"', {
        timeout,
        env: { FROM_EXEC: "exec" },
        workdir: "/tmp",
        user: "nobody",
      })
      expect(r.stdout).toBe("nobody\n/tmp\nspec exec\n")
      // A command that exits without reading its (large) stdin is a normal exit, not a broken stream.
      const ignored = yield* c.exec(["true"], { timeout, stdin: new Uint8Array(16 * 1024 * 1024) })
      expect(ignored.exitCode).toBe(0)
    }))

  live("kills a command past its timeout, reports ExecTimeout, and removes the container with the scope", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      const { id, error, after } = yield* Effect.scoped(
        Effect.gen(function* () {
          const c = yield* sandbox.create({ image: testImage })
          const error = yield* failureOf(c.exec("echo started; sleep 30", { timeout: "1 second" }))
          // The container survives a timeout that the in-container kill handled.
          const after = yield* c.exec(["echo", "still usable"], { timeout })
          return { id: c.id, error, after }
        }),
      )
      expect(error._tag).toBe("ExecTimeout")
      if (error._tag !== "ExecTimeout") return
      expect(error.timeoutMs).toBe(1000)
      expect(error.containerKilled).toBe(false)
      expect(error.stdout).toBe("started\n")
      expect(error.command).toContain("sleep 30")
      expect(after.stdout).toBe("still usable\n")
      expect(yield* containerExists(id)).toBe(false)
    }))

  live("kills the container when the in-container timeout does not stop the command (backstop)", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      // A `timeout` earlier on PATH that ignores its limit (a plain exec's in-container kill), and a process that leaves
      // the command's process group and holds its output open (what the session's kill cannot reach): only the
      // host-side backstop can stop the command now.
      yield* c.copyFiles([{ path: "timeout", content: "#!/bin/sh\nshift 3\nexec \"$@\"\n", mode: 0o755 }], "/usr/local/bin")
      const error = yield* failureOf(c.exec("echo started; setsid sleep 60", { timeout: "1 second" }))
      expect(error._tag).toBe("ExecTimeout")
      if (error._tag !== "ExecTimeout") return
      expect(error.containerKilled).toBe(true)
      expect(error.stdout).toBe("started\n")
      const next = yield* failureOf(c.exec(["true"], { timeout }))
      expect(next._tag).toBe("ContainerDied")
    }))

  live("captures 50 MB of output up to the cap, keeping head and tail, and records the truncation", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      const r = yield* c.exec(
        ["python3", "-c", "import sys; sys.stdout.write('START' + 'x' * 50_000_000 + 'END'); sys.stderr.write('done')"],
        { timeout: "120 seconds" },
      )
      expect(r.exitCode).toBe(0)
      expect(r.stdoutTruncated).toBe(true)
      expect(r.stdoutBytes).toBe(50_000_008)
      expect(r.stdout.startsWith("STARTxxx")).toBe(true)
      expect(r.stdout.endsWith("xxxEND")).toBe(true)
      expect(r.stdout).toMatch(/\[\.\.\. swe-gym: 48951432 bytes of output truncated \.\.\.\]/)
      expect(r.stdout.length).toBeLessThan(1024 * 1024 + 100)
      expect(r.stderr).toBe("done")
      expect(r.stderrTruncated).toBe(false)

      const small = yield* c.exec(["python3", "-c", "print('a' * 1000, end='')"], { timeout, maxOutputBytes: 100 })
      expect(small.stdoutTruncated).toBe(true)
      expect(small.stdout).toBe(`${"a".repeat(25)}\n[... swe-gym: 900 bytes of output truncated ...]\n${"a".repeat(75)}`)
    }))

  live("decodes invalid UTF-8 with replacement characters", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      const r = yield* c.exec(
        ["python3", "-c", "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe \\xc3\\xa9 end'); sys.stderr.buffer.write(b'\\xc3')"],
        { timeout },
      )
      expect(r.exitCode).toBe(0)
      expect(r.stdout).toBe("ok \uFFFD\uFFFD é end")
      expect(r.stderr).toBe("\uFFFD")
    }))

  live("has no network by default", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      const interfaces = yield* c.exec("ls /sys/class/net", { timeout })
      expect(interfaces.stdout.trim().split(/\s+/)).toEqual(["lo"])
      const connect = yield* c.exec(
        ["python3", "-c", "import socket; socket.create_connection(('1.1.1.1', 53), timeout=5)"],
        { timeout },
      )
      expect(connect.exitCode).not.toBe(0)
      expect(connect.stderr).toMatch(/OSError|unreachable/i)
    }))

  live("sets memory, pids and CPU limits, the network mode and the labels", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const sandbox = yield* Sandbox
      const plain = yield* sandbox.create({ image: testImage, labels: { "test.case": "limits", [RunLabel]: "spoofed" } })
      const info = yield* Effect.promise(() => docker.getContainer(plain.id).inspect())
      expect(info.HostConfig.Memory).toBe(DefaultLimits.memoryBytes)
      expect(info.HostConfig.MemorySwap).toBe(DefaultLimits.memoryBytes)
      expect(info.HostConfig.PidsLimit).toBe(512)
      expect(info.HostConfig.NanoCpus).toBe(1_000_000_000)
      expect(info.HostConfig.NetworkMode).toBe("none")
      // (Labels of the image itself show up here too.)
      expect(info.Config.Labels).toMatchObject({ "test.case": "limits", [ManagedLabel]: "true", [RunLabel]: runId })
      expect(sandbox.runId).toBe(runId)

      const custom = yield* sandbox.create({
        image: testImage,
        limits: { memoryBytes: 256 * 1024 * 1024, pids: 64, cpus: 0.5 },
        network: "bridge",
      })
      const customInfo = yield* Effect.promise(() => docker.getContainer(custom.id).inspect())
      expect(customInfo.HostConfig.Memory).toBe(256 * 1024 * 1024)
      expect(customInfo.HostConfig.PidsLimit).toBe(64)
      expect(customInfo.HostConfig.NanoCpus).toBe(500_000_000)
      expect(customInfo.HostConfig.NetworkMode).toBe("bridge")
    }))

  live("reports a command killed at the memory limit as exit code 137, not as a timeout", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage, limits: { memoryBytes: 64 * 1024 * 1024 } })
      const r = yield* c.exec(["python3", "-c", "x = bytearray(512 * 1024 * 1024); print(len(x))"], { timeout })
      expect(r.exitCode).toBe(137)
      const alive = yield* c.exec(["echo", "alive"], { timeout })
      expect(alive.stdout).toBe("alive\n")
    }))

  live("round-trips files through putArchive, copyFiles and readFile", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      const bytes = new Uint8Array(256).map((_, i) => i)
      const pack = tar.pack()
      pack.entry({ name: "data.bin", mode: 0o600 }, Buffer.from(bytes))
      pack.entry({ name: "sub/hello.txt" }, "héllo\n")
      pack.finalize()
      yield* c.putArchive(new Uint8Array(yield* Effect.promise(() => buffer(pack))), "/tmp")
      expect(yield* c.readFile("/tmp/data.bin")).toEqual(bytes)
      expect(new TextDecoder().decode(yield* c.readFile("/tmp/sub/hello.txt"))).toBe("héllo\n")

      yield* c.copyFiles(
        [
          { path: "run.sh", content: "#!/bin/sh\necho ran \"$@\"\n", mode: 0o755 },
          { path: "pkg/tests/test_x.py", content: "def test_x():\n    assert True\n" },
        ],
        "/work/new/dir",
      )
      const ran = yield* c.exec(["/work/new/dir/run.sh", "ok"], { timeout })
      expect(ran.stdout).toBe("ran ok\n")
      const pytest = yield* c.exec(["python3", "-m", "pytest", "-q", "pkg/tests/test_x.py"], {
        timeout,
        workdir: "/work/new/dir",
      })
      expect(pytest.exitCode).toBe(0)
      expect(pytest.stdout).toMatch(/1 passed/)

      yield* c.exec("ln -s /tmp/sub/hello.txt /tmp/link", { timeout })
      expect(new TextDecoder().decode(yield* c.readFile("/tmp/link"))).toBe("héllo\n")
    }))

  live("a streamed 50 MB archive is complete in the container as soon as putArchive returns, every time", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      const dir = mkdtempSync(join(tmpdir(), "sandbox-put-stream-"))
      const data = randomBytes(50 * 1024 * 1024)
      writeFileSync(join(dir, "big.bin"), data)
      const expected = createHash("sha256").update(data).digest("hex")
      try {
        for (let i = 0; i < 5; i++) {
          yield* c.exec(["mkdir", "-p", `/tmp/put-${i}`], { timeout })
          const tarProcess = spawn("tar", ["-C", dir, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] })
          yield* c.putArchive(tarProcess.stdout, `/tmp/put-${i}`)
          const sum = yield* c.exec(["sha256sum", `/tmp/put-${i}/big.bin`], { timeout })
          expect(sum.stdout.split(" ")[0], `iteration ${i}: ${sum.stderr}`).toBe(expected)
          yield* c.exec(["rm", "-rf", `/tmp/put-${i}`], { timeout })
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))

  live("reports missing files and paths that leave the destination as typed errors", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      const missing = yield* failureOf(c.readFile("/no/such/file"))
      expect(missing._tag).toBe("FileNotFound")
      const dir = yield* failureOf(c.readFile("/tmp"))
      expect(dir._tag).toBe("FileNotFound")
      const dest = yield* failureOf(c.putArchive(new Uint8Array(1024), "/no/such/dir"))
      expect(dest._tag).toBe("FileNotFound")
      const escape = yield* failureOf(c.copyFiles([{ path: "../etc/evil", content: "x" }], "/work"))
      expect(escape._tag).toBe("InvalidPath")
      const absolute = yield* failureOf(c.copyFiles([{ path: "/etc/evil", content: "x" }], "/work"))
      expect(absolute._tag).toBe("InvalidPath")
    }))

  live("fails with ImageNotFound for an image that is not on the engine", () =>
    Effect.gen(function* () {
      const error = yield* failureOf((yield* Sandbox).create({ image: "swe-gym/no-such-image:nope" }))
      expect(error._tag).toBe("ImageNotFound")
      if (error._tag === "ImageNotFound") expect(error.hint).toMatch(/npm run setup/)
    }))

  live("fails with ContainerDied, with the container's state, once the container is stopped", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      const c = yield* (yield* Sandbox).create({ image: testImage })
      yield* Effect.promise(() => docker.getContainer(c.id).kill())
      const error = yield* failureOf(c.exec(["true"], { timeout }))
      expect(error._tag).toBe("ContainerDied")
      if (error._tag === "ContainerDied") expect(error.state).toBe("exited")
    }))

  live("an exec SIGKILLed while its container is stopping fails with ContainerDied, not exit code 137", () =>
    Effect.gen(function* () {
      const { docker } = yield* DockerClient
      // On `docker stop`, the container's main process first SIGKILLs every other process (the exec's command ends with
      // 137) and only then exits: the container still reads as running for a moment after the exec has ended.
      const keepAlive = ["/bin/sh", "-c", "trap 'kill -9 -1; sleep 0.5; exit 0' TERM; sleep infinity & wait"]
      const c = yield* (yield* Sandbox).create({ image: testImage, keepAlive })
      const running = yield* Effect.fork(c.exec(["sleep", "60"], { timeout: "2 minutes" }))
      yield* Effect.tryPromise(() => docker.getContainer(c.id).top()).pipe(
        Effect.filterOrFail((top) => JSON.stringify(top).includes("sleep 60")),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds"))),
      )
      yield* Effect.fork(Effect.tryPromise(() => docker.getContainer(c.id).stop({ t: 10 })))
      const exit = yield* Fiber.await(running)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      expect(error?._tag === "Some" ? error.value._tag : `exec ended with ${JSON.stringify(exit)}`).toBe("ContainerDied")
    }))

  live("destroy is idempotent and later calls fail with ContainerDied", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      yield* c.destroy
      yield* c.destroy
      expect(yield* containerExists(c.id)).toBe(false)
      const error = yield* failureOf(c.exec(["true"], { timeout }))
      expect(error._tag).toBe("ContainerDied")
      const read = yield* failureOf(c.readFile("/etc/hostname"))
      expect(read._tag).toBe("ContainerDied")
    }))

  live("removes the container when the scope fails", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      let id = ""
      const exit = yield* Effect.exit(
        Effect.scoped(
          Effect.gen(function* () {
            const c = yield* sandbox.create({ image: testImage })
            id = c.id
            return yield* Effect.fail("boom")
          }),
        ),
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(id).not.toBe("")
      expect(yield* containerExists(id)).toBe(false)
    }))

  live("removes the container when the fiber holding it is interrupted", () =>
    Effect.gen(function* () {
      const sandbox = yield* Sandbox
      const { docker } = yield* DockerClient
      const marker = `interrupt-${Math.random().toString(36).slice(2)}`
      const fiber = yield* Effect.fork(
        Effect.scoped(
          Effect.gen(function* () {
            const c = yield* sandbox.create({ image: testImage, labels: { "test.case": marker } })
            yield* c.exec("sleep 600", { timeout: "10 minutes" })
          }),
        ),
      )
      const listMarked = Effect.promise(() =>
        docker.listContainers({ all: true, filters: { label: [`test.case=${marker}`] } }))
      // Wait until the container exists and its exec is under way, then interrupt the fiber.
      const started = yield* listMarked.pipe(
        Effect.filterOrFail((cs) => cs.length === 1),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.compose(Schedule.recurs(200)))),
      )
      yield* Effect.sleep("300 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit), Cause.pretty(Exit.isFailure(exit) ? exit.cause : Cause.empty)).toBe(true)
      expect(started).toHaveLength(1)
      expect(yield* listMarked).toEqual([])
    }))
})

describe("exec session", () => {
  const live = liveTest(runId, true)
  const parentOf = (c: Container) =>
    c.exec("cat /proc/$PPID/comm", { timeout }).pipe(Effect.map((r) => r.stdout.trim()))

  live("commands run under the session's server, not a Docker exec each; without the session they run under timeout", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      // `sh -c` is the command; its parent is the session's Python server (plain execs: coreutils' timeout).
      expect(yield* parentOf(c)).toMatch(/^python3/)
      // Concurrent commands in one container each get their own answer.
      const many = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => c.exec(`sleep 0.$((${i} % 3)); echo ${i}; echo e${i} >&2; exit ${i}`, { timeout })),
        { concurrency: "unbounded" },
      )
      expect(many.map((r) => [r.exitCode, r.stdout, r.stderr])).toEqual(Array.from({ length: 8 }, (_, i) => [i, `${i}\n`, `e${i}\n`]))
    }).pipe(Effect.zipRight(
      Effect.gen(function* () {
        const c = yield* (yield* Sandbox).create({ image: testImage })
        expect(yield* parentOf(c)).toBe("timeout")
      }).pipe(Effect.provide(testLayer(runId, false))),
    )))

  live("a container without a working Python falls back to plain execs", () =>
    Effect.gen(function* () {
      // PYTHONHOME pointing nowhere stops every python3 from starting, the session's server included.
      const c = yield* (yield* Sandbox).create({ image: testImage, env: { PYTHONHOME: "/nonexistent" } })
      const r = yield* c.exec("echo fine", { timeout })
      expect(r).toMatchObject({ exitCode: 0, stdout: "fine\n" })
      expect(yield* parentOf(c)).toBe("timeout")
    }))

  live("a command that kills the server ends as killed (137); the next command opens a new session", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      expect(yield* parentOf(c)).toMatch(/^python3/)
      const killed = yield* c.exec("kill -9 $PPID; sleep 5", { timeout })
      expect(killed.exitCode).toBe(137)
      expect(killed.stderr).toContain("exec session ended")
      const next = yield* c.exec("echo again", { timeout })
      expect(next).toMatchObject({ exitCode: 0, stdout: "again\n" })
      expect(yield* parentOf(c)).toMatch(/^python3/)
    }))

  live("an exec given up by its caller (interrupted) kills its command in the container", () =>
    Effect.gen(function* () {
      const c = yield* (yield* Sandbox).create({ image: testImage })
      // A script's name is its process's comm (`sleep` would also match the container's own `sleep infinity`).
      yield* c.copyFiles([{ path: "long-wait", content: "#!/bin/sh\nsleep 60\n", mode: 0o755 }], "/usr/local/bin")
      const fiber = yield* Effect.fork(c.exec("long-wait; touch /tmp/finished", { timeout: "120 seconds" }))
      yield* c.exec("for i in $(seq 100); do grep -qx long-wait /proc/[0-9]*/comm 2>/dev/null && exit 0; sleep 0.1; done; exit 1", { timeout }).pipe(
        Effect.filterOrFail((r) => r.exitCode === 0),
      )
      yield* Fiber.interrupt(fiber)
      const gone = yield* c.exec("for i in $(seq 50); do grep -qx long-wait /proc/[0-9]*/comm 2>/dev/null || exit 0; sleep 0.1; done; exit 1", { timeout })
      expect(gone.exitCode).toBe(0)
    }))
})

it.effect("the Sandbox layer fails with EngineUnavailable when DOCKER_HOST points at nothing", () =>
  Effect.gen(function* () {
    const error = yield* failureOf(
      Layer.build(DockerSandboxLive).pipe(
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DOCKER_HOST", "unix:///tmp/no-such-docker.sock"]]))),
      ),
    )
    expect(error._tag).toBe("EngineUnavailable")
  }))

// The command runs on real time: a TestClock in the caller must not stop the timeout from being detected.
it.effect("detects a timeout even when the caller runs on a TestClock", () =>
  Effect.gen(function* () {
    const c = yield* (yield* Sandbox).create({ image: testImage })
    const error = yield* failureOf(c.exec("sleep 30", { timeout: "1 second" }))
    expect(error._tag).toBe("ExecTimeout")
  }).pipe(Effect.scoped, Effect.provide(testLayer(runId))))
