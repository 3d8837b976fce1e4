import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as SessionStateLayer from "../layers/SessionState.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionState from "../services/SessionState.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import { type AgentError, ModelError, RunTimeout } from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"
import type * as Run from "../src/Run.js"
import type * as RunEvent from "../src/RunEvent.js"
import { backends, newUser } from "./fixtures/sessionStores.js"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

const chat = Agent.make({ name: "Chat", instructions: "Be brief.", retry: Retry.none })

/** A model that answers every message with "re: <the message>". */
const echo = TestModel.layer((request) => TestModel.text(`re: ${request.lastUserText}`))

const textOf = (message: Prompt.Message): string =>
  typeof message.content === "string"
    ? message.content
    : message.content.map((part) =>
      part.type === "text"
        ? part.text
        : part.type === "tool-call"
        ? `call:${part.name}`
        : part.type === "tool-result"
        ? `result:${part.name}`
        : part.type
    ).join("")

const transcript = (messages: ReadonlyArray<Prompt.Message>) => messages.map((m) => `${m.role}: ${textOf(m)}`)

const loadAll = (key: SessionStore.SessionKey) => Effect.flatMap(SessionStore.SessionStore, (store) => store.load(key))

const Cart = SessionState.key("cart", Schema.Array(Schema.String), [])

const AddToCart = Tool.make("add_to_cart", {
  parameters: { item: Schema.String },
  success: Schema.Array(Schema.String),
  failure: SessionStore.SessionStoreError,
  dependencies: [SessionState.SessionState]
})
const CartTools = Toolkit.make(AddToCart)
const CartToolsLive = CartTools.toLayer({
  add_to_cart: ({ item }) => SessionState.update(Cart, (cart) => [...cart, item])
})
const shop = Agent.make({ name: "Shop", toolkit: CartTools, retry: Retry.none })

/** A store whose appends fail, or take `delay` (virtual time) before they land. */
const storeWith = (options: { readonly failAppend?: boolean; readonly appendDelay?: Duration.DurationInput }) =>
  Layer.effect(
    SessionStore.SessionStore,
    Effect.map(SessionStoreMemory.makeSessionStore, (store): SessionStore.Service => ({
      ...store,
      append: (record) =>
        options.failAppend === true
          ? Effect.fail(
            new SessionStore.SessionStoreError({ operation: "append", reason: "Unavailable", message: "disk full" })
          )
          : options.appendDelay !== undefined
          ? Effect.zipRight(Effect.sleep(options.appendDelay), store.append(record))
          : store.append(record)
    }))
  )

// -----------------------------------------------------------------------------
// Conversations
// -----------------------------------------------------------------------------

