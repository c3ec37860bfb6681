// Rollouts and their steps in DuckDB (through @swe-gym/store), keyed by the rollout's content key.
//
// Why DuckDB rather than a JSONL file per run: the runner already keeps its evaluations in the same database (`--db`);
// a rollout's state (running → rolled_out → verified) is one row to look up on resume, and primary keys make a
// duplicate (instance, sample) impossible rather than something a reader must filter; analyses query steps and raw LLM
// calls with SQL in place. Steps reach agent_steps through a journal beside the database, written before the agent
// goes on (step-recorder.ts), so kill -9 loses at most the steps in flight.
//
// The tables have no index on purpose: with DuckDB 1.5.6, after a kill -9 and the WAL's replay, an INSERT OR REPLACE on
// a table with a primary key and a secondary index failed with "FATAL Error: Failed to delete all rows from index"
// (crash.test.ts found it), which invalidates the database. Keys are kept unique by the writes instead: a rollout row is
// inserted once and then changed in place by one UPDATE, and a rollout's steps are deleted when an attempt begins and
// inserted once each, all by the only writer (DuckDB lets one process open the file, and the stage runs each key once).
import { type RolloutTrajectory as RolloutTrajectoryType, RolloutTrajectory } from "@swe-gym/domain"
import { type Migration, type SqlParam, Store } from "@swe-gym/store"
import { Effect, Option, Schema } from "effect"
import { AgentStep } from "./agent-loop.js"

/** The agent's DuckDB tables (component "agent"). */
export const agentMigrations: ReadonlyArray<Migration> = [
  {
    component: "agent",
    version: 1,
    name: "rollouts and steps",
    up: `CREATE TABLE agent_rollouts (
  rollout_key VARCHAR NOT NULL,
  instance_id VARCHAR NOT NULL,
  sample INTEGER NOT NULL,
  agent VARCHAR NOT NULL,
  config_hash VARCHAR NOT NULL,
  model VARCHAR NOT NULL,
  temperature DOUBLE NOT NULL,
  run_id VARCHAR NOT NULL,
  status VARCHAR NOT NULL,
  attempt INTEGER NOT NULL,
  updated_at VARCHAR NOT NULL,
  exit_reason VARCHAR,
  resolved BOOLEAN,
  trajectory JSON
);
CREATE TABLE agent_steps (
  rollout_key VARCHAR NOT NULL,
  step INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  recorded_at VARCHAR NOT NULL,
  record JSON NOT NULL
);`,
  },
]

/**
 * Where a rollout stands: `running` (steps being recorded, or a crash left it so), `rolled_out` (trajectory stored,
 * patch not yet verified), `verified` (done).
 */
export const RolloutStatus = Schema.Literal("running", "rolled_out", "verified")
export type RolloutStatus = typeof RolloutStatus.Type

/** What identifies a rollout row besides its key. */
export interface RolloutIdentity {
  readonly rollout_key: string
  readonly instance_id: string
  readonly sample: number
  readonly agent: string
  readonly config_hash: string
  readonly model: string
  readonly temperature: number
  readonly run_id: string
}

/** A stored rollout: its status, attempts so far and (once rolled out) its trajectory. */
export interface StoredRollout {
  readonly status: RolloutStatus
  readonly attempt: number
  readonly trajectory: Option.Option<RolloutTrajectoryType>
}

const TrajectoryJson = Schema.parseJson(RolloutTrajectory)
const StepJson = Schema.parseJson(AgentStep)
const now = () => new Date().toISOString()

/**
 * Writes a rollout's row: one UPDATE, or one INSERT when there is no row yet. Each is a single statement (atomic, one
 * commit of a few ms), where Store.upsert's staging table and transaction took 40-100 ms of the one connection, three
 * times per rollout, and under load queued every other write (the steps of the running rollouts) behind it.
 */
