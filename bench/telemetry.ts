/**
 * Telemetry benchmark: what tracing costs a run. One run is an agent on the scripted TestModel that
 * calls a tool once (two model calls, one tool call: three spans under the run's), measured as the
 * median CPU time of the process per run (user + system: the exporter's own fibers and the
 * receiver included, the event loop's idle waits not) over rounds of runs, the scenarios alternating
 * round by round. Runs go in groups of 50 with a turn of the event loop between groups, as a server's
 * would, so that the exporter's requests go out while runs go on; a round ends when the exporter has
 * sent everything (its layer closed).
 *
 * - `baseline`: no tracer installed, no telemetry layer.
 * - `layerConfig, unset`: `Telemetry.layerConfig()` with no OTEL_EXPORTER_OTLP_ENDPOINT, the way the
 *   CLI and an application provide it when nobody configured an exporter. It must cost nothing: the
 *   layer is empty and the run loop makes no span at all.
 * - `spans, dropped`: a tracer that makes Effect's spans and drops them, to show what the first two
 *   skip (the price of making spans and their attributes, with no export).
 * - `OTLP protobuf` / `OTLP JSON`: `Telemetry.layer` exporting spans and metrics to a receiver on
 *   127.0.0.1 in this process (it reads each body and answers 200, nothing more); the per-run cost
 *   includes encoding and sending, done in batches by the exporter's own fibers.
 *
 *   node --expose-gc --import tsx bench/telemetry.ts
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Telemetry from "../layers/Telemetry.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"

const runsPerRound = 1000
const rounds = 7
const warmupRounds = 2

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

const Lookup = Tool.make("lookup", { parameters: { query: Schema.String }, success: Schema.String })
const Tools = Toolkit.make(Lookup)
const ToolsLive = Tools.toLayer({ lookup: ({ query }) => Effect.succeed(`facts about ${query}`) })
const model = TestModel.layer((request) =>
  request.prompt.content[request.prompt.content.length - 1]!.role === "tool"
    ? TestModel.text("Here is what I found.", { usage: { inputTokens: 40, outputTokens: 8 } })
    : TestModel.toolCall("lookup", { query: "qubits" }, { usage: { inputTokens: 30, outputTokens: 4 } }), { record: false })
const agent = Agent.make({ name: "Bench", instructions: "Be brief.", toolkit: Tools })
const oneRun = Agent.run(agent, "What is new with qubits?")

// A tracer that makes Effect's own spans and keeps none of them.
const droppingTracer = Layer.unwrapEffect(Effect.map(Effect.tracer, (native) =>
  Layer.setTracer(Tracer.make({ span: (...args) => native.span(...args), context: (f, fiber) => native.context(f, fiber) }))
))

interface Receiver {
  readonly url: string
  readonly close: () => Promise<void>
  /** Bytes received, and the spans of the JSON trace exports. */
  readonly bytes: () => number
  readonly jsonSpans: () => number
}

// It counts the spans of JSON exports (to check that nothing was lost), and parses nothing else.
const receiver = (): Promise<Receiver> =>
  new Promise((resolve) => {
    let bytes = 0
    let jsonSpans = 0
    const server = Http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => {
        bytes += chunk.length
        chunks.push(chunk)
      })
      request.on("end", () => {
        if (request.url === "/v1/traces" && request.headers["content-type"] === "application/json") {
          jsonSpans += (Buffer.concat(chunks).toString("utf8").match(/"spanId"/g) ?? []).length
        }
        response.writeHead(200, { "content-type": "application/json" })
        response.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => new Promise((done) => server.close(() => done())),
        bytes: () => bytes,
        jsonSpans: () => jsonSpans
      }))
  })

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

interface Scenario {
  readonly name: string
  readonly layer: Layer.Layer<unknown, unknown>
  readonly cpu: Array<number>
  readonly wall: Array<number>
}

const main = async () => {
  const sink = await receiver()
  const base = Layer.merge(model, ToolsLive)
  const exporter = (protocol: Telemetry.Protocol) =>
    Layer.merge(base, Telemetry.layer({ endpoint: sink.url, protocol, logs: false, exportInterval: "1 second" }))
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT
  const scenarios: Array<Scenario> = [
    { name: "baseline", layer: base },
    { name: "layerConfig, unset", layer: Layer.merge(base, Telemetry.layerConfig()) },
    { name: "spans, dropped", layer: Layer.merge(base, droppingTracer) },
    { name: "OTLP protobuf", layer: exporter("http/protobuf") },
    { name: "OTLP JSON", layer: exporter("http/json") }
  ].map(({ layer, name }) => ({
    name,
    layer: layer as Layer.Layer<unknown, unknown>,
    cpu: [],
    wall: []
  }))
  // Each round builds its layers first (not measured) and closes them last (measured: an exporter
  // sends what it still holds), so that no exporter runs during another scenario's round: CPU time
  // is the whole process's.
  const round = async (scenario: Scenario) => {
    const runtime = ManagedRuntime.make(scenario.layer)
    await runtime.runtime()
    gc()
    const wall = performance.now()
    const cpu = process.cpuUsage()
    const group = Effect.repeatN(oneRun, 49) as Effect.Effect<unknown, unknown, unknown>
    for (let i = 0; i < runsPerRound; i += 50) {
      await runtime.runPromise(group)
      await turn()
    }
    await runtime.dispose()
    const used = process.cpuUsage(cpu)
    return { cpu: (used.user + used.system) / runsPerRound, wall: ((performance.now() - wall) * 1000) / runsPerRound }
  }
  for (let i = 0; i < warmupRounds + rounds; i++) {
    for (const scenario of scenarios) {
      const { cpu, wall } = await round(scenario)
      if (i >= warmupRounds) {
        scenario.cpu.push(cpu)
        scenario.wall.push(wall)
      }
    }
  }
  const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const baseline = median(scenarios[0]!.cpu)
  console.log(`One run: 2 model calls + 1 tool call on TestModel; ${rounds} rounds of ${runsPerRound} runs, medians per run.`)
  console.log("")
  console.log(
    `${"scenario".padEnd(22)}${"CPU µs/run".padStart(12)}${"vs baseline".padStart(13)}${"CPU min–max".padStart(16)}${"wall µs/run".padStart(13)}`
  )
  for (const scenario of scenarios) {
    const m = median(scenario.cpu)
    const range = `${Math.min(...scenario.cpu).toFixed(0)}–${Math.max(...scenario.cpu).toFixed(0)}`
    console.log(
      `${scenario.name.padEnd(22)}${m.toFixed(1).padStart(12)}${`${(m / baseline).toFixed(2)}×`.padStart(13)}${
        range.padStart(16)
      }${median(scenario.wall).toFixed(1).padStart(13)}`
    )
  }
  console.log("")
  const expected = 4 * runsPerRound * (warmupRounds + rounds)
  console.log(
    `Exported: ${(sink.bytes() / 1024).toFixed(0)} KiB to the receiver; JSON: ${sink.jsonSpans()} spans of ${expected}.`
  )
  await sink.close()
}

main()
