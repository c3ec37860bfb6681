/** Rows as CSV (RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled); null as an empty field. */
export const rowsAsCsv = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string => {
  const first = rows[0]
  if (first === undefined) return ""
  const columns = Object.keys(first)
  const field = (v: unknown): string => {
    const text = v === null || v === undefined ? "" : typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v)
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
  }
  return [columns.map(field).join(","), ...rows.map((row) => columns.map((c) => field(row[c])).join(","))].join("\n") + "\n"
}
