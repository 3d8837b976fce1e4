/**
 * Over HTTP, against the local simulator running in a process of its own: each provider layer
 * next to raw undici doing the same requests with the minimum of JSON handling, measured in the
 * same process, batches of one and of the other taking turns. An agent run is a tool call and a
 * final answer (two requests); a streamed chunk is one text delta of a 500-chunk answer, read as
 * the simulator writes it (a write per delta) and from one write of the whole body.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ChildProcess from "node:child_process"
import { Agent as Dispatcher, request } from "undici"
import * as Anthropic from "../../layers/Anthropic.js"
import * as OpenAi from "../../layers/OpenAi.js"
import * as Http from "../../layers/internal/http.js"
import * as OpenAiCompatible from "../../layers/OpenAiCompatible.js"
import * as Agent from "../../src/Agent.js"
import { type Effort, gc, type Metric, metric, timeBatches } from "../lib/measure.js"
import { CHUNKS, HOLD, HOLD_MS, READY_PREFIX } from "../simulator.js"
import type { Scenario } from "./types.js"

// -----------------------------------------------------------------------------
// The simulator, in its own process
// -----------------------------------------------------------------------------

interface Sim {
  readonly url: string
  readonly stop: () => void
}

const startSimulator = (delayMs: number): Promise<Sim> =>
  new Promise((resolve, reject) => {
    const child = ChildProcess.spawn(
      process.execPath,
      ["--import", "tsx", "bench/simulator.ts", "--delay", String(delayMs)],
      { stdio: ["pipe", "pipe", "inherit"] }
    )
    let out = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      out += chunk
      const line = out.split("\n").find((l) => l.startsWith(READY_PREFIX))
      if (line !== undefined) {
        resolve({ url: line.slice(READY_PREFIX.length).trim(), stop: () => child.kill() })
      }
    })
    child.on("error", reject)
    child.on("exit", (code) => reject(new Error(`the simulator exited with ${code}`)))
  })

// -----------------------------------------------------------------------------
// The agent side
// -----------------------------------------------------------------------------

const Add = Tool.make("add", { parameters: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
const Tools = Toolkit.make(Add)
const ToolsLive = Tools.toLayer({ add: ({ a, b }) => Effect.succeed(a + b) })
const adder = Agent.make({ name: "adder", toolkit: Tools })
const streamer = Agent.make({ name: "streamer" })
const apiKey = Redacted.make("bench")

// -----------------------------------------------------------------------------
// The raw side: undici, the same requests, the minimum of JSON handling
// -----------------------------------------------------------------------------

const addSchema = {
  type: "object",
  properties: { a: { type: "number" }, b: { type: "number" } },
  required: ["a", "b"]
}

const anthropicHeaders = { "x-api-key": "bench", "anthropic-version": "2023-06-01" }

type Json = any

const chatTools = [{ type: "function", function: { name: "add", parameters: addSchema } }]

/**
 * A Chat Completions run's second request: the question, the tool call the first answer made, and
 * the tool's result (the raw side and the Effect-alone side send the same).
 */
const chatFollowUp = (text: string, first: Json) => {
  const call = first.choices[0].message.tool_calls[0]
  const args = JSON.parse(call.function.arguments)
  return [
    { role: "user", content: text },
    { role: "assistant", content: null, tool_calls: [call] },
    { role: "tool", tool_call_id: call.id, content: String(args.a + args.b) }
  ]
}

