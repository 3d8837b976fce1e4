import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicGenerated from "@effect/ai-anthropic/Generated"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiGenerated from "@effect/ai-openai/Generated"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import * as Path from "node:path"
import * as Undici from "undici"
import * as SimulatorSchema from "../layers/internal/simulatorSchema.js"
import * as Simulator from "../layers/Simulator.js"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

const GetWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: { city: Schema.String, unit: Schema.Literal("celsius", "fahrenheit") },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})

const Add = Tool.make("add", {
  description: "Adds two numbers",
  parameters: { a: Schema.Number, b: Schema.Number },
  success: Schema.Number
})

const Tools = Toolkit.make(GetWeather, Add)
const ToolsLive = Tools.toLayer({
  get_weather: ({ city }) => Effect.succeed({ city, celsius: 21 }),
  add: ({ a, b }) => Effect.succeed(a + b)
})

const openAi = (simulator: Simulator.Service) =>
  OpenAiLanguageModel.layer({ model: "gpt-4o-mini" }).pipe(
    Layer.provide(OpenAiClient.layer({ apiUrl: simulator.openAiUrl, apiKey: Redacted.make("test") })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

const anthropic = (simulator: Simulator.Service) =>
  AnthropicLanguageModel.layer({ model: "claude-sonnet-4-5" }).pipe(
    Layer.provide(AnthropicClient.layer({ apiUrl: simulator.anthropicUrl, apiKey: Redacted.make("test") })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

interface Reply {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly text: string
}

/** A plain HTTP request with undici; `dispatcher` to control its connections. */
const post = (
  url: string,
  body: unknown,
  options?: { readonly headers?: Record<string, string>; readonly dispatcher?: Undici.Dispatcher }
): Effect.Effect<Reply, unknown> =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await Undici.request(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...options?.headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
        signal,
        ...(options?.dispatcher === undefined ? {} : { dispatcher: options.dispatcher })
      })
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
    },
    catch: (cause) => cause
  })

interface SseEvent {
  readonly event: string | undefined
  readonly data: string
}

/** Server-sent events as a conforming parser reads them. */
const parseSse = (text: string): ReadonlyArray<SseEvent> => {
  const events: Array<SseEvent> = []
  for (const block of text.split("\n\n")) {
    let event: string | undefined
    const data: Array<string> = []
    for (const line of block.split("\n")) {
      if (line.length === 0) continue
      const at = line.indexOf(":")
      const field = at === -1 ? line : line.slice(0, at)
      let value = at === -1 ? "" : line.slice(at + 1)
      if (value.startsWith(" ")) value = value.slice(1)
      if (field === "event") event = value
      else if (field === "data") data.push(value)
    }
    if (data.length > 0) events.push({ event, data: data.join("\n") })
  }
  return events
}

const json = (text: string): any => JSON.parse(text)
const parses = (text: string) => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

const decodeResponsesEvent = Schema.decodeUnknownSync(OpenAiClient.ResponseStreamEvent)
const decodeResponse = Schema.decodeUnknownSync(OpenAiGenerated.Response)
const decodeAnthropicEvent = Schema.decodeUnknownSync(AnthropicClient.MessageStreamEvent)
const decodeMessage = Schema.decodeUnknownSync(AnthropicGenerated.BetaMessage)
const decodeAnthropicError = Schema.decodeUnknownSync(AnthropicGenerated.BetaErrorResponse)
const decodeOpenAiError = Schema.decodeUnknownSync(OpenAiGenerated.ErrorResponse)

const responsesBody = (input: unknown, extra?: Record<string, unknown>) => ({ model: "gpt-4o-mini", input, ...extra })
const chatBody = (content: string, extra?: Record<string, unknown>) => ({
  model: "gpt-4o-mini",
  messages: [{ role: "user", content }],
  ...extra
})
const messagesBody = (content: string, extra?: Record<string, unknown>) => ({
  model: "claude-sonnet-4-5",
  max_tokens: 1024,
  messages: [{ role: "user", content }],
  ...extra
})

const chatTool = (tool: Tool.Any) => ({
  type: "function",
  function: { name: tool.name, description: Tool.getDescription(tool as any), parameters: Tool.getJsonSchema(tool as any) }
})

const textDeltas = (parts: Chunk.Chunk<{ readonly type: string }>) =>
  Chunk.toReadonlyArray(parts).flatMap((part) => (part.type === "text-delta" ? [(part as any).delta as string] : []))

// -----------------------------------------------------------------------------
// OpenAI Responses, through @effect/ai-openai
// -----------------------------------------------------------------------------

