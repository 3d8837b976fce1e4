import * as Prompt from "@effect/ai/Prompt"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Memory from "../../services/Memory.js"
import * as SessionStore from "../../services/SessionStore.js"
import * as RunRecord from "../../src/RunRecord.js"

/** Refuses an empty user or session id, the same way in every store. */
export const checkKey = (
  operation: SessionStore.SessionStoreError["operation"],
  key: { readonly userId: string; readonly sessionId: string }
): Effect.Effect<void, SessionStore.SessionStoreError> =>
  key.userId.length > 0 && key.sessionId.length > 0 ? Effect.void : invalidKey(operation, key)

/** The error of an empty user or session id. */
export const invalidKey = (
  operation: SessionStore.SessionStoreError["operation"],
  key: { readonly userId: string; readonly sessionId: string }
): Effect.Effect<never, SessionStore.SessionStoreError> =>
  Effect.fail(
    new SessionStore.SessionStoreError({
      operation,
      reason: "InvalidInput",
      message: "A session needs a non-empty userId and sessionId",
      userId: key.userId,
      sessionId: key.sessionId
    })
  )

/**
 * The error of a session that does not exist. It is how every conversation's first turn learns that
 * it is the first, so it is made without a stack trace (an expected answer, not a fault: the trace
 * would cost that turn more than the rest of its store work) and without validating two strings.
 */
export const sessionNotFound = (key: SessionStore.SessionKey): SessionStore.SessionNotFound => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return new SessionStore.SessionNotFound({ userId: key.userId, sessionId: key.sessionId }, true)
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** A record that cannot be stored. */
export const invalidRecord = (record: SessionStore.RunRecord, problem: string): Effect.Effect<never, SessionStore.SessionStoreError> =>
  Effect.fail(
    new SessionStore.SessionStoreError({
      operation: "append",
      reason: "InvalidInput",
      message: `The record of run "${record.runId}" cannot be stored:\n${problem}`,
      userId: record.userId,
      sessionId: record.sessionId
    })
  )

/** A fact as it is stored (trimmed), or why it cannot be. */
export const checkFact = (
  operation: Memory.MemoryError["operation"],
  userId: string,
  text: string
): Effect.Effect<string, Memory.MemoryError> => {
  const trimmed = text.trim()
  const problem = userId.length === 0
    ? "A fact needs a non-empty userId"
    : trimmed.length === 0
    ? "A fact cannot be empty"
    : trimmed.length > Memory.maxFactLength
    ? `A fact can be at most ${Memory.maxFactLength} characters long (this one has ${trimmed.length})`
    : undefined
  return problem === undefined
    ? Effect.succeed(trimmed)
    : Effect.fail(new Memory.MemoryError({ operation, reason: "InvalidInput", message: problem, userId }))
}

// -----------------------------------------------------------------------------
// Encoding run records
// -----------------------------------------------------------------------------

const encodeRecordSchema = Schema.encodeEither(Schema.parseJson(RunRecord.RunRecord))

/**
 * A run record as the JSON every store keeps, or why it cannot be stored. The same text as
 * `Schema.parseJson(RunRecord.RunRecord)` gives, written directly for the records runs make
 * (text, reasoning and tool parts, completed or cancelled runs) because the schema's generic walk
 * of a record costs more than the rest of a turn in a session. Anything else (a failed run, a file
 * part, a value the schema would refuse or that is not plain JSON) goes through the schema itself,
 * so what is stored and what is refused do not depend on the path taken.
 */
export const encodeRecord = (record: SessionStore.RunRecord): Either.Either<string, string> => {
  const fast = encodeFast(record, true)
  if (typeof fast === "string") return Either.right(fast)
  return Either.mapLeft(encodeRecordSchema(record), (error) => ParseResult.TreeFormatter.formatErrorSync(error))
}

/**
 * Whether {@link encodeRecord} would store the record (`undefined`) or why not, without writing the
 * JSON: for a store that keeps records as they are but refuses what a SQL store would refuse.
 */
export const checkRecord = (record: SessionStore.RunRecord): string | undefined => {
  if (encodeFast(record, false) !== undefined) return undefined
  const encoded = encodeRecordSchema(record)
  return Either.isLeft(encoded) ? ParseResult.TreeFormatter.formatErrorSync(encoded.left) : undefined
}

// The fast path returns `undefined` (the schema decides) whenever it meets anything it does not
// check exactly as the schema does. The encoded objects list their keys in the schema's order, so
// the text is the schema's own, byte for byte.

const isRecordObject = (u: unknown): u is Record<string, unknown> => {
  if (typeof u !== "object" || u === null) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const isString = (u: unknown): u is string => typeof u === "string"
const isNumber = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)

