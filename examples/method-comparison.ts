/**
 * From "Async Usage in AGNO": Async Methods › Method Comparison.
 *
 * `arun()` is `Agent.run` (an `Effect` of the run's output), `aprint_response()` is
 * `Agent.printResponse`. The output is a plain value described by a schema (`Run.Output`), so its
 * metrics encode to JSON with `Schema.encodeSync(Run.Metrics)`.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, Run } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini") })

export const main: Effect.Effect<void, AgentError.AgentError> = Effect.gen(function*() {
  // Method 1: Agent.run — get the output to work with
  const response = yield* Agent.run(agent, "Explain AI in one sentence.")
  yield* Console.log(`Content: ${response.content}`)
  yield* Console.log(`Model: ${response.model}`)
  yield* Console.log(`Metrics: ${JSON.stringify(Schema.encodeSync(Run.Metrics)(response.metrics))}`)
  yield* Console.log("")

  // Method 2: Agent.printResponse — show it directly
  yield* Agent.printResponse(agent, "Explain AI in one sentence.")
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
