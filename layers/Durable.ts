/**
 * Durable workflow runs, on `@effect/workflow` and `@effect/cluster`: a run is a workflow
 * execution keyed by its run id; each plain step (an Effect) is an activity whose result is
 * persisted, and so is each model call and each tool call of an agent's or a team's step, so after a
 * crash the run starts again where it was — settled steps and calls are replayed from storage,
 * never run again; a step or call that was running when the process died runs once more — and a
 * signal step is a durable deferred. A run whose agent (or a workflow's gate) pauses for approval does
 * not end: it waits, durably, for the decisions (`pending` lists what it waits for, `decide` sends
 * them from any process) and resumes where it paused. One process: {@link layerSqlite}, an
 * engine of its own on a SQLite file (`internal/durable/engine.ts`). Several processes sharing
 * PostgreSQL, which take over the runs of one that dies: {@link layerPg}, on `@effect/cluster`.
 * Tests: {@link layerMemory}.
 *
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Workflow } from "effect-agents"
 * import * as Durable from "effect-agents/layers/Durable"
 *
 * const count = Workflow.make({
 *   name: "Count",
 *   input: Schema.String,
 *   steps: Workflow.step("length", (text: string) => Effect.succeed(text.length))
 * })
 * const durable = Durable.make(count)
 *
 * // Run "run-1" to its end: after a crash, the same call finishes it without redoing settled steps.
 * const program = durable.run("hello", { runId: "run-1" }).pipe(
 *   Effect.provide(durable.layer),
 *   Effect.provide(Durable.layerSqlite({ filename: "runs.db" }))
 * )
 * ```
 *
 * What is guaranteed: a step's result, once settled, is never executed again, whatever the engine
 * replays; a step in flight at a crash is executed again (at least once in all). In an agent's
 * step, a settled tool call is never executed again (its record is kept in a ledger as soon as its
 * handler returns), and a tool call in flight at a crash is executed once more, with the same
 * idempotency key (`Agent.idempotencyKey`: the run's id and the call's), which a handler whose effect
 * must not happen twice passes on or checks. A settled model call is not made again and its text is
 * not streamed again (it was streamed live the first time); one in flight at a crash is made again. Steps' outputs and
 * errors are stored as JSON: a durable step should give plain values (an agent's answer, records),
 * not class instances (an `AgentError` keeps its class). Events of a durable run are reported live
 * to the process that runs it (`onEvent`), not stored.
 *
 * @since 0.3.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as EngineWorkflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Crypto from "node:crypto"
import * as Os from "node:os"
import * as Memory from "../services/Memory.js"
import type * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import * as AgentError from "../src/AgentError.js"
import type * as Approval from "../src/Approval.js"
import * as Run from "../src/Run.js"
import * as Runnable from "../src/Runnable.js"
import type * as RunEvent from "../src/RunEvent.js"
import * as Workflow from "../src/Workflow.js"
import * as DurableActivity from "./internal/durable/activity.js"
import * as Cancel from "./internal/durable/cancel.js"
import * as Engine from "./internal/durable/engine.js"
import * as Ledger from "./internal/durable/ledger.js"
import * as Pause from "./internal/durable/pause.js"
import * as Runner from "./internal/durable/runner.js"
import * as Sweeper from "./internal/durable/sweeper.js"
import * as SessionStoreSql from "./SessionStoreSql.js"

/**
 * A step's failure as it is stored: an agent's (or the memory's) error keeps its class; anything
 * else is stored as JSON.
 */
const Failure = Schema.Union(AgentError.AgentError, Memory.MemoryError, Cancel.Cancelled, Schema.Unknown)

/**
 * A model call's and a tool call's failure as stored. Made once: the engine decodes each call's
 * result with a schema kept per pair of schemas (`internal/durable/activity.ts`).
 */
const ModelCallFailure = Schema.Union(AgentError.ModelError, Cancel.Cancelled)
const ToolCallFailure = Schema.Union(AgentError.AgentError, Cancel.Cancelled)

const Settled = Schema.Struct({ output: Schema.Unknown, run: Schema.UndefinedOr(Run.Output) })