describe("Simulator: OpenAI Responses", () => {
  it.scopedLive("answers generateText with text, usage and a finish reason the client decodes", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.text("Hello from the simulator.", { usage: { inputTokens: 12, outputTokens: 5 } })]
      })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(openAi(simulator)))
      assert.strictEqual(response.text, "Hello from the simulator.")
      assert.strictEqual(response.finishReason, "stop")
      assert.deepStrictEqual([response.usage.inputTokens, response.usage.outputTokens, response.usage.totalTokens], [
        12,
        5,
        17
      ])
      const raw = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("Hi", { tools: [] }))
      const decoded = decodeResponse(json(raw.text))
      assert.deepStrictEqual([decoded.status, decoded.output.map((item) => item.type)], ["completed", ["message"]])
      const stats = yield* simulator.stats
      assert.deepStrictEqual([stats.requests, stats.requestsByProtocol], [2, { "responses": 2, "chat-completions": 0, "messages": 0 }])
    }))

  it.scopedLive("streams text deltas with streamText, then a finish part with usage", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.text("one two three four", { chunks: ["one ", "two ", "three ", "four"] })]
      })
      const parts = yield* LanguageModel.streamText({ prompt: "Count" }).pipe(
        Stream.runCollect,
        Effect.provide(openAi(simulator))
      )
      assert.deepStrictEqual(textDeltas(parts), ["one ", "two ", "three ", "four"])
      const finish = Chunk.toReadonlyArray(parts).find((part) => part.type === "finish")
      assert.isDefined(finish)
      if (finish?.type === "finish") {
        assert.strictEqual(finish.reason, "stop")
        assert.isAbove(finish.usage.inputTokens ?? 0, 0)
        assert.isAbove(finish.usage.outputTokens ?? 0, 0)
      }
    }))

  it.scopedLive("calls a tool with arguments that fit its schema, then answers from the tool result", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const model = openAi(simulator)
      const first = yield* LanguageModel.generateText({ prompt: "What's the weather in Paris in fahrenheit?", toolkit: Tools })
        .pipe(Effect.provide(model), Effect.provide(ToolsLive))
      assert.strictEqual(first.finishReason, "tool-calls")
      assert.deepStrictEqual(first.toolCalls.map((call) => [call.name, call.params]), [
        ["get_weather", { city: "Paris", unit: "fahrenheit" }]
      ])
      assert.deepStrictEqual(first.toolResults.map((result) => result.result), [{ city: "Paris", celsius: 21 }])
      const prompt = Prompt.merge(Prompt.make("What's the weather in Paris in fahrenheit?"), Prompt.fromResponseParts(first.content))
      const second = yield* LanguageModel.generateText({ prompt, toolkit: Tools }).pipe(
        Effect.provide(model),
        Effect.provide(ToolsLive)
      )
      assert.strictEqual(second.finishReason, "stop")
      assert.include(second.text, `get_weather returned {"city":"Paris","celsius":21}`)
      const requests = yield* simulator.requests
      assert.deepStrictEqual(requests[1]!.toolResults.map((r) => [r.id, r.name, json(r.content)]), [
        [first.toolCalls[0]!.id, "get_weather", { city: "Paris", celsius: 21 }]
      ])
    }))

  it.scopedLive("streams several tool calls in one message, their arguments in fragments", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [
          Simulator.toolCalls([
            { name: "add", arguments: { a: 1, b: 2 }, chunks: 3 },
            { name: "get_weather", arguments: { city: "Oslo", unit: "celsius" } }
          ])
        ]
      })
      const parts = Chunk.toReadonlyArray(
        yield* LanguageModel.streamText({ prompt: "go", toolkit: Tools }).pipe(
          Stream.runCollect,
          Effect.provide(openAi(simulator)),
          Effect.provide(ToolsLive)
        )
      )
      const deltas = parts.flatMap((part) => (part.type === "tool-params-delta" ? [part.delta] : []))
      assert.isAtLeast(deltas.length, 4)
      assert.deepStrictEqual(
        parts.flatMap((part) => (part.type === "tool-call" ? [[part.name, part.params]] : [])),
        [["add", { a: 1, b: 2 }], ["get_weather", { city: "Oslo", unit: "celsius" }]]
      )
      assert.deepStrictEqual(parts.flatMap((part) => (part.type === "tool-result" ? [part.result] : [])), [
        3,
        { city: "Oslo", celsius: 21 }
      ])
      const finish = parts.find((part) => part.type === "finish")
      assert.strictEqual(finish?.type === "finish" ? finish.reason : undefined, "tool-calls")
    }))

  it.scopedLive("sends events every one of which decodes with the client's strict schemas, in the documented order", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.toolCalls([{ name: "add", arguments: { a: 1, b: 2 } }], { text: "Adding." })]
      })
      const reply = yield* post(
        `${simulator.openAiUrl}/responses`,
        responsesBody("add 1 and 2", { stream: true, tools: [{ type: "function", name: "add", parameters: {}, strict: true }] })
      )
      assert.strictEqual(reply.status, 200)
      assert.strictEqual(reply.headers["content-type"], "text/event-stream; charset=utf-8")
      const events = parseSse(reply.text)
      const types = events.map((e) => e.event)
      assert.deepStrictEqual(types, [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed"
      ])
      events.forEach((event, i) => {
        const decoded = decodeResponsesEvent(json(event.data))
        assert.strictEqual(decoded.type, event.event)
        assert.strictEqual((decoded as { sequence_number: number }).sequence_number, i)
      })
      const completed = json(events[events.length - 1]!.data).response
      assert.deepStrictEqual(completed.output.map((item: any) => item.type), ["message", "function_call"])
      assert.strictEqual(completed.output[1].arguments, `{"a":1,"b":2}`)
    }))

  it.scopedLive("answers a JSON response format with JSON that fits the schema", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const Person = Schema.Struct({ name: Schema.String, age: Schema.Int.pipe(Schema.between(18, 99)), tags: Schema.Array(Schema.String) })
      const response = yield* LanguageModel.generateObject({ prompt: "Describe Ada", schema: Person, objectName: "person" }).pipe(
        Effect.provide(openAi(simulator))
      )
      assert.strictEqual(response.value.name, "Ada")
      assert.isAtLeast(response.value.age, 18)
      assert.isTrue(Schema.is(Person)(response.value))
    }))
})

// -----------------------------------------------------------------------------
// Anthropic Messages, through @effect/ai-anthropic
// -----------------------------------------------------------------------------

