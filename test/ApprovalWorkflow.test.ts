import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"
import type * as RunEvent from "../src/RunEvent.js"
import * as Runnable from "../src/Runnable.js"
import * as Workflow from "../src/Workflow.js"

const paused = <A, R>(effect: Effect.Effect<A, { readonly _tag: string }, R>): Effect.Effect<RunPaused, string, R> =>
  Effect.flip(effect).pipe(
    Effect.mapError(() => "the run finished instead of pausing"),
    Effect.flatMap((error) =>
      error._tag === "RunPaused" ? Effect.succeed(error as RunPaused) : Effect.fail(`the run failed with ${error._tag}`)
    )
  )

/** A workflow whose steps count their runs: draft, then review (needs approval), then publish. */
const fixture = () => {
  const ran: Array<string> = []
  const count = (name: string) => <A>(value: A) => Effect.sync(() => (ran.push(name), value))
  const publish = Workflow.make({
    name: "Publish",
    input: Schema.String,
    steps: Workflow.sequence(
      Workflow.step("draft", (topic: string) => count("draft")(`A post about ${topic}`)),
      Workflow.step("edit", (post: string) => count("edit")(`${post}, edited`)),
      Workflow.approve(Workflow.step("publish", (post: string) => count("publish")(`published: ${post}`))),
      Workflow.step("announce", (post: string) => count("announce")(post.length))
    )
  })
  return { ran, publish }
}

