/**
 * The tables of the one-process durable engine (`engine.ts`) and the statements it runs on them,
 * in a SQL database of `@effect/sql` (SQLite, PostgreSQL). What is stored, as JSON:
 *
 * - `effect_agents_engine_executions`: an execution of a workflow, its payload (encoded with the
 *   workflow's payload schema), its parent's (a child workflow's), and, once it ended, its result
 *   (encoded with the workflow's result schema). Status `running` until then, also while it waits
 *   on a deferred: a process that starts takes up every execution that is not `complete`.
 * - `effect_agents_engine_activities`: an activity's exit, by execution, name and attempt.
 * - `effect_agents_engine_deferreds`: a durable deferred's exit, by execution and name; the first
 *   one stored stays.
 * - `effect_agents_engine_clocks`: a durable clock's wake-up time (epoch milliseconds), kept from its
 *   first scheduling, so a replay or a restart does not put it off.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Table from "./table.js"

/** Creates the tables when missing (tried again while another process creates them). */
export const create = (sql: SqlClient.SqlClient): Effect.Effect<void> =>
  Effect.all([
    Table.create(
      sql`CREATE TABLE IF NOT EXISTS effect_agents_engine_executions (
        execution_id VARCHAR(255) PRIMARY KEY,
        workflow VARCHAR(255) NOT NULL,
        payload TEXT NOT NULL,
        parent_workflow VARCHAR(255),
        parent_execution VARCHAR(255),
        status VARCHAR(16) NOT NULL,
        result TEXT
      )`,
      "the durable engine's executions table"
    ),
    Table.create(
      sql`CREATE INDEX IF NOT EXISTS effect_agents_engine_executions_open ON effect_agents_engine_executions (workflow, status)`,
      "the durable engine's executions index"
    ),
    Table.create(
      sql`CREATE TABLE IF NOT EXISTS effect_agents_engine_activities (
        execution_id VARCHAR(255) NOT NULL,
        name VARCHAR(1024) NOT NULL,
        attempt INTEGER NOT NULL,
        exit TEXT NOT NULL,
        PRIMARY KEY (execution_id, name, attempt)
      )`,
      "the durable engine's activities table"
    ),
    Table.create(
      sql`CREATE TABLE IF NOT EXISTS effect_agents_engine_deferreds (
        execution_id VARCHAR(255) NOT NULL,
        name VARCHAR(1024) NOT NULL,
        exit TEXT NOT NULL,
        PRIMARY KEY (execution_id, name)
      )`,
      "the durable engine's deferreds table"
    ),
    Table.create(
      sql`CREATE TABLE IF NOT EXISTS effect_agents_engine_clocks (
        execution_id VARCHAR(255) NOT NULL,
        name VARCHAR(1024) NOT NULL,
        workflow VARCHAR(255) NOT NULL,
        wake_at BIGINT NOT NULL,
        PRIMARY KEY (execution_id, name)
      )`,
      "the durable engine's clocks table"
    )
  ], { discard: true })

export interface ExecutionRow {
  readonly execution_id: string
  readonly workflow: string
  readonly payload: string
  readonly parent_workflow: string | null
  readonly parent_execution: string | null
  readonly status: string
  readonly result: string | null
}

export interface ClockRow {
  readonly execution_id: string
  readonly name: string
  readonly workflow: string
  readonly wake_at: number | string | bigint
}

/**
 * The statements of the engine on `sql`. Each fails with the driver's error; the engine decides.
 * The tables' names are written into the statements' text, not passed as identifiers: `@effect/sql`
 * escapes an identifier each time it compiles a statement.
 */
