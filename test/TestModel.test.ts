import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestModel from "../layers/TestModel.js"

const Echo = Tool.make("echo", { parameters: { text: Schema.String }, success: Schema.String })
const EchoKit = Toolkit.make(Echo)
const EchoLive = EchoKit.toLayer({ echo: ({ text }) => Effect.succeed(text) })

describe("TestModel", () => {
  it.effect("streams text in the scripted chunks with usage in the finish part", () =>
    Effect.gen(function*() {
      const parts = yield* LanguageModel.streamText({ prompt: "hello" }).pipe(Stream.runCollect)
      const types = Chunk.toReadonlyArray(parts).map((part) => part.type)
      assert.deepStrictEqual(types, ["response-metadata", "text-start", "text-delta", "text-delta", "text-end", "finish"])
      const deltas = Chunk.toReadonlyArray(parts).flatMap((part) => (part.type === "text-delta" ? [part.delta] : []))
      assert.deepStrictEqual(deltas, ["Hel", "lo"])
      const finish = Chunk.unsafeLast(parts)
      assert.strictEqual(finish.type, "finish")
      if (finish.type === "finish") {
        assert.strictEqual(finish.reason, "stop")
        assert.deepStrictEqual([finish.usage.inputTokens, finish.usage.outputTokens], [4, 9])
      }
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("Hello", { chunks: 2, usage: { inputTokens: 4, outputTokens: 9 } })]))))

  it.effect("with record: false it keeps no requests, and the script still sees each call's index", () =>
    Effect.gen(function*() {
      const first = yield* LanguageModel.generateText({ prompt: "one" })
      const second = yield* LanguageModel.generateText({ prompt: "two" })
      assert.deepStrictEqual([first.text, second.text], ["first", "second"])
      const exit = yield* Effect.exit(TestModel.requests)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(Cause.squash(exit.cause)), "record: false")
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("first"), TestModel.text("second")], { record: false }))))

  it.effect("answers generateText with the same content in one response", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "hello" })
      assert.strictEqual(response.text, "Hello")
      assert.strictEqual(response.finishReason, "stop")
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("Hello", { chunks: 2 })]))))

  it.effect("makes tool calls that @effect/ai can resolve", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "echo hi", toolkit: EchoKit })
      assert.deepStrictEqual(response.toolCalls.map((call) => [call.id, call.name, call.params]), [
        ["call_1", "echo", { text: "hi" }]
      ])
      assert.deepStrictEqual(response.toolResults.map((result) => result.result), ["hi"])
      assert.strictEqual(response.finishReason, "tool-calls")
    }).pipe(Effect.provide(EchoLive), Effect.provide(TestModel.layer([TestModel.toolCall("echo", { text: "hi" })]))))

  it.effect("records every request: prompt, system message, tools and mode", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({
        prompt: [{ role: "system", content: "Be brief." }, { role: "user", content: "first" }],
        toolkit: EchoKit,
        disableToolCallResolution: true
      })
      yield* LanguageModel.streamText({ prompt: "second" }).pipe(Stream.runDrain)
      const requests = yield* TestModel.requests
      assert.deepStrictEqual(
        requests.map(({ lastUserText, stream, system, tools }) => ({ lastUserText, stream, system, tools })),
        [
          { lastUserText: "first", stream: false, system: "Be brief.", tools: ["echo"] },
          { lastUserText: "second", stream: true, system: undefined, tools: [] }
        ]
      )
    }).pipe(Effect.provide(EchoLive), Effect.provide(TestModel.layer([TestModel.text("a"), TestModel.text("b")]))))

  it.effect("fails with an HTTP error that carries Retry-After", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(LanguageModel.generateText({ prompt: "hi" }))
      assert.strictEqual(error._tag, "HttpResponseError")
      if (error._tag === "HttpResponseError") {
        assert.strictEqual(error.response.status, 429)
        assert.strictEqual(error.response.headers["retry-after-ms"], "1500")
      }
    }).pipe(Effect.provide(TestModel.layer([TestModel.httpError(429, { retryAfter: "1500 millis" })]))))

  it.effect("fails with an HTTP error that carries the given headers and body, header names in lower case", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(LanguageModel.generateText({ prompt: "hi" }))
      assert.strictEqual(error._tag, "HttpResponseError")
      if (error._tag === "HttpResponseError") {
        assert.strictEqual(error.response.status, 503)
        assert.deepStrictEqual(error.response.headers, { "x-should-retry": "false", "retry-after-ms": "2000" })
        assert.strictEqual(error.body, "down")
      }
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.httpError(503, { headers: { "X-Should-Retry": "false" }, retryAfter: "2 seconds", body: "down" })
    ]))))

  it.effect("waits its latency on the clock, before the first part and between chunks", () =>
    Effect.gen(function*() {
      const fiber = yield* LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runCollect, Effect.fork)
      yield* TestClock.adjust("1999 millis")
      assert.isNull(fiber.unsafePoll())
      // 2s before the first part, then 100ms before the second text piece
      yield* TestClock.adjust("1 millis")
      yield* TestClock.adjust("99 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const parts = yield* Fiber.join(fiber)
      assert.strictEqual(Chunk.size(parts), 6)
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("ab", { chunks: 2, delay: "2 seconds", chunkDelay: "100 millis" })]))))

  it.effect("answers from a function of the request", () =>
    Effect.gen(function*() {
      const a = yield* LanguageModel.generateText({ prompt: "ping" })
      const b = yield* LanguageModel.generateText({ prompt: "pong" })
      assert.deepStrictEqual([a.text, b.text], ["echo: ping", "echo: pong"])
    }).pipe(Effect.provide(TestModel.layer((request) => TestModel.text(`echo: ${request.lastUserText}`)))))

  it.effect("dies with a clear message when the script runs out", () =>
    Effect.gen(function*() {
      yield* LanguageModel.generateText({ prompt: "one" })
      const exit = yield* Effect.exit(LanguageModel.generateText({ prompt: "two" }))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.include(String(exit.cause), "no reply scripted for model call 2 (the script has 1)")
      }
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("only one")]))))
})

describe("TestModel.toolCallOf", () => {
  const GetWeather = Tool.make("get_weather", {
    parameters: { city: Schema.String, days: Schema.NumberFromString },
    success: Schema.String
  })
  const Weather = Toolkit.make(GetWeather)
  const call = TestModel.toolCallOf(Weather)

  it.effect("scripts a call the toolkit's handlers receive decoded", () =>
    Effect.gen(function*() {
      const response = yield* LanguageModel.generateText({ prompt: "Weather?", toolkit: Weather })
      assert.deepStrictEqual(response.toolCalls.map((c) => [c.name, c.params]), [["get_weather", { city: "Paris", days: 3 }]])
    }).pipe(
      Effect.provide(TestModel.layer([call("get_weather", { city: "Paris", days: "3" })])),
      Effect.provide(Weather.toLayer({ get_weather: ({ city }) => Effect.succeed(`Sunny in ${city}`) }))
    ))

  it("checks names and parameters against the toolkit at compile time", () => {
    // @ts-expect-error not a tool of the toolkit
    call("get_wether", { city: "Paris", days: "3" })
    // @ts-expect-error the parameters as the model sends them: days is encoded as a string
    call("get_weather", { city: "Paris", days: 3 })
    // @ts-expect-error a parameter is missing
    call("get_weather", { city: "Paris" })
    assert.strictEqual(call("get_weather", { city: "Paris", days: "1" }).toolCalls[0]?.name, "get_weather")
  })
})
