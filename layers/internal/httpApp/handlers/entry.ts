/**
 * What the handlers that run an entry of the registry share: finding it by name, its input, whether
 * the client asked for a stream, running it to the end for a JSON answer or as Server-Sent Events,
 * a resume's admission known before its response starts, and the run's id in a response header.
 */
import * as Prompt from "@effect/ai/Prompt"
import * as PlatformHttpApp from "@effect/platform/HttpApp"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as AgentError from "../../../../src/AgentError.js"
import type * as Approval from "../../../../src/Approval.js"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Registry from "../../../../src/Registry.js"
import type * as Run from "../../../../src/Run.js"
import * as Events from "../events.js"
import * as Failure from "../failure.js"
import * as Sse from "../sse.js"
import { State } from "../state.js"

/** The entry of the registry named `name`, or `AgentNotFound`. */
export const lookup = (name: string) =>
  Effect.flatMap(Registry.Registry, (registry) =>
    Option.match(registry.get(name), {
      onNone: () =>
        Effect.fail(new HttpApi.AgentNotFound({ name, message: `No agent or team is named "${name}".` })),
      onSome: Effect.succeed
    }))

/** A run's input as the API takes it: a text, or messages. */
export const toInput = (input: HttpApi.RunInput): Run.Input =>
  typeof input === "string" ? input : Prompt.fromMessages(input)

/** Whether the client asked for Server-Sent Events by its `accept` header. */
export const wantsEventStream = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["accept"] ?? "").includes("text/event-stream")

const cancelled = (runId: string, reason: HttpApi.CancelReason) =>
  new HttpApi.RunCancelled({
    runId,
    reason,
    message: reason === "shutdown" ? "The server shut down before the run finished." : "The run was cancelled."
  })

/** Runs to the end as a fiber of the app, waited for by the request; a client gone cancels it. */
export const runToEnd = (entry: Registry.Entry, input: Run.Input, options: Registry.RunOptions & { readonly runId: string }) =>
  Effect.gen(function*() {
    const { runs } = yield* State
    // Started and waited for with no gap between them where the client leaving would go unnoticed.
    const started = yield* Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(runs.start(options.runId, entry.name, entry.run(input, options)), (handle) =>
        restore(handle.await).pipe(
          Effect.onInterrupt(() => handle.cancel("disconnected")),
          Effect.map((exit) => ({ handle, exit }))
        ))
    )
    const { exit, handle } = started
    if (Exit.isSuccess(exit)) return exit.value
    if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.fail(cancelled(options.runId, yield* handle.reason))
    return yield* Effect.fail(new HttpApi.RunError({ runId: options.runId, error: yield* Failure.fromCause(exit.cause) }))
  })

/**
 * A run answered as Server-Sent Events, one per event as it happens; `detach`ed, its events are
 * kept in an event log too, numbered, for `GET /runs/{runId}/events` (a `resume`'s only once it is
 * admitted, so that a refused one leaves the run's earlier log readable).
 */
export const eventStream = (
  entry: Registry.Entry,
  input: Run.Input,
  options: Registry.RunOptions & { readonly runId: string },
  detach: boolean,
  resume = false
) =>
  Effect.gen(function*() {
    const { logs, runs } = yield* State
    const body = detach
      ? Stream.map(yield* Events.startDetached(runs, logs, entry, input, options, resume), ([id, event]) => Sse.numberedEvent(id, event))
      : Stream.map(yield* Events.start(runs, entry, input, options), Sse.streamEvent)
    return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: Sse.headers })
  })

/**
 * A resumed run whose refusal is known before its response starts. `entry`'s run is the resume;
 * `admitted` waits for its first event or its end, and fails with the `ApprovalError` it ended with
 * before any event (the state or the decisions were refused before anything ran, and the run still
 * waits), so that a stream can answer the refusal instead of an empty 200.
 */
export const admission = (entry: Registry.Entry) =>
  Effect.map(Deferred.make<void, Approval.ApprovalError>(), (gate) => {
    const gated: Registry.Entry = {
      ...entry,
      run: (input, options) =>
        entry.run(input, {
          ...options,
          onEvent: (event) =>
            Effect.zipRight(Deferred.succeed(gate, undefined), options?.onEvent === undefined ? Effect.void : options.onEvent(event))
        }).pipe(
          Effect.onExit((exit) => {
            const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
            // Completed already when an event came first: a later refusal is the stream's.
            return failure?._tag === "ApprovalError"
              ? Deferred.fail(gate, failure)
              : Deferred.succeed(gate, undefined)
          })
        )
    }
    return { entry: gated, admitted: Deferred.await(gate) }
  })

// A JSON run that paused did not fail: it answers 202 with what it waits for.
export const pausedAccepted = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | HttpApi.Paused, R> =>
  Effect.catchIf(
    effect,
    (error): error is E & HttpApi.RunError =>
      error instanceof HttpApi.RunError && error.error instanceof AgentError.RunPaused,
    (error) => Effect.fail(HttpApi.Paused.fromRunPaused(error.error as AgentError.RunPaused))
  )

/** Sends the run's id in the `x-run-id` header of the response. */
export const setRunId = (runId: string) =>
  PlatformHttpApp.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "x-run-id", runId))
  )