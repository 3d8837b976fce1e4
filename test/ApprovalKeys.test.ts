import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { ApprovalError, RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Retry from "../src/Retry.js"

const Transfer = Tool.make("transfer", {
  parameters: { to: Schema.String, amount: Schema.Number },
  success: Schema.String
})
const Bank = Toolkit.make(Transfer)

const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })

const asks = TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" })
const sent = TestModel.text("Sent.")

const live = (ledger: Array<string>, script: TestModel.Script) =>
  Layer.mergeAll(
    TestModel.layer(script),
    Bank.toLayer({ transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`${to}:${amount}`), "sent")) })
  )

const paused = Effect.flatMap(
  Effect.flip(Agent.run(teller, "Pay Ada")),
  (error) => error._tag === "RunPaused" ? Effect.succeed(error as RunPaused) : Effect.dieMessage(`failed: ${error._tag}`)
)

const secret = Redacted.make("the keys of these tests")

describe("Approval.Keys", () => {
  it.effect("a pause older than the ttl is refused, and nothing runs; within it, it resumes", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const old = yield* paused
      yield* TestClock.adjust("61 minutes")
      assert.strictEqual(yield* Approval.check(old.state), "Expired")
      const refused = yield* Effect.flip(Agent.resume(teller, old.state, [Approval.approve("a")]))
      assert.strictEqual(refused._tag, "ApprovalError")
      // Too old, not forged: the message says so.
      assert.strictEqual((refused as ApprovalError).reason, "Stale")
      assert.include(refused.message, "too old")
      assert.deepStrictEqual(ledger, [])

      const fresh = yield* paused
      yield* TestClock.adjust("59 minutes")
      assert.strictEqual(yield* Approval.check(fresh.state), "Valid")
      const output = yield* Agent.resume(teller, fresh.state, [Approval.approve("a")])
      assert.strictEqual(output.text, "Sent.")
      assert.deepStrictEqual(ledger, ["Ada:10"])
    }).pipe(Effect.provide(Layer.merge(live(ledger, [asks, asks, sent]), Approval.layerKeys({ secret, ttl: "1 hour" }))))
  })

  it.effect("a spent pause is forgotten after the ttl: the record does not grow", () =>
    Effect.gen(function*() {
      const keys = Approval.makeKeys(secret, { ttl: "1 hour" })
      assert.isTrue(yield* keys.spend("a"))
      assert.isFalse(yield* keys.spend("a"))
      yield* TestClock.adjust("30 minutes")
      assert.isFalse(yield* keys.spend("a"))
      yield* TestClock.adjust("31 minutes")
      // Forgotten: its state, paused over an hour ago, is refused by `admits` instead.
      assert.isTrue(yield* keys.spend("a"))
      assert.isFalse(yield* keys.admits!(0))
      assert.isTrue(yield* keys.admits!(30 * 60_000))
    }))

  it.effect("past its capacity the record forgets the oldest pause, and refuses every state paused before it was spent", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused
      yield* TestClock.adjust("1 second")
      yield* Agent.resume(teller, first.state, [Approval.approve("a")])
      yield* TestClock.adjust("1 second")
      const waiting = yield* paused
      const keys = yield* Approval.Keys
      // Two more pauses are resumed: the first one's is forgotten.
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* keys.spend("x"))
      yield* TestClock.adjust("1 second")
      assert.isTrue(yield* keys.spend("y"))
      // The first state, resumed already, does not resume a second time although its pause was forgotten.
      const again = yield* Effect.flip(Agent.resume(teller, first.state, [Approval.approve("a")]))
      assert.strictEqual(again._tag, "ApprovalError")
      assert.strictEqual(yield* Approval.check(first.state), "Expired")
      // Paused after the forgotten pause was spent: it still resumes.
      assert.strictEqual(yield* Approval.check(waiting.state), "Valid")
      yield* Agent.resume(teller, waiting.state, [Approval.approve("a")])
      assert.deepStrictEqual(ledger, ["Ada:10", "Ada:10"])
    }).pipe(Effect.provide(Layer.merge(live(ledger, [asks, sent, asks, sent]), Approval.layerKeys({ secret, capacity: 2 }))))
  })

  it.effect("a state's pause time is signed: changing it is a forgery", () =>
    Effect.gen(function*() {
      const state = yield* Approval.sign({
        _tag: "Agent",
        agent: "Teller",
        runId: "r",
        token: "t",
        turn: 1,
        messages: [],
        toolCalls: [],
        calls: [],
        settled: [],
        pending: [],
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        retries: 0,
        repairs: 0,
        elapsed: 0
      })
      assert.strictEqual(yield* Approval.check(state), "Valid")
      assert.strictEqual(yield* Approval.check({ ...state, pausedAt: state.pausedAt! + 1 }), "Forged")
      const { pausedAt: _, ...withoutTime } = state
      assert.strictEqual(yield* Approval.check(withoutTime), "Forged")
    }).pipe(Effect.provide(Approval.layerKeys({ secret }))))
})
