/**
 * A `LanguageModel` for any server that speaks OpenAI's Chat Completions API: Ollama, vLLM,
 * llama.cpp, LM Studio, OpenRouter, Groq, Together, OpenAI itself. `@effect/ai` 0.37 has no such
 * provider, so it is written here. A client (`layerClient`, `layerClientConfig`: the connection
 * pool, base URL, key and timeouts) is provided once per application, and models are named on it
 * (`model("llama3.2")`), as an agent's `model` or `fallback`; `layer` is a model with a client of
 * its own. JSON and streamed (SSE) answers, tool calls (arguments streamed in fragments, several
 * calls in one message), usage (`stream_options.include_usage`), finish reasons, reasoning deltas
 * where a server sends them, and errors — an error inside a stream, or a stream that ends before it
 * finished, is a failure.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Provider from "./internal/provider.js"
import * as Wire from "./internal/wire.js"

/**
 * The settings of a client: the server, its key, and how long a call may wait.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientOptions extends Provider.Timeouts {
  /** The API's base URL, up to and including `/v1` (e.g. `http://127.0.0.1:11434/v1` for Ollama). */
  readonly baseUrl: string
  /** Sent as a bearer token when given. */
  readonly apiKey?: Redacted.Redacted | undefined
  /** The provider's name in errors and traces. Default `"openai-compatible"`. */
  readonly provider?: string | undefined
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The settings of a model named on a client.
 *
 * @since 0.2.0
 * @category models
 */
