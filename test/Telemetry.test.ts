import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Deferred from "effect/Deferred"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Option from "effect/Option"
import * as Cli from "../cli/Cli.js"
import * as Anthropic from "../layers/Anthropic.js"
import * as HttpApp from "../layers/HttpApp.js"
import * as OpenAi from "../layers/OpenAi.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Simulator from "../layers/Simulator.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as Registry from "../src/Registry.js"
import * as Telemetry from "../layers/Telemetry.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Retry from "../src/Retry.js"
import * as Team from "../src/Team.js"
import * as Workflow from "../src/Workflow.js"
import * as Receiver from "./fixtures/otlpReceiver.js"

const SECRET = "sk-telemetry-test-secret-0f9e8d"

const Weather = Tool.make("get_weather", { parameters: { city: Schema.String }, success: Schema.String })
const Time = Tool.make("get_time", { parameters: { city: Schema.String }, success: Schema.String })
const Tools = Toolkit.make(Weather, Time)
const ToolsLive = Tools.toLayer({
  get_weather: ({ city }) => Effect.succeed(`Sunny in ${city}`),
  get_time: ({ city }) => Effect.succeed(`Noon in ${city}`)
})

/** Runs `effect` with the exporter pointed at a fresh receiver; the layer's end flushes every signal. */
const exported = <A, E>(
  effect: Effect.Effect<A, E>,
  options?: Partial<Telemetry.Options>
) =>
  Effect.gen(function*() {
    const receiver = yield* Receiver.start
    const exit = yield* Effect.exit(effect.pipe(
      Effect.provide(Telemetry.layer({
        endpoint: receiver.url,
        protocol: "http/json",
        serviceName: "telemetry-test",
        headers: { "x-api-key": Redacted.make(SECRET) },
        ...options
      }))
    ))
    return { exit, receiver, spans: Receiver.spans(receiver) }
  })

const byName = (spans: ReadonlyArray<Receiver.Span>, name: string) => {
  const found = spans.filter((span) => span.name === name)
  assert.isAbove(found.length, 0, `no span named ${name} among ${spans.map((s) => s.name).join(", ")}`)
  return found
}

const weatherAgent = Agent.make({
  name: "Weather",
  instructions: "Answer about the weather.",
  toolkit: Tools,
  model: TestModel.layer([
    TestModel.toolCalls([
      { name: "get_weather", params: { city: "Paris" }, id: "call_w" },
      { name: "get_time", params: { city: "Paris" }, id: "call_t" }
    ], { usage: { inputTokens: 11, outputTokens: 3 } }),
    TestModel.text("Sunny at noon in Paris.", { usage: { inputTokens: 20, outputTokens: 7 } })
  ])
})

