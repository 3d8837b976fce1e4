import type * as Prompt from "@effect/ai/Prompt"
import type * as Tool from "@effect/ai/Tool"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { type GuardrailTripped, RunPaused, ToolError } from "../AgentError.js"
import type * as Run from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type { Definition } from "./definition.js"
import * as Executor from "./executor.js"
import * as Fast from "./fast.js"
import * as Telemetry from "./telemetry.js"
import type { RunState, ToolCallRequest } from "./modelCall.js"

/** A finished tool call: what goes back to the model and what the run records. */
export interface Outcome {
  readonly part: Prompt.ToolResultPart
  readonly record: Run.ToolCall
}

interface Codecs {
  readonly decodeParams: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeParams: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly decodeSuccess: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeSuccess: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encodeFailure: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  /** Whether the handler reads the id of its call (see {@link ReadsCallId}). */
  readonly readsCallId: boolean
  /** Whether the handler reads its call's idempotency key (see `Executor.ReadsIdempotencyKey`). */
  readonly readsKey: boolean
}

// Built once per tool, never per call.
const codecs = Fast.weak((tool: Tool.Any): Codecs => ({
  decodeParams: Schema.decodeUnknownEither(tool.parametersSchema as Schema.Schema<unknown, unknown>),
  encodeParams: Schema.encodeUnknownEither(tool.parametersSchema as Schema.Schema<unknown, unknown>),
  decodeSuccess: Schema.decodeUnknownEither(tool.successSchema as Schema.Schema<unknown, unknown>),
  encodeSuccess: Schema.encodeUnknownEither(tool.successSchema as Schema.Schema<unknown, unknown>),
  encodeFailure: Schema.encodeUnknownEither(tool.failureSchema as Schema.Schema<unknown, unknown>),
  readsCallId: Context.get(tool.annotations, ReadsCallId),
  readsKey: Context.get(tool.annotations, Executor.ReadsIdempotencyKey)
}))

/**
 * The id of the tool call whose handler is running, for handlers that report on their call. It is
 * set only for the tools annotated with {@link ReadsCallId}.
 */
export const currentToolCallId: FiberRef.FiberRef<string | undefined> = FiberRef.unsafeMake<string | undefined>(
  undefined
)

/**
 * A tool annotation: its handler reads {@link currentToolCallId}. Setting a fiber ref copies the
 * fiber's whole table of them, twice per call (set and restore), so only the tools that read it
 * pay for it.
 */
export class ReadsCallId extends Context.Reference<ReadsCallId>()("effect-agents/ToolCall/ReadsCallId", {
  defaultValue: () => false
}) {}

class ToolTimedOut {
  readonly _tag = "ToolTimedOut"
}

/**
 * Runs one tool call requested by the model. Bad arguments, an unknown tool, a typed failure and a
 * timeout all become a failed result that goes back to the model, so it can correct itself; only a
 * defect in the tool fails the run (with a `ToolError`). Tool handlers are found in the context the
 * way `@effect/ai`'s `Toolkit` stores them (by tool id), so arguments are decoded exactly once.
 *
 * Under a run executor (a durable engine's) the call is settled once under its key, which is also
 * the idempotency key its handler reads; a leader's delegations are not settled as one call: the
 * member runs they make settle their own calls.
 */
export const run = (
  agent: Definition,
  request: ToolCallRequest,
  state: RunState,
  context: Context.Context<never>,
  checkResult?: (result: unknown) => Effect.Effect<unknown, GuardrailTripped>
): Effect.Effect<Outcome, ToolError | GuardrailTripped | RunPaused> => {
  // The result's guardrails travel with the call (only the guarded calls of guarded agents have them).
  const call: GuardedRequest = checkResult === undefined ? request : { ...request, checkResult }
  const executor = agent.nests === true ? undefined : Executor.of(context)
  if (executor === undefined) {
    return state.traced
      ? Telemetry.executeTool(Effect.suspend(() => untraced(agent, call, state, context, undefined)), call, agent.name)
      : Effect.suspend(() => untraced(agent, call, state, context, undefined))
  }
  return Effect.map(
    executor.toolCall(Executor.toolCallKey(state.runId, call.id), (key) => {
      const body = Effect.suspend(() => untraced(agent, call, state, context, key))
      return Effect.map(state.traced ? Telemetry.executeTool(body, call, agent.name) : body, (outcome) => outcome.record)
    }),
    settled
  ) as Effect.Effect<Outcome, ToolError | GuardrailTripped | RunPaused>
}

