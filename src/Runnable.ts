/**
 * What runs: an agent, a team, or a kind of one's own, as one protocol. A runnable has a name, a
 * description (for a team leader choosing a member, and for the registry), and a run from an input
 * and a {@link RunContext} to a `Run.Output`, reporting its events as it goes.
 *
 * Everything around a run is written once, here, against the protocol: sessions (history, state and
 * the run's record), a user's memory, the event stream, the terminal printer, services and layers.
 * The registry, the HTTP app and the command line run any runnable without knowing its kind, and a
 * new kind of runnable is one value made with {@link make} (or one class implementing the
 * interface): nothing else changes.
 *
 * @since 0.2.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Memory from "../services/Memory.js"
import type * as SessionState from "../services/SessionState.js"
import type * as SessionStore from "../services/SessionStore.js"
import { type AgentError, ApprovalError } from "./AgentError.js"
import type * as Approval from "./Approval.js"
import type * as InternalDefinition from "./internal/definition.js"
import * as EventStream from "./internal/eventStream.js"
import * as InternalRunnable from "./internal/runnable.js"
import * as Printer from "./Printer.js"
import type * as Run from "./Run.js"
import type * as RunEvent from "./RunEvent.js"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: typeof InternalRunnable.TypeId = InternalRunnable.TypeId

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Where a run reports its events. The run waits for each report, so a slow reader slows the run
 * down (backpressure); `all` reports several at once, in order.
 *
 * @since 0.2.0
 * @category models
 */
export interface Emit extends EventStream.Emit {}

/**
 * What one run is given besides its input: made once per run by whoever starts it, and passed down
 * as it is.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunContext extends InternalRunnable.RunContext {
  /** Where the run reports its events (waiting for each); `undefined` when nobody reads them. */
  readonly emit: Emit | undefined
}

/**
 * A runnable whose answer has type `A` and whose runs need the services `R`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Runnable<out A = string, out R = never> extends InternalRunnable.Runnable<A, R> {
  /**
   * One run: its input and its context to its output, reporting each event to `context.emit`. The
   * session machinery, the stream and the printer are around it: this is the kind's own work only.
   */
  readonly runIn: (input: Run.Input, context: RunContext) => Effect.Effect<Run.Output<A>, RunError, R>
  /**
   * A paused run of this runnable (see `Approval`), resumed with decisions, reporting its events to
   * `emit`. A kind that cannot pause keeps the default of {@link Base}, which fails with an
   * `ApprovalError`: the registry, the HTTP app and teams resume any runnable through here.
   */
  readonly resumeIn: (
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    emit: Emit | undefined
  ) => Effect.Effect<Run.Output<A>, RunError, R>
}

/**
 * How a run can fail: the agent errors, and a user's memory that cannot be read.
 *
 * @since 0.2.0
 * @category models
 */
export type RunError = AgentError | Memory.MemoryError

/**
 * @since 0.2.0
 * @category guards
 */
export const isRunnable = (u: unknown): u is Runnable<unknown, unknown> => Predicate.hasProperty(u, TypeId)

/**
 * What every runnable's prototype has: the protocol's type id and `pipe`. A kind of runnable is a
 * class that extends it, with the fields and the `runIn` of the protocol.
 *
 * @since 0.2.0
 * @category constructors
 */
export class Base implements Pipeable {
  pipe() {
    return pipeArguments(this, arguments)
  }

  /**
   * A paused run of this runnable, resumed with decisions (see {@link resume}). By default a
   * runnable cannot pause, so there is nothing to resume: a typed `ApprovalError`. A kind that can
   * pause overrides it.
   */
  resumeIn(
    state: Approval.State,
    _decisions: ReadonlyArray<Approval.Decision>,
    _emit: Emit | undefined
  ): Effect.Effect<Run.Output<unknown>, RunError, unknown> {
    const self = this as unknown as { readonly name?: string; readonly kind?: string }
    return Effect.fail(
      new ApprovalError({
        reason: "Stale",
        message: `"${self.name}" (${self.kind ?? "a runnable"}) cannot pause, so it has no paused run to resume; ` +
          `the paused run ${state.body.runId} belongs to ${
            state.body._tag === "Agent"
              ? `agent "${state.body.agent}"`
              : state.body._tag === "Workflow"
              ? `workflow "${state.body.workflow}"`
              : `team "${state.body.team}"`
          }: resume it with that.`
      })
    )
  }
}
Object.assign(Base.prototype, { [TypeId]: InternalRunnable.variance })

