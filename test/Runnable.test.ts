/**
 * One protocol for everything that runs: a runnable of its own (neither an agent nor a team) runs,
 * streams, keeps sessions, prints, is a team's member, and is served by the registry and the HTTP
 * app, with no change to any of them.
 */
import * as Prompt from "@effect/ai/Prompt"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Fiber from "effect/Fiber"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"
import * as Run from "../src/Run.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Runnable from "../src/Runnable.js"
import * as Team from "../src/Team.js"

/** A service the custom runnable needs, so that its requirements show in the types. */
class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}

/**
 * Answers with the message reversed, prefixed by the greeting it reads; it reports its own events
 * (started, one text delta, completed) and says how much history it was given.
 */
const reverse = Runnable.make({
  name: "Reverse",
  kind: "reverser",
  description: "Reverses the message",
  run: (input, context) =>
    Effect.gen(function*() {
      const greeting = yield* Greeting
      const text = Run.lastUserText(input) ?? ""
      const content = `${greeting} ${[...text].reverse().join("")} (history: ${context.history?.length ?? 0})`
      const output = Run.makeOutput({
        runId: context.runId,
        agent: "Reverse",
        content,
        messages: [
          ...(context.history ?? []),
          Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text })] }),
          Prompt.makeMessage("assistant", { content: [Prompt.makePart("text", { text: content })] })
        ]
      })
      if (context.emit !== undefined) {
        yield* context.emit(new RunEvent.RunStarted({ runId: context.runId, agent: "Reverse" }))
        yield* context.emit(new RunEvent.TextDelta({ runId: context.runId, delta: content }))
        yield* context.emit(new RunEvent.RunCompleted({ runId: context.runId, output }))
      }
      return output
    })
})

const provideGreeting = Effect.provideService(Greeting, "hello,")

describe("a runnable of one's own", () => {
  it("is typed by what it needs and answers", () => {
    expectTypeOf(reverse).toEqualTypeOf<Runnable.Runnable<string, Greeting>>()
    expectTypeOf(Runnable.run(reverse, "abc")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, import("../src/AgentError.js").AgentError, Greeting>
    >()
  })

  it.effect("runs, with a run id of its own or the caller's", () =>
    Effect.gen(function*() {
      const output = yield* Runnable.run(reverse, "abc").pipe(provideGreeting)
      assert.strictEqual(output.content, "hello, cba (history: 0)")
      assert.isTrue(output.runId.length > 0)
      const named = yield* Runnable.run(reverse, "abc", { runId: "r-1" }).pipe(provideGreeting)
      assert.strictEqual(named.runId, "r-1")
    }))

  it.effect("streams the events it reports, and onEvent sees them in a plain run", () =>
    Effect.gen(function*() {
      const events = yield* Stream.runCollect(Runnable.stream(reverse, "abc")).pipe(provideGreeting)
      assert.deepStrictEqual(Chunk.toReadonlyArray(events).map((event) => event._tag), [
        "RunStarted",
        "TextDelta",
        "RunCompleted"
      ])
      const seen: Array<string> = []
      yield* Runnable.run(reverse, "abc", { onEvent: (event) => Effect.sync(() => seen.push(event._tag)) }).pipe(
        provideGreeting
      )
      assert.deepStrictEqual(seen, ["RunStarted", "TextDelta", "RunCompleted"])
    }))

  it.effect("keeps a session: its runs are recorded and come back as history", () =>
    Effect.gen(function*() {
      const options = { sessionId: "s1", userId: "ada" } as const
      yield* Runnable.run(reverse, "one", options)
      const second = yield* Runnable.run(reverse, "two", options)
      assert.strictEqual(second.content, "hello, owt (history: 2)")
      const store = yield* SessionStore.SessionStore
      const records = yield* store.load({ userId: "ada", sessionId: "s1" })
      assert.deepStrictEqual(records.map((record) => [record.agent, record.status]), [
        ["Reverse", "completed"],
        ["Reverse", "completed"]
      ])
    }).pipe(provideGreeting, Effect.provide(SessionStoreMemory.layer)))

  it.effect("prints like an agent", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const write = (text: string) => Effect.sync(() => void written.push(text))
      for (const stream of [false, true]) {
        written.length = 0
        yield* Runnable.printResponse(reverse, "abc", { stream, color: false, write }).pipe(provideGreeting)
        const text = written.join("")
        assert.include(text, "Message:\nabc")
        assert.include(text, "Response:\nhello, cba (history: 0)")
      }
    }))

  it.effect("is a team's member, with its requirements in the team's", () =>
    Effect.gen(function*() {
      const desk = Team.make({ name: "Desk", mode: "route", members: [reverse, Agent.make({ name: "Echo" })] })
      expectTypeOf(desk).toEqualTypeOf<Team.Team<string, Greeting | import("@effect/ai/LanguageModel").LanguageModel>>()
      const fiber = yield* Effect.fork(
        Team.run(desk, "abc").pipe(
          provideGreeting,
          Effect.provide(TestModel.layer([TestModel.text(JSON.stringify({ member: "Reverse" }))]))
        )
      )
      yield* TestClock.adjust("1 second")
      const output = yield* Fiber.join(fiber)
      assert.strictEqual(output.content, "hello, cba (history: 0)")
      assert.deepStrictEqual(output.memberRuns.map((run) => [run.member, run._tag]), [["Reverse", "Completed"]])
    }))

  it.scopedLive("is served by the registry and the HTTP app as it is", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([reverse, Agent.make({ name: "Echo" })])),
          Layer.provide(Layer.succeed(Greeting, "hi,")),
          Layer.provide(TestModel.layer([TestModel.text("echo")])),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const client = yield* HttpApi.client(url).pipe(Effect.provide(FetchHttpClient.layer))
      const listed = yield* client.agents.list()
      assert.deepStrictEqual(listed.map((entry) => [entry.name, entry.kind]), [["Reverse", "reverser"], ["Echo", "agent"]])
      const output = yield* client.runs.run({ path: { name: "Reverse" }, payload: { input: "abc" } })
      assert.strictEqual(output.content, "hi, cba (history: 0)")
      const events = yield* Stream.runCollect(client.stream("Reverse", { input: "abc" }))
      assert.deepStrictEqual(Chunk.toReadonlyArray(events).map((event) => event._tag), [
        "RunStarted",
        "TextDelta",
        "RunCompleted"
      ])
    }))
})
