/**
 * What an agent remembers about a user across sessions: short facts ("prefers metric units"), each
 * with an id and timestamps, kept by the same backends as sessions.
 *
 * {@link Memory} is the store, for all users. {@link UserMemory} is the memory of one user: a run
 * with a `userId` provides it (from `Memory`), so the memory tools and the memory instructions of an
 * agent (`Agent.withMemory`) always work on the user the run is for.
 *
 * @since 0.1.0
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * One remembered fact.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Fact = Schema.Struct({
  id: Schema.String,
  userId: Schema.String,
  text: Schema.String,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Fact extends Schema.Schema.Type<typeof Fact> {}

/**
 * The longest fact, in characters: memory is for short facts, not documents.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxFactLength = 2_000

/**
 * No fact of this user has this id.
 *
 * @since 0.1.0
 * @category errors
 */
export class FactNotFound extends Schema.TaggedError<FactNotFound>("effect-agents/FactNotFound")("FactNotFound", {
  userId: Schema.String,
  id: Schema.String
}) {
  override get message(): string {
    return `No remembered fact with id "${this.id}"`
  }
}

/**
 * A memory operation failed: the backend is `Unavailable`, a stored fact is `Corrupt` or from a
 * newer version (`UnsupportedVersion`), or the fact is not one that can be stored (`InvalidInput`:
 * empty, or longer than {@link maxFactLength}).
 *
 * @since 0.1.0
 * @category errors
 */
export class MemoryError extends Schema.TaggedError<MemoryError>("effect-agents/MemoryError")("MemoryError", {
  operation: Schema.Literal("list", "remember", "update", "forget", "clear"),
  reason: Schema.Literal("Unavailable", "Corrupt", "UnsupportedVersion", "InvalidInput"),
  message: Schema.String,
  userId: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The memory store, for all users.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The user's facts, oldest first. A user with no facts has none: that is not an error. */
  readonly list: (userId: string) => Effect.Effect<ReadonlyArray<Fact>, MemoryError>
  readonly remember: (userId: string, text: string) => Effect.Effect<Fact, MemoryError>
  readonly update: (userId: string, id: string, text: string) => Effect.Effect<Fact, FactNotFound | MemoryError>
  readonly forget: (userId: string, id: string) => Effect.Effect<void, FactNotFound | MemoryError>
  /** Forgets every fact of the user. */
  readonly clear: (userId: string) => Effect.Effect<void, MemoryError>
}

/**
 * The memory store.
 *
 * @since 0.1.0
 * @category services
 */
export class Memory extends Context.Tag("effect-agents/Memory")<Memory, Service>() {}

/**
 * The memory of one user.
 *
 * @since 0.1.0
 * @category models
 */
export interface UserService {
  readonly userId: string
  readonly list: Effect.Effect<ReadonlyArray<Fact>, MemoryError>
  readonly remember: (text: string) => Effect.Effect<Fact, MemoryError>
  readonly update: (id: string, text: string) => Effect.Effect<Fact, FactNotFound | MemoryError>
  readonly forget: (id: string) => Effect.Effect<void, FactNotFound | MemoryError>
}

/**
 * The memory of the user the current run is for.
 *
 * @since 0.1.0
 * @category services
 */
export class UserMemory extends Context.Tag("effect-agents/UserMemory")<UserMemory, UserService>() {}

/**
 * The memory of one user, from the store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const forUser = (memory: Service, userId: string): UserService => ({
  userId,
  list: memory.list(userId),
  remember: (text) => memory.remember(userId, text),
  update: (id, text) => memory.update(userId, id, text),
  forget: (id) => memory.forget(userId, id)
})

const failure = Schema.Union(FactNotFound, MemoryError)

/**
 * The tool that lets the model remember a new fact about the user.
 *
 * @since 0.1.0
 * @category tools
 */
export const Remember = Tool.make("remember", {
  description: "Remember a fact about the user for future conversations. Use it for lasting facts and " +
    "preferences the user shares, one short fact per call.",
  parameters: { fact: Schema.String },
  success: Fact,
  failure,
  dependencies: [UserMemory]
})

/**
 * The tool that lets the model correct a fact it remembers.
 *
 * @since 0.1.0
 * @category tools
 */
export const UpdateMemory = Tool.make("update_memory", {
  description: "Replace a remembered fact about the user, by its id, when it has changed.",
  parameters: { id: Schema.String, fact: Schema.String },
  success: Fact,
  failure,
  dependencies: [UserMemory]
})

/**
 * The tool that lets the model forget a fact.
 *
 * @since 0.1.0
 * @category tools
 */
export const Forget = Tool.make("forget", {
  description: "Forget a remembered fact about the user, by its id, when it is wrong or the user asks.",
  parameters: { id: Schema.String },
  failure,
  dependencies: [UserMemory]
})

/**
 * The memory tools: `remember`, `update_memory` and `forget`. `Agent.withMemory` adds them to an
 * agent and provides their handlers.
 *
 * @since 0.1.0
 * @category tools
 */
export const MemoryTools = Toolkit.make(Remember, UpdateMemory, Forget)

/**
 * The facts of the current run's user.
 *
 * @since 0.1.0
 * @category accessors
 */
export const list: Effect.Effect<ReadonlyArray<Fact>, MemoryError, UserMemory> = Effect.flatMap(
  UserMemory,
  (memory) => memory.list
)

/**
 * Remembers a fact about the current run's user.
 *
 * @since 0.1.0
 * @category accessors
 */
export const remember = (text: string): Effect.Effect<Fact, MemoryError, UserMemory> =>
  Effect.flatMap(UserMemory, (memory) => memory.remember(text))
