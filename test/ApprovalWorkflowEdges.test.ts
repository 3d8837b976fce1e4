import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as InternalWorkflow from "../src/internal/workflow.js"
import * as Retry from "../src/Retry.js"
import * as Run from "../src/Run.js"
import type * as RunEvent from "../src/RunEvent.js"
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

const collect = (into: Array<RunEvent.RunEvent>) => (event: RunEvent.RunEvent) => Effect.sync(() => void into.push(event))

/** A step that records its runs. */
const counted = (ran: Array<string>, name: string) => Workflow.step(name, (n: number) => Effect.sync(() => (ran.push(name), n + 1)))

/** The steps' starts and ends of a run's events, by name and kind: what a user reads of a run. */
const ends = (events: ReadonlyArray<RunEvent.RunEvent>) =>
  events.flatMap((event) =>
    event._tag === "StepStarted" || event._tag === "StepCompleted" || event._tag === "StepFailed"
      ? [`${event._tag} ${event.step} ${event.stepId}`]
      : []
  )

describe("Workflow gates in a parallel step", () => {
  for (const onFailure of ["fail", "either"] as const) {
    it.effect(`every gate of the branches is asked for in one pause, and their decisions resume the run once (${onFailure})`, () =>
      Effect.gen(function*() {
        const ran: Array<string> = []
        const flow = Workflow.make({
          name: "Fan",
          input: Schema.Number,
          steps: Workflow.sequence(
            Workflow.parallel([
              Workflow.approve(counted(ran, "a")),
              counted(ran, "plain"),
              Workflow.approve(counted(ran, "b")),
              Workflow.sequence(counted(ran, "before"), Workflow.approve(counted(ran, "c")))
            ], { onFailure: onFailure as "fail" }),
            Workflow.step("done", (results: unknown) => Effect.sync(() => (ran.push("done"), JSON.stringify(results))))
          )
        })
        const first = yield* paused(Runnable.run(flow, "1", { runId: "f1" }))
        assert.deepStrictEqual(first.pending.map((request) => request.tool).sort(), ["a", "b", "c"])
        assert.deepStrictEqual([...ran].sort(), ["before", "plain"])
        const output = yield* Runnable.resume(flow, first.state, first.pending.map((request) => Approval.approve(request)))
        assert.deepStrictEqual([...ran].sort(), ["a", "b", "before", "c", "done", "plain"])
        assert.strictEqual(
          output.content,
          onFailure === "fail"
            ? JSON.stringify([2, 2, 2, 3])
            : JSON.stringify([2, 2, 2, 3].map((n) => Either.right(n)))
        )
      }))
  }

  it.effect("a gate approved at one pause is not asked for again at the next", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const flow = Workflow.make({
        name: "Twice",
        input: Schema.Number,
        steps: Workflow.sequence(Workflow.approve(counted(ran, "a")), Workflow.approve(counted(ran, "b")))
      })
      const first = yield* paused(Runnable.run(flow, "1"))
      assert.deepStrictEqual(first.pending.map((request) => request.tool), ["a"])
      const second = yield* paused(Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)]))
      assert.deepStrictEqual(second.pending.map((request) => request.tool), ["b"])
      const output = yield* Runnable.resume(flow, second.state, [Approval.approve(second.pending[0]!)])
      assert.strictEqual(output.content, 3)
      assert.deepStrictEqual(ran, ["a", "b"])
    }))

  /** A parallel step of a gate whose step takes a while (`slow`) and another gate (`quick`). */
  const racing = (onFailure: "fail" | "either", slow: Effect.Effect<string>, finalized: Array<string>) =>
    Workflow.make({
      name: "Race",
      input: Schema.String,
      steps: Workflow.parallel([
        Workflow.approve(
          Workflow.step("slow", (_: string) => Effect.onInterrupt(slow, () => Effect.sync(() => void finalized.push("slow")))),
          { name: "slow gate" }
        ),
        Workflow.approve(Workflow.step("quick", (text: string) => Effect.succeed(text)), { name: "quick gate" })
      ], { onFailure: onFailure as "fail" })
    })

  it.effect("onFailure \"fail\": a rejected gate fails the step; the branch it interrupts runs its finalizers and ends failed, and says why", () =>
    Effect.gen(function*() {
      const finalized: Array<string> = []
      const flow = racing("fail", Effect.never, finalized)
      const first = yield* paused(Runnable.run(flow, "x", { runId: "r1" }))
      const [slow, quick] = ["slow gate", "quick gate"].map((tool) => first.pending.find((request) => request.tool === tool)!)
      const events: Array<RunEvent.RunEvent> = []
      const error = yield* Effect.flip(
        Runnable.resume(flow, first.state, [Approval.approve(slow!), Approval.reject(quick!, "not now")], {
          onEvent: collect(events)
        })
      )
      assert.strictEqual(error._tag === "WorkflowError" && error.reason, "Rejected")
      assert.deepStrictEqual(finalized, ["slow"])
      const failed = events.flatMap((event) => (event._tag === "StepFailed" ? [[event.step, event.error.message]] : []))
      assert.deepStrictEqual(failed.map(([step]) => step), ["quick gate", "slow", "slow gate", "parallel"])
      assert.include(failed[0]![1], "not now")
      for (const [, message] of failed.slice(1, 3)) {
        assert.include(message, "was interrupted: the step \"quick gate\" beside it in the parallel step \"parallel\" failed")
      }
      // Every step the resumed run started ended, and the run's end is its failure.
      const started = events.flatMap((event) => (event._tag === "StepStarted" ? [event.stepId] : []))
      const ended = events.flatMap((event) => (event._tag === "StepFailed" || event._tag === "StepCompleted" ? [event.stepId] : []))
      for (const id of started) assert.include(ended, id)
      assert.strictEqual(events[events.length - 1]!._tag, "RunFailed")
    }))

  it.effect("onFailure \"either\": a rejected gate is its branch's Left; the other branch finishes after it", () =>
    Effect.gen(function*() {
      const finalized: Array<string> = []
      const rejected = yield* Deferred.make<void>()
      const flow = racing("either", Effect.as(Deferred.await(rejected), "slow done"), finalized)
      const first = yield* paused(Runnable.run(flow, "x", { runId: "r2" }))
      const [slow, quick] = ["slow gate", "quick gate"].map((tool) => first.pending.find((request) => request.tool === tool)!)
      const events: Array<RunEvent.RunEvent> = []
      const output = yield* Runnable.resume(flow, first.state, [Approval.approve(slow!), Approval.reject(quick!, "not now")], {
        // The slow step finishes only once the rejection is reported.
        onEvent: (event) =>
          Effect.zipRight(
            collect(events)(event),
            event._tag === "StepFailed" && event.step === "quick gate" ? Deferred.succeed(rejected, void 0) : Effect.void
          )
      })
      const [left, right] = output.content as unknown as [Either.Either<string, unknown>, Either.Either<string, { _tag: string; reason: string }>]
      assert.deepStrictEqual(left, Either.right("slow done"))
      assert.isTrue(Either.isLeft(right) && right.left._tag === "WorkflowError" && right.left.reason === "Rejected")
      assert.deepStrictEqual(finalized, [])
      const order = ends(events).map((line) => line.split(" ").slice(0, 2).join(" "))
      assert.isBelow(order.indexOf("StepFailed quick"), order.indexOf("StepCompleted slow"))
      assert.strictEqual(events[events.length - 1]!._tag, "RunCompleted")
    }))
})

