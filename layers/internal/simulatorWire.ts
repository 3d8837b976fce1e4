// The three wire protocols, written as plain strings: SSE frames built from templates (one
// JSON.stringify per delta string, no per-event schema encoding), JSON bodies, and each provider's
// error bodies and in-stream error events.
import * as Duration from "effect/Duration"
import type { ErrorKind, FinishReason, Protocol, Request } from "./simulatorModel.js"
import type { Resolved } from "./simulatorResponder.js"

/** What a response needs besides its content. */
export interface Context {
  readonly id: string
  /** Unix seconds. */
  readonly created: number
  readonly request: Request
}

/** An SSE body: its frames, where chunks begin (a chunk delay is waited before each), and where content starts. */
export interface Body {
  readonly frames: ReadonlyArray<string>
  /** Ascending indices of frames that begin a new chunk. */
  readonly breaks: ReadonlyArray<number>
  /** The index of the first content delta frame (`frames.length` when there is none). */
  readonly firstContent: number
}

const q = JSON.stringify

const sse = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`

class Builder {
  readonly frames: Array<string> = []
  readonly breaks: Array<number> = []
  firstContent = -1
  push(frame: string) {
    this.frames.push(frame)
  }
  /** A content delta: the first one opens the content, each further one a new chunk. */
  delta(frame: string) {
    if (this.firstContent === -1) this.firstContent = this.frames.length
    else this.breaks.push(this.frames.length)
    this.frames.push(frame)
  }
  body(): Body {
    return {
      frames: this.frames,
      breaks: this.breaks,
      firstContent: this.firstContent === -1 ? this.frames.length : this.firstContent
    }
  }
}

// -----------------------------------------------------------------------------
// OpenAI Responses
// -----------------------------------------------------------------------------

const responsesUsage = (r: Resolved) => ({
  input_tokens: r.inputTokens,
  input_tokens_details: { cached_tokens: r.cachedInputTokens },
  output_tokens: r.outputTokens,
  output_tokens_details: { reasoning_tokens: r.reasoningTokens },
  total_tokens: r.inputTokens + r.outputTokens
})

const incompleteReason = (reason: FinishReason) =>
  reason === "length" ? "max_output_tokens" : reason === "content-filter" ? "content_filter" : undefined

const responseObject = (
  ctx: Context,
  model: string,
  status: "in_progress" | "completed" | "incomplete" | "failed",
  output: ReadonlyArray<unknown>,
  usage: unknown,
  extra?: { readonly incomplete?: string | undefined; readonly error?: unknown }
) => ({
  id: ctx.id,
  object: "response",
  created_at: ctx.created,
  status,
  error: extra?.error ?? null,
  incomplete_details: extra?.incomplete === undefined ? null : { reason: extra.incomplete },
  instructions: null,
  max_output_tokens: ctx.request.maxTokens ?? null,
  model,
  output,
  parallel_tool_calls: true,
  previous_response_id: null,
  store: false,
  temperature: 1,
  tool_choice: "auto",
  tools: [],
  top_p: 1,
  truncation: "disabled",
  usage,
  user: null,
  metadata: {}
})

const messageId = (ctx: Context) => `msg_${ctx.id.slice(5)}`
const functionItemId = (ctx: Context, i: number) => `fc_${ctx.id.slice(5)}_${i}`

const responsesOutput = (r: Resolved, ctx: Context): Array<unknown> => {
  const output: Array<unknown> = []
  if (r.text.length > 0) {
    output.push({
      id: messageId(ctx),
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: r.text.join(""), annotations: [], logprobs: [] }]
    })
  }
  r.toolCalls.forEach((call, i) => {
    output.push({
      id: functionItemId(ctx, i),
      type: "function_call",
      status: "completed",
      call_id: call.id,
      name: call.name,
      arguments: call.arguments
    })
  })
  return output
}

const responsesJson = (r: Resolved, ctx: Context): string => {
  const incomplete = incompleteReason(r.finishReason)
  return q(
    responseObject(
      ctx,
      r.model,
      incomplete === undefined ? "completed" : "incomplete",
      responsesOutput(r, ctx),
      responsesUsage(r),
      { incomplete }
    )
  )
}

const responsesStream = (r: Resolved, ctx: Context): Body => {
  const b = new Builder()
  let seq = 0
  const start = q(responseObject(ctx, r.model, "in_progress", [], null))
  b.push(sse("response.created", `{"type":"response.created","sequence_number":${seq++},"response":${start}}`))
  b.push(sse("response.in_progress", `{"type":"response.in_progress","sequence_number":${seq++},"response":${start}}`))
  let index = 0
  if (r.text.length > 0) {
    const itemId = q(messageId(ctx))
    const text = r.text.join("")
    b.push(sse(
      "response.output_item.added",
      `{"type":"response.output_item.added","sequence_number":${seq++},"output_index":${index},"item":{"id":${itemId},"type":"message","status":"in_progress","content":[],"role":"assistant"}}`
    ))
    b.push(sse(
      "response.content_part.added",
      `{"type":"response.content_part.added","sequence_number":${seq++},"item_id":${itemId},"output_index":${index},"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}`
    ))
    const head = `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":`
    const middle = `,"item_id":${itemId},"output_index":${index},"content_index":0,"delta":`
    for (const piece of r.text) b.delta(`${head}${seq++}${middle}${q(piece)},"logprobs":[]}\n\n`)
    const part = `{"type":"output_text","annotations":[],"logprobs":[],"text":${q(text)}}`
    b.push(sse(
      "response.output_text.done",
      `{"type":"response.output_text.done","sequence_number":${seq++},"item_id":${itemId},"output_index":${index},"content_index":0,"text":${
        q(text)
      },"logprobs":[]}`
    ))
    b.push(sse(
      "response.content_part.done",
      `{"type":"response.content_part.done","sequence_number":${seq++},"item_id":${itemId},"output_index":${index},"content_index":0,"part":${part}}`
    ))
    b.push(sse(
      "response.output_item.done",
      `{"type":"response.output_item.done","sequence_number":${seq++},"output_index":${index},"item":{"id":${itemId},"type":"message","status":"completed","content":[${part}],"role":"assistant"}}`
    ))
    index++
  }
  r.toolCalls.forEach((call, i) => {
    const itemId = q(functionItemId(ctx, i))
    const fields = `"call_id":${q(call.id)},"name":${q(call.name)}`
    b.push(sse(
      "response.output_item.added",
      `{"type":"response.output_item.added","sequence_number":${seq++},"output_index":${index},"item":{"id":${itemId},"type":"function_call","status":"in_progress","arguments":"",${fields}}}`
    ))
    const head = `event: response.function_call_arguments.delta\ndata: {"type":"response.function_call_arguments.delta","sequence_number":`
    const middle = `,"item_id":${itemId},"output_index":${index},"delta":`
    for (const piece of call.chunks) b.delta(`${head}${seq++}${middle}${q(piece)}}\n\n`)
    b.push(sse(
      "response.function_call_arguments.done",
      `{"type":"response.function_call_arguments.done","sequence_number":${seq++},"item_id":${itemId},"output_index":${index},"arguments":${
        q(call.arguments)
      }}`
    ))
    b.push(sse(
      "response.output_item.done",
      `{"type":"response.output_item.done","sequence_number":${seq++},"output_index":${index},"item":{"id":${itemId},"type":"function_call","status":"completed","arguments":${
        q(call.arguments)
      },${fields}}}`
    ))
    index++
  })
  const incomplete = incompleteReason(r.finishReason)
  const type = incomplete === undefined ? "response.completed" : "response.incomplete"
  const final = q(
    responseObject(
      ctx,
      r.model,
      incomplete === undefined ? "completed" : "incomplete",
      responsesOutput(r, ctx),
      responsesUsage(r),
      { incomplete }
    )
  )
  b.push(sse(type, `{"type":"${type}","sequence_number":${seq++},"response":${final}}`))
  return b.body()
}

