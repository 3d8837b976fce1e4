/**
 * Opening a SQL store: its drivers, optional peer dependencies loaded when their layer is built, and
 * the error of a store that cannot be opened.
 */
import * as Effect from "effect/Effect"
import * as SessionStore from "../../../services/SessionStore.js"

/** The store cannot be opened (no driver, no database, no tables): `Unavailable`. */
export const openError = (message: string, cause?: unknown) =>
  new SessionStore.SessionStoreError({
    operation: "open",
    reason: "Unavailable",
    message,
    ...(cause !== undefined ? { cause } : {})
  })

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

/** `@effect/sql-sqlite-node`'s client module. */
export const loadSqlite = loadDriver(
  () => import("@effect/sql-sqlite-node/SqliteClient"),
  "SQLite",
  "@effect/sql-sqlite-node better-sqlite3"
)

/** `@effect/sql-pg`'s client module. */
export const loadPg = loadDriver(() => import("@effect/sql-pg/PgClient"), "PostgreSQL", "@effect/sql-pg pg")

