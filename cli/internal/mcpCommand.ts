/**
 * `effect-agents mcp`: the agents as MCP tools over stdio.
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Registry from "../../src/Registry.js"
import { agentsOption, dataOption, untilInterrupted, withAgents } from "./command.js"


/**
 * `mcp`: the agents and teams as the tools of an MCP server over stdio (see `McpServer`), until the
 * client closes stdin or SIGINT or SIGTERM. Stdout is the protocol's: nothing else is written there.
 *
 * @since 0.3.0
 * @category commands
 */
export const mcpCommand = Command.make(
  "mcp",
  { agents: agentsOption, data: dataOption },
  (flags) =>
    untilInterrupted(withAgents(flags, (context) =>
      Effect.gen(function*() {
        // Loaded here, so that the other commands do not load the MCP server.
        const McpServer = yield* Effect.promise(() => import("../../layers/McpServer.js"))
        yield* McpServer.runStdio().pipe(Effect.provideService(Registry.Registry, context.registry))
      })))
).pipe(Command.withDescription("Serve the agents and teams as MCP tools over stdio, for an MCP client to start"))
