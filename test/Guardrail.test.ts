import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import type { GuardrailTripped } from "../src/AgentError.js"
import * as Guardrail from "../src/Guardrail.js"
import * as Retry from "../src/Retry.js"
import * as RunEvent from "../src/RunEvent.js"

const Search = Tool.make("search", { parameters: { query: Schema.String }, success: Schema.String })
const Tools = Toolkit.make(Search)

const searches: Array<string> = []
const ToolsLive = Tools.toLayer({
  search: ({ query }) => Effect.sync(() => (searches.push(query), `results for ${query}`))
})

const tripped = <A, R>(effect: Effect.Effect<A, { readonly _tag: string }, R>) =>
  Effect.flatMap(Effect.flip(effect), (error) =>
    error._tag === "GuardrailTripped"
      ? Effect.succeed(error as GuardrailTripped)
      : Effect.dieMessage(`expected GuardrailTripped, got ${error._tag}`))

describe("Guardrail", () => {
  it.effect("a tripped input guardrail means no model call and no tool call", () => {
    searches.length = 0
    const agent = Agent.make({ toolkit: Tools, guardrails: [Guardrail.maxInputLength(10)] })
    return Effect.gen(function*() {
      const error = yield* tripped(Agent.run(agent, "a message that is far too long"))
      assert.deepStrictEqual([error.guardrail, error.stage], ["max-input-length", "input"])
      assert.include(error.reason, "at most 10")
      assert.strictEqual((yield* TestModel.requests).length, 0)
      assert.deepStrictEqual(searches, [])
      // A short one goes through.
      const output = yield* Agent.run(agent, "short")
      assert.strictEqual(output.text, "ok")
    }).pipe(
      Effect.provide(Layer.merge(TestModel.layer([TestModel.toolCall("search", { query: "x" }), TestModel.text("ok")]), ToolsLive))
    )
  })

  it.effect("pii: blocks personal data, or redacts it before the model sees it", () =>
    Effect.gen(function*() {
      const blocking = Agent.make({ guardrails: [Guardrail.pii()] })
      const error = yield* tripped(Agent.run(blocking, "Mail me at ada@example.com"))
      assert.include(error.reason, "an email address")
      const redacting = Agent.make({ guardrails: [Guardrail.pii({ redact: true })] })
      yield* Agent.run(redacting, "Mail ada@example.com or call +44 20 7946 0958")
      const [request] = yield* TestModel.requests
      assert.strictEqual(request!.lastUserText, "Mail [redacted] or call [redacted]")
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("ok")]))))

  it.effect("several guardrails run at once: the first block wins and interrupts the rest", () =>
    Effect.gen(function*() {
      let interrupted = false
      class Policy extends Context.Tag("test/Policy")<Policy, { readonly banned: string }>() {}
      const slow = Guardrail.input({
        name: "slow-judge",
        check: () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      })
      const banned = Guardrail.input({
        name: "banned-words",
        check: (text) => Effect.map(Policy, (policy) => text.includes(policy.banned) ? Guardrail.block("banned") : Guardrail.pass)
      })
      const agent = Agent.make({ guardrails: [slow, banned] })
      // What the guardrails read is the agent's requirements.
      type Needs = typeof agent extends Agent.Agent<any, infer R> ? R : never
      expectTypeOf<Policy>().toMatchTypeOf<Needs>()
      const error = yield* tripped(Agent.run(agent, "say foo").pipe(Effect.provideService(Policy, { banned: "foo" })))
      assert.strictEqual(error.guardrail, "banned-words")
      assert.isTrue(interrupted)
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("ok")]))))

  it.effect("a guardrail that times out blocks (fails closed), unless it fails open", () =>
    Effect.gen(function*() {
      const judge = (failOpen: boolean) =>
        Guardrail.output({ name: "judge", timeout: "5 seconds", failOpen, check: () => Effect.never })
      const closed = yield* Agent.run(Agent.make({ guardrails: [judge(false)] }), "hi").pipe(Effect.flip, Effect.fork)
      yield* TestClock.adjust("4999 millis")
      assert.isNull(closed.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const error = (yield* Fiber.join(closed)) as GuardrailTripped
      assert.deepStrictEqual([error._tag, error.guardrail, error.stage], ["GuardrailTripped", "judge", "output"])
      assert.include(error.reason, "did not decide within 5s")

      const open = yield* Agent.run(Agent.make({ guardrails: [judge(true)] }), "hi").pipe(Effect.fork)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* Fiber.join(open)).text, "ok")

      // A guardrail that fails blocks too.
      const failing = Guardrail.input({ name: "flaky", check: () => Effect.fail(new Error("judge unreachable")) })
      const failed = yield* tripped(Agent.run(Agent.make({ guardrails: [failing] }), "hi"))
      assert.include(failed.reason, "judge unreachable")
    }).pipe(Effect.provide(TestModel.layer(() => TestModel.text("ok")))))

  it.effect("an output guardrail on streaming text halts the stream: no text after the trip, the model stream interrupted", () =>
    Effect.gen(function*() {
      const chunks = ["Hello. ", "The secret ", "is 42. ", "More ", "text."]
      let pulled = 0
      let completed = false
      let closed = false
      // Watches the model's stream: how far it was read, and whether it ended or was cut off.
      const watched = Layer.effect(
        LanguageModel.LanguageModel,
        Effect.map(LanguageModel.LanguageModel, (service): LanguageModel.Service => ({
          generateText: service.generateText,
          generateObject: service.generateObject,
          streamText: (options) =>
            service.streamText(options).pipe(
              Stream.tap(() => Effect.sync(() => pulled++)),
              Stream.onDone(() => Effect.sync(() => (completed = true))),
              Stream.ensuring(Effect.sync(() => (closed = true)))
            ) as any
        }))
      ).pipe(Layer.provide(TestModel.layer([TestModel.text(chunks.join(""), { chunks, chunkDelay: "10 millis" })])))
      const agent = Agent.make({
        retry: Retry.none,
        guardrails: [Guardrail.forbidPattern(/secret/i, { streaming: true })]
      })
      const events: Array<RunEvent.RunEvent> = []
      const fiber = yield* Agent.stream(agent, "Tell me", { runId: "r" }).pipe(
        Stream.runForEach((event) => Effect.sync(() => events.push(event))),
        Effect.flip,
        Effect.provide(watched),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      const error = (yield* Fiber.join(fiber)) as GuardrailTripped
      assert.deepStrictEqual([error._tag, error.guardrail, error.stage], ["GuardrailTripped", "forbid-pattern", "output"])
      // The events, encoded as an SSE client gets them: the text before the trip, then the failure.
      const wire = events.map((event) => Schema.encodeSync(RunEvent.RunEvent)(event))
      assert.deepStrictEqual(wire.map((event) => event._tag), ["RunStarted", "ModelRequestStarted", "TextDelta", "RunFailed"])
      assert.deepStrictEqual(wire[2], { _tag: "TextDelta", runId: "r", delta: "Hello. " })
      const failed = wire[3] as { readonly error: { readonly _tag: string; readonly guardrail: string } }
      assert.deepStrictEqual([failed.error._tag, failed.error.guardrail], ["GuardrailTripped", "forbid-pattern"])
      // The model's stream was cut off where the guardrail tripped, not read to its end.
      assert.isTrue(closed)
      assert.isFalse(completed)
      assert.isBelow(pulled, chunks.length)
    }))

  it.effect("an output guardrail checks the final answer; a schema check blocks an answer that does not match", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ guardrails: [Guardrail.outputSchema(Schema.Struct({ answer: Schema.Number }))] })
      const error = yield* tripped(Agent.run(agent, "x"))
      assert.strictEqual(error.guardrail, "output-schema")
      const output = yield* Agent.run(agent, "x")
      assert.strictEqual(output.text, "{\"answer\":42}")
      // No text event is emitted by a run that is not streamed: the check is on the answer.
      const events = yield* Agent.stream(agent, "x").pipe(Stream.runCollect, Effect.flip)
      assert.strictEqual(events._tag, "GuardrailTripped")
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.text("forty-two"),
      TestModel.text("{\"answer\":42}"),
      TestModel.text("nope")
    ]))))

  it.effect("tool guardrails: a call is checked before it runs and its result before the model sees it", () => {
    searches.length = 0
    const noDrop = Guardrail.tool({
      name: "no-drop",
      check: (check) =>
        Effect.succeed(
          check.phase === "call" && String((check.arguments as { query: string }).query).includes("drop")
            ? Guardrail.block("destructive query")
            : check.phase === "result" && String(check.result).includes("classified")
            ? Guardrail.block("classified result")
            : Guardrail.pass
        )
    })
    const agent = Agent.make({ toolkit: Tools, retry: Retry.none, guardrails: [noDrop] })
    return Effect.gen(function*() {
      const before = yield* tripped(Agent.run(agent, "go"))
      assert.deepStrictEqual([before.stage, before.tool, before.reason], ["tool-call", "search", "destructive query"])
      assert.deepStrictEqual(searches, [])
      const after = yield* tripped(Agent.run(agent, "go"))
      assert.deepStrictEqual([after.stage, after.reason], ["tool-result", "classified result"])
      assert.deepStrictEqual(searches, ["classified"])
      // The model never got the result: it was called once per run.
      assert.strictEqual((yield* TestModel.requests).length, 2)
    }).pipe(Effect.provide(Layer.merge(
      TestModel.layer([TestModel.toolCall("search", { query: "drop table" }), TestModel.toolCall("search", { query: "classified" })]),
      ToolsLive
    )))
  })

  it.effect("tool guardrails rewrite: the tool runs with the rewritten arguments, the model sees the rewritten result", () => {
    searches.length = 0
    const redact = Guardrail.tool({
      name: "redact",
      check: (check) =>
        Effect.succeed(
          check.phase === "call"
            ? Guardrail.rewrite({ ...check, arguments: { query: (check.arguments as { query: string }).query.replace(/\d{4}/g, "****") } })
            : Guardrail.rewrite({ ...check, result: String(check.result).toUpperCase() })
        )
    })
    const agent = Agent.make({ toolkit: Tools, retry: Retry.none, guardrails: [redact] })
    return Effect.gen(function*() {
      const output = yield* Agent.run(agent, "go")
      assert.deepStrictEqual(searches, ["card ****"])
      assert.deepStrictEqual(output.toolCalls.map((call) => call.result), ["RESULTS FOR CARD ****"])
      const second = (yield* TestModel.requests)[1]!
      const told = second.prompt.content.flatMap((message) =>
        message.role === "tool" ? message.content.map((part) => part.result) : []
      )
      assert.deepStrictEqual(told, ["RESULTS FOR CARD ****"])
    }).pipe(Effect.provide(Layer.merge(
      TestModel.layer([TestModel.toolCall("search", { query: "card 1234" }), TestModel.text("done")]),
      ToolsLive
    )))
  })

  it.effect("a tool guardrail's rewrite that does not match the tool's schema blocks, in its name, and the tool does not run", () => {
    searches.length = 0
    const broken = Guardrail.tool({
      name: "broken",
      check: (check) =>
        Effect.succeed(check.phase === "call" ? Guardrail.rewrite({ ...check, arguments: { query: 42 } }) : Guardrail.pass)
    })
    const agent = Agent.make({ toolkit: Tools, retry: Retry.none, guardrails: [broken] })
    return Effect.gen(function*() {
      const error = yield* tripped(Agent.run(agent, "go"))
      assert.deepStrictEqual([error.guardrail, error.stage, error.tool], ["broken", "tool-call", "search"])
      assert.include(error.reason, "does not match the tool's schema")
      assert.deepStrictEqual(searches, [])
    }).pipe(Effect.provide(Layer.merge(TestModel.layer([TestModel.toolCall("search", { query: "x" })]), ToolsLive)))
  })

  it.effect("a run blocked in a session is recorded as failed with the GuardrailTripped error", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Guarded", guardrails: [Guardrail.forbidPattern(/secret/, { streaming: true })] })
      const error = yield* Agent.stream(agent, "tell me", { sessionId: "s", userId: "u" }).pipe(Stream.runDrain, Effect.flip)
      assert.strictEqual(error._tag, "GuardrailTripped")
      const store = yield* SessionStore.SessionStore
      const [record] = yield* store.load({ userId: "u", sessionId: "s" })
      assert.strictEqual(record!.status, "failed")
      assert.strictEqual(record!.status === "failed" && (record!.error as { _tag: string })._tag, "GuardrailTripped")
    }).pipe(Effect.provide(Layer.merge(
      SessionStoreMemory.layer,
      TestModel.layer([TestModel.text("the secret is out", { chunks: ["the ", "secret ", "is out"] })])
    ))))

  it.effect("interrupting a run while its guardrails decide stops them, and no model is called", () =>
    Effect.gen(function*() {
      let started = false
      let interrupted = false
      const judge = Guardrail.input({
        name: "judge",
        check: () =>
          Effect.sync(() => (started = true)).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => (interrupted = true)))
          )
      })
      const fiber = yield* Agent.run(Agent.make({ guardrails: [judge] }), "hi").pipe(Effect.fork)
      yield* TestClock.adjust("1 second")
      assert.isTrue(started)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(interrupted)
      assert.strictEqual((yield* TestModel.requests).length, 0)
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("ok")]))))

  it.effect("an agent with no guardrails streams as before", () =>
    Effect.gen(function*() {
      const events = yield* Agent.stream(Agent.make({}), "x").pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      assert.deepStrictEqual(events.filter((e) => e._tag === "TextDelta").map((e) => (e as RunEvent.TextDelta).delta), [
        "se",
        "cret"
      ])
    }).pipe(Effect.provide(TestModel.layer([TestModel.text("secret", { chunks: ["se", "cret"] })]))))
})