class Made extends Base {
  readonly kind: string
  readonly markdown: boolean
  readonly parts = undefined
  constructor(
    readonly name: string,
    readonly description: string | undefined,
    readonly role: string | undefined,
    kind: string | undefined,
    markdown: boolean | undefined,
    readonly runIn: (input: Run.Input, context: RunContext) => Effect.Effect<Run.Output<unknown>, RunError, unknown>
  ) {
    super()
    this.kind = kind ?? "runnable"
    this.markdown = markdown ?? false
  }
}

/**
 * A kind of runnable of one's own: a name, and a run from an input and its context to an output.
 * It runs in sessions, streams, prints, and is served by the registry and the HTTP app like an
 * agent. Its events, if it has any, go to `context.emit`.
 *
 * @since 0.2.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Run, Runnable } from "effect-agents"
 *
 * // Answers with the message reversed: a runnable with no model at all.
 * const reverse = Runnable.make({
 *   name: "Reverse",
 *   description: "Reverses the message",
 *   run: (input, context) =>
 *     Effect.succeed(Run.makeOutput({
 *       runId: context.runId,
 *       agent: "Reverse",
 *       content: [...String(input)].reverse().join("")
 *     }))
 * })
 * ```
 */
export const make = <A, R = never>(options: {
  readonly name: string
  readonly run: (input: Run.Input, context: RunContext) => Effect.Effect<Run.Output<A>, RunError, R>
  readonly description?: string | undefined
  readonly role?: string | undefined
  readonly kind?: string | undefined
  readonly markdown?: boolean | undefined
}): Runnable<A, R> =>
  new Made(
    options.name,
    options.description,
    options.role,
    options.kind,
    options.markdown,
    options.run as Made["runIn"]
  ) as unknown as Runnable<A, R>

// -----------------------------------------------------------------------------
// Options, requirements and errors of a run
// -----------------------------------------------------------------------------

/**
 * Options of one run.
 *
 * - `runId`: the id of the run; a random UUID when not given.
 * - `history`: earlier messages of the conversation, placed between the instructions and the input.
 * - `onEvent`: called with each event of the run as it happens, in the run's own fiber (the run
 *   waits for it). With it, `run` streams from the model, so text arrives as `TextDelta` events,
 *   and still returns the typed output.
 * - `eventBuffer`: for `stream`, how many events the run may get ahead of the stream's reader before
 *   it waits for it (backpressure). Default 256; at least 1.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunOptions extends InternalDefinition.RunOptions {}

/**
 * Options that make a run part of a conversation.
 *
 * - `sessionId`: the run continues this session of its user: the last runs of the session are put
 *   before its input, and its record (input, messages, tool calls, metrics, outcome) is appended
 *   when it ends — completed, failed or cancelled. A session starts with its first run. The run then
 *   needs a `SessionStore`, and provides `SessionState` to its tools.
 * - `userId`: whose session and memory it is. Sessions are keyed by user and session id, so two
 *   users with the same session id never see each other's runs. Default `"anonymous"`. With a
 *   `Memory` store, the run provides the user's `UserMemory` (which `withMemory` agents need).
 * - `historyRuns`: how many of the session's last completed runs are put in the prompt. Default 10;
 *   `0` for none, `Infinity` for all. Failed and cancelled runs are recorded but never replayed.
 * - `historyMessages`: the most history messages the prompt may get; older runs are left out whole.
 *
 * @since 0.2.0
 * @category models
 */
export interface SessionOptions extends InternalDefinition.SessionOptions {}

type Given<O, K extends string> = K extends keyof O ? [O[K]] extends [undefined] ? false : true : false

type UsesMemory<R> = [Extract<R, Memory.UserMemory>] extends [never] ? false : true

