import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Durable from "../layers/Durable.js"
import * as Ledger from "../layers/internal/durable/ledger.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Retry from "../src/Retry.js"
import * as Team from "../src/Team.js"
import type * as RunEvent from "../src/RunEvent.js"
import * as Workflow from "../src/Workflow.js"
import * as Child from "./fixtures/childProcess.js"

const fixture = Path.join(Child.root, "test/fixtures/durableAgent.ts")

/** A tool that records each execution and the idempotency key it was given. */
const Append = Tool.make("append", { parameters: { line: Schema.String }, success: Schema.String })
  .annotate(Agent.ReadsIdempotencyKey, true)
const Plain = Tool.make("plain", { success: Schema.String })
const Tools = Toolkit.make(Append, Plain)

const makeTools = (executed: Array<string>) =>
  Tools.toLayer({
    append: ({ line }) => Effect.map(Agent.idempotencyKey, (key) => (executed.push(key), `appended ${line}`)),
    plain: () => Effect.map(Agent.idempotencyKey, (key) => key)
  })

/** The model's first call asks for `append`, its second answers with the tool's result. */
const clerk = (requests: Array<number>) =>
  Agent.make({
    name: "Clerk",
    retry: Retry.none,
    toolkit: Tools,
    model: TestModel.layer((request) => {
      const results = request.prompt.content.flatMap((message) =>
        message.role === "tool" ? message.content.map((part) => String(part.result)) : []
      )
      requests.push(results.length === 0 ? 1 : 2)
      return results.length === 0
        ? TestModel.toolCall("append", { line: request.lastUserText }, { id: "call-1" })
        : TestModel.text(`done: ${results.join(", ")}`, { chunks: 2 })
    })
  })

describe("Agent.idempotencyKey, in process", () => {
  it.effect("a handler reads its call's key, the run's id and the call's id; a tool not annotated to read it dies", () =>
    Effect.gen(function*() {
      const executed: Array<string> = []
      const out = yield* Agent.run(clerk([]), "qubits", { runId: "run-a" }).pipe(Effect.provide(makeTools(executed)))
      assert.strictEqual(out.content, "done: appended qubits")
      assert.deepStrictEqual(executed, ["run-a/tool/call-1"])

      const unannotated = Agent.make({
        name: "Plain",
        retry: Retry.none,
        toolkit: Tools,
        model: TestModel.layer([TestModel.toolCall("plain", {}, { id: "call-1" }), TestModel.text("never")])
      })
      const exit = yield* Effect.exit(Agent.run(unannotated, "x").pipe(Effect.provide(makeTools(executed))))
      assert.isTrue(Exit.isFailure(exit))
      assert.include(Cause.pretty((exit as Exit.Failure<unknown, unknown>).cause), "Agent.ReadsIdempotencyKey")
    }))
})