interface GuardedRequest extends ToolCallRequest {
  /** Checks a successful result before it is reported or given to the model (tool guardrails). */
  /** The tool guardrails on the call's result (encoded): the result they pass on, perhaps rewritten. */
  readonly checkResult?: ((result: unknown) => Effect.Effect<unknown, GuardrailTripped>) | undefined
}

const untraced = (
  agent: Definition,
  call: GuardedRequest,
  state: RunState,
  context: Context.Context<never>,
  key: string | undefined
): Effect.Effect<Outcome, ToolError | GuardrailTripped | RunPaused> => {
  const startedAt = state.clock.unsafeCurrentTimeMillis()
  const emit = state.emit
  const started = emit === undefined ? undefined : emit(
    new RunEvent.ToolCallStarted({
      runId: state.runId,
      toolCallId: call.id,
      name: call.name,
      arguments: call.params
    }, true)
  )
  const afterStarted = <A, E>(effect: Effect.Effect<A, E>) =>
    started === undefined ? effect : Effect.zipRight(started, effect)
  const finish = (result: unknown, failure: Run.ToolFailure | undefined): Effect.Effect<Outcome> => {
    const duration = Duration.millis(state.clock.unsafeCurrentTimeMillis() - startedAt)
    const outcome: Outcome = {
      part: Fast.toolResultPart(call.id, call.name, failure !== undefined, result, false),
      record: failure === undefined
        ? { id: call.id, name: call.name, arguments: call.params, result, duration }
        : { id: call.id, name: call.name, arguments: call.params, result, failure, duration }
    }
    if (emit === undefined) return Effect.succeed(outcome)
    const event = failure === undefined
      ? new RunEvent.ToolCallCompleted({ runId: state.runId, toolCallId: call.id, name: call.name, result, duration }, true)
      : new RunEvent.ToolCallFailed({
        runId: state.runId,
        toolCallId: call.id,
        name: call.name,
        reason: failure,
        error: result,
        duration
      }, true)
    return Effect.as(emit(event), outcome)
  }

  const tools = agent.toolkit?.tools ?? {}
  const tool = Object.hasOwn(tools, call.name) ? tools[call.name] : undefined
  if (tool === undefined) {
    const available = Object.keys(tools).join(", ") || "none"
    return afterStarted(finish(`Unknown tool "${call.name}". Available tools: ${available}.`, "UnknownTool"))
  }
  const { decodeParams, encodeFailure, encodeSuccess, readsCallId, readsKey } = codecs(tool)
  const params = decodeParams(call.params)
  if (Either.isLeft(params)) {
    const message = `Invalid arguments for tool "${call.name}":\n${
      ParseResult.TreeFormatter.formatErrorSync(params.left)
    }\nCall the tool again with arguments that match its parameters.`
    return afterStarted(finish(message, "InvalidArguments"))
  }
  const handler = context.unsafeMap.get(tool.id) as Tool.Handler<string> | undefined
  if (handler === undefined) {
    return Effect.dieMessage(`effect-agents: no handler for tool "${call.name}" (is its toolkit layer provided?)`)
  }
  let effect: Effect.Effect<unknown, unknown> = handler.handler(params.right)
  if (agent.toolTimeout !== undefined) {
    effect = Effect.timeoutFail(effect, { duration: agent.toolTimeout, onTimeout: () => new ToolTimedOut() })
  }
  const died = (message: string, cause: unknown) =>
    Effect.fail(new ToolError({ tool: call.name, toolCallId: call.id, message, cause }))
  return Effect.flatMap(
    afterStarted(
      inHandlerFrame(
        effect,
        handler.context,
        readsCallId ? call.id : undefined,
        key ?? (readsKey ? Executor.toolCallKey(state.runId, call.id) : undefined)
      )
    ),
    (exit): Effect.Effect<Outcome, ToolError | GuardrailTripped | RunPaused> => {
      if (Exit.isSuccess(exit)) {
        const encoded = encodeSuccess(exit.value)
        return Either.isRight(encoded)
          ? call.checkResult === undefined
            ? finish(encoded.right, undefined)
            : Effect.flatMap(call.checkResult(encoded.right), (result) => finish(result, undefined))
          : died(
            `Tool "${call.name}" returned a value that does not match its success schema: ${
              ParseResult.TreeFormatter.formatErrorSync(encoded.left)
            }`,
            encoded.left
          )
      }
      const cause = exit.cause
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure)) {
        // A run inside the call (a team member's) paused: the caller pauses with it.
        if (failure.value instanceof RunPaused) return Effect.fail(failure.value)
        if (failure.value instanceof ToolTimedOut) {
          return finish(
            `Tool "${call.name}" did not finish within ${Duration.format(agent.toolTimeout!)}.`,
            "Timeout"
          )
        }
        const encoded = encodeFailure(failure.value)
        return finish(Either.isRight(encoded) ? encoded.right : String(failure.value), "Failed")
      }
      return died(`Tool "${call.name}" died: ${Cause.pretty(cause)}`, Cause.squash(cause))
    }
  )
}

