import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import { chunk, json, server, sse, usage } from "./fixtures/chatServer.js"
import * as Agent from "../src/Agent.js"
import * as Retry from "../src/Retry.js"
import type * as RunEvent from "../src/RunEvent.js"

const model = (url: string, options?: Partial<OpenAiCompatible.Options>) =>
  OpenAiCompatible.layer({ baseUrl: url, model: "sim-model", apiKey: Redacted.make("sk-secret"), ...options })

const GetWeather = Tool.make("get_weather", {
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})
const Tools = Toolkit.make(GetWeather)
const ToolsLive = Tools.toLayer({ get_weather: ({ city }) => Effect.succeed({ city, celsius: 20 + city.length }) })

describe("OpenAiCompatible", () => {
  it.scopedLive("answers a JSON completion with usage and sends the conversation", () =>
    Effect.gen(function*() {
      const s = yield* server([
        json({
          id: "c1",
          model: "sim-model-2024",
          created: 1,
          choices: [{ message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }],
          usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14, completion_tokens_details: { reasoning_tokens: 1 } }
        })
      ])
      const agent = Agent.make({ instructions: "Be nice.", retry: Retry.none })
      const output = yield* Agent.run(agent, "Hi").pipe(Effect.provide(model(s.url)))
      assert.strictEqual(output.content, "Hello!")
      assert.strictEqual(output.model, "sim-model-2024")
      assert.deepStrictEqual(
        [output.metrics.inputTokens, output.metrics.outputTokens, output.metrics.totalTokens, output.metrics.reasoningTokens],
        [11, 3, 14, 1]
      )
      assert.deepStrictEqual(s.bodies[0].messages, [
        { role: "system", content: "Be nice." },
        { role: "user", content: "Hi" }
      ])
      assert.strictEqual(s.bodies[0].model, "sim-model")
      assert.isUndefined(s.bodies[0].stream)
      assert.strictEqual(s.headers[0]!.authorization, "Bearer sk-secret")
    }))

  it.scopedLive("sends a structured answer's JSON Schema with every call", () =>
    Effect.gen(function*() {
      const answer = json({
        choices: [{ message: { role: "assistant", content: "{\"city\":\"Paris\"}" }, finish_reason: "stop" }]
      })
      const s = yield* server([answer, answer])
      const agent = Agent.make({ output: Schema.Struct({ city: Schema.String }), retry: Retry.none })
      for (let i = 0; i < 2; i++) {
        const output = yield* Agent.run(agent, "Where?").pipe(Effect.provide(model(s.url)))
        assert.deepStrictEqual(output.content, { city: "Paris" })
      }
      const expected = {
        type: "json_schema",
        json_schema: {
          name: "output",
          schema: {
            type: "object",
            required: ["city"],
            properties: { city: { type: "string" } },
            additionalProperties: false
          },
          strict: false
        }
      }
      assert.deepStrictEqual(s.bodies.map((body) => body.response_format), [expected, expected])
    }))

  it.scopedLive("streams text deltas and reads usage from the last chunk", () =>
    Effect.gen(function*() {
      const s = yield* server([
        sse([
          chunk({ role: "assistant", content: "" }),
          chunk({ content: "Hel" }),
          chunk({ content: "lo" }),
          chunk({}, "stop"),
          usage(9, 2),
          "[DONE]"
        ])
      ])
      const events = yield* Agent.stream(Agent.make({}), "Hi").pipe(
        Stream.runCollect,
        Effect.map((chunk) => [...chunk]),
        Effect.provide(model(s.url))
      )
      assert.deepStrictEqual(
        events.flatMap((event) => (event._tag === "TextDelta" ? [event.delta] : [])),
        ["Hel", "lo"]
      )
      const output = (events[events.length - 1] as RunEvent.RunCompleted).output
      assert.strictEqual(output.content, "Hello")
      assert.deepStrictEqual([output.metrics.inputTokens, output.metrics.outputTokens], [9, 2])
      assert.strictEqual(s.bodies[0].stream, true)
      assert.deepStrictEqual(s.bodies[0].stream_options, { include_usage: true })
    }))

  it.scopedLive("streams reasoning, then text, each opened before its deltas and closed once", () =>
    Effect.gen(function*() {
      const s = yield* server([
        sse([
          chunk({ role: "assistant", reasoning_content: "Think" }),
          chunk({ reasoning: "ing" }),
          chunk({ content: "Hi" }),
          chunk({ content: "!" }),
          chunk({}, "stop"),
          "[DONE]"
        ])
      ])
      const parts = yield* LanguageModel.streamText({ prompt: "Hi" }).pipe(
        Stream.runCollect,
        Effect.provide(model(s.url))
      )
      assert.deepStrictEqual(
        [...parts].flatMap((part) =>
          part.type === "response-metadata" || part.type === "finish"
            ? []
            : ["delta" in part ? `${part.type} ${part.delta}` : part.type]
        ),
        [
          "reasoning-start",
          "reasoning-delta Think",
          "reasoning-delta ing",
          "reasoning-end",
          "text-start",
          "text-delta Hi",
          "text-delta !",
          "text-end"
        ]
      )
    }))

  it.scopedLive("assembles two streamed tool calls from fragments, runs them, and sends results back", () =>
    Effect.gen(function*() {
      const s = yield* server([
        sse([
          chunk({ role: "assistant", tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: "{\"ci" } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: "ty\":\"Paris\"}" } }] }),
          chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Rome\"}" } }] }),
          chunk({}, "tool_calls"),
          usage(20, 10),
          "[DONE]"
        ], { oneWrite: true }),
        sse([chunk({ content: "Paris 25, Rome 24." }), chunk({}, "stop"), usage(40, 5), "[DONE]"])
      ])
      const agent = Agent.make({ toolkit: Tools, retry: Retry.none })
      const output = yield* Agent.stream(agent, "Weather?").pipe(
        Stream.runLast,
        Effect.map((last) => (last._tag === "Some" ? (last.value as RunEvent.RunCompleted).output : undefined)),
        Effect.provide(Layer.merge(model(s.url), ToolsLive))
      )
      assert.strictEqual(output!.content, "Paris 25, Rome 24.")
      assert.deepStrictEqual(output!.toolCalls.map((call) => call.arguments), [{ city: "Paris" }, { city: "Rome" }])
      assert.deepStrictEqual([output!.metrics.inputTokens, output!.metrics.outputTokens], [60, 15])
      assert.deepStrictEqual(s.bodies[0].tools, [{
        type: "function",
        function: {
          name: "get_weather",
          parameters: {
            type: "object",
            required: ["city"],
            properties: { city: { type: "string" } },
            additionalProperties: false
          }
        }
      }])
      assert.deepStrictEqual(s.bodies[1].messages, [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Paris\"}" } },
            { id: "call_b", type: "function", function: { name: "get_weather", arguments: "{\"city\":\"Rome\"}" } }
          ]
        },
        { role: "tool", tool_call_id: "call_a", content: "{\"city\":\"Paris\",\"celsius\":25}" },
        { role: "tool", tool_call_id: "call_b", content: "{\"city\":\"Rome\",\"celsius\":24}" }
      ])
    }))

  it.scopedLive("feeds arguments that are not JSON back to the model", () =>
    Effect.gen(function*() {
      const s = yield* server([
        sse([
          chunk({ tool_calls: [{ index: 0, id: "call_a", function: { name: "get_weather", arguments: "{city: Paris" } }] }),
          chunk({}, "tool_calls"),
          "[DONE]"
        ]),
        sse([chunk({ content: "Sorry." }), chunk({}, "stop"), "[DONE]"])
      ])
      const output = yield* Agent.run(Agent.make({ toolkit: Tools }), "Weather?", { onEvent: () => Effect.void }).pipe(
        Effect.provide(Layer.merge(model(s.url), ToolsLive))
      )
      assert.strictEqual(output.toolCalls[0]!.failure, "InvalidArguments")
      assert.include(s.bodies[1].messages[2].content, "Invalid arguments for tool")
    }))

  it.scopedLive("classifies a 429 with Retry-After, never leaking the API key", () =>
    Effect.gen(function*() {
      const s = yield* server([json({ error: { message: "slow down", type: "rate_limit" } }, 429, { "retry-after": "3" })])
      const error = yield* Agent.run(Agent.make({ retry: Retry.none }), "Hi").pipe(
        Effect.provide(model(s.url)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ModelError")
      if (error._tag !== "ModelError") return
      assert.strictEqual(error.reason, "RateLimited")
      assert.deepStrictEqual(error.retryAfter, Duration.seconds(3))
      assert.include(error.message, "slow down")
      assert.notInclude(JSON.stringify(error), "sk-secret")
    }))

  it.scopedLive("fails on an error inside the stream and on a stream that ends unfinished", () =>
    Effect.gen(function*() {
      const s = yield* server([
        sse([chunk({ content: "Hel" }), { error: { message: "The server is overloaded", type: "overloaded_error" } }]),
        sse([chunk({ content: "Hel" })])
      ])
      const agent = Agent.make({ retry: Retry.none })
      const run = Agent.stream(agent, "Hi").pipe(Stream.runDrain, Effect.provide(model(s.url)), Effect.flip)
      const inStream = yield* run
      assert.strictEqual(inStream._tag, "ModelError")
      if (inStream._tag === "ModelError") assert.strictEqual(inStream.reason, "Overloaded")
      const truncated = yield* run
      assert.strictEqual(truncated._tag, "ModelError")
      if (truncated._tag === "ModelError") {
        assert.strictEqual(truncated.reason, "MalformedResponse")
        assert.include(truncated.message, "ended before the answer was finished")
      }
    }))

  it.scopedLive("fails a stalled stream with an idle timeout", () =>
    Effect.gen(function*() {
      const s = yield* server([sse([chunk({ content: "Hel" })], { end: false })])
      const error = yield* Agent.stream(Agent.make({ retry: Retry.none }), "Hi").pipe(
        Stream.runDrain,
        Effect.provide(model(s.url, { idleTimeout: "200 millis" })),
        Effect.flip
      )
      assert.strictEqual(error._tag, "ModelError")
      if (error._tag === "ModelError") assert.include(error.message, "idle timeout")
    }))

  it.scopedLive("interrupting a streamed run closes its connection", () =>
    Effect.gen(function*() {
      const s = yield* server([sse([chunk({ content: "Hel" })], { end: false })])
      const fiber = yield* Agent.stream(Agent.make({}), "Hi").pipe(
        Stream.runDrain,
        Effect.provide(model(s.url)),
        Effect.fork
      )
      while (s.bodies.length === 0) yield* Effect.sleep("5 millis")
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      for (let i = 0; i < 100 && s.closed() === 0; i++) yield* Effect.sleep("5 millis")
      assert.strictEqual(s.closed(), 1)
    }))
})
