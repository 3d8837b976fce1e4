import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fs from "node:fs"
import * as Path from "node:path"
import type * as HttpApi from "../src/HttpApi.js"
import * as Child from "./fixtures/childProcess.js"
import { batchEnd, clientOf, type Files, lines, tempFiles, until } from "./fixtures/httpDurable.js"

const fixture = Path.join(Child.root, "test/fixtures/httpDurable.ts")

interface Server {
  readonly client: HttpApi.Client
  /** Kills the server with SIGKILL and waits for it to be gone. */
  readonly kill: Effect.Effect<void>
}

/** The fixture's server as a child process on `files`, killed with the test's scope if still alive. */
const serve = (files: Files) =>
  Effect.gen(function*() {
    const server = yield* Child.server(fixture, [files.database, files.counter, files.release])
    return { client: yield* clientOf(server.url), kill: server.kill } satisfies Server
  })

const times = (file: string, line: string) => lines(file).filter((l) => l === line).length

describe("HttpApp, durable runs across a SIGKILL of the server", () => {
  it.scopedLive("a run killed in its blocking step completes after the restart with the same output; its settled step does not run again", () =>
    Effect.gen(function*() {
      // The run nobody killed, for comparison.
      const reference = yield* tempFiles
      Fs.writeFileSync(reference.release, "")
      const calm = yield* serve(reference)
      yield* calm.client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "run-1" } })
      const expected = yield* until(calm.client, "run-1", (run) => run.status !== "running")
      assert.strictEqual(expected.status, "completed")
      assert.strictEqual(expected.output?.content, "LAST ABC (3)")

      const files = yield* tempFiles
      const first = yield* serve(files)
      const started = yield* first.client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "run-1" } })
      assert.strictEqual(started.status, "running")
      while (!lines(files.counter).includes("block started")) yield* Effect.sleep("20 millis")
      const partial = yield* first.client.durable.get({ path: { runId: "run-1" } })
      assert.deepStrictEqual(partial.steps.map((step) => [step.step, step.output]), [["first", "ABC"]])
      yield* first.kill
      assert.deepStrictEqual(lines(files.counter), ["first started", "first settled", "block started"])

      const second = yield* serve(files)
      // Listed by the new process, where it was.
      const listed = yield* second.client.durable.list({ urlParams: {} })
      assert.deepStrictEqual(listed.map((run) => [run.runId, run.status]), [["run-1", "running"]])
      while (times(files.counter, "block started") < 2) yield* Effect.sleep("20 millis")
      Fs.writeFileSync(files.release, "")
      const done = yield* until(second.client, "run-1", (run) => run.status !== "running")
      assert.strictEqual(done.status, "completed")
      assert.deepStrictEqual(done.output?.content, expected.output?.content)
      assert.deepStrictEqual(
        done.steps.map((step) => [step.step, step.output]),
        expected.steps.map((step) => [step.step, step.output])
      )
      // Settled before the kill: never again. In flight at the kill: once more.
      assert.strictEqual(times(files.counter, "first started"), 1)
      assert.strictEqual(times(files.counter, "block started"), 2)
      assert.strictEqual(times(files.counter, "block settled"), 1)
      assert.strictEqual(times(files.counter, "last started"), 1)
    }), 180_000)

  it.scopedLive("a run killed while it waits on a signal is listed as waiting by the new server and completes on the signal posted to it", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const first = yield* serve(files)
      yield* first.client.durable.start({ payload: { agent: "Approval", input: "tea", runId: "run-2" } })
      yield* until(first.client, "run-2", (run) => run.status === "waiting")
      yield* first.kill

      const second = yield* serve(files)
      const waiting = yield* second.client.durable.list({ urlParams: { waiting: true } })
      assert.deepStrictEqual(waiting.map((run) => [run.runId, run.status, run.waitingFor]), [["run-2", "waiting", ["approval"]]])
      yield* second.client.durable.signal({
        path: { runId: "run-2", signal: "approval" },
        payload: { value: { approved: true } }
      })
      const done = yield* until(second.client, "run-2", (run) => run.status !== "running" && run.status !== "waiting")
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.output?.content, "APPROVED: DRAFT OF TEA")
      assert.deepStrictEqual(lines(files.counter), ["draft started", "draft settled", "publish started", "publish settled"])
    }), 180_000)

  it.scopedLive("a run cancelled over HTTP stays cancelled after a SIGKILL and a restart, and does not run on", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const first = yield* serve(files)
      yield* first.client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "run-3" } })
      while (!lines(files.counter).includes("block started")) yield* Effect.sleep("20 millis")
      const cancelled = yield* first.client.durable.cancel({ path: { runId: "run-3" } })
      assert.strictEqual(cancelled.status, "cancelled")
      assert.include(lines(files.counter), "block interrupted")
      yield* first.kill

      Fs.writeFileSync(files.release, "")
      const second = yield* serve(files)
      // Given time to run on, were it taken up.
      yield* Effect.sleep("1500 millis")
      const after = yield* second.client.durable.get({ path: { runId: "run-3" } })
      assert.strictEqual(after.status, "cancelled")
      assert.strictEqual(times(files.counter, "block started"), 1)
      assert.strictEqual(times(files.counter, "last started"), 0)
      const signal = yield* Effect.either(
        second.client.durable.signal({ path: { runId: "run-3", signal: "approval" }, payload: { value: true } })
      )
      assert.isTrue(Either.isLeft(signal) && signal.left._tag === "RunNotWaiting", String(signal))
    }), 180_000)

  it.scopedLive("a run started before a restart is cancelled by the new server: its step is interrupted there", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const first = yield* serve(files)
      yield* first.client.durable.start({ payload: { agent: "Blocking", input: "abc", runId: "run-4" } })
      while (!lines(files.counter).includes("block started")) yield* Effect.sleep("20 millis")
      yield* first.kill

      const second = yield* serve(files)
      while (times(files.counter, "block started") < 2) yield* Effect.sleep("20 millis")
      const cancelled = yield* second.client.durable.cancel({ path: { runId: "run-4" } })
      assert.strictEqual(cancelled.status, "cancelled")
      assert.strictEqual(times(files.counter, "block interrupted"), 1)
      Fs.writeFileSync(files.release, "")
      yield* Effect.sleep("500 millis")
      assert.strictEqual(times(files.counter, "last started"), 0)
    }), 180_000)

  it.scopedLive("a batch killed in its first input goes on after the restart: every input completes, the settled steps once", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const first = yield* serve(files)
      const submitted = yield* first.client.batches.submit({
        payload: { agent: "Blocking", inputs: ["a", "bb", "ccc"], concurrency: 1 }
      })
      while (!lines(files.counter).includes("block started")) yield* Effect.sleep("20 millis")
      yield* first.kill

      const second = yield* serve(files)
      const listed = yield* second.client.batches.list()
      assert.deepStrictEqual(listed.map((batch) => [batch.batchId, batch.status]), [[submitted.batchId, "running"]])
      Fs.writeFileSync(files.release, "")
      const batch = yield* batchEnd(second.client, submitted.batchId)
      assert.strictEqual(batch.status, "completed")
      assert.deepStrictEqual(batch.items.map((item) => [item.status, item.output?.content]), [
        ["completed", "LAST A (1)"],
        ["completed", "LAST BB (2)"],
        ["completed", "LAST CCC (3)"]
      ])
      // The first input's first step settled before the kill: three inputs, three first steps.
      assert.strictEqual(times(files.counter, "first started"), 3)
      assert.strictEqual(times(files.counter, "block started"), 4)
      assert.strictEqual(times(files.counter, "last started"), 3)
    }), 180_000)

  it.scopedLive("effect-agents serve --durable <file>: the command line's server runs durable runs on that file", () =>
    Effect.gen(function*() {
      const files = yield* tempFiles
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([name]) =>
          name !== "EFFECT_AGENTS_MODEL" && name !== "EFFECT_AGENTS_HTTP_TOKEN" && !/_(API_KEY|BASE_URL)$/.test(name)
        )
      )
      const child = yield* Child.spawn(
        Path.join(Child.root, "cli/bin.ts"),
        ["serve", "--port", "0", "--data", files.dir, "--durable", files.database],
        { env: { ...env, NO_COLOR: "1" } }
      )
      let stderr = ""
      child.stderr.on("data", (chunk) => void (stderr += String(chunk)))
      const exited = Effect.async<number | null>((resume) => {
        if (child.exitCode !== null) return resume(Effect.succeed(child.exitCode))
        child.on("exit", (code) => resume(Effect.succeed(code)))
      })
      const banner = yield* Effect.async<string>((resume) => {
        let stdout = ""
        child.stdout.on("data", (chunk) => {
          stdout += String(chunk)
          if (stdout.includes("Ctrl-C stops it")) resume(Effect.succeed(stdout))
        })
        child.on("exit", () => resume(Effect.succeed(stdout)))
      }).pipe(Effect.timeout("60 seconds"))
      const url = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1]
      assert.isDefined(url, `${banner}\n${stderr}`)
      assert.include(banner, `Durable runs:      ${files.database} (POST ${url}/durable/runs)`)
      const client = yield* clientOf(url!)
      yield* client.durable.start({ payload: { agent: "assistant", input: "Hello, durably", runId: "cli-1" } })
      const done = yield* until(client, "cli-1", (run) => run.status !== "running")
      assert.strictEqual(done.status, "completed", JSON.stringify(done.error))
      assert.include(String(done.output?.content), `You wrote: "Hello, durably"`)
      assert.isTrue(Fs.existsSync(files.database))
      child.kill("SIGTERM")
      assert.strictEqual(yield* exited, 0, stderr)
    }), 180_000)
})
