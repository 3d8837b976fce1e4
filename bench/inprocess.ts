/**
 * In-process benchmark: the framework's own cost per operation, on the scripted TestModel (no
 * network, no provider). Each scenario runs in batches after a warm-up; the table shows the median
 * batch and the spread, because shared machines are noisy.
 *
 *   npm run bench
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"

const Add = Tool.make("add", { parameters: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
const Tools = Toolkit.make(Add)
const ToolsLive = Tools.toLayer({ add: ({ a, b }) => Effect.succeed(a + b) })

// Calls a tool while the conversation has fewer than `turns` model calls, then answers.
const model = TestModel.layer((request) => {
  const turns = Number(/turns=(\d+)/.exec(request.lastUserText)?.[1] ?? 1)
  const calls = request.prompt.content.filter((message) => message.role === "assistant").length
  if (request.lastUserText.startsWith("stream")) {
    return TestModel.text("x".repeat(500), { chunks: 500 })
  }
  return calls + 1 < turns ? TestModel.toolCall("add", { a: calls, b: 1 }) : TestModel.text("The answer is 42.")
})

const runtime = ManagedRuntime.make(Layer.merge(model, ToolsLive))
const plain = Agent.make({ name: "plain", instructions: "Be brief." })
const tooled = Agent.make({ name: "tooled", instructions: "Use tools.", toolkit: Tools, maxTurns: 50 })

const repeat = <E, R>(effect: Effect.Effect<unknown, E, R>, n: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* effect
  })

interface Row {
  readonly scenario: string
  readonly unit: string
  readonly median: number
  readonly min: number
  readonly max: number
}

const measure = async (
  scenario: string,
  unit: string,
  perBatch: number,
  batch: () => Promise<unknown> | unknown,
  scale = 1
): Promise<Row> => {
  await batch()
  const samples: Array<number> = []
  for (let i = 0; i < 7; i++) {
    const start = performance.now()
    await batch()
    samples.push(((performance.now() - start) * 1000) / perBatch / scale)
  }
  samples.sort((a, b) => a - b)
  return { scenario, unit, median: samples[3]!, min: samples[0]!, max: samples[6]! }
}

const rows: Array<Row> = []
rows.push(await measure("construct an agent", "µs", 100_000, () => {
  for (let i = 0; i < 100_000; i++) Agent.make({ name: "a", instructions: "b" })
}))
rows.push(await measure("single-turn run", "µs/run", 2_000, () => runtime.runPromise(repeat(Agent.run(plain, "hi"), 2_000))))
rows.push(await measure("run with one tool call", "µs/run", 1_000, () => runtime.runPromise(repeat(Agent.run(tooled, "turns=2"), 1_000))))
rows.push(await measure("5-turn run (4 tool calls)", "µs/run", 300, () => runtime.runPromise(repeat(Agent.run(tooled, "turns=5"), 300))))
rows.push(await measure("25-turn run (24 tool calls)", "µs/run", 40, () => runtime.runPromise(repeat(Agent.run(tooled, "turns=25"), 40))))
rows.push(
  await measure(
    "streamed chunk (500-chunk stream)",
    "µs/chunk",
    20,
    () => runtime.runPromise(repeat(Stream.runDrain(Agent.stream(plain, "stream")), 20)),
    500
  )
)

const heldAgents = () => {
  globalThis.gc?.()
  const before = process.memoryUsage().heapUsed
  const agents = Array.from({ length: 10_000 }, (_, i) => Agent.make({ name: `agent-${i}`, instructions: "Be brief." }))
  globalThis.gc?.()
  const after = process.memoryUsage().heapUsed
  return { bytes: (after - before) / agents.length, agents }
}
const memory = heldAgents()

await runtime.dispose()

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2))
console.log(`node ${process.version}, ${process.platform}/${process.arch}`)
console.log("| scenario | median | min | max |")
console.log("|---|---:|---:|---:|")
for (const row of rows) {
  console.log(`| ${row.scenario} | ${fmt(row.median)} ${row.unit} | ${fmt(row.min)} | ${fmt(row.max)} |`)
}
console.log(`| memory per agent held (10,000 agents) | ${(memory.bytes / 1024).toFixed(2)} KiB | | |`)
