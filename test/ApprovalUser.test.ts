import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Memory from "../services/Memory.js"
import * as Agent from "../src/Agent.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"
import * as Runnable from "../src/Runnable.js"
import * as Team from "../src/Team.js"
import * as Workflow from "../src/Workflow.js"

const paused = <A, R>(effect: Effect.Effect<A, { readonly _tag: string }, R>): Effect.Effect<RunPaused, string, R> =>
  Effect.flip(effect).pipe(
    Effect.mapError(() => "the run finished instead of pausing"),
    Effect.flatMap((error) =>
      error._tag === "RunPaused" ? Effect.succeed(error as RunPaused) : Effect.fail(`the run failed with ${error._tag}`)
    )
  )

const Transfer = Tool.make("transfer", { parameters: { to: Schema.String, amount: Schema.Number }, success: Schema.String })
const Bank = Toolkit.make(Transfer)

/** The bank's transfers, each with the user whose memory the run that made it had ("nobody" without one). */
const bankLayer = (ledger: Array<string>) =>
  Bank.toLayer({
    transfer: ({ amount, to }) =>
      Effect.map(Effect.serviceOption(Memory.UserMemory), (user) => {
        ledger.push(`${Option.match(user, { onNone: () => "nobody", onSome: (memory) => memory.userId })}:${to}:${amount}`)
        return `sent ${amount}`
      })
  })

/** A model script, the bank, and a `Memory` store: a run with a user gets that user's memory. */
const bank = (ledger: Array<string>, script: TestModel.Script) =>
  Layer.mergeAll(TestModel.layer(script), bankLayer(ledger), SessionStoreMemory.layer)

const payScript = () => [
  TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
  TestModel.text("Paid Ada.")
]

/** A script that pays Ada, then pauses again to pay Bob. */
const twoPauses = () => [
  TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
  TestModel.toolCall("transfer", { to: "Bob", amount: 20 }, { id: "b" }),
  TestModel.text("Paid both.")
]

const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })

