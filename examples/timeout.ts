/**
 * From "Async Usage in AGNO": Error Handling › Timeout Handling.
 *
 * `asyncio.wait_for(..., timeout=30.0)` and `except asyncio.TimeoutError` become a timeout that is a
 * typed error. Two ways: the agent's own `timeout`, which fails the run with `RunTimeout` (part of the
 * `AgentError` union, so it is handled like any other failure), or `Effect.timeout` around any
 * effect, which fails with `TimeoutException`. Either way the run is interrupted, not left running
 * in the background. The limit is 2 seconds here (the Python version uses 30) to keep the example
 * short.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { slow } from "./model.js"

const limit = "2 seconds"

// 1. The agent's timeout, for every run of the agent
const agent = Agent.make({ model: slow("gpt-4o-mini", "1 minute"), timeout: limit })

const withAgentTimeout = Agent.run(agent, "Long-running query...").pipe(
  Effect.tap((response) => Console.log(response.content)),
  Effect.as("answered" as const),
  Effect.catchTag("RunTimeout", (error) =>
    Effect.as(Console.log(`Request timed out after ${Duration.format(error.timeout)}`), error._tag))
)

// 2. A deadline put on one effect from outside, as wait_for does
const plainAgent = Agent.make({ model: slow("gpt-4o-mini", "1 minute") })

const withEffectTimeout = Agent.run(plainAgent, "Long-running query...").pipe(
  Effect.timeout(limit),
  Effect.tap((response) => Console.log(response.content)),
  Effect.as("answered" as const),
  Effect.catchTag("TimeoutException", (error) =>
    Effect.as(Console.log(`Request timed out after ${Duration.format(limit)}`), error._tag))
)

export const main: Effect.Effect<
  ReadonlyArray<"answered" | "RunTimeout" | "TimeoutException">,
  AgentError.AgentError
> = Effect.gen(function*() {
  yield* Console.log("Agent timeout:")
  const first = yield* withAgentTimeout
  yield* Console.log("\nEffect.timeout:")
  const second = yield* withEffectTimeout
  return [first, second] as const
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
