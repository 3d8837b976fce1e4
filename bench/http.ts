/**
 * Over HTTP: each provider layer against raw undici doing the same requests to the same local
 * simulator, measured in the same run (the machines are shared and noisy, so the ratio is what
 * counts). An agent run is a tool call and a final answer (two requests); a streamed chunk is one
 * text delta of a 500-chunk answer.
 *
 *   npm run bench:http
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Agent as Dispatcher, request } from "undici"
import * as Anthropic from "../layers/Anthropic.js"
import * as OpenAi from "../layers/OpenAi.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Simulator from "../layers/Simulator.js"
import * as Agent from "../src/Agent.js"

const CHUNKS = 500
const Add = Tool.make("add", { parameters: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
const Tools = Toolkit.make(Add)
const ToolsLive = Tools.toLayer({ add: ({ a, b }) => Effect.succeed(a + b) })
const addSchema = {
  type: "object",
  properties: { a: { type: "number" }, b: { type: "number" } },
  required: ["a", "b"]
}

const script: Simulator.Script = (req) =>
  req.lastUserText === "stream"
    ? Simulator.text("w ".repeat(CHUNKS), { chunks: CHUNKS })
    : req.toolResults.length > 0
    ? Simulator.text("The answer is 3.")
    : Simulator.toolCall("add", { a: 1, b: 2 })

// The simulator lives in a scope of its own, for the whole benchmark.
const scope = await Effect.runPromise(Scope.make())
const sim = await Effect.runPromise(Scope.extend(Simulator.make({ script }), scope))
const dispatcher = new Dispatcher({ keepAliveTimeout: 10_000 })
const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const response = await request(url, {
    method: "POST",
    dispatcher,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })
  return response
}

// Raw undici: the same two requests, with the minimum of JSON handling.
const raw = {
  chat: async () => {
    const url = `${sim.openAiUrl}/chat/completions`
    const tools = [{ type: "function", function: { name: "add", parameters: addSchema } }]
    const first = await (await post(url, { model: "m", messages: [{ role: "user", content: "add" }], tools })).body.json() as any
    const call = first.choices[0].message.tool_calls[0]
    const args = JSON.parse(call.function.arguments)
    const messages = [
      { role: "user", content: "add" },
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", tool_call_id: call.id, content: String(args.a + args.b) }
    ]
    return (await (await post(url, { model: "m", messages, tools })).body.json() as any).choices[0].message.content
  },
  responses: async () => {
    const url = `${sim.openAiUrl}/responses`
    const tools = [{ type: "function", name: "add", parameters: addSchema }]
    const first = await (await post(url, { model: "m", input: [{ role: "user", content: "add" }], tools })).body.json() as any
    const call = first.output.find((item: any) => item.type === "function_call")
    const args = JSON.parse(call.arguments)
    const input = [
      { role: "user", content: "add" },
      call,
      { type: "function_call_output", call_id: call.call_id, output: String(args.a + args.b) }
    ]
    return (await (await post(url, { model: "m", input, tools })).body.json() as any).output
  },
  messages: async () => {
    const url = `${sim.anthropicUrl}/v1/messages`
    const tools = [{ name: "add", input_schema: addSchema }]
    const headers = { "x-api-key": "test", "anthropic-version": "2023-06-01" }
    const first = await (await post(url, { model: "m", max_tokens: 100, messages: [{ role: "user", content: "add" }], tools }, headers)).body.json() as any
    const use = first.content.find((block: any) => block.type === "tool_use")
    const messages = [
      { role: "user", content: "add" },
      { role: "assistant", content: first.content },
      { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: String(use.input.a + use.input.b) }] }
    ]
    return (await (await post(url, { model: "m", max_tokens: 100, messages, tools }, headers)).body.json() as any).content
  },
  stream: async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await post(`${sim.url}${path}`, body, headers)
    let buffer = ""
    let events = 0
    for await (const piece of response.body) {
      buffer += piece.toString()
      let end: number
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const event = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const data = event.slice(event.indexOf("data: ") + 6)
        if (data !== "[DONE]") {
          JSON.parse(data)
          events++
        }
      }
    }
    return events
  }
}

const providers = [
  {
    name: "Chat Completions (OpenAiCompatible, lean)",
    layer: OpenAiCompatible.layer({ baseUrl: sim.openAiUrl, model: "m", apiKey: Redacted.make("test") }),
    rawRun: raw.chat,
    rawStream: () =>
      raw.stream("/v1/chat/completions", { model: "m", stream: true, messages: [{ role: "user", content: "stream" }] })
  },
  {
    name: "OpenAI Responses (OpenAi, lean)",
    layer: OpenAi.layer({ model: "m", apiKey: Redacted.make("test"), baseUrl: sim.openAiUrl }),
    rawRun: raw.responses,
    rawStream: () => raw.stream("/v1/responses", { model: "m", stream: true, input: [{ role: "user", content: "stream" }] })
  },
  {
    name: "Anthropic Messages (Anthropic, lean)",
    layer: Anthropic.layer({ model: "m", apiKey: Redacted.make("test"), baseUrl: sim.anthropicUrl }),
    rawRun: raw.messages,
    rawStream: () =>
      raw.stream("/v1/messages", {
        model: "m",
        max_tokens: 100,
        stream: true,
        messages: [{ role: "user", content: "stream" }]
      }, { "x-api-key": "test", "anthropic-version": "2023-06-01" })
  }
]

const median = async (f: () => Promise<unknown>, n: number, scale = 1) => {
  for (let i = 0; i < Math.max(5, n / 10); i++) await f()
  const samples: Array<number> = []
  for (let batch = 0; batch < 5; batch++) {
    const start = performance.now()
    for (let i = 0; i < n; i++) await f()
    samples.push(((performance.now() - start) * 1000) / n / scale)
  }
  return samples.sort((a, b) => a - b)[2]!
}

const agent = Agent.make({ name: "adder", toolkit: Tools })
const streamer = Agent.make({ name: "streamer" })
const rows: Array<string> = []
for (const provider of providers) {
  const runtime = ManagedRuntime.make(Layer.merge(provider.layer, ToolsLive))
  const ours = await median(() => runtime.runPromise(Agent.run(agent, "add")), 200)
  const theirs = await median(provider.rawRun, 200)
  const oursChunk = await median(() => runtime.runPromise(Stream.runDrain(Agent.stream(streamer, "stream"))), 10, CHUNKS)
  const theirsChunk = await median(provider.rawStream, 10, CHUNKS)
  rows.push(
    `| ${provider.name} | ${ours.toFixed(0)} µs | ${theirs.toFixed(0)} µs | ${(ours / theirs).toFixed(2)}× | ${
      oursChunk.toFixed(1)
    } µs | ${theirsChunk.toFixed(1)} µs | ${(oursChunk / theirsChunk).toFixed(2)}× |`
  )
  await runtime.dispose()
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}; medians of 5 batches`)
console.log("| provider layer | agent run | raw undici (2 requests) | ratio | streamed chunk | raw undici SSE | ratio |")
console.log("|---|---:|---:|---:|---:|---:|---:|")
for (const row of rows) console.log(row)
await dispatcher.close()
await Effect.runPromise(Scope.close(scope, Exit.void))
