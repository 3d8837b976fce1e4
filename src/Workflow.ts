/**
 * A workflow: steps (agents, teams, other workflows, plain Effects) composed into one run with a
 * typed input and a typed output, the third kind of runnable beside agents and teams.
 *
 * A step is a value `Step<I, O, E, R>`: it takes an `I`, gives an `O`, may fail with `E` and needs
 * `R`. Steps compose with:
 *
 * - {@link sequence}: each step's output is the next one's input, checked by type.
 * - {@link parallel}: several steps on the same input at once (bounded), results in order, and a
 *   policy for a branch that fails (fail the step, or keep every branch's result as an `Either`).
 * - {@link condition}: a step when a predicate holds, another (`else`) when it does not.
 * - {@link loop}: a step run again on its own previous output, until a predicate holds or a maximum
 *   number of iterations.
 * - {@link router}: one of several steps, chosen by a function or by a model.
 * - {@link signal}: waits for a value sent from outside the run ({@link send}, by the run's id).
 * - {@link approve}: a step that waits for a person's approval before it starts (the run pauses,
 *   and resumes through `Runnable.resume`).
 *
 * A workflow ({@link make}) is a step too (so workflows nest) and a runnable: it runs, streams,
 * prints, keeps sessions, serves over HTTP and is a team's member like an agent. Its events are one
 * stream: every step's start and end, and every event of an agent or team step nested in a
 * `StepEvent`. Its metrics are the sum of its steps' runs.
 *
 * This module is the workflow itself (its model, {@link make}, {@link run}, {@link stream}) and
 * re-exports the rest, each in a module of its own: what a step is and the steps that chain
 * (`WorkflowStep`), the control flow (`WorkflowControl`), the signals (`WorkflowSignal`), the
 * approvals (`WorkflowApproval`), and how a run's steps are carried out and recorded: the executors
 * of durable runs, the signal registry, the step runs (`WorkflowExecutor`).
 *
 * @since 0.3.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { ApprovalError, RunPaused, WorkflowError } from "./AgentError.js"
import * as Approval from "./Approval.js"
import * as EventStream from "./internal/eventStream.js"
import * as Id from "./internal/id.js"
import * as InternalRunnable from "./internal/runnable.js"
import * as Telemetry from "./internal/telemetry.js"
import * as Internal from "./internal/workflow.js"
import * as Run from "./Run.js"
import * as RunEvent from "./RunEvent.js"
import * as Runnable from "./Runnable.js"
import { CurrentExecutor, SignalRegistry, type StepRun } from "./WorkflowExecutor.js"
import { type Step, StepTypeId } from "./WorkflowStep.js"

export * from "./WorkflowApproval.js"
export * from "./WorkflowControl.js"
export * from "./WorkflowExecutor.js"
export * from "./WorkflowSignal.js"
export * from "./WorkflowStep.js"

/**
 * @since 0.3.0
 * @category type ids
 */
export const TypeId: typeof Internal.TypeId = Internal.TypeId

/**
 * @since 0.3.0
 * @category type ids
 */
export type TypeId = typeof TypeId

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

/**
 * The output of a workflow run: the last step's output as `content` (its text as `text`: the
 * content when it is a string, else its JSON), every step run in the order they started (`steps`),
 * and metrics that add up every agent and team step's run (the duration is the workflow's own).
 *
 * @since 0.3.0
 * @category models
 */
export interface WorkflowOutput<A> extends Run.Output<A> {
  readonly steps: ReadonlyArray<StepRun>
}

/**
 * A workflow with input `I` and output `O`; its steps may fail with `E` and need `R`. It is a step
 * (workflows nest) and a runnable (its answer is `O`).
 *
 * @since 0.3.0
 * @category models
 */
export interface Workflow<I, O, E = never, R = never> extends Step<I, O, E, R>, Runnable.Runnable<O, R> {
  readonly [TypeId]: TypeId
  readonly kind: "workflow"
  readonly name: string
  readonly description: string | undefined
  /** The schema its input is decoded with when it is run from text (HTTP, the command line). */
  readonly input: Schema.Schema<I, any, any>
}

/**
 * @since 0.3.0
 * @category guards
 */