/**
 * What a run with options `O` of a runnable that needs `R` needs: a session (`sessionId`) needs a
 * `SessionStore` and provides `SessionState`; a user (`userId`) provides `UserMemory`, from a `Memory`
 * store when the runnable uses it.
 *
 * @since 0.2.0
 * @category models
 */
export type Requirements<R, O> = Given<O, "sessionId"> extends true ? Given<O, "userId"> extends true ?
      | Exclude<R, SessionState.SessionState | Memory.UserMemory>
      | SessionStore.SessionStore
      | (UsesMemory<R> extends true ? Memory.Memory : never)
    : Exclude<R, SessionState.SessionState> | SessionStore.SessionStore
  : Given<O, "userId"> extends true ? Exclude<R, Memory.UserMemory> | (UsesMemory<R> extends true ? Memory.Memory : never)
  : R

/**
 * How a run with options `O` of a runnable that needs `R` can fail: its `AgentError` (which covers
 * a user's memory), and the store's error when it is part of a session. It does not depend on `R`,
 * so it is known inside a function generic over the runnable: `catchTags` there reads the fields of
 * each error. `R` stays a parameter so that the alias keeps its shape for its users.
 *
 * @since 0.2.0
 * @category models
 */
export type Errors<_R, O> = Given<O, "sessionId"> extends true ? AgentError | SessionStore.SessionStoreError
  : AgentError

/**
 * The options a run accepts: any others are a compile error (as they would be without sessions).
 *
 * @since 0.2.0
 * @category models
 */
export type Exact<O, Known> = O & Known & { readonly [K in Exclude<keyof O, keyof Known>]: never }

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * Runs a runnable to its output. With a `sessionId` (see {@link SessionOptions}) the run is a turn
 * of that session: its last runs go into the prompt, and the run's record is appended when it ends.
 *
 * @since 0.2.0
 * @category running
 */
export const run: {
  <O extends RunOptions & SessionOptions = {}>(
    input: Run.Input,
    options?: Exact<O, RunOptions & SessionOptions>
  ): <A, R>(self: Runnable<A, R>) => Effect.Effect<Run.Output<A>, Errors<R, O>, Requirements<R, O>>
  <A, R, O extends RunOptions & SessionOptions = {}>(
    self: Runnable<A, R>,
    input: Run.Input,
    options?: Exact<O, RunOptions & SessionOptions>
  ): Effect.Effect<Run.Output<A>, Errors<R, O>, Requirements<R, O>>
} = dual(
  (args) => isRunnable(args[0]),
  <A, R>(self: Runnable<A, R>, input: Run.Input, options?: RunOptions & SessionOptions) =>
    InternalRunnable.run(self, input, options, options?.onEvent) as Effect.Effect<Run.Output<A>, any, any>
)

/**
 * Runs a runnable as a stream of its events, last the completed run (or its failure). A consumer
 * that stops reading interrupts the run.
 *
 * @since 0.2.0
 * @category running
 */
export const stream: {
  <O extends RunOptions & SessionOptions = {}>(
    input: Run.Input,
    options?: Exact<O, RunOptions & SessionOptions>
  ): <A, R>(self: Runnable<A, R>) => Stream.Stream<RunEvent.RunEvent<A>, Errors<R, O>, Requirements<R, O>>
  <A, R, O extends RunOptions & SessionOptions = {}>(
    self: Runnable<A, R>,
    input: Run.Input,
    options?: Exact<O, RunOptions & SessionOptions>
  ): Stream.Stream<RunEvent.RunEvent<A>, Errors<R, O>, Requirements<R, O>>
} = dual(
  (args) => isRunnable(args[0]),
  <A, R>(self: Runnable<A, R>, input: Run.Input, options?: RunOptions & SessionOptions) =>
    InternalRunnable.stream(self, input, options) as Stream.Stream<RunEvent.RunEvent<A>, any, any>
)

/**
 * Runs a runnable and prints the exchange to the terminal: the message, tool calls, the response
 * and its timing; live with `stream: true`. Markdown is rendered when the runnable or the options
 * ask for it.
 *
 * @since 0.2.0
 * @category running
 */
