import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as RateLimit from "../layers/RateLimit.js"
import * as TestModel from "../layers/TestModel.js"
import * as ModelParts from "../services/ModelParts.js"
import * as Agent from "../src/Agent.js"
import type * as RunEvent from "../src/RunEvent.js"

const answering = TestModel.layer((request) => TestModel.text(`ok: ${request.lastUserText.slice(0, 10)}`))

describe("RateLimit", () => {
  it.effect("holds the third request of a minute until the bucket refills, for every agent sharing the model", () =>
    Effect.gen(function*() {
      const a = Agent.make({ name: "a" })
      const b = Agent.make({ name: "b" })
      yield* Agent.run(a, "one")
      yield* Agent.run(b, "two")
      // 2 requests a minute: one more request every 30 seconds.
      const third = yield* Effect.fork(Agent.run(a, "three"))
      yield* TestClock.adjust("29999 millis")
      assert.isNull(third.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const output = yield* Fiber.join(third)
      assert.strictEqual(output.content, "ok: three")
      assert.strictEqual(Duration.toMillis(output.metrics.duration), 30_000)
    }).pipe(Effect.provide(RateLimit.limit(answering, { requestsPerMinute: 2 }))))

  it.effect("reports a wait as an event of the streamed run, and the printer shows it", () =>
    Effect.gen(function*() {
      const agent = Agent.make({})
      yield* Agent.run(agent, "one")
      const written: Array<string> = []
      const fiber = yield* Effect.fork(
        Agent.printResponse(agent, "two", {
          stream: true,
          color: false,
          write: (text) => Effect.sync(() => written.push(text)),
          onEvent: (event) => Effect.sync(() => events.push(event))
        })
      )
      const events: Array<RunEvent.RunEvent> = []
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      const waits = events.filter((event): event is RunEvent.RateLimitWaited => event._tag === "RateLimitWaited")
      assert.deepStrictEqual(waits.map((event) => Duration.toMillis(event.waited)), [60_000])
      assert.include(written.join(""), "⏳ waited 1m 0s for the rate limit")
    }).pipe(Effect.provide(RateLimit.limit(answering, { requestsPerMinute: 1 }))))

  it.effect("holds a call until its tokens fit in the minute's budget", () =>
    Effect.gen(function*() {
      const agent = Agent.make({})
      const long = "x".repeat(400) // about 100 tokens
      yield* Agent.run(agent, long)
      const second = yield* Effect.fork(Agent.run(agent, long))
      yield* TestClock.adjust("59 seconds")
      assert.isNull(second.unsafePoll())
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(second)
    }).pipe(Effect.provide(RateLimit.limit(answering, { tokensPerMinute: 100 }))))

  it.effect("keeps the limited model's own functions, and limits a model that has only the public interface", () =>
    Effect.gen(function*() {
      const limitedTestModel = yield* Layer.build(RateLimit.limit(answering, { requestsPerMinute: 1 }))
      assert.isDefined(ModelParts.get(Context.get(limitedTestModel, LanguageModel.LanguageModel)))
      // As any third-party provider would build it: no functions of its own to keep.
      const publicOnly = Layer.effect(
        LanguageModel.LanguageModel,
        Effect.map(LanguageModel.LanguageModel, (service): LanguageModel.Service => ({ ...service }))
      ).pipe(Layer.provide(answering))
      const limited = yield* Layer.build(RateLimit.limit(publicOnly, { requestsPerMinute: 1 }))
      const service = Context.get(limited, LanguageModel.LanguageModel)
      assert.isUndefined(ModelParts.get(service))
      const agent = Agent.make({})
      yield* Agent.run(agent, "one").pipe(Effect.provide(limited))
      const second = yield* Effect.fork(Agent.run(agent, "two").pipe(Effect.provide(limited)))
      yield* TestClock.adjust("59 seconds")
      assert.isNull(second.unsafePoll())
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(second)).content, "ok: two")
    }).pipe(Effect.scoped))

  it("estimates tokens at four characters each over the whole prompt", () => {
    const prompt = Prompt.make([
      { role: "system", content: "abcd" },
      { role: "user", content: "12345678" },
      { role: "assistant", content: [{ type: "tool-call", id: "1", name: "t", params: { a: 1 }, providerExecuted: false }] },
      { role: "tool", content: [{ type: "tool-result", id: "1", name: "t", result: "abc", isFailure: false, providerExecuted: false }] }
    ])
    // 4 + 8 + `{"a":1}` (7) + `"abc"` (5) = 24 characters
    assert.strictEqual(RateLimit.estimateTokens(prompt), 6)
  })

  it.effect("makes no call wait while the budget lasts", () =>
    Effect.gen(function*() {
      const outputs = yield* Effect.forEach(["a", "b", "c"], (input) => Agent.run(Agent.make({}), input), {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(outputs.map((output) => Duration.toMillis(output.metrics.duration)), [0, 0, 0])
    }).pipe(Effect.provide(RateLimit.limit(answering, { requestsPerMinute: 3, tokensPerMinute: 1000 }))))
})
