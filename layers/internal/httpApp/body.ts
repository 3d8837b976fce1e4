/**
 * A request's body before the API decodes it: its media type, its size (also when it is sent in
 * chunks, with no `content-length` to check up front) and how deep its JSON nests. Each is answered
 * with a typed error instead of a reset connection or a stack overflow.
 */
import * as Effect from "effect/Effect"
import type * as Http from "node:http"

/** How deep the JSON of a body may nest (arrays and objects); deeper bodies get 400. */
export const maxDepth = 128

/**
 * How many bytes of a chunked body over the limit are read and thrown away so that the client,
 * still sending, reads the 413 instead of a reset; past that the connection is closed.
 */
export const drainBytes = 16 * 1024 * 1024

/** Whether the request says it has a body: a `content-length` above 0, or chunks. */
export const hasBody = (headers: Readonly<Record<string, string | undefined>>): boolean =>
  headers["transfer-encoding"] !== undefined || Number(headers["content-length"] ?? "0") > 0

/** What the API reads as JSON: `application/json` with any parameters, or no `content-type` at all. */
export const isJson = (contentType: string | undefined): boolean =>
  contentType === undefined || contentType.toLowerCase().includes("application/json")

const quote = 34 // "
const backslash = 92 // \
const openBrace = 123 // {
const openBracket = 91 // [
const closeBrace = 125 // }
const closeBracket = 93 // ]

/**
 * Whether the JSON text nests arrays and objects deeper than `max`. One pass over the text, with no
 * recursion: it runs before the text is parsed and decoded, whose error messages recurse into it.
 * Text that is not JSON is left to the parser.
 */
export const nestsDeeperThan = (text: string, max: number): boolean => {
  // A body cannot nest deeper than it has characters.
  if (text.length <= max) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === backslash) i++
      else if (c === quote) inString = false
    } else if (c === quote) {
      inString = true
    } else if (c === openBrace || c === openBracket) {
      if (++depth > max) return true
    } else if (c === closeBrace || c === closeBracket) {
      depth--
    }
  }
  return false
}

/** A chunked body: its text, or `TooLarge` once it passed the limit. */
export type Chunked =
  | { readonly _tag: "Body"; readonly text: string }
  | { readonly _tag: "TooLarge" }

/**
 * Reads a body that came without `content-length`, up to `maxBytes`. Past the limit it answers
 * `TooLarge` at once and reads on, throwing the rest away, until the body ends (the connection can
 * then be kept) or `drainBytes` more were thrown away (then it is closed): a connection closed with
 * unread data is reset, and a reset can reach the client before it has read the 413.
 */
export const readChunked = (
  incoming: Http.IncomingMessage,
  maxBytes: number
): Effect.Effect<Chunked, Error> =>
  Effect.async<Chunked, Error>((resume) => {
    const chunks: Array<Buffer> = []
    let bytes = 0
    let over = false
    const detach = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onError)
      incoming.off("aborted", onAborted)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (over) {
        if (bytes > maxBytes + drainBytes) {
          detach()
          incoming.destroy()
        }
        return
      }
      if (bytes > maxBytes) {
        over = true
        chunks.length = 0
        resume(Effect.succeed({ _tag: "TooLarge" }))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      detach()
      if (!over) resume(Effect.succeed({ _tag: "Body", text: Buffer.concat(chunks).toString("utf8") }))
    }
    const onError = (error: Error) => {
      detach()
      if (!over) resume(Effect.fail(error))
    }
    const onAborted = () => onError(new Error("The client closed the connection before the end of the body."))
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onError)
    incoming.once("aborted", onAborted)
    // Interrupted (the client left): nothing more is read for it.
    return Effect.sync(() => {
      if (!over) detach()
    })
  })
