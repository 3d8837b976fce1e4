/**
 * A model chosen by configuration: one string `provider:model` (by default the environment
 * variable `EFFECT_AGENTS_MODEL`), so switching providers needs no code change.
 *
 * | provider | model string | settings |
 * |---|---|---|
 * | OpenAI (Responses) | `openai:gpt-4o-mini` | `OPENAI_API_KEY`, `OPENAI_BASE_URL` |
 * | Anthropic | `anthropic:claude-sonnet-4-5` | `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` |
 * | any Chat Completions server | `openai-compatible:<model>` | `OPENAI_COMPATIBLE_BASE_URL`, `OPENAI_COMPATIBLE_API_KEY` |
 * | Ollama, vLLM, LM Studio, llama.cpp | `ollama:llama3.2`, `vllm:…`, `lmstudio:…`, `llamacpp:…` | `<PROVIDER>_BASE_URL` (local default), `<PROVIDER>_API_KEY` |
 * | OpenRouter, Groq | `openrouter:…`, `groq:…` | `<PROVIDER>_API_KEY`, `<PROVIDER>_BASE_URL` |
 *
 * A malformed model string or a missing key is a `ConfigError` at start that names the variable.
 *
 * `layerClientConfig()` is the configured provider's client (its connection pool), provided once
 * per application; `model()` is the configured model named on it, for an agent's `model` or
 * `fallback` (`model("gpt-4o")` another model of the same provider). `layerConfig()` is both in
 * one layer, for providing the model at the level of the application.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Anthropic from "./Anthropic.js"
import * as OpenAi from "./OpenAi.js"
import * as Settings from "./internal/config.js"
import * as OpenAiCompatible from "./OpenAiCompatible.js"

interface Compatible {
  /** The prefix of its settings: `OLLAMA` reads `OLLAMA_BASE_URL` and `OLLAMA_API_KEY`. */
  readonly env: string
  /** What its key is, in messages. */
  readonly key: string
  /** The base URL when none is configured; none means it must be configured. */
  readonly baseUrl: string | undefined
  readonly keyRequired: boolean
}

const compatible: Record<string, Compatible> = {
  "openai-compatible": { env: "OPENAI_COMPATIBLE", key: "the server's API key", baseUrl: undefined, keyRequired: false },
  ollama: { env: "OLLAMA", key: "your Ollama API key", baseUrl: "http://127.0.0.1:11434/v1", keyRequired: false },
  vllm: { env: "VLLM", key: "your vLLM API key", baseUrl: "http://127.0.0.1:8000/v1", keyRequired: false },
  lmstudio: { env: "LMSTUDIO", key: "your LM Studio API key", baseUrl: "http://127.0.0.1:1234/v1", keyRequired: false },
  llamacpp: { env: "LLAMACPP", key: "your llama.cpp API key", baseUrl: "http://127.0.0.1:8080/v1", keyRequired: false },
  openrouter: { env: "OPENROUTER", key: "your OpenRouter API key", baseUrl: "https://openrouter.ai/api/v1", keyRequired: true },
  groq: { env: "GROQ", key: "your Groq API key", baseUrl: "https://api.groq.com/openai/v1", keyRequired: true }
}

// The providers with a module of their own: a new one is a line here, its client from `Config`.
const native: Record<string, (spec: Spec) => Layer.Layer<Client, ConfigError.ConfigError>> = {
  openai: (spec) => clientOn(spec, OpenAi.Client, OpenAi.layerClientConfig(), OpenAi.makeModel),
  anthropic: (spec) => clientOn(spec, Anthropic.Client, Anthropic.layerClientConfig(), Anthropic.makeModel)
}

/**
 * Every provider name a model string may start with.
 *
 * @since 0.1.0
 * @category models
 */
export const providers: ReadonlyArray<string> = [...Object.keys(native), ...Object.keys(compatible)]

/**
 * A parsed model string.
 *
 * @since 0.1.0
 * @category models
 */
export interface Spec {
  readonly provider: string
  readonly model: string
}

/**
 * Parses `provider:model`; the error says what was expected.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (text: string): Either.Either<Spec, string> => {
  const colon = text.indexOf(":")
  const provider = colon === -1 ? "" : text.slice(0, colon).trim().toLowerCase()
  const model = colon === -1 ? "" : text.slice(colon + 1).trim()
  if (provider.length === 0 || model.length === 0) {
    return Either.left(`expected "provider:model", e.g. "openai:gpt-4o-mini", got "${text}"`)
  }
  if (!providers.includes(provider)) {
    return Either.left(`unknown provider "${provider}" in "${text}"; known providers: ${providers.join(", ")}`)
  }
  return Either.right({ provider, model })
}

/**
 * The settings of a model named on the configured provider's client.
 *
 * @since 0.2.0
 * @category models
 */