describe("A state stored before a workflow's state carried its user and its reported steps", () => {
  it.effect("still decodes and resumes", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const flow = Workflow.make({
        name: "Old",
        input: Schema.Number,
        steps: Workflow.sequence(counted(ran, "a"), Workflow.approve(counted(ran, "b")))
      })
      const first = yield* paused(Runnable.run(flow, "1", { userId: "ada" }))
      const { ended: _ended, started: _started, userId: _userId, ...old } = first.state.body as Approval.WorkflowState
      const stored = Schema.decodeUnknownSync(Approval.State)(
        JSON.parse(JSON.stringify(Schema.encodeSync(Approval.State)(yield* Approval.sign(old))))
      )
      const output = yield* Runnable.resume(flow, stored, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(output.content, 3)
      assert.deepStrictEqual(ran, ["a", "b"])
    }))
})

describe("Workflow gates take no arguments", () => {
  it.effect("an approval with edited arguments is refused with a typed error, and the pause still waits", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const flow = Workflow.make({ name: "Gate", input: Schema.Number, steps: Workflow.approve(counted(ran, "a")) })
      const first = yield* paused(Runnable.run(flow, "1"))
      const refused = yield* Effect.flip(
        Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!, { arguments: { n: 5 } })])
      )
      assert.strictEqual(refused._tag, "ApprovalError")
      assert.strictEqual(refused._tag === "ApprovalError" && refused.reason, "InvalidArguments")
      assert.include(refused.message, "has no arguments")
      const answered = yield* Effect.flip(Runnable.resume(flow, first.state, [Approval.answer(first.pending[0]!, 5)]))
      assert.strictEqual(answered._tag === "ApprovalError" && answered.reason, "InvalidArguments")
      assert.deepStrictEqual(ran, [])
      const output = yield* Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(output.content, 2)
      assert.deepStrictEqual(ran, ["a"])
    }))
})

