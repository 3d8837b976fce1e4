/**
 * Human approval of tool calls, and the runs that wait for it.
 *
 * A tool can require approval: always, or when a predicate over its decoded arguments (which may
 * read the run's services, a user's role) says so. When the model calls it, the run does not run
 * it: it reports an `ApprovalRequested` event, runs the other calls of the turn that need no
 * approval, reports `RunPaused` and fails with the typed `RunPaused` error, which carries the
 * pending {@link Request}s and the run's {@link State}. The state is a plain value with a schema
 * (it can be stored and sent), signed with the {@link Keys} of the process. Resuming
 * (`Agent.resume`, `Team.resume`, or `Runnable.resume` for any runnable) takes that state and the
 * {@link Decision}s and goes on as if the run had never paused: an approved call runs once (with
 * edited arguments, when the decision gives them), a rejected one goes back to the model as the
 * tool's result, with the reason; a call that already ran is not run again.
 *
 * Why a failure and not a second kind of success: a run that may pause still answers with a
 * `Run.Output<A>` when it finishes, so every caller keeps its types; a paused run is something the
 * caller must act on, which in Effect is what the error channel says (`Effect.catchTag("RunPaused")`),
 * and it crosses HTTP and SSE like the other errors of a run.
 *
 * A paused run's state, its schemas and its requests are `ApprovalState`'s, the keys that sign it
 * and spend its pause `ApprovalKeys`'s; this module re-exports both, so every name is `Approval.X`.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import { globalValue } from "effect/GlobalValue"
import * as Schema from "effect/Schema"
import { check, Keys } from "./ApprovalKeys.js"
import { type Body, type State, userOf } from "./ApprovalState.js"

export * from "./ApprovalKeys.js"
export * from "./ApprovalState.js"

/**
 * Run the call; with `arguments`, run it with these instead of the model's (encoded as the model
 * would send them, decoded with the tool's schema).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Approve = Schema.TaggedStruct("Approve", {
  toolCallId: Schema.String,
  path: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  arguments: Schema.optional(Schema.Unknown)
})

/**
 * Do not run the call: the model is told it was rejected, with the reason, as the tool's result.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Reject = Schema.TaggedStruct("Reject", {
  toolCallId: Schema.String,
  path: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  reason: Schema.String
})

/**
 * The answer to a question a tool asked (a request of kind `input`): the tool's result, encoded as
 * the tool's success schema encodes it (and decoded with it).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Answer = Schema.TaggedStruct("Answer", {
  toolCallId: Schema.String,
  path: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  value: Schema.Unknown
})

/**
 * A person's decision on one {@link Request}.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Decision = Schema.Union(Approve, Reject, Answer)

/**
 * @since 0.3.0
 * @category models
 */
export type Decision = typeof Decision.Type

type RequestRef = string | { readonly toolCallId: string; readonly path?: ReadonlyArray<string> | undefined }

const refOf = (request: RequestRef) =>
  typeof request === "string" ? { toolCallId: request, path: [] } : { toolCallId: request.toolCallId, path: request.path ?? [] }

/**
 * Approves a request (or the call with this id, in the top run), optionally with edited arguments.
 *
 * @since 0.3.0
 * @category constructors
 */
export const approve = (request: RequestRef, options?: { readonly arguments?: unknown }): Decision =>
  options !== undefined && "arguments" in options
    ? { _tag: "Approve", ...refOf(request), arguments: options.arguments }
    : { _tag: "Approve", ...refOf(request) }

/**
 * Rejects a request (or the call with this id, in the top run), with the reason the model is given.
 *
 * @since 0.3.0
 * @category constructors
 */
export const reject = (request: RequestRef, reason: string): Decision => ({ _tag: "Reject", ...refOf(request), reason })

/**
 * Answers a tool's question (a request of kind `input`) with `value`, the tool's result.
 *
 * @since 0.3.0
 * @category constructors
 */
