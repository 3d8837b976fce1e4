/**
 * Implementations: models (the scripted test model), and later providers and stores.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as TestModel from "./TestModel.js"
