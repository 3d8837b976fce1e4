/**
 * The MCP client (`services/McpClient`) over the official TypeScript SDK
 * (`@modelcontextprotocol/client` 2.x), and the tools of its servers as an agent's tools.
 *
 * The SDK speaks the protocol (handshake, stdio framing, Streamable HTTP and its SSE fallback,
 * progress, `notifications/cancelled` when a request's `AbortSignal` fires); this module gives it
 * Effect's shape: connecting is acquiring and closing is releasing, a call's timeout is a `Duration`
 * on Effect's clock, interrupting a call aborts it (so the server is told), and failures are typed.
 * What the SDK leaves to its user is here too: a server that forgot the HTTP session (404) is
 * connected again and the call retried once, a server whose process died is started again on the
 * next use, and a server's `notifications/tools/list_changed` makes the next listing ask it again.
 *
 * @since 0.3.0
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import type { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import type { StdioClientTransport } from "@modelcontextprotocol/client/stdio"
import type { AjvJsonSchemaValidator } from "@modelcontextprotocol/client/validators/ajv"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import * as McpClient from "../services/McpClient.js"
import * as Agent from "../src/Agent.js"
import { ToolError } from "../src/AgentError.js"

// -----------------------------------------------------------------------------
// Options and configuration
// -----------------------------------------------------------------------------

/**
 * How to reach the servers, and how long to wait for them.
 *
 * - `servers`: servers by name (see `McpClient.Config`); {@link decodeConfig} reads the JSON form.
 * - `timeout`: how long a call may take before it is cancelled. Default 60 seconds.
 * - `connectTimeout`: how long connecting (starting a process, the handshake) may take. Default 30
 *   seconds.
 *
 * @since 0.3.0
 * @category models
 */
export interface Options {
  readonly servers: { readonly [name: string]: McpClient.ServerConfig }
  readonly timeout?: Duration.DurationInput | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
}

const decodeConfigEither = Schema.decodeUnknownEither(McpClient.Config)

/**
 * Reads an `mcpServers` configuration (the parsed JSON of a file, or of an environment variable):
 * environment values and headers become `Redacted`. A malformed one is an `McpError` whose message
 * says what is wrong and where.
 *
 * @since 0.3.0
 * @category configuration
 */
export const decodeConfig = (input: unknown): Effect.Effect<McpClient.Config, McpClient.McpError> =>
  Effect.mapError(
    decodeConfigEither(input),
    (error) =>
      new McpClient.McpError({
        server: "",
        reason: "Config",
        message: `The MCP configuration is not valid: write { "mcpServers": { "<name>": { "command": ..., "args": [...] } | { "url": ... } } }.\n${
          ParseResult.TreeFormatter.formatErrorSync(error)
        }`
      })
  )

/**
 * The configuration from the environment: `EFFECT_AGENTS_MCP_SERVERS` holds its JSON, or
 * `EFFECT_AGENTS_MCP_CONFIG` names a JSON file that holds it (the file other tools call
 * `mcp.json`). Neither set is no server at all.
 *
 * @since 0.3.0
 * @category configuration
 */
export const configFromEnv: Effect.Effect<McpClient.Config, McpClient.McpError> = Effect.gen(function*() {
  const inline = yield* Config.option(Config.string("EFFECT_AGENTS_MCP_SERVERS")).pipe(Effect.orDie)
  const file = yield* Config.option(Config.string("EFFECT_AGENTS_MCP_CONFIG")).pipe(Effect.orDie)
  if (Option.isNone(inline) && Option.isNone(file)) return { mcpServers: {} }
  const [source, text] = Option.isSome(inline)
    ? ["EFFECT_AGENTS_MCP_SERVERS", inline.value] as const
    : yield* Effect.map(readText(Option.getOrThrow(file)), (text) => [Option.getOrThrow(file), text] as const)
  const json = yield* Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (error) =>
      new McpClient.McpError({
        server: "",
        reason: "Config",
        message: `${source} is not valid JSON (${(error as Error).message}): write { "mcpServers": { ... } }.`
      })
  })
  return yield* decodeConfig(json)
})

const readText = (path: string): Effect.Effect<string, McpClient.McpError> =>
  Effect.tryPromise({
    try: () => import("node:fs/promises").then((fs) => fs.readFile(path, "utf8")),
    catch: (error) =>
      new McpClient.McpError({
        server: "",
        reason: "Config",
        message: `Cannot read the MCP configuration file named by EFFECT_AGENTS_MCP_CONFIG (${
          (error as NodeJS.ErrnoException).code ?? String(error)
        }): set it to the path of a JSON file with { "mcpServers": { ... } }.`
      })
  })

