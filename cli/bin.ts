#!/usr/bin/env node
/**
 * The `effect-agents` executable: `effect-agents serve`, `run`, `chat` (see `Cli`).
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Cli from "./Cli.js"

// `Cli.run` writes its errors to stderr itself; the runtime only sets the exit code.
Cli.run(process.argv).pipe(
  Effect.provide(Cli.layer),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
