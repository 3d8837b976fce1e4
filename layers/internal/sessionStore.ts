import * as Effect from "effect/Effect"
import * as Memory from "../../services/Memory.js"
import * as SessionStore from "../../services/SessionStore.js"

/** Refuses an empty user or session id, the same way in every store. */
export const checkKey = (
  operation: SessionStore.SessionStoreError["operation"],
  key: { readonly userId: string; readonly sessionId: string }
): Effect.Effect<void, SessionStore.SessionStoreError> =>
  key.userId.length > 0 && key.sessionId.length > 0
    ? Effect.void
    : Effect.fail(
      new SessionStore.SessionStoreError({
        operation,
        reason: "InvalidInput",
        message: "A session needs a non-empty userId and sessionId",
        userId: key.userId,
        sessionId: key.sessionId
      })
    )

/** A record that cannot be stored. */
export const invalidRecord = (record: SessionStore.RunRecord, problem: string): Effect.Effect<never, SessionStore.SessionStoreError> =>
  Effect.fail(
    new SessionStore.SessionStoreError({
      operation: "append",
      reason: "InvalidInput",
      message: `The record of run "${record.runId}" cannot be stored:\n${problem}`,
      userId: record.userId,
      sessionId: record.sessionId
    })
  )

/** A fact as it is stored (trimmed), or why it cannot be. */
export const checkFact = (
  operation: Memory.MemoryError["operation"],
  userId: string,
  text: string
): Effect.Effect<string, Memory.MemoryError> => {
  const trimmed = text.trim()
  const problem = userId.length === 0
    ? "A fact needs a non-empty userId"
    : trimmed.length === 0
    ? "A fact cannot be empty"
    : trimmed.length > Memory.maxFactLength
    ? `A fact can be at most ${Memory.maxFactLength} characters long (this one has ${trimmed.length})`
    : undefined
  return problem === undefined
    ? Effect.succeed(trimmed)
    : Effect.fail(new Memory.MemoryError({ operation, reason: "InvalidInput", message: problem, userId }))
}
