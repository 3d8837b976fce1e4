/**
 * The shape every provider shares, written once: a client (one connection pool to an API, with its
 * base URL, key and timeouts, provided once per application), models named on it, and the layers
 * over both (`layerClient`, `layerClientConfig`, `model`, `layer`). A provider states
 * only what differs: its client's settings from its options (its name, default base URL, headers
 * carrying the key) and its models' wire format (endpoint, request body, answers), and gives each
 * function below its own name and documentation.
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Wire from "./wire.js"

/**
 * How long a call may wait: every client's options have these.
 */
export interface Timeouts {
  /**
   * How long a response may send nothing (before a streamed answer's headers, between any body's
   * reads) before the call fails. Default 60 seconds.
   */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * How long a request may wait for its response to start; a JSON answer is generated whole before
   * it starts. Default 10 minutes.
   */
  readonly requestTimeout?: Duration.DurationInput | undefined
}

/** What a provider states about itself; the rest of its surface is {@link make}'s. */
export interface Definition<Id, ClientOptions extends Timeouts, ModelOptions> {
  /** The tag its client is provided under. */
  readonly client: Context.Tag<Id, Wire.Client>
  /** Its client's wire settings from the client's options: its name, base URL and headers (the key among them). */
  readonly settings: (options: ClientOptions) => Omit<Wire.ClientOptions, keyof Timeouts>
  /** A model's wire format on a client: where its requests go, what they carry, how its answers read. */
  readonly wire: (client: Wire.Client, model: string, options: ModelOptions) => Omit<Wire.Wire, "model">
}

/** A provider's client, models and layers, made from its {@link Definition}. */
export interface Provider<Id, ClientOptions, ModelOptions> {
  readonly makeClient: (options: ClientOptions) => Effect.Effect<Wire.Client, never, Scope.Scope>
  readonly makeModel: (model: string, options?: ModelOptions) => Effect.Effect<LanguageModel.Service, never, Id>
  readonly make: (
    options: ClientOptions & ModelOptions & { readonly model: string }
  ) => Effect.Effect<LanguageModel.Service, never, Scope.Scope>
  readonly layerClient: (options: ClientOptions) => Layer.Layer<Id>
  readonly layerClientConfig: (config: Config.Config<ClientOptions>) => Layer.Layer<Id, ConfigError.ConfigError>
  readonly model: (model: string, options?: ModelOptions) => Layer.Layer<LanguageModel.LanguageModel, never, Id>
  readonly layer: (
    options: ClientOptions & ModelOptions & { readonly model: string }
  ) => Layer.Layer<LanguageModel.LanguageModel>
}

export const make = <Id, ClientOptions extends Timeouts, ModelOptions extends object>(
  definition: Definition<Id, ClientOptions, ModelOptions>
): Provider<Id, ClientOptions, ModelOptions> => {
  const tag = definition.client
  const makeClient = (options: ClientOptions) =>
    Wire.makeClient({
      ...definition.settings(options),
      idleTimeout: options.idleTimeout,
      requestTimeout: options.requestTimeout
    })
  const makeModel = (model: string, options: ModelOptions = {} as ModelOptions) =>
    Effect.flatMap(tag, (client) => Wire.make(client, { model, ...definition.wire(client, model, options) }))
  const layerClient = (options: ClientOptions) => Layer.scoped(tag, makeClient(options))
  const model = (name: string, options?: ModelOptions) => Layer.effect(LanguageModel.LanguageModel, makeModel(name, options))
  return {
    makeClient,
    makeModel,
    make: (options) =>
      Effect.flatMap(makeClient(options), (client) => Effect.provideService(makeModel(options.model, options), tag, client)),
    layerClient,
    layerClientConfig: (config) => Layer.scoped(tag, Effect.flatMap(config, makeClient)),
    model,
    layer: (options) => Layer.provide(model(options.model, options), layerClient(options))
  }
}

/** A key as a bearer token's `authorization` header, for the client's headers (never shown as a field). */
export const bearer = (key: Redacted.Redacted): { readonly authorization: string } => ({
  authorization: `Bearer ${Redacted.value(key)}`
})

