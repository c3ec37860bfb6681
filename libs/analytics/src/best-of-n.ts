// Pass@k and Best@k. Pass@k by the unbiased estimator (Chen et al. 2021: 1 − C(n−c, k) / C(n, k) per instance, averaged)
// and as the SWE-Gym paper reports it: the mean ± std over 100 random draws of k samples per instance. Best@k: in each
// draw the sample with the highest verifier score is submitted (ties go to the draw's first), resolved or not.
import { Store } from "@swe-gym/store"
import { Effect, Schema } from "effect"
import { outcomesView, verifierScoresTable } from "./tables.js"

/** One graded sample of an instance, with its verifier score when one is stored. */
export interface GradedSample {
  readonly resolved: boolean
  readonly score: number | null
}

/** Pass@k of one instance with n samples of which c resolved: 1 − C(n−c, k) / C(n, k), as a stable product. */
export const passAtK = (n: number, c: number, k: number): number => {
  if (k > n) throw new RangeError(`pass@${k} needs at least ${k} samples, the instance has ${n}`)
  if (n - c < k) return 1
  let failAll = 1
  for (let i = n - c + 1; i <= n; i++) failAll *= 1 - k / i
  return 1 - failAll
}

/** A seeded PRNG (mulberry32 over a 32-bit hash of the seed text): the same draws on every machine. */
export const seededRandom = (seed: string): (() => number) => {
  let h = 2166136261
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619)
  let state = h >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** k distinct samples drawn without replacement (partial Fisher–Yates). */
const draw = <A>(items: ReadonlyArray<A>, k: number, random: () => number): Array<A> => {
  const pool = [...items]
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (pool.length - i))
    const a = pool[i]
    const b = pool[j]
    if (a !== undefined && b !== undefined) {
      pool[i] = b
      pool[j] = a
    }
  }
  return pool.slice(0, k)
}

const meanStd = (values: ReadonlyArray<number>): { readonly mean: number; readonly std: number } => {
  const mean = values.reduce((s, v) => s + v, 0) / values.length
  const variance = values.length < 2 ? 0 : values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)
  return { mean, std: Math.sqrt(variance) }
}

/** One point of the curves: k, how many instances have k samples, and the three estimates. */
export interface CurvePoint {
  readonly k: number
  readonly instances: number
  readonly pass_at_k: number
  readonly pass_at_k_mean: number
  readonly pass_at_k_std: number
  /** Null when some drawn sample has no verifier score. */
  readonly best_at_k_mean: number | null
  readonly best_at_k_std: number | null
}

/** Pass@k (unbiased and random-subset) and Best@k for k = 1..maxK over instances that have at least k samples. */
export const curves = (
  instances: ReadonlyArray<ReadonlyArray<GradedSample>>,
  options: { readonly maxK: number; readonly trials?: number; readonly seed?: string },
): Array<CurvePoint> => {
  const trials = options.trials ?? 100
  const out: Array<CurvePoint> = []
  for (let k = 1; k <= options.maxK; k++) {
    const eligible = instances.filter((s) => s.length >= k)
    if (eligible.length === 0) continue
    const unbiased = eligible.reduce((s, samples) => s + passAtK(samples.length, samples.filter((x) => x.resolved).length, k), 0) / eligible.length
    const random = seededRandom(`${options.seed ?? "0"}:${k}`)
    const passRates: Array<number> = []
    const bestRates: Array<number> = []
    let scored = true
    for (let t = 0; t < trials; t++) {
      let passed = 0
      let best = 0
      for (const samples of eligible) {
        const picked = draw(samples, k, random)
        if (picked.some((s) => s.resolved)) passed += 1
        let top: GradedSample | undefined
        for (const s of picked) {
          if (s.score === null) scored = false
          else if (top === undefined || s.score > (top.score ?? -Infinity)) top = s
        }
        if (top?.resolved === true) best += 1
      }
      passRates.push(passed / eligible.length)
      bestRates.push(best / eligible.length)
    }
    const pass = meanStd(passRates)
    const best = meanStd(bestRates)
    out.push({
      k,
      instances: eligible.length,
      pass_at_k: unbiased,
      pass_at_k_mean: pass.mean,
      pass_at_k_std: pass.std,
      best_at_k_mean: scored ? best.mean : null,
      best_at_k_std: scored ? best.std : null,
    })
  }
  return out
}

const Sample = Schema.Struct({ model: Schema.String, instance_id: Schema.String, resolved: Schema.Boolean, score: Schema.NullOr(Schema.Number) })

/** Pass@k and Best@k curves per model from the store: graded trajectories, scores of `verifier` when given. */
export const passAtKCurves = Effect.fn("analytics.passAtKCurves")(function*(options: {
  readonly maxK: number
  readonly trials?: number
  readonly seed?: string
  readonly verifier?: string
}) {
  const store = yield* Store
  const rows = yield* store.query(
    `SELECT o.model, o.instance_id, o.resolved, s.p_yes AS score
     FROM ${outcomesView} o LEFT JOIN ${verifierScoresTable} s ON s.trajectory_id = o.trajectory_id AND s.verifier = ?
     WHERE o.resolved IS NOT NULL ORDER BY o.model, o.instance_id, o.trajectory_id`,
    [options.verifier ?? ""],
    Sample,
  )
  const byModel = new Map<string, Map<string, Array<GradedSample>>>()
  for (const r of rows) {
    const instances = byModel.get(r.model) ?? new Map<string, Array<GradedSample>>()
    byModel.set(r.model, instances)
    const samples = instances.get(r.instance_id) ?? []
    instances.set(r.instance_id, samples)
    samples.push({ resolved: r.resolved, score: r.score })
  }
  return [...byModel].flatMap(([model, instances]) => curves([...instances.values()], options).map((p) => ({ model, ...p })))
})
