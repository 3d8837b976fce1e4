import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type * as RunEvent from "../RunEvent.js"

/** Where a run reports its events; the run waits for each report (backpressure). */
export interface Emit {
  (event: RunEvent.RunEvent): Effect.Effect<void>
  /** Several events at once, in order: one operation for all of them instead of one per event. */
  readonly all?: ((events: ReadonlyArray<RunEvent.RunEvent>) => Effect.Effect<void>) | undefined
}

/** How many events a run may get ahead of its reader, unless its options say otherwise. */
export const defaultCapacity = 256

/**
 * A run that reports its events to `emit`, as a stream of them. The run is a fiber in the stream's
 * scope: a consumer that stops reading ends the scope, which interrupts the run and everything under
 * it. The bounded buffer gives backpressure: a slow reader slows the run down instead of buffering
 * without end. `onEvent` (a run option) sees each event first.
 */
export const fromRun = <E, R>(
  run: (emit: Emit) => Effect.Effect<unknown, E, R>,
  onEvent: Emit | undefined,
  capacity: number | undefined = defaultCapacity
): Stream.Stream<RunEvent.RunEvent, E, R> =>
  Stream.fromChannel(Channel.suspend(() => {
    const handoff = new Handoff<RunEvent.RunEvent, E>(capacity >= 1 ? Math.floor(capacity) : 1)
    const offer = (event: RunEvent.RunEvent) => Effect.suspend(() => handoff.offer(event))
    const emit: Emit = onEvent === undefined
      ? Object.assign(offer, {
        all: (events: ReadonlyArray<RunEvent.RunEvent>) => Effect.suspend(() => handoff.offerAll(events))
      })
      : (event) => Effect.zipRight(onEvent(event), offer(event))
    // The run is a fiber of its own, started as the channel's resource (uninterruptibly) and
    // interrupted, then awaited, when the reader is done, however it ends: what a scope would do,
    // without a scope. The fiber is forked in the acquisition's uninterruptible region, so the run
    // is made interruptible explicitly (a `restore` would restore the region's status).
    return Channel.acquireUseRelease(
      Effect.forkDaemon(
        Effect.uninterruptible(
          Effect.matchCauseEffect(Effect.interruptible(run(emit)), {
            onFailure: (cause) => handoff.done(Exit.failCause(cause)),
            onSuccess: () => handoff.done(Exit.void)
          })
        )
      ),
      () => handoff.channel,
      (fiber) => Fiber.interrupt(fiber)
    )
  }))

/**
 * A bounded hand-over of values from one fiber to a stream's reader. It does what a `Mailbox`
 * does here with fewer steps: a waiting reader is resumed directly with everything that arrived
 * (a `Mailbox` schedules a task that then resumes it). When events come one at a time (one per
 * network read of a streamed answer) that was most of an event's cost.
 */
class Handoff<A, E> {
  private buffer: Array<A> = []
  // How many values the reader took last: it holds them until it asks again, so they count
  // against the capacity (a reader slow to get through a batch holds the writer back).
  private outstanding = 0
  private reader: ((next: Effect.Effect<Chunk.Chunk<A> | undefined, E>) => void) | undefined
  private writer: ((next: Effect.Effect<void>) => void) | undefined
  private exit: Exit.Exit<void, E> | undefined

  constructor(readonly capacity: number) {}

  /** Adds a value; the effect waits while the reader is a full buffer behind. */
  offer(value: A): Effect.Effect<void> {
    if (this.exit !== undefined) return Effect.void
    this.buffer.push(value)
    return this.added()
  }

  offerAll(values: ReadonlyArray<A>): Effect.Effect<void> {
    if (this.exit !== undefined) return Effect.void
    for (const value of values) this.buffer.push(value)
    return this.added()
  }

  /** Ends the values: the reader gets those still buffered, then the end (or the failure). */
  done(exit: Exit.Exit<void, E>): Effect.Effect<void> {
    return Effect.sync(() => {
      this.exit = exit
      this.wakeReader()
      this.wakeWriter()
    })
  }

  private hasRoom() {
    return this.buffer.length + this.outstanding < this.capacity
  }

  private added(): Effect.Effect<void> {
    this.wakeReader()
    return this.hasRoom() ? Effect.void : this.room
  }

  private wakeReader() {
    const reader = this.reader
    if (reader !== undefined) {
      this.reader = undefined
      // Resumed lazily: what arrives before the reader runs goes out with it.
      reader(this.take)
    }
  }

  private wakeWriter() {
    const writer = this.writer
    if (writer !== undefined && (this.hasRoom() || this.exit !== undefined)) {
      this.writer = undefined
      writer(Effect.void)
    }
  }

  private readonly room: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.hasRoom() || this.exit !== undefined) return resume(Effect.void)
    this.writer = resume
    return Effect.sync(() => {
      this.writer = undefined
    })
  })

  /** Everything buffered, or the end (`undefined`), or the failure; waits when there is nothing. */
  private readonly take: Effect.Effect<Chunk.Chunk<A> | undefined, E> = Effect.suspend(() => {
    const values = this.buffer
    this.outstanding = values.length
    if (values.length > 0) this.buffer = []
    this.wakeWriter()
    if (values.length > 0) return Effect.succeed(Chunk.unsafeFromArray(values))
    const exit = this.exit
    if (exit !== undefined) return Exit.isSuccess(exit) ? Effect.succeed(undefined) : Effect.failCause(exit.cause)
    return Effect.async<Chunk.Chunk<A> | undefined, E>((resume) => {
      this.reader = resume
      return Effect.sync(() => {
        this.reader = undefined
      })
    })
  })

  readonly channel: Channel.Channel<Chunk.Chunk<A>, unknown, E, unknown, void, unknown> = Channel.flatMap(
    Channel.fromEffect(this.take),
    (values) => (values === undefined ? Channel.void : Channel.zipRight(Channel.write(values), this.channel))
  )
}
