import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Durable from "../layers/Durable.js"
import * as HttpApp from "../layers/HttpApp.js"
import * as Pause from "../layers/internal/durable/pause.js"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Approval from "../src/Approval.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"
import type * as RunEvent from "../src/RunEvent.js"
import * as Workflow from "../src/Workflow.js"

const Lookup = Tool.make("lookup", { parameters: { name: Schema.String }, success: Schema.String })
const Transfer = Tool.make("transfer", { parameters: { amount: Schema.Number }, success: Schema.String })
const Bank = Toolkit.make(Lookup, Transfer)

const bankTools = (ran: Array<string>) =>
  Bank.toLayer({
    lookup: ({ name }) => Effect.sync(() => (ran.push(`lookup ${name}`), `${name}: 40`)),
    transfer: ({ amount }) => Effect.sync(() => (ran.push(`transfer ${amount}`), `sent ${amount}`))
  })

/** Its first turn looks Ada up and transfers 500 (which waits for approval); its second says what the tools gave. */
const teller = Agent.make({
  name: "Teller",
  retry: Retry.none,
  toolkit: Bank,
  approval: { transfer: true },
  model: TestModel.layer((request) => {
    const results = request.prompt.content.flatMap((message) =>
      message.role === "tool" ? message.content.map((part) => JSON.stringify(part.result)) : []
    )
    return results.length === 0
      ? TestModel.toolCalls([
        { name: "lookup", params: { name: "Ada" }, id: "call-1" },
        { name: "transfer", params: { amount: 500 }, id: "call-2" }
      ])
      : TestModel.text(`done: ${results.join(" | ")}`)
  })
})

const payout = Workflow.make({ name: "Payout", input: Schema.String, steps: Workflow.agent(teller) })

/** Waits until the run waits for decisions (and, with `refused`, until it refused some). */
const pendingOf = (durable: Durable.DurableWorkflow<string, any, any, any>, runId: string, refused = false) =>
  Effect.gen(function*() {
    for (;;) {
      const found = yield* durable.pending(runId)
      if (Option.isSome(found) && (!refused || found.value.refused !== undefined)) return found.value
      yield* Effect.sleep("10 millis")
    }
  }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`run ${runId} never waited for decisions`) }))