// -----------------------------------------------------------------------------
// OpenAI Chat Completions
// -----------------------------------------------------------------------------

const chatFinish = (reason: FinishReason) =>
  reason === "tool-calls" ? "tool_calls" : reason === "content-filter" ? "content_filter" : reason

const chatUsage = (r: Resolved) => ({
  prompt_tokens: r.inputTokens,
  completion_tokens: r.outputTokens,
  total_tokens: r.inputTokens + r.outputTokens,
  prompt_tokens_details: { cached_tokens: r.cachedInputTokens, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: r.reasoningTokens,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0
  }
})

const chatJson = (r: Resolved, ctx: Context): string => {
  const message: Record<string, unknown> = {
    role: "assistant",
    content: r.text.length > 0 ? r.text.join("") : null,
    refusal: null,
    annotations: []
  }
  if (r.toolCalls.length > 0) {
    message.tool_calls = r.toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments }
    }))
  }
  return q({
    id: ctx.id,
    object: "chat.completion",
    created: ctx.created,
    model: r.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: chatFinish(r.finishReason) }],
    usage: chatUsage(r),
    service_tier: "default",
    system_fingerprint: "fp_simulator"
  })
}

const chatStream = (r: Resolved, ctx: Context): Body => {
  const b = new Builder()
  const usageField = ctx.request.includeUsage ? `,"usage":null` : ""
  const prefix =
    `data: {"id":${q(ctx.id)},"object":"chat.completion.chunk","created":${ctx.created},"model":${q(r.model)},"system_fingerprint":"fp_simulator","choices":`
  const head = `${prefix}[{"index":0,"delta":`
  const tail = `,"logprobs":null,"finish_reason":null}]${usageField}}\n\n`
  b.push(`${head}{"role":"assistant","content":${r.text.length > 0 ? `""` : "null"},"refusal":null}${tail}`)
  for (const piece of r.text) b.delta(`${head}{"content":${q(piece)}}${tail}`)
  r.toolCalls.forEach((call, i) => {
    b.push(
      `${head}{"tool_calls":[{"index":${i},"id":${q(call.id)},"type":"function","function":{"name":${
        q(call.name)
      },"arguments":""}}]}${tail}`
    )
    for (const piece of call.chunks) {
      b.delta(`${head}{"tool_calls":[{"index":${i},"function":{"arguments":${q(piece)}}}]}${tail}`)
    }
  })
  b.push(`${head}{},"logprobs":null,"finish_reason":"${chatFinish(r.finishReason)}"}]${usageField}}\n\n`)
  if (ctx.request.includeUsage) b.push(`${prefix}[],"usage":${q(chatUsage(r))}}\n\n`)
  b.push("data: [DONE]\n\n")
  return b.body()
}

