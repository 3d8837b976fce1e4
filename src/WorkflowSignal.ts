/**
 * Signals: a step that waits for a value sent to its run from outside ({@link signal}), and the
 * sending of one ({@link send}) to a running workflow, by the run's id.
 *
 * Every name here is also `Workflow`'s (`Workflow.signal`, `Workflow.send`): import it from there.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Internal from "./internal/workflow.js"
import * as RunEvent from "./RunEvent.js"
import { SignalRegistry } from "./WorkflowExecutor.js"
import type { Step } from "./WorkflowStep.js"

/**
 * A signal step: waits for a value sent to the run with {@link send}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Signal<A, I = unknown, O = A> extends Step<I, O> {
  readonly kind: "signal"
  readonly signal: string
  readonly schema: Schema.Schema<A, any>
}

/**
 * A step that waits for a value sent to the run from outside ({@link send}, by the run's id and
 * this step): a person's approval, a webhook's payload. Its output is the value, or with `merge`
 * what `merge` makes of the step's input and the value. A value sent before the step waits is kept
 * for it. While it waits, the run reports a `StepWaiting` event; interrupting the run stops the wait.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Workflow } from "effect-agents"
 *
 * const Approval = Schema.Struct({ approved: Schema.Boolean, note: Schema.String })
 *
 * // Step<string, { draft: string; approved: boolean }>: the draft, and what the reviewer said
 * const review = Workflow.signal("review", Approval, {
 *   merge: (draft: string, { approved }) => ({ draft, approved })
 * })
 * ```
 */
export const signal: {
  <A, AI>(name: string, schema: Schema.Schema<A, AI>): Signal<A>
  <A, AI, I, O>(
    name: string,
    schema: Schema.Schema<A, AI>,
    options: { readonly merge: (input: I, value: A) => O }
  ): Signal<A, I, O>
} = (
  name: string,
  schema: Schema.Schema<unknown, unknown>,
  options?: { readonly merge: (input: unknown, value: unknown) => unknown }
): any => {
  const merge = options?.merge
  const made = Internal.makeNode(name, "signal", undefined, (input: unknown, at) =>
    Effect.gen(function*() {
      const state = at.state
      if (state.emit !== undefined) {
        yield* state.emit(new RunEvent.StepWaiting({ runId: state.runId, stepId: at.stepId, step: name, signal: name }, true))
      }
      // In process, the value is kept like a step's output: a run that pauses later (a step that
      // waits for approval) and is resumed does not wait for it again.
      const value = yield* (state.executor === undefined
        ? Internal.settle(state.signals.await(state.runId, name), at, "value")
        : state.executor.signal(name, schema))
      return merge === undefined ? value : merge(input, value)
    }))
  return Object.assign(made, { signal: name, schema })
}

/**
 * Why a signal was not delivered: the run is not running (it ended, or never started: check the
 * run id), or a value for this signal is already waiting to be taken.
 *
 * @since 0.3.0
 * @category errors
 */
export class SignalError extends Schema.TaggedError<SignalError>("effect-agents/Workflow/SignalError")("SignalError", {
  reason: Schema.Literal("NotRunning", "AlreadySent"),
  runId: Schema.String,
  signal: Schema.String
}) {
  override get message(): string {
    return this.reason === "NotRunning"
      ? `No workflow run "${this.runId}" is running here: check the run id (a run takes signals only while it runs)`
      : `The signal "${this.signal}" of the run "${this.runId}" was already sent and not yet taken: send it again after the step took it`
  }
}

/**
 * Sends a value to the signal step `signal` of the run `runId`. The value is checked against the
 * signal's schema (`ParseError` when it does not match, and nothing is sent).
 *
 * @since 0.3.0
 * @category signals
 */
export const send: {
  <A>(signal: Signal<A, any, any>, runId: string, value: A): Effect.Effect<void, SignalError | ParseResult.ParseError>
} = <A>(signal: Signal<A, any, any>, runId: string, value: A) =>
  Effect.gen(function*() {
    const checked = yield* Schema.validate(signal.schema)(value)
    const signals = yield* SignalRegistry
    const sent = yield* signals.send(runId, signal.signal, checked)
    if (sent !== "Sent") return yield* new SignalError({ reason: sent, runId, signal: signal.signal })
  })

/**
 * The signals that running workflow steps wait for now, by run id.
 *
 * @since 0.3.0
 * @category signals
 */
export const waiting: Effect.Effect<ReadonlyArray<{ readonly runId: string; readonly signal: string }>> = Effect
  .flatMap(SignalRegistry, (signals) => signals.waiting)