export const printResponse: {
  <O extends Printer.Options & RunOptions & SessionOptions = {}>(
    input: Run.Input,
    options?: Exact<O, Printer.Options & RunOptions & SessionOptions>
  ): <A, R>(self: Runnable<A, R>) => Effect.Effect<Run.Output<A>, Errors<R, O>, Requirements<R, O>>
  <A, R, O extends Printer.Options & RunOptions & SessionOptions = {}>(
    self: Runnable<A, R>,
    input: Run.Input,
    options?: Exact<O, Printer.Options & RunOptions & SessionOptions>
  ): Effect.Effect<Run.Output<A>, Errors<R, O>, Requirements<R, O>>
} = dual(
  (args) => isRunnable(args[0]),
  <A, R>(self: Runnable<A, R>, input: Run.Input, options?: Printer.Options & RunOptions & SessionOptions) => {
    const printer = { ...options, markdown: options?.markdown ?? self.markdown }
    return (options?.stream === true
      ? Printer.printStream(InternalRunnable.stream(self, input, options), input, printer)
      : Printer.printRun(InternalRunnable.run(self, input, options, options?.onEvent), input, printer)) as Effect.Effect<
        Run.Output<A>,
        any,
        any
      >
  }
)

/**
 * Options of a resumed run: who sees its events, and how far it may get ahead of its stream's reader;
 * and, for a run that paused as a turn of a session, that session (`sessionId`, `userId`): the
 * resume runs as a turn of it and records the run again when it ends, so that the session's history
 * has the run's question and answer once, as if it had never paused.
 *
 * `userId`: an agent, a team or a workflow resumes for the user its signed state carries (the one
 * it ran for), whoever resumes it and whether or not the resume names one; a resume that names
 * another user is refused (`ApprovalError` `Forged`). A state that carries no user resumes for the
 * user the resume names.
 *
 * @since 0.3.0
 * @category models
 */
export interface ResumeOptions {
  readonly onEvent?: RunOptions["onEvent"]
  readonly eventBuffer?: RunOptions["eventBuffer"]
  readonly sessionId?: SessionOptions["sessionId"]
  readonly userId?: SessionOptions["userId"]
}

/**
 * Resumes a paused run of any runnable (see `Approval`) with decisions on its pending calls: agents
 * and teams resume; a kind that cannot pause fails with an `ApprovalError`. The same path the
 * registry, the HTTP app and teams take, whatever the kind. A run that paused in a session resumes
 * in it with the same `sessionId` and `userId` (a run without a paused record there is a `Stale`
 * `ApprovalError`).
 *
 * @since 0.3.0
 * @category running
 */
export const resume: {
  <O extends ResumeOptions = {}>(
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    options?: Exact<O, ResumeOptions>
  ): <A, R>(self: Runnable<A, R>) => Effect.Effect<Run.Output<A>, Errors<R, O>, Requirements<R, O>>
  <A, R, O extends ResumeOptions = {}>(
    self: Runnable<A, R>,
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    options?: Exact<O, ResumeOptions>
  ): Effect.Effect<Run.Output<A>, Errors<R, O>, Requirements<R, O>>
} = dual(
  (args) => isRunnable(args[0]),
  <A, R>(self: Runnable<A, R>, state: Approval.State, decisions: ReadonlyArray<Approval.Decision>, options?: ResumeOptions) =>
    InternalRunnable.resume(self, state, decisions, options, options?.onEvent) as Effect.Effect<Run.Output<A>, any, any>
)

/**
 * {@link resume} as a stream of the resumed run's events.
 *
 * @since 0.3.0
 * @category running
 */
export const resumeStream: {
  <O extends ResumeOptions = {}>(
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    options?: Exact<O, ResumeOptions>
  ): <A, R>(self: Runnable<A, R>) => Stream.Stream<RunEvent.RunEvent<A>, Errors<R, O>, Requirements<R, O>>
  <A, R, O extends ResumeOptions = {}>(
    self: Runnable<A, R>,
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    options?: Exact<O, ResumeOptions>
  ): Stream.Stream<RunEvent.RunEvent<A>, Errors<R, O>, Requirements<R, O>>
} = dual(
  (args) => isRunnable(args[0]),
  <A, R>(self: Runnable<A, R>, state: Approval.State, decisions: ReadonlyArray<Approval.Decision>, options?: ResumeOptions) =>
    EventStream.fromRun(
      (emit) => InternalRunnable.resume(self, state, decisions, options, emit),
      options?.onEvent,
      options?.eventBuffer
    ) as Stream.Stream<RunEvent.RunEvent, any, any>
)