export const isWorkflow = (u: unknown): u is Workflow<unknown, unknown, unknown, unknown> => Predicate.hasProperty(u, TypeId)

// -----------------------------------------------------------------------------
// Workflows
// -----------------------------------------------------------------------------

class WorkflowImpl extends Runnable.Base implements Internal.Node {
  readonly kind = "workflow" as const
  readonly markdown: boolean
  readonly parts: ReadonlyArray<{ readonly name: string }> | undefined
  readonly transparent = false
  readonly leaf = false
  constructor(
    readonly name: string,
    readonly description: string | undefined,
    readonly role: string | undefined,
    markdown: boolean | undefined,
    readonly input: Schema.Schema<any, any, any>,
    readonly output: Schema.Schema<any, any, any> | undefined,
    readonly root: Internal.Node
  ) {
    super()
    this.markdown = markdown ?? false
    this.parts = undefined
  }

  /** As a step of another workflow: its steps run under this step, in the same run. */
  body(input: unknown, at: Internal.At): Effect.Effect<unknown, unknown, unknown> {
    return Internal.runStep(this.root, input, at, "0")
  }

  child(place: string): Internal.Node | undefined {
    return place === "0" ? this.root : undefined
  }

  /** As a runnable: its input decoded from the run's text, its errors the protocol's. */
  runIn(input: Run.Input, context: Runnable.RunContext): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> {
    return runWorkflow(this, decodeInput(this, input), context.runId, context.userId, context.emit, true) as Effect.Effect<
      Run.Output<unknown>,
      Runnable.RunError,
      unknown
    >
  }
  /** A paused run of this workflow, resumed: the earlier steps' outputs replayed, the decisions applied. */
  override resumeIn(
    paused: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    emit: EventStream.Emit | undefined
  ): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> {
    return resumeWorkflow(this, paused, decisions, emit)
  }
}
Object.assign(WorkflowImpl.prototype, { [StepTypeId]: Internal.stepVariance, [TypeId]: TypeId })

/** The run's text as the workflow's input: as it is when the schema takes it, else as JSON. */
const decodeInput = (self: WorkflowImpl, input: Run.Input): Effect.Effect<unknown, WorkflowError, unknown> => {
  const text = Run.lastUserText(input) ?? ""
  const invalid = (detail: string) =>
    new WorkflowError({
      reason: "InvalidInput",
      workflow: self.name,
      message: `The input of the workflow "${self.name}" is not valid: ${detail}`
    })
  return Effect.orElse(Schema.decodeUnknown(self.input)(text), () => {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return Effect.flatMap(
        Effect.flip(Schema.decodeUnknown(self.input)(text)),
        (error) => Effect.fail(invalid(`send it as JSON that matches its schema.\n${ParseResult.TreeFormatter.formatErrorSync(error)}`))
      )
    }
    return Effect.mapError(
      Schema.decodeUnknown(self.input)(json),
      (error) => invalid(`it does not match the schema.\n${ParseResult.TreeFormatter.formatErrorSync(error)}`)
    )
  })
}

/** The text of a workflow's answer: the content when it is a string, else its JSON. */
const textOf = (self: WorkflowImpl, content: unknown): Effect.Effect<string> => {
  if (typeof content === "string") return Effect.succeed(content)
  const encoded = self.output === undefined
    ? Effect.succeed(content)
    : Effect.orElseSucceed(Schema.encodeUnknown(self.output)(content), () => content)
  return Effect.map(encoded as Effect.Effect<unknown>, (value) => {
    try {
      return JSON.stringify(value) ?? ""
    } catch {
      return String(value)
    }
  })
}

