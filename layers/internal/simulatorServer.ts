// The simulator's HTTP server: an @effect/platform router served by NodeHttpServer on a Node
// `http.Server` of our own, so that connections can be counted and a stream can be written frame
// by frame as plain strings, stalled, or cut by destroying its socket.
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
import type { Answer, Disrupt, HttpError, Protocol, Reply, Request, Respond, Script, Stats, Timing } from "./simulatorModel.js"
import * as SimulatorRequest from "./simulatorRequest.js"
import * as SimulatorResponder from "./simulatorResponder.js"
import * as SimulatorWire from "./simulatorWire.js"

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

const respondReply: Respond = { _tag: "Respond", delay: undefined, chunkDelay: undefined, oneWrite: undefined }

const positive = (d: Duration.Duration | undefined): Duration.Duration | undefined =>
  d !== undefined && Duration.greaterThan(d, Duration.zero) ? d : undefined

const sseHeaders = (requestId: string, protocol: Protocol): Http.OutgoingHttpHeaders => ({
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "connection": "keep-alive",
  [protocol === "messages" ? "request-id" : "x-request-id"]: requestId
})

const jsonHeaders = (requestId: string, protocol: Protocol): Record<string, string> => ({
  [protocol === "messages" ? "request-id" : "x-request-id"]: requestId
})

/**
 * Writes `chunk`, waiting for the socket to drain when its buffer is full. A destroyed response
 * is about to emit "close", on which the platform interrupts the handler: nothing more to do.
 */
const write = (res: Http.ServerResponse, chunk: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (res.destroyed) return Effect.never
    if (res.write(chunk)) return Effect.void
    return drained(res)
  })

const drained = (res: Http.ServerResponse): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const done = () => {
      res.off("drain", done)
      res.off("close", done)
      resume(Effect.void)
    }
    res.on("drain", done)
    res.on("close", done)
    return Effect.sync(() => {
      res.off("drain", done)
      res.off("close", done)
    })
  })

/** Writes `chunk` and waits until Node has handed it to the socket. */
const writeFlushed = (res: Http.ServerResponse, chunk: string): Effect.Effect<void> =>
  Effect.suspend(() =>
    res.destroyed ? Effect.never : Effect.async<void>((resume) => {
      res.write(chunk, () => resume(Effect.void))
    })
  )

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
// Faults requested by header, for clients without a script (curl, raw benchmarks)
// -----------------------------------------------------------------------------

const headerValue = (headers: Readonly<Record<string, string | undefined>>, name: string) => {
  const value = headers[name]
  return value === undefined || value.length === 0 ? undefined : value
}

const millis = (value: string | undefined): Duration.Duration | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) && n >= 0 ? Duration.millis(n) : undefined
}

