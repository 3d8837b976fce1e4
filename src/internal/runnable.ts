/**
 * What is around every run, whatever runs: the run's context, a user's memory, a session, the event
 * stream. Agents, teams and runnables of one's own go through here; their own work is their `runIn`.
 */
import type * as Prompt from "@effect/ai/Prompt"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as Memory from "../../services/Memory.js"
import type * as Run from "../Run.js"
import type * as RunEvent from "../RunEvent.js"
import type { Pipeable } from "effect/Pipeable"
import type { AgentError } from "../AgentError.js"
import * as Approval from "../Approval.js"
import type { RunOptions, SessionOptions } from "./definition.js"
import * as EventStream from "./eventStream.js"
import * as Id from "./id.js"
import * as InternalSession from "./session.js"

export const TypeId: unique symbol = Symbol.for("effect-agents/Runnable")

/** The variance marker every runnable carries under {@link TypeId} (the same object for all). */
export const variance = { _A: (_: never) => _, _R: (_: never) => _ }

// The protocol, documented where it is exported (`Runnable.Runnable`, `Runnable.RunContext`).

export interface RunContext {
  /** The run's id: the caller's, or a random UUID. */
  readonly runId: string
  /** Earlier messages of the conversation (a session's runs, then the caller's), before the input. */
  readonly history: ReadonlyArray<Prompt.Message> | undefined
  /** The session the run is a turn of, when it is one. */
  readonly sessionId: string | undefined
  /** The user the run is for, when it names one: parts of the run (a team's members) run for them too. */
  readonly userId: string | undefined
  /** Where the run reports its events (waiting for each); `undefined` when nobody reads them. */
  readonly emit: EventStream.Emit | undefined
}

export type RunError = AgentError | Memory.MemoryError

export interface Runnable<out A = string, out R = never> extends Pipeable {
  readonly [TypeId]: {
    readonly _A: (_: never) => A
    readonly _R: (_: never) => R
  }
  /** Shown in events, traces, output and the registry; unique in a registry and in a team. */
  readonly name: string
  /** What it is, for a team leader choosing a member and for the registry. */
  readonly description: string | undefined
  /** What it does, when it says so; a team leader reads it before the description. */
  readonly role: string | undefined
  /** What kind of runnable it is, as the registry and the HTTP app list it: `agent`, `team`, ... */
  readonly kind: string
  /** Whether its answers are markdown (the printer renders them so). */
  readonly markdown: boolean
  /** The runnables it runs, when it is made of others (a team's members), as the registry lists them. */
  readonly parts: ReadonlyArray<{ readonly name: string }> | undefined
  /**
   * One run: its input and its context to its output, reporting each event to `context.emit`. The
   * session machinery, the stream and the printer are around it: this is the kind's own work only.
   */
  readonly runIn: (input: Run.Input, context: RunContext) => Effect.Effect<Run.Output<A>, RunError, R>
  /**
   * A paused run of this runnable (see `Approval`), resumed with decisions, reporting its events to
   * `emit`. A kind that cannot pause keeps the default of `Runnable.Base`, which fails with an
   * `ApprovalError`: the registry, the HTTP app and teams resume any runnable through here.
   */
  readonly resumeIn: (
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    emit: EventStream.Emit | undefined
  ) => Effect.Effect<Run.Output<A>, RunError, R>
}

/** Every option of a run. */
export interface Options extends RunOptions, SessionOptions {}

/** What a run can fail with: its own errors, the store's and the memory's. */
export type Errors = RunError | InternalSession.Errors

type Any = Runnable<unknown, unknown>

/**
 * Runs a runnable, in its session when the options name one: with the user's memory, the session's
 * history and state, and its record appended at the end. Without a session or a user this is the
 * runnable's own run and nothing more.
 */