describe("Simulator: Anthropic Messages", () => {
  it.scopedLive("answers generateText with text and usage", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.text("Bonjour.", { usage: { inputTokens: 7, outputTokens: 2 } })]
      })
      const response = yield* LanguageModel.generateText({ prompt: "Hi" }).pipe(Effect.provide(anthropic(simulator)))
      assert.strictEqual(response.text, "Bonjour.")
      assert.strictEqual(response.finishReason, "stop")
      assert.deepStrictEqual([response.usage.inputTokens, response.usage.outputTokens], [7, 2])
      assert.strictEqual((yield* simulator.stats).requestsByProtocol.messages, 1)
    }))

  it.scopedLive("streams text deltas and the usage of message_start and message_delta", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.text("a b c", { chunks: 3, usage: { inputTokens: 30, outputTokens: 3 } })]
      })
      const parts = yield* LanguageModel.streamText({ prompt: "abc" }).pipe(
        Stream.runCollect,
        Effect.provide(anthropic(simulator))
      )
      assert.deepStrictEqual(textDeltas(parts), ["a ", "b ", "c"])
      const finish = Chunk.toReadonlyArray(parts).find((part) => part.type === "finish")
      assert.deepStrictEqual(
        finish?.type === "finish" ? [finish.reason, finish.usage.inputTokens, finish.usage.outputTokens] : [],
        ["stop", 30, 3]
      )
    }))

  it.scopedLive("calls a tool (streamed input_json_delta fragments), then answers from the tool_result", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const model = anthropic(simulator)
      const parts = Chunk.toReadonlyArray(
        yield* LanguageModel.streamText({ prompt: "Please add 2 and 40", toolkit: Tools }).pipe(
          Stream.runCollect,
          Effect.provide(model),
          Effect.provide(ToolsLive)
        )
      )
      assert.deepStrictEqual(parts.flatMap((part) => (part.type === "tool-call" ? [[part.name, part.params]] : [])), [
        ["add", { a: 2, b: 40 }]
      ])
      assert.deepStrictEqual(parts.flatMap((part) => (part.type === "tool-result" ? [part.result] : [])), [42])
      const prompt = Prompt.merge(Prompt.make("Please add 2 and 40"), Prompt.fromResponseParts(parts as any))
      const second = yield* LanguageModel.generateText({ prompt, toolkit: Tools }).pipe(
        Effect.provide(model),
        Effect.provide(ToolsLive)
      )
      assert.include(second.text, "add returned 42")
      const requests = yield* simulator.requests
      assert.deepStrictEqual(requests.map((r) => [r.protocol, r.stream]), [["messages", true], ["messages", false]])
      assert.deepStrictEqual(requests[1]!.toolResults.map((r) => [r.name, r.content]), [["add", "42"]])
    }))

  it.scopedLive("answers structured output (a forced tool) with an object that fits the schema", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const City = Schema.Struct({ name: Schema.String, population: Schema.Int.pipe(Schema.positive()) })
      const response = yield* LanguageModel.generateObject({ prompt: "Describe Lisbon", schema: City, objectName: "city" })
        .pipe(Effect.provide(anthropic(simulator)))
      assert.deepStrictEqual(response.value, { name: "Lisbon", population: 1 })
      const [request] = yield* simulator.requests
      assert.deepStrictEqual(request!.toolChoice, { name: "city" })
    }))

  it.scopedLive("sends events and messages that decode with the client's schemas, in the documented order", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [
          Simulator.toolCalls([{ name: "add", arguments: { a: 1, b: 2 } }, { name: "add", arguments: { a: 3, b: 4 } }], {
            text: "Adding."
          }),
          Simulator.toolCalls([{ name: "add", arguments: { a: 1, b: 2 } }], { text: "Adding." })
        ]
      })
      const stream = yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("add", { stream: true }))
      const events = parseSse(stream.text)
      assert.deepStrictEqual(events.map((e) => e.event), [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop"
      ])
      for (const event of events) assert.strictEqual(decodeAnthropicEvent(json(event.data)).type, event.event)
      assert.strictEqual(json(events[13]!.data).delta.stop_reason, "tool_use")
      const message = yield* post(`${simulator.anthropicUrl}/v1/messages?beta=true`, messagesBody("add"))
      const decoded = decodeMessage(json(message.text))
      assert.deepStrictEqual(decoded.content.map((block) => block.type), ["text", "tool_use"])
      assert.strictEqual(decoded.stop_reason, "tool_use")
    }))
})

// -----------------------------------------------------------------------------
// OpenAI Chat Completions, over plain HTTP
// -----------------------------------------------------------------------------

describe("Simulator: OpenAI Chat Completions", () => {
  it.scopedLive("answers JSON with a message, a finish reason and usage", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.text("Hi there.", { usage: { inputTokens: 9, outputTokens: 3, cachedInputTokens: 4 } })]
      })
      const reply = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("Hello"))
      assert.strictEqual(reply.status, 200)
      const body = json(reply.text)
      assert.strictEqual(body.object, "chat.completion")
      assert.deepStrictEqual(body.choices[0].message.content, "Hi there.")
      assert.strictEqual(body.choices[0].finish_reason, "stop")
      assert.deepStrictEqual(
        [body.usage.prompt_tokens, body.usage.completion_tokens, body.usage.total_tokens, body.usage.prompt_tokens_details.cached_tokens],
        [9, 3, 12, 4]
      )
      assert.strictEqual((yield* simulator.stats).requestsByProtocol["chat-completions"], 1)
    }))

  it.scopedLive("streams chunks: role, content deltas, finish, usage (with include_usage), [DONE]", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [
          Simulator.text("Hi there.", { chunks: ["Hi", " there."], usage: { inputTokens: 9, outputTokens: 3 } }),
          Simulator.text("Hi there.", { chunks: 2 })
        ]
      })
      const reply = yield* post(
        `${simulator.openAiUrl}/chat/completions`,
        chatBody("Hello", { stream: true, stream_options: { include_usage: true } })
      )
      const events = parseSse(reply.text)
      assert.strictEqual(events[events.length - 1]!.data, "[DONE]")
      const chunks = events.slice(0, -1).map((e) => json(e.data))
      assert.isTrue(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0].id))
      assert.deepStrictEqual(chunks[0].choices[0].delta, { role: "assistant", content: "", refusal: null })
      assert.deepStrictEqual(chunks.slice(1, 3).map((c) => c.choices[0].delta.content), ["Hi", " there."])
      assert.deepStrictEqual(chunks[3].choices[0], { index: 0, delta: {}, logprobs: null, finish_reason: "stop" })
      assert.isTrue(chunks.slice(0, 4).every((c) => c.usage === null))
      assert.deepStrictEqual(chunks[4].choices, [])
      assert.deepStrictEqual([chunks[4].usage.prompt_tokens, chunks[4].usage.completion_tokens, chunks[4].usage.total_tokens], [
        9,
        3,
        12
      ])
      const plain = parseSse((yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("Hello", { stream: true }))).text)
      assert.strictEqual(plain.length, 5)
      assert.isTrue(plain.slice(0, -1).every((e) => !("usage" in json(e.data))))
    }))

  it.scopedLive("streams several tool calls with argument fragments, and answers from the tool messages", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const reply = yield* post(
        `${simulator.openAiUrl}/chat/completions`,
        chatBody("What's the weather in Lima, and add 4 and 5", {
          stream: true,
          tools: [chatTool(GetWeather), chatTool(Add)]
        })
      )
      const chunks = parseSse(reply.text).slice(0, -1).map((e) => json(e.data))
      const calls: Array<{ id: string; name: string; arguments: string }> = []
      for (const chunk of chunks) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          if (delta.id !== undefined) calls[delta.index] = { id: delta.id, name: delta.function.name, arguments: "" }
          calls[delta.index]!.arguments += delta.function.arguments
        }
      }
      assert.deepStrictEqual(calls.map((c) => [c.name, json(c.arguments)]), [
        ["get_weather", { city: "Lima", unit: "celsius" }],
        ["add", { a: 4, b: 5 }]
      ])
      assert.isAbove(chunks.filter((c) => c.choices[0]?.delta.tool_calls?.[0]?.id === undefined && c.choices[0]?.delta.tool_calls).length, 2)
      assert.strictEqual(chunks[chunks.length - 1].choices[0].finish_reason, "tool_calls")
      const answer = yield* post(`${simulator.openAiUrl}/chat/completions`, {
        model: "gpt-4o-mini",
        messages: [
          { role: "user", content: "What's the weather in Lima, and add 4 and 5" },
          {
            role: "assistant",
            content: null,
            tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }))
          },
          { role: "tool", tool_call_id: calls[0]!.id, content: `{"city":"Lima","celsius":19}` },
          { role: "tool", tool_call_id: calls[1]!.id, content: "9" }
        ],
        tools: [chatTool(GetWeather), chatTool(Add)]
      })
      const message = json(answer.text).choices[0].message
      assert.include(message.content, `get_weather returned {"city":"Lima","celsius":19}; add returned 9`)
      assert.strictEqual(json(answer.text).choices[0].finish_reason, "stop")
    }))
})