/** A reply described by the `x-simulator-fault` header, or why the header makes no sense. */
export const replyFromHeaders = (
  headers: Readonly<Record<string, string | undefined>>
): Reply | { readonly _tag: "Invalid"; readonly message: string } | undefined => {
  const fault = headerValue(headers, "x-simulator-fault")
  const delay = millis(headerValue(headers, "x-simulator-delay"))
  const chunkDelay = millis(headerValue(headers, "x-simulator-chunk-delay"))
  const oneWrite = headerValue(headers, "x-simulator-one-write") === "true" ? true : undefined
  const timing: Timing = { delay, chunkDelay, oneWrite }
  if (fault === undefined) {
    return delay === undefined && chunkDelay === undefined && oneWrite === undefined
      ? undefined
      : { ...respondReply, ...timing }
  }
  const [name = "", ...pairs] = fault.split(";").map((s) => s.trim())
  const params: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf("=")
    if (at > 0) params[pair.slice(0, at).trim()] = pair.slice(at + 1).trim()
  }
  const after = params.after === undefined ? undefined : Number(params.after)
  if (after !== undefined && !(Number.isInteger(after) && after >= 0)) {
    return { _tag: "Invalid", message: `x-simulator-fault: 'after' must be a whole number, got '${params.after}'` }
  }
  const before = params.before
  if (before !== undefined && before !== "headers" && before !== "body") {
    return { _tag: "Invalid", message: `x-simulator-fault: 'before' must be 'headers' or 'body', got '${before}'` }
  }
  const retryAfter = millis(params["retry-after-ms"]) ??
    (params["retry-after"] === undefined ? undefined : millis(String(Number(params["retry-after"]) * 1000)))
  const httpError = (kind: HttpError["kind"], status?: number): HttpError => ({
    _tag: "HttpError",
    status,
    kind,
    message: params.message,
    body: undefined,
    headers: {},
    retryAfter: retryAfter ?? (kind === "rate-limited" ? Duration.seconds(1) : undefined),
    ...timing
  })
  const disrupt = (kind: Disrupt["kind"]): Disrupt => ({
    _tag: "Disrupt",
    kind,
    after,
    before,
    errorKind: params.kind === "overloaded" || params.kind === "rate-limited" ? params.kind : "server",
    message: params.message,
    reply: respondReply,
    ...timing
  })
  if (/^\d{3}$/.test(name)) return httpError(SimulatorWire.kindOf(Number(name)), Number(name))
  switch (name) {
    case "rate-limit":
    case "rate-limited":
      return httpError("rate-limited")
    case "server-error":
      return httpError("server")
    case "bad-gateway":
      return httpError("bad-gateway")
    case "unavailable":
      return httpError("unavailable")
    case "overloaded":
      return httpError("overloaded")
    case "unauthorized":
      return httpError("unauthorized")
    case "bad-request":
      return httpError("bad-request")
    case "context-too-long":
      return httpError("context-too-long")
    case "reset":
    case "stall":
    case "truncate":
    case "malformed-json":
    case "malformed-sse":
    case "stream-error":
      return disrupt(name)
    case "invalid-tool-arguments":
      return {
        _tag: "Answer",
        text: [],
        toolCalls: [{
          name: params.tool,
          arguments: undefined,
          rawArguments: params.arguments,
          invalid: true,
          id: undefined,
          chunks: undefined
        }],
        finishReason: "tool-calls",
        usage: undefined,
        model: undefined,
        ...timing
      }
    default:
      return {
        _tag: "Invalid",
        message:
          `x-simulator-fault: unknown fault '${name}' (expected a status such as 503, rate-limit, server-error, bad-gateway, unavailable, overloaded, unauthorized, bad-request, context-too-long, reset, stall, truncate, malformed-json, malformed-sse, stream-error or invalid-tool-arguments)`
      }
  }
}

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
      delay: positive(options.delay === undefined ? undefined : Duration.decode(options.delay)),
      chunkDelay: positive(options.chunkDelay === undefined ? undefined : Duration.decode(options.chunkDelay)),
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
      return Effect.succeed(respondReply)
    }

    const errorReply = (
      protocol: Protocol,
      model: string,
      requestId: string,
      error: {
        readonly kind: HttpError["kind"]
        readonly status?: number | undefined
        readonly message?: string | undefined
        readonly param?: string | undefined
        readonly retryAfter?: Duration.Duration | undefined
        readonly body?: string | undefined
        readonly headers?: Readonly<Record<string, string>> | undefined
      }
    ): HttpServerResponse.HttpServerResponse => {
      const response = SimulatorWire.errorResponse(protocol, { ...error, model, requestId })
      return HttpServerResponse.text(error.body ?? response.body, {
        status: response.status,
        headers: { ...response.headers, ...error.headers },
        contentType: response.headers["content-type"]!
      })
    }

    // -------------------------------------------------------------------------
    // Delivery
    // -------------------------------------------------------------------------

    const timingOf = (reply: Timing, inner?: Timing) => ({
      delay: positive(reply.delay ?? inner?.delay) ?? defaults.delay,
      chunkDelay: positive(reply.chunkDelay ?? inner?.chunkDelay) ?? defaults.chunkDelay,
      oneWrite: reply.oneWrite ?? inner?.oneWrite ?? defaults.oneWrite
    })

    /** Writes SSE frames `[0, cut)` then `tail`, in chunks split at `breaks`. */
    const writeFrames = (
      res: Http.ServerResponse,
      frames: ReadonlyArray<string>,
      breaks: ReadonlyArray<number>,
      cut: number,
      tail: ReadonlyArray<string>,
      timing: ReturnType<typeof timingOf>
    ): Effect.Effect<void> => {
      if (timing.oneWrite) {
        let all = ""
        for (let i = 0; i < cut; i++) all += frames[i]
        for (const frame of tail) all += frame
        return all.length === 0 ? Effect.void : write(res, all)
      }
      const groups: Array<string> = []
      let current = ""
      let b = 0
      for (let i = 0; i < cut; i++) {
        if (b < breaks.length && breaks[b] === i) {
          b++
          if (current.length > 0) groups.push(current)
          current = ""
        }
        current += frames[i]
      }
      for (const frame of tail) current += frame
      if (current.length > 0) groups.push(current)
      const pause = timing.chunkDelay
      if (pause === undefined) {
        return Effect.suspend(() => {
          for (let g = 0; g < groups.length; g++) {
            if (res.destroyed) return Effect.never
            if (!res.write(groups[g]!)) {
              const rest = groups.slice(g + 1)
              return Effect.zipRight(drained(res), Effect.forEach(rest, (group) => write(res, group), { discard: true }))
            }
          }
          return Effect.void
        })
      }
      return Effect.forEach(
        groups,
        (group, g) => g === 0 ? write(res, group) : Effect.zipRight(Effect.sleep(pause), write(res, group)),
        { discard: true }
      )
    }

    const cutSocket = (res: Http.ServerResponse) =>
      Effect.suspend(() => {
        cutByServer.add(res)
        res.socket?.destroy()
        if (!res.destroyed) res.destroy()
        // The platform interrupts this fiber when the response closes.
        return Effect.never
      })

    /**
     * A stall or a reset in a phase of its own: before the status line, or after the headers and
     * before the first byte of the body.
     */
    const holdOrCut = (
      res: Http.ServerResponse,
      disruption: Disrupt,
      headers: Http.OutgoingHttpHeaders
    ): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
      Effect.suspend(() => {
        if (disruption.before === "body") {
          res.writeHead(200, headers)
          res.flushHeaders()
        }
        return disruption.kind === "reset" ? cutSocket(res) : Effect.never
      })

    const deliverStream = (
      protocol: Protocol,
      request: Request,
      res: Http.ServerResponse,
      requestId: string,
      content: Answer | Respond,
      disruption: Disrupt | undefined,
      timing: ReturnType<typeof timingOf>,
      ctx: SimulatorWire.Context
    ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
      const resolved = SimulatorResponder.resolve(content, request)
      const body = SimulatorWire.streamBody(protocol, resolved, ctx)
      let frames = body.frames
      let cut = frames.length
      let tail: ReadonlyArray<string> = []
      let ending: "end" | "reset" | "stall" = "end"
      if (disruption !== undefined) {
        const malformed = disruption.kind === "malformed-json" || disruption.kind === "malformed-sse"
        const after = Math.min(disruption.after ?? (malformed ? body.firstContent : body.firstContent + 1), frames.length)
        switch (disruption.kind) {
          case "reset":
          case "stall":
            cut = after
            ending = disruption.kind
            break
          case "truncate":
            cut = after
            break
          case "stream-error":
            cut = after
            tail = SimulatorWire.streamErrorFrames(protocol, disruption.errorKind, disruption.message, ctx, after)
            break
          case "malformed-json":
          case "malformed-sse": {
            const broken = disruption.kind === "malformed-json"
              ? SimulatorWire.malformedJsonFrame
              : SimulatorWire.malformedSseFrame
            const copy = frames.slice()
            const at = Math.min(after, copy.length - 1)
            copy[at] = broken(copy[at]!)
            frames = copy
            break
          }
        }
      }
      return Effect.gen(function*() {
        if (timing.delay !== undefined) yield* Effect.sleep(timing.delay)
        if (disruption?.before !== undefined) return yield* holdOrCut(res, disruption, sseHeaders(requestId, protocol))
        if (ending === "reset" && cut === 0) return yield* cutSocket(res)
        res.writeHead(200, sseHeaders(requestId, protocol))
        if (cut === 0 && tail.length === 0) res.flushHeaders()
        yield* writeFrames(res, frames, body.breaks, cut, tail, timing)
        if (ending === "reset") {
          yield* writeFlushed(res, "")
          return yield* cutSocket(res)
        }
        if (ending === "stall") return yield* Effect.never
        res.end()
        return HttpServerResponse.empty()
      })
    }

    const deliverJson = (
      protocol: Protocol,
      request: Request,
      res: Http.ServerResponse,
      requestId: string,
      content: Answer | Respond,
      disruption: Disrupt | undefined,
      timing: ReturnType<typeof timingOf>,
      ctx: SimulatorWire.Context
    ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
      const sleep = timing.delay === undefined ? Effect.void : Effect.sleep(timing.delay)
      if (disruption?.kind === "stream-error") {
        return Effect.as(
          sleep,
          errorReply(protocol, request.model, requestId, {
            kind: disruption.errorKind,
            message: disruption.message,
            retryAfter: disruption.errorKind === "rate-limited" ? Duration.seconds(1) : undefined
          })
        )
      }
      const json = SimulatorWire.jsonBody(protocol, SimulatorResponder.resolve(content, request), ctx)
      if (disruption === undefined) {
        return Effect.as(
          sleep,
          HttpServerResponse.text(json, { contentType: "application/json", headers: jsonHeaders(requestId, protocol) })
        )
      }
      const half = json.slice(0, Math.max(1, Math.floor(json.length / 2)))
      const headers = { "content-type": "application/json", ...jsonHeaders(requestId, protocol) }
      return Effect.zipRight(
        sleep,
        Effect.suspend((): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
          if (disruption.before !== undefined) return holdOrCut(res, disruption, headers)
          switch (disruption.kind) {
            case "reset":
              if (disruption.after === 0) return cutSocket(res)
              res.writeHead(200, headers)
              return Effect.zipRight(writeFlushed(res, half), cutSocket(res))
            case "stall":
              if (disruption.after === 0) return Effect.never
              res.writeHead(200, headers)
              return Effect.zipRight(write(res, half), Effect.never)
            case "truncate":
              res.writeHead(200, headers)
              return Effect.zipRight(write(res, half), Effect.sync(() => res.end()).pipe(Effect.as(HttpServerResponse.empty())))
            default:
              return Effect.succeed(HttpServerResponse.text(half, { contentType: "application/json", headers: jsonHeaders(requestId, protocol) }))
          }
        })
      )
    }

    const deliver = (
      protocol: Protocol,
      request: Request,
      reply: Reply,
      res: Http.ServerResponse,
      requestId: string,
      created: number
    ): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
      if (reply._tag === "HttpError") {
        const timing = timingOf(reply)
        const response = errorReply(protocol, request.model, requestId, {
          kind: reply.kind,
          status: reply.status,
          message: reply.message,
          retryAfter: reply.retryAfter,
          body: reply.body,
          headers: reply.headers
        })
        return timing.delay === undefined ? Effect.succeed(response) : Effect.as(Effect.sleep(timing.delay), response)
      }
      const ctx: SimulatorWire.Context = { id: SimulatorWire.responseId(protocol, request.index), created, request }
      const content = reply._tag === "Disrupt" ? reply.reply : reply
      const disruption = reply._tag === "Disrupt" ? reply : undefined
      const timing = timingOf(reply, disruption === undefined ? undefined : content)
      return request.stream
        ? deliverStream(protocol, request, res, requestId, content, disruption, timing, ctx)
        : deliverJson(protocol, request, res, requestId, content, disruption, timing, ctx)
    }

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
        const fromHeaders = replyFromHeaders(httpRequest.headers)
        if (fromHeaders?._tag === "Invalid") {
          return errorReply(protocol, request.model, requestId, { kind: "bad-request", message: fromHeaders.message })
        }
        record(request)
        const reply = fromHeaders ?? (yield* nextReply(request))
        const created = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        return yield* deliver(protocol, request, reply, res, requestId, created)
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
