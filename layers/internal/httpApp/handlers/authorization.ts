/**
 * The bearer token: checked for the API's endpoints (`Unauthorized`) and for Chat Completions (an
 * OpenAI error), in constant time. With no token configured, every request is let through.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import * as HttpApi from "../../../../src/HttpApi.js"

const digest = (value: string) => createHash("sha256").update(value).digest()

export const authorization = (token: Redacted.Redacted | undefined) => {
  const expected = token === undefined ? undefined : digest(Redacted.value(token))
  /** Why a bearer token is refused, if it is. */
  const refusal = (given: Redacted.Redacted): string | undefined => {
    if (expected === undefined) return undefined
    const value = Redacted.value(given)
    if (value.length === 0) return "A bearer token is required: Authorization: Bearer <token>."
    // Compared as digests of equal length, in constant time.
    return timingSafeEqual(digest(value), expected) ? undefined : "The bearer token is not valid."
  }
  return Layer.mergeAll(
    Layer.succeed(HttpApi.Authorization, {
      bearer: (given) => {
        const refused = refusal(given)
        return refused === undefined ? Effect.void : Effect.fail(new HttpApi.Unauthorized({ message: refused }))
      }
    }),
    Layer.succeed(HttpApi.ChatCompletionAuthorization, {
      bearer: (given) => {
        const refused = refusal(given)
        return refused === undefined
          ? Effect.void
          : Effect.fail({
            error: { message: refused, type: "invalid_request_error", param: null, code: "invalid_api_key" } as const
          })
      }
    })
  )
}
