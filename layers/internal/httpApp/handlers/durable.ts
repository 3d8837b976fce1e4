/** The handlers of durable runs (`/durable/runs`); without a durable store they answer 501. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import * as HttpApi from "../../../../src/HttpApi.js"
import { durableOf } from "../state.js"
import { lookup } from "./entry.js"

export const DurableLive = HttpApiBuilder.group(HttpApi.Api, "durable", (handlers) =>
  handlers
    .handle("start", ({ payload }) =>
      Effect.gen(function*() {
        const durable = yield* durableOf
        const entry = yield* lookup(payload.agent)
        return yield* durable.start(entry, payload)
      }))
    .handle("list", ({ urlParams }) => Effect.flatMap(durableOf, (durable) => durable.list(urlParams.waiting)))
    .handle("get", ({ path }) => Effect.flatMap(durableOf, (durable) => durable.get(path.runId)))
    .handle("cancel", ({ path }) => Effect.flatMap(durableOf, (durable) => durable.cancel(path.runId)))
    .handle("signal", ({ path, payload }) =>
      Effect.flatMap(durableOf, (durable) => durable.signal(path.runId, path.signal, payload.value)))
    .handle("decide", ({ path, payload }) =>
      Effect.flatMap(durableOf, (durable) => durable.decide(path.runId, payload.decisions))))
