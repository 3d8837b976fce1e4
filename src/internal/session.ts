import * as Prompt from "@effect/ai/Prompt"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Memory from "../../services/Memory.js"
import * as SessionState from "../../services/SessionState.js"
import * as SessionStore from "../../services/SessionStore.js"
import { type AgentError, ApprovalError } from "../AgentError.js"
import type * as Run from "../Run.js"
import * as RunRecord from "../RunRecord.js"
import type { Definition, RunOptions, SessionOptions } from "./definition.js"
import * as Fast from "./fast.js"
import * as Id from "./id.js"

/** Every option of a run. */
export interface Options extends RunOptions, SessionOptions {}

/** How many earlier runs of the session a run is given when it does not say. */
export const defaultHistoryRuns = 10

/** What a session run can fail with besides its own errors. */
export type Errors = SessionStore.SessionStoreError | Memory.MemoryError

// -----------------------------------------------------------------------------
// Sessions
// -----------------------------------------------------------------------------

/**
 * What a run in a session is given: its id, its input as a prompt, the history to put before it and
 * the session's id. It is also the options of the run (the run loop reads these and no others).
 */
export interface Prepared {
  readonly runId: string
  readonly input: Run.Input
  readonly history: ReadonlyArray<Prompt.Message>
  readonly sessionId: string
}

/**
 * Runs `body` as one run of a session (an agent's or a team's): loads the last runs of the session
 * as history, provides the session's state, runs, and appends the run's record whatever the outcome
 * (completed, failed, or cancelled when interrupted). The append cannot be interrupted, so a record
 * is never half-written; if it fails, the run fails with the store's error (after its own error,
 * when it had one).
 */
export const inSession = <Out extends Run.Output<unknown>, E, R>(
  name: string,
  input: Run.Input,
  options: Options & { readonly sessionId: string },
  body: (prepared: Prepared) => Effect.Effect<Out, E, R>
): Effect.Effect<
  Out,
  E | SessionStore.SessionStoreError,
  Exclude<R, SessionState.SessionState> | SessionStore.SessionStore
> => inSessionWith(name, input, options, body, undefined)

/**
 * {@link inSession}, with more services for `body` (provided with the session's state, at once).
 * Written with combinators, not a generator, and without a span of its own (the run has its span):
 * this runs on every turn of every conversation.
 */
export const inSessionWith = <Out extends Run.Output<unknown>, E, R>(
  name: string,
  input: Run.Input,
  options: Options & { readonly sessionId: string },
  body: (prepared: Prepared) => Effect.Effect<Out, E, R>,
  context: Context.Context<never> | undefined
): Effect.Effect<
  Out,
  E | SessionStore.SessionStoreError,
  Exclude<R, SessionState.SessionState> | SessionStore.SessionStore
> =>
  Effect.withFiberRuntime<Out, E | SessionStore.SessionStoreError, any>((fiber) => {
    const store = fiber.currentContext.unsafeMap.get(SessionStore.SessionStore.key) as SessionStore.Service | undefined
    // Not in the context: the tag fails the way it always does.
    if (store === undefined) return Effect.flatMap(SessionStore.SessionStore, () => Effect.never)
    const key: SessionStore.SessionKey = {
      userId: options.userId ?? SessionStore.anonymousUser,
      sessionId: options.sessionId
    }
    if (key.userId.length === 0 || key.sessionId.length === 0) {
      return Effect.fail(
        new SessionStore.SessionStoreError({
          operation: "load",
          reason: "InvalidInput",
          message: "A session needs a non-empty userId and sessionId",
          userId: key.userId,
          sessionId: key.sessionId
        })
      )
    }
    const turn = new Turn(store, key, name, input, options, Context.get(fiber.currentDefaultServices, Clock.Clock))
    const start = (records: ReadonlyArray<SessionStore.RunRecord>) => turn.run(records, body, context)
    const runs = historyRuns(options.historyRuns)
    if (runs === 0) return start([])
    return Effect.matchEffect(store.load(key, { last: Number.isFinite(runs) ? runs : undefined, status: "completed" }), {
      onFailure: (error) => (error._tag === "SessionNotFound" ? start([]) : Effect.fail(error)),
      onSuccess: start
    })
  }) as Effect.Effect<
    Out,
    E | SessionStore.SessionStoreError,
    Exclude<R, SessionState.SessionState> | SessionStore.SessionStore
  >

