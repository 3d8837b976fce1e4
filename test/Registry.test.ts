import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import * as Registry from "../src/Registry.js"
import * as Team from "../src/Team.js"

const Shout = Tool.make("shout", { parameters: { text: Schema.String }, success: Schema.String })
const Tools = Toolkit.make(Shout)
const ToolsLive = Tools.toLayer({ shout: ({ text }) => Effect.succeed(text.toUpperCase()) })

const writer = Agent.make({ name: "Writer", description: "Writes things" })
const shouter = Agent.make({ name: "Shouter", toolkit: Tools })
const desk = Team.make({ name: "Desk", mode: "broadcast", members: [writer] })

const model = TestModel.layer((request) => TestModel.text(`re: ${request.lastUserText}`))

const RegistryLive = Registry.layer([writer, shouter, desk]).pipe(
  Layer.provide([model, ToolsLive, SessionStoreMemory.layer])
)

describe("Registry", () => {
  it("infers what its members need to run in sessions", () => {
    const layer = Registry.layer([writer, shouter])
    expectTypeOf(layer).toEqualTypeOf<
      Layer.Layer<
        Registry.Registry,
        never,
        import("@effect/ai/LanguageModel").LanguageModel | Tool.Handler<"shout"> | SessionStore.SessionStore
      >
    >()
  })

  it.effect("lists agents and teams in order, with their descriptions and members", () =>
    Effect.gen(function*() {
      const registry = yield* Registry.Registry
      assert.deepStrictEqual(
        registry.entries.map(({ description, kind, members, name }) => ({ name, kind, description, members })),
        [
          { name: "Writer", kind: "agent", description: "Writes things", members: undefined },
          { name: "Shouter", kind: "agent", description: undefined, members: undefined },
          { name: "Desk", kind: "team", description: undefined, members: ["Writer"] }
        ]
      )
      assert.isTrue(Option.isNone(registry.get("Nobody")))
    }).pipe(Effect.provide(RegistryLive)))

  it.effect("runs an entry with its context provided, in a session when asked", () =>
    Effect.gen(function*() {
      const registry = yield* Registry.Registry
      const writerEntry = Option.getOrThrow(registry.get("Writer"))
      const first = yield* writerEntry.run("hello", { sessionId: "s1", userId: "ada" })
      assert.strictEqual(first.content, "re: hello")
      yield* writerEntry.run("again", { sessionId: "s1", userId: "ada" })
      const store = yield* SessionStore.SessionStore
      const runs = yield* store.load({ userId: "ada", sessionId: "s1" })
      assert.strictEqual(runs.length, 2)
      const team = Option.getOrThrow(registry.get("Desk"))
      const events = yield* Stream.runCollect(team.stream("go"))
      const last = Chunk.unsafeLast(events)
      assert.strictEqual(last._tag, "RunCompleted")
    }).pipe(Effect.provide(Layer.merge(RegistryLive, SessionStoreMemory.layer))))

  it("refuses two entries with one name", () => {
    const exit = Effect.runSyncExit(Layer.build(Registry.layer([writer, writer]).pipe(
      Layer.provide([model, SessionStoreMemory.layer])
    )).pipe(Effect.scoped))
    assert.isTrue(Exit.isFailure(exit))
    assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "Writer")
  })
})
