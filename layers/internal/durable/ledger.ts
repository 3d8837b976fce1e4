/**
 * The ledger of settled tool calls of durable runs: a tool call's record, stored under its
 * idempotency key once its handler has settled it. The engine stores an activity's result too, but
 * only after the activity ends, and it executes an activity again whenever it has no result for it
 * (a process that died between the two, an attempt the engine resets): the ledger, written as soon
 * as the handler returns and read before it is called, is what keeps a settled call from running
 * twice, whatever the engine replays.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { AgentError } from "../../../src/AgentError.js"
import * as Run from "../../../src/Run.js"
import * as Table from "./table.js"

export interface Service {
  /** The record settled under `key`, if any. */
  readonly get: (key: string) => Effect.Effect<Option.Option<Run.ToolCall>>
  /** Stores a settled call's record under `key` (a second record for a key is ignored). */
  readonly put: (key: string, record: Run.ToolCall) => Effect.Effect<void>
}

export class ToolLedger extends Context.Tag("effect-agents/Durable/ToolLedger")<ToolLedger, Service>() {}

const Record = Schema.parseJson(Run.ToolCall)
const encode = Schema.encodeSync(Record)
const decode = Schema.decodeUnknownSync(Record)

/** Runs `call` unless the ledger has its record; stores the record it settles to. */
export const once = (
  ledger: Service,
  key: string,
  call: Effect.Effect<Run.ToolCall, AgentError>
): Effect.Effect<Run.ToolCall, AgentError> =>
  Effect.flatMap(ledger.get(key), (settled) =>
    Option.isSome(settled)
      ? Effect.succeed(settled.value)
      : Effect.tap(call, (record) => ledger.put(key, record)))

/** A ledger in memory, for the in-memory engine: it lasts as long as the layer. */
export const layerMemory: Layer.Layer<ToolLedger> = Layer.sync(ToolLedger, () => {
  const records = new Map<string, string>()
  return {
    get: (key) => Effect.sync(() => Option.map(Option.fromNullable(records.get(key)), decode)),
    put: (key, record) =>
      Effect.sync(() => {
        if (!records.has(key)) records.set(key, encode(record))
      })
  }
})

/**
 * A ledger in a SQL database's table `effect_agents_tool_ledger` (SQLite, PostgreSQL, MySQL),
 * beside the engine's own tables. A database that cannot take it fails the layer: durable runs
 * cannot keep their promise without it.
 */
export const layerSql: Layer.Layer<ToolLedger, never, SqlClient.SqlClient> = Layer.effect(
  ToolLedger,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Table.create(
      sql`CREATE TABLE IF NOT EXISTS effect_agents_tool_ledger (
        idempotency_key VARCHAR(512) PRIMARY KEY,
        record TEXT NOT NULL
      )`,
      "the tool ledger's table"
    )
    const service: Service = {
      get: (key) =>
        sql<{ readonly record: string }>`SELECT record FROM effect_agents_tool_ledger WHERE idempotency_key = ${key}`.pipe(
          Effect.map((rows) => rows.length === 0 ? Option.none() : Option.some(decode(rows[0]!.record))),
          Effect.orDie
        ),
      put: (key, record) =>
        // A record already there is the same call's (the key is the call's): the first one stays.
        Effect.flatMap(service.get(key), (stored) =>
          Option.isSome(stored)
            ? Effect.void
            : sql`INSERT INTO effect_agents_tool_ledger (idempotency_key, record) VALUES (${key}, ${encode(record)})`.pipe(
              Effect.asVoid,
              Effect.orDie
            ))
    }
    return service
  })
)
