/**
 * The registry's agents, teams and workflows as tools of an MCP server, so any MCP client (an IDE,
 * a desktop assistant, another agent framework, `Mcp` here) can run them: a tool's input is the
 * message, its result the run's answer, and while it runs the client gets the run's steps as MCP
 * progress notifications (when it asked for them). Cancelling the call interrupts the run.
 *
 * Over stdio ({@link layerStdio}, what `effect-agents mcp` runs) and over Streamable HTTP
 * ({@link layerHttp}, mounted on the HTTP app behind its bearer token). The protocol is
 * `@effect/ai`'s `McpServer`.
 *
 * @since 0.3.0
 */
import * as AiMcpServer from "@effect/ai/McpServer"
import * as McpSchema from "@effect/ai/McpSchema"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { createHash, timingSafeEqual } from "node:crypto"
import * as Registry from "../src/Registry.js"
import type * as RunEvent from "../src/RunEvent.js"

/**
 * How the server names itself to its clients.
 *
 * @since 0.3.0
 * @category models
 */
export interface Info {
  readonly name?: string | undefined
  readonly version?: string | undefined
}

const infoOf = (info: Info | undefined) => ({ name: info?.name ?? "effect-agents", version: info?.version ?? "0.3.0" })

// -----------------------------------------------------------------------------
// Tools of the registry
// -----------------------------------------------------------------------------

/**
 * A tool's arguments: the message, and optionally the session (of a user) the run continues.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Arguments = Schema.Struct({
  input: Schema.String.annotations({ description: "The message to run with" }),
  sessionId: Schema.optional(Schema.NonEmptyString.annotations({ description: "Continue this session" })),
  userId: Schema.optional(Schema.NonEmptyString.annotations({ description: "Whose session it is" }))
})

const decodeArguments = Schema.decodeUnknownEither(Arguments)

const inputSchema = {
  type: "object",
  properties: {
    input: { type: "string", description: "The message to run with" },
    sessionId: { type: "string", description: "Continue this session (its earlier turns are part of the prompt)" },
    userId: { type: "string", description: "Whose session it is" }
  },
  required: ["input"],
  additionalProperties: false
}

/**
 * The tool name of a runnable: MCP tool names are letters, digits, `_`, `-` and `.`.
 *
 * @since 0.3.0
 * @category tools
 */
export const toolName = (name: string): string => name.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 64) || "runnable"

// The progress token of the call being handled: `@effect/ai`'s server hands a tool only its
// arguments, so the token is put in the call's context by the server's `callTool` (below).
class ProgressToken extends Context.Reference<ProgressToken>()("effect-agents/McpServer/ProgressToken", {
  defaultValue: (): string | number | undefined => undefined
}) {}

/** `@effect/ai`'s server, with each call's progress token in the handler's context. */
const makeServer = Effect.map(AiMcpServer.McpServer.make, (base) =>
  Object.assign(Object.create(base) as typeof base, {
    callTool: (request: Parameters<typeof base.callTool>[0]) =>
      Effect.provideService(base.callTool(request), ProgressToken, request._meta?.progressToken)
  }))

const serverLayer = (info: Info | undefined) =>
  Layer.scopedDiscard(Effect.forkScoped(AiMcpServer.run(infoOf(info)))).pipe(
    Layer.provideMerge(Layer.scoped(AiMcpServer.McpServer, makeServer))
  )

/** What a step of a run says in a progress notification; deltas are not steps. */
const describe = (event: RunEvent.RunEvent): string | undefined => {
  switch (event._tag) {
    case "TextDelta":
    case "ReasoningDelta":
    case "ModelRequestCompleted":
    case "RunCompleted":
      return undefined
    case "ToolCallStarted":
      return `Calling ${event.name}`
    case "ToolCallCompleted":
      return `${event.name} done`
    case "ToolCallFailed":
      return `${event.name} failed`
    case "ModelRequestStarted":
      return "Thinking"
    default:
      return event._tag
  }
}

const text = (content: unknown): string => typeof content === "string" ? content : JSON.stringify(content)

const result = (isError: boolean, content: unknown) =>
  new McpSchema.CallToolResult({
    isError,
    content: [{ type: "text", text: text(content) }],
    ...(typeof content === "object" && content !== null && !Array.isArray(content)
      ? { structuredContent: content }
      : {})
  })

/** The calls in flight by client, where a transport cancels them itself (see `routeCancellations`). */
type Calls = Map<number, Set<Fiber.RuntimeFiber<unknown, unknown>>>

