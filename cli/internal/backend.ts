/**
 * What the commands run on: the model, the store of a data folder and the agents, as the `Backend`
 * service, and its live layer.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import DefaultAgents from "../../examples/agents.js"
import * as OpenAiCompatible from "../../layers/OpenAiCompatible.js"
import * as Provider from "../../layers/Provider.js"
import * as SessionStoreSql from "../../layers/SessionStoreSql.js"
import * as Simulator from "../../layers/Simulator.js"
import type * as Memory from "../../services/Memory.js"
import type * as SessionStore from "../../services/SessionStore.js"
import type * as Registry from "../../src/Registry.js"
import { type AgentsRequirements, loadAgents } from "./agentsModule.js"
import { DataDirectoryError, type Error } from "./errors.js"

/**
 * The model the commands run on, as they announce it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelInfo {
  /** `provider:model`, or `simulator`. */
  readonly name: string
  /** The simulator's URL when the model is the local simulator. */
  readonly simulatorUrl?: string | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class ModelInUse extends Context.Tag("effect-agents/Cli/ModelInUse")<ModelInUse, ModelInfo>() {}


/**
 * What the commands run on: the model, the store in a data folder, and the agents (those of a
 * module when `--agents` names one). Each is a layer, built when a command runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface BackendService {
  readonly model: Layer.Layer<LanguageModel.LanguageModel | ModelInUse, Error>
  readonly store: (directory: string) => Layer.Layer<SessionStore.SessionStore | Memory.Memory, Error>
  readonly agents: (module: string | undefined) => Layer.Layer<Registry.Registry, Error, AgentsRequirements>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Backend extends Context.Tag("effect-agents/Cli/Backend")<Backend, BackendService>() {}

/**
 * The model named by `EFFECT_AGENTS_MODEL` (see `Provider.layerConfig`), or, when it is not set, the
 * local LLM simulator started on a free port of 127.0.0.1 for as long as the layer lives.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerModel: Layer.Layer<LanguageModel.LanguageModel | ModelInUse, Error> = Layer.unwrapScoped(
  Effect.gen(function*() {
    const configured = yield* Config.option(Config.string("EFFECT_AGENTS_MODEL"))
    if (Option.isSome(configured)) {
      return Layer.merge(Provider.layerConfig(), Layer.succeed(ModelInUse, { name: configured.value.trim() }))
    }
    // A little time between words, so that streaming shows as streaming.
    const simulator = yield* Simulator.make({ port: 0, chunkDelay: "10 millis" })
    return Layer.merge(
      OpenAiCompatible.layer({ baseUrl: simulator.openAiUrl, model: "simulator", provider: "simulator" }),
      Layer.succeed(ModelInUse, { name: "simulator", simulatorUrl: simulator.url })
    )
  })
)

/**
 * Sessions and memory in `<directory>/sessions.db` (SQLite), the folder created when missing.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (
  directory: string
): Layer.Layer<SessionStore.SessionStore | Memory.Memory, Error, FileSystem.FileSystem | Path.Path> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(directory, { recursive: true }).pipe(
      Effect.mapError((error) => new DataDirectoryError({ path: directory, reason: error.message }))
    )
    return SessionStoreSql.layerSqlite({ filename: path.join(directory, "sessions.db") })
  }))


/**
 * The backend of the command line: {@link layerModel}, {@link layerStore}, and the agents of the
 * module named by `--agents`, else the built-in examples (`examples/agents.ts`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerBackend: Layer.Layer<Backend, never, FileSystem.FileSystem | Path.Path> = Layer.effect(
  Backend,
  Effect.map(Effect.context<FileSystem.FileSystem | Path.Path>(), (context) =>
    Backend.of({
      model: layerModel,
      store: (directory) => Layer.provide(layerStore(directory), Layer.succeedContext(context)),
      agents: (module) =>
        module === undefined
          ? DefaultAgents
          : Layer.unwrapEffect(Effect.provide(loadAgents(module), context))
    }))
)
