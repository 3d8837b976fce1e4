/**
 * effect-agents: typed AI agents for TypeScript, built on Effect.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Agent from "./Agent.js"

/** @since 0.1.0 */
export * as AgentError from "./AgentError.js"

/** @since 0.3.0 */
export * as Approval from "./Approval.js"

/** @since 0.3.0 */
export * as Guardrail from "./Guardrail.js"

/** @since 0.1.0 */
export * as Printer from "./Printer.js"

/** @since 0.1.0 */
export * as Retry from "./Retry.js"

/** @since 0.1.0 */
export * as Run from "./Run.js"

/** @since 0.1.0 */
export * as RunEvent from "./RunEvent.js"

/** @since 0.1.0 */
export * as RunRecord from "./RunRecord.js"

/** @since 0.2.0 */
export * as Runnable from "./Runnable.js"

/** @since 0.1.0 */
export * as Team from "./Team.js"

/** @since 0.1.0 */
export * as Registry from "./Registry.js"

/** @since 0.3.0 */
export * as Workflow from "./Workflow.js"