// Provider options: a record of records (or `undefined`), encoded as they are (the schema ignores
// symbol keys, as JSON does).
const providerOptions = (u: unknown): boolean => {
  if (!isRecordObject(u)) return false
  for (const key in u) {
    const value = u[key]
    if (value !== undefined && !isRecordObject(value)) return false
  }
  return true
}

const fail = Symbol()
type Fail = typeof fail

// The values the schema takes as they are (`Schema.Unknown`, provider options) are the only ones
// that can fail to become JSON; a check without the JSON text looks at these only.
let unknowns: Array<unknown> | undefined
const opaque = <A>(value: A): A => {
  if (unknowns !== undefined && ((typeof value === "object" && value !== null) || typeof value === "bigint")) {
    unknowns.push(value)
  }
  return value
}
// Provider options are records (checked): only a non-empty one can hold something that is not JSON.
const opaqueOptions = (options: unknown): unknown => {
  if (unknowns !== undefined) for (const _ in options as object) return opaque(options)
  return options
}
const jsonSafe = (value: unknown): boolean => {
  try {
    JSON.stringify(value)
    return true
  } catch {
    return false
  }
}

const part = (u: unknown): object | Fail => {
  if (!isRecordObject(u) || u[Prompt.PartTypeId] !== Prompt.PartTypeId || !providerOptions(u.options)) return fail
  switch (u.type) {
    case "text":
    case "reasoning":
      return isString(u.text) ? { type: u.type, text: u.text, options: opaqueOptions(u.options) } : fail
    case "tool-call":
      return isString(u.id) && isString(u.name) && typeof u.providerExecuted === "boolean"
        ? {
          type: u.type,
          id: u.id,
          name: u.name,
          params: opaque(u.params),
          providerExecuted: u.providerExecuted,
          options: opaqueOptions(u.options)
        }
        : fail
    case "tool-result":
      return isString(u.id) && isString(u.name) && typeof u.isFailure === "boolean" &&
          typeof u.providerExecuted === "boolean"
        ? {
          type: u.type,
          id: u.id,
          name: u.name,
          isFailure: u.isFailure,
          result: opaque(u.result),
          providerExecuted: u.providerExecuted,
          options: opaqueOptions(u.options)
        }
        : fail
    default:
      return fail
  }
}

const parts = (content: ReadonlyArray<unknown>, allowed: (type: unknown) => boolean): Array<object> | Fail => {
  const encoded: Array<object> = new Array(content.length)
  for (let i = 0; i < content.length; i++) {
    const item = content[i] as { readonly type?: unknown }
    if (!allowed(item?.type)) return fail
    const one = part(item)
    if (one === fail) return fail
    encoded[i] = one
  }
  return encoded
}

// User and assistant content made only of text parts is written as the first part's text (the
// schema's `MessageContentFromString` comes first in its union).
const allText = (content: ReadonlyArray<unknown>) => {
  for (const item of content) if ((item as { readonly type?: unknown }).type !== "text") return false
  return content.length > 0
}

const userPart = (type: unknown) => type === "text"
const assistantPart = (type: unknown) =>
  type === "text" || type === "reasoning" || type === "tool-call" || type === "tool-result"
const toolPart = (type: unknown) => type === "tool-result"

const message = (u: unknown): object | Fail => {
  if (!isRecordObject(u) || u[Prompt.MessageTypeId] !== Prompt.MessageTypeId || !providerOptions(u.options)) return fail
  const content = u.content
  switch (u.role) {
    case "system":
      return isString(content) ? { role: u.role, content, options: opaqueOptions(u.options) } : fail
    case "user":
    case "assistant": {
      if (!Array.isArray(content)) return fail
      const encoded = parts(content, u.role === "user" ? userPart : assistantPart)
      if (encoded === fail) return fail
      return {
        role: u.role,
        content: allText(content) ? (content[0] as Prompt.TextPart).text : encoded,
        options: opaqueOptions(u.options)
      }
    }
    case "tool": {
      if (!Array.isArray(content)) return fail
      const encoded = parts(content, toolPart)
      return encoded === fail ? fail : { role: u.role, content: encoded, options: opaqueOptions(u.options) }
    }
    default:
      return fail
  }
}

const messages = (u: unknown): Array<object> | Fail => {
  if (!Array.isArray(u)) return fail
  const encoded: Array<object> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const one = message(u[i])
    if (one === fail) return fail
    encoded[i] = one
  }
  return encoded
}

const millis = (u: unknown): number | Fail => {
  if (!Duration.isDuration(u)) return fail
  const ms = Duration.toMillis(u)
  return isNumber(ms) && ms >= 0 ? ms : fail
}

const toolFailures: ReadonlySet<unknown> = new Set(["InvalidArguments", "UnknownTool", "Failed", "Timeout", "Rejected"])

