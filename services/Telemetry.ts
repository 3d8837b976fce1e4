/**
 * What a run's telemetry may record beyond the defaults. The spans and metrics themselves follow
 * the OpenTelemetry GenAI conventions and are made only when a tracer is installed (see
 * `effect-agents/layers` `Telemetry`); this is the switch for message content.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"

/**
 * Whether spans carry message content: the prompt (`gen_ai.input.messages`), the instructions
 * (`gen_ai.system_instructions`), the answer (`gen_ai.output.messages`) and tool arguments and
 * results (`gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`). Off by default: content is
 * what users type and what tools read, and a tracing backend is rarely the place for it.
 *
 * @since 0.2.0
 * @category references
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Telemetry } from "effect-agents/services"
 *
 * // Record content for this effect's runs only.
 * const withContent = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
 *   Effect.provideService(effect, Telemetry.CaptureContent, true)
 * ```
 */
export class CaptureContent extends Context.Reference<CaptureContent>()("effect-agents/Telemetry/CaptureContent", {
  defaultValue: (): boolean => false
}) {}
