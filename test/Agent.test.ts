import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import { AgentError, MaxTurnsExceeded, ModelError, RunTimeout } from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"
import type * as Run from "../src/Run.js"
import type * as RunEvent from "../src/RunEvent.js"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { city: Schema.String }) {}

const GetWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number }),
  failure: NotFound
})

const Add = Tool.make("add", {
  parameters: { a: Schema.Number, b: Schema.Number },
  success: Schema.Number
})

const Tools = Toolkit.make(GetWeather, Add)

const ToolsLive = Tools.toLayer({
  get_weather: ({ city }) =>
    city === "Atlantis" ? Effect.fail(new NotFound({ city })) : Effect.succeed({ city, celsius: city.length }),
  add: ({ a, b }) => Effect.succeed(a + b)
})

const weatherAgent = Agent.make({
  name: "Weather",
  instructions: "Answer questions about the weather.",
  toolkit: Tools,
  retry: Retry.none
})

const events = <A, R>(stream: Stream.Stream<RunEvent.RunEvent, A, R>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const lastToolResults = (request: TestModel.Request) => {
  const message = request.prompt.content[request.prompt.content.length - 1]!
  assert.strictEqual(message.role, "tool")
  return (message.content as ReadonlyArray<{ readonly result: unknown; readonly isFailure: boolean }>).map(
    (part) => ({ result: part.result, isFailure: part.isFailure })
  )
}

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

describe("Agent.run", () => {
  it.effect("answers with the model's text and reports usage and timing", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Joker", role: "Tell jokes", instructions: ["Be brief.", "Be kind."] })
      const fiber = yield* Effect.fork(Agent.run(agent, "Tell me a joke.", { runId: "run-1" }))
      yield* TestClock.adjust("2 seconds")
      const output = yield* Fiber.join(fiber)

      assert.strictEqual(output.runId, "run-1")
      assert.strictEqual(output.agent, "Joker")
      assert.strictEqual(output.content, "Why did the fiber yield? To let others run.")
      assert.strictEqual(output.finishReason, "stop")
      assert.strictEqual(output.model, "test-model")
      assert.deepStrictEqual(
        { ...output.metrics, duration: Duration.toMillis(output.metrics.duration), ttft: output.metrics.timeToFirstToken },
        {
          inputTokens: 12,
          outputTokens: 30,
          totalTokens: 42,
          reasoningTokens: 7,
          cachedInputTokens: 3,
          modelCalls: 1,
          toolCalls: 0,
          retries: 0,
          timeToFirstToken: Duration.millis(1500),
          duration: 1500,
          ttft: Duration.millis(1500)
        }
      )
      assert.deepStrictEqual(output.messages.map((message) => message.role), ["system", "user", "assistant"])

      const [request] = yield* TestModel.requests
      assert.strictEqual(request!.system, "Your role: Tell jokes\n\nBe brief.\n\nBe kind.")
      assert.strictEqual(request!.lastUserText, "Tell me a joke.")
      assert.isFalse(request!.stream)
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.text("Why did the fiber yield? To let others run.", {
        delay: "1500 millis",
        usage: { inputTokens: 12, outputTokens: 30, reasoningTokens: 7, cachedInputTokens: 3 }
      })
    ]))))

  it.effect("reports each event to onEvent and still returns the typed output", () =>
    Effect.gen(function*() {
      const critic = Agent.make({ output: Schema.Struct({ stars: Schema.Number }) })
      const seen: Array<string> = []
      const output = yield* Agent.run(critic, "Rate it", {
        onEvent: (event) => Effect.sync(() => seen.push(event._tag === "TextDelta" ? event.delta : event._tag))
      })
      expectTypeOf(output.content).toEqualTypeOf<{ readonly stars: number }>()
      assert.deepStrictEqual(output.content, { stars: 4 })
      assert.deepStrictEqual(seen, [
        "RunStarted",
        "ModelRequestStarted",
        "{\"stars\"",
        ":4}",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.isTrue((yield* TestModel.requests)[0]!.stream)
    }).pipe(Effect.provide(TestModel.layer([TestModel.text(`{"stars":4}`, { chunks: ["{\"stars\"", ":4}"] })]))))

  it("needs every fallback model's services, whatever the order", () => {
    class Primary extends Context.Tag("Primary")<Primary, string>() {}
    class Backup extends Context.Tag("Backup")<Backup, string>() {}
    const primary = Layer.effect(LanguageModel.LanguageModel, Effect.flatMap(Primary, () => LanguageModel.LanguageModel))
      .pipe(Layer.provide(TestModel.layer([])))
    const backup = Layer.effect(LanguageModel.LanguageModel, Effect.flatMap(Backup, () => LanguageModel.LanguageModel))
      .pipe(Layer.provide(TestModel.layer([])))
    expectTypeOf(Agent.make({ fallback: [primary, backup] })).toEqualTypeOf<
      Agent.Agent<string, LanguageModel.LanguageModel | Primary | Backup>
    >()
    expectTypeOf(Agent.make({ model: primary, fallback: [backup] })).toEqualTypeOf<Agent.Agent<string, Primary | Backup>>()
    expectTypeOf(Agent.make({})).toEqualTypeOf<Agent.Agent<string, LanguageModel.LanguageModel>>()
    expectTypeOf(Agent.make({}).pipe(Agent.withFallback([backup, primary]))).toEqualTypeOf<
      Agent.Agent<string, LanguageModel.LanguageModel | Primary | Backup>
    >()
  })

  it.effect("reads instructions from services through an Effect", () =>
    Effect.gen(function*() {
      class Today extends Context.Tag("Today")<Today, string>() {}
      const agent = Agent.make({ instructions: Effect.map(Today, (day) => `Today is ${day}.`) })
      expectTypeOf(agent).toEqualTypeOf<Agent.Agent<string, LanguageModel.LanguageModel | Today>>()
      yield* Agent.run(agent, "What day is it?").pipe(Effect.provideService(Today, "Friday"))
      const [request] = yield* TestModel.requests
      assert.strictEqual(request!.system, "Today is Friday.")
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("Friday.")]))))

  it.effect("runs tools over several turns and feeds their results back", () =>
    Effect.gen(function*() {
      const output = yield* Agent.run(weatherAgent, "Weather in Paris and Rome, and 2 + 3?")
      assert.strictEqual(output.content, "Paris 5°, Rome 4°, and 2 + 3 = 5.")
      assert.strictEqual(output.metrics.modelCalls, 3)
      assert.strictEqual(output.metrics.toolCalls, 3)
      assert.deepStrictEqual(
        output.toolCalls.map(({ arguments: args, name, result }) => ({ name, args, result })),
        [
          { name: "get_weather", args: { city: "Paris" }, result: { city: "Paris", celsius: 5 } },
          { name: "get_weather", args: { city: "Rome" }, result: { city: "Rome", celsius: 4 } },
          { name: "add", args: { a: 2, b: 3 }, result: 5 }
        ]
      )
      const requests = yield* TestModel.requests
      assert.strictEqual(requests.length, 3)
      assert.deepStrictEqual(requests[0]!.tools, ["get_weather", "add"])
      assert.deepStrictEqual(lastToolResults(requests[1]!), [
        { result: { city: "Paris", celsius: 5 }, isFailure: false }
      ])
      assert.deepStrictEqual(lastToolResults(requests[2]!), [
        { result: { city: "Rome", celsius: 4 }, isFailure: false },
        { result: 5, isFailure: false }
      ])
      assert.deepStrictEqual(
        output.messages.map((message) => message.role),
        ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
      )
    }).pipe(
      Effect.provide(ToolsLive),
      Effect.provide(TestModel.layer([
        TestModel.toolCall("get_weather", { city: "Paris" }),
        TestModel.toolCalls([{ name: "get_weather", params: { city: "Rome" } }, { name: "add", params: { a: 2, b: 3 } }]),
        TestModel.text("Paris 5°, Rome 4°, and 2 + 3 = 5.")
      ]))
    ))

  it.effect("runs the tool calls of one turn concurrently, bounded, and keeps the model's order", () =>
    Effect.gen(function*() {
      const Slow = Tool.make("slow", { parameters: { n: Schema.Number }, success: Schema.Number })
      const running = yield* Ref.make({ now: 0, peak: 0 })
      const SlowLive = Toolkit.make(Slow).toLayer({
        slow: ({ n }) =>
          Ref.update(running, (r) => ({ now: r.now + 1, peak: Math.max(r.peak, r.now + 1) })).pipe(
            // Later calls finish first, so order can only come from the loop.
            Effect.zipRight(Effect.sleep(Duration.seconds(5 - n))),
            Effect.zipRight(Ref.update(running, (r) => ({ ...r, now: r.now - 1 }))),
            Effect.as(n * 10)
          )
      })
      const agent = Agent.make({ toolkit: Toolkit.make(Slow), toolConcurrency: 2 })
      const fiber = yield* Agent.run(agent, "go").pipe(Effect.provide(SlowLive), Effect.fork)
      // Calls take 4s, 3s, 2s, 1s. Two at a time: 1 and 2 start at 0s; 2 ends at 3s and 3 starts;
      // 1 ends at 4s and 4 starts; 3 ends at 5s, 4 ends at 5s.
      yield* TestClock.adjust("4999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const output = yield* Fiber.join(fiber)
      assert.deepStrictEqual(output.toolCalls.map((call) => call.result), [10, 20, 30, 40])
      assert.deepStrictEqual(output.toolCalls.map((call) => Duration.toMillis(call.duration)), [4000, 3000, 2000, 1000])
      assert.strictEqual((yield* Ref.get(running)).peak, 2)
      const requests = yield* TestModel.requests
      assert.deepStrictEqual(lastToolResults(requests[1]!).map((r) => r.result), [10, 20, 30, 40])
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.toolCalls([1, 2, 3, 4].map((n) => ({ name: "slow", params: { n } }))),
      TestModel.text("done")
    ]))))

  it.effect("feeds invalid arguments and unknown tools back to the model, which corrects itself", () =>
    Effect.gen(function*() {
      const all = yield* events(Agent.stream(weatherAgent, "Weather?"))
      const failed = all.filter((event): event is RunEvent.ToolCallFailed => event._tag === "ToolCallFailed")
      assert.deepStrictEqual(failed.map((event) => [event.name, event.reason]), [
        ["get_weather", "InvalidArguments"],
        ["teleport", "UnknownTool"]
      ])
      const requests = yield* TestModel.requests
      const [invalid, unknown] = lastToolResults(requests[1]!)
      assert.isTrue(invalid!.isFailure)
      assert.include(invalid!.result as string, "Invalid arguments for tool \"get_weather\"")
      assert.include(invalid!.result as string, "city")
      assert.deepStrictEqual(unknown, {
        isFailure: true,
        result: "Unknown tool \"teleport\". Available tools: get_weather, add."
      })
      const completed = all[all.length - 1]
      assert.strictEqual(completed?._tag, "RunCompleted")
      const output = (completed as RunEvent.RunCompleted).output
      assert.strictEqual(output.content, "Paris is 5°.")
      assert.deepStrictEqual(output.toolCalls.map((call) => call.failure), ["InvalidArguments", "UnknownTool", undefined])
    }).pipe(
      Effect.provide(ToolsLive),
      Effect.provide(TestModel.layer([
        TestModel.toolCalls([
          { name: "get_weather", params: { town: "Paris" } },
          { name: "teleport", params: { to: "Paris" } }
        ]),
        TestModel.toolCall("get_weather", { city: "Paris" }),
        TestModel.text("Paris is 5°.")
      ]))
    ))

  it.effect("feeds a tool's typed failure back to the model", () =>
    Effect.gen(function*() {
      const output = yield* Agent.run(weatherAgent, "Weather in Atlantis?")
      assert.strictEqual(output.content, "I could not find Atlantis.")
      const requests = yield* TestModel.requests
      assert.deepStrictEqual(lastToolResults(requests[1]!), [
        { isFailure: true, result: { _tag: "NotFound", city: "Atlantis" } }
      ])
      assert.strictEqual(output.toolCalls[0]!.failure, "Failed")
    }).pipe(
      Effect.provide(ToolsLive),
      Effect.provide(TestModel.layer([
        TestModel.toolCall("get_weather", { city: "Atlantis" }),
        TestModel.text("I could not find Atlantis.")
      ]))
    ))

  it.effect("runs a handler with the services of its toolkit's layer, under the run's own, and only during the call", () => {
    // A service with a default value: reading it requires nothing, so what the handler sees is what
    // its context holds.
    class Greeting extends Context.Reference<Greeting>()("test/Greeting", { defaultValue: () => "Hey" }) {}
    const Greet = Tool.make("greet", { parameters: { name: Schema.String }, success: Schema.String })
    const Peek = Tool.make("peek", { success: Schema.String })
    // The handler reads the service when it is called, not when its layer is built.
    const GreetLive = Toolkit.make(Greet).toLayer({
      greet: ({ name }) => Effect.map(Greeting, (greeting) => `${greeting}, ${name}`)
    }).pipe(Layer.provide(Layer.succeed(Greeting, "Hello")))
    const PeekLive = Toolkit.make(Peek).toLayer({ peek: () => Greeting })
    const agent = Agent.make({ name: "Greeter", toolkit: Toolkit.merge(Toolkit.make(Greet), Toolkit.make(Peek)) })
    const calls = [
      TestModel.toolCall("greet", { name: "Ada" }),
      TestModel.toolCall("peek", {}),
      TestModel.text("done")
    ]
    const results = (output: Run.Output) => output.toolCalls.map((call) => call.result)
    return Effect.gen(function*() {
      // The greeting comes from the handler's layer, and is gone once its call is over.
      const alone = yield* Agent.run(agent, "Greet Ada").pipe(Effect.provide(TestModel.layer(calls)))
      assert.deepStrictEqual(results(alone), ["Hello, Ada", "Hey"])
      // A service of the run's own wins over the handler's.
      const overridden = yield* Agent.run(agent, "Greet Ada").pipe(
        Effect.provide(TestModel.layer(calls)),
        Effect.provideService(Greeting, "Hi")
      )
      assert.deepStrictEqual(results(overridden), ["Hi, Ada", "Hi"])
    }).pipe(Effect.provide(Layer.merge(GreetLive, PeekLive)))
  })

  it.effect("fails the run with a ToolError when a tool dies", () =>
    Effect.gen(function*() {
      const Broken = Tool.make("broken", { success: Schema.String })
      const agent = Agent.make({ toolkit: Toolkit.make(Broken) })
      const error = yield* Agent.run(agent, "go").pipe(
        Effect.provide(Toolkit.make(Broken).toLayer({ broken: () => Effect.die(new Error("boom")) })),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ToolError")
      if (error._tag !== "ToolError") return
      assert.strictEqual(error.tool, "broken")
      assert.strictEqual(error.toolCallId, "call_1")
      assert.include(error.message, "boom")
      assert.strictEqual((error.cause as Error).message, "boom")
    }).pipe(Effect.provide(TestModel.layer([TestModel.toolCall("broken", {}), TestModel.text("unreachable")]))))

  it.effect("times a slow tool out and tells the model", () =>
    Effect.gen(function*() {
      const Slow = Tool.make("slow", { success: Schema.String })
      const agent = Agent.make({ toolkit: Toolkit.make(Slow), toolTimeout: "2 seconds" })
      const fiber = yield* Agent.run(agent, "go").pipe(
        Effect.provide(Toolkit.make(Slow).toLayer({ slow: () => Effect.as(Effect.sleep("1 minute"), "late") })),
        Effect.fork
      )
      yield* TestClock.adjust("2 seconds")
      const output = yield* Fiber.join(fiber)
      assert.strictEqual(output.toolCalls[0]!.failure, "Timeout")
      assert.strictEqual(output.toolCalls[0]!.result, "Tool \"slow\" did not finish within 2s.")
    }).pipe(Effect.provide(TestModel.layer([TestModel.toolCall("slow", {}), TestModel.text("ok")]))))

  it.effect("stops with MaxTurnsExceeded when the model never gives a final answer", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ toolkit: Tools, maxTurns: 3 })
      const error = yield* Agent.run(agent, "loop").pipe(Effect.provide(ToolsLive), Effect.flip)
      assert.instanceOf(error, MaxTurnsExceeded)
      assert.strictEqual((error as MaxTurnsExceeded).maxTurns, 3)
      assert.strictEqual((yield* TestModel.requests).length, 3)
    }).pipe(Effect.provide(TestModel.layer(() => TestModel.toolCall("add", { a: 1, b: 1 })))))
})

