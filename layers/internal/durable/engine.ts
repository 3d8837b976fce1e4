/**
 * A durable workflow engine for one process on one SQL database (the SQLite file of
 * `Durable.layer` / `Durable.layerSqlite`), written here because `@effect/workflow` 0.19 ships
 * only two engines: the in-memory one (`WorkflowEngine.layerMemory`, nothing survives the process)
 * and `@effect/cluster`'s, which carries every run, activity, deferred and reply as a message of its
 * sharding, stored, polled and read back. One process on one file needs none of that (no shards,
 * runners, mailboxes or polling): on the 3-step run of `bench/durable.ts` the cluster's message
 * path cost 5.8 ms a step, the target being 2; this engine's overhead is 1.3–1.4 ms a step at load
 * average 2 (2.4–2.6 at 3–5), the cluster's 3.7–4.2 (6.6–10.3) in the same bench runs (the
 * figures and where the rest goes: the bench's header).
 *
 * It is `WorkflowEngine.layerMemory`'s engine with its state in the tables of `engineTables.ts`,
 * and its semantics, where users see them, `@effect/cluster`'s:
 *
 * - `execute` of an execution id stored already joins the execution (running here, or taken up
 *   from the database) or gives its stored result; a waiter without a parent waits for the end,
 *   through suspensions, without polling.
 * - An activity's exit is committed before the workflow goes on (and read back from storage, as
 *   JSON, as after a restart); an activity that is interrupted stores nothing and runs again.
 * - A deferred's exit is committed before any run sees it. A deferred completed while the run is
 *   between reading it and suspending is not lost: a resume asked for while a run is running runs
 *   it again when it suspends (no sweeper is needed). After a restart, every execution that has
 *   not ended is taken up (replayed) when its workflow registers, so none waits on a deferred
 *   completed before the crash.
 * - `interrupt` stores `@effect/workflow`'s interrupt signal and wakes the run: a run that suspends
 *   with it stored ends interrupted (finalizers run), as on the cluster.
 * - Clocks are stored with their wake-up time and armed again at start.
 * - Shutdown: no new activity starts; the runs' activities in flight get `terminationTimeout`
 *   to end (storing their results), then the runs are interrupted without being marked ended, and
 *   the next process takes them up.
 */
import * as Activity from "@effect/workflow/Activity"
import * as DurableClock from "@effect/workflow/DurableClock"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as Workflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as FiberSet from "effect/FiberSet"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Tables from "./engineTables.js"

/** How the engine is run. */
export interface Options {
  /**
   * How long the activities in flight may take to end when the engine stops, before their runs are
   * interrupted (to be taken up by the next process). Default: 15 seconds, as `@effect/cluster`'s
   * `entityTerminationTimeout`.
   */
  readonly terminationTimeout?: Duration.DurationInput | undefined
}

type Execute = (payload: object, executionId: string) => Effect.Effect<unknown, unknown, WorkflowEngine.WorkflowInstance | WorkflowEngine.WorkflowEngine>

interface Registered {
  readonly workflow: Workflow.Any
  readonly execute: Execute
  readonly encodePayload: (payload: object) => string
  readonly decodePayload: (json: string) => object
  readonly encodeResult: (result: Workflow.Result<unknown, unknown>) => string
  readonly decodeResult: (json: string) => Workflow.Result<unknown, unknown>
}

interface Parent {
  readonly workflowName: string
  readonly executionId: string
}