const StepRun = Schema.Union(
  Schema.Struct({
    _tag: Schema.Literal("Completed"),
    stepId: Schema.String,
    step: Schema.String,
    kind: Schema.String,
    parentStepId: Schema.UndefinedOr(Schema.String),
    output: Schema.Unknown,
    run: Schema.UndefinedOr(Run.Output),
    duration: Schema.DurationFromMillis
  }),
  Schema.Struct({
    _tag: Schema.Literal("Failed"),
    stepId: Schema.String,
    step: Schema.String,
    kind: Schema.String,
    parentStepId: Schema.UndefinedOr(Schema.String),
    error: Schema.Union(AgentError.AgentError, Memory.MemoryError),
    duration: Schema.DurationFromMillis
  })
)

/** A workflow's output as it is stored with its execution. */
const Output = Schema.Struct({ ...Run.Output.fields, steps: Schema.Array(StepRun) })

/**
 * The executor of the runs the engine executes: a leaf step is an activity named by its key, a
 * signal a durable deferred named by the signal ({@link signalDeferred}). Provided as
 * `Workflow.CurrentExecutor` to whatever an engine workflow runs, it makes the workflow runs in it
 * durable: how the HTTP app runs any runnable of its registry on the engine ({@link withExecutors}
 * provides it with the run executor).
 *
 * With a run executor in the context ({@link runExecutor}), an agent's or a team's step runs in
 * the workflow's body, where each model call and tool call (the leader's and its members') is an
 * activity of its own: a crash in the middle of an agent or a team redoes neither its settled tool
 * calls nor its settled model calls. Any other leaf (a plain Effect, a runnable of another kind) is
 * one activity, in which calls run as they do in process.
 *
 * @since 0.3.0
 * @category executors
 */
export const executor: Workflow.Executor = {
  leaf: (key, name, body, kind) => {
    const activity = DurableActivity.make({
      name: `${key} ${name}`,
      success: Settled,
      error: Failure,
      execute: guarded(Effect.provideService(body, Agent.CurrentExecutor, undefined))
    }) as unknown as Effect.Effect<Workflow.Settled, unknown, unknown>
    return kind !== "agent" && kind !== "team"
      ? endIfCancelled(activity)
      : Effect.flatMap(Agent.CurrentExecutor, (runs) => runs === undefined ? endIfCancelled(activity) : body)
  },
  // The value is stored encoded (JSON): the step gets it decoded with its signal's schema.
  signal: (name, schema) =>
    Effect.flatMap(DurableDeferred.await(deferredOf(name)), Schema.decodeUnknown(schema)) as Effect.Effect<
      unknown,
      unknown,
      unknown
    >
}

/**
 * An activity's work, raced against its run's cancellation in this process: a cancelled run's work
 * in flight is interrupted (its finalizers run, its I/O is aborted) and its activity fails with
 * `Cancelled`, which is stored, so the engine never runs it again.
 */
const guarded = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Cancel.serviceOption, (cancels) =>
    cancels === undefined ? effect : Effect.flatMap(
      Effect.serviceOption(WorkflowEngine.WorkflowInstance),
      (instance) => Option.isNone(instance) ? effect : cancels.guard(instance.value.executionId, effect) as Effect.Effect<A, E, R>
    ))

