import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as HttpApp from "../layers/HttpApp.js"
import * as DurableEvents from "../layers/internal/httpApp/durableEvents.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Child from "./fixtures/childProcess.js"
import * as Fixture from "./fixtures/httpDurable.js"
import * as Pg from "./fixtures/pgDatabase.js"
import { clientOf, type Files, lines, tempFiles, until } from "./fixtures/httpDurable.js"

const fixture = Path.join(Child.root, "test/fixtures/httpDurable.ts")

/** One event of a response, with its SSE `id:`. */
interface Sent {
  readonly id: number
  readonly tag: string
  readonly data: { readonly _tag: string; readonly step?: string; readonly [key: string]: unknown }
}

/** The events of `GET /runs/{runId}/events` read one at a time, with the cursor given as `Last-Event-ID`. */
const follow = (url: string, runId: string, lastEventId?: number) =>
  Effect.gen(function*() {
    const controller = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => controller.abort()))
    const response = yield* Effect.promise(() =>
      fetch(`${url}/runs/${runId}/events`, {
        signal: controller.signal,
        headers: lastEventId === undefined ? {} : { "last-event-id": String(lastEventId) }
      })
    )
    assert.strictEqual(response.status, 200)
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let buffer = ""
    /** The next event, or `undefined` once the response has ended. */
    const next: Effect.Effect<Sent | undefined> = Effect.promise(async () => {
      while (true) {
        const end = buffer.indexOf("\n\n")
        if (end >= 0) {
          const block = buffer.slice(0, end).split("\n")
          buffer = buffer.slice(end + 2)
          const field = (name: string) => block.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2)
          return { id: Number(field("id")), tag: field("event")!, data: JSON.parse(field("data")!) }
        }
        const chunk = await reader.read()
        if (chunk.done) return undefined
        buffer += decoder.decode(chunk.value, { stream: true })
      }
    })
    /** Every event until `done` holds for one (included), or until the end. */
    const until = (done: (sent: Sent) => boolean) =>
      Effect.gen(function*() {
        const all: Array<Sent> = []
        while (true) {
          const sent = yield* next
          if (sent === undefined) return all
          all.push(sent)
          if (done(sent)) return all
        }
      })
    return { next, until, rest: until(() => false) }
  })

/** A readable name of an event: its tag, and its step's name for a step's. */
const named = (sent: Sent) => sent.data.step === undefined ? sent.tag : `${sent.tag} ${sent.data.step}`

/** The ids of `sent` go up by one from `after + 1`. */
const assertNumbered = (sent: ReadonlyArray<Sent>, after: number) =>
  assert.deepStrictEqual(sent.map((s) => s.id), sent.map((_, i) => after + 1 + i))

/** The fixture's server as a child process on `files`, killed with SIGKILL by `kill`. */
const spawn = (files: Files) =>
  Effect.gen(function*() {
    const server = yield* Child.server(fixture, [files.database, files.counter, files.release])
    return { url: server.url, client: yield* clientOf(server.url), kill: server.kill }
  })

/** The fixture's app in this process on `files`, stopped when `scope` closes. */
const serveIn = (files: Files, scope: Scope.Scope) =>
  Effect.gen(function*() {
    const context = yield* Layer.buildWithScope(Fixture.layer(files), scope)
    const { url } = Context.get(context, HttpApp.HttpApp)
    return { url, client: yield* clientOf(url) }
  })

const blockingSteps = [
  "StepStarted first",
  "StepCompleted first",
  "StepStarted block",
  "StepCompleted block",
  "StepStarted last",
  "StepCompleted last"
]

