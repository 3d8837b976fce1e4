import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Guardrail from "../src/Guardrail.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"

/** An SSE body's events, in order: each `event:` name with its `data:` parsed. */
const sseEvents = (body: string) =>
  body.split("\n\n").flatMap((block) => {
    const lines = block.split("\n")
    const name = lines.find((line) => line.startsWith("event: "))?.slice(7)
    const data = lines.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n")
    return name === undefined ? [] : [{ name, data: JSON.parse(data) as Record<string, unknown> }]
  })

describe("Guardrails over HTTP", () => {
  it.scopedLive("an output guardrail tripping mid-stream: the SSE client gets the text before the trip, then the failure, and nothing after; the session records the run blocked", () => {
    const chunks = ["Hello. ", "The secret ", "is 42. ", "More ", "text."]
    let pulled = 0
    return Effect.gen(function*() {
      const agent = Agent.make({
        name: "Guarded",
        retry: Retry.none,
        guardrails: [Guardrail.forbidPattern(/secret/i, { streaming: true })]
      })
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([agent])),
          Layer.provide(TestModel.layer(() => {
            pulled++
            return TestModel.text(chunks.join(""), { chunks, chunkDelay: "20 millis" })
          })),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const response = yield* Effect.promise(() =>
        fetch(`${url}/agents/Guarded/runs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: "Tell me", runId: "g1", stream: true, userId: "u", sessionId: "s" })
        }).then(async (r) => ({ status: r.status, text: await r.text() }))
      )
      assert.strictEqual(response.status, 200)
      const events = sseEvents(response.text)
      // The exact events: the text before the trip, then the failure, which is the stream's last event.
      assert.deepStrictEqual(events.map((event) => event.name), [
        "RunStarted",
        "ModelRequestStarted",
        "TextDelta",
        "RunFailed"
      ])
      assert.deepStrictEqual(events[2]!.data, { _tag: "TextDelta", runId: "g1", delta: "Hello. " })
      const error = events[3]!.data.error as { readonly _tag: string; readonly guardrail: string; readonly stage: string }
      assert.deepStrictEqual([error._tag, error.guardrail, error.stage], ["GuardrailTripped", "forbid-pattern", "output"])
      // The chunk that tripped it never reached the client (the failure names the pattern, not the text).
      assert.notInclude(response.text, "The secret")
      assert.strictEqual(pulled, 1)

      // The session records the run as blocked: failed, with the guardrail's error.
      const runs = yield* Effect.promise(() =>
        fetch(`${url}/users/u/sessions/s/runs`).then((r) => r.json() as Promise<ReadonlyArray<Record<string, unknown>>>)
      )
      assert.strictEqual(runs.length, 1)
      assert.strictEqual(runs[0]!.status, "failed")
      assert.strictEqual((runs[0]!.error as { readonly _tag: string })._tag, "GuardrailTripped")
    })
  })
})
