/**
 * From "Async Usage in AGNO": Real-World Examples › FastAPI Integration.
 *
 * The FastAPI app becomes `HttpApp.layer`: the agents of a `Registry` served over HTTP, with
 * `POST /agents/:name/runs` for an answer as JSON and the same endpoint with `stream: true` for
 * Server-Sent Events. Nothing is written by hand: the endpoints, their schemas, the OpenAPI page
 * and the typed client all come from one definition (`HttpApi`). The example starts the app on a
 * free port, asks it a question both ways with the typed client, and stops it.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import { HttpApp, SessionStoreMemory } from "../layers/index.js"
import { HttpApi } from "../src/http.js"
import { Agent, Registry } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ name: "Assistant", model: model("gpt-4o-mini") })

// The app, on any free port, for as long as the program runs.
const AppLive = HttpApp.layer({ port: 0 }).pipe(
  Layer.provide(Registry.layer([agent])),
  Layer.provide(SessionStoreMemory.layer)
)

export const main = Effect.gen(function*() {
  const { url } = yield* HttpApp.HttpApp
  const client = yield* HttpApi.client(url)

  // @app.post("/ask"): the answer as JSON.
  const response = yield* client.runs.run({ path: { name: "Assistant" }, payload: { input: "What is Effect?" } })
  yield* Console.log(`Answer: ${response.content}`)

  // @app.post("/ask/stream"): the answer as it is written.
  let streamed = ""
  yield* client.stream("Assistant", { input: "What is a fiber?" }).pipe(
    Stream.runForEach((event) =>
      event._tag === "TextDelta"
        ? Effect.sync(() => {
          streamed += event.delta
          process.stdout.write(event.delta)
        })
        : Effect.void
    )
  )
  yield* Console.log("")
  return { answer: String(response.content), streamed }
}).pipe(Effect.provide(Layer.merge(AppLive, FetchHttpClient.layer)))

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
