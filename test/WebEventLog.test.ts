/**
 * The event log of detached runs, which lets the web page (or any client) leave a run and read it
 * again from a cursor: the log itself (numbering, cursors, several readers, its bounds), and over
 * HTTP (a detached run outlives its client, `Last-Event-ID` and `?after=` resume it, shutdown and
 * cancel end it, ids in use and unknown ids are refused).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as EventLog from "../layers/internal/httpApp/eventLog.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Fixture from "./fixtures/web.js"

const delta = (n: number) => new RunEvent.TextDelta({ runId: "r", delta: String(n) })

const ids = (events: Chunk.Chunk<readonly [number, unknown]>) => Chunk.toReadonlyArray(Chunk.map(events, ([id]) => id))

describe("EventLog", () => {
  it.effect("numbers events from 1; a reader gets those after its cursor, then the rest as they come, until the end", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.makeLog
      yield* log.append(delta(1))
      yield* log.append(delta(2))
      const fromStart = yield* Effect.fork(Stream.runCollect(log.read(0)))
      const fromTwo = yield* Effect.fork(Stream.runCollect(log.read(2)))
      yield* Effect.yieldNow()
      yield* log.append(delta(3))
      yield* log.end
      // Nothing is taken after the end.
      yield* log.append(delta(4))
      const all = yield* Fiber.join(fromStart)
      assert.deepStrictEqual(ids(all), [1, 2, 3])
      assert.deepStrictEqual(Chunk.toReadonlyArray(Chunk.map(all, ([, event]) => (event as RunEvent.TextDelta).delta)), ["1", "2", "3"])
      assert.deepStrictEqual(ids(yield* Fiber.join(fromTwo)), [3])
      // A reader that comes after the end gets what is kept and stops.
      assert.deepStrictEqual(ids(yield* Stream.runCollect(log.read(1))), [2, 3])
      assert.deepStrictEqual(ids(yield* Stream.runCollect(log.read(3))), [])
    }))

  it.effect("keeps the last maxEvents events: an older cursor starts at the oldest kept", () =>
    Effect.gen(function*() {
      const log = yield* EventLog.makeLog
      const total = EventLog.maxEvents + 5
      for (let i = 1; i <= total; i++) yield* log.append(delta(i))
      yield* log.end
      const all = ids(yield* Stream.runCollect(log.read(0)))
      assert.strictEqual(all.length, EventLog.maxEvents)
      assert.strictEqual(all[0], 6)
      assert.strictEqual(all.at(-1), total)
      assert.deepStrictEqual(ids(yield* Stream.runCollect(log.read(total - 1))), [total])
    }))

  it.effect("keeps the logs of runs in flight, and of the keepFinished most recently finished runs", () =>
    Effect.gen(function*() {
      const logs = yield* EventLog.make
      const running = yield* EventLog.makeLog
      assert.isTrue(yield* logs.register("running", running))
      // An id whose run is in flight is refused; a finished run's id may be taken again.
      assert.isFalse(yield* logs.register("running", yield* EventLog.makeLog))
      for (let i = 0; i <= EventLog.keepFinished; i++) {
        const log = yield* EventLog.makeLog
        assert.isTrue(yield* logs.register(`done-${i}`, log))
        yield* logs.finished(`done-${i}`, log)
      }
      assert.isTrue(Option.isNone(yield* logs.get("done-0")))
      assert.isTrue(Option.isSome(yield* logs.get("done-1")))
      assert.isTrue(Option.isSome(yield* logs.get(`done-${EventLog.keepFinished}`)))
      assert.isTrue(Option.isSome(yield* logs.get("running")))
      const again = yield* EventLog.makeLog
      assert.isTrue(yield* logs.register("done-1", again))
      assert.strictEqual(Option.getOrThrow(yield* logs.get("done-1")), again)
      // A run that did not start leaves no log.
      yield* logs.remove("done-1", again)
      assert.isTrue(Option.isNone(yield* logs.get("done-1")))
    }))
})

interface Sse {
  readonly id: number
  readonly event: string
  readonly data: any
}

const parse = (text: string): ReadonlyArray<Sse> =>
  text.split("\n\n").filter((block) => block.length > 0).map((block) => {
    const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]))
    return { id: Number(fields.id), event: fields.event!, data: JSON.parse(fields.data!) }
  })

const startDetached = (url: string, agent: string, runId: string, signal?: AbortSignal) =>
  fetch(`${url}/agents/${agent}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ input: "Go", runId, stream: true, detach: true }),
    ...(signal === undefined ? {} : { signal })
  })

/** Reads a response until `count` whole events have come, then leaves. */
const readSome = async (response: Response, count: number, controller: AbortController) => {
  const reader = response.body!.getReader()
  let text = ""
  while (parse(text.slice(0, text.lastIndexOf("\n\n") + 2)).length < count) {
    const chunk = await reader.read()
    if (chunk.done) break
    text += new TextDecoder().decode(chunk.value)
  }
  controller.abort()
  return parse(text.slice(0, text.lastIndexOf("\n\n") + 2))
}

