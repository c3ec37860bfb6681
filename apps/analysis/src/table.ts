/**
 * Rows as a plain-text table (column names from the first row), for a terminal. A cell is printed whole: a multi-line
 * value spans several lines of its row (tabs and "\r" become spaces), nothing is cut.
 */
export const formatTable = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string => {
  const first = rows[0]
  if (first === undefined) return "(no rows)"
  const columns = Object.keys(first)
  const text = (v: unknown): ReadonlyArray<string> =>
    (typeof v === "string" ? v : JSON.stringify(v) ?? "null").replace(/\r\n/g, "\n").replace(/[\t\r]/g, " ").split("\n")
  const cells = rows.map((row) => columns.map((c) => text(row[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.flatMap((r) => (r[i] ?? []).map((line) => line.length))))
  const line = (values: ReadonlyArray<string>) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join("  ").trimEnd()
  const rowLines = (row: ReadonlyArray<ReadonlyArray<string>>) => {
    const height = Math.max(...row.map((cell) => cell.length))
    return Array.from({ length: height }, (_, k) => line(row.map((cell) => cell[k] ?? "")))
  }
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.flatMap(rowLines)].join("\n")
}
