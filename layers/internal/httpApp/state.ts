/**
 * What the handlers of the HTTP app share: the runs in flight, the batches, the event logs of
 * detached runs, the paused runs and, when a durable store is configured, the durable runs; and
 * the shutdown that stops them.
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HttpApi from "../../../src/HttpApi.js"
import * as Registry from "../../../src/Registry.js"
import * as Approvals from "./approvals.js"
import * as Batches from "./batches.js"
import type * as DurableRuns from "./durable.js"
import * as EventLog from "./eventLog.js"
import * as Runs from "./runs.js"

/**
 * What the handlers share: the runs in flight and the batches.
 *
 * @since 0.1.0
 * @category services
 */
export class State extends Context.Tag("effect-agents/HttpApp/State")<State, {
  readonly runs: Runs.Runs
  readonly batches: Batches.Batches
  /** The event logs of detached runs. */
  readonly logs: EventLog.Logs
  /** The runs that wait for approval. */
  readonly approvals: Approvals.Approvals
  /** The durable runs, when a durable store is configured. */
  readonly durable?: DurableRuns.DurableRuns | undefined
  /** Stops the runs and batches gracefully (the app's shutdown calls it; it is idempotent). */
  readonly shutdown: Effect.Effect<void>
}>() {}

/**
 * The app's state, stopped gracefully when its scope closes: runs in flight get `grace` to finish.
 * With `durable`, batches run on the durable engine.
 */
export const makeState = (
  grace: Duration.DurationInput,
  durable?: { readonly runs: DurableRuns.DurableRuns; readonly batches: Batches.Batches }
) =>
  Effect.gen(function*() {
    const runs = yield* Runs.make
    const batches = durable === undefined ? yield* Batches.make(runs) : durable.batches
    const logs = yield* EventLog.make
    const approvals = yield* Approvals.make
    const shutdown = Effect.zipRight(runs.shutdown(grace), batches.shutdown).pipe(
      Effect.zipRight(durable === undefined ? Effect.void : durable.runs.shutdown)
    )
    const once = yield* Effect.cached(shutdown)
    yield* Effect.addFinalizer(() => once)
    return State.of({ runs, batches, logs, approvals, durable: durable?.runs, shutdown: once })
  })

/**
 * The durable runs and batches on `options`' file, for the registry in context. Loaded only when
 * configured, so that an app without them does not load the durable engine.
 */
export const makeDurable = (options: DurableRuns.Options) =>
  Effect.gen(function*() {
    const registry = yield* Registry.Registry
    const DurableRuns = yield* Effect.promise(() => import("./durable.js"))
    const DurableBatches = yield* Effect.promise(() => import("./durableBatches.js"))
    const runs = yield* DurableRuns.make(registry, options)
    return { runs, batches: yield* DurableBatches.make(registry, runs) }
  })

/** The durable runs, or the error of a server that runs none. */
export const durableOf = Effect.flatMap(State, ({ durable }) =>
  durable === undefined
    ? Effect.fail(
      new HttpApi.DurableRunsDisabled({
        message:
          "This server runs no durable runs: start it with a durable store (HttpApp's durable option, or effect-agents serve --durable <file.db>)."
      })
    )
    : Effect.succeed(durable))