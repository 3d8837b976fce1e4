import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import { type AgentError, ModelError, RunTimeout, ToolError } from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"
import type * as Run from "../src/Run.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Team from "../src/Team.js"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens })

/** The leader's delegation call, as a model would make it. */
const delegate = (member: string, task: string, id?: string): TestModel.ToolCall => ({
  name: "delegate_task_to_member",
  params: { member, task },
  id
})

/** An agent on a scripted model of its own: each of its runs starts the script again. */
const scripted = (name: string, replies: ReadonlyArray<TestModel.Reply>, role = `The ${name}`) =>
  Agent.make({ name, role, model: TestModel.layer(replies), retry: Retry.none })

/** A model that records what it is asked, so a test can see what each agent was sent. */
const recording = (script: (request: TestModel.Request) => TestModel.Reply) =>
  Effect.map(Ref.make<ReadonlyArray<TestModel.Request>>([]), (seen) => ({
    model: TestModel.layer((request) => Effect.as(Ref.update(seen, (all) => [...all, request]), script(request))),
    requests: Ref.get(seen)
  }))

const Lookup = Tool.make("lookup", { parameters: { query: Schema.String }, success: Schema.String })
const LookupTools = Toolkit.make(Lookup)
const LookupLive = LookupTools.toLayer({ lookup: ({ query }) => Effect.succeed(`facts about ${query}`) })