const toolCalls = (u: unknown): Array<object> | Fail => {
  if (!Array.isArray(u)) return fail
  const encoded: Array<object> = new Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const call = u[i] as unknown
    if (!isRecordObject(call) || !isString(call.id) || !isString(call.name)) return fail
    const duration = millis(call.duration)
    if (duration === fail) return fail
    if (call.failure !== undefined && !toolFailures.has(call.failure)) return fail
    encoded[i] = call.failure === undefined
      ? { id: call.id, name: call.name, arguments: opaque(call.arguments), result: opaque(call.result), duration }
      : {
        id: call.id,
        name: call.name,
        arguments: opaque(call.arguments),
        result: opaque(call.result),
        failure: call.failure,
        duration
      }
  }
  return encoded
}

const optionalNumber = (u: unknown) => u === undefined || isNumber(u)

const metrics = (u: unknown): object | undefined | Fail => {
  if (u === undefined) return undefined
  if (!isRecordObject(u)) return fail
  if (
    !isNumber(u.inputTokens) || !isNumber(u.outputTokens) || !isNumber(u.totalTokens) ||
    !optionalNumber(u.reasoningTokens) || !optionalNumber(u.cachedInputTokens) ||
    !isNumber(u.modelCalls) || !isNumber(u.toolCalls) || !isNumber(u.retries)
  ) return fail
  const duration = millis(u.duration)
  if (duration === fail) return fail
  let timeToFirstToken: number | undefined
  if (u.timeToFirstToken !== undefined) {
    const ttft = millis(u.timeToFirstToken)
    if (ttft === fail) return fail
    timeToFirstToken = ttft
  }
  // `undefined` values vanish from the JSON, as absent optional keys do.
  return {
    inputTokens: u.inputTokens,
    outputTokens: u.outputTokens,
    totalTokens: u.totalTokens,
    reasoningTokens: u.reasoningTokens,
    cachedInputTokens: u.cachedInputTokens,
    modelCalls: u.modelCalls,
    toolCalls: u.toolCalls,
    retries: u.retries,
    timeToFirstToken,
    duration
  }
}

const finishReasons: ReadonlySet<unknown> = new Set([
  "stop",
  "length",
  "content-filter",
  "tool-calls",
  "error",
  "pause",
  "other",
  "unknown"
])

const answer = (u: unknown): object | Fail => {
  if (!isRecordObject(u) || !isString(u.text) || !finishReasons.has(u.finishReason)) return fail
  if (u.model !== undefined && !isString(u.model)) return fail
  return { content: opaque(u.content), text: u.text, finishReason: u.finishReason, model: u.model }
}

const iso = (u: unknown, json: boolean): string | Fail =>
  DateTime.isDateTime(u) && DateTime.isUtc(u) ? (json ? DateTime.formatIso(u) : "") : fail

/** The record's JSON (`json`), or `true` when it would encode (not `json`); `undefined` when unsure. */
const encodeFast = (record: SessionStore.RunRecord, json: boolean): string | true | undefined => {
  const outer = unknowns
  unknowns = json ? undefined : []
  try {
    return encodeWalk(record, json)
  } finally {
    unknowns = outer
  }
}

const encodeWalk = (record: SessionStore.RunRecord, json: boolean): string | true | undefined => {
  const r = record as unknown as Record<string, unknown>
  if (!isRecordObject(r) || (r.status !== "completed" && r.status !== "cancelled")) return undefined
  if (
    !isString(r.runId) || !isString(r.userId) || r.userId.length === 0 || !isString(r.sessionId) ||
    r.sessionId.length === 0 || !isString(r.agent)
  ) return undefined
  const input = messages(r.input)
  const own = r.messages === r.input ? input : messages(r.messages)
  const calls = toolCalls(r.toolCalls)
  const metered = metrics(r.metrics)
  const startedAt = iso(r.startedAt, json)
  const finishedAt = iso(r.finishedAt, json)
  if (input === fail || own === fail || calls === fail || metered === fail || startedAt === fail || finishedAt === fail) {
    return undefined
  }
  let output: object | undefined
  if (r.status === "completed") {
    const given = answer(r.output)
    if (given === fail) return undefined
    output = given
  }
  const encoded = {
    status: r.status,
    runId: r.runId,
    userId: r.userId,
    sessionId: r.sessionId,
    agent: r.agent,
    input,
    messages: own,
    toolCalls: calls,
    metrics: metered,
    startedAt,
    finishedAt,
    output
  }
  if (!json) {
    const values = unknowns!
    for (let i = 0; i < values.length; i++) if (!jsonSafe(values[i])) return undefined
    return true
  }
  try {
    return JSON.stringify(encoded)
  } catch {
    // Not JSON (a bigint, a cycle): the schema says why.
    return undefined
  }
}
