import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Retry from "../src/Retry.js"
import * as Team from "../src/Team.js"
import type * as RunEvent from "../src/RunEvent.js"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

const Transfer = Tool.make("transfer", {
  parameters: { to: Schema.String, amount: Schema.Number },
  success: Schema.String
})
const Balance = Tool.make("balance", { parameters: {}, success: Schema.Number })
const Bank = Toolkit.make(Transfer, Balance)

/** Every tool execution, in order: what the tests count. */
class Ledger extends Context.Tag("test/Ledger")<Ledger, Array<string>>() {}

const BankLive = Bank.toLayer(Effect.gen(function*() {
  const ledger = yield* Ledger
  return {
    transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`transfer:${to}:${amount}`), `sent ${amount} to ${to}`)),
    balance: () => Effect.sync(() => (ledger.push("balance"), 1000))
  }
}))

const teller = Agent.make({
  name: "Teller",
  toolkit: Bank,
  retry: Retry.none,
  approval: { transfer: true }
})

const layer = (script: TestModel.Script) => {
  const ledger: Array<string> = []
  return {
    ledger,
    layer: Layer.mergeAll(
      TestModel.layer(script),
      BankLive.pipe(Layer.provide(Layer.succeed(Ledger, ledger))),
      Layer.succeed(Ledger, ledger)
    )
  }
}

const paused = <A, R>(effect: Effect.Effect<A, { readonly _tag: string }, R>): Effect.Effect<RunPaused, string, R> =>
  Effect.flip(effect).pipe(
    Effect.mapError(() => "the run finished instead of pausing"),
    Effect.flatMap((error) =>
      error._tag === "RunPaused" ? Effect.succeed(error as RunPaused) : Effect.fail(`the run failed with ${error._tag}`)
    )
  )

const twoTransfers = [
  TestModel.toolCalls([
    { id: "a", name: "transfer", params: { to: "Ada", amount: 10 } },
    { id: "b", name: "transfer", params: { to: "Bob", amount: 20 } },
    { id: "c", name: "balance", params: {} }
  ]),
  TestModel.text("Done.")
]

const resultsSent = (requests: ReadonlyArray<TestModel.Request>, index: number) =>
  requests[index]!.prompt.content.flatMap((message) =>
    message.role === "tool" ? message.content.map((part) => [part.id, part.result] as const) : []
  )

// -----------------------------------------------------------------------------
// Agents
// -----------------------------------------------------------------------------

