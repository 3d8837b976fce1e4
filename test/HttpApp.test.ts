import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Deferred from "effect/Deferred"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Batches from "../layers/internal/httpApp/batches.js"
import * as Events from "../layers/internal/httpApp/events.js"
import * as Runs from "../layers/internal/httpApp/runs.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Agent from "../src/Agent.js"
import * as Registry from "../src/Registry.js"
import * as RunEvent from "../src/RunEvent.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Fixture from "./fixtures/httpApp.js"

const token = Redacted.make("s3cret")

interface Raw {
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

/** A request without the typed client, to see exactly what goes over the wire. */
const raw = (
  url: string,
  path: string,
  init: { readonly method?: string; readonly body?: string; readonly headers?: Record<string, string> } = {}
): Effect.Effect<Raw> =>
  Effect.promise(async () => {
    const response = await fetch(`${url}${path}`, {
      method: init.method ?? "GET",
      headers: { authorization: "Bearer s3cret", "content-type": "application/json", ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body })
    })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

/**
 * A POST over node:http: `body` is sent with a content-length, `chunks` one write each with none
 * (chunked), and no header is added, so a test sees what a client that sends exactly this gets.
 */
const post = (
  url: string,
  path: string,
  init: {
    readonly body?: string
    readonly chunks?: ReadonlyArray<string>
    readonly headers?: Record<string, string>
  }
): Effect.Effect<Raw, Error> =>
  Effect.async<Raw, Error>((resume) => {
    const target = new URL(path, url)
    const request = Http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: "POST",
      agent: false,
      headers: {
        authorization: "Bearer s3cret",
        ...(init.body === undefined ? {} : { "content-length": String(Buffer.byteLength(init.body)) }),
        ...init.headers
      }
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => void (text += chunk))
      response.on("end", () =>
        resume(Effect.succeed({
          status: response.statusCode ?? 0,
          headers: new Headers(Object.entries(response.headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : []))),
          text
        })))
      response.on("error", (error) => resume(Effect.fail(error)))
    })
    request.on("error", (error) => resume(Effect.fail(error)))
    for (const chunk of init.chunks ?? []) request.write(chunk)
    request.end(init.body)
    return Effect.sync(() => request.destroy())
  })

/**
 * Raw HTTP/1.1 on one connection: writes `head` then `chunk` again and again (an endless chunked
 * body) while `more` says so, and collects what comes back until the server closes the connection.
 */
const rawConnection = (
  url: string,
  head: string,
  options: { readonly chunk?: string; readonly more?: (sent: number, received: string) => boolean } = {}
): Effect.Effect<{ readonly received: string; readonly sent: number }, Error> =>
  Effect.async((resume) => {
    const target = new URL(url)
    const socket = Net.connect({ host: target.hostname, port: Number(target.port) })
    let received = ""
    let sent = 0
    let done = false
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      resume(Effect.succeed({ received, sent }))
    }
    const pump = () => {
      const chunk = options.chunk
      while (!done && chunk !== undefined && (options.more?.(sent, received) ?? false)) {
        sent += chunk.length
        if (!socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) return void socket.once("drain", pump)
      }
      // Sent all it meant to: the body stops half-way, and the server sees the connection end.
      if (!done && chunk !== undefined) socket.end()
    }
    socket.setEncoding("utf8")
    socket.on("data", (data: string) => void (received += data))
    socket.on("end", finish)
    socket.on("close", finish)
    // A reset after the server closed is the end of the connection too.
    socket.on("error", finish)
    socket.on("connect", () => {
      socket.write(head)
      pump()
    })
    return Effect.sync(() => socket.destroy())
  })

/** JSON nested `depth` levels deep: arrays in an object, `{"input":[[...]]}`-like. */
const nested = (depth: number, key = "input") => `{"${key}":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`

/** The events of an SSE body. */
const sseEvents = (text: string) =>
  text.split("\n\n").filter((block) => block.trim().length > 0).map((block) => {
    const lines = block.split("\n")
    return {
      event: lines.find((line) => line.startsWith("event: "))?.slice(7),
      data: lines.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n")
    }
  })

const decodeEvent = Schema.decodeSync(Schema.parseJson(RunEvent.RunEvent))