class CallsInFlight extends Context.Reference<CallsInFlight>()("effect-agents/McpServer/CallsInFlight", {
  defaultValue: (): Calls | undefined => undefined
}) {}

const tracked = <A, E, R>(calls: Calls | undefined, clientId: number, effect: Effect.Effect<A, E, R>) =>
  calls === undefined ? effect : Effect.withFiberRuntime<A, E, R>((fiber) => {
    const own = calls.get(clientId) ?? new Set()
    calls.set(clientId, own.add(fiber as Fiber.RuntimeFiber<unknown, unknown>))
    return Effect.ensuring(
      effect,
      Effect.sync(() => {
        own.delete(fiber as Fiber.RuntimeFiber<unknown, unknown>)
        if (own.size === 0) calls.delete(clientId)
      })
    )
  })

const handle = (entry: Registry.Entry, protocol: RpcServer.Protocol["Type"], calls: Calls | undefined) =>
(payload: unknown): Effect.Effect<McpSchema.CallToolResult, never, McpSchema.McpServerClient> =>
  Effect.flatMap(McpSchema.McpServerClient, ({ clientId }) => tracked(calls, clientId, run(entry, protocol, clientId, payload)))

const run = (entry: Registry.Entry, protocol: RpcServer.Protocol["Type"], clientId: number, payload: unknown) =>
  Effect.gen(function*() {
    const args = decodeArguments(payload)
    if (args._tag === "Left") {
      return result(true, `Invalid arguments for "${toolName(entry.name)}": give { "input": "<your message>" }.`)
    }
    const token = yield* ProgressToken
    let progress = 0
    const onEvent = token === undefined ? undefined : (event: RunEvent.RunEvent) => {
      const message = describe(event)
      return message === undefined ? Effect.void : protocol.send(clientId, {
        _tag: "Request",
        tag: "notifications/progress",
        payload: { progressToken: token, progress: ++progress, message }
      } as never)
    }
    const { input, sessionId, userId } = args.right
    const exit = yield* Effect.exit(entry.run(input, {
      ...(onEvent === undefined ? {} : { onEvent }),
      ...(sessionId === undefined ? {} : { sessionId }),
      ...(userId === undefined ? {} : { userId })
    }))
    if (Exit.isSuccess(exit)) return result(false, exit.value.content)
    if (Exit.isInterrupted(exit)) return yield* Effect.interrupt
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
    return result(
      true,
      failure === undefined ? "The run failed unexpectedly." : `${failure._tag}: ${failure.message}`
    )
  })

/**
 * Adds every runnable of the registry to the MCP server in context as a tool.
 *
 * @since 0.3.0
 * @category tools
 */
export const registerRegistry: Effect.Effect<void, never, AiMcpServer.McpServer | Registry.Registry | RpcServer.Protocol> =
  Effect.gen(function*() {
    const calls = yield* CallsInFlight
    const server = yield* AiMcpServer.McpServer
    const registry = yield* Registry.Registry
    const protocol = yield* RpcServer.Protocol
    for (const entry of registry.entries) {
      yield* server.addTool({
        tool: new McpSchema.Tool({
          name: toolName(entry.name),
          description: entry.description ?? `Runs the ${entry.kind} ${entry.name}`,
          inputSchema
        }),
        handle: handle(entry, protocol, calls)
      })
    }
  })

const serve = (info: Info | undefined) =>
  Layer.effectDiscard(registerRegistry).pipe(Layer.provide(serverLayer(info)))

// -----------------------------------------------------------------------------
// Transports
// -----------------------------------------------------------------------------

const stdioLayer = (info: Info | undefined, stdin: Stream.Stream<Uint8Array, unknown>) =>
  serve(info).pipe(
    Layer.provide(
      RpcServer.layerProtocolStdio({ stdin, stdout: NodeSink.stdout }).pipe(
        Layer.provide(RpcSerialization.layerNdJsonRpc())
      )
    ),
    Layer.provide(Logger.remove(Logger.defaultLogger)),
    Layer.provide(Logger.remove(Logger.prettyLoggerDefault))
  )

/**
 * Serves the registry over stdio (this process's stdin and stdout) while the layer lives: what an
 * MCP client starts as a child process. Nothing else may write to stdout, so the default loggers
 * are removed.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerStdio = (info?: Info): Layer.Layer<never, never, Registry.Registry> =>
  stdioLayer(info, NodeStream.stdin)

/**
 * Serves the registry over stdio until the client closes stdin (which is how an MCP client stops
 * its server); interrupting it stops it too, and interrupts the runs in flight.
 *
 * @since 0.3.0
 * @category running
 */
