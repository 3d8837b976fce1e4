/**
 * The HTTP app: the agents and teams of a `Registry`, served over HTTP as the `HttpApi` of
 * `effect-agents` defines it. Runs as JSON or Server-Sent Events (detached runs read again from
 * their event log), runs in flight listed and cancelled by id, sessions read from the
 * `SessionStore`, background batches, OpenAI Chat Completions, AG-UI and the AI SDK's UI message
 * stream, a health check, the OpenAPI document (`/openapi.json`), a Swagger page (`/docs`) and a
 * web chat page (`/`).
 *
 * A bearer token, when one is configured, protects everything but `/health`, `/openapi.json`,
 * `/docs` and the web page's static files (the page asks for the token); with no token the app is
 * open. Bodies larger than `maxBodyBytes` get 413 (chunked ones
 * too), bodies not sent as JSON 415, JSON nested more than 128 levels deep 400, bad input 400 with
 * the schema's message; errors are typed JSON, never stack traces.
 *
 * Closing the layer's scope shuts the app down gracefully: it stops accepting, gives the runs in
 * flight `shutdownGrace` to finish, then cancels the rest (a run in a session is recorded as
 * cancelled) and marks the unfinished inputs of batches `interrupted`.
 *
 * @since 0.1.0
 */
import * as Prompt from "@effect/ai/Prompt"
import type * as PlatformHttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as PlatformHttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash, timingSafeEqual } from "node:crypto"
import * as Http from "node:http"
import * as SessionStore from "../services/SessionStore.js"
import * as AgentError from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as HttpApi from "../src/HttpApi.js"
import * as Registry from "../src/Registry.js"
import * as Run from "../src/Run.js"
import * as Approvals from "./internal/httpApp/approvals.js"
import * as Batches from "./internal/httpApp/batches.js"
import * as AgUi from "./internal/httpApp/agUi.js"
import * as Body from "./internal/httpApp/body.js"
import * as EventLog from "./internal/httpApp/eventLog.js"
import type * as DurableRuns from "./internal/httpApp/durable.js"
import * as Events from "./internal/httpApp/events.js"
import * as Failure from "./internal/httpApp/failure.js"
import * as OpenAi from "./internal/httpApp/openAi.js"
import * as Page from "./internal/httpApp/page.js"
import * as Runs from "./internal/httpApp/runs.js"
import * as Sse from "./internal/httpApp/sse.js"
import * as UiStream from "./internal/httpApp/uiStream.js"

// -----------------------------------------------------------------------------
// Options and service
// -----------------------------------------------------------------------------

/**
 * How the app is served.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** Default `3000`; `0` takes any free port. */
  readonly port?: number | undefined
  /** The bearer token every request but `/health` must carry. None: the app is open. */
  readonly token?: Redacted.Redacted | undefined
  /** The largest request body accepted, in bytes; larger ones get 413, also when sent in chunks. Default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** How long runs in flight may take to finish at shutdown before they are cancelled. Default 10 seconds. */
  readonly shutdownGrace?: Duration.DurationInput | undefined
  /**
   * Durable background runs (`/durable/runs`) on this SQLite file (created when missing): any
   * agent, team or workflow of the registry runs on the durable engine (`Durable`), and a run
   * outlives the server: the next server on the file lists it and takes it up where it was, never
   * running a settled step again. Background batches (`/batches`) run on the engine too, each input
   * a durable run, and go on after a restart. At shutdown a durable run is not cancelled: its steps
   * in flight get `shutdownGrace` to finish, then are interrupted, and run again on the next server.
   * None: the `/durable` endpoints answer 501.
   */
  readonly durable?: DurableRuns.Options | undefined
}

/**
 * The running app.
 *
 * @since 0.1.0
 * @category services
 */
export class HttpApp extends Context.Tag("effect-agents/HttpApp")<HttpApp, {
  /** e.g. `http://127.0.0.1:3000`. */
  readonly url: string
}>() {}

/**
 * The app could not start (its port is taken, its host cannot be bound, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpAppError extends Schema.TaggedError<HttpAppError>("effect-agents/HttpAppError")("HttpAppError", {
  host: Schema.String,
  port: Schema.Number,
  message: Schema.String,
  cause: Schema.Defect
}) {}

/** How long responses may take to end once their runs have ended, at shutdown. */
const closeGrace = Duration.seconds(2)

