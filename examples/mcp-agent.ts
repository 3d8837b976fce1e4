/**
 * An agent that uses the tools of an MCP server.
 *
 * The server is a small local script (`examples/mcp/notes-server.ts`, a few notes and a tool to
 * search them) that the client starts as a child process and speaks to over stdio; a remote server
 * is `{ url: "https://...", headers: { authorization: Redacted.make("Bearer ...") } }` instead. The
 * client is a layer: the server starts when it is built and stops when the program ends. The agent's
 * tools are `Mcp.toolset()`: listed for each run, so a tool the server adds is offered from the next
 * run on, and called over MCP when the model asks for them.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Mcp } from "../layers/index.js"
import { McpClient } from "../services/index.js"
import { Agent, type AgentError, type Run } from "../src/index.js"
import { model } from "./model.js"

/** The `mcpServers` of the program, as other tools write them in their configuration. */
export const NotesServer = Mcp.layer({
  servers: {
    notes: {
      command: process.execPath,
      args: ["--import", "tsx", fileURLToPath(new URL("mcp/notes-server.ts", import.meta.url))]
    }
  }
})

const librarian = Agent.make({
  name: "Librarian",
  model: model("gpt-4o-mini"),
  instructions: ["Answer from the notes: search them first."],
  tools: Mcp.toolset()
})

export const main: Effect.Effect<Run.Output, AgentError.AgentError | McpClient.McpError> = Effect.gen(function*() {
  const client = yield* McpClient.McpClient
  const tools = yield* client.listTools()
  yield* Console.log(`Tools of the server: ${tools.map((tool) => `${tool.name} (${tool.description})`).join(", ")}`)

  const response = yield* Agent.run(librarian, "Search the notes: what happens when a fiber is interrupted?")
  for (const call of response.toolCalls) {
    yield* Console.log(`Called ${call.name} with ${JSON.stringify(call.arguments)}`)
  }
  yield* Console.log(response.content)
  return response
}).pipe(Effect.provide(NotesServer))

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
