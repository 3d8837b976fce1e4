import type * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionState from "../services/SessionState.js"
import * as Agent from "../src/Agent.js"
import { type AgentError, WorkflowError } from "../src/AgentError.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"
import * as Run from "../src/Run.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Runnable from "../src/Runnable.js"
import * as Team from "../src/Team.js"
import * as Workflow from "../src/Workflow.js"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

/** An agent that answers with a function of what it was asked, on a model of its own. */
const echo = (name: string, answer: (asked: string) => string, options?: { readonly delay?: Duration.DurationInput }) =>
  Agent.make({
    name,
    retry: Retry.none,
    model: TestModel.layer((request) =>
      TestModel.text(answer(request.lastUserText), {
        usage: { inputTokens: 10, outputTokens: request.lastUserText.length },
        ...(options?.delay !== undefined ? { delay: options.delay } : {})
      })
    )
  })

const collect = <E, R>(stream: Stream.Stream<RunEvent.RunEvent, E, R>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** The steps' own events (no nested ones), as `Started:name`, `Completed:name`, ... */
const stepTrace = (events: ReadonlyArray<RunEvent.RunEvent>) =>
  events.flatMap((event) => {
    switch (event._tag) {
      case "StepStarted":
        return [`Started:${event.step}`]
      case "StepCompleted":
        return [`Completed:${event.step}`]
      case "StepFailed":
        return [`Failed:${event.step}`]
      case "StepWaiting":
        return [`Waiting:${event.signal}`]
      default:
        return []
    }
  })

const completedOutputs = (output: Workflow.WorkflowOutput<unknown>, step: string) =>
  output.steps.flatMap((run) => (run.step === step && run._tag === "Completed" ? [run.output] : []))

/** A step that records its input and gives `f` of it. */
const recordingStep = <I, O>(name: string, seen: Ref.Ref<ReadonlyArray<string>>, f: (input: I) => O) =>
  Workflow.step(name, (input: I) => Effect.as(Ref.update(seen, (all) => [...all, `${name}(${JSON.stringify(input)})`]), f(input)))

/** A step that waits until interrupted, and says so. */
const hanging = (name: string, started: Ref.Ref<ReadonlyArray<string>>, stopped: Ref.Ref<ReadonlyArray<string>>) =>
  Workflow.step(name, (_: string) =>
    Effect.zipRight(
      Ref.update(started, (all) => [...all, name]),
      Effect.onInterrupt(Effect.never, () => Ref.update(stopped, (all) => [...all, name]))
    ))

class Boom extends Schema.TaggedError<Boom>()("Boom", { reason: Schema.String }) {}

// -----------------------------------------------------------------------------
// Sequence and agent steps
// -----------------------------------------------------------------------------

describe("Workflow.sequence", () => {
  it.effect("each step's output is the next one's input, by its type, and the last one's is the workflow's", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const workflow = Workflow.make({
        name: "Numbers",
        input: Schema.Number,
        steps: Workflow.sequence(
          recordingStep("double", seen, (n: number) => n * 2),
          recordingStep("describe", seen, (n: number) => ({ value: n, even: n % 2 === 0 })),
          recordingStep("say", seen, ({ value }: { readonly value: number; readonly even: boolean }) => `got ${value}`)
        )
      })
      const output = yield* Workflow.run(workflow, 21)
      assert.strictEqual(output.content, "got 42")
      assert.deepStrictEqual(yield* Ref.get(seen), ["double(21)", "describe(42)", "say({\"value\":42,\"even\":true})"])
      assert.deepStrictEqual(output.steps.map((run) => run.step), ["double", "describe", "say"])
      assert.deepStrictEqual(completedOutputs(output, "describe"), [{ value: 42, even: true }])
    }))

  it.effect("agent steps: the answer flows on, each run is in the output, and the metrics add up", () =>
    Effect.gen(function*() {
      const researcher = echo("Researcher", (asked) => `notes on ${asked}`)
      const writer = echo("Writer", (asked) => `report from ${asked}`)
      const workflow = Workflow.make({
        name: "Report",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.agent(researcher),
          Workflow.agent(writer, (notes: string) => `Write it up: ${notes}`)
        )
      })
      const output = yield* Workflow.run(workflow, "fibers")
      assert.strictEqual(output.content, "report from Write it up: notes on fibers")
      assert.strictEqual(output.text, output.content)
      const runs = output.steps.flatMap((run) => (run._tag === "Completed" && run.run !== undefined ? [run.run] : []))
      assert.deepStrictEqual(runs.map((run) => run.agent), ["Researcher", "Writer"])
      const sum = runs.reduce((total, run) => Run.combineMetrics(total, run.metrics), Run.emptyMetrics)
      assert.strictEqual(output.metrics.modelCalls, 2)
      assert.strictEqual(output.metrics.inputTokens, sum.inputTokens)
      assert.strictEqual(output.metrics.outputTokens, sum.outputTokens)
      assert.strictEqual(output.metrics.totalTokens, sum.totalTokens)
      assert.strictEqual(output.metrics.outputTokens, "fibers".length + "Write it up: notes on fibers".length)
    }))

  it.effect("one event stream: each step's start and end, the agents' events nested, then the completed run", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "Two",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.agent(echo("First", (asked) => `1:${asked}`)),
          Workflow.agent(echo("Second", (asked) => `2:${asked}`))
        )
      })
      const events = yield* collect(Workflow.stream(workflow, "go", { runId: "run-1" }))
      assert.strictEqual(events[0]!._tag, "RunStarted")
      assert.strictEqual(events.at(-1)!._tag, "RunCompleted")
      assert.deepStrictEqual(stepTrace(events), ["Started:First", "Completed:First", "Started:Second", "Completed:Second"])
      const nested = events.filter((event): event is RunEvent.StepEvent => event._tag === "StepEvent")
      const started = events.filter((event): event is RunEvent.StepStarted => event._tag === "StepStarted")
      const text = nested.flatMap((event) => (event.event._tag === "TextDelta" ? [`${event.step}:${event.event.delta}`] : []))
      assert.deepStrictEqual(text, ["First:1:go", "Second:2:1:go"])
      // The agent's run id is its step's id; every event is the workflow run's.
      for (const event of nested) {
        assert.strictEqual(event.runId, "run-1")
        assert.strictEqual(event.event.runId, event.stepId)
        assert.include(started.map((s) => s.stepId), event.stepId)
      }
      // The events go over the wire as they are.
      const encoded = Schema.encodeSync(Schema.Array(RunEvent.RunEvent))(events)
      const decoded = Schema.decodeUnknownSync(Schema.Array(RunEvent.RunEvent))(JSON.parse(JSON.stringify(encoded)))
      assert.deepStrictEqual(decoded.map((event) => event._tag), events.map((event) => event._tag))
    }))

  it.effect("a plain step's error fails the typed run as it is, and the runnable's run as a WorkflowError carrying it", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "Fragile",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.step("fine", (text: string) => Effect.succeed(text)),
          Workflow.step("explode", (_: string) => Effect.fail(new Boom({ reason: "no fuel" })))
        )
      })
      const typed = yield* Effect.flip(Workflow.run(workflow, "x"))
      assert.instanceOf(typed, Boom)
      const events: Array<RunEvent.RunEvent> = []
      const protocol = yield* Effect.flip(
        Runnable.run(workflow, "x", { onEvent: (event) => Effect.sync(() => void events.push(event)) })
      )
      assert.instanceOf(protocol, WorkflowError)
      const error = protocol as WorkflowError
      assert.strictEqual(error.reason, "StepFailed")
      assert.strictEqual(error.step, "explode")
      assert.instanceOf(error.cause, Boom)
      assert.include(error.message, "no fuel")
      assert.deepStrictEqual(stepTrace(events), ["Started:fine", "Completed:fine", "Started:explode", "Failed:explode"])
      assert.strictEqual(events.at(-1)!._tag, "RunFailed")
    }))
})

