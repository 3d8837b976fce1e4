/**
 * Clients that leave and shutdowns that come at any moment, against the HTTP app serving an agent
 * whose model is a real provider layer talking to the LLM simulator on loopback: before the model's
 * headers, after its headers before its body, in the middle of its stream. The server stays up,
 * other runs are untouched, every run is recorded, and no model connection is left open. Bounded
 * and local; no timing is asserted.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as HttpApp from "../layers/HttpApp.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"
import * as Simulator from "../layers/Simulator.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"

// -----------------------------------------------------------------------------
// Nothing may escape: errors raised outside any fiber are recorded and must stay none
// -----------------------------------------------------------------------------

const escaped: Array<string> = []
const onUncaught = (error: unknown) => void escaped.push(`uncaughtException: ${String(error)}`)
const onUnhandled = (reason: unknown) => void escaped.push(`unhandledRejection: ${String(reason)}`)

beforeAll(() => {
  process.on("uncaughtException", onUncaught)
  process.on("unhandledRejection", onUnhandled)
})

afterAll(() => {
  process.off("uncaughtException", onUncaught)
  process.off("unhandledRejection", onUnhandled)
  assert.deepStrictEqual(escaped, [])
})

// -----------------------------------------------------------------------------
// The model, by phase: what the simulator does with a request says where its client leaves
// -----------------------------------------------------------------------------

/** Where an abandoning client leaves its run. */
type Phase = "before-headers" | "before-body" | "mid-stream" | "any-moment"

const phases: ReadonlyArray<Phase> = ["before-headers", "before-body", "mid-stream", "any-moment"]

/**
 * The reply for a user message `<kind> <id>`:
 * - `before-headers` and `any-moment`: no byte for a minute (the client leaves long before);
 * - `before-body`: the status line and headers at once, then not one byte of the body;
 * - `mid-stream`: a long answer in many slow chunks (a streamed call), or half the body and then
 *   nothing (a JSON call: its body is one piece);
 * - `answer`: a short answer in a few chunks, for the clients that stay.
 */
const replyFor = (kind: string, id: string, stream: boolean): Simulator.Reply => {
  switch (kind) {
    case "before-headers":
    case "any-moment":
      return Simulator.text("never sent", { delay: "60 seconds" })
    case "before-body":
      return Simulator.stall({ before: "body" })
    case "mid-stream":
      return stream
        ? Simulator.text("word ".repeat(200), { chunks: 200, chunkDelay: "50 millis" })
        : Simulator.stall({ after: 1 })
    default:
      return Simulator.text(`The answer to ${id}.`, { chunks: 4, delay: "20 millis", chunkDelay: "5 millis" })
  }
}

/** The model requests that reached the simulator, by client id. */
const makeArrivals = Effect.sync(() => new Map<string, Deferred.Deferred<void>>())

const makeSimulator = (arrivals: Map<string, Deferred.Deferred<void>>) =>
  Simulator.make({
    recordLimit: 0,
    script: (request) => {
      const [kind = "", id = ""] = request.lastUserText.split(" ")
      const arrived = arrivals.get(id)
      const reply = replyFor(kind, id, request.stream)
      return arrived === undefined ? Effect.succeed(reply) : Effect.as(Deferred.succeed(arrived, undefined), reply)
    }
  })

// -----------------------------------------------------------------------------
// Clients over node:http, each on a connection of its own, that can leave at any moment
// -----------------------------------------------------------------------------

interface Sent {
  readonly status: number
  readonly text: string
}

/**
 * POSTs `body` as JSON and reads the whole answer; with `leave`, destroys the connection (the
 * client is gone) once `leave` completes or once `leaveWhen` says so of what was read so far.
 * Resolves with `undefined` when the client left.
 */
