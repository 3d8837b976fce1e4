/** The handlers of the UI protocols: AG-UI and the AI SDK's UI message stream. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Run from "../../../../src/Run.js"
import * as AgUi from "../agUi.js"
import * as Events from "../events.js"
import * as Sse from "../sse.js"
import { State } from "../state.js"
import * as UiStream from "../uiStream.js"
import { lookup, setRunId } from "./entry.js"

export const UiLive = HttpApiBuilder.group(HttpApi.Api, "ui", (handlers) =>
  handlers
    .handle("agUi", ({ path, payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(path.name)
        const { runs } = yield* State
        yield* setRunId(payload.runId)
        const events = yield* Events.start(runs, entry, AgUi.toInput(payload), { runId: payload.runId }).pipe(
          Effect.catchTag("ShuttingDown", Effect.die)
        )
        return HttpServerResponse.stream(AgUi.body(payload.threadId, payload.runId, events), {
          contentType: "text/event-stream",
          headers: Sse.headers
        })
      }))
    .handle("uiMessageStream", ({ path, payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(path.name)
        const { runs } = yield* State
        const runId = Run.makeId()
        yield* setRunId(runId)
        const events = yield* Events.start(runs, entry, UiStream.toInput(payload), { runId }).pipe(
          // Its id is fresh: never in use.
          Effect.catchTag("RunIdInUse", Effect.die),
          Effect.catchTag("ShuttingDown", Effect.die)
        )
        return HttpServerResponse.stream(UiStream.body(runId, events), {
          contentType: "text/event-stream",
          headers: UiStream.headers
        })
      })))
