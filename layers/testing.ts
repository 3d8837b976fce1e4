/**
 * The test kit: `TestModel`, a model scripted in the process (replies per call, the prompts it was
 * sent), and `Simulator`, a local server that answers as OpenAI and Anthropic do over real HTTP,
 * with faults injected at every phase of a request. A program that only tests its agents imports
 * this entry and nothing of the providers, stores or HTTP app.
 *
 * @since 0.2.0
 */

/** @since 0.2.0 */
export * as TestModel from "./TestModel.js"

/** @since 0.2.0 */
export * as Simulator from "./Simulator.js"
