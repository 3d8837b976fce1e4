/**
 * The tables of the SQL stores: the version of the formats their rows hold, their migrations, and
 * the rows of runs as they are read and written.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as SessionStore from "../../../services/SessionStore.js"
import { openError } from "./drivers.js"

/** The version of the stored formats (run records, session state, facts) this code writes and reads. */
export const formatVersion = 1

/** The migrations table. */
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

const runMigrations = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: migrationsTable })

// Two processes opening one PostgreSQL database at once would race to create the migrations table:
// a session-level advisory lock, on a connection of its own, makes them take turns.
const advisoryLockId = 0x6566_6167 // "efag"

/**
 * Creates or upgrades the tables. Fails with `UnsupportedVersion` when the database was migrated by a
 * newer version of effect-agents.
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

/** A run as it is read. */
export interface RunRow {
  readonly seq: number | string
  readonly version: number | string
  readonly record: string
}

/** A time stored as epoch milliseconds. */
export const utc = (millis: number | string) => DateTime.unsafeMake(Number(millis))

/** A run as it is written. */
export interface RunInsert {
  readonly userId: string
  readonly sessionId: string
  readonly runId: string
  readonly status: SessionStore.RunStatus
  readonly record: string
  readonly startedAt: number
  readonly finishedAt: number
}
