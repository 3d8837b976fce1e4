/**
 * Terminal rendering of runs: the message, the tool calls, the response and its timing. Styled and
 * live on a terminal; plain text when the output is a pipe or a file (or `NO_COLOR` is set).
 *
 * @since 0.1.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Run from "./Run.js"
import type * as RunEvent from "./RunEvent.js"

/**
 * How a run is printed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Print the response as it arrives. Default `false`. */
  readonly stream?: boolean | undefined
  /** Render markdown (headings, emphasis, code, lists) on a terminal. */
  readonly markdown?: boolean | undefined
  /** Show each tool call with its arguments and result. Default `true`. */
  readonly showToolCalls?: boolean | undefined
  /** Style the output with colours. Default: whether stdout is a terminal and `NO_COLOR` is unset. */
  readonly color?: boolean | undefined
  /** Where the text goes. Default: stdout. */
  readonly write?: ((text: string) => Effect.Effect<void>) | undefined
}

interface Style {
  readonly heading: (text: string) => string
  readonly dim: (text: string) => string
  readonly error: (text: string) => string
  readonly gutter: string
}

const ansi = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`
const bold = ansi(1, 22)
const cyan = ansi(36, 39)
const red = ansi(31, 39)
const dimmed = ansi(2, 22)
const italic = ansi(3, 23)
const underline = ansi(4, 24)

const colored: Style = {
  heading: (text) => bold(cyan(text)),
  dim: dimmed,
  error: (text) => bold(red(text)),
  gutter: dimmed("┃ ")
}
const plain: Style = { heading: (text) => `${text}:`, dim: (text) => text, error: (text) => text, gutter: "" }

const stdout = (text: string) =>
  Effect.sync(() => {
    process.stdout.write(text)
  })

interface Resolved {
  readonly write: (text: string) => Effect.Effect<void>
  readonly style: Style
  readonly markdown: boolean
  readonly showToolCalls: boolean
}

const resolve = (options: Options | undefined): Resolved => {
  const color = options?.color ?? (process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined)
  return {
    write: options?.write ?? stdout,
    style: color ? colored : plain,
    markdown: color && options?.markdown === true,
    showToolCalls: options?.showToolCalls ?? true
  }
}

const indent = (style: Style, text: string) =>
  style.gutter === "" ? text : text.split("\n").map((line) => style.gutter + line).join("\n")

const section = (style: Style, title: string, body: string) =>
  `${style.gutter}${style.heading(title)}\n${indent(style, body)}\n\n`

const inputText = (input: Run.Input): string => {
  if (typeof input === "string") return input
  const messages = Prompt.make(input).content
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role === "user") {
      return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")
    }
  }
  return `(${messages.length} messages)`
}

const json = (value: unknown) => {
  const text = typeof value === "string" ? value : JSON.stringify(value)
  return text === undefined ? String(value) : text.length > 200 ? `${text.slice(0, 200)}…` : text
}

const seconds = (duration: Duration.Duration) => `${(Duration.toMillis(duration) / 1000).toFixed(1)}s`

const toolLine = (name: string, args: unknown, result: unknown, failed: boolean, duration: Duration.Duration) =>
  `• ${name}(${json(args)}) ${failed ? "failed:" : "→"} ${json(result)} (${Duration.toMillis(duration)}ms)`

/**
 * Renders markdown for a terminal, line by line: headings, emphasis, inline code, lists, rules.
 *
 * @since 0.1.0
 * @category rendering
 */
export const renderMarkdownLine = (line: string): string => {
  const heading = /^(#{1,6})\s+(.*)$/.exec(line)
  if (heading) return bold(underline(heading[2]!))
  if (/^\s*([-*_])\s*\1\s*\1[\s\-*_]*$/.test(line)) return dimmed("─".repeat(40))
  const inline = line
    .replace(/^(\s*)[-*+]\s+/, "$1• ")
    .replace(/`([^`]+)`/g, (_, code: string) => cyan(code))
    .replace(/\*\*([^*]+)\*\*/g, (_, text: string) => bold(text))
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, (_, before: string, text: string) => before + italic(text))
  return inline
}

const renderBody = (printer: Resolved, text: string) =>
  printer.markdown ? text.split("\n").map(renderMarkdownLine).join("\n") : text

