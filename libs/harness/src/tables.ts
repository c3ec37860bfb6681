// The DuckDB tables the harness owns (validation-store.ts, evaluation-store.ts create them). Other stages read them by
// these names (e.g. publish attaches the validate stage's database), never by string literals of their own.
// Kept apart from the stores so a reader can import the names without loading the harness (`@swe-gym/harness/tables`).

/** Names of the harness's tables. */
export const HarnessTables = {
  /** One validation verdict per input hash (ValidationResult as JSON). */
  validations: "validations",
  /** One evaluation result per content key. */
  evaluations: "evaluations",
  /** Which result each evaluation run ended each instance with. */
  evaluationRuns: "evaluation_runs",
} as const
