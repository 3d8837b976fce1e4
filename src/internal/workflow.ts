/**
 * The run of a workflow: a tree of steps, each a node with a body from its input to its output.
 * What every step shares is here, once: its id, its events (started, completed, failed), its record
 * in the workflow's output, and the metrics of the runs it makes. The constructs (sequence,
 * parallel, condition, loop, router, signal) are bodies that run other steps through {@link runStep}.
 * The executor's contract, the signal registry and the step run's record are `WorkflowExecutor`'s.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import * as Memory from "../../services/Memory.js"
import * as AgentError from "../AgentError.js"
import * as Approval from "../Approval.js"
import * as Run from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type { Executor, Settled, Signals, StepRun } from "../WorkflowExecutor.js"
import type * as EventStream from "./eventStream.js"
import * as InternalRunnable from "./runnable.js"

type Emit = EventStream.Emit

export const TypeId: unique symbol = Symbol.for("effect-agents/Workflow")
export const StepTypeId: unique symbol = Symbol.for("effect-agents/Workflow/Step")

/** The variance marker every step carries under {@link StepTypeId}. */
export const stepVariance = { _I: (_: unknown) => {}, _O: (_: never) => _, _E: (_: never) => _, _R: (_: never) => _ }

/** A step as the run reads it. */
export interface Node {
  readonly name: string
  readonly kind: string
  readonly description: string | undefined
  /** A sequence is structure only: its steps report as children of the sequence's parent. */
  readonly transparent: boolean
  /** A step whose body is work of its own (a plain Effect, a runnable's run): a durable run's activity. */
  readonly leaf: boolean
  readonly body: (input: unknown, at: At) => Effect.Effect<unknown, unknown, unknown>
  /** A runnable step's run resumed from its pause (an agent step whose tool waited for approval). */
  readonly resume?: ((state: Approval.State, decisions: ReadonlyArray<Approval.Decision>, at: At) => Effect.Effect<unknown, unknown, unknown>) | undefined
  /** The checks of {@link resume} only, for a user: nothing runs and no pause is spent (see `Approval.checkOnly`). */
  readonly check?:
    | ((state: Approval.State, decisions: ReadonlyArray<Approval.Decision>, userId: string | undefined) => Effect.Effect<void, Approval.ApprovalError, unknown>)
    | undefined
  /**
   * The step run under this one at `place` (a parallel step's branch `1`, a condition's `then`):
   * what finds a step by its key (see {@link find}). `undefined` for a step that runs no other.
   */
  readonly child?: ((place: string) => Node | undefined) | undefined
}

class StepNode implements Node, Pipeable {
  constructor(
    readonly name: string,
    readonly kind: string,
    readonly description: string | undefined,
    readonly transparent: boolean,
    readonly leaf: boolean,
    readonly body: Node["body"],
    readonly resume: Node["resume"],
    readonly check: Node["check"],
    readonly child: Node["child"]
  ) {}
  pipe() {
    return pipeArguments(this, arguments)
  }
}
Object.assign(StepNode.prototype, { [StepTypeId]: stepVariance })

/**
 * A step from its body. `leaf` is work of its own (a durable run's activity), `transparent` is
 * structure only (a sequence); any other step is a composite that runs other steps, found by
 * `child`.
 */
export const makeNode = <I>(
  name: string,
  kind: string,
  description: string | undefined,
  body: (input: I, at: At) => Effect.Effect<unknown, unknown, unknown>,
  options?: {
    readonly shape?: "composite" | "leaf" | "transparent" | undefined
    readonly resume?: Node["resume"]
    readonly check?: Node["check"]
    readonly child?: Node["child"]
  }
): Node =>
  new StepNode(
    name,
    kind,
    description,
    options?.shape === "transparent",
    options?.shape === "leaf",
    body as Node["body"],
    options?.resume,
    options?.check,
    options?.child
  )

