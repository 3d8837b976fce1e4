/**
 * The command line: `effect-agents serve`, `effect-agents run <agent> "<input>"` and
 * `effect-agents chat <agent>`, an `@effect/cli` `Command` that an application can embed.
 *
 * The commands run the agents and teams of a module (`--agents <path>`, whose default export is a
 * `Layer` of the `Registry`; by default the built-in examples), on the model chosen by
 * `EFFECT_AGENTS_MODEL` or else on the local LLM simulator, with sessions in a SQLite file of the
 * data folder. What they run on (the `Backend`) and the terminal they talk to (`Stdio`) are services,
 * so a test provides other ones.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as PlatformRuntime from "@effect/platform/Runtime"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { constVoid } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Readline from "node:readline"
import { pathToFileURL } from "node:url"
import DefaultAgents from "../examples/agents.js"
import type * as HttpApp from "../layers/HttpApp.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Provider from "../layers/Provider.js"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"
import * as Simulator from "../layers/Simulator.js"
import type * as Memory from "../services/Memory.js"
import type * as SessionStore from "../services/SessionStore.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Printer from "../src/Printer.js"
import * as Registry from "../src/Registry.js"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * The agent or team asked for is not in the registry.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownAgent extends Schema.TaggedError<UnknownAgent>("effect-agents/UnknownAgent")("UnknownAgent", {
  name: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  override get message() {
    return `There is no agent or team called "${this.name}". Available: ${
      this.available.length === 0 ? "none" : this.available.join(", ")
    }.`
  }
}

/**
 * The module given with `--agents` cannot be used: it is missing, does not load, has no default
 * export that is a `Layer` of the `Registry`, or its layer fails.
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentsModuleError extends Schema.TaggedError<AgentsModuleError>("effect-agents/AgentsModuleError")(
  "AgentsModuleError",
  { path: Schema.String, reason: Schema.String }
) {
  override get message() {
    return `The agents module "${this.path}" ${this.reason}`
  }
}

/**
 * The data folder cannot be created.
 *
 * @since 0.1.0
 * @category errors
 */
export class DataDirectoryError extends Schema.TaggedError<DataDirectoryError>("effect-agents/DataDirectoryError")(
  "DataDirectoryError",
  { path: Schema.String, reason: Schema.String }
) {
  override get message() {
    return `The data folder "${this.path}" cannot be created: ${this.reason}`
  }
}

/**
 * The command was stopped by a signal, SIGINT (Ctrl-C) or SIGTERM, before it finished. The run in
 * flight was interrupted (and recorded so in its session).
 *
 * @since 0.1.0
 * @category errors
 */
export class Cancelled extends Schema.TaggedError<Cancelled>("effect-agents/Cancelled")("Cancelled", {
  signal: Schema.Literal("SIGINT", "SIGTERM"),
  /** Whether the command stopped within its grace period; if not, it was left behind. */
  stopped: Schema.Boolean
}) {
  override get message() {
    return this.stopped
      ? "cancelled"
      : `cancelled (it did not stop within ${Duration.format(stopGrace)}, so the process exits without waiting)`
  }
}

/**
 * How a command can fail (besides an invalid command line, which `@effect/cli` reports itself).
 *
 * @since 0.1.0
 * @category errors
 */
export type Error =
  | Cancelled
  | UnknownAgent
  | AgentsModuleError
  | DataDirectoryError
  | Registry.Error
  | SessionStore.SessionStoreError
  | Simulator.SimulatorError
  | ConfigError.ConfigError
  | HttpApp.HttpAppError

// -----------------------------------------------------------------------------
// The terminal
// -----------------------------------------------------------------------------

/**
 * Where the commands write and where `chat` reads its lines.
 *
 * @since 0.1.0
 * @category models
 */
