/**
 * The AI SDK's UI message stream (what `useChat` reads: Server-Sent Events with the
 * `x-vercel-ai-ui-message-stream: v1` header) over a run: the UI messages' text becomes the run's
 * input, and the run's events become UI message chunks, in their order, ending with `[DONE]`.
 *
 * - `start` (the message id is the run's id), `start-step` / `finish-step` around each model call
 *   and the tool calls it asked for;
 * - text and reasoning: `text-start` / `-delta` / `-end`, `reasoning-start` / `-delta` / `-end`;
 * - tools (dynamic tools: the client need not know them): `tool-input-start`,
 *   `tool-input-available`, then `tool-output-available` or `tool-output-error`;
 * - a team's members: a `data-member` part per member run (its id the member run's id, updated from
 *   `running` to `completed` or `failed` with the member's answer or error), and each of the member's
 *   events as a transient `data-member-event`;
 * - a workflow's steps: a `data-step` part per step run (its id the step's id, updated from
 *   `running` to `waiting`, `completed` or `failed`), each of the step's events as a transient
 *   `data-step-event`; a workflow that streamed no text gets its answer as one text part at its end;
 * - approvals: the waiting call's input, then `tool-approval-request` (its approval id the
 *   request's token); a paused run finishes with reason `other` and `paused: true` in its metadata.
 *   The client's approval responses (`addToolApprovalResponse`: its last assistant message's tool
 *   parts `approval-responded`) resume it ({@link toDecisions}) in the same assistant message: the
 *   decided calls are not announced again, an approved one's output comes, a rejected one is
 *   `tool-output-denied`;
 * - retries, fallbacks, rate-limit waits and any other event: a transient `data-event` with the
 *   event's JSON;
 * - the end: `finish` (with the finish reason, and usage and duration as message metadata), `error`
 *   for a failed run, `abort` for a cancelled one.
 */
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Approval from "../../../src/Approval.js"
import type * as HttpApi from "../../../src/HttpApi.js"
import type * as Run from "../../../src/Run.js"
import * as RunEvent from "../../../src/RunEvent.js"
import * as Sse from "./sse.js"

/** A UI message chunk, as JSON. */
export type Chunk = { readonly type: string } & Record<string, unknown>

export const headers = {
  ...Sse.headers,
  "x-vercel-ai-ui-message-stream": "v1"
} as const

/** The UI messages as the run's input: the text parts of each. */
export const toInput = (request: HttpApi.UiMessagesRequest): Run.Input => {
  const out: Array<Prompt.MessageEncoded> = []
  for (const message of request.messages) {
    const text = message.parts.map((part) => part.type === "text" ? part.text ?? "" : "").join("")
    if (text.length === 0 && message.role !== "user") continue
    out.push({ role: message.role, content: text })
  }
  return out
}

/** A person's answer to one approval request, as the AI SDK's client sends it back. */
export interface ApprovalResponse {
  readonly approvalId: string
  readonly approved: boolean
  readonly reason?: string | undefined
}

/**
 * The approval responses of a request: the tool parts of its last message, when that is the
 * assistant's, whose state is `approval-responded` (what `lastAssistantMessageIsCompleteWithApprovalResponses`
 * sends automatically). A last message of the user's is a new turn, whatever the history holds.
 */
export const approvalResponses = (request: HttpApi.UiMessagesRequest): ReadonlyArray<ApprovalResponse> => {
  const last = request.messages[request.messages.length - 1]!
  if (last.role !== "assistant") return []
  return last.parts.flatMap((part) =>
    part.state === "approval-responded" && part.approval !== undefined
      ? [{ approvalId: part.approval.id, approved: part.approval.approved === true, reason: part.approval.reason }]
      : []
  )
}

/**
 * The decisions the responses make on a paused run's pending calls (by their tokens): an approval
 * approves the call, a denial rejects it with its reason. A response to no pending call is refused.
 */
export const toDecisions = (
  pending: ReadonlyArray<Approval.Request>,
  responses: ReadonlyArray<ApprovalResponse>
): Either.Either<ReadonlyArray<Approval.Decision>, Approval.ApprovalError> => {
  const decisions: Array<Approval.Decision> = []
  for (const response of responses) {
    const request = pending.find((r) => r.token === response.approvalId)
    if (request === undefined) {
      return Either.left(
        new Approval.ApprovalError({
          reason: "UnknownCall",
          message: `No pending call of this run has the approval "${response.approvalId}": answer the approval ` +
            `requests of its last message (${pending.map((r) => r.token).join(", ") || "none"}).`
        })
      )
    }
    const ref = { toolCallId: request.toolCallId, path: request.path }
    decisions.push(
      response.approved
        ? Approval.approve(ref)
        : Approval.reject(ref, response.reason ?? "The person did not approve it.")
    )
  }
  return Either.right(decisions)
}

