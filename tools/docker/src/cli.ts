// The swe-gym-docker commands: `engine` (make an engine answer), `base-image` (make the Python base image exist; its tag is
// the last stdout line), `cleanup` (remove containers swe-gym left behind: by default those whose creating process is gone),
// `browser` (make a headless Chromium exist for the HTML report's browser test; its path is the last stdout line).
// Progress goes to stderr (progress.ts), results to stdout.
import { Command, Options } from "@effect/cli"
import { DockerClientLive, ensureBaseImage, ensureEngine, findOrphans, listLeftovers, reapOrphans, removeLeftovers } from "@swe-gym/sandbox"
import type { KeptReason, Leftover } from "@swe-gym/sandbox"
import { Console, Effect, Option } from "effect"
import { ensureChromium } from "./browser.js"
import { withStderrProgress } from "./progress.js"

const engine = Command.make("engine", {}, () =>
  Effect.gen(function* () {
    const info = yield* ensureEngine()
    yield* Console.log(`Docker ${info.version} (API ${info.apiVersion}) at ${info.endpoint}${info.started ? " (started now)" : ""}`)
  }),
).pipe(
  Command.withDescription(
    "Ping the Docker engine at DOCKER_HOST or /var/run/docker.sock; as root on Debian, install docker.io and start dockerd when none answers.",
  ),
)

const mirror = Options.text("mirror").pipe(
  Options.withDescription("Debian mirror for debootstrap (default: SWE_GYM_DEBIAN_MIRROR, else the recipe's http://deb.debian.org/debian)."),
  Options.optional,
)
const image = Options.text("image").pipe(
  Options.withDescription("Use this Python image (with pytest and git) instead of building one; pulled if absent (default: SWE_GYM_BASE_IMAGE)."),
  Options.optional,
)
const logFile = Options.file("log-file").pipe(
  Options.withDescription("Where the build log goes (default /var/log/swe-gym-base-image.log)."),
  Options.optional,
)

const baseImage = Command.make("base-image", { mirror, image, logFile }, (flags) =>
  Effect.gen(function* () {
    const result = yield* ensureBaseImage({
      ...Option.match(flags.mirror, { onNone: () => ({}), onSome: (value) => ({ mirror: value }) }),
      ...Option.match(flags.image, { onNone: () => ({}), onSome: (value) => ({ image: value }) }),
      ...Option.match(flags.logFile, { onNone: () => ({}), onSome: (value) => ({ logFile: value }) }),
    })
    // The last stdout line is the tag alone, so scripts can capture it: TAG=$(swe-gym-docker base-image | tail -1)
    yield* Console.log(result.tag)
  }),
).pipe(Command.withDescription("Make sure the Python base image exists (built from Debian packages when absent); prints its tag last."))

const run = Options.text("run").pipe(
  Options.withDescription("Every container of this run (label swe-gym.run), live or not."),
  Options.optional,
)
const all = Options.boolean("all").pipe(
  Options.withDescription("Every container swe-gym created, including those of runs still going (they will fail)."),
)
const dryRun = Options.boolean("dry-run").pipe(Options.withDescription("List what would be removed; remove nothing."))

const ownerOf = (c: Leftover) =>
  Option.match(c.owner, { onNone: () => "", onSome: (o) => `, pid ${o.pid} on ${o.host}` })

const describe = (c: Leftover) =>
  `${c.name || c.id.slice(0, 12)} (${c.id.slice(0, 12)}, ${c.image}, ${c.state}${c.runId === "" ? "" : `, run ${c.runId}`}${ownerOf(c)})`

/** The leftover-containers error: some could not be removed, or the flags contradict each other. */
class CleanupIncomplete extends Error {
  override readonly name = "CleanupIncomplete"
}

const keptNotes: Record<KeptReason, string> = {
  alive: "its process is running",
  "other-host": "made on another host",
  "no-owner": "no owner labels (made by an older version; --all or --run removes it)",
}

const cleanup = Command.make("cleanup", { run, all, dryRun }, (flags) =>
  Effect.gen(function* () {
    if (flags.all && Option.isSome(flags.run)) return yield* Effect.fail(new CleanupIncomplete("give --all or --run ID, not both"))
    const filter = Option.match(flags.run, { onNone: () => ({}), onSome: (runId) => ({ runId }) })
    // Without --all or --run: only orphans, so a cleanup never breaks a run that is still going.
    const orphansOnly = !flags.all && Option.isNone(flags.run)
    if (flags.dryRun) {
      const leftovers = orphansOnly ? (yield* findOrphans()).orphans : yield* listLeftovers(filter)
      for (const c of leftovers) yield* Console.log(`would remove ${describe(c)}`)
      yield* Console.error(`[cleanup] ${leftovers.length} container(s) would be removed (dry run)`)
      return
    }
    const removal = orphansOnly ? yield* reapOrphans() : { ...(yield* removeLeftovers(filter)), kept: [] }
    for (const c of removal.removed) yield* Console.log(`removed ${describe(c)}`)
    for (const k of removal.kept) yield* Console.error(`[cleanup] kept ${describe(k.leftover)}: ${keptNotes[k.reason]}`)
    for (const f of removal.failed) yield* Console.error(`[cleanup] could not remove ${describe(f.leftover)}: ${f.reason}`)
    yield* Console.error(`[cleanup] removed ${removal.removed.length} container(s)`)
    if (removal.failed.length > 0) {
      return yield* Effect.fail(new CleanupIncomplete(`${removal.failed.length} container(s) could not be removed; see above`))
    }
  }).pipe(Effect.provide(DockerClientLive)),
).pipe(
  Command.withDescription(
    "Remove containers swe-gym left behind: by default those whose creating process on this host is gone (labels swe-gym.host, swe-gym.pid); --run ID one run's, --all every one.",
  ),
)

const browserLogFile = Options.file("log-file").pipe(
  Options.withDescription("Where apt-get's output goes when it installs chromium (default /var/log/swe-gym-chromium-install.log)."),
  Options.optional,
)

const browser = Command.make("browser", { logFile: browserLogFile }, (flags) =>
  Effect.gen(function* () {
    const found = yield* ensureChromium(Option.match(flags.logFile, { onNone: () => ({}), onSome: (value) => ({ installLogFile: value }) }))
    // The last stdout line is the path alone: CHROMIUM=$(swe-gym-docker browser | tail -1)
    yield* Console.log(found.path)
  }),
).pipe(
  Command.withDescription(
    "Find a Chromium (SWE_GYM_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH); as root on Debian, install Debian's chromium when there is none. Prints its path last.",
  ),
)

/** The swe-gym-docker command tree. */
export const command = Command.make("swe-gym-docker").pipe(
  Command.withDescription("Docker engine bootstrap, Python base image, leftover cleanup, headless Chromium."),
  Command.withSubcommands([engine, baseImage, cleanup, browser]),
)

/** Runs swe-gym-docker on process-style arguments (argv[0] node, argv[1] script, then the command). */
export const cli = (args: ReadonlyArray<string>) =>
  Command.run(command, { name: "swe-gym-docker", version: "0.1.0" })(args).pipe(withStderrProgress)
