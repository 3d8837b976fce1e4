/**
 * From "Async Usage in AGNO": Async Streaming › Collecting Stream Data.
 *
 * The mutable `full_content` / `chunk_count` loop becomes a fold over the stream
 * (`Stream.runFoldEffect`), which prints a progress line every 10 chunks and returns what it
 * collected.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini") })

/** What the stream delivered. */
export interface Collected {
  readonly content: string
  readonly chunks: number
}

export const main: Effect.Effect<Collected, AgentError.AgentError> = Effect.gen(function*() {
  const collected = yield* Agent.stream(agent, "List 5 AI applications.").pipe(
    Stream.filterMap((event) => (event._tag === "TextDelta" ? Option.some(event.delta) : Option.none())),
    Stream.runFoldEffect<Collected, string, never, never>({ content: "", chunks: 0 }, (so, delta) => {
      const next = { content: so.content + delta, chunks: so.chunks + 1 }
      return next.chunks % 10 === 0
        ? Effect.as(Console.log(`Received ${next.chunks} chunks...`), next)
        : Effect.succeed(next)
    })
  )
  yield* Console.log(`\nTotal chunks: ${collected.chunks}`)
  yield* Console.log(`Full content length: ${collected.content.length} chars`)
  return collected
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