/** The step at `key` (the path of places of a step run, from the workflow's root at `0`), if there is one. */
export const find = (root: Node, key: string): Node | undefined => {
  const [first, ...places] = key.split("/")
  if (first !== "0") return undefined
  let node: Node | undefined = root
  for (const place of places) node = node?.child?.(place)
  return node
}

/** Whether a value is a step (for a dual's first argument). */
export const isStepValue = (u: unknown): boolean => typeof u === "object" && u !== null && StepTypeId in u

/** A public step as the run reads it (every step is made by {@link makeNode}, or is a workflow). */
export const nodeOf = (step: unknown): Node => step as Node

/** What one workflow run shares among its steps. */
export interface State {
  readonly runId: string
  readonly workflow: string
  readonly emit: Emit | undefined
  readonly userId: string | undefined
  readonly signals: Signals
  /** Step runs in the order they started; a slot is filled when its step ends. */
  readonly steps: Array<StepRun | undefined>
  /** The runs of runnable steps, added up. */
  metrics: Run.Metrics
  /** Each failure as a run's error, made where it first failed (so it names the innermost step). */
  readonly failures: Map<unknown, InternalRunnable.RunError>
  /** How leaf steps and signals run: in process, or as a durable engine's activities. */
  readonly executor: Executor | undefined
  /** What the leaf steps settled to, by key: a pause keeps it, so a resumed run does not run them again. */
  readonly settled: Map<string, Settled>
  /** The keys of the step runs whose start, and whose end, were reported: a pause keeps them too. */
  readonly started: Set<string>
  readonly ended: Set<string>
  /** A resumed run: what its steps settled to before the pause, and the decisions, by step key. */
  readonly resumed: Resumed | undefined
}

/** What a resumed workflow run is given: the earlier steps' outputs and the decisions, by step key. */
export interface Resumed {
  readonly replay: ReadonlyMap<string, Settled>
  /** Decisions on steps that wait for approval before they start. */
  readonly gates: ReadonlyMap<string, Approval.Decision>
  /** Steps whose own run paused: its state and the decisions for it (paths from the step down). */
  readonly nested: ReadonlyMap<string, { readonly inner: Approval.Body; readonly decisions: ReadonlyArray<Approval.Decision> }>
  /** The step runs whose start, and whose end, the paused run reported: not reported again. */
  readonly started: ReadonlySet<string>
  readonly ended: ReadonlySet<string>
}

/**
 * A step's run stopped to wait for a person: the failure that carries what waits up to the workflow
 * run, which pauses with it. Not a step's failure: no step reports it as its own.
 */
export class Pause {
  constructor(
    readonly gates: ReadonlyArray<{ readonly key: string; readonly request: Approval.Request }>,
    readonly nested: ReadonlyArray<Approval.WorkflowState["nested"][number]>
  ) {}
}

export const isPause = (u: unknown): u is Pause => u instanceof Pause

/** Several steps' pauses (a parallel step's branches) as one: every request of them, asked at once. */
export const mergePauses = (pauses: ReadonlyArray<Pause>): Pause =>
  new Pause(pauses.flatMap((pause) => pause.gates), pauses.flatMap((pause) => pause.nested))

/**
 * Why the steps under a parallel step's branch would be interrupted: set when a branch fails and the
 * parallel step fails with it (`onFailure: "fail"`), so the steps of the other branches that it
 * interrupts report it. Under a branch of a parallel step inside another, the outer one's too.
 */
export interface Cancel {
  reason: string | undefined
  readonly outer: Cancel | undefined
}

const cancelReason = (cancel: Cancel | undefined): string | undefined =>
  cancel === undefined ? undefined : cancel.reason ?? cancelReason(cancel.outer)

/** The key of what a step that waits for approval was decided, kept with the settled steps. */
const gateKey = (at: At) => `${at.key}/gate`

/**
 * The decision on the step `at` that waits for approval: the resume's, or the one taken at an
 * earlier resume of the run (a step approved once is not asked for again at a later pause).
 */
