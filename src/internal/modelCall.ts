import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Context from "effect/Context"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import * as ModelParts from "../../services/ModelParts.js"
import { ModelError } from "../AgentError.js"
import * as Retry from "../Retry.js"
import * as RunEvent from "../RunEvent.js"
import type { Definition, ModelLayer } from "./definition.js"
import type { Emit } from "./eventStream.js"
import * as Executor from "./executor.js"
import * as Fast from "./fast.js"
import * as Telemetry from "./telemetry.js"

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
  responseId: string | undefined
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

/** The per-run state that model and tool calls report into. */
export interface RunState {
  readonly runId: string
  readonly startedAt: number
  readonly emit: Emit | undefined
  readonly clock: Clock.Clock
  /** Whether the run records spans (see {@link isTraced}). */
  readonly traced: boolean
  retries: number
  firstTokenAt: number | undefined
}

/** Whether a run records its spans (see `Telemetry.isTraced`). */
export const isTraced: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => boolean = Telemetry.isTraced

/**
 * A run as its model calls see it: the run loop is one. Its model calls stream their answers when
 * its events are read (`emit` is set), and answer whole otherwise.
 */
export interface Run extends RunState {
  readonly agent: Definition
  readonly tools: ToolSet
  readonly models: Models
  /** The run's context: where its executor (a durable engine's) is found. */
  readonly context?: Context.Context<never> | undefined
}

/** Tools as the model is told about them, worked out once per agent. */
export interface ToolSet {
  readonly tools: ReadonlyArray<Tool.Any>
  /** For the public `LanguageModel` path: the same tools, whose parameters decode as anything. */
  readonly lenient: Toolkit.WithHandler<Record<string, Tool.Any>> | undefined
}

const noTools: ToolSet = { tools: [], lenient: undefined }

const toolSetOf = Fast.weak((toolkit: Toolkit.Any): ToolSet => {
  const tools = Object.values(toolkit.tools)
  return tools.length === 0 ? noTools : {
    tools,
    lenient: {
      tools: Object.fromEntries(tools.map((tool) => [tool.name, lenientTool(tool)])),
      // Tool call resolution is disabled on this path: the run loop runs the tools.
      handle: () => Effect.dieMessage("effect-agents: tool calls are resolved by the run loop")
    } as Toolkit.WithHandler<Record<string, Tool.Any>>
  }
})

export const toolSet = (toolkit: Toolkit.Any | undefined): ToolSet =>
  toolkit === undefined ? noTools : toolSetOf(toolkit)

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
  model: undefined,
  responseId: undefined
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
      if (part.id !== undefined) turn.responseId = part.id
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
export const call = (run: Run, prompt: Prompt.Prompt, turn: number): Effect.Effect<Turn, ModelError, never> => {
  const executor = run.context === undefined ? undefined : Executor.of(run.context)
  if (executor === undefined) return new Call(run, prompt, turn).start()
  // Under a durable engine the call is settled once: a replay gets its turn from storage, without
  // calling the model (nor streaming its text again: it was streamed live the first time).
  return executor.modelCall(Executor.modelCallKey(run.runId, turn), Effect.suspend(() => new Call(run, prompt, turn).start()))
}

// A call's state is one object whose methods are its steps: a run holds it for as long as it waits
// on the model, with thousands of runs waiting at once, and a closure per step (each with its own
// context) held several times as much.
class Call {
  /** Whether text of this call has been emitted (streamed to the user). */
  emitted = false
  /** The attempt's span when the run is traced. */
  chat: Telemetry.ChatCall | undefined = undefined

  constructor(readonly run: Run, readonly prompt: Prompt.Prompt, readonly turn: number) {}

  start(): Effect.Effect<Turn, ModelError> {
    let effect = this.attempt(0)
    for (let index = 1; index < this.run.models.count; index++) {
      effect = Effect.catchAll(effect, (error) => this.fallback(index, error))
    }
    return effect
  }

  fallback(index: number, error: ModelError): Effect.Effect<Turn, ModelError> {
    if (this.emitted) return Effect.fail(error)
    const run = this.run
    const next = run.traced
      ? Effect.zipRight(Telemetry.fellBack(index, error), Effect.suspend(() => this.attempt(index)))
      : Effect.suspend(() => this.attempt(index))
    return run.emit === undefined
      ? next
      : Effect.zipRight(run.emit(new RunEvent.FallbackStarted({ runId: run.runId, fallback: index, error }, true)), next)
  }

