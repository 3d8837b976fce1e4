/**
 * HTTP for the provider layers, on undici directly: one request per model call, aborted when the
 * call is interrupted, and the response body read as text as it arrives. Failures are `@effect/ai`
 * errors (`HttpRequestError` for the transport, `HttpResponseError` for a status), so the agent's
 * `ModelError` classifies them (rate limits with `Retry-After`, overload, ...).
 */
import * as AiError from "@effect/ai/AiError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import { EventEmitter } from "node:events"
import { Agent, type Dispatcher, errors, request } from "undici"
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

/**
 * How long a request may wait. `headers` bounds the wait for the status line and headers (for a
 * JSON answer the model's whole generation happens before them); `body` bounds each silence while
 * the body is read. Both are always set on the request, so no call falls back to undici's own
 * five-minute defaults.
 */
export interface Timeouts {
  readonly headers: Duration.Duration
  readonly body: Duration.Duration
}

const noop = () => {}

// Aborted through an event emitter (a signal undici accepts): an `AbortController` per request, as
// `Effect.tryPromise` makes one, cost more than the rest of the request's own handling.
const start = (client: Client, post: Post, signal: EventEmitter, timeouts: Timeouts) =>
  request(post.url, {
    method: "POST",
    headers: post.headers,
    body: post.body,
    signal,
    dispatcher: client.dispatcher,
    headersTimeout: Duration.toMillis(timeouts.headers),
    bodyTimeout: Duration.toMillis(timeouts.body)
  }).then((response) => {
    // undici destroys a body with an error when its request is aborted, also after the response
    // arrived, and an error nobody listens for is raised in the process as an uncaught exception.
    // Every body is listened to from the moment it exists; its readers add their own listeners.
    response.body.on("error", noop)
    return response
  })

const abort = (signal: EventEmitter) =>
  Effect.sync(() => {
    signal.emit("abort")
  })

/**
 * Sends the request and waits for its headers. Interruptible at every moment: interrupting it
 * aborts the request, whether it is still connecting, being sent or waiting for the headers.
 */
const send = (client: Client, post: Post, timeouts: Timeouts): Effect.Effect<Response, AiError.AiError> =>
  Effect.async<Response, AiError.AiError>((resume) => {
    const signal = new EventEmitter()
    start(client, post, signal, timeouts).then(
      (response) => resume(Effect.succeed(response)),
      (cause) => resume(Effect.fail(requestError(client, post, cause, timeouts)))
    )
    return abort(signal)
  })

/** A transport failure, with undici's timeouts said in words a user can act on. */
const requestError = (client: Client, post: Post, cause: unknown, timeouts: Timeouts) => {
  const code = (cause as { readonly code?: unknown } | null)?.code
  if (code === "UND_ERR_HEADERS_TIMEOUT") {
    return transportError(
      client,
      post,
      cause,
      `No response from ${client.provider} within ${Duration.format(timeouts.headers)} (headers timeout)`
    )
  }
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return transportError(
      client,
      post,
      cause,
      `The response stalled: no data for ${Duration.format(timeouts.body)} (idle timeout)`
    )
  }
  return transportError(client, post, cause)
}

const readText = (client: Client, post: Post, response: Response) =>
  Effect.tryPromise({
    try: () => response.body.text(),
    catch: (cause) => transportError(client, post, cause)
  })

const malformedJson = (client: Client, post: Post, text: string, cause: unknown) =>
  new AiError.MalformedOutput({
    module: client.provider,
    method: post.method,
    description: `The response is not JSON: ${text.slice(0, 200)}`,
    cause
  })

/**
 * A JSON request; the parsed response body. The request, its body and the parse are one wait: each
 * step as an effect of its own (a promise bridged to the fiber, a `try`) cost more than the step.
 * Interrupting it aborts the request at any phase, also while the body is being read.
 */
export const postJson = (client: Client, post: Post, timeouts: Timeouts): Effect.Effect<unknown, AiError.AiError> =>
  Effect.async<unknown, AiError.AiError>((resume) => {
    const signal = new EventEmitter()
    const failed = (cause: unknown) => resume(Effect.fail(requestError(client, post, cause, timeouts)))
    start(client, post, signal, timeouts).then((response) =>
      response.body.text().then((text) => {
        if (response.statusCode >= 400) {
          resume(Effect.fail(statusError(client, post, response.statusCode, headerRecord(response.headers), text)))
          return
        }
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch (cause) {
          resume(Effect.fail(malformedJson(client, post, text, cause)))
          return
        }
        resume(Effect.succeed(parsed))
      }, failed), failed)
    return abort(signal)
  })