export const gateDecision = (at: At): Approval.Decision | undefined => {
  const resumed = at.state.resumed
  if (resumed === undefined) return undefined
  const decision = resumed.gates.get(at.key)
  if (decision !== undefined) return decision
  return resumed.replay.get(gateKey(at))?.output as Approval.Decision | undefined
}

/** Keeps a decision on the step `at` that waits for approval, for a later pause of the run. */
export const keepGate = (at: At, decision: Approval.Decision): void => {
  at.state.settled.set(gateKey(at), {
    output: decision._tag === "Reject"
      ? { _tag: "Reject", toolCallId: decision.toolCallId, path: [], reason: decision.reason }
      : { _tag: "Approve", toolCallId: decision.toolCallId, path: [] },
    run: undefined
  })
}

/** Where a step runs: its workflow run, and the step it runs under. */
export interface At {
  readonly state: State
  readonly parent: string | undefined
  /** The id of the step run whose body this is. */
  readonly stepId: string
  /**
   * Where the step run is in the workflow, the same in every run of it: the path of slots from the
   * root (`0/1/2`: the second branch of a parallel step that is a sequence's first step, in its
   * third iteration). A durable run names its activities with it.
   */
  readonly key: string
  /** Set by a runnable step's body: the run it made, for its record. */
  run: Run.Output<unknown> | undefined
  /** Under a parallel step's branch: why its steps would be interrupted (see {@link Cancel}). */
  readonly cancelled?: Cancel | undefined
}

const isRunError = Schema.is(Schema.Union(AgentError.AgentError, Memory.MemoryError))

const describe = (error: unknown): string => {
  if (typeof error === "string") return error
  if (error instanceof Error || (typeof error === "object" && error !== null && "message" in error)) {
    const message = String((error as { readonly message: unknown }).message)
    const tag = (error as { readonly _tag?: unknown })._tag
    return typeof tag === "string" && message.length > 0 ? `${tag}: ${message}` : typeof tag === "string" ? tag : message
  }
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}

/** A step's failure as a run's: an agent's or the memory's error as it is, anything else a `WorkflowError`. */
export const toRunError = (error: unknown, workflow: string, step: string | undefined): InternalRunnable.RunError =>
  isRunError(error) ? error : new AgentError.WorkflowError({
    reason: "StepFailed",
    workflow,
    ...(step !== undefined ? { step } : {}),
    message: step === undefined
      ? `The workflow "${workflow}" failed: ${describe(error)}`
      : `The step "${step}" of the workflow "${workflow}" failed: ${describe(error)}`,
    cause: error
  })

/**
 * Runs a step under `at`: with an id of its own, its events, and its record. A sequence runs its
 * steps where it is.
 */
