import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Durable from "../layers/Durable.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Approval from "../src/Approval.js"
import * as Retry from "../src/Retry.js"
import * as Team from "../src/Team.js"
import * as Workflow from "../src/Workflow.js"

const Transfer = Tool.make("transfer", { parameters: { amount: Schema.Number }, success: Schema.String })
const Bank = Toolkit.make(Transfer)

const hasToolResult = (request: { readonly prompt: { readonly content: ReadonlyArray<{ readonly role: string }> } }) =>
  request.prompt.content.some((message) => message.role === "tool")

/** A coordinating team whose leader delegates the payment to its teller, whose transfer waits for approval. */
const desk = Team.make({
  name: "Desk",
  members: [
    Agent.make({
      name: "Teller",
      retry: Retry.none,
      toolkit: Bank,
      approval: { transfer: true },
      model: TestModel.layer((request) =>
        hasToolResult(request)
          ? TestModel.text("Paid.")
          : TestModel.toolCall("transfer", { amount: 500 }, { id: "call-1" })
      )
    })
  ],
  retry: Retry.none,
  model: TestModel.layer((request) =>
    hasToolResult(request)
      ? TestModel.text("Ada is paid.")
      : TestModel.toolCall("delegate_task_to_member", { member: "Teller", task: "Pay Ada 500" }, { id: "d1" })
  )
})

/** Waits until the run waits for decisions (and, with `refused`, until it refused some). */
const pendingOf = (durable: Durable.DurableWorkflow<string, any, any, any>, runId: string, refused = false) =>
  Effect.gen(function*() {
    for (;;) {
      const found = yield* durable.pending(runId)
      if (Option.isSome(found) && (!refused || found.value.refused !== undefined)) return found.value
      yield* Effect.sleep("10 millis")
    }
  }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`run ${runId} never waited as expected`) }))

describe("Durable pauses of a coordinating team step", () => {
  it.live("an invalid edit for the member behind a delegation is refused, and a corrected one resumes the same pause", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const durable = Durable.make(Workflow.make({ name: "Payout", input: Schema.String, steps: Workflow.agent(desk) }))
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(durable.run("pay Ada", { runId: "c1" }))
        const waiting = yield* pendingOf(durable, "c1")
        assert.deepStrictEqual(waiting.pending.map((r) => [r.toolCallId, r.path]), [["call-1", ["Desk", "Teller"]]])
        yield* durable.decide("c1", [Approval.approve(waiting.pending[0]!, { arguments: { amount: "lots" } })])
        const refused = yield* pendingOf(durable, "c1", true)
        assert.include(refused.refused!, "do not match its parameters")
        assert.deepStrictEqual(ran, [])
        yield* durable.decide("c1", [Approval.approve(refused.pending[0]!, { arguments: { amount: 300 } })])
        const output = yield* Fiber.join(fiber)
        assert.strictEqual(output.content, "Ada is paid.")
        assert.deepStrictEqual(ran, ["transfer 300"])
      }).pipe(
        Effect.provide(durable.layer),
        Effect.provide(Bank.toLayer({ transfer: ({ amount }) => Effect.sync(() => (ran.push(`transfer ${amount}`), `sent ${amount}`)) })),
        Effect.provide(Durable.layerMemory)
      )
    }))
})
