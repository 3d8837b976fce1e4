/**
 * The crash matrix on SQLite, its last case: a durable run killed with SIGKILL during its final
 * store write (the engine's `UPDATE ... SET status = 'complete'` of its execution), restarted on the
 * same file. The write is held on purpose: a trigger the test puts in the file calls a SQL function
 * the child registers on its connection, which says so in the counter file and blocks the process
 * in the middle of the statement; the test kills it there. Before the restart the test reads the
 * file and sees the kill landed in the write (the last step's result stored, the execution not
 * complete), then drops the trigger. The workflow is `fixtures/durableSqliteCrash.ts`'s.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as EngineTables from "../layers/internal/durable/engineTables.js"
import * as Pause from "../layers/internal/durable/pause.js"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"
import * as Child from "./fixtures/childProcess.js"

const fixture = Path.join(Child.root, "test/fixtures/durableSqliteCrash.ts")

interface Result {
  readonly content: string
  readonly totalTokens: number
  readonly modelCalls: number
  readonly toolCalls: ReadonlyArray<unknown>
  readonly steps: ReadonlyArray<unknown>
}

const runToEnd = (args: ReadonlyArray<string>) =>
  Effect.flatMap(Child.spawn(fixture, args), (child) => Child.output<Result>(child, "the workflow", "60 seconds"))

const lines = Child.lines
const key = "run-1#0/0/tool/call-1"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-sqlite-crash-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** Creates the engine's and the pauses' tables in `file`, as a process would, then runs `statements`. */
const prepare = (file: string, statements: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* EngineTables.create(sql)
    yield* Effect.provide(Pause.Pauses, Pause.layerSql)
    for (const statement of statements) yield* sql.unsafe(statement).raw
  }).pipe(Effect.scoped, Effect.provide(SessionStoreSql.layerSqliteClient({ filename: file })), Effect.orDie)

/** The trigger that holds the run's final write: it calls the function a child started with `hold` registers. */
const holdFinalWrite = `CREATE TRIGGER test_hold_final AFTER UPDATE ON effect_agents_engine_executions
  WHEN NEW.status = 'complete' BEGIN SELECT effect_agents_test_hold(NEW.execution_id); END`

/** `query` on `file`, opened read-only. */
const read = <A>(file: string, query: string): ReadonlyArray<A> => {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare(query).all() as ReadonlyArray<A>
  } finally {
    db.close()
  }
}

/** Runs `statement` on `file` (as the test, between the processes). */
const write = (file: string, statement: string) => {
  const db = new Database(file)
  try {
    db.exec(statement)
  } finally {
    db.close()
  }
}

/**
 * Starts the fixture with `hold` on `database` (prepared with {@link holdFinalWrite}), waits until
 * it holds its final write, kills it, and checks that the kill landed in the write: the last step's
 * result is stored, the execution is not complete. Then drops the trigger.
 */
const killInFinalWrite = (database: string, counter: string, flags: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const child = yield* Child.spawn(fixture, [database, counter, "run-1", "hold", ...flags])
    const done = Child.output<Result>(child, "the held workflow", "60 seconds").pipe(Effect.either, Effect.fork)
    yield* Child.until(() => lines(counter).some((line) => line.startsWith("holding ")) || child.exitCode !== null)
    assert.isNull(child.exitCode, "the child ended before it held its final write")
    yield* Child.kill(child)
    yield* Effect.ignore(done)
    const executions = read<{ readonly execution_id: string; readonly status: string; readonly result: string | null }>(
      database,
      "SELECT execution_id, status, result FROM effect_agents_engine_executions"
    )
    assert.strictEqual(executions.length, 1)
    assert.strictEqual(executions[0]!.status, "running", "the run's result was stored: the kill missed the final write")
    assert.isNull(executions[0]!.result)
    assert.include(lines(counter), `holding ${executions[0]!.execution_id}`)
    const activities = read<{ readonly name: string }>(database, "SELECT name FROM effect_agents_engine_activities")
    assert.include(activities.map((row) => row.name), "0/1 shout", "the last step's result is not stored")
    write(database, "DROP TRIGGER test_hold_final")
  })

const settled = ["model 1", `tool started ${key}`, `tool settled ${key}`, "model 2", "step started shout", "step settled shout"]

