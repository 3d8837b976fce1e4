/**
 * Implementations: models (providers, each a client and models named on it; the scripted test model;
 * the simulator), rate limits and stores.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as TestModel from "./TestModel.js"

/** @since 0.1.0 */
export * as Simulator from "./Simulator.js"

/** @since 0.1.0 */
export * as SessionState from "./SessionState.js"

/** @since 0.1.0 */
export * as SessionStoreMemory from "./SessionStoreMemory.js"

/** @since 0.1.0 */
export * as SessionStoreSql from "./SessionStoreSql.js"

/** @since 0.1.0 */
export * as OpenAiCompatible from "./OpenAiCompatible.js"

/** @since 0.1.0 */
export * as OpenAi from "./OpenAi.js"

/** @since 0.1.0 */
export * as Anthropic from "./Anthropic.js"

/** @since 0.1.0 */
export * as Provider from "./Provider.js"

/** @since 0.1.0 */
export * as RateLimit from "./RateLimit.js"

/** @since 0.1.0 */
export * as HttpApp from "./HttpApp.js"

/** @since 0.3.0 */
export * as Mcp from "./Mcp.js"

/** @since 0.2.0 */
export * as Telemetry from "./Telemetry.js"
