/**
 * From "Async Usage in AGNO": Best Practices (all five, in this one file).
 *
 * Each practice is here as the guide has it, the good version beside the bad one; `main` runs the
 * good ones. The fuller examples: 1 → concurrent-agents, sequential-vs-concurrent; 2 →
 * error-handling, concurrent-errors; 3 → streaming, manual-stream; 4 → timeout; 5 → cleanup.
 *
 * What Effect changes: concurrency is an option of `Effect.all`, not a different function; an
 * unhandled failure is not a crash waiting to happen but part of the type (`Effect<string,
 * AgentError>`), so the caller cannot forget it; a timeout is a typed error; cleanup is attached to
 * the effect with `Effect.ensuring` and runs on success, failure and interruption.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model, slow, unavailable } from "./model.js"

const agent1 = Agent.make({ name: "Agent 1", model: model("gpt-4o-mini") })
const agent2 = Agent.make({ name: "Agent 2", model: model("gpt-4o-mini") })
const agent3 = Agent.make({ name: "Agent 3", model: model("gpt-4o-mini") })

// ─── 1. Run independent tasks concurrently ──────────────────────────────────────────────────────

/** ✅ Independent tasks at once. */
export const goodConcurrent = Effect.all([
  Agent.run(agent1, "Task 1"),
  Agent.run(agent2, "Task 2"),
  Agent.run(agent3, "Task 3")
], { concurrency: "unbounded" })

/** ❌ One after another, although nothing needs to wait: `Effect.all` is sequential by default. */
export const badSequential = Effect.all([
  Agent.run(agent1, "Task 1"),
  Agent.run(agent2, "Task 2"),
  Agent.run(agent3, "Task 3")
])

// ─── 2. Always handle errors ────────────────────────────────────────────────────────────────────

/** ✅ Log the typed error and answer something useful. The error type is now `never`. */
export const goodErrorHandling = (agent: Agent.Agent): Effect.Effect<string> =>
  Agent.run(agent, "Query").pipe(
    Effect.map((response) => response.content),
    Effect.catchAll((error) => Effect.as(Effect.logError(`Agent failed: ${error.message}`), "Error occurred"))
  )

/** ❌ No handling: the failure is still there, in the type, for whoever runs this to deal with. */
export const badNoErrorHandling = (agent: Agent.Agent) =>
  Agent.run(agent, "Query").pipe(Effect.map((response) => response.content))

// ─── 3. Stream long responses ───────────────────────────────────────────────────────────────────

/** ✅ The user sees the answer as it is written. */
export const goodStreaming = Agent.printResponse(agent1, "Write a detailed essay on AI ethics.", { stream: true })

/** ❌ The user waits with no feedback until the whole answer is there. */
export const badNoStreaming = Agent.run(agent1, "Write a detailed essay on AI ethics.").pipe(
  Effect.flatMap((response) => Console.log(response.content))
)

// ─── 4. Set timeouts for critical operations ────────────────────────────────────────────────────

/** ✅ A deadline: the run is interrupted when it passes, and the timeout is a typed error. */
export const goodWithTimeout = (
  agent: Agent.Agent
): Effect.Effect<string, Exclude<AgentError.AgentError, AgentError.RunTimeout>> =>
  Agent.run(Agent.withTimeout(agent, "2 seconds"), "Query").pipe(
    Effect.map((response) => response.content),
    Effect.catchTag("RunTimeout", () => Effect.succeed("Request timed out"))
  )

/** ❌ No deadline: a stuck provider keeps this waiting indefinitely. */
export const badNoTimeout = (agent: Agent.Agent) => Agent.run(agent, "Query")

// ─── 5. Clean up resources ──────────────────────────────────────────────────────────────────────

const cleanup = Console.log("Cleanup done")

/** ✅ The cleanup runs however the run ends: success, failure or interruption. */
export const goodCleanup = (agent: Agent.Agent) => Agent.run(agent, "Query").pipe(Effect.ensuring(cleanup))

/** ❌ No cleanup: whatever the run needed stays open if it fails. */
export const badNoCleanup = (agent: Agent.Agent) => Agent.run(agent, "Query")

// ─── Running the good versions ──────────────────────────────────────────────────────────────────

// The provider rejects this agent's API key, so its runs fail.
const brokenAgent = Agent.make({ name: "Broken", model: unavailable("gpt-4o-mini", 401) })
// This agent's model would take a minute to answer.
const slowAgent = Agent.make({ name: "Slow", model: slow("gpt-4o-mini", "1 minute") })

export const main: Effect.Effect<
  { readonly concurrent: number; readonly errorHandling: string; readonly timeout: string },
  AgentError.AgentError
> = Effect.gen(function*() {
  yield* Console.log("1. Concurrent execution")
  const results = yield* goodConcurrent
  yield* Console.log(`${results.length} results: ${results.map((result) => result.agent).join(", ")}\n`)

  yield* Console.log("2. Error handling (an agent with a wrong API key)")
  const handled = yield* goodErrorHandling(brokenAgent)
  yield* Console.log(`Result: ${handled}\n`)

  yield* Console.log("3. Streaming")
  yield* goodStreaming

  yield* Console.log("4. Timeout (a model that would take a minute)")
  const timedOut = yield* goodWithTimeout(slowAgent)
  yield* Console.log(`Result: ${timedOut}\n`)

  yield* Console.log("5. Cleanup (a run that fails)")
  const cleaned = yield* Effect.either(goodCleanup(brokenAgent))
  const outcome = cleaned._tag === "Left" ? `failed (${cleaned.left._tag})` : "succeeded"
  yield* Console.log(`Result: the run ${outcome}, and the cleanup ran`)

  return { concurrent: results.length, errorHandling: handled, timeout: timedOut }
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
