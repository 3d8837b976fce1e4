/**
 * The model every example runs on, in one place.
 *
 * `model("gpt-4o-mini")` reads like `OpenAIChat(id="gpt-4o-mini")` in the Python original. When
 * `EFFECT_AGENTS_MODEL` is set (e.g. `openai:gpt-4o-mini` with `OPENAI_API_KEY`, or `ollama:llama3.2`),
 * every example runs on that real model instead (see `Provider` in `effect-agents/layers`). Otherwise
 * it is the demo responder of `examples/demo.ts` (deterministic, offline, not a model) served by the
 * local LLM simulator (`Simulator` in `effect-agents/layers`) over real HTTP: each time an agent
 * builds its model (once per run), a simulator starts on a free port of 127.0.0.1 with the demo as
 * its script, and the agent reaches it through the real `OpenAiCompatible` provider layer — request
 * bodies, streamed SSE answers, tool calls and HTTP errors included. The simulator stops when the
 * run ends (starting and stopping one takes a few milliseconds). The example code is the same
 * whichever model it runs on.
 *
 * Each example's model is a layer with no requirements, built for each run, so that an example runs
 * alone with nothing to provide; on a real provider that is a client (a connection pool) per run. An
 * application names its models on a client it provides once instead (`OpenAi.model("gpt-4o-mini")`
 * with `OpenAi.layerClientConfig()`, or `Provider.model()` with `Provider.layerClientConfig()`:
 * see "Models and providers" in the README).
 *
 * Settings, read with Effect `Config` (so from the environment by default):
 * - `EFFECT_AGENTS_MODEL`: a real model, `provider:model`, for every example; unset, the demo.
 * - `DEMO_MODEL_LATENCY`: how long the demo waits before its first token, e.g. `"50 millis"`.
 *   Default `"300 millis"`.
 * - `DEMO_MODEL_TRANSPORT`: how the demo is reached. `simulator` (the default): over HTTP, as above.
 *   `in-process`: the same answers from a `TestModel` in the process, with no HTTP. That one is for
 *   tests on the `TestClock`: its latency is `Effect.sleep`, which a virtual clock drives, whereas
 *   the simulator waits on real sockets and real time.
 *
 * The failure examples get their faults here too: {@link unavailable}, {@link flaky}, {@link slow}.
 * They always run on the demo, so those examples behave the same whatever the provider. Over the
 * simulator a fault is an HTTP error response in OpenAI's shape, classified by the provider layer's
 * own error mapping, as a real provider's would be.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Provider from "../layers/Provider.js"
import * as Simulator from "../layers/Simulator.js"
import * as TestModel from "../layers/TestModel.js"
import * as Demo from "./demo.js"

/**
 * The real model to run the examples on, `provider:model`; none means the offline demo.
 *
 * @since 0.1.0
 * @category config
 */
export const Configured: Config.Config<Option.Option<string>> = Config.option(Config.string("EFFECT_AGENTS_MODEL"))

/**
 * How long the demo waits before its first token.
 *
 * @since 0.1.0
 * @category config
 */
export const Latency: Config.Config<Duration.Duration> = Config.duration("DEMO_MODEL_LATENCY").pipe(
  Config.withDefault(Duration.millis(300))
)

/**
 * How the demo is reached: the local simulator over HTTP (default), or in process (for tests on
 * the `TestClock`).
 *
 * @since 0.1.0
 * @category config
 */
export const Transport: Config.Config<"simulator" | "in-process"> = Config.literal("simulator", "in-process")(
  "DEMO_MODEL_TRANSPORT"
).pipe(Config.withDefault("simulator" as const))

/**
 * The model `id`, from the configured provider.
 *
 * @since 0.1.0
 * @category models
 * @example
 * ```ts
 * const agent = Agent.make({ model: model("gpt-4o-mini") })
 * ```
 */
export const model = (id: string = "gpt-4o-mini"): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.unwrapEffect(
    Effect.map(Configured, (configured) =>
      // The one place a real provider plugs in: a missing key or a malformed model string stops the
      // example with a message that names the variable.
      Option.isSome(configured) ? Provider.layerConfig() : demo(id, (latency) => Effect.succeed(Demo.answering(latency))))
  ).pipe(Layer.orDie)

/**
 * A model the provider will not serve: every call fails with HTTP `status`, after the usual latency.
 * 503 (overloaded) and 5xx are retried by an agent's retry policy; 401 (bad API key) and 404 (no
 * such model) are not.
 *
 * @since 0.1.0
 * @category faults
 */
export const unavailable = (id: string, status: number = 503): Layer.Layer<LanguageModel.LanguageModel> =>
  demo(id, (latency) => Effect.succeed(Demo.failing(id, status, latency)))

/**
 * A model that fails its first `failures` calls with HTTP 503, then answers. The count starts again
 * each time the layer is built, and an agent builds its `model` layer once per run.
 *
 * @since 0.1.0
 * @category faults
 */