describe("Agent.run with a session", () => {
  it.effect("puts the session's earlier turns before the input, and records each run's own turn", () =>
    Effect.gen(function*() {
      const options = { sessionId: "s1", userId: "ada" }
      yield* Agent.run(chat, "My name is Ada.", { ...options, runId: "r1" })
      const second = yield* Agent.run(chat, "What is my name?", { ...options, runId: "r2" })

      const [, request] = yield* TestModel.requests
      assert.deepStrictEqual(transcript(request!.prompt.content), [
        "system: Be brief.",
        "user: My name is Ada.",
        "assistant: re: My name is Ada.",
        "user: What is my name?"
      ])
      assert.deepStrictEqual(transcript(second.messages).slice(1), [
        "user: My name is Ada.",
        "assistant: re: My name is Ada.",
        "user: What is my name?",
        "assistant: re: What is my name?"
      ])

      const records = yield* loadAll({ userId: "ada", sessionId: "s1" })
      assert.deepStrictEqual(records.map((r) => [r.runId, r.status, r.agent, r.userId, r.sessionId]), [
        ["r1", "completed", "Chat", "ada", "s1"],
        ["r2", "completed", "Chat", "ada", "s1"]
      ])
      // Each record holds its own turn only: never the instructions or the history again.
      assert.deepStrictEqual(transcript(records[1]!.messages), ["user: What is my name?", "assistant: re: What is my name?"])
      assert.deepStrictEqual(transcript(records[1]!.input), ["user: What is my name?"])
      const last = records[1]!
      assert.strictEqual(last.status === "completed" && last.output.content, "re: What is my name?")
      assert.deepStrictEqual(last.metrics, second.metrics)
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))

  it.effect("replays tool calls of earlier turns in order, and records them", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "shop" }
      const first = yield* Agent.run(shop, "Add tea.", key)
      assert.deepStrictEqual(first.toolCalls.map((call) => call.result), [["tea"]])
      yield* Agent.run(shop, "What is in my cart?", key)
      const [, , request] = yield* TestModel.requests
      assert.deepStrictEqual(transcript(request!.prompt.content), [
        "user: Add tea.",
        "assistant: call:add_to_cart",
        "tool: result:add_to_cart",
        "assistant: Added.",
        "user: What is in my cart?"
      ])
      const [record] = yield* loadAll(key)
      assert.deepStrictEqual(record!.toolCalls.map((call) => [call.name, call.arguments]), [["add_to_cart", { item: "tea" }]])
    }).pipe(Effect.provide(Layer.mergeAll(
      SessionStoreMemory.layer,
      CartToolsLive,
      TestModel.layer([
        TestModel.toolCall("add_to_cart", { item: "tea" }),
        TestModel.text("Added."),
        TestModel.text("Tea.")
      ])
    ))))

  it.effect("loads the last historyRuns runs; a message cap leaves out older runs whole", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "long" }
      for (const n of [1, 2, 3, 4]) yield* Agent.run(chat, `turn ${n}`, key)
      const prompt = (options: Agent.SessionOptions) =>
        Effect.gen(function*() {
          yield* Agent.run(chat, "now", { ...key, ...options, sessionId: "long" })
          const all = yield* TestModel.requests
          return transcript(all[all.length - 1]!.prompt.content).filter((line) => line.startsWith("user"))
        })
      assert.deepStrictEqual(yield* prompt({ historyRuns: 2 }), ["user: turn 3", "user: turn 4", "user: now"])
      assert.deepStrictEqual(yield* prompt({ historyRuns: 0 }), ["user: now"])
      // The default (10) reaches back to the first turn; by now the session has 7 runs.
      assert.deepStrictEqual(yield* prompt({}), [
        "user: turn 1",
        "user: turn 2",
        "user: turn 3",
        "user: turn 4",
        "user: now",
        "user: now",
        "user: now"
      ])
      // 2 messages per run: a cap of 5 fits two runs, not two and a half.
      assert.deepStrictEqual(yield* prompt({ historyMessages: 5 }), ["user: now", "user: now", "user: now"])
      assert.deepStrictEqual(yield* prompt({ historyMessages: 1 }), ["user: now"])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))

  it.effect("a new session starts with the first run; a prompt input is recorded as given", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "fresh" }
      const input = Prompt.make([{ role: "user", content: "from a prompt" }])
      yield* Agent.run(chat, input, key)
      const [record] = yield* loadAll(key)
      assert.deepStrictEqual(transcript(record!.input), ["user: from a prompt"])
      assert.deepStrictEqual(transcript(record!.messages), ["user: from a prompt", "assistant: re: from a prompt"])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))

  it.effect("an empty session or user id is refused before the model is called", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Agent.run(chat, "hi", { sessionId: "", userId: "ada" }))
      assert.strictEqual(error._tag === "SessionStoreError" && error.reason, "InvalidInput")
      const noUser = yield* Effect.flip(Agent.run(chat, "hi", { sessionId: "s", userId: "" }))
      assert.strictEqual(noUser._tag === "SessionStoreError" && noUser.reason, "InvalidInput")
      assert.deepStrictEqual(yield* TestModel.requests, [])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))

  it.effect("without a userId, a session belongs to the anonymous user", () =>
    Effect.gen(function*() {
      yield* Agent.run(chat, "hi", { sessionId: "s" })
      const records = yield* loadAll({ userId: SessionStore.anonymousUser, sessionId: "s" })
      assert.strictEqual(records.length, 1)
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))
})

// -----------------------------------------------------------------------------
// Outcomes
// -----------------------------------------------------------------------------

