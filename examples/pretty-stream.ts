/**
 * From "Async Usage in AGNO": Async Streaming › Stream with Pretty Printing Utility.
 *
 * `apprint_run_response(agent.arun(..., stream=True))` is `Printer.printStream(Agent.stream(...))`:
 * the printer consumes any run's event stream, so the same stream could also be filtered, logged or
 * sent over HTTP first. The printer needs the input again to show the message it answers.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, Printer } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini"), markdown: true })

const input = "Describe neural networks."

export const main: Effect.Effect<void, AgentError.AgentError> = Effect.asVoid(
  Printer.printStream(Agent.stream(agent, input), input, { markdown: true })
)

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
