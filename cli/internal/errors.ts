/**
 * The command line's errors, and how an error is told at the terminal in one line.
 */
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import type * as HttpApp from "../../layers/HttpApp.js"
import type * as Simulator from "../../layers/Simulator.js"
import type * as SessionStore from "../../services/SessionStore.js"
import type * as Registry from "../../src/Registry.js"


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

/**
 * How long a cancelled `run` or `chat` may take to stop (its run interrupted and recorded, its
 * connections and files closed) before the process exits without it: a second is what a user waits
 * for after Ctrl-C.
 */
export const stopGrace = Duration.millis(800)

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

export const describeError = (error: unknown): string => {
  if (ConfigError.isConfigError(error)) return describeConfigError(error)
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    if (error.message.length > 0) return error.message
  }
  return String(error)
}