// -----------------------------------------------------------------------------
// Events of a resumed run
// -----------------------------------------------------------------------------

const Transfer = Tool.make("transfer", { parameters: { to: Schema.String, amount: Schema.Number }, success: Schema.String })
const Bank = Toolkit.make(Transfer)

const bank = (ledger: Array<string>, script: TestModel.Script) =>
  Layer.mergeAll(
    TestModel.layer(script),
    Bank.toLayer({ transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`${to}:${amount}`), `sent ${amount}`)) })
  )

const payScript = () => [
  TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
  TestModel.text("Paid Ada.")
]

/** The pause's own events, at the top and nested in a step's: what a run that never paused has not. */
const withoutPauses = (events: ReadonlyArray<RunEvent.RunEvent>) =>
  events.filter((event) => {
    const inner = event._tag === "StepEvent" ? event.event : event
    return inner._tag !== "ApprovalRequested" && inner._tag !== "RunPaused"
  })

describe("A resumed workflow's events", () => {
  it.effect("pause and resume report what a run that never paused reports, each step's start and end once", () => {
    const ledger: Array<string> = []
    /** The workflow, its gate and its teller's approval as given: with `ask`, both wait for a person. */
    const payday = (ask: boolean) => {
      const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: ask } })
      const publish = Workflow.step("publish", (text: string) => Effect.succeed(`published: ${text}`))
      const gate = ask
        ? Workflow.approve(publish)
        : InternalWorkflow.makeNode("publish", "approval", undefined, (input: unknown, at) =>
          InternalWorkflow.runStep(InternalWorkflow.nodeOf(publish), input, at, "0")) as unknown as typeof publish
      return Workflow.make({
        name: "Payday",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.step("prepare", (who: string) => Effect.succeed(`Pay ${who} 10`)),
          Workflow.parallel([
            Workflow.agent(teller, { name: "pay" }),
            Workflow.step("note", (text: string) => Effect.succeed(text.length))
          ]),
          Workflow.step("join", ([paid, length]: readonly [string, number]) => Effect.succeed(`${paid} (${length})`)),
          gate,
          Workflow.step("report", (text: string) => Effect.succeed(`report: ${text}`))
        )
      })
    }
    return Effect.gen(function*() {
      const never: Array<RunEvent.RunEvent> = []
      const expected = yield* Runnable.run(payday(false), "Ada", { runId: "p1", onEvent: collect(never) }).pipe(
        Effect.provide(bank(ledger, payScript()))
      )
      const flow = payday(true)
      const events: Array<RunEvent.RunEvent> = []
      yield* Effect.gen(function*() {
        const first = yield* paused(Runnable.run(flow, "Ada", { runId: "p1", onEvent: collect(events) }))
        assert.deepStrictEqual(first.pending.map((request) => [request.path, request.tool]), [[["pay"], "transfer"]])
        const second = yield* paused(
          Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)], { onEvent: collect(events) })
        )
        assert.deepStrictEqual(second.pending.map((request) => request.tool), ["publish"])
        const output = yield* Runnable.resume(flow, second.state, [Approval.approve(second.pending[0]!)], {
          onEvent: collect(events)
        })
        assert.strictEqual(output.content, expected.content)
      }).pipe(Effect.provide(bank(ledger, payScript())))
      assert.deepStrictEqual(ledger, ["Ada:10", "Ada:10"])
      assert.deepStrictEqual(ends(events), ends(never))
      const shape = (event: RunEvent.RunEvent) =>
        event._tag === "StepEvent" ? `${event.step}: ${event.event._tag}` : event._tag
      assert.deepStrictEqual(withoutPauses(events).map(shape), never.map(shape))
    })
  })
})

