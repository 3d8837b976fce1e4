/**
 * OpenAI Chat Completions over an agent: the request's messages become the run's input, the run's
 * output a `chat.completion`, its text deltas `chat.completion.chunk`s. Only the top-level text of
 * the run is sent: a team's members' events, tool calls and reasoning are the agent's own business.
 */
import type * as Response from "@effect/ai/Response"
import * as Stream from "effect/Stream"
import type * as HttpApi from "../../../src/HttpApi.js"
import type * as Run from "../../../src/Run.js"
import * as Conversation from "./conversation.js"
import * as Sse from "./sse.js"

const textOf = (content: HttpApi.ChatMessage["content"]): string =>
  content === undefined || content === null
    ? ""
    : typeof content === "string"
    ? content
    : content.map((part) => part.text ?? "").join("")

/** The conversation as the run's input: system, user and assistant text; tool results as user text. */
export const toInput = (messages: ReadonlyArray<HttpApi.ChatMessage>): Run.Input =>
  Conversation.toInput(
    messages.map((message) => ({ role: message.role, text: textOf(message.content), toolCallId: message.tool_call_id }))
  )

export const finishReason = (reason: Response.FinishReason): string => {
  switch (reason) {
    case "length":
      return "length"
    case "content-filter":
      return "content_filter"
    default:
      return "stop"
  }
}

const usage = (metrics: Run.Metrics): typeof HttpApi.ChatUsage.Type => ({
  prompt_tokens: metrics.inputTokens,
  completion_tokens: metrics.outputTokens,
  total_tokens: metrics.totalTokens
})

export const completion = (model: string, created: number, output: Run.Output<unknown>): HttpApi.ChatCompletion => ({
  id: `chatcmpl-${output.runId}`,
  object: "chat.completion",
  created,
  model,
  choices: [{
    index: 0,
    message: { role: "assistant", content: output.text },
    finish_reason: finishReason(output.finishReason),
    logprobs: null
  }],
  usage: usage(output.metrics)
})

export const error = (message: string, type: string, code: string | null): HttpApi.ChatCompletionError => ({
  error: { message, type, param: null, code }
})

/**
 * The chunks of a streamed completion, from the run's events: a first chunk with the role, one per
 * text delta, a last one with the finish reason, the usage when asked for, then `[DONE]`. A run that
 * fails ends with an `error` object, as OpenAI's API does.
 */
export const chunks = (
  model: string,
  created: number,
  runId: string,
  includeUsage: boolean,
  events: Stream.Stream<HttpApi.StreamEvent>
): Stream.Stream<Uint8Array> => {
  const id = `chatcmpl-${runId}`
  const chunk = (delta: Record<string, unknown>, finish: string | null, extra?: Record<string, unknown>) =>
    Sse.data(JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...extra
    }))
  const first = Stream.succeed(chunk({ role: "assistant", content: "" }, null))
  const body = Stream.mapConcat(events, (event): ReadonlyArray<Uint8Array> => {
    switch (event._tag) {
      case "TextDelta":
        return event.delta.length === 0 ? [] : [chunk({ content: event.delta }, null)]
      case "RunCompleted": {
        const out = [chunk({}, finishReason(event.output.finishReason))]
        if (includeUsage) {
          out.push(Sse.data(JSON.stringify({
            id,
            object: "chat.completion.chunk",
            created,
            model,
            choices: [],
            usage: usage(event.output.metrics)
          })))
        }
        out.push(Sse.data("[DONE]"))
        return out
      }
      case "RunFailed":
        return [Sse.data(JSON.stringify(error(event.error.message, "server_error", event.error._tag)))]
      case "RunError":
        return [Sse.data(JSON.stringify(error(event.error.message, "server_error", event.error._tag)))]
      case "RunCancelled":
        return [Sse.data(JSON.stringify(error(event.message, "server_error", "cancelled")))]
      default:
        return []
    }
  })
  return Stream.concat(first, body)
}
