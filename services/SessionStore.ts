/**
 * Where conversations are kept: a session is the runs of one user under one session id, oldest
 * first, with a small state of its own. A run with a `sessionId` loads the last runs of its session
 * into the prompt and appends its own record when it ends, whether it completed, failed, was
 * cancelled or paused for approval (a resumed run is recorded again under its id when it ends).
 *
 * A session is identified by its user **and** its id ({@link SessionKey}): two users who pick the
 * same session id have two sessions, and neither ever sees the other's runs.
 *
 * Implementations: `effect-agents/layers` `SessionStoreMemory` (tests, one process) and
 * `SessionStoreSql` (SQLite, the embedded default, and PostgreSQL).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Records from "../src/RunRecord.js"

/**
 * The user a session belongs to when a run names no `userId`.
 *
 * @since 0.1.0
 * @category constants
 */
export const anonymousUser = "anonymous"

/**
 * What identifies a session: its user and its id. Every operation of the store takes both, so the
 * runs of one user are never found under another's key.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionKey = Schema.Struct({
  userId: Schema.NonEmptyString,
  sessionId: Schema.NonEmptyString
})

/**
 * @since 0.1.0
 * @category models
 */
export interface SessionKey extends Schema.Schema.Type<typeof SessionKey> {}

/**
 * How a run ended, or that it paused (the schema is `RunRecord.RunStatus`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunStatus = Records.RunStatus

/**
 * A run that died of a defect, as its record keeps it (the schema is `RunRecord.RunDefect`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunDefect = Records.RunDefect

/**
 * The record of one run in a session, what the store keeps (the schema is `RunRecord.RunRecord`).
 *
 * @since 0.1.0
 * @category models
 */
export type RunRecord = Records.RunRecord

/**
 * A session as a list shows it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SessionSummary = Schema.Struct({
  userId: Schema.String,
  sessionId: Schema.String,
  /** How many runs the session holds. */
  runs: Schema.Number,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 * @category models
 */
export interface SessionSummary extends Schema.Schema.Type<typeof SessionSummary> {}

/**
 * The stored state of a session: each key's value, encoded with its key's schema (see
 * `SessionState`).
 *
 * @since 0.1.0
 * @category models
 */
export type StateRecord = Readonly<Record<string, unknown>>

/**
 * No session of this user has this id.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>("effect-agents/SessionNotFound")(
  "SessionNotFound",
  { userId: Schema.String, sessionId: Schema.String }
) {
  override get message(): string {
    return `No session "${this.sessionId}" for user "${this.userId}"`
  }
}

/**
 * Why a store operation failed:
 *
 * - `Unavailable`: the backend could not be reached or refused the operation.
 * - `Corrupt`: stored data does not decode (a damaged row, a record of another session).
 * - `UnsupportedVersion`: the data was written by a newer version of effect-agents.
 * - `InvalidInput`: what was asked to be stored cannot be (an empty id, a value that does not
 *   encode to JSON).
 *
 * @since 0.1.0
 * @category models
 */
export const SessionStoreErrorReason = Schema.Literal("Unavailable", "Corrupt", "UnsupportedVersion", "InvalidInput")

/**
 * @since 0.1.0
 * @category models
 */
export type SessionStoreErrorReason = typeof SessionStoreErrorReason.Type

/**
 * A store operation failed. Nothing was half-written: an append either happened or it did not.
 *
 * @since 0.1.0
 * @category errors
 */
export class SessionStoreError extends Schema.TaggedError<SessionStoreError>("effect-agents/SessionStoreError")(
  "SessionStoreError",
  {
    operation: Schema.Literal("open", "load", "append", "list", "delete", "state"),
    reason: SessionStoreErrorReason,
    message: Schema.String,
    userId: Schema.optional(Schema.String),
    sessionId: Schema.optional(Schema.String),
    cause: Schema.optional(Schema.Defect)
  }
) {}

/**
 * Every failure of the store, as one union.
 *
 * @since 0.1.0
 * @category errors
 */
export type SessionError = SessionNotFound | SessionStoreError

/**
 * Which runs {@link Service.load} returns.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadOptions {
  /** Only the most recent `last` runs (still oldest first). Default: all. */
  readonly last?: number | undefined
  /** Only runs that ended so. Default: every run. */
  readonly status?: RunStatus | undefined
}

/**
 * The store's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * The runs of a session, oldest first, in the order they were appended. A session that was never
   * written fails with {@link SessionNotFound}; a row that does not decode fails with a `Corrupt`
   * {@link SessionStoreError}, never with fewer runs.
   */
  readonly load: (key: SessionKey, options?: LoadOptions) => Effect.Effect<ReadonlyArray<RunRecord>, SessionError>
  /**
   * Appends a run to the session its record names, creating the session with its first run.
   * Appends to one session are serialised: concurrent appends all land, each once, in one order.
   */
  readonly append: (record: RunRecord) => Effect.Effect<void, SessionStoreError>
  /** The sessions of a user, the most recently updated first. */
  readonly list: (userId: string) => Effect.Effect<ReadonlyArray<SessionSummary>, SessionStoreError>
  /** Deletes a session: its runs and its state. */
  readonly delete: (key: SessionKey) => Effect.Effect<void, SessionError>
  /** The session's state, each key's value encoded. */
  readonly state: (key: SessionKey) => Effect.Effect<StateRecord, SessionError>
  /**
   * Changes the session's state atomically with a pure function of the current state, creating the
   * session when it does not exist yet. Concurrent changes of one session never lose each other.
   */
  readonly modifyState: <A>(
    key: SessionKey,
    f: (state: StateRecord) => readonly [A, StateRecord]
  ) => Effect.Effect<A, SessionStoreError>
}

/**
 * The session store.
 *
 * @since 0.1.0
 * @category services
 */
export class SessionStore extends Context.Tag("effect-agents/SessionStore")<SessionStore, Service>() {}