const makeRaw = (url: string) => {
  const dispatcher = new Dispatcher({ keepAliveTimeout: 10_000 })
  const once = (path: string, body: unknown, headers: Record<string, string>) =>
    request(`${url}${path}`, {
      method: "POST",
      dispatcher,
      headers: { "content-type": "application/json", authorization: "Bearer bench", ...headers },
      body: JSON.stringify(body)
    })
  // A kept-alive connection the server closed just as it was reused fails with a reset; the
  // provider layers retry that (a transient error), so the raw side does too, once.
  let retries = 0
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    once(path, body, headers).catch((error: { readonly code?: string }) => {
      if (error.code === "ECONNRESET" || error.code === "UND_ERR_SOCKET") {
        retries++
        return once(path, body, headers)
      }
      throw error
    })
  const json = async (path: string, body: unknown, headers?: Record<string, string>): Promise<Json> =>
    (await post(path, body, headers)).body.json()

  /** Reads an SSE body in one pass (each byte looked at once) and counts the text deltas. */
  const sse = async (path: string, body: unknown, delta: (event: Json) => string | undefined, headers?: Record<string, string>) => {
    const response = await post(path, body, headers)
    const decoder = new TextDecoder()
    let rest = ""
    let deltas = 0
    for await (const piece of response.body) {
      const text = rest.length === 0 ? decoder.decode(piece, { stream: true }) : rest + decoder.decode(piece, { stream: true })
      let start = 0
      let end: number
      while ((end = text.indexOf("\n\n", start)) !== -1) {
        const data = text.indexOf("data: ", start)
        if (data !== -1 && data < end) {
          const lineEnd = text.indexOf("\n", data)
          const payload = text.slice(data + 6, lineEnd === -1 || lineEnd > end ? end : lineEnd)
          if (payload !== "[DONE]" && delta(JSON.parse(payload)) !== undefined) deltas++
        }
        start = end + 2
      }
      rest = text.slice(start)
    }
    if (deltas !== CHUNKS) throw new Error(`raw SSE: ${deltas} deltas, expected ${CHUNKS}`)
    return deltas
  }

  return {
    close: () => dispatcher.close(),
    retries: () => retries,
    chat: async (text = "add") => {
      const tools = chatTools
      const first = await json("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: text }], tools })
      const messages = chatFollowUp(text, first)
      return (await json("/v1/chat/completions", { model: "m", messages, tools })).choices[0].message.content
    },
    responses: async () => {
      const tools = [{ type: "function", name: "add", parameters: addSchema }]
      const first = await json("/v1/responses", { model: "m", input: [{ role: "user", content: "add" }], tools })
      const call = first.output.find((item: Json) => item.type === "function_call")
      const args = JSON.parse(call.arguments)
      const input = [
        { role: "user", content: "add" },
        call,
        { type: "function_call_output", call_id: call.call_id, output: String(args.a + args.b) }
      ]
      return (await json("/v1/responses", { model: "m", input, tools })).output
    },
    messages: async () => {
      const tools = [{ name: "add", input_schema: addSchema }]
      const first = await json(
        "/v1/messages",
        { model: "m", max_tokens: 100, messages: [{ role: "user", content: "add" }], tools },
        anthropicHeaders
      )
      const use = first.content.find((block: Json) => block.type === "tool_use")
      const messages = [
        { role: "user", content: "add" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: String(use.input.a + use.input.b) }] }
      ]
      return (await json("/v1/messages", { model: "m", max_tokens: 100, messages, tools }, anthropicHeaders)).content
    },
    streamChat: (text: string) =>
      sse(
        "/v1/chat/completions",
        { model: "m", stream: true, messages: [{ role: "user", content: text }] },
        (event) => event.choices?.[0]?.delta?.content || undefined
      ),
    streamResponses: (text: string) =>
      sse(
        "/v1/responses",
        { model: "m", stream: true, input: [{ role: "user", content: text }] },
        (event) => (event.type === "response.output_text.delta" ? event.delta : undefined)
      ),
    streamMessages: (text: string) =>
      sse(
        "/v1/messages",
        { model: "m", max_tokens: 100, stream: true, messages: [{ role: "user", content: text }] },
        (event) => (event.type === "content_block_delta" && event.delta.type === "text_delta" ? event.delta.text : undefined),
        anthropicHeaders
      )
  }
}

type Raw = ReturnType<typeof makeRaw>

interface Provider {
  readonly id: string
  readonly label: string
  readonly layer: (url: string) => Layer.Layer<any, any>
  readonly run: (raw: Raw) => () => Promise<unknown>
  readonly stream: (raw: Raw) => (text: string) => Promise<unknown>
}