describe("Durable pauses, on the in-memory engine", () => {
  it.live("a run that pauses waits with its pending call; approved from outside it completes, each tool having run once", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const events: Array<RunEvent.RunEvent> = []
      const durable = Durable.make(payout)
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          durable.run("pay Ada", { runId: "p1", onEvent: (event) => Effect.sync(() => void events.push(event)) })
        )
        const waiting = yield* pendingOf(durable, "p1")
        assert.deepStrictEqual(waiting.pending.map((r) => [r.toolCallId, r.tool, r.arguments, r.path]), [
          ["call-2", "transfer", { amount: 500 }, ["Teller"]]
        ])
        assert.strictEqual(waiting.refused, undefined)
        assert.deepStrictEqual(ran, ["lookup Ada"])
        // Told live, as in process; the pause is not the run's end.
        const nested = events.flatMap((event) => event._tag === "StepEvent" ? [event.event] : [])
        assert.isTrue(nested.some((event) => event._tag === "ApprovalRequested" && event.toolCallId === "call-2"))
        assert.isFalse(events.some((event) => event._tag === "RunPaused" || event._tag === "RunFailed"))
        assert.isNull(fiber.unsafePoll())

        yield* durable.decide("p1", [Approval.approve(waiting.pending[0]!)])
        // A pause takes its decisions once, though its run has not taken them yet.
        const twice = yield* Effect.flip(durable.decide("p1", [Approval.reject(waiting.pending[0]!, "no")]))
        assert.strictEqual(twice.reason, "Stale")
        const output = yield* Fiber.join(fiber)
        assert.strictEqual(output.content, `done: "Ada: 40" | "sent 500"`)
        assert.deepStrictEqual(ran, ["lookup Ada", "transfer 500"])
        assert.deepStrictEqual(yield* durable.pending("p1"), Option.none())
        assert.strictEqual(events.at(-1)?._tag, "RunCompleted")
        // The replay that took the decision asked for approval again: told once.
        assert.strictEqual(
          events.filter((event) => event._tag === "StepEvent" && event.event._tag === "ApprovalRequested").length,
          1
        )
        // A pause decided is not decided again.
        const again = yield* Effect.flip(durable.decide("p1", [Approval.approve(waiting.pending[0]!)]))
        assert.strictEqual(again.reason, "Stale")
      }).pipe(Effect.provide(durable.layer), Effect.provide(bankTools(ran)), Effect.provide(Durable.layerMemory))
    }))

  it.live("rejected, the model is told the reason as the tool's result and answers; the call never runs", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const durable = Durable.make(payout)
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(durable.run("pay Ada", { runId: "p2" }))
        const waiting = yield* pendingOf(durable, "p2")
        yield* durable.decide("p2", [Approval.reject(waiting.pending[0]!, "over the limit")])
        const output = yield* Fiber.join(fiber)
        assert.include(output.content, "over the limit")
        assert.deepStrictEqual(ran, ["lookup Ada"])
      }).pipe(Effect.provide(durable.layer), Effect.provide(bankTools(ran)), Effect.provide(Durable.layerMemory))
    }))

  it.live("invalid decisions are typed errors or refusals, and the run still waits for good ones", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const durable = Durable.make(payout)
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(durable.run("pay Ada", { runId: "p3" }))
        const waiting = yield* pendingOf(durable, "p3")
        const request = waiting.pending[0]!

        // A call that does not wait: refused before it is sent.
        const unknown = yield* Effect.flip(durable.decide("p3", [Approval.approve({ toolCallId: "call-9", path: ["Teller"] })]))
        assert.strictEqual(unknown._tag, "ApprovalError")
        assert.strictEqual(unknown.reason, "UnknownCall")
        assert.include(unknown.message, "Teller/call-2")
        const twice = yield* Effect.flip(durable.decide("p3", [Approval.approve(request), Approval.reject(request, "no")]))
        assert.strictEqual(twice.reason, "UnknownCall")
        assert.deepStrictEqual(yield* durable.pending("p3"), Option.some(waiting))

        // Edited arguments the tool's schema refuses: the run refuses them when it takes them, nothing
        // runs, and it waits again with the refusal.
        yield* durable.decide("p3", [Approval.approve(request, { arguments: { amount: "lots" } })])
        const refused = yield* pendingOf(durable, "p3", true)
        assert.include(refused.refused!, "do not match its parameters")
        assert.deepStrictEqual(refused.pending.map((r) => r.toolCallId), ["call-2"])
        assert.deepStrictEqual(ran, ["lookup Ada"])
        assert.isNull(fiber.unsafePoll())

        yield* durable.decide("p3", [Approval.approve(refused.pending[0]!, { arguments: { amount: 300 } })])
        const output = yield* Fiber.join(fiber)
        assert.strictEqual(output.content, `done: "Ada: 40" | "sent 300"`)
        assert.deepStrictEqual(ran, ["lookup Ada", "transfer 300"])
      }).pipe(Effect.provide(durable.layer), Effect.provide(bankTools(ran)), Effect.provide(Durable.layerMemory))
    }))
})

const root = Path.resolve(import.meta.dirname, "..")
const fixture = Path.join(root, "test/fixtures/durablePause.ts")

interface Result {
  readonly content: string
  readonly totalTokens: number
  readonly modelCalls: number
  readonly toolCalls: ReadonlyArray<unknown>
  readonly steps: ReadonlyArray<unknown>
}

const spawn = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      ChildProcess.spawn(process.execPath, ["--import", "tsx", fixture, ...args], {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"]
      })
    ),
    (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
  )

/** Runs the fixture to its end and gives what it printed. */
const runToEnd = (args: ReadonlyArray<string>) =>
  Effect.flatMap(spawn(args), (child) =>
    Effect.async<Result, Error>((resume) => {
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk) => void (stdout += String(chunk)))
      child.stderr.on("data", (chunk) => void (stderr += String(chunk)))
      child.on("close", (code) =>
        code === 0
          ? resume(Effect.succeed(JSON.parse(stdout.trim().split("\n").pop()!) as Result))
          : resume(Effect.fail(new Error(`the fixture exited with ${code}: ${stderr}`))))
    }).pipe(Effect.timeout("60 seconds")))

const lines = (file: string) => (Fs.existsSync(file) ? Fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0) : [])

