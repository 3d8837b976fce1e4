/**
 * A guard against a lost wake-up in `@effect/cluster`'s workflow engine (3.x; upstream issues
 * Effect-TS/effect#6318, #8238, #8312). When a durable deferred (a signal, a clock) is completed,
 * the engine's `deferred` handler resumes the suspended workflow first and stores the deferred's
 * result after: a workflow that replays in between reads no result, suspends again, and nothing
 * wakes it when the result lands. Nothing in the engine exposes the fix, so this wraps it: the
 * engine it gives remembers the workflows registered with it, and a fiber in the layer's scope
 * looks in the message storage, every `interval`, for executions whose last suspension is older
 * than a deferred result stored for them, and resumes those. (A resume of an execution that did
 * not need one replays it and suspends it again: it costs a replay, never a step.)
 */
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
 * The executions of `entityTypes` whose run's last reply is a suspension stored before a reply to
 * one of their deferreds (reply ids are snowflakes: they grow with time).
 */
const lostWakeUps = (sql: SqlClient.SqlClient, entityTypes: ReadonlyArray<string>) =>
  sql<{ readonly entity_type: string; readonly entity_id: string }>`
    SELECT m.entity_type, m.entity_id
    FROM ${sql(messages)} m
    JOIN ${sql(replies)} r ON r.request_id = m.request_id
    WHERE m.tag = 'run'
      AND m.entity_type IN ${sql.in(entityTypes)}
      AND r.payload LIKE '%"Suspended"%'
      AND EXISTS (
        SELECT 1
        FROM ${sql(messages)} d
        JOIN ${sql(replies)} dr ON dr.request_id = d.request_id
        WHERE d.entity_type = m.entity_type AND d.entity_id = m.entity_id AND d.tag = 'deferred' AND dr.id > r.id
      )`

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
      const sweep = Effect.suspend(() => {
        if (workflows.size === 0) return Effect.void
        return lostWakeUps(sql, [...workflows.keys()].map((name) => `Workflow/${name}`)).pipe(
          Effect.flatMap((rows) =>
            Effect.forEach(rows, (row) => {
              const workflow = workflows.get(row.entity_type.slice("Workflow/".length))
              return workflow === undefined ? Effect.void : inner.resume(workflow, row.entity_id)
            }, { discard: true })
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