describe("Telemetry export (OTLP/HTTP, GenAI conventions)", () => {
  it.scopedLive("an agent with two tool calls: one trace, the run above its model and tool calls", () =>
    Effect.gen(function*() {
      process.env.OPENAI_API_KEY = SECRET
      const { exit, receiver, spans } = yield* exported(
        Agent.run(weatherAgent, "Weather and time in Paris?").pipe(Effect.provide(ToolsLive))
      )
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(spans.map((span) => span.name).sort(), [
        "chat test-model",
        "chat test-model",
        "execute_tool get_time",
        "execute_tool get_weather",
        "invoke_agent Weather"
      ])
      const [run] = byName(spans, "invoke_agent Weather")
      assert.isUndefined(run!.parentSpanId)
      for (const span of spans) {
        assert.strictEqual(span.traceId, run!.traceId)
        if (span !== run) assert.strictEqual(span.parentSpanId, run!.spanId)
      }
      assert.strictEqual(run!.resource["service.name"], "telemetry-test")
      assert.strictEqual(run!.attributes["gen_ai.operation.name"], "invoke_agent")
      assert.strictEqual(run!.attributes["gen_ai.agent.name"], "Weather")
      assert.strictEqual(run!.attributes["gen_ai.usage.input_tokens"], 31)
      assert.strictEqual(run!.attributes["gen_ai.usage.output_tokens"], 10)
      assert.strictEqual(run!.kind, 1) // internal

      const [first, second] = byName(spans, "chat test-model")
      assert.strictEqual(first!.kind, 3) // client
      assert.deepInclude(first!.attributes, {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "test",
        "gen_ai.request.model": "test-model",
        "gen_ai.response.model": "test-model",
        "gen_ai.agent.name": "Weather",
        "gen_ai.usage.input_tokens": 11,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.output.type": "text"
      })
      assert.deepStrictEqual(first!.attributes["gen_ai.response.finish_reasons"], ["tool-calls"])
      assert.deepStrictEqual(second!.attributes["gen_ai.response.finish_reasons"], ["stop"])
      assert.isString(first!.attributes["gen_ai.response.id"])

      const [weather] = byName(spans, "execute_tool get_weather")
      assert.deepInclude(weather!.attributes, {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": "call_w",
        "gen_ai.tool.type": "function"
      })
      assert.strictEqual(byName(spans, "execute_tool get_time")[0]!.attributes["gen_ai.tool.call.id"], "call_t")

      // No content unless opted in, and no secret anywhere: not the prompt, the instructions,
      // the answer, the tool arguments or results, the key in the environment or the header's value.
      for (const span of spans) {
        for (const key of Object.keys(span.attributes)) {
          assert.notInclude(
            ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"],
            key
          )
        }
      }
      for (const request of receiver.received) {
        assert.notInclude(request.raw, "Paris")
        assert.notInclude(request.raw, "Answer about the weather")
        assert.notInclude(request.raw, SECRET)
      }
      // The header went with every export.
      assert.isAbove(receiver.received.length, 0)
      for (const request of receiver.received) assert.strictEqual(request.headers["x-api-key"], SECRET)
    }).pipe(Effect.ensuring(Effect.sync(() => delete process.env.OPENAI_API_KEY))))

  it.scopedLive("content is recorded when opted in, and secrets still are not", () =>
    Effect.gen(function*() {
      process.env.OPENAI_API_KEY = SECRET
      const { receiver, spans } = yield* exported(
        Agent.run(weatherAgent, "Weather and time in Paris?").pipe(Effect.provide(ToolsLive)),
        { captureContent: true }
      )
      const [first, second] = byName(spans, "chat test-model")
      const input = JSON.parse(first!.attributes["gen_ai.input.messages"] as string)
      assert.deepStrictEqual(input, [{ role: "user", parts: [{ type: "text", content: "Weather and time in Paris?" }] }])
      assert.include(first!.attributes["gen_ai.system_instructions"] as string, "Answer about the weather.")
      const output = JSON.parse(second!.attributes["gen_ai.output.messages"] as string)
      assert.deepStrictEqual(output, [{
        role: "assistant",
        parts: [{ type: "text", content: "Sunny at noon in Paris." }],
        finish_reason: "stop"
      }])
      const toolCalls = JSON.parse(first!.attributes["gen_ai.output.messages"] as string)[0].parts
      assert.deepStrictEqual(toolCalls.map((part: any) => [part.type, part.name, part.arguments]), [
        ["tool_call", "get_weather", { city: "Paris" }],
        ["tool_call", "get_time", { city: "Paris" }]
      ])
      const [weather] = byName(spans, "execute_tool get_weather")
      assert.strictEqual(weather!.attributes["gen_ai.tool.call.arguments"], "{\"city\":\"Paris\"}")
      assert.strictEqual(weather!.attributes["gen_ai.tool.call.result"], "\"Sunny in Paris\"")
      for (const request of receiver.received) assert.notInclude(request.raw, SECRET)
    }).pipe(Effect.ensuring(Effect.sync(() => delete process.env.OPENAI_API_KEY))))

  it.scopedLive("a team with two members: the members' runs are children of the team's", () =>
    Effect.gen(function*() {
      const member = (name: string) =>
        Agent.make({ name, role: `The ${name}`, retry: Retry.none, model: TestModel.layer([TestModel.text(`${name} done.`)]) })
      const team = Team.make({
        name: "Crew",
        members: [member("Scout"), member("Scribe")],
        model: TestModel.layer((request) =>
          request.prompt.content[request.prompt.content.length - 1]!.role === "tool"
            ? TestModel.text("All done.")
            : TestModel.toolCalls([
              { name: "delegate_task_to_member", params: { member: "Scout", task: "look" } },
              { name: "delegate_task_to_member", params: { member: "Scribe", task: "write" } }
            ]))
      })
      const { exit, spans } = yield* exported(Team.run(team, "Go."))
      assert.isTrue(Exit.isSuccess(exit))
      const [crew] = byName(spans, "invoke_agent Crew")
      assert.isUndefined(crew!.parentSpanId)
      // The team's usage is its leader's and its members': four model calls of TestModel's default usage.
      const chats = byName(spans, "chat test-model")
      assert.strictEqual(chats.length, 4)
      assert.strictEqual(
        crew!.attributes["gen_ai.usage.output_tokens"],
        chats.reduce((n, chat) => n + (chat.attributes["gen_ai.usage.output_tokens"] as number), 0)
      )
      assert.strictEqual(crew!.attributes["gen_ai.operation.name"], "invoke_agent")
      assert.strictEqual(crew!.attributes["effect_agents.team.mode"], "coordinate")
      const ids = new Map(spans.map((span) => [span.spanId, span]))
      const ancestors = (span: Receiver.Span): Array<string> => {
        const parent = span.parentSpanId === undefined ? undefined : ids.get(span.parentSpanId)
        return parent === undefined ? [] : [parent.name, ...ancestors(parent)]
      }
      for (const name of ["Scout", "Scribe"]) {
        const [run] = byName(spans, `invoke_agent ${name}`)
        assert.strictEqual(run!.traceId, crew!.traceId)
        // The delegation is the leader's tool call; the member's run is under it.
        assert.deepStrictEqual(ancestors(run!), ["execute_tool delegate_task_to_member", "invoke_agent Crew"])
        const [chat] = spans.filter((span) => span.name === "chat test-model" && span.parentSpanId === run!.spanId)
        assert.strictEqual(chat!.attributes["gen_ai.agent.name"], name)
      }
    }))

  it.scopedLive("a workflow: an invoke_workflow span, its agent steps' runs under it", () =>
    Effect.gen(function*() {
      const writer = Agent.make({ name: "Writer", retry: Retry.none, model: TestModel.layer([TestModel.text("Draft.")]) })
      const flow = Workflow.make({
        name: "Pipeline",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.step("shout", (text: string) => Effect.succeed(text.toUpperCase())),
          Workflow.agent(writer)
        )
      })
      const { exit, spans } = yield* exported(Workflow.run(flow, "go"))
      assert.isTrue(Exit.isSuccess(exit))
      const [pipeline] = byName(spans, "invoke_workflow Pipeline")
      assert.isUndefined(pipeline!.parentSpanId)
      assert.strictEqual(pipeline!.attributes["gen_ai.operation.name"], "invoke_workflow")
      assert.strictEqual(pipeline!.attributes["gen_ai.agent.name"], "Pipeline")
      const [run] = byName(spans, "invoke_agent Writer")
      assert.strictEqual(run!.traceId, pipeline!.traceId)
      assert.strictEqual(run!.parentSpanId, pipeline!.spanId)
    }))

  it.scopedLive("a retried model call: a failed chat span, a retry event on the run, then the answer", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        name: "Retrier",
        retry: Retry.exponential({ base: "1 millis", times: 2, jitter: false }),
        model: TestModel.layer([TestModel.httpError(503), TestModel.text("ok")])
      })
      const { exit, spans } = yield* exported(Agent.run(agent, "hi"))
      assert.isTrue(Exit.isSuccess(exit))
      const [run] = byName(spans, "invoke_agent Retrier")
      const chats = byName(spans, "chat test-model")
      assert.strictEqual(chats.length, 2)
      const [failed, ok] = chats
      assert.strictEqual(failed!.attributes["error.type"], "Overloaded")
      assert.strictEqual(failed!.status.code, 2) // error
      assert.isUndefined(ok!.attributes["error.type"])
      assert.deepStrictEqual(run!.events.map((event) => [event.name, event.attributes["error.type"], event.attributes["effect_agents.retry.attempt"]]), [
        ["gen_ai.retry", "Overloaded", 1]
      ])
      assert.isUndefined(run!.attributes["error.type"])
    }))

  it.scopedLive("a failed model call: error.type on the call and the run, both spans in error", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        name: "Doomed",
        retry: Retry.none,
        model: TestModel.layer([TestModel.httpError(401)])
      })
      const { exit, spans } = yield* exported(Agent.run(agent, "hi"))
      assert.isTrue(Exit.isFailure(exit))
      const [run] = byName(spans, "invoke_agent Doomed")
      const [chat] = byName(spans, "chat test-model")
      assert.strictEqual(chat!.attributes["error.type"], "Unauthorized")
      assert.strictEqual(run!.attributes["error.type"], "Unauthorized")
      assert.strictEqual(chat!.status.code, 2)
      assert.strictEqual(run!.status.code, 2)
    }))

  it.scopedLive("metrics: token usage by type, durations, and the runs' and tool calls' counters", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        name: "Metered",
        toolkit: Tools,
        model: TestModel.layer([
          TestModel.toolCall("get_weather", { city: "Oslo" }, { usage: { inputTokens: 100, outputTokens: 5 } }),
          TestModel.text("Cold.", { usage: { inputTokens: 120, outputTokens: 2 }, chunks: 2 })
        ])
      })
      const { receiver } = yield* exported(
        // Streamed, so the time to the first chunk is measured.
        Agent.run(agent, "Weather in Oslo?", { onEvent: () => Effect.void }).pipe(Effect.provide(ToolsLive))
      )
      const points = Receiver.metrics(receiver)
      const find = (name: string, attributes: Record<string, unknown>) =>
        points.filter((point) =>
          point.name === name && Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)
        )
      const tokens = (type: string) =>
        find("gen_ai.client.token.usage", { "gen_ai.token.type": type, "gen_ai.request.model": "test-model" })
      assert.isAbove(tokens("input").length, 0)
      for (const point of [...tokens("input"), ...tokens("output")]) {
        assert.strictEqual(point.kind, "histogram")
        assert.strictEqual(point.unit, "{token}")
        assert.strictEqual(point.attributes["gen_ai.operation.name"], "chat")
        assert.strictEqual(point.attributes["gen_ai.provider.name"], "test")
      }
      const sum = (list: ReadonlyArray<Receiver.MetricPoint>) => list.reduce((n, point) => n + (point.sum ?? 0), 0)
      // Other tests in this file used the same model name: this run's tokens are part of the sums.
      assert.isAtLeast(sum(tokens("input")), 220)
      assert.isAtLeast(sum(tokens("output")), 7)

      const durations = find("gen_ai.client.operation.duration", { "gen_ai.operation.name": "chat" })
      assert.isAbove(durations.length, 0)
      assert.strictEqual(durations[0]!.unit, "s")
      const agentDuration = find("gen_ai.client.operation.duration", {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "Metered"
      })
      assert.strictEqual(agentDuration[0]!.value, 1)
      const firstChunk = find("gen_ai.client.operation.time_to_first_chunk", { "gen_ai.request.model": "test-model" })
      assert.isAbove(firstChunk.length, 0)
      assert.strictEqual(firstChunk[0]!.unit, "s")

      const runs = find("effect_agents.runs", { "gen_ai.agent.name": "Metered", "effect_agents.outcome": "success" })
      assert.deepStrictEqual(runs.map((point) => [point.kind, point.value, point.unit]), [["sum", 1, "{run}"]])
      const active = find("effect_agents.runs.active", { "gen_ai.agent.name": "Metered" })
      assert.deepStrictEqual(active.map((point) => point.value), [0])
      const tools = find("effect_agents.tool.calls", { "gen_ai.tool.name": "get_weather", "effect_agents.outcome": "success" })
      assert.isAtLeast(tools[0]!.value, 1)
    }))

  it.scopedLive("retries are counted by reason", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        name: "Counted",
        retry: Retry.exponential({ base: "1 millis", times: 3, jitter: false }),
        model: TestModel.layer([TestModel.httpError(429), TestModel.httpError(429), TestModel.text("ok")])
      })
      const before = yield* exported(Effect.void)
      const count = (receiver: Receiver.Receiver) =>
        Receiver.metrics(receiver).filter((point) =>
          point.name === "effect_agents.model.retries" && point.attributes["error.type"] === "RateLimited"
        ).reduce((n, point) => n + point.value, 0)
      const after = yield* exported(Agent.run(agent, "hi"))
      assert.strictEqual(count(after.receiver) - count(before.receiver), 2)
    }))
})