const collect = <E, R>(stream: Stream.Stream<RunEvent.RunEvent, E, R>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

/** A readable line per event, members' events under their member's name: `B > ToolCallStarted`. */
const outline = (event: RunEvent.RunEvent, path: ReadonlyArray<string> = []): string =>
  event._tag === "MemberEvent"
    ? outline(event.event, [...path, event.member])
    : [...path, event._tag + ("member" in event ? ` ${event.member}` : "")].join(" > ")

const lastToolResults = (request: TestModel.Request) => {
  const message = request.prompt.content[request.prompt.content.length - 1]!
  assert.strictEqual(message.role, "tool")
  return (message.content as ReadonlyArray<{ readonly result: unknown; readonly isFailure: boolean }>).map(
    (part) => ({ result: part.result, isFailure: part.isFailure })
  )
}

const millis = (duration: Duration.Duration | undefined) => duration === undefined ? undefined : Duration.toMillis(duration)

// -----------------------------------------------------------------------------
// Coordinate
// -----------------------------------------------------------------------------

describe("coordinate", () => {
  const searcher = scripted("Searcher", [TestModel.text("Three papers on qubits.", { usage: usage(3, 4) })])
  const analyst = Agent.make({
    name: "Analyst",
    role: "Analyze findings",
    toolkit: LookupTools,
    retry: Retry.none,
    model: TestModel.layer([
      TestModel.toolCall("lookup", { query: "qubits" }, { usage: usage(5, 1) }),
      TestModel.text("Qubits are getting better.", { usage: usage(6, 2) })
    ])
  })

  it.effect("delegates to several members in one turn, then answers from what they found", () =>
    Effect.gen(function*() {
      const leader = yield* recording((request) =>
        request.prompt.content[request.prompt.content.length - 1]!.role === "tool"
          ? TestModel.text("Qubits are improving, say the searcher and the analyst.", { usage: usage(20, 5) })
          : TestModel.toolCalls([delegate("Searcher", "Find papers on qubits"), delegate("Analyst", "Analyze qubits")], {
            usage: usage(10, 2)
          })
      )
      const team = Team.make({
        name: "Research Team",
        instructions: "Be thorough.",
        members: [searcher, analyst],
        model: leader.model
      })
      const output = yield* Team.run(team, "What is new with qubits?", { runId: "team-1" })

      assert.strictEqual(output.runId, "team-1")
      assert.strictEqual(output.agent, "Research Team")
      assert.strictEqual(output.content, "Qubits are improving, say the searcher and the analyst.")
      assert.deepStrictEqual(
        output.memberRuns.map((run) => [run._tag, run.member, run.task, run.toolCallId]),
        [
          ["Completed", "Searcher", "Find papers on qubits", "call_1"],
          ["Completed", "Analyst", "Analyze qubits", "call_2"]
        ]
      )
      const [first, second] = output.memberRuns
      assert.isTrue(first!._tag === "Completed" && first.output.content === "Three papers on qubits.")
      assert.isTrue(second!._tag === "Completed" && second.output.toolCalls[0]!.result === "facts about qubits")
      assert.notStrictEqual(first!.runId, second!.runId)
      assert.deepStrictEqual(output.toolCalls.map((call) => call.result), ["Three papers on qubits.", "Qubits are getting better."])

      const requests = yield* leader.requests
      assert.strictEqual(requests.length, 2)
      assert.deepStrictEqual(requests[0]!.tools, ["delegate_task_to_member"])
      assert.strictEqual(
        requests[0]!.system,
        "You lead a team.\n\nThe members of your team:\n- Searcher: The Searcher\n- Analyst: Analyze findings\n\n" +
          "Hand tasks to members with the delegate_task_to_member tool, naming the member exactly as listed. " +
          "A member sees only the task you give it. To have several members work at once, call the tool several " +
          "times in one turn. When they have answered, answer the user yourself from what they found.\n\nBe thorough."
      )
      assert.deepStrictEqual(lastToolResults(requests[1]!), [
        { result: "Three papers on qubits.", isFailure: false },
        { result: "Qubits are getting better.", isFailure: false }
      ])
    }).pipe(Effect.provide(LookupLive)))

  it.effect("knows which delegation a member run answers, with tracing switched off too", () =>
    Effect.gen(function*() {
      const leader = yield* recording((request) =>
        request.prompt.content[request.prompt.content.length - 1]!.role === "tool"
          ? TestModel.text("Done.")
          : TestModel.toolCalls([delegate("Searcher", "Find papers on qubits"), delegate("Analyst", "Analyze qubits")])
      )
      const team = Team.make({ name: "Research Team", members: [searcher, analyst], model: leader.model })
      const output = yield* Team.run(team, "What is new with qubits?").pipe(Effect.withTracerEnabled(false))
      assert.deepStrictEqual(output.memberRuns.map((run) => [run.member, run.toolCallId]), [
        ["Searcher", "call_1"],
        ["Analyst", "call_2"]
      ])
    }).pipe(Effect.provide(LookupLive)))

  it.effect("gives each member run its own history: the task and nothing else", () =>
    Effect.gen(function*() {
      const member = yield* recording((request) => TestModel.text(`done: ${request.lastUserText}`))
      const worker = Agent.make({ name: "Worker", instructions: "Work.", model: member.model })
      const team = Team.make({
        members: [worker],
        model: TestModel.layer([
          TestModel.toolCalls([delegate("Worker", "task one"), delegate("Worker", "task two")]),
          TestModel.text("both done")
        ])
      })
      const history = [
        Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text: "earlier question" })] }),
        Prompt.makeMessage("assistant", { content: [Prompt.makePart("text", { text: "earlier answer" })] })
      ]
      const output = yield* Team.run(team, "do both", { history })
      assert.strictEqual(output.content, "both done")
      const requests = yield* member.requests
      assert.deepStrictEqual(
        requests.map((request) => request.prompt.content.map((message) => message.role)),
        [["system", "user"], ["system", "user"]]
      )
      assert.deepStrictEqual(requests.map((request) => request.lastUserText), ["task one", "task two"])
      // The same member twice: two runs of its own, counted together in its breakdown.
      assert.strictEqual(output.memberMetrics["Worker"]!.modelCalls, 2)
      assert.deepStrictEqual(output.messages.map((message) => message.role), [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant"
      ])
    }))

  it.effect("adds up metrics: the team's totals are the leader's plus every member run's", () =>
    Effect.gen(function*() {
      const team = Team.make({
        members: [searcher, analyst],
        model: TestModel.layer([
          TestModel.toolCalls([delegate("Searcher", "a"), delegate("Analyst", "b")], { usage: usage(10, 2) }),
          TestModel.text("done", { usage: usage(20, 5), delay: "2 seconds" })
        ])
      })
      const fiber = yield* Effect.fork(Team.run(team, "go"))
      yield* TestClock.adjust("2 seconds")
      const output = yield* Fiber.join(fiber)
      const strip = (metrics: Run.Metrics) => ({ ...metrics, duration: millis(metrics.duration), timeToFirstToken: millis(metrics.timeToFirstToken) })
      assert.deepStrictEqual(strip(output.leaderMetrics), {
        inputTokens: 30,
        outputTokens: 7,
        totalTokens: 37,
        modelCalls: 2,
        toolCalls: 2,
        retries: 0,
        timeToFirstToken: 2000,
        duration: 2000
      })
      assert.deepStrictEqual(Object.keys(output.memberMetrics), ["Searcher", "Analyst"])
      assert.deepStrictEqual(strip(output.memberMetrics["Searcher"]!), {
        inputTokens: 3,
        outputTokens: 4,
        totalTokens: 7,
        modelCalls: 1,
        toolCalls: 0,
        retries: 0,
        timeToFirstToken: undefined,
        duration: 0
      })
      assert.deepStrictEqual(strip(output.memberMetrics["Analyst"]!), {
        inputTokens: 11,
        outputTokens: 3,
        totalTokens: 14,
        modelCalls: 2,
        toolCalls: 1,
        retries: 0,
        timeToFirstToken: undefined,
        duration: 0
      })
      assert.deepStrictEqual(strip(output.metrics), {
        inputTokens: 30 + 3 + 11,
        outputTokens: 7 + 4 + 3,
        totalTokens: 37 + 7 + 14,
        modelCalls: 2 + 1 + 2,
        toolCalls: 2 + 0 + 1,
        retries: 0,
        timeToFirstToken: 2000,
        duration: 2000
      })
    }).pipe(Effect.provide(LookupLive)))

  for (const [concurrency, finished] of [[2, [1000, 1000]], [1, [1000, 2000]]] as const) {
    it.effect(`runs the delegations of one turn at once, at most memberConcurrency (${concurrency}) at a time`, () =>
      Effect.gen(function*() {
        const slow = (name: string) => scripted(name, [TestModel.text(`${name} done`, { delay: "1 second" })])
        const team = Team.make({
          members: [slow("A"), slow("B")],
          memberConcurrency: concurrency,
          model: TestModel.layer([
            TestModel.toolCalls([delegate("A", "a"), delegate("B", "b")]),
            TestModel.text("all done")
          ])
        })
        const ends = yield* Ref.make<ReadonlyArray<[string, number]>>([])
        const fiber = yield* Team.run(team, "go", {
          onEvent: (event) =>
            event._tag === "MemberRunCompleted"
              ? Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(ends, (all) => [...all, [event.member, now] as [string, number]]))
              : Effect.void
        }).pipe(Effect.fork)
        yield* TestClock.adjust("999 millis")
        assert.deepStrictEqual(yield* Ref.get(ends), [])
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual((yield* Ref.get(ends)).map(([, at]) => at), concurrency === 2 ? [1000, 1000] : [1000])
        yield* TestClock.adjust("1 second")
        const output = yield* Fiber.join(fiber)
        assert.deepStrictEqual((yield* Ref.get(ends)).map(([, at]) => at), [...finished])
        assert.strictEqual(Duration.toMillis(output.metrics.duration), finished[1])
        // Each delegation took its member's second, whenever it could start.
        assert.deepStrictEqual(output.toolCalls.map((call) => Duration.toMillis(call.duration)), [1000, 1000])
      }))
  }

  it.effect("feeds a member's typed failure back to the leader, which asks another member", () =>
    Effect.gen(function*() {
      const broken = scripted("Broken", [TestModel.httpError(401, { body: "bad key" })])
      const leader = yield* recording((request) => {
        const last = request.prompt.content[request.prompt.content.length - 1]!
        if (last.role !== "tool") return TestModel.toolCall("delegate_task_to_member", { member: "Broken", task: "x" })
        return lastToolResults(request)[0]!.isFailure
          ? TestModel.toolCall("delegate_task_to_member", { member: "Searcher", task: "x" })
          : TestModel.text("answered by the searcher")
      })
      const events = yield* collect(Team.stream(Team.make({ members: [broken, searcher], model: leader.model }), "go"))
      const completed = events[events.length - 1] as RunEvent.RunCompleted
      const output = completed.output as Team.Output
      assert.strictEqual(output.content, "answered by the searcher")
      assert.deepStrictEqual(output.memberRuns.map((run) => [run._tag, run.member]), [["Failed", "Broken"], ["Completed", "Searcher"]])
      const failed = output.memberRuns[0]!
      assert.isTrue(failed._tag === "Failed" && failed.error instanceof ModelError && failed.error.reason === "Unauthorized")
      const requests = yield* leader.requests
      const told = lastToolResults(requests[1]!)[0]!
      assert.isTrue(told.isFailure)
      assert.strictEqual(told.result, "Broken could not do the task: ModelError: TestModel: HTTP 401: bad key")
      assert.deepStrictEqual(output.toolCalls.map((call) => call.failure), ["Failed", undefined])
      // A failed member run has no output, so it counts in none of the totals.
      assert.deepStrictEqual(Object.keys(output.memberMetrics), ["Searcher"])
      assert.strictEqual(output.metrics.modelCalls, 3 + 1)
      const tags = events.map((event) => outline(event))
      assert.includeMembers(tags, ["MemberRunFailed Broken", "Broken > RunFailed", "ToolCallFailed"])
    }))

  it.effect("tells the leader when it names a member that does not exist", () =>
    Effect.gen(function*() {
      const leader = yield* recording((request) => {
        const last = request.prompt.content[request.prompt.content.length - 1]!
        if (last.role !== "tool") return TestModel.toolCall("delegate_task_to_member", { member: "Searchr", task: "x" })
        return lastToolResults(request)[0]!.isFailure
          ? TestModel.toolCall("delegate_task_to_member", { member: "Searcher", task: "x" })
          : TestModel.text("ok")
      })
      const output = yield* Team.run(Team.make({ members: [searcher, analyst], model: leader.model }), "go")
      assert.strictEqual(output.content, "ok")
      const requests = yield* leader.requests
      assert.deepStrictEqual(lastToolResults(requests[1]!), [{
        result: "There is no member called \"Searchr\". The members of your team are: Searcher, Analyst.",
        isFailure: true
      }])
      assert.deepStrictEqual(output.memberRuns.map((run) => run.member), ["Searcher"])
    }).pipe(Effect.provide(LookupLive)))

  it.effect("refuses delegations past maxDelegations and tells the leader", () =>
    Effect.gen(function*() {
      const leader = yield* recording((request) =>
        request.prompt.content[request.prompt.content.length - 1]!.role === "tool"
          ? TestModel.text("enough")
          : TestModel.toolCalls([delegate("Searcher", "1"), delegate("Searcher", "2"), delegate("Searcher", "3")])
      )
      const team = Team.make({ members: [searcher], model: leader.model, maxDelegations: 2 })
      const output = yield* Team.run(team, "go")
      assert.strictEqual(output.memberRuns.length, 2)
      const requests = yield* leader.requests
      assert.deepStrictEqual(lastToolResults(requests[1]!).map((result) => result.isFailure), [false, false, true])
      assert.strictEqual(
        lastToolResults(requests[1]!)[2]!.result,
        "This run has made all the 2 delegations it may make. Answer with what you have."
      )
    }))

  it.effect("gives a repeated member name a number, so every member can be named", () =>
    Effect.gen(function*() {
      const team = Team.make({
        members: [scripted("Writer", [TestModel.text("first")]), scripted("Writer", [TestModel.text("second")])],
        model: TestModel.layer([
          TestModel.toolCalls([delegate("Writer", "a"), delegate("Writer (2)", "b")]),
          TestModel.text("done")
        ])
      })
      const output = yield* Team.run(team, "go")
      assert.deepStrictEqual(output.toolCalls.map((call) => call.result), ["first", "second"])
      assert.deepStrictEqual(Object.keys(output.memberMetrics), ["Writer", "Writer (2)"])
    }))

  it.effect("fails the team run when a member dies, and interrupts the other member runs", () =>
    Effect.gen(function*() {
      const released = yield* Deferred.make<void>()
      const Hold = Tool.make("hold", { success: Schema.String })
      const holder = Agent.make({
        name: "Holder",
        toolkit: Toolkit.make(Hold),
        model: TestModel.layer([TestModel.toolCall("hold", {})])
      })
      const dying = Agent.make({
        name: "Dying",
        instructions: Effect.die(new Error("a bug in the instructions")),
        model: TestModel.layer([TestModel.text("never")])
      })
      const team = Team.make({
        members: [holder, dying],
        model: TestModel.layer([TestModel.toolCalls([delegate("Holder", "hold"), delegate("Dying", "die")])])
      })
      const exit = yield* Team.run(team, "go").pipe(
        Effect.provide(Toolkit.make(Hold).toLayer({
          hold: () => Effect.acquireRelease(Effect.void, () => Deferred.succeed(released, undefined)).pipe(
            Effect.zipRight(Effect.never),
            Effect.scoped
          )
        })),
        Effect.exit
      )
      const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
      assert.strictEqual(Option.getOrUndefined(defect as Option.Option<Error>)?.message, "a bug in the instructions")
      assert.isTrue(yield* Deferred.isDone(released))
    }))

  it.effect("a leader tool of the team's own that dies fails the run with a ToolError, as an agent's does", () =>
    Effect.gen(function*() {
      const team = Team.make({
        members: [searcher],
        toolkit: LookupTools,
        model: TestModel.layer([TestModel.toolCall("lookup", { query: "x" })])
      })
      const exit = yield* Team.run(team, "go").pipe(
        Effect.provide(LookupTools.toLayer({ lookup: () => Effect.die("broken") })),
        Effect.exit
      )
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value instanceof ToolError && error.value.tool === "lookup")
    }))
})

