/**
 * From "Async Usage in AGNO": Async Methods › Accessing Response Data.
 *
 * The output is typed: `metrics.timeToFirstToken` is a `Duration` (absent when no text arrived),
 * `metrics.outputTokens` a number, and `messages` the whole conversation as `@effect/ai` prompt
 * messages, whose content is a list of parts rather than one string.
 */
import type * as Prompt from "@effect/ai/Prompt"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini") })

/** The text of a message: system messages hold a string, the others a list of parts. */
const textOf = (message: Prompt.Message): string =>
  typeof message.content === "string"
    ? message.content
    : message.content.map((part) => (part.type === "text" ? part.text : `[${part.type}]`)).join("")

export const main: Effect.Effect<void, AgentError.AgentError> = Effect.gen(function*() {
  const response = yield* Agent.run(agent, "List 3 programming languages.")

  // The content
  yield* Console.log(response.content)
  yield* Console.log("")

  // The metrics
  const { outputTokens, timeToFirstToken } = response.metrics
  if (timeToFirstToken !== undefined) {
    yield* Console.log(`Time to first token: ${(Duration.toMillis(timeToFirstToken) / 1000).toFixed(2)}s`)
  }
  yield* Console.log(`Output tokens: ${outputTokens}`)
  yield* Console.log("")

  // The messages
  for (const message of response.messages) {
    yield* Console.log(`${message.role}: ${textOf(message)}`)
  }
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
