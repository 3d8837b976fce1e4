/**
 * A small typed state per session, for tools: a cart, a to-do list, the user's chosen language.
 * Each value lives under a {@link Key} that names it and describes it with a `Schema`; the values are
 * stored with the session, encoded, and every change is written through at once, atomically.
 *
 * A run with a `sessionId` provides `SessionState` bound to its session, so a tool that declares it
 * as a dependency reads and changes the state of the conversation it is called in:
 *
 * ```ts
 * import { Tool } from "@effect/ai"
 * import { Schema } from "effect"
 * import { SessionState, SessionStore } from "effect-agents/services"
 *
 * const Cart = SessionState.key("cart", Schema.Array(Schema.String), [])
 *
 * const AddToCart = Tool.make("add_to_cart", {
 *   parameters: { item: Schema.String },
 *   success: Schema.Array(Schema.String),
 *   failure: SessionStore.SessionStoreError,
 *   dependencies: [SessionState.SessionState]
 * })
 * // handler: ({ item }) => SessionState.update(Cart, (cart) => [...cart, item])
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type { SessionStoreError } from "./SessionStore.js"

/**
 * A named value of the session state, with its schema and its value before it is first set.
 *
 * @since 0.1.0
 * @category models
 */
export interface Key<A, I = A> {
  readonly name: string
  readonly schema: Schema.Schema<A, I>
  readonly initial: A
}

/**
 * Declares a state key.
 *
 * @since 0.1.0
 * @category constructors
 */
export const key = <A, I>(name: string, schema: Schema.Schema<A, I>, initial: NoInfer<A>): Key<A, I> => ({
  name,
  schema,
  initial
})

/**
 * The state of one session. Its operations fail with the store's error: a stored value that no
 * longer decodes with its key's schema is `Corrupt`, a value that does not encode `InvalidInput`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly userId: string
  readonly sessionId: string
  /** The key's value, or its `initial` value when it was never set. */
  readonly get: <A, I>(key: Key<A, I>) => Effect.Effect<A, SessionStoreError>
  readonly set: <A, I>(key: Key<A, I>, value: A) => Effect.Effect<void, SessionStoreError>
  /** Changes the key's value with `f`, atomically, and returns the new value. */
  readonly update: <A, I>(key: Key<A, I>, f: (value: A) => A) => Effect.Effect<A, SessionStoreError>
  /** Forgets the key's value: it reads as `initial` again. */
  readonly remove: <A, I>(key: Key<A, I>) => Effect.Effect<void, SessionStoreError>
}

/**
 * The state of the session the current run belongs to.
 *
 * @since 0.1.0
 * @category services
 */
export class SessionState extends Context.Tag("effect-agents/SessionState")<SessionState, Service>() {}

/**
 * Reads a key of the current session's state.
 *
 * @since 0.1.0
 * @category accessors
 */
export const get = <A, I>(key: Key<A, I>): Effect.Effect<A, SessionStoreError, SessionState> =>
  Effect.flatMap(SessionState, (state) => state.get(key))

/**
 * Sets a key of the current session's state.
 *
 * @since 0.1.0
 * @category accessors
 */
export const set = <A, I>(key: Key<A, I>, value: A): Effect.Effect<void, SessionStoreError, SessionState> =>
  Effect.flatMap(SessionState, (state) => state.set(key, value))

/**
 * Changes a key of the current session's state atomically and returns the new value.
 *
 * @since 0.1.0
 * @category accessors
 */
export const update = <A, I>(key: Key<A, I>, f: (value: A) => A): Effect.Effect<A, SessionStoreError, SessionState> =>
  Effect.flatMap(SessionState, (state) => state.update(key, f))

/**
 * Forgets a key of the current session's state.
 *
 * @since 0.1.0
 * @category accessors
 */
export const remove = <A, I>(key: Key<A, I>): Effect.Effect<void, SessionStoreError, SessionState> =>
  Effect.flatMap(SessionState, (state) => state.remove(key))
