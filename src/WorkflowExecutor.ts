/**
 * How the steps of a workflow run are carried out, and what each leaves: the executor a durable
 * engine provides for a run's leaf steps and signal steps ({@link Executor}, {@link CurrentExecutor},
 * {@link Settled}), the registry where signal steps wait in process when there is none
 * ({@link Signals}, {@link makeSignals}), and the record of each step run in the workflow's output
 * ({@link StepRun}).
 *
 * Every name here is also `Workflow`'s (`Workflow.Executor`, `Workflow.Signals`): import it from there.
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type * as Schema from "effect/Schema"
import type * as Memory from "../services/Memory.js"
import type { AgentError } from "./AgentError.js"
import type * as Run from "./Run.js"

// -----------------------------------------------------------------------------
// Step runs
// -----------------------------------------------------------------------------

/**
 * One step run of a workflow run, in the workflow's output: its output (and the whole run of an
 * agent or team step), or its typed error. `parentStepId` is the step it ran under.
 *
 * @since 0.3.0
 * @category models
 */
export type StepRun =
  | {
    readonly _tag: "Completed"
    readonly stepId: string
    readonly step: string
    readonly kind: string
    readonly parentStepId: string | undefined
    readonly output: unknown
    /** The run a runnable step made (an agent's, a team's), with its messages and metrics. */
    readonly run: Run.Output<unknown> | undefined
    readonly duration: Duration.Duration
  }
  | {
    readonly _tag: "Failed"
    readonly stepId: string
    readonly step: string
    readonly kind: string
    readonly parentStepId: string | undefined
    readonly error: AgentError | Memory.MemoryError
    readonly duration: Duration.Duration
  }

// -----------------------------------------------------------------------------
// Executors (durable runs)
// -----------------------------------------------------------------------------

/**
 * What a leaf step (a plain Effect, an agent's or a team's run) settles to: its output, and the run
 * it made, if any.
 *
 * @since 0.3.0
 * @category executors
 */
export interface Settled {
  readonly output: unknown
  readonly run: Run.Output<unknown> | undefined
}

/**
 * How the leaf steps and the signal steps of a workflow run are executed. In process there is none
 * and each step's body runs as it is. A durable engine (`Durable` in `effect-agents/layers`) provides
 * one for the runs it executes: `leaf` gets a step's key — its place in the workflow, the same in
 * every run (`0/1/2`) — and its body, and settles it once (an activity, replayed after a restart);
 * `signal` waits for a signal that survives a restart.
 *
 * @since 0.3.0
 * @category executors
 */
export interface Executor {
  /** `kind` is the step's (`effect`, `agent`, `team`, `workflow`): an engine may run an agent's in its body. */
  readonly leaf: (
    key: string,
    name: string,
    body: Effect.Effect<Settled, unknown, unknown>,
    kind?: string
  ) => Effect.Effect<Settled, unknown, unknown>
  /** `schema` is the signal step's: what a value sent to it must be (an engine's sender checks it). */
  readonly signal: (name: string, schema: Schema.Schema<any, any>) => Effect.Effect<unknown, unknown, unknown>
}

/**
 * The executor of the workflow runs started in this context (none by default: in process).
 *
 * @since 0.3.0
 * @category executors
 */
export class CurrentExecutor extends Context.Reference<CurrentExecutor>()("effect-agents/Workflow/Executor", {
  defaultValue: (): Executor | undefined => undefined
}) {}

// -----------------------------------------------------------------------------
// Signals (in process)
// -----------------------------------------------------------------------------

/**
 * A signal registry's service: where the signal steps of running workflows wait, by run id and
 * signal name (see {@link Signals}, the reference it is provided under). A value sent before the
 * step waits is kept until it does (for as long as the run lasts).
 *
 * @since 0.3.0
 * @category signals
 */
export interface Signals {
  /** A run begins: signals may be sent to it. */
  readonly open: (runId: string) => Effect.Effect<void>
  /** A run ended: signals sent to it are refused, and values nobody took are dropped. */
  readonly close: (runId: string) => Effect.Effect<void>
  /** Waits for the signal `name` of the run, and takes it (a later wait waits for the next one). */
  readonly await: (runId: string, name: string) => Effect.Effect<unknown>
  /** Delivers a value: `NotRunning` when the run is not running, `AlreadySent` when one waits to be taken. */
  readonly send: (runId: string, name: string, value: unknown) => Effect.Effect<"Sent" | "NotRunning" | "AlreadySent">
  /** The signals that steps are waiting for now. */
  readonly waiting: Effect.Effect<ReadonlyArray<{ readonly runId: string; readonly signal: string }>>
}

interface Slot {
  readonly deferred: Deferred.Deferred<unknown>
  sent: boolean
  waiting: boolean
}

/**
 * A fresh signal registry, in process (see {@link Signals}).
 *
 * @since 0.3.0
 * @category signals
 */
// A plain `Map` touched only inside `Effect.sync` (one fiber at a time on this thread): the waits
// themselves are `Deferred`s, so interrupting a waiting step stops it at once.
export const makeSignals = (): Signals => {
  const runs = new Map<string, Map<string, Slot>>()
  const slotOf = (slots: Map<string, Slot>, name: string): Slot => {
    let slot = slots.get(name)
    if (slot === undefined) {
      slot = { deferred: Deferred.unsafeMake<unknown>(FiberId.none), sent: false, waiting: false }
      slots.set(name, slot)
    }
    return slot
  }
  return {
    open: (runId) =>
      Effect.sync(() => {
        if (!runs.has(runId)) runs.set(runId, new Map())
      }),
    close: (runId) =>
      Effect.sync(() => {
        runs.delete(runId)
      }),
    await: (runId, name) =>
      Effect.suspend(() => {
        let slots = runs.get(runId)
        if (slots === undefined) {
          slots = new Map()
          runs.set(runId, slots)
        }
        const owner = slots
        const slot = slotOf(owner, name)
        slot.waiting = true
        return Effect.ensuring(
          Deferred.await(slot.deferred),
          Effect.sync(() => {
            slot.waiting = false
            // Taken: a later wait for this signal waits for a new value.
            if (slot.sent && owner.get(name) === slot) owner.delete(name)
          })
        )
      }),
    send: (runId, name, value) =>
      Effect.sync(() => {
        const slots = runs.get(runId)
        if (slots === undefined) return "NotRunning" as const
        const slot = slotOf(slots, name)
        if (slot.sent) return "AlreadySent" as const
        slot.sent = true
        Deferred.unsafeDone(slot.deferred, Effect.succeed(value))
        return "Sent" as const
      }),
    waiting: Effect.sync(() => {
      const out: Array<{ readonly runId: string; readonly signal: string }> = []
      for (const [runId, slots] of runs) {
        for (const [signal, slot] of slots) if (slot.waiting) out.push({ runId, signal })
      }
      return out
    })
  }
}

/**
 * The reference a signal registry is provided under (its value is the service, {@link Signals}): one
 * registry per process by default.
 *
 * @since 0.3.0
 * @category signals
 */
export class SignalRegistry extends Context.Reference<SignalRegistry>()("effect-agents/Workflow/Signals", {
  defaultValue: makeSignals
}) {}

/**
 * Where signals are delivered: one registry per process by default. Provide another (made with
 * {@link makeSignals}) to keep a part of a program, or a test, apart.
 *
 * @since 0.3.0
 * @category signals
 */
export const Signals: typeof SignalRegistry = SignalRegistry
