// The simulator's HTTP server: an @effect/platform router served by NodeHttpServer on a Node
// `http.Server` of our own, so that connections can be counted and a stream can be written frame
// by frame as plain strings, stalled, or cut by destroying its socket. How a reply is written
// is `simulator/delivery.ts`; the faults a request asks for by header, `simulator/faultHeaders.ts`.
//
// Counters are plain fields of one object owned by the server: they change inside Node's
// connection and response callbacks, on every request, and reading them is a snapshot.
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as Net from "node:net"
import type { Protocol, Reply, Request, Script, Stats } from "./simulatorModel.js"
import * as SimulatorDelivery from "./simulator/delivery.js"
import * as FaultHeaders from "./simulator/faultHeaders.js"
import * as SimulatorRequest from "./simulatorRequest.js"

export interface Options {
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly script?: Script | undefined
  readonly delay?: Duration.DurationInput | undefined
  readonly chunkDelay?: Duration.DurationInput | undefined
  readonly oneWrite?: boolean | undefined
  readonly apiKey?: Redacted.Redacted | undefined
  readonly recordLimit?: number | undefined
  readonly maxBodySize?: number | undefined
  readonly keepAlive?: Duration.DurationInput | undefined
}

export interface Server {
  readonly url: string
  readonly host: string
  readonly port: number
  readonly stats: Effect.Effect<Stats>
  readonly requests: Effect.Effect<ReadonlyArray<Request>>
  readonly setScript: (script: Script) => Effect.Effect<void>
  readonly awaitStats: (predicate: (stats: Stats) => boolean) => Effect.Effect<Stats>
}

/**
 * The request body as text, read straight from Node (the platform's `request.text` costs about
 * 100 µs more per request); `undefined` when it exceeds `limit` bytes. A client that goes away
 * mid-body interrupts the handler, like any other disconnect.
 */
const readBody = (req: Http.IncomingMessage, limit: number): Effect.Effect<string | undefined> =>
  Effect.async<string | undefined>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        req.resume()
        resume(Effect.succeed(undefined))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks, size).toString("utf8")))
    }
    const cleanup = () => {
      req.off("data", onData)
      req.off("end", onEnd)
    }
    req.on("data", onData)
    req.on("end", onEnd)
    return Effect.sync(cleanup)
  })

// -----------------------------------------------------------------------------
// The server
// -----------------------------------------------------------------------------

interface Counters {
  requests: number
  readonly requestsByProtocol: Record<Protocol, number>
  openConnections: number
  connections: number
  activeResponses: number
  clientAborts: number
}

