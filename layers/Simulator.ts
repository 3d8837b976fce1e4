/**
 * A local LLM simulator: a real HTTP server on 127.0.0.1 that speaks OpenAI Responses
 * (`POST /v1/responses`), OpenAI Chat Completions (`POST /v1/chat/completions`) and Anthropic
 * Messages (`POST /v1/messages`), as JSON and as SSE streams, closely enough that the real
 * provider clients cannot tell it from the real thing for text, streamed deltas, tool calls
 * (streamed argument fragments, several calls in one message), tool results, usage, finish
 * reasons and error bodies.
 *
 * It is a simulator, not a model: replies come from a deterministic built-in responder (it calls
 * an offered tool when the user's words name it, with arguments generated from the tool's JSON
 * Schema, answers from tool results, and otherwise says plainly that it is a simulator), or from a
 * script. Faults come on demand: HTTP errors in each provider's shape, latency, connection
 * resets, malformed JSON or SSE, stalls, truncated streams, invalid tool arguments. It counts
 * requests and open connections, so a test can assert that interrupted clients really closed
 * theirs.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Model from "./internal/simulatorModel.js"
import * as SimulatorServer from "./internal/simulatorServer.js"
import * as SimulatorWire from "./internal/simulatorWire.js"

// -----------------------------------------------------------------------------
// Requests
// -----------------------------------------------------------------------------

/**
 * The wire protocol of a request: OpenAI Responses, OpenAI Chat Completions, Anthropic Messages.
 *
 * @since 0.1.0
 * @category models
 */
export type Protocol = Model.Protocol

/**
 * One message of a request's conversation, whatever its protocol.
 *
 * @since 0.1.0
 * @category models
 */
export interface Message extends Model.Message {}

/**
 * A tool result that arrived after the assistant's last message.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolResult extends Model.ToolResult {}

/**
 * A tool the client offered, with its JSON Schema.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolSpec extends Model.ToolSpec {}

/**
 * A request the simulator received, read into one shape from its protocol. Scripts receive it,
 * and {@link requests} returns the ones received so far.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request extends Model.Request {}

/**
 * The simulator's counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats extends Model.Stats {}

// -----------------------------------------------------------------------------
// Replies
// -----------------------------------------------------------------------------

/**
 * What the simulator answers one request with: content, an HTTP error, or content whose delivery
 * goes wrong. Build replies with the constructors of this module.
 *
 * @since 0.1.0
 * @category replies
 */
export type Reply = Model.Reply

/**
 * Where replies come from: a list used one per request in order of arrival (then the built-in
 * responder), or a function of each request.
 *
 * @since 0.1.0
 * @category replies
 */
export type Script = ReadonlyArray<Reply> | ((request: Request) => Reply | Effect.Effect<Reply>)

/**
 * How a finished reply ended: `"stop"` (end_turn, stop), `"tool-calls"` (tool_use, tool_calls),
 * `"length"` (max_tokens, max_output_tokens), `"content-filter"` (refusal, content_filter).
 *
 * @since 0.1.0
 * @category replies
 */
export type FinishReason = Model.FinishReason

/**
 * Token usage a reply reports; what is missing is estimated (four characters a token).
 *
 * @since 0.1.0
 * @category replies
 */
export interface Usage extends Model.Usage {}

/**
 * Latency and write pattern of a reply.
 *
 * @since 0.1.0
 * @category replies
 */
export interface TimingOptions {
  /** Latency before the first byte. */
  readonly delay?: Duration.DurationInput | undefined
  /** Latency before each streamed content delta after the first. */
  readonly chunkDelay?: Duration.DurationInput | undefined
  /** Send the whole SSE body in one write (a client then parses it from one large read). */
  readonly oneWrite?: boolean | undefined
}

/**
 * A tool call in a reply. What is left out is filled in from the request: the first tool offered,
 * arguments generated from its JSON Schema.
 *
 * @since 0.1.0
 * @category replies
 */
export interface ToolCall {
  readonly name?: string | undefined
  /** The arguments, sent as JSON. */
  readonly arguments?: unknown
  /** The arguments exactly as sent on the wire (they need not be JSON). */
  readonly rawArguments?: string | undefined
  readonly id?: string | undefined
  /** How the streamed arguments are cut: a number of fragments, or the fragments. */
  readonly chunks?: number | ReadonlyArray<string> | undefined
}