// -----------------------------------------------------------------------------
// Parallel
// -----------------------------------------------------------------------------

describe("Workflow.parallel", () => {
  it.effect("results in the order of the steps, whatever order they finish in", () =>
    Effect.gen(function*() {
      const finished = yield* Ref.make<ReadonlyArray<string>>([])
      const slow = (name: string, seconds: number) =>
        Workflow.step(name, (text: string) =>
          Effect.sleep(Duration.seconds(seconds)).pipe(
            Effect.zipRight(Ref.update(finished, (all) => [...all, name])),
            Effect.as(`${name}:${text}`)
          ))
      const workflow = Workflow.make({
        name: "Fan",
        input: Schema.String,
        steps: Workflow.parallel([slow("a", 3), slow("b", 1), slow("c", 2)])
      })
      const fiber = yield* Effect.fork(Workflow.run(workflow, "x"))
      yield* TestClock.adjust("3 seconds")
      const output = yield* Fiber.join(fiber)
      assert.deepStrictEqual(output.content, ["a:x", "b:x", "c:x"])
      assert.deepStrictEqual(yield* Ref.get(finished), ["b", "c", "a"])
    }))

  it.effect("runs at most `concurrency` branches at a time", () =>
    Effect.gen(function*() {
      const running = yield* Ref.make(0)
      const most = yield* Ref.make(0)
      const branch = (i: number) =>
        Workflow.step(`b${i}`, (_: string) =>
          Effect.acquireUseRelease(
            Effect.flatMap(Ref.updateAndGet(running, (n) => n + 1), (now) => Ref.update(most, (m) => Math.max(m, now))),
            () => Effect.as(Effect.sleep("1 second"), i),
            () => Ref.update(running, (n) => n - 1)
          ))
      const workflow = Workflow.make({
        name: "Bounded",
        input: Schema.String,
        steps: Workflow.parallel([branch(1), branch(2), branch(3), branch(4), branch(5)], { concurrency: 2 })
      })
      const fiber = yield* Effect.fork(Workflow.run(workflow, "x"))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Ref.get(most), 2)
      yield* TestClock.adjust("2 seconds")
      const output = yield* Fiber.join(fiber)
      assert.deepStrictEqual(output.content, [1, 2, 3, 4, 5])
      assert.strictEqual(yield* Ref.get(most), 2)
    }))

  it.effect("a parallel step's inner outputs are all kept: nested steps, agents' runs and their metrics", () =>
    Effect.gen(function*() {
      const branch = (name: string) =>
        Workflow.sequence(
          Workflow.agent(echo(name, (asked) => `${name} found ${asked}`)),
          Workflow.step(`${name} tidy`, (found: string) => Effect.succeed(found.toUpperCase()))
        )
      const workflow = Workflow.make({
        name: "Research",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.parallel([branch("Web"), branch("News")], { name: "search" }),
          Workflow.step("join", ([web, news]: readonly [string, string]) => Effect.succeed(`${web} + ${news}`))
        )
      })
      const output = yield* Workflow.run(workflow, "qubits")
      assert.strictEqual(output.content, "WEB FOUND QUBITS + NEWS FOUND QUBITS")
      assert.deepStrictEqual(completedOutputs(output, "search"), [["WEB FOUND QUBITS", "NEWS FOUND QUBITS"]])
      assert.deepStrictEqual(completedOutputs(output, "Web"), ["Web found qubits"])
      assert.deepStrictEqual(completedOutputs(output, "News tidy"), ["NEWS FOUND QUBITS"])
      const search = output.steps.find((run) => run.step === "search")!
      for (const name of ["Web", "News", "Web tidy", "News tidy"]) {
        assert.strictEqual(output.steps.find((run) => run.step === name)!.parentStepId, search.stepId)
      }
      assert.strictEqual(output.metrics.modelCalls, 2)
    }))

  it.effect.prop(
    "any timing of the branches, any bound: outputs in the steps' order, every inner output kept, the bound held",
    {
      delays: FastCheck.array(FastCheck.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
      concurrency: FastCheck.integer({ min: 1, max: 6 })
    },
    ({ concurrency, delays }) =>
      Effect.gen(function*() {
        let running = 0
        let most = 0
        const branch = (i: number) =>
          Workflow.sequence(
            Workflow.step(`wait ${i}`, (text: string) =>
              Effect.acquireUseRelease(
                Effect.sync(() => {
                  running++
                  most = Math.max(most, running)
                }),
                () => Effect.as(Effect.sleep(Duration.seconds(delays[i]!)), `${text}${i}`),
                () => Effect.sync(() => void running--)
              )),
            Workflow.step(`tag ${i}`, (text: string) => Effect.succeed(`<${text}>`))
          )
        const steps = delays.map((_, i) => branch(i)) as unknown as [Workflow.Step<string, string>]
        const workflow = Workflow.make({
          name: "Fan",
          input: Schema.String,
          steps: Workflow.parallel(steps, { concurrency })
        })
        const fiber = yield* Effect.fork(Workflow.run(workflow, "x"))
        yield* TestClock.adjust(Duration.seconds(5 * delays.length + 1))
        const output = yield* Fiber.join(fiber)
        const expected = delays.map((_, i) => `<x${i}>`)
        assert.deepStrictEqual(output.content, expected)
        for (let i = 0; i < delays.length; i++) {
          assert.deepStrictEqual(completedOutputs(output, `tag ${i}`), [expected[i]])
        }
        assert.isAtMost(most, concurrency)
        assert.strictEqual(most, Math.min(concurrency, delays.length))
      })
  )

  it.effect("onFailure: \"fail\" interrupts the other branches and fails with the branch's error", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make<ReadonlyArray<string>>([])
      const stopped = yield* Ref.make<ReadonlyArray<string>>([])
      const workflow = Workflow.make({
        name: "AllOrNothing",
        input: Schema.String,
        steps: Workflow.parallel([
          hanging("wait", started, stopped),
          Workflow.step("explode", (_: string) => Effect.zipRight(Effect.sleep("1 second"), Effect.fail(new Boom({ reason: "x" }))))
        ])
      })
      const fiber = yield* Effect.fork(Workflow.run(workflow, "x"))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && Option.getOrUndefined(Cause.failureOption(exit.cause)) instanceof Boom)
      assert.deepStrictEqual(yield* Ref.get(stopped), ["wait"])
    }))

  it.effect("onFailure: \"either\" lets every branch finish and keeps each result, a failure as its Left", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "BestEffort",
        input: Schema.String,
        steps: Workflow.parallel([
          Workflow.step("slow", (text: string) => Effect.as(Effect.sleep("2 seconds"), `slow:${text}`)),
          Workflow.step("explode", (_: string) => Effect.fail(new Boom({ reason: "x" }))),
          Workflow.agent(echo("Agent", (asked) => `agent:${asked}`))
        ], { onFailure: "either" })
      })
      const fiber = yield* Effect.fork(Workflow.run(workflow, "x"))
      yield* TestClock.adjust("2 seconds")
      const output = yield* Fiber.join(fiber)
      const [slow, explode, agent] = output.content
      assert.deepStrictEqual(slow, Either.right("slow:x"))
      assert.isTrue(Either.isLeft(explode) && explode.left instanceof Boom)
      assert.deepStrictEqual(agent, Either.right("agent:x"))
      assert.deepStrictEqual(output.steps.map((run) => `${run.step}:${run._tag}`).sort(), [
        "Agent:Completed",
        "explode:Failed",
        "parallel:Completed",
        "slow:Completed"
      ])
    }))

  it.effect("branches' changes to the session state are all kept after the step (none is reverted)", () =>
    Effect.gen(function*() {
      const Visited = SessionState.key("visited", Schema.Array(Schema.String), [])
      const visit = (name: string, seconds: number) =>
        Workflow.step(name, (_: string) =>
          Effect.zipRight(Effect.sleep(Duration.seconds(seconds)), SessionState.update(Visited, (all) => [...all, name])))
      const workflow = Workflow.make({
        name: "Visits",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.parallel([visit("a", 2), visit("b", 1), visit("c", 3)]),
          Workflow.step("read", (_: ReadonlyArray<ReadonlyArray<string>>) => SessionState.get(Visited))
        )
      })
      const fiber = yield* Effect.fork(
        Runnable.run(workflow, "go", { sessionId: "s1", userId: "u1" }).pipe(Effect.provide(SessionStoreMemory.layer))
      )
      yield* TestClock.adjust("3 seconds")
      const output = yield* Fiber.join(fiber)
      assert.deepStrictEqual(output.content, ["b", "a", "c"])
    }))
})