// -----------------------------------------------------------------------------
// The SDK
// -----------------------------------------------------------------------------

// The SDK is an optional peer dependency: it is loaded when a client is built, so a program that
// uses no MCP loads without it, and one that does without it installed is told what to install.
interface Sdk {
  readonly client: typeof import("@modelcontextprotocol/client")
  readonly stdio: typeof import("@modelcontextprotocol/client/stdio")
  readonly ajv: typeof import("@modelcontextprotocol/client/validators/ajv")
}
let loading: Promise<Sdk> | undefined
const loadSdk: Effect.Effect<Sdk, McpClient.McpError> = Effect.tryPromise({
  try: () =>
    loading ??= Promise.all([
      import("@modelcontextprotocol/client"),
      import("@modelcontextprotocol/client/stdio"),
      import("@modelcontextprotocol/client/validators/ajv")
    ]).then(([client, stdio, ajv]) => ({ client, stdio, ajv })).catch((error) => {
      loading = undefined
      throw error
    }),
  catch: (error) =>
    new McpClient.McpError({
      server: "",
      reason: "Connect",
      message: `The MCP client needs the official SDK (${message(error)}): npm install @modelcontextprotocol/client`
    })
})

// -----------------------------------------------------------------------------
// Connections
// -----------------------------------------------------------------------------

/** One live connection to one server; a new one replaces it when it ends. */
interface Connection {
  readonly client: Client
  readonly http: boolean
  /** Set by the SDK's callbacks, outside any fiber: the connection ended, or the tool list changed. */
  closed: boolean
  toolsVersion: number
  tools: ReadonlyArray<McpClient.McpTool> | undefined
}

// The SDK's timeout would race Effect's: it is left at its largest, and Effect's clock decides.
const sdkTimeout = 2_147_483_647

const clientInfo = { name: "effect-agents", version: "0.3.0" }

/** A request that failed on a connection: what the SDK threw, and where. */
class Failed {
  constructor(readonly connection: Connection, readonly error: unknown) {}
}

const statusOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "data" in error && typeof error.data === "object" && error.data !== null
    ? (error.data as { status?: unknown }).status
    : undefined

// The SDK's HTTP errors keep the status apart from the message (which may be empty).
const message = (error: unknown): string => {
  const text = error instanceof Error ? error.message.replace(/[:\s]+$/, "") : String(error)
  const status = statusOf(error)
  return typeof status === "number" && !text.includes(String(status)) ? `${text} (HTTP ${status})` : text
}

const isSessionExpired = (sdk: Sdk, error: unknown): boolean =>
  error instanceof sdk.client.SdkError && statusOf(error) === 404

const isAuthError = (error: unknown): boolean => {
  const status = statusOf(error)
  return status === 401 || status === 403 || (error instanceof Error && error.name === "UnauthorizedError")
}

const headersOf = (headers: McpClient.HttpServer["headers"]): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers ?? {})) out[key] = Redacted.value(value)
  return out
}

// A server gets the few variables a process needs to start (PATH, HOME, ...: the SDK's default) and
// those its configuration gives it, never the whole environment: that would hand this program's
// keys to every server it starts.
const envOf = (sdk: Sdk, env: McpClient.StdioServer["env"]): Record<string, string> => {
  const out: Record<string, string> = sdk.stdio.getDefaultEnvironment()
  for (const [key, value] of Object.entries(env ?? {})) out[key] = Redacted.value(value)
  return out
}

const transportsFor = (sdk: Sdk, config: McpClient.ServerConfig) => {
  if ("command" in config) {
    return [() =>
      new sdk.stdio.StdioClientTransport({
        command: config.command,
        args: [...(config.args ?? [])],
        env: envOf(sdk, config.env),
        stderr: "ignore",
        ...(config.cwd === undefined ? {} : { cwd: config.cwd })
      })]
  }
  const url = new URL(config.url)
  const headers = headersOf(config.headers)
  const streamable = () => new sdk.client.StreamableHTTPClientTransport(url, { requestInit: { headers } })
  const sse = () =>
    new sdk.client.SSEClientTransport(url, {
      requestInit: { headers },
      eventSourceInit: {
        fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers as Record<string, string>, ...headers } })
      }
    })
  // A server that only speaks the older HTTP+SSE transport refuses the Streamable HTTP handshake.
  return config.transport === "sse" ? [sse] : config.transport === "streamable-http" ? [streamable] : [streamable, sse]
}

