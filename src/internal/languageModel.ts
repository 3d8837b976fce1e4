import type * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type * as Stream from "effect/Stream"

/**
 * The providers this project ships build their `LanguageModel` here, which keeps the provider's own
 * encoded stream reachable beside the service. The run loop reads it to decode tool arguments
 * itself: `LanguageModel.streamText` in `@effect/ai` 0.37 decodes every part against the toolkit's
 * schemas, so an argument the model got wrong (or an unknown tool name) fails the whole call
 * instead of going back to the model, and it rebuilds those schemas on every call. Any other
 * `LanguageModel` still works through its public interface.
 *
 * The link is kept by identity, not as a property: a service that is wrapped or copied
 * (`{ ...service, streamText: logged }`) is a new object, so the wrapper is always honoured.
 */
/**
 * A model's own functions. Their parts need no `IdGenerator`: the run loop provides none, which
 * saves a context update per run. `streamParts` is the push form of `streamText`: it hands each
 * group of parts to `onParts` as it arrives and waits for it (so a slow reader slows the model
 * down), without a stream pipeline per call.
 */
export interface Raw {
  readonly generateText: (
    options: LanguageModel.ProviderOptions
  ) => Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>
  readonly streamText: (options: LanguageModel.ProviderOptions) => Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
  readonly streamParts?: <E>(
    options: LanguageModel.ProviderOptions,
    onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<void, E>
  ) => Effect.Effect<void, AiError.AiError | E>
}

const rawParams = new WeakMap<LanguageModel.Service, Raw>()

export const make = (params: Raw): Effect.Effect<LanguageModel.Service> =>
  Effect.map(LanguageModel.make(params), (service) => {
    rawParams.set(service, params)
    return service
  })

export const raw = (service: LanguageModel.Service): Raw | undefined => rawParams.get(service)

/**
 * Where a model call that had to wait (a rate limit) reports how long it waited: set by the run loop
 * for the duration of each model call of a streamed run, so the wait becomes an event of that run.
 */
export const currentWaitReporter: FiberRef.FiberRef<((waited: Duration.Duration) => Effect.Effect<void>) | undefined> =
  FiberRef.unsafeMake<((waited: Duration.Duration) => Effect.Effect<void>) | undefined>(undefined)