// -----------------------------------------------------------------------------
// Cancellation
// -----------------------------------------------------------------------------

describe("cancellation", () => {
  const Wait = Tool.make("wait", { parameters: { name: Schema.String }, success: Schema.String })
  const WaitTools = Toolkit.make(Wait)
  const waiter = (name: string) =>
    Agent.make({ name, toolkit: WaitTools, model: TestModel.layer([TestModel.toolCall("wait", { name })]) })

  const holding = Effect.gen(function*() {
    const started = yield* Ref.make<ReadonlyArray<string>>([])
    const finalized = yield* Ref.make<ReadonlyArray<string>>([])
    const layer = WaitTools.toLayer({
      wait: ({ name }) =>
        Effect.acquireRelease(
          Ref.update(started, (all) => [...all, name]),
          () => Ref.update(finalized, (all) => [...all, name])
        ).pipe(Effect.zipRight(Effect.sleep("1 hour")), Effect.as("late"), Effect.scoped)
    })
    return { layer, started: Ref.get(started), finalized: Ref.get(finalized) }
  })

  it.effect("interrupting a team interrupts every member run and runs their finalizers", () =>
    Effect.gen(function*() {
      const { finalized, layer, started } = yield* holding
      const inner = Team.make({
        name: "Inner",
        members: [waiter("C")],
        model: TestModel.layer([TestModel.toolCalls([delegate("C", "wait")])])
      })
      const team = Team.make({
        members: [waiter("A"), waiter("B"), inner],
        model: TestModel.layer([
          TestModel.toolCalls([delegate("A", "wait"), delegate("B", "wait"), delegate("Inner", "wait")], { delay: "1 second" })
        ])
      })
      const fiber = yield* Team.run(team, "go").pipe(Effect.provide(layer), Effect.fork)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual([...(yield* started)].sort(), ["A", "B", "C"])
      assert.deepStrictEqual(yield* finalized, [])
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual([...(yield* finalized)].sort(), ["A", "B", "C"])
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
    }))

  it.effect("a consumer that stops reading a team's stream interrupts the member runs", () =>
    Effect.gen(function*() {
      const { finalized, layer } = yield* holding
      const team = Team.make({
        members: [waiter("A"), waiter("B")],
        model: TestModel.layer([TestModel.toolCalls([delegate("A", "wait"), delegate("B", "wait")])])
      })
      const taken = yield* Team.stream(team, "go").pipe(
        Stream.takeUntil((event) => event._tag === "MemberEvent" && event.event._tag === "ToolCallStarted"),
        Stream.runCollect,
        Effect.provide(layer)
      )
      assert.strictEqual(Chunk.unsafeLast(taken)._tag, "MemberEvent")
      yield* Effect.yieldNow()
      assert.includeMembers([...(yield* finalized)], ["A"])
    }))

  it.effect("a team's timeout covers its member runs", () =>
    Effect.gen(function*() {
      const { finalized, layer } = yield* holding
      const team = Team.make({
        members: [waiter("A")],
        timeout: "5 seconds",
        model: TestModel.layer([TestModel.toolCalls([delegate("A", "wait")])])
      })
      const fiber = yield* Team.run(team, "go").pipe(Effect.provide(layer), Effect.exit, Effect.fork)
      yield* TestClock.adjust("5 seconds")
      const exit = yield* Fiber.join(fiber)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value instanceof RunTimeout)
      assert.strictEqual(Duration.toMillis((error as Option.Some<RunTimeout>).value.timeout), 5000)
      assert.deepStrictEqual(yield* finalized, ["A"])
    }))
})