/** An activity's call in the run's body: a cancelled activity ends the run as interrupted. */
const endIfCancelled = <A, E, R>(activity: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.catchIf(activity, Cancel.isCancelled, () => Cancel.interruptRun) as Effect.Effect<A, E, R>

const deferredOf = (name: string) => DurableDeferred.make(`signal ${name}`, { success: Schema.Unknown })

/**
 * The durable deferred a signal step named `name` waits on under {@link executor}: complete it
 * (with a token of the run's execution) to send the step its value.
 *
 * @since 0.3.0
 * @category executors
 */
export const signalDeferred: (name: string) => DurableDeferred.DurableDeferred<typeof Schema.Unknown> = deferredOf

/**
 * The run executor of the agents' runs in a workflow's body on the engine: a model call is an
 * activity named by its key (`<runId>/model/<turn>`) whose result (the model's answer: text, tool
 * calls, usage) is stored, so a replay makes no call and streams no text again; a tool call is an
 * activity named by its idempotency key (`<runId>/tool/<toolCallId>`), and its record goes to the
 * ledger as soon as its handler settles it, so a settled call is not executed again even where the
 * engine would execute its activity again (a process that died after the handler returned and
 * before the engine stored the activity's result).
 *
 * @since 0.3.0
 * @category executors
 */
export const runExecutor = (ledger: Option.Option<Ledger.Service>): Agent.Executor => {
  const settled = Option.getOrUndefined(ledger)
  // A model may give the same tool call id in two turns of a run (a scripted model, some
  // OpenAI-compatible servers): its second call is settled under the key with `#2`, and so on; so
  // is a model call of a turn a run makes twice (a routing team's leader, asked again after a
  // member failed, runs again under the team's run id). The executor is made for each execution of
  // the workflow's body, and a replay meets the calls in the same order, so it names them the same.
  const seen = new Map<string, number>()
  const numbered = (first: string): string => {
    const n = (seen.get(first) ?? 0) + 1
    seen.set(first, n)
    return n === 1 ? first : `${first}#${n}`
  }
  return {
    modelCall: (first, call) =>
      Effect.suspend(() =>
        endIfCancelled(
          DurableActivity.make({
            name: numbered(first),
            success: Schema.Unknown,
            error: ModelCallFailure,
            execute: guarded(call)
          })
        )
      ) as unknown as Effect.Effect<never, AgentError.ModelError>,
    toolCall: (first, call) =>
      Effect.suspend(() => {
        const key = numbered(first)
        return endIfCancelled(DurableActivity.make({
          name: key,
          success: Run.ToolCall,
          error: ToolCallFailure,
          execute: guarded(settled === undefined ? call(key) : Ledger.once(settled, key, call(key)))
        })) as unknown as Effect.Effect<Run.ToolCall, AgentError.AgentError>
      })
  }
}

/**
 * Runs `effect` (an engine workflow's body) with the executors of durable runs: {@link executor}
 * for the workflow runs in it, {@link runExecutor} (with the engine layer's ledger) for the agent
 * runs in them.
 *
 * @since 0.3.0
 * @category executors
 */
export const withExecutors = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(Ledger.ToolLedger), (ledger) =>
    cancellable(effect.pipe(
      Effect.provideService(Workflow.CurrentExecutor, executor),
      Effect.provideService(Agent.CurrentExecutor, runExecutor(ledger))
    )))

/**
 * A run's body, which a cancel in this process reaches in each of its activities; a run cancelled
 * before its body started (its interrupt stored by the engine, before a restart too) runs none.
 */
const cancellable = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Cancel.serviceOption, (cancels) =>
    cancels === undefined ? body : Effect.flatMap(
      Effect.context<never>(),
      (context) => {
        const instance = Context.getOption(context, WorkflowEngine.WorkflowInstance)
        if (Option.isNone(instance) || Option.isNone(Context.getOption(context, WorkflowEngine.WorkflowEngine))) return body
        const executionId = instance.value.executionId
        return cancels.hold(
          executionId,
          Effect.zipRight(
            Effect.flatMap(
              Cancel.requested as Effect.Effect<boolean>,
              (requested) => requested ? cancels.cancel(executionId) : Effect.void
            ),
            body
          )
        )
      }
    ))

/**
 * Cancels the execution `executionId` of `workflow`: its work in flight in this process is
 * interrupted at once (finalizers run, I/O aborted), the engine stores the interrupt (a run that
 * suspended, or that a process starts or takes up later, ends without running another step), and
 * the run ends interrupted, never to be run again.
 *
 * @since 0.3.0
 * @category executors
 */
export const cancelExecution = (
  workflow: { readonly interrupt: (executionId: string) => Effect.Effect<void, never, WorkflowEngine.WorkflowEngine> },
  executionId: string
): Effect.Effect<void, never, WorkflowEngine.WorkflowEngine> =>
  Effect.zipRight(
    Effect.flatMap(Cancel.serviceOption, (cancels) => cancels === undefined ? Effect.void : cancels.cancel(executionId)),
    workflow.interrupt(executionId)
  )

