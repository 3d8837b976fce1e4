import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Anthropic from "../layers/Anthropic.js"
import * as OpenAi from "../layers/OpenAi.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Simulator from "../layers/Simulator.js"
import * as Agent from "../src/Agent.js"
import type { AgentError, ModelErrorReason } from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"
import type * as Run from "../src/Run.js"
import type * as RunEvent from "../src/RunEvent.js"

// Every provider layer, end to end over real HTTP against the simulator.
const providers: ReadonlyArray<{
  readonly name: string
  readonly layer: (simulator: Simulator.Service) => Layer.Layer<LanguageModel.LanguageModel>
}> = [
  {
    name: "OpenAI Responses",
    layer: (s) => OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("test"), baseUrl: s.openAiUrl })
  },
  {
    name: "Anthropic Messages",
    layer: (s) => Anthropic.layer({ model: "claude-sonnet-4-5", apiKey: Redacted.make("test"), baseUrl: s.anthropicUrl })
  },
  {
    name: "Chat Completions",
    layer: (s) =>
      OpenAiCompatible.layer({
        baseUrl: s.openAiUrl,
        model: "gpt-4o-mini",
        apiKey: Redacted.make("test"),
        idleTimeout: "1 second"
      })
  }
]

const GetWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})
const Tools = Toolkit.make(GetWeather)
const ToolsLive = Tools.toLayer({ get_weather: ({ city }) => Effect.succeed({ city, celsius: 21 }) })

const fast = Retry.exponential({ base: "10 millis", times: 2, jitter: false })

const collect = <E, R>(stream: Stream.Stream<RunEvent.RunEvent, E, R>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const events = <E, R>(stream: Stream.Stream<RunEvent.RunEvent, E, R>) =>
  Effect.gen(function*() {
    const seen: Array<RunEvent.RunEvent> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (event) => Effect.sync(() => seen.push(event))))
    return { seen, exit }
  })

const failure = (exit: { readonly _tag: string }) => {
  assert.strictEqual(exit._tag, "Failure")
  const cause = (exit as any).cause
  return (cause._tag === "Fail" ? cause.error : undefined) as AgentError | undefined
}

const modelError = (exit: { readonly _tag: string }): { readonly reason: ModelErrorReason; readonly message: string } => {
  const error = failure(exit)
  assert.strictEqual(error?._tag, "ModelError", `expected a ModelError, got ${JSON.stringify(error)}`)
  return error as any
}

