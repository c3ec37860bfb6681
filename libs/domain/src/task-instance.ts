import { Schema } from "effect"
import { type ListEncoding, testIdList } from "./test-list.js"

/** Where a task candidate came from. */
export const CandidateSource = Schema.Literal("github", "export", "git")
export type CandidateSource = typeof CandidateSource.Type

/**
 * swe-gym's own fields of a task instance, kept apart from SWE-bench's under the `swe_gym` key so that a row stays a valid
 * SWE-bench row for every other tool.
 */
export const SweGymFields = Schema.Struct({
  source: Schema.optional(CandidateSource),
  pull_number: Schema.optional(Schema.Number),
  issue_numbers: Schema.optional(Schema.Array(Schema.Number)),
  /** True when the problem statement fell back to the PR's own title and body (git-history mining: no issue data). */
  weak_problem_statement: Schema.optional(Schema.Boolean),
  pr_updated_at: Schema.optional(Schema.String),
  mined_at: Schema.optional(Schema.String),
  /** Environment image reference with digest (`name@sha256:…`), set by validation. */
  image: Schema.optional(Schema.String),
  spec_hash: Schema.optional(Schema.String),
  /** Hash of the inputs the validation verdict was computed from. */
  validation_key: Schema.optional(Schema.String),
  /**
   * Where FAIL_TO_PASS / PASS_TO_PASS come from: "given" when they are the row's own, kept by `runner validate --labels
   * given` (and audited against the runs); absent (or "derived") when validation derived them in this environment.
   */
  labels: Schema.optional(Schema.Literal("given", "derived")),
  /** How many of the given labels validation's audit questioned (label_audit of the verdict); absent when none were given. */
  labels_questioned: Schema.optional(Schema.Number),
})
export type SweGymFields = typeof SweGymFields.Type

/** A numeric `version` (some exports write 3.1 as a number) is read as its decimal text. */
const Version = Schema.Union(
  Schema.String,
  Schema.transform(Schema.Number, Schema.String, { strict: true, decode: (n) => String(n), encode: (s) => Number(s) }),
)

const fields = (encoding: ListEncoding) => ({
  instance_id: Schema.NonEmptyString,
  repo: Schema.String.pipe(Schema.pattern(/^[^/\s]+\/[^/\s]+$/, { message: () => "repo must be owner/name" })),
  base_commit: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{7,40}$/, { message: () => "base_commit must be a hex sha" })),
  patch: Schema.String,
  test_patch: Schema.String,
  problem_statement: Schema.String,
  hints_text: Schema.optionalWith(Schema.String, { default: () => "", nullable: true }),
  created_at: Schema.String,
  version: Schema.optionalWith(Version, { default: () => "", nullable: true }),
  environment_setup_commit: Schema.optionalWith(Schema.String, { default: () => "", nullable: true }),
  FAIL_TO_PASS: testIdList(encoding),
  PASS_TO_PASS: testIdList(encoding),
  swe_gym: Schema.optional(SweGymFields),
})

/** A task instance in SWE-bench's field names; lists decode from either encoding and are written as JSON arrays. */
export const TaskInstance = Schema.Struct(fields("array")).annotations({ identifier: "TaskInstance" })
export type TaskInstance = typeof TaskInstance.Type

/** The same task instance, written with FAIL_TO_PASS / PASS_TO_PASS as JSON-encoded strings (the Hugging Face exports). */
export const TaskInstanceHf = Schema.Struct(fields("json-string")).annotations({ identifier: "TaskInstanceHf" })

/** The task-instance schema whose encoding writes the lists as `encoding` says. */
export const taskInstanceSchema = (encoding: ListEncoding) => (encoding === "array" ? TaskInstance : TaskInstanceHf)

/** The SWE-bench convention for instance ids: `owner__repo-N`. */
export const instanceIdOf = (repo: string, pullNumber: number): string => `${repo.replace("/", "__")}-${pullNumber}`
