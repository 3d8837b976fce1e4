import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Durable from "../layers/Durable.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { AgentError } from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"
import type * as RunEvent from "../src/RunEvent.js"
import * as Workflow from "../src/Workflow.js"
import * as Child from "./fixtures/childProcess.js"

const fixture = Path.join(Child.root, "test/fixtures/durableWorkflow.ts")

// -----------------------------------------------------------------------------
// In memory
// -----------------------------------------------------------------------------

describe("Durable, on the in-memory engine", () => {
  const writer = Agent.make({
    name: "Writer",
    retry: Retry.none,
    model: TestModel.layer((request) => TestModel.text(`draft: ${request.lastUserText}`, { usage: { inputTokens: 3, outputTokens: 4 } }))
  })
  const Review = Schema.Struct({ approved: Schema.Boolean })
  const review = Workflow.signal("review", Review, { merge: (draft: string, { approved }) => ({ draft, approved }) })
  const workflow = Workflow.make({
    name: "Review",
    input: Schema.String,
    steps: Workflow.sequence(
      Workflow.agent(writer),
      Workflow.parallel([
        Workflow.step("length", (draft: string) => Effect.succeed(draft.length)),
        Workflow.step("shout", (draft: string) => Effect.succeed(draft.toUpperCase()))
      ]),
      Workflow.step("join", ([length, loud]: readonly [number, string]) => Effect.succeed(`${loud} ${length}`)),
      review,
      Workflow.condition({
        when: ({ approved }: { readonly draft: string; readonly approved: boolean }) => approved,
        then: Workflow.step("publish", ({ draft }: { readonly draft: string }) => Effect.succeed(`published ${draft}`)),
        else: Workflow.step("shelve", ({ draft }: { readonly draft: string }) => Effect.succeed(`shelved ${draft}`))
      })
    )
  })
  const durable = Durable.make(workflow)

  it.live("gives the in-process run's output, metrics and steps; its signal step waits for Durable's send", () =>
    Effect.gen(function*() {
      const events: Array<RunEvent.RunEvent> = []
      const fiber = yield* Effect.fork(
        durable.run("tea", { runId: "durable-1", onEvent: (event) => Effect.sync(() => void events.push(event)) })
      )
      yield* Effect.sleep("100 millis")
      assert.isNull(fiber.unsafePoll(), "the run waits for its signal")
      yield* durable.send(review, "durable-1", { approved: true })
      const output = yield* Fiber.join(fiber)

      const plainEvents: Array<RunEvent.RunEvent> = []
      const inProcess = yield* Effect.fork(Workflow.run(workflow, "tea", {
        runId: "plain-1",
        onEvent: (event) =>
          Effect.zipRight(
            Effect.sync(() => void plainEvents.push(event)),
            event._tag === "StepWaiting" ? Workflow.send(review, "plain-1", { approved: true }).pipe(Effect.orDie) : Effect.void
          )
      })).pipe(Effect.flatMap(Fiber.join))
      // The same events, live: each step's start and end, the agent's text nested in its step.
      const trace = (all: ReadonlyArray<RunEvent.RunEvent>) =>
        all.flatMap((event) =>
          event._tag === "StepStarted" || event._tag === "StepCompleted"
            ? [`${event._tag}:${event.step}`]
            : event._tag === "StepEvent" && event.event._tag === "TextDelta"
            ? [`text:${event.event.delta}`]
            : []
        )
      // (A parallel step's branches may interleave differently.)
      assert.deepStrictEqual([...trace(events)].sort(), [...trace(plainEvents)].sort())
      assert.deepStrictEqual(trace(events).slice(0, 3), ["StepStarted:Writer", "text:draft: tea", "StepCompleted:Writer"])
      assert.include(trace(events), "text:draft: tea")
      assert.strictEqual(events.at(-1)!._tag, "RunCompleted")
      assert.strictEqual(output.content, "published DRAFT: TEA 10")
      assert.strictEqual(output.content, inProcess.content)
      assert.strictEqual(output.metrics.totalTokens, inProcess.metrics.totalTokens)
      assert.strictEqual(output.metrics.modelCalls, 1)
      const shape = (steps: ReadonlyArray<Workflow.StepRun>) =>
        steps.map((step) => [step.step, step._tag === "Completed" ? step.output : "failed"])
      assert.deepStrictEqual(shape(output.steps), shape(inProcess.steps))
    }).pipe(Effect.provide(durable.layer), Effect.provide(Durable.layerMemory)))
})

describe("Durable, cancelled", () => {
  it.live("a run cancelled while it waits for a signal stops, and its step's finalizer runs", () =>
    Effect.gen(function*() {
      let stopped = 0
      const go = Workflow.signal("go", Schema.Boolean)
      const workflow = Workflow.make({
        name: "Cancelled",
        input: Schema.String,
        steps: Workflow.parallel([
          go,
          Workflow.step("hang", (_: string) => Effect.onInterrupt(Effect.never, () => Effect.sync(() => void stopped++)))
        ])
      })
      const durable = Durable.make(workflow)
      const exit = yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(durable.run("x", { runId: "cancel-1" }))
        yield* Effect.sleep("100 millis")
        yield* durable.cancel("cancel-1")
        return yield* Fiber.await(fiber).pipe(Effect.timeout("5 seconds"))
      }).pipe(Effect.provide(durable.layer), Effect.provide(Durable.layerMemory))
      assert.isTrue(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause), String(exit))
      assert.strictEqual(stopped, 1)
    }))
})