/** An execution this process runs (or ran, and that waits on a deferred). */
interface Execution {
  readonly executionId: string
  readonly registered: Registered
  readonly payload: object
  readonly parent: Parent | undefined
  /** Every activity exit and deferred exit stored for the execution: what the database holds. */
  readonly activities: Map<string, Exit.Exit<unknown, unknown>>
  readonly deferreds: Map<string, Exit.Exit<unknown, unknown>>
  /** Completed with the run's result when it ends (`Complete`), for whoever waits for it. */
  readonly done: Deferred.Deferred<Workflow.Result<unknown, unknown>>
  instance: WorkflowEngine.WorkflowInstance["Type"]
  /** A fiber runs the execution now (it replays it as often as it is resumed meanwhile). */
  active: boolean
  /** A resume was asked for while the run was running: it runs again when it suspends. */
  again: boolean
  fiber: Fiber.RuntimeFiber<Workflow.Result<unknown, unknown>> | undefined
  /** The run's last result, when it suspended. */
  suspended: Workflow.Suspended | undefined
  clocks: boolean
}

/**
 * An exit as stored, as JSON: an activity's (its values encoded by its schemas) or a deferred's.
 * A success is written and read as the schema would (`{"_tag":"Success","value":...}`: its value is
 * encoded already) without it; a failure's cause goes through the schema. On the 3-step run of
 * `bench/durable.ts` (five activities), three A/B pairs: median 4.39–4.58 ms a run so, 4.73–5.72 ms
 * with every exit through the schema.
 */
const ExitEncoded = Schema.Exit({ success: Schema.Unknown, failure: Schema.Unknown, defect: Schema.Defect })
const encodeFailure = Schema.encodeSync(ExitEncoded)
const decodeFailure = Schema.decodeUnknownSync(ExitEncoded) as (encoded: unknown) => Exit.Exit<unknown, unknown>

/** An exit's JSON as stored. */
export const encodeExit = (exit: Exit.Exit<unknown, unknown>): string =>
  JSON.stringify(exit._tag === "Success" ? { _tag: "Success", value: exit.value } : encodeFailure(exit))

/** An exit from its JSON as stored. */
export const decodeExit = (json: string): Exit.Exit<unknown, unknown> => {
  const encoded = JSON.parse(json) as { readonly _tag: string; readonly value?: unknown }
  return encoded._tag === "Success" ? Exit.succeed(encoded.value) : decodeFailure(encoded)
}

/** `@effect/workflow`'s interrupt request of an execution (what `Workflow.interrupt` completes). */
const InterruptSignal = DurableDeferred.make("Workflow/InterruptSignal")

const activityKey = (name: string, attempt: number) => `${attempt}\u0000${name}`

const registeredOf = (workflow: Workflow.Any, execute: Execute): Registered => {
  const payload = Schema.parseJson(workflow.payloadSchema as unknown as Schema.Schema<object, unknown>)
  const result = Schema.parseJson(
    Workflow.Result({ success: workflow.successSchema, error: workflow.errorSchema }) as Schema.Schema<
      Workflow.Result<unknown, unknown>,
      unknown
    >
  )
  return {
    workflow,
    execute,
    encodePayload: Schema.encodeSync(payload),
    decodePayload: Schema.decodeSync(payload),
    encodeResult: Schema.encodeSync(result),
    decodeResult: Schema.decodeSync(result)
  }
}

/** A turn of Node's event loop. */
const nextTurn: Effect.Effect<void> = Effect.async<void>((resume) => {
  const timer = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(timer))
})

