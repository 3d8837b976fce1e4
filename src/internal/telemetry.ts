/**
 * The run's spans and metrics, named and attributed by the OpenTelemetry GenAI semantic conventions
 * (open-telemetry/semantic-conventions-genai): `invoke_agent {name}` for an agent's or a team's run,
 * `chat {model}` for a model call, `execute_tool {tool}` for a tool call. Every call site reaches
 * them through this module, and only when the run is traced (see {@link isTraced}): with no tracer
 * installed, nothing here runs, not even a metric update.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as ModelParts from "../../services/ModelParts.js"
import { CaptureContent } from "../../services/Telemetry.js"

// The tracer every fiber has unless another is installed: it keeps spans in memory and exports
// nothing.
const nativeTracer = Effect.runSync(Effect.tracer)

/**
 * Whether a run records its spans and metrics: only when a tracer other than Effect's default one
 * is installed (an exporter, a test's recording tracer) and tracing is enabled. The default tracer
 * sends spans nowhere, and a span costs more than the rest of a model call's own handling.
 */
export const isTraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer !== nativeTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

// ---------------------------------------------------------------------------------------------
// Metrics (effect's Metric module; exported by whatever metrics exporter is installed). The
// boundaries are the ones the conventions advise.

const tokenBoundaries = MetricBoundaries.fromIterable([
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864
])
const secondsBoundaries = MetricBoundaries.fromIterable([
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92
])

/**
 * The metrics a run records (typed here, since declarations cannot name the metric key types that
 * their inferred type carries).
 */
export interface Metrics {
  readonly tokenUsage: Metric.Metric.Histogram<number>
  readonly operationDuration: Metric.Metric.Histogram<number>
  readonly timeToFirstChunk: Metric.Metric.Histogram<number>
  readonly runs: Metric.Metric.Counter<number>
  readonly runsActive: Metric.Metric.Counter<number>
  readonly retries: Metric.Metric.Counter<number>
  readonly fallbacks: Metric.Metric.Counter<number>
  readonly rateLimitWaits: Metric.Metric.Counter<number>
  readonly toolCalls: Metric.Metric.Counter<number>
}

/** The metrics a run records, by their convention names. */
export const metrics: Metrics = {
  tokenUsage: Metric.histogram(
    "gen_ai.client.token.usage",
    tokenBoundaries,
    "Number of input and output tokens used"
  ),
  operationDuration: Metric.histogram(
    "gen_ai.client.operation.duration",
    secondsBoundaries,
    "GenAI operation duration"
  ),
  timeToFirstChunk: Metric.histogram(
    "gen_ai.client.operation.time_to_first_chunk",
    secondsBoundaries,
    "Time to receive the first chunk of a streamed answer"
  ),
  runs: Metric.counter("effect_agents.runs", { description: "Runs, by outcome", incremental: true }),
  runsActive: Metric.counter("effect_agents.runs.active", { description: "Runs in flight" }),
  retries: Metric.counter("effect_agents.model.retries", {
    description: "Model calls retried, by reason",
    incremental: true
  }),
  fallbacks: Metric.counter("effect_agents.model.fallbacks", {
    description: "Model calls handed to a fallback model, by reason",
    incremental: true
  }),
  rateLimitWaits: Metric.counter("effect_agents.rate_limit.waits", {
    description: "Model calls that waited for a rate limit",
    incremental: true
  }),
  toolCalls: Metric.counter("effect_agents.tool.calls", {
    description: "Tool calls, by outcome",
    incremental: true
  })
}

// Each metric's unit, exported as the `unit` tag (the way @effect/opentelemetry reads a unit).
const units = new Map<Metric.Metric<any, any, any>, string>([
  [metrics.tokenUsage, "{token}"],
  [metrics.operationDuration, "s"],
  [metrics.timeToFirstChunk, "s"],
  [metrics.runs, "{run}"],
  [metrics.runsActive, "{run}"],
  [metrics.retries, "{retry}"],
  [metrics.fallbacks, "{fallback}"],
  [metrics.rateLimitWaits, "{wait}"],
  [metrics.toolCalls, "{call}"]
])

