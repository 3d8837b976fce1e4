/**
 * Background batches: one agent, many inputs, at most `concurrency` at a time, each input a run
 * of {@link Runs} (so it can be listed and cancelled by id, and is given the grace period at
 * shutdown). A batch is a fiber of the app's scope; its state lives in refs that outlive it, so a
 * batch that was cancelled or cut short by a shutdown still answers with what it got, every input
 * that did not finish marked `cancelled` or `interrupted`.
 */
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as HttpApi from "../../../src/HttpApi.js"
import type * as Registry from "../../../src/Registry.js"
import * as Run from "../../../src/Run.js"
import * as Failure from "./failure.js"
import type { Runs } from "./runs.js"

interface State {
  readonly batchId: string
  readonly agent: string
  readonly concurrency: number
  readonly createdAt: DateTime.Utc
  readonly status: Ref.Ref<HttpApi.BatchState>
  readonly finishedAt: Ref.Ref<DateTime.Utc | undefined>
  readonly items: ReadonlyArray<Ref.Ref<HttpApi.BatchItem>>
}

export interface Batches {
  readonly submit: (
    entry: Registry.Entry,
    request: HttpApi.BatchRequest,
    toInput: (input: HttpApi.RunInput) => Run.Input
  ) => Effect.Effect<HttpApi.Batch, HttpApi.ShuttingDown>
  readonly get: (batchId: string) => Effect.Effect<HttpApi.Batch, HttpApi.BatchNotFound>
  readonly list: Effect.Effect<ReadonlyArray<Omit<HttpApi.Batch, "items">>>
  readonly cancel: (batchId: string) => Effect.Effect<HttpApi.Batch, HttpApi.BatchNotFound>
  /** Interrupts every batch still running; their unfinished inputs are marked `interrupted`. */
  readonly shutdown: Effect.Effect<void>
}

const isFinal = (status: HttpApi.BatchItemStatus) => status !== "pending" && status !== "running"

const countsOf = (items: ReadonlyArray<HttpApi.BatchItem>): HttpApi.BatchCounts => {
  const counts = { total: items.length, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0, interrupted: 0 }
  for (const item of items) counts[item.status]++
  return counts
}

const snapshot = (state: State): Effect.Effect<HttpApi.Batch> =>
  Effect.gen(function*() {
    const items = yield* Effect.forEach(state.items, Ref.get)
    const finishedAt = yield* Ref.get(state.finishedAt)
    return {
      batchId: state.batchId,
      agent: state.agent,
      status: yield* Ref.get(state.status),
      concurrency: state.concurrency,
      createdAt: state.createdAt,
      ...(finishedAt === undefined ? {} : { finishedAt }),
      counts: countsOf(items),
      items
    }
  })