/**
 * The tools a request offers and the choice among them, in a wire format's terms: none when there
 * are no tools of ours (a provider's own are not sent) or the choice is `none`.
 */
export const tools = (
  options: LanguageModel.ProviderOptions,
  definition: (tool: Tool.Any) => unknown,
  choice: (choice: Exclude<LanguageModel.ProviderOptions["toolChoice"], "none">) => unknown
): { readonly tools: Array<unknown>; readonly tool_choice: unknown } | undefined => {
  const offered = options.tools.filter((tool) => !Tool.isProviderDefined(tool))
  const toolChoice = options.toolChoice
  if (offered.length === 0 || toolChoice === "none") return undefined
  return { tools: offered.map(definition), tool_choice: choice(toolChoice) }
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/** An answer's id, model and creation time (in seconds, as the APIs give it) as its metadata part. */
export const metadata = (
  body: { readonly id?: string | undefined; readonly model?: string | undefined },
  created?: number | undefined
): Response.ResponseMetadataPartEncoded => ({
  type: "response-metadata",
  ...(body.id !== undefined ? { id: body.id } : {}),
  ...(body.model !== undefined ? { modelId: body.model } : {}),
  ...(created !== undefined ? { timestamp: new Date(created * 1000).toISOString() } : {})
})

/** A streamed answer's event that is not JSON: the answer fails (quoting the event's start). */
export const notJson = (provider: string, data: string, cause: unknown) =>
  Wire.malformed(provider, "streamText", `An event is not JSON: ${data.slice(0, 200)}`, cause)

/** A streamed answer whose stream ended before the API said it was finished: a failure, never a short answer. */
export const unfinished = (provider: string) =>
  Wire.malformed(provider, "streamText", "The stream ended before the answer was finished")

/**
 * The text and the reasoning of one streamed answer, for wire formats that stream them as bare
 * deltas: each opens at its first delta (as `text_0`, `reasoning_0`), the reasoning closes when the
 * text goes on, and both close at the end.
 */
export const makeTextParts = () => {
  let textOpen = false
  let reasoningOpen = false
  const closeReasoning = (out: Array<Response.StreamPartEncoded>) => {
    if (reasoningOpen) {
      out.push({ type: "reasoning-end", id: "reasoning_0" })
      reasoningOpen = false
    }
  }
  return {
    text: (out: Array<Response.StreamPartEncoded>, delta: string) => {
      closeReasoning(out)
      if (!textOpen) {
        out.push({ type: "text-start", id: "text_0" })
        textOpen = true
      }
      out.push({ type: "text-delta", id: "text_0", delta })
    },
    reasoning: (out: Array<Response.StreamPartEncoded>, delta: string) => {
      if (!reasoningOpen) {
        out.push({ type: "reasoning-start", id: "reasoning_0" })
        reasoningOpen = true
      }
      out.push({ type: "reasoning-delta", id: "reasoning_0", delta })
    },
    close: (out: Array<Response.StreamPartEncoded>) => {
      closeReasoning(out)
      if (textOpen) {
        out.push({ type: "text-end", id: "text_0" })
        textOpen = false
      }
    }
  }
}

/** A tool call of a streamed answer whose arguments are still coming. */
export interface PendingCall {
  readonly id: string
  name: string
  readonly args: Array<string>
}

/** A tool call begins: its arguments will come in fragments. */
export const startCall = (out: Array<Response.StreamPartEncoded>, id: string, name: string): PendingCall => {
  out.push({ type: "tool-params-start", id, name })
  return { id, name, args: [] }
}

/** A fragment of a tool call's arguments. */
export const callDelta = (out: Array<Response.StreamPartEncoded>, call: PendingCall, fragment: string): void => {
  call.args.push(fragment)
  out.push({ type: "tool-params-delta", id: call.id, delta: fragment })
}

/** The answer is finished: each tool call, in the order given, with its whole arguments. */
export const endCalls = (out: Array<Response.StreamPartEncoded>, calls: Iterable<PendingCall | undefined>): void => {
  for (const call of calls) {
    if (call === undefined) continue
    out.push({ type: "tool-params-end", id: call.id })
    out.push({ type: "tool-call", id: call.id, name: call.name, params: Wire.parseArguments(call.args.join("")) })
  }
}