describe("detached runs over HTTP", () => {
  it.scopedLive("outlive their client, which reads the rest with Last-Event-ID or ?after=", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start()
      const controller = new AbortController()
      const first = yield* Effect.promise(async () =>
        readSome(await startDetached(app.url, "Storyteller", "story-1", controller.signal), 3, controller)
      )
      assert.deepStrictEqual(first.slice(0, 3).map((event) => event.id), [1, 2, 3])
      const rest = yield* Effect.promise(async () => {
        const response = await fetch(`${app.url}/runs/story-1/events`, { headers: { "last-event-id": "3" } })
        assert.strictEqual(response.status, 200)
        assert.include(response.headers.get("content-type") ?? "", "text/event-stream")
        return parse(await response.text())
      })
      assert.strictEqual(rest[0]!.id, 4)
      assert.deepStrictEqual(rest.map((event) => event.id), rest.map((_, i) => i + 4))
      assert.strictEqual(rest.at(-1)!.event, "RunCompleted")
      const text = [...first.slice(0, 3), ...rest].filter((event) => event.event === "TextDelta").map((event) => event.data.delta).join("")
      assert.strictEqual(text, Fixture.story.join(""))
      // Finished, the log is still there for a while: from a cursor in the query, or from the start.
      const after = yield* Effect.promise(async () => parse(await (await fetch(`${app.url}/runs/story-1/events?after=${rest.at(-2)!.id}`)).text()))
      assert.deepStrictEqual(after.map((event) => event.event), ["RunCompleted"])
      const all = yield* Effect.promise(async () => parse(await (await fetch(`${app.url}/runs/story-1/events`)).text()))
      assert.strictEqual(all.length, rest.at(-1)!.id)
    }))

  it.scopedLive("two readers of one run see the same events; cancelling the run ends both with RunCancelled", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start()
      const before = yield* app.waitInterrupted
      const owner = yield* Effect.promise(() => startDetached(app.url, "Waiter", "wait-1"))
      const other = yield* Effect.promise(() => fetch(`${app.url}/runs/wait-1/events`))
      const [a, b] = yield* Effect.promise(async () => {
        const texts = Promise.all([owner.text(), other.text()])
        // Cancelled once its tool runs.
        for (let i = 0; i < 500 && await Effect.runPromise(app.waitStarted) === 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        const cancel = await fetch(`${app.url}/runs/wait-1/cancel`, { method: "POST" })
        assert.strictEqual(cancel.status, 202)
        return texts
      })
      assert.deepStrictEqual(parse(a!), parse(b!))
      assert.deepInclude(parse(a!).at(-1), { event: "RunCancelled" })
      assert.strictEqual(parse(a!).at(-1)!.data.reason, "cancelled")
      assert.strictEqual(yield* app.waitInterrupted, before + 1)
    }))

  it.scopedLive("are cancelled at shutdown, their readers told why", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start()
      const response = yield* Effect.promise(() => startDetached(app.url, "Waiter", "wait-2"))
      const text = yield* Effect.fork(Effect.promise(() => response.text()))
      while ((yield* app.waitStarted) === 0) yield* Effect.sleep("10 millis")
      yield* app.close
      const events = parse(yield* Fiber.join(text))
      assert.deepInclude(events.at(-1), { event: "RunCancelled" })
      assert.strictEqual(events.at(-1)!.data.reason, "shutdown")
      assert.strictEqual(yield* app.waitInterrupted, 1)
    }))

  it.scopedLive("an id in use is refused with 409, an unknown one gets 404 saying why", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start()
      const running = yield* Effect.promise(() => startDetached(app.url, "Waiter", "wait-3"))
      const again = yield* Effect.promise(() => startDetached(app.url, "Writer", "wait-3"))
      assert.strictEqual(again.status, 409)
      const unknown = yield* Effect.promise(() => fetch(`${app.url}/runs/nobody/events`))
      assert.strictEqual(unknown.status, 404)
      assert.include(yield* Effect.promise(() => unknown.text()), "detach")
      yield* Effect.promise(() => fetch(`${app.url}/runs/wait-3/cancel`, { method: "POST" }))
      yield* Effect.promise(() => running.text())
    }))
})