// -----------------------------------------------------------------------------
// Route
// -----------------------------------------------------------------------------

describe("route", () => {
  const Review = Schema.Struct({ stars: Schema.Number })
  const critic = Agent.make({
    name: "Critic",
    role: "Rates films",
    output: Review,
    model: TestModel.layer([TestModel.text(`{"stars":4}`, { usage: usage(7, 3) })])
  })
  const poet = scripted("Poet", [TestModel.text("Roses are red.", { usage: usage(2, 4) })], "Writes poems")

  it.effect("the leader picks one member, whose answer (typed) is the team's answer", () =>
    Effect.gen(function*() {
      const leader = yield* recording(() => TestModel.text(`{"member":"Critic"}`, { usage: usage(11, 5) }))
      const team = Team.make({ name: "Desk", mode: "route", members: [critic, poet], model: leader.model })
      const output = yield* Team.run(team, "Rate Dune.")
      expectTypeOf(output.content).toEqualTypeOf<{ readonly stars: number } | string>()
      assert.deepStrictEqual(output.content, { stars: 4 })
      assert.strictEqual(output.text, `{"stars":4}`)
      assert.deepStrictEqual(output.memberRuns.map((run) => [run.member, run.task, run.toolCallId]), [["Critic", "Rate Dune.", undefined]])
      assert.deepStrictEqual(
        { input: output.metrics.inputTokens, output: output.metrics.outputTokens, calls: output.metrics.modelCalls },
        { input: 11 + 7, output: 5 + 3, calls: 2 }
      )
      const [request] = yield* leader.requests
      assert.strictEqual(request!.responseFormat, "json")
      assert.deepStrictEqual(request!.tools, [])
      assert.include(request!.system!, "- Critic: Rates films\n- Poet: Writes poems")
      assert.include(request!.system!, "Choose the one member best suited")
    }))

  it.effect("a name that is not a member's goes back to the leader, which names another", () =>
    Effect.gen(function*() {
      const leader = yield* recording((request) =>
        request.lastUserText.startsWith("Your answer could not be read")
          ? TestModel.text(`{"member":"Poet"}`)
          : TestModel.text(`{"member":"Bard"}`)
      )
      const team = Team.make({ mode: "route", members: [critic, poet], model: leader.model })
      const output = yield* Team.run(team, "A poem, please.")
      assert.strictEqual(output.content, "Roses are red.")
      const requests = yield* leader.requests
      assert.strictEqual(requests.length, 2)
      assert.include(
        requests[1]!.lastUserText,
        `["member"]\n         └─ There is no member called "Bard". The members of your team are: Critic, Poet.`
      )
    }))

  it.effect("when the chosen member fails, the leader is told and may choose another", () =>
    Effect.gen(function*() {
      const broken = scripted("Broken", [TestModel.httpError(500, { body: "down" })], "Writes poems too")
      const leader = yield* recording((request) =>
        request.lastUserText.startsWith("Broken could not answer")
          ? TestModel.text(`{"member":"Poet"}`)
          : TestModel.text(`{"member":"Broken"}`, { chunks: 3 })
      )
      const team = Team.make({ mode: "route", members: [broken, poet], model: leader.model })
      const events = yield* collect(Team.stream(team, "A poem, please."))
      const output = (events[events.length - 1] as RunEvent.RunCompleted).output as Team.Output<string>
      assert.strictEqual(output.content, "Roses are red.")
      assert.deepStrictEqual(output.memberRuns.map((run) => [run._tag, run.member]), [["Failed", "Broken"], ["Completed", "Poet"]])
      const requests = yield* leader.requests
      assert.strictEqual(requests[1]!.lastUserText, "Broken could not answer: ModelError: TestModel: HTTP 500: down\nChoose another member.")
      // The leader sees the conversation so far; the members never do.
      assert.deepStrictEqual(requests[1]!.prompt.content.map((message) => message.role), ["system", "user", "assistant", "user"])
      assert.strictEqual(output.leaderMetrics.modelCalls, 2)
      // The leader's choices are not the team's text; its model calls are numbered across its runs.
      const top = events.filter((event) => event._tag !== "MemberEvent")
      assert.deepStrictEqual(top.filter((event) => event._tag === "TextDelta"), [])
      assert.deepStrictEqual(
        top.flatMap((event) => (event._tag === "ModelRequestStarted" ? [event.turn] : [])),
        [1, 2]
      )
      assert.deepStrictEqual(top.map((event) => event._tag).filter((tag) => tag === "RunStarted" || tag === "RunCompleted"), [
        "RunStarted",
        "RunCompleted"
      ])
    }))

  it.effect("fails with the member's error once maxDelegations choices have failed", () =>
    Effect.gen(function*() {
      const broken = scripted("Broken", [TestModel.httpError(500, { body: "down" })])
      const team = Team.make({
        mode: "route",
        members: [broken],
        maxDelegations: 2,
        model: TestModel.layer(() => TestModel.text(`{"member":"Broken"}`))
      })
      const exit = yield* Effect.exit(Team.run(team, "go"))
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      assert.isTrue(Option.isSome(error) && error.value instanceof ModelError && error.value.status === 500)
    }))
})

