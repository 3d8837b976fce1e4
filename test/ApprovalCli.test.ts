import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Path from "node:path"
import * as Cli from "../cli/Cli.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"

const agents = Path.resolve(import.meta.dirname, "fixtures", "approvalAgents.ts")

/** `run teller ...` in process, its terminal answering with `lines`. */
const run = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const out = yield* Ref.make("")
    const err = yield* Ref.make("")
    const prompts = yield* Ref.make<ReadonlyArray<string>>([])
    const input = yield* Ref.make(lines)
    const stdio = Cli.Stdio.of({
      out: (text) => Ref.update(out, (all) => all + text),
      err: (text) => Ref.update(err, (all) => all + text),
      readLine: (prompt) =>
        Effect.zipRight(
          Ref.update(prompts, (all) => [...all, prompt]),
          Ref.modify(input, (rest) => [Option.fromNullable(rest[0]), rest.slice(1)])
        ),
      color: false,
      interrupted: Effect.never
    })
    const backend = Layer.effect(
      Cli.Backend,
      Effect.map(Cli.Backend, (live) =>
        Cli.Backend.of({
          ...live,
          model: Layer.merge(TestModel.layer([]), Layer.succeed(Cli.ModelInUse, { name: "test:scripted" })),
          store: () => SessionStoreMemory.layer
        }))
    ).pipe(Layer.provide(Cli.layerBackend))
    const exit = yield* Cli.run(["node", "effect-agents", "run", "teller", "Pay Ada", "--agents", agents]).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Cli.Stdio, stdio), backend)),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, out: yield* Ref.get(out), err: yield* Ref.get(err), prompts: yield* Ref.get(prompts) }
  })

describe("Cli approvals", () => {
  it.live("y approves: the call runs and the run goes on", () =>
    Effect.gen(function*() {
      const result = yield* run(["y"])
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.deepStrictEqual(result.prompts, ["Approve transfer({\"to\":\"Ada\",\"amount\":10})? [y]es / [n]o / [e]dit › "])
      assert.include(result.out, "Paused after")
      assert.include(result.out, "Outcome: done: \"sent 10 to Ada\"")
    }))

  it.live("n rejects with the reason typed, which the model is told", () =>
    Effect.gen(function*() {
      const result = yield* run(["n", "too much"])
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.include(result.out, "Outcome: not done")
      assert.include(result.out, "too much")
    }))

  it.live("e approves with arguments typed as JSON; what is not JSON is asked again", () =>
    Effect.gen(function*() {
      const result = yield* run(["maybe", "e", "{not json", "e", "{\"to\":\"Ada\",\"amount\":3}"])
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.include(result.err, "Answer y, n or e.")
      assert.include(result.err, "That is not JSON")
      assert.include(result.out, "Outcome: done: \"sent 3 to Ada\"")
    }))
})