/** Polls until `f` gives a value (real time, for the end-to-end suites). */
const eventually = <A, E>(f: Effect.Effect<Option.Option<A>, E>) =>
  f.pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.fail("not yet" as const), onSome: Effect.succeed })),
    Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250, while: (e) => e === "not yet" })
  )

describe("HttpApp", () => {
  it.scopedLive("health is open; everything else needs the token", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      assert.deepStrictEqual(yield* app.anonymous.health.health(), { status: "ok" })
      const missing = yield* Effect.flip(app.anonymous.agents.list())
      assert.strictEqual(missing._tag, "Unauthorized")
      const wrong = yield* raw(app.url, "/agents", { headers: { authorization: "Bearer nope" } })
      assert.strictEqual(wrong.status, 401)
      assert.deepInclude(JSON.parse(wrong.text), { _tag: "Unauthorized", message: "The bearer token is not valid." })
      const none = yield* raw(app.url, "/runs", { headers: { authorization: "" } })
      assert.strictEqual(none.status, 401)
      assert.strictEqual((yield* raw(app.url, "/health", { headers: { authorization: "" } })).status, 200)
      // The OpenAI-compatible endpoint refuses in OpenAI's error shape, as its clients read it.
      const openAi = yield* raw(app.url, "/v1/chat/completions", {
        method: "POST",
        headers: { authorization: "Bearer nope", "content-type": "application/json" },
        body: JSON.stringify({ model: "Echo", messages: [{ role: "user", content: "hi" }] })
      })
      assert.strictEqual(openAi.status, 401)
      assert.deepStrictEqual(JSON.parse(openAi.text), {
        error: { message: "The bearer token is not valid.", type: "invalid_request_error", param: null, code: "invalid_api_key" }
      })
    }))

  it.scopedLive("without a token configured the app is open", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start()
      assert.strictEqual((yield* app.anonymous.agents.list()).length, 5)
    }))

  it.scopedLive("lists agents and teams, and finds one by name", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const agents = yield* app.client.agents.list()
      assert.deepStrictEqual(agents.map((agent) => [agent.name, agent.kind]), [
        ["Echo", "agent"],
        ["Picky", "agent"],
        ["Stuck", "agent"],
        ["Slow", "agent"],
        ["Desk", "team"]
      ])
      assert.deepStrictEqual(yield* app.client.agents.get({ path: { name: "Desk" } }), {
        name: "Desk",
        kind: "team",
        members: ["Echo"]
      })
      const missing = yield* Effect.flip(app.client.agents.get({ path: { name: "Nobody" } }))
      assert.strictEqual(missing._tag, "AgentNotFound")
    }))

  it.scopedLive("runs an agent as JSON, in a session, and reads the session's runs", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const output = yield* app.client.runs.run({
        path: { name: "Echo" },
        payload: { input: "hello", sessionId: "s1", userId: "ada", runId: "run-1" }
      })
      assert.strictEqual(output.text, "You said: hello")
      assert.strictEqual(output.runId, "run-1")
      const team = yield* app.client.runs.run({ path: { name: "Desk" }, payload: { input: "hi" } })
      assert.strictEqual(team.agent, "Desk")
      // A team's answer keeps its team fields: the member runs, the leader's and each member's metrics.
      assert.isTrue("memberRuns" in team, "a team run answers with its member runs")
      if ("memberRuns" in team) {
        assert.deepStrictEqual(team.memberRuns.map((run) => [run._tag, run.member]), [["Completed", "Echo"]])
        assert.deepStrictEqual(Object.keys(team.memberMetrics), ["Echo"])
        assert.isAbove(team.leaderMetrics.totalTokens, 0)
      }
      const runs = yield* app.client.sessions.runs({ path: { userId: "ada", sessionId: "s1" } })
      assert.deepStrictEqual(runs.map((run) => [run.runId, run.status, run.agent]), [["run-1", "completed", "Echo"]])
      const sessions = yield* app.client.sessions.list({ path: { userId: "ada" } })
      assert.deepStrictEqual(sessions.map((s) => [s.sessionId, s.runs]), [["s1", 1]])
      const notFound = yield* Effect.flip(app.client.sessions.runs({ path: { userId: "bob", sessionId: "s1" } }))
      assert.strictEqual(notFound._tag, "SessionNotFound")
      const header = yield* raw(app.url, "/agents/Echo/runs", { method: "POST", body: JSON.stringify({ input: "x", runId: "abc" }) })
      assert.strictEqual(header.headers.get("x-run-id"), "abc")
    }))

  it.scopedLive("a failed run is a typed error", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const error = yield* Effect.flip(app.client.runs.run({ path: { name: "Picky" }, payload: { input: "please fail" } }))
      assert.strictEqual(error._tag, "RunError")
      if (error._tag === "RunError") {
        assert.strictEqual(error.error._tag, "ModelError")
      }
      const response = yield* raw(app.url, "/agents/Picky/runs", { method: "POST", body: JSON.stringify({ input: "fail" }) })
      assert.strictEqual(response.status, 500)
      assert.notInclude(response.text, "    at ")
    }))

  it.scopedLive("streams a run as SSE, one RunEvent per event, ending with RunCompleted", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const response = yield* raw(app.url, "/agents/Echo/runs", {
        method: "POST",
        body: JSON.stringify({ input: "stream me" }),
        headers: { accept: "text/event-stream" }
      })
      assert.strictEqual(response.status, 200)
      assert.include(response.headers.get("content-type") ?? "", "text/event-stream")
      const events = sseEvents(response.text).map(({ data, event }) => {
        const decoded = decodeEvent(data)
        assert.strictEqual(event, decoded._tag)
        return decoded
      })
      assert.strictEqual(events[0]!._tag, "RunStarted")
      assert.strictEqual(response.headers.get("x-run-id"), events[0]!.runId)
      const last = events[events.length - 1]!
      assert.strictEqual(last._tag, "RunCompleted")
      if (last._tag === "RunCompleted") assert.strictEqual(last.output.text, "You said: stream me")
      assert.deepStrictEqual(
        events.flatMap((event) => (event._tag === "TextDelta" ? [event.delta] : [])).join(""),
        "You said: stream me"
      )
      // The typed client reads the same stream.
      const viaClient = yield* Stream.runCollect(app.client.stream("Picky", { input: "do fail" }))
      const tags = Chunk.toReadonlyArray(viaClient).map((event) => event._tag)
      assert.strictEqual(tags[0], "RunStarted")
      assert.strictEqual(tags[tags.length - 1], "RunFailed")
      const unknown = yield* Effect.flip(Stream.runDrain(app.client.stream("Nobody", { input: "x" })))
      assert.strictEqual(unknown._tag, "AgentNotFound")
    }))

  it.scopedLive("bad input: 400 with the schema's message, 404 unknown agent, 413 oversized body", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token, maxBodyBytes: 2000 })
      const wrongType = yield* raw(app.url, "/agents/Echo/runs", { method: "POST", body: JSON.stringify({ input: 42 }) })
      assert.strictEqual(wrongType.status, 400)
      const body = JSON.parse(wrongType.text)
      assert.strictEqual(body._tag, "HttpApiDecodeError")
      assert.include(body.message, "input")
      const empty = yield* raw(app.url, "/agents/Echo/runs", { method: "POST", body: JSON.stringify({ input: "" }) })
      assert.strictEqual(empty.status, 400)
      const notJson = yield* raw(app.url, "/agents/Echo/runs", { method: "POST", body: "{not json" })
      assert.strictEqual(notJson.status, 400)
      assert.include(JSON.parse(notJson.text).message, "JSON")
      const unknown = yield* raw(app.url, "/agents/Nobody/runs", { method: "POST", body: JSON.stringify({ input: "x" }) })
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(JSON.parse(unknown.text)._tag, "AgentNotFound")
      const big = yield* raw(app.url, "/agents/Echo/runs", { method: "POST", body: JSON.stringify({ input: "x".repeat(5000) }) })
      assert.strictEqual(big.status, 413)
      assert.deepInclude(JSON.parse(big.text), { _tag: "PayloadTooLarge", maxBytes: 2000 })
      const route = yield* raw(app.url, "/nowhere")
      assert.strictEqual(route.status, 404)
      // The typed client sees the 413 as a typed error too.
      const typed = yield* Effect.flip(app.client.runs.run({ path: { name: "Echo" }, payload: { input: "y".repeat(5000) } }))
      assert.strictEqual(typed._tag, "PayloadTooLarge")
    }))

  it.scopedLive("a chunked body over maxBodyBytes gets the same 413 as one with a content-length", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token, maxBodyBytes: 2000 })
      const json = { "content-type": "application/json" }
      const withLength = yield* post(app.url, "/agents/Echo/runs", { body: JSON.stringify({ input: "x".repeat(5000) }), headers: json })
      assert.strictEqual(withLength.status, 413)
      // Small writes, one write over the limit, and a body far over it that is still being sent.
      for (const chunks of [
        ["{\"input\":\"", ...Array.from({ length: 10 }, () => "x".repeat(500)), "\"}"],
        ["{\"input\":\"" + "x".repeat(3000) + "\"}"],
        ["{\"input\":\"", ...Array.from({ length: 64 }, () => "x".repeat(64 * 1024)), "\"}"]
      ]) {
        const chunked = yield* post(app.url, "/agents/Echo/runs", { chunks, headers: json })
        assert.strictEqual(chunked.status, 413)
        assert.deepStrictEqual(JSON.parse(chunked.text), JSON.parse(withLength.text))
        assert.deepInclude(JSON.parse(chunked.text), { _tag: "PayloadTooLarge", maxBytes: 2000 })
      }
      // A chunked body under the limit is read and run as any other.
      const small = yield* post(app.url, "/agents/Echo/runs", { chunks: ["{\"input\":", "\"in chunks\"}"], headers: json })
      assert.strictEqual(small.status, 200)
      assert.strictEqual(JSON.parse(small.text).text, "You said: in chunks")
      const streamed = yield* post(app.url, "/agents/Echo/runs", {
        chunks: ["{\"input\":\"streamed\",", "\"stream\":true}"],
        headers: json
      })
      assert.strictEqual(sseEvents(streamed.text).at(-1)?.event, "RunCompleted")
      const bad = yield* post(app.url, "/agents/Echo/runs", { chunks: ["{\"input\":", "42}"], headers: json })
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(JSON.parse(bad.text)._tag, "HttpApiDecodeError")
    }))

  it.scopedLive("after the 413 of a chunked body the rest is read and thrown away, up to a bound", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token, maxBodyBytes: 2000 })
      const chunkedHead = "POST /agents/Echo/runs HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer s3cret\r\n" +
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
      const over = `{"input":"${"x".repeat(5000)}"}`
      const next = JSON.stringify({ input: "on the same connection" })
      // The whole body is sent, then a second request on the same connection: both are answered,
      // so the connection was not closed with the body half read (which resets it).
      const kept = yield* rawConnection(
        app.url,
        chunkedHead + `${over.length.toString(16)}\r\n${over}\r\n0\r\n\r\n` +
          "POST /agents/Echo/runs HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer s3cret\r\n" +
          `Content-Type: application/json\r\nContent-Length: ${next.length}\r\nConnection: close\r\n\r\n${next}`
      )
      assert.match(kept.received, /^HTTP\/1\.1 413 /)
      assert.include(kept.received, "\"_tag\":\"PayloadTooLarge\"")
      assert.include(kept.received, "HTTP/1.1 200 OK")
      assert.include(kept.received, "You said: on the same connection")
      // A body that never ends is read on only so far: then the connection is closed.
      const bound = 64 * 1024 * 1024
      const endless = yield* rawConnection(app.url, chunkedHead, {
        chunk: "x".repeat(64 * 1024),
        more: (sent) => sent < bound
      })
      assert.match(endless.received, /^HTTP\/1\.1 413 /)
      assert.isBelow(endless.sent, bound)
    }))

  it.scopedLive("JSON nested 10,000 levels deep gets 400 with a message, never a stack overflow", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const json = { "content-type": "application/json" }
      for (const [path, body] of [
        ["/agents/Echo/runs", nested(10_000)],
        ["/agents/Echo/runs", nested(10_000, "sessionId")],
        // A field the schema does not know is nested too deep just the same.
        ["/agents/Echo/runs", `{"input":"hi","extra":${nested(10_000)}}`],
        ["/v1/chat/completions", `{"model":"Echo","messages":${nested(10_000)}}`],
        ["/batches", `{"agent":"Echo","inputs":${nested(10_000)}}`]
      ] as const) {
        for (const sent of [{ body }, { chunks: [body] }]) {
          const response = yield* post(app.url, path, { ...sent, headers: json })
          assert.strictEqual(response.status, 400, response.text)
          const error = JSON.parse(response.text)
          assert.strictEqual(error._tag, "HttpApiDecodeError")
          assert.include(error.message, "more than 128 levels deep")
        }
      }
      // At the limit the schema answers as usual; brackets inside strings are text, not nesting.
      const atLimit = yield* post(app.url, "/agents/Echo/runs", { body: nested(128), headers: json })
      assert.strictEqual(atLimit.status, 400)
      assert.include(JSON.parse(atLimit.text).message, "input")
      const inString = yield* post(app.url, "/agents/Echo/runs", {
        body: JSON.stringify({ input: "[{".repeat(5000) + "\\\"" }),
        headers: json
      })
      assert.strictEqual(inString.status, 200, inString.text)
      assert.strictEqual(JSON.parse(inString.text).text, `You said: ${"[{".repeat(5000)}\\"`)
    }))

  it.scopedLive("a body not sent as JSON gets 415 saying to send content-type: application/json", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const body = JSON.stringify({ input: "hi" })
      for (const contentType of ["application/x-www-form-urlencoded", "text/plain;charset=UTF-8", "application/octet-stream"]) {
        const response = yield* post(app.url, "/agents/Echo/runs", { body, headers: { "content-type": contentType } })
        assert.strictEqual(response.status, 415)
        assert.deepStrictEqual(JSON.parse(response.text), {
          _tag: "UnsupportedMediaType",
          contentType,
          message: `The request body must be JSON, sent with content-type: application/json (it was sent as ${contentType}).`
        })
      }
      // JSON with parameters, and a body with no content-type at all, are read as JSON.
      for (const headers of [{ "content-type": "application/json; charset=utf-8" }, {}]) {
        const response = yield* post(app.url, "/agents/Echo/runs", { body, headers })
        assert.strictEqual(response.status, 200, response.text)
        assert.strictEqual(JSON.parse(response.text).text, "You said: hi")
      }
      // A request without a body is not asked for a media type.
      const cancel = yield* post(app.url, "/runs/nothing/cancel", { body: "", headers: { "content-type": "text/plain" } })
      assert.strictEqual(cancel.status, 404)
      // The OpenAPI document lists the 415.
      const spec = JSON.parse((yield* raw(app.url, "/openapi.json")).text)
      assert.property(spec.paths["/agents/{name}/runs"].post.responses, "415")
    }))

  it.scopedLive("a client that disconnects mid-stream cancels its run, recorded as cancelled", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      // Read the first two events (the run started, the model was called), then stop reading.
      const events = yield* Stream.runCollect(
        app.client.stream("Stuck", { input: "wait forever", sessionId: "s", userId: "u" }).pipe(Stream.take(2))
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(events).map((e) => e._tag), ["RunStarted", "ModelRequestStarted"])
      yield* eventually(Effect.map(Ref.get(app.stuckInterrupted), (n) => (n === 1 ? Option.some(n) : Option.none())))
      const runs = yield* eventually(
        Effect.map(app.client.sessions.runs({ path: { userId: "u", sessionId: "s" } }).pipe(Effect.option), (found) => found)
      )
      assert.deepStrictEqual(runs.map((run) => run.status), ["cancelled"])
      assert.deepStrictEqual(yield* app.client.runs.list(), [])
    }))

  it.scopedLive("cancels a run by id", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const fiber = yield* Effect.fork(app.client.runs.run({ path: { name: "Stuck" }, payload: { input: "x", runId: "r1" } }))
      yield* eventually(Effect.map(app.client.runs.list(), (runs) => (runs.length > 0 ? Option.some(runs) : Option.none())))
      const taken = yield* Effect.flip(app.client.runs.run({ path: { name: "Echo" }, payload: { input: "x", runId: "r1" } }))
      assert.strictEqual(taken._tag, "RunIdInUse")
      const info = yield* app.client.runs.cancel({ path: { runId: "r1" } })
      assert.deepInclude(info, { runId: "r1", agent: "Stuck" })
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(fiber)
      assert.deepInclude(error, { _tag: "RunCancelled", runId: "r1", reason: "cancelled" })
      assert.strictEqual(yield* Ref.get(app.stuckInterrupted), 1)
      const again = yield* Effect.flip(app.client.runs.cancel({ path: { runId: "r1" } }))
      assert.strictEqual(again._tag, "RunNotFound")
    }))

  it.scopedLive("a batch runs in the background, with partial failure, results while running, and cancel", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const submitted = yield* app.client.batches.submit({
        payload: { agent: "Picky", inputs: ["one", "please fail", "three"], concurrency: 2 }
      })
      assert.strictEqual(submitted.counts.total, 3)
      const done = yield* eventually(
        Effect.map(app.client.batches.get({ path: { batchId: submitted.batchId } }), (batch) =>
          batch.status === "running" ? Option.none() : Option.some(batch))
      )
      assert.strictEqual(done.status, "completed")
      assert.deepInclude(done.counts, { total: 3, completed: 2, failed: 1, pending: 0, running: 0 })
      assert.deepStrictEqual(done.items.map((item) => item.status), ["completed", "failed", "completed"])
      assert.strictEqual(done.items[0]!.output?.text, "ok: one")
      assert.strictEqual(done.items[1]!.error?._tag, "ModelError")
      // A batch that cannot finish: one input runs, the others wait; cancel it.
      const stuck = yield* app.client.batches.submit({ payload: { agent: "Stuck", inputs: ["a", "b", "c"], concurrency: 1 } })
      const running = yield* eventually(
        Effect.map(app.client.batches.get({ path: { batchId: stuck.batchId } }), (batch) =>
          batch.counts.running === 1 ? Option.some(batch) : Option.none())
      )
      assert.deepInclude(running.counts, { running: 1, pending: 2 })
      assert.strictEqual(running.status, "running")
      yield* app.client.batches.cancel({ path: { batchId: stuck.batchId } })
      const cancelled = yield* eventually(
        Effect.map(app.client.batches.get({ path: { batchId: stuck.batchId } }), (batch) =>
          batch.status === "running" ? Option.none() : Option.some(batch))
      )
      assert.strictEqual(cancelled.status, "cancelled")
      assert.deepStrictEqual(cancelled.items.map((item) => item.status), ["cancelled", "cancelled", "cancelled"])
      assert.strictEqual(yield* Ref.get(app.stuckInterrupted), 1)
      assert.strictEqual((yield* app.client.batches.list()).length, 2)
      const missing = yield* Effect.flip(app.client.batches.get({ path: { batchId: "nope" } }))
      assert.strictEqual(missing._tag, "BatchNotFound")
      // The inputs can be any array a program built (at least one; an empty one is a 400).
      const built: Array<string> = ["x"]
      const unknown = yield* Effect.flip(app.client.batches.submit({ payload: { agent: "Nobody", inputs: built } }))
      const empty = yield* raw(app.url, "/batches", { method: "POST", body: JSON.stringify({ agent: "Echo", inputs: [] }) })
      assert.strictEqual(empty.status, 400)
      assert.strictEqual(unknown._tag, "AgentNotFound")
    }))

  it.scopedLive("OpenAI chat completions, JSON and streamed", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const json = yield* raw(app.url, "/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ model: "Echo", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi there" }] })
      })
      assert.strictEqual(json.status, 200)
      const completion = JSON.parse(json.text)
      assert.strictEqual(completion.object, "chat.completion")
      assert.strictEqual(completion.model, "Echo")
      assert.deepStrictEqual(completion.choices[0].message, { role: "assistant", content: "You said: hi there" })
      assert.strictEqual(completion.choices[0].finish_reason, "stop")
      assert.isAbove(completion.usage.total_tokens, 0)
      const streamed = yield* raw(app.url, "/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ model: "Echo", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "go" }] })
      })
      const data = sseEvents(streamed.text).map((event) => event.data)
      assert.strictEqual(data[data.length - 1], "[DONE]")
      const chunks = data.slice(0, -1).map((d) => JSON.parse(d))
      assert.isTrue(chunks.every((chunk) => chunk.object === "chat.completion.chunk"))
      assert.strictEqual(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join(""), "You said: go")
      assert.strictEqual(chunks[chunks.length - 2].choices[0].finish_reason, "stop")
      assert.isAbove(chunks[chunks.length - 1].usage.total_tokens, 0)
      const missing = yield* raw(app.url, "/v1/chat/completions", {
        method: "POST",
        body: JSON.stringify({ model: "gpt-nobody", messages: [{ role: "user", content: "x" }] })
      })
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(JSON.parse(missing.text).error.code, "model_not_found")
    }))

  it.scopedLive("an agent whose model is another agent served over HTTP (our OpenAI-compatible client)", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const remote = (stream: boolean) =>
        Agent.make({ name: "Front", model: OpenAiCompatible.layer({ baseUrl: `${app.url}/v1`, model: stream ? "Echo" : "Picky", apiKey: token }) })
      const streamed = yield* Agent.run(remote(true), "over the wire")
      assert.strictEqual(streamed.text, "You said: over the wire")
      const failing = yield* Effect.flip(Agent.run(remote(false), "please fail"))
      assert.strictEqual(failing._tag, "ModelError")
      const unauthorized = yield* Effect.flip(
        Agent.run(Agent.make({ model: OpenAiCompatible.layer({ baseUrl: `${app.url}/v1`, model: "Echo", apiKey: Redacted.make("bad") }) }), "x")
      )
      assert.deepInclude(unauthorized, { _tag: "ModelError", status: 401 })
    }))

  it.scopedLive("serves its OpenAPI document and Swagger page from the same definition", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token })
      const spec = JSON.parse((yield* raw(app.url, "/openapi.json")).text)
      assert.strictEqual(spec.info.title, "effect-agents")
      for (const path of ["/health", "/agents", "/agents/{name}/runs", "/runs/{runId}/cancel", "/batches", "/v1/chat/completions"]) {
        assert.property(spec.paths, path)
      }
      assert.property(spec.components.securitySchemes, "bearer")
      const docs = yield* raw(app.url, "/docs")
      assert.strictEqual(docs.status, 200)
      assert.include(docs.text, "swagger-ui")
    }))

  it.scopedLive("shuts down gracefully: runs in flight finish within the grace period, the rest are cancelled", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token, shutdownGrace: "3 seconds" })
      const slow = yield* Effect.fork(app.client.runs.run({ path: { name: "Slow" }, payload: { input: "finish me" } }))
      yield* eventually(Effect.map(app.client.runs.list(), (runs) => (runs.length === 1 ? Option.some(runs) : Option.none())))
      yield* app.close
      const output = yield* Fiber.join(slow)
      assert.strictEqual(output.text, "slowly: finish me")
      // New connections are refused once it has stopped.
      const after = yield* Effect.either(Effect.tryPromise(() => fetch(`${app.url}/health`)))
      assert.isTrue(Either.isLeft(after))
    }))

  it.scopedLive("shuts down gracefully: a run past the grace period is cancelled with reason shutdown", () =>
    Effect.gen(function*() {
      const app = yield* Fixture.start({ token, shutdownGrace: "200 millis" })
      const stuck = yield* Effect.fork(app.client.runs.run({ path: { name: "Stuck" }, payload: { input: "x" } }))
      const streamed = yield* Effect.fork(Stream.runCollect(app.client.stream("Stuck", { input: "y" })))
      yield* eventually(Effect.map(app.client.runs.list(), (runs) => (runs.length === 2 ? Option.some(runs) : Option.none())))
      const [elapsed] = yield* Effect.timed(app.close)
      assert.isAtLeast(Duration.toMillis(elapsed), 150)
      const error = yield* Effect.flip(Fiber.join(stuck))
      assert.deepInclude(error, { _tag: "RunCancelled", reason: "shutdown" })
      const events = Chunk.toReadonlyArray(yield* Fiber.join(streamed))
      assert.deepInclude(events[events.length - 1], { _tag: "RunCancelled", reason: "shutdown" })
      assert.strictEqual(yield* Ref.get(app.stuckInterrupted), 2)
    }))
})