const upsertRow = (id: RolloutIdentity, status: RolloutStatus, attempt: number, trajectory: RolloutTrajectoryType | undefined) =>
  Effect.gen(function*() {
    const store = yield* Store
    const json = trajectory === undefined ? null : yield* Schema.encode(TrajectoryJson)(trajectory).pipe(Effect.orDie)
    const values: ReadonlyArray<SqlParam> = [
      id.instance_id,
      id.sample,
      id.agent,
      id.config_hash,
      id.model,
      id.temperature,
      id.run_id,
      status,
      attempt,
      now(),
      trajectory?.exit_reason ?? null,
      trajectory?.resolved ?? null,
      json,
    ]
    const updated = yield* store.run(
      `UPDATE agent_rollouts SET instance_id = ?, sample = ?, agent = ?, config_hash = ?, model = ?, temperature = ?, run_id = ?,
         status = ?, attempt = ?, updated_at = ?, exit_reason = ?, resolved = ?, trajectory = ?
       WHERE rollout_key = ?`,
      [...values, id.rollout_key],
    )
    if (updated > 0) return
    yield* store.run(
      `INSERT INTO agent_rollouts (instance_id, sample, agent, config_hash, model, temperature, run_id, status, attempt,
         updated_at, exit_reason, resolved, trajectory, rollout_key) VALUES (${values.map(() => "?").join(", ")}, ?)`,
      [...values, id.rollout_key],
    )
  })

/** The stored rollout with this key, if any (a trajectory this version cannot read counts as not rolled out). */
export const findRollout = Effect.fn("agent.findRollout")(function*(rolloutKey: string) {
  const store = yield* Store
  const rows = yield* store.query(
    "SELECT status, attempt, CAST(trajectory AS VARCHAR) AS trajectory FROM agent_rollouts WHERE rollout_key = ?",
    [rolloutKey],
    Schema.Struct({ status: RolloutStatus, attempt: Schema.Number, trajectory: Schema.NullOr(Schema.String) }),
  )
  const row = rows[0]
  if (row === undefined) return Option.none<StoredRollout>()
  const trajectory = row.trajectory === null
    ? Option.none<RolloutTrajectoryType>()
    : yield* Schema.decode(TrajectoryJson)(row.trajectory).pipe(Effect.option)
  const status: RolloutStatus = row.status !== "running" && Option.isNone(trajectory) ? "running" : row.status
  return Option.some<StoredRollout>({ status, attempt: row.attempt, trajectory })
})

/**
 * Starts (or restarts) an attempt: the steps of any earlier attempt are removed, the row says `running`. Attempt 1 has
 * no earlier steps (attempts count from the stored row, and steps are recorded only under a row), so it deletes none.
 * A later attempt must come after the recorder's `flush`, so that no earlier step lands after the deletion.
 */
export const beginAttempt = Effect.fn("agent.beginAttempt")(function*(id: RolloutIdentity, attempt: number) {
  const store = yield* Store
  if (attempt > 1) yield* store.run("DELETE FROM agent_steps WHERE rollout_key = ?", [id.rollout_key])
  yield* upsertRow(id, "running", attempt, undefined)
})

/** Stores the trajectory of a finished agent loop (its patch not yet verified). */
export const saveRolledOut = (id: RolloutIdentity, attempt: number, trajectory: RolloutTrajectoryType) =>
  upsertRow(id, "rolled_out", attempt, trajectory).pipe(Effect.withSpan("agent.saveRolledOut"))

/** Stores the trajectory with its verification: the rollout is done. */
export const saveVerified = (id: RolloutIdentity, attempt: number, trajectory: RolloutTrajectoryType) =>
  upsertRow(id, "verified", attempt, trajectory).pipe(Effect.withSpan("agent.saveVerified"))

/** The recorded steps of a rollout's last attempt, in order. */
export const rolloutSteps = Effect.fn("agent.rolloutSteps")(function*(rolloutKey: string) {
  const store = yield* Store
  const rows = yield* store.query(
    "SELECT CAST(record AS VARCHAR) AS record FROM agent_steps WHERE rollout_key = ? ORDER BY step",
    [rolloutKey],
    Schema.Struct({ record: Schema.String }),
  )
  return yield* Effect.forEach(rows, (row) => Schema.decode(StepJson)(row.record).pipe(Effect.orDie))
})

/** Every stored trajectory of rollouts that got past the agent loop, by instance then sample (for reports and exports). */
export const storedTrajectories = Effect.fn("agent.storedTrajectories")(function*() {
  const store = yield* Store
  const rows = yield* store.query(
    `SELECT CAST(trajectory AS VARCHAR) AS trajectory FROM agent_rollouts
     WHERE status <> 'running' AND trajectory IS NOT NULL ORDER BY instance_id, sample, rollout_key`,
    [],
    Schema.Struct({ trajectory: Schema.String }),
  )
  return yield* Effect.forEach(rows, (row) => Schema.decode(TrajectoryJson)(row.trajectory).pipe(Effect.orDie))
})
