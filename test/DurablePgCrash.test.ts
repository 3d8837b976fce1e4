/**
 * The crash matrix on PostgreSQL: two runner processes share a database (`Durable.layerPg`), the
 * one that runs a durable run is killed with SIGKILL at a chosen moment of it, and the other takes
 * the run over and finishes it. Each moment is reached on purpose: the runner stops there and says
 * so (a line in a counter file kept outside the processes), or the test holds one of the engine's
 * writes in the database (a trigger that waits on an advisory lock the test holds) and sees the
 * runner's connection wait on it. Each case: the run completes with the uncrashed run's output, and
 * the counter shows no settled tool call or step executed twice (a call in flight at the kill runs
 * once more, with the same idempotency key). The workflow is `fixtures/durablePgCrash.ts`'s.
 *
 * Needs the PostgreSQL server named by EFFECT_AGENTS_TEST_PG_HOST, _PORT, _DATABASE, _USER and
 * _PASSWORD (.ci/run starts one and sets them), whose role may create databases: each case has a
 * database of its own (`fixtures/pgDatabase.ts`). Without them the suite is skipped with that
 * message, except under CI=true, where it fails.
 */
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Child from "./fixtures/childProcess.js"
import * as Pg from "./fixtures/pgDatabase.js"

const fixture = Path.join(Child.root, "test/fixtures/durablePgCrash.ts")
const runId = "run-1"

interface Result {
  readonly content: string
  readonly totalTokens: number
  readonly modelCalls: number
  readonly toolCalls: ReadonlyArray<unknown>
  readonly steps: ReadonlyArray<unknown>
}

/** A line of the counter: who (a runner's pid; NaN for the test's own lines) did what. */
interface Line {
  readonly pid: number
  readonly what: string
}

const linesOf = (file: string): ReadonlyArray<Line> =>
  Child.lines(file).map((line) => {
    const space = line.indexOf(" ")
    return { pid: Number(line.slice(0, space)), what: line.slice(space + 1) }
  })

/** The lines that are `what`, or start with it followed by a space. */
const of = (lines: ReadonlyArray<Line>, what: string) =>
  lines.filter((line) => line.what === what || line.what.startsWith(`${what} `))

type Moment = "model" | "tool" | "settled" | "parallel" | "signal" | "approval" | "final"

/** The advisory lock (two keys) the test holds while a held write waits on it. */
const hold = [17, 1] as const

/**
 * The writes of the engine the test holds: the reply to a message (which also marks the message
 * processed) that `hold` picks (`m` the message, `NEW` the reply), and how to see that the write
 * was stored (`m` the message, `r` the reply): `transfer`'s activity result, the run's own result.
 */
const held: Partial<Record<Moment, { readonly hold: string; readonly stored: string }>> = {
  settled: {
    hold: `m.tag = 'activity' AND m.payload::jsonb ->> 'name' LIKE '%/tool/call-2'`,
    stored: `m.tag = 'activity' AND m.payload::jsonb ->> 'name' LIKE '%/tool/call-2'`
  },
  final: {
    hold: `m.tag = 'run' AND NEW.payload::jsonb #>> '{value,_tag}' = 'Complete'`,
    stored: `m.tag = 'run' AND r.payload::jsonb #>> '{value,_tag}' = 'Complete'`
  }
}

/** Holds the writes `condition` picks until the lock is released; gives the connection that holds it. */
const holdWrites = (sql: SqlClient.SqlClient, condition: string) =>
  Effect.gen(function*() {
    yield* sql.unsafe(`
      CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM cluster_messages m WHERE m.request_id = NEW.request_id AND ${condition}) THEN
          PERFORM pg_advisory_xact_lock_shared(${hold[0]}, ${hold[1]});
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER hold BEFORE INSERT ON cluster_replies FOR EACH ROW EXECUTE FUNCTION hold();
    `)
    const connection = yield* sql.reserve
    yield* connection.executeRaw(`SELECT pg_advisory_lock(${hold[0]}, ${hold[1]})`, [])
    return connection
  }).pipe(Effect.orDie)

