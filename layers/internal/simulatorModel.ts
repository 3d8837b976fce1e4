// The data the simulator works with: requests normalised from the three wire protocols, the
// replies a script can give, and the counters a test can read.
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"

/** The wire protocol a request came in on. */
export type Protocol = "responses" | "chat-completions" | "messages"

/** A tool call made by the assistant in an earlier turn, as the client sent it back. */
export interface ToolCallRecord {
  readonly id: string
  readonly name: string
  /** The arguments as the JSON text the client sent. */
  readonly arguments: string
}

/** One message of the conversation, whatever the protocol. */
export interface Message {
  readonly role: "system" | "user" | "assistant" | "tool"
  readonly text: string
  /** Tool calls of an assistant message. */
  readonly toolCalls: ReadonlyArray<ToolCallRecord>
  /** For a tool message: the id of the call it answers. */
  readonly toolCallId: string | undefined
  /** For a tool message: whether the client marked it as an error (Anthropic `is_error`). */
  readonly isError: boolean
}

/** A tool result that arrived after the assistant's last message. */
export interface ToolResult {
  readonly id: string
  /** The name of the tool, found from the assistant's call with the same id. */
  readonly name: string | undefined
  readonly content: string
  readonly isError: boolean
}

/** A tool the client offered. */
export interface ToolSpec {
  readonly name: string
  readonly description: string | undefined
  /** The JSON Schema of the tool's arguments. */
  readonly parameters: unknown
}

export type ToolChoice = "auto" | "none" | "required" | { readonly name: string }

export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json"; readonly name: string | undefined; readonly schema: unknown }

/** A request, normalised from its protocol. */
export interface Request {
  /** The position of this request among all the simulator received (0-based). */
  readonly index: number
  readonly protocol: Protocol
  readonly model: string
  readonly stream: boolean
  readonly system: string | undefined
  readonly messages: ReadonlyArray<Message>
  /** The text of the last user message ("" when there is none). */
  readonly lastUserText: string
  /** The tool results after the assistant's last message (the answers to its last tool calls). */
  readonly toolResults: ReadonlyArray<ToolResult>
  readonly tools: ReadonlyArray<ToolSpec>
  readonly toolChoice: ToolChoice
  readonly responseFormat: ResponseFormat
  /** Chat Completions `stream_options.include_usage`. */
  readonly includeUsage: boolean
  readonly maxTokens: number | undefined
  /** Request headers, with credentials (authorization, x-api-key) redacted. */
  readonly headers: Readonly<Record<string, string>>
  /** The parsed JSON body, as sent. */
  readonly body: unknown
}

/** Token usage a reply reports. */
export interface Usage {
  readonly inputTokens?: number | undefined
  readonly outputTokens?: number | undefined
  readonly cachedInputTokens?: number | undefined
  readonly reasoningTokens?: number | undefined
}

export type FinishReason = "stop" | "length" | "tool-calls" | "content-filter"

/** Timing of a reply. */
export interface Timing {
  /** Latency before the first byte (before the status line). */
  readonly delay: Duration.Duration | undefined
  /** Latency between streamed chunks (before each content delta after the first). */
  readonly chunkDelay: Duration.Duration | undefined
  /** Send the whole SSE body in one write. */
  readonly oneWrite: boolean | undefined
}

/** A tool call a reply makes. Missing parts are filled in from the request's tools. */
export interface ToolCallSpec {
  /** The tool; when missing, the first tool offered. */
  readonly name: string | undefined
  /** The arguments as a value; when missing (and no `rawArguments`), generated from the tool's schema. */
  readonly arguments: unknown
  /** The arguments exactly as sent on the wire (may be invalid JSON). */
  readonly rawArguments: string | undefined
  /** Send arguments that do not fit the tool's schema. */
  readonly invalid: boolean
  readonly id: string | undefined
  /** How the streamed arguments are cut: a number of pieces, or the pieces. */
  readonly chunks: number | ReadonlyArray<string> | undefined
}

/** A reply with content. */
export interface Answer extends Timing {
  readonly _tag: "Answer"
  readonly text: ReadonlyArray<string>
  readonly toolCalls: ReadonlyArray<ToolCallSpec>
  readonly finishReason: FinishReason | undefined
  readonly usage: Usage | undefined
  readonly model: string | undefined
}

/** The built-in responder's reply, decided when the request arrives. */
export interface Respond extends Timing {
  readonly _tag: "Respond"
}

/** What an error reply means; its body is written in the protocol's shape. */
export type ErrorKind =
  | "bad-request"
  | "context-too-long"
  | "unauthorized"
  | "permission"
  | "not-found"
  | "rate-limited"
  | "server"
  | "bad-gateway"
  | "unavailable"
  | "overloaded"
  | "timeout"

/** An HTTP error response. */
export interface HttpError extends Timing {
  readonly _tag: "HttpError"
  /** The status; when missing, the protocol's status for `kind` (overloaded: 529 on Anthropic, 503 on OpenAI). */
  readonly status: number | undefined
  readonly kind: ErrorKind
  readonly message: string | undefined
  /** A body sent as is instead of the protocol's error body. */
  readonly body: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly retryAfter: Duration.Duration | undefined
}

export type DisruptionKind = "reset" | "stall" | "truncate" | "malformed-json" | "malformed-sse" | "stream-error"

/** A reply whose delivery goes wrong. */
export interface Disrupt extends Timing {
  readonly _tag: "Disrupt"
  readonly kind: DisruptionKind
  /** How many SSE events are sent before it goes wrong; when missing, right after the first content delta. */
  readonly after: number | undefined
  /** For `stall` and `reset`: the phase it happens in instead, before the headers or before the body. */
  readonly before: "headers" | "body" | undefined
  /** For `stream-error`: what the error event says. */
  readonly errorKind: "server" | "overloaded" | "rate-limited"
  readonly message: string | undefined
  /** The content being delivered. */
  readonly reply: Answer | Respond
}

export type Reply = Answer | Respond | HttpError | Disrupt

/** Where replies come from: a list used in order (then the built-in responder), or a function. */
export type Script =
  | ReadonlyArray<Reply>
  | ((request: Request) => Reply | Effect.Effect<Reply>)

/** Counters. */
export interface Stats {
  /** Requests received on any route. */
  readonly requests: number
  /** Requests received on each protocol's endpoint. */
  readonly requestsByProtocol: Readonly<Record<Protocol, number>>
  /** TCP connections open now. */
  readonly openConnections: number
  /** TCP connections accepted since start. */
  readonly connections: number
  /** Responses being written now. */
  readonly activeResponses: number
  /** Responses the client abandoned before their end (closed the connection). */
  readonly clientAborts: number
}
