import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Durable from "../layers/Durable.js"
import * as OpenAi from "../layers/OpenAi.js"
import * as Simulator from "../layers/Simulator.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Retry from "../src/Retry.js"
import * as Workflow from "../src/Workflow.js"

/** What a test's work did: how often it started, how often its finalizer ran, what ran after it. */
interface Counts {
  started: number
  stopped: number
  after: number
}

/** Work that never ends on its own: it says when it started, and counts its interruption. */
const hang = (counts: Counts, started: Deferred.Deferred<void>) =>
  Effect.zipRight(
    Effect.sync(() => void counts.started++),
    Effect.zipRight(
      Deferred.succeed(started, undefined),
      Effect.onInterrupt(Effect.never, () => Effect.sync(() => void counts.stopped++))
    )
  )

const Block = Tool.make("block", { success: Schema.String })
const Tools = Toolkit.make(Block)

const blockLive = (counts: Counts, started: Deferred.Deferred<void>) =>
  Tools.toLayer({ block: () => Effect.as(hang(counts, started), "never") })

/** The phases a run can be cancelled in: each a workflow whose run blocks in that phase. */
const phases = (counts: Counts, started: Deferred.Deferred<void>) => {
  const then = Workflow.step("after", (_: unknown) => Effect.sync(() => void counts.after++))
  return {
    "a plain step": {
      workflow: Workflow.make({
        name: "CancelStep",
        input: Schema.String,
        steps: Workflow.sequence(Workflow.step("hang", (_: string) => hang(counts, started)), then)
      }),
      waits: false
    },
    "a model call (a TestModel that blocks)": {
      workflow: Workflow.make({
        name: "CancelModel",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.agent(Agent.make({
            name: "Blocked",
            retry: Retry.none,
            model: TestModel.layer(() => Effect.as(hang(counts, started), TestModel.text("never")))
          })),
          then
        )
      }),
      waits: false
    },
    "a tool call": {
      workflow: Workflow.make({
        name: "CancelTool",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.agent(Agent.make({
            name: "Tooled",
            retry: Retry.none,
            toolkit: Tools,
            model: TestModel.layer((request) =>
              request.prompt.content.some((message) => message.role === "tool")
                ? TestModel.text("done")
                : TestModel.toolCall("block", {}, { id: "block-1" })
            )
          })),
          then
        )
      }),
      waits: false
    },
    // The engine suspends a run that waits (nothing of it is in flight): its cancel ends it there.
    "a wait on a signal": {
      workflow: Workflow.make({
        name: "CancelSignal",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.step("first", (_: string) => Effect.sync(() => void counts.started++)),
          Workflow.signal("go", Schema.Boolean),
          then
        )
      }),
      waits: true
    }
  }
}

const engines = {
  memory: () => Effect.succeed(Durable.layerMemory),
  sqlite: () =>
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-cancel-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      ),
      (dir) => Durable.layerSqlite({ filename: Path.join(dir, "runs.db") })
    )
}

const isInterrupted = (exit: Exit.Exit<unknown, unknown>) => Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)

describe("Durable.cancel stops a run in flight at once", () => {
  for (const [engineName, engineOf] of Object.entries(engines)) {
    for (const phase of Object.keys(phases({ started: 0, stopped: 0, after: 0 }, Deferred.unsafeMake(undefined as never)))) {
      it.scopedLive(`on ${engineName}, cancelled in ${phase}: its finalizer runs, the run ends interrupted, nothing runs after`, () =>
        Effect.gen(function*() {
          const counts: Counts = { started: 0, stopped: 0, after: 0 }
          const started = yield* Deferred.make<void>()
          const { waits, workflow } = phases(counts, started)[phase as keyof ReturnType<typeof phases>]
          const durable = Durable.make(workflow)
          const engine = yield* engineOf()
          const exit = yield* Effect.gen(function*() {
            const fiber = yield* Effect.fork(durable.run("x", {
              runId: "cancel-1",
              onEvent: (event) => event._tag === "StepWaiting" ? Deferred.succeed(started, undefined) : Effect.void
            }))
            yield* Deferred.await(started)
            yield* durable.cancel("cancel-1")
            // A safety net, not a measure: a run the cancel did not stop fails the test here.
            const ended = yield* Fiber.await(fiber).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "not stopped" }))
            return ended
          }).pipe(Effect.provide(durable.layer), Effect.provide(blockLive(counts, started)), Effect.provide(engine))
          assert.isTrue(isInterrupted(exit), String(exit))
          // A waiting run has nothing in flight: its first step ran once, and nothing after its wait.
          assert.deepStrictEqual(counts, { started: 1, stopped: waits === true ? 0 : 1, after: 0 })
        }), 30_000)
    }
  }

  it.scopedLive("on SQLite, cancelled while its model call's response comes from the simulator: the request is aborted, and not made again", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-cancel-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      // Part of the body arrives, then nothing: the call waits until it is aborted.
      const simulator = yield* Simulator.make({
        script: [Simulator.stall({ after: 2, reply: Simulator.text("x".repeat(400), { chunks: 8 }) })]
      })
      const durable = Durable.make(Workflow.make({
        name: "CancelSimulated",
        input: Schema.String,
        steps: Workflow.agent(Agent.make({ name: "Streamer", retry: Retry.none }))
      }))
      const exit = yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(durable.run("hi", { runId: "simulated-1" }))
        yield* simulator.awaitStats((stats) => stats.activeResponses === 1)
        yield* durable.cancel("simulated-1")
        return yield* Fiber.await(fiber).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "not stopped" }))
      }).pipe(
        Effect.provide(durable.layer),
        Effect.provide(OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("test"), baseUrl: simulator.openAiUrl })),
        Effect.provide(Durable.layerSqlite({ filename: Path.join(dir, "runs.db") }))
      )
      assert.isTrue(isInterrupted(exit), String(exit))
      const stats = yield* simulator.awaitStats((stats) => stats.activeResponses === 0)
      assert.strictEqual(stats.clientAborts, 1)
      assert.strictEqual(stats.requests, 1)
    }), 30_000)

  it.scopedLive("on SQLite, a cancelled run is not run again by a later engine on the file: its run is interrupted at once", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-cancel-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const counts: Counts = { started: 0, stopped: 0, after: 0 }
      const started = yield* Deferred.make<void>()
      const durable = Durable.make(phases(counts, started)["a plain step"].workflow)
      const once = <A, E>(effect: Effect.Effect<A, E, import("@effect/workflow/WorkflowEngine").WorkflowEngine>) =>
        effect.pipe(
          Effect.provide(durable.layer),
          Effect.provide(Durable.layerSqlite({ filename: Path.join(dir, "runs.db") })),
          Effect.scoped
        )
      const first = yield* once(Effect.gen(function*() {
        const fiber = yield* Effect.fork(durable.run("x", { runId: "cancel-2" }))
        yield* Deferred.await(started)
        yield* durable.cancel("cancel-2")
        return yield* Fiber.await(fiber)
      }))
      assert.isTrue(isInterrupted(first), String(first))
      const second = yield* once(Effect.exit(durable.run("x", { runId: "cancel-2" }))).pipe(
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "not ended" })
      )
      assert.isTrue(isInterrupted(second), String(second))
      assert.deepStrictEqual(counts, { started: 1, stopped: 1, after: 0 })
    }), 30_000)
})
