import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"
import * as Run from "../src/Run.js"
import * as Runnable from "../src/Runnable.js"

const Transfer = Tool.make("transfer", {
  parameters: { to: Schema.String, amount: Schema.Number },
  success: Schema.String
})
const Bank = Toolkit.make(Transfer)

const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })

// A runnable with no model: it cannot pause.
const reverse = Runnable.make({
  name: "Reverse",
  run: (input, context) =>
    Effect.succeed(Run.makeOutput({ runId: context.runId, agent: "Reverse", content: [...String(input)].reverse().join("") }))
})

const live = (ledger: Array<string>) =>
  Layer.mergeAll(
    TestModel.layer([
      TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
      TestModel.text("Sent.")
    ]),
    Bank.toLayer({ transfer: ({ amount, to }) => Effect.sync(() => (ledger.push(`${to}:${amount}`), "sent")) })
  )

const pausedOf = <A, R>(effect: Effect.Effect<A, { readonly _tag: string }, R>) =>
  Effect.flatMap(
    Effect.flip(effect),
    (error) => error._tag === "RunPaused" ? Effect.succeed(error as RunPaused) : Effect.dieMessage(`failed: ${error._tag}`)
  )

describe("Resuming through the runnable protocol", () => {
  it.effect("Runnable.resume resumes an agent's pause; a runnable that cannot pause fails with a typed error", () => {
    const ledger: Array<string> = []
    return Effect.gen(function*() {
      const pause = yield* pausedOf(Runnable.run(teller, "Pay Ada"))
      const refused = yield* Effect.flip(Runnable.resume(reverse, pause.state, [Approval.approve("a")]))
      assert.strictEqual(refused._tag, "ApprovalError")
      assert.include(refused.message, "cannot pause")
      assert.deepStrictEqual(ledger, [])
      const events = yield* Stream.runCollect(Runnable.resumeStream(teller, pause.state, [Approval.approve("a")]))
      const tags = Chunk.toReadonlyArray(events).map((event) => event._tag)
      assert.deepStrictEqual([tags[0], tags[tags.length - 1]], ["ToolCallStarted", "RunCompleted"])
      assert.deepStrictEqual(ledger, ["Ada:10"])
    }).pipe(Effect.provide(live(ledger)))
  })

  it.effect("the registry resumes every entry through the protocol, without knowing its kind", () => {
    const ledger: Array<string> = []
    // A kind of one's own that wraps an agent, pauses with it and resumes with it.
    class Wrapped extends Runnable.Base {
      readonly name = "Wrapped"
      readonly description = undefined
      readonly role = undefined
      readonly kind = "wrapper"
      readonly markdown = false
      readonly parts = undefined
      runIn(input: Run.Input, context: Runnable.RunContext) {
        return teller.runIn(input, context)
      }
      override resumeIn(state: Approval.State, decisions: ReadonlyArray<Approval.Decision>, emit: Runnable.Emit | undefined) {
        return teller.resumeIn(state, decisions, emit)
      }
    }
    const wrapped = new Wrapped() as unknown as Runnable.Runnable<string>
    return Effect.gen(function*() {
      const registry = yield* Registry.Registry
      const own = Option.getOrThrow(registry.get("Wrapped"))
      const made = Option.getOrThrow(registry.get("Reverse"))
      const pause = yield* pausedOf(own.run("Pay Ada"))
      // A made runnable has a resume too: it says it cannot pause.
      assert.isDefined(made.resume)
      const refused = yield* Effect.flip(made.resume!(pause.state, [Approval.approve("a")]))
      assert.strictEqual(refused._tag, "ApprovalError")
      const output = yield* own.resume!(pause.state, [Approval.approve("a")])
      assert.strictEqual(output.text, "Sent.")
      assert.deepStrictEqual(ledger, ["Ada:10"])
    }).pipe(Effect.provide(
      Registry.layer([wrapped, reverse]).pipe(Layer.provideMerge(live(ledger)), Layer.provide(SessionStoreMemory.layer))
    ))
  })
})
