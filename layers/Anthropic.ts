/**
 * Anthropic's Messages API as a `LanguageModel`, with wire code of its own on undici. A client
 * (`layerClient`, `layerClientConfig`: the connection pool, base URL, key and timeouts) is
 * provided once per application, and models are named on it (`model("claude-sonnet-4-5")`), as
 * an agent's `model` or `fallback`; `layer` is a model with a client of its own. JSON and
 * streamed answers (text, thinking, tool use with streamed input, several per answer), usage, stop
 * reasons and errors. An error event, a malformed event or a stream that ends before `message_stop`
 * is a failure, never a silently short answer.
 *
 * It does not go through `@effect/ai-anthropic`: measured against raw undici on the same server,
 * that path cost about 11x per agent run and about 90x per streamed chunk. `npm run bench:http`
 * measures it.
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
import * as Redacted from "effect/Redacted"
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
  /** Default `https://api.anthropic.com`. */
  readonly baseUrl?: string | undefined
}

/**
 * The settings of a model named on a client.
 *
 * @since 0.2.0
 * @category models
 */
export interface ModelOptions {
  /** The most tokens an answer may have (the API requires one). Default 4096. */
  readonly maxTokens?: number | undefined
  /** Extra body fields for every request: `temperature`, `thinking`, ... */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
}

/**
 * A model and its own client, for {@link layer} and {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends ClientOptions, ModelOptions {
  /** The model, e.g. `claude-sonnet-4-5`. */
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
export class Client extends Context.Tag("effect-agents/Anthropic/Client")<Client, ClientService>() {}