/**
 * A streaming request: `onEvents` is given the SSE events of each network read as they arrive (the
 * reads that came while it was busy, together), and the body is read on only as fast as it returns
 * (a body that runs far ahead is paused). The request is aborted and the connection released when
 * the effect is interrupted, and a body that sends nothing for `idleTimeout` fails it. No stream
 * pipeline is built: a read costs one wait, not a pull through several stages.
 */
export const postSsePush = <E>(
  client: Client,
  post: Post,
  idleTimeout: Duration.Duration,
  onEvents: (events: Array<Sse.Event>) => Effect.Effect<void, E>
): Effect.Effect<void, AiError.AiError | E> =>
  Effect.acquireUseRelease(
    // Waiting for the headers is interruptible like the rest (the acquisition of a bracket is not,
    // by default). The body is read with the stream's own idle timer, which also knows when the
    // body is paused for a slow reader: undici's is turned off (0) for it.
    Effect.interruptible(send(client, post, { headers: idleTimeout, body: Duration.zero })),
    (response) =>
      Effect.suspend(() =>
        response.statusCode < 400
          ? readEvents(client, post, response, idleTimeout, onEvents)
          : Effect.flatMap(
            readText(client, post, response),
            (body) => Effect.fail(statusError(client, post, response.statusCode, headerRecord(response.headers), body))
          )
      ),
    // Destroying the body aborts a read that is still pending, at once.
    (response) => Effect.sync(() => response.body.destroy())
  )

// How many reads may wait for the reader before the body is paused.
const maxPendingReads = 64

const readEvents = <E>(
  client: Client,
  post: Post,
  response: Response,
  idleTimeout: Duration.Duration,
  onEvents: (events: Array<Sse.Event>) => Effect.Effect<void, E>
): Effect.Effect<void, AiError.AiError | E> => {
  const body = response.body
  const parser = Sse.make()
  // Streaming decode: a character split across two reads is joined, not mangled.
  const decoder = new TextDecoder()
  let reads: Array<Uint8Array> = []
  let ended = false
  let failure: AiError.AiError | undefined
  let wake: ((resume: Effect.Effect<void>) => void) | undefined
  const wakeUp = () => {
    const resume = wake
    if (resume !== undefined) {
      wake = undefined
      resume(Effect.void)
    }
  }
  // One timer, refreshed on every read (a timer raced against every read cost more than the rest
  // of the read's handling).
  const idle = setTimeout(() => {
    failure ??= transportError(
      client,
      post,
      new errors.BodyTimeoutError(),
      `The stream stalled: no data for ${Duration.format(idleTimeout)} (idle timeout)`
    )
    wakeUp()
  }, Duration.toMillis(idleTimeout))
  body.on("data", (bytes: Uint8Array) => {
    idle.refresh()
    reads.push(bytes)
    if (reads.length >= maxPendingReads) body.pause()
    wakeUp()
  })
  body.on("end", () => {
    clearTimeout(idle)
    ended = true
    wakeUp()
  })
  body.on("error", (cause) => {
    clearTimeout(idle)
    failure ??= transportError(client, post, cause)
    wakeUp()
  })
  const arrival = Effect.async<void>((resume) => {
    if (reads.length > 0 || ended || failure !== undefined) return resume(Effect.void)
    wake = resume
    return Effect.sync(() => (wake = undefined))
  })
  // What was read is handed over before a failure or the end that came after it.
  const next: Effect.Effect<void, AiError.AiError | E> = Effect.suspend(() => {
    if (reads.length > 0) {
      const taken = reads
      reads = []
      if (body.isPaused()) body.resume()
      let events = parser.feed(decoder.decode(taken[0], { stream: true }))
      for (let i = 1; i < taken.length; i++) {
        const more = parser.feed(decoder.decode(taken[i], { stream: true }))
        for (const event of more) events.push(event)
      }
      return events.length === 0 ? next : Effect.flatMap(onEvents(events), () => next)
    }
    if (failure !== undefined) return Effect.fail(failure)
    if (ended) {
      const rest = parser.end()
      return rest.length === 0 ? Effect.void : onEvents(rest)
    }
    return Effect.flatMap(arrival, () => next)
  })
  return Effect.ensuring(next, Effect.sync(() => clearTimeout(idle)))
}
