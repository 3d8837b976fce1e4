import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import type * as RunEvent from "../RunEvent.js"

export type Emit = (event: RunEvent.RunEvent) => Effect.Effect<void>

/**
 * A run that reports its events to `emit`, as a stream of them. The run is a fiber in the stream's
 * scope: a consumer that stops reading ends the scope, which interrupts the run and everything under
 * it. The bounded mailbox gives backpressure: a slow reader slows the run down instead of buffering
 * without end. `onEvent` (a run option) sees each event first.
 */
export const fromRun = <E, R>(
  run: (emit: Emit) => Effect.Effect<unknown, E, R>,
  onEvent: Emit | undefined
): Stream.Stream<RunEvent.RunEvent, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<RunEvent.RunEvent, E>({ capacity: 256 })
    const offer = (event: RunEvent.RunEvent) => Effect.asVoid(mailbox.offer(event))
    yield* run(onEvent === undefined ? offer : (event) => Effect.zipRight(onEvent(event), offer(event))).pipe(
      Mailbox.into(mailbox),
      Effect.forkScoped
    )
    return Mailbox.toStream(mailbox)
  }))