/**
 * A workflow that runs durably.
 *
 * @since 0.3.0
 * @category models
 */
export interface DurableWorkflow<I, O, E, R> {
  readonly workflow: Workflow.Workflow<I, O, E, R>
  /** The workflow as the engine knows it: its executions are keyed by run id. */
  readonly definition: EngineWorkflow.Workflow<
    string,
    Schema.Struct<{ runId: typeof Schema.String; input: typeof Schema.Unknown }>,
    typeof Output,
    typeof Failure
  >
  /** Registers the workflow with the engine, with the services its steps need. */
  readonly layer: Layer.Layer<never, never, WorkflowEngine.WorkflowEngine | R>
  /**
   * Runs the workflow on `input` as the execution of `runId`, or, when that execution exists
   * (started before a crash), waits for it to finish where it was. Its output is the in-process
   * run's; its error is a step's, as stored (after a pause, as `Runnable.resume` gives it: an error
   * that is not an `AgentError` is a `WorkflowError` naming its step). A run that pauses for
   * approval waits for its decisions ({@link DurableWorkflow.decide}).
   */
  readonly run: (
    input: I,
    options: {
      readonly runId: string
      /**
       * Called with each event of the run as it happens in this process, from when `run` is called
       * (live: nothing is stored). Steps a resumed run replays are reported once.
       */
      readonly onEvent?: ((event: RunEvent.RunEvent) => Effect.Effect<void>) | undefined
    }
  ) => Effect.Effect<Workflow.WorkflowOutput<O>, E, WorkflowEngine.WorkflowEngine>
  /**
   * Cancels the run `runId`: its steps and calls in flight in this process are interrupted at once
   * (their finalizers run, a model's or a tool's I/O is aborted), the run ends interrupted (whoever
   * waits for it with `run` sees so, after those finalizers), and it is never run again, nor taken
   * up after a restart. A run waiting on a signal ends where it waits. On several runners
   * ({@link layerPg}), a step in flight in another process is not interrupted: it finishes, and
   * the run ends when it next waits.
   */
  readonly cancel: (runId: string) => Effect.Effect<void, never, WorkflowEngine.WorkflowEngine>
  /** Sends a value to a signal step of the run `runId` (kept until the step takes it). */
  readonly send: <A>(
    signal: Workflow.Signal<A, any, any>,
    runId: string,
    value: A
  ) => Effect.Effect<void, ParseResult.ParseError, WorkflowEngine.WorkflowEngine>
  /**
   * The calls the run `runId` waits for decisions on, when it paused for approval (from any
   * process: the pause is stored), and why the last decisions sent were refused, if they were.
   */
  readonly pending: (runId: string) => Effect.Effect<Option.Option<Pending>, never, Pause.Pauses>
  /**
   * Sends decisions on the calls the run `runId` waits for (see {@link pending}) from any process:
   * the run resumes where it paused, in whichever process runs it. Decisions that name no pending
   * call, name one twice, or answer a call that waits for approval (or the reverse) are an
   * `ApprovalError` and the run still waits; so is a pause decided already. Edited arguments and
   * answers are checked by the run when it takes them: refused, nothing runs and the run waits
   * again, its refusal in {@link pending}.
   */
  readonly decide: (
    runId: string,
    decisions: ReadonlyArray<Approval.Decision>
  ) => Effect.Effect<void, AgentError.ApprovalError, WorkflowEngine.WorkflowEngine | Pause.Pauses>
}

/**
 * What a durable run that paused for approval waits for: its pending calls, and why the last
 * decisions sent were refused (nothing ran), if they were.
 *
 * @since 0.3.0
 * @category models
 */
export interface Pending {
  readonly pending: ReadonlyArray<Approval.Request>
  readonly refused: string | undefined
}