export interface StdioService {
  /** Writes to standard output. */
  readonly out: (text: string) => Effect.Effect<void>
  /** Writes to standard error: notices and errors, so that the output of `run` can be piped. */
  readonly err: (text: string) => Effect.Effect<void>
  /** The next line of input, `None` at its end; `prompt` is shown when the input is a terminal. */
  readonly readLine: (prompt: string) => Effect.Effect<Option.Option<string>>
  /** Whether printed runs are styled; `undefined` lets the printer decide from stdout. */
  readonly color?: boolean | undefined
  /**
   * Completes with the first SIGINT (Ctrl-C) or SIGTERM the process receives: how `run` and `chat`
   * know to cancel and `serve` to shut down.
   */
  readonly interrupted: Effect.Effect<Signal>
}

/**
 * The signals that stop a command.
 *
 * @since 0.1.0
 * @category models
 */
export type Signal = "SIGINT" | "SIGTERM"

/**
 * @since 0.1.0
 * @category tags
 */
export class Stdio extends Context.Tag("effect-agents/Cli/Stdio")<Stdio, StdioService>() {}

const write = (stream: NodeJS.WriteStream) => (text: string) =>
  Effect.async<void>((resume) => {
    // The callback comes once the text is handed to the OS, so a fast run cannot outgrow the pipe.
    stream.write(text, () => resume(Effect.void))
  })

/**
 * The first SIGINT or SIGTERM from now on. The listeners go as soon as one arrives, so that a second
 * signal, sent while the command winds down, ends the process at once as it would without them.
 */
const firstSignal: Effect.Effect<Deferred.Deferred<Signal>, never, Scope.Scope> = Effect.gen(function*() {
  const signal = yield* Deferred.make<Signal>()
  const onInterrupt = () => received("SIGINT")
  const onTerminate = () => received("SIGTERM")
  const remove = () => {
    process.removeListener("SIGINT", onInterrupt)
    process.removeListener("SIGTERM", onTerminate)
  }
  const received = (name: Signal) => {
    remove()
    Deferred.unsafeDone(signal, Exit.succeed(name))
  }
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      process.on("SIGINT", onInterrupt)
      process.on("SIGTERM", onTerminate)
    }),
    () => Effect.sync(remove)
  )
  return signal
})

/**
 * The process's stdin, stdout and stderr, and its signals. Stdin is opened at the first `readLine`,
 * as a terminal (line editing, a prompt) when it is one and as lines of a pipe otherwise, and
 * closed with the layer. Ctrl-C at the prompt is a SIGINT, as it is elsewhere. SIGINT and SIGTERM
 * are listened for from when the layer is built, so that none is missed before a command waits.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStdio: Layer.Layer<Stdio> = Layer.scoped(
  Stdio,
  Effect.gen(function*() {
    const signal = yield* firstSignal
    const scope = yield* Effect.scope
    const input = yield* Effect.cached(
      Effect.gen(function*() {
        const interactive = process.stdin.isTTY === true
        const lines = yield* Mailbox.make<string>()
        const reader = yield* Effect.acquireRelease(
          Effect.sync(() =>
            Readline.createInterface({
              input: process.stdin,
              ...(interactive ? { output: process.stdout, terminal: true } : { terminal: false })
            })
          ),
          (reader) => Effect.sync(() => reader.close())
        )
        reader.on("line", (line) => lines.unsafeOffer(line))
        reader.on("close", () => lines.unsafeDone(Exit.void))
        // In raw mode Ctrl-C is a key, not a signal: make it the signal the runtime listens to.
        reader.on("SIGINT", () => process.kill(process.pid, "SIGINT"))
        return { interactive, lines, reader }
      }).pipe(Scope.extend(scope))
    )
    return Stdio.of({
      out: write(process.stdout),
      err: write(process.stderr),
      interrupted: Deferred.await(signal),
      readLine: (prompt) =>
        Effect.flatMap(input, ({ interactive, lines, reader }) =>
          Effect.zipRight(
            interactive
              ? Effect.sync(() => {
                reader.setPrompt(prompt)
                reader.prompt()
              })
              : Effect.void,
            Effect.option(lines.take)
          ))
    })
  })
)

// -----------------------------------------------------------------------------
// What the commands run on
// -----------------------------------------------------------------------------

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
 * What a registry of agents may need from the application: the model, the session store and the
 * memory store.
 *
 * @since 0.1.0
 * @category models
 */
