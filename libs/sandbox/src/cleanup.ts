// Leftover containers: the ones swe-gym created (managed label) that are still on the engine after their run ended,
// because the process was killed before its scopes closed (SIGKILL, power loss, OOM of the host process). Orphans are the
// leftovers whose creating process is gone (container-owner.ts): removing them is safe while other runs are live.
import { Effect, Option, Schema } from "effect"
import { type ContainerOwner, currentOwner, ownerFromLabels, ownerStatus } from "./container-owner.js"
import { DockerClient } from "./docker-sandbox.js"
import { callEngine, engineFailure, isNoSuchContainer, toEngineError } from "./internal/engine-failure.js"
import { ManagedLabel, RunLabel } from "./labels.js"
import { EngineError } from "./sandbox.js"

/** A container swe-gym created that is still on the engine. */
export interface Leftover {
  readonly id: string
  readonly name: string
  readonly image: string
  /** The run label, "" when missing. */
  readonly runId: string
  /** Docker's state: running, exited, created, ... */
  readonly state: string
  /** Creation time, seconds since the epoch. */
  readonly created: number
  /** The process that created it, from its labels; none for containers of versions that did not record it. */
  readonly owner: Option.Option<ContainerOwner>
}

/** Which leftovers: every swe-gym container, or only one run's. */
export interface LeftoverFilter {
  readonly runId?: string
}

/** What removeLeftovers did. */
export interface LeftoverRemoval {
  readonly removed: ReadonlyArray<Leftover>
  /** Containers the engine would not remove, with its reason. */
  readonly failed: ReadonlyArray<{ readonly leftover: Leftover; readonly reason: string }>
}

const ContainerSummary = Schema.Struct({
  Id: Schema.String,
  Names: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  Image: Schema.String,
  State: Schema.optionalWith(Schema.String, { default: () => "unknown" }),
  Created: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  Labels: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
})

const decodeSummaries = Schema.decodeUnknown(Schema.Array(ContainerSummary))

/** List swe-gym's containers on the engine (all states), optionally of one run. */
export const listLeftovers = Effect.fn("sandbox.listLeftovers")(function* (filter: LeftoverFilter = {}) {
  const { docker } = yield* DockerClient
  const labels = [`${ManagedLabel}=true`, ...(filter.runId === undefined ? [] : [`${RunLabel}=${filter.runId}`])]
  const raw = yield* Effect.tryPromise({
    try: (): Promise<unknown> => docker.listContainers({ all: true, filters: { label: labels } }),
    catch: (cause) => toEngineError("listContainers", undefined, engineFailure(cause)),
  })
  const summaries = yield* decodeSummaries(raw).pipe(
    Effect.mapError((e) =>
      new EngineError({
        operation: "listContainers",
        detail: `unexpected answer: ${e.message}`,
        hint: "the engine's API version may be unsupported; `docker version` shows it",
      })),
  )
  return summaries.map((c): Leftover => ({
    id: c.Id,
    name: (c.Names[0] ?? "").replace(/^\//, ""),
    image: c.Image,
    runId: c.Labels[RunLabel] ?? "",
    state: c.State,
    created: c.Created,
    owner: ownerFromLabels(c.Labels),
  }))
})

/** Force-removes containers; one already gone counts as removed. */
const removeAll = (leftovers: ReadonlyArray<Leftover>) =>
  Effect.flatMap(DockerClient, ({ docker }) =>
    Effect.forEach(
      leftovers,
      (leftover) =>
        callEngine(() => docker.getContainer(leftover.id).remove({ force: true, v: true })).pipe(
          Effect.as({ leftover, reason: undefined }),
          Effect.catchAll((f) => Effect.succeed({ leftover, reason: isNoSuchContainer(f) ? undefined : f.detail })),
        ),
      { concurrency: 4 },
    )).pipe(
      Effect.map((outcomes): LeftoverRemoval => ({
        removed: outcomes.filter((o) => o.reason === undefined).map((o) => o.leftover),
        failed: outcomes.flatMap((o) => (o.reason === undefined ? [] : [{ leftover: o.leftover, reason: o.reason }])),
      })),
    )

/** Force-remove swe-gym's containers (optionally of one run); a container already gone counts as removed. */
export const removeLeftovers = Effect.fn("sandbox.removeLeftovers")(function* (filter: LeftoverFilter = {}) {
  return yield* removeAll(yield* listLeftovers(filter))
})

/** Why a container is not an orphan: its owner lives, runs on another host, or is not recorded on it. */
export type KeptReason = "alive" | "other-host" | "no-owner"

/** swe-gym's containers split into orphans (their creating process is gone) and the rest. */
export interface OrphanSurvey {
  readonly orphans: ReadonlyArray<Leftover>
  readonly kept: ReadonlyArray<{ readonly leftover: Leftover; readonly reason: KeptReason }>
}

/** What reapOrphans did: the removal of the orphans, and the containers it left alone. */
export interface OrphanReaping extends LeftoverRemoval {
  readonly kept: OrphanSurvey["kept"]
}

/**
 * swe-gym's containers (optionally of one run) whose creating process on this host is gone: its pid is free, a zombie,
 * or held by a process that started at another time, or the host rebooted since. Containers of other hosts (a shared
 * engine), of live processes, and without owner labels are kept.
 */
export const findOrphans = Effect.fn("sandbox.findOrphans")(function* (filter: LeftoverFilter = {}) {
  const here = yield* currentOwner
  const leftovers = yield* listLeftovers(filter)
  const orphans: Array<Leftover> = []
  const kept: Array<OrphanSurvey["kept"][number]> = []
  for (const leftover of leftovers) {
    if (Option.isNone(leftover.owner)) {
      kept.push({ leftover, reason: "no-owner" })
      continue
    }
    const status = yield* ownerStatus(leftover.owner.value, here)
    if (status === "gone") orphans.push(leftover)
    else kept.push({ leftover, reason: status })
  }
  const survey: OrphanSurvey = { orphans, kept }
  return survey
})

/** Removes the orphans {@link findOrphans} finds (a run calls it at start; `swe-gym-docker cleanup` by default). */
export const reapOrphans = Effect.fn("sandbox.reapOrphans")(function* (filter: LeftoverFilter = {}) {
  const survey = yield* findOrphans(filter)
  const removal = yield* removeAll(survey.orphans)
  const reaping: OrphanReaping = { ...removal, kept: survey.kept }
  return reaping
})
