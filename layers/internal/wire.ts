/**
 * What the provider layers share: a client (one connection pool to an API, with its base URL, key
 * and timeouts), models named on it (a `LanguageModel` over one endpoint: JSON answers, and SSE
 * answers turned into parts by a per-call state), and the small helpers of their wire formats.
 */
import * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import type * as Schema from "effect/Schema"
import type * as SchemaAST from "effect/SchemaAST"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ModelParts from "../../services/ModelParts.js"
import * as Http from "./http.js"
import type * as Sse from "./sse.js"

/** Turns the SSE events of one streamed answer into response parts. */
export interface StreamState {
  readonly events: (
    events: ReadonlyArray<Sse.Event>
  ) => Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, AiError.AiError>
  /** The parts that close the answer, or the failure of an answer that did not finish. */
  readonly end: () => Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, AiError.AiError>
}

export interface ClientOptions {
  readonly provider: string
  readonly baseUrl: string
  /** Every request's headers, the key among them. */
  readonly headers: Readonly<Record<string, string>>
  readonly idleTimeout: Duration.DurationInput | undefined
  readonly requestTimeout: Duration.DurationInput | undefined
}

/**
 * A provider's client: one pool of keep-alive connections to its API, shared by every model named
 * on it, with the base URL, the key and the timeouts. The key is held by its functions, never
 * shown as a field.
 */
export interface Client {
  /** The provider's name, in errors and traces. */
  readonly provider: string
  /** The API's base URL, without a trailing slash. */
  readonly baseUrl: string
  /** Sends a JSON request to `url` (on the API); its parsed JSON answer. */
  readonly postJson: (url: string, body: string) => Effect.Effect<unknown, AiError.AiError>
  /** Sends a request whose answer is streamed: its SSE events go to `onEvents` a network read at a time. */
  readonly postSse: <E>(
    url: string,
    body: string,
    onEvents: (events: Array<Sse.Event>) => Effect.Effect<void, E>
  ) => Effect.Effect<void, AiError.AiError | E>
}

/** A client, its connection pool closed with the scope. */
export const makeClient = (options: ClientOptions): Effect.Effect<Client, never, Scope.Scope> =>
  Effect.map(Http.makeClient(options.provider), (http): Client => {
    const headers = { ...options.headers }
    const idleTimeout = Duration.decode(options.idleTimeout ?? "60 seconds")
    const jsonTimeouts: Http.Timeouts = {
      headers: Duration.decode(options.requestTimeout ?? "10 minutes"),
      body: idleTimeout
    }
    return {
      provider: options.provider,
      baseUrl: options.baseUrl.replace(/\/+$/, ""),
      postJson: (url, body) => Http.postJson(http, { url, method: "generateText", headers, body }, jsonTimeouts),
      postSse: (url, body, onEvents) =>
        Http.postSsePush(http, { url, method: "streamText", headers, body }, idleTimeout, onEvents)
    }
  })

/** A model's wire format: where its requests go, what they carry, how its answers read. */
export interface Wire {
  /** The model asked for, as the provider names it (for telemetry). */
  readonly model: string
  readonly url: string
  readonly body: (options: LanguageModel.ProviderOptions, stream: boolean) => unknown
  readonly fromJson: (body: unknown) => Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>
  readonly streamState: () => StreamState
}

/**
 * A `LanguageModel` on the lean path (it declares its `ModelParts`), over a client's connection
 * pool: building it opens nothing.
 */
export const make = (client: Client, wire: Wire): Effect.Effect<LanguageModel.Service> => {
  // One answer, streamed: its parts go to `onParts` a network read at a time, then its end.
  const streamParts = <E>(
    options: LanguageModel.ProviderOptions,
    onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<void, E>
  ): Effect.Effect<void, AiError.AiError | E> =>
    Effect.suspend(() => {
      const state = wire.streamState()
      const give = (parts: ReadonlyArray<Response.StreamPartEncoded>) => parts.length === 0 ? Effect.void : onParts(parts)
      return Effect.zipRight(
        client.postSse(
          wire.url,
          JSON.stringify(wire.body(options, true)),
          (events) => Effect.flatMap(state.events(events), give)
        ),
        Effect.flatMap(Effect.suspend(state.end), give)
      )
    })
  return ModelParts.make({
    generateText: (options) =>
      Effect.flatMap(client.postJson(wire.url, JSON.stringify(wire.body(options, false))), wire.fromJson),
    streamText: (options) => toStream((onParts) => streamParts(options, onParts)),
    streamParts,
    info: { provider: client.provider, model: wire.model, ...server(client.baseUrl) }
  })
}