for (const provider of providers) {
  describe(provider.name, () => {
    const setup = (script: Simulator.Script) =>
      Effect.gen(function*() {
        const simulator = yield* Simulator.make({ script })
        const model = yield* Layer.build(Layer.merge(provider.layer(simulator), ToolsLive))
        return { simulator, provide: Effect.provide(model) }
      })

    it.scopedLive("answers, and its usage reaches the run's metrics", () =>
      Effect.gen(function*() {
        const { provide, simulator } = yield* setup([
          Simulator.text("Hello there.", { usage: { inputTokens: 12, outputTokens: 3 } })
        ])
        const output = yield* Agent.run(Agent.make({ retry: Retry.none }), "Say hello").pipe(provide)
        assert.strictEqual(output.content, "Hello there.")
        assert.strictEqual(output.finishReason, "stop")
        assert.deepStrictEqual([output.metrics.inputTokens, output.metrics.outputTokens], [12, 3])
        assert.strictEqual((yield* simulator.stats).requests, 1)
      }))

    it.scopedLive("streams the answer in order", () =>
      Effect.gen(function*() {
        const { provide } = yield* setup([Simulator.text("One two three four.", { chunks: ["One ", "two ", "three ", "four."] })])
        const all = yield* collect(Agent.stream(Agent.make({ retry: Retry.none }), "Count")).pipe(provide)
        assert.deepStrictEqual(
          all.flatMap((event) => (event._tag === "TextDelta" ? [event.delta] : [])).join(""),
          "One two three four."
        )
        assert.strictEqual((all[all.length - 1] as RunEvent.RunCompleted).output.content, "One two three four.")
      }))

    it.scopedLive("runs a tool loop over several turns and sends the results back", () =>
      Effect.gen(function*() {
        const { provide, simulator } = yield* setup([
          Simulator.toolCall("get_weather", { city: "Paris" }),
          Simulator.toolCall("get_weather", { city: "Rome" }),
          Simulator.text("Paris and Rome are both 21°C.")
        ])
        const agent = Agent.make({ toolkit: Tools, retry: Retry.none })
        const output = yield* Agent.stream(agent, "Weather in Paris and Rome?").pipe(
          Stream.runLast,
          Effect.map((last) => (last._tag === "Some" ? (last.value as RunEvent.RunCompleted).output : undefined)),
          provide
        )
        assert.strictEqual(output!.content, "Paris and Rome are both 21°C.")
        assert.deepStrictEqual(output!.toolCalls.map((call) => call.arguments), [{ city: "Paris" }, { city: "Rome" }])
        assert.strictEqual(output!.metrics.modelCalls, 3)
        const requests = yield* simulator.requests
        assert.deepStrictEqual(requests[1]!.toolResults.map((result) => JSON.parse(result.content)), [
          { city: "Paris", celsius: 21 }
        ])
        assert.deepStrictEqual(requests[2]!.toolResults.map((result) => JSON.parse(result.content)), [
          { city: "Rome", celsius: 21 }
        ])
      }))

    it.scopedLive("retries a rate limit after its Retry-After, then answers", () =>
      Effect.gen(function*() {
        const { provide, simulator } = yield* setup([
          Simulator.rateLimited({ retryAfter: "150 millis" }),
          Simulator.text("ok")
        ])
        const { exit, seen } = yield* events(Agent.stream(Agent.make({ retry: fast }), "hi")).pipe(provide)
        assert.strictEqual(exit._tag, "Success")
        const retrying = seen.filter((event): event is RunEvent.Retrying => event._tag === "Retrying")
        assert.deepStrictEqual(retrying.map((event) => [event.error.reason, Duration.toMillis(event.delay)]), [["RateLimited", 150]])
        assert.strictEqual((yield* simulator.stats).requests, 2)
      }))

    it.scopedLive("retries an overloaded or failing server", () =>
      Effect.gen(function*() {
        const { provide, simulator } = yield* setup([Simulator.overloaded(), Simulator.serverError(502), Simulator.text("ok")])
        const output = yield* Agent.run(Agent.make({ retry: fast }), "hi").pipe(provide)
        assert.strictEqual(output.content, "ok")
        assert.strictEqual(output.metrics.retries, 2)
        assert.strictEqual((yield* simulator.stats).requests, 3)
      }))

    for (
      const [name, reply, reason] of [
        ["an unauthorized key", Simulator.unauthorized(), "Unauthorized"],
        ["a prompt too long for the model", Simulator.contextTooLong(), "ContextTooLong"]
      ] as const
    ) {
      it.scopedLive(`fails fast on ${name}, without retrying`, () =>
        Effect.gen(function*() {
          const { provide, simulator } = yield* setup([reply, Simulator.text("never")])
          const exit = yield* Effect.exit(Agent.run(Agent.make({ retry: fast }), "hi").pipe(provide))
          assert.strictEqual(modelError(exit).reason, reason)
          assert.strictEqual((yield* simulator.stats).requests, 1)
        }))
    }

    it.scopedLive("retries a connection reset before anything was shown", () =>
      Effect.gen(function*() {
        const { provide, simulator } = yield* setup([Simulator.reset({ after: 0 }), Simulator.text("recovered")])
        const output = yield* Agent.run(Agent.make({ retry: fast }), "hi", { onEvent: () => Effect.void }).pipe(provide)
        assert.strictEqual(output.content, "recovered")
        assert.strictEqual((yield* simulator.stats).requests, 2)
      }))

    for (
      const [name, reply] of [
        ["a connection reset mid-stream", Simulator.reset({ reply: Simulator.text("Once upon a time", { chunks: 4 }) })],
        ["a truncated stream", Simulator.truncated({ reply: Simulator.text("Once upon a time", { chunks: 4 }) })],
        ["an error event inside the stream", Simulator.streamError({ reply: Simulator.text("Once upon a time", { chunks: 4 }) })],
        ["an event that is not JSON", Simulator.malformedJson({ reply: Simulator.text("Once upon a time", { chunks: 4 }) })],
        ["a malformed SSE frame", Simulator.malformedSse({ reply: Simulator.text("Once upon a time", { chunks: 4 }) })]
      ] as const
    ) {
      it.scopedLive(`never shows anything twice after ${name}`, () =>
        Effect.gen(function*() {
          const { provide, simulator } = yield* setup([reply, Simulator.text("Once upon a time")])
          const { exit, seen } = yield* events(Agent.stream(Agent.make({ retry: fast }), "story")).pipe(provide)
          const shown = seen.flatMap((event) => (event._tag === "TextDelta" ? [event.delta] : [])).join("")
          const requests = (yield* simulator.stats).requests
          if (exit._tag === "Failure") {
            // Text was shown before the failure: the call is not retried, and the run fails.
            modelError(exit)
            assert.isTrue(shown.length > 0 && "Once upon a time".startsWith(shown), `shown: ${shown}`)
            assert.strictEqual(requests, 1)
            assert.strictEqual(seen[seen.length - 1]!._tag, "RunFailed")
          } else {
            // The failure came before any text was shown: the call was retried once.
            assert.strictEqual(shown, "Once upon a time")
            assert.strictEqual(requests, 2)
          }
        }))
    }

    it.scopedLive("feeds invalid tool arguments back to the model", () =>
      Effect.gen(function*() {
        const { provide } = yield* setup([
          Simulator.invalidToolArguments({ name: "get_weather", rawArguments: "{\"town\":\"Paris\"}" }),
          Simulator.toolCall("get_weather", { city: "Paris" }),
          Simulator.text("21°C in Paris.")
        ])
        const output = yield* Agent.run(Agent.make({ toolkit: Tools, retry: Retry.none }), "Weather?").pipe(provide)
        assert.strictEqual(output.content, "21°C in Paris.")
        assert.deepStrictEqual(output.toolCalls.map((call) => call.failure), ["InvalidArguments", undefined])
      }))

    it.scopedLive("ends a stalled stream with a timeout error", () =>
      Effect.gen(function*() {
        const { provide } = yield* setup([Simulator.stall({ reply: Simulator.text("Once upon a time", { chunks: 4 }) })])
        // The Chat Completions layer has its own idle timeout; any model has the agent's call timeout.
        const agent = Agent.make({ retry: Retry.none, modelTimeout: "1 second" })
        const { exit } = yield* events(Agent.stream(agent, "story")).pipe(provide)
        const error = modelError(exit)
        assert.match(error.message, /idle timeout|did not finish within/)
      }))

    /** Starts `count` runs, interrupts them all once the simulator is answering each, and checks each connection closed. */
    const interruptAll = (
      script: Simulator.Script,
      count: number,
      run: (i: number) => Effect.Effect<unknown, unknown, any>
    ) =>
      Effect.gen(function*() {
        const { provide, simulator } = yield* setup(script)
        const fibers = yield* Effect.forEach(
          Array.from({ length: count }, (_, i) => i),
          (i) => Effect.fork(run(i).pipe(provide)),
          { concurrency: "unbounded" }
        )
        yield* simulator.awaitStats((stats) => stats.activeResponses === count)
        yield* Fiber.interruptAll(fibers)
        const stats = yield* simulator.awaitStats((stats) => stats.activeResponses === 0).pipe(
          Effect.timeoutFail({ duration: "1 second", onTimeout: () => "connections still open after 1 second" })
        )
        assert.strictEqual(stats.clientAborts, count)
      })

    const agent = Agent.make({ retry: Retry.none })

    it.scopedLive("interrupting 100 streamed runs closes all 100 connections", () =>
      interruptAll(
        () => Simulator.text("x".repeat(40), { chunks: 40, chunkDelay: "100 millis" }),
        100,
        (i) => Stream.runDrain(Agent.stream(agent, `run ${i}`))
      ), { timeout: 20_000 })

    it.scopedLive("interrupting runs whose JSON answer is half sent closes their connections", () =>
      // Each answer stops half-way through its body: the runs are reading it when interrupted.
      interruptAll(
        () => Simulator.stall({ after: 1, reply: Simulator.text("x".repeat(200)) }),
        10,
        (i) => Agent.run(agent, `run ${i}`)
      ), { timeout: 20_000 })
  })
}

