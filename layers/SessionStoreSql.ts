/**
 * Sessions and user memory in SQL: SQLite (`@effect/sql-sqlite-node`, one file, the embedded
 * default) or PostgreSQL (`@effect/sql-pg`, for many machines), with the same tables and the same
 * behaviour. The tables are created and upgraded by `@effect/sql`'s migrator, in a migrations table
 * of their own (`effect_agents_migrations`), when the layer is built.
 *
 * Each run is one row holding its own record as JSON, so appending a run writes that run only and
 * loading the history of a session reads its last runs only, however long the session is. Appends
 * to a session are serialised by the session's row (a transaction that bumps its run count), so
 * concurrent runs all land, each once, in one order. SQLite opens its file in WAL mode, with
 * `synchronous = NORMAL` (see `SqliteOptions`).
 *
 * A row that does not decode is a `Corrupt` error, a row or a database written by a newer version
 * of effect-agents an `UnsupportedVersion` error: never a crash and never a silently shorter history.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import type { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
import * as RunRecord from "../src/RunRecord.js"
import * as InternalStore from "./internal/sessionStore.js"

/**
 * The version of the stored formats (run records, session state, facts) this code writes and reads.
 * A row with a higher version was written by a newer effect-agents.
 *
 * @since 0.1.0
 * @category constants
 */
export const formatVersion = 1

/**
 * The migrations table.
 *
 * @since 0.1.0
 * @category constants
 */
export const migrationsTable = "effect_agents_migrations"