// -----------------------------------------------------------------------------
// Services
// -----------------------------------------------------------------------------

/**
 * The options of a plain {@link Service}: it has no store, so a session is a compile error there.
 *
 * @since 0.2.0
 * @category models
 */
export interface NoSession {
  readonly sessionId?: never
  readonly userId?: never
}

/**
 * A runnable ready to run, with its requirements already provided: what an application gets when it
 * asks for an agent or a team by its tag.
 *
 * @since 0.2.0
 * @category services
 */
export interface Service<A = string> {
  readonly name: string
  readonly run: (input: Run.Input, options?: RunOptions & NoSession) => Effect.Effect<Run.Output<A>, AgentError>
  readonly stream: (input: Run.Input, options?: RunOptions & NoSession) => Stream.Stream<RunEvent.RunEvent<A>, AgentError>
}

/**
 * The options of a {@link SessionService} run: it always runs in a session of a user.
 *
 * @since 0.2.0
 * @category models
 */
export interface SessionRunOptions extends RunOptions, SessionOptions {
  readonly sessionId: string
  readonly userId: string
}

/**
 * A runnable ready to run in sessions, its store (and memory) already provided: what a chat
 * application gets when it asks for its agent by tag. {@link layer} builds it when the tag's service
 * is a `SessionService`.
 *
 * @since 0.2.0
 * @category services
 */
export interface SessionService<A = string> {
  readonly name: string
  readonly run: (
    input: Run.Input,
    options: SessionRunOptions
  ) => Effect.Effect<Run.Output<A>, AgentError | SessionStore.SessionStoreError>
  readonly stream: (
    input: Run.Input,
    options: SessionRunOptions
  ) => Stream.Stream<RunEvent.RunEvent<A>, AgentError | SessionStore.SessionStoreError>
}

/**
 * A runnable bound to a context: it runs with those services, with or without a session.
 *
 * @since 0.2.0
 * @category services
 */
export const bind = <A, R>(self: Runnable<A, R>, context: Context.Context<R>): Service<A> & SessionService<A> => ({
  name: self.name,
  run: (input: Run.Input, options?: RunOptions & SessionOptions) =>
    Effect.provide(InternalRunnable.run(self, input, options, options?.onEvent), context) as Effect.Effect<
      Run.Output<A>,
      AgentError
    >,
  stream: (input: Run.Input, options?: RunOptions & SessionOptions) =>
    Stream.provideContext(InternalRunnable.stream(self, input, options), context as Context.Context<unknown>) as Stream.Stream<
      RunEvent.RunEvent<A>,
      AgentError
    >
})

/**
 * The runnable as a {@link Service}, bound to the current context.
 *
 * @since 0.2.0
 * @category services
 */
export const toService = <A, R>(self: Runnable<A, R>): Effect.Effect<Service<A>, never, R> =>
  Effect.map(Effect.context<R>(), (context) => bind(self, context))

/**
 * Provides a runnable as a service under a tag, so an application can `yield*` it and a test can
 * provide another. When the tag's service is a {@link SessionService}, the layer also needs the
 * session store (and the memory store, for a runnable with memory).
 *
 * @since 0.2.0
 * @category services
 */
export const layer: {
  <Id, A, R>(
    tag: Context.Tag<Id, SessionService<A>>,
    self: Runnable<A, R>
  ): Layer.Layer<Id, never, Exclude<Requirements<R, SessionRunOptions>, Scope.Scope>>
  <Id, A, R>(tag: Context.Tag<Id, Service<A>>, self: Runnable<A, R>): Layer.Layer<Id, never, Exclude<R, Scope.Scope>>
} = <Id, A, R>(tag: Context.Tag<Id, any>, self: Runnable<A, R>): Layer.Layer<Id, never, any> =>
  Layer.effect(tag, Effect.map(Effect.context<R>(), (context) => bind(self, context)))