// -----------------------------------------------------------------------------
// The built-in responder
// -----------------------------------------------------------------------------

class Address extends Schema.Class<Address>("Address")({
  street: Schema.String,
  zip: Schema.String.pipe(Schema.minLength(5), Schema.maxLength(5))
}) {}

const Booking = Schema.Struct({
  guest: Schema.String,
  email: Schema.String.annotations({ jsonSchema: { type: "string", format: "email" } }),
  nights: Schema.Int.pipe(Schema.between(1, 14)),
  price: Schema.Number.pipe(Schema.greaterThan(100)),
  room: Schema.Literal("single", "double", "suite"),
  extras: Schema.Array(Schema.Struct({ name: Schema.NonEmptyString, quantity: Schema.Int.pipe(Schema.positive()) })).pipe(
    Schema.minItems(2)
  ),
  address: Address,
  notes: Schema.optional(Schema.String),
  pet: Schema.NullOr(Schema.Boolean)
})

describe("Simulator: finish reasons", () => {
  it.scopedLive("reports a length limit the way each provider does, and the clients read it as \"length\"", () =>
    Effect.gen(function*() {
      const cut = () => Simulator.text("Once upon a", { chunks: 3, finishReason: "length" })
      const simulator = yield* Simulator.make({ script: () => cut() })
      const openaiJson = yield* LanguageModel.generateText({ prompt: "story" }).pipe(Effect.provide(openAi(simulator)))
      const openaiStream = yield* LanguageModel.streamText({ prompt: "story" }).pipe(
        Stream.runCollect,
        Effect.provide(openAi(simulator))
      )
      const claudeJson = yield* LanguageModel.generateText({ prompt: "story" }).pipe(Effect.provide(anthropic(simulator)))
      const claudeStream = yield* LanguageModel.streamText({ prompt: "story" }).pipe(
        Stream.runCollect,
        Effect.provide(anthropic(simulator))
      )
      const finishOf = (parts: Chunk.Chunk<any>) => Chunk.toReadonlyArray(parts).find((part) => part.type === "finish")?.reason
      assert.deepStrictEqual(
        [openaiJson.finishReason, finishOf(openaiStream), claudeJson.finishReason, finishOf(claudeStream)],
        ["length", "length", "length", "length"]
      )
      assert.strictEqual(textDeltas(openaiStream).join(""), "Once upon a")
      const raw = parseSse((yield* post(`${simulator.openAiUrl}/responses`, responsesBody("x", { stream: true }))).text)
      const last = decodeResponsesEvent(json(raw[raw.length - 1]!.data))
      assert.strictEqual(last.type, "response.incomplete")
      const chat = json((yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x"))).text)
      assert.strictEqual(chat.choices[0].finish_reason, "length")
      const claude = json((yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("x"))).text)
      assert.strictEqual(claude.stop_reason, "max_tokens")
    }))
})

describe("Simulator: the built-in responder", () => {
  it("generates values that fit a JSON Schema: nested objects, arrays, enums, bounds, formats, $ref", () => {
    const BookRoom = Tool.make("book_room", { parameters: Booking.fields })
    const schema = Tool.getJsonSchema(BookRoom)
    const value = SimulatorSchema.example(schema, SimulatorSchema.hintsFrom("Book a suite for Grace Hopper, 3 nights"))
    const booking = Schema.decodeUnknownSync(Booking)(value)
    assert.strictEqual(booking.room, "suite")
    assert.strictEqual(booking.guest, "Grace Hopper")
    assert.strictEqual(booking.nights, 3)
    assert.strictEqual(booking.email, "user@example.com")
    assert.strictEqual(booking.extras.length, 2)
    assert.strictEqual(booking.address.zip.length, 5)
  })

  it("generates arguments that do not fit, for the invalid-arguments fault", () => {
    const schema = Tool.getJsonSchema(GetWeather)
    const wrong = SimulatorSchema.counterexample(schema)
    assert.deepStrictEqual(wrong, { city: 42, unit: "not-an-allowed-value" })
    assert.isFalse(Schema.is(Schema.Struct(GetWeather.parametersSchema.fields))(wrong))
  })

  it.scopedLive("calls only the tools the user's words name, with arguments decoded by the tools' schemas", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const BookRoom = Tool.make("book_room", { parameters: Booking.fields })
      const tools = [chatTool(GetWeather), chatTool(Add), chatTool(BookRoom)]
      const ask = (content: string, extra?: Record<string, unknown>) =>
        Effect.map(
          post(`${simulator.openAiUrl}/chat/completions`, chatBody(content, { tools, ...extra })),
          (reply) => json(reply.text).choices[0].message
        )
      const booking = yield* ask("Please book a double room for Alan Turing")
      assert.strictEqual(booking.tool_calls.length, 1)
      const args = Schema.decodeUnknownSync(Booking)(json(booking.tool_calls[0].function.arguments))
      assert.deepStrictEqual([args.room, args.guest], ["double", "Alan Turing"])
      const none = yield* ask("Tell me a story")
      assert.isUndefined(none.tool_calls)
      assert.include(none.content, "simulated reply from the local LLM simulator, not a model")
      const forced = yield* ask("Tell me a story", { tool_choice: { type: "function", function: { name: "add" } } })
      assert.deepStrictEqual(forced.tool_calls.map((c: any) => c.function.name), ["add"])
      const required = yield* ask("Tell me a story", { tool_choice: "required" })
      assert.deepStrictEqual(required.tool_calls.map((c: any) => c.function.name), ["get_weather"])
      const never = yield* ask("What's the weather in Rome?", { tool_choice: "none" })
      assert.isUndefined(never.tool_calls)
    }))

  it.scopedLive("reports deterministic usage: four characters a token", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const first = json((yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x".repeat(40)))).text)
      const second = json((yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x".repeat(40)))).text)
      assert.strictEqual(first.usage.prompt_tokens, 10)
      assert.deepStrictEqual(first.usage, second.usage)
      assert.strictEqual(first.usage.completion_tokens, Math.ceil(first.choices[0].message.content.length / 4))
    }))
})

// -----------------------------------------------------------------------------
// Faults
// -----------------------------------------------------------------------------

describe("Simulator: HTTP errors", () => {
  it.scopedLive("429 with Retry-After and retry-after-ms, in each provider's error shape", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.rateLimited({ retryAfter: "1500 millis" }), Simulator.rateLimited({ retryAfter: "1500 millis" })]
      })
      const openai = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("hi"))
      assert.strictEqual(openai.status, 429)
      assert.deepStrictEqual([openai.headers["retry-after"], openai.headers["retry-after-ms"]], ["2", "1500"])
      const error = decodeOpenAiError(json(openai.text)).error
      assert.deepStrictEqual([error.type, error.code], ["requests", "rate_limit_exceeded"])
      const claude = yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("hi"))
      assert.strictEqual(claude.status, 429)
      assert.strictEqual(claude.headers["retry-after"], "2")
      assert.strictEqual(decodeAnthropicError(json(claude.text)).error.type, "rate_limit_error")
    }))

  it.scopedLive("a rate limit reaches @effect/ai-openai as an HttpResponseError carrying the header", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.rateLimited({ retryAfter: "250 millis" })] })
      const error = yield* Effect.flip(LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.provide(openAi(simulator))))
      assert.strictEqual(error._tag, "HttpResponseError")
      if (error._tag === "HttpResponseError") {
        assert.strictEqual(error.response.status, 429)
        assert.strictEqual(error.response.headers["retry-after-ms"], "250")
      }
    }))

  it.scopedLive("500, 502, 503 and overloaded (529 on Anthropic, 503 on OpenAI)", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [
          Simulator.serverError(),
          Simulator.serverError(502),
          Simulator.serverError(503),
          Simulator.overloaded(),
          Simulator.overloaded(),
          Simulator.serverError(500)
        ]
      })
      const statuses: Array<[number, string]> = []
      for (let i = 0; i < 3; i++) {
        const reply = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("hi"))
        statuses.push([reply.status, decodeOpenAiError(json(reply.text)).error.type])
      }
      const openaiOverloaded = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("hi"))
      statuses.push([openaiOverloaded.status, decodeOpenAiError(json(openaiOverloaded.text)).error.type])
      for (let i = 0; i < 2; i++) {
        const reply = yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("hi"))
        statuses.push([reply.status, decodeAnthropicError(json(reply.text)).error.type])
      }
      assert.deepStrictEqual(statuses, [
        [500, "server_error"],
        [502, "server_error"],
        [503, "server_error"],
        [503, "server_error"],
        [529, "overloaded_error"],
        [500, "api_error"]
      ])
    }))

  it.scopedLive("400, context too long, and 401 (scripted, or from a wrong API key)", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        apiKey: Redacted.make("sk-right"),
        script: [Simulator.badRequest({ message: "No." }), Simulator.contextTooLong(), Simulator.contextTooLong(), Simulator.unauthorized()]
      })
      const auth = { authorization: "Bearer sk-right" }
      const bad = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("hi"), { headers: auth })
      assert.deepStrictEqual([bad.status, json(bad.text).error.message], [400, "No."])
      const long = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("hi"), { headers: auth })
      assert.deepStrictEqual([long.status, json(long.text).error.code, json(long.text).error.param], [
        400,
        "context_length_exceeded",
        "messages"
      ])
      const longClaude = yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("hi"), {
        headers: { "x-api-key": "sk-right" }
      })
      const claudeError = decodeAnthropicError(json(longClaude.text)).error
      assert.deepStrictEqual([longClaude.status, claudeError.type], [400, "invalid_request_error"])
      assert.include(claudeError.message, "prompt is too long")
      const scripted = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("hi"), { headers: auth })
      assert.deepStrictEqual([scripted.status, json(scripted.text).error.code], [401, "invalid_api_key"])
      const wrongKey = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("hi"), {
        headers: { authorization: "Bearer sk-wrong" }
      })
      assert.strictEqual(wrongKey.status, 401)
      const noKey = yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("hi"))
      assert.deepStrictEqual([noKey.status, decodeAnthropicError(json(noKey.text)).error.type], [401, "authentication_error"])
      const right = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("hi"), { headers: auth })
      assert.strictEqual(right.status, 200)
      const recorded = yield* simulator.requests
      assert.strictEqual(recorded[0]!.headers.authorization, "<redacted>")
    }))

  it.scopedLive("refuses bad input with the provider's 400: not JSON, no model, no messages, no max_tokens", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const notJson = yield* post(`${simulator.openAiUrl}/chat/completions`, "{not json")
      assert.strictEqual(notJson.status, 400)
      assert.include(json(notJson.text).error.message, "could not parse the JSON body")
      const noModel = yield* post(`${simulator.openAiUrl}/responses`, { input: "hi" })
      assert.deepStrictEqual([noModel.status, json(noModel.text).error.param], [400, "model"])
      const noMessages = yield* post(`${simulator.openAiUrl}/chat/completions`, { model: "m" })
      assert.deepStrictEqual([noMessages.status, json(noMessages.text).error.param], [400, "messages"])
      const noMaxTokens = yield* post(`${simulator.anthropicUrl}/v1/messages`, { model: "m", messages: [] })
      assert.deepStrictEqual([noMaxTokens.status, json(noMaxTokens.text).error.message], [400, "max_tokens: Field required"])
      const unknown = yield* post(`${simulator.url}/v2/whatever`, {})
      assert.strictEqual(unknown.status, 404)
      assert.include(json(unknown.text).error.message, "/v1/chat/completions")
    }))
})

