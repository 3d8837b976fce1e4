/**
 * The handlers of the runs that wait for approval: listed, and resumed with decisions as a run of
 * their entry (the same JSON and Server-Sent Events answers as a new run's).
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Approval from "../../../../src/Approval.js"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Registry from "../../../../src/Registry.js"
import * as Events from "../events.js"
import * as Sse from "../sse.js"
import { State } from "../state.js"
import { pausedAccepted, runToEnd, setRunId, wantsEventStream } from "./entry.js"

export const ApprovalsLive = HttpApiBuilder.group(HttpApi.Api, "approvals", (handlers) =>
  handlers
    .handle("list", () => Effect.flatMap(State, ({ approvals }) => approvals.list))
    .handle("resume", ({ path, payload, request }) =>
      Effect.gen(function*() {
        const { approvals, runs } = yield* State
        const found = yield* approvals.get(path.runId)
        const registry = yield* Registry.Registry
        const entry = Option.flatMap(found, (paused) => registry.get(paused.agent))
        if (Option.isNone(found) || Option.isNone(entry) || entry.value.resume === undefined) {
          return yield* new HttpApi.RunNotFound({
            runId: path.runId,
            message: `No run with id "${path.runId}" waits for approval (GET /approvals lists those that do).`
          })
        }
        const tracked = approvals.tracking(entry.value)
        const state = found.value.error.state
        // The resumed run, as a run of its entry: the same JSON and SSE answers as a new run's.
        const resumed: Registry.Entry = {
          ...tracked,
          // A run that paused in a session resumes as a turn of it, recorded there when it ends.
          run: (_input, options) =>
            tracked.resume!(state, payload.decisions, { onEvent: options?.onEvent, ...found.value.session })
        }
        const options = { runId: path.runId }
        yield* setRunId(path.runId)
        if (payload.stream === true || wantsEventStream(request)) {
          if (payload.detach === true) {
            // Kept like a detached run's: a reload during the resumed part picks it up from its log.
            const events = yield* Events.startDetached(runs, (yield* State).logs, resumed, "", options)
            return HttpServerResponse.stream(Stream.map(events, ([id, event]) => Sse.numberedEvent(id, event)), {
              contentType: "text/event-stream",
              headers: Sse.headers
            })
          }
          const events = yield* Events.start(runs, resumed, "", options)
          return HttpServerResponse.stream(Stream.map(events, Sse.streamEvent), {
            contentType: "text/event-stream",
            headers: Sse.headers
          })
        }
        return yield* runToEnd(resumed, "", options).pipe(pausedAccepted, refusedDecisions(path.runId))
      })))

// A resume whose decisions or state are refused ran nothing, and its run still waits: a client's
// error (400), not the run's failure.
const refusedDecisions = (runId: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | HttpApi.DecisionsRefused, R> =>
  Effect.catchIf(
    effect,
    (error): error is E & HttpApi.RunError =>
      error instanceof HttpApi.RunError && error.error instanceof Approval.ApprovalError,
    (error) => Effect.fail(HttpApi.DecisionsRefused.fromApprovalError(runId, error.error as Approval.ApprovalError))
  )
