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
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import * as PlatformRuntime from "@effect/platform/Runtime"
import * as Cause from "effect/Cause"
import type * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { constVoid } from "effect/Function"
import * as Layer from "effect/Layer"
import { type Backend, layerBackend } from "./internal/backend.js"
import { chatCommand } from "./internal/chatCommand.js"
import { Cancelled, describeError, type Error } from "./internal/errors.js"
import { mcpCommand } from "./internal/mcpCommand.js"
import { runCommand } from "./internal/runCommand.js"
import { serveCommand } from "./internal/serveCommand.js"
import { layerStdio, Stdio } from "./internal/terminal.js"

export { type AgentsRequirements, loadAgents } from "./internal/agentsModule.js"
export {
  Backend,
  type BackendService,
  layerBackend,
  layerModel,
  layerStore,
  type ModelInfo,
  ModelInUse
} from "./internal/backend.js"
export { chatCommand } from "./internal/chatCommand.js"
export { AgentsModuleError, Cancelled, DataDirectoryError, type Error, UnknownAgent } from "./internal/errors.js"
export { mcpCommand } from "./internal/mcpCommand.js"
export { runCommand } from "./internal/runCommand.js"
export { serveCommand } from "./internal/serveCommand.js"
export { layerStdio, type Signal, Stdio, type StdioService } from "./internal/terminal.js"

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