// -----------------------------------------------------------------------------
// Broadcast
// -----------------------------------------------------------------------------

describe("broadcast", () => {
  it.effect("gives every member the message at once, then the leader brings their answers together", () =>
    Effect.gen(function*() {
      const optimist = scripted("Optimist", [TestModel.text("It will be fine.", { delay: "1 second", usage: usage(1, 1) })])
      const pessimist = scripted("Pessimist", [TestModel.text("It will not.", { delay: "1 second", usage: usage(2, 2) })])
      const broken = scripted("Broken", [TestModel.httpError(401, { body: "no" })])
      const leader = yield* recording(() => TestModel.text("Opinions differ.", { delay: "500 millis", usage: usage(4, 4) }))
      const team = Team.make({ mode: "broadcast", members: [optimist, pessimist, broken], model: leader.model })
      const fiber = yield* Effect.fork(Team.run(team, "Will it rain?"))
      yield* TestClock.adjust("1500 millis")
      const output = yield* Fiber.join(fiber)
      assert.strictEqual(output.content, "Opinions differ.")
      assert.deepStrictEqual(output.memberRuns.map((run) => [run._tag, run.member, run.task]), [
        ["Completed", "Optimist", "Will it rain?"],
        ["Completed", "Pessimist", "Will it rain?"],
        ["Failed", "Broken", "Will it rain?"]
      ])
      // Both members took their second at once; the leader answered half a second after them.
      assert.strictEqual(Duration.toMillis(output.metrics.duration), 1500)
      assert.strictEqual(millis(output.metrics.timeToFirstToken), 1500)
      assert.deepStrictEqual([output.metrics.inputTokens, output.metrics.modelCalls], [1 + 2 + 4, 3])
      const [request] = yield* leader.requests
      assert.strictEqual(
        request!.lastUserText,
        "Will it rain?\n\nThe answers of your team's members:\n\n### Optimist\nIt will be fine.\n\n### Pessimist\nIt will not.\n\n" +
          "### Broken (could not answer)\nModelError: TestModel: HTTP 401: no"
      )
      assert.include(request!.system!, "Every member answers the user's message on its own")
    }))

  it.effect("a member that dies fails the team run with its defect", () =>
    Effect.gen(function*() {
      const dying = Agent.make({ name: "Dying", instructions: Effect.die(new Error("bug")), model: TestModel.layer([]) })
      const team = Team.make({
        mode: "broadcast",
        members: [scripted("Fine", [TestModel.text("fine", { delay: "1 hour" })]), dying],
        model: TestModel.layer([])
      })
      const exit = yield* Effect.exit(Team.run(team, "go"))
      const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
      assert.strictEqual(Option.getOrUndefined(defect as Option.Option<Error>)?.message, "bug")
    }))
})

describe("a leader with tools of its own", () => {
  it.effect("is offered them beside delegation, and their handlers come from a layer", () =>
    Effect.gen(function*() {
      const leader = yield* recording((request) =>
        request.prompt.content.length === 2
          ? TestModel.toolCalls([{ name: "lookup", params: { query: "q" } }, delegate("Solo", "task")])
          : TestModel.text("done")
      )
      const team = Team.make({
        members: [scripted("Solo", [TestModel.text("solo answer")])],
        toolkit: LookupTools,
        model: leader.model
      })
      expectTypeOf(team).toEqualTypeOf<Team.Team<string, Tool.Handler<"lookup">>>()
      const output = yield* Team.run(team, "go").pipe(Effect.provide(LookupLive))
      const requests = yield* leader.requests
      assert.deepStrictEqual(requests[0]!.tools, ["delegate_task_to_member", "lookup"])
      assert.deepStrictEqual(lastToolResults(requests[1]!).map((result) => result.result), ["facts about q", "solo answer"])
      assert.deepStrictEqual(output.memberRuns.map((run) => run.toolCallId), ["call_2"])
    }))
})

// -----------------------------------------------------------------------------
// Nesting and events
// -----------------------------------------------------------------------------

