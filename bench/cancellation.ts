/**
 * Cancellation benchmark: how long interrupting runs takes at each phase of their model call, and
 * how many of their connections the server still sees open 1 s later, for every wire protocol, for
 * JSON and streamed (SSE) answers, one run at a time and 1,000 runs in flight. The simulator runs
 * in this process (its counters tell when a client closed), holding each phase for as long as the
 * runs wait.
 *
 * Phases: waiting for the headers (the request reached the server, no status line), after the
 * headers before the body, mid-body (half a JSON answer, the first events of a stream), between
 * retries (the backoff after a 500), and during a tool call. Each figure is the median of `rounds`
 * rounds; the table also counts the uncaught exceptions and unhandled rejections seen (must be 0).
 *
 *   npm run bench:cancel                    everything
 *   npm run bench:cancel -- --runs 1000     only the 1,000-run rounds
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Anthropic from "../layers/Anthropic.js"
import * as OpenAi from "../layers/OpenAi.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Simulator from "../layers/Simulator.js"
import * as Agent from "../src/Agent.js"
import * as Retry from "../src/Retry.js"
import { median } from "./lib/measure.js"

const rounds = 5
const onlyRuns = (() => {
  const at = process.argv.indexOf("--runs")
  return at === -1 ? undefined : Number(process.argv[at + 1])
})()

let escaped = 0
process.on("uncaughtException", () => escaped++)
process.on("unhandledRejection", () => escaped++)

const providers: ReadonlyArray<readonly [string, (s: Simulator.Service) => Layer.Layer<LanguageModel.LanguageModel>]> = [
  ["Responses", (s) => OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("bench"), baseUrl: s.openAiUrl })],
  ["Anthropic", (s) => Anthropic.layer({ model: "claude", apiKey: Redacted.make("bench"), baseUrl: s.anthropicUrl })],
  ["Chat Completions", (s) => OpenAiCompatible.layer({ model: "m", apiKey: Redacted.make("bench"), baseUrl: s.openAiUrl })]
]

const Slow = Tool.make("slow", { parameters: { input: Schema.String }, success: Schema.String })
const Tools = Toolkit.make(Slow)
const agent = Agent.make({ retry: Retry.none, toolkit: Tools })
const patient = Agent.make({ toolkit: Tools, retry: Retry.exponential({ base: "1 minute", times: 3, jitter: false }) })

type Mode = "JSON" | "SSE"
const runIn = (mode: Mode, subject: typeof agent, input: string) =>
  mode === "JSON" ? Effect.asVoid(Agent.run(subject, input)) : Stream.runDrain(Agent.stream(subject, input))

interface Phase {
  readonly name: string
  readonly script: () => ReadonlyArray<Simulator.Reply> | (() => Simulator.Reply)
  /** Waits until every run is in the phase. */
  readonly ready: (simulator: Simulator.Service, runs: number, toolsStarted: () => number) => Effect.Effect<void>
  readonly agent: typeof agent
  readonly many: boolean
}

const settle = Effect.sleep("100 millis")
const responding = (simulator: Simulator.Service, runs: number) =>
  Effect.zipRight(simulator.awaitStats((stats) => stats.activeResponses === runs), settle)

const phases: ReadonlyArray<Phase> = [
  {
    name: "waiting for headers",
    script: () => () => Simulator.stall({ before: "headers" }),
    ready: responding,
    agent,
    many: true
  },
  {
    name: "headers, no body",
    script: () => () => Simulator.stall({ before: "body" }),
    ready: responding,
    agent,
    many: true
  },
  {
    name: "mid-body",
    script: () => () => Simulator.stall({ after: 2, reply: Simulator.text("x".repeat(400), { chunks: 8 }) }),
    ready: responding,
    agent,
    many: true
  },
  {
    name: "between retries",
    script: () => [Simulator.serverError(500)],
    ready: (simulator) =>
      Effect.zipRight(simulator.awaitStats((stats) => stats.requests === 1 && stats.activeResponses === 0), settle),
    agent: patient,
    many: false
  },
  {
    name: "in a tool call",
    script: () => [Simulator.toolCall("slow", { input: "x" })],
    ready: (_, runs, toolsStarted) =>
      Effect.repeat(Effect.sync(toolsStarted), { until: (n) => n >= runs, schedule: Schedule.spaced("5 millis") }),
    agent,
    many: false
  }
]

interface Row {
  readonly protocol: string
  readonly mode: Mode
  readonly phase: string
  readonly runs: number
  readonly interruptMs: number
  readonly openAfter1s: number
}

const round = (provider: typeof providers[number], mode: Mode, phase: Phase, runs: number) =>
  Effect.scoped(Effect.gen(function*() {
    let toolsStarted = 0
    const script = phase.script()
    const simulator = yield* Simulator.make({ script: typeof script === "function" ? script : [...script] })
    const tools = Tools.toLayer({ slow: () => Effect.zipRight(Effect.sync(() => toolsStarted++), Effect.never) })
    const context = yield* Layer.build(Layer.merge(provider[1](simulator), tools))
    const fibers = yield* Effect.forEach(
      Array.from({ length: runs }, (_, i) => i),
      (i) => Effect.fork(runIn(mode, phase.agent, `run ${i}`).pipe(Effect.provide(context)))
    )
    yield* phase.ready(simulator, runs, () => toolsStarted)
    const start = performance.now()
    yield* Fiber.interruptAll(fibers)
    const interruptMs = performance.now() - start
    const stats = yield* simulator.awaitStats((stats) => stats.activeResponses === 0).pipe(
      Effect.timeoutTo({ duration: "1 second", onSuccess: (stats) => stats, onTimeout: () => undefined }),
      Effect.flatMap((stats) => (stats === undefined ? simulator.stats : Effect.succeed(stats)))
    )
    return { interruptMs, open: stats.activeResponses }
  }))

const program = Effect.gen(function*() {
  const rows: Array<Row> = []
  for (const runs of [1, 1000]) {
    if (onlyRuns !== undefined && runs !== onlyRuns) continue
    for (const provider of providers) {
      for (const mode of ["JSON", "SSE"] as const) {
        for (const phase of phases) {
          if (runs > 1 && !phase.many) continue
          const results: Array<{ interruptMs: number; open: number }> = []
          for (let i = 0; i < rounds; i++) results.push(yield* round(provider, mode, phase, runs))
          rows.push({
            protocol: provider[0],
            mode,
            phase: phase.name,
            runs,
            interruptMs: Math.round(median(results.map((r) => r.interruptMs)) * 10) / 10,
            openAfter1s: Math.max(...results.map((r) => r.open))
          })
        }
      }
    }
  }
  console.table(rows)
  console.log(`uncaught exceptions and unhandled rejections: ${escaped}`)
})

Effect.runPromise(program)
