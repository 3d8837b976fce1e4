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
import * as SqlClient from "@effect/sql/SqlClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
import { loadPg, loadSqlite, openError } from "./internal/sessionStoreSql/drivers.js"
import * as MemorySql from "./internal/sessionStoreSql/memory.js"
import * as Sessions from "./internal/sessionStoreSql/sessions.js"
import * as Tables from "./internal/sessionStoreSql/tables.js"

/**
 * The version of the stored formats (run records, session state, facts) this code writes and reads.
 * A row with a higher version was written by a newer effect-agents.
 *
 * @since 0.1.0
 * @category constants
 */
export const formatVersion = Tables.formatVersion

/**
 * The migrations table.
 *
 * @since 0.1.0
 * @category constants
 */
export const migrationsTable = Tables.migrationsTable

/**
 * Creates or upgrades the tables. Fails with `UnsupportedVersion` when the database was migrated by a
 * newer version of effect-agents.
 *
 * @since 0.1.0
 * @category migrations
 */
export const migrate: Effect.Effect<void, SessionStore.SessionStoreError, SqlClient.SqlClient> = Tables.migrate

// -----------------------------------------------------------------------------
// Stores
// -----------------------------------------------------------------------------

/**
 * A session store on the `SqlClient` in context (SQLite or PostgreSQL), its tables already migrated
 * (see {@link migrate}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSessionStore: Effect.Effect<SessionStore.Service, never, SqlClient.SqlClient> = Sessions.make

/**
 * A memory store on the `SqlClient` in context, its tables already migrated (see {@link migrate}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Memory.Service, never, SqlClient.SqlClient> = MemorySql.make

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
