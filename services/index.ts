/**
 * Service contracts: `Context.Tag`s, their interfaces and their errors. Implementations live in
 * `effect-agents/layers`.
 *
 * The model contract is `@effect/ai`'s `LanguageModel`, re-exported here: any `@effect/ai`
 * provider layer (and `TestModel`) provides it, and an agent without a `model` layer of its own
 * asks for it.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as LanguageModel from "@effect/ai/LanguageModel"

/** @since 0.1.0 */
export * as Memory from "./Memory.js"

/** @since 0.3.0 */
export * as McpClient from "./McpClient.js"

/** @since 0.2.0 */
export * as ModelParts from "./ModelParts.js"

/** @since 0.1.0 */
export * as SessionState from "./SessionState.js"

/** @since 0.1.0 */
export * as SessionStore from "./SessionStore.js"

/** @since 0.2.0 */
export * as Telemetry from "./Telemetry.js"