const timing = (options: TimingOptions | undefined): Model.Timing => ({
  delay: options?.delay === undefined ? undefined : Duration.decode(options.delay),
  chunkDelay: options?.chunkDelay === undefined ? undefined : Duration.decode(options.chunkDelay),
  oneWrite: options?.oneWrite
})

const toolCallSpec = (call: ToolCall, invalid = false): Model.ToolCallSpec => ({
  name: call.name,
  arguments: call.arguments,
  rawArguments: call.rawArguments,
  invalid,
  id: call.id,
  chunks: call.chunks
})

const splitText = (content: string, chunks: number | ReadonlyArray<string> | undefined): ReadonlyArray<string> => {
  if (Array.isArray(chunks)) return chunks as ReadonlyArray<string>
  if (content.length === 0) return []
  const count = Math.max(1, Math.min(typeof chunks === "number" ? Math.floor(chunks) : 1, content.length))
  const size = Math.ceil(content.length / count)
  const out: Array<string> = []
  for (let i = 0; i < content.length; i += size) out.push(content.slice(i, i + size))
  return out
}

/**
 * A text answer, streamed as `chunks` deltas (a number, or the deltas themselves).
 *
 * @since 0.1.0
 * @category replies
 */
export const text = (
  content: string,
  options?: TimingOptions & {
    readonly chunks?: number | ReadonlyArray<string> | undefined
    readonly usage?: Usage | undefined
    readonly finishReason?: FinishReason | undefined
    readonly model?: string | undefined
  }
): Reply => ({
  _tag: "Answer",
  text: splitText(content, options?.chunks),
  toolCalls: [],
  finishReason: options?.finishReason,
  usage: options?.usage,
  model: options?.model,
  ...timing(options)
})

/**
 * Several tool calls in one message, optionally after some text.
 *
 * @since 0.1.0
 * @category replies
 */
export const toolCalls = (
  calls: ReadonlyArray<ToolCall>,
  options?: TimingOptions & {
    readonly text?: string | undefined
    readonly usage?: Usage | undefined
    readonly finishReason?: FinishReason | undefined
    readonly model?: string | undefined
  }
): Reply => ({
  _tag: "Answer",
  text: options?.text === undefined ? [] : splitText(options.text, 1),
  toolCalls: calls.map((call) => toolCallSpec(call)),
  finishReason: options?.finishReason,
  usage: options?.usage,
  model: options?.model,
  ...timing(options)
})

/**
 * One tool call; without `args`, the arguments are generated from the tool's JSON Schema.
 *
 * @since 0.1.0
 * @category replies
 */
export const toolCall = (
  name: string,
  args?: unknown,
  options?: TimingOptions & Omit<ToolCall, "name" | "arguments"> & { readonly usage?: Usage | undefined }
): Reply =>
  toolCalls([{ name, arguments: args, rawArguments: options?.rawArguments, id: options?.id, chunks: options?.chunks }], options)

/**
 * A tool call whose arguments do not fit the tool's schema: each required property with a value
 * of the wrong type, or exactly `rawArguments` (which need not be JSON).
 *
 * @since 0.1.0
 * @category faults
 */
export const invalidToolArguments = (
  options?: TimingOptions & {
    readonly name?: string | undefined
    readonly rawArguments?: string | undefined
    readonly id?: string | undefined
  }
): Reply => ({
  _tag: "Answer",
  text: [],
  toolCalls: [toolCallSpec({ name: options?.name, rawArguments: options?.rawArguments, id: options?.id }, true)],
  finishReason: "tool-calls",
  usage: undefined,
  model: undefined,
  ...timing(options)
})

/**
 * The built-in responder's reply, with the given timing. It calls the offered tools the user's
 * last message names (or the tool a `tool_choice` forces) with arguments that fit their schemas,
 * answers from tool results when the conversation ends with them, and otherwise says it is a
 * simulated reply; with a JSON response format it answers JSON that fits the schema.
 *
 * @since 0.1.0
 * @category replies
 */
