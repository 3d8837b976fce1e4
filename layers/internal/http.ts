/**
 * HTTP for the provider layers, on undici directly: one request per model call, aborted when the
 * call is interrupted, and the response body read as text as it arrives. Failures are `@effect/ai`
 * errors (`HttpRequestError` for the transport, `HttpResponseError` for a status), so the agent's
 * `ModelError` classifies them (rate limits with `Retry-After`, overload, ...).
 */
import * as AiError from "@effect/ai/AiError"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Agent, type Dispatcher, request } from "undici"
import * as Sse from "./sse.js"

export interface Client {
  readonly provider: string
  readonly dispatcher: Dispatcher
}

/** A connection pool for one provider, closed with its scope. */
export const makeClient = (provider: string): Effect.Effect<Client, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 30_000 } })),
      (agent) => Effect.promise(() => agent.close().catch(() => undefined))
    ),
    (dispatcher) => ({ provider, dispatcher })
  )

export interface Post {
  readonly url: string
  readonly method: string
  readonly headers: Record<string, string>
  readonly body: string
}

const details = (post: Post) => ({
  method: "POST" as const,
  url: post.url,
  urlParams: [],
  hash: Option.none(),
  // Request headers carry the API key: never copied into errors.
  headers: {}
})

const transportError = (client: Client, post: Post, cause: unknown, description?: string) =>
  new AiError.HttpRequestError({
    module: client.provider,
    method: post.method,
    reason: "Transport",
    request: details(post),
    description: description ?? (cause instanceof Error ? cause.message : String(cause)),
    cause
  })

const headerRecord = (headers: Record<string, string | Array<string> | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key in headers) {
    const value = headers[key]
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

const statusError = (client: Client, post: Post, status: number, headers: Record<string, string>, body: string) =>
  new AiError.HttpResponseError({
    module: client.provider,
    method: post.method,
    reason: "StatusCode",
    request: details(post),
    response: { status, headers },
    ...(body.length > 0 ? { body } : {})
  })

type Response = Dispatcher.ResponseData

const send = (client: Client, post: Post): Effect.Effect<Response, AiError.AiError> =>
  Effect.tryPromise({
    try: (signal) =>
      request(post.url, {
        method: "POST",
        headers: post.headers,
        body: post.body,
        signal,
        dispatcher: client.dispatcher
      }),
    catch: (cause) => transportError(client, post, cause)
  })

const readText = (client: Client, post: Post, response: Response) =>
  Effect.tryPromise({
    try: () => response.body.text(),
    catch: (cause) => transportError(client, post, cause)
  })

const failOnStatus = (client: Client, post: Post, response: Response): Effect.Effect<Response, AiError.AiError> =>
  response.statusCode < 400
    ? Effect.succeed(response)
    : Effect.flatMap(
      readText(client, post, response),
      (body) => Effect.fail(statusError(client, post, response.statusCode, headerRecord(response.headers), body))
    )

/** A JSON request; the parsed response body. */
export const postJson = (client: Client, post: Post): Effect.Effect<unknown, AiError.AiError> =>
  send(client, post).pipe(
    Effect.flatMap((response) => failOnStatus(client, post, response)),
    Effect.flatMap((response) => readText(client, post, response)),
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (cause) =>
          new AiError.MalformedOutput({
            module: client.provider,
            method: post.method,
            description: `The response is not JSON: ${text.slice(0, 200)}`,
            cause
          })
      })
    )
  )

/**
 * A streaming request: the SSE events of the response body, one stream chunk per network read.
 * The request is aborted and the connection released when the stream is interrupted, and a body
 * that sends nothing for `idleTimeout` fails the stream.
 */
export const postSse = (
  client: Client,
  post: Post,
  idleTimeout: Duration.Duration
): Stream.Stream<Sse.Event, AiError.AiError> =>
  Stream.unwrapScoped(
    Effect.acquireRelease(
      Effect.flatMap(send(client, post), (response) => failOnStatus(client, post, response)),
      (response) => Effect.sync(() => response.body.destroy())
    ).pipe(
      Effect.map((response) => {
        const parser = Sse.make()
        // Streaming decode: a character split across two reads is joined, not mangled.
        const decoder = new TextDecoder()
        // Read through the body's events: closing an async iterator waits for its pending read, so a
        // stalled body could never be interrupted. Destroying the body (on release) aborts it at once.
        // The idle timeout is one timer refreshed on every read (racing a timer on every pull of the
        // stream cost more than the rest of the chunk's handling).
        const body = response.body
        const idleMillis = Duration.toMillis(idleTimeout)
        const reads = Stream.asyncPush<Uint8Array, AiError.AiError>((emit) =>
          Effect.acquireRelease(
            Effect.sync(() => {
              const idle = setTimeout(() =>
                emit.fail(transportError(
                  client,
                  post,
                  undefined,
                  `The stream stalled: no data for ${Duration.format(idleTimeout)} (idle timeout)`
                )), idleMillis)
              body.on("data", (bytes: Uint8Array) => {
                idle.refresh()
                emit.single(bytes)
              })
              body.on("end", () => {
                clearTimeout(idle)
                emit.end()
              })
              body.on("error", (cause) => {
                clearTimeout(idle)
                emit.fail(transportError(client, post, cause))
              })
              return idle
            }),
            (idle) => Effect.sync(() => clearTimeout(idle))
          ), { bufferSize: "unbounded" })
        return reads.pipe(
          Stream.mapConcatChunk((bytes) => Chunk.unsafeFromArray(parser.feed(decoder.decode(bytes, { stream: true })))),
          Stream.concat(Stream.suspend(() => Stream.fromIterable(parser.end())))
        )
      })
    )
  )
