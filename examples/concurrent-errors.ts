/**
 * From "Async Usage in AGNO": Concurrent Agent Execution › Concurrent Execution with Individual Error Handling.
 *
 * `gather(*tasks, return_exceptions=True)` becomes `Effect.all(tasks, { mode: "either" })`: every
 * task runs to its end and each result is an `Either` — `Right` with the output or `Left` with the
 * typed `AgentError` — so a failure is a value to inspect, not an exception to test for with
 * `isinstance`. Here the analyst's provider does not know its model, so one of the three fails.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, type Run } from "../src/index.js"
import { model, unavailable } from "./model.js"

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
  // The provider answers 404 for this model: not retryable, so the run fails at once.
  model: unavailable("gpt-4o-analysis-preview", 404),
  role: "Analyze data and provide insights"
})

export const main: Effect.Effect<
  ReadonlyArray<Either.Either<Run.Output, AgentError.AgentError>>
> = Effect.gen(function*() {
  const results = yield* Effect.all([
    Agent.run(researcher, "Research topic A"),
    Agent.run(writer, "Write about topic B"),
    Agent.run(analyst, "Analyze data C")
  ], { concurrency: "unbounded", mode: "either" })

  for (const [i, result] of results.entries()) {
    yield* Either.match(result, {
      onLeft: (error) => Console.log(`Agent ${i + 1} failed: ${error._tag}: ${error.message}`),
      onRight: (response) => Console.log(`Agent ${i + 1} succeeded: ${response.content.slice(0, 100)}...`)
    })
  }
  return results
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