const providers: ReadonlyArray<Provider> = [
  {
    id: "chat",
    label: "Chat Completions (OpenAiCompatible)",
    layer: (url) => OpenAiCompatible.layer({ baseUrl: `${url}/v1`, model: "m", apiKey }),
    run: (raw) => raw.chat,
    stream: (raw) => raw.streamChat
  },
  {
    id: "responses",
    label: "OpenAI Responses (OpenAi)",
    layer: (url) => OpenAi.layer({ baseUrl: `${url}/v1`, model: "m", apiKey }),
    run: (raw) => raw.responses,
    stream: (raw) => raw.streamResponses
  },
  {
    id: "anthropic",
    label: "Anthropic Messages (Anthropic)",
    layer: (url) => Anthropic.layer({ baseUrl: url, model: "m", apiKey }),
    run: (raw) => raw.messages,
    stream: (raw) => raw.streamMessages
  }
]

const sequentially = async (n: number, f: () => Promise<unknown>) => {
  for (let i = 0; i < n; i++) await f()
}

/** Batches of `ours` and of `theirs` taking turns; µs per operation of each. */
const paired = async (
  effort: Effort,
  ops: number,
  scale: number,
  ours: () => Promise<unknown>,
  theirs: () => Promise<unknown>
) => {
  const n = Math.max(1, effort.quick ? Math.round(ops / 3) : effort.profile ? ops * 3 : ops)
  const options = { warmup: 0, batches: 1, ops: n * scale }
  // Each side warms up for a few seconds first: an agent run's code reaches its steady state only
  // after a couple of thousand runs (the first thousand cost about twice as much), and undici's own
  // code, which both sides run, is warmed by both.
  const warmUp = async (f: () => Promise<unknown>) => {
    const until = performance.now() + (effort.quick ? 1_000 : 4_000)
    do await sequentially(Math.max(3, n), f)
    while (performance.now() < until)
  }
  await warmUp(ours)
  await warmUp(theirs)
  const a = { wall: [] as Array<number>, cpu: [] as Array<number> }
  const b = { wall: [] as Array<number>, cpu: [] as Array<number> }
  for (let batch = 0; batch < (effort.quick ? 3 : 7); batch++) {
    for (const [side, f] of [[a, ours], [b, theirs]] as const) {
      const s = await timeBatches(options, () => ({ run: () => sequentially(n, f) }))
      side.wall.push(...s.wall)
      side.cpu.push(...(s.cpu ?? []))
    }
  }
  return [a, b] as const
}

const sequential = (provider: Provider): Scenario => ({
  name: `http-${provider.id}`,
  group: "http",
  description:
    `${provider.label}: agent runs with one tool call, one after another, and 500-chunk streams, against raw undici`,
  run: async (effort) => {
    const sim = await startSimulator(0)
    const raw = makeRaw(sim.url)
    const runtime = ManagedRuntime.make(Layer.merge(provider.layer(sim.url), ToolsLive))
    try {
      const p = `http-${provider.id}`
      const [run, runRaw] = await paired(
        effort,
        100,
        1,
        () => runtime.runPromise(Agent.run(adder, "add")),
        provider.run(raw)
      )
      const drain = (text: string) => () => runtime.runPromise(Stream.runDrain(Agent.stream(streamer, text)))
      const [chunk, chunkRaw] = await paired(effort, 6, CHUNKS, drain("stream"), () => provider.stream(raw)("stream"))
      const [one, oneRaw] = await paired(
        effort,
        6,
        CHUNKS,
        drain("stream one-write"),
        () => provider.stream(raw)("stream one-write")
      )
      const out: Array<Metric> = [
        metric({ id: `${p}/run`, label: `${provider.label}: agent run, 1 tool call`, unit: "µs/run", raw: `${p}/run-raw`, ratioTarget: 1.5 }, run),
        metric({ id: `${p}/run-raw`, label: "  raw undici, the same 2 requests", unit: "µs/run" }, runRaw),
        metric({ id: `${p}/chunk`, label: `${provider.label}: streamed chunk`, unit: "µs/chunk", raw: `${p}/chunk-raw`, ratioTarget: 2 }, chunk),
        metric({ id: `${p}/chunk-raw`, label: "  raw undici + linear SSE parser", unit: "µs/chunk" }, chunkRaw),
        metric(
          { id: `${p}/chunk-one-read`, label: `${provider.label}: streamed chunk, body in one write`, unit: "µs/chunk", raw: `${p}/chunk-one-read-raw`, ratioTarget: 2 },
          one
        ),
        metric({ id: `${p}/chunk-one-read-raw`, label: "  raw undici + linear SSE parser", unit: "µs/chunk" }, oneRaw)
      ]
      return out
    } finally {
      await runtime.dispose()
      await raw.close()
      sim.stop()
    }
  }
})