/**
 * A workflow as a durable one: provide its `layer` (and an engine: {@link layerSqlite},
 * {@link layerMemory}), then `run` it by run id.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = <I, O, E, R>(workflow: Workflow.Workflow<I, O, E, R>): DurableWorkflow<I, O, E, R> => {
  const definition = EngineWorkflow.make({
    name: `effect-agents/${workflow.name}`,
    payload: { runId: Schema.String, input: Schema.Unknown },
    success: Output,
    error: Failure,
    idempotencyKey: ({ runId }) => runId
  })
  // Who reads the events of each run in this process. The engine runs the workflow in a fiber of
  // its own, so its events reach the reader through here, looked up as each one happens.
  const readers = new Map<string, (event: RunEvent.RunEvent) => Effect.Effect<void>>()
  const layer = definition.toLayer((payload) => {
    const onEvent = (event: RunEvent.RunEvent) => readers.get(payload.runId)?.(event) ?? Effect.void
    return withExecutors(
      Pause.durably(
        Workflow.run(workflow, payload.input as I, { runId: payload.runId, onEvent }),
        (state, decisions) =>
          Runnable.resume(workflow as unknown as Runnable.Runnable<unknown>, state, decisions, { onEvent }) as Effect.Effect<
            unknown,
            unknown
          >
      )
    ) as Effect.Effect<
      typeof Output.Type,
      unknown,
      R
    >
  }) as Layer.Layer<never, never, WorkflowEngine.WorkflowEngine | R>
  const executionOf = (runId: string) => definition.executionId({ runId, input: undefined })
  return {
    workflow,
    definition,
    layer,
    run: (input, options) => {
      const execute = definition.execute({ runId: options.runId, input }) as unknown as Effect.Effect<
        Workflow.WorkflowOutput<O>,
        E,
        WorkflowEngine.WorkflowEngine
      >
      const reader = options.onEvent
      if (reader === undefined) return execute
      // A run that resumes (after a signal, after a restart) replays its settled steps, and reports
      // them again under the same ids: the reader is told of each once.
      const told = new Set<string>()
      const onEvent = (event: RunEvent.RunEvent): Effect.Effect<void> => {
        // A pause does not end a durable run: it waits for the decisions (`pending`, `decide`).
        if (event._tag === "RunPaused") return Effect.void
        const id = replayed(event)
        if (id === undefined) return reader(event)
        if (told.has(id)) return Effect.void
        told.add(id)
        return reader(event)
      }
      return Effect.acquireUseRelease(
        Effect.sync(() => readers.set(options.runId, onEvent)),
        () => execute,
        () =>
          Effect.sync(() => {
            if (readers.get(options.runId) === onEvent) readers.delete(options.runId)
          })
      )
    },
    cancel: (runId) =>
      Effect.flatMap(executionOf(runId), (executionId) =>
        Effect.zipRight(
          cancelExecution(definition, executionId),
          Effect.flatMap(Effect.serviceOption(Pause.Pauses), (pauses) =>
            Option.isNone(pauses) ? Effect.void : pauses.value.forget(executionId))
        )),
    pending: (runId) =>
      Effect.flatMap(executionOf(runId), (executionId) =>
        Effect.flatMap(Pause.Pauses, (pauses) =>
          Effect.map(pauses.current(executionId), Option.map(({ pending, refused }) => ({ pending, refused }))))),
    decide: (runId, decisions) =>
      Effect.flatMap(executionOf(runId), (executionId) =>
        Effect.flatMap(Pause.Pauses, (pauses) =>
          Effect.asVoid(Pause.decide(pauses, definition, executionId, runId, decisions)))),
    send: (signal, runId, value) =>
      Effect.gen(function*() {
        const encoded = yield* Schema.encode(signal.schema)(value)
        const executionId = yield* definition.executionId({ runId, input: undefined })
        const deferred = deferredOf(signal.signal)
        const token = DurableDeferred.tokenFromExecutionId(deferred, { workflow: definition, executionId })
        yield* DurableDeferred.succeed(deferred, { token, value: encoded })
      })
  }
}

/**
 * What names an event that a replay of the run reports again, if it is one: the run's start, a
 * step's start and end, and, in an agent's or a team's step (which run in the workflow's body), the
 * runs' starts and ends, their model calls' starts and ends, a team's delegations (its leader's
 * calls that run a member, and the member runs' starts and ends) and all of these in its members;
 * and a pause's requests for approval, made again each time the run is woken while it waits.
 * Text and the agents' own tool calls are not reported again: they are settled in activities.
 */