/**
 * One run of a session: runs `body` with its history, then appends its record whatever the outcome.
 * A class rather than closures: this is made on every turn of every conversation.
 */
class Turn {
  readonly startedAt: DateTime.Utc
  constructor(
    readonly store: SessionStore.Service,
    readonly key: SessionStore.SessionKey,
    readonly name: string,
    readonly input: Run.Input,
    readonly options: Options & { readonly sessionId: string },
    readonly clock: Clock.Clock,
    startedAt?: DateTime.Utc
  ) {
    this.startedAt = startedAt ?? DateTime.unsafeMake(clock.unsafeCurrentTimeMillis())
  }

  run<Out extends Run.Output<unknown>, E, R>(
    records: ReadonlyArray<SessionStore.RunRecord>,
    body: (prepared: Prepared) => Effect.Effect<Out, E, R>,
    context: Context.Context<never> | undefined
  ): Effect.Effect<Out, E | SessionStore.SessionStoreError, Exclude<R, SessionState.SessionState>> {
    const options = this.options
    const loaded = historyOf(records, options.historyMessages)
    const history = options.history === undefined || options.history.length === 0
      ? loaded
      : [...loaded, ...options.history]
    const prompt = toPrompt(this.input)
    const inputMessages = Option.isSome(prompt) ? prompt.value.content : []
    const prepared: Prepared = {
      runId: options.runId ?? Id.uuid(),
      input: Option.isSome(prompt) ? prompt.value : this.input,
      history,
      sessionId: options.sessionId
    }
    return this.around(body(prepared), prepared.runId, inputMessages, history, context, undefined)
  }

  /**
   * Runs `body` with the session's state (and `context`) and appends its record whatever its exit.
   * `resumed`: the body resumes a paused run, whose input is the paused record's (not the very
   * objects of the output's messages).
   */
  around<Out extends Run.Output<unknown>, E, R>(
    body: Effect.Effect<Out, E, R>,
    runId: string,
    inputMessages: ReadonlyArray<Prompt.Message>,
    history: ReadonlyArray<Prompt.Message>,
    context: Context.Context<never> | undefined,
    resumed: RunRecord.RunRecord | undefined
  ): Effect.Effect<Out, E | SessionStore.SessionStoreError, Exclude<R, SessionState.SessionState>> {
    const state = SessionState.forSession(this.store, this.key)
    // The services are set and restored in the same uninterruptible region as the append: one
    // frame, where `Effect.provide` would bracket the body with an acquire/release of its own.
    return Effect.uninterruptibleMask((restore) =>
      Effect.withFiberRuntime((fiber) => {
        const previous = fiber.getFiberRef(FiberRef.currentContext)
        const services = Context.add(
          context === undefined ? previous : Context.merge(previous, context),
          SessionState.SessionState,
          state
        )
        const ran = Effect.flatMap(
          FiberRef.set(FiberRef.currentContext, services),
          () => Effect.exit(restore(body))
        )
        return Effect.flatMap(ran, (exit) => {
          // A resume that was refused (a forged or spent state, a decision on no pending call, an
          // invalid edit) did not run: the pause still waits, and its record stays the run's last.
          const append = resumed !== undefined && refused(exit)
            ? Effect.void
            : Effect.suspend(() =>
              this.store.append(this.record(exit, runId, inputMessages, history, resumed !== undefined))
            )
          return Effect.matchCauseEffect(
            Effect.zipRight(FiberRef.set(FiberRef.currentContext, previous), append),
            {
              onSuccess: () => exit,
              // The run's own outcome comes first; a failed append is never silent.
              onFailure: (appendCause) =>
                Exit.isSuccess(exit)
                  ? Effect.failCause(appendCause)
                  : Effect.failCause(Cause.sequential(exit.cause, appendCause))
            }
          )
        })
      })
    ) as Effect.Effect<Out, E | SessionStore.SessionStoreError, Exclude<R, SessionState.SessionState>>
  }