export const statements = (sql: SqlClient.SqlClient) => ({
  /** Stores a new execution: `true` when it was new, `false` when its id was stored already. */
  insertExecution: (row: {
    readonly executionId: string
    readonly workflow: string
    readonly payload: string
    readonly parentWorkflow: string | undefined
    readonly parentExecution: string | undefined
  }): Effect.Effect<boolean, SqlError.SqlError> =>
    Effect.map(
      sql<{ readonly execution_id: string }>`INSERT INTO effect_agents_engine_executions
        (execution_id, workflow, payload, parent_workflow, parent_execution, status)
        VALUES (${row.executionId}, ${row.workflow}, ${row.payload}, ${row.parentWorkflow ?? null},
          ${row.parentExecution ?? null}, 'running')
        ON CONFLICT (execution_id) DO NOTHING
        RETURNING execution_id`,
      (rows) => rows.length > 0
    ),
  execution: (executionId: string): Effect.Effect<ExecutionRow | undefined, SqlError.SqlError> =>
    Effect.map(
      sql<ExecutionRow>`SELECT * FROM effect_agents_engine_executions WHERE execution_id = ${executionId}`,
      (rows) => rows[0]
    ),
  /** The executions of `workflow` that have not ended. */
  open: (workflow: string): Effect.Effect<ReadonlyArray<ExecutionRow>, SqlError.SqlError> =>
    sql<ExecutionRow>`SELECT * FROM effect_agents_engine_executions WHERE workflow = ${workflow} AND status <> 'complete'`,
  complete: (executionId: string, result: string): Effect.Effect<unknown, SqlError.SqlError> =>
    sql`UPDATE effect_agents_engine_executions SET status = 'complete', result = ${result} WHERE execution_id = ${executionId}`,
  activities: (
    executionId: string
  ): Effect.Effect<
    ReadonlyArray<{ readonly name: string; readonly attempt: number; readonly exit: string }>,
    SqlError.SqlError
  > => sql`SELECT name, attempt, exit FROM effect_agents_engine_activities WHERE execution_id = ${executionId}`,
  /** Stores an activity's exit (a second exit for the same attempt is ignored). */
  insertActivity: (executionId: string, name: string, attempt: number, exit: string): Effect.Effect<unknown, SqlError.SqlError> =>
    sql`INSERT INTO effect_agents_engine_activities (execution_id, name, attempt, exit)
      VALUES (${executionId}, ${name}, ${attempt}, ${exit}) ON CONFLICT DO NOTHING`,
  deferreds: (
    executionId: string
  ): Effect.Effect<ReadonlyArray<{ readonly name: string; readonly exit: string }>, SqlError.SqlError> =>
    sql`SELECT name, exit FROM effect_agents_engine_deferreds WHERE execution_id = ${executionId}`,
  deferred: (executionId: string, name: string): Effect.Effect<string | undefined, SqlError.SqlError> =>
    Effect.map(
      sql<{ readonly exit: string }>`SELECT exit FROM effect_agents_engine_deferreds WHERE execution_id = ${executionId} AND name = ${name}`,
      (rows) => rows[0]?.exit
    ),
  /** Stores a deferred's exit unless one is stored: the exit that is stored now. */
  insertDeferred: (executionId: string, name: string, exit: string): Effect.Effect<string, SqlError.SqlError> =>
    Effect.zipRight(
      sql`INSERT INTO effect_agents_engine_deferreds (execution_id, name, exit) VALUES (${executionId}, ${name}, ${exit})
        ON CONFLICT DO NOTHING`,
      Effect.map(
        sql<{ readonly exit: string }>`SELECT exit FROM effect_agents_engine_deferreds WHERE execution_id = ${executionId} AND name = ${name}`,
        (rows) => rows[0]?.exit ?? exit
      )
    ),
  /** Stores a clock unless it is stored: its wake-up time as stored. */
  insertClock: (row: {
    readonly executionId: string
    readonly name: string
    readonly workflow: string
    readonly wakeAt: number
  }): Effect.Effect<number, SqlError.SqlError> =>
    Effect.zipRight(
      sql`INSERT INTO effect_agents_engine_clocks (execution_id, name, workflow, wake_at)
        VALUES (${row.executionId}, ${row.name}, ${row.workflow}, ${row.wakeAt}) ON CONFLICT DO NOTHING`,
      Effect.map(
        sql<{ readonly wake_at: number | string | bigint }>`SELECT wake_at FROM effect_agents_engine_clocks
          WHERE execution_id = ${row.executionId} AND name = ${row.name}`,
        (rows) => rows[0] === undefined ? row.wakeAt : Number(rows[0].wake_at)
      )
    ),
  /** The clocks of `workflow`'s executions whose deferred is not done. */
  clocks: (workflow: string): Effect.Effect<ReadonlyArray<ClockRow>, SqlError.SqlError> =>
    sql<ClockRow>`SELECT c.execution_id, c.name, c.workflow, c.wake_at FROM effect_agents_engine_clocks c
      WHERE c.workflow = ${workflow} AND NOT EXISTS (
        SELECT 1 FROM effect_agents_engine_deferreds d WHERE d.execution_id = c.execution_id AND d.name = ${"DurableClock/"} || c.name
      )`,
  deleteClock: (executionId: string, name: string): Effect.Effect<unknown, SqlError.SqlError> =>
    sql`DELETE FROM effect_agents_engine_clocks WHERE execution_id = ${executionId} AND name = ${name}`,
  deleteClocks: (executionId: string): Effect.Effect<unknown, SqlError.SqlError> =>
    sql`DELETE FROM effect_agents_engine_clocks WHERE execution_id = ${executionId}`
})

export type Statements = ReturnType<typeof statements>