// -----------------------------------------------------------------------------
// Condition, loop, router
// -----------------------------------------------------------------------------

describe("Workflow.condition", () => {
  const short = Workflow.step("short", (text: string) => Effect.succeed(`short:${text}`))
  const long = Workflow.step("long", (text: string) => Effect.succeed(`long:${text.length}`))
  const workflow = Workflow.make({
    name: "Size",
    input: Schema.String,
    steps: Workflow.condition({ when: (text: string) => text.length < 5, then: short, else: long })
  })

  it.effect("runs `then` when the predicate holds, and `else` when it does not", () =>
    Effect.gen(function*() {
      const yes = yield* Workflow.run(workflow, "hi")
      assert.strictEqual(yes.content, "short:hi")
      assert.deepStrictEqual(yes.steps.map((run) => run.step), ["condition", "short"])
      const no = yield* Workflow.run(workflow, "a long text")
      assert.strictEqual(no.content, "long:11")
      assert.deepStrictEqual(no.steps.map((run) => run.step), ["condition", "long"])
    }))

  it.effect("without `else`, the input passes through; the predicate may be an Effect", () =>
    Effect.gen(function*() {
      const asked = yield* Ref.make(0)
      const maybe = Workflow.make({
        name: "Maybe",
        input: Schema.String,
        steps: Workflow.condition({
          when: (text: string) => Effect.as(Ref.update(asked, (n) => n + 1), text.startsWith("!")),
          then: Workflow.step("shout", (text: string) => Effect.succeed(text.toUpperCase()))
        })
      })
      assert.strictEqual((yield* Workflow.run(maybe, "!hey")).content, "!HEY")
      assert.strictEqual((yield* Workflow.run(maybe, "hey")).content, "hey")
      assert.strictEqual(yield* Ref.get(asked), 2)
    }))
})

