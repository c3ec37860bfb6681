// Test ids that embed a value of the moment they were collected: the wall clock at second resolution, a timestamp, epoch
// seconds, a memory address, a random uuid, a temporary path. Such an id names a test that will never exist again (every
// run makes a new one), so it can be neither FAIL_TO_PASS nor PASS_TO_PASS nor evidence that the gold patch broke a test.
// When the runs of a validation fall in the same second the id is identical in all of them, so only its shape tells:
// that is what this module reads. Only the parameter part of a pytest id (from the first "[") is read, because a
// repository may itself live under /tmp and its file names may hold dates.
//
// False positives cost a label, never a wrong one: a parametrized test whose parameter is a literal timestamp
// (`test_parse[2003-09-25T10:49:41]`) is set apart as unstable too.

const date = String.raw`(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})`
const timeOfDay = String.raw`\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?`

/** Each kind of volatile value and the shape that gives it away. */
export const volatileShapes: ReadonlyArray<{ readonly kind: string; readonly pattern: RegExp }> = [
  // `12-01-2026 15:53:13`, `2026-01-12T15:53:13.123456+00:00`, `2026/01/12_15:53:13`
  { kind: "wall-clock timestamp", pattern: new RegExp(String.raw`${date}[T _-]?${timeOfDay}`) },
  // time.ctime(): `Mon Jan 12 15:53:13 2026`
  { kind: "wall-clock timestamp", pattern: new RegExp(String.raw`\b[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d ${timeOfDay} \d{4}\b`) },
  // time.time() / time.time_ns() since 2001-09-09 (seconds, milli-, micro- or nanoseconds, with or without a fraction)
  { kind: "epoch time", pattern: /(?<![\d.])1\d{9}(?:\d{3}|\d{6}|\d{9})?(?:\.\d+)?(?![\d.])/ },
  // A repr's address: `<object at 0x7f3a2b1c4d50>` (CPython prints 9–16 lowercase hex digits on 64-bit machines).
  { kind: "memory address", pattern: /\b0x[0-9a-f]{9,16}\b/ },
  // uuid1 (time-based) and uuid4 (random)
  { kind: "uuid", pattern: /\b[0-9a-f]{8}-[0-9a-f]{4}-[14][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b/i },
  // tempfile's random names (`/tmp/tmpk3j_x9zq`, or bare with a digit among its 8 characters), macOS's /var/folders/…,
  // pytest's tmp_path (`pytest-of-root/pytest-3`); a fixed path such as `/tmp/pycs` is a literal, not volatile.
  { kind: "temporary path", pattern: /\/tmp\/tmp[a-z0-9_]{8}(?![a-z0-9_])|\/var\/folders\/|pytest-of-[^/\]]+\/pytest-\d+|\btmp(?=[a-z_]*\d)[a-z0-9_]{8}\b/ },
]

/** The part of an id a volatile value can hide in: a pytest id's parameters (from the first "["). */
const parameterPart = (id: string): string => {
  const open = id.indexOf("[")
  return open === -1 ? "" : id.slice(open)
}

/** The kind of volatile value an id's parameters embed, if any. */
export const volatileValueIn = (id: string): string | undefined => {
  const params = parameterPart(id)
  if (params === "") return undefined
  return volatileShapes.find((s) => s.pattern.test(params))?.kind
}

/** Whether an id embeds a value of the moment it was collected (so it cannot be found again). */
export const isVolatileId = (id: string): boolean => volatileValueIn(id) !== undefined

/** A parametrized id's test: the id before its parameters (undefined when it has none). */
export const parametrizedBase = (id: string): string | undefined => {
  const open = id.indexOf("[")
  return open <= 0 ? undefined : id.slice(0, open)
}

/**
 * Parametrized ids replaced between the two sides of a validation: a test whose ids before and after each hold ids the
 * other side lacks, as a test parametrized by a value of the moment does when the runs fall in different seconds. A test
 * that only gains ids after (the gold patch adds a case), only loses some, or has ids on one side only (a new test
 * module that failed to import before) is not replaced: its ids keep their labels.
 */
export const replacedSiblings = (before: ReadonlySet<string>, after: ReadonlySet<string>): ReadonlySet<string> => {
  const bases = new Map<string, { readonly before: Array<string>; readonly after: Array<string> }>()
  const add = (id: string, side: "before" | "after") => {
    const base = parametrizedBase(id)
    if (base === undefined) return
    const entry = bases.get(base) ?? { before: [], after: [] }
    entry[side].push(id)
    bases.set(base, entry)
  }
  for (const id of before) add(id, "before")
  for (const id of after) add(id, "after")
  const replaced = new Set<string>()
  for (const entry of bases.values()) {
    const onlyBefore = entry.before.filter((id) => !after.has(id))
    const onlyAfter = entry.after.filter((id) => !before.has(id))
    if (onlyBefore.length > 0 && onlyAfter.length > 0) for (const id of [...onlyBefore, ...onlyAfter]) replaced.add(id)
  }
  return replaced
}