const replayed = (event: RunEvent.RunEvent): string | undefined => {
  switch (event._tag) {
    case "RunStarted":
      return event._tag
    case "StepStarted":
    case "StepCompleted":
    case "StepFailed":
    case "StepWaiting":
      return `${event._tag} ${event.stepId}`
    case "ApprovalRequested":
      return `${event._tag} ${event.runId} ${event.toolCallId}`
    case "StepEvent": {
      const inner = nested(event.event)
      return inner === undefined ? undefined : `${event.stepId} ${inner}`
    }
    default:
      return undefined
  }
}

/** The name of an event of a run in a step that its replay reports again (see {@link replayed}). */
const nested = (event: RunEvent.RunEvent): string | undefined => {
  switch (event._tag) {
    case "RunStarted":
    case "RunCompleted":
      return `${event._tag} ${event.runId}`
    case "ModelRequestStarted":
    case "ModelRequestCompleted":
      return `${event._tag} ${event.runId} ${event.turn}`
    case "ToolCallStarted":
    case "ToolCallCompleted":
    case "ToolCallFailed":
    case "ApprovalRequested":
      return `${event._tag} ${event.runId} ${event.toolCallId}`
    case "MemberRunStarted":
    case "MemberRunCompleted":
    case "MemberRunFailed":
      return `${event._tag} ${event.memberRunId}`
    case "MemberEvent": {
      const inner = nested(event.event)
      return inner === undefined ? undefined : `${event.memberRunId} ${inner}`
    }
    default:
      return undefined
  }
}

/**
 * An engine in memory, for tests: executions and their activities last as long as the layer.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerMemory: Layer.Layer<WorkflowEngine.WorkflowEngine | Ledger.ToolLedger | Pause.Pauses> = Layer
  .mergeAll(
    WorkflowEngine.layerMemory,
    Ledger.layerMemory,
    Pause.layerMemory,
    Cancel.layer
  )

/**
 * The engine on a SQL database, for one process (the embedded default, on SQLite): the engine of
 * `internal/durable/engine.ts`, which keeps executions, activity results, deferreds and clocks in
 * its own tables of `SqlClient`'s database, commits each result before the run goes on, and takes
 * up every run not ended when it starts. One process to a database: several processes share
 * PostgreSQL with {@link layerRunner}.
 *
 * Of `shardingConfig`, only `entityTerminationTimeout` applies (default 15 seconds): how long the
 * steps and calls in flight may take to end when the layer is closed, before their runs are
 * interrupted, not ended, for the next process to take up. `sweepInterval` does not apply: this
 * engine loses no wake-up (a deferred completed while its run suspends wakes it), so it needs no
 * sweep.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options?: {
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
  readonly sweepInterval?: Duration.DurationInput | undefined
}): Layer.Layer<WorkflowEngine.WorkflowEngine | Ledger.ToolLedger | Pause.Pauses, ConfigError.ConfigError, SqlClient.SqlClient> =>
  Layer.mergeAll(
    Engine.layer({ terminationTimeout: options?.shardingConfig?.entityTerminationTimeout }),
    Ledger.layerSql,
    Pause.layerSql,
    Cancel.layer
  )

/** How often an engine of `@effect/cluster` on SQL looks for runs it failed to wake up. */
const defaultSweepInterval = Duration.seconds(2)

/**
 * The engine on a SQLite file (the embedded default): one process, one file. Several processes
 * must not share one SQLite file: run them on PostgreSQL ({@link layerPg}).
 *
 * @since 0.3.0
 * @category layers
 */