/** The engine, in the scope of its layer: its tables are created on `SqlClient`'s database. */
export const make = (options?: Options): Effect.Effect<WorkflowEngine.WorkflowEngine["Type"], never, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Tables.create(sql)
    const statements = Tables.statements(sql)
    const grace = Duration.decode(options?.terminationTimeout ?? Duration.seconds(15))
    const scope = yield* Effect.scope
    const runs = yield* FiberSet.make<unknown, unknown>()
    // The runs' fibers run in the engine's context (plus what the workflow's registration
    // provides), not in that of whoever started or woke them.
    const runFork = yield* FiberSet.runtime(runs)<never>()
    const clockFibers = yield* FiberMap.make<string>()
    const registry = new Map<string, Registered>()
    const executions = new Map<string, Execution>()
    // Executions are created or taken up from storage one at a time, so none is run twice.
    const lock = yield* Effect.makeSemaphore(1)

    // Stopping: no activity starts; the engine waits for those in flight (`idle`).
    let closing = false
    let inFlight = 0
    const idle = Deferred.unsafeMake<void>(FiberId.none)

    const store = <A>(effect: Effect.Effect<A, unknown>): Effect.Effect<A> =>
      Effect.orDieWith(effect, (cause) => new Error(`effect-agents: the durable engine cannot write its database: ${cause}`))

    const runOnce = (execution: Execution): Effect.Effect<Workflow.Result<unknown, unknown>> =>
      Effect.suspend(() => {
        const workflow = execution.registered.workflow
        const instance = WorkflowEngine.WorkflowInstance.initial(workflow, execution.executionId)
        execution.instance = instance
        execution.again = false
        return execution.registered.execute(execution.payload, execution.executionId).pipe(
          // As on the cluster: a run that suspends with its interrupt stored ends interrupted.
          Effect.onExit((exit) => {
            const suspendOnFailure = Context.get(workflow.annotations, Workflow.SuspendOnFailure)
            if (!instance.suspended && !(suspendOnFailure && exit._tag === "Failure")) return Effect.void
            if (!execution.deferreds.has(InterruptSignal.name)) return Effect.void
            instance.suspended = false
            instance.interrupted = true
            return Effect.zipRight(
              clearClocks(execution),
              Effect.withFiberRuntime<void>((fiber) => Effect.interruptible(Fiber.interrupt(fiber)))
            )
          }),
          Workflow.intoResult,
          Effect.provideService(WorkflowEngine.WorkflowInstance, instance),
          Effect.provideService(WorkflowEngine.WorkflowEngine, engine)
        ) as Effect.Effect<Workflow.Result<unknown, unknown>>
      })

    /** Runs the execution until it ends or suspends with no resume asked for meanwhile. */
    const loop = (execution: Execution): Effect.Effect<Workflow.Result<unknown, unknown>> =>
      Effect.gen(function*() {
        while (true) {
          const result = yield* runOnce(execution)
          if (result._tag === "Complete") return yield* complete(execution, result)
          if (execution.again) continue
          execution.suspended = result
          return result
        }
      }).pipe(
        Effect.onExit((exit) =>
          Effect.suspend(() => {
            execution.active = false
            // A run that failed outside its result (a defect the workflow does not capture, a
            // result that cannot be stored) fails its waiters; one interrupted (the engine
            // stopping) leaves them waiting and its execution to the next process.
            return Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
              ? Deferred.failCause(execution.done, exit.cause as Cause.Cause<never>)
              : Effect.void
          })
        )
      )

    const complete = (execution: Execution, result: Workflow.Complete<unknown, unknown>) =>
      Effect.uninterruptible(Effect.gen(function*() {
        const json = execution.registered.encodeResult(result)
        yield* store(statements.complete(execution.executionId, json))
        if (execution.clocks) yield* clearClocks(execution)
        executions.delete(execution.executionId)
        // Read back as stored, as a waiter after a restart reads it.
        const stored = execution.registered.decodeResult(json)
        yield* Deferred.succeed(execution.done, stored)
        if (execution.parent !== undefined) yield* resumeById(execution.parent.workflowName, execution.parent.executionId)
        return stored
      }))

    const clearClocks = (execution: Execution) =>
      Effect.gen(function*() {
        execution.clocks = false
        const prefix = `${execution.executionId}\u0000`
        for (const key of [...clockKeys]) {
          if (key.startsWith(prefix)) {
            clockKeys.delete(key)
            yield* FiberMap.remove(clockFibers, key)
          }
        }
        yield* store(statements.deleteClocks(execution.executionId))
      })

    const start = (execution: Execution): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (execution.active) {
          execution.again = true
          return Effect.void
        }
        execution.active = true
        execution.suspended = undefined
        return Effect.sync(() => {
          execution.fiber = runFork(loop(execution))
        })
      })

    const newExecution = (registered: Registered, executionId: string, payload: object, parent: Parent | undefined): Execution => {
      const execution: Execution = {
        executionId,
        registered,
        payload,
        parent,
        activities: new Map(),
        deferreds: new Map(),
        done: Deferred.unsafeMake(FiberId.none),
        instance: WorkflowEngine.WorkflowInstance.initial(registered.workflow, executionId),
        active: false,
        again: false,
        fiber: undefined,
        suspended: undefined,
        clocks: false
      }
      executions.set(executionId, execution)
      return execution
    }

    /** An execution stored by a process before this one, with what it stored, run again here. */
    const takeUp = (registered: Registered, row: Tables.ExecutionRow) =>
      Effect.gen(function*() {
        const found = executions.get(row.execution_id)
        if (found !== undefined) return found
        const activityRows = yield* store(statements.activities(row.execution_id))
        const deferredRows = yield* store(statements.deferreds(row.execution_id))
        const execution = newExecution(
          registered,
          row.execution_id,
          registered.decodePayload(row.payload),
          row.parent_workflow === null || row.parent_execution === null
            ? undefined
            : { workflowName: row.parent_workflow, executionId: row.parent_execution }
        )
        for (const activity of activityRows) {
          execution.activities.set(activityKey(activity.name, Number(activity.attempt)), decodeExit(activity.exit))
        }
        for (const deferred of deferredRows) execution.deferreds.set(deferred.name, decodeExit(deferred.exit))
        yield* start(execution)
        return execution
      })

    /** The execution `executionId` of `workflow`: running here, taken up, new, or its stored result. */
    const open = (
      registered: Registered,
      executionId: string,
      payload: object,
      parent: Parent | undefined
    ): Effect.Effect<Execution | Workflow.Result<unknown, unknown>> =>
      Effect.suspend(() => {
        const found = executions.get(executionId)
        if (found !== undefined) return Effect.succeed(found)
        return lock.withPermits(1)(Effect.gen(function*() {
          const again = executions.get(executionId)
          if (again !== undefined) return again
          const inserted = yield* store(statements.insertExecution({
            executionId,
            workflow: registered.workflow.name,
            payload: registered.encodePayload(payload),
            parentWorkflow: parent?.workflowName,
            parentExecution: parent?.executionId
          }))
          if (inserted) {
            const execution = newExecution(registered, executionId, payload, parent)
            yield* start(execution)
            return execution
          }
          const row = yield* store(statements.execution(executionId))
          if (row === undefined) return yield* Effect.dieMessage(`Execution ${executionId} is missing`)
          if (row.status === "complete" && row.result !== null) return registered.decodeResult(row.result)
          return yield* takeUp(registered, row)
        }))
      })

    const resumeById = (workflowName: string, executionId: string): Effect.Effect<void> =>
      Effect.suspend(() => {
        const execution = executions.get(executionId)
        if (execution !== undefined) return start(execution)
        const registered = registry.get(workflowName)
        if (registered === undefined) return Effect.void
        return lock.withPermits(1)(Effect.gen(function*() {
          if (executions.has(executionId)) return yield* start(executions.get(executionId)!)
          const row = yield* store(statements.execution(executionId))
          if (row === undefined || row.status === "complete") return
          yield* takeUp(registered, row)
        }))
      })

    const arm = (workflowName: string, executionId: string, name: string, wakeAt: number) => {
      const key = `${executionId}\u0000${name}`
      clockKeys.add(key)
      const deferred = DurableClock.make({ name, duration: Duration.zero }).deferred
      return Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (wakeAt > now) yield* Effect.sleep(Duration.millis(wakeAt - now))
        yield* engine.deferredDone(deferred, { workflowName, executionId, deferredName: deferred.name, exit: Exit.void })
        yield* store(statements.deleteClock(executionId, name))
      }).pipe(
        Effect.ensuring(Effect.sync(() => clockKeys.delete(key))),
        FiberMap.run(clockFibers, key, { onlyIfMissing: true }),
        Effect.asVoid
      )
    }
    const clockKeys = new Set<string>()

    /** Waits (at most the grace) for the activities in flight, then interrupts every run. */
    const drain = Effect.suspend(() => {
      closing = true
      // Interruptible: a finalizer runs uninterruptibly, and the timeout interrupts the wait.
      const waiting = inFlight === 0 ? Effect.void : Effect.interruptible(Deferred.await(idle))
      return waiting.pipe(
        Effect.timeoutOption(grace),
        Effect.zipRight(FiberSet.clear(runs)),
        Effect.zipRight(FiberMap.clear(clockFibers))
      )
    })
    const drained = yield* Effect.cached(drain)
    yield* Effect.addFinalizer(() => drained)

    const engine: WorkflowEngine.WorkflowEngine["Type"] = WorkflowEngine.makeUnsafe({
      register: (workflow, execute) =>
        Effect.gen(function*() {
          const registered = registeredOf(workflow, execute)
          registry.set(workflow.name, registered)
          // The registration ends with the app: its runs stop (as the engine's would) first.
          yield* Effect.addFinalizer(() => drained)
          // Every execution of the workflow that had not ended when its process stopped, and
          // every clock that had not rung, is taken up again.
          const takeUpAll = lock.withPermits(1)(Effect.gen(function*() {
            for (const row of yield* store(statements.open(workflow.name))) yield* takeUp(registered, row)
            for (const clock of yield* store(statements.clocks(workflow.name))) {
              const execution = executions.get(clock.execution_id)
              if (execution !== undefined) execution.clocks = true
              yield* arm(workflow.name, clock.execution_id, clock.name, Number(clock.wake_at))
            }
          }))
          // Once what registers it is built (after a turn of the event loop, on no clock of
          // Effect's, which a test may hold still): a workflow's body may use what its app defines
          // after registering it, as it could on the cluster, which reads its runs later.
          yield* Effect.forkIn(Effect.zipRight(nextTurn, takeUpAll), scope)
        }),

      execute: (workflow, options) =>
        Effect.gen(function*() {
          const registered = registry.get(workflow.name)
          if (registered === undefined) return yield* Effect.dieMessage(`Workflow ${workflow.name} is not registered`)
          const parent = options.parent === undefined
            ? undefined
            : { workflowName: options.parent.workflow.name, executionId: options.parent.executionId }
          const opened = yield* open(registered, options.executionId, options.payload, parent)
          if (options.discard) return undefined as never
          if (Workflow.isResult(opened)) return opened as never
          // A child's suspension suspends its parent, which its end resumes; anyone else waits for the end.
          if (parent !== undefined) {
            if (opened.suspended !== undefined) return opened.suspended as never
            if (opened.fiber !== undefined) return (yield* Fiber.join(opened.fiber)) as never
          }
          // `Effect.never` holds a timer: a process whose only work is to wait for a suspended run
          // stays alive (as it did on the cluster, whose waiters poll).
          return (yield* Effect.raceFirst(Deferred.await(opened.done), Effect.never)) as never
        }),

      poll: (workflow, executionId) =>
        Effect.gen(function*() {
          const execution = executions.get(executionId)
          if (execution !== undefined) return execution.active ? undefined : execution.suspended
          const row = yield* store(statements.execution(executionId))
          if (row === undefined || row.status !== "complete" || row.result === null) return undefined
          const registered = registry.get(workflow.name) ?? registeredOf(workflow, () => Effect.void)
          return registered.decodeResult(row.result)
        }),

      interrupt: (workflow, executionId) =>
        Effect.gen(function*() {
          if (!executions.has(executionId)) {
            const row = yield* store(statements.execution(executionId))
            if (row === undefined || row.status === "complete") return
          }
          yield* engine.deferredDone(InterruptSignal, {
            workflowName: workflow.name,
            executionId,
            deferredName: InterruptSignal.name,
            exit: Exit.void
          })
        }),

      resume: (workflow, executionId) => resumeById(workflow.name, executionId),

      activityExecute: (activity, attempt) =>
        Effect.gen(function*() {
          const instance = yield* WorkflowEngine.WorkflowInstance
          const execution = executions.get(instance.executionId)
          const key = activityKey(activity.name, attempt)
          const settled = execution?.activities.get(key)
          if (settled !== undefined) return new Workflow.Complete({ exit: settled })
          if (closing) return yield* Effect.never
          const activityInstance = WorkflowEngine.WorkflowInstance.initial(instance.workflow, instance.executionId)
          activityInstance.interrupted = instance.interrupted
          return yield* Effect.uninterruptibleMask((restore) =>
            Effect.gen(function*() {
              inFlight++
              const result = yield* restore(
                activity.executeEncoded.pipe(
                  Workflow.intoResult,
                  Effect.provideService(WorkflowEngine.WorkflowInstance, activityInstance),
                  Effect.provideService(Activity.CurrentAttempt, attempt)
                ) as Effect.Effect<Workflow.Result<unknown, unknown>>
              )
              if (result._tag === "Suspended") return result
              // Committed before the workflow goes on, and read back as a replay reads it.
              const json = encodeExit(result.exit)
              yield* store(statements.insertActivity(instance.executionId, activity.name, attempt, json))
              const exit = decodeExit(json)
              execution?.activities.set(key, exit)
              return new Workflow.Complete({ exit })
            }).pipe(
              Effect.ensuring(Effect.sync(() => {
                inFlight--
                if (closing && inFlight === 0) Deferred.unsafeDone(idle, Exit.void)
              }))
            )
          )
        }),

      deferredResult: (deferred) =>
        Effect.gen(function*() {
          const instance = yield* WorkflowEngine.WorkflowInstance
          const execution = executions.get(instance.executionId)
          if (execution !== undefined) return execution.deferreds.get(deferred.name)
          const json = yield* store(statements.deferred(instance.executionId, deferred.name))
          return json === undefined ? undefined : decodeExit(json)
        }),

      deferredDone: ({ deferredName, executionId, exit, workflowName }) =>
        Effect.gen(function*() {
          if (executions.get(executionId)?.deferreds.has(deferredName)) return
          // Committed before any run sees it; the first exit stored stays.
          const json = yield* store(statements.insertDeferred(executionId, deferredName, encodeExit(exit)))
          const execution = executions.get(executionId)
          if (execution !== undefined && !execution.deferreds.has(deferredName)) {
            execution.deferreds.set(deferredName, decodeExit(json))
          }
          yield* resumeById(workflowName, executionId)
        }),

      scheduleClock: (workflow, { clock, executionId }) =>
        Effect.gen(function*() {
          const execution = executions.get(executionId)
          if (execution?.deferreds.has(clock.deferred.name)) return
          if (clockKeys.has(`${executionId}\u0000${clock.name}`)) return
          const now = yield* Clock.currentTimeMillis
          const wakeAt = yield* store(statements.insertClock({
            executionId,
            name: clock.name,
            workflow: workflow.name,
            wakeAt: now + Duration.toMillis(clock.duration)
          }))
          if (execution !== undefined) execution.clocks = true
          yield* arm(workflow.name, executionId, clock.name, wakeAt)
        })
    })
    return engine
  })

/**
 * The engine as a layer on `SqlClient`'s database: one process to a database (its executions are
 * run by the process that holds them in memory).
 */
export const layer = (options?: Options): Layer.Layer<WorkflowEngine.WorkflowEngine, never, SqlClient.SqlClient> =>
  Layer.scoped(WorkflowEngine.WorkflowEngine, make(options))
