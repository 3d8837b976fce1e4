/** The handlers of background batches. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import * as HttpApi from "../../../../src/HttpApi.js"
import { State } from "../state.js"
import { lookup, toInput } from "./entry.js"

export const BatchesLive = HttpApiBuilder.group(HttpApi.Api, "batches", (handlers) =>
  handlers
    .handle("submit", ({ payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(payload.agent)
        const { batches } = yield* State
        return yield* batches.submit(entry, payload, toInput)
      }))
    .handle("list", () => Effect.flatMap(State, ({ batches }) => batches.list))
    .handle("get", ({ path }) => Effect.flatMap(State, ({ batches }) => batches.get(path.batchId)))
    .handle("cancel", ({ path }) => Effect.flatMap(State, ({ batches }) => batches.cancel(path.batchId))))
