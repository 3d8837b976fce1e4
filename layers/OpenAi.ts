/**
 * OpenAI's Responses API as a `LanguageModel`, through `@effect/ai-openai` on undici.
 *
 * @since 0.1.0
 */
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiLanguageModel from "@effect/ai-openai/OpenAiLanguageModel"
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
  /** The model, e.g. `gpt-4o-mini`. */
  readonly model: string
  readonly apiKey: Redacted.Redacted
  /** Default `https://api.openai.com/v1`. */
  readonly baseUrl?: string | undefined
}

/**
 * The model as a layer, with its own client and HTTP connection pool.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<LanguageModel.LanguageModel> =>
  OpenAiLanguageModel.layer({ model: options.model }).pipe(
    Layer.provide(OpenAiClient.layer({ apiKey: options.apiKey, apiUrl: options.baseUrl })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

/**
 * The model as a layer, configured from `OPENAI_API_KEY` and `OPENAI_BASE_URL` (optional).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (model: string): Layer.Layer<LanguageModel.LanguageModel, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        apiKey: Config.redacted("OPENAI_API_KEY"),
        baseUrl: Config.option(Config.string("OPENAI_BASE_URL"))
      }),
      ({ apiKey, baseUrl }) => layer({ model, apiKey, baseUrl: baseUrl._tag === "Some" ? baseUrl.value : undefined })
    )
  )