describe("Workflow.approve", () => {
  it.effect("pauses before the step; approved, the step runs, the earlier ones do not run again", () =>
    Effect.gen(function*() {
      const { publish, ran } = fixture()
      const events: Array<RunEvent.RunEvent> = []
      const first = yield* paused(Runnable.run(publish, "fibers", {
        runId: "w1",
        onEvent: (event) => Effect.sync(() => void events.push(event))
      }))
      assert.deepStrictEqual(ran, ["draft", "edit"])
      assert.deepStrictEqual(first.pending.map((r) => [r.toolCallId, r.tool, r.arguments, r.path]), [
        ["w1#0/2", "publish", "A post about fibers, edited", []]
      ])
      assert.strictEqual(first.state.body._tag, "Workflow")
      const tags = events.map((event) => event._tag)
      assert.deepStrictEqual(tags.slice(-2), ["ApprovalRequested", "RunPaused"])
      assert.notInclude(tags, "RunFailed")
      // The state goes through its schema (stored, sent) and still resumes.
      const stored = Schema.decodeUnknownSync(Approval.State)(JSON.parse(JSON.stringify(Schema.encodeSync(Approval.State)(first.state))))

      const output = yield* Runnable.resume(publish, stored, [Approval.approve(first.pending[0]!)])
      assert.deepStrictEqual(ran, ["draft", "edit", "publish", "announce"])

      // The same output as a run that never paused.
      const fresh = fixture()
      const never = yield* Runnable.run(
        Workflow.make({
          name: "Publish",
          input: Schema.String,
          steps: Workflow.sequence(
            Workflow.step("draft", (topic: string) => Effect.succeed(`A post about ${topic}`)),
            Workflow.step("edit", (post: string) => Effect.succeed(`${post}, edited`)),
            Workflow.step("publish", (post: string) => Effect.succeed(`published: ${post}`)),
            Workflow.step("announce", (post: string) => Effect.succeed(post.length))
          )
        }),
        "fibers"
      )
      assert.deepStrictEqual(fresh.ran, [])
      assert.strictEqual(output.content, never.content)
      assert.strictEqual(output.text, never.text)
      assert.strictEqual(output.runId, "w1")
      assert.isTrue(Workflow.isOutput(output))
      assert.deepStrictEqual(
        (output as Workflow.WorkflowOutput<unknown>).steps.map((step) => [step.step, step._tag === "Completed" && step.output]),
        [
          ["draft", "A post about fibers"],
          ["edit", "A post about fibers, edited"],
          ["publish", "published: A post about fibers, edited"],
          ["publish", "published: A post about fibers, edited"],
          ["announce", 38]
        ]
      )
    }))

  it.effect("rejected with a reason: the step does not run and the run fails with a typed error carrying it", () =>
    Effect.gen(function*() {
      const { publish, ran } = fixture()
      const first = yield* paused(Runnable.run(publish, "fibers"))
      const error = yield* Effect.flip(Runnable.resume(publish, first.state, [Approval.reject(first.pending[0]!, "not today")]))
      assert.strictEqual(error._tag, "WorkflowError")
      assert.strictEqual(error._tag === "WorkflowError" && error.reason, "Rejected")
      assert.strictEqual(error._tag === "WorkflowError" && error.step, "publish")
      assert.include(error.message, "not today")
      assert.deepStrictEqual(ran, ["draft", "edit"])
    }))

  it.effect("a stale (already resumed), forged or foreign state is a typed ApprovalError; an unknown call too", () =>
    Effect.gen(function*() {
      const { publish, ran } = fixture()
      const first = yield* paused(Runnable.run(publish, "fibers"))
      const unknown = yield* Effect.flip(Runnable.resume(publish, first.state, [Approval.approve("nope")]))
      assert.strictEqual(unknown._tag === "ApprovalError" && unknown.reason, "UnknownCall")
      const body = first.state.body as Approval.WorkflowState
      const forged = yield* Effect.flip(Runnable.resume(publish, {
        ...first.state,
        body: { ...body, settled: body.settled.map((each) => ({ ...each, output: "changed" })) }
      }, [Approval.approve(first.pending[0]!)]))
      assert.strictEqual(forged._tag === "ApprovalError" && forged.reason, "Forged")
      const other = Workflow.make({ name: "Other", input: Schema.String, steps: Workflow.step("x", Effect.succeed<string>) })
      const foreign = yield* Effect.flip(Runnable.resume(other, first.state, [Approval.approve(first.pending[0]!)]))
      assert.strictEqual(foreign._tag === "ApprovalError" && foreign.reason, "Stale")
      yield* Runnable.resume(publish, first.state, [Approval.approve(first.pending[0]!)])
      const again = yield* Effect.flip(Runnable.resume(publish, first.state, [Approval.approve(first.pending[0]!)]))
      assert.strictEqual(again._tag === "ApprovalError" && again.reason, "Stale")
      assert.deepStrictEqual(ran, ["draft", "edit", "publish", "announce"])
    }))

  it.effect("a step inside a parallel branch and a condition needs approval; the other branch runs once", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const count = (name: string) => (input: number) => Effect.sync(() => (ran.push(name), input + 1))
      const flow = Workflow.make({
        name: "Branches",
        input: Schema.Number,
        steps: Workflow.sequence(
          Workflow.step("first", count("first")),
          Workflow.parallel([
            Workflow.step("plain", count("plain")),
            Workflow.condition({
              when: (n: number) => n > 0,
              then: Workflow.approve(Workflow.step("gated", count("gated")), { name: "gate", arguments: (n) => ({ n }) })
            })
          ], { onFailure: "either" }),
          Workflow.step("sum", (results) => Effect.sync(() => (ran.push("sum"), JSON.stringify(results))))
        )
      })
      const first = yield* paused(Runnable.run(flow, "1"))
      assert.deepStrictEqual(first.pending.map((r) => [r.tool, r.arguments]), [["gate", { n: 2 }]])
      assert.deepStrictEqual([...ran].sort(), ["first", "plain"])
      const output = yield* Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)])
      assert.deepStrictEqual([...ran].sort(), ["first", "gated", "plain", "sum"])
      assert.include(output.text, "3")
    }))
})

// -----------------------------------------------------------------------------
// An agent step whose tool needs approval
// -----------------------------------------------------------------------------

const Transfer = Tool.make("transfer", { parameters: { to: Schema.String, amount: Schema.Number }, success: Schema.String })
const Bank = Toolkit.make(Transfer)

