/**
 * The handlers of the UI protocols: AG-UI and the AI SDK's UI message stream. A run that pauses
 * for approval is kept as the runs endpoint's are, and a client's answers (AG-UI's `resume`, the AI
 * SDK's approval responses) resume it, streamed in the same protocol.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Stream from "effect/Stream"
import * as Approval from "../../../../src/Approval.js"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Run from "../../../../src/Run.js"
import * as AgUi from "../agUi.js"
import * as Approvals from "../approvals.js"
import * as Events from "../events.js"
import * as Sse from "../sse.js"
import { State } from "../state.js"
import * as UiStream from "../uiStream.js"
import { admission, lookup, setRunId } from "./entry.js"

const agUiResponse = (body: Stream.Stream<Uint8Array>) =>
  HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: Sse.headers })

export const UiLive = HttpApiBuilder.group(HttpApi.Api, "ui", (handlers) =>
  handlers
    .handle("agUi", ({ path, payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(path.name)
        const { approvals, runs } = yield* State
        yield* setRunId(payload.runId)
        const tracked = approvals.tracking(entry)
        const { resume, runId, threadId } = payload
        if (resume === undefined || resume.length === 0) {
          const events = yield* Events.start(runs, tracked, AgUi.toInput(payload), { runId }).pipe(
            Effect.catchTag("ShuttingDown", Effect.die)
          )
          return agUiResponse(AgUi.body(threadId, runId, events))
        }
        // A resume: a new AG-UI run goes on with the paused one. One it cannot take is answered as
        // AG-UI says, with RUN_ERROR; the paused run still waits.
        const paused = yield* approvals.byToken(resume[0]!.interruptId)
        if (paused._tag === "None" || paused.value.agent !== entry.name) {
          return agUiResponse(AgUi.refused(
            threadId,
            runId,
            new Approval.ApprovalError({
              reason: "UnknownCall",
              message: `No run of "${entry.name}" waits on the interrupt "${resume[0]!.interruptId}": it was answered ` +
                "already, or it is too old (start a new run)."
            })
          ))
        }
        const decisions = AgUi.toDecisions(paused.value.error.pending, resume)
        if (Either.isLeft(decisions)) return agUiResponse(AgUi.refused(threadId, runId, decisions.left))
        const gate = yield* admission(Approvals.resumed(tracked, paused.value, decisions.right))
        const events = yield* Events.start(runs, gate.entry, "", { runId }).pipe(Effect.catchTag("ShuttingDown", Effect.die))
        const admitted = yield* Effect.either(gate.admitted)
        if (Either.isLeft(admitted)) return agUiResponse(AgUi.refused(threadId, runId, admitted.left))
        return agUiResponse(AgUi.body(threadId, runId, events, decisions.right.map((decision) => decision.toolCallId)))
      }))
    .handle("uiMessageStream", ({ path, payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(path.name)
        const { approvals, runs } = yield* State
        const tracked = approvals.tracking(entry)
        const responses = UiStream.approvalResponses(payload)
        if (responses.length === 0) {
          const runId = Run.makeId()
          yield* setRunId(runId)
          const events = yield* Events.start(runs, tracked, UiStream.toInput(payload), { runId }).pipe(
            // Its id is fresh: never in use.
            Effect.catchTag("RunIdInUse", Effect.die),
            Effect.catchTag("ShuttingDown", Effect.die)
          )
          return HttpServerResponse.stream(UiStream.body(runId, events), {
            contentType: "text/event-stream",
            headers: UiStream.headers
          })
        }
        // The client answered a paused run's approval requests: it goes on in the same assistant
        // message (the paused run's id), once the decisions are admitted.
        const paused = yield* approvals.byToken(responses[0]!.approvalId)
        if (paused._tag === "None" || paused.value.agent !== entry.name) {
          return yield* new HttpApi.RunNotFound({
            runId: responses[0]!.approvalId,
            message: `No run of "${entry.name}" waits on the approval "${responses[0]!.approvalId}": it was ` +
              "answered already, or it is too old (send a new message)."
          })
        }
        const runId = paused.value.error.runId
        yield* setRunId(runId)
        const decisions = UiStream.toDecisions(paused.value.error.pending, responses)
        if (Either.isLeft(decisions)) return yield* HttpApi.DecisionsRefused.fromApprovalError(runId, decisions.left)
        const gate = yield* admission(Approvals.resumed(tracked, paused.value, decisions.right))
        const events = yield* Events.start(runs, gate.entry, "", { runId }).pipe(Effect.catchTag("ShuttingDown", Effect.die))
        yield* Effect.mapError(gate.admitted, (error) => HttpApi.DecisionsRefused.fromApprovalError(runId, error))
        return HttpServerResponse.stream(UiStream.body(runId, events, decisions.right.map((decision) => decision.toolCallId)), {
          contentType: "text/event-stream",
          headers: UiStream.headers
        })
      })))
