/**
 * Durable runs of the HTTP app on PostgreSQL: several servers on one database serve the same runs.
 * Needs the server named by the EFFECT_AGENTS_TEST_PG_* variables (.ci/run starts one and sets
 * them); without them the suite is skipped with that message, except under CI=true, where it fails.
 * Each test has a database of its own (one cluster of runners to a database).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as HttpApp from "../layers/HttpApp.js"
import * as Child from "./fixtures/childProcess.js"
import { batchEnd, clientOf, type Files, lines, tempFiles, until } from "./fixtures/httpDurable.js"
import * as Fixture from "./fixtures/httpDurablePg.js"
import * as Pg from "./fixtures/pgDatabase.js"

const fixture = Path.join(Child.root, "test/fixtures/httpDurablePg.ts")

/** A server of the fixture in this process, on the database `database`. */
const serve = (database: string, files: Files) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Fixture.layer({ database, counter: files.counter, release: files.release }))
    const { url } = Context.get(context, HttpApp.HttpApp)
    return { url, client: yield* clientOf(url) }
  })

/** A server of the fixture as a child process, killed with SIGKILL by `kill` (or with the test's scope). */
const spawn = (database: string, files: Files) =>
  Effect.gen(function*() {
    const server = yield* Child.server(fixture, [database, files.counter, files.release])
    return { url: server.url, client: yield* clientOf(server.url), kill: server.kill }
  })

/** A run's stored events as `GET /runs/{runId}/events` sends them (the run has ended: the stream ends). */
const eventsOf = (url: string, runId: string) =>
  Effect.promise(() => fetch(`${url}/runs/${runId}/events`).then((response) => response.text()))

const tags = (events: string) =>
  events.split("\n").filter((line) => line.startsWith("event: ")).map((line) => line.slice(7))