export const respond = (options?: TimingOptions): Reply => ({ _tag: "Respond", ...timing(options) })

/**
 * Options of an HTTP error reply.
 *
 * @since 0.1.0
 * @category faults
 */
export interface HttpErrorOptions extends TimingOptions {
  /** The error's message; by default the provider's usual one. */
  readonly message?: string | undefined
  /** A body sent as is, instead of the protocol's error body. */
  readonly body?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Sent as `retry-after` (whole seconds, rounded up) and `retry-after-ms`. */
  readonly retryAfter?: Duration.DurationInput | undefined
}

const httpErrorReply = (
  kind: Model.ErrorKind,
  status: number | undefined,
  options: HttpErrorOptions | undefined,
  defaultRetryAfter?: Duration.DurationInput
): Reply => {
  const retryAfter = options?.retryAfter ?? defaultRetryAfter
  return {
    _tag: "HttpError",
    status,
    kind,
    message: options?.message,
    body: options?.body,
    headers: options?.headers ?? {},
    retryAfter: retryAfter === undefined ? undefined : Duration.decode(retryAfter),
    ...timing(options)
  }
}

/**
 * An HTTP error with `status`, its body in the protocol's error shape (OpenAI
 * `{"error":{"message","type","param","code"}}`, Anthropic `{"type":"error","error":{"type","message"}}`).
 *
 * @since 0.1.0
 * @category faults
 */
export const httpError = (status: number, options?: HttpErrorOptions): Reply =>
  httpErrorReply(SimulatorWire.kindOf(status), status, options)

/**
 * HTTP 429 with `retry-after` and `retry-after-ms` (default one second).
 *
 * @since 0.1.0
 * @category faults
 */
export const rateLimited = (options?: HttpErrorOptions): Reply =>
  httpErrorReply("rate-limited", 429, options, Duration.seconds(1))

/**
 * A server error: 500 (default), 502 or 503, or any other 5xx.
 *
 * @since 0.1.0
 * @category faults
 */
export const serverError = (status: number = 500, options?: HttpErrorOptions): Reply =>
  httpErrorReply(SimulatorWire.kindOf(status), status, options)

/**
 * The provider is overloaded: 529 `overloaded_error` on Anthropic, 503 on OpenAI.
 *
 * @since 0.1.0
 * @category faults
 */
export const overloaded = (options?: HttpErrorOptions): Reply => httpErrorReply("overloaded", undefined, options)

/**
 * HTTP 401: a wrong API key.
 *
 * @since 0.1.0
 * @category faults
 */
export const unauthorized = (options?: HttpErrorOptions): Reply => httpErrorReply("unauthorized", 401, options)

/**
 * HTTP 400: an invalid request.
 *
 * @since 0.1.0
 * @category faults
 */
export const badRequest = (options?: HttpErrorOptions): Reply => httpErrorReply("bad-request", 400, options)

/**
 * HTTP 400 saying the prompt exceeds the context window (OpenAI `context_length_exceeded`,
 * Anthropic "prompt is too long").
 *
 * @since 0.1.0
 * @category faults
 */
export const contextTooLong = (options?: HttpErrorOptions): Reply =>
  httpErrorReply("context-too-long", 400, options)

/**
 * Options of a delivery fault.
 *
 * @since 0.1.0
 * @category faults
 */
export interface DisruptionOptions extends TimingOptions {
  /**
   * How many SSE events are sent intact before the fault; by default, all the events up to and
   * including the first content delta (for the malformed faults: the first content delta is the
   * broken event). For a JSON reply, `0` means before the status line and anything else
   * half-way through the body.
   */
  readonly after?: number | undefined
  /**
   * For {@link stall} and {@link reset}, whatever the protocol: the phase the fault happens in,
   * instead of `after`. `"headers"`: nothing is sent, the client waits for the status line.
   * `"body"`: the status line and headers are sent, not one byte of the body.
   */
  readonly before?: "headers" | "body" | undefined
  /** The content being delivered; by default, the built-in responder's. */
  readonly reply?: Reply | undefined
}