describe("Durable agent steps, on the in-memory engine", () => {
  const approval = Workflow.signal("approval", Schema.Boolean, { merge: (answer: string, ok: boolean) => `${answer} ${ok}` })
  const workflowOf = (requests: Array<number>) =>
    Workflow.make({
      name: "Clerical",
      input: Schema.String,
      steps: Workflow.sequence(Workflow.agent(clerk(requests)), approval)
    })

  it.live("a run replayed after its signal replays its agent's model and tool calls: none is made again, no text is streamed again", () =>
    Effect.gen(function*() {
      const requests: Array<number> = []
      const executed: Array<string> = []
      const events: Array<RunEvent.RunEvent> = []
      const durable = Durable.make(workflowOf(requests))
      const output = yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          durable.run("qubits", { runId: "replay-1", onEvent: (event) => Effect.sync(() => void events.push(event)) })
        )
        while (!events.some((event) => event._tag === "StepWaiting")) yield* Effect.sleep("10 millis")
        assert.deepStrictEqual(requests, [1, 2])
        yield* durable.send(approval, "replay-1", true)
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(durable.layer), Effect.provide(makeTools(executed)), Effect.provide(Durable.layerMemory))

      assert.strictEqual(output.content, "done: appended qubits true")
      // The body ran again after the signal (the engine replays it): the calls came from storage.
      assert.deepStrictEqual(requests, [1, 2])
      assert.deepStrictEqual(executed, ["replay-1#0/0/tool/call-1"])
      const nested = events.flatMap((event) => event._tag === "StepEvent" ? [event.event] : [])
      assert.deepStrictEqual(
        nested.filter((event) => event._tag === "TextDelta").map((event) => event._tag === "TextDelta" && event.delta),
        ["done: appen", "ded qubits"]
      )
      // Each of the agent's events is reported once, though the replay emitted its start, its model
      // calls' starts and ends and its end again.
      assert.deepStrictEqual(nested.map((event) => event._tag), [
        "RunStarted",
        "ModelRequestStarted",
        "ModelRequestCompleted",
        "ToolCallStarted",
        "ToolCallCompleted",
        "ModelRequestStarted",
        "TextDelta",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.strictEqual(output.metrics.modelCalls, 2)
      const agentStep = output.steps.find((step) => step.step === "Clerk")
      assert.deepStrictEqual(
        agentStep?._tag === "Completed" ? agentStep.run?.toolCalls.map((call) => call.result) : undefined,
        ["appended qubits"]
      )
    }))

  it.live("a tool call id the model gives again in a later turn is another call, settled under its own key", () =>
    Effect.gen(function*() {
      const executed: Array<string> = []
      // TestModel numbers a reply's calls from call_1: both turns' calls are call_1.
      const repeating = Agent.make({
        name: "Repeater",
        retry: Retry.none,
        toolkit: Tools,
        model: TestModel.layer([
          TestModel.toolCall("append", { line: "a" }),
          TestModel.toolCall("append", { line: "b" }),
          TestModel.text("done")
        ])
      })
      const durable = Durable.make(Workflow.make({ name: "Repeating", input: Schema.String, steps: Workflow.agent(repeating) }))
      const output = yield* durable.run("x", { runId: "repeat-1" }).pipe(
        Effect.provide(durable.layer),
        Effect.provide(makeTools(executed)),
        Effect.provide(Durable.layerMemory)
      )
      const step = output.steps[0]
      assert.deepStrictEqual(
        step?._tag === "Completed" ? step.run?.toolCalls.map((call) => [call.id, call.result]) : undefined,
        [["call_1", "appended a"], ["call_1", "appended b"]]
      )
      assert.deepStrictEqual(executed, ["repeat-1#0/tool/call_1", "repeat-1#0/tool/call_1#2"])
    }))

  it.live("the ledger keeps a settled tool call from running again where the engine runs its activity again", () =>
    Effect.gen(function*() {
      // Two engines that know nothing of each other's activities (as after a crash between the
      // handler's return and the activity's result being stored), one ledger.
      const requests: Array<number> = []
      const executed: Array<string> = []
      const durable = Durable.make(Workflow.make({
        name: "Clerical",
        input: Schema.String,
        steps: Workflow.agent(clerk(requests))
      }))
      const ledger = yield* Layer.build(Ledger.layerMemory)
      const once = Effect.scoped(
        durable.run("qubits", { runId: "ledger-1" }).pipe(
          Effect.provide(durable.layer),
          Effect.provide(makeTools(executed)),
          Effect.provide(WorkflowEngine.layerMemory),
          Effect.provide(ledger)
        )
      )
      const first = yield* once
      const second = yield* once
      assert.strictEqual(second.content, first.content)
      assert.strictEqual(first.content, "done: appended qubits")
      // The model calls ran again (the second engine had no result for them); the tool did not.
      assert.deepStrictEqual(requests, [1, 2, 1, 2])
      assert.deepStrictEqual(executed, ["ledger-1#0/tool/call-1"])
    }).pipe(Effect.scoped))
})