// -----------------------------------------------------------------------------
// Structured output
// -----------------------------------------------------------------------------

describe("structured output", () => {
  const Movie = Schema.Struct({ title: Schema.String, year: Schema.Number })
  const critic = Agent.make({ name: "Critic", output: Movie })

  it.effect("decodes the final answer with the output schema and asks for JSON", () =>
    Effect.gen(function*() {
      expectTypeOf(critic).toEqualTypeOf<
        Agent.Agent<{ readonly title: string; readonly year: number }, LanguageModel.LanguageModel>
      >()
      const output = yield* Agent.run(critic, "A film about dreams")
      assert.deepStrictEqual(output.content, { title: "Inception", year: 2010 })
      const [request] = yield* TestModel.requests
      assert.strictEqual(request!.responseFormat, "json")
      assert.include(request!.system!, "\"title\"")
    }).pipe(Effect.provide(TestModel.layer([TestModel.text(`{"title":"Inception","year":2010}`)]))))

  it.effect("asks once more with the decode error, then succeeds", () =>
    Effect.gen(function*() {
      const output = yield* Agent.run(critic, "A film about dreams")
      assert.deepStrictEqual(output.content, { title: "Inception", year: 2010 })
      const requests = yield* TestModel.requests
      assert.strictEqual(requests.length, 2)
      assert.include(requests[1]!.lastUserText, "could not be read as the required JSON")
      assert.include(requests[1]!.lastUserText, "year")
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.text(`{"title":"Inception","year":"2010"}`),
      TestModel.text(`{"title":"Inception","year":2010}`)
    ]))))

  it.effect("fails with OutputDecodeError when the repair fails too", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Agent.run(critic, "A film about dreams"))
      assert.strictEqual(error._tag, "OutputDecodeError")
      if (error._tag === "OutputDecodeError") assert.strictEqual(error.text, "Inception, 2010")
      assert.strictEqual((yield* TestModel.requests).length, 2)
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("not json"), TestModel.text("Inception, 2010")]))))
})

