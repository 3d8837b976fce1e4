import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import type * as Fiber from "effect/Fiber"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import {
  type AgentError,
  MaxTurnsExceeded,
  type GuardrailTripped,
  OutputDecodeError,
  RunPaused,
  RunTimeout
} from "../AgentError.js"
import * as Approval from "../Approval.js"
import type * as Guardrail from "../Guardrail.js"
import type * as Run from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type { Definition, RunOptions } from "./definition.js"
import * as EventStream from "./eventStream.js"
import * as Fast from "./fast.js"
import * as InternalGuardrail from "./guardrail.js"
import * as Id from "./id.js"
import * as ModelCall from "./modelCall.js"
import * as InternalRunnable from "./runnable.js"
import { type Checked, checkResume, type Decided, nestedOf, unusable } from "./resume.js"
import * as Telemetry from "./telemetry.js"
import * as ToolCall from "./toolCall.js"

type Emit = EventStream.Emit

/** Runs an agent to its final answer. With `emit`, every step is reported as it happens. */
export const run = (
  agent: Definition,
  input: Run.Input,
  options: RunOptions | undefined,
  emit: Emit | undefined
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> =>
  Effect.withFiberRuntime((fiber) => {
    const runId = options?.runId ?? Id.uuid()
    const traced = ModelCall.isTraced(fiber)
    let effect: Effect.Effect<Run.Output<unknown>, AgentError, unknown> = loop(agent, runId, input, options, emit, traced)
    if (agent.timeout !== undefined) {
      const timeout = agent.timeout
      effect = Effect.timeoutFail(effect, { duration: timeout, onTimeout: () => new RunTimeout({ timeout }) })
    }
    if (emit !== undefined) effect = Effect.tapError(effect, reportEnd(runId, emit))
    if (!traced) return effect
    // A run in a session is given its session id with its options (by the session machinery).
    const sessionId = (options as { readonly sessionId?: string | undefined } | undefined)?.sessionId
    return Telemetry.invokeAgent(effect, { name: agent.name, runId, conversationId: sessionId })
  })

// A paused run ends with the pause (its state is in the event); any other failure with RunFailed.
const reportEnd = (runId: string, emit: Emit) => (error: AgentError): Effect.Effect<void> =>
  error._tag === "RunPaused"
    ? emit(new RunEvent.RunPaused({ runId, pending: error.pending, state: error.state }, true))
    : emit(new RunEvent.RunFailed({ runId, error }, true))

/**
 * Resumes a paused agent run with decisions on its pending calls (see `Approval`): the state must
 * be signed with this process's keys and not resumed before, and each decision must name a pending
 * call. Decided calls settle (approved ones run, rejected ones go back to the model); when calls
 * are still pending the run pauses again, and otherwise it goes on to its next turn.
 */
export const resume = (
  agent: Definition,
  state: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>,
  emit: Emit | undefined
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> =>
  Effect.flatMap(checkResume(agent, state, decisions), (checked) => restore(agent, checked, emit))

/**
 * A paused run, continued with decisions that were checked (see `checkResume`). The loop does not
 * trust the check: a decision it cannot use fails the run with an `ApprovalError` before anything
 * runs.
 */
export const restore = (
  agent: Definition,
  checked: Checked,
  emit: Emit | undefined
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> => {
  const body = checked.body
  let effect: Effect.Effect<Run.Output<unknown>, AgentError, unknown> = Effect.withFiberRuntime((fiber) =>
    new Loop(agent, body.runId, emit, ModelCall.isTraced(fiber), fiber).restore(body, checked.decided, checked.nested)
  )
  if (agent.model !== undefined || agent.fallback.length > 0) effect = Effect.scoped(effect)
  if (agent.timeout !== undefined) {
    const timeout = agent.timeout
    effect = Effect.timeoutFail(effect, { duration: timeout, onTimeout: () => new RunTimeout({ timeout }) })
  }
  return emit === undefined ? effect : Effect.tapError(effect, reportEnd(body.runId, emit))
}

/**
 * Resumes a run that paused inside a tool call (a team member's, behind the leader's delegation)
 * and settles the call: provided by the team to its leader's run.
 */
export interface NestedResumeService {
  (
    nested: Approval.Nested,
    call: ModelCall.ToolCallRequest,
    decisions: ReadonlyArray<Approval.Decision>,
    state: ModelCall.RunState
  ): Effect.Effect<ToolCall.Outcome, AgentError>
}

export class NestedResume extends Context.Tag("effect-agents/internal/NestedResume")<NestedResume, NestedResumeService>() {}

const loop = (
  agent: Definition,
  runId: string,
  input: Run.Input,
  options: RunOptions | undefined,
  emit: Emit | undefined,
  traced: boolean
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> => {
  const body = Effect.withFiberRuntime<Run.Output<unknown>, AgentError, unknown>((fiber) =>
    new Loop(agent, runId, emit, traced, fiber).run(input, options)
  )
  // A scope is needed only to build the agent's own model layers (a scope costs a few µs per run).
  return agent.model === undefined && agent.fallback.length === 0 ? body : Effect.scoped(body)
}

/**
 * A run's state, as its model and tool calls see it (one object per run), and its steps: `run`
 * starts it, `turns` is the loop of model calls and tool calls until an answer, and `restore`
 * continues a paused run where it paused.
 */
class Loop implements ModelCall.Run {
  startedAt: number
  readonly clock: Clock.Clock
  retries = 0
  firstTokenAt: number | undefined = undefined
  readonly context: Context.Context<never>
  readonly tools: ModelCall.ToolSet
  readonly models: ModelCall.Models
  readonly messages: Array<Prompt.Message> = []
  readonly toolCalls: Array<Run.ToolCall> = []
  inputTokens = 0
  outputTokens = 0
  totalTokens = 0
  reasoningTokens: number | undefined = undefined
  cachedInputTokens: number | undefined = undefined
  repairs: number
  readonly emit: Emit | undefined
  /** With streaming output guardrails: the text of the model call so far, and where a block goes. */
  streamed = ""
  trip: Deferred.Deferred<never, GuardrailTripped> | undefined = undefined
  /** The user the run is for, signed with its pause (a run's context names it, a paused run's state). */
  userId: string | undefined = undefined

  constructor(
    readonly agent: Definition,
    readonly runId: string,
    emit: Emit | undefined,
    readonly traced: boolean,
    fiber: Fiber.RuntimeFiber<unknown, unknown>
  ) {
    this.emit = emit !== undefined && agent.guardrails !== undefined && agent.guardrails.streaming.length > 0
      ? this.guardedEmit(emit, agent.guardrails.streaming)
      : emit
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    this.clock = clock
    this.startedAt = clock.unsafeCurrentTimeMillis()
    this.context = fiber.currentContext
    this.tools = ModelCall.toolSet(agent.toolkit)
    this.models = ModelCall.models(agent, this.context)
    this.repairs = agent.outputRepairs
  }

  /** The whole run: the prompt (instructions, history, input), the input guardrails, the turns. */
  run(input: Run.Input, options: RunOptions | undefined): Effect.Effect<Run.Output<unknown>, AgentError, unknown> {
    this.userId = (options as { readonly userId?: string | undefined } | undefined)?.userId
    return Effect.gen(this, function*() {
      if (this.emit !== undefined) {
        yield* this.emit(new RunEvent.RunStarted({ runId: this.runId, agent: this.agent.name }, true))
      }
      const instructions = this.agent.instructions
      const system = Effect.isEffect(instructions)
        ? buildSystemPrompt(this.agent, lines(yield* (instructions as Effect.Effect<string | ReadonlyArray<string>>)))
        : staticSystemPrompt(this.agent)
      const messages = this.messages
      if (system.length > 0) messages.push(Fast.systemMessage(system))
      if (options?.history !== undefined) for (const message of options.history) messages.push(message)
      if (typeof input === "string") messages.push(Fast.userMessage([Fast.textPart(input)]))
      else for (const message of Prompt.make(input).content) messages.push(message)
      const guardrails = this.agent.guardrails
      if (guardrails !== undefined && guardrails.input.length > 0) yield* this.guardInput(guardrails.input)
      return yield* this.turns(1)
    })
  }

  /**
   * The turns of the run from turn `n`: a model call, then either the tool calls it asked for (and
   * the next turn) or its answer, checked and decoded (a bad answer with repairs left is another
   * turn), until the run completes, fails or pauses.
   */
  turns(n: number): Effect.Effect<Run.Output<unknown>, AgentError> {
    return Effect.gen(this, function*() {
      for (;; n++) {
        if (n > this.agent.maxTurns) return yield* new MaxTurnsExceeded({ maxTurns: this.agent.maxTurns })
        if (this.emit !== undefined) {
          yield* this.emit(new RunEvent.ModelRequestStarted({ runId: this.runId, turn: n }, true))
        }
        const response = yield* this.call(n)
        this.count(response.usage)
        if (this.emit !== undefined) yield* this.emit(this.callCompleted(n, response))
        this.messages.push(assistantMessage(response))
        const pending = response.toolCalls.filter((call) => !call.providerExecuted)
        if (pending.length > 0) {
          this.toolResults(yield* this.settle(n, pending))
          continue
        }
        const guardrails = this.agent.guardrails
        if (guardrails !== undefined && guardrails.output.length > 0) {
          response.text = yield* InternalGuardrail.check(guardrails.output, response.text, "output")
        }
        const decoded = this.decode(response.text)
        if (decoded === repair) continue
        if (Either.isLeft(decoded)) return yield* decoded.left
        const output = this.output(n, response, decoded.right)
        if (this.traced) yield* Effect.annotateCurrentSpan(this.spanAttributes(n))
        if (this.emit !== undefined) yield* this.emit(new RunEvent.RunCompleted({ runId: this.runId, output }, true))
        return output
      }
    })
  }

  /** Input guardrails, before the first model call: a block ends the run before anything is called. */
  guardInput(guardrails: InternalGuardrail.Guardrails["input"]): Effect.Effect<void, AgentError> {
    const messages = this.messages
    let last = messages.length - 1
    while (last >= 0 && messages[last]!.role !== "user") last--
    const message = messages[last] as Prompt.UserMessage | undefined
    const text = message === undefined
      ? ""
      : message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n")
    return Effect.map(InternalGuardrail.check(guardrails, text, "input"), (checked) => {
      if (checked !== text && message !== undefined) {
        // A rewrite replaces the message's text; its files, if any, stay.
        const files = message.content.filter((part) => part.type !== "text")
        messages[last] = Fast.userMessage([Fast.textPart(checked), ...files])
      }
    })
  }

  /**
   * The run's emit when output guardrails check the streaming text: each piece of text is checked,
   * with the text before it, before it is emitted. A block is not emitted: it fails the call's
   * `trip`, which ends the model call (interrupting its stream), and the emit never returns.
   */
  guardedEmit(emit: Emit, guardrails: InternalGuardrail.Guardrails["streaming"]): Emit {
    const checked = (events: ReadonlyArray<RunEvent.RunEvent>, forward: Effect.Effect<void>): Effect.Effect<void> => {
      let text = this.streamed
      for (const event of events) if (event._tag === "TextDelta") text += event.delta
      if (text === this.streamed) return forward
      return Effect.matchEffect(InternalGuardrail.check(guardrails, text, "output"), {
        onFailure: (error) => Effect.zipRight(Deferred.fail(this.trip!, error), Effect.never),
        onSuccess: () => {
          this.streamed = text
          return forward
        }
      })
    }
    const all = emit.all
    return Object.assign(
      (event: RunEvent.RunEvent) => (event._tag === "TextDelta" ? checked([event], emit(event)) : emit(event)),
      {
        all: (events: ReadonlyArray<RunEvent.RunEvent>) =>
          checked(events, all !== undefined ? all(events) : Effect.forEach(events, emit, { discard: true }))
      }
    )
  }

  /** The model call of turn `n`. With streaming output guardrails, a block ends it at once (see `guardedEmit`). */
  call(n: number): Effect.Effect<ModelCall.Turn, AgentError> {
    const call = ModelCall.call(this, Prompt.fromMessages(this.messages.slice()), n)
    if (this.emit === undefined || this.agent.guardrails === undefined || this.agent.guardrails.streaming.length === 0) {
      return call
    }
    return Effect.flatMap(Deferred.make<never, GuardrailTripped>(), (trip) => {
      this.trip = trip
      this.streamed = ""
      return Effect.raceFirst(call, Deferred.await(trip))
    })
  }

  /** Adds a model call's usage to the run's. */
  count(usage: ModelCall.Turn["usage"]): void {
    this.inputTokens += usage.inputTokens
    this.outputTokens += usage.outputTokens
    this.totalTokens += usage.totalTokens
    if (usage.reasoningTokens !== undefined) this.reasoningTokens = (this.reasoningTokens ?? 0) + usage.reasoningTokens
    if (usage.cachedInputTokens !== undefined) {
      this.cachedInputTokens = (this.cachedInputTokens ?? 0) + usage.cachedInputTokens
    }
  }

  callCompleted(n: number, response: ModelCall.Turn): RunEvent.ModelRequestCompleted {
    const usage = response.usage
    return new RunEvent.ModelRequestCompleted({
      runId: this.runId,
      turn: n,
      finishReason: response.finishReason,
      usage: usage.reasoningTokens === undefined && usage.cachedInputTokens === undefined
        ? { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, totalTokens: usage.totalTokens }
        : usage as Run.Usage,
      ...(response.model !== undefined ? { model: response.model } : {})
    }, true)
  }

  /**
   * Settles the tool calls of turn `n`: each runs (at most `toolConcurrency` at once), unless its
   * tool needs approval, in which case the run pauses once the others have settled.
   */
  settle(n: number, calls: ReadonlyArray<ModelCall.ToolCallRequest>): Effect.Effect<ReadonlyArray<ToolCall.Outcome>, AgentError> {
    if (this.agent.approvals !== undefined || this.agent.nests === true) return this.gated(n, calls)
    return this.runCalls(calls)
  }

  runCalls(calls: ReadonlyArray<ModelCall.ToolCallRequest>): Effect.Effect<ReadonlyArray<ToolCall.Outcome>, AgentError> {
    if (calls.length === 0) return Effect.succeed([])
    // One call needs no fibers: a concurrent forEach forks even for a single element.
    if (calls.length === 1) return Effect.map(this.runTool(calls[0]!), (outcome) => [outcome])
    return Effect.forEach(calls, (call) => this.runTool(call), { concurrency: this.agent.toolConcurrency })
  }

  /**
   * One tool call, with the tool guardrails before it runs and on its result. A guardrail may
   * rewrite the arguments (the tool runs with them, as they decode) and the result (the model sees
   * it); a rewrite that does not match the tool's schema blocks.
   */
  runTool(call: ModelCall.ToolCallRequest): Effect.Effect<ToolCall.Outcome, AgentError> {
    const guardrails = this.agent.guardrails?.tool
    if (guardrails === undefined || guardrails.length === 0) return ToolCall.run(this.agent, call, this, this.context)
    const tool = ToolCall.toolOf(this.agent, call.name)
    const params = tool === undefined ? undefined : ToolCall.decodeArguments(tool, call.params)
    const checkResult = (args: unknown) => (result: unknown) =>
      Effect.map(
        InternalGuardrail.check<Guardrail.ToolCheck>(
          guardrails,
          { phase: "result", tool: call.name, toolCallId: call.id, arguments: args, result },
          "tool-result",
          call.name,
          (checked) => checked.phase === "result" ? mismatch(ToolCall.decodeResult(tool!, checked.result), "result") : undefined
        ),
        (checked) => checked.phase === "result" ? checked.result : result
      )
    // Arguments that do not decode go back to the model as they would without guardrails.
    if (tool === undefined || params === undefined || Either.isLeft(params)) {
      return ToolCall.run(this.agent, call, this, this.context, tool === undefined ? undefined : checkResult(call.params))
    }
    return Effect.flatMap(
      InternalGuardrail.check<Guardrail.ToolCheck>(
        guardrails,
        { phase: "call", tool: call.name, toolCallId: call.id, arguments: params.right },
        "tool-call",
        call.name,
        (checked) => mismatch(ToolCall.encodeArguments(tool, checked.arguments), "arguments")
      ),
      (checked) => {
        const args = checked.arguments
        const encoded = args === params.right ? undefined : ToolCall.encodeArguments(tool, args)
        const request = encoded === undefined || Either.isLeft(encoded) ? call : { ...call, params: encoded.right }
        return ToolCall.run(this.agent, request, this, this.context, checkResult(args))
      }
    )
  }

  /** The calls of a turn when some tools need approval: those that need none run, the others wait. */
  gated(n: number, calls: ReadonlyArray<ModelCall.ToolCallRequest>): Effect.Effect<ReadonlyArray<ToolCall.Outcome>, AgentError> {
    return Effect.gen(this, function*() {
      const asks = yield* Effect.forEach(calls, (call) => this.needsApproval(call))
      const token = Approval.makeToken()
      const requests: Array<Approval.Request> = []
      const free: Array<ModelCall.ToolCallRequest> = []
      calls.forEach((call, i) => {
        if (asks[i]) {
          const request = { toolCallId: call.id, tool: call.name, arguments: call.params, path: [], token: `${token}.${i}` }
          requests.push(this.agent.approvals?.get(call.name) === "input" ? { ...request, kind: "input" } : request)
        } else free.push(call)
      })
      if (this.emit !== undefined) {
        for (const request of requests) {
          yield* this.emit(
            new RunEvent.ApprovalRequested({
              runId: this.runId,
              toolCallId: request.toolCallId,
              tool: request.tool,
              arguments: request.arguments,
              token: request.token
            }, true)
          )
        }
      }
      const { nested, outcomes } = yield* this.runFree(free)
      if (requests.length === 0 && nested.length === 0) return outcomes
      return yield* this.pause(
        n,
        calls,
        outcomes.map((outcome) => outcome.record),
        [...requests, ...nested.flatMap((entry) => entry.pending)],
        nested.map((entry) => entry.entry)
      )
    })
  }

  /** Runs calls; for an agent whose calls run runs that may pause, a pause inside a call is kept. */
  runFree(calls: ReadonlyArray<ModelCall.ToolCallRequest>): Effect.Effect<{
    readonly outcomes: ReadonlyArray<ToolCall.Outcome>
    readonly nested: ReadonlyArray<{ readonly entry: Approval.Nested; readonly pending: ReadonlyArray<Approval.Request> }>
  }, AgentError> {
    if (this.agent.nests !== true) return Effect.map(this.runCalls(calls), (outcomes) => ({ outcomes, nested: [] }))
    return Effect.map(
      Effect.forEach(calls, (call) =>
        Effect.catchIf(
          this.runTool(call),
          (error): error is RunPaused => error._tag === "RunPaused",
          (paused) => Effect.succeed(nestedOf(call.id, call.name, paused))
        ), { concurrency: this.agent.toolConcurrency }),
      (results) => {
        const outcomes: Array<ToolCall.Outcome> = []
        const nested: Array<{ readonly entry: Approval.Nested; readonly pending: ReadonlyArray<Approval.Request> }> = []
        for (const result of results) {
          if ("entry" in result) nested.push(result)
          else outcomes.push(result)
        }
        return { outcomes, nested }
      }
    )
  }

  needsApproval(call: ModelCall.ToolCallRequest): Effect.Effect<boolean> {
    const rule = this.agent.approvals?.get(call.name)
    if (rule === undefined || rule === false) return Effect.succeed(false)
    const tool = ToolCall.toolOf(this.agent, call.name)
    if (tool === undefined) return Effect.succeed(false)
    // Arguments that do not decode go back to the model as they would without approval.
    const params = ToolCall.decodeArguments(tool, call.params)
    if (Either.isLeft(params)) return Effect.succeed(false)
    // The predicate reads the run's services, which the agent's requirements include.
    return rule === true || rule === "input" ? Effect.succeed(true) : rule(params.right) as Effect.Effect<boolean>
  }

  /** Ends the run as paused: its state, signed, in a `RunPaused` failure. */
  pause(
    n: number,
    calls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly params: unknown }>,
    settled: ReadonlyArray<Run.ToolCall>,
    pending: ReadonlyArray<Approval.Request>,
    nested: ReadonlyArray<Approval.Nested> = []
  ): Effect.Effect<never, AgentError> {
    const now = this.clock.unsafeCurrentTimeMillis()
    const body: Approval.AgentState = {
      _tag: "Agent",
      agent: this.agent.name,
      runId: this.runId,
      token: Approval.makeToken(),
      ...(this.userId !== undefined ? { userId: this.userId } : {}),
      turn: n,
      messages: this.messages.slice(),
      toolCalls: this.toolCalls.slice(),
      calls: calls.map((call) => ({ id: call.id, name: call.name, params: call.params })),
      settled,
      pending,
      usage: {
        inputTokens: this.inputTokens,
        outputTokens: this.outputTokens,
        totalTokens: this.totalTokens,
        ...(this.reasoningTokens !== undefined ? { reasoningTokens: this.reasoningTokens } : {}),
        ...(this.cachedInputTokens !== undefined ? { cachedInputTokens: this.cachedInputTokens } : {})
      },
      retries: this.retries,
      repairs: this.repairs,
      elapsed: now - this.startedAt,
      ...(this.firstTokenAt !== undefined ? { firstToken: this.firstTokenAt - this.startedAt } : {}),
      ...(nested.length > 0 ? { nested } : {})
    }
    return Effect.flatMap(
      Approval.sign(body),
      (state) => Effect.fail(new RunPaused({ runId: this.runId, pending, state }))
    )
  }

  /** A paused run, where it paused, with the decisions that came. */
  restore(
    body: Approval.AgentState,
    decided: ReadonlyArray<Decided>,
    nestedDecided: ReadonlyMap<string, ReadonlyArray<Approval.Decision>>
  ): Effect.Effect<Run.Output<unknown>, AgentError> {
    const refused = unusable(body, decided)
    if (refused !== undefined) return Effect.fail(refused)
    this.userId = body.userId ?? Context.get(this.context, InternalRunnable.ResumeUser)
    const now = this.clock.unsafeCurrentTimeMillis()
    this.startedAt = now - body.elapsed
    this.firstTokenAt = body.firstToken === undefined ? undefined : this.startedAt + body.firstToken
    for (const message of body.messages) this.messages.push(message)
    for (const record of body.toolCalls) this.toolCalls.push(record)
    this.inputTokens = body.usage.inputTokens
    this.outputTokens = body.usage.outputTokens
    this.totalTokens = body.usage.totalTokens
    this.reasoningTokens = body.usage.reasoningTokens
    this.cachedInputTokens = body.usage.cachedInputTokens
    this.retries = body.retries
    this.repairs = body.repairs
    const approved = decided.filter((d) => d.rejection === undefined && d.answer === undefined).map((d) => d.call)
    const rejections = Effect.forEach(
      decided.filter((d) => d.rejection !== undefined || d.answer !== undefined),
      (d) =>
        d.answer !== undefined
          ? ToolCall.answered(d.call, this, d.answer.right)
          : ToolCall.rejected(d.call, this, d.rejection!)
    )
    const nested = body.nested ?? []
    const hook = this.context.unsafeMap.get(NestedResume.key) as NestedResumeService | undefined
    const resumed = Effect.forEach(nested.filter((entry) => nestedDecided.has(entry.toolCallId)), (entry) => {
      const call = body.calls.find((c) => c.id === entry.toolCallId)!
      if (hook === undefined) return Effect.dieMessage("effect-agents: a paused call's run can only be resumed by its team")
      return Effect.catchIf(
        Effect.map(hook(entry, { ...call, providerExecuted: false }, nestedDecided.get(entry.toolCallId)!, this), (outcome) =>
          ({ entry, outcome })),
        (error): error is RunPaused => error._tag === "RunPaused",
        (paused) => Effect.succeed({ entry, again: nestedOf(call.id, call.name, paused) })
      )
    }, { concurrency: this.agent.toolConcurrency })
    return Effect.gen(this, function*() {
      const [rejected, ran, inside] = yield* Effect.all([rejections, this.runCalls(approved), resumed])
      const settled = [...body.settled]
      for (const outcome of rejected) settled.push(outcome.record)
      for (const outcome of ran) settled.push(outcome.record)
      const decidedIds = new Set(decided.map((d) => d.call.id))
      const resumedNames = new Set<string>()
      const stillNested = nested.filter((entry) => !nestedDecided.has(entry.toolCallId))
      const again: Array<Approval.Request> = []
      for (const result of inside) {
        resumedNames.add(result.entry.name)
        if ("outcome" in result) settled.push(result.outcome.record)
        else {
          stillNested.push(result.again.entry)
          for (const request of result.again.pending) again.push(request)
        }
      }
      const pending = [
        ...body.pending.filter((request) =>
          request.path.length === 0 ? !decidedIds.has(request.toolCallId) : !resumedNames.has(request.path[0]!)
        ),
        ...again
      ]
      if (pending.length > 0) return yield* this.pause(body.turn, body.calls, settled, pending, stillNested)
      const byId = new Map(settled.map((record) => [record.id, record]))
      this.toolResults(body.calls.map((call) => ToolCall.settled(byId.get(call.id)!)))
      return yield* this.turns(body.turn + 1)
    })
  }

  /** The settled calls of a turn, recorded and told to the model in one tool message. */
  toolResults(outcomes: ReadonlyArray<ToolCall.Outcome>): void {
    const parts: Array<Prompt.ToolResultPart> = []
    for (const outcome of outcomes) {
      this.toolCalls.push(outcome.record)
      parts.push(outcome.part)
    }
    this.messages.push(Fast.toolMessage(parts))
  }

  /**
   * The answer's content: its text, or for an agent with an output schema the decoded JSON. An
   * answer that does not decode is sent back with the problem while repairs are left (`repair`:
   * the loop goes on), and fails the run after.
   */
  decode(text: string): Either.Either<unknown, OutputDecodeError> | typeof repair {
    const schema = this.agent.output
    if (schema === undefined) return Either.right(text)
    const decoded = decodeOutput(schema)(text)
    if (Either.isRight(decoded)) return Either.right(decoded.right)
    const problem = ParseResult.TreeFormatter.formatErrorSync(decoded.left)
    if (this.repairs-- > 0) {
      this.messages.push(Fast.userMessage([
        Fast.textPart(
          `Your answer could not be read as the required JSON:\n${problem}\n` +
            "Answer again with only a JSON value that matches the schema."
        )
      ]))
      return repair
    }
    return Either.left(
      new OutputDecodeError({ message: `The model's answer does not match the output schema:\n${problem}`, text })
    )
  }

  /** The run's output, its answer's `content` decoded. */
  output(n: number, response: ModelCall.Turn, content: unknown): Run.Output<unknown> {
    const now = this.clock.unsafeCurrentTimeMillis()
    const metrics: Run.Metrics = {
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      totalTokens: this.totalTokens,
      ...(this.reasoningTokens !== undefined ? { reasoningTokens: this.reasoningTokens } : {}),
      ...(this.cachedInputTokens !== undefined ? { cachedInputTokens: this.cachedInputTokens } : {}),
      modelCalls: n,
      toolCalls: this.toolCalls.length,
      retries: this.retries,
      ...(this.firstTokenAt !== undefined
        ? { timeToFirstToken: Duration.millis(this.firstTokenAt - this.startedAt) }
        : {}),
      duration: Duration.millis(now - this.startedAt)
    }
    return {
      runId: this.runId,
      agent: this.agent.name,
      content,
      text: response.text,
      messages: this.messages,
      toolCalls: this.toolCalls,
      finishReason: response.finishReason,
      ...(response.model !== undefined ? { model: response.model } : {}),
      metrics
    }
  }

  /** What a traced run's span is told when it completes. */
  spanAttributes(n: number): Record<string, number> {
    return {
      "gen_ai.usage.input_tokens": this.inputTokens,
      "gen_ai.usage.output_tokens": this.outputTokens,
      "run.model_calls": n,
      "run.tool_calls": this.toolCalls.length
    }
  }
}

/** What is wrong with a tool guardrail's rewrite, if anything. */
const mismatch = (checked: Either.Either<unknown, ParseResult.ParseError>, what: string): string | undefined =>
  Either.isRight(checked)
    ? undefined
    : `The guardrail rewrote the call's ${what} to a value that does not match the tool's schema, so it blocked:\n${
      ParseResult.TreeFormatter.formatErrorSync(checked.left)
    }`

/** What `Loop.decode` gives for an answer sent back to be repaired. */
const repair: unique symbol = Symbol("effect-agents/internal/loop/repair")

const decodeOutput = Fast.weak(
  (schema: Schema.Schema<unknown, unknown, unknown>): (text: string) => Either.Either<unknown, ParseResult.ParseError> =>
    Schema.decodeEither(Schema.parseJson(schema as Schema.Schema<unknown, unknown>))
)

const assistantMessage = (turn: ModelCall.Turn): Prompt.AssistantMessage => {
  const content: Array<Prompt.AssistantMessagePart> = []
  if (turn.reasoning.length > 0) content.push(Fast.reasoningPart(turn.reasoning))
  if (turn.text.length > 0) content.push(Fast.textPart(turn.text))
  for (const call of turn.toolCalls) {
    content.push(Fast.toolCallPart(call.id, call.name, call.params, call.providerExecuted))
  }
  for (const result of turn.providerResults) {
    content.push(Fast.toolResultPart(result.id, result.name, result.isFailure, result.result, true))
  }
  return Fast.assistantMessage(content)
}

const buildSystemPrompt = (agent: Definition, lines: ReadonlyArray<string>): string => {
  const parts: Array<string> = []
  if (agent.description !== undefined) parts.push(agent.description)
  if (agent.role !== undefined) parts.push(`Your role: ${agent.role}`)
  for (const line of lines) if (line.length > 0) parts.push(line)
  if (agent.markdown) parts.push("Use markdown to format your answers.")
  if (agent.output !== undefined) parts.push(outputInstruction(agent.output))
  return parts.join("\n\n")
}

// The instructions of an agent whose instructions are not an Effect are the same on every run.
const staticSystemPrompt = Fast.weak((agent: Definition): string =>
  buildSystemPrompt(agent, lines(agent.instructions as string | ReadonlyArray<string>))
)

const lines = (instructions: string | ReadonlyArray<string>): ReadonlyArray<string> =>
  typeof instructions === "string" ? [instructions] : instructions

const outputInstruction = Fast.weak((schema: Schema.Schema<unknown, unknown, unknown>): string =>
  "Give your final answer as a single JSON value, with no other text, that matches this JSON Schema:\n" +
  JSON.stringify(Tool.getJsonSchemaFromSchemaAst(schema.ast) satisfies JSONSchema.JsonSchema7)
)
