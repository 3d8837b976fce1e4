import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Retry from "../src/Retry.js"
import type * as RunEvent from "../src/RunEvent.js"
import * as Team from "../src/Team.js"

const Transfer = Tool.make("transfer", {
  parameters: { to: Schema.String, amount: Schema.Number },
  success: Schema.String
})
const Bank = Toolkit.make(Transfer)

const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })
const payroll = Agent.make({ name: "Payroll", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })
const clerk = Agent.make({ name: "Clerk", retry: Retry.none })

// One member at a time, so the scripted replies go to the members in their order.
const desk = Team.make({
  name: "Desk",
  mode: "broadcast",
  members: [teller, payroll, clerk],
  memberConcurrency: 1,
  retry: Retry.none
})

const live = (ledger: Array<string>) =>
  Layer.mergeAll(
    TestModel.layer([
      TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
      TestModel.toolCall("transfer", { to: "Bob", amount: 20 }, { id: "b" }),
      TestModel.text("Hi."),
      // Resumed: Payroll's answer first (decided first), then the Teller's, then the leader's.
      TestModel.text("Paid Bob."),
      TestModel.text("Paid Ada."),
      TestModel.text("Ada and Bob were paid, and the clerk said hi.")
    ]),
    Bank.toLayer({ transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`${to}:${amount}`), `sent ${amount}`)) })
  )

const lastUserText = (request: TestModel.Request): string => {
  const message = request.prompt.content[request.prompt.content.length - 1]!
  return message.role === "user" ? message.content.map((part) => (part.type === "text" ? part.text : "")).join("") : ""
}

describe("Approval in a broadcast team", () => {
  it.effect("members that ask pause the team; decided one by one, each call runs once and the leader reads every answer", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const events: Array<RunEvent.RunEvent> = []
      const first = (yield* Team.stream(desk, "Pay Ada and Bob").pipe(
        Stream.runForEach((event) => Effect.sync(() => events.push(event))),
        Effect.flip
      )) as RunPaused
      assert.strictEqual(first._tag, "RunPaused")
      // Both requests surface at the top, under their members' names; the clerk answered.
      assert.deepStrictEqual(first.pending.map((r) => [r.path, r.toolCallId]), [[["Teller"], "a"], [["Payroll"], "b"]])
      assert.notInclude(events.map((event) => event._tag), "MemberRunFailed")
      assert.strictEqual(events[events.length - 1]!._tag, "RunPaused")
      assert.deepStrictEqual(ledger, [])
      // The leader was not asked while members wait.
      assert.strictEqual((yield* TestModel.requests).length, 3)

      // A decision for a call that is not under a waiting member is refused.
      const misrouted = yield* Effect.flip(Team.resume(desk, first.state, [Approval.approve("a")]))
      assert.deepStrictEqual([misrouted._tag, (misrouted as any).reason], ["ApprovalError", "UnknownCall"])

      // Payroll's decision only: the team pauses again, with the Teller's request still waiting.
      const second = (yield* Effect.flip(Team.resume(desk, first.state, [Approval.approve(first.pending[1]!)]))) as RunPaused
      assert.strictEqual(second._tag, "RunPaused")
      assert.deepStrictEqual(second.pending.map((r) => [r.path, r.toolCallId]), [[["Teller"], "a"]])
      assert.deepStrictEqual(ledger, ["Bob:20"])

      const stale = yield* Effect.flip(Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)]))
      assert.deepStrictEqual([stale._tag, (stale as any).reason], ["ApprovalError", "Stale"])

      const after: Array<RunEvent.RunEvent> = []
      const output = yield* Team.resume(desk, second.state, [Approval.approve(second.pending[0]!)], {
        onEvent: (event) => Effect.sync(() => after.push(event))
      })
      assert.strictEqual(output.text, "Ada and Bob were paid, and the clerk said hi.")
      assert.deepStrictEqual(ledger, ["Bob:20", "Ada:10"])
      assert.strictEqual(after[after.length - 1]!._tag, "RunCompleted")
      // Every member's run, once, completed; the leader read the answers in the members' order.
      assert.deepStrictEqual(
        output.memberRuns.map((run) => [run._tag, run.member]).sort(),
        [["Completed", "Clerk"], ["Completed", "Payroll"], ["Completed", "Teller"]]
      )
      const requests = yield* TestModel.requests
      assert.strictEqual(requests.length, 6)
      const leaderInput = lastUserText(requests[5]!)
      assert.include(leaderInput, "Pay Ada and Bob")
      assert.notInclude(leaderInput, "could not answer")
      assert.isTrue(
        leaderInput.indexOf("### Teller\nPaid Ada.") < leaderInput.indexOf("### Payroll\nPaid Bob.") &&
          leaderInput.indexOf("### Payroll\nPaid Bob.") < leaderInput.indexOf("### Clerk\nHi."),
        leaderInput
      )
      assert.strictEqual(output.metrics.modelCalls, 6)
    }).pipe(Effect.provide(live(ledger)))
  })

  it.effect("a rejected member call is fed back to that member, and the team goes on", () => {
    const ledger: Array<string> = []
    const pair = Team.make({ name: "Pair", mode: "broadcast", members: [teller, clerk], memberConcurrency: 1, retry: Retry.none })
    return Effect.gen(function*() {
      const pause = (yield* Effect.flip(Team.run(pair, "Pay Ada"))) as RunPaused
      assert.strictEqual(pause._tag, "RunPaused")
      const output = yield* Team.resume(pair, pause.state, [Approval.reject(pause.pending[0]!, "not today")])
      assert.strictEqual(output.text, "Done.")
      assert.deepStrictEqual(ledger, [])
      const requests = yield* TestModel.requests
      const toolResult = requests[2]!.prompt.content.flatMap((message) =>
        message.role === "tool" ? message.content.map((part) => JSON.stringify(part.result)) : []
      )
      assert.include(toolResult.join(""), "not today")
    }).pipe(Effect.provide(Layer.mergeAll(
      TestModel.layer([
        TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
        TestModel.text("Hi."),
        TestModel.text("I could not pay Ada."),
        TestModel.text("Done.")
      ]),
      Bank.toLayer({ transfer: ({ to }) => Effect.sync(() => (ledger.push(to), "sent")) })
    )))
  })
})