describe("Workflow.loop", () => {
  it.effect("each iteration gets the previous iteration's output, until the predicate holds", () =>
    Effect.gen(function*() {
      const seen = yield* Ref.make<ReadonlyArray<string>>([])
      const iterations = yield* Ref.make<ReadonlyArray<number>>([])
      const workflow = Workflow.make({
        name: "Grow",
        input: Schema.Number,
        steps: Workflow.loop(recordingStep("double", seen, (n: number) => n * 2), {
          until: (n, iteration) => Effect.as(Ref.update(iterations, (all) => [...all, iteration]), n > 20),
          maxIterations: 10
        })
      })
      const output = yield* Workflow.run(workflow, 3)
      assert.strictEqual(output.content, 24)
      assert.deepStrictEqual(yield* Ref.get(seen), ["double(3)", "double(6)", "double(12)"])
      assert.deepStrictEqual(yield* Ref.get(iterations), [1, 2, 3])
      assert.deepStrictEqual(completedOutputs(output, "double"), [6, 12, 24])
    }))

  it.effect("stops after maxIterations with the last output; an agent in a loop reads its own last answer", () =>
    Effect.gen(function*() {
      const editor = echo("Editor", (asked) => `${asked}+`)
      const workflow = Workflow.make({
        name: "Edit",
        input: Schema.String,
        steps: Workflow.loop(Workflow.agent(editor), { until: () => false, maxIterations: 3 })
      })
      const output = yield* Workflow.run(workflow, "draft")
      assert.strictEqual(output.content, "draft+++")
      assert.deepStrictEqual(completedOutputs(output, "Editor"), ["draft+", "draft++", "draft+++"])
      assert.strictEqual(output.metrics.modelCalls, 3)
    }))
})