describe("Durable runs on SQLite, killed during the final store write", () => {
  it.scopedLive("restarted on the same file: the run ends with the uncrashed run's output, nothing settled runs again", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const reference = yield* runToEnd([Path.join(dir, "reference.db"), Path.join(dir, "reference.txt"), "run-1"])
      assert.strictEqual(reference.content, "DONE: APPENDED QUBITS")
      assert.deepStrictEqual(lines(Path.join(dir, "reference.txt")), settled)

      const database = Path.join(dir, "crash.db")
      const counter = Path.join(dir, "crash.txt")
      yield* prepare(database, [holdFinalWrite])
      yield* killInFinalWrite(database, counter, [])
      const before = lines(counter)
      assert.deepStrictEqual(before.slice(0, -1), settled)

      const restarted = yield* runToEnd([database, counter, "run-1"])
      assert.deepStrictEqual(restarted, reference)
      // Every step and call had settled: the restart replays them all, and runs none.
      assert.deepStrictEqual(lines(counter), before)
      const executions = read<{ readonly status: string }>(database, "SELECT status FROM effect_agents_engine_executions")
      assert.deepStrictEqual(executions.map((row) => row.status), ["complete"])
    }), 120_000)

  it.scopedLive("a run decided after its pause: its replay does not list the decided pause as waiting, nor take decisions for it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const reference = yield* runToEnd([Path.join(dir, "reference.db"), Path.join(dir, "reference.txt"), "run-1", "approval"])
      assert.strictEqual(reference.content, "DONE: APPENDED QUBITS")
      assert.deepStrictEqual(lines(Path.join(dir, "reference.txt")), ["model 1", "decided", ...settled.slice(1)])

      const database = Path.join(dir, "crash.db")
      const counter = Path.join(dir, "crash.txt")
      // Every change of the pauses' table, in order, with the decided flag it left.
      yield* prepare(database, [
        holdFinalWrite,
        `CREATE TABLE test_pause_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT NOT NULL, name TEXT NOT NULL, decided INTEGER)`,
        `CREATE TRIGGER test_pause_insert AFTER INSERT ON effect_agents_durable_pauses
          BEGIN INSERT INTO test_pause_log (what, name, decided) VALUES ('insert', NEW.name, NEW.decided); END`,
        `CREATE TRIGGER test_pause_update AFTER UPDATE ON effect_agents_durable_pauses
          BEGIN INSERT INTO test_pause_log (what, name, decided) VALUES ('update', NEW.name, NEW.decided); END`,
        `CREATE TRIGGER test_pause_delete AFTER DELETE ON effect_agents_durable_pauses
          BEGIN INSERT INTO test_pause_log (what, name, decided) VALUES ('delete', OLD.name, NULL); END`
      ])
      yield* killInFinalWrite(database, counter, ["approval"])
      const before = lines(counter)
      assert.deepStrictEqual(before.slice(0, -1), ["model 1", "decided", ...settled.slice(1)])
      const log = () =>
        read<{ readonly what: string; readonly name: string; readonly decided: number | null }>(
          database,
          "SELECT what, name, decided FROM test_pause_log ORDER BY seq"
        ).map((row) => [row.what, row.name, row.decided])
      // Waited on, decided, dropped when the run ended (before its result was written).
      const first = [["insert", "approval 1", 0], ["update", "approval 1", 1], ["delete", "approval 1", null]]
      assert.deepStrictEqual(log(), first)

      const restarted = yield* runToEnd([database, counter, "run-1", "approval"])
      assert.deepStrictEqual(restarted, reference)
      // Each change of the table is committed on its own: an undecided row stored by the replay
      // would be listed as waiting until it was dropped. The replay stores none.
      assert.deepStrictEqual(log().slice(first.length).filter(([what, , decided]) => what === "insert" && decided === 0), [])
      // The replay ran nothing again, and the process, which asks for the pending pause all along
      // (and decides it when listed), never saw one.
      assert.deepStrictEqual(lines(counter), before)
      assert.deepStrictEqual(
        read<{ readonly n: number }>(database, "SELECT count(*) AS n FROM effect_agents_durable_pauses").map((row) => row.n),
        [0]
      )
    }), 120_000)
})