describe("Simulator: latency", () => {
  it.scopedLive("waits before the first byte and between chunks", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.text("a b c d", { chunks: 4, delay: "60 millis", chunkDelay: "25 millis" })]
      })
      const started = Date.now()
      const arrivals: Array<number> = []
      yield* Effect.promise(async () => {
        const res = await Undici.request(`${simulator.openAiUrl}/chat/completions`, {
          method: "POST",
          body: JSON.stringify(chatBody("x", { stream: true }))
        })
        arrivals.push(Date.now())
        for await (const chunk of res.body) {
          if (String(chunk).includes(`"content":"`)) arrivals.push(Date.now())
        }
      })
      // Lower bounds only: the server cannot send earlier, whatever the client's own lag.
      assert.isAtLeast(arrivals[0]! - started, 60 - 2)
      assert.isAtLeast(arrivals[arrivals.length - 1]! - started, 60 + 3 * 25 - 2)
    }))

  it.scopedLive("sends the whole SSE body in one write when asked (no chunk delay can apply)", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ oneWrite: true, chunkDelay: "10 seconds" })
      yield* simulator.script([Simulator.text("x".repeat(500), { chunks: 500 })])
      const reply = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("x", { stream: true })).pipe(
        Effect.timeout("5 seconds")
      )
      const deltas = parseSse(reply.text).filter((e) => e.event === "response.output_text.delta")
      assert.strictEqual(deltas.length, 500)
    }))
})

