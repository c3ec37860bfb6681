// Faults served at a chosen rate, reproducibly: whether a request gets one is a hash of the seed, the request body and how
// many times that same body has been seen, so a retry of a faulted request draws anew, and the same run gets the same
// faults whatever order concurrent requests arrive in.
import { createHash } from "node:crypto"

/** The faults the emulator can serve. */
export const FAULT_KINDS = [
  "rate_limit",
  "server_error",
  "reset",
  "slow",
  "context_length",
  "bad_request",
  "unauthorized",
  "not_found",
] as const
export type FaultKind = typeof FAULT_KINDS[number]

/** How context-length errors are worded: as OpenAI, vLLM or SGLang answer. */
export type ContextErrorStyle = "openai" | "vllm" | "sglang"

/** Fault settings of a server. */
export interface FaultOptions {
  /** Share of requests that get a fault (0–1, default 0). */
  readonly rate?: number
  readonly seed?: number
  /** Kinds drawn from at `rate` (default: rate_limit, server_error, reset, slow). */
  readonly kinds?: ReadonlyArray<FaultKind>
  /** Faults for the next requests, in order, before `rate` applies (tests that need exact counts). */
  readonly script?: ReadonlyArray<FaultKind>
  /** The 429's Retry-After: seconds, or an HTTP date (default 1). */
  readonly retryAfter?: number | string
  /** How long a `slow` response waits before it is sent (default 2000 ms). */
  readonly slowMs?: number
  readonly contextStyle?: ContextErrorStyle
}

/** A deterministic number in [0, 1) from its parts. */
export const hashUniform = (...parts: ReadonlyArray<string | number>): number => {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest()
  return digest.readUIntBE(0, 6) / 2 ** 48
}

const DEFAULT_KINDS: ReadonlyArray<FaultKind> = ["rate_limit", "server_error", "reset", "slow"]

/** Decides, request by request, which fault (if any) to serve. */
export class FaultPlan {
  private readonly script: Array<FaultKind>
  private readonly seen = new Map<string, number>()
  private options: FaultOptions

  constructor(options: FaultOptions = {}) {
    this.options = options
    this.script = [...(options.script ?? [])]
  }

  get settings(): FaultOptions {
    return this.options
  }

  /** Replaces the rate settings (the script keeps its place). */
  configure(options: Omit<FaultOptions, "script">): void {
    this.options = { ...options, script: this.script }
  }

  /** Queues faults for the next requests. */
  enqueue(kinds: ReadonlyArray<FaultKind>): void {
    this.script.push(...kinds)
  }

  /** The fault for a request with this body key, if any. */
  choose(bodyKey: string): FaultKind | undefined {
    const scripted = this.script.shift()
    if (scripted !== undefined) return scripted
    const rate = this.options.rate ?? 0
    if (rate <= 0) return undefined
    const n = this.seen.get(bodyKey) ?? 0
    this.seen.set(bodyKey, n + 1)
    const seed = this.options.seed ?? 0
    if (hashUniform(seed, bodyKey, n, "fault") >= rate) return undefined
    const kinds = this.options.kinds ?? DEFAULT_KINDS
    return kinds[Math.floor(hashUniform(seed, bodyKey, n, "kind") * kinds.length)]
  }
}
