/** The handler of OpenAI Chat Completions: an agent or team of the registry as a model. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Registry from "../../../../src/Registry.js"
import * as Run from "../../../../src/Run.js"
import * as Events from "../events.js"
import * as OpenAi from "../openAi.js"
import * as Sse from "../sse.js"
import { State } from "../state.js"
import { runToEnd, setRunId } from "./entry.js"

const chatError = (status: number, body: HttpApi.ChatCompletionError) =>
  HttpServerResponse.unsafeJson(body, { status })

export const OpenAiLive = HttpApiBuilder.group(HttpApi.Api, "openai", (handlers) =>
  handlers.handle("chatCompletions", ({ payload }) =>
    Effect.gen(function*() {
      const registry = yield* Registry.Registry
      const found = registry.get(payload.model)
      if (Option.isNone(found)) {
        return chatError(
          404,
          OpenAi.error(`The model '${payload.model}' does not exist: no agent or team has that name.`, "invalid_request_error", "model_not_found")
        )
      }
      const entry = found.value
      const runId = Run.makeId()
      yield* setRunId(runId)
      const input = OpenAi.toInput(payload.messages)
      const created = Math.floor((yield* Effect.clockWith((clock) => clock.currentTimeMillis)) / 1000)
      const options = { runId }
      if (payload.stream === true) {
        const { runs } = yield* State
        const events = yield* Events.start(runs, entry, input, options).pipe(
          // Its id is fresh: never in use.
          Effect.catchTag("RunIdInUse", Effect.die)
        )
        return HttpServerResponse.stream(
          OpenAi.chunks(entry.name, created, runId, payload.stream_options?.include_usage === true, events),
          { contentType: "text/event-stream", headers: Sse.headers }
        )
      }
      return yield* runToEnd(entry, input, options).pipe(
        Effect.map((output) => OpenAi.completion(entry.name, created, output)),
        Effect.catchTags({
          RunIdInUse: Effect.die,
          RunError: (error) =>
            Effect.succeed(chatError(
              // A model's own status (429, 400, ...) goes through, so clients retry what can be retried.
              error.error._tag === "ModelError" && error.error.status !== undefined && error.error.status >= 400
                ? error.error.status
                : 500,
              OpenAi.error(error.error.message, "server_error", error.error._tag)
            )),
          RunCancelled: (error) => Effect.succeed(chatError(409, OpenAi.error(error.message, "server_error", "cancelled")))
        })
      )
    })))
