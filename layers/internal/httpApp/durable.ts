/**
 * The HTTP app's durable runs: background runs of the registry's agents, teams and workflows on the
 * durable engine (`Durable`), which outlive the server's process. Each entry of the registry is a
 * workflow of the engine keyed by run id: a workflow's run makes its leaf steps activities and its
 * signal steps durable deferreds (through `Durable.executor`); an agent's or a team's run is one
 * activity. What a client reads back (status, the signals a run waits for, the steps settled so
 * far, the output or error) is kept in three tables beside the engine's, in the same database,
 * written as the run's events happen, so a restarted server lists and answers for the runs of the
 * one before it, and takes the runs that had not ended up where they were. A run that pauses for
 * approval waits for decisions (`decide`), its pending calls kept beside the engine's tables
 * (`internal/durable/pause.ts`), and is listed as waiting with them. Its events but its text and
 * reasoning deltas are stored too, once each however often the engine replays the run, and read back
 * from a cursor by `GET /runs/{runId}/events` on any server of the database, then followed to the
 * run's end (`durableEvents.ts`): what ends a run stores its last event before its status.
 *
 * On PostgreSQL several servers share the runs, each a runner of the engine: a run's body runs on
 * the server that holds its shard, which writes its end (so does the server waiting for it).
 * A run waited for here is a fiber of the app's scope: shutting the app down stops waiting (the
 * run is not cancelled, and the next server takes it up); cancelling it interrupts its execution.
 */
import * as Prompt from "@effect/ai/Prompt"
import type * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as EngineWorkflow from "@effect/workflow/Workflow"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type * as SessionStore from "../../../services/SessionStore.js"
import * as HttpApi from "../../../src/HttpApi.js"
import type * as Registry from "../../../src/Registry.js"
import * as Run from "../../../src/Run.js"
import type * as Approval from "../../../src/Approval.js"
import type * as RunEvent from "../../../src/RunEvent.js"
import * as Workflow from "../../../src/Workflow.js"
import * as Durable from "../../Durable.js"
import * as SessionStoreSql from "../../SessionStoreSql.js"
import * as DurableCancel from "../durable/cancel.js"
import * as Pause from "../durable/pause.js"
import * as Table from "../durable/table.js"
import * as DurableEvents from "./durableEvents.js"
import * as Failure from "./failure.js"

/**
 * Where durable runs are kept: a SQLite file (one server to a file) or a PostgreSQL database that
 * several servers share.
 */
export type Options = SqliteOptions | PgOptions

/** Durable runs on a SQLite file: one server to a file, the next one on it takes its runs up. */
export interface SqliteOptions extends CommonOptions {
  /** The SQLite file of the engine and of the runs' records (created when missing). */
  readonly filename: string
}

/**
 * Durable runs on a PostgreSQL database shared by several servers, each a runner of the engine
 * (`Durable.layerRunner`): any server lists, reads, follows, signals, decides and cancels any run,
 * and the runs of a server that dies are finished by another. One cluster of servers to a database.
 */
export interface PgOptions extends CommonOptions {
  /** The database of the engine and of the runs' records (their tables created when missing). */
  readonly pg: SessionStoreSql.PgOptions
  /** The runners' sharding settings, over `Durable.failoverSettings` (see `Durable.layerRunner`). */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
}

interface CommonOptions {
  /** How soon a run the engine failed to wake up is woken (see `Durable.layer`). */
  readonly sweepInterval?: Duration.DurationInput | undefined
  /**
   * How long the steps in flight may take to finish when the server stops, before they are
   * interrupted (to run again when the next server takes their runs up).
   */
  readonly shutdownGrace?: Duration.DurationInput | undefined
}

export type Summary = Omit<HttpApi.DurableRun, "steps" | "output">