export const answer = (request: RequestRef, value: unknown): Decision => ({ _tag: "Answer", ...refOf(request), value })

/**
 * A paused run could not be resumed: its state was not signed with this process's keys, or it is
 * resumed for another user than it ran for (`Forged`), it is too old, was already resumed or belongs
 * to another runnable (`Stale`), a decision names no pending call (`UnknownCall`), or a decision
 * does not fit its request: edited arguments that do not decode with the tool's schema, arguments
 * for a workflow step's approval (which has none), a decision of the wrong kind (`InvalidArguments`).
 * The message says what to do.
 *
 * @since 0.3.0
 * @category errors
 */
export class ApprovalError extends Schema.TaggedError<ApprovalError>("effect-agents/ApprovalError")(
  "ApprovalError",
  {
    reason: Schema.Literal("Forged", "Stale", "UnknownCall", "InvalidArguments"),
    message: Schema.String,
    toolCallId: Schema.optional(Schema.String)
  }
) {}

/**
 * A decision of the wrong kind for the request it names: an approval (or edit) of a tool's question,
 * or an answer to a call that waits for approval. A rejection fits both. `undefined` when it fits.
 *
 * @since 0.3.0
 * @category decisions
 */
export const wrongKind = (
  request: { readonly tool: string; readonly kind?: "approval" | "input" | undefined },
  decision: Decision
): ApprovalError | undefined => {
  const asks = request.kind === "input"
  if (decision._tag === "Reject" || asks === (decision._tag === "Answer")) return undefined
  return new ApprovalError({
    reason: "InvalidArguments",
    toolCallId: decision.toolCallId,
    message: asks
      ? `"${request.tool}" asks a question: answer it (Approval.answer) or reject it.`
      : `"${request.tool}" waits for approval, not an answer: approve or reject it.`
  })
}

/**
 * Admits the resume of a paused run, before anything of it runs. A state that was changed or signed
 * with other keys fails with an {@link ApprovalError} `Forged`, one paused too long ago (see
 * {@link KeysOptions}) with `Stale`. Otherwise `accept` checks the state as the runnable that resumes
 * it must (that it paused this runnable, that the decisions name its pending calls) and gives what
 * the resume goes on with; only when it succeeds is the pause spent, so a resume refused by any check
 * leaves the pause waiting for a valid one. A pause already spent fails with `Stale`: a state resumes
 * once.
 *
 * @since 0.3.0
 * @category resuming
 */
export const admit: {
  <A, E, R>(accept: (body: Body) => Effect.Effect<A, E, R>): (state: State) => Effect.Effect<A, ApprovalError | E, R>
  <A, E, R>(state: State, accept: (body: Body) => Effect.Effect<A, E, R>): Effect.Effect<A, ApprovalError | E, R>
} = dual(
  2,
  <A, E, R>(state: State, accept: (body: Body) => Effect.Effect<A, E, R>): Effect.Effect<A, ApprovalError | E, R> =>
    Effect.flatMap(check(state), (verdict): Effect.Effect<A, ApprovalError | E, R> => {
      if (verdict === "Forged") {
        return Effect.fail(
          new ApprovalError({
            reason: "Forged",
            message: "The paused run's state is not signed with this process's keys: it was changed, or made by a " +
              "process with other keys (provide the same Approval.layerKeys to every process that resumes runs)."
          })
        )
      }
      if (verdict === "Expired") {
        return Effect.fail(
          new ApprovalError({
            reason: "Stale",
            message: "This pause of the run is too old to resume (older than the keys' ttl, see Approval.KeysOptions): " +
              "run it again instead."
          })
        )
      }
      const spend = (accepted: A): Effect.Effect<A, ApprovalError> =>
        Effect.flatMap(Keys, (keys) =>
          Effect.flatMap(keys.spend(state.body.token), (fresh) =>
            fresh ? Effect.succeed(accepted) : Effect.fail(
              new ApprovalError({
                reason: "Stale",
                message: "This pause of the run was already resumed: resume the run with the state of its latest pause."
              })
            )))
      return Effect.flatMap(accept(state.body), (accepted) =>
        Effect.flatMap(
          FiberRef.get(checking),
          (only): Effect.Effect<A, ApprovalError | E> => only ? Effect.fail(new Checked() as unknown as E) : spend(accepted)
        ))
    })
)

