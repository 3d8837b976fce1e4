/**
 * The terminal renderer behind `Printer`: sections with a gutter, word wrapping to the terminal's
 * width, markdown rendered as it streams, and plain text when the output is not styled.
 *
 * This module is the frame of a printed run; the rest is in `printer/`, a module per concept: the
 * screen and its sections (`screen`), the flow of wrapped, styled text (`flow`), the lines of tool
 * calls (`tools`), of retries, fallbacks, waits and steps (`notices`), the footer (`summary`), a
 * finished run's steps in the order of its stream (`replay`), and how values read (`format`).
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Run from "../Run.js"
import { makeScreen, type Screen, type Settings } from "./printer/screen.js"

export type { MemberView } from "./printer/replay.js"
export type { Screen, Settings } from "./printer/screen.js"

/** The frame shared by both ways of printing: the message first, the end of the run last. */
export const printing = <A, E, R>(
  settings: Settings,
  input: Run.Input,
  body: (screen: Screen, write: (text: string) => Effect.Effect<void>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const screen = makeScreen(settings)
    const { write } = settings
    return Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
      write(screen.message(inputText(input))).pipe(
        Effect.zipRight(body(screen, write)),
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.flatMap(Clock.currentTimeMillis, (now) =>
              write(screen.failed(exit.cause, Duration.millis(now - startedAt))))
        )
      ))
  })

const inputText = (input: Run.Input): string =>
  Run.lastUserText(input) ?? `(${Prompt.make(input).content.length} messages)`
