// Gradings from the harness's evaluation table (ours: keyed by instance, patch hash, image, spec, timeout) into
// analytics_evaluations, keyed by (instance, patch hash) as trajectories are. The harness stores the patch's sha256, so
// the key is computed in SQL: sha256(instance_id || '\n' || patch_sha256) is `evaluationKey(instance_id, patch)`.
// Infrastructure failures are not verdicts on the patch and are left out; of several gradings of one patch (other
// images), the latest wins.
import { quoteIdentifier, quoteLiteral, Store } from "@swe-gym/store"
import { Effect } from "effect"
import { evaluationsTable } from "./tables.js"

/** Copies the gradings of a harness evaluation table (in this database, or in another DuckDB file, attached read-only). */
export const importHarnessEvaluations = Effect.fn("analytics.importHarnessEvaluations")(function*(options: {
  /** The harness's table name (its `HarnessTables.evaluations`). */
  readonly table: string
  /** Another DuckDB file holding it (the runner's database); default: this database. */
  readonly fromDb?: string
}) {
  const store = yield* Store
  const alias = "harness_source"
  if (options.fromDb !== undefined) yield* store.run(`ATTACH ${quoteLiteral(options.fromDb)} AS ${alias} (READ_ONLY)`)
  const source = options.fromDb === undefined ? quoteIdentifier(options.table) : `${alias}.${quoteIdentifier(options.table)}`
  const written = yield* store.run(
    `INSERT OR REPLACE INTO ${evaluationsTable} (evaluation_key, instance_id, patch_sha256, resolved, outcome, patch_applied, report, source_file)
     SELECT sha256(instance_id || chr(10) || patch_sha256), instance_id, patch_sha256, outcome = 'resolved', outcome,
            outcome <> 'patch_did_not_apply', result, 'harness:' || key
     FROM ${source} WHERE outcome <> 'infrastructure_failure'
     QUALIFY row_number() OVER (PARTITION BY instance_id, patch_sha256 ORDER BY evaluated_at DESC, key) = 1`,
  ).pipe(Effect.ensuring(options.fromDb === undefined ? Effect.void : Effect.ignore(store.run(`DETACH ${alias}`))))
  return written
})