export interface DurableRuns {
  readonly start: (
    entry: Registry.Entry,
    request: HttpApi.DurableRunRequest
  ) => Effect.Effect<HttpApi.DurableRun, HttpApi.RunIdInUse | HttpApi.ShuttingDown>
  readonly get: (runId: string) => Effect.Effect<HttpApi.DurableRun, HttpApi.RunNotFound>
  readonly list: (waiting: boolean | undefined) => Effect.Effect<ReadonlyArray<Summary>>
  readonly cancel: (runId: string) => Effect.Effect<HttpApi.DurableRun, HttpApi.RunNotFound>
  readonly signal: (
    runId: string,
    signal: string,
    value: unknown
  ) => Effect.Effect<HttpApi.DurableRun, HttpApi.RunNotFound | HttpApi.RunNotWaiting | HttpApi.InvalidSignalValue>
  /** Sends decisions on the calls a run paused on (see `Durable`'s `decide`). */
  readonly decide: (
    runId: string,
    decisions: ReadonlyArray<Approval.Decision>
  ) => Effect.Effect<HttpApi.DurableRun, HttpApi.RunNotFound | HttpApi.RunNotWaiting | HttpApi.DecisionsRefused>
  /** Stops waiting for the runs (they are not cancelled: the next server with this file resumes them). */
  readonly shutdown: Effect.Effect<void>
  /**
   * Waits for the end of a run waited for here (at once when there is none; on PostgreSQL, for the
   * end of a run of another server too).
   */
  readonly awaitEnd: (runId: string) => Effect.Effect<void>
  /** The runs whose ids start with `prefix`, with their outputs but not their steps. */
  readonly withPrefix: (prefix: string) => Effect.Effect<ReadonlyArray<Omit<HttpApi.DurableRun, "steps">>>
  /**
   * The events of a durable run (none: no run has that id), from its event log stored beside its
   * execution (`durableEvents.ts`): its stored events after a cursor, then its live tail.
   */
  readonly events: (runId: string) => Effect.Effect<Option.Option<EventReader>>
  /** The database of the engine and of the records, for the records of others (batches). */
  readonly sql: SqlClient.SqlClient
  readonly draining: Effect.Effect<boolean>
}

/** A durable run's events from a cursor (see `durableEvents.ts` for the ids). */
export interface EventReader {
  readonly read: (after: number) => Stream.Stream<readonly [number, HttpApi.StreamEvent]>
}

interface RunRow {
  readonly run_id: string
  readonly agent: string
  readonly input: string
  readonly status: string
  readonly started_at: number
  readonly finished_at: number | null
  readonly output: string | null
  readonly error: string | null
}

const encodeInput = Schema.encode(Schema.parseJson(HttpApi.RunInput))
const decodeInput = Schema.decodeUnknown(HttpApi.RunInput)
const encodeOutput = Schema.encode(HttpApi.RunOutput)
const decodeOutput = Schema.decodeUnknown(Schema.parseJson(HttpApi.RunOutput))
const encodeFailure = Schema.encode(Schema.parseJson(HttpApi.RunFailure))
const decodeFailure = Schema.decodeUnknown(Schema.parseJson(HttpApi.RunFailure))
const encodeStep = Schema.encode(Schema.parseJson(HttpApi.DurableStep))
const decodeStep = Schema.decodeUnknown(Schema.parseJson(HttpApi.DurableStep))

/** A step's output as JSON, or what can be said of it when it is not JSON. */
const plain = (value: unknown): unknown => {
  try {
    return JSON.parse(JSON.stringify(value ?? null))
  } catch {
    return String(value)
  }
}

// A run's steps are read back in the order they were stored: by SQLite's rowid, by a sequence on
// PostgreSQL (which has no rowid).
const tables = (pg: boolean) => [
  `CREATE TABLE IF NOT EXISTS effect_agents_durable_runs (
    run_id TEXT PRIMARY KEY, agent TEXT NOT NULL, input TEXT NOT NULL, status TEXT NOT NULL,
    started_at BIGINT NOT NULL, finished_at BIGINT, output TEXT, error TEXT)`,
  `CREATE TABLE IF NOT EXISTS effect_agents_durable_steps (
    run_id TEXT NOT NULL, step_id TEXT NOT NULL, at BIGINT NOT NULL, body TEXT NOT NULL,${pg ? " seq BIGSERIAL," : ""}
    PRIMARY KEY (run_id, step_id))`,
  `CREATE TABLE IF NOT EXISTS effect_agents_durable_waits (
    run_id TEXT NOT NULL, step_id TEXT NOT NULL, signal TEXT NOT NULL, PRIMARY KEY (run_id, step_id))`
]