// An agent whose own model and fallback are named on a client, run 100 times with the client
// provided once: the simulator's counters after.
const runOnClient = <I>(
  client: (simulator: Simulator.Service) => Layer.Layer<I>,
  model: (name: string) => Layer.Layer<LanguageModel.LanguageModel, never, I>
) =>
  Effect.gen(function*() {
    // The primary always refuses (401, never retried): every run also calls the fallback.
    const simulator = yield* Simulator.make({
      script: (request) => request.model === "primary" ? Simulator.unauthorized() : Simulator.text(`from ${request.model}`)
    })
    const agent = Agent.make({ model: model("primary"), fallback: [model("backup")] })
    const outputs = yield* Effect.forEach(
      Array.from({ length: 100 }, (_, i) => i),
      // Half of them streamed: both kinds of request share the pool.
      (i) => Agent.run(agent, `run ${i}`, i % 2 === 0 ? {} : { onEvent: () => Effect.void })
    ).pipe(Effect.provide(client(simulator)))
    assert.deepStrictEqual(new Set(outputs.map((output) => output.content)), new Set(["from backup"]))
    return yield* simulator.stats
  })

const onClients = [
  [
    "OpenAI Responses",
    runOnClient((s) => OpenAi.layerClient({ apiKey: Redacted.make("test"), baseUrl: s.openAiUrl }), (m) => OpenAi.model(m))
  ],
  [
    "Anthropic Messages",
    runOnClient(
      (s) => Anthropic.layerClient({ apiKey: Redacted.make("test"), baseUrl: s.anthropicUrl }),
      (m) => Anthropic.model(m, { maxTokens: 100 })
    )
  ],
  [
    "Chat Completions",
    runOnClient(
      (s) => OpenAiCompatible.layerClient({ baseUrl: s.openAiUrl, apiKey: Redacted.make("test") }),
      (m) => OpenAiCompatible.model(m)
    )
  ]
] as const