describe("An agent's paused state carries the user it ran for", () => {
  it.effect("the resumed run runs for the signed user whoever resumes it; a resume for another user is refused", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada 10", { userId: "ada" }))
      assert.strictEqual((first.state.body as Approval.AgentState).userId, "ada")
      const foreign = yield* Effect.flip(Agent.resume(teller, first.state, [Approval.approve(first.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      assert.notInclude(foreign.message, "ada")
      assert.deepStrictEqual(ledger, [])
      // The refusal spent nothing: resumed with no user named, the run is the signed user's.
      const output = yield* Agent.resume(teller, first.state, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(output.text, "Paid Ada.")
      assert.deepStrictEqual(ledger, ["ada:Ada:10"])
    }).pipe(Effect.provide(bank(ledger, payScript())))
  })

  it.effect("a resume that names the signed user fits, and the run's next pause carries the user too", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada, then Bob", { userId: "ada" }))
      const second = yield* paused(
        Agent.resume(teller, first.state, [Approval.approve(first.pending[0]!)], { userId: "ada" })
      )
      assert.strictEqual((second.state.body as Approval.AgentState).userId, "ada")
      const foreign = yield* Effect.flip(Agent.resume(teller, second.state, [Approval.approve(second.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      yield* Agent.resume(teller, second.state, [Approval.approve(second.pending[0]!)])
      assert.deepStrictEqual(ledger, ["ada:Ada:10", "ada:Bob:20"])
    }).pipe(Effect.provide(bank(ledger, [
      TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
      TestModel.toolCall("transfer", { to: "Bob", amount: 20 }, { id: "b" }),
      TestModel.text("Paid both.")
    ])))
  })

  it.effect("a run with no user pauses with none, and resumes for the user its resume names", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada 10"))
      assert.isFalse("userId" in first.state.body)
      yield* Agent.resume(teller, first.state, [Approval.approve(first.pending[0]!)], { userId: "carol" })
      assert.deepStrictEqual(ledger, ["carol:Ada:10"])
    }).pipe(Effect.provide(bank(ledger, payScript())))
  })

  it.effect("a state with no user resumed for a named user pauses again for that user", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada, then Bob"))
      assert.isFalse("userId" in first.state.body)
      const second = yield* paused(
        Agent.resume(teller, first.state, [Approval.approve(first.pending[0]!)], { userId: "carol" })
      )
      assert.strictEqual((second.state.body as Approval.AgentState).userId, "carol")
      const foreign = yield* Effect.flip(Agent.resume(teller, second.state, [Approval.approve(second.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      // Resumed with no user named, the run is carol's: signed in its second pause.
      yield* Agent.resume(teller, second.state, [Approval.approve(second.pending[0]!)])
      assert.deepStrictEqual(ledger, ["carol:Ada:10", "carol:Bob:20"])
    }).pipe(Effect.provide(bank(ledger, twoPauses())))
  })

  it.effect("a state signed before states carried their user decodes, verifies and resumes, for the resume's user", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused(Agent.run(teller, "Pay Ada 10", { userId: "ada" }))
      // The state as a process before the field signed it, sent as JSON and read back.
      const { userId: _, ...before } = first.state.body as Approval.AgentState
      const signed = yield* Approval.sign(before)
      const json = JSON.stringify(Schema.encodeSync(Approval.State)(signed))
      assert.notInclude(json, "userId")
      const old = Schema.decodeUnknownSync(Schema.parseJson(Approval.State))(json)
      yield* Agent.resume(teller, old, [Approval.approve(first.pending[0]!)], { userId: "carol" })
      assert.deepStrictEqual(ledger, ["carol:Ada:10"])
    }).pipe(Effect.provide(bank(ledger, payScript())))
  })

  it.effect("a routed team's member pauses with the team's user in its own state, and resumes for it", () => {
    const ledger: Array<string> = []
    const desk = Team.make({ name: "Desk", mode: "route", members: [teller], retry: Retry.none })
    return Effect.gen(function*() {
      const first = yield* paused(Team.run(desk, "Pay Ada 10", { userId: "ada" }))
      const inner = Approval.decodeBody((first.state.body as Approval.TeamState).inner)
      assert.strictEqual(inner._tag === "Agent" && inner.userId, "ada")
      yield* Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)])
      assert.deepStrictEqual(ledger, ["ada:Ada:10"])
    }).pipe(Effect.provide(bank(ledger, [TestModel.text(JSON.stringify({ member: "Teller" })), ...payScript()])))
  })

  it.effect("a routed team with no user resumed for a named user pauses again for that user, its member too", () => {
    const ledger: Array<string> = []
    const desk = Team.make({ name: "Desk", mode: "route", members: [teller], retry: Retry.none })
    return Effect.gen(function*() {
      const first = yield* paused(Team.run(desk, "Pay Ada, then Bob"))
      assert.isFalse("userId" in first.state.body)
      const second = yield* paused(Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)], { userId: "carol" }))
      const body = second.state.body as Approval.TeamState
      assert.strictEqual(body.userId, "carol")
      assert.strictEqual(body.inner._tag === "Agent" && body.inner.userId, "carol")
      const foreign = yield* Effect.flip(Team.resume(desk, second.state, [Approval.approve(second.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      yield* Team.resume(desk, second.state, [Approval.approve(second.pending[0]!)])
      assert.deepStrictEqual(ledger, ["carol:Ada:10", "carol:Bob:20"])
    }).pipe(Effect.provide(bank(ledger, [TestModel.text(JSON.stringify({ member: "Teller" })), ...twoPauses()])))
  })

  it.effect("a coordinating team with no user resumed for a named user pauses again for that user", () => {
    const ledger: Array<string> = []
    const desk = Team.make({ name: "Desk", members: [teller], retry: Retry.none })
    return Effect.gen(function*() {
      const first = yield* paused(Team.run(desk, "Pay Ada, then Bob"))
      assert.isFalse("userId" in first.state.body)
      const second = yield* paused(Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)], { userId: "carol" }))
      assert.strictEqual((second.state.body as Approval.CoordinateState).userId, "carol")
      const foreign = yield* Effect.flip(Team.resume(desk, second.state, [Approval.approve(second.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      const output = yield* Team.resume(desk, second.state, [Approval.approve(second.pending[0]!)])
      assert.strictEqual(output.text, "Both are paid.")
      assert.deepStrictEqual(ledger, ["carol:Ada:10", "carol:Bob:20"])
    }).pipe(Effect.provide(bank(ledger, [
      TestModel.toolCall("delegate_task_to_member", { member: "Teller", task: "Pay Ada, then Bob" }, { id: "d1" }),
      ...twoPauses(),
      TestModel.text("Both are paid.")
    ])))
  })

  it.effect("a workflow with no user resumed for a named user pauses again for that user", () => {
    const flow = Workflow.make({
      name: "Ship",
      description: "Ships a parcel",
      input: Schema.String,
      steps: Workflow.sequence(
        Workflow.approve(Workflow.step("pack", (text: string) => Effect.succeed(text))),
        Workflow.approve(Workflow.step("ship", (text: string) => Effect.succeed(text)))
      )
    })
    return Effect.gen(function*() {
      const first = yield* paused(Runnable.run(flow, "parcel"))
      assert.isFalse("userId" in first.state.body)
      const second = yield* paused(Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)], { userId: "carol" }))
      assert.strictEqual((second.state.body as Approval.WorkflowState).userId, "carol")
      const foreign = yield* Effect.flip(Runnable.resume(flow, second.state, [Approval.approve(second.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      const output = yield* Runnable.resume(flow, second.state, [Approval.approve(second.pending[0]!)])
      assert.strictEqual(output.content, "parcel")
    })
  })

  it.scopedLive("over HTTP, a paused run resumed at /runs/:runId/resume runs for the user it ran for", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([teller])),
          Layer.provide(bank(ledger, payScript()))
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const post = (path: string, body: unknown) =>
        Effect.promise(() =>
          fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
            .then(async (response) => ({ status: response.status, text: await response.text() }))
        )
      const first = yield* post("/agents/Teller/runs", { input: "Pay Ada 10", runId: "u1", userId: "ada" })
      assert.strictEqual(first.status, 202, first.text)
      const resumed = yield* post("/runs/u1/resume", { decisions: [{ _tag: "Approve", toolCallId: "a" }] })
      assert.strictEqual(resumed.status, 200, resumed.text)
      assert.deepStrictEqual(ledger, ["ada:Ada:10"])
    })
  })
})

