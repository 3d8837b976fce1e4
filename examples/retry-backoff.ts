/**
 * From "Async Usage in AGNO": Error Handling › Retry Logic with Exponential Backoff.
 *
 * The hand-written `retry_with_backoff` loop of the Python version becomes the agent's `retry`
 * policy, a `Schedule`: `Retry.exponential({ base: "1 second", times: 3, jitter: false })` waits 1s,
 * 2s, 4s. The agent retries only the model call that failed (not the whole run), only errors that say
 * they are retryable (a 503, never a 401), and reports each retry as a `Retrying` event, which this
 * example prints through `onEvent` the way the Python version prints its attempts. The model here
 * fails twice with a 503, then answers.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, Retry, type Run, type RunEvent } from "../src/index.js"
import { flaky } from "./model.js"

const agent = Agent.make({
  model: flaky("gpt-4o-mini", { failures: 2 }),
  retry: Retry.exponential({ base: "1 second", times: 3, jitter: false })
})

const write = (text: string) =>
  Effect.sync(() => {
    process.stdout.write(text)
  })

const show = (event: RunEvent.RunEvent): Effect.Effect<void> => {
  switch (event._tag) {
    case "Retrying":
      return Console.log(
        `Attempt ${event.attempt} failed: ${event.error.message}\nRetrying in ${Duration.format(event.delay)}...`
      )
    case "TextDelta":
      return write(event.delta)
    case "RunCompleted":
      return write("\n")
    default:
      return Effect.void
  }
}

export const main: Effect.Effect<Run.Output<string>, AgentError.AgentError> = Agent.run(
  agent,
  "Explain quantum entanglement",
  { onEvent: show }
)

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
