/**
 * From "Async Usage in AGNO": Real-World Examples › Background Task Processing.
 *
 * `POST /batch` with FastAPI's `BackgroundTasks` becomes the app's own batches: `POST /batches`
 * answers at once (202) with the batch's id, the inputs run in the background (at most
 * `concurrency` at a time, in fibers the app supervises), and `GET /batches/:id` shows how far it
 * got, each input's answer or typed error. `return_exceptions=True` is built in: one failed input
 * does not stop the others. At shutdown a batch still running is marked interrupted, not lost.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { fileURLToPath } from "node:url"
import { HttpApp, SessionStoreMemory } from "../layers/index.js"
import { HttpApi } from "../src/http.js"
import { Agent, Registry } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ name: "Assistant", model: model("gpt-4o-mini") })

const AppLive = HttpApp.layer({ port: 0 }).pipe(
  Layer.provide(Registry.layer([agent])),
  Layer.provide(SessionStoreMemory.layer)
)

export const main = Effect.gen(function*() {
  const { url } = yield* HttpApp.HttpApp
  const client = yield* HttpApi.client(url)

  const queries = ["Summarise Effect in one line.", "What is a Layer?", "What is a Schedule?"] as const
  const submitted = yield* client.batches.submit({ payload: { agent: "Assistant", inputs: queries, concurrency: 2 } })
  yield* Console.log(`{ status: "processing", count: ${submitted.counts.total} }`)

  // Poll until every input has ended.
  const batch = yield* client.batches.get({ path: { batchId: submitted.batchId } }).pipe(
    Effect.repeat(Schedule.spaced("50 millis").pipe(
      Schedule.whileInput((batch: HttpApi.Batch) => batch.status === "running"),
      Schedule.passthrough
    ))
  )
  const results = batch.items.flatMap((item) => (item.output === undefined ? [] : [String(item.output.content)]))
  const summary = { successful: batch.counts.completed, failed: batch.counts.failed, results }
  yield* Console.log(`Successful: ${summary.successful}, failed: ${summary.failed}`)
  for (const [i, result] of results.entries()) yield* Console.log(`${i + 1}. ${result.slice(0, 80)}`)
  return summary
}).pipe(Effect.provide(Layer.merge(AppLive, FetchHttpClient.layer)))

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
