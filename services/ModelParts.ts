/**
 * A capability a `LanguageModel` service may declare: its provider's own functions, which answer
 * with response parts as the provider encoded them, beside the public `@effect/ai` interface.
 *
 * The run loop uses them when a model has them, for two reasons measured on `@effect/ai` 0.37:
 * `LanguageModel.streamText` and `generateText` decode every part against the toolkit's schemas,
 * so a tool argument the model got wrong (or an unknown tool name) fails the whole call instead of
 * going back to the model; and they build those schemas again on every call. With the encoded
 * parts, the agent decodes the arguments itself. The call's {@link Hooks} also let a model tell
 * the run what happened before it was sent (a rate limit's wait, as a `RateLimitWaited` event).
 *
 * The providers in `effect-agents/layers`, `TestModel` and `RateLimit` build their services with
 * {@link make}. Any other `LanguageModel` runs an agent through its public interface, as before.
 *
 * The capability is a non-enumerable property of the service object itself. A service that is
 * copied or wrapped (`{ ...service, streamText: logged }`) does not carry it, so the agent calls
 * the copy's public functions and the wrapper is honoured; a wrapper that wants to keep the
 * capability builds its service with {@link make} from the wrapped one's {@link get}.
 *
 * @since 0.2.0
 */
import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"

/**
 * The key of the capability on a service.
 *
 * @since 0.2.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("effect-agents/ModelParts")

/**
 * @since 0.2.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * What the caller of one model call wants to hear about, besides the answer. Every hook is
 * optional, and a model calls only those that apply to it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Hooks {
  /**
   * The call waited this long before it was sent (a rate limit's budget). Called only for a wait
   * longer than zero, before the request is sent.
   */
  readonly onWait?: ((waited: Duration.Duration) => Effect.Effect<void>) | undefined
}

/**
 * What a model says about itself, for telemetry: the provider (`gen_ai.provider.name`: `openai`,
 * `anthropic`, ...), the model it is asked for, and the server its requests go to.
 *
 * @since 0.2.0
 * @category models
 */
export interface Info {
  readonly provider: string
  readonly model: string
  readonly serverAddress?: string | undefined
  readonly serverPort?: number | undefined
}

/**
 * A model's own functions. Their parts are encoded (`Response.PartEncoded`), tool arguments as
 * the model sent them, and need no `IdGenerator`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ModelParts {
  /** The whole answer at once. */
  readonly generateText: (
    options: LanguageModel.ProviderOptions,
    hooks?: Hooks | undefined
  ) => Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>
  /** The answer as a stream of parts. */
  readonly streamText: (
    options: LanguageModel.ProviderOptions,
    hooks?: Hooks | undefined
  ) => Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
  /**
   * The push form of `streamText`, the one the run loop uses: each group of parts is handed to
   * `onParts` as it arrives, and waited for (a slow reader slows the model down), with no stream
   * pipeline per call.
   */
  readonly streamParts: <E>(
    options: LanguageModel.ProviderOptions,
    onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<void, E>,
    hooks?: Hooks | undefined
  ) => Effect.Effect<void, AiError.AiError | E>
  /** What the model says about itself (its provider, name and server), when it knows. */
  readonly info?: Info | undefined
}

/**
 * A `LanguageModel` service that carries its {@link ModelParts}.
 *
 * @since 0.2.0
 * @category models
 */
export interface WithParts extends LanguageModel.Service {
  readonly [TypeId]: ModelParts
}

/**
 * Builds a `LanguageModel` service from a model's own functions (with `@effect/ai`'s
 * `LanguageModel.make`, so its public interface is the usual one) that carries them as its
 * capability.
 *
 * @since 0.2.0
 * @category constructors
 * @example
 * ```ts
 * import type { Response } from "@effect/ai"
 * import { Effect, Stream } from "effect"
 * import { ModelParts } from "effect-agents/services"
 *
 * const finish: Response.FinishPartEncoded = {
 *   type: "finish",
 *   reason: "stop",
 *   usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 }
 * }
 *
 * // A model that always says "hi".
 * const service = ModelParts.make({
 *   generateText: () => Effect.succeed([{ type: "text", text: "hi" }, finish]),
 *   streamText: () => Stream.fromIterable<Response.StreamPartEncoded>([{ type: "text-delta", id: "0", delta: "hi" }, finish]),
 *   streamParts: (_, onParts) => onParts([{ type: "text-delta", id: "0", delta: "hi" }, finish])
 * })
 * ```
 */
export const make = (parts: ModelParts): Effect.Effect<WithParts> =>
  Effect.map(
    LanguageModel.make({
      generateText: (options) => parts.generateText(options),
      streamText: (options) => parts.streamText(options)
    }),
    (service) => Object.defineProperty(service, TypeId, { value: parts, enumerable: false }) as WithParts
  )

/**
 * The capability of a service: its own, not one of a service it was copied from or built on.
 *
 * @since 0.2.0
 * @category getters
 */
export const get = (service: LanguageModel.Service): ModelParts | undefined =>
  Object.hasOwn(service, TypeId) ? (service as WithParts)[TypeId] : undefined