describe("HttpApp internals", () => {
  it.scoped("runs get their grace period at shutdown, then are interrupted (TestClock)", () =>
    Effect.gen(function*() {
      const runs = yield* Runs.make
      const slow = yield* runs.start("slow", "A", Effect.as(Effect.sleep("5 seconds"), "done"))
      const stuck = yield* runs.start("stuck", "A", Effect.never)
      const shutdown = yield* Effect.fork(runs.shutdown("10 seconds"))
      yield* TestClock.adjust("5 seconds")
      assert.deepStrictEqual(yield* slow.await, Exit.succeed("done"))
      assert.strictEqual(yield* runs.size, 1)
      const refused = yield* Effect.flip(runs.start("late", "A", Effect.void))
      assert.strictEqual(refused._tag, "ShuttingDown")
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(yield* runs.size, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(shutdown)
      const exit = yield* stuck.await
      assert.isTrue(Exit.isInterrupted(exit))
      assert.strictEqual(yield* stuck.reason, "shutdown")
    }))

  it.scoped("a run's event stream never read (its client left before the response began) is cancelled with the request's scope", () =>
    Effect.gen(function*() {
      const called = yield* Deferred.make<void>()
      const interrupted = yield* Ref.make(0)
      const waiting = Agent.make({
        name: "Waiting",
        model: TestModel.layer(() =>
          Effect.zipRight(
            Deferred.succeed(called, undefined),
            Effect.never.pipe(Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1)))
          )
        )
      })
      const context = yield* Layer.build(Registry.layer([waiting]).pipe(Layer.provideMerge(SessionStoreMemory.layer)))
      const entry = Option.getOrThrow(Context.get(context, Registry.Registry).get("Waiting"))
      const runs = yield* Runs.make
      const request = yield* Scope.make()
      yield* Events.start(runs, entry, "hello", { runId: "r", sessionId: "s", userId: "u" }).pipe(Scope.extend(request))
      yield* Deferred.await(called)
      assert.strictEqual(yield* runs.size, 1)
      yield* Scope.close(request, Exit.void)
      assert.strictEqual(yield* runs.size, 0)
      assert.strictEqual(yield* Ref.get(interrupted), 1)
      const records = yield* Context.get(context, SessionStore.SessionStore).load({ userId: "u", sessionId: "s" })
      assert.deepStrictEqual(records.map((record) => record.status), ["cancelled"])
    }))

  it.effect("a run's handle cancels that run only, never a later one with its id", () =>
    Effect.scoped(Effect.gen(function*() {
      const runs = yield* Runs.make
      const first = yield* runs.start("same", "A", Effect.succeed("done"))
      assert.deepStrictEqual(yield* first.await, Exit.succeed("done"))
      const second = yield* runs.start("same", "A", Effect.never)
      yield* first.cancel("disconnected")
      assert.deepStrictEqual((yield* runs.list).map((info) => info.runId), ["same"])
      yield* second.cancel("cancelled")
      assert.isTrue(Exit.isInterrupted(yield* second.await))
      assert.strictEqual(yield* second.reason, "cancelled")
      assert.strictEqual(yield* runs.size, 0)
    })))

  it.scopedLive("a batch running at shutdown is recorded as interrupted, never lost", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const registry = yield* Effect.provide(
        Registry.Registry,
        Registry.layer(Fixture.makeAgents(interrupted)).pipe(Layer.provide(SessionStoreMemory.layer))
      )
      const runs = yield* Runs.make
      const batches = yield* Batches.make(runs)
      const entry = Option.getOrThrow(registry.get("Stuck"))
      const batch = yield* batches.submit(entry, { agent: "Stuck", inputs: ["a", "b", "c"], concurrency: 2 }, (i) => i as string)
      yield* eventually(Effect.map(batches.get(batch.batchId), (b) => (b.counts.running === 2 ? Option.some(b) : Option.none())))
      yield* runs.shutdown("50 millis")
      yield* batches.shutdown
      const after = yield* eventually(Effect.map(batches.get(batch.batchId), (b) => (b.status === "running" ? Option.none() : Option.some(b))))
      assert.strictEqual(after.status, "interrupted")
      assert.deepStrictEqual(after.items.map((item) => item.status), ["interrupted", "interrupted", "interrupted"])
      assert.isDefined(after.finishedAt)
      assert.strictEqual(yield* Ref.get(interrupted), 2)
    }))
})

