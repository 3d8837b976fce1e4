/**
 * Steps that wait for a person's approval before they start ({@link approve}).
 *
 * Every name here is also `Workflow`'s (`Workflow.approve`): import it from there.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { type RunPaused, WorkflowError } from "./AgentError.js"
import * as Approval from "./Approval.js"
import * as Internal from "./internal/workflow.js"
import * as RunEvent from "./RunEvent.js"
import type { Any, Step } from "./WorkflowStep.js"

/**
 * Options of {@link approve}: the step's name (default: the inner step's), and what the person is
 * shown as the request's `arguments` (default: the step's input; it goes into the paused state, so
 * it must be JSON).
 *
 * @since 0.3.0
 * @category models
 */
export interface ApproveOptions<I> {
  readonly name?: string | undefined
  readonly description?: string | undefined
  readonly arguments?: ((input: I) => unknown) | undefined
}

/**
 * A step that needs a person's approval before it starts. When the run reaches it, the workflow run
 * pauses as an agent's run does: an `ApprovalRequested` event, then the typed `RunPaused` failure
 * with one `Approval.Request` (its `toolCallId` is the step's id, `tool` its name, `arguments` its
 * input) and the run's signed state, in which the outputs of the steps that already ran are kept.
 * Resuming (`Runnable.resume`, the registry, the HTTP app) with `Approval.approve(request)` runs the
 * step and goes on, without running the earlier steps again; with `Approval.reject(request, reason)`
 * the run fails with a `WorkflowError` (`Rejected`) that names the step and gives the reason.
 *
 * Why a failure and not the rejection as the step's output: the next step takes the approved step's
 * output, of its type; a rejection has none to give, and a step that cannot go on is a failed run.
 * A workflow that wants to go on after a rejection catches it around the step (`Effect.catchTag`
 * in a plain step, or `parallel` with `onFailure: "either"`).
 *
 * - In a `parallel` step, a branch that waits for approval does not stop the others: they go on,
 *   and once none runs the run pauses once, asking for every step of them that waits (each its own
 *   `Approval.Request`). Decisions on all of them resume the run once; decisions on some resume it
 *   and it pauses again for the rest. A step approved once is not asked for again at a later pause.
 * - A rejection is the step's failure, under the parallel step's policy like any other: with
 *   `onFailure: "fail"` (the default) the parallel step fails with it, and the branches still running
 *   are interrupted, each of their steps running its finalizers and ending with a `StepFailed` that
 *   says it was interrupted and why; with `"either"` the other branches finish, and the rejected one
 *   is a `Left`.
 * - The step has no arguments: an approval that edits them (`Approval.approve(request, { arguments })`)
 *   is refused with an `ApprovalError` (`InvalidArguments`), and so is an answer; the run still waits.
 * - The run's state carries the user it runs for, signed: the resumed run runs for that user, and a
 *   resume for another user is refused (`ApprovalError`, `Forged`).
 * - A resumed run reports each step's start and end once across the pause: a step that started or
 *   ended before it is not reported again.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Approval, Runnable, Workflow } from "effect-agents"
 *
 * const publish = Workflow.make({
 *   name: "Publish",
 *   input: Schema.String,
 *   steps: Workflow.sequence(
 *     Workflow.step("draft", (topic: string) => Effect.succeed(`A post about ${topic}`)),
 *     Workflow.approve(Workflow.step("publish", (post: string) => Effect.succeed(`published: ${post}`)))
 *   )
 * })
 *
 * const program = Runnable.run(publish, "fibers").pipe(
 *   Effect.catchTag("RunPaused", (paused) =>
 *     Runnable.resume(publish, paused.state, paused.pending.map((request) => Approval.approve(request))))
 * )
 * ```
 */
export const approve: {
  <I>(options?: ApproveOptions<NoInfer<I>>): <O, E, R>(self: Step<I, O, E, R>) => Step<I, O, E | RunPaused | WorkflowError, R>
  <I, O, E, R>(self: Step<I, O, E, R>, options?: ApproveOptions<NoInfer<I>>): Step<I, O, E | RunPaused | WorkflowError, R>
} = dual(
  (args) => Internal.isStepValue(args[0]),
  (self: Any, options?: ApproveOptions<unknown>) => {
    const inner = Internal.nodeOf(self)
    const name = options?.name ?? inner.name
    return Internal.makeNode(name, "approval", options?.description ?? inner.description, (input: unknown, at) =>
      Effect.suspend(() => {
        const state = at.state
        const decision = Internal.gateDecision(at)
        if (decision !== undefined) Internal.keepGate(at, decision)
        if (decision?._tag === "Approve") return Internal.runStep(inner, input, at, "0")
        if (decision?._tag === "Reject") {
          return Effect.fail(
            new WorkflowError({
              reason: "Rejected",
              workflow: state.workflow,
              step: name,
              message: `The step "${name}" of the workflow "${state.workflow}" was rejected: ${decision.reason}`
            })
          )
        }
        const request: Approval.Request = {
          toolCallId: at.stepId,
          tool: name,
          arguments: options?.arguments === undefined ? input : options.arguments(input),
          path: [],
          token: Approval.makeToken(),
          kind: "approval"
        }
        const pause = Effect.fail(new Internal.Pause([{ key: at.key, request }], []))
        return state.emit === undefined ? pause : Effect.zipRight(
          state.emit(
            new RunEvent.ApprovalRequested({
              runId: state.runId,
              toolCallId: request.toolCallId,
              tool: request.tool,
              arguments: request.arguments,
              token: request.token
            }, true)
          ),
          pause
        )
      }), { child: (place) => (place === "0" ? inner : undefined) })
  }
) as any
