#!/usr/bin/env node
/**
 * The `effect-agents` executable: `effect-agents serve`, `run`, `chat` (see `Cli`).
 *
 * @since 0.1.0
 */

// Loading the command line takes about a second: a signal meanwhile is a cancellation too. From
// the start of the program on, the commands handle signals themselves.
const cancel = (signal: NodeJS.Signals) => {
  process.stderr.write("effect-agents: cancelled\n")
  process.exit(signal === "SIGTERM" ? 143 : 130)
}
process.once("SIGINT", cancel).once("SIGTERM", cancel)
const [NodeContext, Effect, Cli] = await Promise.all([
  import("@effect/platform-node/NodeContext"),
  import("effect/Effect"),
  import("./Cli.js")
])
// Node 22 and later load the modules synchronously, so a signal that came meanwhile is only
// dispatched now, in the event loop's next turn: it must still find this listener.
await new Promise((resolve) => setImmediate(resolve))
process.off("SIGINT", cancel).off("SIGTERM", cancel)

Cli.run(process.argv).pipe(
  Effect.provide(Cli.layer),
  Effect.provide(NodeContext.layer),
  Cli.runMain
)