const disrupt = (
  kind: Model.DisruptionKind,
  options: DisruptionOptions | undefined,
  error?: { readonly kind?: "server" | "overloaded" | "rate-limited" | undefined; readonly message?: string | undefined }
): Reply => {
  const inner = options?.reply
  return {
    _tag: "Disrupt",
    kind,
    after: options?.after,
    before: options?.before,
    errorKind: error?.kind ?? "server",
    message: error?.message,
    reply: inner === undefined || (inner._tag !== "Answer" && inner._tag !== "Respond")
      ? { _tag: "Respond", delay: undefined, chunkDelay: undefined, oneWrite: undefined }
      : inner,
    ...timing(options)
  }
}

/**
 * The connection is destroyed mid-response: the client sees the connection close before the end
 * of the body (no final chunk, no finish event).
 *
 * @since 0.1.0
 * @category faults
 */
export const reset = (options?: DisruptionOptions): Reply => disrupt("reset", options)

/**
 * The response stops: some events, then nothing, with the connection kept open until the client
 * gives up (or the simulator shuts down).
 *
 * @since 0.1.0
 * @category faults
 */
export const stall = (options?: DisruptionOptions): Reply => disrupt("stall", options)

/**
 * The response ends cleanly at the HTTP level but early: no finish event (`response.completed`,
 * `message_stop`, `finish_reason`, `[DONE]`), or half a JSON body.
 *
 * @since 0.1.0
 * @category faults
 */
export const truncated = (options?: DisruptionOptions): Reply => disrupt("truncate", options)

/**
 * One SSE event (by default the first content delta) carries data that is not valid JSON; the
 * rest of the stream follows as usual. A JSON reply gets a body that does not parse.
 *
 * @since 0.1.0
 * @category faults
 */
export const malformedJson = (options?: DisruptionOptions): Reply => disrupt("malformed-json", options)

/**
 * One SSE event (by default the first content delta) is broken by a bare line break in its data,
 * so a conforming parser sees data that does not parse; the rest of the stream follows as usual.
 * A JSON reply gets a body that does not parse.
 *
 * @since 0.1.0
 * @category faults
 */
export const malformedSse = (options?: DisruptionOptions): Reply => disrupt("malformed-sse", options)

/**
 * The stream fails after it started, the way each provider reports it: an `error` event then
 * `response.failed` (Responses), an `error` event (Anthropic), a `data: {"error":…}` chunk (Chat
 * Completions), then the response ends. A JSON reply gets the matching HTTP error instead.
 *
 * @since 0.1.0
 * @category faults
 */
export const streamError = (
  options?: DisruptionOptions & {
    readonly kind?: "server" | "overloaded" | "rate-limited" | undefined
    readonly message?: string | undefined
  }
): Reply => disrupt("stream-error", options, options)

// -----------------------------------------------------------------------------
// The service
// -----------------------------------------------------------------------------

/**
 * The simulator could not start (the port is taken, the host cannot be bound).
 *
 * @since 0.1.0
 * @category errors
 */
export class SimulatorError extends Schema.TaggedError<SimulatorError>("effect-agents/SimulatorError")(
  "SimulatorError",
  { host: Schema.String, port: Schema.Number, message: Schema.String, cause: Schema.Defect }
) {}

/**
 * Options of the simulator.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends TimingOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** Default `0`: a free port. */
  readonly port?: number | undefined
  /** Where replies come from; by default the built-in responder. */
  readonly script?: Script | undefined
  /** When set, requests must carry it (`Authorization: Bearer …` for OpenAI, `x-api-key` for Anthropic), else 401. */
  readonly apiKey?: Redacted.Redacted | undefined
  /** How many received requests {@link requests} keeps (the most recent). Default 1000; 0 keeps none. */
  readonly recordLimit?: number | undefined
  /** The largest request body accepted, in bytes. Default 64 MiB. */
  readonly maxBodySize?: number | undefined
  /**
   * How long an idle kept-alive connection stays open. Default Node's (5 seconds); API providers'
   * load balancers keep them for a minute or more.
   */
  readonly keepAlive?: Duration.DurationInput | undefined
}

