/**
 * The types a user reads: what a run of an agent can fail with and needs, as a function generic
 * over the agent sees it; the output of a structured agent as its stream reports it; the members a
 * registry takes. These are compile-time assertions (`expectTypeOf`, `@ts-expect-error`), checked
 * by the type check of the suite; the tests run them so that they also appear in its report.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { describe, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Memory from "../services/Memory.js"
import type * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import type { AgentError, ModelErrorReason } from "../src/AgentError.js"
import type * as Run from "../src/Run.js"

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
