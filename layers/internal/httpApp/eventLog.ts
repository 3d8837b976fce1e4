/**
 * The event logs of detached runs (`"detach": true`): every event a run sends, numbered from 1, kept
 * in memory so that a client that lost its connection (a reloaded page, a second tab) reads the run
 * again from a cursor (`Last-Event-ID` or `?after=`) and then follows it live until it ends.
 *
 * Bounded: a log keeps its last {@link maxEvents} events (a reader whose cursor is older starts at the
 * oldest one kept), and the logs of the {@link keepFinished} most recently finished runs are kept
 * besides those of the runs in flight; older ones are dropped. Nothing is written to disk: a
 * restarted server has no logs. (A durable run's log is stored with its execution: `durableEvents.ts`.)
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as HttpApi from "../../../src/HttpApi.js"

/** How many events one log keeps (its last ones). */
export const maxEvents = 10_000

/** How many logs of finished runs are kept, the most recently finished. */
export const keepFinished = 100

interface State {
  /** The id of the first event in `events`. */
  readonly first: number
  readonly events: Chunk.Chunk<HttpApi.StreamEvent>
  readonly done: boolean
}

/** One run's log, written by the run. */
export interface Log {
  readonly append: (event: HttpApi.StreamEvent) => Effect.Effect<void>
  /** The run has ended: readers stop after its last event. */
  readonly end: Effect.Effect<void>
  /**
   * The events after `after` (0: from the first), each with its id, then the ones still to come,
   * until the run's end.
   */
  readonly read: (after: number) => Stream.Stream<readonly [number, HttpApi.StreamEvent]>
}

export const makeLog: Effect.Effect<Log> = Effect.map(
  SubscriptionRef.make<State>({ first: 1, events: Chunk.empty(), done: false }),
  (ref) => ({
    append: (event) =>
      SubscriptionRef.update(ref, (state) => {
        if (state.done) return state
        const events = Chunk.append(state.events, event)
        return Chunk.size(events) > maxEvents
          ? { first: state.first + 1, events: Chunk.drop(events, 1), done: false }
          : { first: state.first, events, done: false }
      }),
    end: SubscriptionRef.update(ref, (state) => state.done ? state : { ...state, done: true }),
    read: (after) =>
      ref.changes.pipe(
        Stream.mapAccum(Math.max(0, after), (cursor, state) => {
          const from = Math.max(cursor + 1, state.first)
          const fresh = Chunk.drop(state.events, from - state.first)
          const numbered = Chunk.map(fresh, (event, i) => [from + i, event] as const)
          return [from - 1 + Chunk.size(fresh), { numbered, done: state.done }] as const
        }),
        Stream.takeUntil((step) => step.done),
        Stream.mapConcatChunk((step) => step.numbered)
      )
  })
)

/** The logs of the app's detached runs. */
export interface Logs {
  /**
   * Keeps `log` as the log of `runId`, replacing a finished run's log with that id; false (and
   * nothing kept) when a run in flight has a log with that id.
   */
  readonly register: (runId: string, log: Log) => Effect.Effect<boolean>
  /** The run has ended: its log now counts among the finished ones. */
  readonly finished: (runId: string, log: Log) => Effect.Effect<void>
  /** Forgets the log of a run that did not start. */
  readonly remove: (runId: string, log: Log) => Effect.Effect<void>
  readonly get: (runId: string) => Effect.Effect<Option.Option<Log>>
}

interface Kept {
  readonly log: Log
  readonly finished: boolean
}

export const make: Effect.Effect<Logs> = Effect.gen(function*() {
  // A Map, copied on each change, since its insertion order is the order in which runs finished
  // (for the finished ones), which is the order they are dropped in.
  const logs = yield* Ref.make<ReadonlyMap<string, Kept>>(new Map())
  const evict = (all: Map<string, Kept>) => {
    let finished = 0
    for (const kept of all.values()) if (kept.finished) finished++
    for (const [runId, kept] of all) {
      if (finished <= keepFinished) break
      if (kept.finished) {
        all.delete(runId)
        finished--
      }
    }
    return all
  }
  const change = (runId: string, log: Log, f: (next: Map<string, Kept>) => void) =>
    Ref.update(logs, (all) => {
      if (all.get(runId)?.log !== log) return all
      const next = new Map(all)
      f(next)
      return evict(next)
    })
  return {
    register: (runId, log) =>
      Ref.modify(logs, (all) => {
        const current = all.get(runId)
        if (current !== undefined && !current.finished) return [false, all]
        const next = new Map(all)
        next.delete(runId)
        next.set(runId, { log, finished: false })
        return [true, next]
      }),
    finished: (runId, log) =>
      change(runId, log, (next) => {
        next.delete(runId)
        next.set(runId, { log, finished: true })
      }),
    remove: (runId, log) => change(runId, log, (next) => next.delete(runId)),
    get: (runId) => Effect.map(Ref.get(logs), (all) => Option.fromNullable(all.get(runId)?.log))
  }
})
