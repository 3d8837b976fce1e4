/**
 * The typed failures of an agent run. Every failure a caller can act on is one of these, a
 * `Schema.TaggedError`, so it crosses process boundaries (HTTP, SSE, storage) as it is.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Memory from "../services/Memory.js"
import * as Approval from "./Approval.js"
import { ApprovalError } from "./Approval.js"

/**
 * Why a model call failed, as far as a caller needs to know to decide what to do next.
 * `QuotaExceeded` is an account out of quota or credit (OpenAI's `insufficient_quota`, Anthropic's
 * credit balance, an HTTP 402): no retry helps until its plan or billing changes.
 *
 * @since 0.1.0
 * @category models
 */
export const ModelErrorReason = Schema.Literal(
  "RateLimited",
  "QuotaExceeded",
  "Overloaded",
  "ServerError",
  "BadRequest",
  "Unauthorized",
  "NotFound",
  "ContextTooLong",
  "Network",
  "Timeout",
  "MalformedResponse",
  "Unknown"
)

/**
 * @since 0.1.0
 * @category models
 */
export type ModelErrorReason = typeof ModelErrorReason.Type

/**
 * A model call failed. `retryable` says whether trying the same call again may succeed;
 * `retryAfter` carries the provider's `Retry-After` when it sent one.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelError extends Schema.TaggedError<ModelError>("effect-agents/ModelError")("ModelError", {
  reason: ModelErrorReason,
  message: Schema.String,
  retryable: Schema.Boolean,
  retryAfter: Schema.optional(Schema.DurationFromMillis),
  status: Schema.optional(Schema.Number),
  provider: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {
  /**
   * Classifies an `@effect/ai` error: HTTP status, transport failure or malformed output.
   *
   * A response header `x-should-retry: true|false` (sent by OpenAI and Anthropic) decides
   * `retryable` over the status, both ways, as the providers' own SDKs do.
   *
   * The message of an HTTP status error is `<provider>: HTTP <status>: <what the provider said>`.
   * When the body is JSON in a known provider error shape (OpenAI and OpenAI-compatible
   * `{"error":{"message","type","code"}}`, `{"error":"…"}`, `{"message":"…"}`, `{"detail":"…"}`;
   * Anthropic `{"type":"error","error":{"type","message"}}`), that is the provider's own message,
   * followed by its error code (or else its type) in parentheses:
   * `openai: HTTP 401: Incorrect API key provided. (invalid_api_key)`. Any other body is shown as
   * it is, cut at 300 characters. The message is for people: the classification reads the whole
   * body, and the whole body stays reachable through `cause`, the `AiError` (its `body`, and its
   * `message`, which is what `cause` keeps when the error is encoded for the wire). A
   * `QuotaExceeded` message ends with what to do about it.
   *
   * @since 0.1.0
   */
  static fromAiError(error: AiError.AiError): ModelError {
    switch (error._tag) {
      case "HttpResponseError": {
        if (error.reason !== "StatusCode") {
          return new ModelError({
            reason: "MalformedResponse",
            message: error.description ?? `Malformed response (${error.reason})`,
            retryable: true,
            status: error.response.status,
            provider: error.module,
            cause: error
          })
        }
        const status = error.response.status
        const headers = error.response.headers
        const retryAfter = parseRetryAfter(headers)
        const kind = classifyStatus(status, error.body)
        const shouldRetry = parseShouldRetry(headers)
        const said = `${error.module}: HTTP ${status}${error.body ? `: ${describeBody(error.body)}` : ""}`
        return new ModelError({
          reason: kind.reason,
          retryable: shouldRetry ?? kind.retryable,
          message: kind.reason === "QuotaExceeded" ? `${said}. ${quotaHint}` : said,
          status,
          provider: error.module,
          ...(Option.isSome(retryAfter) ? { retryAfter: retryAfter.value } : {}),
          cause: error
        })
      }
      case "HttpRequestError":
        return new ModelError({
          reason: error.reason !== "Transport" ? "BadRequest" : isTimeout(error.cause) ? "Timeout" : "Network",
          retryable: error.reason === "Transport",
          message: error.description ?? `${error.module}: request failed (${error.reason})`,
          provider: error.module,
          cause: error
        })
      case "MalformedOutput":
        return new ModelError({
          reason: "MalformedResponse",
          retryable: true,
          message: error.description ?? `${error.module}: malformed output`,
          provider: error.module,
          cause: error
        })
      case "MalformedInput":
        return new ModelError({
          reason: "BadRequest",
          retryable: false,
          message: error.description ?? `${error.module}: malformed input`,
          provider: error.module,
          cause: error
        })
      case "UnknownError":
        return new ModelError({
          reason: "Unknown",
          retryable: false,
          message: error.description ?? error.message,
          provider: error.module,
          cause: error
        })
    }
  }

  /**
   * Classifies an error that a provider sent inside a stream (an `error` part).
   *
   * When the error is in a known provider error shape (see {@link ModelError.fromAiError}, and the
   * error object alone, `{"message","type","code"}`, as the stream events carry it), the message
   * is the provider's own: `The model stream failed: Overloaded (overloaded_error)`; otherwise it
   * is the error as JSON, cut at 300 characters. The classification reads the whole error, and
   * the error itself is the `cause`.
   *
   * @since 0.1.0
   */
  static fromStreamError(error: unknown): ModelError {
    const text = typeof error === "string" ? error : safeJson(error)
    const said = typeof error === "string" ? fromJsonText(error) : providerMessage(error)
    const quota = quotaExceeded.test(text)
    const kind = quota
      ? { reason: "QuotaExceeded" as const, retryable: false }
      : /rate.?limit/i.test(text)
      ? { reason: "RateLimited" as const, retryable: true }
      : /overload|unavailable|capacity/i.test(text)
      ? { reason: "Overloaded" as const, retryable: true }
      : /server.?error|internal/i.test(text)
      ? { reason: "ServerError" as const, retryable: true }
      : { reason: "Unknown" as const, retryable: false }
    return new ModelError({
      ...kind,
      message: `The model stream failed: ${said ?? truncate(text, 300)}${quota ? `. ${quotaHint}` : ""}`,
      cause: error
    })
  }
}