const close = (client: Client): Effect.Effect<void> => Effect.promise(() => client.close().catch(() => undefined))

/** Connects with each transport in turn, until one shakes hands. */
const connect = (
  sdk: Sdk,
  server: string,
  config: McpClient.ServerConfig,
  connectTimeout: Duration.Duration
): Effect.Effect<Connection, McpClient.McpError> => {
  const attempt = (make: () => StdioClientTransport | StreamableHTTPClientTransport | SSEClientTransport) =>
    Effect.suspend(() => {
      const client = new sdk.client.Client(clientInfo, { capabilities: {} })
      const connection: Connection = { client, http: !("command" in config), closed: false, toolsVersion: 0, tools: undefined }
      client.onclose = () => {
        connection.closed = true
      }
      client.setNotificationHandler("notifications/tools/list_changed", () => {
        connection.toolsVersion++
        connection.tools = undefined
      })
      return Effect.tryPromise({
        try: (signal) => client.connect(make(), { signal, timeout: sdkTimeout }),
        catch: (error) => error
      }).pipe(
        Effect.timeoutFail({ duration: connectTimeout, onTimeout: () => new Error(`no answer within ${Duration.format(connectTimeout)}`) }),
        // Whatever was started (a process, a session) ends when connecting does not succeed.
        Effect.onExit((exit) => exit._tag === "Success" ? Effect.void : close(client)),
        Effect.as(connection)
      )
    })
  const [first, ...rest] = transportsFor(sdk, config)
  return rest.reduce(
    (effect, next) =>
      Effect.catchAll(effect, (error) =>
        // A refused credential is the answer of a server that speaks this transport.
        isAuthError(error)
          ? Effect.fail(error)
          : Effect.mapError(attempt(next), (second) => new Error(`${message(error)}; with the older SSE transport: ${message(second)}`))),
    attempt(first!)
  ).pipe(
    Effect.mapError((error) =>
      new McpClient.McpError({
        server,
        reason: "Connect",
        message: `Cannot connect to the MCP server "${server}" (${
          "command" in config ? `command ${config.command}` : new URL(config.url).origin
        }): ${message(error)}. Check that it starts (or is up) and speaks MCP.`
      })
    )
  )
}

// -----------------------------------------------------------------------------
// The client
// -----------------------------------------------------------------------------