// A metric caches its entry in the registry by the identity of the array of tags it is given; a
// new array (or `Metric.tagged`, which makes one per update) builds and hashes a new metric key on
// every update, which cost more than the spans themselves (measured in bench/telemetry.ts). So
// each combination of tags is one array, interned here; the combinations are few (agents, tools,
// models, outcomes), and the table is cleared should they ever not be.
const interned = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()

/** Adds `value` to `metric` under the tags given as name, value, name, value, ... */
const record = (metric: Metric.Metric<any, number, any>, value: number, ...tags: Array<string>): void => {
  const unit = units.get(metric)!
  const key = `${unit}\u0000${tags.join("\u0000")}`
  let labels = interned.get(key)
  if (labels === undefined) {
    if (interned.size >= 10_000) interned.clear()
    const list = [MetricLabel.make("unit", unit)]
    for (let i = 0; i < tags.length; i += 2) list.push(MetricLabel.make(tags[i]!, tags[i + 1]!))
    labels = list
    interned.set(key, labels)
  }
  metric.unsafeUpdate(value, labels)
}

// Span event times and durations are read from the fiber's clock, as Effect's own spans are (so a
// test's TestClock drives them too).
const withSpanAndClock = (f: (span: Option.Option<Tracer.Span>, clock: Clock.Clock) => void): Effect.Effect<void> =>
  Effect.clockWith((clock) => Effect.map(Effect.option(Effect.currentSpan), (span) => f(span, clock)))

// ---------------------------------------------------------------------------------------------
// Errors

/** `error.type`: a low-cardinality name of what failed (a model error's reason, else its tag). */
export const errorType = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const e = error as { readonly _tag?: unknown; readonly reason?: unknown }
    if (e._tag === "ModelError" && typeof e.reason === "string") return e.reason
    if (typeof e._tag === "string") return e._tag
  }
  return "_OTHER"
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): { readonly outcome: string; readonly errorType?: string } => {
  if (Exit.isSuccess(exit)) return { outcome: "success" }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const type = errorType(failure.value)
    // A run paused for an approval has not failed.
    return type === "RunPaused" ? { outcome: "paused" } : { outcome: "failure", errorType: type }
  }
  return Cause.isInterruptedOnly(exit.cause) ? { outcome: "cancelled" } : { outcome: "failure", errorType: "defect" }
}

// ---------------------------------------------------------------------------------------------
// invoke_agent

export interface AgentSpanOptions {
  readonly name: string
  readonly runId: string
  /** The session the run belongs to (`gen_ai.conversation.id`). */
  readonly conversationId?: string | undefined
  /** A team's mode, for a team's run. */
  readonly teamMode?: string | undefined
  /** `invoke_workflow` for a workflow's run; `invoke_agent` (the default) for an agent's or a team's. */
  readonly operation?: "invoke_agent" | "invoke_workflow" | undefined
}

// A run's whole usage, from its output's metrics: a team's are its leader's and its members' (the
// leader's run, which shares the team's span, annotated it with its own).
const usageOf = (span: Tracer.Span, output: unknown): void => {
  const metrics = (output as { readonly metrics?: { readonly inputTokens?: unknown; readonly outputTokens?: unknown } })
    ?.metrics
  if (typeof metrics?.inputTokens === "number") span.attribute("gen_ai.usage.input_tokens", metrics.inputTokens)
  if (typeof metrics?.outputTokens === "number") span.attribute("gen_ai.usage.output_tokens", metrics.outputTokens)
}

/**
 * An agent's or a team's run as an `invoke_agent {name}` span, with the runs-by-outcome and
 * runs-in-flight counters and the run's duration. Applied only to a traced run.
 */