/** The backends that wait on the test's lock: a held write. */
const waiting = (sql: SqlClient.SqlClient) =>
  Effect.orDie(sql<{ readonly pid: number }>`
    SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND NOT granted AND classid = ${hold[0]} AND objid = ${hold[1]} AND objsubid = 2
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)

/** Whether a reply of a message `condition` picks is stored. */
const stored = (sql: SqlClient.SqlClient, condition: string) =>
  Effect.map(
    Effect.orDie(sql.unsafe(
      `SELECT 1 FROM cluster_replies r JOIN cluster_messages m ON m.request_id = r.request_id WHERE ${condition}`
    )),
    (rows) => rows.length > 0
  )

/** The run waits, suspended: its result so far is stored as `Suspended`. */
const suspended = `m.tag = 'run' AND r.payload::jsonb #>> '{value,_tag}' = 'Suspended'`

/** Looks every 20 milliseconds until `found` gives a value; a clear failure after 60 seconds. */
const poll = <A>(what: string, found: Effect.Effect<Option.Option<A>>) =>
  Effect.gen(function*() {
    for (;;) {
      const value = yield* found
      if (Option.isSome(value)) return value.value
      yield* Effect.sleep("20 millis")
    }
  }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`the run never reached ${what} in 60 s`) }))

/**
 * The pid of the runner at `moment` of the run, once it is there: what it wrote, and what the
 * database shows (a result stored, a write held).
 */
const reached = (moment: Moment, counter: string, sql: SqlClient.SqlClient) => {
  const line = (what: string) => Option.map(Option.fromNullable(of(linesOf(counter), what)[0]), (l) => l.pid)
  const when = (pid: Option.Option<number>, check: Effect.Effect<boolean>): Effect.Effect<Option.Option<number>> =>
    Option.isNone(pid) ? Effect.succeed(pid) : Effect.map(check, (ok) => ok ? pid : Option.none())
  switch (moment) {
    case "model":
      return poll("its second model call", Effect.sync(() => line("model 2")))
    case "tool":
      return poll("its call of lookup", Effect.sync(() => line("tool started lookup")))
    case "settled":
      return poll(
        "the store of transfer's result",
        Effect.suspend(() => when(line("tool settled transfer"), Effect.map(waiting(sql), (rows) => rows.length > 0)))
      )
    case "parallel":
      return poll(
        "its parallel step, right settled and left running",
        Effect.suspend(() =>
          when(
            Option.filter(line("step started left"), () => Option.isSome(line("step settled right"))),
            stored(sql, `m.tag = 'activity' AND m.payload::jsonb ->> 'name' LIKE '% right'`)
          )
        )
      )
    case "signal":
      return poll("its wait on the signal", Effect.suspend(() => when(line("waiting go"), stored(sql, suspended))))
    case "approval":
      // Nobody runs a suspended run: the runner that ran it holds it.
      return poll(
        "its wait for approval",
        Effect.suspend(() => when(Option.flatMap(line("waiting approval"), () => line("model 1")), stored(sql, suspended)))
      )
    case "final":
      return poll(
        "the store of its result",
        Effect.suspend(() => when(line("step settled final"), Effect.map(waiting(sql), (rows) => rows.length > 0)))
      )
  }
}

const spawn = (args: ReadonlyArray<string>) => Child.spawn(fixture, args)

const output = (child: ChildProcess.ChildProcess) => Child.output<Result>(child, "the runner", "120 seconds")

const tempDir = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-pg-crash-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
)

/** The run on one runner nobody kills: its output, and its counter. */
const uncrashed = Effect.gen(function*() {
  const counter = Path.join(yield* tempDir, "counter.txt")
  const db = yield* Pg.make
  const result = yield* Effect.flatMap(spawn([counter, db.name, "1", runId, "none"]), output)
  return { output: result, lines: linesOf(counter) }
})

// Every case compares with the same uncrashed run, made once.
let referenceRun: Promise<{ readonly output: Result; readonly lines: ReadonlyArray<Line> }> | undefined
const reference = Effect.promise(() => referenceRun ??= Effect.runPromise(Effect.scoped(uncrashed)))

/**
 * Two runners on a database of their own; the one that runs the run is killed with SIGKILL at
 * `moment`, and the survivor's output is read. Gives it, the counter's lines, who was killed and who
 * survived.
 */
