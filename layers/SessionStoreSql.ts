/**
 * Sessions and user memory in SQL: SQLite (`@effect/sql-sqlite-node`, one file, the embedded
 * default) or PostgreSQL (`@effect/sql-pg`, for many machines), with the same tables and the same
 * behaviour. The tables are created and upgraded by `@effect/sql`'s migrator, in a migrations table
 * of their own (`effect_agents_migrations`), when the layer is built.
 *
 * Each run is one row holding its own record as JSON, so appending a run writes that run only and
 * loading the history of a session reads its last runs only, however long the session is. Appends
 * to a session are serialised by the session's row (a transaction that bumps its run count), so
 * concurrent runs all land, each once, in one order. SQLite opens its file in WAL mode.
 *
 * A row that does not decode is a `Corrupt` error, a row or a database written by a newer version
 * of effect-agents an `UnsupportedVersion` error: never a crash and never a silently shorter history.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
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

const RecordJson = Schema.parseJson(SessionStore.RunRecord)
const encodeRecord = Schema.encodeEither(RecordJson)
const decodeRecord = Schema.decodeUnknownEither(RecordJson)
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
  // decoding is memoised by the stored text itself (so a changed row is decoded afresh), which makes
  // a turn decode its one new run instead of its whole history window.
  const decodedRecords = new Map<string, SessionStore.RunRecord>()
  let cachedChars = 0
  const decodeCached = (json: string): Either.Either<SessionStore.RunRecord, ParseResult.ParseError> => {
    const found = decodedRecords.get(json)
    if (found !== undefined) return Either.right(found)
    const decoded = decodeRecord(json)
    if (Either.isRight(decoded) && json.length <= decodeCacheChars / 64) {
      // The oldest entries go first (a Map iterates in insertion order).
      for (const old of decodedRecords.keys()) {
        if (cachedChars + json.length <= decodeCacheChars) break
        decodedRecords.delete(old)
        cachedChars -= old.length
      }
      decodedRecords.set(json, decoded.right)
      cachedChars += json.length
    }
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
    const decoded = decodeCached(row.record)
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
      Effect.flatMap((rows) => rows.length === 0 ? Effect.fail(new SessionStore.SessionNotFound(key)) : Effect.void)
    )

  const service: SessionStore.Service = {
    load: (key, options) =>
      Effect.gen(function*() {
        yield* sessionExists(key)
        const status = options?.status === undefined ? sql`` : sql` AND status = ${options.status}`
        const limit = options?.last === undefined ? sql`` : sql` LIMIT ${Math.max(0, Math.floor(options.last))}`
        const rows = yield* sql<RunRow>`SELECT seq, version, record FROM effect_agents_runs
          WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}${status}
          ORDER BY seq DESC${limit}`
        const records: Array<SessionStore.RunRecord> = new Array(rows.length)
        for (let i = 0; i < rows.length; i++) {
          records[rows.length - 1 - i] = yield* decodeRun(key, rows[i]!)
        }
        return records
      }).pipe(Effect.mapError(unavailable("load", key))),

    append: (record) =>
      Effect.gen(function*() {
        yield* InternalStore.checkKey("append", record)
        const json = encodeRecord(record)
        if (Either.isLeft(json)) {
          return yield* InternalStore.invalidRecord(record, ParseResult.TreeFormatter.formatErrorSync(json.left))
        }
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        yield* sql.withTransaction(Effect.gen(function*() {
          const [session] = yield* sql<{ readonly runs: number | string }>`INSERT INTO effect_agents_sessions
            (user_id, session_id, runs, state, state_version, created_at, updated_at)
            VALUES (${record.userId}, ${record.sessionId}, 1, '{}', ${formatVersion}, ${now}, ${now})
            ON CONFLICT (user_id, session_id)
            DO UPDATE SET runs = effect_agents_sessions.runs + 1, updated_at = excluded.updated_at
            RETURNING runs`
          yield* sql`INSERT INTO effect_agents_runs
            (user_id, session_id, seq, run_id, status, version, record, started_at, finished_at)
            VALUES (${record.userId}, ${record.sessionId}, ${Number(session!.runs)}, ${record.runId},
              ${record.status}, ${formatVersion}, ${json.right},
              ${DateTime.toEpochMillis(record.startedAt)}, ${DateTime.toEpochMillis(record.finishedAt)})`
        }))
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
        if (deleted.length === 0) return yield* new SessionStore.SessionNotFound(key)
        yield* sql`DELETE FROM effect_agents_runs WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}`
      })).pipe(Effect.mapError(unavailable("delete", key))),

    state: (key) =>
      Effect.gen(function*() {
        const [row] = yield* sql<StateRow>`SELECT state, state_version FROM effect_agents_sessions
          WHERE user_id = ${key.userId} AND session_id = ${key.sessionId}`
        if (row === undefined) return yield* new SessionStore.SessionNotFound(key)
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
}

const sqliteClient = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, SessionStore.SessionStoreError> =>
  Layer.scopedContext(
    SqliteClient.make({ filename: options.filename, disableWAL: options.disableWAL }).pipe(
      // better-sqlite3 throws when the file cannot be opened (no such directory, not a database).
      Effect.catchAllDefect((defect) =>
        Effect.fail(
          openError(
            `The SQLite database "${options.filename}" cannot be opened: ${defect instanceof Error ? defect.message : String(defect)}`,
            defect
          )
        )
      ),
      Effect.map((client) => Context.make(SqlClient.SqlClient, client))
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
  Layer.provide(layer, sqliteClient(options))

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
 * How to reach PostgreSQL: `@effect/sql-pg`'s options (`url`, or `host`, `port`, `database`,
 * `username`, `password` as `Redacted`, pool sizes, timeouts).
 *
 * @since 0.1.0
 * @category models
 */
export type PgOptions = PgClient.PgClientConfig

/**
 * Sessions and user memory in PostgreSQL, for many machines.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPg = (
  options: PgOptions
): Layer.Layer<SessionStore.SessionStore | Memory.Memory, SessionStore.SessionStoreError> =>
  Layer.provide(
    layer,
    PgClient.layer(options).pipe(
      Layer.mapError((error) => openError(`PostgreSQL cannot be reached: ${error.message}`, error))
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