// The codes HTTP clients give their own timeouts (undici's, which the provider layers use, and Node's).
const timeoutCodes = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT", "ETIMEDOUT"])
const isTimeout = (cause: unknown): boolean =>
  Predicate.hasProperty(cause, "code") && typeof cause.code === "string" && timeoutCodes.has(cause.code)

const nonEmpty = (u: unknown): u is string => typeof u === "string" && u.trim().length > 0

/** An error object's own message, with its code (or else its type, unless merely "error"). */
const describeError = (error: Record<string, unknown>): string | undefined => {
  if (!nonEmpty(error.message)) return undefined
  const detail = nonEmpty(error.code)
    ? error.code
    : nonEmpty(error.type) && error.type !== "error"
    ? error.type
    : undefined
  return `${truncate(error.message.trim(), 300)}${detail === undefined ? "" : ` (${truncate(detail.trim(), 100)})`}`
}

/**
 * What a provider said in an error value of a known shape: OpenAI (and compatible servers)
 * `{"error":{"message","type","code"}}`, Anthropic `{"type":"error","error":{"type","message"}}`,
 * `{"error":"…"}`, `{"message":"…"}` (also the bare error object of a stream event) and
 * FastAPI's `{"detail":"…"}`. `undefined` for anything else.
 */
const providerMessage = (value: unknown): string | undefined => {
  if (!Predicate.isRecord(value)) return undefined
  const error = value.error
  if (Predicate.isRecord(error)) {
    const described = describeError(error)
    if (described !== undefined) return described
  } else if (nonEmpty(error)) {
    return truncate(error.trim(), 300)
  }
  return describeError(value) ?? (nonEmpty(value.detail) ? truncate(value.detail.trim(), 300) : undefined)
}

const fromJsonText = (text: string): string | undefined => {
  if (!text.trimStart().startsWith("{")) return undefined
  try {
    return providerMessage(JSON.parse(text))
  } catch {
    return undefined
  }
}

/** An error body as a message: what the provider said, or else the body as it is, cut short. */
const describeBody = (body: string): string => fromJsonText(body) ?? truncate(body, 300)

