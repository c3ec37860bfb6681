// rerank against a real OpenAI-compatible completions server on 127.0.0.1, written here: it answers with top logprobs
// chosen by the prompt's final patch, fails the first request with 503 (retried), and records the requests in flight.
import { FetchHttpClient } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Store } from "@swe-gym/store"
import { Effect, Layer, Redacted, Schema } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { analyticsMigrations, importTrajectories, pYes, rerank } from "../src/index.js"
import { trajectoriesDir } from "./shared-files.js"

const Body = Schema.Struct({ model: Schema.String, prompt: Schema.String, max_tokens: Schema.Literal(1), logprobs: Schema.Number })

const startVerifier = () =>
  Effect.acquireRelease(
    Effect.async<{ url: string; stats: { requests: number; inFlight: number; maxInFlight: number; auth: Set<string> }; server: Server }>((resume) => {
      const stats = { requests: 0, inFlight: 0, maxInFlight: 0, auth: new Set<string>() }
      const server = createServer((req, res) => {
        let text = ""
        req.on("data", (c) => (text += c))
        req.on("end", () => {
          stats.requests += 1
          stats.inFlight += 1
          stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
          stats.auth.add(req.headers.authorization ?? "")
          setTimeout(() => {
            stats.inFlight -= 1
            if (stats.requests === 1) {
              res.writeHead(503).end("busy")
              return
            }
            const body = Schema.decodeUnknownSync(Schema.parseJson(Body))(text)
            if (req.url !== "/v1/completions" || body.model !== "verifier-7b" || !body.prompt.endsWith("<judgement>")) {
              res.writeHead(400).end("bad request")
              return
            }
            const top = /\[FINAL PATCH\]\s*diff --git a\/pydicom\//.test(body.prompt)
              ? { " NO": Math.log(0.75), "YES": Math.log(0.25) }
              : /\[FINAL PATCH\]\s*diff --git a\/django\//.test(body.prompt)
              ? { "YES": -0.1, "NO": -2.4, "The": -5 }
              : { "maybe": -0.1 }
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
              id: "c",
              object: "text_completion",
              choices: [{ index: 0, text: "YES", finish_reason: "length", logprobs: { tokens: ["YES"], token_logprobs: [-0.1], top_logprobs: [top] } }],
            }))
          }, 15)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/v1`, stats, server }))
      })
    }),
    ({ server }) => Effect.promise(() => new Promise<void>((done) => server.close(() => done()))),
  )

describe("pYes", () => {
  it("e^lyes / (e^lyes + e^lno), best variant of each word; one side missing counts as 0; neither is unreadable", () => {
    expect(pYes({ YES: Math.log(0.6), NO: Math.log(0.2) })?.p).toBeCloseTo(0.75, 12)
    expect(pYes({ " yes": -1, "YES": -0.5, "NO": -0.5 })?.p).toBeCloseTo(0.5, 12)
    expect(pYes({ YES: -3 })?.p).toBe(1)
    expect(pYes({ other: -0.1 })).toBeNull()
  })
})

describe("rerank", () => {
  it.live("scores every trajectory with bounded concurrency, retries a 503, stores p_yes, and resumes with the unscored", () => {
    const dir = mkdtempSync(join(tmpdir(), "analytics-rerank-"))
    return Effect.gen(function*() {
      const verifier = yield* startVerifier()
      yield* importTrajectories({ format: "mini-swe-agent", paths: [join(trajectoriesDir(), "mini-swe-agent")], rejectsPath: join(dir, "r.jsonl") })
      yield* importTrajectories({ format: "swe-agent", paths: [join(trajectoriesDir(), "swe-agent")], rejectsPath: join(dir, "r.jsonl") })
      const options = { baseUrl: verifier.url, model: "verifier-7b", apiKey: Redacted.make("sk-test"), concurrency: 3 }
      // 20 django instances among the 43 mini-swe-agent runs, plus pydicom: 21 readable answers; 23 "maybe".
      const first = yield* rerank(options)
      expect(first).toEqual({ pending: 44, scored: 21, unreadable: 23 })
      expect(verifier.stats.requests).toBe(45)
      expect(verifier.stats.maxInFlight).toBeLessThanOrEqual(3)
      expect([...verifier.stats.auth]).toEqual(["Bearer sk-test"])
      const store = yield* Store
      const scores = yield* store.query(
        "SELECT t.instance_id, s.p_yes FROM analytics_verifier_scores s JOIN analytics_trajectories t USING (trajectory_id) WHERE s.verifier = 'verifier-7b' ORDER BY t.instance_id",
        [],
        Schema.Struct({ instance_id: Schema.String, p_yes: Schema.Number }),
      )
      expect(scores).toHaveLength(21)
      expect(scores.find((r) => r.instance_id === "pydicom__pydicom-1458")?.p_yes).toBeCloseTo(0.25, 12)
      const django = Math.exp(-0.1) / (Math.exp(-0.1) + Math.exp(-2.4))
      for (const r of scores.filter((r) => r.instance_id.startsWith("django"))) expect(r.p_yes).toBeCloseTo(django, 12)
      // A second run asks only for the 23 without a score.
      expect(yield* rerank(options)).toEqual({ pending: 23, scored: 0, unreadable: 23 })
    }).pipe(
      Effect.scoped,
      Effect.provide(Layer.mergeAll(Store.layer({ path: join(dir, "a.duckdb"), migrations: analyticsMigrations }), NodeFileSystem.layer, FetchHttpClient.layer)),
      Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
    )
  })
})