describe("Durable pauses, on SQLite, across a SIGKILL", () => {
  it.scopedLive("killed while it waits for approval, the decision sent from another process: it completes as in process, no settled call runs twice", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-pause-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const reference = yield* runToEnd(["in-process", Path.join(dir, "reference.txt")])
      assert.strictEqual(reference.content, `DONE: "ADA: 40" | "SENT 500"`)
      assert.deepStrictEqual(lines(Path.join(dir, "reference.txt")), ["model 1", "lookup Ada", "transfer 500", "model 2"])

      const database = Path.join(dir, "pause.db")
      const counter = Path.join(dir, "pause.txt")
      const child = yield* spawn(["run", database, counter, "run-1"])
      const killed = Effect.async<string | null>((resume) => {
        child.on("close", (_, signal) => resume(Effect.succeed(signal)))
      })
      while (!lines(counter).includes("waiting call-2")) {
        assert.isNull(child.exitCode, "the run ended instead of waiting for its decision")
        yield* Effect.sleep("20 millis")
      }
      child.kill("SIGKILL")
      assert.strictEqual(yield* killed, "SIGKILL")
      assert.deepStrictEqual(lines(counter), ["model 1", "lookup Ada", "waiting call-2"])

      const decided = yield* runToEnd(["decide", database, counter, "run-1"])
      assert.deepStrictEqual(decided, reference)
      // The model call and the lookup settled before the pause: never again.
      assert.deepStrictEqual(lines(counter), ["model 1", "lookup Ada", "waiting call-2", "transfer 500", "model 2"])
    }), 120_000)
})