/**
 * Builds the client: connects to every server at once (all must connect), and disconnects when the
 * scope closes.
 *
 * @since 0.3.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<McpClient.Service, McpClient.McpError, Scope.Scope> =>
  Effect.gen(function*() {
    const sdk = yield* loadSdk
    const timeout = Duration.decode(options.timeout ?? "60 seconds")
    const connectTimeout = Duration.decode(options.connectTimeout ?? "30 seconds")
    const names = Object.keys(options.servers)
    const states = new Map<string, SynchronizedRef.SynchronizedRef<Connection | undefined>>()
    for (const name of names) states.set(name, yield* SynchronizedRef.make<Connection | undefined>(undefined))

    const stateOf = (server: string) => {
      const state = states.get(server)
      return state === undefined
        ? Effect.fail(
          new McpClient.McpError({
            server,
            reason: "UnknownServer",
            message: `No MCP server is named "${server}": the configured ones are ${names.join(", ") || "none"}.`
          })
        )
        : Effect.succeed(state)
    }

    /** The live connection, connecting when there is none (or the last one ended, or is `stale`). */
    const connection = (server: string, stale?: Connection): Effect.Effect<Connection, McpClient.McpError> =>
      Effect.flatMap(stateOf(server), (state) =>
        SynchronizedRef.modifyEffect(state, (current) =>
          current !== undefined && !current.closed && current !== stale
            ? Effect.succeed([current, current] as const)
            : Effect.zipRight(
              current === undefined ? Effect.void : close(current.client),
              Effect.map(connect(sdk, server, options.servers[server]!, connectTimeout), (next) => [next, next] as const)
            )))

    yield* Effect.addFinalizer(() =>
      Effect.forEach(states.values(), (state) =>
        Effect.flatMap(SynchronizedRef.get(state), (current) => current === undefined ? Effect.void : close(current.client)), {
        concurrency: "unbounded",
        discard: true
      })
    )
    yield* Effect.forEach(names, (name) => connection(name), { concurrency: "unbounded", discard: true })

    const failed = (server: string, connection: Connection, error: unknown): McpClient.McpError => {
      if (error instanceof sdk.client.ProtocolError) {
        return new McpClient.McpError({ server, reason: "Protocol", message: `The MCP server "${server}" answered: ${error.message}` })
      }
      if (
        connection.closed || error instanceof sdk.client.SdkError &&
          (error.code === sdk.client.SdkErrorCode.ConnectionClosed || error.code === sdk.client.SdkErrorCode.NotConnected)
      ) {
        connection.closed = true
        return new McpClient.McpError({
          server,
          reason: "Closed",
          message: `The MCP server "${server}" closed the connection (${message(error)}); it is connected again on the next call.`
        })
      }
      return new McpClient.McpError({ server, reason: "Connect", message: `The MCP server "${server}" failed: ${message(error)}` })
    }

    /** Runs a request on the live connection; a forgotten HTTP session is started again, once. */
    const request = <A>(
      server: string,
      send: (client: Client, signal: AbortSignal) => Promise<A>
    ): Effect.Effect<A, McpClient.McpError> => {
      const once = (stale?: Connection): Effect.Effect<A, McpClient.McpError | Failed> =>
        Effect.flatMap(connection(server, stale), (current) =>
          Effect.tryPromise({
            try: (signal) => send(current.client, signal),
            catch: (error) => new Failed(current, error)
          }))
      return once().pipe(
        Effect.catchIf(
          (error): error is Failed => error instanceof Failed && error.connection.http && isSessionExpired(sdk, error.error),
          (expired) => once(expired.connection)
        ),
        Effect.catchIf((error): error is Failed => error instanceof Failed, (error) =>
          Effect.fail(failed(server, error.connection, error.error)))
      )
    }

    const listServer = (server: string): Effect.Effect<ReadonlyArray<McpClient.McpTool>, McpClient.McpError> =>
      Effect.flatMap(connection(server), (current) => {
        if (current.tools !== undefined) return Effect.succeed(current.tools)
        const version = current.toolsVersion
        return Effect.map(
          request(server, (client, signal) => client.listTools(undefined, { signal, timeout: sdkTimeout })),
          (result) => {
            const tools = result.tools.map((tool): McpClient.McpTool => ({
              server,
              name: tool.name,
              description: tool.description,
              inputSchema: tool.inputSchema as McpClient.McpTool["inputSchema"]
            }))
            // A change announced while listing makes this listing stale: it is not kept.
            if (current.toolsVersion === version && !current.closed) current.tools = tools
            return tools
          }
        )
      }).pipe(
        withTimeout(server, "listing its tools", timeout),
        Effect.withSpan("McpClient.listTools", { captureStackTrace: false, attributes: { "mcp.server": server } })
      )

    const service: McpClient.Service = {
      servers: names,
      listTools: (servers) =>
        Effect.map(
          Effect.forEach(servers ?? names, listServer, { concurrency: "unbounded" }),
          (lists) => lists.flat()
        ),
      callTool: (server, name, args, callOptions) =>
        request(server, (client, signal) =>
          client.callTool({ name, arguments: (args ?? {}) as Record<string, unknown> }, {
            signal,
            timeout: sdkTimeout,
            ...(callOptions?.onProgress === undefined ? {} : { onprogress: callOptions.onProgress })
          })).pipe(
            withTimeout(server, `calling ${name}`, timeout),
            Effect.flatMap((result): Effect.Effect<McpClient.CallResult, McpClient.McpToolFailed> => {
              const text = Array.isArray(result.content)
                ? result.content.flatMap((part) => part.type === "text" ? [part.text] : []).join("\n")
                : ""
              return result.isError === true
                ? Effect.fail(new McpClient.McpToolFailed({ server, tool: name, message: text || "the tool failed" }))
                : Effect.succeed({ text, structured: result.structuredContent })
            }),
            // The arguments and the answer are not recorded: they may be anything a user wrote.
            Effect.withSpan("McpClient.callTool", {
              captureStackTrace: false,
              attributes: { "mcp.server": server, "mcp.tool": name }
            })
          )
    }
    return service
  })

const withTimeout = (server: string, what: string, timeout: Duration.Duration) =>
<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | McpClient.McpError> =>
  Effect.timeoutFail(effect, {
    duration: timeout,
    onTimeout: () =>
      new McpClient.McpError({
        server,
        reason: "Timeout",
        message: `The MCP server "${server}" did not answer within ${Duration.format(timeout)} (${what}); the request was cancelled.`
      })
  })