const surface = Provider.make({
  client: Client,
  settings: (options: ClientOptions) => ({
    provider: "anthropic",
    baseUrl: options.baseUrl ?? "https://api.anthropic.com",
    headers: {
      "content-type": "application/json",
      "x-api-key": Redacted.value(options.apiKey),
      "anthropic-version": "2023-06-01"
    }
  }),
  wire: (client, model, options: ModelOptions) => ({
    url: `${client.baseUrl}/v1/messages`,
    body: (request, stream) => requestBody(model, options, request, stream),
    fromJson: fromMessage,
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
 * import { Anthropic } from "effect-agents/layers"
 *
 * const agent = Agent.make({ model: Anthropic.model("claude-sonnet-4-5") })
 *
 * // Effect<Run.Output<string>, AgentError>
 * const program = Agent.run(agent, "Hello").pipe(
 *   Effect.provide(Anthropic.layerClient({ apiKey: Redacted.make("sk-ant-...") }))
 * )
 * ```
 */
export const layerClient: (options: ClientOptions) => Layer.Layer<Client> = surface.layerClient

/**
 * The client as a layer, configured from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` (optional).
 * A missing or malformed setting is a `ConfigError` whose message names the variable and says
 * what to set it to; the key's value is never in it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClientConfig = (): Layer.Layer<Client, ConfigError.ConfigError> =>
  surface.layerClientConfig(Settings.keyAndBaseUrl("ANTHROPIC", "your Anthropic API key", "https://api.anthropic.com"))

/**
 * A model named on the client: what an agent's `model` or `fallback` takes. Building it opens
 * no connection, so an agent builds it for each run at no cost; the client is provided once.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { Anthropic } from "effect-agents/layers"
 *
 * // Agent<string, Anthropic.Client>: provide Anthropic.layerClient(...) or layerClientConfig() once.
 * const agent = Agent.make({ name: "Writer", model: Anthropic.model("claude-sonnet-4-5", { maxTokens: 1024 }) })
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
 * A model with a client of its own, configured from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`
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
  name: tool.name,
  description: Tool.getDescription(tool as any),
  input_schema: Tool.getJsonSchema(tool as any)
}))

const requestBody = (
  model: string,
  options: ModelOptions,
  provider: LanguageModel.ProviderOptions,
  stream: boolean
) => {
  const { messages, system } = toMessages(provider.prompt)
  const body: Record<string, unknown> = {
    max_tokens: options.maxTokens ?? 4096,
    ...options.parameters,
    model,
    messages
  }
  if (system.length > 0) body["system"] = system
  Object.assign(
    body,
    Provider.tools(provider, toolDefinition, (choice) =>
      choice === "required"
        ? { type: "any" }
        : typeof choice === "string"
        ? { type: "auto" }
        : "tool" in choice
        ? { type: "tool", name: choice.tool }
        : { type: choice.mode === "required" ? "any" : "auto" })
  )
  if (stream) body["stream"] = true
  return body
}

type Block = Record<string, unknown>

/** Anthropic wants alternating user and assistant turns: consecutive blocks of a role are joined. */
const toMessages = (prompt: Prompt.Prompt) => {
  const system: Array<string> = []
  const messages: Array<{ role: "user" | "assistant"; content: Array<Block> }> = []
  const push = (role: "user" | "assistant", blocks: Array<Block>) => {
    if (blocks.length === 0) return
    const last = messages[messages.length - 1]
    if (last !== undefined && last.role === role) last.content.push(...blocks)
    else messages.push({ role, content: blocks })
  }
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        system.push(message.content)
        break
      case "user":
        push(
          "user",
          message.content.map((part): Block =>
            part.type === "text"
              ? { type: "text", text: part.text }
              : { type: "image", source: imageSource(part) }
          )
        )
        break
      case "assistant": {
        const blocks: Array<Block> = []
        for (const part of message.content) {
          if (part.type === "text" && part.text.length > 0) blocks.push({ type: "text", text: part.text })
          else if (part.type === "tool-call" && !part.providerExecuted) {
            const input = typeof part.params === "object" && part.params !== null ? part.params : {}
            blocks.push({ type: "tool_use", id: part.id, name: part.name, input })
          }
        }
        push("assistant", blocks)
        break
      }
      case "tool":
        push(
          "user",
          message.content.map((part): Block => ({
            type: "tool_result",
            tool_use_id: part.id,
            content: Wire.json(part.result),
            ...(part.isFailure ? { is_error: true } : {})
          }))
        )
        break
    }
  }
  return { messages, system: system.join("\n\n") }
}

const imageSource = (part: Prompt.FilePart) => {
  const data = part.data
  if (data instanceof URL) return { type: "url", url: data.toString() }
  if (typeof data === "string") {
    return /^https?:/.test(data)
      ? { type: "url", url: data }
      : { type: "base64", media_type: part.mediaType, data: data.replace(/^data:[^,]*,/, "") }
  }
  return { type: "base64", media_type: part.mediaType, data: Buffer.from(data).toString("base64") }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

interface Usage {
  readonly input_tokens?: number
  readonly output_tokens?: number
  readonly cache_read_input_tokens?: number | null
}

const finishReason = (reason: unknown): Response.FinishReason => {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
      return "stop"
    case "tool_use":
      return "tool-calls"
    case "max_tokens":
      return "length"
    case "refusal":
      return "content-filter"
    case null:
    case undefined:
      return "unknown"
    default:
      return "other"
  }
}

const usageOf = (input: number | undefined, output: number | undefined, cached: number | null | undefined) =>
  Wire.usage({ input, output, cached })

const metadata = (body: { readonly id?: string; readonly model?: string }): Response.ResponseMetadataPartEncoded =>
  Provider.metadata(body)

const fromMessage = (raw: unknown): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> => {
  if (typeof raw !== "object" || raw === null) return Wire.malformed("anthropic", "generateText", "The response is not an object")
  const body = raw as {
    readonly id?: string
    readonly model?: string
    readonly type?: string
    readonly error?: unknown
    readonly content?: ReadonlyArray<Block>
    readonly stop_reason?: string | null
    readonly usage?: Usage
  }
  if (body.type === "error") return Wire.malformed("anthropic", "generateText", `The server answered with an error: ${Wire.json(body.error)}`)
  const parts: Array<Response.PartEncoded> = [metadata(body)]
  for (const block of body.content ?? []) {
    if (block["type"] === "text") parts.push({ type: "text", text: String(block["text"] ?? "") })
    else if (block["type"] === "thinking") parts.push({ type: "reasoning", text: String(block["thinking"] ?? "") })
    else if (block["type"] === "tool_use") {
      parts.push({ type: "tool-call", id: String(block["id"]), name: String(block["name"]), params: block["input"] ?? {} })
    }
  }
  parts.push({
    type: "finish",
    reason: finishReason(body.stop_reason),
    usage: usageOf(body.usage?.input_tokens, body.usage?.output_tokens, body.usage?.cache_read_input_tokens)
  })
  return Effect.succeed(parts)
}

interface OpenBlock {
  readonly type: string
  readonly id: string
  readonly name: string
  readonly input: Array<string>
}

/** Turns the SSE events of one streamed message into response parts. */
const makeStreamState = () => {
  let stopped = false
  let failed = false
  let stopReason: string | null | undefined
  let inputTokens: number | undefined
  let outputTokens: number | undefined
  let cached: number | null | undefined
  const blocks = new Map<number, OpenBlock>()
  const calls: Array<OpenBlock> = []

  const events = (events: ReadonlyArray<{ readonly event: string; readonly data: string }>) => {
    const out: Array<Response.StreamPartEncoded> = []
    for (const event of events) {
      if (stopped || failed) break
      let data: any
      try {
        data = JSON.parse(event.data)
      } catch (cause) {
        return Provider.notJson("anthropic", event.data, cause)
      }
      switch (data?.type ?? event.event) {
        case "message_start":
          out.push(metadata(data.message ?? {}))
          inputTokens = data.message?.usage?.input_tokens
          cached = data.message?.usage?.cache_read_input_tokens
          outputTokens = data.message?.usage?.output_tokens
          break
        case "content_block_start": {
          const block = data.content_block ?? {}
          const open: OpenBlock = { type: String(block.type), id: String(block.id ?? `block_${data.index}`), name: String(block.name ?? ""), input: [] }
          blocks.set(data.index, open)
          if (open.type === "text") out.push({ type: "text-start", id: open.id })
          else if (open.type === "thinking") out.push({ type: "reasoning-start", id: open.id })
          else if (open.type === "tool_use") {
            calls.push(open)
            out.push({ type: "tool-params-start", id: open.id, name: open.name })
          }
          break
        }
        case "content_block_delta": {
          const open = blocks.get(data.index)
          const delta = data.delta ?? {}
          if (open === undefined) break
          if (delta.type === "text_delta") out.push({ type: "text-delta", id: open.id, delta: String(delta.text ?? "") })
          else if (delta.type === "thinking_delta") {
            out.push({ type: "reasoning-delta", id: open.id, delta: String(delta.thinking ?? "") })
          } else if (delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
            open.input.push(delta.partial_json)
            if (delta.partial_json.length > 0) out.push({ type: "tool-params-delta", id: open.id, delta: delta.partial_json })
          }
          break
        }
        case "content_block_stop": {
          const open = blocks.get(data.index)
          if (open === undefined) break
          if (open.type === "text") out.push({ type: "text-end", id: open.id })
          else if (open.type === "thinking") out.push({ type: "reasoning-end", id: open.id })
          else if (open.type === "tool_use") out.push({ type: "tool-params-end", id: open.id })
          break
        }
        case "message_delta":
          if (data.delta?.stop_reason !== undefined) stopReason = data.delta.stop_reason
          if (typeof data.usage?.output_tokens === "number") outputTokens = data.usage.output_tokens
          break
        case "message_stop":
          stopped = true
          break
        case "error":
          // The provider's own error, inside the stream: the answer ends here, as a failure.
          out.push({ type: "error", error: data.error ?? data })
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
    if (!stopped) return Provider.unfinished("anthropic")
    const out: Array<Response.StreamPartEncoded> = []
    for (const call of calls) {
      out.push({ type: "tool-call", id: call.id, name: call.name, params: Wire.parseArguments(call.input.join("")) })
    }
    out.push({ type: "finish", reason: finishReason(stopReason), usage: usageOf(inputTokens, outputTokens, cached) })
    return Effect.succeed(out)
  }

  return { events, end }
}
