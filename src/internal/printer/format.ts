/**
 * How values read in the printer's lines: an error as its tag and message, any value as JSON, a
 * text on one line cut to a length, a duration as people say it.
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"

export const errorText = (error: unknown): string => {
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string") {
    const name = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
      ? error._tag
      : error instanceof Error
      ? error.name
      : undefined
    const message = error.message.length > 0 ? error.message : undefined
    return name === undefined ? message ?? "" : message === undefined ? name : `${name}: ${message}`
  }
  return json(error)
}

export const json = (value: unknown, indent?: number): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value, null, indent) ?? String(value)
  } catch {
    return String(value)
  }
}

export const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

export const formatDuration = (duration: Duration.Duration): string => {
  const millis = Math.round(Duration.toMillis(duration))
  if (millis < 1000) return `${millis}ms`
  if (millis < 60_000) return `${(millis / 1000).toFixed(1)}s`
  const seconds = Math.round(millis / 1000)
  return `${Math.floor(seconds / 60)}m ${seconds % 60}s`
}
