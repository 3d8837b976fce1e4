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
import type * as RunEvent from "../src/RunEvent.js"
import * as Team from "../src/Team.js"
import * as Workflow from "../src/Workflow.js"

const Lookup = Tool.make("lookup", { parameters: { name: Schema.String }, success: Schema.String })
const Transfer = Tool.make("transfer", { parameters: { amount: Schema.Number }, success: Schema.String })
const Bank = Toolkit.make(Lookup, Transfer)

const bankTools = (ran: Array<string>) =>
  Bank.toLayer({
    lookup: ({ name }) => Effect.sync(() => (ran.push(`lookup ${name}`), `${name}: 40`)),
    transfer: ({ amount }) => Effect.sync(() => (ran.push(`transfer ${amount}`), `sent ${amount}`))
  })

/**
 * A routing team whose leader sends every message to its one member, the teller: the teller's first
 * turn looks Ada up and transfers 500 (which waits for approval), its second says what the tools
 * gave. Each model call is recorded (`leader`, `teller 1`, `teller 2`).
 */
const deskOf = (calls: Array<string>) => {
  const teller = Agent.make({
    name: "Teller",
    retry: Retry.none,
    toolkit: Bank,
    approval: { transfer: true },
    model: TestModel.layer((request) => {
      const results = request.prompt.content.flatMap((message) =>
        message.role === "tool" ? message.content.map((part) => JSON.stringify(part.result)) : []
      )
      calls.push(results.length === 0 ? "teller 1" : "teller 2")
      return results.length === 0
        ? TestModel.toolCalls([
          { name: "lookup", params: { name: "Ada" }, id: "call-1" },
          { name: "transfer", params: { amount: 500 }, id: "call-2" }
        ])
        : TestModel.text(`done: ${results.join(" | ")}`)
    })
  })
  return Team.make({
    name: "Desk",
    mode: "route",
    members: [teller],
    retry: Retry.none,
    model: TestModel.layer(() => (calls.push("leader"), TestModel.text(`{"member":"Teller"}`)))
  })
}

/** An event and every event nested in it (a step's, a member's), in order. */
const nested = (event: RunEvent.RunEvent): ReadonlyArray<RunEvent.RunEvent> =>
  "event" in event && typeof event.event === "object" ? [event, ...nested(event.event as RunEvent.RunEvent)] : [event]

const approvalsRequested = (events: ReadonlyArray<RunEvent.RunEvent>) =>
  events.flatMap(nested).filter((event) => event._tag === "ApprovalRequested").map((event) => (event as { readonly toolCallId: string }).toolCallId)

/** Waits until the run waits for decisions. */
const pendingOf = (durable: Durable.DurableWorkflow<string, any, any, any>, runId: string) =>
  Effect.gen(function*() {
    for (;;) {
      const found = yield* durable.pending(runId)
      if (Option.isSome(found)) return found.value
      yield* Effect.sleep("10 millis")
    }
  }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`run ${runId} never waited for decisions`) }))

describe("Durable pauses of a team step, on the in-memory engine", () => {
  it.live("a routed member's call that needs approval: the run waits with it, approved it completes, the tool run once", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const calls: Array<string> = []
      const events: Array<RunEvent.RunEvent> = []
      const durable = Durable.make(
        Workflow.make({ name: "Payout", input: Schema.String, steps: Workflow.agent(deskOf(calls)) })
      )
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          durable.run("pay Ada", { runId: "t1", onEvent: (event) => Effect.sync(() => void events.push(event)) })
        )
        const waiting = yield* pendingOf(durable, "t1")
        // The member's call waits, named by its path in the team's run.
        assert.deepStrictEqual(waiting.pending.map((r) => [r.toolCallId, r.tool, r.arguments, r.path]), [
          ["call-2", "transfer", { amount: 500 }, ["Desk", "Teller"]]
        ])
        assert.deepStrictEqual(ran, ["lookup Ada"])
        assert.deepStrictEqual(calls, ["leader", "teller 1"])
        // Told live, as in process; the pause is not the run's end.
        assert.deepStrictEqual(approvalsRequested(events), ["call-2"])
        assert.isFalse(events.some((event) => event._tag === "RunPaused" || event._tag === "RunFailed"))
        assert.isNull(fiber.unsafePoll())

        // A decision that names the call without the team (the member's own path) names no pending call.
        const unknown = yield* Effect.flip(durable.decide("t1", [Approval.approve({ toolCallId: "call-2", path: ["Teller"] })]))
        assert.strictEqual(unknown.reason, "UnknownCall")
        assert.include(unknown.message, "Desk/Teller/call-2")

        yield* durable.decide("t1", [Approval.approve(waiting.pending[0]!)])
        const output = yield* Fiber.join(fiber)
        assert.strictEqual(output.content, `done: "Ada: 40" | "sent 500"`)
        // Each tool ran once, and the replay that took the decision made no settled model call again.
        assert.deepStrictEqual(ran, ["lookup Ada", "transfer 500"])
        assert.deepStrictEqual(calls, ["leader", "teller 1", "teller 2"])
        assert.deepStrictEqual(yield* durable.pending("t1"), Option.none())
        assert.strictEqual(events.at(-1)?._tag, "RunCompleted")
        // The replay that took the decision asked for approval again: told once.
        assert.deepStrictEqual(approvalsRequested(events), ["call-2"])
        const decided = yield* Effect.flip(durable.decide("t1", [Approval.approve(waiting.pending[0]!)]))
        assert.strictEqual(decided.reason, "Stale")
      }).pipe(Effect.provide(durable.layer), Effect.provide(bankTools(ran)), Effect.provide(Durable.layerMemory))
    }))
})