  record<Out extends Run.Output<unknown>, E>(
    exit: Exit.Exit<Out, E>,
    runId: string,
    inputMessages: ReadonlyArray<Prompt.Message>,
    history: ReadonlyArray<Prompt.Message>,
    resumed: boolean
  ): SessionStore.RunRecord {
    const key = this.key
    const finishedAt = DateTime.unsafeMake(this.clock.unsafeCurrentTimeMillis())
    if (Exit.isSuccess(exit)) {
      const output = exit.value
      return {
        status: "completed",
        runId: output.runId,
        userId: key.userId,
        sessionId: key.sessionId,
        agent: this.name,
        input: inputMessages,
        messages: resumed
          ? resumedMessages(output.messages, inputMessages)
          : ownMessages(output.messages, inputMessages, history),
        toolCalls: output.toolCalls,
        metrics: output.metrics,
        startedAt: this.startedAt,
        finishedAt,
        output: {
          content: output.content,
          text: output.text,
          finishReason: output.finishReason,
          ...(output.model !== undefined ? { model: output.model } : {})
        }
      }
    }
    const common = {
      runId,
      userId: key.userId,
      sessionId: key.sessionId,
      agent: this.name,
      input: inputMessages,
      messages: inputMessages,
      toolCalls: [],
      startedAt: this.startedAt,
      finishedAt
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isSome(failure)) {
      const error = failure.value as AgentError
      // A pause is not a failure: the run waits, and its resume is recorded under the same id.
      return error._tag === "RunPaused"
        ? { status: "paused", ...common, pending: error.pending }
        : { status: "failed", ...common, error }
    }
    if (!Cause.isInterruptedOnly(exit.cause)) {
      const defect = Cause.squash(exit.cause)
      return {
        status: "failed",
        ...common,
        error: RunRecord.RunDefect.make({ message: defect instanceof Error ? defect.message : String(defect) })
      }
    }
    return { status: "cancelled", ...common }
  }
}

/**
 * Resumes a paused run of a session as a turn of that session: `body` (the runnable's resume) runs
 * with the session's state, and the run is recorded again under its id when it ends (completed,
 * failed, paused once more, or cancelled), with the input and start of its paused record. The
 * paused record is not rewritten: a session's log is only appended to (one write per turn, which
 * concurrent turns of a SQL store cannot lose), the pause stays in it as what happened, and history
 * reads completed runs only, so the conversation reads as if the run had never paused.
 *
 * A run that has no paused record in this session (never paused here, or already resumed) is a
 * `Stale` `ApprovalError`: resuming it would record a turn the session never had.
 */
export const resumeInSession = <Out extends Run.Output<unknown>, E, R>(
  name: string,
  runId: string,
  options: { readonly sessionId: string; readonly userId?: string | undefined },
  body: Effect.Effect<Out, E, R>,
  context: Context.Context<never> | undefined
): Effect.Effect<
  Out,
  E | SessionStore.SessionStoreError | ApprovalError,
  Exclude<R, SessionState.SessionState> | SessionStore.SessionStore
