/**
 * Server-Sent Events encoding: an event name and one line of JSON per event. JSON has no raw line
 * breaks, so one `data:` line always holds the whole event.
 */
import * as Schema from "effect/Schema"
import * as HttpApi from "../../../src/HttpApi.js"

const encoder = new TextEncoder()

export const event = (name: string, data: string): Uint8Array => encoder.encode(`event: ${name}\ndata: ${data}\n\n`)

export const data = (data: string): Uint8Array => encoder.encode(`data: ${data}\n\n`)

const encodeStreamEvent = Schema.encodeSync(HttpApi.StreamEvent)

/** A run stream's event: `event:` its `_tag`, `data:` its schema encoding. */
export const streamEvent = (value: HttpApi.StreamEvent): Uint8Array =>
  event(value._tag, JSON.stringify(encodeStreamEvent(value)))

/** A logged run's event: as {@link streamEvent}, with its number in the run as the SSE `id:`. */
export const numberedEvent = (id: number, value: HttpApi.StreamEvent): Uint8Array =>
  encoder.encode(`id: ${id}\nevent: ${value._tag}\ndata: ${JSON.stringify(encodeStreamEvent(value))}\n\n`)

export const headers = {
  "cache-control": "no-cache",
  // Proxies that buffer responses (nginx) would hold the events back.
  "x-accel-buffering": "no"
} as const