export const layerSqlite = (options: {
  readonly filename: string
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
  readonly sweepInterval?: Duration.DurationInput | undefined
}): Layer.Layer<WorkflowEngine.WorkflowEngine | Ledger.ToolLedger | Pause.Pauses, ConfigError.ConfigError | SessionStore.SessionStoreError> =>
  Layer.provide(
    layer({ shardingConfig: options.shardingConfig, sweepInterval: options.sweepInterval }),
    SessionStoreSql.layerSqliteClient({ filename: options.filename })
  )

/**
 * The sharding settings {@link layerRunner} and {@link layerPg} ship with, for runners that take
 * over each other's runs. A runner holds its shards by a lock it refreshes every second; when it
 * dies (killed, its machine lost), its lock expires after 6 seconds, the others see it gone at
 * their next check of the runners (every second) and take its shards, and they find the messages of
 * its runs by polling the database (every second). Measured from a `SIGKILL` to the first step of a
 * taken-over run starting again: 5.3 to 6.5 seconds (see the README's "Durable runs"). With the
 * engine's defaults (a 35-second lock, polling every 10 seconds) a takeover waits for the 35 seconds.
 *
 * Shorter times take over sooner, at the cost of more queries: every runner refreshes its locks and
 * polls for messages at these rates. A lock that expires before its runner refreshes it (a process
 * paused for longer than the expiry, a database slower than that) hands its runs to another runner
 * while the first still runs them; keep the expiry well above the refresh interval.
 *
 * @since 0.3.0
 * @category sharding
 */
export const failoverSettings: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  shardLockRefreshInterval: Duration.seconds(1),
  shardLockExpiration: Duration.seconds(6),
  refreshAssignmentsInterval: Duration.seconds(1),
  entityMessagePollInterval: Duration.seconds(1)
}

/**
 * The engine as one runner of several that share a SQL database (PostgreSQL; MySQL works the same
 * way): each process is a runner that registers itself in the database, holds a share of the runs
 * (by shards it locks) and takes over the runs of a runner that died, which resume where they were
 * (settled steps are not run again). A run can be started, awaited, signalled or cancelled from any
 * runner: messages and replies go through the database, so the runners need no network between
 * them. Uses {@link failoverSettings}, overridden by `shardingConfig`.
 *
 * Every runner needs an address of its own in the database: by default the machine's name with a
 * random suffix, and the process id (the runners never connect to it). All runners of one database
 * must agree on `shardsPerGroup` (leave it at its default). One cluster of runners to a database:
 * on PostgreSQL the shard locks are advisory locks, which are the database's, not a schema's.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerRunner = (options?: {
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
  readonly sweepInterval?: Duration.DurationInput | undefined
}): Layer.Layer<WorkflowEngine.WorkflowEngine | Ledger.ToolLedger | Pause.Pauses, ConfigError.ConfigError, SqlClient.SqlClient> =>
  Layer.merge(Sweeper.withSweeper(ClusterWorkflowEngine.layer.pipe(
    Layer.provide(Runner.layer({
      runnerStorage: "sql",
      shardingConfig: {
        ...failoverSettings,
        runnerAddress: Option.some(
          RunnerAddress.make(`${Os.hostname()}-${Crypto.randomBytes(4).toString("hex")}`, process.pid)
        ),
        ...options?.shardingConfig
      }
    }))
  ), { interval: options?.sweepInterval ?? defaultSweepInterval }), Layer.mergeAll(Ledger.layerSql, Pause.layerSql, Cancel.layer))

/**
 * The engine as one runner of several that share a PostgreSQL database ({@link layerRunner} on
 * `@effect/sql-pg`): start each process with it, on the same database, and a run whose process dies
 * is finished by another.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerPg = (
  options: SessionStoreSql.PgOptions & {
    readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
    readonly sweepInterval?: Duration.DurationInput | undefined
  }
): Layer.Layer<WorkflowEngine.WorkflowEngine | Ledger.ToolLedger | Pause.Pauses, ConfigError.ConfigError | SessionStore.SessionStoreError> => {
  const { shardingConfig, sweepInterval, ...pg } = options
  return Layer.provide(layerRunner({ shardingConfig, sweepInterval }), SessionStoreSql.layerPgClient(pg))
}
