/**
 * OpenAI's Responses API as a `LanguageModel`, with wire code of its own on undici. A client
 * (`layerClient`, `layerClientConfig`: the connection pool, base URL, key and timeouts) is
 * provided once per application, and models are named on it (`model("gpt-4o-mini")`), as an
 * agent's `model` or `fallback`; `layer` is a model with a client of its own. JSON and
 * streamed answers (text, reasoning summaries, function calls with streamed arguments, several per
 * answer), usage, finish reasons and errors. An error event, a failed or unfinished response, or a
 * malformed event is a failure, never a silently short answer.
 *
 * It does not go through `@effect/ai-openai`: measured against raw undici on the same server, that
 * path cost about 7x per agent run and about 80x per streamed chunk (it decodes every part with
 * schemas built per call, parses SSE with a parser that is quadratic in the size of a read, and
 * skips events it cannot decode). `npm run bench:http` measures both.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Settings from "./internal/config.js"
import * as Provider from "./internal/provider.js"
import * as Wire from "./internal/wire.js"

/**
 * The settings of a client: where the API is, the key, and how long a call may wait.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientOptions extends Provider.Timeouts {
  readonly apiKey: Redacted.Redacted
  /** Default `https://api.openai.com/v1`. */
  readonly baseUrl?: string | undefined
}

/**
 * The settings of a model named on a client.
 *
 * @since 0.2.0
 * @category models
 */
