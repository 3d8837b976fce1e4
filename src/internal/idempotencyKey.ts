/**
 * Where the idempotency key of the running tool call is kept: set around a tool's handler by the
 * tool call (for the tools annotated with `ReadsIdempotencyKey`, and every tool call of a run with
 * an executor), read by `idempotencyKey`.
 */
import * as FiberRef from "effect/FiberRef"

/** The idempotency key of the tool call whose handler is running, if any. */
export const currentIdempotencyKey: FiberRef.FiberRef<string | undefined> = FiberRef.unsafeMake<string | undefined>(
  undefined
)
