import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Fs from "node:fs"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"
import * as Fixture from "./fixtures/httpDurable.js"
import { batchEnd, clientOf, type Files, lines, tempFiles, until } from "./fixtures/httpDurable.js"

/** The app of the fixture in this process, on `files`. */
const serve = (files: Files, options: { readonly shutdownGrace?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(Fixture.layer({ ...files, ...options }))
    const { url } = Context.get(context, HttpApp.HttpApp)
    return { url, client: yield* clientOf(url) }
  })

const post = (url: string, body: unknown) =>
  Effect.promise(() =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      .then(async (response) => ({ status: response.status, body: await response.json() as Record<string, unknown> }))
  )

describe("HttpApp, durable runs in process", () => {
  it.scopedLive("an agent's run: 202 with its id, then completed with its output; its id taken is 409", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client, url } = yield* serve(files)
      const started = yield* client.durable.start({ payload: { agent: "Echo", input: "hello", runId: "echo-1" } })
      assert.strictEqual(started.runId, "echo-1")
      assert.strictEqual(started.agent, "Echo")
      const done = yield* until(client, "echo-1", (run) => run.status !== "running")
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.output?.text, "You said: hello")
      assert.isDefined(done.finishedAt)
      assert.deepStrictEqual(lines(files.counter), ["Echo started"])
      // Its events are stored for readers after its end; the model's text only in its completion
      // (text deltas are live only).
      const events = yield* Effect.promise(() =>
        fetch(`${url}/runs/echo-1/events`).then((response) => response.text())
      )
      const tags = events.split("\n").filter((line) => line.startsWith("event: ")).map((line) => line.slice(7))
      assert.notInclude(tags, "TextDelta")
      assert.strictEqual(tags[0], "RunStarted")
      assert.strictEqual(tags.at(-1), "RunCompleted")

      const again = yield* Effect.either(client.durable.start({ payload: { agent: "Echo", input: "x", runId: "echo-1" } }))
      assert.isTrue(Either.isLeft(again) && again.left._tag === "RunIdInUse", String(again))
    }), 60_000)

  it.scopedLive("a workflow waiting on a signal: listed as waiting with its settled steps, a wrong signal is 409, a value of the wrong shape 400, the right one completes it", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client, url } = yield* serve(files)
      yield* client.durable.start({ payload: { agent: "Approval", input: "tea", runId: "approval-1" } })
      const waiting = yield* until(client, "approval-1", (run) => run.status === "waiting")
      assert.deepStrictEqual(waiting.waitingFor, ["approval"])
      assert.deepStrictEqual(
        waiting.steps.map((step) => [step.step, step.status, step.output]),
        [["draft", "completed", "draft of tea"]]
      )
      const listed = yield* client.durable.list({ urlParams: { waiting: true } })
      assert.deepStrictEqual(listed.map((run) => [run.runId, run.status]), [["approval-1", "waiting"]])

      const wrong = yield* Effect.either(
        client.durable.signal({ path: { runId: "approval-1", signal: "review" }, payload: { value: true } })
      )
      assert.isTrue(Either.isLeft(wrong) && wrong.left._tag === "RunNotWaiting", String(wrong))
      if (Either.isLeft(wrong) && wrong.left._tag === "RunNotWaiting") assert.include(wrong.left.message, `"approval"`)

      // A value of the wrong shape is a 400 that says what the step takes; the run still waits.
      const badShape = yield* Effect.either(
        client.durable.signal({ path: { runId: "approval-1", signal: "approval" }, payload: { value: { approved: "yes" } } })
      )
      assert.isTrue(Either.isLeft(badShape) && badShape.left._tag === "InvalidSignalValue", String(badShape))
      if (Either.isLeft(badShape) && badShape.left._tag === "InvalidSignalValue") {
        assert.include(badShape.left.message, `["approved"]`)
        assert.include(badShape.left.message, "Expected boolean, actual \"yes\"")
      }
      const raw = yield* post(`${url}/durable/runs/approval-1/signals/approval`, { value: "approved" })
      assert.strictEqual(raw.status, 400)
      assert.strictEqual(raw.body._tag, "InvalidSignalValue")
      const still = yield* client.durable.get({ path: { runId: "approval-1" } })
      assert.strictEqual(still.status, "waiting")
      assert.deepStrictEqual(still.waitingFor, ["approval"])

      yield* client.durable.signal({ path: { runId: "approval-1", signal: "approval" }, payload: { value: { approved: true } } })
      const done = yield* until(client, "approval-1", (run) => run.status === "completed")
      assert.strictEqual(done.output?.content, "APPROVED: DRAFT OF TEA")
      assert.deepStrictEqual(done.waitingFor, [])
      assert.deepStrictEqual(done.steps.map((step) => step.step), ["draft", "approval", "publish"])
      assert.deepStrictEqual(yield* client.durable.list({ urlParams: { waiting: true } }), [])

      const late = yield* Effect.either(
        client.durable.signal({ path: { runId: "approval-1", signal: "approval" }, payload: { value: { approved: true } } })
      )
      assert.isTrue(Either.isLeft(late) && late.left._tag === "RunNotWaiting", String(late))
    }), 60_000)

  it.scopedLive("a durable run's live events are read from GET /runs/{runId}/events: its steps once each, though the engine replays them when the signal resumes it", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client, url } = yield* serve(files)
      yield* client.durable.start({ payload: { agent: "Approval", input: "tea", runId: "approval-3" } })
      yield* until(client, "approval-3", (run) => run.status === "waiting")
      const response = yield* Effect.promise(() => fetch(`${url}/runs/approval-3/events`))
      assert.strictEqual(response.status, 200)
      yield* client.durable.signal({ path: { runId: "approval-3", signal: "approval" }, payload: { value: { approved: true } } })
      // The stream ends with the run.
      const body = yield* Effect.promise(() => response.text())
      const events = body.split("\n").filter((line) => line.startsWith("event: ")).map((line) => line.slice(7))
      const data = body.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)))
      const steps = data.filter((event) => event._tag.startsWith("Step") && event._tag !== "StepEvent").map((event) =>
        `${event._tag} ${event.step}`
      )
      assert.deepStrictEqual(steps, [
        "StepStarted draft",
        "StepCompleted draft",
        "StepStarted approval",
        "StepWaiting approval",
        "StepCompleted approval",
        "StepStarted publish",
        "StepCompleted publish"
      ])
      assert.strictEqual(events[0], "RunStarted")
      assert.strictEqual(events.filter((tag) => tag === "RunStarted").length, 1)
      assert.strictEqual(events.at(-1), "RunCompleted")
    }), 60_000)

  it.scopedLive("a running workflow cancelled over HTTP: its step is interrupted and the run is reported cancelled", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client } = yield* serve(files)
      yield* client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "blocked-1" } })
      while (!lines(files.counter).includes("block started")) yield* Effect.sleep("20 millis")
      const partial = yield* client.durable.get({ path: { runId: "blocked-1" } })
      assert.strictEqual(partial.status, "running")
      assert.deepStrictEqual(partial.steps.map((step) => [step.step, step.output]), [["first", "ABC"]])

      const cancelled = yield* client.durable.cancel({ path: { runId: "blocked-1" } })
      assert.strictEqual(cancelled.status, "cancelled")
      assert.deepStrictEqual(lines(files.counter), ["first started", "first settled", "block started", "block interrupted"])
      // Released after the cancel: nothing runs on.
      Fs.writeFileSync(files.release, "")
      yield* Effect.sleep("300 millis")
      assert.strictEqual((yield* client.durable.get({ path: { runId: "blocked-1" } })).status, "cancelled")
      assert.notInclude(lines(files.counter), "last started")
    }), 60_000)

  it.scopedLive("a workflow waiting on a signal, cancelled: reported cancelled, takes no signal, never goes on", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client } = yield* serve(files)
      yield* client.durable.start({ payload: { agent: "Approval", input: "tea", runId: "approval-2" } })
      yield* until(client, "approval-2", (run) => run.status === "waiting")
      const cancelled = yield* client.durable.cancel({ path: { runId: "approval-2" } })
      assert.strictEqual(cancelled.status, "cancelled")
      assert.deepStrictEqual(cancelled.waitingFor, [])
      assert.deepStrictEqual(yield* client.durable.list({ urlParams: { waiting: true } }), [])
      const signal = yield* Effect.either(
        client.durable.signal({ path: { runId: "approval-2", signal: "approval" }, payload: { value: { approved: true } } })
      )
      assert.isTrue(Either.isLeft(signal) && signal.left._tag === "RunNotWaiting", String(signal))
      yield* Effect.sleep("300 millis")
      assert.deepStrictEqual(lines(files.counter), ["draft started", "draft settled"])
    }), 60_000)

  it.scopedLive("a batch runs each input as a durable run and answers with their outputs", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client } = yield* serve(files)
      const submitted = yield* client.batches.submit({ payload: { agent: "Echo", inputs: ["a", "b", "c"], concurrency: 2 } })
      assert.strictEqual(submitted.status, "running")
      const batch = yield* batchEnd(client, submitted.batchId)
      assert.strictEqual(batch.status, "completed")
      assert.deepStrictEqual(batch.items.map((item) => [item.status, item.output?.text]), [
        ["completed", "You said: a"],
        ["completed", "You said: b"],
        ["completed", "You said: c"]
      ])
      assert.deepStrictEqual(batch.counts, { total: 3, pending: 0, running: 0, completed: 3, failed: 0, cancelled: 0, interrupted: 0 })
      // Each input is a durable run of its own.
      const run = yield* client.durable.get({ path: { runId: batch.items[1]!.runId! } })
      assert.strictEqual(run.output?.text, "You said: b")
      const listed = yield* client.batches.list()
      assert.deepStrictEqual(listed.map((b) => [b.batchId, b.status]), [[submitted.batchId, "completed"]])
    }), 60_000)

  it.scopedLive("a durable batch cancelled: its running input's step is interrupted, the rest (beyond `concurrency`) never start", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client } = yield* serve(files)
      const submitted = yield* client.batches.submit({ payload: { agent: "Blocking", inputs: ["a", "b", "c"], concurrency: 1 } })
      while (!lines(files.counter).includes("block started")) yield* Effect.sleep("20 millis")
      const cancelled = yield* client.batches.cancel({ path: { batchId: submitted.batchId } })
      assert.strictEqual(cancelled.status, "cancelled")
      assert.deepStrictEqual(cancelled.items.map((item) => item.status), ["cancelled", "cancelled", "cancelled"])
      Fs.writeFileSync(files.release, "")
      yield* Effect.sleep("300 millis")
      assert.deepStrictEqual(lines(files.counter), ["first started", "first settled", "block started", "block interrupted"])
    }), 60_000)

  it.scopedLive("a failing workflow is reported failed, with its error and the steps it settled", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client } = yield* serve(files)
      yield* client.durable.start({ payload: { agent: "Failing", input: "tea", runId: "failing-1" } })
      const failed = yield* until(client, "failing-1", (run) => run.status !== "running")
      assert.strictEqual(failed.status, "failed")
      assert.strictEqual(failed.error?._tag, "WorkflowError")
      assert.include(failed.error?.message, "no tea")
      assert.deepStrictEqual(failed.steps.map((step) => [step.step, step.status]), [["first", "completed"], ["refuse", "failed"]])
    }), 60_000)

  it.scopedLive("cancelled at once after its start, a run never runs a step", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client } = yield* serve(files)
      yield* client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "early-1" } })
      const cancelled = yield* client.durable.cancel({ path: { runId: "early-1" } })
      assert.strictEqual(cancelled.status, "cancelled")
      Fs.writeFileSync(files.release, "")
      yield* Effect.sleep("500 millis")
      assert.strictEqual((yield* client.durable.get({ path: { runId: "early-1" } })).status, "cancelled")
      assert.notInclude(lines(files.counter), "last started")
      assert.notInclude(lines(files.counter), "block settled")
    }), 60_000)

  it.scopedLive("a graceful shutdown does not cancel a durable run: the next server on the file finishes it", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const scope = yield* Scope.make()
      const first = yield* serve(files, { shutdownGrace: "200 millis" }).pipe(Scope.extend(scope))
      yield* first.client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "graceful-1" } })
      while (!lines(files.counter).includes("block started")) yield* Effect.sleep("20 millis")
      // Given its grace, the step in flight is interrupted, to run again on the next server.
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(lines(files.counter), ["first started", "first settled", "block started", "block interrupted"])

      const second = yield* serve(files)
      Fs.writeFileSync(files.release, "")
      const done = yield* until(second.client, "graceful-1", (run) => run.status !== "running")
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.output?.content, "LAST ABC (3)")
      assert.strictEqual(lines(files.counter).filter((line) => line === "first started").length, 1)
      assert.strictEqual(lines(files.counter).filter((line) => line === "block started").length, 2)
    }), 60_000)

  it.scopedLive("bad requests get typed errors: unknown agent and run 404, bad payload 400", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const { client, url } = yield* serve(files)
      const agent = yield* Effect.either(client.durable.start({ payload: { agent: "Nobody", input: "x" } }))
      assert.isTrue(Either.isLeft(agent) && agent.left._tag === "AgentNotFound", String(agent))
      for (const call of [
        client.durable.get({ path: { runId: "nope" } }),
        client.durable.cancel({ path: { runId: "nope" } }),
        client.durable.signal({ path: { runId: "nope", signal: "approval" }, payload: { value: 1 } })
      ]) {
        const result = yield* Effect.either(call)
        assert.isTrue(Either.isLeft(result) && result.left._tag === "RunNotFound", String(result))
      }
      const noInput = yield* post(`${url}/durable/runs`, { agent: "Echo" })
      assert.strictEqual(noInput.status, 400)
      const noValue = yield* post(`${url}/durable/runs/nope/signals/approval`, { other: 1 })
      assert.strictEqual(noValue.status, 400)
    }), 60_000)

  it.scopedLive("with a token configured, the durable endpoints need it (401 without)", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0, token: Redacted.make("secret"), durable: { filename: files.database } }).pipe(
          Layer.provide(Registry.layer(Fixture.members(files.counter, files.release))),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const refused = yield* post(`${url}/durable/runs`, { agent: "Echo", input: "x" })
      assert.strictEqual(refused.status, 401)
      const listed = yield* Effect.promise(() => fetch(`${url}/durable/runs`).then((response) => response.status))
      assert.strictEqual(listed, 401)
      const client = yield* HttpApi.client(url, { token: Redacted.make("secret") }).pipe(Effect.provide(FetchHttpClient.layer))
      const started = yield* client.durable.start({ payload: { agent: "Echo", input: "x" } })
      assert.strictEqual(started.agent, "Echo")
      assert.isAbove(started.runId.length, 0)
    }), 60_000)

  it.scopedLive("a server without a durable store answers 501 DurableRunsDisabled, saying how to enable it", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer(Fixture.members("/dev/null", "/dev/null"))),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const response = yield* post(`${url}/durable/runs`, { agent: "Echo", input: "x" })
      assert.strictEqual(response.status, 501)
      assert.strictEqual(response.body._tag, "DurableRunsDisabled")
      assert.include(String(response.body.message), "--durable")
      // Declared in the API: the OpenAPI document (and the typed client) have the endpoints.
      const openApi = yield* Effect.promise(() =>
        fetch(`${url}/openapi.json`).then((r) => r.json() as Promise<{ paths: Record<string, unknown> }>)
      )
      for (const path of ["/durable/runs", "/durable/runs/{runId}", "/durable/runs/{runId}/cancel", "/durable/runs/{runId}/signals/{signal}"]) {
        assert.property(openApi.paths, path)
      }
    }), 60_000)
})