/**
 * A running simulator.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  readonly port: number
  /** The base URL for OpenAI clients, Responses and Chat Completions alike: `<url>/v1`. */
  readonly openAiUrl: string
  /** The base URL for Anthropic clients (they append `/v1/messages`): `<url>`. */
  readonly anthropicUrl: string
  readonly stats: Effect.Effect<Stats>
  /** The requests received so far (the most recent `recordLimit`), in order of arrival. */
  readonly requests: Effect.Effect<ReadonlyArray<Request>>
  /** Replaces the script: later requests get its replies. */
  readonly script: (script: Script) => Effect.Effect<void>
  /** Waits until the counters satisfy `predicate` (at once when they already do). */
  readonly awaitStats: (predicate: (stats: Stats) => boolean) => Effect.Effect<Stats>
}

/**
 * @since 0.1.0
 * @category services
 */
export class Simulator extends Context.Tag("effect-agents/Simulator")<Simulator, Service>() {}

/**
 * Starts a simulator in the current scope; closing the scope closes every connection and the
 * server.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Simulator } from "effect-agents/layers"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const simulator = yield* Simulator.make({ script: [Simulator.rateLimited({ retryAfter: "200 millis" })] })
 *   console.log(simulator.openAiUrl) // http://127.0.0.1:<port>/v1
 * }))
 * ```
 */
export const make = (options: Options = {}): Effect.Effect<Service, SimulatorError, Scope.Scope> =>
  SimulatorServer.make(options).pipe(
    Effect.mapError((error) =>
      new SimulatorError({
        host: options.host ?? "127.0.0.1",
        port: options.port ?? 0,
        message: `The LLM simulator could not listen on ${options.host ?? "127.0.0.1"}:${options.port ?? 0}: ${
          error.cause instanceof Error ? error.cause.message : String(error.cause)
        }`,
        cause: error.cause
      })
    ),
    Effect.map((server) => ({
      url: server.url,
      port: server.port,
      openAiUrl: `${server.url}/v1`,
      anthropicUrl: server.url,
      stats: server.stats,
      requests: server.requests,
      script: server.setScript,
      awaitStats: server.awaitStats
    }))
  )

/**
 * The simulator as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Simulator, SimulatorError> =>
  Layer.scoped(Simulator, make(options))

/**
 * The simulator as a layer, its address from configuration: `SIMULATOR_HOST` (default
 * `127.0.0.1`) and `SIMULATOR_PORT` (default `4010`) unless other configs are given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Omit<Options, "host" | "port"> & {
    readonly host?: Config.Config<string> | undefined
    readonly port?: Config.Config<number> | undefined
  } = {}
): Layer.Layer<Simulator, SimulatorError | ConfigError.ConfigError> => {
  const { host, port, ...rest } = options
  return Layer.unwrapEffect(
    Effect.map(
      Config.all({
        host: host ?? Config.string("SIMULATOR_HOST").pipe(Config.withDefault("127.0.0.1")),
        port: port ?? Config.integer("SIMULATOR_PORT").pipe(
          Config.validate({
            message: "Expected a port number from 0 (any free port) to 65535",
            validation: (n) => n >= 0 && n <= 65535
          }),
          Config.withDefault(4010)
        )
      }),
      (address) => layer({ ...rest, ...address })
    )
  )
}

// -----------------------------------------------------------------------------
// Accessors
// -----------------------------------------------------------------------------

/**
 * The simulator's counters now.
 *
 * @since 0.1.0
 * @category accessors
 */
export const stats: Effect.Effect<Stats, never, Simulator> = Effect.flatMap(Simulator, (s) => s.stats)

/**
 * The requests the simulator received (the most recent `recordLimit`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const requests: Effect.Effect<ReadonlyArray<Request>, never, Simulator> = Effect.flatMap(
  Simulator,
  (s) => s.requests
)

/**
 * Replaces the simulator's script.
 *
 * @since 0.1.0
 * @category accessors
 */
export const script = (script: Script): Effect.Effect<void, never, Simulator> =>
  Effect.flatMap(Simulator, (s) => s.script(script))

/**
 * Waits until the simulator's counters satisfy `predicate`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const awaitStats = (predicate: (stats: Stats) => boolean): Effect.Effect<Stats, never, Simulator> =>
  Effect.flatMap(Simulator, (s) => s.awaitStats(predicate))
