/**
 * The statements of a session's turn on SQLite, sent to the connection as prepared text: the fast
 * path of the SQL session store.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as SessionStore from "../../../services/SessionStore.js"
import { formatVersion, type RunInsert, type RunRow } from "./tables.js"

/** The statements of a turn (load the history, append the run), straight on a SQLite connection. */
export interface Direct {
  readonly load: (
    key: SessionStore.SessionKey,
    status: SessionStore.RunStatus | undefined,
    last: number | undefined
  ) => Effect.Effect<ReadonlyArray<RunRow>, SqlError>
  /**
   * Appends the run and returns its seq; `fallback` is the generic path, for an append inside a
   * caller's transaction.
   */
  readonly append: (row: RunInsert, now: number, fallback: Effect.Effect<number, SqlError>) => Effect.Effect<number, SqlError>
}

const loadSql = (status: boolean, limit: boolean) =>
  `SELECT seq, version, record FROM effect_agents_runs WHERE user_id = ? AND session_id = ?${
    status ? " AND status = ?" : ""
  } ORDER BY seq DESC${limit ? " LIMIT ?" : ""}`
const loadStatements = [loadSql(false, false), loadSql(false, true), loadSql(true, false), loadSql(true, true)] as const
const upsertSessionSql = `INSERT INTO effect_agents_sessions
  (user_id, session_id, runs, state, state_version, created_at, updated_at) VALUES (?, ?, 1, '{}', ?, ?, ?)
  ON CONFLICT (user_id, session_id) DO UPDATE SET runs = effect_agents_sessions.runs + 1, updated_at = excluded.updated_at
  RETURNING runs`
const insertRunSql = `INSERT INTO effect_agents_runs
  (user_id, session_id, seq, run_id, status, version, record, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

/**
 * SQLite runs a statement in microseconds; what a turn spent was the client's machinery around each
 * one (building it from its template, a span, a transaction's scope and its unprepared BEGIN and
 * COMMIT). A turn's statements are fixed, so they go to the connection as prepared text: the same
 * statements, the same transaction, on the same connection (the client's lock keeps them from
 * interleaving with any other statement).
 */
export const makeDirect = (sql: SqlClient.SqlClient): Direct => {
  // Inside a caller's transaction the statements run on its connection; otherwise on the connection
  // reserved (SQLite has one, behind the client's lock) for the time of the statements.
  const withConnection = <A>(
    f: (connection: SqlConnection.Connection) => Effect.Effect<A, SqlError>,
    inTransaction: (connection: SqlConnection.Connection) => Effect.Effect<A, SqlError>
  ): Effect.Effect<A, SqlError> =>
    Effect.flatMap(
      Effect.serviceOption(SqlClient.TransactionConnection),
      (transaction) =>
        Option.isSome(transaction)
          ? inTransaction(transaction.value[0])
          : Effect.scoped(Effect.flatMap(sql.reserve, f))
    )
  const appendOn = (connection: SqlConnection.Connection, row: RunInsert, now: number) =>
    Effect.zipRight(
      connection.execute("BEGIN", [], undefined),
      Effect.flatMap(
        connection.execute(upsertSessionSql, [row.userId, row.sessionId, formatVersion, now, now], undefined),
        (sessions) => {
          const seq = Number((sessions[0] as { readonly runs: number | string }).runs)
          return Effect.as(
            connection.execute(insertRunSql, [
              row.userId,
              row.sessionId,
              seq,
              row.runId,
              row.status,
              formatVersion,
              row.record,
              row.startedAt,
              row.finishedAt
            ], undefined),
            seq
          )
        }
      ).pipe(
        Effect.zipLeft(connection.execute("COMMIT", [], undefined)),
        // Nothing half-written: whatever failed, the transaction is rolled back.
        Effect.onError(() => Effect.ignore(connection.execute("ROLLBACK", [], undefined)))
      )
    )
  return {
    load: (key, status, last) => {
      const params: Array<unknown> = [key.userId, key.sessionId]
      if (status !== undefined) params.push(status)
      if (last !== undefined) params.push(last)
      const text = loadStatements[(status !== undefined ? 2 : 0) + (last !== undefined ? 1 : 0)]
      return withConnection(
        (connection) => connection.execute(text, params, undefined),
        (connection) => connection.execute(text, params, undefined)
      ) as Effect.Effect<ReadonlyArray<RunRow>, SqlError>
    },
    append: (row, now, fallback) =>
      withConnection(
        // Uninterruptible from BEGIN to COMMIT or ROLLBACK: a connection is never left in a transaction.
        (connection) => Effect.uninterruptible(appendOn(connection, row, now)),
        () => fallback
      )
  }
}
