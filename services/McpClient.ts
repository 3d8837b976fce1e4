/**
 * Tools from Model Context Protocol servers: a client of one or more MCP servers (a local process
 * over stdio, or a remote server over Streamable HTTP), named as users of other frameworks name
 * them in an `mcpServers` configuration. Its tools become an agent's tools for each run with
 * `Mcp.toolset` (`effect-agents/layers`).
 *
 * The client is scoped: providing its layer connects, closing the layer's scope disconnects (a
 * stdio server's process ends with it). A call has a timeout, and interrupting it cancels it on the
 * server (`notifications/cancelled`). An HTTP session the server forgot is started again and the
 * call retried once; a server that died is reconnected on the next use; a server's
 * `notifications/tools/list_changed` makes the next listing ask it again.
 *
 * Implementation: `effect-agents/layers` `Mcp` (over the official TypeScript SDK).
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

// -----------------------------------------------------------------------------
// Configuration
// -----------------------------------------------------------------------------

/**
 * A server run as a child process, spoken to over its stdin and stdout. Its environment values are
 * `Redacted` (they often hold keys): they are never logged, traced or returned.
 *
 * @since 0.3.0
 * @category configuration
 */
export const StdioServer = Schema.Struct({
  command: Schema.NonEmptyString,
  args: Schema.optional(Schema.Array(Schema.String)),
  env: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Redacted(Schema.String) })),
  cwd: Schema.optional(Schema.String)
})

/**
 * @since 0.3.0
 * @category configuration
 */
export interface StdioServer extends Schema.Schema.Type<typeof StdioServer> {}

/**
 * A remote server, reached over Streamable HTTP (with the older HTTP+SSE transport as a fallback
 * when the server only speaks that; `transport: "sse"` goes straight to it). Header values are
 * `Redacted`: they usually carry a bearer token.
 *
 * @since 0.3.0
 * @category configuration
 */
export const HttpServer = Schema.Struct({
  url: Schema.String.pipe(
    Schema.filter((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
      message: () => "an http:// or https:// URL of the server's MCP endpoint"
    })
  ),
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Redacted(Schema.String) })),
  transport: Schema.optional(Schema.Literal("streamable-http", "sse"))
})

/**
 * @since 0.3.0
 * @category configuration
 */
export interface HttpServer extends Schema.Schema.Type<typeof HttpServer> {}

/**
 * One server of an `mcpServers` configuration.
 *
 * @since 0.3.0
 * @category configuration
 */
export const ServerConfig = Schema.Union(StdioServer, HttpServer)

/**
 * @since 0.3.0
 * @category configuration
 */
export type ServerConfig = StdioServer | HttpServer

/**
 * Servers by name, as `mcpServers` is written in other frameworks' configuration files:
 * `{ "mcpServers": { "files": { "command": "npx", "args": [...] }, "search": { "url": "https://..." } } }`.
 * A name is what a tool's prefix is made of, so it is letters, digits, `_` and `-`.
 *
 * @since 0.3.0
 * @category configuration
 */
export const Config = Schema.Struct({
  mcpServers: Schema.Record({ key: Schema.String, value: ServerConfig }).pipe(
    Schema.filter((servers) => {
      const bad = Object.keys(servers).find((name) => !/^[A-Za-z0-9_-]{1,32}$/.test(name))
      return bad === undefined ||
        `"${bad}" is not a server name: use 1 to 32 letters, digits, '_' or '-' (it prefixes the server's tool names)`
    })
  )
})

/**
 * @since 0.3.0
 * @category configuration
 */
export interface Config extends Schema.Schema.Type<typeof Config> {}

// -----------------------------------------------------------------------------
// Records
// -----------------------------------------------------------------------------

/**
 * A tool a server offers, as it described it: its input is a JSON Schema.
 *
 * @since 0.3.0
 * @category models
 */
export interface McpTool {
  /** The name of the server that offers it. */
  readonly server: string
  readonly name: string
  readonly description: string | undefined
  /** The JSON Schema of its arguments (an object schema). */
  readonly inputSchema: { readonly [key: string]: unknown }
}

/**
 * What a tool answered: its text (the text parts joined), and its structured content when it gave
 * one.
 *
 * @since 0.3.0
 * @category models
 */
export interface CallResult {
  readonly text: string
  readonly structured: unknown
}

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * Talking to a server failed.
 *
 * - `Config`: the configuration is not valid (the message says what to write).
 * - `Connect`: the server could not be started or reached, or refused the handshake.
 * - `Closed`: the connection ended (a stdio server that exited or was killed); the next use
 *   reconnects.
 * - `Timeout`: the call did not answer in time; it was cancelled on the server.
 * - `Protocol`: the server answered with a protocol error (unknown tool, invalid parameters...).
 * - `UnknownServer`: no server of that name is configured.
 *
 * @since 0.3.0
 * @category errors
 */
export class McpError extends Schema.TaggedError<McpError>("effect-agents/McpError")("McpError", {
  server: Schema.String,
  reason: Schema.Literal("Config", "Connect", "Closed", "Timeout", "Protocol", "UnknownServer"),
  message: Schema.String
}) {}

/**
 * A tool ran and reported an error (`isError` in its result): the tool's own failure, which an agent
 * hands back to its model like any tool's failure.
 *
 * @since 0.3.0
 * @category errors
 */
export class McpToolFailed extends Schema.TaggedError<McpToolFailed>("effect-agents/McpToolFailed")("McpToolFailed", {
  server: Schema.String,
  tool: Schema.String,
  message: Schema.String
}) {}

/**
 * @since 0.3.0
 * @category errors
 */
export type McpClientError = McpError | McpToolFailed

// -----------------------------------------------------------------------------
// Service
// -----------------------------------------------------------------------------

/**
 * Options of one call.
 *
 * @since 0.3.0
 * @category models
 */
export interface CallOptions {
  /** Called with each progress notification the server sends for this call. */
  readonly onProgress?: ((progress: { readonly progress: number; readonly total?: number | undefined; readonly message?: string | undefined }) => void) | undefined
}

/**
 * A client of the configured servers.
 *
 * @since 0.3.0
 * @category models
 */
export interface Service {
  /** The configured servers' names, in the configuration's order. */
  readonly servers: ReadonlyArray<string>
  /**
   * The tools of every server (or of the named ones). A server's list is kept until the server says
   * it changed (`notifications/tools/list_changed`) or the server is reconnected.
   */
  readonly listTools: (servers?: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<McpTool>, McpError>
  /**
   * Calls a tool of a server. Fails with `McpToolFailed` when the tool reports an error, with
   * `McpError` when the server cannot be reached, answers with a protocol error or does not answer
   * in time. Interrupting the call cancels it on the server.
   */
  readonly callTool: (
    server: string,
    name: string,
    args: unknown,
    options?: CallOptions
  ) => Effect.Effect<CallResult, McpClientError>
}

/**
 * @since 0.3.0
 * @category tags
 */
export class McpClient extends Context.Tag("effect-agents/McpClient")<McpClient, Service>() {}