describe("Telemetry.layerConfig", () => {
  const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.scopedLive("exports to OTEL_EXPORTER_OTLP_ENDPOINT with the headers, service name and resource attributes of the environment", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start
      const layer = Telemetry.layerConfig({ serviceName: "fallback-name" })
      yield* Agent.run(Agent.make({ name: "Configured" }), "hi").pipe(
        Effect.provide(TestModel.layer([TestModel.text("hello")])),
        Effect.provide(layer),
        withEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${SECRET},x-team=ops`,
          OTEL_SERVICE_NAME: "configured-service",
          OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test,team=a%2Cb"
        })
      )
      const spans = Receiver.spans(receiver)
      const [run] = byName(spans, "invoke_agent Configured")
      assert.strictEqual(run!.resource["service.name"], "configured-service")
      assert.strictEqual(run!.resource["deployment.environment.name"], "test")
      assert.strictEqual(run!.resource["team"], "a,b")
      const traces = receiver.received.find((request) => request.path === "/v1/traces")!
      assert.strictEqual(traces.headers["authorization"], `Bearer ${SECRET}`)
      assert.strictEqual(traces.headers["x-team"], "ops")
      for (const request of receiver.received) assert.notInclude(request.raw, SECRET)
    }))

  it.scopedLive("OTEL_TRACES_EXPORTER=none and OTEL_METRICS_EXPORTER=none turn those signals off", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start
      yield* Agent.run(Agent.make({ name: "Quiet" }), "hi").pipe(
        Effect.provide(TestModel.layer([TestModel.text("hello")])),
        Effect.provide(Telemetry.layerConfig()),
        withEnv({
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_TRACES_EXPORTER: "none",
          OTEL_METRICS_EXPORTER: "none"
        })
      )
      assert.deepStrictEqual(receiver.received.filter((r) => r.path !== "/v1/logs"), [])
    }))

  it.effect("is empty when OTEL_EXPORTER_OTLP_ENDPOINT is unset or OTEL_SDK_DISABLED is true: no spans are made", () =>
    Effect.gen(function*() {
      const seen: Array<boolean> = []
      const Probe = Tool.make("probe", { success: Schema.String })
      const agent = Agent.make({
        name: "Untraced",
        toolkit: Toolkit.make(Probe),
        model: TestModel.layer((request) =>
          request.prompt.content.at(-1)!.role === "tool" ? TestModel.text("done") : TestModel.toolCall("probe", {}))
      })
      const ProbeLive = Toolkit.make(Probe).toLayer({
        probe: () =>
          Effect.map(Effect.option(Effect.currentSpan), (span) => {
            seen.push(span._tag === "Some" && span.value.name.startsWith("execute_tool"))
            return "ok"
          })
      })
      for (const env of [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_SDK_DISABLED: "true" }]) {
        yield* Agent.run(agent, "hi").pipe(
          Effect.provide(ProbeLive),
          Effect.provide(Telemetry.layerConfig()),
          withEnv(env)
        )
      }
      assert.deepStrictEqual(seen, [false, false])
    }))

  it.effect("a malformed setting is a ConfigError that names the variable and says what to set", () =>
    Effect.gen(function*() {
      const failure = (env: Record<string, string>) =>
        Effect.flip(Layer.build(Telemetry.layerConfig()).pipe(Effect.scoped, withEnv(env)))
      const endpoint = yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" })
      assert.include(String(endpoint), "OTEL_EXPORTER_OTLP_ENDPOINT is not an http:// or https:// URL")
      const protocol = yield* failure({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
      assert.include(String(protocol), "set it to http/protobuf or http/json")
      const headers = yield* failure({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
        OTEL_EXPORTER_OTLP_HEADERS: `x-api-key:${SECRET}`
      })
      assert.include(String(headers), "OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not name=value")
      assert.notInclude(String(headers), SECRET)
    }))
})

describe("the command line", () => {
  it.scopedLive("run exports its run's spans when OTEL_EXPORTER_OTLP_ENDPOINT is set", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start
      const stdio = Cli.Stdio.of({
        out: () => Effect.void,
        err: () => Effect.void,
        readLine: () => Effect.succeed(Option.none()),
        color: false,
        interrupted: Effect.never
      })
      const backend = Layer.effect(
        Cli.Backend,
        Effect.map(Cli.Backend, (live) =>
          Cli.Backend.of({
            ...live,
            model: Layer.merge(TestModel.layer([TestModel.text("Hello!")]), Layer.succeed(Cli.ModelInUse, { name: "test" })),
            store: () => SessionStoreMemory.layer
          }))
      ).pipe(Layer.provide(Cli.layerBackend))
      const exit = yield* Cli.run(["node", "effect-agents", "run", "assistant", "Hi"]).pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(Cli.Stdio, stdio), backend)),
        Effect.provide(NodeContext.layer),
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url], ["OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"]])
        )),
        Effect.exit
      )
      assert.isTrue(Exit.isSuccess(exit))
      const spans = Receiver.spans(receiver)
      const [run] = byName(spans, "invoke_agent assistant")
      assert.strictEqual(run!.resource["service.name"], "effect-agents")
      byName(spans, "chat test-model")
    }))
})

describe("trace context over HTTP", () => {
  it.scopedLive("a request's traceparent parents the run it starts", () =>
    Effect.gen(function*() {
      const receiver = yield* Receiver.start
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
      const parentId = "00f067aa0ba902b7"
      yield* Effect.gen(function*() {
        const { url } = yield* HttpApp.HttpApp
        const response = yield* Effect.promise(() =>
          fetch(`${url}/agents/Echo/runs`, {
            method: "POST",
            headers: { "content-type": "application/json", traceparent: `00-${traceId}-${parentId}-01` },
            body: JSON.stringify({ input: "Hello" })
          })
        )
        assert.strictEqual(response.status, 200)
        yield* Effect.promise(() => response.text())
      }).pipe(
        Effect.provide(HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([Agent.make({ name: "Echo", model: TestModel.layer([TestModel.text("Hi")]) })])),
          Layer.provide(SessionStoreMemory.layer)
        )),
        Effect.provide(Telemetry.layer({ endpoint: receiver.url, protocol: "http/json" }))
      )
      const spans = Receiver.spans(receiver)
      const [run] = byName(spans, "invoke_agent Echo")
      assert.strictEqual(run!.traceId, traceId)
      const ids = new Map(spans.map((span) => [span.spanId, span]))
      let top = run!
      while (top.parentSpanId !== undefined && ids.has(top.parentSpanId)) top = ids.get(top.parentSpanId)!
      // The topmost span of this process is the request's, whose parent is the caller's span.
      assert.strictEqual(top.kind, 2) // server
      assert.strictEqual(top.parentSpanId, parentId)
    }))
})

describe("interruption", () => {
  it.scopedLive("an interrupted run ends its spans as cancelled and leaves no run in flight", () =>
    Effect.gen(function*() {
      const waiting = yield* Deferred.make<void>()
      const agent = Agent.make({
        name: "Interrupted",
        toolkit: Tools,
        model: TestModel.layer((request) =>
          request.prompt.content.at(-1)!.role === "tool"
            // The second model call never answers: the run is interrupted while waiting for it.
            ? Effect.zipRight(Deferred.succeed(waiting, undefined), Effect.never)
            : TestModel.toolCall("get_weather", { city: "Rome" }))
      })
      const { exit, receiver, spans } = yield* exported(
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Agent.run(agent, "Weather in Rome?").pipe(Effect.provide(ToolsLive)))
          yield* Deferred.await(waiting)
          return yield* Fiber.interrupt(fiber)
        })
      )
      assert.isTrue(Exit.isSuccess(exit) && Exit.isInterrupted(exit.value))
      const [run] = byName(spans, "invoke_agent Interrupted")
      const chats = byName(spans, "chat test-model")
      assert.strictEqual(chats.length, 2)
      assert.isUndefined(run!.attributes["error.type"])
      assert.strictEqual(byName(spans, "execute_tool get_weather").length, 1)
      const points = Receiver.metrics(receiver)
      const active = points.filter((point) =>
        point.name === "effect_agents.runs.active" && point.attributes["gen_ai.agent.name"] === "Interrupted"
      )
      assert.deepStrictEqual(active.map((point) => point.value), [0])
      const cancelled = points.filter((point) =>
        point.name === "effect_agents.runs" && point.attributes["gen_ai.agent.name"] === "Interrupted"
      )
      assert.deepStrictEqual(cancelled.map((point) => [point.attributes["effect_agents.outcome"], point.value]), [["cancelled", 1]])
    }))

  it.scopedLive("a collector that cannot be reached neither fails the run nor holds up the end of the layer", () =>
    Effect.gen(function*() {
      // A port that was just free: nothing listens there.
      const closed = yield* Effect.scoped(Effect.map(Receiver.start, (receiver) => receiver.url))
      const output = yield* Agent.run(Agent.make({ name: "Alone" }), "hi").pipe(
        Effect.provide(TestModel.layer([TestModel.text("fine")])),
        Effect.provide(Telemetry.layer({ endpoint: closed, protocol: "http/json", shutdownTimeout: "100 millis" }))
      )
      assert.strictEqual(output.content, "fine")
    }))
})

describe("the shipped providers", () => {
  it.scopedLive("say who they are: provider, requested model and server, over HTTP against the simulator", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: () => Simulator.text("Hello.", { usage: { inputTokens: 9, outputTokens: 2 } }) })
      const port = Number(new URL(simulator.url).port)
      const key = Redacted.make(SECRET)
      const cases = [
        { layer: OpenAi.layer({ model: "gpt-4o-mini", apiKey: key, baseUrl: simulator.openAiUrl }), provider: "openai", model: "gpt-4o-mini" },
        { layer: Anthropic.layer({ model: "claude-sonnet-4-5", apiKey: key, baseUrl: simulator.anthropicUrl }), provider: "anthropic", model: "claude-sonnet-4-5" },
        {
          layer: OpenAiCompatible.layer({ baseUrl: simulator.openAiUrl, model: "llama3.2", apiKey: key, provider: "ollama" }),
          provider: "ollama",
          model: "llama3.2"
        }
      ]
      for (const { layer, model, provider } of cases) {
        const { receiver, spans } = yield* exported(Agent.run(Agent.make({ name: "Caller" }), "hi").pipe(Effect.provide(layer)))
        const [chat] = byName(spans, `chat ${model}`)
        assert.deepInclude(chat!.attributes, {
          "gen_ai.provider.name": provider,
          "gen_ai.request.model": model,
          "server.address": "127.0.0.1",
          "server.port": port,
          "gen_ai.usage.input_tokens": 9,
          "gen_ai.usage.output_tokens": 2
        })
        for (const request of receiver.received) assert.notInclude(request.raw, SECRET)
      }
    }))
})

describe("closing the exporter", () => {
  it.scopedLive("sends every span, those of a batch request still in flight included", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Busy", model: TestModel.layer(() => TestModel.text("ok"), { record: false }) })
      // 600 runs of two spans: the exporter sends a batch of 1000 while runs go on, and the rest when it closes.
      const { spans } = yield* exported(Effect.repeatN(Agent.run(agent, "hi"), 599))
      assert.strictEqual(spans.filter((span) => span.name === "invoke_agent Busy").length, 600)
      assert.strictEqual(spans.length, 1200)
    }))
})
