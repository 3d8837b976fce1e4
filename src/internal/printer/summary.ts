/**
 * The footer a run ends with: how long it took and what it used, or how it ended without an answer
 * (failed, paused for approval, interrupted).
 */
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as Run from "../../Run.js"
import { errorText, formatDuration } from "./format.js"

/** The footer of a completed run: its time, and its tokens when the model reported any. */
export const completed = (metrics: Run.Metrics): string => {
  const tokens = metrics.totalTokens > 0 ? ` · ${metrics.totalTokens} tokens` : ""
  return `Done in ${formatDuration(metrics.duration)}${tokens}`
}

/** How a run without an answer ended: its error (none for an interrupted run), and the footer. */
export const ended = (
  cause: Cause.Cause<unknown>,
  elapsed: Duration.Duration
): { readonly error: string | undefined; readonly footer: string } => {
  if (Cause.isInterruptedOnly(cause)) return { error: undefined, footer: `Interrupted after ${formatDuration(elapsed)}` }
  const failure = Cause.failureOption(cause)
  const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  // A run that waits for approval has not failed: it is paused, to be resumed.
  const paused = Predicate.hasProperty(error, "_tag") && error._tag === "RunPaused"
  return { error: errorText(error), footer: `${paused ? "Paused" : "Failed"} after ${formatDuration(elapsed)}` }
}
