/**
 * The simulator's built-in answers show what the framework does when no model is configured (as
 * `npm start` and the command line run): a team's leader hands the message to its real members by
 * name, and a session's earlier turns reach the reply.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as OpenAi from "../layers/OpenAi.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as Simulator from "../layers/Simulator.js"
import * as Agent from "../src/Agent.js"
import * as Team from "../src/Team.js"

const onSimulator = (simulator: Simulator.Service) =>
  OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("test"), baseUrl: simulator.openAiUrl })

const researcher = Agent.make({ name: "Researcher", role: "Finds facts" })
const writer = Agent.make({ name: "Writer", role: "Writes it up" })
const team = Team.make({ name: "Desk", members: [researcher, writer] })

describe("the simulator's built-in answers", () => {
  it.scopedLive("a team's leader delegates to its members by name: every member, or the ones the message names", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const model = onSimulator(simulator)
      const all = yield* Team.run(team, "Tell me about qubits").pipe(Effect.provide(model))
      assert.deepStrictEqual(all.memberRuns.map((run) => [run._tag, run.member, run.task]), [
        ["Completed", "Researcher", "Tell me about qubits"],
        ["Completed", "Writer", "Tell me about qubits"]
      ])
      assert.include(all.content, "Simulated answer from the tool results")
      const one = yield* Team.run(team, "Ask the writer for a haiku").pipe(Effect.provide(model))
      assert.deepStrictEqual(one.memberRuns.map((run) => run.member), ["Writer"])
    }))

  it.scopedLive("a session's earlier turns reach the reply", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make()
      const agent = Agent.make({ name: "Assistant" })
      const turn = (input: string) =>
        Agent.run(agent, input, { sessionId: "s1", userId: "ada" }).pipe(
          Effect.map((output) => output.content)
        )
      const [first, second, third] = yield* Effect.all([turn("My name is Ada."), turn("I like tea."), turn("What do you know?")]).pipe(
        Effect.provide(Layer.merge(onSimulator(simulator), SessionStoreMemory.layer))
      )
      assert.notInclude(first, "Earlier")
      assert.include(second, `Earlier you wrote: "My name is Ada."`)
      assert.include(third, `Earlier you wrote: "I like tea." and before that "My name is Ada."`)
    }))
})
