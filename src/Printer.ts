/**
 * Terminal rendering of runs: the message, the tool calls, the response and its timing. Styled,
 * wrapped to the terminal's width and live on a terminal; plain text when the output is a pipe or a
 * file (or `NO_COLOR` is set).
 *
 * A run prints as sections: `Message`, then `Tool calls` (those made before the model wrote any
 * text), then `Response`, in which later tool calls appear where they happened, between the
 * paragraphs of text, and last a line with the time the run took. A team's members' answers, with
 * `showMemberResponses`, are sections of their own, where the members ran. A run printed as it
 * streams and the same run printed when it is done read the same.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as InternalPrinter from "./internal/printer.js"
import type * as Run from "./Run.js"
import type * as RunEvent from "./RunEvent.js"

/**
 * How a run is printed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Print the response as it arrives (read by `Agent.printResponse`). Default `false`. */
  readonly stream?: boolean | undefined
  /** Render markdown (headings, emphasis, code, lists, rules) when the output is styled. */
  readonly markdown?: boolean | undefined
  /** Show each tool call with its arguments, its result or error, and its duration. Default `true`. */
  readonly showToolCalls?: boolean | undefined
  /**
   * For a team: show each member's answer (or error) in a section of its own, titled with the
   * member's name (`Research Team › Web Searcher` for a member of a member team), where the
   * delegation happened; a delegation's tool call is then not shown as well. Default `false`.
   */
  readonly showMemberResponses?: boolean | undefined
  /**
   * Style the output with colours, a gutter per section and wrapping. Default: whether stdout is a
   * terminal, `NO_COLOR` is unset and `TERM` is not `dumb`.
   */
  readonly color?: boolean | undefined
  /** The width styled output wraps at. Default: the terminal's width, or 80. Plain output never wraps. */
  readonly width?: number | undefined
  /** Where the text goes. Default: stdout. */
  readonly write?: ((text: string) => Effect.Effect<void>) | undefined
}

/**
 * Prints a finished run: the message at once, then the tool calls, the response and its timing
 * when the run is done, or an `Error` section when it fails. The run's outcome is returned as it is.
 *
 * @since 0.1.0
 * @category printing
 * @example
 * ```ts
 * import { Agent, Printer } from "effect-agents"
 *
 * const agent = Agent.make({ name: "Joker" })
 * const input = "Tell me a joke."
 *
 * const program = Printer.printRun(Agent.run(agent, input), input)
 * ```
 */
export const printRun = <A, E, R>(
  run: Effect.Effect<Run.Output<A>, E, R>,
  input: Run.Input,
  options?: Options
): Effect.Effect<Run.Output<A>, E, R> =>
  InternalPrinter.printing(resolve(options), input, (screen, write) =>
    Effect.tap(run, (output) => write(screen.replay(output) + screen.completed(output))))

/**
 * Prints a run's event stream as it happens (`Agent.stream`, `Team.stream`), Agno's
 * `apprint_run_response`: text as it arrives, tool calls as they finish, retries as they are
 * scheduled, members' answers as they finish (with `showMemberResponses`), and the timing at the
 * end. Returns the run's output; fails as the stream fails.
 *
 * @since 0.1.0
 * @category printing
 * @example
 * ```ts
 * import { Agent, Printer } from "effect-agents"
 *
 * const agent = Agent.make({ name: "Writer" })
 * const input = "Write a haiku about fibers."
 *
 * const program = Printer.printStream(Agent.stream(agent, input), input, { markdown: true })
 * ```
 */
export const printStream = <E, R>(
  events: Stream.Stream<RunEvent.RunEvent, E, R>,
  input: Run.Input,
  options?: Options
): Effect.Effect<Run.Output<unknown>, E, R> => {
  const settings = resolve(options)
  return InternalPrinter.printing(settings, input, (screen, write) =>
    Effect.suspend(() => {
      let output: Run.Output<unknown> | undefined
      let answered = false
      const toolArguments = new Map<string, unknown>()
      // Delegations whose member section stands for them.
      const delegations = new Set<string>()
      const member = (path: ReadonlyArray<string>, event: RunEvent.RunEvent): string => {
        switch (event._tag) {
          case "MemberRunCompleted":
            return screen.member([...path, event.member], { _tag: "Completed", output: event.output })
          case "MemberRunFailed":
            return screen.member([...path, event.member], { _tag: "Failed", error: event.error })
          case "MemberEvent":
            return member([...path, event.member], event.event)
          default:
            return ""
        }
      }
      const hidden = (toolCallId: string) => settings.showMemberResponses && delegations.has(toolCallId)
      const onEvent = (event: RunEvent.RunEvent): string => {
        switch (event._tag) {
          case "TextDelta":
            answered = true
            return screen.text(event.delta)
          case "ModelRequestCompleted":
            return screen.turnEnded()
          case "ToolCallStarted":
            toolArguments.set(event.toolCallId, event.arguments)
            return ""
          case "ToolCallCompleted":
            return hidden(event.toolCallId) ? "" : screen.tool({
              name: event.name,
              arguments: toolArguments.get(event.toolCallId),
              result: event.result,
              failure: undefined,
              duration: event.duration
            })
          case "ToolCallFailed":
            return hidden(event.toolCallId) ? "" : screen.tool({
              name: event.name,
              arguments: toolArguments.get(event.toolCallId),
              result: event.error,
              failure: event.reason,
              duration: event.duration
            })
          case "Retrying":
            return screen.retrying(event.attempt, event.delay, event.error.message)
          case "FallbackStarted":
            return screen.fallback(event.fallback, event.error.message)
          case "RateLimitWaited":
            return screen.waited(event.waited)
          case "MemberRunStarted":
            if (event.toolCallId !== undefined) delegations.add(event.toolCallId)
            return ""
          case "MemberRunCompleted":
          case "MemberRunFailed":
          case "MemberEvent":
            return settings.showMemberResponses ? member([], event) : ""
          case "StepCompleted":
            return screen.step(event.step, undefined, event.duration)
          case "StepFailed":
            return screen.step(event.step, event.error.message, undefined)
          case "RunCompleted":
            output = event.output
            // A routed team's answer is its member's: it arrives whole, with the end of the run.
            return answered ? "" : screen.answer(event.output)
          default:
            return ""
        }
      }
      return Stream.runForEach(events, (event) => write(onEvent(event))).pipe(
        Effect.zipRight(Effect.suspend(() =>
          output === undefined
            ? Effect.dieMessage("effect-agents: the run's events ended without a completed run")
            : Effect.succeed(output)
        )),
        Effect.tap((output) => write(screen.completed(output)))
      )
    }))
}

const stdout = (text: string) =>
  Effect.sync(() => {
    process.stdout.write(text)
  })

const resolve = (options: Options | undefined): InternalPrinter.Settings => {
  const env = process.env
  const color = options?.color ??
    (process.stdout.isTTY === true && (env["NO_COLOR"] ?? "") === "" && env["TERM"] !== "dumb")
  const write = options?.write ?? stdout
  return {
    color,
    markdown: color && options?.markdown === true,
    showToolCalls: options?.showToolCalls ?? true,
    showMemberResponses: options?.showMemberResponses ?? false,
    width: Math.max(20, Math.floor(options?.width ?? process.stdout.columns ?? 80)),
    write: (text) => (text.length === 0 ? Effect.void : write(text))
  }
}
