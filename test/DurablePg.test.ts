/**
 * Durable runs on several runner processes sharing one PostgreSQL database (`Durable.layerPg`):
 * a runner killed with SIGKILL in the middle of its runs, the other runner finishes them. Needs the
 * PostgreSQL server named by EFFECT_AGENTS_TEST_PG_HOST, _PORT, _DATABASE, _USER and _PASSWORD
 * (.ci/run starts one and sets them); without them the suite is skipped with that message, except
 * under CI=true, where it fails. Each test that starts runners has a database of its own
 * (`fixtures/pgDatabase.ts`): the shard locks are advisory locks, which are the database's.
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Durable from "../layers/Durable.js"
import * as Ledger from "../layers/internal/durable/ledger.js"
import * as Pause from "../layers/internal/durable/pause.js"
import * as Runner from "../layers/internal/durable/runner.js"
import * as Workflow from "../src/Workflow.js"
import * as Child from "./fixtures/childProcess.js"
import * as Pg from "./fixtures/pgDatabase.js"

const fixture = Path.join(Child.root, "test/fixtures/durableRunner.ts")

interface RunResult {
  readonly runId: string
  readonly content: string
  readonly totalTokens: number
  readonly steps: ReadonlyArray<unknown>
}

interface Line {
  readonly pid: number
  readonly runId: string
  readonly step: string
  readonly what: "started" | "settled" | "up"
  readonly at: number
}

const lines = (file: string): ReadonlyArray<Line> =>
  Child.lines(file).map((line) => {
    const [pid, runId, step, what, at] = line.split(" ")
    return { pid: Number(pid), runId: runId!, step: step!, what: what as Line["what"], at: Number(at) }
  })

const spawn = (args: ReadonlyArray<string>) => Child.spawn(fixture, args)

/** What the runner prints when it exits 0. */
const output = (child: ChildProcess.ChildProcess) =>
  Child.output<ReadonlyArray<RunResult>>(child, "the runner", "90 seconds")

const runIds = ["a", "b", "c", "d", "e", "f", "g", "h"]