describe("a session records every outcome", () => {
  it.effect("a failed run: recorded with its typed error, never replayed", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const error = yield* Effect.flip(Agent.run(chat, "first", key))
      assert.instanceOf(error, ModelError)
      yield* Agent.run(chat, "second", key)
      const [, request] = yield* TestModel.requests
      assert.deepStrictEqual(transcript(request!.prompt.content), ["system: Be brief.", "user: second"])

      const [failed, completed] = yield* loadAll(key)
      assert.strictEqual(failed!.status, "failed")
      assert.strictEqual(completed!.status, "completed")
      if (failed!.status !== "failed") return
      assert.instanceOf(failed!.error, ModelError)
      assert.strictEqual((failed!.error as ModelError).reason, "Unauthorized")
      assert.deepStrictEqual(transcript(failed!.messages), ["user: first"])
    }).pipe(Effect.provide(Layer.merge(
      SessionStoreMemory.layer,
      TestModel.layer([TestModel.httpError(401), TestModel.text("ok")])
    ))))

  it.effect("a run that times out is recorded as failed with RunTimeout", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const fiber = yield* Effect.fork(Agent.run(Agent.withTimeout(chat, "2 seconds"), "slow", key))
      yield* TestClock.adjust("3 seconds")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const [record] = yield* loadAll(key)
      assert.strictEqual(record!.status, "failed")
      assert.instanceOf(record!.status === "failed" ? record!.error : undefined, RunTimeout)
      assert.strictEqual(record!.finishedAt.epochMillis - record!.startedAt.epochMillis, 2000)
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer([TestModel.text("late", { delay: "10 seconds" })])))))

  it.effect("an interrupted run is recorded as cancelled", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const fiber = yield* Effect.fork(Agent.run(chat, "never mind", key))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const [record] = yield* loadAll(key)
      assert.strictEqual(record!.status, "cancelled")
      assert.deepStrictEqual(transcript(record!.input), ["user: never mind"])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer([TestModel.text("late", { delay: "10 seconds" })])))))

  it.effect("a stream its reader stops is recorded as cancelled; a finished one as completed", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const all = yield* Stream.runCollect(Agent.stream(chat, "whole", key))
      assert.strictEqual(Chunk.unsafeLast(all)._tag, "RunCompleted")
      const firstTwo = yield* Stream.runCollect(Stream.take(Agent.stream(chat, "part", key), 2))
      assert.strictEqual(Chunk.size(firstTwo), 2)
      const records = yield* loadAll(key)
      assert.deepStrictEqual(records.map((r) => [transcript(r.input)[0], r.status]), [
        ["user: whole", "completed"],
        ["user: part", "cancelled"]
      ])
    }).pipe(Effect.provide(Layer.merge(
      SessionStoreMemory.layer,
      TestModel.layer([TestModel.text("all of it", { chunks: 3 }), TestModel.text("some of it", { chunks: 3, chunkDelay: "1 second" })])
    ))))

  it.effect("a run that dies is recorded as failed with its defect, and still dies", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const exit = yield* Effect.exit(Agent.run(chat, "boom", key))
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause))
      const [record] = yield* loadAll(key)
      assert.strictEqual(record!.status, "failed")
      const error = record!.status === "failed" ? record!.error : undefined
      assert.strictEqual(error?._tag, "RunDefect")
      assert.match((error as SessionStore.RunDefect).message, /no reply scripted/)
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer([])))))

  it.effect("the append is not interruptible: a run interrupted while it is saved is saved whole", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const fiber = yield* Effect.fork(Agent.run(chat, "save me", key))
      yield* TestClock.adjust("1 second") // the model has answered; the append is under way
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isNone(yield* Fiber.poll(interrupting)), "interruption waits for the append")
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(interrupting)
      const [record] = yield* loadAll(key)
      assert.strictEqual(record!.status, "completed")
    }).pipe(Effect.provide(Layer.merge(storeWith({ appendDelay: "5 seconds" }), echo))))

  it.effect("a failed append is never silent: the run fails with the store's error", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const error = yield* Effect.flip(Agent.run(chat, "hi", key))
      assert.strictEqual(error._tag, "SessionStoreError")
      // A run that failed keeps its own error first, the store's after it.
      const exit = yield* Effect.exit(Agent.run(chat, "hi", key))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      const failures = Chunk.toReadonlyArray(Cause.failures(exit.cause)).map((e) => e._tag)
      assert.deepStrictEqual(failures, ["ModelError", "SessionStoreError"])
      assert.strictEqual(Option.getOrThrow(Cause.failureOption(exit.cause))._tag, "ModelError")
    }).pipe(Effect.provide(Layer.merge(
      storeWith({ failAppend: true }),
      TestModel.layer([TestModel.text("answer"), TestModel.httpError(400)])
    ))))

  it.effect("a history that cannot be loaded fails the run before the model is called", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Agent.run(chat, "hi", { userId: "ada", sessionId: "s" }))
      assert.strictEqual(error._tag, "SessionStoreError")
      assert.strictEqual((error as SessionStore.SessionStoreError).reason, "Corrupt")
      assert.deepStrictEqual(yield* TestModel.requests, [])
    }).pipe(Effect.provide(Layer.merge(
      Layer.succeed(SessionStore.SessionStore, {
        load: (key) =>
          Effect.fail(
            new SessionStore.SessionStoreError({ operation: "load", reason: "Corrupt", message: "bad row", ...key })
          ),
        append: () => Effect.void,
        list: () => Effect.succeed([]),
        delete: () => Effect.void,
        state: () => Effect.succeed({}),
        modifyState: (_, f) => Effect.succeed(f({})[0])
      }),
      echo
    ))))
})