const safeJson = (u: unknown): string => {
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

const classifyStatus = (
  status: number,
  body: string | undefined
): { readonly reason: ModelErrorReason; readonly retryable: boolean } => {
  if (status === 402 || (status >= 400 && status < 500 && body !== undefined && quotaExceeded.test(body))) {
    return { reason: "QuotaExceeded", retryable: false }
  }
  if (status === 429) return { reason: "RateLimited", retryable: true }
  if (status === 503 || status === 529) return { reason: "Overloaded", retryable: true }
  if (status === 408) return { reason: "Timeout", retryable: true }
  if (status >= 500) return { reason: "ServerError", retryable: true }
  if (status === 401 || status === 403) return { reason: "Unauthorized", retryable: false }
  if (status === 404) return { reason: "NotFound", retryable: false }
  if (status === 413 || (body !== undefined && contextTooLong.test(body))) {
    return { reason: "ContextTooLong", retryable: false }
  }
  return { reason: "BadRequest", retryable: false }
}

const contextTooLong = /context[_ ]length|too many tokens|prompt is too long|maximum context/i

/**
 * An account out of quota or credit, whatever the status: OpenAI's `insufficient_quota` (a 429),
 * `billing_hard_limit_reached` and `billing_not_active`, Anthropic's `billing_error` and its 400
 * "Your credit balance is too low", and the "insufficient credits/balance" of OpenRouter, DeepSeek
 * and other compatible servers (usually a 402). Not the bare words "exceeded your current quota":
 * Gemini says them of its per-minute limits too, which a retry does get past.
 */
const quotaExceeded =
  /insufficient_quota|billing_hard_limit_reached|billing_not_active|billing_error|credit balance is too low|insufficient (?:credits|balance)/i

const quotaHint = "The account has no quota or credit left: check its plan and billing with the provider " +
  "(a retry will not help until then)"

/** `x-should-retry: true|false`: the provider's own word on whether a retry may succeed. */
const parseShouldRetry = (headers: Readonly<Record<string, string>>): boolean | undefined => {
  const value = headers["x-should-retry"]?.trim().toLowerCase()
  return value === "true" ? true : value === "false" ? false : undefined
}

/**
 * Reads `retry-after-ms` or `retry-after` (seconds or an HTTP date) from response headers.
 *
 * @since 0.1.0
 * @category utils
 */
export const parseRetryAfter = (headers: Readonly<Record<string, string>>): Option.Option<Duration.Duration> => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Option.some(Duration.millis(Number(ms)))
  const value = headers["retry-after"]
  if (value === undefined) return Option.none()
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Option.some(Duration.seconds(Number(value)))
  const date = Date.parse(value)
  // An HTTP date is relative to the wall clock of the server that sent it.
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - Date.now())))
}