// -----------------------------------------------------------------------------
// Anthropic Messages
// -----------------------------------------------------------------------------

const stopReason = (reason: FinishReason) =>
  reason === "tool-calls"
    ? "tool_use"
    : reason === "length"
    ? "max_tokens"
    : reason === "content-filter"
    ? "refusal"
    : "end_turn"

const toolInput = (args: string): unknown => {
  try {
    return JSON.parse(args)
  } catch {
    return args
  }
}

const messagesJson = (r: Resolved, ctx: Context): string => {
  const content: Array<unknown> = []
  if (r.text.length > 0) content.push({ type: "text", text: r.text.join("") })
  for (const call of r.toolCalls) {
    content.push({ type: "tool_use", id: call.id, name: call.name, input: toolInput(call.arguments) })
  }
  return q({
    id: ctx.id,
    type: "message",
    role: "assistant",
    model: r.model,
    content,
    stop_reason: stopReason(r.finishReason),
    stop_sequence: null,
    usage: {
      input_tokens: r.inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: r.cachedInputTokens,
      output_tokens: r.outputTokens,
      service_tier: "standard"
    }
  })
}

const ping = sse("ping", `{"type":"ping"}`)

const messagesStream = (r: Resolved, ctx: Context): Body => {
  const b = new Builder()
  b.push(sse(
    "message_start",
    `{"type":"message_start","message":{"id":${q(ctx.id)},"type":"message","role":"assistant","model":${
      q(r.model)
    },"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${r.inputTokens},"cache_creation_input_tokens":0,"cache_read_input_tokens":${r.cachedInputTokens},"output_tokens":1}}}`
  ))
  let index = 0
  let pinged = false
  const opened = () => {
    if (!pinged) b.push(ping)
    pinged = true
  }
  if (r.text.length > 0) {
    b.push(sse(
      "content_block_start",
      `{"type":"content_block_start","index":${index},"content_block":{"type":"text","text":""}}`
    ))
    opened()
    const head =
      `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"text_delta","text":`
    for (const piece of r.text) b.delta(`${head}${q(piece)}}}\n\n`)
    b.push(sse("content_block_stop", `{"type":"content_block_stop","index":${index}}`))
    index++
  }
  for (const call of r.toolCalls) {
    b.push(sse(
      "content_block_start",
      `{"type":"content_block_start","index":${index},"content_block":{"type":"tool_use","id":${q(call.id)},"name":${
        q(call.name)
      },"input":{}}}`
    ))
    opened()
    const head =
      `event: content_block_delta\ndata: {"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":`
    b.push(`${head}""}}\n\n`)
    for (const piece of call.chunks) b.delta(`${head}${q(piece)}}}\n\n`)
    b.push(sse("content_block_stop", `{"type":"content_block_stop","index":${index}}`))
    index++
  }
  opened()
  b.push(sse(
    "message_delta",
    `{"type":"message_delta","delta":{"stop_reason":"${
      stopReason(r.finishReason)
    }","stop_sequence":null},"usage":{"output_tokens":${r.outputTokens}}}`
  ))
  b.push(sse("message_stop", `{"type":"message_stop"}`))
  return b.body()
}

