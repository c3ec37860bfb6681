// A throwaway copy of the workspace for the end-to-end test and the rebuild benchmark: the files git sees (tracked and
// untracked, not ignored), node_modules hard-linked, no build outputs, no Nx cache and no data/out — a fresh clone, in
// which the sample may be changed without touching the real one. Commands run in it with a clean Nx environment.
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { stripVTControlCharacters } from "node:util"

/** The real workspace this file lives in. */
export const workspaceRoot = fileURLToPath(new URL("../../../", import.meta.url))

/** Where the sample dataset's stages write, relative to a workspace root (see project.json). */
export const datasetOut = "data/out/sample-dataset"

/** Copies the workspace into a new temp directory (node_modules hard-linked: same file system, no copy of the bytes). */
export const copyWorkspace = (source: string = workspaceRoot): string => {
  const root = mkdtempSync(join(tmpdir(), "swe-gym-workspace-"))
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: source, encoding: "utf8" })
  if (listed.status !== 0) throw new Error(`git ls-files in ${source} failed: ${listed.stderr}`)
  for (const file of new Set(listed.stdout.split("\0").filter((f) => f !== ""))) {
    const from = join(source, file)
    if (!existsSync(from)) continue // deleted in the working tree
    mkdirSync(dirname(join(root, file)), { recursive: true })
    copyFileSync(from, join(root, file))
  }
  // The root node_modules and each workspace package's own (npm nests a package's dependency there when the root holds
  // another version of it, e.g. libs/sandbox's tar-stream 3 beside dockerode's tar-stream 2 at the root).
  const nested = ["libs", "apps", "tools", "data"].flatMap((group) =>
    existsSync(join(source, group)) ? readdirSync(join(source, group)).map((name) => join(group, name, "node_modules")) : [])
  for (const dir of ["node_modules", ...nested.filter((d) => existsSync(join(source, d)))]) {
    const linked = spawnSync("cp", ["-al", join(source, dir), join(root, dir)], { encoding: "utf8" })
    if (linked.status !== 0) throw new Error(`hard-linking ${dir} into ${root} failed: ${linked.stderr}`)
  }
  return root
}

/** Removes a copy made by copyWorkspace. */
export const removeWorkspace = (root: string): void => rmSync(root, { recursive: true, force: true })

/** What a command printed (stdout and stderr interleaved, colour codes removed), its exit code and how long it took. */
export interface CommandRun {
  readonly command: string
  readonly code: number | null
  readonly output: string
  readonly seconds: number
}

/** The environment of a command in a copy: no Nx variables of an enclosing Nx run, no daemon, no cloud, no TUI. */
export const cleanEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("NX_") && !k.startsWith("npm_") && k !== "INIT_CWD") env[k] = v
  return { ...env, NX_DAEMON: "false", NX_NO_CLOUD: "true", NX_TUI: "false" }
}

/** Runs `command args` in `root`, echoing its output to `echo` (e.g. process.stderr.write) as it comes. */
export const run = (root: string, command: string, args: ReadonlyArray<string>, echo?: (text: string) => void): Promise<CommandRun> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, [...args], { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    const take = (chunk: Buffer) => {
      const text = chunk.toString("utf8")
      output += text
      echo?.(text)
    }
    child.stdout.on("data", take)
    child.stderr.on("data", take)
    child.on("error", reject)
    // Colour codes stripped: Nx colours its task lines when CI is set (\x1b[1m inside "nx run project:target").
    child.on("close", (code) =>
      resolve({ command: [command, ...args].join(" "), code, output: stripVTControlCharacters(output), seconds: (performance.now() - started) / 1000 }))
  })

/** Runs Nx in `root` (its own node_modules/.bin/nx) with live output. */
export const nx = (root: string, args: ReadonlyArray<string>, echo?: (text: string) => void): Promise<CommandRun> =>
  run(root, join(root, "node_modules", ".bin", "nx"), [...args, "--outputStyle=stream"], echo)

/** The pull request `touchRepository` changes: sample/calc #6, a valid candidate with one FAIL_TO_PASS test. */
export const touchedPull = { repo: "sample/calc", folder: "sample__calc", number: 6, instance_id: "sample__calc-6" } as const

/** The file the touched pull request's gold patch now also adds (a non-test file: it goes to `patch`). */
export const touchedFile = "calc/NOTES.md"

/**
 * Changes one repository of the sample export in a copy, as a new push to a PR does: sample/calc #6 gets a later
 * `updated_at` and its diff a new non-test file, so mining re-mines that PR and its candidate's patch (and so its
 * validation key) changes, while its tests and labels stay what they were.
 */
export const touchRepository = (root: string): void => {
  const pulls = join(root, "data/sample/github", touchedPull.folder, "pulls")
  const jsonFile = join(pulls, `${touchedPull.number}.json`)
  const pull = readFileSync(jsonFile, "utf8")
  const updated = pull.replace(/"updated_at":\s*"[^"]*"/, '"updated_at": "2024-12-01T00:00:00Z"')
  if (updated === pull) throw new Error(`${jsonFile}: no updated_at to change`)
  writeFileSync(jsonFile, updated)
  const content = "Notes added by a later push to this pull request.\n"
  const blob = createHash("sha1").update(`blob ${Buffer.byteLength(content)}\0${content}`).digest("hex")
  const hunk = [
    `diff --git a/${touchedFile} b/${touchedFile}`,
    "new file mode 100644",
    `index 0000000..${blob.slice(0, 7)}`,
    "--- /dev/null",
    `+++ b/${touchedFile}`,
    "@@ -0,0 +1 @@",
    `+${content.trimEnd()}`,
    "",
  ].join("\n")
  const diffFile = join(pulls, `${touchedPull.number}.diff`)
  writeFileSync(diffFile, readFileSync(diffFile, "utf8") + hunk)
}

/** The published dataset's JSONL in a workspace (empty text when absent). */
export const publishedJsonl = (root: string): string => {
  const file = join(root, datasetOut, "publish", "dataset.jsonl")
  return existsSync(file) ? readFileSync(file, "utf8") : ""
}
