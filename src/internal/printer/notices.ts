/**
 * The lines that tell what happened to a run on its way, dimmed beside its output: a model call
 * tried again, a fallback model taking over, a wait for the rate limit, a workflow's step that ended.
 */
import type * as Duration from "effect/Duration"
import type { Word } from "./flow.js"
import { formatDuration, oneLine } from "./format.js"
import { DIM } from "./terminal.js"

const dim = (words: ReadonlyArray<string>): ReadonlyArray<Word> => words.map((word) => [{ text: word, codes: [DIM] }])

/** A model call tried again after `delay`, and why. */
export const retrying = (attempt: number, delay: Duration.Duration, message: string): ReadonlyArray<Word> =>
  dim([`↻ retry ${attempt} in ${formatDuration(delay)}:`, ...oneLine(message, 200).split(" ")])

/** The fallback model that took over, and why. */
export const fallback = (index: number, message: string): ReadonlyArray<Word> =>
  dim([`↪ fallback model ${index} after:`, ...oneLine(message, 200).split(" ")])

/** A wait for the model's rate limit. */
export const waited = (duration: Duration.Duration): ReadonlyArray<Word> =>
  dim([`⏳ waited ${formatDuration(duration)} for the rate limit`].flatMap((text) => text.split(" ")))

/** A workflow's step that ended: its name and time, or its error. */
export const step = (name: string, error: string | undefined, duration: Duration.Duration | undefined): ReadonlyArray<Word> =>
  dim(
    error === undefined
      ? [`▸ ${name}`, ...(duration === undefined ? [] : [`(${formatDuration(duration)})`])]
      : [`✗ ${name}:`, ...oneLine(error, 200).split(" ")]
  )