describe("HttpApp, a durable run's event log stored with its execution", () => {
  it.scopedLive("a client reconnects with its cursor to the server restarted after a SIGKILL: every stored event after it once, in order, then the tail to the end", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const first = yield* spawn(files)
      yield* first.client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "run-1" } })
      const before = yield* follow(first.url, "run-1")
      // The client has read up to the first step's end; the run goes on into `block`.
      const read = yield* before.until((sent) => named(sent) === "StepCompleted first")
      assert.deepStrictEqual(read.map(named), ["RunStarted", "StepStarted first", "StepCompleted first"])
      assertNumbered(read, 0)
      const cursor = read.at(-1)!.id
      yield* Child.until(() => lines(files.counter).includes("block started"))
      yield* first.kill

      const second = yield* spawn(files)
      // The new server replays `first` and runs `block` again: their events are not stored again.
      yield* Child.until(() => lines(files.counter).filter((line) => line === "block started").length === 2)
      const after = yield* follow(second.url, "run-1", cursor)
      const stored = yield* after.until((sent) => named(sent) === "StepStarted block")
      Fs.writeFileSync(files.release, "")
      const tail = yield* after.rest
      const resumed = [...stored, ...tail]
      assertNumbered(resumed, cursor)
      assert.deepStrictEqual(
        [...read, ...resumed].map(named).filter((name) => name.startsWith("Step")),
        blockingSteps
      )
      assert.deepStrictEqual(resumed.map((sent) => sent.tag).filter((tag) => tag === "RunStarted"), [])
      assert.strictEqual(resumed.at(-1)!.tag, "RunCompleted")
      assert.strictEqual((resumed.at(-1)!.data.output as { content: unknown }).content, "LAST ABC (3)")

      // From the start, the log is the same: the first server's events, then the second's.
      const whole = yield* Effect.flatMap(follow(second.url, "run-1"), (reader) => reader.rest)
      assert.deepStrictEqual(whole.map((sent) => [sent.id, sent.data]), [...read, ...resumed].map((sent) => [sent.id, sent.data]))
      assert.deepStrictEqual(lines(files.counter).filter((line) => line === "first started"), ["first started"])
    }), 180_000)

  it.scopedLive("a second server on the same SQLite file, after the first stops, reads a finished run's events with the same ids; a delta is sent live with the id of the event before it and not again", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const firstScope = yield* Scope.make()
      yield* Effect.addFinalizer(() => Scope.close(firstScope, Exit.void))
      const first = yield* serveIn(files, firstScope)
      // A run resumed by a signal: the engine replays its first step, whose events are stored once.
      yield* first.client.durable.start({ payload: { agent: "Approval", input: "tea", runId: "approval-1" } })
      yield* until(first.client, "approval-1", (run) => run.status === "waiting")
      yield* first.client.durable.signal({ path: { runId: "approval-1", signal: "approval" }, payload: { value: { approved: true } } })
      yield* until(first.client, "approval-1", (run) => run.status === "completed")

      // A model's text as it comes: followed live, its delta has the id of the model call's start.
      yield* first.client.durable.start({ payload: { agent: "Stuck", input: "hi", runId: "stuck-1" } })
      yield* Child.until(() => lines(files.counter).includes("Stuck model started"))
      const live = yield* follow(first.url, "stuck-1")
      const upToCall = yield* live.until((sent) => sent.tag === "ModelRequestStarted")
      Fs.writeFileSync(files.release, "")
      const liveRest = yield* live.rest
      const delta = liveRest.find((sent) => sent.tag === "TextDelta")
      assert.isDefined(delta)
      assert.strictEqual(delta!.id, upToCall.at(-1)!.id)
      assert.strictEqual(liveRest[0]!.tag, "TextDelta")
      assert.strictEqual(liveRest.at(-1)!.tag, "RunCompleted")

      const approvalFirst = yield* Effect.flatMap(follow(first.url, "approval-1"), (reader) => reader.rest)
      const stuckFirst = yield* Effect.flatMap(follow(first.url, "stuck-1"), (reader) => reader.rest)
      yield* Scope.close(firstScope, Exit.void)

      const second = yield* serveIn(files, yield* Effect.scope)
      const approvalSecond = yield* Effect.flatMap(follow(second.url, "approval-1"), (reader) => reader.rest)
      assert.deepStrictEqual(approvalSecond, approvalFirst)
      assertNumbered(approvalSecond, 0)
      assert.deepStrictEqual(approvalSecond.map(named).filter((name) => name.startsWith("Step")), [
        "StepStarted draft",
        "StepCompleted draft",
        "StepStarted approval",
        "StepWaiting approval",
        "StepCompleted approval",
        "StepStarted publish",
        "StepCompleted publish"
      ])
      assert.strictEqual(approvalSecond[0]!.tag, "RunStarted")
      assert.strictEqual(approvalSecond.filter((sent) => sent.tag === "RunStarted").length, 1)
      assert.strictEqual(approvalSecond.at(-1)!.tag, "RunCompleted")

      // Stored: every event but the delta, numbered as they were sent live.
      const stuckSecond = yield* Effect.flatMap(follow(second.url, "stuck-1"), (reader) => reader.rest)
      assert.deepStrictEqual(stuckSecond, stuckFirst)
      assert.deepStrictEqual(stuckSecond, [...upToCall, ...liveRest].filter((sent) => sent.tag !== "TextDelta"))
      assertNumbered(stuckSecond, 0)
      // A reconnect after the delta resumes after the event before it, without the delta.
      const reconnected = yield* Effect.flatMap(follow(second.url, "stuck-1", delta!.id), (reader) => reader.rest)
      assert.deepStrictEqual(reconnected, liveRest.filter((sent) => sent.tag !== "TextDelta"))
      assert.strictEqual(reconnected.at(-1)!.tag, "RunCompleted")
    }), 120_000)
})