describe("A coordinating team's member checks its decisions before the team's pause is spent", () => {
  const desk = Team.make({ name: "Desk", members: [teller], retry: Retry.none })
  const script = () => [
    TestModel.toolCall("delegate_task_to_member", { member: "Teller", task: "Pay Ada 10" }, { id: "d1" }),
    ...payScript(),
    TestModel.text("Ada is paid.")
  ]

  it.effect("an invalid edit is refused, and the same pause resumes with a corrected one", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused(Team.run(desk, "Pay Ada", { userId: "ada" }))
      assert.deepStrictEqual(first.pending.map((request) => [request.path, request.tool]), [[["Teller"], "transfer"]])
      const refused = yield* Effect.flip(
        Team.resume(desk, first.state, [Approval.approve(first.pending[0]!, { arguments: { to: "Ada", amount: "ten" } })])
      )
      assert.strictEqual(refused._tag === "ApprovalError" && refused.reason, "InvalidArguments")
      assert.deepStrictEqual(ledger, [])
      const output = yield* Team.resume(desk, first.state, [
        Approval.approve(first.pending[0]!, { arguments: { to: "Ada", amount: 12 } })
      ])
      assert.strictEqual(output.text, "Ada is paid.")
      assert.deepStrictEqual(ledger, ["ada:Ada:12"])
    }).pipe(Effect.provide(bank(ledger, script())))
  })

  it.effect("a decision naming no call of the member's is refused before the pause is spent too", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const first = yield* paused(Team.run(desk, "Pay Ada"))
      const refused = yield* Effect.flip(Team.resume(desk, first.state, [Approval.approve({ toolCallId: "nope", path: ["Teller"] })]))
      assert.strictEqual(refused._tag === "ApprovalError" && refused.reason, "UnknownCall")
      yield* Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)])
      assert.deepStrictEqual(ledger, ["nobody:Ada:10"])
    }).pipe(Effect.provide(bank(ledger, script())))
  })
})