/** The tool of an agent with this name, when it has one. */
export const toolOf = (agent: Definition, name: string): Tool.Any | undefined => {
  const tools = agent.toolkit?.tools ?? {}
  return Object.hasOwn(tools, name) ? tools[name] : undefined
}

/** A tool's arguments decoded with its parameters schema (once per tool, the same codec as a call's). */
export const decodeArguments = (tool: Tool.Any, params: unknown): Either.Either<unknown, ParseResult.ParseError> =>
  codecs(tool).decodeParams(params)

/** Decoded arguments of a call to `tool`, encoded as the model sends them. */
export const encodeArguments = (tool: Tool.Any, params: unknown): Either.Either<unknown, ParseResult.ParseError> =>
  codecs(tool).encodeParams(params)

/** Whether `result` is a result of `tool` as the model sees it (encoded). */
export const decodeResult = (tool: Tool.Any, result: unknown): Either.Either<unknown, ParseResult.ParseError> =>
  codecs(tool).decodeSuccess(result)

/**
 * A call that a person rejected: it is reported as started and failed (`Rejected`), and the model
 * is told the reason as the tool's result.
 */
export const rejected = (call: ToolCallRequest, state: RunState, reason: string): Effect.Effect<Outcome> => {
  const result = `A person did not approve this call of "${call.name}": ${reason}`
  const record: Run.ToolCall = {
    id: call.id,
    name: call.name,
    arguments: call.params,
    result,
    failure: "Rejected",
    duration: Duration.zero
  }
  return settledByPerson(
    call,
    state,
    { part: Fast.toolResultPart(call.id, call.name, true, result, false), record },
    new RunEvent.ToolCallFailed({
      runId: state.runId,
      toolCallId: call.id,
      name: call.name,
      reason: "Rejected",
      error: result,
      duration: Duration.zero
    }, true)
  )
}

/** A person's answer to a tool's question, decoded with the tool's success schema and encoded back. */
export const decodeAnswer = (tool: Tool.Any, value: unknown): Either.Either<unknown, ParseResult.ParseError> =>
  Either.flatMap(codecs(tool).decodeSuccess(value), codecs(tool).encodeSuccess)

/** A question a person answered: reported as started and completed with the answer as its result. */
export const answered = (call: ToolCallRequest, state: RunState, result: unknown): Effect.Effect<Outcome> => {
  const record: Run.ToolCall = { id: call.id, name: call.name, arguments: call.params, result, duration: Duration.zero }
  return settledByPerson(
    call,
    state,
    { part: Fast.toolResultPart(call.id, call.name, false, result, false), record },
    new RunEvent.ToolCallCompleted({ runId: state.runId, toolCallId: call.id, name: call.name, result, duration: Duration.zero }, true)
  )
}

