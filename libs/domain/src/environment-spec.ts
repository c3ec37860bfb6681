import { Schema } from "effect"

/** The log formats the harness can read. */
export const LogParserName = Schema.Literal("pytest", "unittest", "django", "sympy")
export type LogParserName = typeof LogParserName.Type

/**
 * How the test files a test patch touches become the test command's arguments: `paths` as they are (pytest, unittest,
 * sympy's `bin/test`), or `django` labels (`tests/auth_tests/test_validators.py` → `auth_tests.test_validators`, as
 * SWE-bench's `get_test_directives` writes them for Django's `runtests.py`).
 */
export const TestDirectives = Schema.Literal("paths", "django")
export type TestDirectives = typeof TestDirectives.Type

/**
 * How to build and test one repository (optionally for a range of its versions): a data file a user can write for a new
 * repository. When none exists the harness guesses one and sets `guessed`.
 */
export const EnvironmentSpec = Schema.Struct({
  repo: Schema.String,
  /** Versions this spec applies to (`version` of the task instances); empty or absent = every version. */
  versions: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Image the environment image starts from; absent = the project's Python base image. */
  base_image: Schema.optional(Schema.String),
  /** Debian packages installed in the environment layer (`apt-get install`). */
  apt_packages: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Python packages for `pip install` where PyPI is reachable (pinned: `name==version`). */
  pip_packages: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Shell commands run in the repository at the environment's commit after the packages (e.g. `pip install -e .`). */
  install: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** The test command; the test directives (see `test_directives`) replace `{test_files}`, or are appended. */
  test_command: Schema.String,
  log_parser: LogParserName,
  /** How test files become arguments; absent = the log parser's default (`django` for django, else `paths`). */
  test_directives: Schema.optional(TestDirectives),
  timeouts: Schema.optionalWith(
    Schema.Struct({
      build_seconds: Schema.optionalWith(Schema.Number, { default: () => 1800 }),
      test_seconds: Schema.optionalWith(Schema.Number, { default: () => 900 }),
    }),
    { default: () => ({ build_seconds: 1800, test_seconds: 900 }) },
  ),
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  /** True when the harness detected this spec instead of reading one a person wrote. */
  guessed: Schema.optionalWith(Schema.Boolean, { default: () => false }),
})
export type EnvironmentSpec = typeof EnvironmentSpec.Type