// -----------------------------------------------------------------------------
// Runs started together at 100 ms of simulated latency: each side in a process of its own, so
// that their peak memory compares
// -----------------------------------------------------------------------------

const LATENCY_MS = 100

/**
 * The floor of an Effect program: the raw side's requests and JSON handling, each pair of requests
 * in a fiber of its own forked by `Effect.all` (as the agent runs are) and sent through the
 * provider layers' HTTP client, with no agent and no provider wire code. What it costs beyond raw
 * undici is the fibers' and the client's; what the agent side costs beyond it is the framework's.
 */
const makeFloor = (url: string, client: Http.Client, text: string) => {
  const post = (messages: ReadonlyArray<unknown>): Http.Post => ({
    url: `${url}/v1/chat/completions`,
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer bench" },
    body: JSON.stringify({ model: "m", messages, tools: chatTools })
  })
  const timeouts: Http.Timeouts = { headers: Duration.minutes(10), body: Duration.minutes(1) }
  return Effect.flatMap(
    Http.postJson(client, post([{ role: "user", content: text }]), timeouts),
    (first: Json) =>
      Effect.map(Http.postJson(client, post(chatFollowUp(text, first)), timeouts), (second: Json) =>
        second.choices[0].message.content as string)
  )
}

type Side = "agent" | "floor" | "raw"

const prefixes: Record<Side, string> = { agent: "http-concurrent", floor: "http-concurrent-floor", raw: "http-concurrent-raw" }

