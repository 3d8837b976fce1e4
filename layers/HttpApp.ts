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
import type * as PlatformHttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import type * as SessionStore from "../services/SessionStore.js"
import type * as Registry from "../src/Registry.js"
import * as Api from "./internal/httpApp/api.js"
import type * as DurableRuns from "./internal/httpApp/durable.js"
import * as Middleware from "./internal/httpApp/middleware.js"
import { makeDurable, makeState, State } from "./internal/httpApp/state.js"

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
   * Durable background runs (`/durable/runs`) on a SQLite file (created when missing), or on a
   * PostgreSQL database (`pg`) that several servers share, each serving every run of it: any
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
export { State }

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
  Api.handlers(options.token).pipe(
    Layer.provide(Layer.scoped(State, makeState(options.shutdownGrace ?? defaults.shutdownGrace)))
  )

// -----------------------------------------------------------------------------
// Middleware
// -----------------------------------------------------------------------------

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
): HttpMiddleware.HttpMiddleware =>
  Middleware.make(options.maxBodyBytes ?? defaults.maxBodyBytes, options.draining ?? Effect.succeed(false))

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
            message: `The durable store ${
              "pg" in options.durable! ? "on PostgreSQL" : `"${options.durable!.filename}"`
            } could not be opened: ${error.message}`,
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
        Api.handlers(options.token).pipe(
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