const runWorkflow = (
  self: WorkflowImpl,
  input: Effect.Effect<unknown, unknown, unknown>,
  runId: string,
  userId: string | undefined,
  emit: EventStream.Emit | undefined,
  protocol: boolean,
  resumed?: { readonly run: Internal.Resumed; readonly elapsed: number }
): Effect.Effect<WorkflowOutput<unknown>, unknown, unknown> =>
  Effect.gen(function*() {
    const signals = yield* SignalRegistry
    const startedAt = (yield* Effect.clockWith((clock) => clock.currentTimeMillis)) - (resumed?.elapsed ?? 0)
    const state: Internal.State = {
      runId,
      workflow: self.name,
      emit,
      userId,
      signals,
      steps: [],
      metrics: Run.emptyMetrics,
      failures: new Map(),
      executor: yield* CurrentExecutor,
      settled: new Map(),
      started: new Set(),
      ended: new Set(),
      resumed: resumed?.run
    }
    if (emit !== undefined && resumed === undefined) yield* emit(new RunEvent.RunStarted({ runId, agent: self.name }, true))
    let decoded: unknown
    const at: Internal.At = { state, parent: undefined, stepId: runId, key: "", run: undefined }
    const body = Effect.gen(function*() {
      decoded = yield* input
      const content = yield* Internal.runStep(self.root, decoded, at, "0")
      const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      const { timeToFirstToken: _, ...tallies } = state.metrics
      const output: WorkflowOutput<unknown> = {
        runId,
        agent: self.name,
        content,
        text: yield* textOf(self, content),
        messages: [],
        toolCalls: [],
        finishReason: "stop",
        metrics: { ...tallies, duration: Duration.millis(now - startedAt) },
        steps: state.steps.filter((run): run is StepRun => run !== undefined)
      }
      if (emit !== undefined) yield* emit(new RunEvent.RunCompleted({ runId, output }, true))
      return output
    })
    // A step waits for a person: the run pauses with what the steps that ran settled to.
    const pausing = Effect.catchIf(body, Internal.isPause, (pause) =>
      Effect.gen(function*() {
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const encodedInput = yield* Effect.orDie(Schema.encodeUnknown(self.input)(decoded))
        const workflowState: Approval.WorkflowState = {
          _tag: "Workflow",
          workflow: self.name,
          runId,
          token: Approval.makeToken(),
          ...(userId !== undefined ? { userId } : {}),
          input: encodedInput,
          settled: [...state.settled].map(([key, settled]) =>
            settled.run === undefined ? { key, output: settled.output } : { key, output: settled.output, run: settled.run }
          ),
          gates: pause.gates,
          nested: pause.nested,
          elapsed: now - startedAt,
          started: [...state.started],
          ended: [...state.ended]
        }
        const signed = yield* Approval.sign(workflowState)
        const pending = [...pause.gates.map((gate) => gate.request), ...pause.nested.flatMap((nested) => nested.pending)]
        return yield* Effect.fail(new RunPaused({ runId, pending, state: signed }))
      }))
    const runError = (error: unknown) => state.failures.get(error) ?? Internal.toRunError(error, self.name, undefined)
    const failing = Effect.tapError(
      protocol ? Effect.mapError(pausing, runError) : pausing,
      (error) => {
        if (emit === undefined) return Effect.void
        if (error instanceof RunPaused) {
          return emit(new RunEvent.RunPaused({ runId, pending: error.pending, state: error.state }, true))
        }
        const failure = runError(error)
        return failure._tag === "MemoryError" ? Effect.void : emit(new RunEvent.RunFailed({ runId, error: failure }, true))
      }
    )
    return yield* Effect.ensuring(Effect.zipRight(signals.open(runId), failing), signals.close(runId))
  }).pipe((run) => Telemetry.invokeAgentIfTraced(run, { name: self.name, runId, operation: "invoke_workflow" }))

const stale = (message: string) => new ApprovalError({ reason: "Stale", message })

const resumeWorkflow = (
  self: WorkflowImpl,
  paused: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>,
  emit: EventStream.Emit | undefined
): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> =>
  Effect.flatMap(Approval.admit(paused, (body) => decide(self, body, decisions)), ({ body, gates, input, nested }) => {
    const replay = new Map(body.settled.map((each) => [each.key, { output: each.output, run: each.run }] as const))
    // The run is for the user it was for (signed with it), whoever resumes it; else its resume's.
    return Effect.flatMap(InternalRunnable.resumeUser(body.userId), (userId) =>
      runWorkflow(self, Effect.succeed(input), body.runId, userId, emit, true, {
        run: { replay, gates, nested, started: new Set(body.started), ended: new Set(body.ended) },
        elapsed: body.elapsed
      })) as Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown>
  })

