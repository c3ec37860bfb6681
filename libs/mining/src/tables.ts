// The DuckDB tables mining owns (mining-state.ts creates them). Other stages read them by these names, never by string
// literals of their own; importable without loading the miner (`@swe-gym/mining/tables`).

/** Names of the miner's tables. */
export const MiningTables = {
  /** Per-repository incremental state. */
  state: "mining_state",
  /** The current candidate of every PR that passes the filters. */
  candidates: "mining_candidates",
  /** Every PR a filter rejected, with its reason. */
  rejections: "mining_rejections",
  /** GitHub ETag cache of conditional requests. */
  etags: "github_etags",
} as const
