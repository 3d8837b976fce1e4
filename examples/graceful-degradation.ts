/**
 * From "Async Usage in AGNO": Error Handling › Graceful Degradation.
 *
 * First the Python version's shape: run the primary agent and, on failure, `Effect.catchAll` into the
 * backup. Then the framework's way: one agent with `fallback` models, tried in order when a model
 * call still fails after its retries. The fallback switches models per model call, inside the run,
 * so the conversation so far (and any tool results) carry over. Here the primary model is down
 * (HTTP 503); `Retry.none` fails over at once instead of retrying it first.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, Retry, type Run } from "../src/index.js"
import { model, unavailable } from "./model.js"

// 1. The Python version's shape: two agents, and a catch that moves from one to the other
const primaryAgent = Agent.make({ name: "Primary", model: unavailable("gpt-4o"), retry: Retry.none })
const backupAgent = Agent.make({ name: "Backup", model: model("gpt-4o-mini") })

const gracefulDegradation = Agent.run(primaryAgent, "Complex query").pipe(
  Effect.catchAll((error) =>
    Console.log(`Primary failed (${error.message}), using backup...`).pipe(
      Effect.zipRight(Agent.run(backupAgent, "Complex query"))
    )
  )
)

// 2. The framework's way: fallback models on one agent
const resilientAgent = Agent.make({
  name: "Resilient",
  model: unavailable("gpt-4o"),
  fallback: [model("gpt-4o-mini")],
  retry: Retry.none
})

export const main: Effect.Effect<ReadonlyArray<Run.Output>, AgentError.AgentError> = Effect.gen(function*() {
  yield* Console.log("1. Primary agent, then backup agent:")
  const first = yield* gracefulDegradation
  yield* Console.log(`Answered by ${first.agent} (${first.model}): ${first.content}`)

  yield* Console.log("\n2. One agent with a fallback model:")
  const second = yield* Agent.run(resilientAgent, "Complex query")
  yield* Console.log(`Answered by ${second.agent} (${second.model}): ${second.content}`)
  return [first, second] as const
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
