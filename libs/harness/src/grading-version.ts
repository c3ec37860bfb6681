// The version of the code that turns a test log into a grade: the log parsers, label matching, grading, label
// derivation and audit. It is part of every stored evaluation's key (and of validation's), so a result graded by an older
// parser or grader is never served after a fix. With every change to the files below, bump `GradingVersion` and record
// the files' new hash under the new version in `gradingSourceSha256`; test/grading-version.test.ts fails until both
// are done (and names the hash).

/** The grading code's version; bump it with every change to parsing, label matching, grading or label derivation. */
export const GradingVersion = 4

/** The sources `GradingVersion` covers (relative to libs/harness; a folder covers every file under it). */
export const gradingSources: ReadonlyArray<string> = [
  "src/grading.ts",
  "src/label-matching.ts",
  "src/label-audit.ts",
  "src/volatile-ids.ts",
  "src/log-parsers/",
  "src/test-report-channel.ts",
  "../domain/src/test-status.ts",
]

/**
 * sha256 of `gradingSources` at each version (see test/grading-version.test.ts for how it is computed); version 1 is
 * the grader before versions were recorded. One entry per version: a changed hash is a new version, never an edit.
 */
export const gradingSourceSha256: { readonly [version: number]: string } = {
  2: "9425c775b925b4c71f6b3ee7960142e087169b24e2c9a1f5b05a7727249787e4",
  3: "8300add0a73782e1275c2c865ceed2ea19e6540b6211f369613d0f534ba3f22c",
  4: "8ea5106a36ce186775b8599ab79afdc60179d2de19887c255e2bbbf060c1d5ad",
}
