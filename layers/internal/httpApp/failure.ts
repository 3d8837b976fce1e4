/**
 * What a client is told of a failed run: its typed failure as it is, and for a defect (a bug) an
 * `InternalError` without details, the defect going to the server's log instead.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as HttpApi from "../../../src/HttpApi.js"
import type * as Registry from "../../../src/Registry.js"

export const internalError = new HttpApi.InternalError({
  message: "The server failed to complete the run; the details are in its log."
})

export const fromCause = (cause: Cause.Cause<Registry.Error>): Effect.Effect<HttpApi.RunFailure> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return Effect.succeed(failure.value)
  return Effect.as(Effect.logError("A run died of a defect", cause), internalError)
}