  // Each attempt folds into a turn of its own; the first one needs no suspension. (`catchAll` would
  // hold two closures and an object more while the call waits.)
  attempt(index: number): Effect.Effect<Turn, ModelError> {
    return Effect.matchCauseEffect(this.timed(this.once(index)), {
      onFailure: (cause) => {
        const error = typedFailure(cause)
        return error === undefined ? Effect.failCause(cause) : this.retry(index, error)
      },
      onSuccess: Effect.succeed
    })
  }

  // The retry schedule and its driver are built only after a first failure: most calls succeed.
  retry(index: number, error: ModelError): Effect.Effect<Turn, ModelError> {
    const again = this.timed(Effect.suspend(() => this.once(index)))
    return Effect.flatMap(Schedule.driver(retrySchedule(this.run, () => this.emitted)), (driver) => {
      const retry = (error: ModelError): Effect.Effect<Turn, ModelError> =>
        Effect.matchEffect(driver.next(error), {
          onFailure: () => Effect.fail(error),
          onSuccess: () => Effect.catchAll(again, retry)
        })
      return retry(error)
    })
  }

  timed(self: Effect.Effect<Turn, ModelError>): Effect.Effect<Turn, ModelError> {
    const timeout = this.run.agent.modelTimeout
    return timeout === undefined ? self : Effect.timeoutFail(self, {
      duration: timeout,
      onTimeout: () =>
        new ModelError({
          reason: "Timeout",
          retryable: true,
          message: `The model call did not finish within ${Duration.format(timeout)}`
        })
    })
  }

  once(index: number): Effect.Effect<Turn, ModelError> {
    const models = this.run.models
    const service = models.built(index)
    return service !== undefined
      ? this.traced(service, index)
      : Effect.flatMap(models.get(index), (service) => this.traced(service, index))
  }

  traced(service: LanguageModel.Service, index: number): Effect.Effect<Turn, ModelError> {
    const run = this.run
    return run.traced
      ? Telemetry.chat(service, this.prompt, {
        agentName: run.agent.name,
        fallbackIndex: index,
        json: run.agent.output !== undefined,
        clock: run.clock
      }, (chat) => {
        this.chat = chat
        return respond(this, service, chat.span)
      })
      : respond(this, service, Fast.untracedSpan)
  }
}

const retrySchedule = (state: Run, emitted: () => boolean) => {
  let lastError: ModelError | undefined
  let attempt = 0
  // Only retryable errors of a call that has shown nothing yet are retried, and a provider's
  // Retry-After lengthens the policy's delay, never shortens it. A Retry-After longer than the
  // default cap ends the retries, unless the policy waits that long itself (a policy with its own
  // cap, `Retry.maxRetryAfter`, waits as long as the provider asks up to that cap). All of it is
  // part of the schedule, so its decision (and the Retrying event) is the one that is carried out.
  const policy = Schedule.check(
    Schedule.delays(state.agent.retry),
    (error: ModelError, delay) =>
      error.retryAfter === undefined ||
      Duration.lessThanOrEqualTo(error.retryAfter, delay) ||
      Duration.lessThanOrEqualTo(error.retryAfter, Retry.defaultMaxRetryAfter)
  )
  const retryable = Schedule.identity<ModelError>().pipe(
    Schedule.whileInput((error: ModelError) => error.retryable && !emitted()),
    Schedule.addDelay((error) => error.retryAfter ?? Duration.zero)
  )
  return Schedule.delays(Schedule.intersect(policy, retryable)).pipe(
    Schedule.tapInput((error: ModelError) => Effect.sync(() => (lastError = error))),
    Schedule.onDecision((delay, decision) => {
      if (ScheduleDecision.isDone(decision)) return Effect.void
      attempt++
      state.retries++
      const event = state.emit === undefined ? Effect.void : state.emit(
        new RunEvent.Retrying({ runId: state.runId, attempt, delay, error: lastError! }, true)
      )
      return state.traced ? Effect.zipRight(Telemetry.retried(attempt, delay, lastError), event) : event
    })
  )
}