const notFound = (runId: string) =>
  new HttpApi.RunNotFound({
    runId,
    message: `No durable run has id "${runId}" (GET /durable/runs lists them).`
  })

/** The engine's workflow of one registry entry. */
const definitionOf = (entry: Registry.Entry) =>
  EngineWorkflow.make({
    name: `effect-agents/http/${entry.name}`,
    payload: { runId: Schema.String, input: Schema.Unknown },
    // The run's output as the API encodes it: plain JSON, stored as it is.
    success: Schema.Unknown,
    error: HttpApi.RunFailure,
    idempotencyKey: ({ runId }) => runId
  })

type Definition = ReturnType<typeof definitionOf>

export const make = (
  registry: Registry.Service,
  options: Options
): Effect.Effect<
  DurableRuns,
  ConfigError.ConfigError | SessionStore.SessionStoreError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const definitions = new Map<string, Definition>()
    for (const entry of registry.entries) definitions.set(entry.name, definitionOf(entry))

    const onPg = "pg" in options
    const sqlOf = yield* Layer.build(
      onPg ? SessionStoreSql.layerPgClient(options.pg) : SessionStoreSql.layerSqliteClient({ filename: options.filename })
    )
    const grace = options.shutdownGrace === undefined
      ? {}
      : { entityTerminationTimeout: Duration.decode(options.shutdownGrace) }
    // The engine and the runs' records share the database (the SQLite file's one connection); on
    // PostgreSQL this server is one runner of the engine among the servers of the database.
    const engine = yield* Layer.build(
      (onPg
        ? Durable.layerRunner({ sweepInterval: options.sweepInterval, shardingConfig: { ...grace, ...options.shardingConfig } })
        : Durable.layer({ sweepInterval: options.sweepInterval, shardingConfig: grace })).pipe(
          Layer.provideMerge(Layer.succeedContext(sqlOf))
        )
    )
    const sql = Context.get(sqlOf, SqlClient.SqlClient)
    for (const statement of tables(onPg)) yield* Table.create(sql.unsafe(statement).raw, "the durable runs' records")
    const pauses = Context.get(engine, Pause.Pauses)

    // The runs' event log, stored beside their executions (its events' keys make a replay's events
    // stored once); a reader stops after a run's row says it has ended.
    const events = yield* DurableEvents.make(
      sql,
      (runId) =>
        Effect.map(
          Effect.orDie(sql<{ readonly status: string }>`SELECT status FROM effect_agents_durable_runs WHERE run_id = ${runId}`),
          (rows) => rows[0]?.status !== "running"
        )
    )
    /** Stores the event that ends a run (made by what ends it, not by its body), once. */
    const recordEnd = (runId: string, last: HttpApi.StreamEvent) =>
      events.record(runId, last, DurableEvents.keyOfEnd(last))

    // What each run's events leave in the tables: the event log, the signals it waits for, the steps
    // it settled. A pause does not end a durable run: it waits for decisions (its pending calls are
    // stored). `keyOf` names the events of one execution of the run's body.
    const record = (
      runId: string,
      keyOf: (event: HttpApi.StreamEvent) => string | undefined,
      event: RunEvent.RunEvent
    ): Effect.Effect<void> =>
      event._tag === "RunPaused" && event.runId === runId
        ? Effect.void
        : Effect.zipRight(events.record(runId, event, keyOf(event)), recordStored(runId, event))
    const recordStored = (runId: string, event: RunEvent.RunEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "StepWaiting":
          return Effect.orDie(sql`INSERT INTO effect_agents_durable_waits (run_id, step_id, signal)
            VALUES (${runId}, ${event.stepId}, ${event.signal}) ON CONFLICT DO NOTHING`)
        case "StepCompleted":
        case "StepFailed":
          return Effect.gen(function*() {
            const body = yield* encodeStep(
              event._tag === "StepCompleted"
                ? { stepId: event.stepId, step: event.step, status: "completed", output: plain(event.output) }
                : { stepId: event.stepId, step: event.step, status: "failed", error: event.error }
            )
            const now = yield* DateTime.now
            yield* sql`INSERT INTO effect_agents_durable_steps (run_id, step_id, at, body)
              VALUES (${runId}, ${event.stepId}, ${DateTime.toEpochMillis(now)}, ${body}) ON CONFLICT DO NOTHING`
            yield* sql`DELETE FROM effect_agents_durable_waits WHERE run_id = ${runId} AND step_id = ${event.stepId}`
          }).pipe(Effect.orDie)
        default:
          return Effect.void
      }
    }

    // The schema of each signal step of each entry, met when a run waits on it (the registry's
    // entries do not list their steps): what a value sent to it is checked against.
    const signalSchemas = new Map<string, Schema.Schema<unknown, unknown>>()
    const signalKey = (entry: string, signal: string) => `${entry}\u0000${signal}`
    const executorOf = (entry: string): Workflow.Executor => ({
      leaf: Durable.executor.leaf,
      signal: (name, schema) =>
        Effect.zipRight(
          Effect.sync(() => void signalSchemas.set(signalKey(entry, name), schema)),
          Durable.executor.signal(name, schema)
        )
    })

    const executionOf = (found: RunRow) => {
      const definition = definitions.get(found.agent)
      return definition === undefined ? Effect.succeed(undefined) : definition.executionId({ runId: found.run_id, input: undefined })
    }

    const finish = (runId: string, status: "completed" | "failed" | "cancelled", values: {
      readonly output?: string
      readonly error?: string
    }) =>
      Effect.gen(function*() {
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        yield* Effect.orDie(sql`UPDATE effect_agents_durable_runs
          SET status = ${status}, finished_at = ${now}, output = ${values.output ?? null}, error = ${values.error ?? null}
          WHERE run_id = ${runId} AND status = 'running'`)
        yield* Effect.orDie(sql`DELETE FROM effect_agents_durable_waits WHERE run_id = ${runId}`)
        const found = yield* row(runId)
        const executionId = Option.isNone(found) ? undefined : yield* executionOf(found.value)
        if (executionId !== undefined) yield* pauses.forget(executionId)
      })

    /**
     * Records a run's end from its execution's exit: its last event is stored before its status, so
     * a reader that sees it ended has it. Written by the body that ends the run, on whichever server
     * runs it, and by the server waiting for it: the first write counts.
     */
    const settle = (runId: string, exit: Exit.Exit<unknown, HttpApi.RunFailure>): Effect.Effect<void> =>
      Effect.gen(function*() {
        if (Exit.isSuccess(exit)) {
          const output = yield* Effect.orDie(Schema.encode(Schema.parseJson(Schema.Unknown))(exit.value))
          yield* finish(runId, "completed", { output })
          return yield* events.ended(runId)
        }
        if (Cause.isInterruptedOnly(exit.cause)) {
          yield* recordEnd(runId, cancelledEvent(runId))
          yield* finish(runId, "cancelled", {})
          return yield* events.ended(runId)
        }
        const failure = yield* Option.match(Cause.failureOption(exit.cause), {
          onNone: () => Failure.fromCause(exit.cause as Cause.Cause<never>),
          onSome: Effect.succeed
        })
        // A run cancelled as it failed ends as cancelled. An AgentError was told by the run (RunFailed).
        const before = yield* row(runId)
        const last = Option.isSome(before) && before.value.status === "cancelled"
          ? cancelledEvent(runId)
          : failure._tag === "SessionStoreError" || failure._tag === "MemoryError" || failure._tag === "InternalError"
          ? new HttpApi.RunError({ runId, error: failure })
          : undefined
        if (last !== undefined) yield* recordEnd(runId, last)
        yield* finish(runId, "failed", { error: yield* Effect.orDie(encodeFailure(failure)) })
        return yield* events.ended(runId)
      })

    // A run's record. Defined before the entries are registered: the engine takes up the runs a
    // process before left unfinished as soon as their workflow registers, and their bodies read it.
    const row = (runId: string) =>
      Effect.map(
        Effect.orDie(sql<RunRow>`SELECT * FROM effect_agents_durable_runs WHERE run_id = ${runId}`),
        (rows) => Option.fromNullable(rows[0])
      )

    // Registers every entry with the engine. A workflow's steps run under the durable executors; an
    // agent's run is a workflow's agent step (each model call and tool call an activity); a team's
    // whole run is one activity (settled once, run again only if it was in flight at a crash). A
    // cancel (`Durable.cancelExecution`) interrupts the activities in flight here and ends the run.
    const handlers = Array.from(registry.entries, (entry) =>
      definitions.get(entry.name)!.toLayer((payload) =>
        Effect.gen(function*() {
          // A run cancelled while no process ran it (the engine may take it up on its own).
          const found = yield* row(payload.runId)
          if (Option.isSome(found) && found.value.status === "cancelled") return yield* DurableCancel.interruptRun
          const input = yield* Effect.orDie(decodeInput(payload.input))
          const keyOf = DurableEvents.keys()
          const onEvent = (event: RunEvent.RunEvent) => record(payload.runId, keyOf, event)
          // A run that pauses for approval waits for decisions, and resumes in the body with them.
          const resume = entry.resume
          const run = resume === undefined
            ? entry.run(toRunInput(input), { runId: payload.runId, onEvent })
            : Pause.durably(
              entry.run(toRunInput(input), { runId: payload.runId, onEvent }),
              (state, decisions) => resume(state, decisions, { onEvent })
            )
          const encoded = Effect.flatMap(run, (output) => Effect.orDie(encodeOutput(output as typeof HttpApi.RunOutput.Type)))
          if (entry.kind === "workflow") return yield* encoded
          const settled = yield* Durable.executor.leaf(
            "0",
            entry.name,
            Effect.map(
              Effect.provideService(encoded, Workflow.CurrentExecutor, undefined),
              (output) => ({ output, run: undefined })
            ),
            entry.kind
          )
          return settled.output
        }).pipe(
          Effect.provideService(Workflow.CurrentExecutor, executorOf(entry.name)),
          Durable.withExecutors,
          // The run's end is written by the body that ends it, on whichever server runs it (a run
          // taken over from another runner has no waiter here). An interrupted body has not ended
          // its run: it suspended, was cancelled (the cancel wrote the end) or stopped with its server.
          Effect.onExit((exit: Exit.Exit<unknown, unknown>) =>
            Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
              ? Effect.void
              : settle(payload.runId, exit as Exit.Exit<unknown, HttpApi.RunFailure>)
          )
        ) as Effect.Effect<unknown, HttpApi.RunFailure>
      ))
    const context = yield* Layer.build(
      Layer.mergeAll(...(handlers as [Layer.Layer<never, never, WorkflowEngine.WorkflowEngine>])).pipe(
        Layer.provideMerge(Layer.succeedContext(engine))
      )
    )

    /** The pause a running run waits on now, if any. */
    const pauseOf = (found: RunRow) =>
      found.status !== "running" ? Effect.succeed(Option.none<Pause.Waiting>()) : Effect.flatMap(
        executionOf(found),
        (executionId) => executionId === undefined ? Effect.succeed(Option.none<Pause.Waiting>()) : pauses.current(executionId)
      )

    const fibers = yield* FiberMap.make<string>()
    const draining = yield* Ref.make(false)

    const waitsOf = (runId: string) =>
      Effect.map(
        Effect.orDie(
          sql<{ readonly signal: string }>`SELECT signal FROM effect_agents_durable_waits WHERE run_id = ${runId} ORDER BY signal`
        ),
        (rows) => rows.map((r) => r.signal)
      )

    const summarize = (found: RunRow, waitingFor: ReadonlyArray<string>, pause: Option.Option<Pause.Waiting>) =>
      Effect.gen(function*() {
        const running = found.status === "running"
        const paused = running ? Option.getOrUndefined(pause) : undefined
        const status: HttpApi.DurableRunStatus = running
          ? (waitingFor.length > 0 || paused !== undefined ? "waiting" : "running")
          : (found.status as HttpApi.DurableRunStatus)
        const error = found.error === null ? undefined : yield* Effect.orDie(decodeFailure(found.error))
        const summary: Summary = {
          runId: found.run_id,
          agent: found.agent,
          status,
          startedAt: DateTime.unsafeMake(Number(found.started_at)),
          ...(found.finished_at === null ? {} : { finishedAt: DateTime.unsafeMake(Number(found.finished_at)) }),
          waitingFor: running ? waitingFor : [],
          ...(paused === undefined ? {} : { pending: paused.pending }),
          ...(paused?.refused === undefined ? {} : { refused: paused.refused }),
          ...(error === undefined ? {} : { error })
        }
        return summary
      })

    const describe = (found: RunRow) =>
      Effect.gen(function*() {
        const summary = yield* summarize(found, yield* waitsOf(found.run_id), yield* pauseOf(found))
        const stepRows = yield* Effect.orDie(
          sql<{ readonly body: string }>`SELECT body FROM effect_agents_durable_steps WHERE run_id = ${found.run_id} ORDER BY ${sql.literal(onPg ? "at, seq" : "at, rowid")}`
        )
        const steps = yield* Effect.orDie(Effect.forEach(stepRows, (r) => decodeStep(r.body)))
        const output = found.output === null ? undefined : yield* Effect.orDie(decodeOutput(found.output))
        const run: HttpApi.DurableRun = { ...summary, steps, ...(output === undefined ? {} : { output }) }
        return run
      })

    const get = (runId: string) =>
      Effect.flatMap(row(runId), Option.match({ onNone: () => Effect.fail(notFound(runId)), onSome: describe }))

    /**
     * Waits for the run's execution (starting it, or taking it up where it was) and records its end
     * (as its body does, wherever it runs: the first write counts).
     */
    const awaitEnd = (definition: Definition, runId: string, input: unknown) =>
      Effect.flatMap(
        Effect.exit(definition.execute({ runId, input }).pipe(Effect.provide(context))),
        (exit) => settle(runId, exit as Exit.Exit<unknown, HttpApi.RunFailure>)
      )

    const start: DurableRuns["start"] = (entry, request) =>
      Effect.uninterruptible(Effect.gen(function*() {
        if (yield* Ref.get(draining)) {
          return yield* new HttpApi.ShuttingDown({ message: "The server is shutting down and takes no new runs." })
        }
        const runId = request.runId ?? Run.makeId()
        const input = yield* Effect.orDie(encodeInput(request.input))
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        const inserted = yield* Effect.orDie(sql<{ readonly run_id: string }>`INSERT INTO effect_agents_durable_runs
          (run_id, agent, input, status, started_at) VALUES (${runId}, ${entry.name}, ${input}, 'running', ${now})
          ON CONFLICT DO NOTHING RETURNING run_id`)
        if (inserted.length === 0) {
          return yield* new HttpApi.RunIdInUse({
            runId,
            message: `A durable run with id "${runId}" exists already (GET /durable/runs/${runId}).`
          })
        }
        const definition = definitions.get(entry.name)
        if (definition === undefined) return yield* Effect.dieMessage(`"${entry.name}" is not in the registry`)
        yield* FiberMap.run(fibers, runId, awaitEnd(definition, runId, JSON.parse(input)))
        return yield* get(runId).pipe(Effect.orDie)
      }))

    const cancel = (runId: string) =>
      Effect.gen(function*() {
        const found = yield* Effect.flatMap(row(runId), Option.match({
          onNone: () => Effect.fail(notFound(runId)),
          onSome: Effect.succeed
        }))
        const definition = definitions.get(found.agent)
        if (found.status === "running" && definition !== undefined) {
          // Recorded first: whatever the run ends with now, it was cancelled (its event before its
          // status, which readers stop after, wherever the run runs).
          yield* recordEnd(runId, cancelledEvent(runId))
          yield* finish(runId, "cancelled", {})
          // Its steps and calls in flight here stop at once; a run suspended on a signal is not
          // running anywhere: the engine ends it.
          const executionId = yield* definition.executionId({ runId, input: undefined })
          yield* Durable.cancelExecution(definition, executionId).pipe(
            Effect.provide(context),
            Effect.timeoutOption("5 seconds")
          )
          // The waiter here sees the end; the steps' finalizers have run.
          const waiter = yield* FiberMap.get(fibers, runId).pipe(Effect.option)
          if (Option.isSome(waiter)) yield* Fiber.await(waiter.value).pipe(Effect.timeoutOption("10 seconds"))
        }
        return yield* get(runId)
      })

    const signal: DurableRuns["signal"] = (runId, name, value) =>
      Effect.gen(function*() {
        const found = yield* Effect.flatMap(row(runId), Option.match({
          onNone: () => Effect.fail(notFound(runId)),
          onSome: Effect.succeed
        }))
        const waits = yield* waitsOf(runId)
        const definition = definitions.get(found.agent)
        if (found.status !== "running" || !waits.includes(name) || definition === undefined) {
          return yield* new HttpApi.RunNotWaiting({
            runId,
            signal: name,
            message: found.status !== "running"
              ? `The durable run "${runId}" has ended (${found.status}): it takes no signal.`
              : definition === undefined
              ? `The durable run "${runId}" is of "${found.agent}", which this server does not run: no agent, team or workflow has that name now.`
              : waits.length === 0
              ? `The durable run "${runId}" waits for no signal now.`
              : `The durable run "${runId}" waits for ${waits.map((w) => `"${w}"`).join(", ")}, not "${name}".`
          })
        }
        // Checked here, where the client can be told: the step takes it as it is. A step not met yet
        // in this process (a run taken up after a restart, not yet back at its wait) is not checked.
        const schema = signalSchemas.get(signalKey(found.agent, name))
        if (schema !== undefined) {
          const decoded = yield* Effect.either(Schema.decodeUnknown(schema, { errors: "all" })(value))
          if (decoded._tag === "Left") {
            return yield* new HttpApi.InvalidSignalValue({
              runId,
              signal: name,
              message: `The value sent to the signal "${name}" of the durable run "${runId}" is not what it takes, and the run still waits for it:\n${
                ParseResult.TreeFormatter.formatErrorSync(decoded.left)
              }`
            })
          }
        }
        const executionId = yield* definition.executionId({ runId, input: undefined })
        const deferred = Durable.signalDeferred(name)
        const token = DurableDeferred.tokenFromExecutionId(deferred, { workflow: definition, executionId })
        yield* DurableDeferred.succeed(deferred, { token, value }).pipe(Effect.provide(context))
        // Taken: the step ends with it (or, replayed, says it waits and ends at once).
        yield* Effect.orDie(sql`DELETE FROM effect_agents_durable_waits WHERE run_id = ${runId} AND signal = ${name}`)
        return yield* get(runId)
      })

    const decide: DurableRuns["decide"] = (runId, decisions) =>
      Effect.gen(function*() {
        const found = yield* Effect.flatMap(row(runId), Option.match({
          onNone: () => Effect.fail(notFound(runId)),
          onSome: Effect.succeed
        }))
        const definition = definitions.get(found.agent)
        const pause = yield* pauseOf(found)
        if (found.status !== "running" || definition === undefined || Option.isNone(pause)) {
          return yield* new HttpApi.RunNotWaiting({
            runId,
            signal: "decisions",
            message: found.status !== "running"
              ? `The durable run "${runId}" has ended (${found.status}): it takes no decisions.`
              : definition === undefined
              ? `The durable run "${runId}" is of "${found.agent}", which this server does not run: no agent, team or workflow has that name now.`
              : `The durable run "${runId}" waits for no decisions now (GET /durable/runs/${runId} says what it waits for).`
          })
        }
        yield* Pause.decide(pauses, definition, pause.value.executionId, runId, decisions).pipe(
          Effect.provide(context),
          Effect.catchTag("ApprovalError", (error): Effect.Effect<never, HttpApi.RunNotWaiting | HttpApi.DecisionsRefused> =>
            error.reason === "Stale"
              ? Effect.fail(new HttpApi.RunNotWaiting({ runId, signal: pause.value.name, message: error.message }))
              : Effect.fail(
                new HttpApi.DecisionsRefused({
                  runId,
                  reason: error.reason,
                  message: `${error.message} The run still waits for decisions on its pending calls.`,
                  ...(error.toolCallId === undefined ? {} : { toolCallId: error.toolCallId })
                })
              ))
        )
        return yield* get(runId)
      })

    const list = (waiting: boolean | undefined) =>
      Effect.gen(function*() {
        const rows = yield* Effect.orDie(
          sql<RunRow>`SELECT * FROM effect_agents_durable_runs ORDER BY started_at DESC, run_id`
        )
        const waits = yield* Effect.orDie(
          sql<{ readonly run_id: string; readonly signal: string }>`SELECT run_id, signal FROM effect_agents_durable_waits ORDER BY signal`
        )
        const byRun = new Map<string, Array<string>>()
        for (const w of waits) byRun.set(w.run_id, [...(byRun.get(w.run_id) ?? []), w.signal])
        const paused = new Map<string, Pause.Waiting>()
        for (const pause of yield* pauses.all) paused.set(pause.executionId, pause)
        const all = yield* Effect.forEach(rows, (r) =>
          Effect.flatMap(
            r.status === "running" && paused.size > 0 ? executionOf(r) : Effect.succeed(undefined),
            (executionId) =>
              summarize(r, byRun.get(r.run_id) ?? [], Option.fromNullable(executionId === undefined ? undefined : paused.get(executionId)))
          ))
        return waiting === undefined ? all : all.filter((run) => (run.status === "waiting") === waiting)
      })

    // The runs the server before this one left unfinished: taken up where they were. On PostgreSQL
    // the engine's runners share them out (and their bodies write their ends): each is sent to the
    // engine once more, which runs it where its shard is unless it runs already, not waited for here.
    const unfinished = yield* Effect.orDie(
      sql<RunRow>`SELECT * FROM effect_agents_durable_runs WHERE status = 'running' ORDER BY started_at`
    )
    for (const left of unfinished) {
      const definition = definitions.get(left.agent)
      if (definition === undefined) {
        yield* Effect.logWarning(
          `The durable run ${left.run_id} of "${left.agent}" is not taken up: no agent, team or workflow has that name now`
        )
        continue
      }
      if (onPg) {
        yield* definition.execute({ runId: left.run_id, input: JSON.parse(left.input) }, { discard: true }).pipe(
          Effect.provide(context)
        )
      } else yield* FiberMap.run(fibers, left.run_id, awaitEnd(definition, left.run_id, JSON.parse(left.input)))
    }

    const withPrefix = (prefix: string) =>
      Effect.gen(function*() {
        // The prefix's own wildcards are escaped: ids are the clients'.
        const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
        const rows = yield* Effect.orDie(
          sql<RunRow>`SELECT * FROM effect_agents_durable_runs WHERE run_id LIKE ${pattern} ESCAPE '\\'`
        )
        const waits = yield* Effect.orDie(
          sql<{ readonly run_id: string; readonly signal: string }>`SELECT run_id, signal FROM effect_agents_durable_waits
            WHERE run_id LIKE ${pattern} ESCAPE '\\' ORDER BY signal`
        )
        return yield* Effect.forEach(rows, (found) =>
          Effect.gen(function*() {
            const summary = yield* summarize(
              found,
              waits.filter((w) => w.run_id === found.run_id).map((w) => w.signal),
              yield* pauseOf(found)
            )
            const output = found.output === null ? undefined : yield* Effect.orDie(decodeOutput(found.output))
            return { ...summary, ...(output === undefined ? {} : { output }) }
          }))
      })

    return {
      start,
      get,
      list,
      cancel,
      signal,
      decide,
      shutdown: Effect.zipRight(Ref.set(draining, true), FiberMap.clear(fibers)),
      // On PostgreSQL a run not waited for here (started or taken up by another server) is waited
      // for in its row, which whichever server ends it writes.
      awaitEnd: (runId) =>
        Effect.flatMap(Effect.option(FiberMap.get(fibers, runId)), (fiber) =>
          Option.isSome(fiber)
            ? Effect.asVoid(Fiber.await(fiber.value))
            : onPg
            ? Effect.repeat(
              Effect.map(row(runId), (found) => Option.isNone(found) || found.value.status !== "running"),
              { schedule: Schedule.spaced("250 millis"), until: (ended) => ended }
            ).pipe(Effect.asVoid)
            : Effect.void),
      withPrefix,
      events: (runId) =>
        Effect.map(row(runId), Option.map((): EventReader => ({ read: (after) => events.read(runId, after) }))),
      sql,
      draining: Ref.get(draining)
    }
  })

const cancelledEvent = (runId: string) =>
  new HttpApi.RunCancelled({ runId, reason: "cancelled", message: "The run was cancelled." })

/** The input of a registry entry's run, from the API's. */
const toRunInput = (input: HttpApi.RunInput): Run.Input =>
  typeof input === "string" ? input : Prompt.fromMessages(input)