const crash = (moment: Moment) =>
  Effect.gen(function*() {
    const counter = Path.join(yield* tempDir, "counter.txt")
    const db = yield* Pg.make
    // The engine's tables are made before the runners start together: runners that make them at
    // once in a new database can fail with "relation ... already exists".
    yield* Effect.scoped(Layer.build(
      Layer.mergeAll(SqlMessageStorage.layer, SqlRunnerStorage.layer).pipe(
        Layer.provide(ShardingConfig.layer()),
        Layer.provide(PgClient.layer({ url: db.url() })),
        Layer.orDie
      )
    ))
    const writes = held[moment]
    const lock = writes === undefined ? undefined : yield* holdWrites(db.sql, writes.hold)
    const readers = new Map<number, Fiber.Fiber<Result, unknown>>()
    const start = Effect.gen(function*() {
      const child = yield* spawn([counter, db.name, "2", runId, moment])
      readers.set(child.pid!, yield* Effect.forkScoped(output(child)))
      return child
    })
    const first = yield* start
    const second = yield* start

    // A runner that ends before the moment (it failed at its start) ends the wait with its error.
    const early = Effect.raceAll(Array.from(readers.values(), (reader) =>
      Effect.flatMap(Fiber.join(reader), () => Effect.fail(new Error(`a runner ended before the run reached the moment (${moment})`)))
    ))
    const pid = yield* Effect.raceFirst(reached(moment, counter, db.sql), early)
    assert.include([first.pid, second.pid], pid)
    const [victim, survivor] = pid === first.pid ? [first, second] : [second, first]
    yield* Child.kill(victim)
    const killedAt = Date.now()
    if (lock !== undefined) {
      // The killed runner's write waits in its connection: ended, it is rolled back.
      yield* Effect.orDie(db.sql`SELECT pg_terminate_backend(pid) FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted AND classid = ${hold[0]} AND objid = ${hold[1]}`)
      yield* poll("the end of the killed runner's held write", Effect.map(waiting(db.sql), (rows) => rows.length === 0 ? Option.some(true) : Option.none()))
      assert.isFalse(yield* stored(db.sql, writes!.stored), "the held write was not stored")
      yield* Effect.orDie(lock.executeRaw(`SELECT pg_advisory_unlock(${hold[0]}, ${hold[1]})`, []))
    }
    Fs.appendFileSync(counter, `- killed ${victim.pid}\n`)

    const finished = yield* Fiber.join(readers.get(survivor.pid!)!).pipe(
      Effect.timeoutFail({
        duration: "60 seconds",
        onTimeout: () => new Error(`the surviving runner did not finish the run within 60 s of the kill (${moment})`)
      })
    )
    console.info(`Durable on PostgreSQL, killed at ${moment}: the run finished ${Date.now() - killedAt} ms after the SIGKILL`)
    return { output: finished, lines: linesOf(counter), victim: victim.pid!, survivor: survivor.pid! }
  })

/**
 * What every case shows: each tool call settled once and never started again once settled, every
 * start of a call under one idempotency key; each plain step settled once and never started again
 * once settled.
 */
const settledOnce = (lines: ReadonlyArray<Line>) => {
  for (const tool of ["lookup", "transfer"]) {
    const settled = of(lines, `tool settled ${tool}`)
    assert.strictEqual(settled.length, 1, `${tool} settled once`)
    const started = of(lines, `tool started ${tool}`)
    assert.deepStrictEqual(
      started.map((line) => line.what.split(" ")[3]),
      started.map(() => settled[0]!.what.split(" ")[3]),
      `${tool}: one idempotency key`
    )
    const at = lines.indexOf(settled[0]!)
    assert.isFalse(lines.slice(at).some((line) => started.includes(line)), `${tool} not started again once settled`)
  }
  for (const step of ["left", "right", "final"]) {
    const settled = of(lines, `step settled ${step}`)
    assert.strictEqual(settled.length, 1, `${step} settled once`)
    const at = lines.indexOf(settled[0]!)
    assert.isFalse(lines.slice(at).some((line) => line.what === `step started ${step}`), `${step} not started again once settled`)
  }
}

/** Asserts who did `what`, in order: the runner killed, or the survivor. */
const did = (
  crashed: { readonly lines: ReadonlyArray<Line>; readonly victim: number; readonly survivor: number },
  what: string,
  expected: ReadonlyArray<"killed" | "survivor">
) =>
  assert.deepStrictEqual(
    of(crashed.lines, what).map((line) =>
      line.pid === crashed.victim ? "killed" : line.pid === crashed.survivor ? "survivor" : String(line.pid)
    ),
    [...expected],
    `who did "${what}"`
  )