> =>
  Effect.flatMap(SessionStore.SessionStore, (store) => {
    const key: SessionStore.SessionKey = {
      userId: options.userId ?? SessionStore.anonymousUser,
      sessionId: options.sessionId
    }
    const stale = new ApprovalError({
      reason: "Stale",
      message: `Run "${runId}" has no paused record in session "${key.sessionId}" of user "${key.userId}": ` +
        "resume it with the session it paused in, or without a session when it paused outside one"
    })
    return Effect.flatMap(
      Effect.catchTag(store.load(key), "SessionNotFound", () => Effect.succeed([])),
      (records): Effect.Effect<Out, E | SessionStore.SessionStoreError | ApprovalError, any> => {
        // The last record of the run decides: a run resumed (or failed) since its pause has none.
        let last: SessionStore.RunRecord | undefined
        for (let i = records.length - 1; i >= 0 && last === undefined; i--) {
          if (records[i]!.runId === runId) last = records[i]
        }
        if (last === undefined || last.status !== "paused") return Effect.fail(stale)
        return Effect.withFiberRuntime<Out, E | SessionStore.SessionStoreError, any>((fiber) => {
          const turn = new Turn(
            store,
            key,
            name,
            last.input,
            options,
            Context.get(fiber.currentDefaultServices, Clock.Clock),
            last.startedAt
          )
          return turn.around(body, runId, last.input, [], context, last)
        })
      }
    )
  }) as Effect.Effect<
    Out,
    E | SessionStore.SessionStoreError | ApprovalError,
    Exclude<R, SessionState.SessionState> | SessionStore.SessionStore
  >

const refused = (exit: Exit.Exit<unknown, unknown>): boolean => {
  if (Exit.isSuccess(exit)) return false
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) && (failure.value as { readonly _tag?: unknown })._tag === "ApprovalError"
}

const historyRuns = (runs: number | undefined): number =>
  runs === undefined || Number.isNaN(runs) ? defaultHistoryRuns : runs === Infinity ? Infinity : Math.max(0, Math.floor(runs))

/**
 * The messages of the loaded runs, oldest first. With a cap, whole runs are dropped from the oldest
 * until the rest fit: a run is never cut in half (a tool result without its call is rejected by
 * providers).
 */
export const historyOf = (
  records: ReadonlyArray<SessionStore.RunRecord>,
  maxMessages: number | undefined
): ReadonlyArray<Prompt.Message> => {
  let from = records.length
  if (maxMessages === undefined) from = 0
  else {
    let count = 0
    for (let i = records.length - 1; i >= 0; i--) {
      count += records[i]!.messages.length
      if (count > maxMessages) break
      from = i
    }
  }
  const messages: Array<Prompt.Message> = []
  for (let i = from; i < records.length; i++) messages.push(...records[i]!.messages)
  return messages
}

const decodeMessages = Schema.decodeUnknownOption(Schema.Array(Prompt.Message))

/** The input as a prompt, its messages kept by identity so the run's own messages can be found. */
const toPrompt = (input: Run.Input): Option.Option<Prompt.Prompt> => {
  // Built directly: `Prompt.make` builds its parts with a computed key in a spread, which costs more
  // than the rest of this function.
  if (typeof input === "string") return Option.some(Prompt.fromMessages([Fast.userMessage([Fast.textPart(input)])]))
  if (Prompt.isPrompt(input)) return Option.some(input)
  return Option.map(decodeMessages(input), Prompt.fromMessages)
}

/**
 * The messages a run added to the conversation: from its first input message on. The run loop puts
 * the instructions, then the history, then the input; history and input messages are the very
 * objects it was given.
 */
const ownMessages = (
  messages: ReadonlyArray<Prompt.Message>,
  input: ReadonlyArray<Prompt.Message>,
  history: ReadonlyArray<Prompt.Message>
): ReadonlyArray<Prompt.Message> => {
  const first = input[0]
  if (first !== undefined) {
    const at = messages.indexOf(first, history.length)
    if (at >= 0) return messages.slice(at)
  }
  if (history.length > 0) return messages.slice(messages.lastIndexOf(history[history.length - 1]!) + 1)
  return messages.slice(messages[0]?.role === "system" ? 1 : 0)
}

const encodeMessage = Schema.encodeSync(Prompt.Message)
const messageKey = (message: Prompt.Message): string => {
  try {
    return JSON.stringify(encodeMessage(message))
  } catch {
    return ""
  }
}