/**
 * The checks of a workflow's resume that are its own (see `Approval.admit`): that it paused this
 * workflow, its input, the decisions on its gates, and those on its steps' runs, which each step's
 * runnable checks (edited arguments against its tools' schemas...) before the workflow's pause is
 * spent, so a decision any of them refuses leaves the run waiting for a corrected one.
 */
const decide = (
  self: WorkflowImpl,
  body: Approval.Body,
  decisions: ReadonlyArray<Approval.Decision>
): Effect.Effect<
  {
    readonly body: Approval.WorkflowState
    readonly input: unknown
    readonly gates: Map<string, Approval.Decision>
    readonly nested: Map<string, { inner: Approval.Body; decisions: Array<Approval.Decision> }>
  },
  ApprovalError,
  unknown
> =>
  Effect.gen(function*() {
    if (body._tag !== "Workflow" || body.workflow !== self.name) {
      return yield* stale(
        `The paused run belongs to ${Approval.ownerOf(body)}, not to workflow "${self.name}": ` +
          "resume it with the runnable that paused it."
      )
    }
    const input = yield* Effect.mapError(
      Schema.decodeUnknown(self.input)(body.input),
      () => stale(`The paused run's input no longer matches the input schema of workflow "${self.name}": run it again instead.`)
    )
    const gates = new Map<string, Approval.Decision>()
    const nested = new Map<string, { inner: Approval.Body; decisions: Array<Approval.Decision> }>()
    for (const decision of decisions) {
      const gate = decision.path.length === 0
        ? body.gates.find((gate) => gate.request.toolCallId === decision.toolCallId)
        : undefined
      if (gate !== undefined) {
        const wrong = Approval.wrongKind(gate.request, decision)
        if (wrong !== undefined) return yield* wrong
        if (decision._tag === "Approve" && decision.arguments !== undefined) {
          return yield* new ApprovalError({
            reason: "InvalidArguments",
            toolCallId: decision.toolCallId,
            message: `"${gate.request.tool}" is a step that waits for approval: it has no arguments to edit. ` +
              "Approve it without arguments, or reject it."
          })
        }
        gates.set(gate.key, decision)
        continue
      }
      const step = body.nested.find((each) => each.name === decision.path[0])
      if (step === undefined) {
        const waiting = [
          ...body.gates.map((gate) => `"${gate.request.toolCallId}" (approve or reject)`),
          ...body.nested.flatMap((each) => each.pending.map((request) => `"${[...request.path, request.toolCallId].join("/")}"`))
        ]
        return yield* new ApprovalError({
          reason: "UnknownCall",
          toolCallId: decision.toolCallId,
          message: `No call "${[...decision.path, decision.toolCallId].join("/")}" waits for a decision in this run: ` +
            `it waits for ${waiting.join(", ")}.`
        })
      }
      const entry = nested.get(step.key) ?? { inner: Approval.decodeBody(step.inner), decisions: [] }
      entry.decisions.push({ ...decision, path: decision.path.slice(1) })
      nested.set(step.key, entry)
    }
    for (const step of body.nested) {
      if (!nested.has(step.key)) nested.set(step.key, { inner: Approval.decodeBody(step.inner), decisions: [] })
    }
    // Each step's run checks the decisions for it, before anything runs and before any pause is spent.
    for (const [key, entry] of nested) {
      const check = Internal.find(self.root, key)?.check
      if (check !== undefined && entry.decisions.length > 0) {
        yield* check(yield* Approval.sign(entry.inner), entry.decisions, body.userId)
      }
    }
    return { body, input, gates, nested }
  })

/**
 * Builds a workflow from its input schema and its steps (one step, usually a {@link sequence}).
 * Run from text (the HTTP app, the command line, a team), its input is the text when the schema
 * takes a string, else JSON decoded with the schema; an input that does not decode fails with a
 * `WorkflowError` (`InvalidInput`) that says what was expected. With `output`, an answer that is not
 * a string is encoded with it for the run's `text`.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Agent, Workflow } from "effect-agents"
 *
 * const writer = Agent.make({ name: "Writer", role: "Write a short post" })
 *
 * const post = Workflow.make({
 *   name: "Post",
 *   input: Schema.Struct({ topic: Schema.String, words: Schema.Number }),
 *   steps: Workflow.sequence(
 *     Workflow.step("brief", ({ topic, words }: { readonly topic: string; readonly words: number }) =>
 *       Effect.succeed(`Write about ${topic} in at most ${words} words.`)),
 *     Workflow.agent(writer)
 *   )
 * })
 *
 * // Effect<Workflow.WorkflowOutput<string>, AgentError, LanguageModel>
 * const program = Workflow.run(post, { topic: "fibers", words: 50 })
 * ```
 */