describe("Workflow.router", () => {
  const refund = Workflow.step("refund", (text: string) => Effect.succeed(`refund for ${text}`), {
    description: "Money back for an order"
  })
  const question = Workflow.step("question", (text: string) => Effect.succeed(`answer to ${text}`), {
    description: "A question about a product"
  })

  it.effect("runs the route a function chooses", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "Desk",
        input: Schema.String,
        steps: Workflow.router({
          routes: { refund, question },
          choose: (text: string) => (text.includes("refund") ? "refund" : "question")
        })
      })
      assert.strictEqual((yield* Workflow.run(workflow, "a refund please")).content, "refund for a refund please")
      const other = yield* Workflow.run(workflow, "is it blue?")
      assert.strictEqual(other.content, "answer to is it blue?")
      assert.deepStrictEqual(other.steps.map((run) => run.step), ["router", "question"])
    }))

  it.effect("runs the route a model chooses, from the routes' descriptions", () =>
    Effect.gen(function*() {
      const prompts: Array<string> = []
      const model = TestModel.layer((request) => {
        prompts.push(request.system ?? "")
        return TestModel.text(JSON.stringify({ route: "refund" }), { usage: { inputTokens: 7, outputTokens: 3 } })
      })
      const workflow = Workflow.make({
        name: "Desk",
        input: Schema.String,
        steps: Workflow.router({ name: "triage", routes: { refund, question }, choose: Workflow.chooseByModel({ model }) })
      })
      const events = yield* collect(Workflow.stream(workflow, "my order broke"))
      const done = events.at(-1) as RunEvent.RunCompleted
      assert.strictEqual(done.output.content, "refund for my order broke")
      assert.include(prompts[0]!, "- refund: Money back for an order")
      assert.include(prompts[0]!, "- question: A question about a product")
      assert.strictEqual(done.output.metrics.modelCalls, 1)
      assert.strictEqual(done.output.metrics.totalTokens, 10)
      assert.isTrue(events.some((event) => event._tag === "StepEvent" && event.step === "triage"))
      assert.deepStrictEqual(stepTrace(events), ["Started:triage", "Started:refund", "Completed:refund", "Completed:triage"])
    }))
})

// -----------------------------------------------------------------------------
// Signals
// -----------------------------------------------------------------------------

describe("Workflow.signal", () => {
  const Review = Schema.Struct({ approved: Schema.Boolean })
  const review = Workflow.signal("review", Review, { merge: (draft: string, { approved }) => ({ draft, approved }) })
  const workflow = Workflow.make({
    name: "Publish",
    input: Schema.String,
    steps: Workflow.sequence(
      Workflow.step("draft", (topic: string) => Effect.succeed(`draft on ${topic}`)),
      review,
      Workflow.condition({
        when: ({ approved }: { readonly draft: string; readonly approved: boolean }) => approved,
        then: Workflow.step("publish", ({ draft }: { readonly draft: string }) => Effect.succeed(`published ${draft}`)),
        else: Workflow.step("discard", ({ draft }: { readonly draft: string }) => Effect.succeed(`discarded ${draft}`))
      })
    )
  })

  it.effect("waits for the value sent to the run, then goes on with it", () =>
    Effect.gen(function*() {
      const waiting = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Workflow.run(workflow, "fibers", {
        runId: "r1",
        onEvent: (event) => (event._tag === "StepWaiting" ? Deferred.succeed(waiting, undefined) : Effect.void)
      }))
      yield* Deferred.await(waiting)
      assert.deepStrictEqual(yield* Workflow.waiting, [{ runId: "r1", signal: "review" }])
      yield* Workflow.send(review, "r1", { approved: false })
      const output = yield* Fiber.join(fiber)
      assert.strictEqual(output.content, "discarded draft on fibers")
      assert.deepStrictEqual(yield* Workflow.waiting, [])
      // The run is over: a signal for it is refused, and says why.
      const late = yield* Effect.flip(Workflow.send(review, "r1", { approved: true }))
      assert.strictEqual(late._tag, "SignalError")
      assert.strictEqual((late as Workflow.SignalError).reason, "NotRunning")
      assert.include(late.message, "check the run id")
    }).pipe(Effect.provideService(Workflow.Signals, Workflow.makeSignals())))

  it.effect("a value sent before the step waits is kept for it; a value that does not match is refused", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const slow = Workflow.make({
        name: "Slow",
        input: Schema.String,
        steps: Workflow.sequence(Workflow.step("first", (text: string) => Effect.as(Deferred.await(gate), text)), review)
      })
      const fiber = yield* Effect.fork(Workflow.run(slow, "x", { runId: "r2" }))
      yield* Effect.yieldNow()
      const invalid = yield* Effect.flip(Workflow.send(review, "r2", { approved: "yes" } as never))
      assert.strictEqual(invalid._tag, "ParseError")
      yield* Workflow.send(review, "r2", { approved: true })
      const twice = yield* Effect.flip(Workflow.send(review, "r2", { approved: false }))
      assert.strictEqual((twice as Workflow.SignalError).reason, "AlreadySent")
      yield* Deferred.succeed(gate, undefined)
      const output = yield* Fiber.join(fiber)
      assert.deepStrictEqual(output.content, { draft: "x", approved: true })
    }).pipe(Effect.provideService(Workflow.Signals, Workflow.makeSignals())))
})