/** A call a person settled (rejected, or answered): reported as started, then as it ended. */
const settledByPerson = (
  call: ToolCallRequest,
  state: RunState,
  outcome: Outcome,
  ended: RunEvent.RunEvent
): Effect.Effect<Outcome> => {
  const emit = state.emit
  if (emit === undefined) return Effect.succeed(outcome)
  const events: ReadonlyArray<RunEvent.RunEvent> = [
    new RunEvent.ToolCallStarted({ runId: state.runId, toolCallId: call.id, name: call.name, arguments: call.params }, true),
    ended
  ]
  return Effect.as(emit.all !== undefined ? emit.all(events) : Effect.forEach(events, emit, { discard: true }), outcome)
}

/**
 * A call that settles after a pause inside it (a member's run resumed): its result or failure,
 * reported as its end (it was reported as started before the pause).
 */
export const settledLater = (
  call: ToolCallRequest,
  state: RunState,
  result: unknown,
  failed: boolean
): Effect.Effect<Outcome> => {
  const record: Run.ToolCall = failed
    ? { id: call.id, name: call.name, arguments: call.params, result, failure: "Failed", duration: Duration.zero }
    : { id: call.id, name: call.name, arguments: call.params, result, duration: Duration.zero }
  const outcome: Outcome = { part: Fast.toolResultPart(call.id, call.name, failed, result, false), record }
  const emit = state.emit
  if (emit === undefined) return Effect.succeed(outcome)
  return Effect.as(
    emit(
      failed
        ? new RunEvent.ToolCallFailed({
          runId: state.runId,
          toolCallId: call.id,
          name: call.name,
          reason: "Failed",
          error: result,
          duration: Duration.zero
        }, true)
        : new RunEvent.ToolCallCompleted({
          runId: state.runId,
          toolCallId: call.id,
          name: call.name,
          result,
          duration: Duration.zero
        }, true)
    ),
    outcome
  )
}

/** The outcome of a call that settled earlier (before a pause), as its record says. */
export const settled = (record: Run.ToolCall): Outcome => ({
  part: Fast.toolResultPart(record.id, record.name, record.failure !== undefined, record.result, false),
  record
})

/**
 * Runs a handler the way `@effect/ai`'s toolkit does, in the handler's own context under the
 * caller's (and with the id of its call set, for a tool that reads it), and gives back how it
 * ended. Each fiber ref set costs a copy of the fiber's table of them, so what is already so is not
 * set: a handler whose context adds nothing to the run's (its services were built in the same
 * runtime) runs as it is.
 */
const inHandlerFrame = <A, E>(
  effect: Effect.Effect<A, E>,
  handlerContext: Context.Context<never>,
  toolCallId: string | undefined,
  idempotencyKey: string | undefined
): Effect.Effect<Exit.Exit<A, E>> =>
  Effect.withFiberRuntime((fiber) => {
    const context = merged(handlerContext, fiber.currentContext)
    let framed = context === fiber.currentContext ? effect : Effect.locally(effect, FiberRef.currentContext, context)
    if (toolCallId !== undefined) framed = Effect.locally(framed, currentToolCallId, toolCallId)
    if (idempotencyKey !== undefined) framed = Effect.locally(framed, Executor.currentIdempotencyKey, idempotencyKey)
    return Effect.exit(framed)
  })

// A handler's context under a run's: the same pair (the same toolkit layer, the same run or
// runtime) gives the same result, so it is merged once. The run's services win over the handler's:
// when the run's context has every service the handler's has (see `layerPlumbing`), the result is
// the run's context.
const mergedUnder = Fast.weak((handler: Context.Context<never>) =>
  Fast.weak((input: Context.Context<never>): Context.Context<never> =>
    covers(input, handler) ? input : Context.merge(handler, input)
  )
)
const merged = (handler: Context.Context<never>, input: Context.Context<never>): Context.Context<never> =>
  mergedUnder(handler)(input)

const covers = (context: Context.Context<never>, services: Context.Context<never>): boolean => {
  for (const key of services.unsafeMap.keys()) {
    if (!layerPlumbing.has(key) && !context.unsafeMap.has(key)) return false
  }
  return true
}

// The services every layer is built with, in every handler's context: its scope and memo map. A
// handler can read them only by declaring them as dependencies, and then the run provides its own,
// which win; left out of the comparison, a toolkit layer with nothing else adds nothing.
const layerPlumbing: ReadonlySet<string> = new Set([Scope.Scope.key, Layer.CurrentMemoMap.key])
