import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ModelParts from "../services/ModelParts.js"
import * as Agent from "../src/Agent.js"
import type * as RunEvent from "../src/RunEvent.js"

const finish: Response.FinishPartEncoded = {
  type: "finish",
  reason: "stop",
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }
}

/**
 * A model that answers "hi", recording which of its own functions it was called through and the
 * hooks each call was given.
 */
const recording = (options: { readonly wait?: Duration.DurationInput } = {}) => {
  const calls: Array<string> = []
  const hooks: Array<ModelParts.Hooks | undefined> = []
  const waited = (given: ModelParts.Hooks | undefined) =>
    options.wait !== undefined && given?.onWait !== undefined ? given.onWait(Duration.decode(options.wait)) : Effect.void
  const parts: ModelParts.ModelParts = {
    generateText: (_, given) =>
      Effect.sync(() => {
        calls.push("parts.generateText")
        hooks.push(given)
        return [{ type: "text", text: "hi" }, finish]
      }),
    streamText: (_, given) =>
      Stream.suspend(() => {
        calls.push("parts.streamText")
        hooks.push(given)
        return Stream.make<Array<Response.StreamPartEncoded>>({ type: "text-delta", id: "0", delta: "hi" }, finish)
      }),
    streamParts: (_, onParts, given) =>
      Effect.suspend(() => {
        calls.push("parts.streamParts")
        hooks.push(given)
        return Effect.zipRight(waited(given), onParts([{ type: "text-delta", id: "0", delta: "hi" }, finish]))
      })
  }
  return { calls, hooks, parts }
}

const streamed = (agent: Agent.Agent<string, never>, input: string) =>
  Effect.map(
    Stream.runCollect(Agent.stream(agent, input)),
    (events) => Chunk.toReadonlyArray(events) as ReadonlyArray<RunEvent.RunEvent>
  )

describe("ModelParts", () => {
  it.effect("a service built with make carries its functions under a key that no copy takes", () =>
    Effect.gen(function*() {
      const { parts } = recording()
      const service = yield* ModelParts.make(parts)
      assert.strictEqual(ModelParts.get(service), parts)
      assert.isTrue(Reflect.ownKeys(service).includes(ModelParts.TypeId))
      assert.isFalse(Object.keys(service).includes(ModelParts.TypeId as never))
      // A spread, an assign and a service built on it as a prototype: none is the model itself.
      assert.isUndefined(ModelParts.get({ ...service }))
      assert.isUndefined(ModelParts.get(Object.assign({}, service)))
      assert.isUndefined(ModelParts.get(Object.create(service)))
      // Its public interface is @effect/ai's own, over the same functions.
      const response = yield* service.generateText({ prompt: "hello" })
      assert.strictEqual(response.text, "hi")
    }))

  it.effect("an agent calls the model's own functions, whole and streamed", () =>
    Effect.gen(function*() {
      const { calls, parts } = recording()
      const model = Layer.effect(LanguageModel.LanguageModel, ModelParts.make(parts))
      const agent = Agent.make({ model })
      const output = yield* Agent.run(agent, "hello")
      assert.strictEqual(output.content, "hi")
      yield* streamed(agent, "hello")
      assert.deepStrictEqual(calls, ["parts.generateText", "parts.streamParts"])
    }))

  it.effect("a copy of the service with a wrapper of its own is called through the wrapper", () =>
    Effect.gen(function*() {
      const { calls, parts } = recording()
      const model = Layer.effect(
        LanguageModel.LanguageModel,
        Effect.map(ModelParts.make(parts), (service): LanguageModel.Service => ({
          ...service,
          generateText: (options) => Effect.suspend(() => (calls.push("wrapper.generateText"), service.generateText(options))),
          streamText: (options) => Stream.suspend(() => (calls.push("wrapper.streamText"), service.streamText(options)))
        }))
      )
      const agent = Agent.make({ model })
      assert.strictEqual((yield* Agent.run(agent, "hello")).content, "hi")
      const events = yield* streamed(agent, "hello")
      assert.strictEqual(events[events.length - 1]!._tag, "RunCompleted")
      assert.deepStrictEqual(calls, [
        "wrapper.generateText",
        "parts.generateText",
        "wrapper.streamText",
        "parts.streamText"
      ])
    }))

  it.effect("a streamed run hears of a wait through the call's hooks, as a RateLimitWaited event", () =>
    Effect.gen(function*() {
      const { hooks, parts } = recording({ wait: "3 seconds" })
      const agent = Agent.make({ model: Layer.effect(LanguageModel.LanguageModel, ModelParts.make(parts)) })
      const events = yield* streamed(agent, "hello")
      const waits = events.filter((event): event is RunEvent.RateLimitWaited => event._tag === "RateLimitWaited")
      assert.deepStrictEqual(waits.map((event) => [event.runId, Duration.toMillis(event.waited)]), [
        [events[0]!.runId, 3000]
      ])
      // A run whose events nobody reads has nobody to tell: its calls get no hooks.
      yield* Agent.run(agent, "hello")
      assert.isDefined(hooks[0]?.onWait)
      assert.isUndefined(hooks[1])
    }))
})