const send = (
  url: string,
  path: string,
  body: unknown,
  options: {
    readonly leave?: Effect.Effect<void> | undefined
    readonly leaveWhen?: ((received: string) => boolean) | undefined
  } = {}
): Effect.Effect<Sent | undefined, Error> =>
  Effect.async<Sent | undefined, Error>((resume) => {
    const target = new URL(path, url)
    const json = JSON.stringify(body)
    let left = false
    const request = Http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(json)) }
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        text += chunk
        if (options.leaveWhen?.(text) === true) leave()
      })
      response.on("end", () => {
        if (!left) resume(Effect.succeed({ status: response.statusCode ?? 0, text }))
      })
      response.on("error", (error) => {
        if (!left) resume(Effect.fail(error))
      })
    })
    const leave = () => {
      if (left) return
      left = true
      request.destroy()
      resume(Effect.succeed(undefined))
    }
    request.on("error", (error) => {
      if (!left) resume(Effect.fail(error))
    })
    request.end(json)
    const leaving = options.leave === undefined ? undefined : Effect.runFork(Effect.andThen(options.leave, Effect.sync(leave)))
    return Effect.zipRight(Effect.sync(() => request.destroy()), leaving === undefined ? Effect.void : Fiber.interrupt(leaving))
  })

/** The events of an SSE body, by name and decoded data. */
const sseEvents = (text: string): ReadonlyArray<{ readonly event: string; readonly data: any }> =>
  text.split("\n\n").filter((block) => block.includes("event: ")).map((block) => {
    const lines = block.split("\n")
    return {
      event: lines.find((line) => line.startsWith("event: "))!.slice(7),
      data: JSON.parse(lines.find((line) => line.startsWith("data: "))!.slice(6))
    }
  })

/** Polls until `f` gives a value (real time, bounded). */
const eventually = <A, E>(f: Effect.Effect<Option.Option<A>, E>) =>
  f.pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.fail("not yet" as const), onSome: Effect.succeed })),
    Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500, while: (e) => e === "not yet" })
  )

/** The statuses of the runs recorded in a session (none when the session was never started). */
const recorded = (store: SessionStore.Service, sessionId: string) =>
  store.load({ userId: "u", sessionId }).pipe(
    Effect.map((runs) => runs.map((run) => run.status)),
    Effect.catchTag("SessionNotFound", () => Effect.succeed([] as ReadonlyArray<string>))
  )

// -----------------------------------------------------------------------------
// In process: 1,000 clients that leave, with runs of other clients going on around them
// -----------------------------------------------------------------------------

const leavers = 1000
const stayers = 100