/** @internal */
const defaults = {
  host: "127.0.0.1",
  port: 3000,
  maxBodyBytes: 1024 * 1024,
  shutdownGrace: Duration.seconds(10)
} as const

/**
 * What the handlers share: the runs in flight and the batches.
 *
 * @since 0.1.0
 * @category services
 */
export class State extends Context.Tag("effect-agents/HttpApp/State")<State, {
  readonly runs: Runs.Runs
  readonly batches: Batches.Batches
  /** The event logs of detached runs. */
  readonly logs: EventLog.Logs
  /** The runs that wait for approval. */
  readonly approvals: Approvals.Approvals
  /** The durable runs, when a durable store is configured. */
  readonly durable?: DurableRuns.DurableRuns | undefined
  /** Stops the runs and batches gracefully (the app's shutdown calls it; it is idempotent). */
  readonly shutdown: Effect.Effect<void>
}>() {}

const makeState = (
  grace: Duration.DurationInput,
  durable?: { readonly runs: DurableRuns.DurableRuns; readonly batches: Batches.Batches }
) =>
  Effect.gen(function*() {
    const runs = yield* Runs.make
    const batches = durable === undefined ? yield* Batches.make(runs) : durable.batches
    const logs = yield* EventLog.make
    const approvals = yield* Approvals.make
    const shutdown = Effect.zipRight(runs.shutdown(grace), batches.shutdown).pipe(
      Effect.zipRight(durable === undefined ? Effect.void : durable.runs.shutdown)
    )
    const once = yield* Effect.cached(shutdown)
    yield* Effect.addFinalizer(() => once)
    return State.of({ runs, batches, logs, approvals, durable: durable?.runs, shutdown: once })
  })

/**
 * The durable runs and batches on `options`' file, for the registry in context. Loaded only when
 * configured, so that an app without them does not load the durable engine.
 */
const makeDurable = (options: DurableRuns.Options) =>
  Effect.gen(function*() {
    const registry = yield* Registry.Registry
    const DurableRuns = yield* Effect.promise(() => import("./internal/httpApp/durable.js"))
    const DurableBatches = yield* Effect.promise(() => import("./internal/httpApp/durableBatches.js"))
    const runs = yield* DurableRuns.make(registry, options)
    return { runs, batches: yield* DurableBatches.make(registry, runs) }
  })

const durableOf = Effect.flatMap(State, ({ durable }) =>
  durable === undefined
    ? Effect.fail(
      new HttpApi.DurableRunsDisabled({
        message:
          "This server runs no durable runs: start it with a durable store (HttpApp's durable option, or effect-agents serve --durable <file.db>)."
      })
    )
    : Effect.succeed(durable))

// -----------------------------------------------------------------------------
// Handlers
// -----------------------------------------------------------------------------

const lookup = (name: string) =>
  Effect.flatMap(Registry.Registry, (registry) =>
    Option.match(registry.get(name), {
      onNone: () =>
        Effect.fail(new HttpApi.AgentNotFound({ name, message: `No agent or team is named "${name}".` })),
      onSome: Effect.succeed
    }))

const describe = (entry: Registry.Entry): Registry.Description => ({
  name: entry.name,
  kind: entry.kind,
  ...(entry.description === undefined ? {} : { description: entry.description }),
  ...(entry.members === undefined ? {} : { members: entry.members })
})

const toInput = (input: HttpApi.RunInput): Run.Input =>
  typeof input === "string" ? input : Prompt.fromMessages(input)

const wantsEventStream = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["accept"] ?? "").includes("text/event-stream")

const cancelled = (runId: string, reason: HttpApi.CancelReason) =>
  new HttpApi.RunCancelled({
    runId,
    reason,
    message: reason === "shutdown" ? "The server shut down before the run finished." : "The run was cancelled."
  })

/** Runs to the end as a fiber of the app, waited for by the request; a client gone cancels it. */
const runToEnd = (entry: Registry.Entry, input: Run.Input, options: Registry.RunOptions & { readonly runId: string }) =>
  Effect.gen(function*() {
    const { runs } = yield* State
    // Started and waited for with no gap between them where the client leaving would go unnoticed.
    const started = yield* Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(runs.start(options.runId, entry.name, entry.run(input, options)), (handle) =>
        restore(handle.await).pipe(
          Effect.onInterrupt(() => handle.cancel("disconnected")),
          Effect.map((exit) => ({ handle, exit }))
        ))
    )
    const { exit, handle } = started
    if (Exit.isSuccess(exit)) return exit.value
    if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.fail(cancelled(options.runId, yield* handle.reason))
    return yield* Effect.fail(new HttpApi.RunError({ runId: options.runId, error: yield* Failure.fromCause(exit.cause) }))
  })

