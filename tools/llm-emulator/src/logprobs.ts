// Log probabilities on request: deterministic per seed and text, with " YES" / " NO" among the alternatives (a verifier
// reads the probability of " YES" at the first position).
import type { TokenLogprobBody } from "./chat-wire.js"
import { hashUniform } from "./faults.js"

const ALTERNATIVES = [" YES", " NO", " Yes", " No", " yes", " no", " The", " I"]

const bytes = (token: string): Array<number> => Array.from(Buffer.from(token, "utf8"))

/** Splits text into word-like tokens (leading whitespace kept), the way BPE tokens usually fall. */
export const tokenize = (text: string): ReadonlyArray<string> => text.match(/\s*\S+|\s+/g) ?? []

const withTop = (token: string, logprob: number, top: number, seed: number, key: string): TokenLogprobBody => {
  const others = ALTERNATIVES.filter((t) => t !== token).map((t, i) => ({
    token: t,
    logprob: logprob - 1 - 4 * hashUniform(seed, key, t, i),
  }))
  const ranked = [{ token, logprob }, ...others].sort((a, b) => b.logprob - a.logprob).slice(0, top)
  return {
    token,
    logprob,
    bytes: bytes(token),
    top_logprobs: ranked.map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytes(t.token) })),
  }
}

/** Logprobs of each token of `text`, with `top` alternatives per position. */
export const textLogprobs = (text: string, top: number, seed: number): Array<TokenLogprobBody> =>
  tokenize(text).map((token, i) => {
    const key = `${text.length}:${i}`
    return withTop(token, -2 * hashUniform(seed, text, i), top, seed, key)
  })

/** Logprobs of a one-token verdict: " YES" with probability `pYes`, " NO" with the rest. */
export const verdictLogprobs = (yes: boolean, pYes: number, top: number): Array<TokenLogprobBody> => {
  const lYes = Math.log(pYes)
  const lNo = Math.log(1 - pYes)
  const ranked = [{ token: " YES", logprob: lYes }, { token: " NO", logprob: lNo }]
    .concat(ALTERNATIVES.slice(2).map((token, i) => ({ token, logprob: Math.min(lYes, lNo) - 3 - i })))
    .sort((a, b) => b.logprob - a.logprob)
    .slice(0, top)
  const token = yes ? " YES" : " NO"
  return [{
    token,
    logprob: yes ? lYes : lNo,
    bytes: bytes(token),
    top_logprobs: ranked.map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytes(t.token) })),
  }]
}