export const make = (options: Options): Effect.Effect<Server, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const counters: Counters = {
      requests: 0,
      requestsByProtocol: { "responses": 0, "chat-completions": 0, "messages": 0 },
      openConnections: 0,
      connections: 0,
      activeResponses: 0,
      clientAborts: 0
    }
    const waiters = new Set<() => void>()
    const snapshot = (): Stats => ({ ...counters, requestsByProtocol: { ...counters.requestsByProtocol } })
    const changed = () => {
      if (waiters.size === 0) return
      for (const waiter of Array.from(waiters)) waiter()
    }

    const recordLimit = Math.max(0, options.recordLimit ?? 1000)
    const recorded: Array<Request> = []
    const record = (request: Request) => {
      if (recordLimit === 0) return
      recorded.push(request)
      if (recorded.length >= recordLimit * 2) recorded.splice(0, recorded.length - recordLimit)
    }

    let queue: ReadonlyArray<Reply> = []
    let position = 0
    let scriptFn: ((request: Request) => Reply | Effect.Effect<Reply>) | undefined
    const setScriptNow = (script: Script | undefined) => {
      position = 0
      if (typeof script === "function") {
        queue = []
        scriptFn = script
      } else {
        queue = script ?? []
        scriptFn = undefined
      }
    }
    setScriptNow(options.script)

    const defaults = {
      delay: SimulatorDelivery.positive(options.delay === undefined ? undefined : Duration.decode(options.delay)),
      chunkDelay: SimulatorDelivery.positive(options.chunkDelay === undefined ? undefined : Duration.decode(options.chunkDelay)),
      oneWrite: options.oneWrite ?? false
    }
    const apiKey = options.apiKey === undefined ? undefined : Redacted.value(options.apiKey)
    const maxBodySize = options.maxBodySize ?? 64 * 1024 * 1024

    // Responses the simulator itself cut (the reset fault): not client aborts.
    const cutByServer = new WeakSet<Http.ServerResponse>()
    const sockets = new Set<Net.Socket>()
    let nodeServer: Http.Server | undefined

    const server = yield* NodeHttpServer.make(() => {
      const created = Http.createServer()
      if (options.keepAlive !== undefined) created.keepAliveTimeout = Duration.toMillis(Duration.decode(options.keepAlive))
      created.on("connection", (socket: Net.Socket) => {
        sockets.add(socket)
        counters.connections++
        counters.openConnections++
        socket.once("close", () => {
          sockets.delete(socket)
          counters.openConnections--
          changed()
        })
        changed()
      })
      created.on("request", (_req: Http.IncomingMessage, res: Http.ServerResponse) => {
        counters.requests++
        counters.activeResponses++
        res.once("close", () => {
          counters.activeResponses--
          if (!res.writableEnded && !cutByServer.has(res)) counters.clientAborts++
          changed()
        })
        changed()
      })
      nodeServer = created
      return created
    }, { host, port: options.port ?? 0 })

    // Stalled streams keep their connections open, and `server.close` waits for every one.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const socket of sockets) socket.destroy()
        nodeServer?.closeAllConnections()
      })
    )

    const address = server.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`

    const nextReply = (request: Request): Effect.Effect<Reply> => {
      if (position < queue.length) return Effect.succeed(queue[position++]!)
      if (scriptFn !== undefined) {
        const reply = scriptFn(request)
        return Effect.isEffect(reply) ? reply : Effect.succeed(reply)
      }
      return Effect.succeed(FaultHeaders.respondReply)
    }

    const delivery = SimulatorDelivery.make(defaults, cutByServer)
    const errorReply = delivery.errorReply

    // -------------------------------------------------------------------------
    // Routes
    // -------------------------------------------------------------------------

    const authorized = (protocol: Protocol, headers: Readonly<Record<string, string | undefined>>) => {
      if (apiKey === undefined) return true
      return protocol === "messages"
        ? headers["x-api-key"] === apiKey
        : headers["authorization"] === `Bearer ${apiKey}`
    }

    const handle = (protocol: Protocol) =>
      Effect.gen(function*() {
        const httpRequest = yield* HttpServerRequest.HttpServerRequest
        const res = NodeHttpServerRequest.toServerResponse(httpRequest)
        const byProtocol = counters.requestsByProtocol
        const index = byProtocol.responses + byProtocol["chat-completions"] + byProtocol.messages
        byProtocol[protocol]++
        changed()
        const requestId = `req_sim${index}`
        const text = yield* readBody(NodeHttpServerRequest.toIncomingMessage(httpRequest), maxBodySize)
        if (typeof text !== "string") {
          return errorReply(protocol, "unknown", requestId, {
            kind: "bad-request",
            status: 413,
            message: `The request body exceeds the simulator's limit of ${maxBodySize} bytes.`
          })
        }
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          return errorReply(protocol, "unknown", requestId, {
            kind: "bad-request",
            message:
              "We could not parse the JSON body of your request. The request body must be valid JSON (Content-Type: application/json)."
          })
        }
        const request = SimulatorRequest.parse(protocol, body, httpRequest.headers, index)
        if ("_tag" in request) {
          return errorReply(protocol, "unknown", requestId, {
            kind: "bad-request",
            message: request.message,
            param: request.param
          })
        }
        if (!authorized(protocol, httpRequest.headers)) {
          return errorReply(protocol, request.model, requestId, { kind: "unauthorized" })
        }
        const fromHeaders = FaultHeaders.replyFromHeaders(httpRequest.headers)
        if (fromHeaders?._tag === "Invalid") {
          return errorReply(protocol, request.model, requestId, { kind: "bad-request", message: fromHeaders.message })
        }
        record(request)
        const reply = fromHeaders ?? (yield* nextReply(request))
        const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        return yield* delivery.deliver(protocol, request, reply, res, requestId, created)
      }).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.succeed(
            errorReply(protocol, "unknown", "req_sim", {
              kind: "server",
              message: `The simulator's script failed: ${defect instanceof Error ? defect.message : String(defect)}`
            })
          )
        )
      )

    const endpoints = {
      responses: `${url}/v1/responses`,
      chatCompletions: `${url}/v1/chat/completions`,
      messages: `${url}/v1/messages`
    }

    const notFound = Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.unsafeJson(
        {
          error: {
            message:
              `Unknown route ${request.method} ${request.url}. The simulator serves POST ${endpoints.responses}, POST ${endpoints.chatCompletions} and POST ${endpoints.messages}.`,
            type: "invalid_request_error",
            param: null,
            code: "unknown_url"
          }
        },
        { status: 404 }
      ))

    const app = HttpRouter.empty.pipe(
      HttpRouter.post("/v1/responses", handle("responses")),
      HttpRouter.post("/v1/chat/completions", handle("chat-completions")),
      HttpRouter.post("/v1/messages", handle("messages")),
      HttpRouter.get(
        "/v1/models",
        Effect.succeed(HttpServerResponse.unsafeJson({
          object: "list",
          data: [{ id: "simulator", object: "model", created: 0, owned_by: "effect-agents-simulator" }]
        }))
      ),
      HttpRouter.get(
        "/",
        Effect.succeed(HttpServerResponse.text(
          `effect-agents LLM simulator: a local simulator, not a model.\n${endpoints.responses}\n${endpoints.chatCompletions}\n${endpoints.messages}\n`
        ))
      ),
      HttpRouter.all("*", notFound)
    )

    // No span per request: the simulator is a fixture, and benchmarks measure through it.
    yield* HttpServer.serveEffect(app).pipe(
      Effect.locally(HttpMiddleware.currentTracerDisabledWhen, () => true),
      Effect.provideService(HttpServer.HttpServer, server)
    )

    return {
      url,
      host,
      port,
      stats: Effect.sync(snapshot),
      requests: Effect.sync(() => recorded.slice(-recordLimit)),
      setScript: (script) => Effect.sync(() => setScriptNow(script)),
      awaitStats: (predicate) =>
        Effect.async<Stats>((resume) => {
          const check = () => {
            const stats = snapshot()
            if (predicate(stats)) {
              waiters.delete(check)
              resume(Effect.succeed(stats))
            }
          }
          waiters.add(check)
          check()
          return Effect.sync(() => {
            waiters.delete(check)
          })
        })
    }
  })
