/**
 * Background batches on the durable engine: the same face as the in-memory batches (`batches.ts`),
 * each input a durable run of `durable.ts` (id `<batchId>.<index>`), at most `concurrency` at a
 * time. The batch itself (its agent, inputs and concurrency) is a row beside the runs', so a
 * restarted server answers for it and goes on with it: the inputs whose runs had started are taken
 * up where they were (by the durable runs), the others are started as before. A batch is never
 * `interrupted`: a shutdown stops the server's work on it, not the batch.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as HttpApi from "../../../src/HttpApi.js"
import * as Run from "../../../src/Run.js"
import type * as Registry from "../../../src/Registry.js"
import * as Table from "../durable/table.js"
import type * as Batches from "./batches.js"
import type * as DurableRuns from "./durable.js"

interface BatchRow {
  readonly batch_id: string
  readonly agent: string
  readonly concurrency: number
  readonly inputs: string
  readonly status: string
  readonly created_at: number
  readonly finished_at: number | null
}

const Inputs = Schema.parseJson(Schema.Array(HttpApi.RunInput))
const encodeInputs = Schema.encode(Inputs)
const decodeInputs = Schema.decodeUnknown(Inputs)

const itemId = (batchId: string, index: number) => `${batchId}.${index}`

export const make = (
  registry: Registry.Service,
  durable: DurableRuns.DurableRuns
): Effect.Effect<Batches.Batches, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sql = durable.sql
    // Tried again while another server of the database creates it.
    yield* Table.create(
      sql.unsafe(`CREATE TABLE IF NOT EXISTS effect_agents_durable_batches (
      batch_id TEXT PRIMARY KEY, agent TEXT NOT NULL, concurrency INTEGER NOT NULL, inputs TEXT NOT NULL,
      status TEXT NOT NULL, created_at BIGINT NOT NULL, finished_at BIGINT)`).raw,
      "the durable batches' records"
    )
    const drivers = yield* FiberMap.make<string>()

    const find = (batchId: string) =>
      Effect.flatMap(
        Effect.orDie(sql<BatchRow>`SELECT * FROM effect_agents_durable_batches WHERE batch_id = ${batchId}`),
        (rows) =>
          rows[0] === undefined
            ? Effect.fail(new HttpApi.BatchNotFound({ batchId, message: `No batch with id "${batchId}".` }))
            : Effect.succeed(rows[0])
      )

    const snapshot = (row: BatchRow) =>
      Effect.gen(function*() {
        const total = (yield* Effect.orDie(decodeInputs(row.inputs))).length
        const runs = new Map((yield* durable.withPrefix(`${row.batch_id}.`)).map((run) => [run.runId, run]))
        const cancelled = row.status === "cancelled"
        const items = Array.from({ length: total }, (_, index): HttpApi.BatchItem => {
          const run = runs.get(itemId(row.batch_id, index))
          if (run === undefined) return { index, status: cancelled ? "cancelled" : "pending" }
          const runId = run.runId
          switch (run.status) {
            case "running":
            case "waiting":
              return { index, status: "running", runId }
            case "completed":
              return { index, status: "completed", runId, ...(run.output === undefined ? {} : { output: run.output }) }
            case "failed":
              return { index, status: "failed", runId, ...(run.error === undefined ? {} : { error: run.error }) }
            case "cancelled":
              return { index, status: "cancelled", runId }
          }
        })
        const counts = { total, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0, interrupted: 0 }
        for (const item of items) counts[item.status]++
        const batch: HttpApi.Batch = {
          batchId: row.batch_id,
          agent: row.agent,
          status: row.status === "cancelled" ? "cancelled" : row.status === "completed" ? "completed" : "running",
          concurrency: row.concurrency,
          createdAt: DateTime.unsafeMake(Number(row.created_at)),
          ...(row.finished_at === null ? {} : { finishedAt: DateTime.unsafeMake(Number(row.finished_at)) }),
          counts,
          items
        }
        return batch
      })

    /** Runs the batch's inputs not ended yet, at most `concurrency` at a time, then marks it completed. */
    const drive = (row: BatchRow, entry: Registry.Entry) =>
      Effect.gen(function*() {
        const inputs = yield* Effect.orDie(decodeInputs(row.inputs))
        yield* Effect.forEach(
          inputs,
          (input, index) =>
            Effect.gen(function*() {
              const runId = itemId(row.batch_id, index)
              const started = yield* Effect.option(durable.get(runId))
              if (Option.isNone(started)) {
                // Only a shutdown stops it: the id is the batch's own (taken by another server of
                // the database that drives the batch too, the run is waited for as it is).
                const fresh = yield* Effect.either(durable.start(entry, { agent: entry.name, input, runId }))
                if (fresh._tag === "Left" && fresh.left._tag === "ShuttingDown") return yield* Effect.interrupt
              }
              yield* durable.awaitEnd(runId)
            }),
          { concurrency: row.concurrency, discard: true }
        )
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        yield* Effect.orDie(sql`UPDATE effect_agents_durable_batches SET status = 'completed', finished_at = ${now}
          WHERE batch_id = ${row.batch_id} AND status = 'running'`)
      })

    const submit: Batches.Batches["submit"] = (entry, request) =>
      Effect.uninterruptible(Effect.gen(function*() {
        if (yield* durable.draining) {
          return yield* new HttpApi.ShuttingDown({ message: "The server is shutting down and takes no new batches." })
        }
        const row: BatchRow = {
          batch_id: Run.makeId(),
          agent: entry.name,
          concurrency: request.concurrency ?? 4,
          inputs: yield* Effect.orDie(encodeInputs(request.inputs)),
          status: "running",
          created_at: DateTime.toEpochMillis(yield* DateTime.now),
          finished_at: null
        }
        yield* Effect.orDie(sql`INSERT INTO effect_agents_durable_batches
          (batch_id, agent, concurrency, inputs, status, created_at)
          VALUES (${row.batch_id}, ${row.agent}, ${row.concurrency}, ${row.inputs}, 'running', ${row.created_at})`)
        yield* FiberMap.run(drivers, row.batch_id, drive(row, entry))
        return yield* snapshot(row)
      }))

    const cancel = (batchId: string) =>
      Effect.gen(function*() {
        yield* find(batchId)
        const now = DateTime.toEpochMillis(yield* DateTime.now)
        yield* Effect.orDie(sql`UPDATE effect_agents_durable_batches SET status = 'cancelled', finished_at = ${now}
          WHERE batch_id = ${batchId} AND status = 'running'`)
        // No input starts now; those running are cancelled (their steps in flight interrupted).
        yield* FiberMap.remove(drivers, batchId)
        const runs = yield* durable.withPrefix(`${batchId}.`)
        yield* Effect.forEach(
          runs.filter((run) => run.status === "running" || run.status === "waiting"),
          (run) => Effect.ignore(durable.cancel(run.runId)),
          { concurrency: "unbounded", discard: true }
        )
        return yield* snapshot(yield* find(batchId))
      })

    // The batches the server before this one left running: driven on from where they are (on
    // PostgreSQL, also by the other servers of the database: the first to end it marks it).
    const left = yield* Effect.orDie(
      sql<BatchRow>`SELECT * FROM effect_agents_durable_batches WHERE status = 'running' ORDER BY created_at`
    )
    for (const row of left) {
      const entry = registry.get(row.agent)
      if (Option.isNone(entry)) {
        yield* Effect.logWarning(
          `The durable batch ${row.batch_id} of "${row.agent}" is not taken up: no agent, team or workflow has that name now`
        )
        continue
      }
      yield* FiberMap.run(drivers, row.batch_id, drive(row, entry.value))
    }

    return {
      submit,
      get: (batchId) => Effect.flatMap(find(batchId), snapshot),
      list: Effect.flatMap(
        Effect.orDie(sql<BatchRow>`SELECT * FROM effect_agents_durable_batches ORDER BY created_at DESC, batch_id`),
        (rows) => Effect.forEach(rows, (row) => Effect.map(snapshot(row), ({ items: _, ...summary }) => summary))
      ),
      cancel,
      // The batches go on at the next start on this file.
      shutdown: FiberMap.clear(drivers)
    }
  })