export const invokeAgent = <A, E, R>(effect: Effect.Effect<A, E, R>, options: AgentSpanOptions): Effect.Effect<A, E, R> => {
  const operation = options.operation ?? "invoke_agent"
  const attributes: Record<string, unknown> = {
    "gen_ai.operation.name": operation,
    "gen_ai.agent.name": options.name,
    "effect_agents.run.id": options.runId
  }
  if (options.conversationId !== undefined) attributes["gen_ai.conversation.id"] = options.conversationId
  if (options.teamMode !== undefined) attributes["effect_agents.team.mode"] = options.teamMode
  const name = `${operation} ${options.name}`
  const spanOptions = { captureStackTrace: false, kind: "internal" as const, attributes }
  // The fiber's clock and current span are read directly: a run pays for the span and little else.
  return Effect.withFiberRuntime((fiber) => {
    const current = fiber.currentSpan
    // A team's leader runs under the team's run id, inside the team's span: that span is its run's.
    if (current?._tag === "Span" && current.attributes.get("effect_agents.run.id") === options.runId) return effect
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    return Effect.useSpan(name, spanOptions, (span) => {
      const startedAt = clock.unsafeCurrentTimeMillis()
      record(metrics.runsActive, 1, "gen_ai.agent.name", options.name)
      return Effect.onExit(Effect.withParentSpan(effect, span), (exit) => {
        record(metrics.runsActive, -1, "gen_ai.agent.name", options.name)
        if (Exit.isSuccess(exit)) usageOf(span, exit.value)
        const { errorType, outcome } = outcomeOf(exit)
        const duration = (clock.unsafeCurrentTimeMillis() - startedAt) / 1000
        if (errorType === undefined) {
          record(metrics.runs, 1, "gen_ai.agent.name", options.name, "effect_agents.outcome", outcome)
          record(metrics.operationDuration, duration, "gen_ai.operation.name", operation, "gen_ai.agent.name", options.name)
        } else {
          span.attribute("error.type", errorType)
          record(metrics.runs, 1, "gen_ai.agent.name", options.name, "effect_agents.outcome", outcome, "error.type", errorType)
          record(
            metrics.operationDuration,
            duration,
            "gen_ai.operation.name",
            operation,
            "gen_ai.agent.name",
            options.name,
            "error.type",
            errorType
          )
        }
        return Effect.void
      })
    })
  })
}

/**
 * An agent's or a team's run as an `invoke_agent` span when a tracer is installed, and as it is
 * otherwise (for call sites that have not checked already).
 */
export const invokeAgentIfTraced = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: AgentSpanOptions
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => isTraced(fiber) ? invokeAgent(effect, options) : effect)

// ---------------------------------------------------------------------------------------------
// chat

/** What a finished model call reports on its span. */
export interface ChatResult {
  readonly finishReason: string
  readonly model: string | undefined
  readonly responseId?: string | undefined
  readonly text: string
  readonly reasoning: string
  readonly toolCalls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly params: unknown }>
  readonly usage: {
    readonly inputTokens: number
    readonly outputTokens: number
    readonly cachedInputTokens: number | undefined
  }
}

/** A model call in flight, as its span sees it. */
export interface ChatCall {
  readonly span: Tracer.Span
  /** When the first streamed chunk came (the run's clock, in ms), set by the caller. */
  firstChunkAt: number | undefined
}

/**
 * One model call as a `chat {model}` span: who is called (from the model's `ModelParts.Info`, when
 * it declares one) is set when the span starts; the answer's model, id, finish reason and usage
 * when it ends, with the token, duration and time-to-first-chunk metrics.
 */