const concurrent = (side: Side): Scenario => ({
  name: prefixes[side],
  group: "http",
  // A process's peak RSS depends on when V8 last collected, and varies by a tenth or more between
  // processes of the same side: the median of 5 is steadier.
  processes: 5,
  description: side === "agent"
    ? "5,000 agent runs (1 tool call each, Chat Completions) started together, 100 ms latency per request"
    : side === "floor"
    ? "Effect alone: the same 5,000 × 2 requests in fibers forked by Effect.all, through the HTTP client of the provider layers, no agent"
    : "raw undici: the same 5,000 × 2 requests started together, 100 ms latency per request",
  run: async (effort) => {
    const total = effort.quick ? 1_000 : 5_000
    const sim = await startSimulator(LATENCY_MS)
    const raw = makeRaw(sim.url)
    const runtime = ManagedRuntime.make(Layer.merge(providers[0]!.layer(sim.url), ToolsLive))
    const scope = Effect.runSync(Scope.make())
    try {
      const client = await Effect.runPromise(Scope.extend(Http.makeClient("bench"), scope))
      let agentRetries = 0
      const counted = (text: string) =>
        Effect.tap(Agent.run(adder, text), (output) =>
          Effect.sync(() => {
            agentRetries += output.metrics.retries
          }))
      const all = <A, E, R>(effect: Effect.Effect<A, E, R>, n: number) =>
        Effect.all(Array.from({ length: n }, () => effect), { concurrency: "unbounded", discard: true })
      const batch = side === "agent"
        ? (n: number, text = "add") => runtime.runPromise(all(counted(text), n))
        : side === "floor"
        ? (n: number, text = "add") => Effect.runPromise(all(makeFloor(sim.url, client, text), n))
        : (n: number, text = "add") => Promise.all(Array.from({ length: n }, () => raw.chat(text)))
      // The floor does not retry: a reset would fail its batch.
      const retries = () => (side === "agent" ? agentRetries : side === "raw" ? raw.retries() : 0)
      // A warm-up batch of the same size first: it opens the connections (kept alive for the
      // measured batch). A burst of thousands of new connections otherwise overflows the accept
      // queue, and the kernel's one-second SYN retries would be what is measured, on both sides.
      await batch(total)
      await batch(total)
      gc()
      const retriesBefore = retries()
      const heapBefore = process.memoryUsage().heapUsed
      let peakHeap = 0
      const sampler = setInterval(() => {
        const usage = process.memoryUsage()
        peakHeap = Math.max(peakHeap, usage.heapUsed)
      }, 10)
      const start = performance.now()
      await batch(total)
      const wall = performance.now() - start
      clearInterval(sampler)
      const peakRss = process.resourceUsage().maxRSS * 1024
      // Live memory per run in flight: the runs wait for an answer that takes HOLD_MS, and the heap
      // is measured after a full collection while they all wait (started well before, answered
      // after): what a process holds per concurrent run, garbage aside.
      gc()
      const liveBefore = process.memoryUsage().heapUsed
      const held = batch(total, HOLD)
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS * 0.75))
      gc()
      const live = (process.memoryUsage().heapUsed - liveBefore) / total
      await held
      const prefix = prefixes[side]
      const ideal = 2 * LATENCY_MS
      const count = total.toLocaleString("en-US")
      const label = side === "agent"
        ? `${count} agent runs at once (100 ms latency): wall time`
        : side === "floor"
        ? `  Effect alone (Effect.all, the same HTTP client, no agent), ${count} × 2 requests: wall time`
        : `  raw undici, ${count} × 2 requests at once: wall time`
      // The agent's figures have targets against raw; the floor's show their ratio to raw too.
      const vsRaw = (metric: string, ratioTarget: number) =>
        side === "raw"
          ? {}
          : { raw: `http-concurrent-raw/${metric}`, ...(side === "agent" ? { ratioTarget } : {}) }
      const out: Array<Metric> = [
        metric({ id: `${prefix}/wall`, label, unit: "ms", ...vsRaw("wall", 1.5) }, [wall]),
        metric({ id: `${prefix}/ideal`, label: `  wall time / ideal (2 × ${LATENCY_MS} ms)`, unit: "×" }, [wall / ideal]),
        metric({ id: `${prefix}/peak-rss`, label: "  peak RSS of the process", unit: "MB", ...vsRaw("peak-rss", 1.5) }, [
          peakRss / 1e6
        ]),
        metric({ id: `${prefix}/peak-heap`, label: "  peak JS heap (sampled every 10 ms)", unit: "MB" }, [peakHeap / 1e6]),
        metric({
          id: `${prefix}/live-per-run`,
          label: "  live heap per run in flight (all waiting, after a full collection)",
          unit: "KB",
          ...(side === "raw" ? {} : { raw: "http-concurrent-raw/live-per-run" })
        }, [live / 1e3]),
        metric({
          id: `${prefix}/per-run`,
          label: "  heap per run in flight, garbage included: (peak heap − heap before) / runs",
          unit: "KB",
          ...(side === "raw" ? {} : { raw: "http-concurrent-raw/per-run" })
        }, [(peakHeap - heapBefore) / total / 1e3]),
        // A kept-alive connection closed under a request fails it with a reset: the raw side
        // sends it again at once, an agent retries it by its retry policy (after a backoff).
        metric({ id: `${prefix}/retries`, label: "  requests retried after a reset (measured batch)", unit: "" }, [
          retries() - retriesBefore
        ])
      ]
      return out
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await runtime.dispose()
      await raw.close()
      sim.stop()
    }
  }
})

export const scenarios: ReadonlyArray<Scenario> = [
  ...providers.map(sequential),
  concurrent("agent"),
  concurrent("floor"),
  concurrent("raw")
]