const printOutput = (printer: Resolved, output: Run.Output<unknown>): string => {
  const { style } = printer
  let text = ""
  if (printer.showToolCalls && output.toolCalls.length > 0) {
    text += section(
      style,
      "Tool calls",
      output.toolCalls.map((call) =>
        toolLine(call.name, call.arguments, call.result, call.failure !== undefined, call.duration)
      ).join("\n")
    )
  }
  const body = typeof output.content === "string" ? output.content : JSON.stringify(output.content, null, 2)
  text += section(style, `Response (${seconds(output.metrics.duration)})`, renderBody(printer, body))
  return text
}

const printFailure = (printer: Resolved, error: unknown) =>
  printer.write(section(printer.style, "Error", printer.style.error(String(error))))

/**
 * Prints a run: the message first, then the tool calls and the response once the run is done.
 *
 * @since 0.1.0
 * @category printing
 */
export const printRun = <A, E, R>(
  run: Effect.Effect<Run.Output<A>, E, R>,
  input: Run.Input,
  options?: Options
): Effect.Effect<Run.Output<A>, E, R> => {
  const printer = resolve(options)
  return printer.write(section(printer.style, "Message", inputText(input))).pipe(
    Effect.zipRight(run),
    Effect.tap((output) => printer.write(printOutput(printer, output))),
    Effect.tapError((error) => printFailure(printer, error))
  )
}

/**
 * Prints a run's event stream as it happens: the seed's `apprint_run_response`. Text is written as
 * it arrives (line by line when rendering markdown), tool calls as they finish.
 *
 * @since 0.1.0
 * @category printing
 */
export const printStream = <E, R>(
  events: Stream.Stream<RunEvent.RunEvent, E, R>,
  input: Run.Input,
  options?: Options
): Effect.Effect<Run.Output<any>, E, R> =>
  Effect.suspend(() => {
    const printer = resolve(options)
    const { style, write } = printer
    let output: Run.Output<any> | undefined
    let inResponse = false
    let pendingLine = ""
    let sawTools = false
    const toolArguments = new Map<string, unknown>()
    const openResponse = `${style.gutter}${style.heading("Response")}\n${style.gutter}`
    const writeText = (delta: string): Effect.Effect<void> => {
      const head = inResponse ? "" : (sawTools ? "\n" : "") + openResponse
      inResponse = true
      if (!printer.markdown) return write(head + delta.replaceAll("\n", `\n${style.gutter}`))
      // Markdown is rendered a whole line at a time; a partial line waits for its end.
      const lines = (pendingLine + delta).split("\n")
      pendingLine = lines.pop()!
      if (lines.length === 0) return head === "" ? Effect.void : write(head)
      return write(head + lines.map(renderMarkdownLine).join(`\n${style.gutter}`) + `\n${style.gutter}`)
    }
    const onEvent = (event: RunEvent.RunEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "TextDelta":
          return writeText(event.delta)
        case "ToolCallStarted":
          toolArguments.set(event.toolCallId, event.arguments)
          return Effect.void
        case "ToolCallCompleted":
        case "ToolCallFailed": {
          if (!printer.showToolCalls) return Effect.void
          const failed = event._tag === "ToolCallFailed"
          const args = toolArguments.get(event.toolCallId)
          const line = toolLine(event.name, args, failed ? event.error : event.result, failed, event.duration)
          const head = sawTools ? "" : `${style.gutter}${style.heading("Tool calls")}\n`
          sawTools = true
          // A tool call ends any text streamed so far in this turn.
          const close = inResponse ? "\n\n" : ""
          inResponse = false
          return write(close + head + style.gutter + line + "\n")
        }
        case "RunCompleted":
          output = event.output
          return Effect.void
        default:
          return Effect.void
      }
    }
    const finish = Effect.suspend(() => {
      const rest = printer.markdown && pendingLine.length > 0 ? renderMarkdownLine(pendingLine) : ""
      const timing = output === undefined ? "" : `\n${style.gutter}${style.dim(`(${seconds(output.metrics.duration)})`)}`
      return write(`${rest}${timing}\n\n`)
    })
    return write(section(style, "Message", inputText(input))).pipe(
      Effect.zipRight(Stream.runForEach(events, onEvent)),
      Effect.zipRight(finish),
      Effect.tapError((error) => Effect.zipRight(write("\n"), printFailure(printer, error))),
      Effect.flatMap(() =>
        output === undefined ? Effect.dieMessage("effect-agents: the run ended without completing") : Effect.succeed(output)
      )
    )
  })