// Set by `checkOnly`: `admit` stops after its checks, before the spend, with `Checked`.
const checking = globalValue(Symbol.for("effect-agents/Approval/checking"), () => FiberRef.unsafeMake(false))

class Checked {}

/**
 * Runs only the checks of a resume: `resume` (a runnable's resume, which {@link admit}s its state)
 * stops where `admit` would spend the pause, so nothing of it runs and its pause is not spent. It
 * fails with the `ApprovalError` the resume would fail with, and succeeds when the resume would be
 * admitted. A runnable that resumes another's paused run inside its own (a workflow's agent step)
 * checks the decisions for it this way before its own pause is spent, so a refused decision leaves
 * both pauses waiting for a corrected one. Only for a resume that calls `admit` before it runs
 * anything (agents, teams, workflows do): any other would run.
 *
 * @since 0.3.0
 * @category resuming
 */
export const checkOnly = <A, E, R>(resume: Effect.Effect<A, E, R>): Effect.Effect<void, ApprovalError, R> =>
  Effect.catchAll(
    Effect.asVoid(Effect.locally(resume, checking, true)),
    // What is not an ApprovalError (`Checked`, the resume's own work before it admits, a memory it
    // could not read) is for the resume to meet when it runs.
    (error) => error instanceof ApprovalError ? Effect.fail(error) : Effect.void
  )

/**
 * A resume for a user other than the one the paused run ran for: refused (`Forged`: the state is
 * not this user's to resume), where an agent, a team or a workflow carries its user in its signed
 * state. A resume that names no user, or the same one, fits, and the resumed run runs for the signed
 * user. A state that carries no user (it named none, or was signed before states carried their user)
 * resumes for the user the resume names.
 * `undefined` when it fits.
 *
 * @since 0.3.0
 * @category resuming
 */
export const foreignUser = (body: Body, userId: string | undefined): ApprovalError | undefined => {
  const signed = userOf(body)
  if (userId === undefined || signed === undefined || signed === userId) return undefined
  return new ApprovalError({
    reason: "Forged",
    message: `The paused run ran for another user than "${userId}": resume it as the user it ran for, ` +
      "or without a userId (it resumes for its own user)."
  })
}

// -----------------------------------------------------------------------------
// Rules
// -----------------------------------------------------------------------------

/**
 * When a tool needs approval: always (`true`), or when a predicate over its decoded arguments says
 * so. The predicate may read services, which the agent then needs.
 *
 * @since 0.3.0
 * @category models
 */
export type Rule<Params, R = never> = boolean | typeof input | ((params: Params) => Effect.Effect<boolean, never, R>)

/**
 * The rule of a tool that asks a person a question: its parameters are the typed question, and a
 * person's {@link answer}, decoded with its success schema, is its result. Its handler is not run.
 *
 * @since 0.3.0
 * @category rules
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Effect, Schema } from "effect"
 * import { Agent, Approval } from "effect-agents"
 *
 * const AskUser = Tool.make("ask_user", {
 *   description: "Ask the user a question",
 *   parameters: { question: Schema.String },
 *   success: Schema.Struct({ reply: Schema.String })
 * })
 *
 * const agent = Agent.make({ name: "Planner", toolkit: Toolkit.make(AskUser), approval: { ask_user: Approval.input } })
 *
 * const program = Agent.run(agent, "Plan my trip").pipe(
 *   Effect.catchTag("RunPaused", (paused) =>
 *     Agent.resume(agent, paused.state, paused.pending.map((request) => Approval.answer(request, { reply: "Lisbon" }))))
 * )
 * ```
 */
export const input = "input" as const