// -----------------------------------------------------------------------------
// Events, printing and services
// -----------------------------------------------------------------------------

describe("sessions everywhere a run goes", () => {
  it.effect("onEvent and streaming see the usual events", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const seen: Array<string> = []
      yield* Agent.run(chat, "one", { ...key, onEvent: (event) => Effect.sync(() => seen.push(event._tag)) })
      assert.deepStrictEqual(seen, ["RunStarted", "ModelRequestStarted", "TextDelta", "ModelRequestCompleted", "RunCompleted"])
      const events = yield* Stream.runCollect(Agent.stream(chat, "two", key))
      const completed = Chunk.unsafeLast(events) as RunEvent.RunCompleted
      assert.deepStrictEqual(transcript(completed.output.messages).slice(1, 3), ["user: one", "assistant: re: one"])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))

  it.effect("printResponse runs in the session", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      let printed = ""
      const write = (text: string) => Effect.sync(() => void (printed += text))
      yield* Agent.printResponse(chat, "first", { ...key, color: false, write })
      yield* Agent.printResponse(chat, "second", { ...key, color: false, stream: true, write })
      assert.match(printed, /re: second/)
      assert.deepStrictEqual((yield* loadAll(key)).map((r) => r.status), ["completed", "completed"])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))

  it.effect("an agent as a SessionService runs in the session its caller names", () =>
    Effect.gen(function*() {
      class Chat extends Context.Tag("test/Chat")<Chat, Agent.SessionService>() {}
      const ChatLive = Agent.layer(Chat, chat)
      expectTypeOf(ChatLive).toEqualTypeOf<Layer.Layer<Chat, never, LanguageModel.LanguageModel | SessionStore.SessionStore>>()
      const service = yield* Effect.provide(Chat, ChatLive)
      yield* service.run("I am Ada.", { sessionId: "s", userId: "ada" })
      const events = yield* Stream.runCollect(service.stream("Who am I?", { sessionId: "s", userId: "ada" }))
      const output = (Chunk.unsafeLast(events) as RunEvent.RunCompleted).output
      assert.deepStrictEqual(transcript(output.messages).slice(1, 3), ["user: I am Ada.", "assistant: re: I am Ada."])
      assert.strictEqual((yield* loadAll({ userId: "ada", sessionId: "s" })).length, 2)
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, echo))))
})

// -----------------------------------------------------------------------------
// Session state
// -----------------------------------------------------------------------------