describe("Workflow approvals inside a step", () => {
  it.effect("an agent step's tool approval surfaces with the step's name in its path and resumes into that step", () => {
    const ledger: Array<string> = []
    const live = Layer.mergeAll(
      TestModel.layer([
        TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
        TestModel.text("Paid Ada.")
      ]),
      Bank.toLayer({ transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`${to}:${amount}`), `sent ${amount}`)) })
    )
    const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })
    const ran: Array<string> = []
    const flow = Workflow.make({
      name: "Payday",
      input: Schema.String,
      steps: Workflow.sequence(
        Workflow.step("prepare", (who: string) => Effect.sync(() => (ran.push("prepare"), `Pay ${who} 10`))),
        Workflow.agent(teller, { name: "pay" }),
        Workflow.step("report", (text: string) => Effect.sync(() => (ran.push("report"), `report: ${text}`)))
      )
    })
    return Effect.gen(function*() {
      const first = yield* paused(Runnable.run(flow, "Ada"))
      assert.deepStrictEqual(first.pending.map((r) => [r.path, r.toolCallId, r.tool]), [[["pay"], "a", "transfer"]])
      assert.deepStrictEqual(ledger, [])
      const output = yield* Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(output.content, "report: Paid Ada.")
      assert.deepStrictEqual(ledger, ["Ada:10"])
      assert.deepStrictEqual(ran, ["prepare", "report"])
      assert.strictEqual((yield* TestModel.requests).length, 2)
      assert.strictEqual(output.metrics.modelCalls, 2)
    }).pipe(Effect.provide(live))
  })
})

// -----------------------------------------------------------------------------
// Over HTTP
// -----------------------------------------------------------------------------

const post = (url: string, body: unknown) =>
  Effect.promise(() =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(async (response) => ({ status: response.status, text: await response.text() }))
  )

describe("Workflow approvals over HTTP", () => {
  it.scopedLive("a run that reaches the step is 202 Paused; resumed through /runs/:id/resume it finishes", () => {
    const { publish, ran } = fixture()
    return Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(Layer.provide(Registry.layer([publish])), Layer.provide(SessionStoreMemory.layer))
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const first = yield* post(`${url}/agents/Publish/runs`, { input: "fibers", runId: "h1" })
      assert.strictEqual(first.status, 202)
      const body = JSON.parse(first.text)
      assert.strictEqual(body._tag, "Paused")
      assert.deepStrictEqual(body.pending.map((r: Approval.Request) => [r.toolCallId, r.tool]), [["h1#0/2", "publish"]])
      assert.deepStrictEqual(ran, ["draft", "edit"])

      const resumed = yield* post(`${url}/runs/h1/resume`, { decisions: [{ _tag: "Approve", toolCallId: "h1#0/2" }] })
      assert.strictEqual(resumed.status, 200)
      assert.include(resumed.text, "38")
      assert.deepStrictEqual(ran, ["draft", "edit", "publish", "announce"])
    }).pipe(Effect.provide(FetchHttpClient.layer))
  })
})

describe("Workflow approvals after a signal and in a nested workflow", () => {
  it.effect("a signal received before the pause is not waited for again; a gate in a nested workflow pauses the outer run", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const Review = Workflow.signal("review", Schema.String)
      const inner = Workflow.make({
        name: "Inner",
        input: Schema.String,
        steps: Workflow.approve(Workflow.step("ship", (text: string) => Effect.sync(() => (ran.push("ship"), `shipped ${text}`))))
      })
      const flow = Workflow.make({
        name: "Reviewed",
        input: Schema.String,
        steps: Workflow.sequence(Review, inner)
      })
      const fiber = yield* Effect.fork(paused(Runnable.run(flow, "x", { runId: "s1" })))
      yield* Effect.yieldNow()
      yield* Workflow.send(Review, "s1", "ok")
      const first = yield* Fiber.join(fiber)
      assert.deepStrictEqual(first.pending.map((r) => [r.toolCallId, r.tool, r.arguments]), [["s1#0/1/0", "ship", "ok"]])
      // No value is sent again: the resumed run takes the one it had.
      const output = yield* Runnable.resume(flow, first.state, [Approval.approve(first.pending[0]!)])
      assert.strictEqual(output.content, "shipped ok")
      assert.deepStrictEqual(ran, ["ship"])
    }))
})