describe("nested teams and events", () => {
  const writer = scripted("Writer", [TestModel.text("A draft.", { chunks: 2, usage: usage(1, 2) })])
  const editor = scripted("Editor", [TestModel.text("Edited.", { usage: usage(3, 4) })])
  const inner = Team.make({
    name: "Desk",
    role: "Writes and edits",
    members: [writer, editor],
    model: TestModel.layer([
      TestModel.toolCalls([delegate("Writer", "draft"), delegate("Editor", "edit")], { usage: usage(5, 6) }),
      TestModel.text("The desk's text.", { usage: usage(7, 8) })
    ])
  })
  const checker = scripted("Checker", [TestModel.text("Checked.", { usage: usage(9, 10) })])
  const outer = Team.make({
    name: "Paper",
    members: [inner, checker],
    model: TestModel.layer([
      TestModel.toolCalls([delegate("Desk", "write it"), delegate("Checker", "check it")], { usage: usage(11, 12) }),
      TestModel.text("Printed.", { usage: usage(13, 14), chunks: 2 })
    ])
  })

  it.effect("one stream shows the whole tree: members' events nested, a member team's nested twice", () =>
    Effect.gen(function*() {
      const events = yield* collect(Team.stream(outer, "Make a paper.", { runId: "paper" }))
      const lines = events.map((event) => outline(event))
      // Each run's own events, in order, under its member's path (runs interleave: members run at once).
      const of = (prefix: string) =>
        lines.flatMap((line) =>
          line.startsWith(prefix) && !line.slice(prefix.length).includes(" > ") ? [line.slice(prefix.length)] : []
        )
      assert.deepStrictEqual(of(""), [
        "RunStarted",
        "ModelRequestStarted",
        "ModelRequestCompleted",
        "ToolCallStarted",
        "MemberRunStarted Desk",
        "ToolCallStarted",
        "MemberRunStarted Checker",
        "MemberRunCompleted Checker",
        "ToolCallCompleted",
        "MemberRunCompleted Desk",
        "ToolCallCompleted",
        "ModelRequestStarted",
        "TextDelta",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.deepStrictEqual(of("Checker > "), [
        "RunStarted",
        "ModelRequestStarted",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.deepStrictEqual(of("Desk > "), [
        "RunStarted",
        "ModelRequestStarted",
        "ModelRequestCompleted",
        "ToolCallStarted",
        "MemberRunStarted Writer",
        "ToolCallStarted",
        "MemberRunStarted Editor",
        "MemberRunCompleted Writer",
        "ToolCallCompleted",
        "MemberRunCompleted Editor",
        "ToolCallCompleted",
        "ModelRequestStarted",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.deepStrictEqual(of("Desk > Writer > "), [
        "RunStarted",
        "ModelRequestStarted",
        "TextDelta",
        "TextDelta",
        "ModelRequestCompleted",
        "RunCompleted"
      ])
      assert.strictEqual(of("Desk > Editor > ").length, 5)
      // A member's events come between its start and its end.
      const within = (member: string, prefix: string) => {
        const start = lines.indexOf(`${prefix}MemberRunStarted ${member}`)
        const end = lines.indexOf(`${prefix}MemberRunCompleted ${member}`)
        const nested = lines.flatMap((line, i) => (line.startsWith(`${prefix}${member} > `) ? [i] : []))
        assert.isAbove(nested.length, 0)
        assert.isTrue(nested.every((i) => i > start && i < end), member)
      }
      within("Desk", "")
      within("Checker", "")
      within("Writer", "Desk > ")
      within("Editor", "Desk > ")
      // Every event names its run: the team's at the top, each member run's inside.
      const started = events.filter((event): event is RunEvent.MemberRunStarted => event._tag === "MemberRunStarted")
      const nested = events.filter((event): event is RunEvent.MemberEvent => event._tag === "MemberEvent")
      assert.isTrue(events.every((event) => event.runId === "paper"))
      for (const event of nested) {
        assert.isTrue(started.some((start) => start.memberRunId === event.memberRunId && start.member === event.member))
        assert.strictEqual(event.event.runId, event.memberRunId)
      }
      const toolCalls = events.filter((event): event is RunEvent.ToolCallStarted => event._tag === "ToolCallStarted")
      assert.deepStrictEqual(started.map((event) => event.toolCallId), toolCalls.map((event) => event.toolCallId))
    }))

  it.effect("a member team's output is a team output, and the totals add up through the levels", () =>
    Effect.gen(function*() {
      const output = yield* Team.run(outer, "Make a paper.")
      const desk = output.memberRuns[0]!
      assert.isTrue(desk._tag === "Completed" && Team.isOutput(desk.output))
      const deskOutput = (desk as Extract<Team.MemberRun, { _tag: "Completed" }>).output as Team.Output
      assert.deepStrictEqual(deskOutput.memberRuns.map((run) => run.member), ["Writer", "Editor"])
      // Desk: its leader (5+7) plus Writer (1) and Editor (3).
      assert.strictEqual(deskOutput.metrics.inputTokens, 5 + 7 + 1 + 3)
      assert.strictEqual(output.memberMetrics["Desk"]!.inputTokens, 16)
      // Paper: its leader (11+13), Desk's totals and Checker (9).
      assert.strictEqual(output.leaderMetrics.inputTokens, 24)
      assert.strictEqual(output.metrics.inputTokens, 24 + 16 + 9)
      assert.strictEqual(output.metrics.outputTokens, (12 + 14) + (6 + 8 + 2 + 4) + 10)
      assert.strictEqual(output.metrics.modelCalls, 2 + (2 + 1 + 1) + 1)
      assert.strictEqual(output.metrics.toolCalls, 2 + 2)
    }))

  it.effect("events and outputs encode to JSON through their schemas and decode back", () =>
    Effect.gen(function*() {
      const events = yield* collect(Team.stream(outer, "Make a paper."))
      const json = events.map((event) => JSON.stringify(Schema.encodeSync(RunEvent.RunEvent)(event)))
      const decoded = json.map((line) => Schema.decodeUnknownSync(RunEvent.RunEvent)(JSON.parse(line)))
      assert.deepStrictEqual(decoded.map((event) => outline(event)), events.map((event) => outline(event)))
      const twice = decoded.find((event) => event._tag === "MemberEvent" && event.event._tag === "MemberEvent")
      assert.isDefined(twice)

      const output = (events[events.length - 1] as RunEvent.RunCompleted).output as Team.Output
      const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(Team.Output)(output)))
      assert.strictEqual(encoded.memberRuns[0].output.memberRuns[1].member, "Editor")
      const back = Schema.decodeUnknownSync(Team.Output)(encoded)
      assert.strictEqual(back.metrics.inputTokens, output.metrics.inputTokens)
      const desk = back.memberRuns[0]!
      assert.isTrue(desk._tag === "Completed" && Team.isOutput(desk.output) && desk.output.memberRuns.length === 2)
    }))
})

// -----------------------------------------------------------------------------
// Many runs, services and types
// -----------------------------------------------------------------------------

describe("teams as values and services", () => {
  it.effect("one team run 200 times at once gives every run its own members' answers", () =>
    Effect.gen(function*() {
      const echo = Agent.make({ name: "Echo" })
      const team = Team.make({ members: [echo], memberConcurrency: 1 })
      const inputs = Array.from({ length: 200 }, (_, i) => `q${i}`)
      const outputs = yield* Effect.forEach(inputs, (input) => Team.run(team, input), { concurrency: "unbounded" })
      assert.deepStrictEqual(outputs.map((output) => output.content), inputs.map((input) => `team: echo: ${input}`))
      assert.isTrue(outputs.every((output) => output.memberRuns.length === 1))
    }).pipe(Effect.provide(TestModel.layer((request) => {
      const last = request.prompt.content[request.prompt.content.length - 1]!
      if (request.tools.length === 0) return TestModel.text(`echo: ${request.lastUserText}`)
      return last.role === "tool"
        ? TestModel.text(`team: ${lastToolResults(request)[0]!.result}`)
        : TestModel.toolCall("delegate_task_to_member", { member: "Echo", task: request.lastUserText })
    }))))

  class Research extends Context.Tag("test/Research")<Research, Team.Service>() {}
  class AnyAgent extends Context.Tag("test/AnyAgent")<AnyAgent, Agent.Service>() {}
  const team = Team.make({ name: "Research", mode: "broadcast", members: [Agent.make({ name: "A" })] })
  const model = TestModel.layer((request) => TestModel.text(request.tools.length === 0 ? "answer" : "?"))

  it.effect("an application asks for its team by tag, as a team or as an agent", () =>
    Effect.gen(function*() {
      const research = yield* Research
      const output = yield* research.run("go")
      assert.strictEqual(output.memberRuns.length, 1)
      const agent = yield* AnyAgent
      assert.strictEqual((yield* agent.run("go")).content, "answer")
      assert.strictEqual(agent.name, "Research")
    }).pipe(
      Effect.provide(Layer.merge(Team.layer(Research, team), Team.layer(AnyAgent, team))),
      Effect.provide(model)
    ))

  class Desk extends Context.Tag("test/Desk")<Desk, Agent.SessionService>() {}

  it.effect("a team provided as a session service runs in its users' sessions", () =>
    Effect.gen(function*() {
      const desk = yield* Desk
      yield* desk.run("first question", { sessionId: "s", userId: "ada" })
      const events = yield* collect(desk.stream("second question", { sessionId: "s", userId: "ada" }))
      assert.strictEqual(events[events.length - 1]!._tag, "RunCompleted")
      const store = yield* SessionStore.SessionStore
      assert.strictEqual((yield* store.load({ userId: "ada", sessionId: "s" })).length, 2)
      assert.isTrue(Option.isNone(Option.getRight(yield* Effect.either(store.load({ userId: "bob", sessionId: "s" })))))
      // The leader of the second run was given the first run as history.
      const leaderRequests = (yield* TestModel.requests).filter((request) => request.system !== undefined)
      assert.include(JSON.stringify(leaderRequests[leaderRequests.length - 1]!.prompt), "first question")
    }).pipe(
      Effect.provide(Team.layer(Desk, team)),
      Effect.provide(Layer.merge(model, SessionStoreMemory.layer))
    ))

  it.effect("has dual APIs", () =>
    Effect.gen(function*() {
      const output = yield* team.pipe(Team.withTimeout("1 minute"), Team.run("go"))
      assert.strictEqual(output.content, "answer")
      const events = yield* collect(team.pipe(Team.stream("go")))
      assert.strictEqual(events[events.length - 1]!._tag, "RunCompleted")
    }).pipe(Effect.provide(model)))

  it("infers the answer, requirements and errors", () => {
    class Today extends Context.Tag("Today")<Today, string>() {}
    const weather = Agent.make({ name: "Weather", toolkit: LookupTools })
    const poet = Agent.make({ name: "Poet", model: TestModel.layer([]) })
    const critic = Agent.make({ name: "Critic", output: Schema.Struct({ stars: Schema.Number }), model: TestModel.layer([]) })

    const coordinate = Team.make({ members: [weather, poet], instructions: Effect.map(Today, (day) => day) })
    expectTypeOf(coordinate).toEqualTypeOf<
      Team.Team<string, LanguageModel.LanguageModel | Tool.Handler<"lookup"> | Today>
    >()
    expectTypeOf(Team.run(coordinate, "hi")).toEqualTypeOf<
      Effect.Effect<Team.Output<string>, AgentError, LanguageModel.LanguageModel | Tool.Handler<"lookup"> | Today>
    >()
    expectTypeOf(Team.stream(coordinate, "hi")).toEqualTypeOf<
      Stream.Stream<RunEvent.RunEvent<string>, AgentError, LanguageModel.LanguageModel | Tool.Handler<"lookup"> | Today>
    >()

    const routed = Team.make({ mode: "route", members: [poet, critic], model: TestModel.layer([]) })
    expectTypeOf(routed).toEqualTypeOf<Team.Team<string | { readonly stars: number }, never>>()

    const structured = Team.make({ members: [poet], output: Schema.Struct({ title: Schema.String }), model: TestModel.layer([]) })
    expectTypeOf(structured).toEqualTypeOf<Team.Team<{ readonly title: string }, never>>()

    const nested = Team.make({ members: [routed, coordinate], model: TestModel.layer([]) })
    expectTypeOf(nested).toEqualTypeOf<
      Team.Team<string, LanguageModel.LanguageModel | Tool.Handler<"lookup"> | Today>
    >()
    expectTypeOf(Team.layer(Research, Team.make({ members: [poet] }))).toEqualTypeOf<
      Layer.Layer<Research, never, LanguageModel.LanguageModel>
    >()
    expectTypeOf(Team.layer(Desk, Team.make({ members: [poet] }))).toEqualTypeOf<
      Layer.Layer<Desk, never, LanguageModel.LanguageModel | SessionStore.SessionStore>
    >()

    // A routed team's answer is its member's: it has no output schema of its own.
    // @ts-expect-error
    Team.make({ mode: "route", members: [poet], output: Schema.String })
  })
})

// -----------------------------------------------------------------------------
// Printing
// -----------------------------------------------------------------------------

/** Prints under the test clock, moving time on until it is done; returns the printed text. */
const printed = <A, E>(print: (write: (text: string) => Effect.Effect<void>) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const out = yield* Ref.make("")
    const fiber = yield* Effect.fork(Effect.exit(print((text) => Ref.update(out, (all) => all + text))))
    yield* TestClock.adjust("1 minute")
    const exit = yield* Fiber.join(fiber)
    return { exit, text: yield* Ref.get(out) }
  })

describe("Team.printResponse", () => {
  const searcher = scripted("Searcher", [TestModel.text("Three papers on qubits.", { usage: usage(1, 1) })])
  // It fails after the searcher has answered, so streamed and finished runs print in the same order.
  const broken = scripted("Broken", [TestModel.httpError(401, { body: "bad key", delay: "500 millis" })])
  const team = Team.make({
    name: "Research Team",
    members: [searcher, broken],
    model: TestModel.layer([
      TestModel.toolCalls([delegate("Searcher", "Find papers"), delegate("Broken", "Analyze")], {
        usage: usage(1, 1),
        text: "Asking the team."
      }),
      TestModel.text("Qubits are improving.", { usage: usage(1, 1), delay: "1500 millis" })
    ])
  })

  for (const stream of [false, true]) {
    it.effect(`shows each member's answer where it was delegated, with showMemberResponses (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const { exit, text } = yield* printed((write) =>
          Team.printResponse(team, "What is new with qubits?", { stream, color: false, showMemberResponses: true, write })
        )
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(
          text,
          [
            "Message:",
            "What is new with qubits?",
            "",
            "Response:",
            "Asking the team.",
            "",
            "Response from Searcher:",
            "Three papers on qubits.",
            "",
            "Error from Broken:",
            "ModelError: TestModel: HTTP 401: bad key",
            "",
            "Response:",
            "Qubits are improving.",
            "",
            "Done in 2.0s · 6 tokens",
            "",
            ""
          ].join("\n")
        )
      }))

    it.effect(`shows delegations as tool calls without showMemberResponses (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const { text } = yield* printed((write) =>
          Team.printResponse(team, "What is new with qubits?", { stream, color: false, write })
        )
        assert.strictEqual(
          text,
          [
            "Message:",
            "What is new with qubits?",
            "",
            "Response:",
            "Asking the team.",
            "",
            "✓ delegate_task_to_member({\"member\":\"Searcher\",\"task\":\"Find papers\"}) → Three papers on qubits. (0ms)",
            "✗ delegate_task_to_member({\"member\":\"Broken\",\"task\":\"Analyze\"}) failed (500ms)",
            "    Broken could not do the task: ModelError: TestModel: HTTP 401: bad key",
            "",
            "Qubits are improving.",
            "",
            "Done in 2.0s · 6 tokens",
            "",
            ""
          ].join("\n")
        )
      }))

    it.effect(`prints a routed team's answer, and a member team's members by their path (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const desk = Team.make({
          name: "Desk",
          mode: "broadcast",
          members: [scripted("Writer", [TestModel.text("A draft.", { usage: usage(1, 1) })])],
          model: TestModel.layer([TestModel.text("The desk's text.", { usage: usage(1, 1) })])
        })
        const routed = Team.make({
          name: "Front",
          mode: "route",
          members: [desk, searcher],
          model: TestModel.layer([TestModel.text(`{"member":"Desk"}`, { usage: usage(1, 1), delay: "1 second" })])
        })
        for (const showMemberResponses of [false, true]) {
          const { text } = yield* printed((write) =>
            Team.printResponse(routed, "Write.", { stream, color: false, showMemberResponses, write })
          )
          assert.strictEqual(
            text,
            [
              "Message:",
              "Write.",
              "",
              ...(showMemberResponses
                ? ["Response from Desk › Writer:", "A draft.", "", "Response from Desk:", "The desk's text.", ""]
                : []),
              "Response:",
              "The desk's text.",
              "",
              "Done in 1.0s · 6 tokens",
              "",
              ""
            ].join("\n")
          )
        }
      }))
  }

  it.effect("styles a member's section with its own title", () =>
    Effect.gen(function*() {
      const { text } = yield* printed((write) =>
        Team.printResponse(team, "What is new with qubits?", { color: true, showMemberResponses: true, write })
      )
      assert.include(text, "\x1b[2;35m│\x1b[0m \x1b[1;35mResponse from Searcher\x1b[0m\n")
      assert.include(text, "\x1b[2;31m│\x1b[0m \x1b[1;31mError from Broken\x1b[0m\n")
    }))
})

describe("teams in a session", () => {
  it.effect("continue the conversation: the leader sees the session's earlier turns, and each team run is recorded", () =>
    Effect.gen(function*() {
      const leader = yield* recording((request) =>
        TestModel.text(request.lastUserText === "And the second?" ? "The second was Analyst." : "Searcher first.")
      )
      const members = [scripted("Searcher", []), scripted("Analyst", [])]
      const team = Team.make({ name: "Research Team", members, model: leader.model })
      const session = { sessionId: "s-1", userId: "ada" }
      const run = Team.run(team, "Who goes first?", session)
      expectTypeOf<Effect.Effect.Context<typeof run>>().toEqualTypeOf<SessionStore.SessionStore>()
      expectTypeOf<Effect.Effect.Error<typeof run>>().toMatchTypeOf<AgentError | SessionStore.SessionStoreError>()
      yield* run
      const second = yield* Team.stream(team, "And the second?", session).pipe(Stream.runCollect)
      const completed = Chunk.unsafeLast(second) as RunEvent.RunCompleted
      assert.strictEqual(completed.output.content, "The second was Analyst.")

      const requests = yield* leader.requests
      const history = requests[1]!.prompt.content.filter((message) => message.role !== "system")
      assert.deepStrictEqual(history.map((message) => message.role), ["user", "assistant", "user"])
      const store = yield* SessionStore.SessionStore
      const records = yield* store.load({ userId: "ada", sessionId: "s-1" })
      assert.deepStrictEqual(records.map((record) => [record.agent, record.status]), [
        ["Research Team", "completed"],
        ["Research Team", "completed"]
      ])
      // Another user with the same session id starts from nothing.
      yield* Team.run(team, "Who goes first?", { sessionId: "s-1", userId: "grace" })
      assert.strictEqual((yield* leader.requests)[2]!.prompt.content.filter((message) => message.role !== "system").length, 1)
    }).pipe(Effect.provide(SessionStoreMemory.layer)))
})