/**
 * The client as a layer: connected when the layer is built, disconnected when it is released.
 *
 * @since 0.3.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<McpClient.McpClient, McpClient.McpError> =>
  Layer.scoped(McpClient.McpClient, make(options))

/**
 * The client of the servers the environment configures (see {@link configFromEnv}).
 *
 * @since 0.3.0
 * @category layers
 */
export const layerConfig = (
  options?: Omit<Options, "servers">
): Layer.Layer<McpClient.McpClient, McpClient.McpError> =>
  Layer.scoped(
    McpClient.McpClient,
    Effect.flatMap(configFromEnv, (config) => make({ ...options, servers: config.mcpServers }))
  )

/**
 * A tool of a {@link layerTest} server: its description, and what a call answers (a failure is the
 * tool's own error, as a server's `isError` result).
 *
 * @since 0.3.0
 * @category testing
 */
export interface TestTool {
  readonly description?: string | undefined
  readonly inputSchema?: { readonly [key: string]: unknown } | undefined
  readonly call: (args: unknown) => Effect.Effect<unknown, string>
}

/**
 * A client of servers that live in the test itself: no process, no transport, and nothing to
 * provide. A tool's answer is its text (a string as it is, anything else as JSON).
 *
 * @since 0.3.0
 * @category testing
 */
export const layerTest = (
  servers: { readonly [server: string]: { readonly [tool: string]: TestTool } }
): Layer.Layer<McpClient.McpClient> =>
  Layer.sync(McpClient.McpClient, () => {
    const names = Object.keys(servers)
    const listed = new Map(names.map((server) => [
      server,
      Object.entries(servers[server]!).map(([name, tool]): McpClient.McpTool => ({
        server,
        name,
        description: tool.description,
        inputSchema: tool.inputSchema ?? { type: "object" }
      }))
    ]))
    return {
      servers: names,
      listTools: (only) =>
        Effect.forEach(only ?? names, (server) => {
          const tools = listed.get(server)
          return tools === undefined
            ? Effect.fail(new McpClient.McpError({ server, reason: "UnknownServer", message: `No MCP server is named "${server}".` }))
            : Effect.succeed(tools)
        }).pipe(Effect.map((lists) => lists.flat())),
      callTool: (server, name, args) => {
        const tool = servers[server]?.[name]
        if (tool === undefined) {
          return Effect.fail(
            new McpClient.McpError({ server, reason: "Protocol", message: `The MCP server "${server}" answered: Tool ${name} not found` })
          )
        }
        return tool.call(args).pipe(
          Effect.mapError((message) => new McpClient.McpToolFailed({ server, tool: name, message })),
          Effect.map((value) =>
            typeof value === "string"
              ? { text: value, structured: undefined }
              : { text: JSON.stringify(value), structured: value }
          )
        )
      }
    }
  })

// -----------------------------------------------------------------------------
// Tools for agents
// -----------------------------------------------------------------------------

/**
 * Which servers' tools an agent gets, and under which names.
 *
 * - `servers`: the servers whose tools are offered. Default all.
 * - `prefix`: put before each tool's name, to keep apart tools of several servers that share a name:
 *   `true` is the server's name and `_` (`files_read`), a function gives a server's prefix. Default
 *   none; two tools of one name are then an error that says to set it.
 * - `filter`: which tools to offer. Default all.
 *
 * @since 0.3.0
 * @category models
 */
export interface ToolsetOptions {
  readonly servers?: ReadonlyArray<string> | undefined
  readonly prefix?: boolean | ((server: string) => string) | undefined
  readonly filter?: ((tool: McpClient.McpTool) => boolean) | undefined
}

/**
 * What a failed MCP tool gives back to the model: the server's own error, or why the server could
 * not answer.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ToolFailure = Schema.Union(McpClient.McpToolFailed, McpClient.McpError)

// Compiles JSON Schemas to validators: the one the SDK itself uses (Ajv), rather than a converter of
// our own from JSON Schema to Effect Schema, which would cover less of JSON Schema.
let validator: AjvJsonSchemaValidator | undefined

/**
 * The decoding schema of a server's JSON Schema: it validates the model's arguments (an error says
 * what is wrong, and goes back to the model like any tool's invalid arguments) and shows the model
 * the server's schema as it is.
 */
