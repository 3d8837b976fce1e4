/**
 * Rate limits for a provider: requests per minute and tokens per minute, shared by every agent that
 * uses the limited model. A call that must wait, waits before it is sent (on Effect's clock, so
 * tests drive it with `TestClock`). A streamed run reports the wait as a `RateLimitWaited` event
 * when the limited model is one of the shipped providers or `TestModel`: the limit is a plain
 * wrapper of the model, and the wait reaches the run through the hooks of the model's own
 * functions (`ModelParts`), which a model with only `@effect/ai`'s public interface has not.
 *
 * Provide the limited model once, at the level of the application, so that all agents share one
 * budget: a model layer given to an agent as its own `model` is built for each run.
 *
 * @since 0.1.0
 */
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RateLimiter from "effect/RateLimiter"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as ModelParts from "../services/ModelParts.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  readonly requestsPerMinute?: number | undefined
  /** Counted on the prompt, estimated at 4 characters a token, before the call is sent. */
  readonly tokensPerMinute?: number | undefined
}

/**
 * Waits until a call of about `tokens` tokens may be sent; returns how long it waited.
 *
 * @since 0.1.0
 * @category models
 */
export type Acquire = (tokens: number) => Effect.Effect<Duration.Duration>

/**
 * The limiter on its own: token buckets that refill over a minute.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (limits: Limits): Effect.Effect<Acquire, never, Scope.Scope> =>
  Effect.gen(function*() {
    const requests = limits.requestsPerMinute === undefined
      ? undefined
      : yield* RateLimiter.make({ limit: limits.requestsPerMinute, interval: "1 minute", algorithm: "token-bucket" })
    const tokenLimit = limits.tokensPerMinute
    const tokens = tokenLimit === undefined
      ? undefined
      : yield* RateLimiter.make({ limit: tokenLimit, interval: "1 minute", algorithm: "token-bucket" })
    return (estimate) =>
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        if (requests !== undefined) yield* requests(Effect.void)
        if (tokens !== undefined) {
          // A prompt larger than the whole budget waits for a full bucket, not forever.
          yield* tokens(Effect.void).pipe(RateLimiter.withCost(Math.max(1, Math.min(estimate, tokenLimit!))))
        }
        return Duration.millis((yield* Clock.currentTimeMillis) - start)
      })
  })

/** Roughly four characters a token, over every part of the prompt. */
export const estimateTokens = (prompt: Prompt.Prompt): number => {
  let chars = 0
  for (const message of prompt.content) {
    if (typeof message.content === "string") {
      chars += message.content.length
      continue
    }
    for (const part of message.content) {
      if (part.type === "text" || part.type === "reasoning") chars += part.text.length
      else if (part.type === "tool-call") chars += JSON.stringify(part.params ?? null).length
      else if (part.type === "tool-result") chars += JSON.stringify(part.result ?? null).length
    }
  }
  return Math.ceil(chars / 4)
}

/**
 * A model with rate limits: every call it makes first waits for its share of the budget.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { OpenAiCompatible, RateLimit } from "effect-agents/layers"
 *
 * const Model = RateLimit.limit(
 *   OpenAiCompatible.layer({ baseUrl: "http://127.0.0.1:11434/v1", model: "llama3.2" }),
 *   { requestsPerMinute: 60, tokensPerMinute: 100_000 }
 * )
 * ```
 */
export const limit = <E, R>(
  model: Layer.Layer<LanguageModel.LanguageModel, E, R>,
  limits: Limits
): Layer.Layer<LanguageModel.LanguageModel, E, R> =>
  Layer.scoped(
    LanguageModel.LanguageModel,
    Effect.gen(function*() {
      const service = yield* LanguageModel.LanguageModel
      const acquire = yield* make(limits)
      // The caller hears of a wait through its hooks, when it gave any.
      const wait = (prompt: Prompt.Prompt, hooks?: ModelParts.Hooks | undefined) =>
        Effect.flatMap(acquire(estimateTokens(prompt)), (waited) =>
          hooks?.onWait !== undefined && Duration.greaterThan(waited, Duration.zero)
            ? hooks.onWait(waited)
            : Effect.void)
      const parts = ModelParts.get(service)
      if (parts !== undefined) {
        // The limited model declares the wrapped one's functions, limited, and hands the hooks on.
        return yield* ModelParts.make({
          generateText: (options, hooks) => Effect.zipRight(wait(options.prompt, hooks), parts.generateText(options, hooks)),
          streamText: (options, hooks) =>
            Stream.unwrap(Effect.as(wait(options.prompt, hooks), parts.streamText(options, hooks))),
          streamParts: (options, onParts, hooks) =>
            Effect.zipRight(wait(options.prompt, hooks), parts.streamParts(options, onParts, hooks)),
          info: parts.info
        })
      }
      const limited: LanguageModel.Service = {
        generateText: (options) => Effect.zipRight(wait(Prompt.make(options.prompt)), service.generateText(options)),
        generateObject: (options) => Effect.zipRight(wait(Prompt.make(options.prompt)), service.generateObject(options)),
        streamText: (options) => Stream.unwrap(Effect.as(wait(Prompt.make(options.prompt)), service.streamText(options)))
      }
      return limited
    })
  ).pipe(Layer.provide(model))
