/** User memory on SQL: a user's facts, one row each. */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Memory from "../../../services/Memory.js"
import * as InternalStore from "../sessionStore.js"
import { formatVersion, utc } from "./tables.js"

interface FactRow {
  readonly id: string
  readonly text: string
  readonly version: number | string
  readonly created_at: number | string
  readonly updated_at: number | string
}

/** A memory store on the `SqlClient` in context, its tables already migrated. */
export const make: Effect.Effect<Memory.Service, never, SqlClient.SqlClient> = Effect.gen(function*() {
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