describe("session state", () => {
  it.effect("tools read and change the state of the run's session, and it is kept with the session", () =>
    Effect.gen(function*() {
      const ada = { userId: "ada", sessionId: "s" }
      const bob = { userId: "bob", sessionId: "s" }
      yield* Agent.run(shop, "tea", ada)
      yield* Agent.run(shop, "milk", ada)
      yield* Agent.run(shop, "coffee", bob)
      const cart = (key: SessionStore.SessionKey) =>
        Effect.provide(SessionState.get(Cart), SessionStateLayer.layer(key))
      assert.deepStrictEqual(yield* cart(ada), ["tea", "milk"])
      assert.deepStrictEqual(yield* cart(bob), ["coffee"])
      assert.deepStrictEqual(yield* cart({ userId: "ada", sessionId: "other" }), [])
    }).pipe(Effect.provide(Layer.mergeAll(
      SessionStoreMemory.layer,
      CartToolsLive,
      TestModel.layer((request) =>
        request.prompt.content[request.prompt.content.length - 1]!.role === "tool"
          ? TestModel.text("Added.")
          : TestModel.toolCall("add_to_cart", { item: request.lastUserText })
      )
    ))))

  it.effect("concurrent runs changing the same key lose nothing", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const runs = yield* Effect.fork(Effect.forEach(
        Array.from({ length: 20 }, (_, i) => `item ${i}`),
        (item) => Agent.run(shop, item, key),
        { concurrency: "unbounded", discard: true }
      ))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(runs)
      const cart = yield* Effect.provide(SessionState.get(Cart), SessionStateLayer.layer(key))
      assert.strictEqual(cart.length, 20)
      assert.strictEqual(new Set(cart).size, 20)
    }).pipe(Effect.provide(Layer.mergeAll(
      SessionStoreMemory.layer,
      CartToolsLive,
      TestModel.layer((request) =>
        request.prompt.content[request.prompt.content.length - 1]!.role === "tool"
          ? TestModel.text("Added.", { delay: "10 millis" })
          : TestModel.toolCall("add_to_cart", { item: request.lastUserText }, { delay: "10 millis" })
      )
    ))))

  it.effect("a stored value that no longer matches its key's schema is a typed error for the tool", () =>
    Effect.gen(function*() {
      const key = { userId: "ada", sessionId: "s" }
      const store = yield* SessionStore.SessionStore
      yield* store.modifyState(key, () => [undefined, { cart: "not a list" }])
      const output = yield* Agent.run(shop, "tea", key)
      assert.strictEqual(output.toolCalls[0]!.failure, "Failed")
      assert.include(JSON.stringify(output.toolCalls[0]!.result), "Corrupt")
    }).pipe(Effect.provide(Layer.mergeAll(
      SessionStoreMemory.layer,
      CartToolsLive,
      TestModel.layer([TestModel.toolCall("add_to_cart", { item: "tea" }), TestModel.text("Sorry.")])
    ))))

  it.effect("set, update, remove and initial values; in memory without a session", () =>
    Effect.gen(function*() {
      const Visits = SessionState.key("visits", Schema.NumberFromString, 0)
      assert.strictEqual(yield* SessionState.get(Visits), 0)
      yield* SessionState.set(Visits, 2)
      assert.strictEqual(yield* SessionState.update(Visits, (n) => n + 1), 3)
      assert.strictEqual(yield* SessionState.get(Visits), 3)
      yield* SessionState.remove(Visits)
      assert.strictEqual(yield* SessionState.get(Visits), 0)
      const Positive = SessionState.key("positive", Schema.Number.pipe(Schema.positive()), 1)
      const error = yield* Effect.flip(SessionState.set(Positive, -1))
      assert.strictEqual(error.reason, "InvalidInput")
    }).pipe(Effect.provide(SessionStateLayer.layerMemory)))
})

// -----------------------------------------------------------------------------
// Every backend: concurrency and isolation
// -----------------------------------------------------------------------------

for (const backend of backends) {
  describe(`sessions [${backend.name}]`, () => {
    it.live("100 concurrent runs on one session leave 100 records, each once, in one order", () =>
      Effect.gen(function*() {
        const key = { userId: newUser(), sessionId: "busy" }
        const outputs = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (i) => Agent.run(chat, `message ${i}`, { ...key, runId: `run-${i}` }),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(outputs.length, 100)
        const store = yield* SessionStore.SessionStore
        const first = (yield* store.load(key)).map((r) => r.runId)
        assert.strictEqual(first.length, 100)
        assert.strictEqual(new Set(first).size, 100)
        assert.deepStrictEqual((yield* store.load(key)).map((r) => r.runId), first)
      }).pipe(Effect.provide(Layer.merge(backend.layer, echo))))

    it.live("two users with the same session id never see each other's history", () =>
      Effect.gen(function*() {
        const ada = newUser("ada")
        const bob = newUser("bob")
        yield* Agent.run(chat, "Ada's secret", { sessionId: "default", userId: ada })
        yield* Agent.run(chat, "Bob's question", { sessionId: "default", userId: bob })
        yield* Agent.run(chat, "Ada again", { sessionId: "default", userId: ada })
        const requests = yield* TestModel.requests
        const users = (request: TestModel.Request) =>
          request.prompt.content.filter((m) => m.role === "user").map(textOf)
        assert.deepStrictEqual(users(requests[1]!), ["Bob's question"])
        assert.deepStrictEqual(users(requests[2]!), ["Ada's secret", "Ada again"])
      }).pipe(Effect.provide(Layer.merge(backend.layer, echo))))
  })
}

