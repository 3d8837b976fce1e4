import * as AiError from "@effect/ai/AiError"
import * as IdGenerator from "@effect/ai/IdGenerator"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Span } from "effect/Tracer"
import { ModelError } from "../AgentError.js"
import * as RunEvent from "../RunEvent.js"
import type { Definition, ModelLayer } from "./definition.js"
import * as InternalLanguageModel from "./languageModel.js"

/** What one model call produced, whichever path and mode it took. */
export interface Turn {
  text: string
  reasoning: string
  readonly toolCalls: Array<ToolCallRequest>
  readonly providerResults: Array<Response.ToolResultPartEncoded>
  finishReason: Response.FinishReason
  /** Whether the answer ended with a finish part: one that did not was cut off. */
  finished: boolean
  usage: Usage
  model: string | undefined
}

export interface ToolCallRequest {
  readonly id: string
  readonly name: string
  readonly params: unknown
  readonly providerExecuted: boolean
}

interface Usage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
  reasoningTokens: number | undefined
  cachedInputTokens: number | undefined
}

/** The per-run state a model call reports into. */
export interface RunState {
  readonly runId: string
  readonly startedAt: number
  readonly emit: ((event: RunEvent.RunEvent) => Effect.Effect<void>) | undefined
  readonly clock: Clock.Clock
  retries: number
  firstTokenAt: number | undefined
}

export interface Request {
  readonly prompt: Prompt.Prompt
  readonly turn: number
  readonly stream: boolean
}

/** Tools as the model is told about them, worked out once per agent. */
export interface ToolSet {
  readonly tools: ReadonlyArray<Tool.Any>
  /** For the public `LanguageModel` path: the same tools, whose parameters decode as anything. */
  readonly lenient: Toolkit.WithHandler<Record<string, Tool.Any>> | undefined
}

const toolSets = new WeakMap<Toolkit.Any, ToolSet>()
const noTools: ToolSet = { tools: [], lenient: undefined }

export const toolSet = (toolkit: Toolkit.Any | undefined): ToolSet => {
  if (toolkit === undefined) return noTools
  let set = toolSets.get(toolkit)
  if (set === undefined) {
    const tools = Object.values(toolkit.tools)
    set = tools.length === 0 ? noTools : {
      tools,
      lenient: {
        tools: Object.fromEntries(tools.map((tool) => [tool.name, lenientTool(tool)])),
        // Tool call resolution is disabled on this path: the run loop runs the tools.
        handle: () => Effect.dieMessage("effect-agents: tool calls are resolved by the run loop")
      } as Toolkit.WithHandler<Record<string, Tool.Any>>
    }
    toolSets.set(toolkit, set)
  }
  return set
}

// The wire schema stays the tool's own; only the decoding of the model's arguments is deferred.
const lenientTool = (tool: Tool.Any): Tool.Any => {
  if (Tool.isProviderDefined(tool)) return tool
  const lenient = Object.create(Object.getPrototypeOf(tool))
  return Object.assign(lenient, tool, {
    description: Tool.getDescription(tool as any),
    parametersSchema: Schema.Unknown.annotations({ jsonSchema: Tool.getJsonSchema(tool as any) })
  })
}

const emptyTurn = (): Turn => ({
  text: "",
  reasoning: "",
  toolCalls: [],
  providerResults: [],
  finishReason: "unknown",
  finished: false,
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, reasoningTokens: undefined, cachedInputTokens: undefined },
  model: undefined
})

/**
 * Folds one response part into the turn. Encoded parts (lean path) and decoded parts (public path)
 * have the same fields for everything read here.
 */
const applyPart = (turn: Turn, part: Response.StreamPartEncoded | Response.PartEncoded): ModelError | undefined => {
  switch (part.type) {
    case "text":
      turn.text += part.text
      return
    case "text-delta":
      turn.text += part.delta
      return
    case "reasoning":
      turn.reasoning += part.text
      return
    case "reasoning-delta":
      turn.reasoning += part.delta
      return
    case "tool-call":
      turn.toolCalls.push({
        id: part.id,
        name: part.name,
        params: part.params,
        providerExecuted: part.providerExecuted === true
      })
      return
    case "tool-result":
      turn.providerResults.push(part)
      return
    case "response-metadata":
      if (part.modelId !== undefined) turn.model = part.modelId
      return
    case "finish": {
      turn.finished = true
      turn.finishReason = part.reason
      const usage = part.usage
      const input = usage.inputTokens ?? 0
      const output = usage.outputTokens ?? 0
      turn.usage = {
        inputTokens: input,
        outputTokens: output,
        totalTokens: usage.totalTokens ?? input + output,
        reasoningTokens: usage.reasoningTokens,
        cachedInputTokens: usage.cachedInputTokens
      }
      return
    }
    case "error":
      return ModelError.fromStreamError(part.error)
    default:
      return
  }
}