export const run = (
  self: Any,
  input: Run.Input,
  options: Options | undefined,
  emit: EventStream.Emit | undefined
): Effect.Effect<Run.Output<unknown>, Errors, unknown> => {
  const sessionId = options?.sessionId
  const userId = options?.userId
  if (sessionId === undefined && userId === undefined) {
    return self.runIn(input, {
      runId: options?.runId ?? Id.uuid(),
      history: options?.history,
      sessionId: undefined,
      userId: undefined,
      emit
    })
  }
  return withUser(userId, (context) =>
    sessionId === undefined
      ? provide(
        self.runIn(input, { runId: options?.runId ?? Id.uuid(), history: options?.history, sessionId, userId, emit }),
        context
      )
      : InternalSession.inSessionWith(
        self.name,
        input,
        options as Options & { readonly sessionId: string },
        (prepared) =>
          self.runIn(prepared.input, {
            runId: prepared.runId,
            history: prepared.history,
            sessionId,
            userId,
            emit
          }),
        context
      ))
}

/** The options of a resume: its events, and the session and user the paused run was a turn of. */
export interface ResumeOptions {
  readonly sessionId?: string | undefined
  readonly userId?: string | undefined
}

/**
 * Resumes a paused run of a runnable, in its session when the options name one: with the user's
 * memory and the session's state, recorded in the session when it ends (see
 * `InternalSession.resumeInSession`). Without a session or a user this is the runnable's own resume.
 */
export const resume = (
  self: Any,
  state: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>,
  options: ResumeOptions | undefined,
  emit: EventStream.Emit | undefined
): Effect.Effect<Run.Output<unknown>, Errors, unknown> => {
  const sessionId = options?.sessionId
  // A paused run carries its user in its signed state: it resumes for that user, and a resume for
  // another is refused.
  const foreign = Approval.foreignUser(state.body, options?.userId)
  if (foreign !== undefined) return Effect.fail(foreign)
  const userId = options?.userId ?? Approval.userOf(state.body)
  if (sessionId === undefined && userId === undefined) return self.resumeIn(state, decisions, emit)
  return withUser(userId, (memory) => {
    // A state that names no user resumes for the one its resume names, its next pause included.
    const context = userId === undefined ? memory : Context.add(memory ?? Context.empty(), ResumeUser, userId)
    return sessionId === undefined
      ? provide(self.resumeIn(state, decisions, emit), context)
      : InternalSession.resumeInSession(
        self.name,
        state.body.runId,
        { sessionId, userId },
        self.resumeIn(state, decisions, emit),
        context
      )
  })
}

/**
 * The user a resume names, given to the resumed run: a kind's `resumeIn` runs a paused state that
 * names no user for this one (and signs its next pause with it). A state's signed user comes first.
 */
export class ResumeUser extends Context.Reference<ResumeUser>()("effect-agents/ResumeUser", {
  defaultValue: (): string | undefined => undefined
}) {}

/** The user a paused run resumes for: the one signed in its state, else the one its resume names. */
export const resumeUser = (signed: string | undefined): Effect.Effect<string | undefined> =>
  signed !== undefined ? Effect.succeed(signed) : ResumeUser

/** {@link run} as a stream of its events (bounded, interruptible: see `EventStream.fromRun`). */
export const stream = (
  self: Any,
  input: Run.Input,
  options: Options | undefined
): Stream.Stream<RunEvent.RunEvent, Errors, unknown> =>
  EventStream.fromRun((emit) => run(self, input, options, emit), options?.onEvent, options?.eventBuffer)

// Each provision costs a run a copy of its fiber's references: what a run is given (its user's
// memory, its session's state) goes in at once.
const provide = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  context: Context.Context<never> | undefined
): Effect.Effect<A, E, R> => context === undefined ? effect : Effect.provide(effect, context)

/** The memory of the run's user, when the run names one and a `Memory` store is present. */
const withUser = <A, E, R>(
  userId: string | undefined,
  body: (context: Context.Context<never> | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  userId === undefined ? body(undefined) : Effect.withFiberRuntime((fiber) => {
    const memory = fiber.currentContext.unsafeMap.get(Memory.Memory.key) as Memory.Service | undefined
    return body(memory === undefined ? undefined : Context.make(Memory.UserMemory, Memory.forUser(memory, userId)))
  })
