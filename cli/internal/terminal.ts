/**
 * The terminal the commands talk to: `Stdio`, and its live layer on the process's stdin, stdout,
 * stderr and signals.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import type * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Readline from "node:readline"

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
