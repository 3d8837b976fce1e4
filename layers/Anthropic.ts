/**
 * Anthropic's Messages API as a `LanguageModel`, through `@effect/ai-anthropic` on undici.
 *
 * @since 0.1.0
 */
import * as AnthropicClient from "@effect/ai-anthropic/AnthropicClient"
import * as AnthropicLanguageModel from "@effect/ai-anthropic/AnthropicLanguageModel"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The model, e.g. `claude-sonnet-4-5`. */
  readonly model: string
  readonly apiKey: Redacted.Redacted
  /** Default `https://api.anthropic.com`. */
  readonly baseUrl?: string | undefined
}

/**
 * The model as a layer, with its own client and HTTP connection pool.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel> =>
  AnthropicLanguageModel.layer({ model: options.model }).pipe(
    Layer.provide(AnthropicClient.layer({ apiKey: options.apiKey, apiUrl: options.baseUrl })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

/**
 * The model as a layer, configured from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` (optional).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (model: string): Layer.Layer<LanguageModel.LanguageModel, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        apiKey: Config.redacted("ANTHROPIC_API_KEY"),
        baseUrl: Config.option(Config.string("ANTHROPIC_BASE_URL"))
      }),
      ({ apiKey, baseUrl }) => layer({ model, apiKey, baseUrl: baseUrl._tag === "Some" ? baseUrl.value : undefined })
    )
  )
