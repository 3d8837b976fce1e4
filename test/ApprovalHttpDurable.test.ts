/**
 * `GET /approvals` on a server with a durable store: the durable runs' pauses are listed beside the
 * runs of the server's process, each saying where its decisions go, and a decision sent there
 * completes the durable run.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Approval from "../src/Approval.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"

const Transfer = Tool.make("transfer", { parameters: { amount: Schema.Number }, success: Schema.String })
const Bank = Toolkit.make(Transfer)

/** Transfers 500 (which waits for approval), then says what the tool gave. */
const teller = Agent.make({
  name: "Teller",
  retry: Retry.none,
  toolkit: Bank,
  approval: { transfer: true },
  model: TestModel.layer((request) => {
    const results = request.prompt.content.flatMap((message) =>
      message.role === "tool" ? message.content.map((part) => JSON.stringify(part.result)) : []
    )
    return results.length === 0
      ? TestModel.toolCall("transfer", { amount: 500 }, { id: "call-1" })
      : TestModel.text(`done: ${results.join(" | ")}`)
  })
})

const post = (url: string, body: unknown) =>
  Effect.promise(() =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(async (response) => ({ status: response.status, text: await response.text() }))
  )

describe("GET /approvals with a durable store", () => {
  it.scopedLive("lists the durable runs' pauses beside the process's, each with where its decisions go", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-approvals-durable-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const ran: Array<string> = []
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0, durable: { filename: Path.join(dir, "runs.db") } }).pipe(
          Layer.provide(Registry.layer([teller])),
          Layer.provide(Bank.toLayer({ transfer: ({ amount }) => Effect.sync(() => (ran.push(`transfer ${amount}`), `sent ${amount}`)) })),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const client = yield* HttpApi.client(url).pipe(Effect.provide(FetchHttpClient.layer))

      // One run paused in the process, one durable run paused on the store.
      const paused = yield* post(`${url}/agents/Teller/runs`, { input: "pay", runId: "local" })
      assert.strictEqual(paused.status, 202)
      yield* client.durable.start({ payload: { agent: "Teller", input: "pay", runId: "kept" } })
      const listed = yield* Effect.gen(function*() {
        for (;;) {
          const all = yield* client.approvals.list()
          if (all.length === 2) return all
          yield* Effect.sleep("20 millis")
        }
      }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the durable run never paused") }))
      assert.deepStrictEqual(
        listed.map((run) => [run.runId, run.agent, run.durable, run.decideAt, run.pending.map((r) => [r.toolCallId, r.arguments])]),
        [
          ["local", "Teller", false, "/runs/local/resume", [["call-1", { amount: 500 }]]],
          ["kept", "Teller", true, "/durable/runs/kept/decisions", [["call-1", { amount: 500 }]]]
        ]
      )

      // The process's resume endpoint does not take a durable run's decisions, and says where they go.
      const wrong = yield* post(`${url}/runs/kept/resume`, { decisions: [{ _tag: "Approve", toolCallId: "call-1" }] })
      assert.strictEqual(wrong.status, 404)
      assert.include(JSON.parse(wrong.text).message, "/durable/runs/kept/decisions")

      // Decided where the list says: the durable run completes and leaves the list.
      const durable = listed[1]!
      const sent = yield* post(`${url}${durable.decideAt}`, {
        decisions: [Schema.encodeSync(Approval.Decision)(Approval.approve(durable.pending[0]!))]
      })
      assert.strictEqual(sent.status, 202, sent.text)
      const done = yield* Effect.gen(function*() {
        for (;;) {
          const run = yield* client.durable.get({ path: { runId: "kept" } })
          if (run.status === "completed" || run.status === "failed") return run
          yield* Effect.sleep("20 millis")
        }
      }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the durable run never ended") }))
      assert.strictEqual(done.output?.content, `done: "sent 500"`)
      assert.deepStrictEqual(ran, ["transfer 500"])
      assert.deepStrictEqual((yield* client.approvals.list()).map((run) => run.runId), ["local"])
    }), 60_000)
})
