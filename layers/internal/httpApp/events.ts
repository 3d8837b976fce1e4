/**
 * A run as the stream an HTTP response sends: the run's events, then, when it did not end with
 * `RunCompleted` or `RunFailed`, one last `RunCancelled` or `RunError`. The run itself is a fiber
 * of {@link Runs} that hands each event straight to a bounded mailbox (so a slow client slows the
 * run down rather than piling events up): one buffer between the run and the response, which reads
 * the mailbox. When the response stops early (the client
 * went away), the run is cancelled and waited for. The run is also cancelled when the request's
 * scope closes: a client that leaves before the response starts never reads the stream, whose own
 * finalizer then never runs.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as HttpApi from "../../../src/HttpApi.js"
import type * as Registry from "../../../src/Registry.js"
import type * as Run from "../../../src/Run.js"
import * as EventLog from "./eventLog.js"
import * as Failure from "./failure.js"
import type * as Runs from "./runs.js"

/** How many events may wait for a slow client before the run waits for it (as a run's own stream). */
const capacity = 256

/**
 * What a stream sends after a run's own events: `RunCancelled` for an interrupted run (with why),
 * `RunError` for a failure that is not an `AgentError` (those were sent as `RunFailed` by the run).
 */
export const lastEvent = (
  runId: string,
  exit: Exit.Exit<unknown, Registry.Error>,
  reason: Effect.Effect<HttpApi.CancelReason>
): Effect.Effect<HttpApi.StreamEvent | undefined> => {
  if (Exit.isSuccess(exit)) return Effect.succeed(undefined)
  if (Cause.isInterruptedOnly(exit.cause)) {
    return Effect.map(reason, (why) =>
      new HttpApi.RunCancelled({
        runId,
        reason: why,
        message: why === "shutdown" ? "The server shut down before the run finished." : "The run was cancelled."
      }))
  }
  return Effect.map(Failure.fromCause(exit.cause), (error) =>
    // A typed AgentError was already sent as `RunFailed` by the run itself.
    error._tag === "SessionStoreError" || error._tag === "MemoryError" || error._tag === "InternalError"
      ? new HttpApi.RunError({ runId, error })
      : undefined)
}

export const start = (
  runs: Runs.Runs,
  entry: Registry.Entry,
  input: Run.Input,
  options: Registry.RunOptions & { readonly runId: string }
): Effect.Effect<Stream.Stream<HttpApi.StreamEvent>, HttpApi.RunIdInUse | HttpApi.ShuttingDown, Scope.Scope> =>
  Effect.gen(function*() {
    const runId = options.runId
    const mailbox = yield* Mailbox.make<HttpApi.StreamEvent>({ capacity })
    // Set once the run has started: the run's end needs its handle to know why it was interrupted.
    let reason: Effect.Effect<HttpApi.CancelReason> = Effect.succeed("cancelled")
    const last = (exit: Exit.Exit<void, Registry.Error>) => lastEvent(runId, exit, reason)
    // The run reports each event to the mailbox from its own fiber (`onEvent`): no stream of its own
    // in between, so no second buffer and no second fiber.
    const run = entry.run(input, { ...options, onEvent: (event) => Effect.asVoid(mailbox.offer(event)) }).pipe(
      Effect.asVoid,
      Effect.onExit((exit) =>
        Effect.flatMap(last(exit), (event) =>
          // When the client is gone the mailbox is shut down first, so this offer never waits for it.
          Effect.zipRight(event === undefined ? Effect.void : mailbox.offer(event), mailbox.end)
        )
      )
    )
    // The client is gone (or the response is done): the mailbox is shut down, then the run cancelled.
    const stop = (handle: Runs.Handle<void, Registry.Error>) => Effect.zipRight(mailbox.shutdown, handle.cancel("disconnected"))
    // Started and tied to the request's scope in one step: no interruption can fall between them.
    const handle = yield* Effect.acquireRelease(runs.start(runId, entry.name, run), stop)
    reason = handle.reason
    return Mailbox.toStream(mailbox).pipe(Stream.ensuring(stop(handle)))
  })

/**
 * A detached run: a fiber of {@link Runs} like any other (listed, cancelled by id, stopped at
 * shutdown), whose events go to its log in `logs` instead of to one response, so that its client may
 * leave and come back (and others may follow it). No backpressure: the log is bounded instead
 * (see `eventLog.ts`). Gives the log's stream from its first event.
 *
 * A resume (`resume: true`) keeps its log in `logs` only once it is admitted: at its first event, or
 * at its end when that is not an `ApprovalError` (a refused resume ran nothing). Until then the
 * run's earlier log stays readable, and a refused resume leaves it as it was.
 */
export const startDetached = (
  runs: Runs.Runs,
  logs: EventLog.Logs,
  entry: Registry.Entry,
  input: Run.Input,
  options: Registry.RunOptions & { readonly runId: string },
  resume = false
): Effect.Effect<
  Stream.Stream<readonly [number, HttpApi.StreamEvent]>,
  HttpApi.RunIdInUse | HttpApi.ShuttingDown
> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const runId = options.runId
    const log = yield* EventLog.makeLog
    // Registered from the run's own fiber when it is a resume, so that its admission and its
    // registration cannot be parted by the request going away.
    const register = yield* Effect.once(logs.register(runId, log))
    if (!resume && !(yield* logs.register(runId, log))) {
      return yield* new HttpApi.RunIdInUse({ runId, message: `A run with id "${runId}" is already in flight.` })
    }
    let reason: Effect.Effect<HttpApi.CancelReason> = Effect.succeed("cancelled")
    const append = resume ? (event: HttpApi.StreamEvent) => Effect.zipRight(register, log.append(event)) : log.append
    const run = entry.run(input, { ...options, onEvent: append }).pipe(
      Effect.onExit((exit) =>
        Effect.zipRight(
          resume && !refused(exit) ? register : Effect.void,
          lastEvent(runId, exit, reason).pipe(
            Effect.flatMap((event) => event === undefined ? Effect.void : log.append(event)),
            Effect.zipRight(log.end),
            Effect.zipRight(logs.finished(runId, log))
          )
        )
      )
    )
    const handle = yield* runs.start(runId, entry.name, run).pipe(Effect.tapError(() => logs.remove(runId, log)))
    reason = handle.reason
    return log.read(0)
  }))

/** Whether a run ended refused (`ApprovalError`): for a resume, before it ran anything. */
const refused = (exit: Exit.Exit<unknown, Registry.Error>) =>
  Exit.isFailure(exit) && Option.exists(Cause.failureOption(exit.cause), (error) => error._tag === "ApprovalError")