export const make = <I, II, RI, O, E, R, OI = unknown, RO = never>(options: {
  readonly name: string
  readonly description?: string | undefined
  readonly role?: string | undefined
  readonly markdown?: boolean | undefined
  readonly input: Schema.Schema<I, II, RI>
  readonly output?: Schema.Schema<NoInfer<O>, OI, RO> | undefined
  readonly steps: Step<I, O, E, R>
}): Workflow<I, O, E, R | RI | RO> =>
  new WorkflowImpl(
    options.name,
    options.description,
    options.role,
    options.markdown,
    options.input,
    options.output,
    Internal.nodeOf(options.steps)
  ) as unknown as Workflow<I, O, E, R | RI | RO>

/**
 * Options of a typed run of a workflow: its id (a random UUID when not given; signals are sent to
 * it), the user it runs for, and `onEvent`, called with each event as it happens.
 *
 * @since 0.3.0
 * @category models
 */
export interface RunOptions {
  readonly runId?: string | undefined
  readonly userId?: string | undefined
  readonly onEvent?: ((event: RunEvent.RunEvent) => Effect.Effect<void>) | undefined
  readonly eventBuffer?: number | undefined
}

/**
 * Runs a workflow on a typed input (no decoding), to its typed output; it fails with its steps'
 * errors as they are. To run it from text, in a session, or print it, use `Runnable.run`,
 * `Runnable.stream`, `Runnable.printResponse` (its errors are then `AgentError`s: a plain step's own
 * error is a `WorkflowError` carrying it).
 *
 * @since 0.3.0
 * @category running
 */
export const run: {
  <I>(input: NoInfer<I>, options?: RunOptions): <O, E, R>(self: Workflow<I, O, E, R>) => Effect.Effect<WorkflowOutput<O>, E, R>
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: NoInfer<I>, options?: RunOptions): Effect.Effect<WorkflowOutput<O>, E, R>
} = dual(
  (args) => isWorkflow(args[0]),
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: I, options?: RunOptions) =>
    Effect.suspend(() =>
      runWorkflow(
        self as unknown as WorkflowImpl,
        Effect.succeed(input),
        options?.runId ?? Id.uuid(),
        options?.userId,
        options?.onEvent,
        false
      )
    ) as Effect.Effect<WorkflowOutput<O>, E, R>
)

/**
 * Runs a workflow on a typed input as a stream of its events: each step's start and end, the
 * events of agent and team steps nested in `StepEvent`s, and last the completed run. A consumer
 * that stops reading interrupts the run.
 *
 * @since 0.3.0
 * @category running
 */
export const stream: {
  <I>(input: NoInfer<I>, options?: RunOptions): <O, E, R>(self: Workflow<I, O, E, R>) => Stream.Stream<RunEvent.RunEvent<O>, E, R>
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: NoInfer<I>, options?: RunOptions): Stream.Stream<RunEvent.RunEvent<O>, E, R>
} = dual(
  (args) => isWorkflow(args[0]),
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: I, options?: RunOptions) =>
    EventStream.fromRun(
      (emit) =>
        Effect.suspend(() =>
          runWorkflow(self as unknown as WorkflowImpl, Effect.succeed(input), options?.runId ?? Id.uuid(), options?.userId, emit, false)
        ),
      options?.onEvent,
      options?.eventBuffer
    ) as Stream.Stream<RunEvent.RunEvent<O>, E, R>
)

/**
 * Whether a run's output is a workflow's.
 *
 * @since 0.3.0
 * @category guards
 */
export const isOutput = <A>(output: Run.Output<A>): output is WorkflowOutput<A> =>
  Array.isArray((output as { readonly steps?: unknown }).steps)
