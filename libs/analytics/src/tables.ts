// The analytics tables, as versioned migrations of the store (component "analytics"). Every name carries the
// `analytics_` prefix: the rollout and evaluation stages own tables of their own in the same database file.
// No secondary indexes: DuckDB 1.5.6 cannot replace rows of a table with a primary key and a secondary index once a
// killed writer's WAL was replayed ("Failed to delete all rows from index"), which libs/harness and libs/agent hit.
import type { Migration } from "@swe-gym/store"

/** The component name under which the analytics migrations are recorded. */
export const analyticsComponent = "analytics"

/** One rollout run (or one imported file set): model, agent, sampling parameters, where it came from. */
export const runsTable = "analytics_runs"
/** One agent rollout on one instance: exit reason, patch, counts, timings, cost. */
export const trajectoriesTable = "analytics_trajectories"
/** One action–observation pair of a trajectory (a turn). */
export const stepsTable = "analytics_steps"
/** The chat messages of a trajectory, in order. */
export const messagesTable = "analytics_messages"
/** The tool calls of the assistant messages. */
export const toolCallsTable = "analytics_tool_calls"
/** Raw LLM calls (request, response, usage, latency): fine-tuning data is built from these when present. */
export const llmCallsTable = "analytics_llm_calls"
/** Gradings of patches, keyed by the evaluation content key (instance, patch hash). */
export const evaluationsTable = "analytics_evaluations"
/** Task instances the trajectories refer to (repository, problem statement, tests). */
export const taskInstancesTable = "analytics_task_instances"
/** Token counts of messages by a named tokenizer (filled by `countMessageTokens`). */
export const messageTokensTable = "analytics_message_tokens"
/** Verifier scores of trajectories (p_yes of a verifier model). */
export const verifierScoresTable = "analytics_verifier_scores"
/** Trajectories with their grading joined in (a view): what every analysis reads. */
export const outcomesView = "analytics_outcomes"

/** Every analytics table, in the order a partitioned export writes them. */
export const analyticsTables: ReadonlyArray<string> = [
  runsTable,
  trajectoriesTable,
  stepsTable,
  messagesTable,
  toolCallsTable,
  llmCallsTable,
  evaluationsTable,
  taskInstancesTable,
  messageTokensTable,
  verifierScoresTable,
]

/** The analytics schema. Migrations keep their text forever: a change is a new version. */
export const analyticsMigrations: ReadonlyArray<Migration> = [
  {
    component: analyticsComponent,
    version: 1,
    name: "trajectories",
    up: `CREATE TABLE ${runsTable} (
  run_id VARCHAR PRIMARY KEY,
  source_format VARCHAR NOT NULL,
  model VARCHAR NOT NULL,
  dataset VARCHAR,
  agent VARCHAR,
  agent_config JSON,
  sampling JSON,
  source_path VARCHAR,
  imported_at TIMESTAMP NOT NULL
);
CREATE TABLE ${trajectoriesTable} (
  trajectory_id VARCHAR PRIMARY KEY,
  run_id VARCHAR NOT NULL,
  instance_id VARCHAR NOT NULL,
  sample INTEGER NOT NULL,
  model VARCHAR NOT NULL,
  dataset VARCHAR,
  exit_reason VARCHAR NOT NULL,
  exit_detail VARCHAR,
  patch VARCHAR NOT NULL,
  evaluation_key VARCHAR NOT NULL,
  turns INTEGER NOT NULL,
  llm_calls INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  prompt_tokens BIGINT,
  completion_tokens BIGINT,
  final_context_tokens BIGINT,
  cost DOUBLE,
  started_at TIMESTAMP,
  finished_at TIMESTAMP,
  tools JSON,
  source_file VARCHAR NOT NULL,
  source_line INTEGER
);
CREATE TABLE ${stepsTable} (
  trajectory_id VARCHAR NOT NULL,
  step INTEGER NOT NULL,
  action VARCHAR NOT NULL,
  tool VARCHAR,
  thought VARCHAR,
  observation VARCHAR,
  observation_error BOOLEAN NOT NULL,
  llm_ms DOUBLE,
  prompt_tokens BIGINT,
  completion_tokens BIGINT,
  PRIMARY KEY (trajectory_id, step)
);
CREATE TABLE ${messagesTable} (
  trajectory_id VARCHAR NOT NULL,
  idx INTEGER NOT NULL,
  role VARCHAR NOT NULL,
  content VARCHAR NOT NULL,
  tool_call_id VARCHAR,
  PRIMARY KEY (trajectory_id, idx)
);
CREATE TABLE ${toolCallsTable} (
  trajectory_id VARCHAR NOT NULL,
  message_idx INTEGER NOT NULL,
  call_idx INTEGER NOT NULL,
  call_id VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  arguments VARCHAR NOT NULL,
  PRIMARY KEY (trajectory_id, message_idx, call_idx)
);
CREATE TABLE ${llmCallsTable} (
  trajectory_id VARCHAR NOT NULL,
  call_idx INTEGER NOT NULL,
  model VARCHAR,
  request JSON,
  response JSON,
  prompt_tokens BIGINT,
  completion_tokens BIGINT,
  total_tokens BIGINT,
  latency_ms DOUBLE,
  PRIMARY KEY (trajectory_id, call_idx)
);
CREATE TABLE ${evaluationsTable} (
  evaluation_key VARCHAR PRIMARY KEY,
  instance_id VARCHAR NOT NULL,
  patch_sha256 VARCHAR NOT NULL,
  resolved BOOLEAN NOT NULL,
  outcome VARCHAR NOT NULL,
  patch_applied BOOLEAN,
  report JSON,
  source_file VARCHAR NOT NULL
);
CREATE TABLE ${taskInstancesTable} (
  instance_id VARCHAR PRIMARY KEY,
  repo VARCHAR NOT NULL,
  dataset VARCHAR,
  base_commit VARCHAR,
  version VARCHAR,
  problem_statement VARCHAR,
  FAIL_TO_PASS VARCHAR[],
  PASS_TO_PASS VARCHAR[],
  source_file VARCHAR NOT NULL
);
CREATE TABLE ${messageTokensTable} (
  trajectory_id VARCHAR NOT NULL,
  idx INTEGER NOT NULL,
  tokenizer VARCHAR NOT NULL,
  tokens INTEGER NOT NULL,
  PRIMARY KEY (trajectory_id, idx, tokenizer)
);
CREATE TABLE ${verifierScoresTable} (
  trajectory_id VARCHAR NOT NULL,
  verifier VARCHAR NOT NULL,
  p_yes DOUBLE NOT NULL,
  logprob_yes DOUBLE,
  logprob_no DOUBLE,
  scored_at TIMESTAMP NOT NULL,
  PRIMARY KEY (trajectory_id, verifier)
);
-- empty_patch: nothing but white space (trim() strips spaces only, not newlines).
CREATE VIEW ${outcomesView} AS
SELECT t.*,
  e.resolved AS resolved,
  e.outcome AS evaluation_outcome,
  coalesce(i.repo, replace(regexp_replace(t.instance_id, '-[0-9]+$', ''), '__', '/')) AS repo,
  regexp_full_match(t.patch, '\\s*') AS empty_patch
FROM ${trajectoriesTable} t
LEFT JOIN ${evaluationsTable} e ON e.evaluation_key = t.evaluation_key
LEFT JOIN ${taskInstancesTable} i ON i.instance_id = t.instance_id;`,
  },
]
