/**
 * Creating the durable engine's own tables. Runners started together on a new PostgreSQL database
 * race on `CREATE TABLE IF NOT EXISTS`: each sees no table, and all but one fail on the catalog's
 * unique index (`duplicate key value violates unique constraint "pg_type_typname_nsp_index"`;
 * six connections creating one table at once failed 49 times in 10 rounds here). Tried again, the
 * statement finds the table there and does nothing.
 */
import type * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** Runs `statement` (a `CREATE TABLE IF NOT EXISTS`), tried again while another process creates the table. */
export const create = (statement: Effect.Effect<unknown, SqlError.SqlError>, what: string): Effect.Effect<void> =>
  statement.pipe(
    Effect.retry({ times: 5, schedule: Schedule.spaced("50 millis") }),
    Effect.asVoid,
    Effect.orDieWith((cause) => new Error(`effect-agents: cannot create ${what}: ${cause}`))
  )