describe("Durable, on SQLite, in process", () => {
  it.scopedLive("a signal sent at any moment takes effect: before its step waits, or while it waits", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const go = Workflow.signal("go", Schema.Number, { merge: (n: number, value: number) => n + value })
      const workflow = Workflow.make({
        name: "Signalled",
        input: Schema.Number,
        steps: Workflow.sequence(
          Workflow.step("before", (n: number) => Effect.succeed(n)),
          go,
          Workflow.step("after", (n: number) => Effect.succeed(n * 2))
        )
      })
      const durable = Durable.make(workflow)
      // Twenty runs, each sent its signal a little later than the one before (0 to 57 ms after it starts).
      const results = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(durable.run(i, { runId: `run-${i}` }))
          yield* Effect.sleep(`${i * 3} millis`)
          yield* durable.send(go, `run-${i}`, 100)
          return (yield* Fiber.join(fiber)).content
        }), { concurrency: "unbounded" }).pipe(
        Effect.timeout("30 seconds"),
        Effect.provide(durable.layer),
        Effect.provide(Durable.layerSqlite({ filename: Path.join(dir, "runs.db") }))
      )
      assert.deepStrictEqual(results, Array.from({ length: 20 }, (_, i) => (i + 100) * 2))
    }), 60_000)
})

describe("Durable types", () => {
  it("a durable workflow's run needs the engine only; its layer needs what its steps need", () => {
    class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
    const workflow = Workflow.make({
      name: "Typed",
      input: Schema.Number,
      steps: Workflow.sequence(
        Workflow.step("fail", (n: number) => (n > 0 ? Effect.succeed(String(n)) : Effect.fail(new Boom()))),
        Workflow.agent(Agent.make({ name: "Writer" }))
      )
    })
    const durable = Durable.make(workflow)
    expectTypeOf(durable.run(1, { runId: "x" })).toEqualTypeOf<
      Effect.Effect<Workflow.WorkflowOutput<string>, Boom | AgentError, WorkflowEngine.WorkflowEngine>
    >()
    expectTypeOf(durable.layer).toEqualTypeOf<
      Layer.Layer<never, never, WorkflowEngine.WorkflowEngine | LanguageModel.LanguageModel>
    >()
  })
})

// -----------------------------------------------------------------------------
// A real crash
// -----------------------------------------------------------------------------

interface Result {
  readonly content: string
  readonly totalTokens: number
  readonly modelCalls: number
  readonly steps: ReadonlyArray<unknown>
}

const spawn = (args: ReadonlyArray<string>) => Child.spawn(fixture, args)

/** Runs the fixture to its end and gives what it printed. */
const runToEnd = (args: ReadonlyArray<string>) =>
  Effect.flatMap(spawn(args), (child) => Child.output<Result>(child, "the workflow", "60 seconds"))

const lines = Child.lines

describe("Durable, on SQLite, across a SIGKILL", () => {
  it.scopedLive("killed in a parallel step, restarted, it completes with the same output and no settled step runs twice", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))

      // The run nobody killed, for comparison.
      const reference = yield* runToEnd([Path.join(dir, "reference.db"), Path.join(dir, "reference.txt"), "run-1"])
      assert.deepStrictEqual(lines(Path.join(dir, "reference.txt")), [
        "Researcher started",
        "quick started",
        "quick settled",
        "slow started",
        "slow settled",
        "write started",
        "write settled"
      ])

      // Killed while the slow branch runs: the model call and the quick branch have settled.
      const database = Path.join(dir, "crash.db")
      const counter = Path.join(dir, "crash.txt")
      const child = yield* spawn([database, counter, "run-1"])
      yield* Child.until(() => lines(counter).includes("slow started"))
      yield* Effect.sleep("500 millis")
      yield* Child.kill(child)
      assert.deepStrictEqual(lines(counter), ["Researcher started", "quick started", "quick settled", "slow started"])

      // The same run, started again on the same file.
      const restarted = yield* runToEnd([database, counter, "run-1"])
      assert.deepStrictEqual(restarted, reference)
      const all = lines(counter)
      const times = (line: string) => all.filter((l) => l === line).length
      // Settled before the crash: never again (the model was called once, the quick branch ran once).
      assert.strictEqual(times("Researcher started"), 1)
      assert.strictEqual(times("quick started"), 1)
      // In flight at the crash: once more. Not reached before it: once.
      assert.strictEqual(times("slow started"), 2)
      assert.strictEqual(times("slow settled"), 1)
      assert.strictEqual(times("write started"), 1)
      assert.strictEqual(restarted.totalTokens, 18)
    }), 120_000)

  it.scopedLive("killed while it waits for a signal, restarted, it takes the signal and completes; the settled model call is not made again", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const reference = yield* runToEnd([Path.join(dir, "reference.db"), Path.join(dir, "reference.txt"), "run-2", "signal", "send"])
      assert.strictEqual(reference.content, "APPROVED: NOTES ON QUBITS")

      const database = Path.join(dir, "crash.db")
      const counter = Path.join(dir, "crash.txt")
      const child = yield* spawn([database, counter, "run-2", "signal"])
      yield* Child.until(() => lines(counter).includes("Researcher started"))
      // The model call settles at once; the run then waits for the approval, which never comes.
      yield* Effect.sleep("700 millis")
      yield* Child.kill(child)
      assert.deepStrictEqual(lines(counter), ["Researcher started"])

      const restarted = yield* runToEnd([database, counter, "run-2", "signal", "send"])
      assert.deepStrictEqual(restarted, reference)
      assert.deepStrictEqual(lines(counter), ["Researcher started", "publish started", "publish settled"])
    }), 120_000)
})