if (Pg.missing.length > 0 && process.env["CI"] !== "true") {
  describe.skip(`Durable on PostgreSQL, the crash matrix (skipped: ${Pg.missing.join(", ")} not set; .ci/run sets them)`, () => {
    it("needs PostgreSQL", () => {})
  })
} else {
  describe("Durable on PostgreSQL, a runner killed with SIGKILL at a moment of a run: the other runner finishes it", () => {
    it.live("the uncrashed run: each call and step once, on one runner", () =>
      Effect.gen(function*() {
        const { lines, output } = yield* reference
        assert.strictEqual(output.content, `DONE: "ADA: 40" | "SENT 500" (128)!`)
        settledOnce(lines)
        // The decision is told by the runner that sent it, as the run resumes: its place varies.
        const whats = lines.map((line) => line.what).filter((what) => !what.startsWith("waiting ") && what !== "decided")
        assert.deepStrictEqual(whats.slice(0, 8), [
          "up",
          "sent go",
          "model 1",
          "tool started lookup run-1#0/0/tool/call-1",
          "tool settled lookup run-1#0/0/tool/call-1",
          "tool started transfer run-1#0/0/tool/call-2",
          "tool settled transfer run-1#0/0/tool/call-2",
          "model 2"
        ])
        assert.sameMembers(whats.slice(8, 12), ["step started left", "step settled left", "step started right", "step settled right"])
        assert.deepStrictEqual(whats.slice(12), ["step started final", "step settled final"])
        assert.strictEqual(of(lines, "decided").length, 1)
      }), 120_000)

    it.live("during a model call: the model call is made again on the survivor, no tool runs again", () =>
      Effect.scoped(Effect.gen(function*() {
        const { output: expected } = yield* reference
        const crashed = yield* crash("model")
        assert.deepStrictEqual(crashed.output, expected, "the uncrashed run's output")
        settledOnce(crashed.lines)
        did(crashed, "model 1", ["killed"])
        did(crashed, "model 2", ["killed", "survivor"])
        did(crashed, "tool started", ["killed", "killed"])
      })), 120_000)

    it.live("during a tool call: the call runs once more on the survivor, under the same idempotency key", () =>
      Effect.scoped(Effect.gen(function*() {
        const { output: expected } = yield* reference
        const crashed = yield* crash("tool")
        assert.deepStrictEqual(crashed.output, expected, "the uncrashed run's output")
        settledOnce(crashed.lines)
        did(crashed, "tool started lookup", ["killed", "survivor"])
        did(crashed, "tool settled lookup", ["survivor"])
        // The model call before it is not made again.
        did(crashed, "model 1", ["killed"])
      })), 120_000)

    it.live("after a tool settled, its result not yet stored by the engine, before the next model call: the tool does not run again", () =>
      Effect.scoped(Effect.gen(function*() {
        const { output: expected } = yield* reference
        const crashed = yield* crash("settled")
        assert.deepStrictEqual(crashed.output, expected, "the uncrashed run's output")
        settledOnce(crashed.lines)
        // The engine had no result for transfer's activity and ran it again: the ledger answered.
        did(crashed, "tool started transfer", ["killed"])
        did(crashed, "model 2", ["survivor"])
        did(crashed, "model 1", ["killed"])
      })), 120_000)

    it.live("in a parallel step: the branch in flight runs again, the settled one does not", () =>
      Effect.scoped(Effect.gen(function*() {
        const { output: expected } = yield* reference
        const crashed = yield* crash("parallel")
        assert.deepStrictEqual(crashed.output, expected, "the uncrashed run's output")
        settledOnce(crashed.lines)
        did(crashed, "step started left", ["killed", "survivor"])
        did(crashed, "step started right", ["killed"])
        did(crashed, "model 2", ["killed"])
      })), 120_000)

    it.live("while waiting on a signal: the signal sent after the kill wakes the run on the survivor", () =>
      Effect.scoped(Effect.gen(function*() {
        const { output: expected } = yield* reference
        const crashed = yield* crash("signal")
        assert.deepStrictEqual(crashed.output, expected, "the uncrashed run's output")
        settledOnce(crashed.lines)
        did(crashed, "sent go", ["survivor"])
        did(crashed, "model 2", ["killed"])
        did(crashed, "step started right", ["killed"])
        did(crashed, "step started final", ["survivor"])
      })), 120_000)

    it.live("while waiting for approval: the survivor takes the decision and runs the approved call, once", () =>
      Effect.scoped(Effect.gen(function*() {
        const { output: expected } = yield* reference
        const crashed = yield* crash("approval")
        assert.deepStrictEqual(crashed.output, expected, "the uncrashed run's output")
        settledOnce(crashed.lines)
        did(crashed, "decided", ["survivor"])
        did(crashed, "tool started lookup", ["killed"])
        did(crashed, "tool started transfer", ["survivor"])
        did(crashed, "model 1", ["killed"])
      })), 120_000)

    it.live("during the final store write: the survivor runs the run again from storage, nothing is executed again", () =>
      Effect.scoped(Effect.gen(function*() {
        const { output: expected } = yield* reference
        const crashed = yield* crash("final")
        assert.deepStrictEqual(crashed.output, expected, "the uncrashed run's output")
        settledOnce(crashed.lines)
        // Every call and step ran once, on the runner killed: the survivor replayed them all.
        did(crashed, "model 1", ["killed"])
        did(crashed, "model 2", ["killed"])
        did(crashed, "tool started", ["killed", "killed"])
        did(crashed, "step started", ["killed", "killed", "killed"])
      })), 120_000)
  })
}
