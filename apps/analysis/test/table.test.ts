import { describe, expect, it } from "vitest"
import { formatTable } from "../src/table.js"

describe("formatTable", () => {
  it("aligns columns under their names; a multi-line cell spans lines of its row, printed whole", () =>
    expect(formatTable([{ repo: "a/b", n: 2 }, { repo: "owner/long\nname\r\nthird line", n: 10 }, { repo: "c", n: 3 }])).toBe(
      ["repo        n", "----------  --", "a/b         2", "owner/long  10", "name", "third line", "c           3"].join("\n"),
    ))
  it("does not cut long cells", () => {
    const long = "x".repeat(200)
    expect(formatTable([{ v: long }]).split("\n")[2]).toBe(long)
  })
  it("says when there are no rows", () => expect(formatTable([])).toBe("(no rows)"))
})
