/**
 * AG-UI (the Agent–User Interaction protocol, as CopilotKit and AG-UI clients speak it) over a run:
 * the conversation of a `RunAgentInput` becomes the run's input, and the run's events become AG-UI
 * events, in their order, one `data:` line of JSON each.
 *
 * - text and reasoning: TEXT_MESSAGE_START / _CONTENT / _END and REASONING_START,
 *   REASONING_MESSAGE_START / _CONTENT / _END, REASONING_END, a message closed when the other kind,
 *   a tool call or the model call's end comes;
 * - tools: TOOL_CALL_START, TOOL_CALL_ARGS (the arguments as one JSON delta), TOOL_CALL_END, then
 *   TOOL_CALL_RESULT (a failure's result is `{"error": …}`);
 * - a team's members: SUBAGENT_STARTED / _FINISHED / _ERROR, and the member's own events attributed
 *   to it with `subagentRunId` (nested teams through `parentSubagentRunId`);
 * - workflow steps: STEP_STARTED / STEP_FINISHED (a failed step's event as CUSTOM before its end),
 *   the step's own work (its agent's text and tools) as the run's; a workflow that streamed no text
 *   of its own gets its answer as one text message at its end;
 * - retries, fallbacks, rate-limit waits and any other event: CUSTOM, named `effect-agents.<Tag>`
 *   with the event's JSON as value;
 * - approvals: the waiting call's TOOL_CALL_START / _ARGS / _END and its request as CUSTOM; a
 *   paused run ends with RUN_FINISHED whose outcome is `interrupt`, one interrupt per pending call
 *   (its id the request's token; reason `tool_call`, or `input_required` for a tool's question). The
 *   client's next `RunAgentInput` answers them in `resume` ({@link toDecisions}) and the paused run
 *   goes on as a new AG-UI run: its calls are not announced again, their TOOL_CALL_RESULT comes
 *   against their first run's ids;
 * - the end: RUN_FINISHED (with the answer's text and the token usage; a cancelled run's outcome is
 *   `cancelled`) or RUN_ERROR; nothing after it.
 *
 * Message ids are derived from the run's id, so a response is the same for the same run.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Approval from "../../../src/Approval.js"
import type * as HttpApi from "../../../src/HttpApi.js"
import type * as Run from "../../../src/Run.js"
import * as RunEvent from "../../../src/RunEvent.js"
import * as Conversation from "./conversation.js"
import * as Sse from "./sse.js"

/** An AG-UI event, as JSON. */
export type Event = { readonly type: string } & Record<string, unknown>

const textOf = (content: unknown): string => {
  if (typeof content === "string") return content
  if (Array.isArray(content)) {
    return content.map((part) =>
      typeof part === "object" && part !== null && "text" in part && typeof part.text === "string" ? part.text : ""
    ).join("")
  }
  return content === undefined || content === null ? "" : JSON.stringify(content)
}

/** The conversation of a `RunAgentInput` as the run's input: its text, tool results as user text. */
export const toInput = (input: HttpApi.AgUiInput): Run.Input =>
  Conversation.toInput(
    input.messages.map((message) => ({ role: message.role, text: textOf(message.content), toolCallId: message.toolCallId }))
  )

const encodeEvent = Schema.encodeSync(RunEvent.RunEvent)

const json = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? "null"
  } catch {
    return String(value)
  }
}

const usage = (metrics: Run.Metrics) => [{
  inputTokens: metrics.inputTokens,
  outputTokens: metrics.outputTokens,
  totalTokens: metrics.totalTokens
}]

/** What a tool-bound interrupt's `resume.payload` is: AG-UI's approve-with-edits shape. */
const approvalSchema = {
  type: "object",
  properties: {
    approved: { type: "boolean" },
    editedArgs: { type: "object", description: "The tool's arguments instead of the model's (all of them)." },
    reason: { type: "string", description: "Why it was not approved: the model is told." }
  },
  required: ["approved"]
}

/** A pending call as an AG-UI interrupt, answered by its token. */
const interruptOf = (request: Approval.Request): Event => {
  const asks = request.kind === "input"
  return {
    type: "interrupt",
    id: request.token,
    reason: asks ? "input_required" : "tool_call",
    toolCallId: request.toolCallId,
    message: asks
      ? `The tool ${request.tool} asks a question: its answer is the resume's payload.`
      : `The tool ${request.tool} needs approval.`,
    ...(asks ? {} : { responseSchema: approvalSchema }),
    metadata: { tool: request.tool, arguments: request.arguments, path: request.path }
  }
}

