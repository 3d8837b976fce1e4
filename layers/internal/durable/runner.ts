/**
 * `@effect/cluster`'s `SingleRunner.layer`, with one change to its message storage: the reset of
 * the shards a runner takes is finished, whoever stops waiting for it.
 *
 * A runner marks each message it reads from storage as read (`last_read`), and reads again only the
 * messages no runner read in the last 10 minutes. When it takes shards (at its start, from a runner
 * that died, after its own locks were unhealthy), `Sharding` clears those marks on the shards'
 * unprocessed messages (`MessageStorage.resetShards`), so that it reads at once the messages a
 * runner now gone had read and not finished: a run it was in the middle of, and that run's activity
 * in flight. It waits for that reset for its shard lock interval at most (1 second with
 * `Durable.failoverSettings`), and the timeout interrupts it, which on PostgreSQL cancels the
 * statement and rolls it back; a reset that fails is not tried again. Either way (a loaded machine
 * or database, a lost connection) the marks stay, and the taken-over runs wait, unread, for the 10
 * minutes: what made the PostgreSQL failover test hang. Here the reset runs in a fiber of its own,
 * which the timeout does not interrupt, and is tried again until it is done: the runner reads the
 * messages at its next poll after it (every second with `Durable.failoverSettings`). A reset done
 * late is harmless: a message the runner is already processing is not delivered twice.
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"

/** How a failed reset is tried again: soon at first, then every 5 seconds until it is done. */
const again = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))

/**
 * `storage` whose `resetShards` runs to its end in a fiber of the layer's scope (tried again while
 * it fails): a caller that stops waiting for it (`Sharding`'s timeout) does not cancel it.
 */
export const withFinishedResets = <E, R>(
  storage: Layer.Layer<MessageStorage.MessageStorage, E, R>
): Layer.Layer<MessageStorage.MessageStorage, E, R> =>
  Layer.scoped(
    MessageStorage.MessageStorage,
    Effect.gen(function*() {
      const inner = yield* MessageStorage.MessageStorage
      const resets = yield* FiberSet.make<void>()
      return MessageStorage.MessageStorage.of({
        ...inner,
        resetShards: (shardIds) => {
          const ids = Array.from(shardIds)
          return FiberSet.run(
            resets,
            inner.resetShards(ids).pipe(
              Effect.tapError((error) => Effect.logDebug("Durable: the reset of taken shards failed, tried again", error)),
              Effect.retry(again),
              Effect.orDie
            )
          ).pipe(
            Effect.flatMap((fiber) =>
              Effect.onInterrupt(
                Fiber.join(fiber),
                () => Effect.logDebug("Durable: the runner stopped waiting for the reset of the shards it took, which goes on")
              )
            )
          )
        }
      })
    })
  ).pipe(Layer.provide(storage))

/**
 * `SingleRunner.layer` (a runner of `@effect/cluster` on a SQL database, reaching the others through
 * it), with the same options, whose message storage finishes its resets ({@link withFinishedResets}).
 */
export const layer = (options?: {
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined
  readonly runnerStorage?: "memory" | "sql" | undefined
}): Layer.Layer<
  Sharding.Sharding | Runners.Runners | MessageStorage.MessageStorage,
  ConfigError.ConfigError,
  SqlClient.SqlClient
> =>
  Sharding.layer.pipe(
    Layer.provideMerge(Runners.layerNoop),
    Layer.provideMerge(withFinishedResets(SqlMessageStorage.layer)),
    Layer.provide([
      options?.runnerStorage === "memory" ? RunnerStorage.layerMemory : Layer.orDie(SqlRunnerStorage.layer),
      RunnerHealth.layerNoop
    ]),
    Layer.provide(ShardingConfig.layerFromEnv(options?.shardingConfig))
  )