// -----------------------------------------------------------------------------
// Dispatch
// -----------------------------------------------------------------------------

/** The SSE body of a content reply. */
export const streamBody = (protocol: Protocol, r: Resolved, ctx: Context): Body =>
  protocol === "responses"
    ? responsesStream(r, ctx)
    : protocol === "chat-completions"
    ? chatStream(r, ctx)
    : messagesStream(r, ctx)

/** The JSON body of a content reply. */
export const jsonBody = (protocol: Protocol, r: Resolved, ctx: Context): string =>
  protocol === "responses" ? responsesJson(r, ctx) : protocol === "chat-completions" ? chatJson(r, ctx) : messagesJson(r, ctx)

const idPrefix: Record<Protocol, string> = {
  "responses": "resp_sim",
  "chat-completions": "chatcmpl-sim",
  "messages": "msg_sim"
}

/** The id of the `index`th response. */
export const responseId = (protocol: Protocol, index: number): string => `${idPrefix[protocol]}${index}`

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/** The status a provider answers an error kind with. */
export const statusOf = (protocol: Protocol, kind: ErrorKind): number => {
  switch (kind) {
    case "bad-request":
    case "context-too-long":
      return 400
    case "unauthorized":
      return 401
    case "permission":
      return 403
    case "not-found":
      return 404
    case "rate-limited":
      return 429
    case "server":
      return 500
    case "bad-gateway":
      return 502
    case "unavailable":
      return 503
    case "overloaded":
      return protocol === "messages" ? 529 : 503
    case "timeout":
      return 504
  }
}

/** The error kind an HTTP status stands for. */
export const kindOf = (status: number): ErrorKind => {
  switch (status) {
    case 401:
      return "unauthorized"
    case 403:
      return "permission"
    case 404:
      return "not-found"
    case 408:
    case 504:
      return "timeout"
    case 429:
      return "rate-limited"
    case 502:
      return "bad-gateway"
    case 503:
      return "unavailable"
    case 529:
      return "overloaded"
    default:
      return status >= 500 ? "server" : "bad-request"
  }
}

const openAiError = (
  kind: ErrorKind,
  protocol: Protocol,
  model: string,
  retryAfter: Duration.Duration | undefined
): { readonly type: string; readonly code: string | null; readonly param: string | null; readonly message: string } => {
  switch (kind) {
    case "bad-request":
      return { type: "invalid_request_error", code: null, param: null, message: "Invalid request." }
    case "context-too-long":
      return protocol === "responses"
        ? {
          type: "invalid_request_error",
          code: "context_length_exceeded",
          param: "input",
          message: "Your input exceeds the context window of this model. Please adjust your input and try again."
        }
        : {
          type: "invalid_request_error",
          code: "context_length_exceeded",
          param: "messages",
          message:
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages."
        }
    case "unauthorized":
      return {
        type: "invalid_request_error",
        code: "invalid_api_key",
        param: null,
        message: "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
      }
    case "permission":
      return {
        type: "invalid_request_error",
        code: "model_not_allowed",
        param: null,
        message: `You are not allowed to sample from ${model}.`
      }
    case "not-found":
      return {
        type: "invalid_request_error",
        code: "model_not_found",
        param: null,
        message: `The model \`${model}\` does not exist or you do not have access to it.`
      }
    case "rate-limited": {
      const wait = retryAfter === undefined ? "" : ` Please try again in ${Duration.toMillis(retryAfter) / 1000}s.`
      return {
        type: "requests",
        code: "rate_limit_exceeded",
        param: null,
        message: `Rate limit reached for ${model} in organization org-simulator on requests per min (RPM): Limit 60, Used 60, Requested 1.${wait}`
      }
    }
    case "server":
      return {
        type: "server_error",
        code: null,
        param: null,
        message: "The server had an error while processing your request. Sorry about that!"
      }
    case "bad-gateway":
      return { type: "server_error", code: null, param: null, message: "Bad gateway." }
    case "unavailable":
      return { type: "server_error", code: null, param: null, message: "The server is overloaded or not ready yet." }
    case "overloaded":
      return {
        type: "server_error",
        code: "overloaded",
        param: null,
        message: "The engine is currently overloaded, please try again later."
      }
    case "timeout":
      return { type: "timeout", code: null, param: null, message: "Request timed out." }
  }
}

