// How the simulator delivers a reply over Node's response: an error, a JSON body or an SSE stream
// written frame by frame (in the chunks and with the pauses asked for), and the faults of each
// phase (a stall or a reset before the headers or the body, a cut or broken stream).
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Http from "node:http"
import type { Answer, Disrupt, HttpError, Protocol, Reply, Request, Respond, Timing } from "../simulatorModel.js"
import * as SimulatorResponder from "../simulatorResponder.js"
import * as SimulatorWire from "../simulatorWire.js"

export const positive = (d: Duration.Duration | undefined): Duration.Duration | undefined =>
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

/** The timing of replies that set none, from the server's options. */
export interface Defaults {
  readonly delay: Duration.Duration | undefined
  readonly chunkDelay: Duration.Duration | undefined
  readonly oneWrite: boolean
}

/** What the server's routes reply with. */
export interface Delivery {
  readonly deliver: (
    protocol: Protocol,
    request: Request,
    reply: Reply,
    res: Http.ServerResponse,
    requestId: string,
    created: number
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly errorReply: (
    protocol: Protocol,
    model: string,
    requestId: string,
    error: ErrorOptions
  ) => HttpServerResponse.HttpServerResponse
}

/** An error answer's fields; the wire format fills in the rest. */
export interface ErrorOptions {
  readonly kind: HttpError["kind"]
  readonly status?: number | undefined
  readonly message?: string | undefined
  readonly param?: string | undefined
  readonly retryAfter?: Duration.Duration | undefined
  readonly body?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The delivery of a server: `defaults` time the replies that set no timing, and a response the
 * delivery cuts itself (a reset fault) is added to `cutByServer`, so that it is not counted as a
 * client's abort.
 */
export const make = (defaults: Defaults, cutByServer: WeakSet<Http.ServerResponse>): Delivery => {
  const errorReply = (
    protocol: Protocol,
    model: string,
    requestId: string,
    error: ErrorOptions
  ): HttpServerResponse.HttpServerResponse => {
    const response = SimulatorWire.errorResponse(protocol, { ...error, model, requestId })
    return HttpServerResponse.text(error.body ?? response.body, {
      status: response.status,
      headers: { ...response.headers, ...error.headers },
      contentType: response.headers["content-type"]!
    })
  }

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

  return { deliver, errorReply }
}