/**
 * One model call with the agent's resilience: a per-call timeout, retries on retryable errors (each
 * one a `Retrying` event), then the fallback models in order. A streamed call that has already
 * emitted text is neither retried nor handed to a fallback, which would repeat what the user saw.
 */
export const call = (
  agent: Definition,
  tools: ToolSet,
  request: Request,
  state: RunState,
  models: Models
): Effect.Effect<Turn, ModelError, never> => {
  let emitted = false
  const attempt = (index: number) => {
    const once_ = Effect.suspend(() => once(agent, tools, request, state, models, index, () => (emitted = true))).pipe(
      agent.modelTimeout === undefined ? (self) => self : Effect.timeoutFail({
        duration: agent.modelTimeout,
        onTimeout: () =>
          new ModelError({
            reason: "Timeout",
            retryable: true,
            message: `The model call did not finish within ${Duration.format(agent.modelTimeout!)}`
          })
      })
    )
    // The retry schedule and its driver are built only after a first failure: most calls succeed.
    return Effect.catchAll(once_, (first) =>
      Effect.flatMap(Schedule.driver(retrySchedule(agent, state, () => emitted)), (driver) => {
        const retry = (error: ModelError): Effect.Effect<Turn, ModelError> =>
          Effect.matchEffect(driver.next(error), {
            onFailure: () => Effect.fail(error),
            onSuccess: () => Effect.catchAll(once_, retry)
          })
        return retry(first)
      }))
  }
  let effect = attempt(0)
  for (let index = 1; index < models.count; index++) {
    effect = Effect.catchAll(effect, (error) => {
      if (emitted) return Effect.fail(error)
      const next = attempt(index)
      return state.emit === undefined
        ? next
        : Effect.zipRight(state.emit(new RunEvent.FallbackStarted({ runId: state.runId, fallback: index, error }, true)), next)
    })
  }
  return effect
}

const retrySchedule = (agent: Definition, state: RunState, emitted: () => boolean) => {
  let lastError: ModelError | undefined
  let attempt = 0
  // Only retryable errors of a call that has shown nothing yet are retried, and a provider's
  // Retry-After lengthens the policy's delay, never shortens it. Both are part of the schedule, so
  // its decision (and the Retrying event) is the one that is carried out.
  const retryable = Schedule.identity<ModelError>().pipe(
    Schedule.whileInput((error: ModelError) => error.retryable && !emitted()),
    Schedule.addDelay((error) => error.retryAfter ?? Duration.zero)
  )
  return Schedule.delays(Schedule.intersect(agent.retry, retryable)).pipe(
    Schedule.tapInput((error: ModelError) => Effect.sync(() => (lastError = error))),
    Schedule.onDecision((delay, decision) => {
      if (ScheduleDecision.isDone(decision)) return Effect.void
      attempt++
      state.retries++
      return state.emit === undefined ? Effect.void : state.emit(
        new RunEvent.Retrying({ runId: state.runId, attempt, delay, error: lastError! }, true)
      )
    })
  )
}

const once = (
  agent: Definition,
  tools: ToolSet,
  request: Request,
  state: RunState,
  models: Models,
  index: number,
  onEmit: () => void
): Effect.Effect<Turn, ModelError> =>
  Effect.flatMap(models.get(index), (service) =>
    Effect.useSpan("Agent.modelCall", {
      captureStackTrace: false,
      attributes: { "agent.name": agent.name, "model.turn": request.turn, "model.fallback_index": index }
    }, (span) => {
      const turn = emptyTurn()
      const raw = InternalLanguageModel.raw(service)
      const onParts = (parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>) =>
        handleParts(turn, parts, state, onEmit)
      let response: Effect.Effect<void, unknown> = raw !== undefined
        ? leanCall(raw, agent, tools, request, span, onParts)
        : publicCall(service, tools, request, onParts)
      const emit = state.emit
      if (emit !== undefined) {
        // A rate-limited model reports its waits here, as events of this run.
        response = Effect.locally(
          response,
          InternalLanguageModel.currentWaitReporter,
          (waited) => emit(new RunEvent.RateLimitWaited({ runId: state.runId, waited }, true))
        )
      }
      return response.pipe(
        Effect.mapError((error) => toModelError(error)),
        // Some clients end a stream that was cut off as if it were complete: here that is a failure.
        Effect.filterOrFail(() => turn.finished, () =>
          new ModelError({
            reason: "MalformedResponse",
            retryable: true,
            message: "The model's answer ended before it was finished (no finish event)"
          })),
        Effect.tap(() => {
          span.attribute("gen_ai.usage.input_tokens", turn.usage.inputTokens)
          span.attribute("gen_ai.usage.output_tokens", turn.usage.outputTokens)
          span.attribute("gen_ai.response.finish_reason", turn.finishReason)
          if (turn.model !== undefined) span.attribute("gen_ai.response.model", turn.model)
        }),
        Effect.as(turn)
      )
    }))

