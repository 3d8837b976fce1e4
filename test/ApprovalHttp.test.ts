import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Approval from "../src/Approval.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"

const Transfer = Tool.make("transfer", {
  parameters: { to: Schema.String, amount: Schema.Number },
  success: Schema.String
})
const Bank = Toolkit.make(Transfer)

const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })

/** The `event:` names of an SSE body, in order. */
const eventNames = (body: string) => body.split("\n").flatMap((line) => (line.startsWith("event: ") ? [line.slice(7)] : []))

const post = (url: string, body: unknown) =>
  Effect.promise(() =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(async (response) => ({ status: response.status, text: await response.text() }))
  )

describe("Approvals over HTTP", () => {
  it.scoped("a paused run whose state is older than the keys' ttl is dropped from the list; its resume says it is too old", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([teller])),
          Layer.provide(Bank.toLayer({ transfer: ({ amount, to }) => Effect.succeed(`sent ${amount} to ${to}`) })),
          Layer.provide(TestModel.layer([TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" })])),
          Layer.provide(SessionStoreMemory.layer),
          Layer.provide(Approval.layerKeys({ secret: Redacted.make("s".repeat(32)), ttl: "1 hour" }))
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const paused = yield* post(`${url}/agents/Teller/runs`, { input: "Pay Ada", runId: "old" })
      assert.strictEqual(paused.status, 202)
      const listed = () => Effect.promise(() => fetch(`${url}/approvals`).then((response) => response.json()))
      assert.deepStrictEqual(((yield* listed()) as ReadonlyArray<{ runId: string }>).map((run) => run.runId), ["old"])
      yield* TestClock.adjust("61 minutes")
      const resumed = yield* post(`${url}/runs/old/resume`, { decisions: [{ _tag: "Approve", toolCallId: "a" }] })
      assert.include(resumed.text, "too old")
      assert.deepStrictEqual(yield* listed(), [])
    }))

  it.scopedLive("a paused run's stream ends with the pause; it is listed, decided, and the resumed run streams again", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([teller])),
          Layer.provide(Bank.toLayer({
            transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`${to}:${amount}`), `sent ${amount} to ${to}`))
          })),
          Layer.provide(TestModel.layer([
            TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
            TestModel.text("Sent."),
            TestModel.toolCall("transfer", { to: "Bob", amount: 20 }, { id: "b" }),
            TestModel.text("Sent to Bob.")
          ])),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const client = yield* HttpApi.client(url).pipe(Effect.provide(FetchHttpClient.layer))

      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(client.stream("Teller", { input: "Pay Ada", runId: "r1" })))
      assert.deepStrictEqual(events.map((event) => event._tag), [
        "RunStarted",
        "ModelRequestStarted",
        "ModelRequestCompleted",
        "ApprovalRequested",
        "RunPaused"
      ])
      assert.deepStrictEqual(ledger, [])

      const listed = yield* client.approvals.list()
      assert.deepStrictEqual(listed.map((run) => [run.runId, run.agent, run.pending.map((r) => r.toolCallId)]), [
        ["r1", "Teller", ["a"]]
      ])

      // An invalid edit is refused with a typed error, and the run still waits.
      const refused = yield* post(`${url}/runs/r1/resume`, {
        decisions: [{ _tag: "Approve", toolCallId: "a", arguments: { to: "Ada", amount: "ten" } }]
      })
      assert.strictEqual(refused.status, 400)
      const refusal = JSON.parse(refused.text) as { readonly _tag: string; readonly reason: string; readonly toolCallId?: string }
      assert.deepStrictEqual([refusal._tag, refusal.reason, refusal.toolCallId], ["DecisionsRefused", "InvalidArguments", "a"])
      assert.strictEqual((yield* client.approvals.list()).length, 1)

      // Asked as a stream, plain or detached, a refused resume is the same 400, before any event.
      for (
        const [decision, reason] of [
          [{ _tag: "Approve", toolCallId: "a", arguments: { to: "Ada", amount: "ten" } }, "InvalidArguments"],
          [{ _tag: "Approve", toolCallId: "nope" }, "UnknownCall"]
        ] as const
      ) {
        for (const detach of [false, true]) {
          const streamed = yield* post(`${url}/runs/r1/resume`, { decisions: [decision], stream: true, detach })
          assert.strictEqual(streamed.status, 400, streamed.text)
          assert.notInclude(streamed.text, "event:")
          const body = JSON.parse(streamed.text)
          assert.deepStrictEqual([body._tag, body.reason, body.runId], ["DecisionsRefused", reason, "r1"])
          assert.include(body.message, "still waits")
        }
      }
      assert.deepStrictEqual(ledger, [])
      assert.deepStrictEqual((yield* client.approvals.list()).map((run) => [run.runId, run.durable, run.decideAt]), [
        ["r1", false, "/runs/r1/resume"]
      ])

      const resumed = yield* post(`${url}/runs/r1/resume`, {
        decisions: [Schema.encodeSync(Approval.Decision)(Approval.approve("a"))],
        stream: true
      })
      assert.strictEqual(resumed.status, 200)
      assert.deepStrictEqual(eventNames(resumed.text), [
        "ToolCallStarted",
        "ToolCallCompleted",
        "ModelRequestStarted",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.deepStrictEqual(ledger, ["Ada:10"])
      assert.deepStrictEqual(yield* client.approvals.list(), [])
      const again = yield* post(`${url}/runs/r1/resume`, { decisions: [{ _tag: "Approve", toolCallId: "a" }] })
      assert.strictEqual(again.status, 404)

      // As JSON: the paused run answers 202 with what it waits for; the decision answers with the output.
      const paused = yield* Effect.flip(client.runs.run({ path: { name: "Teller" }, payload: { input: "Pay Bob", runId: "r2" } }))
      assert.strictEqual(paused._tag, "Paused")
      assert.deepStrictEqual(
        paused._tag === "Paused" && paused.pending.map((r) => [r.toolCallId, r.tool, r.arguments]),
        [["b", "transfer", { to: "Bob", amount: 20 }]]
      )
      assert.strictEqual(paused._tag === "Paused" && paused.state.body.runId, "r2")
      const output = yield* client.approvals.resume({
        path: { runId: "r2" },
        payload: { decisions: [Approval.reject("b", "not today")] }
      })
      assert.strictEqual(output.text, "Sent to Bob.")
      assert.deepStrictEqual(ledger, ["Ada:10"])
      assert.deepStrictEqual(output.toolCalls.map((call) => call.failure), ["Rejected"])
    })
  })
  it.scopedLive("a JSON pause is 202 Paused, a second round too; a detached resume is kept for a reload", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([teller])),
          Layer.provide(Bank.toLayer({
            transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`${to}:${amount}`), `sent ${amount} to ${to}`))
          })),
          Layer.provide(TestModel.layer([
            TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
            TestModel.toolCall("transfer", { to: "Bob", amount: 20 }, { id: "b" }),
            TestModel.text("Paid both.")
          ])),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const first = yield* post(`${url}/agents/Teller/runs`, { input: "Pay Ada and Bob", runId: "r3" })
      assert.strictEqual(first.status, 202)
      const body = JSON.parse(first.text)
      assert.strictEqual(body._tag, "Paused")
      assert.deepStrictEqual(body.pending.map((r: Approval.Request) => r.toolCallId), ["a"])
      assert.include(body.message, "POST /runs/r3/resume")

      // The second round of approvals: the resumed run pauses again, 202 again.
      const second = yield* post(`${url}/runs/r3/resume`, { decisions: [{ _tag: "Approve", toolCallId: "a" }] })
      assert.strictEqual(second.status, 202)
      assert.deepStrictEqual(JSON.parse(second.text).pending.map((r: Approval.Request) => r.toolCallId), ["b"])
      assert.deepStrictEqual(ledger, ["Ada:10"])

      const resumed = yield* post(`${url}/runs/r3/resume`, {
        decisions: [{ _tag: "Approve", toolCallId: "b" }],
        stream: true,
        detach: true
      })
      assert.strictEqual(resumed.status, 200)
      const names = eventNames(resumed.text)
      assert.strictEqual(names[names.length - 1], "RunCompleted")
      // Detached: numbered events, and the log is there for a client that reloads.
      assert.include(resumed.text, "id: 1\n")
      const reloaded = yield* Effect.promise(() => fetch(`${url}/runs/r3/events`).then((response) => response.text()))
      assert.deepStrictEqual(eventNames(reloaded), names)
      assert.deepStrictEqual(ledger, ["Ada:10", "Bob:20"])
    })
  })
  it.scopedLive("a refused detached resume leaves the run's detached log readable from its start; a good one streams on", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([teller])),
          Layer.provide(Bank.toLayer({ transfer: ({ amount, to }) => Effect.succeed(`sent ${amount} to ${to}`) })),
          Layer.provide(TestModel.layer([
            TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
            TestModel.text("Sent.")
          ])),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const events = () => Effect.promise(() => fetch(`${url}/runs/r4/events`).then((response) => response.text()))
      const paused = yield* post(`${url}/agents/Teller/runs`, { input: "Pay Ada", runId: "r4", stream: true, detach: true })
      assert.strictEqual(paused.status, 200)
      const pausedNames = ["RunStarted", "ModelRequestStarted", "ModelRequestCompleted", "ApprovalRequested", "RunPaused"]
      assert.deepStrictEqual(eventNames(paused.text), pausedNames)

      const refused = yield* post(`${url}/runs/r4/resume`, {
        decisions: [{ _tag: "Approve", toolCallId: "nope" }],
        stream: true,
        detach: true
      })
      assert.strictEqual(refused.status, 400, refused.text)
      assert.strictEqual(JSON.parse(refused.text).reason, "UnknownCall")
      // The run's earlier log, from its first event, as it was.
      const kept = yield* events()
      assert.deepStrictEqual(eventNames(kept), pausedNames)
      assert.include(kept, "id: 1\n")

      const resumed = yield* post(`${url}/runs/r4/resume`, {
        decisions: [{ _tag: "Approve", toolCallId: "a" }],
        stream: true,
        detach: true
      })
      assert.strictEqual(resumed.status, 200)
      const names = eventNames(resumed.text)
      assert.deepStrictEqual(names, [
        "ToolCallStarted",
        "ToolCallCompleted",
        "ModelRequestStarted",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      // The admitted resume's log replaces the pause's.
      assert.deepStrictEqual(eventNames(yield* events()), names)
    }))
})
