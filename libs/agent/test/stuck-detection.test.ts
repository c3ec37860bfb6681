import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { withoutBinaryFiles } from "../src/model-patch.js"
import { openHandsStuck, paperStuck, type TurnSignature } from "../src/stuck-detection.js"

const turn = (action: string, observation = "ok", isError = false, valid = true): TurnSignature => ({ action, observation, isError, valid })

describe("stuck detection", () => {
  it("the paper's rule: the same action in the last three turns, not two, not with another between", () => {
    expect(paperStuck([turn("a"), turn("a")])).toBe(false)
    expect(paperStuck([turn("a"), turn("a"), turn("a")])).toBe(true)
    expect(paperStuck([turn("a"), turn("b"), turn("a"), turn("a")])).toBe(false)
    expect(paperStuck([turn("b"), turn("a", "1"), turn("a", "2"), turn("a", "3")])).toBe(true)
    // Turns of malformed calls took no action: they are not a repeated action.
    expect(paperStuck([turn("x", "e", true, false), turn("x", "e", true, false), turn("x", "e", true, false)])).toBe(false)
  })

  it("OpenHands' rule: 4 identical action–observation pairs, or 3 identical actions each ending in an error", () => {
    expect(openHandsStuck([turn("a", "1"), turn("a", "1"), turn("a", "1")])).toEqual(Option.none())
    expect(openHandsStuck([turn("a", "1"), turn("a", "1"), turn("a", "1"), turn("a", "1")])).toEqual(
      Option.some("repeated_action_observation"),
    )
    expect(openHandsStuck([turn("a", "1"), turn("a", "2"), turn("a", "1"), turn("a", "1")])).toEqual(Option.none())
    expect(openHandsStuck([turn("a", "e1", true), turn("a", "e2", true), turn("a", "e3", true)])).toEqual(
      Option.some("repeated_action_error"),
    )
    expect(openHandsStuck([turn("a", "e1", true), turn("a", "ok"), turn("a", "e3", true)])).toEqual(Option.none())
  })
})

describe("model patch", () => {
  it("leaves out binary file sections and keeps text ones, mode changes and deletions", () => {
    const text = "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+GIT binary patch\n"
    const binary = "diff --git a/img.png b/img.png\nnew file mode 100644\nindex 0000000..1111111\nGIT binary patch\nliteral 4\nLcmZ?wb\n\nliteral 0\nHcmV?d00001\n\n"
    const mode = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    expect(withoutBinaryFiles(text + binary + mode)).toBe(text + mode)
    expect(withoutBinaryFiles("")).toBe("")
  })
})