describe("Simulator: broken deliveries", () => {
  it.scopedLive("resets the connection mid-stream: some events, then the socket closes without an end", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.reset({ after: 5, reply: Simulator.text("a b c", { chunks: 3 }) })] })
      const received: Array<string> = []
      const exit = yield* Effect.exit(Effect.tryPromise(async () => {
        const res = await Undici.request(`${simulator.openAiUrl}/responses`, {
          method: "POST",
          body: JSON.stringify(responsesBody("x", { stream: true }))
        })
        for await (const chunk of res.body) received.push(String(chunk))
      }))
      assert.isTrue(Exit.isFailure(exit))
      const events = parseSse(received.join(""))
      assert.deepStrictEqual(events.map((e) => e.event), [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta"
      ])
      const stats = yield* simulator.awaitStats((s) => s.activeResponses === 0)
      assert.strictEqual(stats.clientAborts, 0)
    }))

  it.scopedLive("a reset reaches the clients as a failure, not as a short answer", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.reset(), Simulator.reset(), Simulator.reset({ after: 0 })] })
      const streamed = yield* Effect.exit(
        LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runCollect, Effect.provide(openAi(simulator)))
      )
      assert.isTrue(Exit.isFailure(streamed))
      const claude = yield* Effect.exit(
        LanguageModel.streamText({ prompt: "hi" }).pipe(Stream.runCollect, Effect.provide(anthropic(simulator)))
      )
      assert.isTrue(Exit.isFailure(claude))
      const beforeHeaders = yield* Effect.exit(
        LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.provide(openAi(simulator)))
      )
      assert.isTrue(Exit.isFailure(beforeHeaders))
    }))

  it.scopedLive("stalls: sends some events, then keeps the connection open until the client leaves", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.stall({ after: 3 })] })
      const controller = new AbortController()
      const received: Array<string> = []
      const fiber = yield* Effect.fork(Effect.tryPromise(async () => {
        const res = await Undici.request(`${simulator.anthropicUrl}/v1/messages`, {
          method: "POST",
          body: JSON.stringify(messagesBody("x", { stream: true })),
          signal: controller.signal
        })
        for await (const chunk of res.body) received.push(String(chunk))
      }))
      yield* Effect.promise(() =>
        new Promise<void>((resolve) => {
          const poll = () => (parseSse(received.join("")).length >= 3 ? resolve() : setTimeout(poll, 5))
          poll()
        })
      )
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(parseSse(received.join("")).map((e) => e.event), ["message_start", "content_block_start", "ping"])
      const during = yield* simulator.stats
      assert.deepStrictEqual([during.activeResponses, during.openConnections], [1, 1])
      controller.abort()
      yield* Fiber.await(fiber)
      const after = yield* simulator.awaitStats((s) => s.activeResponses === 0 && s.openConnections === 0).pipe(
        Effect.timeout("1 second")
      )
      assert.strictEqual(after.clientAborts, 1)
    }))

  it.scopedLive("truncates a stream: a clean end without the finish event", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.truncated(), Simulator.truncated(), Simulator.truncated()] })
      const raw = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x", { stream: true }))
      const events = parseSse(raw.text)
      assert.strictEqual(events.length, 2)
      assert.isFalse(events.some((e) => e.data === "[DONE]" || json(e.data).choices[0].finish_reason !== null))
      const openaiParts = yield* LanguageModel.streamText({ prompt: "x" }).pipe(Stream.runCollect, Effect.provide(openAi(simulator)))
      assert.isFalse(Chunk.toReadonlyArray(openaiParts).some((part) => part.type === "finish"))
      assert.strictEqual(textDeltas(openaiParts).length, 1)
      const claudeParts = yield* LanguageModel.streamText({ prompt: "x" }).pipe(Stream.runCollect, Effect.provide(anthropic(simulator)))
      assert.isFalse(Chunk.toReadonlyArray(claudeParts).some((part) => part.type === "finish"))
    }))

  it.scopedLive("malformed JSON: one event's data does not parse, the rest of the stream follows", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [
          Simulator.malformedJson({ reply: Simulator.text("a b", { chunks: 2 }) }),
          Simulator.malformedJson(),
          Simulator.malformedJson()
        ]
      })
      const events = parseSse((yield* post(`${simulator.openAiUrl}/responses`, responsesBody("x", { stream: true }))).text)
      assert.deepStrictEqual(events.map((e) => parses(e.data)), events.map((_, i) => i !== 4))
      assert.strictEqual(events[events.length - 1]!.event, "response.completed")
      const claude = yield* Effect.flip(
        LanguageModel.streamText({ prompt: "x" }).pipe(Stream.runCollect, Effect.provide(anthropic(simulator)))
      )
      assert.strictEqual(claude._tag, "MalformedOutput")
      const body = yield* post(`${simulator.openAiUrl}/responses`, responsesBody("x"))
      assert.strictEqual(body.status, 200)
      assert.isFalse(parses(body.text))
    }))

  it.scopedLive("malformed SSE: a bare line break splits one event's data, the rest of the stream follows", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.malformedSse({ after: 3 }), Simulator.malformedSse()] })
      const raw = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x", { stream: true }))
      const events = parseSse(raw.text)
      assert.isFalse(parses(events[3]!.data))
      assert.isTrue(events.slice(4, -1).every((e) => parses(e.data)))
      assert.strictEqual(events[events.length - 1]!.data, "[DONE]")
      const claude = yield* Effect.flip(
        LanguageModel.streamText({ prompt: "x" }).pipe(Stream.runCollect, Effect.provide(anthropic(simulator)))
      )
      assert.strictEqual(claude._tag, "MalformedOutput")
    }))

  it.scopedLive("a stream error: the provider's in-stream error event, then the end", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [
          Simulator.streamError({ kind: "overloaded" }),
          Simulator.streamError(),
          Simulator.streamError({ kind: "rate-limited", message: "slow down" }),
          Simulator.streamError({ kind: "overloaded" })
        ]
      })
      const claude = parseSse((yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("x", { stream: true }))).text)
      const last = claude[claude.length - 1]!
      assert.strictEqual(last.event, "error")
      assert.deepStrictEqual(decodeAnthropicEvent(json(last.data)), decodeAnthropicEvent({
        type: "error",
        error: { type: "overloaded_error", message: "Overloaded" }
      }))
      const responses = parseSse((yield* post(`${simulator.openAiUrl}/responses`, responsesBody("x", { stream: true }))).text)
      assert.deepStrictEqual(responses.slice(-2).map((e) => decodeResponsesEvent(json(e.data)).type), ["error", "response.failed"])
      const chat = parseSse((yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x", { stream: true }))).text)
      assert.deepStrictEqual(json(chat[chat.length - 1]!.data).error.message, "slow down")
      const plain = yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("x"))
      assert.strictEqual(plain.status, 529)
    }))

  it.scopedLive("invalid tool arguments: a tool call whose arguments do not fit the schema", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: [Simulator.invalidToolArguments(), Simulator.invalidToolArguments({ name: "add", rawArguments: `{"a": 1,` })]
      })
      const first = json(
        (yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x", { tools: [chatTool(GetWeather)] }))).text
      )
      const call = first.choices[0].message.tool_calls[0]
      assert.strictEqual(call.function.name, "get_weather")
      assert.deepStrictEqual(json(call.function.arguments), { city: 42, unit: "not-an-allowed-value" })
      assert.strictEqual(first.choices[0].finish_reason, "tool_calls")
      const second = parseSse(
        (yield* post(`${simulator.openAiUrl}/responses`, responsesBody("x", { stream: true, tools: [] }))).text
      )
      const done = second.find((e) => e.event === "response.function_call_arguments.done")!
      assert.strictEqual(json(done.data).arguments, `{"a": 1,`)
    }))
})

