/**
 * The agents module of `--agents`: loaded (TypeScript through `tsx` where Node cannot load it),
 * and checked at run time to give a `Layer` of the `Registry`.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { pathToFileURL } from "node:url"
import type * as Memory from "../../services/Memory.js"
import type * as SessionStore from "../../services/SessionStore.js"
import * as Registry from "../../src/Registry.js"
import { AgentsModuleError, describeError } from "./errors.js"

/**
 * What a registry of agents may need from the application: the model, the session store and the
 * memory store.
 *
 * @since 0.1.0
 * @category models
 */
export type AgentsRequirements = LanguageModel.LanguageModel | SessionStore.SessionStore | Memory.Memory

/**
 * Imports a module of the user's. A TypeScript module loads as it is where Node can load it (under
 * `tsx`, or a Node that strips types); elsewhere, as the installed command runs on plain Node, it
 * loads through `tsx` when the project has it, and otherwise says what to do.
 */
const importModule = async (absolute: string): Promise<{ readonly default?: unknown }> => {
  const url = pathToFileURL(absolute).href
  try {
    return await import(url)
  } catch (error) {
    const code = (error as { readonly code?: unknown } | null)?.code
    if (code !== "ERR_UNKNOWN_FILE_EXTENSION" || !/\.[mc]?ts$/.test(absolute)) throw error
    const tsx = await import("tsx/esm/api").catch(() => undefined)
    if (tsx === undefined) {
      throw new Error(
        `it is TypeScript, which Node ${process.version} does not load by itself: install tsx in your project ` +
          "(npm install --save-dev tsx), run on Node 22.18 or later (which strips types), or compile it to JavaScript."
      )
    }
    return await tsx.tsImport(url, import.meta.url)
  }
}

/**
 * The agents of a module: its default export must be a `Layer` of the `Registry` that needs at
 * most the model, the session store and the memory store. The path is resolved against the
 * current directory; a TypeScript module loads under `tsx`, on a Node that strips
 * types, or through the project's own `tsx`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadAgents = (
  module: string
): Effect.Effect<Layer.Layer<Registry.Registry, AgentsModuleError, AgentsRequirements>, AgentsModuleError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const fail = (reason: string) => new AgentsModuleError({ path: module, reason })
    const absolute = path.resolve(module)
    const exists = yield* Effect.orElseSucceed(fs.exists(absolute), () => false)
    if (!exists) return yield* fail("does not exist.")
    const loaded = yield* Effect.tryPromise({
      try: () => importModule(absolute),
      catch: (error) => fail(`cannot be loaded: ${describeError(error)}`)
    })
    const layer = loaded.default
    if (!Layer.isLayer(layer)) {
      return yield* fail(
        "has no default export that is a Layer of the Registry (e.g. `export default Registry.layer([agent])`)."
      )
    }
    // The module's types are not known here: check at run time that its layer builds a registry.
    const registry = Layer.effect(
      Registry.Registry,
      Effect.flatMap(Effect.serviceOption(Registry.Registry), (found) =>
        Option.isSome(found)
          ? Effect.succeed(found.value)
          : Effect.fail(fail("has a default export that does not provide the Registry.")))
    )
    const built = (layer as Layer.Layer<Registry.Registry, unknown, AgentsRequirements>).pipe(
      Layer.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Layer.failCause(cause as Cause.Cause<never>)
          : Layer.fail(fail(`failed to build its agents: ${describeError(Cause.squash(cause))}`))
      )
    )
    return Layer.provide(registry, built)
  })