// `server.address` and `server.port` of a base URL, the port as the URL implies it when not given.
const server = (baseUrl: string): { readonly serverAddress?: string; readonly serverPort?: number } => {
  try {
    const url = new URL(baseUrl)
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80
    return { serverAddress: url.hostname, serverPort: port }
  } catch {
    return {}
  }
}

/**
 * A pushed answer as a stream, for the public `LanguageModel` path. The answer is read in a fiber
 * of the stream's scope, into a bounded mailbox: a reader that stops ends the scope, which
 * interrupts the fiber and aborts the request.
 */
const toStream = <A, E>(
  push: (onParts: (parts: ReadonlyArray<A>) => Effect.Effect<void>) => Effect.Effect<void, E>
): Stream.Stream<A, E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<A, E>({ capacity: 256 })
    yield* push((parts) => Effect.asVoid(mailbox.offerAll(parts))).pipe(Mailbox.into(mailbox), Effect.forkScoped)
    return Mailbox.toStream(mailbox)
  }))

export const malformed = (provider: string, method: string, description: string, cause?: unknown) =>
  Effect.fail<AiError.AiError>(
    new AiError.MalformedOutput({ module: provider, method, description, ...(cause !== undefined ? { cause } : {}) })
  )

/** A value as the text a wire format wants (strings as they are). */
export const json = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value) ?? "null")

/** Tool arguments as the model sent them: JSON when they are, else the text itself. */
export const parseArguments = (text: string): unknown => {
  if (text.trim().length === 0) return {}
  try {
    return JSON.parse(text)
  } catch {
    // Not JSON: handed to the agent as it is, which tells the model its arguments are invalid.
    return text
  }
}

/** A file part as a URL: its own, or a data URL of its bytes. */
export const fileUrl = (part: Prompt.FilePart): string => {
  const data = part.data
  if (data instanceof URL) return data.toString()
  if (typeof data === "string") return /^(https?|data):/.test(data) ? data : `data:${part.mediaType};base64,${data}`
  return `data:${part.mediaType};base64,${Buffer.from(data).toString("base64")}`
}

/** A tool's definition in a wire format, built once per tool. */
export const perTool = (build: (tool: Tool.Any) => unknown): (tool: Tool.Any) => unknown => {
  const cache = new WeakMap<Tool.Any, unknown>()
  return (tool) => {
    let definition = cache.get(tool)
    if (definition === undefined) {
      definition = build(tool)
      cache.set(tool, definition)
    }
    return definition
  }
}

/**
 * The JSON Schema of a structured answer, made once per schema: an agent with an `output` schema
 * sends it with every model call, and making it walks the whole schema.
 */
const answerSchemas = new WeakMap<SchemaAST.AST, unknown>()
export const answerSchema = (schema: Schema.Schema.Any): unknown => {
  let json = answerSchemas.get(schema.ast)
  if (json === undefined) {
    json = Tool.getJsonSchemaFromSchemaAst(schema.ast)
    answerSchemas.set(schema.ast, json)
  }
  return json
}

/** Token usage as a finish part carries it, from the counts a provider reports. */
export const usage = (counts: {
  readonly input: number | undefined
  readonly output: number | undefined
  readonly total?: number | undefined
  readonly reasoning?: number | null | undefined
  readonly cached?: number | null | undefined
}): Response.FinishPartEncoded["usage"] => ({
  inputTokens: counts.input,
  outputTokens: counts.output,
  totalTokens: counts.total ??
    (counts.input !== undefined && counts.output !== undefined ? counts.input + counts.output : undefined),
  ...(typeof counts.reasoning === "number" ? { reasoningTokens: counts.reasoning } : {}),
  ...(typeof counts.cached === "number" ? { cachedInputTokens: counts.cached } : {})
})