const toModelError = (error: unknown): ModelError =>
  error instanceof ModelError
    ? error
    : AiError.isAiError(error)
    ? ModelError.fromAiError(error)
    : new ModelError({ reason: "Unknown", retryable: false, message: String(error), cause: error })

const handleParts = (
  turn: Turn,
  parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>,
  state: RunState,
  onEmit: () => void
): Effect.Effect<void, ModelError> => {
  const events: Array<RunEvent.RunEvent> = []
  for (const part of parts) {
    const failure = applyPart(turn, part)
    if (failure !== undefined) return Effect.fail(failure)
    if (part.type === "text-delta" || part.type === "text") {
      if (state.firstTokenAt === undefined) state.firstTokenAt = state.clock.unsafeCurrentTimeMillis()
      if (state.emit !== undefined && part.type === "text-delta" && part.delta.length > 0) {
        events.push(new RunEvent.TextDelta({ runId: state.runId, delta: part.delta }, true))
      }
    } else if (part.type === "reasoning-delta" && state.emit !== undefined && part.delta.length > 0) {
      events.push(new RunEvent.ReasoningDelta({ runId: state.runId, delta: part.delta }, true))
    }
  }
  if (events.length === 0 || state.emit === undefined) return Effect.void
  onEmit()
  return Effect.forEach(events, state.emit, { discard: true })
}

const leanCall = (
  raw: LanguageModel.ConstructorParams,
  agent: Definition,
  tools: ToolSet,
  request: Request,
  span: Span,
  onParts: (parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>) => Effect.Effect<void, ModelError>
): Effect.Effect<void, unknown> => {
  const options: LanguageModel.ProviderOptions = {
    prompt: request.prompt,
    tools: tools.tools,
    toolChoice: tools.tools.length > 0 ? "auto" : "none",
    responseFormat: agent.output === undefined
      ? { type: "text" }
      : { type: "json", objectName: "output", schema: agent.output as Schema.Schema.Any },
    span
  }
  const effect: Effect.Effect<void, unknown, IdGenerator.IdGenerator> = request.stream
    ? Stream.runForEachChunk(raw.streamText(options), (chunk) => onParts(Chunk.toReadonlyArray(chunk)))
    : Effect.flatMap(raw.generateText(options), onParts)
  // The IdGenerator is provided once per run, by the loop.
  return effect as Effect.Effect<void, unknown>
}

const publicCall = (
  service: LanguageModel.Service,
  tools: ToolSet,
  request: Request,
  onParts: (parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>) => Effect.Effect<void, ModelError>
): Effect.Effect<void, unknown> => {
  const options = tools.lenient === undefined
    ? { prompt: request.prompt }
    : { prompt: request.prompt, toolkit: tools.lenient, disableToolCallResolution: true as const }
  // Decoded parts carry the same fields the turn reads from encoded ones.
  return request.stream
    ? Stream.runForEachChunk(
      service.streamText(options) as Stream.Stream<Response.AllParts<any>, unknown>,
      (chunk) => onParts(Chunk.toReadonlyArray(chunk) as any)
    )
    : Effect.flatMap(
      service.generateText(options) as Effect.Effect<LanguageModel.GenerateTextResponse<any>, unknown>,
      (response) => onParts(response.content as any)
    )
}

/** The models of a run: the primary and the fallbacks, each built at most once, when first needed. */
export interface Models {
  readonly count: number
  readonly get: (index: number) => Effect.Effect<LanguageModel.Service>
}

export const models = (agent: Definition): Models => {
  const layers: ReadonlyArray<ModelLayer<unknown> | undefined> = [agent.model, ...agent.fallback]
  const built: Array<LanguageModel.Service | undefined> = []
  // Called in the run's own fiber: its context holds the LanguageModel (when the agent has no model
  // layer of its own) and the Scope that the agent's model layers are built in.
  return {
    count: layers.length,
    get: (index) => {
      const layer = layers[index]
      if (layer === undefined) return LanguageModel.LanguageModel as unknown as Effect.Effect<LanguageModel.Service>
      const service = built[index]
      if (service !== undefined) return Effect.succeed(service)
      return Effect.map(Layer.build(layer) as unknown as Effect.Effect<Context.Context<never>>, (context) => {
        const service = context.unsafeMap.get(LanguageModel.LanguageModel.key) as LanguageModel.Service
        built[index] = service
        return service
      })
    }
  }
}