// -----------------------------------------------------------------------------
// Streaming
// -----------------------------------------------------------------------------

describe("Agent.stream", () => {
  it.effect("emits the events of a run in order, text as it arrives", () =>
    Effect.gen(function*() {
      const all = yield* events(Agent.stream(weatherAgent, "Weather in Paris?", { runId: "r" }))
      assert.deepStrictEqual(all.map((event) => event._tag), [
        "RunStarted",
        "ModelRequestStarted",
        "ModelRequestCompleted",
        "ToolCallStarted",
        "ToolCallCompleted",
        "ModelRequestStarted",
        "TextDelta",
        "TextDelta",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.deepStrictEqual(
        all.flatMap((event) => (event._tag === "TextDelta" ? [event.delta] : [])),
        ["It is ", "5° in P", "aris."]
      )
      assert.isTrue(all.every((event) => event.runId === "r"))
      const completed = all[all.length - 1] as RunEvent.RunCompleted
      assert.strictEqual(completed.output.content, "It is 5° in Paris.")
      assert.isTrue((yield* TestModel.requests).every((request) => request.stream))
    }).pipe(
      Effect.provide(ToolsLive),
      Effect.provide(TestModel.layer([
        TestModel.toolCall("get_weather", { city: "Paris" }),
        TestModel.text("It is 5° in Paris.", { chunks: ["It is ", "5° in P", "aris."] })
      ]))
    ))

  it.effect("ends with RunFailed, then fails with the same typed error", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ retry: Retry.none })
      const collected: Array<RunEvent.RunEvent> = []
      const error = yield* Agent.stream(agent, "hi").pipe(
        Stream.runForEach((event) => Effect.sync(() => collected.push(event))),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ModelError")
      // A 401 is not retried, so no retry is announced.
      assert.deepStrictEqual(collected.map((event) => event._tag), ["RunStarted", "ModelRequestStarted", "RunFailed"])
      const last = collected[collected.length - 1]!
      assert.strictEqual(last._tag, "RunFailed")
      assert.strictEqual((last as RunEvent.RunFailed).error, error)
    }).pipe(Effect.provide(TestModel.layer([TestModel.httpError(401)]))))

  it.effect("a consumer that stops reading interrupts the run and its tools", () =>
    Effect.gen(function*() {
      const released = yield* Deferred.make<void>()
      const Wait = Tool.make("wait", { success: Schema.String })
      const WaitLive = Toolkit.make(Wait).toLayer({
        wait: () =>
          Effect.acquireRelease(Effect.void, () => Deferred.succeed(released, undefined)).pipe(
            Effect.zipRight(Effect.never),
            Effect.scoped
          )
      })
      const agent = Agent.make({ toolkit: Toolkit.make(Wait) })
      const taken = yield* Agent.stream(agent, "go").pipe(
        Stream.takeUntil((event) => event._tag === "ToolCallStarted"),
        Stream.runCollect,
        Effect.provide(WaitLive)
      )
      assert.strictEqual(Chunk.unsafeLast(taken)._tag, "ToolCallStarted")
      yield* Deferred.await(released)
      assert.strictEqual((yield* TestModel.requests).length, 1)
    }).pipe(Effect.provide(TestModel.layer([TestModel.toolCall("wait", {}), TestModel.text("never asked")]))))

  it.effect("applies backpressure: a slow reader holds the run back", () =>
    Effect.gen(function*() {
      const pulled = yield* Ref.make(0)
      // Counts the parts the run has pulled from the model so far.
      const counting = Layer.effect(
        LanguageModel.LanguageModel,
        Effect.map(LanguageModel.LanguageModel, (service): LanguageModel.Service => ({
          generateText: service.generateText,
          generateObject: service.generateObject,
          streamText: (options) =>
            service.streamText(options).pipe(Stream.tap(() => Ref.update(pulled, (n) => n + 1))) as any
        }))
      ).pipe(Layer.provide(TestModel.layer([TestModel.text("x".repeat(600), { chunks: 600 })])))
      const read = yield* Ref.make(0)
      const fiber = yield* Agent.stream(Agent.make({}), "count").pipe(
        Stream.tap(() => Effect.zipRight(Effect.sleep("1 millis"), Ref.update(read, (n) => n + 1))),
        Stream.runDrain,
        Effect.provide(counting),
        Effect.fork
      )
      yield* TestClock.adjust("10 millis")
      // The run cannot get further ahead of its reader than the event buffer (256) and the few
      // parts in flight; without backpressure it would have pulled all 600.
      assert.isAtMost(yield* Ref.get(pulled), 300)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      // RunStarted, ModelRequestStarted, 600 deltas, ModelRequestCompleted, RunCompleted
      assert.strictEqual(yield* Ref.get(read), 604)
    }))

  it.effect("holds the run to eventBuffer events ahead of its reader", () =>
    Effect.gen(function*() {
      const emitted = yield* Ref.make(0)
      const read = yield* Ref.make(0)
      const fiber = yield* Agent.stream(Agent.make({}), "count", {
        eventBuffer: 8,
        onEvent: () => Ref.update(emitted, (n) => n + 1)
      }).pipe(
        Stream.tap(() => Effect.zipRight(Effect.sleep("1 millis"), Ref.update(read, (n) => n + 1))),
        Stream.runDrain,
        Effect.provide(TestModel.layer([TestModel.text("x".repeat(100), { chunks: 100 })])),
        Effect.fork
      )
      for (let i = 0; i < 20; i++) {
        yield* TestClock.adjust("1 millis")
        // What the run has emitted but the reader has not read: the buffer, the batch the reader
        // holds, and the one event the run waits to hand over.
        assert.isAtMost((yield* Ref.get(emitted)) - (yield* Ref.get(read)), 2 * 8 + 1)
      }
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.strictEqual(yield* Ref.get(read), 104)
    }))
})