export interface ModelOptions {
  /** Extra body fields for every request, in the provider's own terms (`temperature`, ...). */
  readonly parameters?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The client of the provider that a model string names (its connection pool, base URL, key and
 * timeouts), with the model string itself.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientService {
  /** The model string the client was configured with. */
  readonly spec: Spec
  /** Builds a model on the client: the configured one, or another of the same provider. */
  readonly model: (model?: string | undefined, options?: ModelOptions | undefined) => Effect.Effect<LanguageModel.Service>
}

/**
 * The configured provider's client that {@link model} names models on: configure it once per
 * application ({@link layerClient}, {@link layerClientConfig}).
 *
 * @since 0.2.0
 * @category services
 */
export class Client extends Context.Tag("effect-agents/Provider/Client")<Client, ClientService>() {}

// A client of one provider, whose models are built with the client itself in their context.
const clientOn = <I, S>(
  spec: Spec,
  tag: Context.Tag<I, S>,
  client: Layer.Layer<I, ConfigError.ConfigError>,
  makeModel: (model: string, options: ModelOptions | undefined) => Effect.Effect<LanguageModel.Service, never, I>
): Layer.Layer<Client, ConfigError.ConfigError> =>
  Layer.effect(
    Client,
    Effect.map(tag, (service): ClientService => ({
      spec,
      model: (model, options) => Effect.provideService(makeModel(model ?? spec.model, options), tag, service)
    }))
  ).pipe(Layer.provide(client))

/**
 * The client of the provider that a model string names, with its settings read from `Config`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerClient = (spec: Spec): Layer.Layer<Client, ConfigError.ConfigError> => {
  const own = native[spec.provider]
  if (own !== undefined) return own(spec)
  const preset = compatible[spec.provider]!
  const urlName = `${preset.env}_BASE_URL`
  const keyName = `${preset.env}_API_KEY`
  const client = OpenAiCompatible.layerClientConfig({
    baseUrl: preset.baseUrl === undefined
      ? Settings.baseUrl(urlName, "http://127.0.0.1:8000/v1")
      : Config.map(Settings.optionalBaseUrl(urlName, preset.baseUrl), (url) => url ?? preset.baseUrl!),
    apiKey: preset.keyRequired ? Settings.apiKey(keyName, preset.key) : Settings.optionalApiKey(keyName, preset.key),
    provider: Config.succeed(spec.provider)
  })
  return clientOn(spec, OpenAiCompatible.Client, client, OpenAiCompatible.makeModel)
}

/**
 * The client of the provider named by a model string read from `Config`, by default
 * `EFFECT_AGENTS_MODEL`. A missing or malformed string, or a setting the provider needs, is a
 * `ConfigError` that names its variable.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent } from "effect-agents"
 * import { Provider } from "effect-agents/layers"
 *
 * // EFFECT_AGENTS_MODEL=openai:gpt-4o-mini and OPENAI_API_KEY=... in the environment
 * const agent = Agent.make({ model: Provider.model(), fallback: [Provider.model("gpt-4o")] })
 *
 * // Effect<Run.Output<string>, AgentError | ConfigError>
 * const program = Agent.run(agent, "Hello").pipe(Effect.provide(Provider.layerClientConfig()))
 * ```
 */
export const layerClientConfig = (
  name: string = "EFFECT_AGENTS_MODEL"
): Layer.Layer<Client, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.mapOrFail(Config.option(Config.string(name)), (text) =>
        Option.isNone(text)
          ? Either.left(ConfigError.MissingData([name], `${name} is not set: set it to "provider:model", e.g. "openai:gpt-4o-mini".`))
          : Either.mapLeft(parse(text.value), (message) => ConfigError.InvalidData([name], `${name} is malformed: ${message}.`))),
      layerClient
    )
  )

/**
 * A model named on the configured provider's client: by default the model of the model string,
 * or another of the same provider. What an agent's `model` or `fallback` takes: building it
 * opens no connection; the client is provided once.
 *
 * @since 0.2.0
 * @category layers
 */
export const model = (
  model?: string | undefined,
  options?: ModelOptions | undefined
): Layer.Layer<LanguageModel.LanguageModel, never, Client> =>
  Layer.effect(LanguageModel.LanguageModel, Effect.flatMap(Client, (client) => client.model(model, options)))

/**
 * The model that a model string names, with a client of its own, its settings read from
 * `Config`: for providing the model once, at the level of the application (given to an agent as
 * its `model`, it would open a connection pool for every run: see {@link model}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (spec: Spec): Layer.Layer<LanguageModel.LanguageModel, ConfigError.ConfigError> =>
  Layer.provide(model(), layerClient(spec))

/**
 * The model named by a model string read from `Config`, by default `EFFECT_AGENTS_MODEL`, with a
 * client of its own: for providing the model once, at the level of the application (see
 * {@link layer}).
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Provider } from "effect-agents/layers"
 *
 * // EFFECT_AGENTS_MODEL=anthropic:claude-sonnet-4-5 and ANTHROPIC_API_KEY=... in the environment
 * const Model = Provider.layerConfig()
 * ```
 */
export const layerConfig = (
  name: string = "EFFECT_AGENTS_MODEL"
): Layer.Layer<LanguageModel.LanguageModel, ConfigError.ConfigError> =>
  Layer.provide(model(), layerClientConfig(name))
