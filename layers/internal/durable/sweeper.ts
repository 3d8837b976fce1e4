/**
 * A guard against a lost wake-up in `@effect/cluster`'s workflow engine (3.x; upstream issues
 * Effect-TS/effect#6318, #8238, #8312). When a durable deferred (a signal, a clock) is completed,
 * the engine's `deferred` handler resumes the suspended workflow first and stores the deferred's
 * result after: a workflow that replays in between reads no result, suspends again, and nothing
 * wakes it when the result lands. Nothing in the engine exposes the fix, so this wraps it: the
 * engine it gives remembers the workflows registered with it, and a fiber in the layer's scope
 * looks in the message storage, every `interval`, for executions whose last suspension is older
 * than a deferred result stored for them, and resumes those. (A resume of an execution that did
 * not need one replays it and suspends it again: it costs a replay, never a step.) The engines on
 * `@effect/cluster` (`Durable.layerRunner`, `Durable.layerPg`) use it; the one-process engine
 * (`engine.ts`) cannot lose a wake-up and needs none.
 */
import * as MachineId from "@effect/cluster/MachineId"
import * as Snowflake from "@effect/cluster/Snowflake"
import type * as Workflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

/** The tables of `@effect/cluster`'s SQL message storage, under their default prefix. */
const messages = "cluster_messages"
const replies = "cluster_replies"

/**
 * The executions of `entityTypes` whose run's last reply is a suspension stored before (or just
 * after: `margin`) a reply to one of their deferreds (reply ids are snowflakes: they grow with
 * time), looking at the deferreds'
 * replies stored after `since` (all of them when it is undefined). The replies are found by their
 * primary key and the messages by their request id, both indexed; only the executions of those
 * replies are then looked at.
 */
const lostWakeUps = (sql: SqlClient.SqlClient, entityTypes: ReadonlyArray<string>, since: Snowflake.Snowflake | undefined) =>
  sql<{ readonly entity_type: string; readonly entity_id: string }>`
    SELECT DISTINCT d.entity_type, d.entity_id
    FROM ${sql(replies)} dr
    JOIN ${sql(messages)} d ON d.request_id = dr.request_id
    WHERE ${since === undefined ? sql`1 = 1` : sql`dr.id > ${String(since)}`}
      AND d.tag = 'deferred'
      AND d.entity_type IN ${sql.in(entityTypes)}
      AND EXISTS (
        SELECT 1
        FROM ${sql(messages)} m
        JOIN ${sql(replies)} r ON r.request_id = m.request_id
        WHERE m.entity_type = d.entity_type AND m.entity_id = d.entity_id AND m.tag = 'run'
          AND r.payload LIKE '%"Suspended"%' AND r.id < dr.id + ${String(margin)}
      )`

/**
 * A replay that looked for the deferred's result just before it was stored may store its
 * suspension just after it: a suspension up to 2 seconds younger than the deferred's reply counts
 * as missed too. (A run that took its signal and suspended on another one within those 2 seconds is
 * resumed for nothing: it replays, and suspends again.) In snowflake units: milliseconds << 22.
 */
const margin = BigInt(2000) << BigInt(22)

/**
 * How far back a sweep looks before the start of the previous one: replies are stamped by the
 * clock of the process that stores them, which may run behind this one's.
 */
const overlap = 60_000

/**
 * `engine` with the sweeper: the engine must store its messages in `SqlClient`'s database (the
 * cluster engine on `SqlMessageStorage`).
 */
export const withSweeper = <E, R>(
  engine: Layer.Layer<WorkflowEngine.WorkflowEngine, E, R>,
  options: { readonly interval: Duration.DurationInput }
): Layer.Layer<WorkflowEngine.WorkflowEngine, E, R | SqlClient.SqlClient> =>
  Layer.scoped(
    WorkflowEngine.WorkflowEngine,
    Effect.gen(function*() {
      const inner = yield* WorkflowEngine.WorkflowEngine
      const sql = yield* SqlClient.SqlClient
      const workflows = new Map<string, Workflow.Any>()
      // The first sweep looks at every reply (a run may have missed its wake-up before this process
      // started), the next ones at those since the previous sweep (less the overlap).
      let since: Snowflake.Snowflake | undefined
      const sweep = Effect.suspend(() => {
        if (workflows.size === 0) return Effect.void
        const startedAt = Date.now()
        return lostWakeUps(sql, [...workflows.keys()].map((name) => `Workflow/${name}`), since).pipe(
          Effect.flatMap((rows) =>
            Effect.forEach(rows, (row) => {
              const workflow = workflows.get(row.entity_type.slice("Workflow/".length))
              return workflow === undefined ? Effect.void : inner.resume(workflow, row.entity_id)
            }, { discard: true })
          ),
          Effect.tap(() =>
            Effect.sync(() => {
              since = Snowflake.make({
                timestamp: Math.max(startedAt - overlap, Snowflake.constEpochMillis),
                machineId: MachineId.make(0),
                sequence: 0
              })
            })
          ),
          // The tables appear with the storage's first use; a failed sweep is tried at the next.
          Effect.catchAllCause((cause) => Effect.logDebug("Durable: the sweep for lost wake-ups failed", cause))
        )
      })
      yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(options.interval)))
      return WorkflowEngine.WorkflowEngine.of({
        ...inner,
        register: (workflow, execute) =>
          Effect.suspend(() => {
            workflows.set(workflow.name, workflow)
            return inner.register(workflow, execute)
          })
      })
    })
  ).pipe(Layer.provide(engine))