// -----------------------------------------------------------------------------
// Resilience
// -----------------------------------------------------------------------------

describe("resilience", () => {
  const backoff = Retry.exponential({ base: "1 second", times: 3, jitter: false })

  it.effect("retries transient errors with the policy's exact delays, as Retrying events", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ retry: backoff })
      const fiber = yield* Effect.fork(events(Agent.stream(agent, "hi")))
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual((yield* TestModel.requests).length, 2)
      yield* TestClock.adjust("1 millis")
      const all = yield* Fiber.join(fiber)
      const retrying = all.filter((event): event is RunEvent.Retrying => event._tag === "Retrying")
      assert.deepStrictEqual(
        retrying.map((event) => [event.attempt, Duration.toMillis(event.delay), event.error.reason]),
        [[1, 1000, "ServerError"], [2, 2000, "Overloaded"]]
      )
      const output = (all[all.length - 1] as RunEvent.RunCompleted).output
      assert.strictEqual(output.content, "third time lucky")
      assert.strictEqual(output.metrics.retries, 2)
      assert.strictEqual(output.metrics.modelCalls, 1)
      assert.strictEqual(Duration.toMillis(output.metrics.duration), 3000)
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.httpError(500),
      TestModel.httpError(503),
      TestModel.text("third time lucky")
    ]))))

  it.effect("gives up after the policy's last retry with the typed error", () =>
    Effect.gen(function*() {
      const seen: Array<RunEvent.RunEvent> = []
      const fiber = yield* Agent.stream(Agent.make({ retry: backoff }), "hi").pipe(
        Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
        Effect.fork
      )
      yield* TestClock.adjust("7 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "ModelError")
      assert.strictEqual((yield* TestModel.requests).length, 4)
      // One Retrying event per retry actually made: none for the final give-up.
      assert.deepStrictEqual(
        seen.flatMap((event) => (event._tag === "Retrying" ? [Duration.toMillis(event.delay)] : [])),
        [1000, 2000, 4000]
      )
    }).pipe(Effect.provide(TestModel.layer(() => TestModel.httpError(529)))))

  for (const status of [400, 401, 403, 404]) {
    it.effect(`never retries HTTP ${status}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Agent.run(Agent.make({ retry: backoff }), "hi"))
        assert.strictEqual(error._tag, "ModelError")
        if (error._tag === "ModelError") {
          assert.strictEqual(error.status, status)
          assert.isFalse(error.retryable)
        }
        assert.strictEqual((yield* TestModel.requests).length, 1)
      }).pipe(Effect.provide(TestModel.layer(() => TestModel.httpError(status)))))
  }

  it.effect("honours Retry-After when it is longer than the policy's delay", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Agent.run(Agent.make({ retry: backoff }), "hi"))
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual((yield* TestModel.requests).length, 1)
      yield* TestClock.adjust("1 millis")
      const output = yield* Fiber.join(fiber)
      assert.strictEqual(output.content, "ok")
      assert.strictEqual(Duration.toMillis(output.metrics.duration), 5000)
    }).pipe(Effect.provide(TestModel.layer([TestModel.httpError(429, { retryAfter: "5 seconds" }), TestModel.text("ok")]))))

  it.effect("does not retry a streamed call that already emitted text", () =>
    Effect.gen(function*() {
      const seen: Array<RunEvent.RunEvent> = []
      const error = yield* Agent.stream(Agent.make({ retry: backoff }), "hi").pipe(
        Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ModelError")
      assert.strictEqual((yield* TestModel.requests).length, 1)
      assert.deepStrictEqual(seen.map((event) => event._tag), ["RunStarted", "ModelRequestStarted", "TextDelta", "RunFailed"])
    }).pipe(Effect.provide(TestModel.layer([TestModel.httpError(503, { afterText: "Once upon" }), TestModel.text("x")]))))

  it.effect("fails a stream that carries an error part", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(events(Agent.stream(Agent.make({ retry: Retry.none }), "hi")))
      assert.strictEqual(error._tag, "ModelError")
      if (error._tag === "ModelError") assert.strictEqual(error.reason, "Overloaded")
    }).pipe(Effect.provide(TestModel.layer([TestModel.streamError({ type: "overloaded_error" })]))))

  it.effect("never runs a tool twice when a later model call is retried", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const Count = Tool.make("count", { success: Schema.Number })
      const agent = Agent.make({ toolkit: Toolkit.make(Count), retry: backoff })
      const fiber = yield* Agent.run(agent, "go").pipe(
        Effect.provide(Toolkit.make(Count).toLayer({ count: () => Ref.updateAndGet(calls, (n) => n + 1) })),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      const output = yield* Fiber.join(fiber)
      assert.strictEqual(yield* Ref.get(calls), 1)
      assert.strictEqual(output.metrics.retries, 1)
      assert.strictEqual(output.metrics.toolCalls, 1)
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.toolCall("count", {}),
      TestModel.httpError(502),
      TestModel.text("counted once")
    ]))))

  it.effect("times a model call out with a retryable ModelError", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ modelTimeout: "10 seconds", retry: Retry.exponential({ base: "1 second", times: 1, jitter: false }) })
      const fiber = yield* Effect.fork(Agent.run(agent, "hi"))
      yield* TestClock.adjust("10 seconds")
      yield* TestClock.adjust("1 second")
      const output = yield* Fiber.join(fiber)
      assert.strictEqual(output.content, "fast now")
      assert.strictEqual(output.metrics.retries, 1)
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("too slow", { delay: "1 minute" }), TestModel.text("fast now")]))))

  it.effect("fails the whole run with RunTimeout after its timeout", () =>
    Effect.gen(function*() {
      const agent = Agent.make({}).pipe(Agent.withTimeout("30 seconds"))
      const fiber = yield* Effect.fork(Agent.run(agent, "hi"))
      yield* TestClock.adjust("30 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "RunTimeout")
      if (error._tag === "RunTimeout") assert.strictEqual(error.message, "The run did not finish within 30s")
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("never", { delay: "1 hour" })]))))

  it.effect("falls back to the next model after the primary's retries run out", () =>
    Effect.gen(function*() {
      const primary = TestModel.layer(() => TestModel.httpError(503), { model: "primary" })
      const backup = TestModel.layer([TestModel.text("from the backup", { model: "backup" })])
      const agent = Agent.make({
        model: Layer.fresh(primary),
        fallback: [Layer.fresh(backup)],
        retry: Retry.exponential({ base: "1 second", times: 2, jitter: false })
      })
      expectTypeOf(agent).toEqualTypeOf<Agent.Agent<string, never>>()
      const fiber = yield* Effect.fork(events(Agent.stream(agent, "hi")))
      yield* TestClock.adjust("3 seconds")
      const all = yield* Fiber.join(fiber)
      const output = (all[all.length - 1] as RunEvent.RunCompleted).output
      assert.strictEqual(output.content, "from the backup")
      assert.strictEqual(output.model, "backup")
      assert.strictEqual(output.metrics.retries, 2)
      const fallback = all.filter((event): event is RunEvent.FallbackStarted => event._tag === "FallbackStarted")
      assert.deepStrictEqual(fallback.map((event) => [event.fallback, event.error.reason]), [[1, "Overloaded"]])
      // The switch comes after the primary's last retry and before the backup's answer.
      const tags = all.map((event) => event._tag)
      assert.isBelow(tags.lastIndexOf("Retrying"), tags.indexOf("FallbackStarted"))
      assert.isBelow(tags.indexOf("FallbackStarted"), tags.indexOf("TextDelta"))
    }))

  it.effect("does not build a fallback model that is never needed", () =>
    Effect.gen(function*() {
      const built = yield* Ref.make(0)
      const counting = Layer.effect(LanguageModel.LanguageModel, Effect.zipRight(Ref.update(built, (n) => n + 1), LanguageModel.LanguageModel))
      const agent = Agent.make({}).pipe(Agent.withFallback([counting]))
      yield* Agent.run(agent, "hi")
      assert.strictEqual(yield* Ref.get(built), 0)
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("fine")]))))
})

// -----------------------------------------------------------------------------
// Cancellation and concurrency
// -----------------------------------------------------------------------------

describe("cancellation and concurrency", () => {
  it.effect("interrupting a run interrupts its tool fibers and runs their finalizers", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make<ReadonlyArray<number>>([])
      const started = yield* Deferred.make<void>()
      const Hold = Tool.make("hold", { parameters: { n: Schema.Number }, success: Schema.String })
      const HoldLive = Toolkit.make(Hold).toLayer({
        hold: ({ n }) =>
          Effect.acquireRelease(
            Deferred.succeed(started, undefined),
            () => Ref.update(finalized, (all) => [...all, n])
          ).pipe(Effect.zipRight(Effect.never), Effect.scoped)
      })
      const agent = Agent.make({ toolkit: Toolkit.make(Hold) })
      const fiber = yield* Agent.run(agent, "go").pipe(Effect.provide(HoldLive), Effect.fork)
      yield* Deferred.await(started)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual([...(yield* Ref.get(finalized))].sort(), [1, 2])
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.toolCalls([{ name: "hold", params: { n: 1 } }, { name: "hold", params: { n: 2 } }])
    ]))))

  it.effect("interrupting a run interrupts the model call", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Agent.run(Agent.make({}), "hi"))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isInterrupted(exit))
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("late", { delay: "1 hour" })]))))

  it.effect("one agent run 1,000 times at once gives every run its own answer", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Echo", toolkit: Tools })
      const inputs = Array.from({ length: 1000 }, (_, i) => `question ${i}`)
      const outputs = yield* Effect.forEach(inputs, (input) => Agent.run(agent, input), { concurrency: "unbounded" })
      assert.deepStrictEqual(outputs.map((output) => output.content), inputs.map((input) => `answer to ${input}`))
      assert.isTrue(outputs.every((output, i) => output.toolCalls[0]!.result === i + 1))
      assert.strictEqual(new Set(outputs.map((output) => output.runId)).size, 1000)
    }).pipe(
      Effect.provide(ToolsLive),
      Effect.provide(TestModel.layer((request) => {
        const n = Number(request.lastUserText.split(" ")[1])
        const last = request.prompt.content[request.prompt.content.length - 1]!
        return last.role === "tool"
          ? TestModel.text(`answer to ${request.lastUserText}`)
          : TestModel.toolCall("add", { a: n, b: 1 })
      }))
    ))

  it.effect("Effect.all with mode either keeps the successes when one run fails", () =>
    Effect.gen(function*() {
      const ok = Agent.make({ name: "ok" })
      const failing = Agent.make({ name: "failing", retry: Retry.none })
      const results = yield* Effect.all([Agent.run(ok, "a"), Agent.run(failing, "fail"), Agent.run(ok, "c")], {
        concurrency: "unbounded",
        mode: "either"
      })
      assert.deepStrictEqual(results.map((result) => result._tag), ["Right", "Left", "Right"])
    }).pipe(Effect.provide(TestModel.layer((request) =>
      request.lastUserText === "fail" ? TestModel.httpError(401) : TestModel.text(request.lastUserText)
    ))))
})

// -----------------------------------------------------------------------------
// Any LanguageModel
// -----------------------------------------------------------------------------

describe("any @effect/ai LanguageModel", () => {
  it.effect("honours a wrapper around a model's service", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make(0)
      const logged = Layer.effect(
        LanguageModel.LanguageModel,
        Effect.map(LanguageModel.LanguageModel, (service): LanguageModel.Service => ({
          ...service,
          generateText: (options) => Effect.zipRight(Ref.update(seen, (n) => n + 1), service.generateText(options)) as any
        }))
      ).pipe(Layer.provide(TestModel.layer([TestModel.text("hi")])))
      yield* Agent.run(Agent.make({}), "hello").pipe(Effect.provide(logged))
      assert.strictEqual(yield* Ref.get(seen), 1)
    }))

  // The service as any third-party provider would build it: the public interface only.
  const publicOnly = <E, R>(layer: Layer.Layer<LanguageModel.LanguageModel | TestModel.TestModel, E, R>) =>
    Layer.effect(
      LanguageModel.LanguageModel,
      Effect.map(LanguageModel.LanguageModel, (service) => ({
        generateText: service.generateText,
        generateObject: service.generateObject,
        streamText: service.streamText
      }))
    ).pipe(Layer.provideMerge(layer))

  for (const stream of [false, true]) {
    it.effect(`runs tools and feeds invalid arguments back (${stream ? "streaming" : "not streaming"})`, () =>
      Effect.gen(function*() {
        const output = stream
          ? (yield* events(Agent.stream(weatherAgent, "Weather?")).pipe(
            Effect.map((all) => (all[all.length - 1] as RunEvent.RunCompleted).output)
          ))
          : yield* Agent.run(weatherAgent, "Weather?")
        assert.strictEqual(output.content, "Rome is 4°.")
        assert.deepStrictEqual(output.toolCalls.map((call) => call.failure), ["InvalidArguments", undefined])
        const requests = yield* TestModel.requests
        assert.deepStrictEqual(requests[0]!.tools, ["get_weather", "add"])
      }).pipe(
        Effect.provide(ToolsLive),
        Effect.provide(publicOnly(TestModel.layer([
          TestModel.toolCall("get_weather", { city: 42 }),
          TestModel.toolCall("get_weather", { city: "Rome" }),
          TestModel.text("Rome is 4°.", { chunks: 2 })
        ])))
      ))
  }
})

// -----------------------------------------------------------------------------
// Services, types and tracing
// -----------------------------------------------------------------------------

class Researcher extends Context.Tag("test/Researcher")<Researcher, Agent.Service>() {}

const research = Effect.gen(function*() {
  const researcher = yield* Researcher
  const output = yield* researcher.run("Find the latest AI trends")
  return output.content
})

describe("agents as services", () => {
  it.effect("an application asks for its agent by tag", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* research, "Agents, everywhere.")
    }).pipe(
      Effect.provide(Agent.layer(Researcher, Agent.make({ name: "Researcher" }))),
      Effect.provide(TestModel.layer([TestModel.text("Agents, everywhere.")]))
    ))

  it.effect("a test swaps in another agent layer", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* research, "stubbed")
    }).pipe(
      Effect.provide(Agent.layer(Researcher, Agent.make({ name: "Researcher" })).pipe(
        Layer.provide(TestModel.layer([TestModel.text("stubbed")]))
      ))
    ))

  it("infers requirements and errors in the types", () => {
    expectTypeOf(weatherAgent).toEqualTypeOf<
      Agent.Agent<string, LanguageModel.LanguageModel | Tool.Handler<"get_weather"> | Tool.Handler<"add">>
    >()
    expectTypeOf(Agent.run(weatherAgent, "hi")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, LanguageModel.LanguageModel | Tool.Handler<"get_weather"> | Tool.Handler<"add">>
    >()
    expectTypeOf(Agent.stream(Agent.make({}), "hi")).toEqualTypeOf<
      Stream.Stream<RunEvent.RunEvent<string>, AgentError, LanguageModel.LanguageModel>
    >()
    expectTypeOf(Agent.layer(Researcher, Agent.make({ name: "Researcher" }))).toEqualTypeOf<
      Layer.Layer<Researcher, never, LanguageModel.LanguageModel>
    >()
    const withModel = Agent.make({ toolkit: Tools }).pipe(Agent.withModel(TestModel.layer([])))
    expectTypeOf(withModel).toEqualTypeOf<Agent.Agent<string, Tool.Handler<"get_weather"> | Tool.Handler<"add">>>()
  })
})

/** A tracer that keeps every span it starts (Effect's own tracer does the rest). */
const recordingTracer = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Tracer.Span> = []
  const recording = Tracer.make({
    span: (...args) => {
      const span = native.span(...args)
      spans.push(span)
      return span
    },
    context: (f, fiber) => native.context(f, fiber)
  })
  return { recording, spans }
})

describe("tracing", () => {
  it.effect("records a span per run, model call and tool call, without tool arguments", () =>
    Effect.gen(function*() {
      const { recording, spans } = yield* recordingTracer
      yield* Agent.run(weatherAgent, "Weather in Paris?").pipe(Effect.withTracer(recording))
      const names = spans.map((span) => span.name)
      assert.deepStrictEqual(names, [
        "invoke_agent Weather",
        "chat test-model",
        "execute_tool get_weather",
        "chat test-model"
      ])
      const run = spans.find((span) => span.name === "invoke_agent Weather")!
      assert.strictEqual(run.attributes.get("gen_ai.agent.name"), "Weather")
      assert.strictEqual(run.attributes.get("gen_ai.usage.output_tokens"), 13)
      const tool = spans.find((span) => span.name === "execute_tool get_weather")!
      assert.strictEqual(tool.attributes.get("gen_ai.tool.name"), "get_weather")
      for (const span of spans) {
        for (const value of span.attributes.values()) assert.notInclude(JSON.stringify(value) ?? "", "Paris")
      }
    }).pipe(
      Effect.provide(ToolsLive),
      Effect.provide(TestModel.layer([
        TestModel.toolCall("get_weather", { city: "Paris" }, { usage: { outputTokens: 3 } }),
        TestModel.text("Sunny.", { usage: { outputTokens: 10 } })
      ]))
    ))
})

describe("tracing a session", () => {
  it.effect("a run in a session carries the session's id on its span", () =>
    Effect.gen(function*() {
      const { recording, spans } = yield* recordingTracer
      yield* Agent.run(Agent.make({ name: "Chat" }), "hi", { sessionId: "s-42", userId: "ada" }).pipe(
        Effect.withTracer(recording)
      )
      yield* Agent.run(Agent.make({ name: "Chat" }), "hi").pipe(Effect.withTracer(recording))
      const runs = spans.filter((span) => span.name === "invoke_agent Chat")
      assert.deepStrictEqual(runs.map((span) => span.attributes.get("gen_ai.conversation.id")), ["s-42", undefined])
    }).pipe(
      Effect.provide(SessionStoreMemory.layer),
      Effect.provide(TestModel.layer((request) => TestModel.text(`re: ${request.lastUserText}`)))
    ))
})

describe("AgentError", () => {
  it("classifies provider errors and reads Retry-After", () => {
      const http = (status: number, headers: Record<string, string> = {}, body?: string) =>
        ModelError.fromAiError(
          new AiError.HttpResponseError({
            module: "OpenAi",
            method: "create",
            reason: "StatusCode",
            request: { method: "POST", url: "http://127.0.0.1/v1", urlParams: [], hash: Option.none(), headers: {} },
            response: { status, headers },
            ...(body !== undefined ? { body } : {})
          })
        )
      assert.deepStrictEqual(
        [429, 500, 502, 503, 529, 408, 400, 401, 403, 404, 413].map((status) => {
          const error = http(status)
          return [status, error.reason, error.retryable]
        }),
        [
          [429, "RateLimited", true],
          [500, "ServerError", true],
          [502, "ServerError", true],
          [503, "Overloaded", true],
          [529, "Overloaded", true],
          [408, "Timeout", true],
          [400, "BadRequest", false],
          [401, "Unauthorized", false],
          [403, "Unauthorized", false],
          [404, "NotFound", false],
          [413, "ContextTooLong", false]
        ]
      )
      assert.strictEqual(http(400, {}, "{\"error\":{\"code\":\"context_length_exceeded\"}}").reason, "ContextTooLong")
      assert.deepStrictEqual(http(429, { "retry-after": "7" }).retryAfter, Duration.seconds(7))
      assert.deepStrictEqual(http(429, { "retry-after-ms": "250" }).retryAfter, Duration.millis(250))
      assert.isUndefined(http(429, { "retry-after": "soon" }).retryAfter)
      const network = ModelError.fromAiError(
        new AiError.HttpRequestError({
          module: "OpenAi",
          method: "create",
          reason: "Transport",
          request: { method: "POST", url: "http://127.0.0.1/v1", urlParams: [], hash: Option.none(), headers: {} }
        })
      )
      assert.deepStrictEqual([network.reason, network.retryable], ["Network", true])
      // An HTTP client's own timeout (undici names them by code) is a timeout, not a network failure.
      for (const code of ["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]) {
        const timedOut = ModelError.fromAiError(
          new AiError.HttpRequestError({
            module: "OpenAi",
            method: "create",
            reason: "Transport",
            request: { method: "POST", url: "http://127.0.0.1/v1", urlParams: [], hash: Option.none(), headers: {} },
            cause: Object.assign(new Error("timed out"), { code })
          })
        )
        assert.deepStrictEqual([timedOut.reason, timedOut.retryable], ["Timeout", true])
      }
  })

  it("encodes through its schema for the wire", () => {
      const encode = Schema.encodeSync(AgentError)
      assert.deepStrictEqual(encode(new RunTimeout({ timeout: Duration.seconds(3) })), { _tag: "RunTimeout", timeout: 3000 })
      const error = new ModelError({ reason: "RateLimited", message: "slow down", retryable: true, retryAfter: Duration.seconds(2) })
      const decoded = Schema.decodeUnknownSync(AgentError)(JSON.parse(JSON.stringify(encode(error))))
      assert.strictEqual(decoded._tag, "ModelError")
      if (decoded._tag === "ModelError") assert.deepStrictEqual(decoded.retryAfter, Duration.seconds(2))
  })
})
