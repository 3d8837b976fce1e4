import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import * as Team from "../src/Team.js"
import type { AgentError } from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"
import type * as Run from "../src/Run.js"
import { backends, newUser } from "./fixtures/sessionStores.js"

// -----------------------------------------------------------------------------
// The store, on every backend
// -----------------------------------------------------------------------------

for (const backend of backends) {
  describe(`Memory [${backend.name}]`, () => {
    const live = <A, E>(name: string, effect: Effect.Effect<A, E, Memory.Memory>) =>
      it.live(name, () => Effect.provide(effect, backend.layer))

    live("remembers, lists oldest first, updates and forgets a user's facts", Effect.gen(function*() {
      const memory = yield* Memory.Memory
      const userId = newUser()
      assert.deepStrictEqual(yield* memory.list(userId), [])
      const tea = yield* memory.remember(userId, "  Likes tea.  ")
      const metric = yield* memory.remember(userId, "Uses metric units.")
      assert.strictEqual(tea.text, "Likes tea.")
      assert.strictEqual(tea.userId, userId)
      assert.deepStrictEqual((yield* memory.list(userId)).map((fact) => [fact.id, fact.text]), [
        [tea.id, "Likes tea."],
        [metric.id, "Uses metric units."]
      ])
      yield* Effect.sleep("5 millis")
      const coffee = yield* memory.update(userId, tea.id, "Likes coffee now.")
      assert.strictEqual(coffee.id, tea.id)
      assert.strictEqual(coffee.createdAt.epochMillis, tea.createdAt.epochMillis)
      assert.isTrue(coffee.updatedAt.epochMillis > tea.updatedAt.epochMillis)
      yield* memory.forget(userId, metric.id)
      assert.deepStrictEqual((yield* memory.list(userId)).map((fact) => fact.text), ["Likes coffee now."])
      yield* memory.clear(userId)
      assert.deepStrictEqual(yield* memory.list(userId), [])
    }))

    live("an unknown fact is FactNotFound; an empty or huge fact is refused", Effect.gen(function*() {
      const memory = yield* Memory.Memory
      const userId = newUser()
      assert.instanceOf(yield* Effect.flip(memory.update(userId, "nope", "x")), Memory.FactNotFound)
      assert.instanceOf(yield* Effect.flip(memory.forget(userId, "nope")), Memory.FactNotFound)
      const empty = yield* Effect.flip(memory.remember(userId, "   "))
      assert.strictEqual(empty.reason, "InvalidInput")
      const huge = yield* Effect.flip(memory.remember(userId, "x".repeat(Memory.maxFactLength + 1)))
      assert.strictEqual(huge.reason, "InvalidInput")
      assert.deepStrictEqual(yield* memory.list(userId), [])
    }))

    live("one user's facts are never another's", Effect.gen(function*() {
      const memory = yield* Memory.Memory
      const ada = newUser("ada")
      const bob = newUser("bob")
      const fact = yield* memory.remember(ada, "Ada's secret")
      assert.deepStrictEqual(yield* memory.list(bob), [])
      assert.instanceOf(yield* Effect.flip(memory.update(bob, fact.id, "stolen")), Memory.FactNotFound)
      assert.instanceOf(yield* Effect.flip(memory.forget(bob, fact.id)), Memory.FactNotFound)
      yield* memory.clear(bob)
      assert.deepStrictEqual((yield* memory.list(ada)).map((f) => f.text), ["Ada's secret"])
    }))

    if (Option.isSome(backend.withSql)) {
      const withSql = backend.withSql.value
      it.live("a fact written by a newer version is an UnsupportedVersion error", () =>
        Effect.gen(function*() {
          const memory = yield* Memory.Memory
          const sql = yield* SqlClient.SqlClient
          const userId = newUser()
          yield* memory.remember(userId, "Likes tea.")
          yield* sql`UPDATE effect_agents_memories SET version = 99 WHERE user_id = ${userId}`
          const error = yield* Effect.flip(memory.list(userId))
          assert.strictEqual(error.reason, "UnsupportedVersion")
        }).pipe(Effect.provide(withSql)))
    }
  })
}

// -----------------------------------------------------------------------------
// Agents with memory
// -----------------------------------------------------------------------------

const assistant = Agent.make({ name: "Assistant", instructions: "Be helpful.", retry: Retry.none }).pipe(
  Agent.withMemory()
)

const seed = (userId: string, ...facts: ReadonlyArray<string>) =>
  Effect.flatMap(Memory.Memory, (memory) => Effect.forEach(facts, (fact) => memory.remember(userId, fact)))

const facts = (userId: string) =>
  Effect.map(Effect.flatMap(Memory.Memory, (memory) => memory.list(userId)), (all) => all.map((fact) => fact.text))