// -----------------------------------------------------------------------------
// Counters, disconnects, scripts
// -----------------------------------------------------------------------------

describe("Simulator: counters and disconnects", () => {
  it.scopedLive("counts requests per protocol and open connections", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const agent = new Undici.Agent({ connections: 2 })
      yield* Effect.addFinalizer(() => Effect.promise(() => agent.destroy()))
      yield* post(`${simulator.openAiUrl}/responses`, responsesBody("a"), { dispatcher: agent })
      yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("b"), { dispatcher: agent })
      yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("c"), { dispatcher: agent })
      yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("d"), { dispatcher: agent })
      const stats = yield* simulator.stats
      assert.deepStrictEqual(
        [stats.requests, stats.requestsByProtocol, stats.activeResponses, stats.clientAborts],
        [4, { "responses": 1, "chat-completions": 2, "messages": 1 }, 0, 0]
      )
      assert.strictEqual(stats.openConnections, stats.connections)
      assert.isAtLeast(stats.openConnections, 1)
      yield* Effect.promise(() => agent.close())
      const closed = yield* simulator.awaitStats((s) => s.openConnections === 0).pipe(Effect.timeout("1 second"))
      assert.strictEqual(closed.openConnections, 0)
    }))

  it.scopedLive("interrupting 100 in-flight streamed clients closes all 100 connections", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: () => Simulator.stall({ after: 4 }) })
      const client = openAi(simulator)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          Effect.fork(
            LanguageModel.streamText({ prompt: `stream ${i}` }).pipe(Stream.runDrain, Effect.provide(client))
          ),
        { concurrency: "unbounded" }
      )
      const busy = yield* simulator.awaitStats((s) => s.activeResponses === 100).pipe(Effect.timeout("10 seconds"))
      assert.strictEqual(busy.openConnections, 100)
      yield* Fiber.interruptAll(fibers)
      const idle = yield* simulator.awaitStats((s) => s.openConnections === 0 && s.activeResponses === 0).pipe(
        Effect.timeout("1 second")
      )
      assert.deepStrictEqual([idle.clientAborts, idle.requestsByProtocol.responses], [100, 100])
    }))

  it.scopedLive("closes stalled connections when its scope closes", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const simulator = yield* Simulator.make({ script: [Simulator.stall({ after: 0 })] })
        const fiber = yield* Effect.fork(Effect.either(post(`${simulator.openAiUrl}/responses`, responsesBody("x", { stream: true }))))
        yield* simulator.awaitStats((s) => s.activeResponses === 1)
        return fiber
      }))
      const result = yield* Fiber.join(outcome).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(result._tag, "Left")
    }))
})

