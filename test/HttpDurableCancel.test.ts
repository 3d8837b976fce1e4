import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as HttpApp from "../layers/HttpApp.js"
import * as Fixture from "./fixtures/httpDurable.js"
import { clientOf, lines, tempFiles, until } from "./fixtures/httpDurable.js"

describe("HttpApp, a durable agent run cancelled mid model call", () => {
  it.scopedLive("the model call is interrupted before the cancel answers, the run is cancelled, and the call is never made again", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const context = yield* Layer.build(Fixture.layer(files))
      const client = yield* clientOf(Context.get(context, HttpApp.HttpApp).url)
      yield* client.durable.start({ payload: { agent: "Stuck", input: "hello", runId: "stuck-1" } })
      // The model call is in flight once it has counted its start.
      yield* until(client, "stuck-1", () => lines(files.counter).includes("Stuck model started"))
      const cancelled = yield* client.durable.cancel({ path: { runId: "stuck-1" } })
      assert.strictEqual(cancelled.status, "cancelled")
      // Its finalizer ran before the cancel answered: the call did not go on in the background.
      assert.deepStrictEqual(lines(files.counter), ["Stuck model started", "Stuck model interrupted"])
      // Released now, a call still running (or made again) would answer: the run stays cancelled.
      Fs.writeFileSync(files.release, "")
      const after = yield* client.durable.get({ path: { runId: "stuck-1" } })
      assert.strictEqual(after.status, "cancelled")
      assert.isUndefined(after.output)
    }), 60_000)
})