describe("Agent.withMemory", () => {
  it.effect("puts the run's user's facts in the instructions, and only theirs", () =>
    Effect.gen(function*() {
      const [tea] = yield* seed("ada", "Likes tea.")
      yield* seed("bob", "Bob's secret.")
      yield* Agent.run(assistant, "Hello", { userId: "ada" })
      const [request] = yield* TestModel.requests
      assert.include(request!.system!, "Be helpful.")
      assert.include(request!.system!, `- ${tea!.id}: Likes tea.`)
      assert.notInclude(request!.system!, "Bob's secret.")
      assert.deepStrictEqual([...request!.tools].sort(), ["forget", "remember", "update_memory"])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer([TestModel.text("Hi.")])))))

  it.effect("the model remembers, updates and forgets facts of the run's user with the tools", () =>
    Effect.gen(function*() {
      const [old] = yield* seed("ada", "Lives in Paris.", "Has a cat.")
      const cat = (yield* Effect.flatMap(Memory.Memory, (memory) => memory.list("ada")))[1]!
      const script = TestModel.layer([
        TestModel.toolCalls([
          { name: "remember", params: { fact: "Prefers metric units." } },
          { name: "update_memory", params: { id: old!.id, fact: "Lives in Lyon." } },
          { name: "forget", params: { id: cat.id } },
          { name: "forget", params: { id: "no-such-fact" } }
        ]),
        TestModel.text("Noted.")
      ])
      const output = yield* Effect.provide(Agent.run(assistant, "I moved to Lyon; the cat is gone.", { userId: "ada" }), script)
      assert.deepStrictEqual(output.toolCalls.map((call) => call.failure ?? "ok"), ["ok", "ok", "ok", "Failed"])
      assert.include(JSON.stringify(output.toolCalls[3]!.result), "FactNotFound")
      assert.deepStrictEqual(yield* facts("ada"), ["Lives in Lyon.", "Prefers metric units."])
      assert.deepStrictEqual(yield* facts("bob"), [])
    }).pipe(Effect.provide(SessionStoreMemory.layer)))

  it.effect("remembers across sessions: a fact learnt in one session is known in the next", () =>
    Effect.gen(function*() {
      yield* Agent.run(assistant, "I like tea.", { userId: "ada", sessionId: "monday" })
      yield* Agent.run(assistant, "What do I like?", { userId: "ada", sessionId: "tuesday" })
      const requests = yield* TestModel.requests
      const tuesday = requests[requests.length - 1]!
      assert.include(tuesday.system!, "Likes tea.")
      assert.deepStrictEqual(tuesday.prompt.content.filter((m) => m.role === "user").length, 1)
    }).pipe(Effect.provide(Layer.merge(
      SessionStoreMemory.layer,
      TestModel.layer([
        TestModel.toolCall("remember", { fact: "Likes tea." }),
        TestModel.text("Noted."),
        TestModel.text("Tea.")
      ])
    ))))

  it.effect("instructions only, or tools only", () =>
    Effect.gen(function*() {
      yield* seed("ada", "Likes tea.")
      const quiet = Agent.make({ name: "Quiet" }).pipe(Agent.withMemory({ tools: false }))
      const blind = Agent.make({ name: "Blind" }).pipe(Agent.withMemory({ instructions: false }))
      yield* Agent.run(quiet, "hi", { userId: "ada" })
      yield* Agent.run(blind, "hi", { userId: "ada" })
      const [first, second] = yield* TestModel.requests
      assert.include(first!.system!, "Likes tea.")
      assert.notInclude(first!.system!, "remember tool")
      assert.deepStrictEqual(first!.tools, [])
      assert.strictEqual(second!.system, undefined)
      assert.strictEqual(second!.tools.length, 3)
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer((r) => TestModel.text(r.lastUserText))))))

  it.effect("keeps instructions that are an Effect", () =>
    Effect.gen(function*() {
      yield* seed("ada", "Likes tea.")
      const agent = Agent.make({ instructions: Effect.succeed(["One.", "Two."]) }).pipe(Agent.withMemory())
      yield* Agent.run(agent, "hi", { userId: "ada" })
      const [request] = yield* TestModel.requests
      assert.match(request!.system!, /^One\.\n\nTwo\.\n\nWhat you remember about the user/)
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer([TestModel.text("ok")])))))

  it.effect("memory that cannot be read fails the run with MemoryError before the model is called", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Agent.run(assistant, "hi", { userId: "ada" }))
      assert.strictEqual(error._tag, "MemoryError")
      assert.deepStrictEqual(yield* TestModel.requests, [])
    }).pipe(Effect.provide(Layer.merge(
      Layer.succeed(Memory.Memory, {
        list: (userId) =>
          Effect.fail(new Memory.MemoryError({ operation: "list", reason: "Unavailable", message: "down", userId })),
        remember: () => Effect.dieMessage("unused"),
        update: () => Effect.dieMessage("unused"),
        forget: () => Effect.dieMessage("unused"),
        clear: () => Effect.void
      }),
      TestModel.layer([TestModel.text("never")])
    ))))

  it.effect("a run in a session that fails with MemoryError is recorded with its typed error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Agent.run(assistant, "hi", { userId: "ada", sessionId: "s" }).pipe(
        Effect.provideService(Memory.Memory, {
          list: (userId) =>
            Effect.fail(new Memory.MemoryError({ operation: "list", reason: "Unavailable", message: "down", userId })),
          remember: () => Effect.dieMessage("unused"),
          update: () => Effect.dieMessage("unused"),
          forget: () => Effect.dieMessage("unused"),
          clear: () => Effect.void
        })
      ))
      assert.strictEqual(error._tag, "MemoryError")
      const store = yield* SessionStore.SessionStore
      const records = yield* store.load({ userId: "ada", sessionId: "s" })
      assert.deepStrictEqual(records.map((record) => [record.status, record.status === "failed" && record.error._tag]), [
        ["failed", "MemoryError"]
      ])
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer([TestModel.text("never")])))))

  it.effect("a UserMemory provided by hand works without a userId", () =>
    Effect.gen(function*() {
      const memory = yield* Memory.Memory
      yield* memory.remember("carol", "Likes jazz.")
      yield* Agent.run(assistant, "hi").pipe(Effect.provideService(Memory.UserMemory, Memory.forUser(memory, "carol")))
      const [request] = yield* TestModel.requests
      assert.include(request!.system!, "Likes jazz.")
    }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer([TestModel.text("ok")])))))

  it("needs the user's memory in the types", () => {
    expectTypeOf(assistant).toEqualTypeOf<Agent.Agent<string, LanguageModel.LanguageModel | Memory.UserMemory>>()
    expectTypeOf(Agent.run(assistant, "hi", { userId: "ada" })).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError | Memory.MemoryError, LanguageModel.LanguageModel | Memory.Memory>
    >()
    expectTypeOf(Agent.run(assistant, "hi", { userId: "ada", sessionId: "s" })).toEqualTypeOf<
      Effect.Effect<
        Run.Output<string>,
        AgentError | SessionStore.SessionStoreError | Memory.MemoryError,
        LanguageModel.LanguageModel | Memory.Memory | SessionStore.SessionStore
      >
    >()
    expectTypeOf(Agent.run(assistant, "hi")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError | Memory.MemoryError, LanguageModel.LanguageModel | Memory.UserMemory>
    >()
    // A user id on an agent without memory asks for nothing more.
    expectTypeOf(Agent.run(Agent.make({}), "hi", { userId: "ada" })).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, LanguageModel.LanguageModel>
    >()
  })
})