export const flaky = (
  id: string,
  options: { readonly failures: number }
): Layer.Layer<LanguageModel.LanguageModel> => demo(id, (latency) => Demo.flaky(id, options.failures, latency))

/**
 * A model that takes `latency` before its first token, however the demo latency is configured.
 *
 * @since 0.1.0
 * @category faults
 */
export const slow = (id: string, latency: Duration.DurationInput): Layer.Layer<LanguageModel.LanguageModel> =>
  demo(id, (configured) => Effect.succeed(Demo.answering(configured)), Duration.decode(latency))

// ─── Transports ─────────────────────────────────────────────────────────────────────────────────

/**
 * The demo as a model: the responder is made when the layer is built (so a fault's count starts
 * there), then served by the configured transport for as long as the layer lives.
 */
const demo = (
  id: string,
  responder: (latency: Duration.Duration) => Effect.Effect<Demo.Responder>,
  latency?: Duration.Duration
): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const configured = latency ?? (yield* Latency)
    const transport = yield* Transport
    const respond = yield* responder(configured)
    return transport === "in-process" ? inProcess(id, respond) : yield* overHttp(id, respond)
  })).pipe(Layer.orDie)

/** A simulator on a free port of 127.0.0.1, answering with the demo, and the provider layer that reaches it. */
const overHttp = (id: string, respond: Demo.Responder) =>
  Effect.map(
    Simulator.make({
      host: "127.0.0.1",
      port: 0,
      recordLimit: 0,
      script: (request) => {
        const reply = respond(fromSimulator(request))
        return Effect.isEffect(reply) ? Effect.map(reply, toSimulator) : toSimulator(reply)
      }
    }),
    (simulator) => OpenAiCompatible.layer({ baseUrl: simulator.openAiUrl, model: id, provider: "simulator" })
  )

const fromSimulator = (request: Simulator.Request): Demo.Request => ({
  system: request.system,
  lastUserText: request.lastUserText,
  tools: request.tools.map((tool) => tool.name),
  json: request.responseFormat.type === "json",
  toolCalls: request.messages.flatMap((message) =>
    message.toolCalls.map((call) => ({ id: call.id, name: call.name, params: parseArguments(call.arguments) }))
  ),
  toolResults: request.toolResults.map((result) => ({
    id: result.id,
    name: result.name ?? "",
    result: result.content,
    isFailure: result.isError
  }))
})

const parseArguments = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const toSimulator = (reply: Demo.Reply): Simulator.Reply => {
  const timing = { delay: reply.delay, chunkDelay: reply.chunkDelay }
  switch (reply._tag) {
    case "Text":
      return Simulator.text(reply.text, { ...timing, chunks: reply.chunks })
    case "ToolCalls":
      return Simulator.toolCalls(reply.calls.map((call) => ({ name: call.name, arguments: call.params })), timing)
    case "HttpError":
      return Simulator.httpError(reply.status, { ...timing, message: reply.message })
  }
}

/** The demo as a `TestModel`: the same answers, no HTTP, latency on the fiber's clock. */
const inProcess = (id: string, respond: Demo.Responder): Layer.Layer<LanguageModel.LanguageModel> =>
  TestModel.layer((request) => {
    const reply = respond(fromTestModel(request))
    return Effect.isEffect(reply) ? Effect.map(reply, toTestModel) : toTestModel(reply)
  }, { model: id })

const fromTestModel = (request: TestModel.Request): Demo.Request => {
  const messages = request.prompt.content
  const last = messages[messages.length - 1]
  return {
    system: request.system,
    lastUserText: request.lastUserText,
    tools: request.tools,
    json: request.responseFormat === "json",
    toolCalls: messages.flatMap((message) =>
      message.role === "assistant"
        ? message.content.flatMap((part) =>
          part.type === "tool-call" ? [{ id: part.id, name: part.name, params: part.params }] : []
        )
        : []
    ),
    toolResults: last !== undefined && last.role === "tool" ? last.content.map(toolResult) : []
  }
}

const toolResult = (part: Prompt.ToolResultPart): Demo.ToolResult => ({
  id: part.id,
  name: part.name,
  result: typeof part.result === "string" ? part.result : JSON.stringify(part.result),
  isFailure: part.isFailure
})

const toTestModel = (reply: Demo.Reply): TestModel.Reply => {
  const timing = { delay: reply.delay, chunkDelay: reply.chunkDelay }
  switch (reply._tag) {
    case "Text":
      return TestModel.text(reply.text, { ...timing, chunks: reply.chunks })
    case "ToolCalls":
      return TestModel.toolCalls(reply.calls, timing)
    case "HttpError":
      return TestModel.httpError(reply.status, { delay: reply.delay, body: reply.message })
  }
}
