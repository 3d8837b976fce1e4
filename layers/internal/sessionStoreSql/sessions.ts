/**
 * The session store on SQL: a session's runs, one row each, appended in one transaction with the
 * session's row and loaded newest first, decoded once (a memo keeps what was decoded), and the
 * session's state.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SessionStore from "../../../services/SessionStore.js"
import * as RunRecord from "../../../src/RunRecord.js"
import * as InternalStore from "../sessionStore.js"
import { type Direct, makeDirect } from "./direct.js"
import { formatVersion, type RunInsert, type RunRow, utc } from "./tables.js"

const decodeRecord = Schema.decodeUnknownEither(Schema.parseJson(RunRecord.RunRecord))
// How much stored text the decoding memo of one store keeps (characters): a few MB.
const decodeCacheChars = 4_000_000
const StateJson = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const encodeState = Schema.encodeEither(StateJson)
const decodeState = Schema.decodeUnknownEither(StateJson)

interface SessionRow {
  readonly session_id: string
  readonly runs: number | string
  readonly created_at: number | string
  readonly updated_at: number | string
}

interface StateRow {
  readonly state: string
  readonly state_version: number | string
}

/** A session store on the `SqlClient` in context (SQLite or PostgreSQL), its tables already migrated. */
export const make: Effect.Effect<SessionStore.Service, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const forUpdate = sql.onDialectOrElse({ pg: () => sql` FOR UPDATE`, orElse: () => sql`` })

  const fail = (
    operation: SessionStore.SessionStoreError["operation"],
    key: SessionStore.SessionKey | undefined,
    reason: SessionStore.SessionStoreErrorReason,
    message: string,
    cause?: unknown
  ) =>
    new SessionStore.SessionStoreError({
      operation,
      reason,
      message,
      ...(key !== undefined ? { userId: key.userId, sessionId: key.sessionId } : {}),
      ...(cause !== undefined ? { cause } : {})
    })
  const unavailable = (operation: SessionStore.SessionStoreError["operation"], key?: SessionStore.SessionKey) =>
  <E>(error: SqlError | E): E | SessionStore.SessionStoreError =>
    Predicate.isTagged(error, "SqlError")
      ? fail(operation, key, "Unavailable", `The session store failed: ${(error as SqlError).message}`, error)
      : error as E

  // Rows never change once written, and a turn loads mostly the runs the previous turn loaded:
  // decoded records are kept by run (user, session, seq) with the text they were decoded from, and
  // found again only when the row still holds that very text (a changed row is decoded afresh). A
  // record this store appends is kept under the text it wrote, so a turn decodes none of the runs
  // this process wrote, and each run another process wrote once.
  const decodedRecords = new Map<string, { readonly json: string; readonly record: SessionStore.RunRecord }>()
  let cachedChars = 0
  const runKey = (userId: string, sessionId: string, seq: number) => `${seq}\u0000${userId}\u0000${sessionId}`
  const remember = (id: string, json: string, record: SessionStore.RunRecord) => {
    if (json.length > decodeCacheChars / 64) return
    const previous = decodedRecords.get(id)
    if (previous !== undefined) {
      decodedRecords.delete(id)
      cachedChars -= previous.json.length
    }
    // The oldest entries go first (a Map iterates in insertion order).
    for (const [old, entry] of decodedRecords) {
      if (cachedChars + json.length <= decodeCacheChars) break
      decodedRecords.delete(old)
      cachedChars -= entry.json.length
    }
    decodedRecords.set(id, { json, record })
    cachedChars += json.length
  }
  const decodeCached = (id: string, json: string): Either.Either<SessionStore.RunRecord, ParseResult.ParseError> => {
    const found = decodedRecords.get(id)
    if (found !== undefined && found.json === json) return Either.right(found.record)
    const decoded = decodeRecord(json)
    if (Either.isRight(decoded)) remember(id, json, decoded.right)
    return decoded
  }

  const decodeRun = (key: SessionStore.SessionKey, row: RunRow): Either.Either<SessionStore.RunRecord, SessionStore.SessionStoreError> => {
    const seq = Number(row.seq)
    if (Number(row.version) > formatVersion) {
      return Either.left(fail(
        "load",
        key,
        "UnsupportedVersion",
        `Run ${seq} of the session was stored by a newer version of effect-agents (format ${row.version}; ` +
          `this version reads up to ${formatVersion})`
      ))
    }
    const decoded = decodeCached(runKey(key.userId, key.sessionId, seq), row.record)
    if (Either.isLeft(decoded)) {
      return Either.left(fail(
        "load",
        key,
        "Corrupt",
        `Run ${seq} of the session does not decode:\n${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`,
        decoded.left
      ))
    }
    if (decoded.right.userId !== key.userId || decoded.right.sessionId !== key.sessionId) {
      return Either.left(fail("load", key, "Corrupt", `Run ${seq} of the session is the record of another session`))
    }
    return Either.right(decoded.right)
  }

  const readState = (key: SessionStore.SessionKey, row: StateRow) => {
    if (Number(row.state_version) > formatVersion) {
      return Either.left(fail(
        "state",
        key,
        "UnsupportedVersion",
        `The session's state was stored by a newer version of effect-agents (format ${row.state_version})`
      ))
    }
    return Either.mapLeft(decodeState(row.state), (error) =>
      fail(
        "state",
        key,
        "Corrupt",
        `The session's state does not decode:\n${ParseResult.TreeFormatter.formatErrorSync(error)}`,
        error
      ))
  }

  const sessionExists = (key: SessionStore.SessionKey) =>
    sql<{ readonly runs: number | string }>`SELECT runs FROM effect_agents_sessions
      WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}`.pipe(
      Effect.flatMap((rows) =>
        rows.length === 0
          ? Effect.fail(InternalStore.sessionNotFound(key))
          : Effect.void
      )
    )

  // The rows come newest first; the records go oldest first.
  const decodeRows = (
    key: SessionStore.SessionKey,
    rows: ReadonlyArray<RunRow>
  ): Either.Either<ReadonlyArray<SessionStore.RunRecord>, SessionStore.SessionStoreError> => {
    const records: Array<SessionStore.RunRecord> = new Array(rows.length)
    for (let i = 0; i < rows.length; i++) {
      const decoded = decodeRun(key, rows[i]!)
      if (Either.isLeft(decoded)) return Either.left(decoded.left)
      records[rows.length - 1 - i] = decoded.right
    }
    return Either.right(records)
  }

  // A run's row in one transaction with its session's row: the session's run count is its seq, and
  // taking the session's row first serialises concurrent appends to one session.
  const insertRun = (row: RunInsert, now: number): Effect.Effect<number, SqlError> =>
    sql.withTransaction(Effect.gen(function*() {
      const [session] = yield* sql<{ readonly runs: number | string }>`INSERT INTO effect_agents_sessions
        (user_id, session_id, runs, state, state_version, created_at, updated_at)
        VALUES (${row.userId}, ${row.sessionId}, 1, '{}', ${formatVersion}, ${now}, ${now})
        ON CONFLICT (user_id, session_id)
        DO UPDATE SET runs = effect_agents_sessions.runs + 1, updated_at = excluded.updated_at
        RETURNING runs`
      yield* sql`INSERT INTO effect_agents_runs
        (user_id, session_id, seq, run_id, status, version, record, started_at, finished_at)
        VALUES (${row.userId}, ${row.sessionId}, ${Number(session!.runs)}, ${row.runId},
          ${row.status}, ${formatVersion}, ${row.record}, ${row.startedAt}, ${row.finishedAt})`
      return Number(session!.runs)
    }))
  const direct = yield* sql.onDialectOrElse({
    sqlite: () => Effect.succeed<Direct | undefined>(makeDirect(sql)),
    orElse: () => Effect.succeed<Direct | undefined>(undefined)
  })

  const service: SessionStore.Service = {
    load: (key, options) => {
      const last = options?.last === undefined ? undefined : Math.max(0, Math.floor(options.last))
      const rows = direct !== undefined
        ? direct.load(key, options?.status, last)
        : sql<RunRow>`SELECT seq, version, record FROM effect_agents_runs
          WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}${
          options?.status === undefined ? sql`` : sql` AND status = ${options.status}`
        }
          ORDER BY seq DESC${last === undefined ? sql`` : sql` LIMIT ${last}`}`
      return rows.pipe(
        // Runs found: the session exists. None: it may not (one more query, on a new session only).
        Effect.flatMap((rows): Effect.Effect<ReadonlyArray<SessionStore.RunRecord>, SessionStore.SessionError | SqlError> =>
          rows.length > 0 ? decodeRows(key, rows) : Effect.as(sessionExists(key), [])
        ),
        Effect.mapError(unavailable("load", key))
      )
    },

    append: (record) =>
      Effect.suspend((): Effect.Effect<void, SessionStore.SessionStoreError | SqlError> => {
        if (record.userId.length === 0 || record.sessionId.length === 0) return InternalStore.invalidKey("append", record)
        const json = InternalStore.encodeRecord(record)
        if (Either.isLeft(json)) return InternalStore.invalidRecord(record, json.left)
        const row: RunInsert = {
          userId: record.userId,
          sessionId: record.sessionId,
          runId: record.runId,
          status: record.status,
          record: json.right,
          startedAt: DateTime.toEpochMillis(record.startedAt),
          finishedAt: DateTime.toEpochMillis(record.finishedAt)
        }
        return Effect.clockWith((clock) => {
          const now = clock.unsafeCurrentTimeMillis()
          return direct !== undefined ? direct.append(row, now, insertRun(row, now)) : insertRun(row, now)
        }).pipe(Effect.map((seq) => remember(runKey(record.userId, record.sessionId, seq), json.right, record)))
      }).pipe(Effect.mapError(unavailable("append", record))),

    list: (userId) =>
      sql<SessionRow>`SELECT session_id, runs, created_at, updated_at FROM effect_agents_sessions
        WHERE user_id = ${userId} ORDER BY updated_at DESC, session_id`.pipe(
        Effect.map((rows) =>
          rows.map((row): SessionStore.SessionSummary => ({
            userId,
            sessionId: row.session_id,
            runs: Number(row.runs),
            createdAt: utc(row.created_at),
            updatedAt: utc(row.updated_at)
          }))
        ),
        Effect.mapError((error) => fail("list", undefined, "Unavailable", `The session store failed: ${error.message}`, error))
      ),

    delete: (key) =>
      sql.withTransaction(Effect.gen(function*() {
        const deleted = yield* sql`DELETE FROM effect_agents_sessions
          WHERE user_id = ${key.userId} AND session_id = ${key.sessionId} RETURNING session_id`
        if (deleted.length === 0) return yield* new SessionStore.SessionNotFound({ userId: key.userId, sessionId: key.sessionId })
        yield* sql`DELETE FROM effect_agents_runs WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}`
      })).pipe(Effect.mapError(unavailable("delete", key))),

    state: (key) =>
      Effect.gen(function*() {
        const [row] = yield* sql<StateRow>`SELECT state, state_version FROM effect_agents_sessions
          WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}`
        if (row === undefined) return yield* new SessionStore.SessionNotFound({ userId: key.userId, sessionId: key.sessionId })
        return yield* readState(key, row)
      }).pipe(Effect.mapError(unavailable("state", key))),

    modifyState: (key, f) =>
      Effect.gen(function*() {
        yield* InternalStore.checkKey("state", key)
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        return yield* sql.withTransaction(Effect.gen(function*() {
          // A write first: it takes the session's row (PostgreSQL) or the database (SQLite) for the
          // whole change, so concurrent changes wait for each other instead of losing one.
          yield* sql`INSERT INTO effect_agents_sessions
            (user_id, session_id, runs, state, state_version, created_at, updated_at)
            VALUES (${key.userId}, ${key.sessionId}, 0, '{}', ${formatVersion}, ${now}, ${now})
            ON CONFLICT (user_id, session_id) DO NOTHING`
          const [row] = yield* sql<StateRow>`SELECT state, state_version FROM effect_agents_sessions
            WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}${forUpdate}`
          const state = yield* readState(key, row!)
          const [result, next] = f(state)
          const json = encodeState(next)
          if (Either.isLeft(json)) {
            return yield* fail(
              "state",
              key,
              "InvalidInput",
              `The session's state does not encode to JSON:\n${ParseResult.TreeFormatter.formatErrorSync(json.left)}`
            )
          }
          yield* sql`UPDATE effect_agents_sessions SET state = ${json.right}, state_version = ${formatVersion},
            updated_at = ${now} WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}`
          return result
        }))
      }).pipe(Effect.mapError(unavailable("state", key)))
  }
  return service
})
