// The analysis CLI run as a user runs it (through vite-node on the sources): query leaves the database it reads as it
// was and prints multi-line cells whole; import, report-table on a real OpenHands file.
import { Store } from "@swe-gym/store"
import { Effect, Schema } from "effect"
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"

const appDir = resolve(fileURLToPath(new URL("..", import.meta.url)))
const viteNode = join(appDir, "../../node_modules/.bin/vite-node")
const shared = process.env["SWE_GYM_SHARED"] ?? join(appDir, "../../../shared")

const cli = (...args: Array<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
    execFile(viteNode, ["--config", "vitest.config.ts", "src/main.ts", ...args], { cwd: appDir, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      // A run that did not exit on its own (a signal, a full buffer) says so in stderr, so a failed expectation shows why.
      done({
        code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
        stdout,
        stderr: error !== null && typeof error.code !== "number" ? `${stderr}\n[${error.signal ?? ""} ${error.message}]` : stderr,
      })),
  )

const dir = mkdtempSync(join(tmpdir(), "analysis-cli-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const Tables = Schema.Struct({ table_name: Schema.String })
const tablesOf = (db: string) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const store = yield* Store
      return (yield* store.query("SELECT table_name FROM information_schema.tables ORDER BY table_name", [], Tables)).map((r) => r.table_name)
    }).pipe(Effect.provide(Store.layer({ path: db }))),
  )

describe("analysis query", () => {
  it("prints every line of a multi-line cell and creates nothing in the database it reads", async () => {
    const db = join(dir, "notes.duckdb")
    await Effect.runPromise(Effect.gen(function*() {
      const store = yield* Store
      yield* store.run("CREATE TABLE notes (id INTEGER, body VARCHAR)")
      yield* store.run("INSERT INTO notes VALUES (1, 'first line\nsecond line\nthird line')")
    }).pipe(Effect.provide(Store.layer({ path: db }))))
    const before = await tablesOf(db)
    const size = statSync(db).size
    const run = await cli("query", "SELECT id, body FROM notes", "--db", db)
    expect(run.stderr).not.toMatch(/Error/)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout.split("\n").slice(0, 5)).toEqual(["id  body", "--  -----------", "1   first line", "    second line", "    third line"])
    expect(await tablesOf(db)).toEqual(before)
    expect(before).toEqual(["notes"])
    expect(statSync(db).size).toBe(size)
  }, 120_000)

  it("refuses a database that does not exist, and does not create it", async () => {
    const db = join(dir, "missing.duckdb")
    const run = await cli("query", "SELECT 1", "--db", db)
    expect(run.code).not.toBe(0)
    expect(run.stdout + run.stderr).toContain(`no database at ${db}`)
    expect(existsSync(db)).toBe(false)
  }, 120_000)
})

describe("analysis import and report-table", () => {
  it("imports OpenHands' output.jsonl with a summary, and writes table3 as CSV", async () => {
    const db = join(dir, "a.duckdb")
    const run = await cli("import", "--format", "openhands", join(shared, "trajectories/openhands/output.jsonl"), "--db", db)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain(`imported 3 trajectories, 0 gradings, 3 instances from 1 files into ${db}; 0 rejected`)
    expect(run.stderr).toContain("import openhands: 3 trajectories")
    const csv = join(dir, "t3.csv")
    const table = await cli("report-table", "table3", "--db", db, "--out", csv)
    expect(table.code, table.stderr).toBe(0)
    // 23 + 33 + 49 turns over 3 trajectories; nothing graded, so no resolve rate.
    expect(readFileSync(csv, "utf8").split("\n")[1]).toBe(
      "meta-llama/llama-4-maverick,__home__tiger__liuq901__MopenHands__data__multi_swe_bench_c_changed_debug.jsonl-train,3,0,0,,0,0,0,35",
    )
  }, 180_000)
})
