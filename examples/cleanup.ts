/**
 * From "Async Usage in AGNO": Best Practices › 5. Clean Up Resources.
 *
 * `try: ... finally: await agent.cleanup()` becomes two Effect tools. A resource is acquired with
 * `Effect.acquireRelease`, here inside a scoped layer for the database the agent's tool queries: it is
 * released when the effect it was provided to ends — succeeded, failed or interrupted — with no
 * `finally` to forget. `Effect.ensuring` is the direct counterpart of `finally` for anything else.
 * An agent holds no resources of its own, so it has no `cleanup()`.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, type Run } from "../src/index.js"
import { model } from "./model.js"

/** A connection to the orders database: the resource the tool uses. */
class OrdersDatabase extends Context.Tag("examples/OrdersDatabase")<OrdersDatabase, {
  readonly search: (query: string) => Effect.Effect<string>
}>() {}

const connect = Effect.acquireRelease(
  Effect.as(Console.log("  [database] connection opened"), {
    search: (query: string) =>
      Console.log(`  [database] query: ${query}`).pipe(
        Effect.zipRight(
          /archive/i.test(query)
            // The archive is slow: long enough for the run to time out or be interrupted mid-query.
            ? Effect.as(Effect.sleep("1 minute"), "No archived orders found.")
            : Effect.succeed("Order #1042: two bags of espresso beans, shipped on Monday, arriving tomorrow.")
        )
      )
  }),
  () => Console.log("  [database] connection closed")
)

const OrdersDatabaseLive = Layer.scoped(OrdersDatabase, connect)

const SearchOrders = Tool.make("search_orders", {
  description: "Search the orders database",
  parameters: { query: Schema.String },
  success: Schema.String
})

const OrdersToolkit = Toolkit.make(SearchOrders)

const OrdersToolkitLive = OrdersToolkit.toLayer(
  Effect.map(OrdersDatabase, (database) =>
    OrdersToolkit.of({
      search_orders: ({ query }) => database.search(query)
    }))
).pipe(Layer.provide(OrdersDatabaseLive))

const agent = Agent.make({
  name: "Support",
  model: model("gpt-4o-mini"),
  toolkit: OrdersToolkit,
  timeout: "2 seconds"
})

/** One run with its own database connection, and a `finally` of its own. */
const ask = (question: string) =>
  Agent.run(agent, question).pipe(
    Effect.provide(OrdersToolkitLive),
    Effect.ensuring(Console.log("  [finally] cleanup done"))
  )

const report = <A, E>(exit: Exit.Exit<A, E>) =>
  Console.log(Exit.match(exit, {
    onSuccess: () => "  → the run succeeded",
    onFailure: (cause) =>
      Exit.isInterrupted(exit)
        ? "  → the run was interrupted"
        : `  → the run failed: ${cause._tag === "Fail" ? String(cause.error) : "defect"}`
  }))

export const main: Effect.Effect<ReadonlyArray<Exit.Exit<Run.Output, AgentError.AgentError>>> = Effect.gen(function*() {
  yield* Console.log("1. The run succeeds:")
  const succeeded = yield* Effect.exit(ask("Search the orders for order 1042"))
  if (Exit.isSuccess(succeeded)) yield* Console.log(`  ${succeeded.value.content}`)
  yield* report(succeeded)

  yield* Console.log("\n2. The run fails (its 2 second timeout, while the tool is querying):")
  const failed = yield* Effect.exit(ask("Search the archived orders for order 977"))
  yield* report(failed)

  yield* Console.log("\n3. The run is interrupted (as Ctrl-C would), while the tool is querying:")
  const fiber = yield* Effect.fork(ask("Search the archived orders for order 977"))
  yield* Effect.sleep("1 second")
  const interrupted = yield* Fiber.interrupt(fiber)
  yield* report(interrupted)

  return [succeeded, failed, interrupted] as const
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