/**
 * The decisions a client's `resume` entries make on the pending calls of a paused run: a
 * `cancelled` entry or `{ "approved": false, "reason"? }` rejects the call, `{ "approved": true,
 * "editedArgs"? }` approves it (with those arguments), and a question's payload is its answer. Every
 * entry must answer one of the pending calls (by its token); otherwise the message says why not.
 */
export const toDecisions = (
  pending: ReadonlyArray<Approval.Request>,
  resume: NonNullable<HttpApi.AgUiInput["resume"]>
): Either.Either<ReadonlyArray<Approval.Decision>, Approval.ApprovalError> => {
  const decisions: Array<Approval.Decision> = []
  for (const entry of resume) {
    const request = pending.find((r) => r.token === entry.interruptId)
    const refuse = (reason: "UnknownCall" | "InvalidArguments", message: string) =>
      Either.left(
        new Approval.ApprovalError({ reason, message, ...(request === undefined ? {} : { toolCallId: request.toolCallId }) })
      )
    if (request === undefined) {
      return refuse(
        "UnknownCall",
        `No pending call of this run has the interrupt "${entry.interruptId}": answer the interrupts of its last ` +
          `RUN_FINISHED (${pending.map((r) => r.token).join(", ") || "none"}).`
      )
    }
    const ref = { toolCallId: request.toolCallId, path: request.path }
    const payload = entry.payload as Record<string, unknown> | undefined
    if (entry.status === "cancelled") {
      decisions.push(Approval.reject(ref, "The person dismissed the request without deciding."))
    } else if (request.kind === "input") {
      decisions.push(Approval.answer(ref, entry.payload))
    } else if (typeof payload !== "object" || payload === null || typeof payload.approved !== "boolean") {
      return refuse(
        "InvalidArguments",
        `The answer to the interrupt "${entry.interruptId}" (${request.tool}) has no "approved": send ` +
          `{ "approved": true } (with "editedArgs" to change its arguments) or { "approved": false, "reason": "..." }.`
      )
    } else if (payload.approved) {
      decisions.push(Approval.approve(ref, "editedArgs" in payload ? { arguments: payload.editedArgs } : undefined))
    } else {
      decisions.push(
        Approval.reject(ref, typeof payload.reason === "string" ? payload.reason : "The person did not approve it.")
      )
    }
  }
  return Either.right(decisions)
}

/**
 * A mapper of one response: which text or reasoning message is open, per agent (the run itself, or
 * each member run). State of one response only, kept in its closure, since AG-UI's messages are
 * opened and closed around the deltas that our events carry one by one. A resumed run's
 * `announced` calls were announced by the run that paused: only their results come.
 */