// A JSON run that paused did not fail: it answers 202 with what it waits for.
const pausedAccepted = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | HttpApi.Paused, R> =>
  Effect.catchIf(
    effect,
    (error): error is E & HttpApi.RunError =>
      error instanceof HttpApi.RunError && error.error instanceof AgentError.RunPaused,
    (error) => Effect.fail(HttpApi.Paused.fromRunPaused(error.error as AgentError.RunPaused))
  )

const setRunId = (runId: string) =>
  PlatformHttpApp.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "x-run-id", runId))
  )

const HealthLive = HttpApiBuilder.group(HttpApi.Api, "health", (handlers) =>
  handlers.handle("health", () => Effect.succeed({ status: "ok" as const })))

const AgentsLive = HttpApiBuilder.group(HttpApi.Api, "agents", (handlers) =>
  handlers
    .handle("list", () => Effect.map(Registry.Registry, (registry) => registry.entries.map(describe)))
    .handle("get", ({ path }) => Effect.map(lookup(path.name), describe)))

const RunsLive = HttpApiBuilder.group(HttpApi.Api, "runs", (handlers) =>
  handlers
    .handle("run", ({ path, payload, request }) =>
      Effect.gen(function*() {
        // A run that pauses for approval is kept for `GET /approvals` and `POST /runs/:runId/resume`.
        const entry = (yield* State).approvals.tracking(yield* lookup(path.name))
        const runId = payload.runId ?? Run.makeId()
        const options = {
          runId,
          ...(payload.sessionId === undefined ? {} : { sessionId: payload.sessionId }),
          ...(payload.userId === undefined ? {} : { userId: payload.userId }),
          ...(payload.historyRuns === undefined ? {} : { historyRuns: payload.historyRuns })
        }
        yield* setRunId(runId)
        const input = toInput(payload.input)
        if (payload.stream === true || wantsEventStream(request)) {
          const { logs, runs } = yield* State
          if (payload.detach === true) {
            const events = yield* Events.startDetached(runs, logs, entry, input, options)
            return HttpServerResponse.stream(Stream.map(events, ([id, event]) => Sse.numberedEvent(id, event)), {
              contentType: "text/event-stream",
              headers: Sse.headers
            })
          }
          const events = yield* Events.start(runs, entry, input, options)
          return HttpServerResponse.stream(Stream.map(events, Sse.streamEvent), {
            contentType: "text/event-stream",
            headers: Sse.headers
          })
        }
        return yield* runToEnd(entry, input, options).pipe(
          // Input the runnable does not take is the client's mistake (400), not the run's failure.
          Effect.catchTag("RunError", (error): Effect.Effect<never, HttpApi.RunError | HttpApi.InvalidRunInput> =>
            error.error instanceof AgentError.WorkflowError && error.error.reason === "InvalidInput"
              ? Effect.fail(new HttpApi.InvalidRunInput({ runId: error.runId, message: error.error.message }))
              : Effect.fail(error)),
          pausedAccepted
        )
      }))
    .handle("list", () => Effect.flatMap(State, ({ runs }) => runs.list))
    .handle("events", ({ headers, path, urlParams }) =>
      Effect.gen(function*() {
        const { durable, logs } = yield* State
        const detached = yield* logs.get(path.runId)
        // A durable run's live events, when this server runs it.
        const log = Option.isSome(detached) || durable === undefined ? detached : yield* durable.events(path.runId)
        if (Option.isNone(log)) {
          return yield* new HttpApi.RunNotFound({
            runId: path.runId,
            message: `No event log is kept for a run with id "${path.runId}": it was not started with "detach": true, or it ended long ago.`
          })
        }
        const lastEventId = Number(headers["last-event-id"])
        const after = urlParams.after ?? (Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0)
        return HttpServerResponse.stream(
          Stream.map(log.value.read(after), ([id, event]) => Sse.numberedEvent(id, event)),
          { contentType: "text/event-stream", headers: Sse.headers }
        )
      }))
    .handle("cancel", ({ path }) => Effect.flatMap(State, ({ runs }) => runs.cancel(path.runId, "cancelled"))))