// -----------------------------------------------------------------------------
// Types
// -----------------------------------------------------------------------------

describe("types", () => {
  it("a session needs a SessionStore, and may fail with its error; without one nothing changes", () => {
    expectTypeOf(Agent.run(chat, "hi")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, LanguageModel.LanguageModel>
    >()
    expectTypeOf(Agent.run(chat, "hi", { sessionId: "s", userId: "ada" })).toEqualTypeOf<
      Effect.Effect<
        Run.Output<string>,
        AgentError | SessionStore.SessionStoreError,
        LanguageModel.LanguageModel | SessionStore.SessionStore
      >
    >()
    expectTypeOf(chat.pipe(Agent.run("hi", { sessionId: "s" }))).toEqualTypeOf<
      Effect.Effect<
        Run.Output<string>,
        AgentError | SessionStore.SessionStoreError,
        LanguageModel.LanguageModel | SessionStore.SessionStore
      >
    >()
    expectTypeOf(Agent.stream(chat, "hi", { sessionId: "s" })).toEqualTypeOf<
      Stream.Stream<
        RunEvent.RunEvent<string>,
        AgentError | SessionStore.SessionStoreError,
        LanguageModel.LanguageModel | SessionStore.SessionStore
      >
    >()
    // A session id that may be undefined still needs the store: it may be used.
    const maybe: string | undefined = undefined as string | undefined
    expectTypeOf(Agent.run(chat, "hi", { sessionId: maybe })).toEqualTypeOf<
      Effect.Effect<
        Run.Output<string>,
        AgentError | SessionStore.SessionStoreError,
        LanguageModel.LanguageModel | SessionStore.SessionStore
      >
    >()
    // A missing store layer is a compile error.
    const withModelOnly = (effect: Effect.Effect<unknown, unknown, LanguageModel.LanguageModel>) => effect
    withModelOnly(Agent.run(chat, "hi"))
    // @ts-expect-error SessionStore is not provided
    withModelOnly(Agent.run(chat, "hi", { sessionId: "s" }))
    // @ts-expect-error an unknown option is a compile error, as without sessions
    Agent.run(chat, "hi", { sesionId: "s" })
  })

  it("the session provides SessionState to tools that need it", () => {
    expectTypeOf(shop).toEqualTypeOf<
      Agent.Agent<string, LanguageModel.LanguageModel | Tool.Handler<"add_to_cart"> | SessionState.SessionState>
    >()
    expectTypeOf(Agent.run(shop, "tea", { sessionId: "s" })).toEqualTypeOf<
      Effect.Effect<
        Run.Output<string>,
        AgentError | SessionStore.SessionStoreError,
        LanguageModel.LanguageModel | Tool.Handler<"add_to_cart"> | SessionStore.SessionStore
      >
    >()
    expectTypeOf(Agent.run(shop, "tea")).toEqualTypeOf<
      Effect.Effect<
        Run.Output<string>,
        AgentError,
        LanguageModel.LanguageModel | Tool.Handler<"add_to_cart"> | SessionState.SessionState
      >
    >()
  })

  it("a plain agent service refuses session options; a SessionService requires them", () => {
    class Plain extends Context.Tag("test/Plain")<Plain, Agent.Service>() {}
    class Chat extends Context.Tag("test/Chat")<Chat, Agent.SessionService>() {}
    expectTypeOf(Agent.layer(Plain, chat)).toEqualTypeOf<Layer.Layer<Plain, never, LanguageModel.LanguageModel>>()
    expectTypeOf(Agent.layer(Chat, shop)).toEqualTypeOf<
      Layer.Layer<Chat, never, LanguageModel.LanguageModel | Tool.Handler<"add_to_cart"> | SessionStore.SessionStore>
    >()
    const useServices = Effect.gen(function*() {
      const plain = yield* Plain
      const session = yield* Chat
      // @ts-expect-error a plain service has no store
      yield* plain.run("hi", { sessionId: "s" })
      // @ts-expect-error a session service needs the session and the user
      yield* session.run("hi")
      return yield* session.run("hi", { sessionId: "s", userId: "ada" })
    })
    expectTypeOf(useServices).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError | SessionStore.SessionStoreError | import("../services/Memory.js").MemoryError, Plain | Chat>
    >()
  })
})
