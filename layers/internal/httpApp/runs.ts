/**
 * The runs in flight of the HTTP app: each one a fiber of the app's scope (never of the request
 * that started it), so it can be listed, cancelled by id, given a grace period at shutdown, and
 * then interrupted. Why a run was interrupted is kept with it, so its waiter can say so.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as HttpApi from "../../../src/HttpApi.js"

/** A run started through {@link Runs.start}. */
export interface Handle<A, E> {
  readonly info: HttpApi.RunInfo
  /** Waits for the run's end. An interrupted run's exit is its interruption. */
  readonly await: Effect.Effect<Exit.Exit<A, E>>
  /** Why the run was interrupted, when it was. */
  readonly reason: Effect.Effect<HttpApi.CancelReason>
  /**
   * Interrupts this run (not another one started later with its id) and waits for its end; does
   * nothing when it has ended.
   */
  readonly cancel: (reason: HttpApi.CancelReason) => Effect.Effect<void>
}

interface Entry {
  readonly info: HttpApi.RunInfo
  readonly reason: Ref.Ref<HttpApi.CancelReason | undefined>
}

export interface Runs {
  /** Starts `effect` as the run `runId`; fails when the id is taken or the app is shutting down. */
  readonly start: <A, E>(
    runId: string,
    agent: string,
    effect: Effect.Effect<A, E>
  ) => Effect.Effect<Handle<A, E>, HttpApi.RunIdInUse | HttpApi.ShuttingDown>
  /** Interrupts a run and waits for its end (its finalizers, its session record). */
  readonly cancel: (runId: string, reason: HttpApi.CancelReason) => Effect.Effect<HttpApi.RunInfo, HttpApi.RunNotFound>
  readonly list: Effect.Effect<ReadonlyArray<HttpApi.RunInfo>>
  readonly size: Effect.Effect<number>
  readonly draining: Effect.Effect<boolean>
  /**
   * Takes no new runs, waits up to `grace` for the runs in flight to end, then interrupts the rest
   * (their reason: `shutdown`) and waits for them to end.
   */
  readonly shutdown: (grace: Duration.DurationInput) => Effect.Effect<void>
}

export const make: Effect.Effect<Runs, never, Scope.Scope> = Effect.gen(function*() {
  const fibers = yield* FiberMap.make<string>()
  const entries = yield* Ref.make(HashMap.empty<string, Entry>())
  const draining = yield* Ref.make(false)

  const start = <A, E>(runId: string, agent: string, effect: Effect.Effect<A, E>) =>
    Effect.uninterruptible(Effect.gen(function*() {
      if (yield* Ref.get(draining)) {
        return yield* new HttpApi.ShuttingDown({ message: "The server is shutting down and takes no new runs." })
      }
      const info: HttpApi.RunInfo = { runId, agent, startedAt: yield* DateTime.now }
      const entry: Entry = { info, reason: yield* Ref.make<HttpApi.CancelReason | undefined>(undefined) }
      const reserved = yield* Ref.modify(entries, (all) =>
        HashMap.has(all, runId) ? [false, all] : [true, HashMap.set(all, runId, entry)])
      if (!reserved) {
        return yield* new HttpApi.RunIdInUse({ runId, message: `A run with id "${runId}" is already in flight.` })
      }
      const fiber = yield* FiberMap.run(
        fibers,
        runId,
        Effect.ensuring(effect, Ref.update(entries, HashMap.remove(runId)))
      )
      const handle: Handle<A, E> = {
        info,
        await: Fiber.await(fiber),
        // A run interrupted without a recorded reason lost its client.
        reason: Effect.map(Ref.get(entry.reason), (reason) => reason ?? "disconnected"),
        // The fiber itself, not whichever run holds the id now: a client may reuse its run's id.
        cancel: (reason) =>
          Effect.zipRight(Ref.update(entry.reason, (current) => current ?? reason), Effect.asVoid(Fiber.interrupt(fiber)))
      }
      return handle
    }))

  const cancel = (runId: string, reason: HttpApi.CancelReason) =>
    Effect.flatMap(Ref.get(entries), (all) =>
      Option.match(HashMap.get(all, runId), {
        onNone: () =>
          Effect.fail(new HttpApi.RunNotFound({ runId, message: `No run with id "${runId}" is in flight.` })),
        onSome: (entry) =>
          Ref.update(entry.reason, (current) => current ?? reason).pipe(
            Effect.zipRight(FiberMap.remove(fibers, runId)),
            Effect.as(entry.info)
          )
      }))

  const shutdown = (grace: Duration.DurationInput) =>
    Effect.gen(function*() {
      yield* Ref.set(draining, true)
      const inFlight = yield* FiberMap.size(fibers)
      if (inFlight === 0) return
      yield* Effect.logInfo(`Shutting down: waiting up to ${Duration.format(grace)} for ${inFlight} run(s) in flight`)
      // Shutdown runs in a finalizer, which is uninterruptible: the wait must be interruptible for
      // the timeout to end it.
      yield* Effect.interruptible(FiberMap.awaitEmpty(fibers)).pipe(Effect.timeoutOption(grace), Effect.ignore)
      const left = yield* Ref.get(entries)
      if (HashMap.size(left) === 0) return
      yield* Effect.logWarning(`Shutting down: cancelling ${HashMap.size(left)} run(s) still in flight`)
      yield* Effect.forEach(HashMap.values(left), (entry) => Ref.update(entry.reason, (r) => r ?? "shutdown"), {
        discard: true
      })
      yield* Effect.forEach(HashMap.keys(left), (runId) => FiberMap.remove(fibers, runId), {
        concurrency: "unbounded",
        discard: true
      })
    })

  return {
    start,
    cancel,
    list: Effect.map(Ref.get(entries), (all) => Array.from(HashMap.values(all), (entry) => entry.info)),
    size: FiberMap.size(fibers),
    draining: Ref.get(draining),
    shutdown
  }
})