const parametersOf = (sdk: Sdk, tool: McpClient.McpTool): Schema.Schema<unknown> | string => {
  let validate: ReturnType<AjvJsonSchemaValidator["getValidator"]>
  try {
    validate = (validator ??= new sdk.ajv.AjvJsonSchemaValidator()).getValidator<unknown>(tool.inputSchema as never)
  } catch (error) {
    return message(error)
  }
  return Schema.declare([], {
    decode: () => (input, _, ast) => {
      const result = validate(input)
      return result.valid ? ParseResult.succeed(result.data) : ParseResult.fail(new ParseResult.Type(ast, input, result.errorMessage))
    },
    encode: () => ParseResult.succeed
  }, { jsonSchema: tool.inputSchema as object, identifier: `${tool.name}Arguments` })
}

// One tool per tool a server listed, built once per listing (the listing is kept until it changes).
// A tool whose JSON Schema cannot be compiled is the reason why, a string.
const built = new WeakMap<McpClient.McpTool, Map<string, Tool.Any | string>>()
const toolOf = (sdk: Sdk, tool: McpClient.McpTool, name: string): Tool.Any | string => {
  let byName = built.get(tool)
  if (byName === undefined) built.set(tool, byName = new Map())
  let made = byName.get(name)
  if (made === undefined) {
    const parameters = parametersOf(sdk, tool)
    made = typeof parameters === "string" ? parameters : Tool.make(name, {
      ...(tool.description === undefined ? {} : { description: tool.description }),
      success: Schema.Unknown,
      failure: ToolFailure
    }).setParameters(parameters as unknown as Tool.AnyStructSchema)
    byName.set(name, made)
  }
  return made
}

/**
 * The tools of the client's servers as an agent's tools for one run: pass it as an agent's `tools`.
 * Each run lists the tools (the list is kept until a server says it changed), so a tool a server
 * adds is offered from the next run on. The model's arguments are checked against the server's JSON
 * Schema; a tool's error, a timeout and a server that went away go back to the model as the tool's
 * failure. Servers that cannot be listed fail the run with a `ToolError`.
 *
 * @since 0.3.0
 * @category tools
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { Mcp } from "effect-agents/layers"
 *
 * // Agent<string, LanguageModel | McpClient>
 * const agent = Agent.make({ name: "Files", tools: Mcp.toolset({ prefix: true }) })
 * ```
 */
export const toolset = (
  options?: ToolsetOptions
): Effect.Effect<Agent.Toolset, ToolError, McpClient.McpClient> =>
  Effect.gen(function*() {
    const client = yield* McpClient.McpClient
    const [sdk, offered] = yield* Effect.mapError(
      Effect.zip(loadSdk, client.listTools(options?.servers)),
      (error) =>
        new ToolError({
          tool: `mcp:${error.server}`,
          toolCallId: "",
          message: `The tools of the MCP server "${error.server}" could not be listed: ${error.message}`
        })
    )
    const prefix = options?.prefix === true ? (server: string) => `${server}_` : options?.prefix || undefined
    const tools: Array<Tool.Any> = []
    const handlers: Record<string, (params: unknown) => Effect.Effect<unknown, typeof ToolFailure.Type>> = {}
    const owner = new Map<string, McpClient.McpTool>()
    for (const tool of offered) {
      if (options?.filter !== undefined && !options.filter(tool)) continue
      const name = prefix === undefined ? tool.name : prefix(tool.server) + tool.name
      const other = owner.get(name)
      if (other !== undefined) {
        return yield* new ToolError({
          tool: name,
          toolCallId: "",
          message: `The MCP servers "${other.server}" and "${tool.server}" both offer a tool "${name}": set Mcp.toolset's prefix option.`
        })
      }
      const made = toolOf(sdk, tool, name)
      if (typeof made === "string") {
        // The model could not be shown the tool, nor its arguments checked: it is left out.
        yield* Effect.logWarning(`The MCP server "${tool.server}" gave tool "${tool.name}" a JSON Schema that cannot be used (${made}): the tool is not offered.`)
        continue
      }
      owner.set(name, tool)
      tools.push(made)
      handlers[name] = (params) =>
        Effect.map(client.callTool(tool.server, tool.name, params), (result) => result.structured ?? result.text)
    }
    return yield* Agent.toolset(Toolkit.make(...tools) as Toolkit.Toolkit<Record<string, Tool.Any>>, handlers as never)
  })