const step = (stepId: string) => new RunEvent.StepStarted({ runId: "run-pg", stepId, step: stepId, kind: "effect" })

;(Pg.missing.length > 0 && process.env["CI"] !== "true" ? describe.skip : describe)(
  `The durable runs' event log on PostgreSQL: two servers' logs on one database, each on its own connection${
    Pg.missing.length > 0 ? ` (skipped: ${Pg.missing.join(", ")} not set; .ci/run sets them)` : ""
  }`,
  () => {
    it.scopedLive("a reader of one log follows a run the other log writes, each event once and numbered in order, however often it is replayed and though both number events at once, until the run ends", () =>
      Effect.gen(function*() {
        const database = yield* Pg.make
        const ended = yield* Ref.make(false)
        const isEnded = () => Ref.get(ended)
        // Made at once: the table is created by both.
        const [here, there] = yield* Effect.all([
          DurableEvents.make(database.sql, isEnded),
          Effect.flatMap(Pg.client(database.name), (sql) => DurableEvents.make(sql, isEnded))
        ], { concurrency: 2 })
        // Follows from the start in the other log: what it reads is what it finds in the table.
        const reader = yield* Effect.fork(Stream.runCollect(there.read("run-pg", 0)))

        const first = DurableEvents.keys()
        const started = new RunEvent.RunStarted({ runId: "run-pg", agent: "A" })
        yield* here.record("run-pg", started, first(started))
        for (const id of ["a", "b"]) yield* here.record("run-pg", step(id), first(step(id)))
        yield* here.record("run-pg", new RunEvent.TextDelta({ runId: "run-pg", delta: "live only" }), undefined)
        // The run replayed by the other server (as after a takeover): its events are not stored again.
        const replay = DurableEvents.keys()
        for (const event of [started, step("a"), step("b")]) {
          yield* there.record("run-pg", event, replay(event))
        }
        // Both number events of the run at the same moment: none is lost, none numbered twice.
        yield* Effect.all(
          Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? here : there).record("run-pg", step(`c${i}`), `StepStarted c${i}`)),
          { concurrency: "unbounded" }
        )
        yield* Ref.set(ended, true)
        const read = Chunk.toReadonlyArray(yield* Fiber.join(reader))
        assert.deepStrictEqual(read.map(([seq]) => seq), Array.from({ length: 43 }, (_, i) => i + 1))
        const names = read.map(([, event]) => event._tag === "StepStarted" ? event.stepId : event._tag)
        assert.deepStrictEqual(names.slice(0, 3), ["RunStarted", "a", "b"])
        assert.deepStrictEqual(
          [...names.slice(3)].sort(),
          Array.from({ length: 40 }, (_, i) => `c${i}`).sort()
        )
        // From a cursor, in either process: the events after it.
        const after = yield* Stream.runCollect(here.read("run-pg", 40))
        assert.deepStrictEqual(Chunk.toReadonlyArray(after), read.slice(40))
      }), 60_000)
  }
)
