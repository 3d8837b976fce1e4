/**
 * Cancellation of durable runs in flight in this process. `@effect/workflow`'s engines act on an
 * interrupt only when a run suspends (a step or a call in flight keeps running), and an activity
 * they interrupt is run again: so each activity of a durable run races its run's cancellation here,
 * and a cancelled one fails with {@link Cancelled}, which the run's body turns into the run's
 * interruption ({@link interruptRun}) — an end the engine stores, so the run is never taken up again.
 */
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** What a cancelled activity fails with (stored as the activity's result: it is never run again). */
export const Cancelled = Schema.TaggedStruct("effect-agents/Durable/Cancelled", { executionId: Schema.String })

export const isCancelled = (u: unknown): boolean =>
  typeof u === "object" && u !== null && (u as { readonly _tag?: unknown })._tag === "effect-agents/Durable/Cancelled"

interface Entry {
  readonly deferred: Deferred.Deferred<void>
  users: number
}

export interface Service {
  /** Interrupts what runs of the execution in this process, and whatever of it starts here later in its body. */
  readonly cancel: (executionId: string) => Effect.Effect<void>
  /** Runs `effect` as a part of the execution: interrupted when the execution is cancelled. */
  readonly guard: <A, E, R>(
    executionId: string,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | typeof Cancelled.Type, R>
  /** Holds the execution's entry while `effect` (its body) runs, so a cancel reaches its later activities. */
  readonly hold: <A, E, R>(executionId: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export class Cancellations extends Context.Tag("effect-agents/Durable/Cancellations")<Cancellations, Service>() {}

export const make: Effect.Effect<Service> = Effect.sync(() => {
  // Entries live while a body or an activity of their execution runs here: a cancel with none has
  // nothing in flight to stop, and the engine's stored interrupt reaches the body when it runs.
  const entries = new Map<string, Entry>()
  const acquire = (executionId: string) =>
    Effect.sync(() => {
      let entry = entries.get(executionId)
      if (entry === undefined) {
        entry = { deferred: Deferred.unsafeMake<void>(FiberId.none), users: 0 }
        entries.set(executionId, entry)
      }
      entry.users++
      return entry
    })
  const release = (executionId: string, entry: Entry) =>
    Effect.sync(() => {
      entry.users--
      if (entry.users === 0 && entries.get(executionId) === entry) entries.delete(executionId)
    })
  const using = <A, E, R>(executionId: string, use: (entry: Entry) => Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(acquire(executionId), use, (entry) => release(executionId, entry))
  return {
    cancel: (executionId) =>
      Effect.suspend(() => {
        const entry = entries.get(executionId)
        return entry === undefined ? Effect.void : Deferred.succeed(entry.deferred, undefined)
      }).pipe(Effect.asVoid),
    guard: <A, E, R>(executionId: string, effect: Effect.Effect<A, E, R>) =>
      using(executionId, (entry) => {
        const stopped = Effect.zipRight(Deferred.await(entry.deferred), Effect.fail(Cancelled.make({ executionId })))
        return Effect.flatMap(
          Deferred.isDone(entry.deferred),
          (done): Effect.Effect<A, E | typeof Cancelled.Type, R> => done ? stopped : Effect.raceFirst(effect, stopped)
        )
      }),
    hold: (executionId, effect) => using(executionId, () => effect)
  }
})

export const layer: Layer.Layer<Cancellations> = Layer.effect(Cancellations, make)

/**
 * Ends the run whose body this is as interrupted: the engine stores the interruption as the run's
 * end (it is not run again, nor taken up after a restart), and whoever waits for it sees it
 * interrupted.
 */
export const interruptRun: Effect.Effect<never, never, WorkflowEngine.WorkflowInstance> = Effect.flatMap(
  WorkflowEngine.WorkflowInstance,
  (instance) => {
    instance.interrupted = true
    return Effect.interrupt
  }
)

/** The engine's own interrupt request of an execution (stored by `Workflow.interrupt`). */
const InterruptSignal = DurableDeferred.make("Workflow/InterruptSignal")

/**
 * Whether the execution whose body this is was cancelled before the body started (an interrupt the
 * engine stored, in this process or before a restart).
 */
export const requested: Effect.Effect<boolean, never, WorkflowEngine.WorkflowInstance | WorkflowEngine.WorkflowEngine> =
  Effect.gen(function*() {
    const instance = yield* WorkflowEngine.WorkflowInstance
    if (instance.interrupted) return true
    const engine = yield* WorkflowEngine.WorkflowEngine
    const result = yield* engine.deferredResult(InterruptSignal)
    return result !== undefined
  })

export const serviceOption = Effect.serviceOption(Cancellations).pipe(Effect.map(Option.getOrUndefined))
