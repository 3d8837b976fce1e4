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
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
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

/**
 * Every provider name a model string may start with.
 *
 * @since 0.1.0
 * @category models
 */
export const providers: ReadonlyArray<string> = ["openai", "anthropic", ...Object.keys(compatible)]

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
 * The model that a model string names, with its settings read from `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (spec: Spec): Layer.Layer<LanguageModel.LanguageModel, ConfigError.ConfigError> => {
  if (spec.provider === "openai") return OpenAi.layerConfig(spec.model)
  if (spec.provider === "anthropic") return Anthropic.layerConfig(spec.model)
  const preset = compatible[spec.provider]!
  const urlName = `${preset.env}_BASE_URL`
  const keyName = `${preset.env}_API_KEY`
  return OpenAiCompatible.layerConfig({
    baseUrl: preset.baseUrl === undefined
      ? Settings.baseUrl(urlName, "http://127.0.0.1:8000/v1")
      : Config.map(Settings.optionalBaseUrl(urlName, preset.baseUrl), (url) => url ?? preset.baseUrl!),
    model: Config.succeed(spec.model),
    apiKey: preset.keyRequired ? Settings.apiKey(keyName, preset.key) : Settings.optionalApiKey(keyName, preset.key),
    provider: Config.succeed(spec.provider)
  })
}

/**
 * The model named by a model string read from `Config`, by default `EFFECT_AGENTS_MODEL`.
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
  Layer.unwrapEffect(
    Effect.map(
      Config.mapOrFail(Config.option(Config.string(name)), (text) =>
        Option.isNone(text)
          ? Either.left(ConfigError.MissingData([name], `${name} is not set: set it to "provider:model", e.g. "openai:gpt-4o-mini".`))
          : Either.mapLeft(parse(text.value), (message) => ConfigError.InvalidData([name], `${name} is malformed: ${message}.`))),
      layer
    )
  )