describe("HttpApp: clients that leave", () => {
  it.scopedLive(`${leavers} clients leaving at every phase, SSE and JSON: the server, other runs and the records are intact`, () =>
    Effect.gen(function*() {
      const arrivals = yield* makeArrivals
      const simulator = yield* makeSimulator(arrivals)
      const agent = Agent.make({
        name: "Remote",
        model: OpenAiCompatible.layer({ baseUrl: simulator.openAiUrl, model: "sim" })
      })
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([agent])),
          Layer.provideMerge(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const store = Context.get(context, SessionStore.SessionStore)
      const client = yield* HttpApi.client(url).pipe(Effect.provide(FetchHttpClient.layer))

      /**
       * A client that leaves its run at `phase`, streamed or not, of the run endpoint (in a session)
       * or of the OpenAI Chat Completions endpoint (one in five rounds); with the signal of its
       * model request reaching the model.
       */
      const leaver = (i: number) =>
        Effect.gen(function*() {
          const phase = phases[i % phases.length]!
          const stream = Math.floor(i / phases.length) % 2 === 0
          const openAi = Math.floor(i / (phases.length * 2)) % 5 === 4
          const id = `c${i}`
          const arrived = yield* Deferred.make<void>()
          arrivals.set(id, arrived)
          const leave = phase === "any-moment"
            // From before the request is read to while the model is waited for.
            ? Effect.sleep(Duration.millis(i % 25))
            : phase === "mid-stream" && stream
            ? undefined
            : phase === "before-body"
            // Its headers are sent as the request arrives; a moment for them to cross.
            ? Effect.zipRight(Deferred.await(arrived), Effect.sleep("20 millis"))
            : Deferred.await(arrived)
          const input = `${phase} ${id}`
          const result = yield* send(
            url,
            openAi ? "/v1/chat/completions" : "/agents/Remote/runs",
            openAi
              ? { model: "Remote", stream, messages: [{ role: "user", content: input }] }
              : { input, sessionId: id, userId: "u", runId: id, stream },
            {
              leave,
              leaveWhen: phase === "mid-stream" && stream
                ? (text) => text.includes(openAi ? "\"content\":\"word" : "event: TextDelta")
                : undefined
            }
          )
          assert.isUndefined(result, `client ${id} (${phase}) was answered`)
          return { id, phase, openAi, arrived }
        })

      /** A client that stays: its answer arrives whole and its run is recorded as completed. */
      const stayer = (i: number) =>
        Effect.gen(function*() {
          const id = `s${i}`
          const stream = i % 2 === 0
          const result = yield* send(url, "/agents/Remote/runs", { input: `answer ${id}`, sessionId: id, userId: "u", stream })
          assert.isDefined(result)
          assert.strictEqual(result!.status, 200, result!.text)
          const text = stream
            ? sseEvents(result!.text).at(-1)?.data.output.text
            : JSON.parse(result!.text).text
          assert.strictEqual(text, `The answer to ${id}.`)
          assert.deepStrictEqual(yield* recorded(store, id), ["completed"])
        })

      const started = Date.now()
      const [left] = yield* Effect.all([
        Effect.forEach(Array.from({ length: leavers }, (_, i) => i), leaver, { concurrency: 50 }),
        Effect.forEach(Array.from({ length: stayers }, (_, i) => i), stayer, { concurrency: 10 })
      ], { concurrency: "unbounded" })
      const elapsed = Date.now() - started

      // The server is up and has nothing left in flight.
      assert.deepStrictEqual(yield* client.health.health(), { status: "ok" })
      yield* eventually(Effect.map(client.runs.list(), (runs) => (runs.length === 0 ? Option.some(runs) : Option.none())))
      // Every model connection of an abandoned run was closed.
      const stats = yield* simulator.awaitStats((stats) => stats.activeResponses === 0).pipe(
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("model responses still open") })
      )
      // Whether each run's model was called, now that all is over (a run can reach its model
      // after its client left, before it is cancelled).
      const reached = new Set<string>()
      for (const client of left) if (yield* Deferred.isDone(client.arrived)) reached.add(client.id)
      assert.isAtLeast(stats.clientAborts, reached.size)
      for (const client of left) {
        if (client.phase !== "any-moment") assert.isTrue(reached.has(client.id), `${client.id} (${client.phase})`)
      }
      // Every run is recorded, as cancelled: those whose model was called for certain, the others
      // when their run had started before the client left.
      // The runs of the OpenAI endpoint have no session: they are checked by the runs in flight
      // and the model connections above.
      for (const { id } of left.filter((client) => !client.openAi)) {
        const statuses = yield* recorded(store, id)
        if (reached.has(id)) assert.deepStrictEqual(statuses, ["cancelled"], id)
        else assert.isTrue(statuses.length === 0 || (statuses.length === 1 && statuses[0] === "cancelled"), id)
      }
      console.log(
        `${leavers} clients left (${reached.size} after their model was called) and ${stayers} stayed in ${elapsed} ms; ` +
          `simulator: ${stats.clientAborts} client aborts, ${stats.activeResponses} responses open`
      )
      assert.deepStrictEqual(escaped, [])
    }), { timeout: 180_000 })
})

// -----------------------------------------------------------------------------
// A real server process: SIGTERM and SIGINT while runs wait for their model's first byte
// -----------------------------------------------------------------------------

const root = Path.resolve(import.meta.dirname, "..")
// The executable as the package installs it (`npm test` builds it first).
const executable = Path.join(root, "dist", "cli", "bin.js")

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-serve-"))),
  (directory) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
)

const grace = "1 second"