describe("Durable team steps, on the in-memory engine", () => {
  /** A routing team's leader: the member `pick` names, or Clerk once that one could not answer. */
  const leaderModel = (pick: string) =>
    TestModel.layer((request) =>
      TestModel.text(request.lastUserText.includes("could not answer") ? `{"member":"Clerk"}` : `{"member":"${pick}"}`)
    )

  it.live("a team's member calls are settled by their place in the team's run: the ledger keeps a member's tool from running again", () =>
    Effect.gen(function*() {
      const requests: Array<number> = []
      const executed: Array<string> = []
      const desk = Team.make({ name: "Desk", mode: "route", members: [clerk(requests)], model: leaderModel("Clerk"), retry: Retry.none })
      const durable = Durable.make(Workflow.make({ name: "Front", input: Schema.String, steps: Workflow.agent(desk) }))
      const ledger = yield* Layer.build(Ledger.layerMemory)
      // Two engines that know nothing of each other's activities, one ledger: the member's tool call
      // is named the same in both (a random member run id would name it anew, and run it again).
      const once = Effect.scoped(
        durable.run("qubits", { runId: "team-1" }).pipe(
          Effect.provide(durable.layer),
          Effect.provide(makeTools(executed)),
          Effect.provide(WorkflowEngine.layerMemory),
          Effect.provide(ledger)
        )
      )
      const first = yield* once
      const second = yield* once
      assert.strictEqual(first.content, "done: appended qubits")
      assert.strictEqual(second.content, first.content)
      assert.deepStrictEqual(requests, [1, 2, 1, 2])
      assert.deepStrictEqual(executed, ["team-1#0/Clerk/1/tool/call-1"])
    }).pipe(Effect.scoped))

  it.live("a team's run replayed after a signal reports its events once and makes no model or tool call again", () =>
    Effect.gen(function*() {
      const requests: Array<number> = []
      const executed: Array<string> = []
      const events: Array<RunEvent.RunEvent> = []
      const approval = Workflow.signal("approval", Schema.Boolean, { merge: (answer: string, ok: boolean) => `${answer} ${ok}` })
      const desk = Team.make({ name: "Desk", mode: "route", members: [clerk(requests)], model: leaderModel("Clerk"), retry: Retry.none })
      const durable = Durable.make(
        Workflow.make({ name: "Front", input: Schema.String, steps: Workflow.sequence(Workflow.agent(desk), approval) })
      )
      const output = yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          durable.run("qubits", { runId: "team-3", onEvent: (event) => Effect.sync(() => void events.push(event)) })
        )
        while (!events.some((event) => event._tag === "StepWaiting")) yield* Effect.sleep("10 millis")
        yield* durable.send(approval, "team-3", true)
        return yield* Fiber.join(fiber)
      }).pipe(Effect.provide(durable.layer), Effect.provide(makeTools(executed)), Effect.provide(Durable.layerMemory))
      assert.strictEqual(output.content, "done: appended qubits true")
      assert.deepStrictEqual(requests, [1, 2])
      assert.deepStrictEqual(executed, ["team-3#0/0/Clerk/1/tool/call-1"])
      const inTeam = events.flatMap((event) => event._tag === "StepEvent" ? [event.event] : [])
      assert.deepStrictEqual(inTeam.filter((event) => event._tag === "RunStarted").length, 1)
      assert.deepStrictEqual(inTeam.filter((event) => event._tag === "MemberRunStarted").length, 1)
      const inMember = inTeam.flatMap((event) => event._tag === "MemberEvent" ? [event.event._tag] : [])
      assert.deepStrictEqual(inMember.filter((tag) => tag === "RunStarted" || tag === "RunCompleted"), ["RunStarted", "RunCompleted"])
      assert.deepStrictEqual(inMember.filter((tag) => tag === "ModelRequestStarted").length, 2)
    }))

  it.live("a routing leader asked again after a member failed makes a model call of its own, not the first one's again", () =>
    Effect.gen(function*() {
      const executed: Array<string> = []
      const broken = Agent.make({ name: "Broken", retry: Retry.none, model: TestModel.layer([TestModel.httpError(500, { body: "down" })]) })
      const desk = Team.make({
        name: "Desk",
        mode: "route",
        members: [broken, clerk([])],
        model: leaderModel("Broken"),
        retry: Retry.none
      })
      const durable = Durable.make(Workflow.make({ name: "Front", input: Schema.String, steps: Workflow.agent(desk) }))
      const output = yield* durable.run("qubits", { runId: "team-2" }).pipe(
        Effect.provide(durable.layer),
        Effect.provide(makeTools(executed)),
        Effect.provide(Durable.layerMemory)
      )
      assert.strictEqual(output.content, "done: appended qubits")
      assert.deepStrictEqual(executed, ["team-2#0/Clerk/2/tool/call-1"])
    }))
})