const UiLive = HttpApiBuilder.group(HttpApi.Api, "ui", (handlers) =>
  handlers
    .handle("agUi", ({ path, payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(path.name)
        const { runs } = yield* State
        yield* setRunId(payload.runId)
        const events = yield* Events.start(runs, entry, AgUi.toInput(payload), { runId: payload.runId }).pipe(
          Effect.catchTag("ShuttingDown", Effect.die)
        )
        return HttpServerResponse.stream(AgUi.body(payload.threadId, payload.runId, events), {
          contentType: "text/event-stream",
          headers: Sse.headers
        })
      }))
    .handle("uiMessageStream", ({ path, payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(path.name)
        const { runs } = yield* State
        const runId = Run.makeId()
        yield* setRunId(runId)
        const events = yield* Events.start(runs, entry, UiStream.toInput(payload), { runId }).pipe(
          // Its id is fresh: never in use.
          Effect.catchTag("RunIdInUse", Effect.die),
          Effect.catchTag("ShuttingDown", Effect.die)
        )
        return HttpServerResponse.stream(UiStream.body(runId, events), {
          contentType: "text/event-stream",
          headers: UiStream.headers
        })
      })))

const ApprovalsLive = HttpApiBuilder.group(HttpApi.Api, "approvals", (handlers) =>
  handlers
    .handle("list", () => Effect.flatMap(State, ({ approvals }) => approvals.list))
    .handle("resume", ({ path, payload, request }) =>
      Effect.gen(function*() {
        const { approvals, runs } = yield* State
        const found = yield* approvals.get(path.runId)
        const registry = yield* Registry.Registry
        const entry = Option.flatMap(found, (paused) => registry.get(paused.agent))
        if (Option.isNone(found) || Option.isNone(entry) || entry.value.resume === undefined) {
          return yield* new HttpApi.RunNotFound({
            runId: path.runId,
            message: `No run with id "${path.runId}" waits for approval (GET /approvals lists those that do).`
          })
        }
        const tracked = approvals.tracking(entry.value)
        const state = found.value.error.state
        // The resumed run, as a run of its entry: the same JSON and SSE answers as a new run's.
        const resumed: Registry.Entry = {
          ...tracked,
          // A run that paused in a session resumes as a turn of it, recorded there when it ends.
          run: (_input, options) =>
            tracked.resume!(state, payload.decisions, { onEvent: options?.onEvent, ...found.value.session })
        }
        const options = { runId: path.runId }
        yield* setRunId(path.runId)
        if (payload.stream === true || wantsEventStream(request)) {
          if (payload.detach === true) {
            // Kept like a detached run's: a reload during the resumed part picks it up from its log.
            const events = yield* Events.startDetached(runs, (yield* State).logs, resumed, "", options)
            return HttpServerResponse.stream(Stream.map(events, ([id, event]) => Sse.numberedEvent(id, event)), {
              contentType: "text/event-stream",
              headers: Sse.headers
            })
          }
          const events = yield* Events.start(runs, resumed, "", options)
          return HttpServerResponse.stream(Stream.map(events, Sse.streamEvent), {
            contentType: "text/event-stream",
            headers: Sse.headers
          })
        }
        return yield* runToEnd(resumed, "", options).pipe(pausedAccepted, refusedDecisions(path.runId))
      })))

