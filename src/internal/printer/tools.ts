/**
 * A tool call as the printer shows it: a line with its name, arguments, result (or how it failed)
 * and time, and for a failed call the first lines of what it failed with, indented under it.
 */
import type * as Duration from "effect/Duration"
import type * as Run from "../../Run.js"
import type { Word } from "./flow.js"
import { formatDuration, json, oneLine } from "./format.js"
import { BOLD, DIM, GREEN, RED } from "./terminal.js"

/** What a tool call's line shows, from its events in a stream or from a finished run's calls. */
export interface ToolView {
  readonly name: string
  readonly arguments: unknown
  readonly result: unknown
  readonly failure: Run.ToolFailure | undefined
  readonly duration: Duration.Duration
}

/** A line of words and its indent. */
export interface Line {
  readonly words: ReadonlyArray<Word>
  readonly indent: number
}

/** The call's line, then for a failed call the detail of its failure. */
export const lines = (call: ToolView): ReadonlyArray<Line> => {
  const out: Array<Line> = [{ words: toolWords(call), indent: 0 }]
  if (call.failure !== undefined) {
    for (const detail of detailLines(call.result)) {
      const indent = detail.length - detail.trimStart().length
      out.push({ words: detail.trim().split(/\s+/).map((word) => [{ text: word, codes: [DIM] }]), indent: 4 + indent })
    }
  }
  return out
}

const failureText: Record<Run.ToolFailure, string> = {
  InvalidArguments: "failed: invalid arguments",
  UnknownTool: "failed: unknown tool",
  Failed: "failed",
  Timeout: "failed: timed out",
  Rejected: "rejected"
}

const toolWords = (call: ToolView): ReadonlyArray<Word> => {
  const head: Word = [{ text: call.name, codes: [BOLD] }, { text: `(${oneLine(json(call.arguments), 200)})`, codes: [DIM] }]
  const duration: Word = [{ text: `(${formatDuration(call.duration)})`, codes: [DIM] }]
  return call.failure === undefined
    ? [
      [{ text: "✓", codes: [GREEN] }],
      head,
      [{ text: "→", codes: [DIM] }],
      [{ text: oneLine(json(call.result), 200), codes: [] }],
      duration
    ]
    : [[{ text: "✗", codes: [RED] }], head, [{ text: failureText[call.failure], codes: [RED] }], duration]
}

const MAX_DETAIL_LINES = 8

const detailLines = (result: unknown): ReadonlyArray<string> => {
  const lines = json(result).split("\n").filter((line) => line.trim().length > 0)
  return lines.length <= MAX_DETAIL_LINES ? lines : [...lines.slice(0, MAX_DETAIL_LINES - 1), "…"]
}
