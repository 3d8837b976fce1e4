/**
 * What the HTTP app does around its API: refuses new requests while it shuts down, checks a
 * request's body before the API decodes it (its media type, its size, also when it comes in chunks,
 * and how deep its JSON nests), and answers an unknown route, an unreadable body and any defect
 * with typed JSON.
 */
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Http from "node:http"
import * as HttpApi from "../../../src/HttpApi.js"
import * as Body from "./body.js"

const encodeTooLarge = Schema.encodeSync(HttpApi.PayloadTooLarge)
const encodeDecodeError = Schema.encodeSync(HttpApiDecodeError)
const encodeInternal = Schema.encodeSync(HttpApi.InternalError)
const encodeShuttingDown = Schema.encodeSync(HttpApi.ShuttingDown)
const encodeUnsupportedMediaType = Schema.encodeSync(HttpApi.UnsupportedMediaType)

const tooLarge = (maxBytes: number, headers: Record<string, string> = { connection: "close" }) =>
  HttpServerResponse.unsafeJson(
    encodeTooLarge(
      new HttpApi.PayloadTooLarge({ maxBytes, message: `The request body is larger than ${maxBytes} bytes.` })
    ),
    { status: 413, headers }
  )

const unsupportedMediaType = (contentType: string) =>
  HttpServerResponse.unsafeJson(
    encodeUnsupportedMediaType(
      new HttpApi.UnsupportedMediaType({
        contentType,
        message: `The request body must be JSON, sent with content-type: application/json (it was sent as ${contentType}).`
      })
    ),
    { status: 415 }
  )

const decodeError = (message: string) =>
  HttpServerResponse.unsafeJson(encodeDecodeError(new HttpApiDecodeError({ issues: [], message })), { status: 400 })

const tooDeep = decodeError(
  `The request body nests arrays and objects more than ${Body.maxDepth} levels deep; the API accepts at most ${Body.maxDepth}.`
)

const isRequestError = (u: unknown): u is HttpServerError.RequestError =>
  HttpServerError.isServerError(u) && u._tag === "RequestError"

/** The Node request under a platform request, when it is one (the middleware may run on another server). */
const incomingOf = (request: HttpServerRequest.HttpServerRequest): Http.IncomingMessage | undefined => {
  const source = NodeHttpServerRequest.toIncomingMessage(request) as unknown
  return source instanceof Http.IncomingMessage ? source : undefined
}

/** The request with its body already read: the API decodes `text` instead of reading the connection. */
const withBody = (request: HttpServerRequest.HttpServerRequest, text: string) =>
  HttpServerRequest.fromWeb(
    new Request(new URL(request.url, "http://localhost"), { method: request.method, body: text })
  ).modify({
    headers: request.headers,
    ...Option.match(request.remoteAddress, { onNone: () => ({}), onSome: (remoteAddress) => ({ remoteAddress }) })
  })

/**
 * The body of a request that has one, checked before the API decodes it: JSON by its media type,
 * no larger than `maxBytes` (also when it comes in chunks), nested no deeper than `Body.maxDepth`.
 * Either the response that refuses it, or the request to serve (the same one, or one carrying the
 * chunked body that was read here).
 */
const checkBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function*() {
    const contentType = request.headers["content-type"]
    if (!Body.isJson(contentType)) return Either.left(unsupportedMediaType(contentType ?? ""))
    const length = request.headers["content-length"]
    const incoming = incomingOf(request)
    let text: string
    let served = request
    if (length === undefined && incoming !== undefined) {
      const body = yield* Body.readChunked(incoming, maxBytes).pipe(
        Effect.mapError((cause) => new HttpServerError.RequestError({ request, reason: "Decode", cause }))
      )
      // The connection is kept while the rest of the body is thrown away: closing it now would reset it.
      if (body._tag === "TooLarge") return Either.left(tooLarge(maxBytes, {}))
      text = body.text
      served = withBody(request, text)
    } else {
      if (Number(length) > maxBytes) return Either.left(tooLarge(maxBytes))
      // Read once: the API decodes the same text (the platform caches it).
      text = yield* request.text
    }
    if (Body.nestsDeeperThan(text, Body.maxDepth)) return Either.left(tooDeep)
    return Either.right(served)
  })

/**
 * The middleware of the app: 503 while `draining`, 413 for bodies over `maxBytes`, 415 for bodies
 * that are not JSON, 400 for JSON nested too deep or unreadable, 404 for an unknown route and 500
 * for a defect, which goes to the log.
 */
export const make = (maxBytes: number, draining: Effect.Effect<boolean>): HttpMiddleware.HttpMiddleware => (app) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (yield* draining) {
      return HttpServerResponse.unsafeJson(
        encodeShuttingDown(new HttpApi.ShuttingDown({ message: "The server is shutting down." })),
        { status: 503, headers: { connection: "close" } }
      )
    }
    if (!Body.hasBody(request.headers)) return yield* app
    const checked = yield* checkBody(request, maxBytes)
    if (Either.isLeft(checked)) return checked.left
    return yield* checked.right === request
      ? app
      : Effect.provideService(app, HttpServerRequest.HttpServerRequest, checked.right)
  }).pipe(
    HttpIncomingMessage.withMaxBodySize(Option.some(maxBytes)),
    Effect.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      const error = Cause.squash(cause)
      if (HttpServerError.isServerError(error) && error._tag === "RouteNotFound") {
        return Effect.succeed(HttpServerResponse.unsafeJson(
          { _tag: "RouteNotFound", message: `No route for ${error.request.method} ${error.request.url}` },
          { status: 404 }
        ))
      }
      if (isRequestError(error)) {
        if (String((error.cause as Error | undefined)?.message).includes("maxBytes exceeded")) {
          return Effect.succeed(tooLarge(maxBytes))
        }
        return Effect.succeed(decodeError(
          `The request body could not be read as JSON: ${
            error.cause instanceof Error ? error.cause.message : String(error.cause)
          }`
        ))
      }
      return Effect.as(
        Effect.logError("The HTTP app failed to answer a request", cause),
        HttpServerResponse.unsafeJson(
          encodeInternal(new HttpApi.InternalError({ message: "Internal server error; the details are in the server's log." })),
          { status: 500 }
        )
      )
    })
  )