if (Pg.missing.length > 0 && process.env["CI"] !== "true") {
  describe.skip(`HttpApp, durable runs on PostgreSQL (skipped: ${Pg.missing.join(", ")} not set; .ci/run sets them)`, () => {
    it("needs PostgreSQL", () => {})
  })
} else {
  describe("HttpApp, durable runs on PostgreSQL, two servers on one database", () => {
    it.scopedLive("a run started on A waiting on a signal is read and listed on B, signalled through B, and completes; its events read from B equal those read from A", () =>
      Effect.gen(function*() {
        const db = yield* Pg.make
        const files = yield* tempFiles
        const a = yield* serve(db.name, files)
        const b = yield* serve(db.name, files)

        yield* a.client.durable.start({ payload: { agent: "Approval", input: "tea", runId: "approval-pg" } })
        const waiting = yield* until(b.client, "approval-pg", (run) => run.status === "waiting")
        assert.strictEqual(waiting.agent, "Approval")
        assert.deepStrictEqual(waiting.waitingFor, ["approval"])
        assert.deepStrictEqual(
          waiting.steps.map((step) => [step.step, step.status, step.output]),
          [["draft", "completed", "draft of tea"]]
        )
        const listed = yield* b.client.durable.list({ urlParams: { waiting: true } })
        assert.deepStrictEqual(listed.map((run) => [run.runId, run.status]), [["approval-pg", "waiting"]])

        // A signal it does not wait for is refused by B as by A.
        const wrong = yield* Effect.either(
          b.client.durable.signal({ path: { runId: "approval-pg", signal: "review" }, payload: { value: true } })
        )
        assert.isTrue(Either.isLeft(wrong) && wrong.left._tag === "RunNotWaiting", String(wrong))

        yield* b.client.durable.signal({ path: { runId: "approval-pg", signal: "approval" }, payload: { value: { approved: true } } })
        const done = yield* until(b.client, "approval-pg", (run) => run.status !== "running" && run.status !== "waiting")
        assert.strictEqual(done.status, "completed")
        assert.deepStrictEqual(done.output?.text, "APPROVED: DRAFT OF TEA")
        assert.deepStrictEqual(done.steps.map((step) => [step.step, step.status]), [
          ["draft", "completed"],
          ["approval", "completed"],
          ["publish", "completed"]
        ])
        assert.deepStrictEqual(yield* a.client.durable.get({ path: { runId: "approval-pg" } }), done)
        assert.deepStrictEqual(lines(files.counter), ["draft started", "draft settled", "publish started", "publish settled"])

        const fromA = yield* eventsOf(a.url, "approval-pg")
        const fromB = yield* eventsOf(b.url, "approval-pg")
        assert.strictEqual(fromB, fromA)
        assert.strictEqual(tags(fromB)[0], "RunStarted")
        assert.strictEqual(tags(fromB).at(-1), "RunCompleted")
      }), 120_000)

    it.scopedLive("a run started on B is cancelled through A: it ends cancelled, read so on both, and takes no signal", () =>
      Effect.gen(function*() {
        const db = yield* Pg.make
        const files = yield* tempFiles
        const a = yield* serve(db.name, files)
        const b = yield* serve(db.name, files)
        yield* b.client.durable.start({ payload: { agent: "Approval", input: "tea", runId: "cancel-pg" } })
        yield* until(a.client, "cancel-pg", (run) => run.status === "waiting")
        const cancelled = yield* a.client.durable.cancel({ path: { runId: "cancel-pg" } })
        assert.strictEqual(cancelled.status, "cancelled")
        assert.strictEqual((yield* b.client.durable.get({ path: { runId: "cancel-pg" } })).status, "cancelled")
        const late = yield* Effect.either(
          b.client.durable.signal({ path: { runId: "cancel-pg", signal: "approval" }, payload: { value: { approved: true } } })
        )
        assert.isTrue(Either.isLeft(late) && late.left._tag === "RunNotWaiting", String(late))
        assert.strictEqual(tags(yield* eventsOf(b.url, "cancel-pg")).at(-1), "RunCancelled")
      }), 120_000)

    // Tried twice, each time on a database of its own: about once in 25 runs the batch did not end
    // within batchEnd's 30 seconds after B joined and the shards were handed over (not understood:
    // the note; a stall of the same kind as the failover test's in DurablePg.test.ts).
    // An assertion that fails is not retried.
    it.scopedLive("a batch submitted on A, driven by B too once B starts: it completes once all its runs have, each input run once", () =>
      Effect.scoped(Effect.gen(function*() {
        const db = yield* Pg.make
        const files = yield* tempFiles
        const a = yield* serve(db.name, files)
        const submitted = yield* a.client.batches.submit({ payload: { agent: "Blocking", inputs: ["x", "y"], concurrency: 2 } })
        yield* Child.until(() => lines(files.counter).filter((l) => l === "block started").length === 2)
        // B drives the running batch from its start on: its runs are A's, still blocked.
        const b = yield* serve(db.name, files)
        Fs.writeFileSync(files.release, "")
        const batch = yield* batchEnd(b.client, submitted.batchId)
        assert.strictEqual(batch.status, "completed")
        assert.deepStrictEqual(batch.items.map((item) => [item.status, item.output?.text]), [
          ["completed", "LAST X (1)"],
          ["completed", "LAST Y (1)"]
        ])
        assert.strictEqual(lines(files.counter).filter((l) => l === "first started").length, 2)
      })).pipe(Effect.retry({ times: 1 })), 150_000)

    it.scopedLive("A killed with SIGKILL while its run runs a step: B takes the run over and finishes it, its settled step not run again", () =>
      Effect.gen(function*() {
        const db = yield* Pg.make
        const files = yield* tempFiles
        // A alone holds the shards: the run's body runs on A.
        const a = yield* spawn(db.name, files)
        yield* a.client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "takeover-pg" } })
        yield* Child.until(() => lines(files.counter).includes("block started"))
        const b = yield* serve(db.name, files)
        yield* a.kill
        Fs.writeFileSync(files.release, "")
        // B sees A's shards expire, takes the run over where it was, and writes its end.
        const done = yield* until(b.client, "takeover-pg", (run) => run.status !== "running")
        assert.strictEqual(done.status, "completed")
        assert.strictEqual(done.output?.text, "LAST ABC (3)")
        const counted = lines(files.counter)
        assert.strictEqual(counted.filter((l) => l === "first started").length, 1, counted.join("\n"))
        assert.strictEqual(counted.filter((l) => l === "block started").length, 2, counted.join("\n"))
        assert.strictEqual(counted.filter((l) => l === "last settled").length, 1, counted.join("\n"))
        assert.strictEqual(tags(yield* eventsOf(b.url, "takeover-pg")).at(-1), "RunCompleted")
      }), 120_000)
  })
}