export type AgentsRequirements = LanguageModel.LanguageModel | SessionStore.SessionStore | Memory.Memory

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
 * A configuration error as one line: each missing or malformed setting by its variable's name.
 * The layers' own messages name it already; Effect's say "<redacted>" for a secret, or quote a
 * value (never a secret's: a `Config.redacted` is any string).
 */
const describeConfigError = (error: ConfigError.ConfigError): string => {
  const lines = ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, left: Array<string>, right: Array<string>) => [...left, ...right],
    orCase: (_, left: Array<string>, right: Array<string>) => [...left, ...right],
    invalidDataCase: (_, path, message) => [setting(path, message, "is invalid")],
    missingDataCase: (_, path, message) => [setting(path, message, "is not set")],
    sourceUnavailableCase: (_, path, message) => [setting(path, message, "cannot be read")],
    unsupportedCase: (_, path, message) => [setting(path, message, "is not supported")]
  })
  return [...new Set(lines)].join(" ")
}

const setting = (path: ReadonlyArray<string>, message: string, problem: string): string => {
  // The environment provider names a nested setting with its path joined by "_".
  const name = path.join("_")
  const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`)
  if (message === "<redacted>" || message.startsWith(`Expected ${name} to exist`)) {
    return `${name} ${problem}: set it in the environment.`
  }
  if (name.length === 0 || message.includes(name)) return sentence(message)
  return sentence(`${name} ${problem}: ${message}`)
}

const describeError = (error: unknown): string => {
  if (ConfigError.isConfigError(error)) return describeConfigError(error)
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    if (error.message.length > 0) return error.message
  }
  return String(error)
}

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

/**
 * The live terminal and backend: what `bin.ts` provides, with `NodeContext.layer`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Stdio | Backend, never, FileSystem.FileSystem | Path.Path> = Layer.merge(
  layerStdio,
  layerBackend
)

// -----------------------------------------------------------------------------
// Commands
// -----------------------------------------------------------------------------

const agentsOption = Options.file("agents").pipe(
  Options.withDescription(
    "A module whose default export is a Layer of the Registry (default: the built-in example agents)"
  ),
  Options.optional
)

const dataOption = Options.directory("data").pipe(
  Options.withDescription("The folder of the session database (default: $EFFECT_AGENTS_DATA_DIR, else ./data)"),
  Options.withFallbackConfig(Config.string("EFFECT_AGENTS_DATA_DIR").pipe(Config.withDefault("data")))
)

const sessionOption = Options.text("session").pipe(
  Options.withDescription("The session to continue (its earlier turns are sent with the input)"),
  Options.optional
)

const userOption = Options.text("user").pipe(
  Options.withDescription("Whose session it is (default: anonymous)"),
  Options.optional
)

const agentArg = Args.text({ name: "agent" }).pipe(Args.withDescription("The name of the agent or team"))

/** What a command's agents run with. */
interface Running {
  readonly registry: Registry.Service
  readonly model: ModelInfo
  readonly dataDirectory: string
}

// Runs' spans and metrics go to OTEL_EXPORTER_OTLP_ENDPOINT when it is set (see
// `Telemetry.layerConfig`), flushed when the command ends; nothing is exported otherwise.
const layerTelemetry: Layer.Layer<never, Error> = Layer.unwrapEffect(
  Effect.map(
    Effect.promise(() => import("../layers/Telemetry.js")),
    (Telemetry) => Telemetry.layerConfig({ serviceName: "effect-agents" })
  )
)

/** Builds the agents, their model and their store for the length of `use`. */
const withAgents = <A, E, R>(
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
 * How long a cancelled `run` or `chat` may take to stop (its run interrupted and recorded, its
 * connections and files closed) before the process exits without it: a second is what a user waits
 * for after Ctrl-C.
 */
const stopGrace = Duration.millis(800)

/**
 * `work`, stopped by the first SIGINT or SIGTERM: it is interrupted and the command fails with
 * `Cancelled` once it has stopped, or after `stopGrace` if it has not.
 */
const cancellable = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E | Cancelled, R | Stdio> =>
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
const untilInterrupted = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<void, E, R | Stdio> =>
  Effect.flatMap(Stdio, (stdio) => Effect.raceFirst(Effect.asVoid(work), Effect.asVoid(stdio.interrupted)))

const modelLine = (model: ModelInfo): string =>
  model.simulatorUrl === undefined
    ? `Model: ${model.name} (from EFFECT_AGENTS_MODEL)`
    : `Model: the local LLM simulator on ${model.simulatorUrl} — a simulator, not a model: its replies are ` +
      `generated locally. Set EFFECT_AGENTS_MODEL (e.g. openai:gpt-4o-mini) for a real model.`

/** The entry called `name`; a name that differs only in case is accepted when it is unambiguous. */
const lookup = (registry: Registry.Service, name: string): Effect.Effect<Registry.Entry, UnknownAgent> => {
  const exact = registry.get(name)
  if (Option.isSome(exact)) return Effect.succeed(exact.value)
  const similar = registry.entries.filter((entry) => entry.name.toLowerCase() === name.toLowerCase())
  return similar.length === 1
    ? Effect.succeed(similar[0]!)
    : Effect.fail(new UnknownAgent({ name, available: registry.entries.map((entry) => entry.name) }))
}

const printTurn = (entry: Registry.Entry, input: string, options: Registry.RunOptions) =>
  Effect.flatMap(Stdio, (stdio) => {
    const printing = { write: stdio.out, color: stdio.color, markdown: true }
    // A run that pauses for approval asks at the terminal, then goes on (and may ask again).
    const decided = (effect: Effect.Effect<unknown, Registry.Error>): Effect.Effect<unknown, Registry.Error> =>
      Effect.catchIf(
        effect,
        (error): error is RunPaused => error._tag === "RunPaused" && entry.resume !== undefined,
        (paused) =>
          Effect.flatMap(
            Effect.forEach(paused.pending, (request) => decide(stdio, request)),
            (decisions) => decided(Printer.printRun(entry.resume!(paused.state, decisions), input, printing))
          )
      )
    return decided(Printer.printStream(entry.stream(input, options), input, printing))
  })

/**
 * Asks the terminal for a decision on one call: `y` approves, `n` rejects (with a reason), `e`
 * approves with arguments typed as JSON (decoded with the tool's schema when the run resumes). No
 * more input rejects.
 */
const decide = (stdio: StdioService, request: Approval.Request): Effect.Effect<Approval.Decision> =>
  Effect.gen(function*() {
    const call = `${[...request.path, request.tool].join("/")}(${JSON.stringify(request.arguments)})`
    if (request.kind === "input") {
      // A tool's question: the line typed is its answer (as JSON when it reads as JSON).
      const line = yield* stdio.readLine(`${call} asks; your answer › `)
      if (Option.isNone(line)) return Approval.reject(request, "No one answered.")
      const parsed = Schema.decodeUnknownEither(Schema.parseJson())(line.value)
      return Approval.answer(request, Either.isRight(parsed) ? parsed.right : line.value)
    }
    while (true) {
      const answer = yield* stdio.readLine(`Approve ${call}? [y]es / [n]o / [e]dit › `)
      if (Option.isNone(answer)) return Approval.reject(request, "No one answered.")
      const choice = answer.value.trim().toLowerCase()
      if (choice === "y" || choice === "yes") return Approval.approve(request)
      if (choice === "n" || choice === "no") {
        const reason = yield* stdio.readLine("Why not? › ")
        const why = Option.getOrElse(Option.map(reason, (text) => text.trim()), () => "")
        return Approval.reject(request, why.length > 0 ? why : "A person said no.")
      }
      if (choice === "e" || choice === "edit") {
        const edited = yield* stdio.readLine("Arguments as JSON › ")
        if (Option.isNone(edited)) return Approval.reject(request, "No one answered.")
        const parsed = Schema.decodeUnknownEither(Schema.parseJson())(edited.value)
        if (Either.isRight(parsed)) return Approval.approve(request, { arguments: parsed.right })
        yield* stdio.err("That is not JSON; answer again.\n")
        continue
      }
      yield* stdio.err("Answer y, n or e.\n")
    }
  })

/**
 * `run <agent> "<input>"`: one run, printed as it streams.
 *
 * @since 0.1.0
 * @category commands
 */
export const runCommand = Command.make(
  "run",
  {
    agent: agentArg,
    input: Args.text({ name: "input" }).pipe(Args.withDescription("The message")),
    agents: agentsOption,
    data: dataOption,
    session: sessionOption,
    user: userOption
  },
  (flags) =>
    cancellable(withAgents(flags, ({ model, registry }) =>
      Effect.gen(function*() {
        const stdio = yield* Stdio
        const entry = yield* lookup(registry, flags.agent)
        yield* stdio.err(`${modelLine(model)}\n`)
        yield* printTurn(entry, flags.input, {
          sessionId: Option.getOrUndefined(flags.session),
          userId: Option.getOrUndefined(flags.user)
        })
      })))
).pipe(Command.withDescription("Run an agent or team once and print its answer as it streams"))

/**
 * `chat <agent>`: a conversation in one session, a run per line of input, until `/exit` or the end
 * of the input.
 *
 * @since 0.1.0
 * @category commands
 */
export const chatCommand = Command.make(
  "chat",
  { agent: agentArg, agents: agentsOption, data: dataOption, session: sessionOption, user: userOption },
  (flags) =>
    cancellable(withAgents(flags, ({ dataDirectory, model, registry }) =>
      Effect.gen(function*() {
        const stdio = yield* Stdio
        const entry = yield* lookup(registry, flags.agent)
        const sessionId = Option.getOrElse(flags.session, () => `chat-${crypto.randomUUID().slice(0, 8)}`)
        const userId = Option.getOrUndefined(flags.user)
        yield* stdio.err(
          `${modelLine(model)}\n` +
            `Chatting with ${entry.name} (${entry.kind}) in session ${sessionId}` +
            `${userId === undefined ? "" : ` of ${userId}`}, stored in ${dataDirectory}.\n` +
            `Continue it later with --session ${sessionId}. Type /exit or press Ctrl-D to leave.\n`
        )
        while (true) {
          const line = yield* stdio.readLine("› ")
          if (Option.isNone(line)) break
          const input = line.value.trim()
          if (input === "/exit" || input === "/quit") break
          if (input.length === 0) continue
          // A failed turn is printed by the printer and recorded in the session; the chat goes on.
          yield* Effect.ignore(printTurn(entry, input, { sessionId, userId }))
        }
      })))
).pipe(Command.withDescription("Chat with an agent or team in the terminal, one session, streamed answers"))

const servingBanner = (
  url: string,
  context: Running,
  token: boolean,
  durable?: string
): string => {
  const names = context.registry.entries.map((entry) => entry.name)
  const example = names[0] === undefined ? "<agent>" : encodeURIComponent(names[0])
  const auth = token ? ` -H "authorization: Bearer $EFFECT_AGENTS_HTTP_TOKEN"` : ""
  const run = `curl -s ${url}/agents/${example}/runs${auth} -H 'content-type: application/json'`
  return [
    `effect-agents is serving on ${url} (open it in a browser to chat with the agents)`,
    "",
    `  Web chat:          ${url}/`,
    `  Agents and teams:  ${names.length === 0 ? "none" : names.join(", ")}`,
    `  API docs:          ${url}/docs  (OpenAPI: ${url}/openapi.json)`,
    `  ${modelLine(context.model)}`,
    `  Data:              ${context.dataDirectory} (sessions.db)`,
    ...(durable === undefined ? [] : [`  Durable runs:      ${durable} (POST ${url}/durable/runs)`]),
    ...(token ? ["  Auth:              a bearer token (EFFECT_AGENTS_HTTP_TOKEN) is required"] : []),
    "",
    "Try it:",
    `  ${run} -d '{"input":"Hello"}'`,
    `  ${run.replace("curl -s", "curl -N")} -d '{"input":"Hello","stream":true}'`,
    "",
    "Ctrl-C stops it (runs in flight get a grace period to finish).",
    ""
  ].join("\n")
}

/**
 * `serve`: the HTTP app (see `HttpApp`) until SIGINT or SIGTERM, then a graceful shutdown. Its
 * address and token are read from `EFFECT_AGENTS_HTTP_HOST`, `_PORT` and `_TOKEN` unless
 * `--host` and `--port` are given.
 *
 * @since 0.1.0
 * @category commands
 */
export const serveCommand = Command.make(
  "serve",
  {
    agents: agentsOption,
    data: dataOption,
    host: Options.text("host").pipe(
      Options.withDescription("The address to listen on (default: $EFFECT_AGENTS_HTTP_HOST, else 127.0.0.1)"),
      Options.optional
    ),
    port: Options.integer("port").pipe(
      Options.withDescription("The port, 0 for any free one (default: $EFFECT_AGENTS_HTTP_PORT, else 3000)"),
      Options.optional
    ),
    durable: Options.text("durable").pipe(
      Options.withDescription(
        "A SQLite file for durable background runs (POST /durable/runs): they survive a restart of the server"
      ),
      Options.optional
    )
  },
  (flags) =>
    untilInterrupted(withAgents(flags, (context) =>
      Effect.gen(function*() {
        const stdio = yield* Stdio
        const token = Option.isSome(yield* Config.option(Config.redacted("EFFECT_AGENTS_HTTP_TOKEN")))
        // Loaded here, so that `run` and `chat` do not load the HTTP stack.
        const HttpApp = yield* Effect.promise(() => import("../layers/HttpApp.js"))
        const path = yield* Path.Path
        const durable = Option.map(flags.durable, (file) => path.resolve(file))
        const app = HttpApp.layerConfig({
          ...(Option.isSome(flags.host) ? { host: flags.host.value } : {}),
          ...(Option.isSome(flags.port) ? { port: flags.port.value } : {}),
          ...(Option.isSome(durable) ? { durable: { filename: durable.value } } : {})
        }).pipe(
          Layer.provide(Layer.succeed(Registry.Registry, context.registry))
        )
        yield* Effect.gen(function*() {
          const { url } = yield* HttpApp.HttpApp
          yield* stdio.out(servingBanner(url, context, token, Option.getOrUndefined(durable)))
          return yield* Effect.never
        }).pipe(Effect.provide(app))
      })))
).pipe(Command.withDescription("Serve the agents and teams over HTTP, with an OpenAPI document and a Swagger page"))

/**
 * `mcp`: the agents and teams as the tools of an MCP server over stdio (see `McpServer`), until the
 * client closes stdin or SIGINT or SIGTERM. Stdout is the protocol's: nothing else is written there.
 *
 * @since 0.3.0
 * @category commands
 */
export const mcpCommand = Command.make(
  "mcp",
  { agents: agentsOption, data: dataOption },
  (flags) =>
    untilInterrupted(withAgents(flags, (context) =>
      Effect.gen(function*() {
        // Loaded here, so that the other commands do not load the MCP server.
        const McpServer = yield* Effect.promise(() => import("../layers/McpServer.js"))
        yield* McpServer.runStdio().pipe(Effect.provideService(Registry.Registry, context.registry))
      })))
).pipe(Command.withDescription("Serve the agents and teams as MCP tools over stdio, for an MCP client to start"))

/**
 * The `effect-agents` command and its subcommands.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("effect-agents", {}, () =>
  Effect.flatMap(Stdio, (stdio) =>
    stdio.err(
      "Usage: effect-agents serve | run <agent> \"<input>\" | chat <agent> | mcp   (effect-agents <command> --help for more)\n"
    ))).pipe(
  Command.withDescription("Run, chat with and serve effect-agents agents and teams"),
  Command.withSubcommands([serveCommand, runCommand, chatCommand, mcpCommand])
)

const report = (cause: Cause.Cause<unknown>) =>
  Effect.flatMap(Stdio, (stdio) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.void
    const failures = [...Cause.failures(cause)].filter((error) => !ValidationError.isValidationError(error))
    const defects = [...Cause.defects(cause)]
    return Effect.forEach([
      ...failures.map((error) => `effect-agents: ${describeError(error)}\n`),
      ...defects.map((defect) => Cause.pretty(Cause.die(defect)) + "\n")
    ], stdio.err, { discard: true })
  })

/**
 * Runs the command line `argv` (as `process.argv`: the runtime and the script first). Errors are
 * written to stderr as one line each (a defect with its trace) and the effect fails with them.
 * `run` and `chat` stop at SIGINT or SIGTERM with `Cancelled`; `serve` shuts down and succeeds.
 * {@link runMain} turns the outcome into the process's exit code.
 *
 * @since 0.1.0
 * @category running
 */
export const run = (
  argv: ReadonlyArray<string>
): Effect.Effect<void, Error | ValidationError.ValidationError, CliApp.CliApp.Environment | Stdio | Backend> =>
  Command.run(command, { name: "effect-agents", version: "0.1.0" })(argv).pipe(
    Effect.tapErrorCause(report),
    plainUnlessTerminal
  )

// The help and the messages of @effect/cli are styled with ANSI escapes: a pipe, a file or NO_COLOR
// gets them plain.
const styles = /\u001b\[[0-9;]*m/g
const unstyled = (args: ReadonlyArray<unknown>) =>
  args.map((arg) => (typeof arg === "string" ? arg.replace(styles, "") : arg))

const withoutStyles = (console: Console.Console): Console.Console => ({
  ...console,
  log: (...args) => console.log(...unstyled(args)),
  error: (...args) => console.error(...unstyled(args))
})

const plainUnlessTerminal = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined
    ? effect
    : Effect.consoleWith((console) => Effect.withConsole(effect, withoutStyles(console)))

/**
 * The exit code of a command line's outcome: 0 when it succeeded, 130 when SIGINT cancelled it and
 * 143 when SIGTERM did (128 and the signal's number, as a shell reports a process the signal
 * ended), 1 for any other failure.
 *
 * @since 0.1.0
 * @category running
 */
export const exitCode = <A, E>(exit: Exit.Exit<A, E>): number => {
  if (Exit.isSuccess(exit)) return 0
  for (const error of Cause.failures(exit.cause)) {
    if (error instanceof Cancelled) return error.signal === "SIGINT" ? 130 : 143
  }
  return Cause.isInterruptedOnly(exit.cause) ? 130 : 1
}

const runNodeMain = PlatformRuntime.makeRunMain(({ fiber, teardown }) => {
  // A program waiting on nothing but a fiber holds no handle that keeps Node running.
  const keepAlive = setInterval(constVoid, 2 ** 31 - 1)
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    // Exits at once when the command failed or was cancelled: what it left behind is not waited for.
    teardown(exit, (code) => code === 0 ? undefined : process.exit(code))
  })
})

/**
 * Runs a command line as the program of this Node process, which exits with {@link exitCode}:
 * `bin.ts` is `Cli.run(process.argv)`, its layers, and this. Unlike `NodeRuntime.runMain`, it
 * does not interrupt the program at SIGINT or SIGTERM: each command handles them
 * (`StdioService.interrupted`), so that `run` and `chat` report a cancellation and `serve` shuts
 * down. Errors are reported by `run` itself.
 *
 * @since 0.1.0
 * @category running
 */
export const runMain = <A, E>(effect: Effect.Effect<A, E>): void =>
  runNodeMain(effect, { disableErrorReporting: true, teardown: (exit, onExit) => onExit(exitCode(exit)) })