const truncate = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}…`)

/**
 * A tool died: its handler had a defect (a bug, not a typed failure), or its result did not match
 * its own success schema. Typed tool failures never become this: they go back to the model.
 *
 * @since 0.1.0
 * @category errors
 */
export class ToolError extends Schema.TaggedError<ToolError>("effect-agents/ToolError")("ToolError", {
  tool: Schema.String,
  toolCallId: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The run made `maxTurns` model calls without reaching a final answer.
 *
 * @since 0.1.0
 * @category errors
 */
export class MaxTurnsExceeded extends Schema.TaggedError<MaxTurnsExceeded>("effect-agents/MaxTurnsExceeded")(
  "MaxTurnsExceeded",
  { maxTurns: Schema.Number }
) {
  override get message(): string {
    return `The run reached its limit of ${this.maxTurns} model calls without a final answer`
  }
}

/**
 * The model's final answer could not be decoded with the agent's `output` schema, also after the
 * repair attempts.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputDecodeError extends Schema.TaggedError<OutputDecodeError>("effect-agents/OutputDecodeError")(
  "OutputDecodeError",
  { message: Schema.String, text: Schema.String }
) {}

/**
 * The whole run took longer than the agent's `timeout`.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunTimeout extends Schema.TaggedError<RunTimeout>("effect-agents/RunTimeout")("RunTimeout", {
  timeout: Schema.DurationFromMillis
}) {
  override get message(): string {
    return `The run did not finish within ${Duration.format(this.timeout)}`
  }
}

/**
 * The run waits for people's decisions on tool calls that need approval (see `Approval`): it is
 * not over. `pending` lists what waits (every member's request, in a team, with its path), and
 * `state` is what resuming takes, with the decisions (`Agent.resume`, `Team.resume`).
 *
 * @since 0.3.0
 * @category errors
 */
export class RunPaused extends Schema.TaggedError<RunPaused>("effect-agents/RunPaused")("RunPaused", {
  runId: Schema.String,
  pending: Schema.Array(Approval.Request),
  state: Approval.State
}) {
  override get message(): string {
    return `The run waits for approval of ${this.pending.length} tool call(s): ${
      this.pending.map((request) => [...request.path, request.tool].join("/")).join(", ")
    }. Resume it with the state and the decisions.`
  }
}

/**
 * A paused run could not be resumed (`Forged`, `Stale`, `UnknownCall`, `InvalidArguments`): defined in
 * `Approval`, beside the check of a resume that fails with it (`Approval.admit`).
 *
 * @since 0.3.0
 * @category errors
 */
export { ApprovalError }

/**
 * A guardrail blocked the run: before the first model call (`input`), on the answer or its
 * streaming text (`output`), before a tool call (`tool-call`) or on its result (`tool-result`).
 * `guardrail` names it and `reason` says why; a guardrail that failed or timed out blocks too
 * (unless it was made to fail open), with that as the reason.
 *
 * @since 0.3.0
 * @category errors
 */
export class GuardrailTripped extends Schema.TaggedError<GuardrailTripped>("effect-agents/GuardrailTripped")(
  "GuardrailTripped",
  {
    guardrail: Schema.String,
    stage: Schema.Literal("input", "output", "tool-call", "tool-result"),
    reason: Schema.String,
    tool: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `Guardrail "${this.guardrail}" blocked the run (${this.stage}${
      this.tool === undefined ? "" : ` of ${this.tool}`
    }): ${this.reason}`
  }
}

/**
 * A workflow could not run or finish: its input did not decode with its input schema
 * (`InvalidInput`: the message says what was expected), or one of its plain steps failed with an
 * error of the step's own, which is kept as `cause` (`StepFailed`), or a person rejected a step that
 * needed approval before it started (`Rejected`: `step` names it, the message gives their reason).
 * An agent step's failures stay the agent's errors.
 *
 * @since 0.3.0
 * @category errors
 */
export class WorkflowError extends Schema.TaggedError<WorkflowError>("effect-agents/WorkflowError")("WorkflowError", {
  reason: Schema.Literal("InvalidInput", "StepFailed", "Rejected"),
  workflow: Schema.String,
  step: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * Every failure of a run, as one union. It includes the `MemoryError` of a user's memory that
 * cannot be read or written (`Agent.withMemory`), for every runnable: the error type of a run then
 * does not depend on what the runnable needs, so a function generic over `Agent<A, R>` can
 * `catchTags` its run's errors and read their fields (a union with a member that depends on a
 * generic `R` is one TypeScript cannot narrow).
 *
 * @since 0.1.0
 * @category errors
 */
export type AgentError =
  | ModelError
  | ToolError
  | MaxTurnsExceeded
  | OutputDecodeError
  | RunTimeout
  | WorkflowError
  | RunPaused
  | ApprovalError
  | GuardrailTripped
  | Memory.MemoryError

/**
 * The schema of {@link AgentError}, for encoding failures over HTTP and SSE.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AgentError: Schema.Union<[
  typeof ModelError,
  typeof ToolError,
  typeof MaxTurnsExceeded,
  typeof OutputDecodeError,
  typeof RunTimeout,
  typeof WorkflowError,
  typeof RunPaused,
  typeof ApprovalError,
  typeof GuardrailTripped,
  typeof Memory.MemoryError
]> = Schema.Union(
  ModelError,
  ToolError,
  MaxTurnsExceeded,
  OutputDecodeError,
  RunTimeout,
  WorkflowError,
  RunPaused,
  ApprovalError,
  GuardrailTripped,
  Memory.MemoryError
)