export const runStep = (node: Node, input: unknown, at: At, place: string): Effect.Effect<unknown, unknown, unknown> => {
  const key = at.key.length === 0 ? place : `${at.key}/${place}`
  if (node.transparent) {
    return node.body(input, { state: at.state, parent: at.parent, stepId: at.stepId, key, run: undefined, cancelled: at.cancelled })
  }
  return Effect.suspend(() => {
    const state = at.state
    // The same in every run of the workflow with this run id: a durable run's replay reports the
    // steps it replays under the ids it reported them with.
    const stepId = `${state.runId}#${key}`
    const slot = state.steps.length
    state.steps.push(undefined)
    const emit = state.emit
    const parentStepId = at.parent
    const child: At = { state, parent: stepId, stepId, key, run: undefined, cancelled: at.cancelled }
    // A resumed run does not report again the start and end of a step run the paused run reported.
    const quietStart = state.resumed?.started.has(key) === true
    const quietEnd = state.resumed?.ended.has(key) === true
    let startedAt = 0
    const executor = state.executor
    const replayed = node.leaf ? state.resumed?.replay.get(key) : undefined
    const nested = node.leaf && node.resume !== undefined ? state.resumed?.nested.get(key) : undefined
    const own = nested !== undefined
      ? Effect.flatMap(Approval.sign(nested.inner), (inner) => node.resume!(inner, nested.decisions, child))
      : node.body(input, child)
    const work = replayed !== undefined
      ? Effect.sync(() => {
        child.run = replayed.run
        state.settled.set(key, replayed)
        return replayed.output
      })
      : executor !== undefined && node.leaf
      ? Effect.map(
        executor.leaf(key, node.name, Effect.map(own, (output) => ({ output, run: child.run })), node.kind),
        (settled) => {
          child.run = settled.run
          return settled.output
        }
      )
      : own
    const recorded = !node.leaf || replayed !== undefined ? work : Effect.tap(work, (output) =>
      Effect.sync(() => {
        state.settled.set(key, { output, run: child.run })
      }))
    // A runnable step whose run paused (its tool waits for approval) pauses the workflow run: its
    // requests are under the step's name, and resuming resumes its run.
    const paused = node.resume === undefined ? recorded : Effect.catchIf(
      recorded,
      (error): error is AgentError.RunPaused => error instanceof AgentError.RunPaused,
      (error) =>
        Effect.fail(
          new Pause([], [{
            key,
            name: node.name,
            pending: error.pending.map((request) => ({ ...request, path: [node.name, ...request.path] })),
            inner: Approval.encodeBody(error.state.body)
          }])
        )
    )
    const failed = (error: InternalRunnable.RunError) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        state.steps[slot] = {
          _tag: "Failed",
          stepId,
          step: node.name,
          kind: node.kind,
          parentStepId,
          error,
          duration: Duration.millis(now - startedAt)
        }
        state.ended.add(key)
        return emit === undefined || quietEnd
          ? Effect.void
          : emit(new RunEvent.StepFailed({ runId: state.runId, stepId, step: node.name, error }, true))
      })
    const tapped = Effect.tapBoth(paused, {
      onSuccess: (output) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          if (child.run !== undefined) state.metrics = Run.combineMetrics(state.metrics, child.run.metrics)
          const duration = Duration.millis(now - startedAt)
          state.steps[slot] = {
            _tag: "Completed",
            stepId,
            step: node.name,
            kind: node.kind,
            parentStepId,
            output,
            run: child.run,
            duration
          }
          state.ended.add(key)
          return emit === undefined || quietEnd
            ? Effect.void
            : emit(new RunEvent.StepCompleted({ runId: state.runId, stepId, step: node.name, output, duration }, true))
        }),
      onFailure: (failure) => {
        if (isPause(failure)) return Effect.void
        let error = state.failures.get(failure)
        if (error === undefined) {
          error = toRunError(failure, state.workflow, node.name)
          state.failures.set(failure, error)
        }
        return failed(error)
      }
    })
    // Interrupted because a sibling branch of a parallel step failed: the step ends failed, and
    // says so, after its own finalizers ran (an interruption from outside the run reports nothing).
    const body = Effect.onInterrupt(tapped, () => {
      const reason = cancelReason(at.cancelled)
      return reason === undefined ? Effect.void : failed(
        new AgentError.WorkflowError({
          reason: "StepFailed",
          workflow: state.workflow,
          step: node.name,
          message: `The step "${node.name}" of the workflow "${state.workflow}" was interrupted: ${reason}.`
        })
      )
    })
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      startedAt = now
      state.started.add(key)
      return emit === undefined || quietStart ? body : Effect.zipRight(
        emit(
          new RunEvent.StepStarted({
            runId: state.runId,
            stepId,
            step: node.name,
            kind: node.kind,
            ...(parentStepId !== undefined ? { parentStepId } : {})
          }, true)
        ),
        body
      )
    })
  })
}

/** The text a runnable step is asked when its input is not already a prompt. */
export const promptOf = (input: unknown): Run.Input => {
  if (typeof input === "string") return input
  if (Array.isArray(input)) return input as Run.Input
  return JSON.stringify(input) ?? String(input)
}

/**
 * Runs a runnable (an agent, a team, a workflow run as a runnable) as the step `at`: in a run of
 * its own whose id is the step's, for the workflow's user, its events nested in the step's.
 */
