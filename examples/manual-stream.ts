/**
 * From "Async Usage in AGNO": Async Streaming › Manual Stream Processing.
 *
 * `arun(..., stream=True)` and `async for chunk in stream` become `Agent.stream` and
 * `Stream.runForEach`. The stream carries typed events, not just text: the text arrives in
 * `TextDelta` events, beside tool calls, retries and the completed run. If the reader stops early
 * (an error, an interruption) the run is interrupted with it.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini") })

/** `print(text, end="", flush=True)`: write without a newline. */
const write = (text: string) =>
  Effect.sync(() => {
    process.stdout.write(text)
  })

export const main: Effect.Effect<void, AgentError.AgentError> = Effect.gen(function*() {
  yield* Agent.stream(agent, "Explain machine learning step by step.").pipe(
    Stream.runForEach((event) => (event._tag === "TextDelta" ? write(event.delta) : Effect.void))
  )
  yield* write("\n") // a newline once the stream is done
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