describe("Durable agent steps, on SQLite, in process", () => {
  it.scopedLive("a tool whose handler runs an agent of its own: the run ends, each model call and the tool made once", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-agent-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const requests: Array<number> = []
      const executed: Array<string> = []
      const inner = clerk(requests)
      const Ask = Tool.make("ask", { parameters: { question: Schema.String }, success: Schema.String })
      const Outer = Toolkit.make(Ask)
      const asked: Array<string> = []
      const OuterLive = Outer.toLayer({
        ask: ({ question }) =>
          Agent.run(inner, question, { runId: "inner-1" }).pipe(
            Effect.map((out) => (asked.push(question), out.content)),
            Effect.provide(makeTools(executed)),
            Effect.orDie
          )
      })
      const durable = Durable.make(Workflow.make({
        name: "Asking",
        input: Schema.String,
        steps: Workflow.agent(Agent.make({
          name: "Asker",
          retry: Retry.none,
          toolkit: Outer,
          model: TestModel.layer((request) =>
            request.prompt.content.some((message) => message.role === "tool")
              ? TestModel.text("asked")
              : TestModel.toolCall("ask", { question: request.lastUserText }, { id: "ask-1" })
          )
        }))
      }))
      const output = yield* durable.run("qubits", { runId: "asking-1" }).pipe(
        Effect.timeout("20 seconds"),
        Effect.provide(durable.layer),
        Effect.provide(OuterLive),
        Effect.provide(Durable.layerSqlite({ filename: Path.join(dir, "runs.db") }))
      )
      assert.strictEqual(output.content, "asked")
      assert.deepStrictEqual(asked, ["qubits"])
      assert.deepStrictEqual(requests, [1, 2])
      // The inner run's key is its own run id's (given here): its calls are settled inside the outer call.
      assert.deepStrictEqual(executed, ["inner-1/tool/call-1"])
    }), 60_000)
})

// -----------------------------------------------------------------------------
// A real crash
// -----------------------------------------------------------------------------

interface Result {
  readonly content: string
  readonly totalTokens: number
  readonly modelCalls: number
  readonly toolCalls: ReadonlyArray<unknown>
  readonly steps: ReadonlyArray<unknown>
}

const spawn = (args: ReadonlyArray<string>) => Child.spawn(fixture, args)

/** Runs the fixture to its end and gives what it printed. */
const runToEnd = (args: ReadonlyArray<string>) =>
  Effect.flatMap(spawn(args), (child) => Child.output<Result>(child, "the workflow", "60 seconds"))

const lines = Child.lines

/** Starts the fixture with `block`, waits for `line` in the counter, and kills it with SIGKILL. */
const killAt = (database: string, counter: string, runId: string, block: string, line: string) =>
  Effect.gen(function*() {
    const child = yield* spawn([database, counter, runId, block])
    yield* Child.until(() => lines(counter).includes(line))
    // Whatever the process would store of the call in flight, it has had the time to.
    yield* Effect.sleep("300 millis")
    yield* Child.kill(child)
  })

const key = "run-1#0/0/tool/call-1"

describe("Durable agent steps, on SQLite, across a SIGKILL", () => {
  it.scopedLive("killed during its second model call, restarted: the tool ran once, the first model call was not made again", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-agent-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const reference = yield* runToEnd([Path.join(dir, "reference.db"), Path.join(dir, "reference.txt"), "run-1"])
      assert.strictEqual(reference.content, "DONE: APPENDED QUBITS")
      assert.deepStrictEqual(lines(Path.join(dir, "reference.txt")), [
        "model 1",
        `tool started ${key}`,
        `tool settled ${key}`,
        "model 2"
      ])

      const database = Path.join(dir, "crash.db")
      const counter = Path.join(dir, "crash.txt")
      yield* killAt(database, counter, "run-1", "block-model", "model 2")
      assert.deepStrictEqual(lines(counter), ["model 1", `tool started ${key}`, `tool settled ${key}`, "model 2"])

      const restarted = yield* runToEnd([database, counter, "run-1"])
      assert.deepStrictEqual(restarted, reference)
      // Settled before the crash: never again. In flight at the crash: once more.
      assert.deepStrictEqual(lines(counter), ["model 1", `tool started ${key}`, `tool settled ${key}`, "model 2", "model 2"])
    }), 120_000)

  it.scopedLive("killed while its tool runs, restarted: the tool runs once more, with the same idempotency key", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-durable-agent-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true })))
      const reference = yield* runToEnd([Path.join(dir, "reference.db"), Path.join(dir, "reference.txt"), "run-1"])

      const database = Path.join(dir, "crash.db")
      const counter = Path.join(dir, "crash.txt")
      yield* killAt(database, counter, "run-1", "block-tool", `tool started ${key}`)
      assert.deepStrictEqual(lines(counter), ["model 1", `tool started ${key}`])

      const restarted = yield* runToEnd([database, counter, "run-1"])
      assert.deepStrictEqual(restarted, reference)
      assert.deepStrictEqual(lines(counter), [
        "model 1",
        `tool started ${key}`,
        `tool started ${key}`,
        `tool settled ${key}`,
        "model 2"
      ])
    }), 120_000)
})
