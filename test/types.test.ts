/**
 * The types a user reads: what a run of an agent can fail with and needs, as a function generic
 * over the agent sees it; the output of a structured agent as its stream reports it; the members a
 * registry takes. These are compile-time assertions (`expectTypeOf`, `@ts-expect-error`), checked
 * by the type check of the suite; the tests run them so that they also appear in its report.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Memory from "../services/Memory.js"
import type * as SessionStore from "../services/SessionStore.js"
import * as HttpApp from "../layers/HttpApp.js"
import type * as HttpApi from "../src/HttpApi.js"
import * as Agent from "../src/Agent.js"
import * as Registry from "../src/Registry.js"
import type { AgentError, ModelErrorReason } from "../src/AgentError.js"
import * as Run from "../src/Run.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Runnable from "../src/Runnable.js"
import * as Team from "../src/Team.js"
import * as Workflow from "../src/Workflow.js"

describe("a run's errors", () => {
  it("are known inside a function generic over the agent: catchTags reads each error's fields", () => {
    // What a user writes once for every agent of theirs: retry advice from the model's error.
    const advice = <A, R>(agent: Agent.Agent<A, R>) =>
      Agent.run(agent, "hi").pipe(
        Effect.map((output) => output.content),
        Effect.catchTags({
          ModelError: (error) => Effect.succeed(error.reason),
          MemoryError: (error) => Effect.succeed(error.operation)
        })
      )
    expectTypeOf(advice<string, LanguageModel.LanguageModel>).returns.toEqualTypeOf<
      Effect.Effect<
        string | ModelErrorReason | Memory.MemoryError["operation"],
        Exclude<AgentError, { readonly _tag: "ModelError" | "MemoryError" }>,
        LanguageModel.LanguageModel
      >
    >()
    // In a session too: the store's error joins, whatever the agent needs.
    const inSession = <A, R>(agent: Agent.Agent<A, R>) =>
      Agent.run(agent, "hi", { sessionId: "s" }).pipe(
        Effect.catchTag("SessionStoreError", (error) => Effect.succeed(error.operation))
      )
    expectTypeOf(inSession<string, never>).returns.toEqualTypeOf<
      Effect.Effect<Run.Output<string> | SessionStore.SessionStoreError["operation"], AgentError, SessionStore.SessionStore>
    >()
  })

  it("are AgentError for every agent, with memory or not, and the store's error in a session", () => {
    const plain = Agent.make({ name: "Plain" })
    const remembering = plain.pipe(Agent.withMemory())
    expectTypeOf(Agent.run(plain, "hi")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, LanguageModel.LanguageModel>
    >()
    expectTypeOf(Agent.run(remembering, "hi", { userId: "ada" })).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, LanguageModel.LanguageModel | Memory.Memory>
    >()
    expectTypeOf(Agent.run(remembering, "hi", { userId: "ada", sessionId: "s" })).toEqualTypeOf<
      Effect.Effect<
        Run.Output<string>,
        AgentError | SessionStore.SessionStoreError,
        LanguageModel.LanguageModel | Memory.Memory | SessionStore.SessionStore
      >
    >()
    // A memory that cannot be read is one of the run's errors, with its own fields.
    expectTypeOf<Extract<AgentError, { readonly _tag: "MemoryError" }>>().toEqualTypeOf<Memory.MemoryError>()
  })
})

describe("a run's events", () => {
  const Review = Schema.Struct({ stars: Schema.Number, summary: Schema.String })
  const critic = Agent.make({ name: "Critic", output: Review })

  it("carry a structured agent's output typed in RunCompleted", () => {
    const events = Agent.stream(critic, "Rate the film")
    expectTypeOf(events).toEqualTypeOf<
      Stream.Stream<
        RunEvent.RunEvent<{ readonly stars: number; readonly summary: string }>,
        AgentError,
        LanguageModel.LanguageModel
      >
    >()
    // What a user streaming the agent writes: the answer, read off its last event, typed.
    const stars = events.pipe(
      Stream.filter((event) => event._tag === "RunCompleted"),
      Stream.map((event) => event.output.content.stars),
      Stream.runLast
    )
    expectTypeOf(stars).toEqualTypeOf<
      Effect.Effect<import("effect/Option").Option<number>, AgentError, LanguageModel.LanguageModel>
    >()
    // A text agent's stream completes with its text; in a session, too.
    expectTypeOf(Agent.stream(Agent.make({}), "hi", { sessionId: "s" })).toEqualTypeOf<
      Stream.Stream<
        RunEvent.RunEvent<string>,
        AgentError | SessionStore.SessionStoreError,
        LanguageModel.LanguageModel | SessionStore.SessionStore
      >
    >()
  })

  it("carry a workflow's output typed, from its own stream and from the protocol's", () => {
    const double = Workflow.make({
      name: "Double",
      input: Schema.Number,
      steps: Workflow.step("double", (n: number) => Effect.succeed({ doubled: n * 2 }))
    })
    expectTypeOf(Workflow.stream(double, 2)).toEqualTypeOf<
      Stream.Stream<RunEvent.RunEvent<{ doubled: number }>, never, never>
    >()
    expectTypeOf(Runnable.stream(double, "2")).toEqualTypeOf<
      Stream.Stream<RunEvent.RunEvent<{ doubled: number }>, AgentError, never>
    >()
  })

  it("carry it from an agent's service, and stay one schema on the wire", () => {
    expectTypeOf<ReturnType<Agent.Service<typeof Review.Type>["stream"]>>().toEqualTypeOf<
      Stream.Stream<RunEvent.RunEvent<{ readonly stars: number; readonly summary: string }>, AgentError>
    >()
    expectTypeOf<ReturnType<Runnable.SessionService<number>["stream"]>>().toEqualTypeOf<
      Stream.Stream<RunEvent.RunEvent<number>, AgentError | SessionStore.SessionStoreError>
    >()
    // The schema's events are any run's (their content is unknown until a runnable says what it is),
    // and a typed event is one of them: it encodes as it is.
    expectTypeOf<typeof RunEvent.RunEvent.Type>().toEqualTypeOf<RunEvent.RunEvent>()
    expectTypeOf<RunEvent.RunEvent>().toEqualTypeOf<RunEvent.RunEvent<unknown>>()
    expectTypeOf<RunEvent.RunEvent<typeof Review.Type>>().toExtend<RunEvent.RunEvent>()
    const completed: RunEvent.RunEvent<typeof Review.Type> = new RunEvent.RunCompleted({
      runId: "r",
      output: Run.makeOutput({ runId: "r", agent: "Critic", content: { stars: 4, summary: "Tense." } })
    })
    const encode = (event: RunEvent.RunEvent<typeof Review.Type>) => Schema.encode(RunEvent.RunEvent)(event)
    expectTypeOf(encode).returns.toEqualTypeOf<Effect.Effect<RunEvent.RunEventEncoded, ParseResult.ParseError>>()
    // A decoded event is any run's: its content is unknown until a runnable says what it is.
    const decoded = Schema.decodeUnknownSync(RunEvent.RunEvent)(Effect.runSync(encode(completed)))
    assert.deepStrictEqual(decoded._tag === "RunCompleted" && decoded.output.content, { stars: 4, summary: "Tense." })
    if (decoded._tag === "RunCompleted") {
      expectTypeOf(decoded.output.content).toEqualTypeOf<unknown>()
      // @ts-expect-error an untyped event's content is not the structured answer
      expectTypeOf(() => decoded.output.content.stars).returns.toBeNumber()
    }
  })
})

describe("a registry's layer", () => {
  it("needs what its members need, members made inline included", () => {
    // The README's own example: the members are made where the registry is.
    expectTypeOf(Registry.layer([Agent.make({ name: "Writer" })])).toEqualTypeOf<
      Layer.Layer<Registry.Registry, never, LanguageModel.LanguageModel | SessionStore.SessionStore>
    >()
    class Greeting extends Effect.Service<Greeting>()("test/Greeting", { succeed: { text: "hi" } }) {}
    const inline = Registry.layer([
      Team.make({ name: "Desk", members: [Agent.make({ name: "Writer" })] }),
      Runnable.make({
        name: "Greeter",
        run: (_input, context) =>
          Effect.map(Greeting, (greeting) => Run.makeOutput({ runId: context.runId, agent: "Greeter", content: greeting.text }))
      }),
      Agent.make({ name: "Assistant" }).pipe(Agent.withMemory())
    ])
    expectTypeOf(inline).toEqualTypeOf<
      Layer.Layer<
        Registry.Registry,
        never,
        LanguageModel.LanguageModel | Greeting | SessionStore.SessionStore | Memory.Memory
      >
    >()
    // A layer that is missing one of them does not compile.
    // @ts-expect-error the model is missing
    const _missing: Layer.Layer<Registry.Registry, never, SessionStore.SessionStore> = Registry.layer([Agent.make({})])
  })

  it("holds any runnable, typed without any, and nothing else", () => {
    expectTypeOf<Registry.Member>().toEqualTypeOf<Runnable.Runnable<unknown, unknown>>()
    // @ts-expect-error a registry holds runnables only
    Registry.layer([{ name: "Writer" }])
  })
})

describe("an agent's configuration", () => {
  it("types a structured answer from its schema, whatever the schema's encoded form, without any", () => {
    // The model writes a string; the answer holds a Date.
    const Meeting = Schema.Struct({ title: Schema.String, at: Schema.DateFromString })
    expectTypeOf(Agent.make({ output: Meeting })).toEqualTypeOf<
      Agent.Agent<{ readonly title: string; readonly at: Date }, LanguageModel.LanguageModel>
    >()
    // A schema that needs a service adds it to the agent's requirements.
    class Units extends Effect.Service<Units>()("test/Units", { succeed: { metric: true } }) {}
    const Celsius = Schema.transformOrFail(Schema.Number, Schema.Number, {
      decode: (n) => Effect.map(Units, (units) => (units.metric ? n : (n - 32) / 1.8)),
      encode: (n) => Effect.succeed(n)
    })
    expectTypeOf(Agent.make({ output: Celsius })).toEqualTypeOf<
      Agent.Agent<number, LanguageModel.LanguageModel | Units>
    >()
    // The configuration's types name the schema's encoded type: no `any` in it.
    expectTypeOf<NonNullable<Agent.Config<{}, Date, never, never, never, never>["output"]>>().toEqualTypeOf<
      Schema.Schema<Date, Date, never>
    >()
    expectTypeOf<
      NonNullable<Agent.Config<{}, Date, never, never, never, never, never, never, never, string>["output"]>
    >().toEqualTypeOf<Schema.Schema<Date, string, never>>()
  })

  it("needs what each fallback model needs, no more", () => {
    class Primary extends Effect.Service<Primary>()("test/Primary", { succeed: {} }) {}
    class Greeter extends Effect.Service<Greeter>()("test/Greeter", { succeed: {} }) {}
    // Model layers on two clients (their values are never built here).
    const primary = {} as Layer.Layer<LanguageModel.LanguageModel, never, Primary>
    const fallbackModel = {} as Layer.Layer<LanguageModel.LanguageModel, never, Greeter>
    expectTypeOf(Agent.make({ model: primary, fallback: [fallbackModel] })).toEqualTypeOf<Agent.Agent<string, Primary | Greeter>>()
    expectTypeOf<Agent.FallbackContext<[typeof fallbackModel, typeof primary]>>().toEqualTypeOf<Greeter | Primary>()
    expectTypeOf<Agent.FallbackContext<[]>>().toBeNever()
    expectTypeOf(Team.make({ members: [Agent.make({ model: primary })], model: primary, fallback: [fallbackModel] }))
      .toEqualTypeOf<Team.Team<string, Primary | Greeter>>()
  })
})

describe("options and clients", () => {
  it("an optional option takes undefined, as exactOptionalPropertyTypes users pass it", () => {
    const maybePort = Number(process.env["PORT"]) || undefined
    expectTypeOf(maybePort).toEqualTypeOf<number | undefined>()
    expectTypeOf(HttpApp.layer).toBeCallableWith({ port: maybePort, host: undefined, token: undefined })
    expectTypeOf(Agent.make).toBeCallableWith({ name: undefined, maxTurns: undefined, output: undefined })
    expectTypeOf(Agent.run).toBeCallableWith(Agent.make({}), "hi", { sessionId: undefined, runId: undefined })
  })

  it("a batch's inputs are any array of inputs a client built", () => {
    const inputs: Array<string> = ["one", "two"]
    expectTypeOf<HttpApi.Client["batches"]["submit"]>().toBeCallableWith({ payload: { agent: "Writer", inputs } })
  })
})
