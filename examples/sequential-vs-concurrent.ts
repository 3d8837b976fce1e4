/**
 * From "Async Usage in AGNO": Concurrent Agent Execution › Sequential vs Concurrent Performance.
 *
 * The same three runs, as one `Effect.all` without and with `concurrency: "unbounded"`. Each is timed
 * with `Effect.timed`, which reads Effect's `Clock` rather than `time.time()`, so a test can run this
 * on a virtual clock. With the demo model's latency the concurrent version takes about a third.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini") })

const tasks = [
  Agent.run(agent, "Task 1"),
  Agent.run(agent, "Task 2"),
  Agent.run(agent, "Task 3")
]

/** One after another: Effect.all's default. */
const sequentialExecution = Effect.all(tasks)

/** All at once. */
const concurrentExecution = Effect.all(tasks, { concurrency: "unbounded" })

const timed = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
  Effect.timed(effect).pipe(
    Effect.tap(([elapsed]) => Console.log(`${label}: ${(Duration.toMillis(elapsed) / 1000).toFixed(2)}s`)),
    Effect.map(([elapsed]) => elapsed)
  )

export const main: Effect.Effect<
  { readonly sequential: Duration.Duration; readonly concurrent: Duration.Duration },
  AgentError.AgentError
> = Effect.gen(function*() {
  const sequential = yield* timed("Sequential", sequentialExecution)
  const concurrent = yield* timed("Concurrent", concurrentExecution)
  return { sequential, concurrent }
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
