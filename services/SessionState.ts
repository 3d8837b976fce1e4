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
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as SessionStore from "./SessionStore.js"

type SessionStoreError = SessionStore.SessionStoreError

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

// -----------------------------------------------------------------------------
// The state of a stored session
// -----------------------------------------------------------------------------

interface Codec {
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseError>
  readonly encode: (a: unknown) => Either.Either<unknown, ParseResult.ParseError>
}
const codecs = new WeakMap<Schema.Schema<any, any>, Codec>()
const codec = (schema: Schema.Schema<any, any>): Codec => {
  let found = codecs.get(schema)
  if (found === undefined) {
    found = { decode: Schema.decodeUnknownEither(schema), encode: Schema.encodeUnknownEither(schema) }
    codecs.set(schema, found)
  }
  return found
}

// A class: one is made on every turn of every conversation, and most turns never read it.
class StoredSessionState implements Service {
  readonly userId: string
  readonly sessionId: string
  constructor(readonly store: SessionStore.Service, readonly key: SessionStore.SessionKey) {
    this.userId = key.userId
    this.sessionId = key.sessionId
  }

  error(reason: "Corrupt" | "InvalidInput", message: string, cause: ParseResult.ParseError) {
    return new SessionStore.SessionStoreError({
      operation: "state",
      reason,
      message: `${message}:\n${ParseResult.TreeFormatter.formatErrorSync(cause)}`,
      userId: this.userId,
      sessionId: this.sessionId,
      cause
    })
  }

  read<A, I>(stateKey: Key<A, I>, state: SessionStore.StateRecord): Either.Either<A, SessionStore.SessionStoreError> {
    if (!Object.hasOwn(state, stateKey.name)) return Either.right(stateKey.initial)
    return Either.mapLeft(
      codec(stateKey.schema).decode(state[stateKey.name]) as Either.Either<A, ParseResult.ParseError>,
      (error) => this.error("Corrupt", `The stored value of "${stateKey.name}" does not match its schema`, error)
    )
  }

  write<A, I>(stateKey: Key<A, I>, value: A): Either.Either<unknown, SessionStore.SessionStoreError> {
    return Either.mapLeft(
      codec(stateKey.schema).encode(value),
      (error) => this.error("InvalidInput", `The value of "${stateKey.name}" does not match its schema`, error)
    )
  }

  get<A, I>(stateKey: Key<A, I>): Effect.Effect<A, SessionStore.SessionStoreError> {
    return Effect.flatMap(
      Effect.catchTag(this.store.state(this.key), "SessionNotFound", () => Effect.succeed<SessionStore.StateRecord>({})),
      (state) => this.read(stateKey, state)
    )
  }

  set<A, I>(stateKey: Key<A, I>, value: A): Effect.Effect<void, SessionStore.SessionStoreError> {
    return Effect.flatMap(
      this.write(stateKey, value),
      (encoded) => this.store.modifyState(this.key, (state) => [undefined, { ...state, [stateKey.name]: encoded }] as const)
    )
  }

  update<A, I>(stateKey: Key<A, I>, f: (value: A) => A): Effect.Effect<A, SessionStore.SessionStoreError> {
    return Effect.flatten(
      this.store.modifyState(
        this.key,
        (state): readonly [Either.Either<A, SessionStore.SessionStoreError>, SessionStore.StateRecord] => {
          const value = this.read(stateKey, state)
          if (Either.isLeft(value)) return [value, state]
          const next = f(value.right)
          const encoded = this.write(stateKey, next)
          if (Either.isLeft(encoded)) return [Either.left(encoded.left), state]
          return [Either.right(next), { ...state, [stateKey.name]: encoded.right }]
        }
      )
    )
  }

  remove<A, I>(stateKey: Key<A, I>): Effect.Effect<void, SessionStore.SessionStoreError> {
    return this.store.modifyState(this.key, (state) => {
      const { [stateKey.name]: _, ...rest } = state
      return [undefined, rest] as const
    })
  }
}

/** The state of one stored session, typed by its keys. */
/**
 * The state of one session as its store keeps it: each key's value encoded with the key's schema,
 * read and changed through the store (changes are atomic, as `modifyState` is). A run in a session
 * is given this; a test can make one over any store.
 *
 * @since 0.2.0
 * @category constructors
 */
export const forSession = (store: SessionStore.Service, key: SessionStore.SessionKey): Service =>
  new StoredSessionState(store, key)
