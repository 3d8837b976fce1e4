/**
 * The paused runs of the HTTP app: a run that pauses for approval is kept here, by run id, with its
 * signed state, until a resume settles it, or until its state is too old to resume (the approval
 * keys' `ttl`): then it is dropped when the paused runs are next read. The state never has to
 * leave the server: a client lists the pending calls and sends its decisions.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import type { RunPaused } from "../../../src/AgentError.js"
import * as Approval from "../../../src/Approval.js"
import type * as HttpApi from "../../../src/HttpApi.js"
import type * as Registry from "../../../src/Registry.js"

/** The session a run is a turn of, which its resume is a turn of too. */
interface Session {
  readonly sessionId?: string | undefined
  readonly userId?: string | undefined
}

export interface Paused {
  readonly agent: string
  readonly error: RunPaused
  readonly session: Session
}

export interface Approvals {
  readonly list: Effect.Effect<ReadonlyArray<HttpApi.PausedRun>>
  readonly get: (runId: string) => Effect.Effect<Option.Option<Paused>>
  /**
   * The paused run one of whose pending calls has this token: how a UI protocol's client names
   * what it answers (an AG-UI interrupt's id, an AI SDK approval's id).
   */
  readonly byToken: (token: string) => Effect.Effect<Option.Option<Paused>>
  /**
   * The entry whose runs and resumptions are tracked: a pause is kept; a run that ends otherwise
   * is forgotten, except after a resume that was refused (`ApprovalError`), which leaves the pause
   * waiting for better decisions.
   */
  readonly tracking: (entry: Registry.Entry) => Registry.Entry
}

const sessionOf = (options: Session | undefined): Session => ({
  ...(options?.sessionId === undefined ? {} : { sessionId: options.sessionId }),
  ...(options?.userId === undefined ? {} : { userId: options.userId })
})

export const make: Effect.Effect<Approvals> = Effect.map(
  Ref.make(new Map<string, Paused>()),
  (ref): Approvals => {
    const settle = (agent: string, runId: string, session: Session) => (exit: Exit.Exit<unknown, Registry.Error>) =>
      Ref.update(ref, (paused) => {
        const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        if (failure?._tag === "ApprovalError") return paused
        const next = new Map(paused)
        if (failure?._tag === "RunPaused") next.set(failure.runId, { agent, error: failure, session })
        else next.delete(runId)
        return next
      })
    // The paused runs whose state can still be resumed; the others are dropped.
    const live = Effect.flatMap(Ref.get(ref), (paused) =>
      Effect.flatMap(
        Effect.filter(paused.values(), ({ error }) => Effect.map(Approval.check(error.state), (verdict) => verdict !== "Expired")),
        (kept) =>
          kept.length === paused.size ? Effect.succeed(paused) : Ref.updateAndGet(ref, (now) => {
            const next = new Map(now)
            for (const [runId, entry] of now) if (paused.get(runId) === entry && !kept.includes(entry)) next.delete(runId)
            return next
          })
      ))
    return {
      list: Effect.map(live, (paused) =>
        Array.from(paused.values(), ({ agent, error }) => ({
          runId: error.runId,
          agent,
          pending: error.pending,
          durable: false,
          decideAt: `/runs/${error.runId}/resume`
        }))),
      // A pause too old to resume is still given once (its resume says it is too old), and dropped.
      get: (runId) =>
        Effect.flatMap(Ref.get(ref), (paused) => Effect.as(live, Option.fromNullable(paused.get(runId)))),
      byToken: (token) =>
        Effect.flatMap(Ref.get(ref), (paused) =>
          Effect.as(
            live,
            Option.fromNullable(
              Array.from(paused.values()).find(({ error }) => error.pending.some((request) => request.token === token))
            )
          )),
      tracking: (entry) => ({
        ...entry,
        run: (input, options) =>
          Effect.onExit(entry.run(input, options), settle(entry.name, options?.runId ?? "", sessionOf(options))),
        ...(entry.resume === undefined ? {} : {
          resume: (state, decisions, options) => {
            const runId = state.body.runId
            return Effect.onExit(entry.resume!(state, decisions, options), settle(entry.name, runId, sessionOf(options)))
          }
        })
      })
    }
  }
)

/**
 * A paused run resumed with `decisions`, as a run of its entry (`tracked`, see
 * {@link Approvals.tracking}): the handlers answer it as they answer a new run. A run that paused in
 * a session resumes as a turn of it, recorded there when it ends.
 */
export const resumed = (
  tracked: Registry.Entry,
  paused: Paused,
  decisions: ReadonlyArray<Approval.Decision>
): Registry.Entry => ({
  ...tracked,
  run: (_input, options) => tracked.resume!(paused.error.state, decisions, { onEvent: options?.onEvent, ...paused.session })
})