// A resume whose decisions or state are refused ran nothing, and its run still waits: a client's
// error (400), not the run's failure.
const refusedDecisions = (runId: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | HttpApi.DecisionsRefused, R> =>
  Effect.catchIf(
    effect,
    (error): error is E & HttpApi.RunError =>
      error instanceof HttpApi.RunError && error.error instanceof Approval.ApprovalError,
    (error) => Effect.fail(HttpApi.DecisionsRefused.fromApprovalError(runId, error.error as Approval.ApprovalError))
  )

const SessionsLive = HttpApiBuilder.group(HttpApi.Api, "sessions", (handlers) =>
  handlers
    .handle("list", ({ path }) => Effect.flatMap(SessionStore.SessionStore, (store) => store.list(path.userId)))
    .handle("runs", ({ path }) => Effect.flatMap(SessionStore.SessionStore, (store) => store.load(path))))

const BatchesLive = HttpApiBuilder.group(HttpApi.Api, "batches", (handlers) =>
  handlers
    .handle("submit", ({ payload }) =>
      Effect.gen(function*() {
        const entry = yield* lookup(payload.agent)
        const { batches } = yield* State
        return yield* batches.submit(entry, payload, toInput)
      }))
    .handle("list", () => Effect.flatMap(State, ({ batches }) => batches.list))
    .handle("get", ({ path }) => Effect.flatMap(State, ({ batches }) => batches.get(path.batchId)))
    .handle("cancel", ({ path }) => Effect.flatMap(State, ({ batches }) => batches.cancel(path.batchId))))

const DurableLive = HttpApiBuilder.group(HttpApi.Api, "durable", (handlers) =>
  handlers
    .handle("start", ({ payload }) =>
      Effect.gen(function*() {
        const durable = yield* durableOf
        const entry = yield* lookup(payload.agent)
        return yield* durable.start(entry, payload)
      }))
    .handle("list", ({ urlParams }) => Effect.flatMap(durableOf, (durable) => durable.list(urlParams.waiting)))
    .handle("get", ({ path }) => Effect.flatMap(durableOf, (durable) => durable.get(path.runId)))
    .handle("cancel", ({ path }) => Effect.flatMap(durableOf, (durable) => durable.cancel(path.runId)))
    .handle("signal", ({ path, payload }) =>
      Effect.flatMap(durableOf, (durable) => durable.signal(path.runId, path.signal, payload.value)))
    .handle("decide", ({ path, payload }) =>
      Effect.flatMap(durableOf, (durable) => durable.decide(path.runId, payload.decisions))))

const chatError = (status: number, body: HttpApi.ChatCompletionError) =>
  HttpServerResponse.unsafeJson(body, { status })

const OpenAiLive = HttpApiBuilder.group(HttpApi.Api, "openai", (handlers) =>
  handlers.handle("chatCompletions", ({ payload }) =>
    Effect.gen(function*() {
      const registry = yield* Registry.Registry
      const found = registry.get(payload.model)
      if (Option.isNone(found)) {
        return chatError(
          404,
          OpenAi.error(`The model '${payload.model}' does not exist: no agent or team has that name.`, "invalid_request_error", "model_not_found")
        )
      }
      const entry = found.value
      const runId = Run.makeId()
      yield* setRunId(runId)
      const input = OpenAi.toInput(payload.messages)
      const created = Math.floor((yield* Effect.clockWith((clock) => clock.currentTimeMillis)) / 1000)
      const options = { runId }
      if (payload.stream === true) {
        const { runs } = yield* State
        const events = yield* Events.start(runs, entry, input, options).pipe(
          // Its id is fresh: never in use.
          Effect.catchTag("RunIdInUse", Effect.die)
        )
        return HttpServerResponse.stream(
          OpenAi.chunks(entry.name, created, runId, payload.stream_options?.include_usage === true, events),
          { contentType: "text/event-stream", headers: Sse.headers }
        )
      }
      return yield* runToEnd(entry, input, options).pipe(
        Effect.map((output) => OpenAi.completion(entry.name, created, output)),
        Effect.catchTags({
          RunIdInUse: Effect.die,
          RunError: (error) =>
            Effect.succeed(chatError(
              // A model's own status (429, 400, ...) goes through, so clients retry what can be retried.
              error.error._tag === "ModelError" && error.error.status !== undefined && error.error.status >= 400
                ? error.error.status
                : 500,
              OpenAi.error(error.error.message, "server_error", error.error._tag)
            )),
          RunCancelled: (error) => Effect.succeed(chatError(409, OpenAi.error(error.message, "server_error", "cancelled")))
        })
      )
    })))

const digest = (value: string) => createHash("sha256").update(value).digest()

const authorization = (token: Redacted.Redacted | undefined) => {
  const expected = token === undefined ? undefined : digest(Redacted.value(token))
  /** Why a bearer token is refused, if it is. */
  const refusal = (given: Redacted.Redacted): string | undefined => {
    if (expected === undefined) return undefined
    const value = Redacted.value(given)
    if (value.length === 0) return "A bearer token is required: Authorization: Bearer <token>."
    // Compared as digests of equal length, in constant time.
    return timingSafeEqual(digest(value), expected) ? undefined : "The bearer token is not valid."
  }
  return Layer.mergeAll(
    Layer.succeed(HttpApi.Authorization, {
      bearer: (given) => {
        const refused = refusal(given)
        return refused === undefined ? Effect.void : Effect.fail(new HttpApi.Unauthorized({ message: refused }))
      }
    }),
    Layer.succeed(HttpApi.ChatCompletionAuthorization, {
      bearer: (given) => {
        const refused = refusal(given)
        return refused === undefined
          ? Effect.void
          : Effect.fail({
            error: { message: refused, type: "invalid_request_error", param: null, code: "invalid_api_key" } as const
          })
      }
    })
  )
}

/**
 * The registry as an MCP server over Streamable HTTP at `/mcp`, behind the same token. Its module
 * (and `@effect/rpc`, which `@effect/ai`'s server needs) is loaded when the app is built; without
 * them the app serves everything else.
 */
const mcp = (token: Redacted.Redacted | undefined): Layer.Layer<never, never, Registry.Registry | HttpApiBuilder.Router> =>
  Layer.unwrapEffect(
    Effect.tryPromise(() => import("./McpServer.js")).pipe(
      Effect.match({
        onFailure: () => Layer.empty,
        onSuccess: (McpServer) => McpServer.layerHttp({ path: "/mcp", token, routerTag: HttpApiBuilder.Router })
      })
    )
  )

/**
 * The handlers of every group of the API, with the OpenAPI document and the Swagger page, needing
 * the app's {@link State}.
 *
 * @internal
 */
const handlers = (token: Redacted.Redacted | undefined) =>
  Layer.mergeAll(
    HttpApiSwagger.layer({ path: "/docs" }),
    Page.layer,
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
    mcp(token)
  ).pipe(
    Layer.provideMerge(HttpApiBuilder.api(HttpApi.Api)),
    Layer.provide([
      HealthLive,
      AgentsLive,
      RunsLive,
      ApprovalsLive,
      SessionsLive,
      BatchesLive,
      DurableLive,
      OpenAiLive,
      UiLive
    ]),
    Layer.provide(authorization(token))
  )

/**
 * The API's handlers as an `HttpApiBuilder.api` layer, to mount on a server of one's own (with
 * `HttpApiBuilder.serve(HttpApp.middleware(options))`). The runs and batches live as long as the
 * layer; closing it stops them as {@link layer} does.
 *
 * @since 0.1.0
 * @category layers
 */
export const api = (
  options: Pick<Options, "token" | "shutdownGrace"> = {}
): Layer.Layer<
  PlatformHttpApi.Api,
  never,
  Registry.Registry | SessionStore.SessionStore | HttpApiBuilder.Router
> =>
  handlers(options.token).pipe(
    Layer.provide(Layer.scoped(State, makeState(options.shutdownGrace ?? defaults.shutdownGrace)))
  )

// -----------------------------------------------------------------------------
// Body limits and errors
// -----------------------------------------------------------------------------

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
 * What the app does around the API: refuses new requests while it shuts down (503), bodies over
 * `maxBodyBytes` (413, also for a chunked body), bodies that are not JSON (415), JSON nested deeper
 * than 128 levels and unreadable JSON (400), and answers an unknown route (404) and any defect (500)
 * with typed JSON, the defect going to the log.
 *
 * @since 0.1.0
 * @category middleware
 */
export const middleware = (
  options: Pick<Options, "maxBodyBytes"> & { readonly draining?: Effect.Effect<boolean> | undefined } = {}
): HttpMiddleware.HttpMiddleware => {
  const maxBytes = options.maxBodyBytes ?? defaults.maxBodyBytes
  const draining = options.draining ?? Effect.succeed(false)
  return (app) =>
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
}

// -----------------------------------------------------------------------------
// Layers
// -----------------------------------------------------------------------------

/**
 * Serves the app of the `Registry` in context on `host:port` while the layer lives; closing it
 * shuts the app down gracefully.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Agent, Registry } from "effect-agents"
 * import { HttpApp, SessionStoreMemory, TestModel } from "effect-agents/layers"
 * import { Layer } from "effect"
 *
 * const AppLive = HttpApp.layer({ port: 3000 }).pipe(
 *   Layer.provide(Registry.layer([Agent.make({ name: "Writer" })])),
 *   Layer.provideMerge(SessionStoreMemory.layer),
 *   Layer.provide(TestModel.layer((request) => TestModel.text(`You said: ${request.lastUserText}`)))
 * )
 * ```
 */
export const layer = (
  options: Options = {}
): Layer.Layer<HttpApp, HttpAppError, Registry.Registry | SessionStore.SessionStore> =>
  Layer.scoped(
    HttpApp,
    Effect.gen(function*() {
      const host = options.host ?? defaults.host
      const port = options.port ?? defaults.port
      const grace = options.shutdownGrace ?? defaults.shutdownGrace
      const durable = options.durable === undefined ? undefined : yield* makeDurable({
        shutdownGrace: grace,
        ...options.durable
      }).pipe(
        Effect.mapError((error) =>
          new HttpAppError({
            host,
            port,
            message: `The durable store "${options.durable!.filename}" could not be opened: ${error.message}`,
            cause: error
          })
        )
      )
      const state = yield* makeState(grace, durable)
      const nodeServer = Http.createServer()
      const server = yield* NodeHttpServer.make(() => nodeServer, { host, port }).pipe(
        Effect.mapError((error) =>
          new HttpAppError({
            host,
            port,
            message: `The HTTP app could not listen on ${host}:${port}: ${
              error.cause instanceof Error ? error.cause.message : String(error.cause)
            }`,
            cause: error.cause
          })
        )
      )
      const context = yield* Layer.build(
        handlers(options.token).pipe(
          Layer.provideMerge(HttpApiBuilder.Router.Live),
          Layer.provideMerge(HttpApiBuilder.Middleware.layer),
          Layer.provideMerge(NodeHttpServer.layerContext),
          Layer.provide(Layer.succeed(State, state))
        )
      )
      const app = yield* Effect.provide(HttpApiBuilder.httpApp, context)
      const guarded = middleware({ maxBodyBytes: options.maxBodyBytes ?? defaults.maxBodyBytes, draining: state.runs.draining })(app)
      const serve: Effect.Effect<void, never, Scope.Scope> = server.serve(Effect.provide(guarded, context))
      yield* serve
      // Added last, so it runs first when the scope closes: before the server waits for its
      // connections to end, the runs they wait for are given their grace and then cancelled.
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          const closed = yield* Deferred.make<void>()
          // Stops accepting; calls back once every connection has ended.
          nodeServer.close(() => Deferred.unsafeDone(closed, Exit.void))
          yield* state.shutdown
          // The runs have ended; their responses may still be sending their last events.
          // Connections kept alive by clients are closed as soon as they are idle.
          const closeIdle = Effect.sync(() => nodeServer.closeIdleConnections()).pipe(
            Effect.repeat(Schedule.spaced("20 millis")),
            Effect.zipRight(Effect.never)
          )
          yield* Effect.raceFirst(Deferred.await(closed), closeIdle).pipe(
            Effect.interruptible,
            Effect.timeoutOption(closeGrace),
            Effect.ignore
          )
          nodeServer.closeAllConnections()
        })
      )
      const address = server.address
      const url = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : `http://${host}:${port}`
      yield* Effect.logDebug(`effect-agents HTTP app listening on ${url}`)
      return { url }
    })
  )

