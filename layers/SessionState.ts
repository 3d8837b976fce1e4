/**
 * `SessionState` outside a run: bound to one stored session (to read or seed the state a
 * conversation's tools use), or kept in memory (to test such tools, or to run an agent whose tools
 * use state without a session).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as SessionState from "../services/SessionState.js"
import * as SessionStore from "../services/SessionStore.js"
import * as SessionStoreMemory from "./SessionStoreMemory.js"

/**
 * The state of one stored session, from the `SessionStore` in context.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SessionState as State } from "effect-agents/services"
 * import { SessionState, SessionStoreMemory } from "effect-agents/layers"
 *
 * const Cart = State.key("cart", Schema.Array(Schema.String), [])
 *
 * const cart = State.get(Cart).pipe(
 *   Effect.provide(SessionState.layer({ userId: "ada", sessionId: "s1" })),
 *   Effect.provide(SessionStoreMemory.layer)
 * )
 * ```
 */
export const layer = (key: SessionStore.SessionKey): Layer.Layer<SessionState.SessionState, never, SessionStore.SessionStore> =>
  Layer.effect(
    SessionState.SessionState,
    Effect.map(SessionStore.SessionStore, (store) => SessionState.forSession(store, key))
  )

/**
 * A session state of its own, in memory: it starts empty and lives as long as the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<SessionState.SessionState> = Layer.effect(
  SessionState.SessionState,
  Effect.map(
    SessionStoreMemory.makeSessionStore,
    (store) => SessionState.forSession(store, { userId: SessionStore.anonymousUser, sessionId: "memory" })
  )
)
