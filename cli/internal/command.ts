/**
 * What the commands share: their options, the agents, model and store a command runs with, how a
 * signal stops a command, and the lookup of an agent by name.
 */
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Registry from "../../src/Registry.js"
import type { AgentsRequirements } from "./agentsModule.js"
import { Backend, type ModelInfo, ModelInUse } from "./backend.js"
import { Cancelled, type Error, stopGrace, UnknownAgent } from "./errors.js"
import { type Signal, Stdio } from "./terminal.js"


export const agentsOption = Options.file("agents").pipe(
  Options.withDescription(
    "A module whose default export is a Layer of the Registry (default: the built-in example agents)"
  ),
  Options.optional
)

export const dataOption = Options.directory("data").pipe(
  Options.withDescription("The folder of the session database (default: $EFFECT_AGENTS_DATA_DIR, else ./data)"),
  Options.withFallbackConfig(Config.string("EFFECT_AGENTS_DATA_DIR").pipe(Config.withDefault("data")))
)

export const sessionOption = Options.text("session").pipe(
  Options.withDescription("The session to continue (its earlier turns are sent with the input)"),
  Options.optional
)

export const userOption = Options.text("user").pipe(
  Options.withDescription("Whose session it is (default: anonymous)"),
  Options.optional
)

export const agentArg = Args.text({ name: "agent" }).pipe(Args.withDescription("The name of the agent or team"))

/** What a command's agents run with. */
export interface Running {
  readonly registry: Registry.Service
  readonly model: ModelInfo
  readonly dataDirectory: string
}

// Runs' spans and metrics go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set (see
// `Telemetry.layerConfig`), flushed when the command ends; nothing is exported otherwise.
const layerTelemetry: Layer.Layer<never, Error> = Layer.unwrapEffect(
  Effect.map(
    Effect.promise(() => import("../../layers/Telemetry.js")),
    (Telemetry) => Telemetry.layerConfig({ serviceName: "effect-agents" })
  )
)

/** Builds the agents, their model and their store for the length of `use`. */
export const withAgents = <A, E, R>(
  flags: { readonly agents: Option.Option<string>; readonly data: string },
  use: (context: Running) => Effect.Effect<A, E, R>
): Effect.Effect<
  A,
  E | Error,
  Exclude<R, Registry.Registry | ModelInUse | AgentsRequirements> | Backend | Path.Path
> =>
  Effect.gen(function*() {
    const backend = yield* Backend
    const path = yield* Path.Path
    const dataDirectory = path.resolve(flags.data)
    const app = backend.agents(Option.getOrUndefined(flags.agents)).pipe(
      Layer.provideMerge(Layer.merge(backend.model, backend.store(dataDirectory))),
      Layer.merge(layerTelemetry)
    )
    return yield* Effect.gen(function*() {
      const registry = yield* Registry.Registry
      const model = yield* ModelInUse
      return yield* use({ registry, model, dataDirectory })
    }).pipe(Effect.provide(app))
  })

/**
 * `work`, stopped by the first SIGINT or SIGTERM: it is interrupted and the command fails with
 * `Cancelled` once it has stopped, or after `stopGrace` if it has not.
 */
export const cancellable = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E | Cancelled, R | Stdio> =>
  Effect.flatMap(Stdio, (stdio) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        // A daemon, so that work that does not stop in time can be left behind.
        const fiber = yield* Effect.forkDaemon(restore(work))
        const signal = yield* restore(
          Effect.raceFirst(
            Effect.as(Fiber.await(fiber), Option.none<Signal>()),
            Effect.map(stdio.interrupted, Option.some)
          )
        ).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber)))
        if (Option.isNone(signal)) return yield* Fiber.join(fiber)
        const stopped = yield* restore(Effect.timeoutOption(Fiber.interrupt(fiber), stopGrace))
        return yield* new Cancelled({ signal: signal.value, stopped: Option.isSome(stopped) })
      })
    ))

/**
 * `work` until the first SIGINT or SIGTERM, which interrupts it (for `serve`, a graceful shutdown)
 * and then ends the command as a success.
 */
export const untilInterrupted = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<void, E, R | Stdio> =>
  Effect.flatMap(Stdio, (stdio) => Effect.raceFirst(Effect.asVoid(work), Effect.asVoid(stdio.interrupted)))

export const modelLine = (model: ModelInfo): string =>
  model.simulatorUrl === undefined
    ? `Model: ${model.name} (from EFFECT_AGENTS_MODEL)`
    : `Model: the local LLM simulator on ${model.simulatorUrl} — a simulator, not a model: its replies are ` +
      `generated locally. Set EFFECT_AGENTS_MODEL (e.g. openai:gpt-4o-mini) for a real model.`

/** The entry called `name`; a name that differs only in case is accepted when it is unambiguous. */
export const lookup = (registry: Registry.Service, name: string): Effect.Effect<Registry.Entry, UnknownAgent> => {
  const exact = registry.get(name)
  if (Option.isSome(exact)) return Effect.succeed(exact.value)
  const similar = registry.entries.filter((entry) => entry.name.toLowerCase() === name.toLowerCase())
  return similar.length === 1
    ? Effect.succeed(similar[0]!)
    : Effect.fail(new UnknownAgent({ name, available: registry.entries.map((entry) => entry.name) }))
}
