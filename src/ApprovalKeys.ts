/**
 * The keys of paused runs: the secret that signs a paused run's state, so that only the processes
 * sharing it resume it, and the record of spent pauses, so that a state resumes once and within the
 * keys' `ttl`. `Approval` re-exports this module: its names are `Approval.Keys`, `Approval.layerKeys`,
 * `Approval.sign`, and so on.
 *
 * @since 0.3.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { Body, type BodyEncoded, encodeBody, type State } from "./ApprovalState.js"

/**
 * What signs paused states and remembers which ones were resumed: a secret and a record of spent
 * pauses. `spend` answers `true` the first time it is given a pause's token, `false` after (or when
 * it can no longer tell, see {@link KeysOptions}). `admits` says whether a state paused at `pausedAt`
 * may still be resumed: a pause is remembered as spent only as long as it may be resumed, which is
 * what keeps the record bounded without letting a forgotten pause resume twice.
 *
 * @since 0.3.0
 * @category models
 */
export interface KeysService {
  readonly secret: Redacted.Redacted<string>
  readonly spend: (token: string) => Effect.Effect<boolean>
  readonly admits?: ((pausedAt: number | undefined) => Effect.Effect<boolean>) | undefined
}

/**
 * How long a paused run may wait to be resumed, and how many spent pauses are remembered.
 *
 * - `ttl`: a state older than this is refused (`ApprovalError`), and a spent pause is forgotten
 *   this long after it was spent. Default 24 hours.
 * - `capacity`: the most spent pauses remembered at once. When more pauses than this are resumed
 *   within `ttl`, the oldest is forgotten early, and every state paused before it was spent is
 *   refused from then on (fail closed: a forgotten pause must not resume a second time). Default
 *   100,000.
 *
 * @since 0.3.0
 * @category models
 */
export interface KeysOptions {
  readonly ttl?: Duration.DurationInput | undefined
  readonly capacity?: number | undefined
}

/**
 * Keys in memory: a secret (a random one when none is given) and the spent pauses of this process,
 * bounded by `ttl` and `capacity` (see {@link KeysOptions}).
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeKeys = (secret?: Redacted.Redacted<string>, options?: KeysOptions): KeysService => {
  const ttl = Duration.toMillis(Duration.decode(options?.ttl ?? "24 hours"))
  const capacity = Math.max(1, options?.capacity ?? 100_000)
  // Spent tokens by when they are forgotten. Every entry lives `ttl`, so insertion order is expiry
  // order and the expired ones are always at the front.
  const spent = new Map<string, { readonly spentAt: number; readonly expires: number }>()
  // States paused at or before this instant are refused: a pause spent by then may have been forgotten.
  let floor = -Infinity
  const sweep = (now: number) => {
    for (const [token, entry] of spent) {
      if (entry.expires > now) break
      spent.delete(token)
    }
  }
  return {
    secret: secret ?? Redacted.make(randomHex(32)),
    spend: (token) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        sweep(now)
        if (spent.has(token)) return false
        if (spent.size >= capacity) {
          const [oldest, entry] = spent.entries().next().value!
          spent.delete(oldest)
          floor = Math.max(floor, entry.spentAt)
        }
        spent.set(token, { spentAt: now, expires: now + ttl })
        return true
      }),
    admits: (pausedAt) =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) => pausedAt !== undefined && pausedAt > floor && now - pausedAt <= ttl
      )
  }
}

/**
 * The keys of paused runs. By default a random secret of this process, so a state resumes only in
 * the process that paused it, within 24 hours; processes that share paused runs provide the same
 * secret ({@link layerKeys}) and a shared record of spent pauses.
 *
 * @since 0.3.0
 * @category services
 */
export class Keys extends Context.Reference<Keys>()("effect-agents/Approval/Keys", {
  defaultValue: () => makeKeys()
}) {}

/**
 * Keys with this secret, and spent pauses remembered in memory (bounded by `ttl` and `capacity`,
 * see {@link KeysOptions}), or by `spend`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerKeys = (options: KeysOptions & {
  readonly secret: Redacted.Redacted<string>
  readonly spend?: ((token: string) => Effect.Effect<boolean>) | undefined
}): Layer.Layer<Keys> =>
  Layer.sync(Keys, () => {
    const keys = makeKeys(options.secret, options)
    return options.spend === undefined ? keys : { ...keys, spend: options.spend }
  })

const randomHex = (bytes: number): string =>
  Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, "0"))
    .join("")

/** A fresh random token (a pause's, a request's). */
export const makeToken = (): string => randomHex(16)

const encodeBodyEither = Schema.encodeEither(Body)

// Web Crypto's HMAC: in every runtime the package supports, with nothing to install.
const hmac = (secret: string, text: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const encoder = new TextEncoder()
    const key = await globalThis.crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"]
    )
    const signature = await globalThis.crypto.subtle.sign("HMAC", key, encoder.encode(text))
    return Array.from(new Uint8Array(signature), (byte) => byte.toString(16).padStart(2, "0")).join("")
  })

// The signed text: the encoded body and, on its own line, when it paused (JSON has no raw newline).
const signed = (body: BodyEncoded, pausedAt: number | undefined): string =>
  pausedAt === undefined ? JSON.stringify(body) : `${JSON.stringify(body)}\n${pausedAt}`

/**
 * A paused run's body, signed with the current {@link Keys} (an HMAC-SHA256 of its encoded form and
 * of when it paused, now by the `Clock`).
 *
 * @since 0.3.0
 * @category signing
 */
export const sign = (body: Body): Effect.Effect<State> =>
  Effect.flatMap(Keys, (keys) =>
    Effect.flatMap(Clock.currentTimeMillis, (pausedAt) =>
      Effect.map(hmac(Redacted.value(keys.secret), signed(encodeBody(body), pausedAt)), (signature) => ({
        body,
        pausedAt,
        signature
      }))))

/**
 * Whether a state's signature is the one the current {@link Keys} give its body, and whether the
 * keys still admit it (it paused within their `ttl`, see {@link KeysOptions}).
 *
 * @since 0.3.0
 * @category signing
 */
export const verify = (state: State): Effect.Effect<boolean> =>
  Effect.map(check(state), (verdict) => verdict === "Valid")

/**
 * What the current {@link Keys} make of a paused state: `Valid`, `Forged` (changed, or signed with
 * other keys) or `Expired` (paused longer ago than the keys' `ttl`, or before a pause they had to
 * forget).
 *
 * @since 0.3.0
 * @category signing
 */
export const check = (state: State): Effect.Effect<"Valid" | "Forged" | "Expired"> =>
  Effect.suspend(() => {
    const encoded = encodeBodyEither(state.body)
    if (Either.isLeft(encoded) || typeof state.signature !== "string") return Effect.succeed("Forged" as const)
    return Effect.flatMap(Keys, (keys) =>
      Effect.flatMap(
        hmac(Redacted.value(keys.secret), signed(encoded.right, state.pausedAt)),
        (signature) =>
          !constantTimeEqual(signature, state.signature)
            ? Effect.succeed("Forged" as const)
            : keys.admits === undefined
            ? Effect.succeed("Valid" as const)
            : Effect.map(keys.admits(state.pausedAt), (admitted) => admitted ? "Valid" as const : "Expired" as const)
      ))
  })

const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

// -----------------------------------------------------------------------------
// Resuming
// -----------------------------------------------------------------------------
