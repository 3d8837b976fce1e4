/**
 * A small MCP server for the `mcp-agent` example: a few notes about Effect, and a tool to search
 * them. It speaks MCP over stdio (an MCP client starts it as a child process) and is built with
 * `@effect/ai`'s `McpServer` from an ordinary toolkit. It stops when its client closes stdin.
 *
 * Any MCP client can start it: `npx tsx examples/mcp/notes-server.ts`.
 */
import * as McpServer from "@effect/ai/McpServer"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const notes = [
  "Interrupting a fiber runs its finalizers and interrupts the fibers it forked.",
  "A Layer is built once per program and shared by everything that needs its service.",
  "Effect.timeout interrupts the effect when the time is up; the request it made is aborted.",
  "A Schedule describes retries: exponential backoff with jitter is Schedule.exponential and Schedule.jittered.",
  "Streams have backpressure: a slow reader slows the producer down."
]

const words = (text: string) => text.toLowerCase().match(/[a-z]{4,}/g) ?? []

const SearchNotes = Tool.make("search_notes", {
  description: "Searches the notes about Effect for the words of a query",
  parameters: { query: Schema.String.annotations({ description: "What to look for" }) },
  success: Schema.Struct({ notes: Schema.Array(Schema.String) })
})

const Notes = Toolkit.make(SearchNotes)

const NotesLive = Notes.toLayer({
  search_notes: ({ query }) =>
    Effect.sync(() => {
      const wanted = words(query).map((word) => word.slice(0, 6))
      return { notes: notes.filter((note) => words(note).some((word) => wanted.includes(word.slice(0, 6)))) }
    })
})

const main = Effect.gen(function*() {
  const closed = yield* Deferred.make<void>()
  const stdin = NodeStream.stdin.pipe(Stream.ensuring(Deferred.succeed(closed, undefined)))
  const server = McpServer.toolkit(Notes).pipe(
    Layer.provide(NotesLive),
    Layer.provide(McpServer.layerStdio({ name: "notes", version: "1.0.0", stdin, stdout: NodeSink.stdout }))
  )
  yield* Effect.raceFirst(Layer.launch(server), Deferred.await(closed))
})

NodeRuntime.runMain(main)
