/**
 * Retry policies for model calls, as plain `Schedule`s over {@link AgentError.ModelError}.
 *
 * The agent retries one model call at a time (never a whole run) and only when the error says it
 * is retryable; a `Retry-After` sent by the provider lengthens the delay the schedule chose, it never
 * shortens it, up to a cap ({@link defaultMaxRetryAfter}, or the policy's own
 * {@link maxRetryAfter}). When the provider asks for a longer wait than that, the call is not
 * retried: it fails at once with its `ModelError`, whose `retryAfter` says how long the provider
 * asked for, and the caller decides. Any `Schedule` works as a policy: these are the common ones.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { dual } from "effect/Function"
import * as Schedule from "effect/Schedule"
import type * as AgentError from "./AgentError.js"

/**
 * A retry policy: a schedule fed with the failed call's error.
 *
 * @since 0.1.0
 * @category models
 */
export type Policy = Schedule.Schedule<unknown, AgentError.ModelError>

/**
 * The longest `Retry-After` a policy waits for unless it sets its own cap: 60 seconds, as the
 * official OpenAI and Anthropic SDKs. A provider that asks for longer (a quota window, an hour's
 * rate limit) gets no retry from the agent: the call fails with the provider's delay in `retryAfter`.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxRetryAfter: Duration.Duration = Duration.seconds(60)

/**
 * Sets the longest `Retry-After` a policy waits for, in place of {@link defaultMaxRetryAfter}: a
 * `Retry-After` up to `max` lengthens the policy's delay to it, a longer one ends the retries at
 * once (the call fails with the provider's `ModelError`, its `retryAfter` set).
 *
 * @since 0.1.0
 * @category combinators
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Retry } from "effect-agents"
 *
 * // Every 2 seconds, 5 times; waits as long as the provider asks, up to 5 minutes.
 * const policy = Schedule.intersect(Schedule.spaced("2 seconds"), Schedule.recurs(5)).pipe(
 *   Retry.maxRetryAfter("5 minutes")
 * )
 * ```
 */
export const maxRetryAfter: {
  (max: Duration.DurationInput): (self: Policy) => Policy
  (self: Policy, max: Duration.DurationInput): Policy
} = dual(2, (self: Policy, max: Duration.DurationInput): Policy => {
  const cap = Duration.decode(max)
  // The policy's own delay already covers a Retry-After within the cap, which is how the model
  // call knows not to apply the default cap to it.
  return Schedule.intersect(
    self,
    Schedule.identity<AgentError.ModelError>().pipe(
      Schedule.whileInput((error) => error.retryAfter === undefined || Duration.lessThanOrEqualTo(error.retryAfter, cap)),
      Schedule.addDelay((error) => error.retryAfter ?? Duration.zero)
    )
  )
})

/**
 * Exponential backoff: `base`, `base * factor`, `base * factor²`, … at most `times` retries, each
 * delay capped at `maxDelay`, and with `jitter` each delay is scaled by a random factor in [0.8, 1.2).
 * A provider's `Retry-After` lengthens a delay up to `maxRetryAfter` (default 60 seconds); a longer
 * one ends the retries at once.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Retry } from "effect-agents"
 *
 * // 1s, 2s, 4s: the seed's retry_with_backoff
 * const policy = Retry.exponential({ base: "1 second", times: 3, jitter: false })
 *
 * // A batch job that may wait out a rate limit of up to 10 minutes.
 * const patient = Retry.exponential({ base: "1 second", times: 5, maxRetryAfter: "10 minutes" })
 * ```
 */
export const exponential = (options: {
  readonly base: Duration.DurationInput
  readonly times: number
  readonly factor?: number | undefined
  readonly maxDelay?: Duration.DurationInput | undefined
  readonly jitter?: boolean | undefined
  readonly maxRetryAfter?: Duration.DurationInput | undefined
}): Policy => {
  const maxDelay = options.maxDelay === undefined ? undefined : Duration.decode(options.maxDelay)
  let schedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential(options.base, options.factor ?? 2)
  if (maxDelay !== undefined) {
    schedule = Schedule.modifyDelay(schedule, (_, delay) => Duration.min(delay, maxDelay))
  }
  if (options.jitter ?? true) schedule = Schedule.jittered(schedule)
  return maxRetryAfter(
    Schedule.intersect(schedule, Schedule.recurs(options.times)),
    options.maxRetryAfter ?? defaultMaxRetryAfter
  )
}

/**
 * The default: transient errors (rate limits, overload, 5xx, network, timeouts) retried 3 times with
 * exponential backoff from 500 ms and jitter, each delay at most 30 seconds, a `Retry-After` obeyed
 * up to 60 seconds.
 *
 * @since 0.1.0
 * @category policies
 */
export const transient: Policy = exponential({ base: "500 millis", times: 3, maxDelay: "30 seconds" })

/**
 * No retries.
 *
 * @since 0.1.0
 * @category policies
 */
export const none: Policy = Schedule.stop
