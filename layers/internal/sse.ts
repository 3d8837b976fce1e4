/**
 * A Server-Sent Events parser that is linear in the size of its input however the body is split
 * into reads: only the unfinished tail of a read is kept, and each byte is scanned once. (The parser
 * in `@effect/experimental` 0.61 rescans its buffer on every line, which is quadratic when a large
 * body arrives in one read.)
 */

/** One dispatched event: its `event:` name (default `"message"`) and its `data:` lines joined. */
export interface Event {
  readonly event: string
  readonly data: string
}

export interface Parser {
  /** Feeds a piece of the body; returns the events it completed, in order. */
  readonly feed: (text: string) => Array<Event>
  /** Whatever is left when the body ends: an event not followed by a blank line is dispatched. */
  readonly end: () => Array<Event>
}

export const make = (): Parser => {
  let event = ""
  let data: Array<string> = []

  const line = (text: string, out: Array<Event>) => {
    if (text.length === 0) {
      if (data.length > 0) out.push({ event: event || "message", data: data.join("\n") })
      event = ""
      data = []
      return
    }
    if (text.charCodeAt(0) === 58 /* ":" comment */) return
    const colon = text.indexOf(":")
    const field = colon === -1 ? text : text.slice(0, colon)
    let value = colon === -1 ? "" : text.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    if (field === "data") data.push(value)
    else if (field === "event") event = value
  }

  // The unfinished line, in pieces: joined once when its end arrives, so each byte is scanned once
  // even when one long line comes in many small reads.
  let pending: Array<string> = []

  const feed = (text: string): Array<Event> => {
    const out: Array<Event> = []
    let start = 0
    for (;;) {
      const newline = text.indexOf("\n", start)
      if (newline === -1) break
      let piece = text.slice(start, newline)
      if (pending.length > 0) {
        pending.push(piece)
        piece = pending.join("")
        pending = []
      }
      line(piece.charCodeAt(piece.length - 1) === 13 ? piece.slice(0, -1) : piece, out)
      start = newline + 1
    }
    if (start < text.length) pending.push(start === 0 ? text : text.slice(start))
    return out
  }

  const end = (): Array<Event> => {
    const out: Array<Event> = []
    if (pending.length > 0) line(pending.join(""), out)
    pending = []
    line("", out)
    return out
  }

  return { feed, end }
}