const migrations: Record<string, Effect.Effect<void, SqlError, SqlClient.SqlClient>> = {
  "1_sessions_runs_memories": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE effect_agents_sessions (
      user_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      runs BIGINT NOT NULL,
      state TEXT NOT NULL,
      state_version INTEGER NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (user_id, session_id)
    )`
    yield* sql`CREATE INDEX effect_agents_sessions_by_user ON effect_agents_sessions (user_id, updated_at)`
    yield* sql`CREATE TABLE effect_agents_runs (
      user_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      seq BIGINT NOT NULL,
      run_id TEXT NOT NULL,
      status TEXT NOT NULL,
      version INTEGER NOT NULL,
      record TEXT NOT NULL,
      started_at BIGINT NOT NULL,
      finished_at BIGINT NOT NULL,
      PRIMARY KEY (user_id, session_id, seq)
    )`
    yield* sql`CREATE INDEX effect_agents_runs_by_status ON effect_agents_runs (user_id, session_id, status, seq)`
    yield* sql.onDialectOrElse({
      pg: () => sql`CREATE TABLE effect_agents_memories (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        text TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (user_id, id)
      )`,
      orElse: () => sql`CREATE TABLE effect_agents_memories (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        id TEXT NOT NULL,
        text TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (user_id, id)
      )`
    })
    yield* sql`CREATE INDEX effect_agents_memories_by_user ON effect_agents_memories (user_id, created_at, seq)`
  })
}

const latestMigration = Math.max(...Object.keys(migrations).map((name) => Number(name.split("_")[0])))

/**
 * The drivers are optional peer dependencies, loaded when their layer is built: a program that keeps
 * its sessions in memory installs neither, one on SQLite installs no PostgreSQL driver, and the
 * other way round. A missing driver is the store's typed error, naming what to install.
 */
const loadDriver = <A>(load: () => Promise<A>, store: string, packages: string) =>
  Effect.tryPromise({
    try: load,
    catch: (cause) =>
      openError(
        `Sessions in ${store} need the packages ${packages}, which cannot be loaded` +
          ` (${cause instanceof Error ? cause.message : String(cause)}): install them with npm install ${packages}`,
        cause
      )
  })

const loadSqlite = loadDriver(
  () => import("@effect/sql-sqlite-node/SqliteClient"),
  "SQLite",
  "@effect/sql-sqlite-node better-sqlite3"
)

const loadPg = loadDriver(() => import("@effect/sql-pg/PgClient"), "PostgreSQL", "@effect/sql-pg pg")

const openError = (message: string, cause?: unknown) =>
  new SessionStore.SessionStoreError({
    operation: "open",
    reason: "Unavailable",
    message,
    ...(cause !== undefined ? { cause } : {})
  })

const runMigrations = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: migrationsTable })

// Two processes opening one PostgreSQL database at once would race to create the migrations table:
// a session-level advisory lock, on a connection of its own, makes them take turns.
const advisoryLockId = 0x6566_6167 // "efag"

/**
 * Creates or upgrades the tables. Fails with `UnsupportedVersion` when the database was migrated by a
 * newer version of effect-agents.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate: Effect.Effect<void, SessionStore.SessionStoreError, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const locked = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    sql.onDialectOrElse({
      pg: () =>
        Effect.scoped(Effect.gen(function*() {
          const connection = yield* sql.reserve
          yield* Effect.acquireRelease(
            connection.execute("SELECT pg_advisory_lock($1)", [advisoryLockId], undefined),
            () => Effect.ignore(connection.execute("SELECT pg_advisory_unlock($1)", [advisoryLockId], undefined))
          )
          return yield* effect
        })),
      orElse: () => effect
    })
  yield* locked(runMigrations).pipe(
    Effect.catchAllCause((cause) =>
      Effect.fail(openError(`The session tables could not be created or upgraded: ${Cause.pretty(cause)}`, Cause.squash(cause)))
    )
  )
  const [latest] = yield* sql<{ readonly latest: number | string | null }>`SELECT MAX(migration_id) AS latest FROM ${
    sql(migrationsTable)
  }`.pipe(Effect.mapError((error) => openError("The session tables could not be read", error)))
  if (latest !== undefined && latest.latest !== null && Number(latest.latest) > latestMigration) {
    return yield* new SessionStore.SessionStoreError({
      operation: "open",
      reason: "UnsupportedVersion",
      message: `The database was migrated by a newer version of effect-agents (migration ${latest.latest}; ` +
        `this version knows up to ${latestMigration}). Upgrade effect-agents to open it.`
    })
  }
})

// -----------------------------------------------------------------------------
// Sessions
// -----------------------------------------------------------------------------

const decodeRecord = Schema.decodeUnknownEither(Schema.parseJson(RunRecord.RunRecord))
// How much stored text the decoding memo of one store keeps (characters): a few MB.
const decodeCacheChars = 4_000_000
const StateJson = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const encodeState = Schema.encodeEither(StateJson)
const decodeState = Schema.decodeUnknownEither(StateJson)

interface RunRow {
  readonly seq: number | string
  readonly version: number | string
  readonly record: string
}

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

const utc = (millis: number | string) => DateTime.unsafeMake(Number(millis))

interface RunInsert {
  readonly userId: string
  readonly sessionId: string
  readonly runId: string
  readonly status: SessionStore.RunStatus
  readonly record: string
  readonly startedAt: number
  readonly finishedAt: number
}

/** The statements of a turn (load the history, append the run), straight on a SQLite connection. */
interface Direct {
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
const makeDirect = (sql: SqlClient.SqlClient): Direct => {
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

/**
 * A session store on the `SqlClient` in context (SQLite or PostgreSQL), its tables already migrated
 * (see {@link migrate}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSessionStore: Effect.Effect<SessionStore.Service, never, SqlClient.SqlClient> = Effect.gen(function*() {
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

// -----------------------------------------------------------------------------
// Memory
// -----------------------------------------------------------------------------

interface FactRow {
  readonly id: string
  readonly text: string
  readonly version: number | string
  readonly created_at: number | string
  readonly updated_at: number | string
}

/**
 * A memory store on the `SqlClient` in context, its tables already migrated (see {@link migrate}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Memory.Service, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const unavailable = (operation: Memory.MemoryError["operation"], userId: string) =>
  <E>(error: SqlError | E): E | Memory.MemoryError =>
    Predicate.isTagged(error, "SqlError")
      ? new Memory.MemoryError({
        operation,
        reason: "Unavailable",
        message: `The memory store failed: ${(error as SqlError).message}`,
        userId,
        cause: error
      })
      : error as E
  const toFact = (operation: Memory.MemoryError["operation"], userId: string) => (row: FactRow) =>
    Number(row.version) > formatVersion
      ? Effect.fail(
        new Memory.MemoryError({
          operation,
          reason: "UnsupportedVersion",
          message: `Fact ${row.id} was stored by a newer version of effect-agents (format ${row.version})`,
          userId
        })
      )
      : Effect.succeed<Memory.Fact>({
        id: row.id,
        userId,
        text: row.text,
        createdAt: utc(row.created_at),
        updatedAt: utc(row.updated_at)
      })
  const service: Memory.Service = {
    list: (userId) =>
      sql<FactRow>`SELECT id, text, version, created_at, updated_at FROM effect_agents_memories
        WHERE user_id = ${userId} ORDER BY created_at, seq`.pipe(
        Effect.flatMap(Effect.forEach(toFact("list", userId))),
        Effect.mapError(unavailable("list", userId))
      ),
    remember: (userId, text) =>
      Effect.gen(function*() {
        const checked = yield* InternalStore.checkFact("remember", userId, text)
        const now = yield* DateTime.now
        const millis = DateTime.toEpochMillis(now)
        const id = crypto.randomUUID()
        yield* sql`INSERT INTO effect_agents_memories (user_id, id, text, version, created_at, updated_at)
          VALUES (${userId}, ${id}, ${checked}, ${formatVersion}, ${millis}, ${millis})`
        return { id, userId, text: checked, createdAt: now, updatedAt: now }
      }).pipe(Effect.mapError(unavailable("remember", userId))),
    update: (userId, id, text) =>
      Effect.gen(function*() {
        const checked = yield* InternalStore.checkFact("update", userId, text)
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        const [row] = yield* sql<FactRow>`UPDATE effect_agents_memories SET text = ${checked}, updated_at = ${now},
          version = ${formatVersion} WHERE user_id = ${userId} AND id = ${id}
          RETURNING id, text, version, created_at, updated_at`
        if (row === undefined) return yield* new Memory.FactNotFound({ userId, id })
        return yield* toFact("update", userId)(row)
      }).pipe(Effect.mapError(unavailable("update", userId))),
    forget: (userId, id) =>
      Effect.gen(function*() {
        const deleted = yield* sql`DELETE FROM effect_agents_memories WHERE user_id = ${userId} AND id = ${id} RETURNING id`
        if (deleted.length === 0) return yield* new Memory.FactNotFound({ userId, id })
      }).pipe(Effect.mapError(unavailable("forget", userId))),
    clear: (userId) =>
      Effect.asVoid(sql`DELETE FROM effect_agents_memories WHERE user_id = ${userId}`).pipe(
        Effect.mapError((error) => unavailable("clear", userId)<never>(error))
      )
  }
  return service
})

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * Sessions and user memory on the `SqlClient` in context: migrates the tables, then provides
 * `SessionStore` and `Memory`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  SessionStore.SessionStore | Memory.Memory,
  SessionStore.SessionStoreError,
  SqlClient.SqlClient
> = Layer.effectContext(Effect.gen(function*() {
  yield* migrate
  const sessions = yield* makeSessionStore
  const memory = yield* makeMemory
  return Context.make(SessionStore.SessionStore, sessions).pipe(Context.add(Memory.Memory, memory))
}))

/**
 * Where the SQLite database is.
 *
 * @since 0.1.0
 * @category models
 */
export interface SqliteOptions {
  /** The database file; created, with its directory's permission, when it does not exist. */
  readonly filename: string
  /** Keep the default rollback journal instead of WAL. Default `false`. */
  readonly disableWAL?: boolean | undefined
  /**
   * How long a commit waits for the disk. `"normal"` (the default in WAL mode): a commit is in
   * the file when it returns and survives the process crashing or being killed; only the last
   * commits before a power loss or an operating-system crash can be lost, and the file stays
   * consistent. `"full"` (the default with `disableWAL`): every commit also waits until the disk
   * has it (an fsync, about half a millisecond on a virtual disk), so it survives a power loss too.
   */
  readonly synchronous?: "normal" | "full" | undefined
}

/**
 * The SQLite client {@link layerSqlite} runs on: one connection to the file, in WAL mode, with
 * the commit durability of `options.synchronous`. Provide it with {@link layer} to keep tables of
 * your own in the same file, on the same connection.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqliteClient = (
  options: SqliteOptions
): Layer.Layer<SqlClient.SqlClient, SessionStore.SessionStoreError> =>
  Layer.scopedContext(
    Effect.gen(function*() {
      const SqliteClient = yield* loadSqlite
      const client = yield* SqliteClient.make({ filename: options.filename, disableWAL: options.disableWAL })
      // In WAL mode, NORMAL keeps the file consistent whatever happens and loses no commit to a
      // process crash; FULL adds an fsync to every commit, which costs more than the rest of a
      // session turn. In rollback-journal mode NORMAL can corrupt the file on a power loss: FULL.
      const synchronous = options.synchronous ?? (options.disableWAL === true ? "full" : "normal")
      // The client has one connection, so the setting holds for every statement it runs.
      yield* client.unsafe(`PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`).raw
      return Context.make(SqlClient.SqlClient, client)
    }).pipe(
      // better-sqlite3 throws when the file cannot be opened (no such directory, not a database).
      Effect.catchAllDefect((defect) =>
        Effect.fail(
          openError(
            `The SQLite database "${options.filename}" cannot be opened: ${defect instanceof Error ? defect.message : String(defect)}`,
            defect
          )
        )
      ),
      Effect.catchTag("SqlError", (error) =>
        Effect.fail(openError(`The SQLite database "${options.filename}" cannot be opened: ${error.message}`, error))
      )
    )
  ).pipe(Layer.provide(Reactivity.layer))

/**
 * Sessions and user memory in a SQLite file (WAL mode): the embedded default.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { SessionStoreSql } from "effect-agents/layers"
 *
 * const Store = SessionStoreSql.layerSqlite({ filename: "sessions.db" })
 * ```
 */
export const layerSqlite = (
  options: SqliteOptions
): Layer.Layer<SessionStore.SessionStore | Memory.Memory, SessionStore.SessionStoreError> =>
  Layer.provide(layer, layerSqliteClient(options))

/**
 * {@link layerSqlite} with its options read from `Config`, e.g.
 * `layerSqliteConfig({ filename: Config.string("SESSIONS_DB") })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqliteConfig = (
  config: Config.Config.Wrap<SqliteOptions>
): Layer.Layer<SessionStore.SessionStore | Memory.Memory, SessionStore.SessionStoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerSqlite))

/**
 * How to reach PostgreSQL: a `url`, or `host`, `port`, `database`, `username` and `password`
 * (`Redacted`), with the pool's sizes and timeouts; passed to `@effect/sql-pg` as they are.
 *
 * @since 0.1.0
 * @category models
 */
export interface PgOptions {
  readonly url?: Redacted.Redacted | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly path?: string | undefined
  readonly ssl?: boolean | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: Redacted.Redacted | undefined
  readonly idleTimeout?: Duration.DurationInput | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
  readonly maxConnections?: number | undefined
  readonly minConnections?: number | undefined
  readonly connectionTTL?: Duration.DurationInput | undefined
  readonly applicationName?: string | undefined
}

/**
 * Sessions and user memory in PostgreSQL, for many machines.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (
  options: PgOptions
): Layer.Layer<SessionStore.SessionStore | Memory.Memory, SessionStore.SessionStoreError> =>
  Layer.provide(layer, layerPgClient(options))

/**
 * The PostgreSQL client {@link layerPg} runs on (`@effect/sql-pg`, loaded when the layer is built).
 *
 * @since 0.3.0
 * @category layers
 */
export const layerPgClient = (options: PgOptions): Layer.Layer<SqlClient.SqlClient, SessionStore.SessionStoreError> =>
  Layer.unwrapEffect(Effect.map(loadPg, (PgClient) => PgClient.layer(options))).pipe(
    Layer.mapError((error) =>
      error._tag === "SessionStoreError" ? error : openError(`PostgreSQL cannot be reached: ${error.message}`, error)
    )
  )

/**
 * {@link layerPg} with its options read from `Config`, e.g.
 * `layerPgConfig({ url: Config.redacted("DATABASE_URL") })`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPgConfig = (
  config: Config.Config.Wrap<PgOptions>
): Layer.Layer<SessionStore.SessionStore | Memory.Memory, SessionStore.SessionStoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layerPg))
