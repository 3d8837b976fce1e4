// Faults asked for by the request's headers (`x-simulator-fault`, `-delay`, `-chunk-delay`,
// `-one-write`), for clients without a script (curl, raw benchmarks).
import * as Duration from "effect/Duration"
import type { Disrupt, HttpError, Reply, Respond, Timing } from "../simulatorModel.js"
import * as SimulatorWire from "../simulatorWire.js"

/** The reply of a request that asks for nothing in particular: the simulator's own answer. */
export const respondReply: Respond = { _tag: "Respond", delay: undefined, chunkDelay: undefined, oneWrite: undefined }


const headerValue = (headers: Readonly<Record<string, string | undefined>>, name: string) => {
  const value = headers[name]
  return value === undefined || value.length === 0 ? undefined : value
}

const millis = (value: string | undefined): Duration.Duration | undefined => {
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) && n >= 0 ? Duration.millis(n) : undefined
}

/** A reply described by the `x-simulator-fault` header, or why the header makes no sense. */
export const replyFromHeaders = (
  headers: Readonly<Record<string, string | undefined>>
): Reply | { readonly _tag: "Invalid"; readonly message: string } | undefined => {
  const fault = headerValue(headers, "x-simulator-fault")
  const delay = millis(headerValue(headers, "x-simulator-delay"))
  const chunkDelay = millis(headerValue(headers, "x-simulator-chunk-delay"))
  const oneWrite = headerValue(headers, "x-simulator-one-write") === "true" ? true : undefined
  const timing: Timing = { delay, chunkDelay, oneWrite }
  if (fault === undefined) {
    return delay === undefined && chunkDelay === undefined && oneWrite === undefined
      ? undefined
      : { ...respondReply, ...timing }
  }
  const [name = "", ...pairs] = fault.split(";").map((s) => s.trim())
  const params: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf("=")
    if (at > 0) params[pair.slice(0, at).trim()] = pair.slice(at + 1).trim()
  }
  const after = params.after === undefined ? undefined : Number(params.after)
  if (after !== undefined && !(Number.isInteger(after) && after >= 0)) {
    return { _tag: "Invalid", message: `x-simulator-fault: 'after' must be a whole number, got '${params.after}'` }
  }
  const before = params.before
  if (before !== undefined && before !== "headers" && before !== "body") {
    return { _tag: "Invalid", message: `x-simulator-fault: 'before' must be 'headers' or 'body', got '${before}'` }
  }
  const retryAfter = millis(params["retry-after-ms"]) ??
    (params["retry-after"] === undefined ? undefined : millis(String(Number(params["retry-after"]) * 1000)))
  const httpError = (kind: HttpError["kind"], status?: number): HttpError => ({
    _tag: "HttpError",
    status,
    kind,
    message: params.message,
    body: undefined,
    headers: {},
    retryAfter: retryAfter ?? (kind === "rate-limited" ? Duration.seconds(1) : undefined),
    ...timing
  })
  const disrupt = (kind: Disrupt["kind"]): Disrupt => ({
    _tag: "Disrupt",
    kind,
    after,
    before,
    errorKind: params.kind === "overloaded" || params.kind === "rate-limited" ? params.kind : "server",
    message: params.message,
    reply: respondReply,
    ...timing
  })
  if (/^\d{3}$/.test(name)) return httpError(SimulatorWire.kindOf(Number(name)), Number(name))
  switch (name) {
    case "rate-limit":
    case "rate-limited":
      return httpError("rate-limited")
    case "server-error":
      return httpError("server")
    case "bad-gateway":
      return httpError("bad-gateway")
    case "unavailable":
      return httpError("unavailable")
    case "overloaded":
      return httpError("overloaded")
    case "unauthorized":
      return httpError("unauthorized")
    case "bad-request":
      return httpError("bad-request")
    case "context-too-long":
      return httpError("context-too-long")
    case "reset":
    case "stall":
    case "truncate":
    case "malformed-json":
    case "malformed-sse":
    case "stream-error":
      return disrupt(name)
    case "invalid-tool-arguments":
      return {
        _tag: "Answer",
        text: [],
        toolCalls: [{
          name: params.tool,
          arguments: undefined,
          rawArguments: params.arguments,
          invalid: true,
          id: undefined,
          chunks: undefined
        }],
        finishReason: "tool-calls",
        usage: undefined,
        model: undefined,
        ...timing
      }
    default:
      return {
        _tag: "Invalid",
        message:
          `x-simulator-fault: unknown fault '${name}' (expected a status such as 503, rate-limit, server-error, bad-gateway, unavailable, overloaded, unauthorized, bad-request, context-too-long, reset, stall, truncate, malformed-json, malformed-sse, stream-error or invalid-tool-arguments)`
      }
  }
}