describe("Approval", () => {
  it.effect("two calls of one turn wait, the third runs; decided in the opposite order, each runs once", () => {
    const { layer: live, ledger } = layer(twoTransfers)
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada and Bob"))
      assert.deepStrictEqual(first.pending.map((r) => [r.toolCallId, r.tool, r.arguments]), [
        ["a", "transfer", { to: "Ada", amount: 10 }],
        ["b", "transfer", { to: "Bob", amount: 20 }]
      ])
      // The call that needs no approval ran while the others wait; the model was not called again.
      assert.deepStrictEqual(ledger, ["balance"])
      assert.strictEqual((yield* TestModel.requests).length, 1)

      // Bob's first: the run pauses again, with Ada's still waiting.
      const second = yield* paused(Agent.resume(teller, first.state, [Approval.approve(first.pending[1]!)]))
      assert.deepStrictEqual(second.pending.map((r) => r.toolCallId), ["a"])
      assert.deepStrictEqual(ledger, ["balance", "transfer:Bob:20"])
      assert.strictEqual((yield* TestModel.requests).length, 1)

      const output = yield* Agent.resume(teller, second.state, [Approval.approve("a")])
      assert.strictEqual(output.content, "Done.")
      assert.deepStrictEqual(ledger, ["balance", "transfer:Bob:20", "transfer:Ada:10"])
      // The model gets the results in the order of its calls, as if the run had never paused.
      const requests = yield* TestModel.requests
      assert.strictEqual(requests.length, 2)
      assert.deepStrictEqual(resultsSent(requests, 1), [["a", "sent 10 to Ada"], ["b", "sent 20 to Bob"], ["c", 1000]])
      assert.deepStrictEqual(output.toolCalls.map((call) => call.id), ["a", "b", "c"])
      assert.strictEqual(output.metrics.modelCalls, 2)
      assert.strictEqual(output.metrics.toolCalls, 3)
    }).pipe(Effect.provide(live))
  })

  it.effect("a rejected call is not run; the model is told why and recovers", () => {
    const { layer: live, ledger } = layer([
      TestModel.toolCall("transfer", { to: "Eve", amount: 5000 }, { id: "x" }),
      TestModel.toolCall("transfer", { to: "Eve", amount: 50 }, { id: "y" }),
      TestModel.text("Sent 50 to Eve instead.")
    ])
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Eve"))
      const second = yield* paused(Agent.resume(teller, first.state, [Approval.reject("x", "too much; at most 100")]))
      assert.deepStrictEqual(ledger, [])
      const requests = yield* TestModel.requests
      const [[id, told]] = resultsSent(requests, 1) as Array<readonly [string, unknown]> as [readonly [string, unknown]]
      assert.strictEqual(id, "x")
      assert.include(String(told), "too much; at most 100")
      // A second round of approvals in the same run.
      assert.deepStrictEqual(second.pending.map((r) => r.arguments), [{ to: "Eve", amount: 50 }])
      const output = yield* Agent.resume(teller, second.state, [Approval.approve("y")])
      assert.strictEqual(output.text, "Sent 50 to Eve instead.")
      assert.deepStrictEqual(ledger, ["transfer:Eve:50"])
      assert.deepStrictEqual(output.toolCalls.map((call) => [call.id, call.failure]), [["x", "Rejected"], ["y", undefined]])
    }).pipe(Effect.provide(live))
  })

  it.effect("approve with edited arguments: decoded with the tool's schema; an invalid edit is a typed error", () => {
    const { layer: live, ledger } = layer([
      TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
      TestModel.text("Done.")
    ])
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada"))
      const invalid = yield* Effect.flip(
        Agent.resume(teller, first.state, [Approval.approve("a", { arguments: { to: "Ada", amount: "ten" } })])
      )
      assert.strictEqual(invalid._tag, "ApprovalError")
      assert.strictEqual(invalid._tag === "ApprovalError" && invalid.reason, "InvalidArguments")
      assert.include(invalid.message, "amount")
      assert.deepStrictEqual(ledger, [])
      // Nothing was spent by the invalid decision: the same pause resumes with a valid one.
      const output = yield* Agent.resume(teller, first.state, [
        Approval.approve("a", { arguments: { to: "Ada", amount: 7 } })
      ])
      assert.deepStrictEqual(ledger, ["transfer:Ada:7"])
      assert.deepStrictEqual(output.toolCalls[0]!.arguments, { to: "Ada", amount: 7 })
    }).pipe(Effect.provide(live))
  })

  it.effect("a predicate over the arguments that reads the run's services decides", () => {
    class Role extends Context.Tag("test/Role")<Role, "admin" | "clerk">() {}
    const guarded = Agent.make({
      name: "Teller",
      toolkit: Bank,
      retry: Retry.none,
      approval: { transfer: ({ amount }) => Effect.map(Role, (role) => role !== "admin" && amount > 100) }
    })
    const script = [
      TestModel.toolCalls([
        { id: "small", name: "transfer", params: { to: "Ada", amount: 10 } },
        { id: "large", name: "transfer", params: { to: "Bob", amount: 500 } }
      ]),
      TestModel.text("Done.")
    ]
    const clerk = layer(script)
    const admin = layer(script)
    return Effect.gen(function*() {
      const pause = yield* paused(Agent.run(guarded, "Pay")).pipe(
        Effect.provide(clerk.layer),
        Effect.provideService(Role, "clerk")
      )
      assert.deepStrictEqual(pause.pending.map((r) => r.toolCallId), ["large"])
      assert.deepStrictEqual(clerk.ledger, ["transfer:Ada:10"])
      const output = yield* Agent.run(guarded, "Pay").pipe(Effect.provide(admin.layer), Effect.provideService(Role, "admin"))
      // The predicate's services are the agent's requirements.
      type Needs = typeof guarded extends Agent.Agent<any, infer R> ? R : never
      expectTypeOf<Role>().toMatchTypeOf<Needs>()
      assert.strictEqual(output.text, "Done.")
      assert.deepStrictEqual(admin.ledger, ["transfer:Ada:10", "transfer:Bob:500"])
    })
  })

  it.effect("a stale, forged or foreign state is a typed error, and nothing runs", () => {
    const { layer: live, ledger } = layer(twoTransfers)
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada and Bob"))
      const body = first.state.body as Approval.AgentState
      // Forged: the arguments changed after signing.
      const forged: Approval.State = {
        ...first.state,
        body: { ...body, calls: body.calls.map((call) => ({ ...call, params: { to: "Mallory", amount: 1e6 } })) }
      }
      const forgedError = yield* Effect.flip(Agent.resume(teller, forged, [Approval.approve("a")]))
      assert.deepStrictEqual([forgedError._tag, (forgedError as any).reason], ["ApprovalError", "Forged"])
      // Another agent's pause.
      const other = Agent.make({ name: "Other", toolkit: Bank, approval: { transfer: true } })
      const foreign = yield* Effect.flip(Agent.resume(other, first.state, [Approval.approve("a")]))
      assert.deepStrictEqual([foreign._tag, (foreign as any).reason], ["ApprovalError", "Stale"])
      // A decision on a call that does not wait.
      const unknown = yield* Effect.flip(Agent.resume(teller, first.state, [Approval.approve("c")]))
      assert.deepStrictEqual([unknown._tag, (unknown as any).reason], ["ApprovalError", "UnknownCall"])
      // Stale: the pause is resumed once; its state does not resume twice.
      yield* paused(Agent.resume(teller, first.state, [Approval.approve("a")]))
      const stale = yield* Effect.flip(Agent.resume(teller, first.state, [Approval.approve("b")]))
      assert.deepStrictEqual([stale._tag, (stale as any).reason], ["ApprovalError", "Stale"])
      // Signed with other keys (another process).
      const elsewhere = yield* Effect.flip(
        Agent.resume(teller, first.state, [Approval.approve("a")]).pipe(
          Effect.provide(Approval.layerKeys({ secret: Redacted.make("another process's secret") }))
        )
      )
      assert.deepStrictEqual([elsewhere._tag, (elsewhere as any).reason], ["ApprovalError", "Forged"])
      assert.deepStrictEqual(ledger, ["balance", "transfer:Ada:10"])
    }).pipe(Effect.provide(live))
  })

  it.effect("the state is a Schema value: encoded to JSON and back, it resumes", () => {
    const { layer: live, ledger } = layer(twoTransfers)
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada and Bob"))
      const json = JSON.stringify(Schema.encodeSync(Approval.State)(first.state))
      const state = Schema.decodeUnknownSync(Schema.parseJson(Approval.State))(json)
      const output = yield* Agent.resume(teller, state, [Approval.approve("a"), Approval.reject("b", "no")])
      assert.strictEqual(output.text, "Done.")
      assert.deepStrictEqual(ledger, ["balance", "transfer:Ada:10"])
    }).pipe(Effect.provide(live))
  })

  it.effect("streaming: the stream ends with the pause; the resumed stream goes on as if it had never paused", () => {
    const script = [
      TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
      TestModel.text("Sent it.", { chunks: 2 })
    ]
    const paused = layer(script)
    const straight = layer(script)
    const shape = (event: RunEvent.RunEvent) =>
      event._tag === "ToolCallCompleted" || event._tag === "ToolCallFailed"
        ? { ...event, duration: 0 }
        : event._tag === "RunCompleted"
        ? { _tag: event._tag, text: event.output.text, toolCalls: event.output.toolCalls.map((c) => c.id) }
        : event
    return Effect.gen(function*() {
      const before: Array<RunEvent.RunEvent> = []
      const failure = yield* Agent.stream(teller, "Pay Ada", { runId: "r" }).pipe(
        Stream.runForEach((event) => Effect.sync(() => before.push(event))),
        Effect.flip
      )
      assert.strictEqual(failure._tag, "RunPaused")
      const tags = before.map((event) => event._tag)
      assert.deepStrictEqual(tags, [
        "RunStarted",
        "ModelRequestStarted",
        "ModelRequestCompleted",
        "ApprovalRequested",
        "RunPaused"
      ])
      const requested = before[3] as RunEvent.ApprovalRequested
      assert.deepStrictEqual([requested.toolCallId, requested.tool, requested.arguments], [
        "a",
        "transfer",
        { to: "Ada", amount: 10 }
      ])
      const pause = before[4] as RunEvent.RunPaused
      const after = yield* Agent.resumeStream(teller, pause.state, [Approval.approve(pause.pending[0]!)]).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      assert.deepStrictEqual(paused.ledger, ["transfer:Ada:10"])

      // The same run, approved up front (no approval needed), gives the same events.
      const free = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none })
      const all = yield* Agent.stream(free, "Pay Ada", { runId: "r" }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(straight.layer)
      )
      const resumed = [...before.slice(0, 3), ...after]
      assert.deepStrictEqual(resumed.map(shape), all.map(shape))
    }).pipe(Effect.provide(paused.layer))
  })

  it.effect("a routed team's member asks: the request surfaces at the top with its path, the decision goes to the member", () => {
    const { layer: live, ledger } = layer([
      TestModel.text(JSON.stringify({ member: "Teller" })),
      TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
      TestModel.text("Sent 10 to Ada.")
    ])
    const desk = Team.make({ name: "Desk", mode: "route", members: [teller], retry: Retry.none })
    return Effect.gen(function*() {
      const events: Array<RunEvent.RunEvent> = []
      const failure = yield* Team.stream(desk, "Pay Ada 10").pipe(
        Stream.runForEach((event) => Effect.sync(() => events.push(event))),
        Effect.flip
      )
      assert.strictEqual(failure._tag, "RunPaused")
      const pause = failure as RunPaused
      assert.deepStrictEqual(pause.pending.map((r) => [r.path, r.toolCallId, r.tool]), [[["Teller"], "a", "transfer"]])
      // The member's request is in the stream, nested; the team's last event is its pause.
      const nested = events.flatMap((event) => (event._tag === "MemberEvent" ? [event.event._tag] : []))
      assert.include(nested, "ApprovalRequested")
      assert.notInclude(events.map((event) => event._tag), "MemberRunFailed")
      assert.strictEqual(events[events.length - 1]!._tag, "RunPaused")
      assert.deepStrictEqual(ledger, [])

      // A decision for a call that is not the member's does not reach it.
      const misrouted = yield* Effect.flip(Team.resume(desk, pause.state, [Approval.approve("a")]))
      assert.deepStrictEqual([misrouted._tag, (misrouted as any).reason], ["ApprovalError", "UnknownCall"])

      const after: Array<RunEvent.RunEvent> = []
      const output = yield* Team.resume(desk, pause.state, [Approval.approve(pause.pending[0]!)], {
        onEvent: (event) => Effect.sync(() => after.push(event))
      })
      assert.strictEqual(output.content, "Sent 10 to Ada.")
      assert.deepStrictEqual(ledger, ["transfer:Ada:10"])
      assert.deepStrictEqual(output.memberRuns.map((run) => [run._tag, run.member]), [["Completed", "Teller"]])
      assert.strictEqual(output.metrics.modelCalls, 3)
      const completed = after.find((event) => event._tag === "MemberRunCompleted")
      assert.isDefined(completed)
      assert.strictEqual(after[after.length - 1]!._tag, "RunCompleted")
      const stale = yield* Effect.flip(Team.resume(desk, pause.state, [Approval.approve(pause.pending[0]!)]))
      assert.deepStrictEqual([stale._tag, (stale as any).reason], ["ApprovalError", "Stale"])
    }).pipe(Effect.provide(live))
  })

  it.effect("a coordinating team's member asks: the leader's delegation waits, and the decision reaches the member", () => {
    const { layer: live, ledger } = layer([
      TestModel.toolCalls([
        { id: "d1", name: "delegate_task_to_member", params: { member: "Teller", task: "Pay Ada 10" } },
        { id: "d2", name: "delegate_task_to_member", params: { member: "Clerk", task: "Say hi" } }
      ]),
      // The two members run at once: the teller's call, then the clerk's answer.
      TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
      TestModel.text("Hi."),
      TestModel.text("Paid Ada."),
      TestModel.text("Ada was paid, and the clerk said hi.")
    ])
    const clerk = Agent.make({ name: "Clerk", retry: Retry.none })
    const desk = Team.make({ name: "Desk", members: [teller, clerk], retry: Retry.none })
    return Effect.gen(function*() {
      const events: Array<RunEvent.RunEvent> = []
      const pause = (yield* Team.stream(desk, "Pay Ada").pipe(
        Stream.runForEach((event) => Effect.sync(() => events.push(event))),
        Effect.flip
      )) as RunPaused
      assert.strictEqual(pause._tag, "RunPaused")
      assert.deepStrictEqual(pause.pending.map((r) => [r.path, r.toolCallId]), [[["Teller"], "a"]])
      assert.strictEqual(events[events.length - 1]!._tag, "RunPaused")
      assert.deepStrictEqual(ledger, [])

      const after: Array<RunEvent.RunEvent> = []
      const output = yield* Team.resume(desk, pause.state, [Approval.approve(pause.pending[0]!)], {
        onEvent: (event) => Effect.sync(() => after.push(event))
      })
      assert.strictEqual(output.content, "Ada was paid, and the clerk said hi.")
      assert.deepStrictEqual(ledger, ["transfer:Ada:10"])
      // The leader was told each member's answer, in the order of its calls.
      const requests = yield* TestModel.requests
      assert.deepStrictEqual(resultsSent(requests, requests.length - 1), [["d1", "Paid Ada."], ["d2", "Hi."]])
      assert.deepStrictEqual(output.memberRuns.map((run) => [run.member, run._tag]).sort(), [
        ["Clerk", "Completed"],
        ["Teller", "Completed"]
      ])
      assert.strictEqual(after[after.length - 1]!._tag, "RunCompleted")
      const stale = yield* Effect.flip(Team.resume(desk, pause.state, [Approval.approve(pause.pending[0]!)]))
      assert.deepStrictEqual([stale._tag, (stale as any).reason], ["ApprovalError", "Stale"])
    }).pipe(Effect.provide(live))
  })

  it.effect("a tool asks a person a typed question; the typed answer is its result, and its handler never runs", () => {
    let handled = 0
    const AskUser = Tool.make("ask_user", {
      parameters: { question: Schema.String },
      success: Schema.Struct({ city: Schema.String, nights: Schema.NumberFromString })
    })
    const Kit = Toolkit.make(AskUser)
    const planner = Agent.make({ name: "Planner", toolkit: Kit, approval: { ask_user: Approval.input } })
    return Effect.gen(function*() {
      const pause = yield* paused(Agent.run(planner, "Plan my trip"))
      assert.deepStrictEqual(pause.pending.map((r) => [r.kind, r.tool, r.arguments]), [
        ["input", "ask_user", { question: "Where to?" }]
      ])
      const wrong = yield* Effect.flip(Agent.resume(planner, pause.state, [Approval.answer("q", { city: "Lisbon" })]))
      assert.deepStrictEqual([wrong._tag, (wrong as any).reason], ["ApprovalError", "InvalidArguments"])
      assert.include(wrong.message, "nights")
      const approve = yield* Effect.flip(Agent.resume(planner, pause.state, [Approval.approve("q")]))
      assert.include(approve.message, "answer it")
      const output = yield* Agent.resume(planner, pause.state, [Approval.answer("q", { city: "Lisbon", nights: "3" })])
      assert.strictEqual(output.text, "Three nights in Lisbon.")
      const requests = yield* TestModel.requests
      assert.deepStrictEqual(resultsSent(requests, 1), [["q", { city: "Lisbon", nights: "3" }]])
      assert.strictEqual(handled, 0)
    }).pipe(Effect.provide(Layer.merge(
      TestModel.layer([TestModel.toolCall("ask_user", { question: "Where to?" }, { id: "q" }), TestModel.text("Three nights in Lisbon.")]),
      Kit.toLayer({ ask_user: () => Effect.sync(() => (handled++, { city: "", nights: 0 })) })
    )))
  })

  it.effect("interrupting a resumed run while an approved call runs stops the call", () => {
    let interrupted = false
    const Slow = Tool.make("slow", { parameters: {}, success: Schema.String })
    const SlowKit = Toolkit.make(Slow)
    const agent = Agent.make({ name: "Slow", toolkit: SlowKit, approval: { slow: true } })
    return Effect.gen(function*() {
      const pause = yield* paused(Agent.run(agent, "go"))
      const fiber = yield* Agent.resume(agent, pause.state, [Approval.approve("s")]).pipe(Effect.fork)
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      assert.isTrue(interrupted)
      // The model was not asked again.
      assert.strictEqual((yield* TestModel.requests).length, 1)
    }).pipe(Effect.provide(Layer.merge(
      TestModel.layer([TestModel.toolCall("slow", {}, { id: "s" }), TestModel.text("never")]),
      SlowKit.toLayer({
        slow: () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      })
    )))
  })

  it.effect.prop(
    "any interleaving of decisions: every approved call runs exactly once, no rejected call runs",
    {
      plan: FastCheck.array(FastCheck.boolean(), { minLength: 1, maxLength: 5 }).chain((approvals) =>
        FastCheck.tuple(
          FastCheck.constant(approvals),
          // The decisions arrive in batches: a permutation of the calls, cut in groups.
          FastCheck.shuffledSubarray(approvals.map((_, i) => i), {
            minLength: approvals.length,
            maxLength: approvals.length
          }),
          FastCheck.array(FastCheck.integer({ min: 1, max: 3 }), { minLength: 5, maxLength: 5 })
        )
      )
    },
    ({ plan: [approvals, order, cuts] }) => {
      const calls = approvals.map((_, i) => ({ id: `c${i}`, name: "transfer", params: { to: `p${i}`, amount: i } }))
      const { layer: live, ledger } = layer([TestModel.toolCalls(calls), TestModel.text("Done.")])
      return Effect.gen(function*() {
        let pause = yield* paused(Agent.run(teller, "Pay everyone"))
        let rest = order
        let cut = 0
        for (;;) {
          const batch = rest.slice(0, cuts[cut++ % cuts.length])
          rest = rest.slice(batch.length)
          const decisions = batch.map((i) =>
            approvals[i] ? Approval.approve(`c${i}`) : Approval.reject(`c${i}`, "no")
          )
          const next = yield* Effect.either(Agent.resume(teller, pause.state, decisions))
          if (Either.isRight(next)) {
            assert.strictEqual(rest.length, 0)
            assert.strictEqual(next.right.text, "Done.")
            break
          }
          assert.strictEqual(next.left._tag, "RunPaused")
          pause = next.left as RunPaused
          assert.deepStrictEqual(pause.pending.map((r) => r.toolCallId).sort(), rest.map((i) => `c${i}`).sort())
        }
        const expected = approvals.flatMap((approved, i) => (approved ? [`transfer:p${i}:${i}`] : []))
        assert.deepStrictEqual([...ledger].sort(), expected.sort())
        const requests = yield* TestModel.requests
        assert.deepStrictEqual(
          resultsSent(requests, 1).map(([id]) => id),
          calls.map((call) => call.id)
        )
      }).pipe(Effect.provide(live))
    },
    { fastCheck: { numRuns: 50 } }
  )
})
