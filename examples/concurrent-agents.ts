/**
 * From "Async Usage in AGNO": Concurrent Agent Execution › Running Multiple Agents Concurrently.
 *
 * `asyncio.gather(...)` becomes `Effect.all([...], { concurrency: "unbounded" })`. Effect runs a
 * list of effects one after another unless told otherwise, so the concurrency is written down; the
 * results come back in the order of the list, typed as a tuple.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, type Run } from "../src/index.js"
import { model } from "./model.js"

// Specialised agents
const researcher = Agent.make({
  name: "Researcher",
  model: model("gpt-4o"),
  role: "Research and find information"
})

const writer = Agent.make({
  name: "Writer",
  model: model("gpt-4o"),
  role: "Write clear, engaging content"
})

const analyst = Agent.make({
  name: "Analyst",
  model: model("gpt-4o"),
  role: "Analyze data and provide insights"
})

export const main: Effect.Effect<ReadonlyArray<Run.Output>, AgentError.AgentError> = Effect.gen(function*() {
  // Run all three at once
  const results = yield* Effect.all([
    Agent.run(researcher, "Find latest AI trends"),
    Agent.run(writer, "Write about quantum computing"),
    Agent.run(analyst, "Analyze tech stock performance")
  ], { concurrency: "unbounded" })

  for (const [i, response] of results.entries()) {
    yield* Console.log(`\nAgent ${i + 1} (${response.agent}) response:`)
    yield* Console.log(response.content.slice(0, 200) + "...")
  }
  return results
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