export const makeMapper = (threadId: string, runId: string, announcedBefore: ReadonlyArray<string> = []) => {
  let counter = 0
  // Set once RUN_STARTED is out: a resumed run tells no RunStarted of its own.
  let started = false
  const open = new Map<string, { text?: string | undefined; reasoning?: string | undefined; lastText?: string | undefined }>()
  // Set once the run's last event (RUN_FINISHED or RUN_ERROR) is out: nothing may follow it.
  let ended = false
  // Whether the run itself (not a member) streamed text: a workflow's answer may come only at its end.
  let rootText = false
  const scope = (sub: string | undefined) => {
    const key = sub ?? ""
    let state = open.get(key)
    if (state === undefined) {
      state = {}
      open.set(key, state)
    }
    return state
  }
  const attributed = (sub: string | undefined, event: Event): Event =>
    sub === undefined ? event : { ...event, subagentRunId: sub }
  const closeText = (sub: string | undefined, out: Array<Event>) => {
    const state = scope(sub)
    if (state.text !== undefined) {
      out.push(attributed(sub, { type: "TEXT_MESSAGE_END", messageId: state.text }))
      state.text = undefined
    }
  }
  const closeReasoning = (sub: string | undefined, out: Array<Event>) => {
    const state = scope(sub)
    if (state.reasoning !== undefined) {
      out.push(attributed(sub, { type: "REASONING_MESSAGE_END", messageId: state.reasoning }))
      out.push(attributed(sub, { type: "REASONING_END", messageId: state.reasoning }))
      state.reasoning = undefined
    }
  }
  const close = (sub: string | undefined, out: Array<Event>) => {
    closeReasoning(sub, out)
    closeText(sub, out)
  }
  // The tool calls already announced (TOOL_CALL_START, _ARGS, _END).
  const announced = new Set<string>(announcedBefore)
  const announce = (sub: string | undefined, toolCallId: string, name: string, args: unknown, out: Array<Event>) => {
    if (announced.has(toolCallId)) return
    announced.add(toolCallId)
    close(sub, out)
    const parent = scope(sub).lastText
    out.push(attributed(sub, {
      type: "TOOL_CALL_START",
      toolCallId,
      toolCallName: name,
      ...(parent === undefined ? {} : { parentMessageId: parent })
    }))
    out.push(attributed(sub, { type: "TOOL_CALL_ARGS", toolCallId, delta: json(args) }))
    out.push(attributed(sub, { type: "TOOL_CALL_END", toolCallId }))
  }
  const custom = (sub: string | undefined, event: RunEvent.RunEvent, out: Array<Event>) => {
    out.push(attributed(sub, { type: "CUSTOM", name: `effect-agents.${event._tag}`, value: encodeEvent(event) }))
  }

  const finishWith = (event: Event, out: Array<Event>) => {
    if (ended) return
    ended = true
    out.push(event)
  }

  /**
   * `sub`: the member run the event belongs to (its AG-UI attribution, and its own open messages);
   * `nested`: the event is a member's or a workflow step's, not the run's own.
   */
  const map = (event: RunEvent.RunEvent, sub: string | undefined, nested: boolean, out: Array<Event>): void => {
    switch (event._tag) {
      case "RunStarted":
        return
      case "ModelRequestStarted":
        return
      case "TextDelta": {
        if (event.delta.length === 0) return
        closeReasoning(sub, out)
        const state = scope(sub)
        if (sub === undefined) rootText = true
        if (state.text === undefined) {
          state.text = `${runId}-message-${++counter}`
          state.lastText = state.text
          out.push(attributed(sub, { type: "TEXT_MESSAGE_START", messageId: state.text, role: "assistant" }))
        }
        out.push(attributed(sub, { type: "TEXT_MESSAGE_CONTENT", messageId: state.text, delta: event.delta }))
        return
      }
      case "ReasoningDelta": {
        if (event.delta.length === 0) return
        closeText(sub, out)
        const state = scope(sub)
        if (state.reasoning === undefined) {
          state.reasoning = `${runId}-reasoning-${++counter}`
          out.push(attributed(sub, { type: "REASONING_START", messageId: state.reasoning }))
          out.push(attributed(sub, { type: "REASONING_MESSAGE_START", messageId: state.reasoning, role: "reasoning" }))
        }
        out.push(attributed(sub, { type: "REASONING_MESSAGE_CONTENT", messageId: state.reasoning, delta: event.delta }))
        return
      }
      case "ToolCallStarted":
        announce(sub, event.toolCallId, event.name, event.arguments, out)
        return
      case "ApprovalRequested":
        // The call waits for a decision: it is announced now, its request said as CUSTOM.
        announce(sub, event.toolCallId, event.tool, event.arguments, out)
        custom(sub, event, out)
        return
      case "ToolCallCompleted":
        out.push(attributed(sub, {
          type: "TOOL_CALL_RESULT",
          messageId: `${event.toolCallId}-result`,
          toolCallId: event.toolCallId,
          content: json(event.result),
          role: "tool"
        }))
        return
      case "ToolCallFailed":
        out.push(attributed(sub, {
          type: "TOOL_CALL_RESULT",
          messageId: `${event.toolCallId}-result`,
          toolCallId: event.toolCallId,
          content: json({ error: event.reason, detail: event.error }),
          role: "tool"
        }))
        return
      case "ModelRequestCompleted":
        close(sub, out)
        return
      case "MemberRunStarted":
        close(sub, out)
        out.push({
          type: "SUBAGENT_STARTED",
          subagentRunId: event.memberRunId,
          name: event.member,
          ...(sub === undefined ? {} : { parentSubagentRunId: sub }),
          ...(event.toolCallId === undefined ? {} : { parentToolCallId: event.toolCallId })
        })
        return
      case "MemberEvent":
        map(event.event, event.memberRunId, true, out)
        return
      case "MemberRunCompleted":
        close(event.memberRunId, out)
        open.delete(event.memberRunId)
        out.push({ type: "SUBAGENT_FINISHED", subagentRunId: event.memberRunId, result: event.output.text })
        return
      case "MemberRunFailed":
        close(event.memberRunId, out)
        open.delete(event.memberRunId)
        out.push({ type: "SUBAGENT_ERROR", subagentRunId: event.memberRunId, message: event.error.message, code: event.error._tag })
        return
      case "StepStarted":
        out.push(attributed(sub, { type: "STEP_STARTED", stepName: event.step }))
        return
      case "StepEvent":
        // A step's own work (its agent's text and tools) is the workflow's: not attributed to a subagent.
        map(event.event, sub, true, out)
        return
      case "StepCompleted":
        close(sub, out)
        out.push(attributed(sub, { type: "STEP_FINISHED", stepName: event.step }))
        return
      case "StepFailed":
        close(sub, out)
        custom(sub, event, out)
        out.push(attributed(sub, { type: "STEP_FINISHED", stepName: event.step }))
        return
      case "RunCompleted":
        if (nested) return
        close(sub, out)
        if (!rootText && event.output.text.length > 0) {
          const messageId = `${runId}-message-${++counter}`
          out.push({ type: "TEXT_MESSAGE_START", messageId, role: "assistant" })
          out.push({ type: "TEXT_MESSAGE_CONTENT", messageId, delta: event.output.text })
          out.push({ type: "TEXT_MESSAGE_END", messageId })
        }
        finishWith({
          type: "RUN_FINISHED",
          threadId,
          runId,
          result: event.output.text,
          usage: usage(event.output.metrics)
        }, out)
        return
      case "RunFailed":
        if (nested) return
        close(sub, out)
        finishWith({ type: "RUN_ERROR", message: event.error.message, code: event.error._tag }, out)
        return
      case "RunPaused":
        if (nested) return
        close(sub, out)
        // Each pending call is an interrupt, answered by its token.
        finishWith({
          type: "RUN_FINISHED",
          threadId,
          runId,
          outcome: {
            type: "interrupt",
            interrupts: event.pending.map((request) => {
              const { type: _, ...interrupt } = interruptOf(request)
              return interrupt
            })
          }
        }, out)
        return
      default:
        // Retries, fallbacks, rate-limit waits and events added later: their own JSON, by name.
        custom(sub, event, out)
    }
  }

  return (event: HttpApi.StreamEvent): ReadonlyArray<Event> => {
    const out: Array<Event> = []
    if (!started) {
      started = true
      out.push({ type: "RUN_STARTED", threadId, runId })
    }
    switch (event._tag) {
      case "RunCancelled":
        close(undefined, out)
        finishWith({ type: "RUN_FINISHED", threadId, runId, outcome: { type: "cancelled" } }, out)
        break
      case "RunError":
        close(undefined, out)
        finishWith({ type: "RUN_ERROR", message: event.error.message, code: event.error._tag }, out)
        break
      default:
        map(event, undefined, false, out)
    }
    return out
  }
}

/** The run's events as AG-UI events (a resumed run's: with the calls its pause `announced`). */
export const events = (
  threadId: string,
  runId: string,
  stream: Stream.Stream<HttpApi.StreamEvent>,
  announced?: ReadonlyArray<string>
): Stream.Stream<Event> =>
  Stream.suspend(() => {
    const mapper = makeMapper(threadId, runId, announced)
    return Stream.mapConcat(stream, mapper)
  })

/** The body of the response: one `data:` line per event. */
export const body = (
  threadId: string,
  runId: string,
  stream: Stream.Stream<HttpApi.StreamEvent>,
  announced?: ReadonlyArray<string>
): Stream.Stream<Uint8Array> =>
  Stream.map(events(threadId, runId, stream, announced), (event) => Sse.data(JSON.stringify(event)))

/**
 * The body of a resume refused before anything ran: RUN_STARTED, then RUN_ERROR with the refusal
 * (AG-UI's answer to a resume it cannot take; the paused run still waits).
 */
export const refused = (threadId: string, runId: string, error: Approval.ApprovalError): Stream.Stream<Uint8Array> =>
  body(threadId, runId, Stream.make(new RunEvent.RunFailed({ runId, error })))