/**
 * {@link layer} with its address and token from configuration: `EFFECT_AGENTS_HTTP_HOST` (default
 * `127.0.0.1`), `EFFECT_AGENTS_HTTP_PORT` (default `3000`), `EFFECT_AGENTS_HTTP_TOKEN` (optional;
 * without it the app is open) and `EFFECT_AGENTS_HTTP_SHUTDOWN_GRACE` (a duration such as
 * `30 seconds`; default 10 seconds). `overrides` win over configuration.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<Options> = {}
): Layer.Layer<HttpApp, HttpAppError | ConfigError.ConfigError, Registry.Registry | SessionStore.SessionStore> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        host: Config.string("EFFECT_AGENTS_HTTP_HOST").pipe(Config.withDefault(defaults.host)),
        port: Config.integer("EFFECT_AGENTS_HTTP_PORT").pipe(
          Config.validate({
            message: "Expected a port number from 0 (any free port) to 65535",
            validation: (n) => n >= 0 && n <= 65535
          }),
          Config.withDefault(defaults.port)
        ),
        token: Config.option(Config.redacted("EFFECT_AGENTS_HTTP_TOKEN")),
        shutdownGrace: Config.duration("EFFECT_AGENTS_HTTP_SHUTDOWN_GRACE").pipe(
          Config.withDefault(defaults.shutdownGrace)
        )
      }),
      (config) =>
        layer({
          host: config.host,
          port: config.port,
          shutdownGrace: config.shutdownGrace,
          ...(Option.isSome(config.token) ? { token: config.token.value } : {}),
          ...overrides
        })
    )
  )
