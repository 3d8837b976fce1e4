/**
 * effect-agents/http: the HTTP API of the app (its definition, OpenAPI and typed client), apart from
 * the core so that an application that does not speak HTTP does not load it.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as HttpApi from "./HttpApi.js"