// -----------------------------------------------------------------------------
// A nested step's checks come before the pause is spent
// -----------------------------------------------------------------------------

describe("A workflow's agent step checks edited arguments before the workflow's pause is spent", () => {
  it.effect("an invalid edit is refused, and the same pause resumes with a corrected one", () => {
    const ledger: Array<string> = []
    const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })
    const flow = Workflow.make({
      name: "Pay",
      input: Schema.String,
      steps: Workflow.sequence(
        Workflow.step("prepare", (who: string) => Effect.succeed(`Pay ${who} 10`)),
        Workflow.agent(teller, { name: "pay" })
      )
    })
    return Effect.gen(function*() {
      const first = yield* paused(Runnable.run(flow, "Ada"))
      const refused = yield* Effect.flip(
        Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!, { arguments: { to: "Ada", amount: "ten" } })])
      )
      assert.strictEqual(refused._tag === "ApprovalError" && refused.reason, "InvalidArguments")
      assert.deepStrictEqual(ledger, [])
      const output = yield* Runnable.resume(flow, first.state, [
        Approval.approve(first.pending[0]!, { arguments: { to: "Ada", amount: 12 } })
      ])
      assert.strictEqual(output.content, "Paid Ada.")
      assert.deepStrictEqual(ledger, ["Ada:12"])
    }).pipe(Effect.provide(bank(ledger, payScript())))
  })
})

describe("A team's member checks edited arguments before the team's pause is spent", () => {
  it.effect("routed: an invalid edit is refused, and the same pause resumes with a corrected one", () => {
    const ledger: Array<string> = []
    const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })
    const desk = Team.make({ name: "Desk", mode: "route", members: [teller], retry: Retry.none })
    return Effect.gen(function*() {
      const first = yield* paused(Team.run(desk, "Pay Ada 10"))
      const refused = yield* Effect.flip(
        Team.resume(desk, first.state, [Approval.approve(first.pending[0]!, { arguments: { to: "Ada", amount: "ten" } })])
      )
      assert.strictEqual(refused._tag === "ApprovalError" && refused.reason, "InvalidArguments")
      assert.deepStrictEqual(ledger, [])
      const output = yield* Team.resume(desk, first.state, [
        Approval.approve(first.pending[0]!, { arguments: { to: "Ada", amount: 12 } })
      ])
      assert.strictEqual(output.content, "Paid Ada.")
      assert.deepStrictEqual(ledger, ["Ada:12"])
    }).pipe(Effect.provide(bank(ledger, [TestModel.text(JSON.stringify({ member: "Teller" })), ...payScript()])))
  })
})