describe("Simulator: scripts", () => {
  it.scopedLive("uses scripted replies in order, then the built-in responder; records what it received", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.text("first"), Simulator.serverError(503)] })
      const a = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("one"))
      const b = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("two"))
      const c = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("three"))
      assert.deepStrictEqual([a.status, b.status, c.status], [200, 503, 200])
      assert.strictEqual(json(a.text).choices[0].message.content, "first")
      assert.include(json(c.text).choices[0].message.content, `"three"`)
      const requests = yield* simulator.requests
      assert.deepStrictEqual(requests.map((r) => [r.index, r.lastUserText]), [[0, "one"], [1, "two"], [2, "three"]])
    }))

  it.scopedLive("answers with a function of the request, and a new script replaces the old one", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({
        script: (request) =>
          request.lastUserText === "fail" ? Simulator.rateLimited() : Simulator.text(`echo: ${request.lastUserText}`)
      })
      const failed = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("fail"))
      const echoed = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("hello"))
      assert.strictEqual(failed.status, 429)
      assert.strictEqual(json(echoed.text).choices[0].message.content, "echo: hello")
      yield* simulator.script([Simulator.text("replaced")])
      const replaced = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("fail"))
      assert.strictEqual(json(replaced.text).choices[0].message.content, "replaced")
    }))

  it.scopedLive("a script that dies answers 500 with the reason, and the server keeps serving", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: () => Effect.dieMessage("boom") })
      const reply = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x"))
      assert.strictEqual(reply.status, 500)
      assert.include(json(reply.text).error.message, "boom")
      yield* simulator.script([])
      assert.strictEqual((yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x"))).status, 200)
    }))

  it.scopedLive("takes faults from the x-simulator-fault header, and refuses one it does not know", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const unavailable = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x"), {
        headers: { "x-simulator-fault": "503" }
      })
      assert.strictEqual(unavailable.status, 503)
      const limited = yield* post(`${simulator.anthropicUrl}/v1/messages`, messagesBody("x"), {
        headers: { "x-simulator-fault": "rate-limit; retry-after-ms=300" }
      })
      assert.deepStrictEqual([limited.status, limited.headers["retry-after-ms"]], [429, "300"])
      const truncated = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x", { stream: true }), {
        headers: { "x-simulator-fault": "truncate; after=2" }
      })
      assert.strictEqual(parseSse(truncated.text).length, 2)
      const unknown = yield* post(`${simulator.openAiUrl}/chat/completions`, chatBody("x"), {
        headers: { "x-simulator-fault": "gremlins" }
      })
      assert.strictEqual(unknown.status, 400)
      assert.include(json(unknown.text).error.message, "unknown fault 'gremlins'")
    }))

  it.scopedLive("fails to start with a SimulatorError when the port is taken", () =>
    Effect.gen(function*() {
      const first = yield* Simulator.make()
      const error = yield* Effect.flip(Simulator.make({ port: first.port }))
      assert.strictEqual(error._tag, "SimulatorError")
      assert.include(error.message, `127.0.0.1:${first.port}`)
    }))
})

describe("npm run simulator", () => {
  it.live("starts, prints its URLs and says it is a simulator", () =>
    Effect.gen(function*() {
      const root = Path.resolve(import.meta.dirname, "..")
      const child = spawn(Path.join(root, "node_modules", ".bin", "tsx"), [Path.join(root, "layers", "simulator-main.ts")], {
        cwd: root,
        env: { ...process.env, SIMULATOR_PORT: "0" }
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGTERM")))
      const output = yield* Effect.async<string>((resume) => {
        let text = ""
        child.stdout.on("data", (chunk) => {
          text += String(chunk)
          if (text.includes("/v1/messages")) resume(Effect.succeed(text))
        })
        child.on("exit", () => resume(Effect.succeed(text)))
      }).pipe(Effect.timeout("20 seconds"))
      assert.include(output, "not a model")
      const url = /(http:\/\/127\.0\.0\.1:\d+)\/v1\/chat\/completions/.exec(output)?.[1]
      assert.isDefined(url)
      const reply = yield* post(`${url}/v1/chat/completions`, chatBody("hello"))
      assert.strictEqual(reply.status, 200)
    }).pipe(Effect.scoped), 30_000)
})