export interface ModelOptions {
  /** Extra body fields for every request: `temperature`, `max_tokens`, `seed`, ... */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A model and its own client, for {@link layer} and {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ClientOptions, ModelOptions {
  /** The model's name as the server knows it. */
  readonly model: string
}

/**
 * The client's service: one pool of keep-alive connections to the server, with its base URL, the
 * key (held by its functions, never shown) and the timeouts.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientService extends Wire.Client {}

/**
 * The client that models are named on: configure it once per application ({@link layerClient},
 * {@link layerClientConfig}), and every model, of every agent, shares its connections.
 *
 * @since 0.2.0
 * @category services
 */
export class Client extends Context.Tag("effect-agents/OpenAiCompatible/Client")<Client, ClientService>() {}

const surface = Provider.make({
  client: Client,
  settings: (options: ClientOptions) => ({
    provider: options.provider ?? "openai-compatible",
    baseUrl: options.baseUrl,
    headers: {
      "content-type": "application/json",
      ...options.headers,
      ...(options.apiKey !== undefined ? Provider.bearer(options.apiKey) : {})
    }
  }),
  wire: (client, model, options: ModelOptions) => ({
    url: `${client.baseUrl}/chat/completions`,
    body: (request, stream) => requestBody(model, options, request, stream),
    fromJson: (body) => fromCompletion(client.provider, body),
    streamState: () => makeStreamState(client.provider)
  })
})

/**
 * Builds a client. Its connection pool lives as long as the scope.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeClient: (options: ClientOptions) => Effect.Effect<ClientService, never, Scope.Scope> = surface.makeClient

/**
 * Builds a model on the client in context: a light service over the client's connections.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeModel: (
  model: string,
  options?: ModelOptions
) => Effect.Effect<LanguageModel.Service, never, Client> = surface.makeModel

/**
 * Builds a model with a client of its own, whose connection pool lives as long as the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: Options) => Effect.Effect<LanguageModel.Service, never, Scope.Scope> = surface.make

/**
 * The client as a layer: one connection pool, for the life of the layer. Provide it once, at the
 * level of the application.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { OpenAiCompatible } from "effect-agents/layers"
 *
 * const agent = Agent.make({ model: OpenAiCompatible.model("llama3.2") })
 *
 * // Effect<Run.Output<string>, AgentError>
 * const program = Agent.run(agent, "Hello").pipe(
 *   Effect.provide(OpenAiCompatible.layerClient({ baseUrl: "http://127.0.0.1:11434/v1", provider: "ollama" }))
 * )
 * ```
 */
export const layerClient: (options: ClientOptions) => Layer.Layer<Client> = surface.layerClient

/**
 * The client as a layer, configured from `Config` (the environment by default).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClientConfig = (
  options: Config.Config.Wrap<ClientOptions>
): Layer.Layer<Client, ConfigError.ConfigError> => surface.layerClientConfig(Config.unwrap(options))

/**
 * A model named on the client: what an agent's `model` or `fallback` takes. Building it opens
 * no connection, so an agent builds it for each run at no cost; the client is provided once.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { OpenAiCompatible } from "effect-agents/layers"
 *
 * // Agent<string, OpenAiCompatible.Client>: provide OpenAiCompatible.layerClient(...) once.
 * const agent = Agent.make({ name: "Writer", model: OpenAiCompatible.model("llama3.2", { parameters: { seed: 1 } }) })
 * ```
 */
export const model: (model: string, options?: ModelOptions) => Layer.Layer<LanguageModel.LanguageModel, never, Client> =
  surface.model

/**
 * A model with a client of its own, as one layer: for providing the model once, at the level of
 * the application. Given to an agent as its `model`, it would be built, with a new connection
 * pool, for every run: give the agent {@link model} and provide the client once instead.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { OpenAiCompatible } from "effect-agents/layers"
 *
 * const Ollama = OpenAiCompatible.layer({ baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" })
 * ```
 */
export const layer: (options: Options) => Layer.Layer<LanguageModel.LanguageModel> = surface.layer

/**
 * A model with a client of its own, configured from `Config` (the environment by default), as one
 * layer for the level of the application (see {@link layer}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options>
): Layer.Layer<LanguageModel.LanguageModel, ConfigError.ConfigError> =>
  Layer.scoped(LanguageModel.LanguageModel, Effect.flatMap(Config.unwrap(options), make))

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

const toolDefinition = Wire.perTool((tool) => ({
  type: "function",
  function: {
    name: tool.name,
    description: Tool.getDescription(tool as any),
    parameters: Tool.getJsonSchema(tool as any)
  }
}))

const requestBody = (
  model: string,
  options: ModelOptions,
  provider: LanguageModel.ProviderOptions,
  stream: boolean
) => {
  const body: Record<string, unknown> = {
    ...options.parameters,
    model,
    messages: toMessages(provider.prompt)
  }
  Object.assign(
    body,
    Provider.tools(provider, toolDefinition, (choice) =>
      typeof choice === "string"
        ? choice
        : "tool" in choice
        ? { type: "function", function: { name: choice.tool } }
        : choice.mode ?? "auto")
  )
  if (provider.responseFormat.type === "json") {
    body["response_format"] = {
      type: "json_schema",
      json_schema: {
        name: provider.responseFormat.objectName,
        schema: Wire.answerSchema(provider.responseFormat.schema),
        strict: false
      }
    }
  }
  if (stream) {
    body["stream"] = true
    body["stream_options"] = { include_usage: true }
  }
  return body
}

const toMessages = (prompt: Prompt.Prompt): Array<unknown> => {
  const messages: Array<unknown> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        messages.push({ role: "system", content: message.content })
        break
      case "user": {
        const parts = message.content
        if (parts.every((part) => part.type === "text")) {
          messages.push({ role: "user", content: parts.map((part) => part.text).join("") })
          break
        }
        messages.push({
          role: "user",
          content: parts.map((part) =>
            part.type === "text"
              ? { type: "text", text: part.text }
              : { type: "image_url", image_url: { url: Wire.fileUrl(part) } }
          )
        })
        break
      }
      case "assistant": {
        let text = ""
        const calls: Array<unknown> = []
        for (const part of message.content) {
          if (part.type === "text") text += part.text
          else if (part.type === "tool-call" && !part.providerExecuted) {
            calls.push({ id: part.id, type: "function", function: { name: part.name, arguments: Wire.json(part.params) } })
          }
        }
        messages.push(calls.length > 0 ? { role: "assistant", content: text || null, tool_calls: calls } : {
          role: "assistant",
          content: text
        })
        break
      }
      case "tool":
        for (const part of message.content) {
          messages.push({ role: "tool", tool_call_id: part.id, content: Wire.json(part.result) })
        }
        break
    }
  }
  return messages
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

const finishReason = (reason: unknown): Response.FinishReason => {
  switch (reason) {
    case "stop":
      return "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    case null:
    case undefined:
      return "unknown"
    default:
      return "other"
  }
}

interface Usage {
  readonly prompt_tokens?: number
  readonly completion_tokens?: number
  readonly total_tokens?: number
  readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number } | null
}

const usageOf = (usage: Usage | undefined | null): Response.FinishPartEncoded["usage"] =>
  Wire.usage({
    input: usage?.prompt_tokens,
    output: usage?.completion_tokens,
    total: usage?.total_tokens,
    reasoning: usage?.completion_tokens_details?.reasoning_tokens,
    cached: usage?.prompt_tokens_details?.cached_tokens
  })

interface Completion {
  readonly id?: string
  readonly model?: string
  readonly created?: number
  readonly choices?: ReadonlyArray<{
    readonly message?: {
      readonly content?: string | null
      readonly reasoning_content?: string | null
      readonly reasoning?: string | null
      readonly tool_calls?: ReadonlyArray<{
        readonly id?: string
        readonly function?: { readonly name?: string; readonly arguments?: string }
      }> | null
    }
    readonly finish_reason?: string | null
  }>
  readonly usage?: Usage | null
  readonly error?: unknown
}

const metadata = (body: { readonly id?: string; readonly model?: string; readonly created?: number }) =>
  Provider.metadata(body, body.created)

const fromCompletion = (provider: string, raw: unknown): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> => {
  const body = raw as Completion
  if (typeof raw !== "object" || raw === null) return Wire.malformed(provider, "generateText", "The response is not an object")
  if (body.error !== undefined) return Wire.malformed(provider, "generateText", `The server answered with an error: ${Wire.json(body.error)}`)
  const choice = body.choices?.[0]
  if (choice === undefined) return Wire.malformed(provider, "generateText", "The response has no choices")
  const parts: Array<Response.PartEncoded> = [metadata(body)]
  const message = choice.message ?? {}
  const reasoning = message.reasoning_content ?? message.reasoning
  if (typeof reasoning === "string" && reasoning.length > 0) parts.push({ type: "reasoning", text: reasoning })
  if (typeof message.content === "string" && message.content.length > 0) {
    parts.push({ type: "text", text: message.content })
  }
  for (const [i, call] of (message.tool_calls ?? []).entries()) {
    parts.push({
      type: "tool-call",
      id: call.id ?? `call_${i}`,
      name: call.function?.name ?? "",
      params: Wire.parseArguments(call.function?.arguments ?? "")
    })
  }
  parts.push({ type: "finish", reason: finishReason(choice.finish_reason), usage: usageOf(body.usage) })
  return Effect.succeed(parts)
}

interface Chunked {
  readonly id?: string
  readonly model?: string
  readonly created?: number
  readonly choices?: ReadonlyArray<{
    readonly delta?: {
      readonly content?: string | null
      readonly reasoning_content?: string | null
      readonly reasoning?: string | null
      readonly tool_calls?: ReadonlyArray<{
        readonly index?: number
        readonly id?: string
        readonly function?: { readonly name?: string; readonly arguments?: string }
      }> | null
    }
    readonly finish_reason?: string | null
  }>
  readonly usage?: Usage | null
  readonly error?: unknown
}

/** Turns the SSE events of one streamed completion into response parts. */
const makeStreamState = (provider: string) => {
  let started = false
  let finish: string | null | undefined
  let usage: Usage | undefined
  let done = false
  let failed = false
  const text = Provider.makeTextParts()
  // By the index the server gives each call: the order they are finished in.
  const calls: Array<Provider.PendingCall> = []

  const events = (events: ReadonlyArray<{ readonly event: string; readonly data: string }>) => {
    const out: Array<Response.StreamPartEncoded> = []
    for (const event of events) {
      if (done) break
      const data = event.data
      if (data === "[DONE]") {
        done = true
        break
      }
      let chunk: Chunked
      try {
        chunk = JSON.parse(data)
      } catch (cause) {
        return Provider.notJson(provider, data, cause)
      }
      if (chunk.error !== undefined) {
        // The provider's own error, inside the stream: the answer ends here, as a failure.
        out.push({ type: "error", error: chunk.error })
        done = true
        failed = true
        break
      }
      if (!started) {
        started = true
        out.push(metadata(chunk))
      }
      if (chunk.usage) usage = chunk.usage
      const choice = chunk.choices?.[0]
      if (choice === undefined) continue
      const delta = choice.delta
      if (delta !== undefined) {
        const reasoning = delta.reasoning_content ?? delta.reasoning
        if (typeof reasoning === "string" && reasoning.length > 0) text.reasoning(out, reasoning)
        if (typeof delta.content === "string" && delta.content.length > 0) text.text(out, delta.content)
        for (const fragment of delta.tool_calls ?? []) {
          const index = fragment.index ?? calls.length
          let call = calls[index]
          if (call === undefined) {
            call = Provider.startCall(out, fragment.id ?? `call_${index}`, fragment.function?.name ?? "")
            calls[index] = call
          } else if (fragment.function?.name) {
            call.name += fragment.function.name
          }
          const piece = fragment.function?.arguments
          if (piece) Provider.callDelta(out, call, piece)
        }
      }
      if (choice.finish_reason) finish = choice.finish_reason
    }
    return Effect.succeed(out)
  }

  const end = (): Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, AiError.AiError> => {
    if (failed) return Effect.succeed([])
    if (!done && finish === undefined) return Provider.unfinished(provider)
    const out: Array<Response.StreamPartEncoded> = []
    text.close(out)
    Provider.endCalls(out, calls)
    out.push({ type: "finish", reason: finishReason(finish), usage: usageOf(usage) })
    return Effect.succeed(out)
  }

  return { events, end }
}