/**
 * The messages a resumed run added to the conversation: from its input on. Its output's messages
 * were rebuilt from the paused state, so the input is found by its encoding, not by identity: the
 * last place where it occurs (after its input a run adds only the model's and the tools' messages,
 * so an earlier occurrence is the same question asked in an earlier turn).
 */
const resumedMessages = (
  messages: ReadonlyArray<Prompt.Message>,
  input: ReadonlyArray<Prompt.Message>
): ReadonlyArray<Prompt.Message> => {
  if (input.length === 0) return messages.filter((message) => message.role !== "system")
  const keys = input.map(messageKey)
  for (let at = messages.length - input.length; at >= 0; at--) {
    let same = true
    for (let i = 0; i < input.length && same; i++) same = messageKey(messages[at + i]!) === keys[i]
    if (same) return [...input, ...messages.slice(at + input.length)]
  }
  // Not found (the runnable rewrote its input): the input, then what followed the last user message.
  let after = messages.length
  while (after > 0 && messages[after - 1]!.role !== "user") after--
  return [...input, ...messages.slice(after)]
}

// -----------------------------------------------------------------------------
// Session state
// -----------------------------------------------------------------------------


// -----------------------------------------------------------------------------
// User memory
// -----------------------------------------------------------------------------

let memoryHandlers: Context.Context<never> | undefined
const memoryTools = Effect.suspend(() =>
  memoryHandlers !== undefined ? Effect.succeed(memoryHandlers) : Effect.tap(
    Memory.MemoryTools.toContext({
      remember: ({ fact }) => Effect.flatMap(Memory.UserMemory, (memory) => memory.remember(fact)),
      update_memory: ({ fact, id }) => Effect.flatMap(Memory.UserMemory, (memory) => memory.update(id, fact)),
      forget: ({ id }) => Effect.flatMap(Memory.UserMemory, (memory) => memory.forget(id))
    }) as Effect.Effect<Context.Context<never>>,
    (context) => {
      memoryHandlers = context
    }
  )
)

/** The instruction that tells the model what it remembers about the user. */
export const memoryInstruction = (facts: ReadonlyArray<Memory.Fact>, tools: boolean): string => {
  const lines = facts.length === 0
    ? ["You do not remember anything about the user yet."]
    : ["What you remember about the user (id: fact):", ...facts.map((fact) => `- ${fact.id}: ${fact.text}`)]
  if (tools) {
    lines.push(
      "Use the remember tool for lasting facts the user shares, update_memory when one changes and forget " +
        "when one is wrong or the user asks."
    )
  }
  return lines.join("\n")
}

const withInstruction = (agent: Definition, line: string): Definition => {
  const base = agent.instructions
  return {
    ...agent,
    instructions: typeof base === "string"
      ? [base, line]
      : Effect.isEffect(base)
      ? Effect.map(base, (lines) => [...(typeof lines === "string" ? [lines] : lines), line])
      : [...(base as ReadonlyArray<string>), line]
  }
}

/**
 * For an agent with memory: its user's facts in its instructions and the memory tools' handlers,
 * from the `UserMemory` in context (a run with a `userId` provides it from a `Memory` store): the
 * agent to run and the services to provide to its run.
 */
export const withAgentMemory = <A, E, R>(
  agent: Definition & { readonly memory: NonNullable<Definition["memory"]> },
  body: (agent: Definition, context: Context.Context<never>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | Memory.MemoryError, R> =>
  Effect.gen(function*() {
    const memory = yield* Effect.serviceOption(Memory.UserMemory)
    if (Option.isNone(memory)) {
      return yield* Effect.dieMessage(
        `effect-agents: agent "${agent.name}" has memory, but no user: run it with a userId and a Memory layer`
      )
    }
    let definition: Definition = agent
    let context = Context.empty() as Context.Context<never>
    if (agent.memory.instructions) {
      definition = withInstruction(definition, memoryInstruction(yield* memory.value.list, agent.memory.tools))
    }
    if (agent.memory.tools) context = yield* memoryTools
    return yield* body(definition, context)
  })