describe("Agent.withMemory in a team", () => {
  const delegate = (member: string, task: string) => TestModel.toolCall("delegate_task_to_member", { member, task })

  it.effect("a member with memory runs for the team's user: it reads and writes that user's facts", () =>
    Effect.gen(function*() {
      yield* seed("ada", "Likes tea.")
      yield* seed("bob", "Bob's secret.")
      const member = TestModel.layer([TestModel.toolCall("remember", { fact: "Writes haiku." }), TestModel.text("Noted.")])
      const team = Team.make({
        name: "Desk",
        members: [Agent.make({ name: "Keeper", retry: Retry.none, model: member }).pipe(Agent.withMemory())],
        model: TestModel.layer([delegate("Keeper", "Remember that I write haiku"), TestModel.text("Done.")])
      })
      const output = yield* Team.run(team, "Remember that I write haiku", { userId: "ada" })
      assert.strictEqual(output.content, "Done.")
      const [run] = output.memberRuns
      assert.strictEqual(run!._tag, "Completed")
      assert.deepStrictEqual(yield* facts("ada"), ["Likes tea.", "Writes haiku."])
      assert.deepStrictEqual(yield* facts("bob"), ["Bob's secret."])
    }).pipe(Effect.provide(SessionStoreMemory.layer)))

  it.effect("a memory that cannot be read is the member's typed failure, told to the leader", () =>
    Effect.gen(function*() {
      const failing = Layer.succeed(Memory.Memory, {
        list: (userId: string) =>
          Effect.fail(new Memory.MemoryError({ operation: "list", reason: "Unavailable", message: "down", userId }))
      } as unknown as Memory.Service)
      const leader = TestModel.layer([delegate("Keeper", "hi"), TestModel.text("Sorry.")])
      const team = Team.make({
        members: [Agent.make({ name: "Keeper", retry: Retry.none, model: TestModel.layer([TestModel.text("x")]) }).pipe(Agent.withMemory())],
        model: leader
      })
      const output = yield* Team.run(team, "hi", { userId: "ada" }).pipe(Effect.provide(failing))
      const [run] = output.memberRuns
      assert.strictEqual(run!._tag, "Failed")
      assert.strictEqual(run!._tag === "Failed" ? run!.error._tag : "", "MemoryError")
    }))
})