if (Pg.missing.length > 0 && process.env["CI"] !== "true") {
  describe.skip(`Durable on PostgreSQL (skipped: ${Pg.missing.join(", ")} not set; .ci/run sets them)`, () => {
    it("needs PostgreSQL", () => {})
  })
} else {
  describe("Durable on PostgreSQL, a signal that lands as its run suspends", () => {
    // @effect/cluster's engine, on a completed durable deferred (a signal), resumes the run first and
    // stores the deferred's result after (upstream #6318, #8238, #8312): a run that replays in
    // between finds no result, suspends again, and nothing resumes it when the result lands. The
    // window is narrow, and in this version of the engine a workflow's messages are handled one at a
    // time, so widening it (a database that stores the deferred's reply 500 ms late) did not make
    // the run miss its signal. What the race leaves behind is made here instead: triggers make the
    // engine's own resume of the run, on its signal, a no-op once, as if it had come too early. The
    // run then waits, suspended, on a signal whose result is stored: the state Durable's sweeper
    // looks for.
    const go = Workflow.signal("go", Schema.Number, { merge: (n: number, value: number) => n + value })
    const durable = Durable.make(Workflow.make({
      name: "LateReply",
      input: Schema.Number,
      steps: Workflow.sequence(
        Workflow.step("before", (n: number) => Effect.succeed(n)),
        go,
        Workflow.step("after", (n: number) => Effect.succeed(n * 2))
      )
    }))

    /** The run's output, if it ends within 6 seconds of its signal, and how many skips are left. */
    const signalled = (sweepInterval: Duration.DurationInput) =>
      Effect.gen(function*() {
        const { sql, url } = yield* Pg.make
        const output = yield* Effect.gen(function*() {
          yield* sql.unsafe(`
            CREATE TABLE skipped (n INT NOT NULL);
            INSERT INTO skipped VALUES (1);
            -- A resume of a suspended run deletes its reply, then marks its message unprocessed.
            CREATE FUNCTION keep_reply() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT n FROM skipped) > 0
                AND EXISTS (SELECT 1 FROM cluster_messages WHERE request_id = OLD.request_id AND tag = 'run') THEN
                RETURN NULL;
              END IF;
              RETURN OLD;
            END $$;
            CREATE TRIGGER keep_reply BEFORE DELETE ON cluster_replies
              FOR EACH ROW EXECUTE FUNCTION keep_reply();
            CREATE FUNCTION keep_processed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT n FROM skipped) > 0 AND NEW.tag = 'run' AND OLD.processed AND NOT NEW.processed THEN
                UPDATE skipped SET n = n - 1;
                RETURN NULL;
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER keep_processed BEFORE UPDATE ON cluster_messages
              FOR EACH ROW EXECUTE FUNCTION keep_processed();
          `).pipe(Effect.orDie)
          // Started detached, as a server starts a run that a later request signals: nobody waits
          // for it with `run` (whose waiting sends the run again now and then, which also wakes it).
          const executionId = yield* durable.definition.execute({ runId: "late-1", input: 1 }, { discard: true })
          // The run has suspended on its signal when the signal is sent.
          yield* Effect.sleep("1 second")
          yield* durable.send(go, "late-1", 100)
          return yield* durable.definition.poll(executionId).pipe(
            Effect.flatMap((result) => result?._tag === "Complete" ? Effect.succeed(result.exit) : Effect.fail("not yet")),
            Effect.retry(Schedule.spaced("100 millis")),
            Effect.timeout("6 seconds"),
            Effect.option
          )
        }).pipe(
          Effect.provide(durable.layer),
          Effect.provide(Durable.layerPg({ url: url(), sweepInterval }).pipe(Layer.orDie))
        )
        const skipped = yield* Effect.orDie(sql.unsafe<{ readonly n: number }>(`SELECT n FROM skipped`))
        return { output, skipped: skipped.map((row) => row.n) }
      })

    it.scopedLive("without a sweep, the run is never woken", () =>
      Effect.gen(function*() {
        const { output, skipped } = yield* signalled("1 hour")
        assert.isTrue(Option.isNone(output), String(output))
        // The engine's resume on the signal was the one made a no-op.
        assert.deepStrictEqual(skipped, [0])
      }), 60_000)

    it.scopedLive("with the sweeper, the run is woken and ends", () =>
      Effect.gen(function*() {
        const { output, skipped } = yield* signalled("500 millis")
        assert.deepStrictEqual(skipped, [0])
        assert.isTrue(Option.isSome(output), "the run ended")
        const exit = Option.getOrThrow(output)
        assert.isTrue(Exit.isSuccess(exit) && exit.value.content === 202, String(exit))
      }), 60_000)
  })

  describe("Durable on PostgreSQL, a runner slow to reset the shards it takes", () => {
    // A runner reads again only the messages no runner read in the last 10 minutes. Taking shards, it
    // clears those marks on their unprocessed messages (MessageStorage.resetShards), so that it reads
    // the runs another runner left; @effect/cluster's Sharding waits for that for its shard lock
    // interval at most (1 second with Durable.failoverSettings), its timeout cancels the statement,
    // and a reset that fails is not tried again. Here a trigger holds the second runner's first reset
    // for 3 seconds on the first message it clears, as a loaded machine or database may, and fails it
    // on the second (the run's and its step's): the run the first runner left must still be taken
    // over.
    let gateOpen = false
    let started = Deferred.unsafeMake<void>(FiberId.none)
    const durable = Durable.make(Workflow.make({
      name: "TakenOver",
      input: Schema.Number,
      steps: Workflow.step("gate", (n: number) =>
        Effect.zipRight(
          Deferred.succeed(started, undefined),
          Effect.suspend(() => gateOpen ? Effect.succeed(n * 2) : Effect.never)
        ))
    }))

    /** A runner of the cluster in the database at `url`: on the engine's own `SingleRunner`, or on Durable's. */
    const runner = (url: Redacted.Redacted, name: string, sharding: typeof SingleRunner.layer) =>
      ClusterWorkflowEngine.layer.pipe(
        Layer.provide(sharding({
          runnerStorage: "sql",
          shardingConfig: {
            ...Durable.failoverSettings,
            runnerAddress: Option.some(RunnerAddress.make(name, 1)),
            // The first runner stops in the run's step (an activity, which nothing interrupts): it
            // leaves it after a second rather than the engine's 15.
            entityTerminationTimeout: "1 second"
          }
        })),
        Layer.provide(PgClient.layer({ url })),
        Layer.orDie
      )

    /**
     * The run's output if the second runner finishes it within 20 seconds of its start, and how many
     * times a reset met the trigger.
     */
    const takenOver = (sharding: typeof SingleRunner.layer) =>
      Effect.gen(function*() {
        const { sql, url } = yield* Pg.make
        gateOpen = false
        started = yield* Deferred.make<void>()
        // The first runner starts the run, which waits in its step; then it stops, leaving the run's
        // messages read and not processed, for the runner that takes its shards.
        yield* Effect.gen(function*() {
          yield* durable.definition.execute({ runId: "taken-1", input: 21 }, { discard: true })
          yield* Deferred.await(started)
        }).pipe(Effect.provide(durable.layer), Effect.provide(runner(url(), "first", sharding)))
        yield* sql.unsafe(`
          CREATE SEQUENCE held;
          CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            CASE nextval('held')
              WHEN 1 THEN PERFORM pg_sleep(3);
              WHEN 2 THEN RAISE EXCEPTION 'the reset fails';
              ELSE NULL;
            END CASE;
            RETURN NEW;
          END $$;
          -- A reset of the marks: a message not processed, read, made unread.
          CREATE TRIGGER hold BEFORE UPDATE ON cluster_messages
            FOR EACH ROW WHEN (NOT OLD.processed AND NOT NEW.processed AND OLD.last_read IS NOT NULL AND NEW.last_read IS NULL)
            EXECUTE FUNCTION hold();
        `).pipe(Effect.orDie)
        gateOpen = true
        const output = yield* Effect.gen(function*() {
          const executionId = yield* durable.definition.executionId({ runId: "taken-1", input: 21 })
          return yield* durable.definition.poll(executionId).pipe(
            Effect.flatMap((result) => result?._tag === "Complete" ? Effect.succeed(result.exit) : Effect.fail("not yet")),
            Effect.retry(Schedule.spaced("100 millis")),
            Effect.timeout("20 seconds"),
            Effect.option
          )
        }).pipe(Effect.provide(durable.layer), Effect.provide(runner(url(), "second", sharding)))
        const held = yield* Effect.orDie(sql.unsafe<{ readonly n: string }>(`SELECT last_value AS n FROM held`))
        return { output, held: Number(held[0]!.n) }
      })

    it.scopedLive("on the engine's own runner, a reset cut short leaves the run unread", () =>
      Effect.gen(function*() {
        const { held, output } = yield* takenOver(SingleRunner.layer)
        // The runner's one reset was held, and cancelled by its timeout: the run's messages stay
        // marked read by the first runner, and the second does not read them.
        assert.strictEqual(held, 1)
        assert.isTrue(Option.isNone(output), String(output))
      }), 60_000)

    it.scopedLive("on Durable's runner, the reset is finished and the run taken over", () =>
      Effect.gen(function*() {
        const { held, output } = yield* takenOver(Runner.layer)
        // The reset was held, not cancelled, failed on the second message, and was tried again.
        assert.isAtLeast(held, 3)
        assert.isTrue(Option.isSome(output), "the run ended")
        const exit = Option.getOrThrow(output)
        assert.isTrue(Exit.isSuccess(exit) && exit.value.content === 42, String(exit))
      }), 60_000)
  })

  describe("Durable on PostgreSQL, runners started together on a new database", () => {
    it.scopedLive("each creates the engine's own tables, where all but one lost the race on CREATE TABLE IF NOT EXISTS", () =>
      Effect.gen(function*() {
        const { sql, url } = yield* Pg.make
        // Six runners' connections, each building the ledger and the pauses at the same moment.
        const exits = yield* Effect.forEach(
          Array.from({ length: 6 }, (_, i) => i),
          () =>
            Effect.exit(Layer.build(
              Layer.merge(Ledger.layerSql, Pause.layerSql).pipe(Layer.provide(PgClient.layer({ url: url() })))
            )),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(exits.filter(Exit.isFailure).map(String), [])
        const tables = yield* sql<{ readonly table_name: string }>`
          SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
        assert.deepStrictEqual(tables.map((t) => t.table_name), ["effect_agents_durable_pauses", "effect_agents_tool_ledger"])
      }))
  })

  describe("Durable on PostgreSQL, two runner processes", () => {
    it.live("a runner killed with SIGKILL mid-run: the other takes its runs over and finishes them, with the uncrashed output and no settled step run twice", () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-pg-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))

        // The runs on one runner nobody kills, for comparison.
        const reference = yield* Effect.flatMap(
          spawn([Path.join(dir, "reference.txt"), (yield* Pg.make).name, "1", runIds.join(",")]),
          output
        )
        assert.deepStrictEqual(reference.map((run) => run.runId), runIds)

        // Two runners share a database and both ask for every run: each runs the runs of its shards
        // and waits for the others'.
        const counter = Path.join(dir, "crash.txt")
        const shared = (yield* Pg.make).name
        // Both outputs are read from the start (a child must not block on a full pipe). The second
        // starts once the first is up: two runners that make the engine's tables at once in a new
        // database can fail with "relation ... already exists", and one that dies so leaves the
        // other waiting for it.
        const first = yield* spawn([counter, shared, "2", runIds.join(",")])
        const readingFirst = yield* Effect.forkScoped(output(first))
        yield* Child.until(() => first.exitCode !== null || lines(counter).some((l) => l.pid === first.pid && l.what === "up"))
        if (first.exitCode !== null) yield* Fiber.join(readingFirst)
        const second = yield* spawn([counter, shared, "2", runIds.join(",")])
        const reading = new Map([[first.pid!, readingFirst], [second.pid!, yield* Effect.forkScoped(output(second))]])

        // Killed in its slow steps: the runner that started the first one.
        const inSlow = () => lines(counter).find((line) => line.step === "slow" && line.what === "started")
        yield* Child.until(() => inSlow() !== undefined)
        yield* Effect.sleep("300 millis")
        const victim = inSlow()!.pid === first.pid ? first : second
        const survivor = victim === first ? second : first
        const killedAt = Date.now()
        yield* Child.kill(victim)
        const before = lines(counter)
        // The runs the victim was in the middle of (their slow step started there, not settled).
        const taken = runIds.filter((runId) =>
          before.some((l) => l.runId === runId && l.pid === victim.pid && l.step === "slow" && l.what === "started") &&
          !before.some((l) => l.runId === runId && l.step === "slow" && l.what === "settled")
        )
        assert.isAbove(taken.length, 0, "the killed runner was in the middle of runs")

        const finished = yield* Fiber.join(reading.get(survivor.pid!)!)
        assert.deepStrictEqual(finished, reference)

        const all = lines(counter)
        for (const runId of runIds) {
          const of = (step: string, what: Line["what"]) => all.filter((l) => l.runId === runId && l.step === step && l.what === what)
          // Every step settled once, and no step started again once it had settled.
          for (const step of ["slow", "write"]) {
            assert.strictEqual(of(step, "settled").length, 1, `${runId} ${step} settled once`)
            const settledAt = all.indexOf(of(step, "settled")[0]!)
            assert.isFalse(all.some((l, i) => i > settledAt && l.runId === runId && l.step === step && l.what === "started"), `${runId} ${step} not again`)
          }
          assert.strictEqual(of("write", "started").length, 1)
          // A run taken over had settled its model call before its slow step: it was not made again.
          // (Another run of the killed runner may have been in its model call, which then runs again.)
          if (taken.includes(runId)) assert.strictEqual(of("Researcher", "started").length, 1, `${runId}: one model call`)
          else assert.isAtMost(of("Researcher", "started").length, 2)
        }
        // The runs the victim was in: their slow step ran again, on the survivor.
        const takeovers = taken.map((runId) => {
          const again = all.filter((l) => l.runId === runId && l.step === "slow" && l.what === "started" && l.pid === survivor.pid)
          assert.strictEqual(again.length, 1, `${runId} resumed on the survivor`)
          return again[0]!.at - killedAt
        })
        console.info(`Durable on PostgreSQL: ${taken.length} runs taken over, ${Math.min(...takeovers)} ms from SIGKILL to the first step run again`)
      })).pipe(
        // It hung once in eight runs on a loaded machine (the surviving runner did not finish the
        // runs it took over within 180 s; the seven others took 18-27 s). Hangs seen since: a
        // survivor whose reset of the shards it took is cut short leaves the taken-over runs unread
        // for 10 minutes (see "a runner slow to reset the shards it takes" above; Runner.layer in
        // layers/internal/durable/runner.ts prevents it once Durable's layers are built on it); a
        // runner that died at its start making the engine's tables beside the other (the second now
        // starts once the first is up); and a survivor whose shard locks went unhealthy under load
        // (lock operations past their 1-second deadline) and never took the killed runner's shards.
        // A try that has not ended in 90 s is stopped (its runners killed) and the test tried afresh,
        // twice at most; an assertion that fails is not tried again.
        Effect.timeout("90 seconds"),
        Effect.retry({ times: 2 })
      ), 300_000)
  })
}
