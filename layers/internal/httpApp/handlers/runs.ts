/**
 * The handlers of runs: a run started as JSON or Server-Sent Events (a detached one kept in an event
 * log), the runs in flight listed and cancelled, and a detached or durable run's events read again.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as AgentError from "../../../../src/AgentError.js"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Run from "../../../../src/Run.js"
import * as Sse from "../sse.js"
import { State } from "../state.js"
import { eventStream, lookup, pausedAccepted, runToEnd, setRunId, toInput, wantsEventStream } from "./entry.js"

export const RunsLive = HttpApiBuilder.group(HttpApi.Api, "runs", (handlers) =>
  handlers
    .handle("run", ({ path, payload, request }) =>
      Effect.gen(function*() {
        // A run that pauses for approval is kept for `GET /approvals` and `POST /runs/:runId/resume`.
        const entry = (yield* State).approvals.tracking(yield* lookup(path.name))
        const runId = payload.runId ?? Run.makeId()
        const options = {
          runId,
          ...(payload.sessionId === undefined ? {} : { sessionId: payload.sessionId }),
          ...(payload.userId === undefined ? {} : { userId: payload.userId }),
          ...(payload.historyRuns === undefined ? {} : { historyRuns: payload.historyRuns })
        }
        yield* setRunId(runId)
        const input = toInput(payload.input)
        if (payload.stream === true || wantsEventStream(request)) {
          return yield* eventStream(entry, input, options, payload.detach === true)
        }
        return yield* runToEnd(entry, input, options).pipe(
          // Input the runnable does not take is the client's mistake (400), not the run's failure.
          Effect.catchTag("RunError", (error): Effect.Effect<never, HttpApi.RunError | HttpApi.InvalidRunInput> =>
            error.error instanceof AgentError.WorkflowError && error.error.reason === "InvalidInput"
              ? Effect.fail(new HttpApi.InvalidRunInput({ runId: error.runId, message: error.error.message }))
              : Effect.fail(error)),
          pausedAccepted
        )
      }))
    .handle("list", () => Effect.flatMap(State, ({ runs }) => runs.list))
    .handle("events", ({ headers, path, urlParams }) =>
      Effect.gen(function*() {
        const { durable, logs } = yield* State
        const detached = yield* logs.get(path.runId)
        // A durable run's live events, when this server runs it.
        const log = Option.isSome(detached) || durable === undefined ? detached : yield* durable.events(path.runId)
        if (Option.isNone(log)) {
          return yield* new HttpApi.RunNotFound({
            runId: path.runId,
            message: `No event log is kept for a run with id "${path.runId}": it was not started with "detach": true, or it ended long ago.`
          })
        }
        const lastEventId = Number(headers["last-event-id"])
        const after = urlParams.after ?? (Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0)
        return HttpServerResponse.stream(
          Stream.map(log.value.read(after), ([id, event]) => Sse.numberedEvent(id, event)),
          { contentType: "text/event-stream", headers: Sse.headers }
        )
      }))
    .handle("cancel", ({ path }) => Effect.flatMap(State, ({ runs }) => runs.cancel(path.runId, "cancelled"))))