// A model that declares its own functions (`ModelParts`) is called through them: the agent decodes
// the tool arguments itself, so a bad one goes back to the model. Any other, through its public
// interface.
const respond = (call: Call, service: LanguageModel.Service, span: Tracer.Span): Effect.Effect<Turn, ModelError> => {
  const parts = ModelParts.get(service)
  return parts !== undefined && call.run.emit === undefined
    ? respondWhole(call, parts, span)
    : respondInParts(call, service, parts, span)
}

// A whole answer at once, and no events to emit: its parts are folded, into a turn made only then,
// in the one continuation that waits for it.
const respondWhole = (call: Call, parts: ModelParts.ModelParts, span: Tracer.Span): Effect.Effect<Turn, ModelError> =>
  Effect.matchCauseEffect(parts.generateText(providerOptions(call, span)), {
    onFailure: failWithModelError,
    onSuccess: (parts) => {
      const turn = emptyTurn()
      const failure = foldParts(turn, parts, call.run)
      return failure !== undefined ? Effect.fail(failure) : finished(turn)
    }
  })

const respondInParts = (
  call: Call,
  service: LanguageModel.Service,
  modelParts: ModelParts.ModelParts | undefined,
  span: Tracer.Span
): Effect.Effect<Turn, ModelError> => {
  const state = call.run
  const turn = emptyTurn()
  const onParts = (parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>) =>
    handleParts(turn, parts, state, call)
  // On the lean path, only a streamed call comes here.
  const response: Effect.Effect<void, unknown> = modelParts !== undefined
    ? leanStream(modelParts, call, span, onParts)
    : publicCall(service, call, onParts)
  return Effect.matchCauseEffect(response, {
    onFailure: failWithModelError,
    onSuccess: () => finished(turn)
  })
}

// The typed failure of a cause, which `catchAll` would recover from: none when it was interrupted
// or a defect is part of it.
const typedFailure = <E>(cause: Cause.Cause<E>): E | undefined => {
  const either = Cause.failureOrCause(cause)
  return either._tag === "Left" && !Cause.isDie(cause) ? either.left : undefined
}

// A failure as a `ModelError`; an interruption or a defect as it is.
const failWithModelError = (cause: Cause.Cause<unknown>): Effect.Effect<never, ModelError> => {
  const error = typedFailure(cause)
  return error === undefined ? Effect.failCause(cause as Cause.Cause<never>) : Effect.fail(toModelError(error))
}

const finished = (turn: Turn): Effect.Effect<Turn, ModelError> => {
  // Some clients end a stream that was cut off as if it were complete: here that is a failure.
  if (!turn.finished) {
    return Effect.fail(
      new ModelError({
        reason: "MalformedResponse",
        retryable: true,
        message: "The model's answer ended before it was finished (no finish event)"
      })
    )
  }
  return Effect.succeed(turn)
}

const toModelError = (error: unknown): ModelError =>
  error instanceof ModelError
    ? error
    : AiError.isAiError(error)
    ? ModelError.fromAiError(error)
    : new ModelError({ reason: "Unknown", retryable: false, message: String(error), cause: error })


/** Folds the parts of an answer whose events nobody reads; the failure of an error part. */
const foldParts = (
  turn: Turn,
  parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>,
  state: RunState
): ModelError | undefined => {
  for (const part of parts) {
    const failure = applyPart(turn, part)
    if (failure !== undefined) return failure
    if ((part.type === "text-delta" || part.type === "text") && state.firstTokenAt === undefined) {
      state.firstTokenAt = state.clock.unsafeCurrentTimeMillis()
    }
  }
  return undefined
}

const handleParts = (
  turn: Turn,
  parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>,
  state: RunState,
  call: Call
): Effect.Effect<void, ModelError> => {
  const emit = state.emit
  if (emit === undefined) {
    const failure = foldParts(turn, parts, state)
    return failure === undefined ? Effect.void : Effect.fail(failure)
  }
  const events: Array<RunEvent.RunEvent> = []
  for (const part of parts) {
    const failure = applyPart(turn, part)
    if (failure !== undefined) return Effect.fail(failure)
    if (call.chat !== undefined && call.chat.firstChunkAt === undefined) {
      call.chat.firstChunkAt = state.clock.unsafeCurrentTimeMillis()
    }
    if (part.type === "text-delta" || part.type === "text") {
      if (state.firstTokenAt === undefined) state.firstTokenAt = state.clock.unsafeCurrentTimeMillis()
      if (part.type === "text-delta" && part.delta.length > 0) events.push(Fast.textDelta(state.runId, part.delta))
    } else if (part.type === "reasoning-delta" && part.delta.length > 0) {
      events.push(Fast.reasoningDelta(state.runId, part.delta))
    }
  }
  if (events.length === 0) return Effect.void
  call.emitted = true
  return events.length === 1
    ? emit(events[0]!)
    : emit.all !== undefined
    ? emit.all(events)
    : Effect.forEach(events, emit, { discard: true })
}