export const make = (runs: Runs): Effect.Effect<Batches, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    const batches = yield* Ref.make(HashMap.empty<string, State>())
    // Why a batch's fiber was interrupted: decides what its unfinished inputs become.
    const stopping = yield* Ref.make(HashMap.empty<string, "cancelled" | "interrupted">())

    const find = (batchId: string) =>
      Effect.flatMap(Ref.get(batches), (all) =>
        Option.match(HashMap.get(all, batchId), {
          onNone: () =>
            Effect.fail(new HttpApi.BatchNotFound({ batchId, message: `No batch with id "${batchId}".` })),
          onSome: Effect.succeed
        }))

    const runItem = (
      state: State,
      entry: Registry.Entry,
      index: number,
      input: Run.Input,
      userId: string | undefined
    ) =>
      Effect.gen(function*() {
        const item = state.items[index]!
        const runId = Run.makeId()
        // Started and waited for with no gap between them where the batch's interruption would
        // leave the run behind.
        const started = yield* Effect.uninterruptibleMask((restore) =>
          runs.start(
            runId,
            entry.name,
            entry.run(input, { runId, ...(userId === undefined ? {} : { userId }) })
          ).pipe(
            Effect.tap(() => Ref.set(item, { index, status: "running", runId })),
            Effect.flatMap((handle) =>
              restore(handle.await).pipe(
                // The batch was cancelled or the app is stopping: the run goes too.
                Effect.onInterrupt(() => handle.cancel("cancelled")),
                Effect.map((exit) => ({ handle, exit }))
              )
            ),
            Effect.either
          )
        )
        if (started._tag === "Left") {
          // Only a shutdown stops a run from starting here: the ids are fresh.
          return yield* Ref.set(item, { index, status: "interrupted" })
        }
        const { exit, handle } = started.right
        if (Exit.isSuccess(exit)) {
          return yield* Ref.set(item, { index, status: "completed", runId, output: exit.value })
        }
        if (Cause.isInterruptedOnly(exit.cause)) {
          const reason = yield* handle.reason
          return yield* Ref.set(item, { index, status: reason === "shutdown" ? "interrupted" : "cancelled", runId })
        }
        const error = yield* Failure.fromCause(exit.cause)
        return yield* Ref.set(item, { index, status: "failed", runId, error })
      })

    const finish = (state: State) =>
      Effect.gen(function*() {
        const stop = Option.getOrUndefined(HashMap.get(yield* Ref.get(stopping), state.batchId))
        for (const item of state.items) {
          yield* Ref.update(item, (current) =>
            isFinal(current.status) ? current : { ...current, status: stop ?? "interrupted" })
        }
        const items = yield* Effect.forEach(state.items, Ref.get)
        const status: HttpApi.BatchState = stop === "cancelled"
          ? "cancelled"
          : items.some((item) => item.status === "interrupted")
          ? "interrupted"
          : "completed"
        yield* Ref.set(state.status, status)
        yield* Ref.set(state.finishedAt, yield* DateTime.now)
        if (status === "interrupted") {
          const counts = countsOf(items)
          yield* Effect.logWarning(
            `Batch ${state.batchId} (${state.agent}) was interrupted by the shutdown: ${counts.completed} completed, ` +
              `${counts.failed} failed, ${counts.interrupted} interrupted of ${counts.total}`
          )
        }
      })

    const submit: Batches["submit"] = (entry, request, toInput) =>
      Effect.uninterruptible(Effect.gen(function*() {
        if (yield* runs.draining) {
          return yield* new HttpApi.ShuttingDown({ message: "The server is shutting down and takes no new batches." })
        }
        const state: State = {
          batchId: Run.makeId(),
          agent: entry.name,
          concurrency: request.concurrency ?? 4,
          createdAt: yield* DateTime.now,
          status: yield* Ref.make<HttpApi.BatchState>("running"),
          finishedAt: yield* Ref.make<DateTime.Utc | undefined>(undefined),
          items: yield* Effect.forEach(request.inputs, (_, index) =>
            Ref.make<HttpApi.BatchItem>({ index, status: "pending" }))
        }
        yield* Ref.update(batches, HashMap.set(state.batchId, state))
        yield* FiberMap.run(
          fibers,
          state.batchId,
          Effect.forEach(
            request.inputs,
            (input, index) => runItem(state, entry, index, toInput(input), request.userId),
            { concurrency: state.concurrency, discard: true }
          ).pipe(Effect.ensuring(finish(state)))
        )
        return yield* snapshot(state)
      }))

    const stop = (batchId: string, why: "cancelled" | "interrupted") =>
      Ref.update(stopping, (all) => (HashMap.has(all, batchId) ? all : HashMap.set(all, batchId, why))).pipe(
        Effect.zipRight(FiberMap.remove(fibers, batchId))
      )

    return {
      submit,
      get: (batchId) => Effect.flatMap(find(batchId), snapshot),
      list: Effect.flatMap(Ref.get(batches), (all) =>
        Effect.forEach(HashMap.values(all), (state) =>
          Effect.map(snapshot(state), ({ items: _, ...summary }) => summary))),
      cancel: (batchId) =>
        Effect.flatMap(find(batchId), (state) => Effect.zipRight(stop(batchId, "cancelled"), snapshot(state))),
      shutdown: Effect.flatMap(Ref.get(batches), (all) =>
        Effect.forEach(HashMap.keys(all), (batchId) => stop(batchId, "interrupted"), {
          concurrency: "unbounded",
          discard: true
        }))
    }
  })
