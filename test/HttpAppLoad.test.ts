/**
 * Many streamed runs at once through the HTTP app, against the LLM simulator on loopback: every
 * one completes, and the heap comes back near where it started. Bounded and local; no timing is
 * asserted.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import * as HttpApp from "../layers/HttpApp.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as Simulator from "../layers/Simulator.js"
import * as Agent from "../src/Agent.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"

const runs = 500

// A full collection before each reading, so the numbers are live objects rather than garbage.
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const heapMiB = Effect.sync(() => {
  gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
})

describe("HttpApp under load", () => {
  it.scopedLive(`${runs} concurrent streamed runs all complete, and the heap returns near its start`, () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: () => Simulator.text("A streamed answer from the simulator, in a few chunks.", { chunks: 5, delay: "20 millis", chunkDelay: "5 millis" })
      })
      const agent = Agent.make({
        name: "Loaded",
        model: OpenAiCompatible.layer({ baseUrl: simulator.openAiUrl, model: "sim" })
      })
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(Layer.provide(Registry.layer([agent])), Layer.provide(SessionStoreMemory.layer))
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const client = yield* HttpApi.client(url).pipe(Effect.provide(FetchHttpClient.layer))
      const one = (i: number) =>
        Stream.runCollect(client.stream("Loaded", { input: `question ${i}` })).pipe(
          Effect.map((events) => Chunk.last(events).pipe((last) => (last._tag === "Some" ? last.value._tag : "none")))
        )
      // Warm up, then measure from there.
      yield* Effect.forEach([0, 1, 2, 3], one, { concurrency: "unbounded" })
      const before = yield* heapMiB
      const endings = yield* Effect.forEach(Array.from({ length: runs }, (_, i) => i), one, { concurrency: "unbounded" })
      assert.strictEqual(endings.filter((tag) => tag === "RunCompleted").length, runs)
      yield* Effect.sleep("200 millis")
      const after = yield* heapMiB
      console.log(`heap: ${before.toFixed(1)} MiB before, ${after.toFixed(1)} MiB after ${runs} streamed runs`)
      assert.isBelow(after - before, 50, "the heap grew by more than 50 MiB and did not come back")
      assert.deepStrictEqual(yield* client.runs.list(), [])
      const stats = yield* simulator.stats
      assert.strictEqual(stats.openConnections, 0)
    }), { timeout: 120_000 })
})