export const runRunnable = (
  runnable: InternalRunnable.Runnable<unknown, unknown>,
  prompt: Run.Input,
  at: At,
  name: string
): Effect.Effect<Run.Output<unknown>, InternalRunnable.RunError, unknown> => {
  const state = at.state
  const emit = state.emit
  const nested: Emit | undefined = emit === undefined
    ? undefined
    : (event) => emit(new RunEvent.StepEvent({ runId: state.runId, stepId: at.stepId, step: name, event }, true))
  return Effect.tap(
    InternalRunnable.run(runnable, prompt, { runId: at.stepId, userId: state.userId }, nested) as Effect.Effect<
      Run.Output<unknown>,
      InternalRunnable.RunError,
      unknown
    >,
    (output) =>
      Effect.sync(() => {
        at.run = output
      })
  )
}

/** A runnable step's paused run, resumed as the step `at` (its events nested in the step's). */
export const resumeRunnable = (
  runnable: InternalRunnable.Runnable<unknown, unknown>,
  paused: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>,
  at: At,
  name: string
): Effect.Effect<Run.Output<unknown>, InternalRunnable.RunError, unknown> => {
  const state = at.state
  const emit = state.emit
  const nested: Emit | undefined = emit === undefined
    ? undefined
    : (event) => emit(new RunEvent.StepEvent({ runId: state.runId, stepId: at.stepId, step: name, event }, true))
  // For the workflow's user, as its run was (with the user's memory, when it has memory).
  return Effect.tap(
    InternalRunnable.resume(runnable, paused, decisions, { userId: state.userId }, nested) as Effect.Effect<
      Run.Output<unknown>,
      InternalRunnable.RunError,
      unknown
    >,
    (output) =>
      Effect.sync(() => {
        at.run = output
      })
  )
}

/**
 * The checks of a runnable step's resume only (see `Approval.checkOnly`), run before the workflow's
 * own pause is spent. Agents, teams and workflows admit their resume before anything of it runs; a
 * runnable of another kind is not run to check it: it checks its decisions when it resumes.
 */
export const checkRunnable = (
  runnable: InternalRunnable.Runnable<unknown, unknown>,
  paused: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>,
  userId: string | undefined
): Effect.Effect<void, Approval.ApprovalError, unknown> =>
  runnable.kind === "agent" || runnable.kind === "team" || runnable.kind === "workflow"
    ? Approval.checkOnly(InternalRunnable.resume(runnable, paused, decisions, { userId }, undefined))
    : Effect.void

/**
 * A predicate that may be an Effect, as an Effect. In a durable run an Effect's answer (it may ask
 * a service or a model) is settled once, as an activity, so a replay takes the same branch.
 */
export const decide = (
  result: boolean | Effect.Effect<boolean, unknown, unknown>,
  at: At,
  place: string
): Effect.Effect<boolean, unknown, unknown> =>
  typeof result === "boolean" ? Effect.succeed(result) : settle(result, at, place) as Effect.Effect<boolean, unknown, unknown>

/** Work inside a composite step (a router's choice), settled once in a durable run and across a pause. */
export const settle = <A>(effect: Effect.Effect<A, unknown, unknown>, at: At, place: string): Effect.Effect<A, unknown, unknown> => {
  const executor = at.state.executor
  const key = at.key.length === 0 ? place : `${at.key}/${place}`
  const replayed = at.state.resumed?.replay.get(key)
  if (replayed !== undefined) {
    return Effect.sync(() => {
      at.state.settled.set(key, replayed)
      return replayed.output as A
    })
  }
  if (executor === undefined) {
    return Effect.tap(effect, (output) =>
      Effect.sync(() => {
        at.state.settled.set(key, { output, run: undefined })
      }))
  }
  return executor.leaf(key, place, Effect.map(effect, (output) => ({ output, run: at.run }))).pipe(
    Effect.map((settled) => {
      if (settled.run !== undefined) at.run = settled.run
      return settled.output as A
    })
  )
}