const encodeEvent = Schema.encodeSync(RunEvent.RunEvent)

const finishReason = (reason: Response.FinishReason): string => {
  switch (reason) {
    case "stop":
    case "length":
    case "content-filter":
    case "tool-calls":
    case "error":
      return reason
    default:
      return "other"
  }
}

const errorText = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  return typeof error === "string" ? error : JSON.stringify(error) ?? "The tool call failed."
}

/**
 * A mapper of one response: the open text and reasoning parts. State of one response only, kept in
 * its closure, since the protocol's parts are opened and closed around the deltas our events carry.
 * A resumed run's `announcedBefore` calls are in the message already: only their outcomes come.
 */
export const makeMapper = (runId: string, announcedBefore: ReadonlyArray<string> = []) => {
  let counter = 0
  // Set once `start` is out: a resumed run tells no RunStarted of its own.
  let started = false
  let text: string | undefined
  let reasoning: string | undefined
  // A step is closed when the next one starts or the run ends, not when its model call ends: the
  // tool calls the model asked for belong to its step.
  let step = false
  // Set once the run's last chunk is out: nothing may follow it.
  let ended = false
  // Whether the run streamed text: a workflow's answer may come only at its end.
  let streamedText = false
  const closeStep = (out: Array<Chunk>) => {
    if (step) out.push({ type: "finish-step" })
    step = false
  }
  const close = (out: Array<Chunk>) => {
    if (reasoning !== undefined) out.push({ type: "reasoning-end", id: reasoning })
    if (text !== undefined) out.push({ type: "text-end", id: text })
    reasoning = undefined
    text = undefined
  }
  // The tool calls whose input was sent: a call that waits for approval is announced by its request.
  const announced = new Set<string>(announcedBefore)
  const announce = (toolCallId: string, toolName: string, input: unknown, out: Array<Chunk>) => {
    if (announced.has(toolCallId)) return
    announced.add(toolCallId)
    out.push({ type: "tool-input-start", toolCallId, toolName, dynamic: true })
    out.push({ type: "tool-input-available", toolCallId, toolName, input: input ?? {}, dynamic: true })
  }
  const data = (event: RunEvent.RunEvent): Chunk => ({ type: "data-event", data: encodeEvent(event), transient: true })

  const map = (event: RunEvent.RunEvent, out: Array<Chunk>): void => {
    switch (event._tag) {
      case "RunStarted":
        return
      case "ModelRequestStarted":
        close(out)
        closeStep(out)
        step = true
        out.push({ type: "start-step" })
        return
      case "TextDelta":
        if (event.delta.length === 0) return
        if (reasoning !== undefined) {
          out.push({ type: "reasoning-end", id: reasoning })
          reasoning = undefined
        }
        if (text === undefined) {
          text = `${runId}-text-${++counter}`
          out.push({ type: "text-start", id: text })
        }
        streamedText = true
        out.push({ type: "text-delta", id: text, delta: event.delta })
        return
      case "ReasoningDelta":
        if (event.delta.length === 0) return
        if (text !== undefined) {
          out.push({ type: "text-end", id: text })
          text = undefined
        }
        if (reasoning === undefined) {
          reasoning = `${runId}-reasoning-${++counter}`
          out.push({ type: "reasoning-start", id: reasoning })
        }
        out.push({ type: "reasoning-delta", id: reasoning, delta: event.delta })
        return
      case "ToolCallStarted":
        close(out)
        announce(event.toolCallId, event.name, event.arguments, out)
        return
      case "ToolCallCompleted":
        out.push({ type: "tool-output-available", toolCallId: event.toolCallId, output: event.result ?? null, dynamic: true })
        return
      case "ToolCallFailed":
        // A call a person rejected is denied, as the AI SDK shows a denial.
        if (event.reason === "Rejected") {
          out.push({ type: "tool-output-denied", toolCallId: event.toolCallId })
          return
        }
        out.push({
          type: "tool-output-error",
          toolCallId: event.toolCallId,
          errorText: `${event.reason}: ${errorText(event.error)}`,
          dynamic: true
        })
        return
      case "ModelRequestCompleted":
        close(out)
        return
      case "MemberRunStarted":
        out.push({
          type: "data-member",
          id: event.memberRunId,
          data: { member: event.member, task: event.task, status: "running" }
        })
        return
      case "MemberEvent":
        out.push({
          type: "data-member-event",
          data: { memberRunId: event.memberRunId, member: event.member, event: encodeEvent(event.event) },
          transient: true
        })
        return
      case "MemberRunCompleted":
        out.push({
          type: "data-member",
          id: event.memberRunId,
          data: { member: event.member, status: "completed", text: event.output.text }
        })
        return
      case "MemberRunFailed":
        out.push({
          type: "data-member",
          id: event.memberRunId,
          data: { member: event.member, status: "failed", error: event.error.message }
        })
        return
      case "ApprovalRequested":
        close(out)
        announce(event.toolCallId, event.tool, event.arguments, out)
        out.push({ type: "tool-approval-request", approvalId: event.token, toolCallId: event.toolCallId })
        return
      case "StepStarted":
        out.push({
          type: "data-step",
          id: event.stepId,
          data: {
            step: event.step,
            kind: event.kind,
            status: "running",
            ...(event.parentStepId === undefined ? {} : { parentStepId: event.parentStepId })
          }
        })
        return
      case "StepWaiting":
        out.push({ type: "data-step", id: event.stepId, data: { step: event.step, status: "waiting", signal: event.signal } })
        return
      case "StepCompleted":
        out.push({
          type: "data-step",
          id: event.stepId,
          data: { step: event.step, status: "completed", durationMs: Duration.toMillis(event.duration) }
        })
        return
      case "StepFailed":
        out.push({ type: "data-step", id: event.stepId, data: { step: event.step, status: "failed", error: event.error.message } })
        return
      case "StepEvent":
        out.push({
          type: "data-step-event",
          data: { stepId: event.stepId, step: event.step, event: encodeEvent(event.event) },
          transient: true
        })
        return
      case "RunPaused":
        if (ended) return
        close(out)
        closeStep(out)
        ended = true
        out.push({ type: "finish", finishReason: "other", messageMetadata: { runId, paused: true } })
        return
      case "RunCompleted": {
        if (ended) return
        close(out)
        closeStep(out)
        if (!streamedText && event.output.text.length > 0) {
          const id = `${runId}-text-${++counter}`
          out.push({ type: "text-start", id }, { type: "text-delta", id, delta: event.output.text }, { type: "text-end", id })
        }
        ended = true
        const metrics = event.output.metrics
        out.push({
          type: "finish",
          finishReason: finishReason(event.output.finishReason),
          messageMetadata: {
            runId,
            inputTokens: metrics.inputTokens,
            outputTokens: metrics.outputTokens,
            totalTokens: metrics.totalTokens,
            durationMs: Duration.toMillis(metrics.duration)
          }
        })
        return
      }
      case "RunFailed":
        if (ended) return
        ended = true
        close(out)
        closeStep(out)
        out.push({ type: "error", errorText: event.error.message })
        return
      default:
        out.push(data(event))
    }
  }

  return (event: HttpApi.StreamEvent): ReadonlyArray<Chunk> => {
    const out: Array<Chunk> = []
    if (!started) {
      started = true
      out.push({ type: "start", messageId: runId })
    }
    switch (event._tag) {
      case "RunCancelled":
        if (ended) break
        ended = true
        close(out)
        closeStep(out)
        out.push({ type: "abort", reason: event.message })
        break
      case "RunError":
        if (ended) break
        ended = true
        close(out)
        closeStep(out)
        out.push({ type: "error", errorText: event.error.message })
        break
      default:
        map(event, out)
    }
    return out
  }
}

/** The run's events as UI message chunks (a resumed run's: with the calls its pause `announced`). */
export const chunks = (
  runId: string,
  stream: Stream.Stream<HttpApi.StreamEvent>,
  announced?: ReadonlyArray<string>
): Stream.Stream<Chunk> => Stream.suspend(() => Stream.mapConcat(stream, makeMapper(runId, announced)))

/** The body of the response: one `data:` line per chunk, then `[DONE]`. */
export const body = (
  runId: string,
  stream: Stream.Stream<HttpApi.StreamEvent>,
  announced?: ReadonlyArray<string>
): Stream.Stream<Uint8Array> =>
  Stream.concat(
    Stream.map(chunks(runId, stream, announced), (chunk) => Sse.data(JSON.stringify(chunk))),
    Stream.sync(() => Sse.data("[DONE]"))
  )
