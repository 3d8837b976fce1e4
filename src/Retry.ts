/**
 * Retry policies for model calls, as plain `Schedule`s over {@link AgentError.ModelError}.
 *
 * The agent retries one model call at a time (never a whole run) and only when the error says it
 * is retryable; a `Retry-After` sent by the provider lengthens the delay the schedule chose, it never
 * shortens it. Any `Schedule` works as a policy: these are the common ones.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
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
 * Exponential backoff: `base`, `base * factor`, `base * factor²`, … at most `times` retries, each
 * delay capped at `maxDelay`, and with `jitter` each delay is scaled by a random factor in [0.8, 1.2).
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Retry } from "effect-agents"
 *
 * // 1s, 2s, 4s: the seed's retry_with_backoff
 * const policy = Retry.exponential({ base: "1 second", times: 3, jitter: false })
 * ```
 */
export const exponential = (options: {
  readonly base: Duration.DurationInput
  readonly times: number
  readonly factor?: number | undefined
  readonly maxDelay?: Duration.DurationInput | undefined
  readonly jitter?: boolean | undefined
}): Policy => {
  const maxDelay = options.maxDelay === undefined ? undefined : Duration.decode(options.maxDelay)
  let schedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential(options.base, options.factor ?? 2)
  if (maxDelay !== undefined) {
    schedule = Schedule.modifyDelay(schedule, (_, delay) => Duration.min(delay, maxDelay))
  }
  if (options.jitter ?? true) schedule = Schedule.jittered(schedule)
  return Schedule.intersect(schedule, Schedule.recurs(options.times))
}

/**
 * The default: transient errors (rate limits, overload, 5xx, network, timeouts) retried 3 times with
 * exponential backoff from 500 ms and jitter, each delay at most 30 seconds.
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
