// How the validate and evaluate stages share the machine: `concurrency` instances run their tests at once, while up to
// `prepareAhead` more have their containers created and prepared (and finished ones are removed) outside those slots,
// so an instance's tests start as soon as a slot frees.
import { Effect } from "effect"
import { availableParallelism } from "node:os"

/** Runs an effect holding one test slot (or as it is, when nothing is prepared ahead and the stream alone bounds it). */
export type HoldTestSlot = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** No slot: the effect as it is. */
export const withoutTestSlot: HoldTestSlot = (self) => self

/** The stage's test slots: how many instances its stream takes at once, and how an instance's tests hold a slot. */
export interface TestSlots {
  readonly streamConcurrency: number
  readonly hold: HoldTestSlot
}

/** Test slots for `concurrency` (default: the CPU cores) with `prepareAhead` (default 1) instances prepared ahead. */
export const makeTestSlots = (concurrency: number | undefined, prepareAhead: number | undefined): Effect.Effect<TestSlots> =>
  Effect.gen(function* () {
    const slots = Math.max(1, concurrency ?? availableParallelism())
    const ahead = Math.max(0, prepareAhead ?? 1)
    if (ahead === 0) return { streamConcurrency: slots, hold: withoutTestSlot }
    const semaphore = yield* Effect.makeSemaphore(slots)
    return { streamConcurrency: slots + ahead, hold: (self) => semaphore.withPermits(1)(self) }
  })