describe("Durable pauses over HTTP", () => {
  const serve = (database: string, ran: Array<string>) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0, durable: { filename: database } }).pipe(
          Layer.provide(Registry.layer([teller, payout] as const)),
          Layer.provide(bankTools(ran)),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      return { url, client: yield* HttpApi.client(url).pipe(Effect.provide(FetchHttpClient.layer)) }
    })

  const until = (client: HttpApi.Client, runId: string, done: (run: HttpApi.DurableRun) => boolean) =>
    Effect.gen(function*() {
      for (;;) {
        const run = yield* client.durable.get({ path: { runId } })
        if (done(run)) return run
        yield* Effect.sleep("30 millis")
      }
    }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`run ${runId} never got there`) }))

  for (const agent of ["Teller", "Payout"] as const) {
    it.scopedLive(`a durable run of ${agent} that pauses is listed waiting with its pending call; decisions sent to it complete it`, () =>
      Effect.gen(function*() {
        const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-pause-http-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
        const ran: Array<string> = []
        const { client, url } = yield* serve(Path.join(dir, "runs.db"), ran)
        yield* client.durable.start({ payload: { agent, input: "pay Ada", runId: "h1" } })
        const waiting = yield* until(client, "h1", (run) => run.status === "waiting")
        const path = agent === "Teller" ? [] : ["Teller"]
        assert.deepStrictEqual(waiting.pending?.map((r) => [r.toolCallId, r.tool, r.arguments, r.path]), [
          ["call-2", "transfer", { amount: 500 }, path]
        ])
        assert.deepStrictEqual(waiting.waitingFor, [])
        const listed = yield* client.durable.list({ urlParams: { waiting: true } })
        assert.deepStrictEqual(listed.map((run) => [run.runId, run.status, run.pending?.map((r) => r.toolCallId)]), [
          ["h1", "waiting", ["call-2"]]
        ])
        assert.deepStrictEqual(ran, ["lookup Ada"])

        // A decision on no pending call: 400, and the run still waits.
        const unknown = yield* Effect.either(
          client.durable.decide({ path: { runId: "h1" }, payload: { decisions: [Approval.approve({ toolCallId: "call-9", path })] } })
        )
        assert.isTrue(
          Either.isLeft(unknown) && unknown.left._tag === "DecisionsRefused" && unknown.left.reason === "UnknownCall",
          String(unknown)
        )
        const raw = yield* Effect.promise(() =>
          fetch(`${url}/durable/runs/h1/decisions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ decisions: [{ _tag: "Approve" }] })
          }).then((response) => response.status)
        )
        assert.strictEqual(raw, 400)
        assert.strictEqual((yield* client.durable.get({ path: { runId: "h1" } })).status, "waiting")

        yield* client.durable.decide({
          path: { runId: "h1" },
          payload: { decisions: [Approval.approve(waiting.pending![0]!)] }
        })
        const done = yield* until(client, "h1", (run) => run.status !== "running" && run.status !== "waiting")
        assert.strictEqual(done.status, "completed")
        assert.strictEqual(done.output?.content, `done: "Ada: 40" | "sent 500"`)
        assert.strictEqual(done.pending, undefined)
        assert.deepStrictEqual(ran, ["lookup Ada", "transfer 500"])
        const late = yield* Effect.either(
          client.durable.decide({ path: { runId: "h1" }, payload: { decisions: [Approval.approve(waiting.pending![0]!)] } })
        )
        assert.isTrue(Either.isLeft(late) && late.left._tag === "RunNotWaiting", String(late))
      }), 60_000)
  }
})

describe("Durable pauses over HTTP, across a restart of the server", () => {
  it.scopedLive("a run paused on the server before is listed by the next one on the file, and its decision sent there completes it", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-pause-http-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const database = Path.join(dir, "runs.db")
      const ran: Array<string> = []
      const app = (scope: Scope.Scope) =>
        Effect.gen(function*() {
          const context = yield* Layer.buildWithScope(
            HttpApp.layer({ port: 0, durable: { filename: database } }).pipe(
              Layer.provide(Registry.layer([payout] as const)),
              Layer.provide(bankTools(ran)),
              Layer.provide(SessionStoreMemory.layer)
            ),
            scope
          )
          return yield* HttpApi.client(Context.get(context, HttpApp.HttpApp).url).pipe(Effect.provide(FetchHttpClient.layer))
        })
      const waitingOn = (client: HttpApi.Client) =>
        Effect.gen(function*() {
          for (;;) {
            const run = yield* client.durable.get({ path: { runId: "r1" } })
            if (run.status !== "running") return run
            yield* Effect.sleep("30 millis")
          }
        }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the run never got there") }))

      const first = yield* Scope.make()
      const before = yield* app(first)
      yield* before.durable.start({ payload: { agent: "Payout", input: "pay Ada", runId: "r1" } })
      const paused = yield* waitingOn(before)
      assert.strictEqual(paused.status, "waiting")
      yield* Scope.close(first, Exit.void)

      const after = yield* app(yield* Effect.scope)
      const listed = yield* after.durable.get({ path: { runId: "r1" } })
      assert.strictEqual(listed.status, "waiting")
      assert.deepStrictEqual(listed.pending?.map((r) => r.toolCallId), ["call-2"])
      yield* after.durable.decide({ path: { runId: "r1" }, payload: { decisions: [Approval.approve(listed.pending![0]!)] } })
      const done = yield* waitingOn(after)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.output?.content, `done: "Ada: 40" | "sent 500"`)
      assert.deepStrictEqual(ran, ["lookup Ada", "transfer 500"])
    }), 60_000)
})

const pgEnv = ["HOST", "PORT", "DATABASE", "USER", "PASSWORD"].map((name) => process.env[`EFFECT_AGENTS_TEST_PG_${name}`])

describe.skipIf(pgEnv.includes(undefined))("Durable pauses, stored on PostgreSQL", () => {
  it.scopedLive("a pause is kept, listed, decided once and forgotten with its run", () =>
    Effect.gen(function*() {
      const [host, port, database, username, password] = pgEnv as Array<string>
      const context = yield* Layer.build(
        Pause.layerSql.pipe(Layer.provide(SessionStoreSql.layerPgClient({
          host,
          port: Number(port),
          database,
          username,
          password: Redacted.make(password!)
        })))
      )
      const pauses = Context.get(context, Pause.Pauses)
      const executionId = `pause-test-${Date.now()}-${Math.random()}`
      const request = { toolCallId: "call-2", tool: "transfer", arguments: { amount: 500 }, path: ["Teller"], token: "t.0" }
      yield* pauses.wait({ executionId, name: "approval 1", pending: [request], refused: undefined })
      // A replay records the same pause again: kept as it was.
      yield* pauses.wait({ executionId, name: "approval 1", pending: [{ ...request, token: "u.0" }], refused: undefined })
      const waiting = yield* pauses.current(executionId)
      assert.deepStrictEqual(Option.map(waiting, (w): unknown => [w.name, w.pending, w.refused]), Option.some(["approval 1", [request], undefined]))
      assert.isTrue((yield* pauses.all).some((w) => w.executionId === executionId))
      assert.isTrue(yield* pauses.decide(executionId, "approval 1"))
      assert.isFalse(yield* pauses.decide(executionId, "approval 1"))
      assert.deepStrictEqual(yield* pauses.current(executionId), Option.none())
      yield* pauses.wait({ executionId, name: "approval 1#2", pending: [request], refused: "refused" })
      assert.deepStrictEqual(Option.map(yield* pauses.current(executionId), (w): unknown => [w.name, w.refused]), Option.some(["approval 1#2", "refused"]))
      yield* pauses.forget(executionId)
      assert.deepStrictEqual(yield* pauses.current(executionId), Option.none())
    }), 60_000)
})