describe("a client and the models named on it", () => {
  for (const [name, run] of onClients) {
    it.scopedLive(`${name}: an agent's own model and its fallback, run 100 times, share the client's pool`, () =>
      Effect.gen(function*() {
        const stats = yield* run
        assert.strictEqual(stats.requests, 200)
        // One keep-alive pool, reused run after run (a pool per run, or per model, would open 100 or
        // 200). A run may find the last run's connection not yet handed back and open a second.
        assert.isAtMost(stats.connections, 3)
      }), { timeout: 20_000 })
  }

  it.scopedLive("a model and its own client in one layer (layer) still runs an agent provided at the top", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: () => Simulator.text("hi") })
      const model = OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("test"), baseUrl: simulator.openAiUrl })
      const agent = Agent.make({})
      yield* Effect.forEach(Array.from({ length: 20 }), () => Agent.run(agent, "x")).pipe(Effect.provide(model))
      assert.isAtMost((yield* simulator.stats).connections, 3)
    }))

  it("an agent on a model named on a client requires the client; on a model with its own client, nothing", () => {
    const onClient = Agent.make({ model: OpenAi.model("gpt-4o-mini") })
    expectTypeOf(Agent.run(onClient, "x")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, OpenAi.Client>
    >()
    const withFallback = Agent.make({ model: OpenAi.model("gpt-4o-mini"), fallback: [Anthropic.model("claude")] })
    expectTypeOf(Agent.run(withFallback, "x")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, OpenAi.Client | Anthropic.Client>
    >()
    const own = Agent.make({ model: OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("k") }) })
    expectTypeOf(Agent.run(own, "x")).toEqualTypeOf<Effect.Effect<Run.Output<string>, AgentError, never>>()
  })
})

describe("an @effect/ai provider's own model", () => {
  it.scopedLive("runs an agent's tool loop, bad arguments fed back, through the public LanguageModel", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const model = OpenAiLanguageModel.layer({ model: "gpt-4o-mini" }).pipe(
        Layer.provide(OpenAiClient.layer({ apiUrl: simulator.openAiUrl, apiKey: Redacted.make("test") })),
        Layer.provide(NodeHttpClient.layerUndici)
      )
      const agent = Agent.make({ toolkit: Tools, retry: Retry.none })
      for (const stream of [false, true]) {
        yield* simulator.script([
          Simulator.invalidToolArguments({ name: "get_weather", rawArguments: "{\"town\":\"Paris\"}" }),
          Simulator.toolCall("get_weather", { city: "Paris" }),
          Simulator.text("21°C in Paris.")
        ])
        const output = yield* Agent.run(agent, "Weather?", stream ? { onEvent: () => Effect.void } : {}).pipe(
          Effect.provide(Layer.merge(model, ToolsLive))
        )
        assert.strictEqual(output.content, "21°C in Paris.")
        assert.deepStrictEqual(output.toolCalls.map((call) => call.failure), ["InvalidArguments", undefined])
      }
    }))
})
