/**
 * From "Async Usage in AGNO": Basic Async Patterns › Simple Async Agent.
 *
 * `await agent.arun(input=...)` becomes `yield* Agent.run(agent, ...)` inside `Effect.gen`, and
 * `asyncio.run(main())` becomes `NodeRuntime.runMain(main)`. Building the agent runs nothing: it is
 * a value, and `main` is a description of the program until it is run.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini") })

export const main: Effect.Effect<void, AgentError.AgentError> = Effect.gen(function*() {
  const response = yield* Agent.run(agent, "Tell me a joke.")
  yield* Console.log(response.content)
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