const anthropicError = (kind: ErrorKind, model: string): { readonly type: string; readonly message: string } => {
  switch (kind) {
    case "bad-request":
      return { type: "invalid_request_error", message: "Invalid request." }
    case "context-too-long":
      return { type: "invalid_request_error", message: "prompt is too long: 213456 tokens > 200000 maximum" }
    case "unauthorized":
      return { type: "authentication_error", message: "invalid x-api-key" }
    case "permission":
      return { type: "permission_error", message: "Your API key does not have permission to use the specified resource." }
    case "not-found":
      return { type: "not_found_error", message: `model: ${model}` }
    case "rate-limited":
      return {
        type: "rate_limit_error",
        message:
          "This request would exceed the rate limit for your organization of 50 requests per minute. Please try again later."
      }
    case "server":
    case "bad-gateway":
    case "unavailable":
      return { type: "api_error", message: "Internal server error" }
    case "overloaded":
      return { type: "overloaded_error", message: "Overloaded" }
    case "timeout":
      return { type: "timeout_error", message: "Request timeout" }
  }
}

/** A provider error response: status, headers and body in the protocol's shape. */
export interface ErrorResponse {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

export const errorResponse = (
  protocol: Protocol,
  options: {
    readonly kind: ErrorKind
    readonly status?: number | undefined
    readonly message?: string | undefined
    readonly param?: string | undefined
    readonly retryAfter?: Duration.Duration | undefined
    readonly model: string
    readonly requestId: string
  }
): ErrorResponse => {
  const headers: Record<string, string> = { "content-type": "application/json" }
  if (options.retryAfter !== undefined) {
    const millis = Math.max(0, Math.round(Duration.toMillis(options.retryAfter)))
    headers["retry-after"] = String(Math.ceil(millis / 1000))
    headers["retry-after-ms"] = String(millis)
  }
  let body: string
  if (protocol === "messages") {
    headers["request-id"] = options.requestId
    if (options.kind === "rate-limited") headers["anthropic-ratelimit-requests-remaining"] = "0"
    if (options.kind === "overloaded") headers["x-should-retry"] = "true"
    const error = anthropicError(options.kind, options.model)
    body = q({
      type: "error",
      error: { type: error.type, message: options.message ?? error.message },
      request_id: options.requestId
    })
  } else {
    headers["x-request-id"] = options.requestId
    if (options.kind === "rate-limited") headers["x-ratelimit-remaining-requests"] = "0"
    const error = openAiError(options.kind, protocol, options.model, options.retryAfter)
    body = q({
      error: {
        message: options.message ?? error.message,
        type: error.type,
        param: options.param ?? error.param,
        code: error.code
      }
    })
  }
  return { status: options.status ?? statusOf(protocol, options.kind), headers, body }
}

/** The events a provider sends when a stream fails after it started. */
export const streamErrorFrames = (
  protocol: Protocol,
  kind: "server" | "overloaded" | "rate-limited",
  message: string | undefined,
  ctx: Context,
  sequence: number
): ReadonlyArray<string> => {
  if (protocol === "messages") {
    const error = anthropicError(kind, ctx.request.model)
    return [sse("error", q({ type: "error", error: { type: error.type, message: message ?? error.message } }))]
  }
  const error = openAiError(kind, protocol, ctx.request.model, undefined)
  const text = message ?? error.message
  if (protocol === "chat-completions") {
    return [`data: ${q({ error: { message: text, type: error.type, param: null, code: error.code } })}\n\n`]
  }
  const code = kind === "rate-limited" ? "rate_limit_exceeded" : "server_error"
  const failed = responseObject(ctx, ctx.request.model, "failed", [], null, { error: { code, message: text } })
  return [
    sse("error", q({ type: "error", sequence_number: sequence, code, message: text, param: null })),
    sse("response.failed", `{"type":"response.failed","sequence_number":${sequence + 1},"response":${q(failed)}}`)
  ]
}

const dataStart = (frame: string) => {
  const at = frame.indexOf("data: ")
  return at === -1 ? 0 : at + 6
}

/** The frame with its JSON cut in half: well-formed SSE, data that does not parse. */
export const malformedJsonFrame = (frame: string): string => {
  const start = dataStart(frame)
  const data = frame.slice(start, frame.length - 2)
  return `${frame.slice(0, start)}${data.slice(0, Math.max(1, Math.floor(data.length / 2)))}\n\n`
}

/**
 * The frame with a bare line break in the middle of its data, as a proxy that mangles newlines
 * would send it: a conforming parser reads the first half as the event's data (which does not
 * parse) and ignores the second half as an unknown field.
 */
export const malformedSseFrame = (frame: string): string => {
  const start = dataStart(frame)
  const data = frame.slice(start, frame.length - 2)
  const half = Math.max(1, Math.floor(data.length / 2))
  return `${frame.slice(0, start)}${data.slice(0, half)}\n${data.slice(half)}\n\n`
}