// -----------------------------------------------------------------------------
// The user of a paused run
// -----------------------------------------------------------------------------

/** A runnable that answers with the user it runs for: what a resumed run's steps and members see. */
class WhoAmI extends Runnable.Base {
  readonly name = "WhoAmI"
  readonly description = "Says whom it runs for"
  readonly role = undefined
  readonly kind = "probe"
  readonly markdown = false
  readonly parts = undefined
  constructor(readonly seen: Array<string | undefined>) {
    super()
  }
  runIn(_input: Run.Input, context: Runnable.RunContext): Effect.Effect<Run.Output<unknown>> {
    return Effect.sync(() => {
      this.seen.push(context.userId)
      const text = context.userId ?? "nobody"
      return {
        runId: context.runId,
        agent: this.name,
        content: text,
        text,
        messages: [],
        toolCalls: [],
        finishReason: "stop" as const,
        metrics: Run.emptyMetrics
      }
    })
  }
}

describe("A paused run's user is in its signed state", () => {
  const gated = (seen: Array<string | undefined>) =>
    Workflow.make({
      name: "Ship",
      description: "Ships a parcel",
      input: Schema.String,
      steps: Workflow.sequence(
        Workflow.approve(Workflow.step("ship", (text: string) => Effect.succeed(text))),
        Workflow.agent(new WhoAmI(seen) as unknown as Runnable.Runnable<string>, { name: "who" })
      )
    })

  it.effect("a workflow resumes for the user it ran for; a resume for another user is refused", () =>
    Effect.gen(function*() {
      const seen: Array<string | undefined> = []
      const flow = gated(seen)
      const first = yield* paused(Runnable.run(flow, "x", { userId: "ada" }))
      assert.strictEqual((first.state.body as Approval.WorkflowState).userId, "ada")
      const foreign = yield* Effect.flip(Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      assert.deepStrictEqual(seen, [])
      const output = yield* Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(output.content, "ada")
      assert.deepStrictEqual(seen, ["ada"])
    }))

  it.effect("a team resumes for the user it ran for, and so does its member; a resume for another user is refused", () =>
    Effect.gen(function*() {
      const seen: Array<string | undefined> = []
      const desk = Team.make({ name: "Desk", mode: "route", members: [gated(seen)], retry: Retry.none })
      const first = yield* paused(Team.run(desk, "x", { userId: "ada" }))
      assert.strictEqual((first.state.body as Approval.TeamState).userId, "ada")
      const foreign = yield* Effect.flip(Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)], { userId: "bob" }))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Forged")
      // Resumed with no user named: the team's, signed in its state.
      const same = yield* Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(same.content, "ada")
      assert.deepStrictEqual(seen, ["ada"])
    }).pipe(Effect.provide(TestModel.layer([TestModel.text(JSON.stringify({ member: "Ship" }))]))))

  it.effect("a coordinating team's members that run after its resume run for the user it ran for", () =>
    Effect.gen(function*() {
      const seen: Array<string | undefined> = []
      const desk = Team.make({
        name: "Desk",
        members: [gated(seen), new WhoAmI(seen) as unknown as Runnable.Runnable<string>],
        retry: Retry.none
      })
      const first = yield* paused(Team.run(desk, "x", { userId: "ada" }))
      assert.strictEqual((first.state.body as Approval.CoordinateState).userId, "ada")
      const output = yield* Team.resume(desk, first.state, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(output.content, "done")
      // The paused member's step, then the member the leader asked after the resume.
      assert.deepStrictEqual(seen, ["ada", "ada"])
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.toolCall("delegate_task_to_member", { member: "Ship", task: "x" }, { id: "d1" }),
      TestModel.toolCall("delegate_task_to_member", { member: "WhoAmI", task: "who?" }, { id: "d2" }),
      TestModel.text("done")
    ]))))
})
