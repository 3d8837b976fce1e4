/**
 * The run loop's own refusal of decisions it cannot use. `Approval.admit` (through the resume's
 * check) refuses them first; these tests hand the loop checked decisions directly, past that check,
 * so a loop that relied on it would run a question's handler or settle an approval with an answer.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { AgentError, RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import type { Definition } from "../src/internal/definition.js"
import * as InternalLoop from "../src/internal/loop.js"
import type { Decided } from "../src/internal/resume.js"

const AskUser = Tool.make("ask_user", {
  parameters: { question: Schema.String },
  success: Schema.Struct({ city: Schema.String })
})
const Transfer = Tool.make("transfer", { parameters: { to: Schema.String }, success: Schema.String })
const Kit = Toolkit.make(AskUser, Transfer)

const agent = Agent.make({
  name: "Desk",
  toolkit: Kit,
  approval: { ask_user: Approval.input, transfer: true }
})

const setup = () => {
  const ran: Array<string> = []
  const layer = Layer.merge(
    TestModel.layer([
      TestModel.toolCalls([
        { id: "q", name: "ask_user", params: { question: "Where to?" } },
        { id: "t", name: "transfer", params: { to: "Ada" } }
      ]),
      TestModel.text("Done.")
    ]),
    Kit.toLayer({
      ask_user: () => Effect.sync(() => (ran.push("ask_user"), { city: "" })),
      transfer: ({ to }) => Effect.sync(() => (ran.push("transfer"), `sent to ${to}`))
    })
  )
  return { ran, layer }
}

/** The agent's paused state, and the loop continued with `decided` as if the resume's check had passed them. */
const restored = (decide: (calls: ReadonlyArray<Approval.AgentState["calls"][number]>) => ReadonlyArray<Decided>) =>
  Effect.gen(function*() {
    const paused = (yield* Effect.flip(Agent.run(agent, "Book it"))) as RunPaused
    assert.strictEqual(paused._tag, "RunPaused")
    const body = paused.state.body as Approval.AgentState
    const outcome = yield* InternalLoop.restore(
      agent as unknown as Definition,
      { body, decided: decide(body.calls), nested: new Map() },
      undefined
    ).pipe(
      (run) => run as Effect.Effect<unknown, AgentError>,
      Effect.map(() => "the run went on"),
      // A loop that spins must fail the test rather than hang it.
      Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the run did not end" }),
      Effect.either
    )
    // Only a tag and a reason are compared: a run's output handed to an assertion is slow to print.
    const error = Either.isLeft(outcome) && typeof outcome.left !== "string" ? outcome.left as AgentError : undefined
    return {
      outcome: error === undefined ? Either.isLeft(outcome) ? outcome.left : outcome.right : error._tag,
      reason: error?._tag === "ApprovalError" ? error.reason : undefined,
      message: error?.message ?? "",
      modelCalls: (yield* TestModel.requests).length
    }
  })

const pick = (calls: ReadonlyArray<Approval.AgentState["calls"][number]>, id: string) => ({
  ...calls.find((call) => call.id === id)!,
  providerExecuted: false
})

describe("the run loop's resume", () => {
  it.live("an approval of a tool's question is refused with an ApprovalError: the handler never runs", () => {
    const { layer, ran } = setup()
    return Effect.gen(function*() {
      const result = yield* restored((calls) => [
        { call: pick(calls, "q"), rejection: undefined },
        { call: pick(calls, "t"), rejection: undefined }
      ])
      assert.deepStrictEqual([result.outcome, result.reason], ["ApprovalError", "InvalidArguments"])
      assert.include(result.message, "asks a question")
      assert.deepStrictEqual(ran, [])
      assert.strictEqual(result.modelCalls, 1)
    }).pipe(Effect.provide(layer))
  })

  it.live("an answer to a call that waits for approval is refused: the answer does not become its result", () => {
    const { layer, ran } = setup()
    return Effect.gen(function*() {
      const result = yield* restored((calls) => [
        { call: pick(calls, "q"), rejection: undefined, answer: Either.right({ city: "Lisbon" }) as never },
        { call: pick(calls, "t"), rejection: undefined, answer: Either.right("sent to Bob") as never }
      ])
      assert.deepStrictEqual([result.outcome, result.reason], ["ApprovalError", "InvalidArguments"])
      assert.include(result.message, "waits for approval")
      assert.deepStrictEqual(ran, [])
      assert.strictEqual(result.modelCalls, 1)
    }).pipe(Effect.provide(layer))
  })

  it.live("a decision on a call that does not wait is refused: the call is not run again", () => {
    const { layer, ran } = setup()
    return Effect.gen(function*() {
      const result = yield* restored((calls) => [
        { call: pick(calls, "q"), rejection: undefined, answer: Either.right({ city: "Lisbon" }) as never },
        { call: { ...pick(calls, "t"), id: "elsewhere" }, rejection: undefined }
      ])
      assert.deepStrictEqual([result.outcome, result.reason], ["ApprovalError", "UnknownCall"])
      assert.deepStrictEqual(ran, [])
      assert.strictEqual(result.modelCalls, 1)
    }).pipe(Effect.provide(layer))
  })

  it.live("decisions of the right kind go on: the answer is the question's result, the approved call runs", () => {
    const { layer, ran } = setup()
    return Effect.gen(function*() {
      const result = yield* restored((calls) => [
        { call: pick(calls, "q"), rejection: undefined, answer: Either.right({ city: "Lisbon" }) as never },
        { call: pick(calls, "t"), rejection: undefined }
      ])
      assert.strictEqual(result.outcome, "the run went on")
      assert.deepStrictEqual(ran, ["transfer"])
      assert.strictEqual(result.modelCalls, 2)
    }).pipe(Effect.provide(layer))
  })
})