export const chat = <A extends ChatResult, E, R>(
  service: LanguageModel.Service,
  prompt: Prompt.Prompt,
  options: {
    readonly agentName: string
    readonly fallbackIndex: number
    readonly json: boolean
    readonly clock: Clock.Clock
  },
  body: (call: ChatCall) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => {
  const info = ModelParts.get(service)?.info
  const attributes: Record<string, unknown> = {
    "gen_ai.operation.name": "chat",
    "gen_ai.agent.name": options.agentName,
    "gen_ai.output.type": options.json ? "json" : "text"
  }
  if (options.fallbackIndex > 0) attributes["effect_agents.fallback.index"] = options.fallbackIndex
  if (info !== undefined) {
    attributes["gen_ai.provider.name"] = info.provider
    attributes["gen_ai.request.model"] = info.model
    if (info.serverAddress !== undefined) attributes["server.address"] = info.serverAddress
    if (info.serverPort !== undefined) attributes["server.port"] = info.serverPort
  }
  const common = info === undefined
    ? ["gen_ai.operation.name", "chat"]
    : ["gen_ai.operation.name", "chat", "gen_ai.provider.name", info.provider, "gen_ai.request.model", info.model]
  const spanOptions = { captureStackTrace: false, kind: "client" as const, attributes }
  return Effect.withFiberRuntime((fiber) => {
    const capture = Context.get(fiber.currentContext, CaptureContent)
    return Effect.useSpan(info === undefined ? "chat" : `chat ${info.model}`, spanOptions, (span) => {
      if (capture) recordPrompt(span, prompt)
      const call: ChatCall = { span, firstChunkAt: undefined }
      const clock = options.clock
      const startedAt = clock.unsafeCurrentTimeMillis()
      return Effect.onExit(body(call), (exit) => {
        const tags = common.slice()
        if (Exit.isSuccess(exit)) {
          const result = exit.value
          endChat(span, result, capture)
          if (result.model !== undefined) tags.push("gen_ai.response.model", result.model)
          record(metrics.tokenUsage, result.usage.inputTokens, ...tags, "gen_ai.token.type", "input")
          record(metrics.tokenUsage, result.usage.outputTokens, ...tags, "gen_ai.token.type", "output")
        } else {
          const { errorType } = outcomeOf(exit)
          if (errorType !== undefined) {
            span.attribute("error.type", errorType)
            tags.push("error.type", errorType)
          }
        }
        record(metrics.operationDuration, (clock.unsafeCurrentTimeMillis() - startedAt) / 1000, ...tags)
        if (call.firstChunkAt !== undefined) {
          record(metrics.timeToFirstChunk, (call.firstChunkAt - startedAt) / 1000, ...tags)
        }
        return Effect.void
      })
    })
  })
}

const endChat = (span: Tracer.Span, result: ChatResult, capture: boolean): void => {
  if (result.model !== undefined) span.attribute("gen_ai.response.model", result.model)
  if (result.responseId !== undefined) span.attribute("gen_ai.response.id", result.responseId)
  span.attribute("gen_ai.response.finish_reasons", [result.finishReason])
  span.attribute("gen_ai.usage.input_tokens", result.usage.inputTokens)
  span.attribute("gen_ai.usage.output_tokens", result.usage.outputTokens)
  if (result.usage.cachedInputTokens !== undefined) {
    span.attribute("gen_ai.usage.cache_read.input_tokens", result.usage.cachedInputTokens)
  }
  if (capture) {
    const parts: Array<unknown> = []
    if (result.reasoning.length > 0) parts.push({ type: "reasoning", content: result.reasoning })
    if (result.text.length > 0) parts.push({ type: "text", content: result.text })
    for (const call of result.toolCalls) {
      parts.push({ type: "tool_call", id: call.id, name: call.name, arguments: call.params })
    }
    span.attribute(
      "gen_ai.output.messages",
      JSON.stringify([{ role: "assistant", parts, finish_reason: result.finishReason }])
    )
  }
}

// The prompt in the conventions' shape: system messages as the instructions, the rest as the
// input messages.
const recordPrompt = (span: Tracer.Span, prompt: Prompt.Prompt): void => {
  const instructions: Array<unknown> = []
  const messages: Array<unknown> = []
  for (const message of prompt.content) {
    if (message.role === "system") {
      instructions.push({ type: "text", content: message.content })
      continue
    }
    const parts: Array<unknown> = []
    for (const part of message.content) {
      switch (part.type) {
        case "text":
          parts.push({ type: "text", content: part.text })
          break
        case "reasoning":
          parts.push({ type: "reasoning", content: part.text })
          break
        case "tool-call":
          parts.push({ type: "tool_call", id: part.id, name: part.name, arguments: part.params })
          break
        case "tool-result":
          parts.push({ type: "tool_call_response", id: part.id, response: part.result })
          break
        default:
          parts.push({ type: part.type })
      }
    }
    messages.push({ role: message.role, parts })
  }
  if (instructions.length > 0) span.attribute("gen_ai.system_instructions", JSON.stringify(instructions))
  span.attribute("gen_ai.input.messages", JSON.stringify(messages))
}

// ---------------------------------------------------------------------------------------------
// Retries, fallbacks and rate limits: events on the run's span, and counters.

/** A retried model call: an event on the current span (the run's) and a count by reason. */
export const retried = (attempt: number, delay: Duration.Duration, error: unknown): Effect.Effect<void> =>
  withSpanAndClock((span, clock) => {
    const type = errorType(error)
    record(metrics.retries, 1, "error.type", type)
    if (Option.isSome(span)) {
      span.value.event("gen_ai.retry", clock.unsafeCurrentTimeNanos(), {
        "effect_agents.retry.attempt": attempt,
        "effect_agents.retry.delay_ms": Duration.toMillis(delay),
        "error.type": type
      })
    }
  })

/** A model call handed to a fallback model: an event on the run's span and a count by reason. */
export const fellBack = (index: number, error: unknown): Effect.Effect<void> =>
  withSpanAndClock((span, clock) => {
    const type = errorType(error)
    record(metrics.fallbacks, 1, "error.type", type)
    if (Option.isSome(span)) {
      span.value.event("gen_ai.fallback", clock.unsafeCurrentTimeNanos(), {
        "effect_agents.fallback.index": index,
        "error.type": type
      })
    }
  })

/** A model call that waited for its rate limit: counted, and an event on the call's span. */
export const rateLimitWaited = (waited: Duration.Duration): Effect.Effect<void> =>
  withSpanAndClock((span, clock) => {
    record(metrics.rateLimitWaits, 1)
    if (Option.isSome(span)) {
      span.value.event("effect_agents.rate_limit.wait", clock.unsafeCurrentTimeNanos(), {
        "effect_agents.rate_limit.waited_ms": Duration.toMillis(waited)
      })
    }
  })

// ---------------------------------------------------------------------------------------------
// execute_tool

/** What a finished tool call reports on its span. */
export interface ToolResult {
  readonly record: { readonly result: unknown; readonly failure?: string | undefined }
}

/**
 * One tool call as an `execute_tool {tool}` span, with the tool-calls-by-outcome counter. A failed
 * call that goes back to the model (bad arguments, a typed failure, a timeout) sets `error.type` to
 * its reason; arguments and results are recorded only when content capture is on.
 */
export const executeTool = <A extends ToolResult, E, R>(
  effect: Effect.Effect<A, E, R>,
  call: { readonly id: string; readonly name: string; readonly params: unknown },
  agentName: string
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const capture = Context.get(fiber.currentContext, CaptureContent)
    return Effect.useSpan(`execute_tool ${call.name}`, {
      captureStackTrace: false,
      kind: "internal",
      attributes: {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.agent.name": agentName,
        "gen_ai.tool.name": call.name,
        "gen_ai.tool.call.id": call.id,
        "gen_ai.tool.type": "function"
      }
    }, (span) => {
      if (capture) span.attribute("gen_ai.tool.call.arguments", safeJson(call.params))
      // The handler runs under the call's span, so its own spans and `Effect.currentSpan` see it.
      return Effect.onExit(Effect.withParentSpan(effect, span), (exit) => {
        let outcome: string
        let type: string | undefined
        if (Exit.isSuccess(exit)) {
          const failure = exit.value.record.failure
          outcome = failure === undefined ? "success" : "failure"
          type = failure
          if (capture) span.attribute("gen_ai.tool.call.result", safeJson(exit.value.record.result))
        } else {
          const o = outcomeOf(exit)
          outcome = o.outcome
          type = o.errorType
        }
        if (type !== undefined) span.attribute("error.type", type)
        if (type === undefined) record(metrics.toolCalls, 1, "gen_ai.tool.name", call.name, "effect_agents.outcome", outcome)
        else record(metrics.toolCalls, 1, "gen_ai.tool.name", call.name, "effect_agents.outcome", outcome, "error.type", type)
        return Effect.void
      })
    })
  })

const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? "null"
  } catch {
    return String(value)
  }
}