const serveAndSignal = (signal: "SIGTERM" | "SIGINT") =>
  Effect.gen(function*() {
    const arrivals = yield* makeArrivals
    const simulator = yield* makeSimulator(arrivals)
    const data = yield* tempDirectory
    const env: Record<string, string | undefined> = {
      ...process.env,
      NO_COLOR: "1",
      EFFECT_AGENTS_MODEL: "openai-compatible:sim",
      OPENAI_COMPATIBLE_BASE_URL: simulator.openAiUrl,
      EFFECT_AGENTS_HTTP_SHUTDOWN_GRACE: grace
    }
    delete env["EFFECT_AGENTS_HTTP_TOKEN"]
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(process.execPath, [executable, "serve", "--host", "127.0.0.1", "--port", "0", "--data", data], {
          cwd: root,
          env,
          stdio: ["ignore", "pipe", "pipe"]
        })
      ),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )
    let stdout = ""
    let stderr = ""
    child.stderr.on("data", (chunk) => void (stderr += String(chunk)))
    const exited = Effect.async<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>((resume) => {
      if (child.exitCode !== null) return resume(Effect.succeed({ code: child.exitCode, signal: null }))
      child.on("exit", (code, signal) => resume(Effect.succeed({ code, signal })))
    })
    const banner = yield* Effect.async<string>((resume) => {
      child.stdout.on("data", (chunk) => {
        stdout += String(chunk)
        if (stdout.includes("Ctrl-C stops it")) resume(Effect.succeed(stdout))
      })
      child.on("exit", () => resume(Effect.succeed(stdout)))
    }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`no banner: ${stderr}`) }))
    const url = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1]
    assert.isDefined(url, `${banner}\n${stderr}`)

    // Runs that wait for their model's first byte, streamed and not, each in a session.
    const ids = Array.from({ length: 8 }, (_, i) => `${signal}-${i}`)
    const clients = yield* Effect.forEach(ids, (id, i) =>
      Effect.gen(function*() {
        const arrived = yield* Deferred.make<void>()
        arrivals.set(id, arrived)
        const fiber = yield* Effect.fork(
          send(url!, "/agents/assistant/runs", { input: `before-headers ${id}`, sessionId: id, userId: "u", stream: i % 2 === 0 })
        )
        yield* Deferred.await(arrived)
        return { id, stream: i % 2 === 0, fiber }
      }), { concurrency: "unbounded" })

    const signalled = Date.now()
    child.kill(signal)
    const exit = yield* exited.pipe(
      Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`still running after ${signal}: ${stderr}`) })
    )
    const exitMillis = Date.now() - signalled
    assert.deepStrictEqual(exit, { code: 0, signal: null }, stderr)

    // Each client was told its run was cancelled by the shutdown.
    for (const { fiber, id, stream } of clients) {
      const result = yield* fiber
      assert.isDefined(result, id)
      if (stream) {
        const last = sseEvents(result!.text).at(-1)
        assert.deepInclude(last?.data, { _tag: "RunCancelled", reason: "shutdown" }, id)
      } else {
        assert.strictEqual(result!.status, 409, id)
        assert.deepInclude(JSON.parse(result!.text), { _tag: "RunCancelled", reason: "shutdown" }, id)
      }
    }
    // Every run was recorded, as cancelled, before the process exited.
    const statuses = yield* Effect.forEach(ids, (id) =>
      Effect.flatMap(SessionStore.SessionStore, (store) => recorded(store, id))).pipe(
        Effect.provide(SessionStoreSql.layerSqlite({ filename: Path.join(data, "sessions.db") }))
      )
    assert.deepStrictEqual(statuses, ids.map(() => ["cancelled"]))
    // The model connections were closed by the server, not left for the simulator to find.
    const stats = yield* simulator.awaitStats((stats) => stats.activeResponses === 0).pipe(
      Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("model responses still open") })
    )
    assert.strictEqual(stats.clientAborts, ids.length)
    console.log(`${signal}: exited with ${exit.code} ${exitMillis} ms after the signal (grace ${grace}), ${ids.length} runs recorded as cancelled`)
    assert.deepStrictEqual(escaped, [])
  })

describe("effect-agents serve: shutdown while runs wait for their model", () => {
  it.scopedLive("SIGTERM: exits 0 after the grace period, every run cancelled and recorded", () => serveAndSignal("SIGTERM"), {
    timeout: 120_000
  })

  it.scopedLive("SIGINT: exits 0 after the grace period, every run cancelled and recorded", () => serveAndSignal("SIGINT"), {
    timeout: 120_000
  })
})
