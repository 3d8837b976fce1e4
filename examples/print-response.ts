/**
 * From "Async Usage in AGNO": Basic Async Patterns › Quick Response with aprint_response.
 *
 * `await agent.aprint_response(...)` becomes `yield* Agent.printResponse(agent, ...)`. It still
 * returns the run's output, so printing and processing are not an either-or; a failed run is printed
 * and then fails the effect with its typed error, instead of raising.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini"), markdown: true })

export const main: Effect.Effect<void, AgentError.AgentError> = Effect.asVoid(
  Agent.printResponse(agent, "What is quantum computing?")
)

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
