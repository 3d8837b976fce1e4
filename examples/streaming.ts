/**
 * From "Async Usage in AGNO": Async Streaming › Basic Async Streaming.
 *
 * `aprint_response(..., stream=True)` is `Agent.printResponse(agent, input, { stream: true })`: the
 * answer is printed as it arrives, and the effect still returns the finished run's output.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini"), markdown: true })

export const main: Effect.Effect<void, AgentError.AgentError> = Effect.asVoid(
  Agent.printResponse(agent, "Write a short story about AI.", { stream: true })
)

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