export interface ModelOptions {
  /** Extra body fields for every request: `temperature`, `max_output_tokens`, `reasoning`, ... */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A model and its own client, for {@link layer} and {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ClientOptions, ModelOptions {
  /** The model, e.g. `gpt-4o-mini`. */
  readonly model: string
}

/**
 * The client's service: one pool of keep-alive connections to the API, with the base URL, the key
 * (held by its functions, never shown) and the timeouts.
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
export class Client extends Context.Tag("effect-agents/OpenAi/Client")<Client, ClientService>() {}

const surface = Provider.make({
  client: Client,
  settings: (options: ClientOptions) => ({
    provider: "openai",
    baseUrl: options.baseUrl ?? "https://api.openai.com/v1",
    headers: { "content-type": "application/json", ...Provider.bearer(options.apiKey) }
  }),
  wire: (client, model, options: ModelOptions) => ({
    url: `${client.baseUrl}/responses`,
    body: (request, stream) => requestBody(model, options, request, stream),
    fromJson: fromResponse,
    streamState: makeStreamState
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
 * import { Effect, Redacted } from "effect"
 * import { Agent } from "effect-agents"
 * import { OpenAi } from "effect-agents/layers"
 *
 * const agent = Agent.make({ model: OpenAi.model("gpt-4o-mini"), fallback: [OpenAi.model("gpt-4o")] })
 *
 * // Effect<Run.Output<string>, AgentError>
 * const program = Agent.run(agent, "Hello").pipe(
 *   Effect.provide(OpenAi.layerClient({ apiKey: Redacted.make("sk-...") }))
 * )
 * ```
 */
export const layerClient: (options: ClientOptions) => Layer.Layer<Client> = surface.layerClient

/**
 * The client as a layer, configured from `OPENAI_API_KEY` and `OPENAI_BASE_URL` (optional).
 * A missing or malformed setting is a `ConfigError` whose message names the variable and says
 * what to set it to; the key's value is never in it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClientConfig = (): Layer.Layer<Client, ConfigError.ConfigError> =>
  surface.layerClientConfig(Settings.keyAndBaseUrl("OPENAI", "your OpenAI API key", "https://api.openai.com/v1"))

/**
 * A model named on the client: what an agent's `model` or `fallback` takes. Building it opens
 * no connection, so an agent builds it for each run at no cost; the client is provided once.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { OpenAi } from "effect-agents/layers"
 *
 * // Agent<string, OpenAi.Client>: provide OpenAi.layerClient(...) or OpenAi.layerClientConfig() once.
 * const agent = Agent.make({ name: "Writer", model: OpenAi.model("gpt-4o-mini", { parameters: { temperature: 0 } }) })
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
 */
export const layer: (options: Options) => Layer.Layer<LanguageModel.LanguageModel> = surface.layer

/**
 * A model with a client of its own, configured from `OPENAI_API_KEY` and `OPENAI_BASE_URL`
 * (optional), as one layer for the level of the application (see {@link layer}). A missing or
 * malformed setting is a `ConfigError` whose message names the variable and says what to set it
 * to; the key's value is never in it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  name: string,
  options?: ModelOptions
): Layer.Layer<LanguageModel.LanguageModel, ConfigError.ConfigError> =>
  Layer.provide(model(name, options), layerClientConfig())

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

const toolDefinition = Wire.perTool((tool) => ({
  type: "function",
  name: tool.name,
  description: Tool.getDescription(tool as any),
  parameters: Tool.getJsonSchema(tool as any),
  strict: false
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
    input: toInput(provider.prompt),
    store: false
  }
  Object.assign(
    body,
    Provider.tools(provider, toolDefinition, (choice) =>
      typeof choice === "string"
        ? choice
        : "tool" in choice
        ? { type: "function", name: choice.tool }
        : choice.mode ?? "auto")
  )
  if (provider.responseFormat.type === "json") {
    body["text"] = {
      format: {
        type: "json_schema",
        name: provider.responseFormat.objectName,
        schema: Wire.answerSchema(provider.responseFormat.schema),
        strict: false
      }
    }
  }
  if (stream) body["stream"] = true
  return body
}

const toInput = (prompt: Prompt.Prompt): Array<unknown> => {
  const input: Array<unknown> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        input.push({ role: "system", content: message.content })
        break
      case "user":
        input.push({
          role: "user",
          content: message.content.map((part) =>
            part.type === "text"
              ? { type: "input_text", text: part.text }
              : { type: "input_image", image_url: Wire.fileUrl(part) }
          )
        })
        break
      case "assistant": {
        let text = ""
        for (const part of message.content) {
          if (part.type === "text") text += part.text
        }
        if (text.length > 0) input.push({ role: "assistant", content: [{ type: "output_text", text }] })
        for (const part of message.content) {
          if (part.type === "tool-call" && !part.providerExecuted) {
            input.push({ type: "function_call", call_id: part.id, name: part.name, arguments: Wire.json(part.params) })
          }
        }
        break
      }
      case "tool":
        for (const part of message.content) {
          input.push({ type: "function_call_output", call_id: part.id, output: Wire.json(part.result) })
        }
        break
    }
  }
  return input
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

interface Usage {
  readonly input_tokens?: number
  readonly output_tokens?: number
  readonly total_tokens?: number
  readonly input_tokens_details?: { readonly cached_tokens?: number } | null
  readonly output_tokens_details?: { readonly reasoning_tokens?: number } | null
}

interface ResponseBody {
  readonly id?: string
  readonly model?: string
  readonly created_at?: number
  readonly status?: string
  readonly incomplete_details?: { readonly reason?: string } | null
  readonly error?: unknown
  readonly output?: ReadonlyArray<{
    readonly type?: string
    readonly call_id?: string
    readonly name?: string
    readonly arguments?: string
    readonly content?: ReadonlyArray<{ readonly type?: string; readonly text?: string }>
    readonly summary?: ReadonlyArray<{ readonly text?: string }>
  }>
  readonly usage?: Usage | null
}

const usageOf = (usage: Usage | undefined | null): Response.FinishPartEncoded["usage"] =>
  Wire.usage({
    input: usage?.input_tokens,
    output: usage?.output_tokens,
    total: usage?.total_tokens,
    reasoning: usage?.output_tokens_details?.reasoning_tokens,
    cached: usage?.input_tokens_details?.cached_tokens
  })

const finishReason = (body: ResponseBody, calledTools: boolean): Response.FinishReason => {
  if (body.status === "incomplete") {
    const reason = body.incomplete_details?.reason
    return reason === "max_output_tokens" ? "length" : reason === "content_filter" ? "content-filter" : "other"
  }
  return calledTools ? "tool-calls" : "stop"
}

const metadata = (body: ResponseBody): Response.ResponseMetadataPartEncoded => Provider.metadata(body, body.created_at)

const fromResponse = (raw: unknown): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> => {
  if (typeof raw !== "object" || raw === null) return Wire.malformed("openai", "generateText", "The response is not an object")
  const body = raw as ResponseBody
  if (body.status === "failed" || (body.error !== undefined && body.error !== null)) {
    return Wire.malformed("openai", "generateText", `The response failed: ${Wire.json(body.error)}`)
  }
  const parts: Array<Response.PartEncoded> = [metadata(body)]
  let calledTools = false
  for (const item of body.output ?? []) {
    if (item.type === "message") {
      const text = (item.content ?? []).flatMap((part) => (part.type === "output_text" ? [part.text ?? ""] : [])).join("")
      if (text.length > 0) parts.push({ type: "text", text })
    } else if (item.type === "reasoning") {
      const text = (item.summary ?? []).map((part) => part.text ?? "").join("")
      if (text.length > 0) parts.push({ type: "reasoning", text })
    } else if (item.type === "function_call") {
      calledTools = true
      parts.push({
        type: "tool-call",
        id: item.call_id ?? "",
        name: item.name ?? "",
        params: Wire.parseArguments(item.arguments ?? "")
      })
    }
  }
  parts.push({ type: "finish", reason: finishReason(body, calledTools), usage: usageOf(body.usage) })
  return Effect.succeed(parts)
}

/** Turns the SSE events of one streamed response into response parts. */
const makeStreamState = () => {
  let finished: ResponseBody | undefined
  let failed = false
  const text = Provider.makeTextParts()
  const calls = new Map<string, Provider.PendingCall>()
  const order: Array<Provider.PendingCall> = []

  const events = (events: ReadonlyArray<{ readonly event: string; readonly data: string }>) => {
    const out: Array<Response.StreamPartEncoded> = []
    for (const event of events) {
      if (finished !== undefined || failed) break
      let data: any
      try {
        data = JSON.parse(event.data)
      } catch (cause) {
        return Provider.notJson("openai", event.data, cause)
      }
      switch (data?.type ?? event.event) {
        case "response.created":
          out.push(metadata(data.response ?? {}))
          break
        case "response.output_text.delta":
          text.text(out, String(data.delta ?? ""))
          break
        case "response.reasoning_summary_text.delta":
          text.reasoning(out, String(data.delta ?? ""))
          break
        case "response.output_item.added":
          if (data.item?.type === "function_call") {
            const call = Provider.startCall(out, String(data.item.call_id ?? data.item.id), String(data.item.name ?? ""))
            calls.set(String(data.item.id), call)
            order.push(call)
          }
          break
        case "response.function_call_arguments.delta": {
          const call = calls.get(String(data.item_id))
          if (call !== undefined && typeof data.delta === "string") Provider.callDelta(out, call, data.delta)
          break
        }
        case "response.completed":
        case "response.incomplete":
          finished = data.response ?? {}
          break
        case "response.failed":
        case "error":
          // The provider's own error, inside the stream: the answer ends here, as a failure.
          out.push({ type: "error", error: data.response?.error ?? data })
          failed = true
          break
        default:
          break
      }
    }
    return Effect.succeed(out)
  }

  const end = (): Effect.Effect<ReadonlyArray<Response.StreamPartEncoded>, AiError.AiError> => {
    if (failed) return Effect.succeed([])
    if (finished === undefined) return Provider.unfinished("openai")
    const out: Array<Response.StreamPartEncoded> = []
    text.close(out)
    Provider.endCalls(out, order)
    out.push({ type: "finish", reason: finishReason(finished, order.length > 0), usage: usageOf(finished.usage) })
    return Effect.succeed(out)
  }

  return { events, end }
}