export const runStdio = (info?: Info): Effect.Effect<void, never, Registry.Registry> =>
  Effect.gen(function*() {
    const ended = yield* Deferred.make<void>()
    const stdin = NodeStream.stdin.pipe(Stream.ensuring(Deferred.succeed(ended, undefined)))
    yield* Effect.scoped(Effect.zipRight(Layer.build(stdioLayer(info, stdin)), Deferred.await(ended)))
  })

const digest = (value: string) => createHash("sha256").update(value).digest()

/** The MCP endpoint's app behind a bearer token (none: open). */
const guarded = (app: HttpApp.Default<never, never>, token: Redacted.Redacted | undefined) => {
  if (token === undefined) return app
  const expected = digest(Redacted.value(token))
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const header = request.headers["authorization"] ?? ""
    const given = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : ""
    return given.length > 0 && timingSafeEqual(digest(given), expected)
      ? app
      : HttpServerResponse.unsafeJson(
        { error: "Unauthorized", message: "A valid bearer token is required: Authorization: Bearer <token>." },
        { status: 401, headers: { "www-authenticate": "Bearer" } }
      )
  })
}

/**
 * Over HTTP each request is a client of its own to `@effect/ai`'s server, so a client's
 * `notifications/cancelled` (a request of its own) cannot reach the call it names through the
 * server. The call is found here and interrupted: the request that carries it is the one whose
 * message had that id, when exactly one request in flight has it (ids are chosen by each MCP client,
 * and this transport has no session to tell two clients apart: an ambiguous cancellation is
 * dropped).
 */
const routeCancellations = (protocol: RpcServer.Protocol["Type"], calls: Calls): RpcServer.Protocol["Type"] => {
  const inFlight = new Map<string, Set<number>>()
  const settle = (id: string, clientId: number) => {
    const owners = inFlight.get(id)
    owners?.delete(clientId)
    if (owners?.size === 0) inFlight.delete(id)
  }
  return {
    ...protocol,
    run: (f) =>
      protocol.run((clientId, message) => {
        if (message._tag === "Request") {
          if (message.tag === "notifications/cancelled") {
            const owners = inFlight.get(String((message.payload as { requestId?: unknown } | undefined)?.requestId))
            const fibers = owners?.size === 1 ? calls.get(owners.values().next().value!) : undefined
            if (fibers !== undefined) return Effect.forEach([...fibers], Fiber.interruptFork, { discard: true })
          } else if (message.id !== undefined && message.id !== "") {
            const id = String(message.id)
            inFlight.set(id, (inFlight.get(id) ?? new Set()).add(clientId))
          }
        }
        return f(clientId, message)
      }),
    send: (clientId, message, transferables) => {
      if (message._tag === "Exit") settle(message.requestId, clientId)
      return protocol.send(clientId, message, transferables)
    }
  }
}

/**
 * Serves the registry over Streamable HTTP at `path` (default `/mcp`) on the router `routerTag`
 * (default `HttpRouter.Default`; the HTTP app passes its own), behind a bearer token when one is
 * given. Each request carries its JSON-RPC messages and gets the answers in its response; a
 * client's `notifications/cancelled` interrupts the run of the call it names.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerHttp = <I = HttpRouter.Default>(options: Info & {
  readonly path?: HttpRouter.PathInput | undefined
  readonly token?: Redacted.Redacted | undefined
  readonly routerTag?: HttpRouter.HttpRouter.TagClass<I, string, any, any> | undefined
}): Layer.Layer<never, never, Registry.Registry | I> => {
  const path = options.path ?? "/mcp"
  const routerTag = options.routerTag ??
    (HttpRouter.Default as unknown as HttpRouter.HttpRouter.TagClass<I, string, any, any>)
  const calls: Calls = new Map()
  const protocol = Layer.scoped(
    RpcServer.Protocol,
    Effect.gen(function*() {
      const { httpApp, protocol } = yield* RpcServer.makeProtocolWithHttpApp
      const router = yield* routerTag
      const app = guarded(Effect.scoped(httpApp), options.token)
      yield* router.post(path, app)
      // No stream of server-initiated messages: a client that asks for one is told so (405).
      yield* router.get(path, HttpServerResponse.empty({ status: 405, headers: { allow: "POST" } }))
      return routeCancellations(protocol, calls)
    })
  ).pipe(Layer.provide(RpcSerialization.layerJsonRpc()))
  return serve(options).pipe(Layer.provide(protocol), Layer.provide(Layer.succeed(CallsInFlight, calls)))
}