// -----------------------------------------------------------------------------
// As a runnable
// -----------------------------------------------------------------------------

describe("Workflow as a runnable", () => {
  const Order = Schema.Struct({ item: Schema.String, quantity: Schema.Number })
  const orders = Workflow.make({
    name: "Orders",
    input: Order,
    output: Schema.Struct({ total: Schema.Number }),
    steps: Workflow.step("price", ({ quantity }: { readonly item: string; readonly quantity: number }) =>
      Effect.succeed({ total: quantity * 3 }))
  })

  it.effect("its input is decoded from JSON text with its schema, and its answer's text is the output's JSON", () =>
    Effect.gen(function*() {
      const output = yield* Runnable.run(orders, JSON.stringify({ item: "tea", quantity: 2 }))
      assert.deepStrictEqual(output.content, { total: 6 })
      assert.strictEqual(output.text, "{\"total\":6}")
      assert.strictEqual(orders.kind, "workflow")
    }))

  it.effect("an input that does not decode is an InvalidInput error that says what was expected", () =>
    Effect.gen(function*() {
      const notJson = yield* Effect.flip(Runnable.run(orders, "two teas"))
      assert.instanceOf(notJson, WorkflowError)
      assert.strictEqual((notJson as WorkflowError).reason, "InvalidInput")
      assert.include(notJson.message, "send it as JSON")
      const wrong = yield* Effect.flip(Runnable.run(orders, JSON.stringify({ item: "tea" })))
      assert.strictEqual((wrong as WorkflowError).reason, "InvalidInput")
      assert.include(wrong.message, "quantity")
    }))

  it.effect("a workflow is a step of another (its steps nest under it) and a team's member", () =>
    Effect.gen(function*() {
      const inner = Workflow.make({
        name: "Inner",
        input: Schema.String,
        steps: Workflow.step("shout", (text: string) => Effect.succeed(text.toUpperCase()))
      })
      const outer = Workflow.make({
        name: "Outer",
        input: Schema.String,
        steps: Workflow.sequence(inner, Workflow.step("mark", (text: string) => Effect.succeed(`${text}!`)))
      })
      const output = yield* Workflow.run(outer, "hey")
      assert.strictEqual(output.content, "HEY!")
      const innerRun = output.steps.find((run) => run.step === "Inner")!
      assert.strictEqual(output.steps.find((run) => run.step === "shout")!.parentStepId, innerRun.stepId)

      const team = Team.make({ name: "Desk", mode: "route", members: [inner] })
      const answer = yield* Team.run(team, "quiet").pipe(
        Effect.provide(TestModel.layer([TestModel.text(JSON.stringify({ member: "Inner" }))]))
      )
      assert.strictEqual(answer.content, "QUIET")
    }))

  it.scopedLive("the HTTP app serves it like an agent: its input as JSON text, its events as SSE", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "Orders",
        input: Order,
        steps: Workflow.sequence(
          Workflow.step("price", ({ item, quantity }: { readonly item: string; readonly quantity: number }) =>
            Effect.succeed(`${quantity} ${item} cost ${quantity * 3}`)),
          Workflow.agent(echo("Clerk", (asked) => `Receipt: ${asked}`))
        )
      })
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provide(Registry.layer([workflow])),
          Layer.provideMerge(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const post = (input: string) =>
        Effect.promise(async () => {
          const response = await fetch(`${url}/agents/Orders/runs`, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "text/event-stream" },
            body: JSON.stringify({ input })
          })
          return { status: response.status, text: await response.text() }
        })
      const decode = Schema.decodeSync(Schema.parseJson(RunEvent.RunEvent))
      const response = yield* post(JSON.stringify({ item: "tea", quantity: 2 }))
      assert.strictEqual(response.status, 200)
      const events = response.text.split("\n\n").flatMap((block) =>
        block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => decode(line.slice(6)))
      )
      assert.deepStrictEqual(stepTrace(events), ["Started:price", "Completed:price", "Started:Clerk", "Completed:Clerk"])
      assert.isTrue(events.some((event) => event._tag === "StepEvent" && event.event._tag === "TextDelta"))
      const last = events.at(-1)!
      assert.strictEqual(last._tag, "RunCompleted")
      assert.strictEqual((last as RunEvent.RunCompleted).output.content, "Receipt: 2 tea cost 6")
      const invalid = yield* post("two teas")
      assert.include(invalid.text, "InvalidInput")
      assert.include(invalid.text, "send it as JSON")
      // Asked for JSON, input the workflow does not take is the client's mistake: 400, saying why.
      const json = yield* Effect.promise(async () => {
        const response = await fetch(`${url}/agents/Orders/runs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: "two teas" })
        })
        return { status: response.status, body: await response.json() as { _tag: string; message: string } }
      })
      assert.strictEqual(json.status, 400)
      assert.strictEqual(json.body._tag, "InvalidRunInput")
      assert.include(json.body.message, "send it as JSON")
    }))

  it.effect("printStream shows each step as it ends, and the answer", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const workflow = Workflow.make({
        name: "Print",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.agent(echo("Writer", (asked) => `about ${asked}`)),
          Workflow.step("polish", (text: string) => Effect.succeed(`${text}.`))
        )
      })
      yield* Runnable.printResponse(workflow, "tea", {
        stream: true,
        color: false,
        write: (text) => Effect.sync(() => void written.push(text))
      })
      const out = written.join("")
      assert.include(out, "Writer")
      assert.include(out, "polish")
      assert.include(out, "about tea.")
      assert.isBelow(out.indexOf("Writer"), out.indexOf("polish"))
    }))
})

// -----------------------------------------------------------------------------
// Interruption
// -----------------------------------------------------------------------------

describe("interrupting a workflow", () => {
  const interruptWhen = <E>(
    workflow: Workflow.Workflow<string, unknown, E, never>,
    ready: (started: ReadonlyArray<string>) => boolean,
    started: Ref.Ref<ReadonlyArray<string>>
  ) =>
    Effect.gen(function*() {
      const events: Array<RunEvent.RunEvent> = []
      const fiber = yield* Effect.fork(
        Workflow.run(workflow, "x", { onEvent: (event) => Effect.sync(() => void events.push(event)) })
      )
      while (!ready(yield* Ref.get(started))) yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isInterrupted(exit))
      return events
    })

  it.effect("in a sequence: the running step stops and no later step starts", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make<ReadonlyArray<string>>([])
      const stopped = yield* Ref.make<ReadonlyArray<string>>([])
      const workflow = Workflow.make({
        name: "Seq",
        input: Schema.String,
        steps: Workflow.sequence(hanging("one", started, stopped), Workflow.step("two", (_: void) => Effect.succeed("never")))
      })
      const events = yield* interruptWhen(workflow, (s) => s.length === 1, started)
      assert.deepStrictEqual(yield* Ref.get(stopped), ["one"])
      assert.deepStrictEqual(stepTrace(events), ["Started:one"])
    }))

  it.effect("in an agent step: the model call is interrupted", () =>
    Effect.gen(function*() {
      const slow = echo("Slow", (asked) => asked, { delay: "1 hour" })
      const workflow = Workflow.make({ name: "Agentic", input: Schema.String, steps: Workflow.agent(slow) })
      const events: Array<RunEvent.RunEvent> = []
      const fiber = yield* Effect.fork(Workflow.run(workflow, "x", { onEvent: (e) => Effect.sync(() => void events.push(e)) }))
      yield* TestClock.adjust("1 minute")
      assert.isTrue(events.some((e) => e._tag === "StepEvent" && e.event._tag === "ModelRequestStarted"))
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
      assert.isFalse(events.some((e) => e._tag === "StepCompleted" || e._tag === "RunCompleted"))
    }))

  it.effect("in a parallel step: every branch stops", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make<ReadonlyArray<string>>([])
      const stopped = yield* Ref.make<ReadonlyArray<string>>([])
      const workflow = Workflow.make({
        name: "Par",
        input: Schema.String,
        steps: Workflow.parallel([hanging("a", started, stopped), hanging("b", started, stopped), hanging("c", started, stopped)])
      })
      yield* interruptWhen(workflow, (s) => s.length === 3, started)
      assert.deepStrictEqual([...(yield* Ref.get(stopped))].sort(), ["a", "b", "c"])
    }))

  it.effect("in a condition's branch, a loop's iteration and a router's route: the running step stops", () =>
    Effect.gen(function*() {
      const started = yield* Ref.make<ReadonlyArray<string>>([])
      const stopped = yield* Ref.make<ReadonlyArray<string>>([])
      const cond = Workflow.make({
        name: "Cond",
        input: Schema.String,
        steps: Workflow.condition({
          when: () => false,
          then: Workflow.step("then", (text: string) => Effect.succeed(text)),
          else: hanging("else", started, stopped)
        })
      })
      yield* interruptWhen(cond, (s) => s.includes("else"), started)
      const iterations = yield* Ref.make(0)
      const looped = Workflow.make({
        name: "Loop",
        input: Schema.String,
        steps: Workflow.loop(
          Workflow.step("turn", (text: string) =>
            Effect.flatMap(Ref.updateAndGet(iterations, (n) => n + 1), (n) =>
              n < 3 ? Effect.succeed(text) : Effect.zipRight(
                Ref.update(started, (all) => [...all, "turn3"]),
                Effect.onInterrupt(Effect.never, () => Ref.update(stopped, (all) => [...all, "turn3"]))
              ))),
          { until: () => false, maxIterations: 5 }
        )
      })
      yield* interruptWhen(looped, (s) => s.includes("turn3"), started)
      const routed = Workflow.make({
        name: "Route",
        input: Schema.String,
        steps: Workflow.router({ routes: { only: hanging("route", started, stopped) }, choose: () => "only" as const })
      })
      yield* interruptWhen(routed, (s) => s.includes("route"), started)
      assert.deepStrictEqual(yield* Ref.get(stopped), ["else", "turn3", "route"])
      assert.strictEqual(yield* Ref.get(iterations), 3)
    }))

  it.effect("while a signal step waits: the wait stops and the run takes no more signals", () =>
    Effect.gen(function*() {
      const signal = Workflow.signal("go", Schema.String)
      const workflow = Workflow.make({ name: "Wait", input: Schema.String, steps: signal })
      const waiting = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Workflow.run(workflow, "x", {
        runId: "w1",
        onEvent: (event) => (event._tag === "StepWaiting" ? Deferred.succeed(waiting, undefined) : Effect.void)
      }))
      yield* Deferred.await(waiting)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
      assert.deepStrictEqual(yield* Workflow.waiting, [])
      const refused = yield* Effect.flip(Workflow.send(signal, "w1", "late"))
      assert.strictEqual((refused as Workflow.SignalError).reason, "NotRunning")
    }).pipe(Effect.provideService(Workflow.Signals, Workflow.makeSignals())))
})

// -----------------------------------------------------------------------------
// Types
// -----------------------------------------------------------------------------

describe("types", () => {
  it("steps, workflows and runs infer their input, output, errors and requirements exactly", () => {
    class Db extends Schema.TaggedClass<Db>()("Db", {}) {}
    const load = Workflow.step("load", (id: number) => Effect.succeed({ id, name: "tea" }) as Effect.Effect<
      { readonly id: number; readonly name: string },
      Boom,
      Db
    >)
    expectTypeOf(load).toEqualTypeOf<Workflow.Step<number, { readonly id: number; readonly name: string }, Boom, Db>>()
    const writer = Agent.make({ name: "Writer" })
    const describeIt = Workflow.agent(writer, ({ name }: { readonly name: string }) => `Describe ${name}`)
    expectTypeOf(describeIt).toEqualTypeOf<
      Workflow.Step<{ readonly name: string }, string, AgentError, LanguageModel.LanguageModel>
    >()
    const both = Workflow.parallel([describeIt, Workflow.step("id", ({ id }: { readonly id: number }) => Effect.succeed(id))])
    expectTypeOf(both).toEqualTypeOf<
      Workflow.Step<
        { readonly name: string } & { readonly id: number },
        [string, number],
        AgentError,
        LanguageModel.LanguageModel
      >
    >()
    const settled = Workflow.parallel([load], { onFailure: "either" })
    expectTypeOf(settled).toEqualTypeOf<
      Workflow.Step<number, [Either.Either<{ readonly id: number; readonly name: string }, Boom>], never, Db>
    >()
    const flow = Workflow.make({ name: "Flow", input: Schema.Number, steps: Workflow.sequence(load, both) })
    expectTypeOf(flow).toEqualTypeOf<
      Workflow.Workflow<number, [string, number], Boom | AgentError, Db | LanguageModel.LanguageModel>
    >()
    expectTypeOf(Workflow.run(flow, 1)).toEqualTypeOf<
      Effect.Effect<
        Workflow.WorkflowOutput<[string, number]>,
        Boom | AgentError,
        Db | LanguageModel.LanguageModel
      >
    >()
    expectTypeOf(Runnable.run(flow, "1")).toEqualTypeOf<
      Effect.Effect<Run.Output<[string, number]>, AgentError, Db | LanguageModel.LanguageModel>
    >()
    const cond = Workflow.condition({
      when: (n: number) => Effect.succeed(n > 1) as Effect.Effect<boolean, "no", "svc">,
      then: Workflow.step("s", (n: number) => Effect.succeed(String(n)))
    })
    expectTypeOf(cond).toEqualTypeOf<Workflow.Step<number, string | number, "no", "svc">>()
    const routed = Workflow.router({
      routes: { a: load, b: Workflow.step("b", (n: number) => Effect.succeed(n)) },
      choose: (n) => (n > 1 ? "a" : "b")
    })
    expectTypeOf(routed).toEqualTypeOf<
      Workflow.Step<number, { readonly id: number; readonly name: string } | number, Boom, Db>
    >()
    const byModel = Workflow.router({ routes: { a: load }, choose: Workflow.chooseByModel<number>() })
    expectTypeOf(byModel).toEqualTypeOf<
      Workflow.Step<
        number,
        { readonly id: number; readonly name: string },
        Boom | AgentError,
        Db | LanguageModel.LanguageModel
      >
    >()
    const looped = Workflow.loop(Workflow.step("inc", (n: number) => Effect.succeed(n + 1)), { until: (n) => n > 3 })
    expectTypeOf(looped).toEqualTypeOf<Workflow.Step<number, number, never, never>>()
    const sent = Workflow.send(Workflow.signal("s", Schema.Number), "run", 1)
    expectTypeOf(sent).toEqualTypeOf<Effect.Effect<void, Workflow.SignalError | ParseResult.ParseError>>()
    // @ts-expect-error: a number does not flow into a step that takes a string
    Workflow.sequence(load, Workflow.step("t", (text: string) => Effect.succeed(text)))
    // @ts-expect-error: a routed key must be one of the routes
    Workflow.router({ routes: { a: load }, choose: () => "b" })
  })
})