const providerOptions = (call: Call, span: Tracer.Span): LanguageModel.ProviderOptions => {
  const tools = call.run.tools.tools
  const output = call.run.agent.output
  return {
    prompt: call.prompt,
    tools,
    toolChoice: tools.length > 0 ? "auto" : "none",
    responseFormat: output === undefined ? textFormat : { type: "json", objectName: "output", schema: output as Schema.Schema.Any },
    span
  }
}

const leanStream = (
  parts: ModelParts.ModelParts,
  call: Call,
  span: Tracer.Span,
  onParts: (parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>) => Effect.Effect<void, ModelError>
): Effect.Effect<void, unknown> => {
  const options = providerOptions(call, span)
  const state = call.run
  const emit = state.emit
  // A model that had to wait before it sent the call (a rate limit) says so: an event of this run.
  const hooks: ModelParts.Hooks | undefined = emit === undefined
    ? state.traced ? { onWait: Telemetry.rateLimitWaited } : undefined
    : {
      onWait: (waited) => {
        const event = emit(new RunEvent.RateLimitWaited({ runId: state.runId, waited }, true))
        return state.traced ? Effect.zipRight(Telemetry.rateLimitWaited(waited), event) : event
      }
    }
  // Pushed parts need no stream pipeline per call. Running a stream lets other fibers run once
  // before it starts and once after it ends; so does this, so that concurrent runs (a team's
  // members) interleave the way they do on a stream.
  return Effect.zipRight(Effect.yieldNow(), Effect.zipLeft(parts.streamParts(options, onParts, hooks), Effect.yieldNow()))
}

const textFormat = { type: "text" } as const

const publicCall = (
  service: LanguageModel.Service,
  call: Call,
  onParts: (parts: Iterable<Response.StreamPartEncoded | Response.PartEncoded>) => Effect.Effect<void, ModelError>
): Effect.Effect<void, unknown> => {
  const lenient = call.run.tools.lenient
  const options = lenient === undefined
    ? { prompt: call.prompt }
    : { prompt: call.prompt, toolkit: lenient, disableToolCallResolution: true as const }
  // Decoded parts carry the same fields the turn reads from encoded ones.
  return call.run.emit !== undefined
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
  /** The model, when it needs no effect to get: already built, or found in the run's context. */
  readonly built: (index: number) => LanguageModel.Service | undefined
  readonly get: (index: number) => Effect.Effect<LanguageModel.Service>
}

// The model of a run that has no model layer of its own: the one in its context. Made for every run
// of such an agent, so it is one small object whose methods are shared.
class ContextModel implements Models {
  readonly count = 1
  constructor(readonly service: LanguageModel.Service | undefined) {}
  built(): LanguageModel.Service | undefined {
    return this.service
  }
  get(): Effect.Effect<LanguageModel.Service> {
    // Not in the context: the tag fails the way it always does.
    return LanguageModel.LanguageModel as unknown as Effect.Effect<LanguageModel.Service>
  }
}

/**
 * `context` is the run's own: it holds the LanguageModel (when the agent has no model layer of its
 * own) and the Scope that the agent's model layers are built in. `get` is called in the run's fiber.
 */
export const models = (agent: Definition, context: Context.Context<never>): Models => {
  const fromContext = context.unsafeMap.get(LanguageModel.LanguageModel.key) as LanguageModel.Service | undefined
  if (agent.model === undefined && agent.fallback.length === 0) return new ContextModel(fromContext)
  const layers: ReadonlyArray<ModelLayer<unknown> | undefined> = [agent.model, ...agent.fallback]
  const built: Array<LanguageModel.Service | undefined> = []
  return {
    count: layers.length,
    built: (index) => (layers[index] === undefined ? fromContext : built[index]),
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
