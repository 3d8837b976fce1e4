/**
 * The schemas of what the HTTP API takes and gives: runs, batches, OpenAI Chat Completions, AG-UI
 * and the AI SDK's UI messages, approvals. Re-exported by `HttpApi`, which defines the endpoints
 * with them.
 *
 * @since 0.3.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import * as Approval from "./Approval.js"
import * as Run from "./Run.js"
import * as Records from "./RunRecord.js"
import * as RunEvent from "./RunEvent.js"
import * as Team from "./Team.js"
import { RunCancelled, RunError, RunFailure } from "./HttpApiError.js"

// -----------------------------------------------------------------------------
// Runs
// -----------------------------------------------------------------------------

// Prompt messages can hold file parts (bytes), which have no JSON Schema of their own: the OpenAPI
// document describes them by their wire shape instead.
const Message = Prompt.Message.annotations({
  jsonSchema: {
    type: "object",
    description: "An @effect/ai prompt message, e.g. { \"role\": \"user\", \"content\": \"Hi\" }",
    properties: {
      role: { type: "string", enum: ["system", "user", "assistant", "tool"] },
      content: {}
    },
    required: ["role", "content"]
  }
})

/**
 * `Run.Output` as the API sends it (the same schema, described for OpenAPI).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Output = Schema.Struct({ ...Run.Output.fields, messages: Schema.Array(Message) })

/**
 * A team's `Team.Output` as the API sends it: the run's fields, every member run, and the leader's
 * and each member's metrics.
 *
 * @since 0.2.0
 * @category schemas
 */
export const TeamOutput = Schema.Struct({
  ...Output.fields,
  // A member can be a team, so a member run nests: the OpenAPI document describes it by its shape.
  memberRuns: Schema.Array(Team.MemberRun).annotations({
    jsonSchema: {
      type: "array",
      description: "Every member run in the order they started: { _tag: \"Completed\", runId, member, task, " +
        "output } or { _tag: \"Failed\", runId, member, task, error }",
      items: { type: "object", required: ["_tag", "runId", "member", "task"] }
    }
  }),
  leaderMetrics: Run.Metrics,
  memberMetrics: Schema.Record({ key: Schema.String, value: Run.Metrics })
})

/**
 * What a run answers: a team's output with its team fields, any other runnable's as `Output`.
 *
 * @since 0.2.0
 * @category schemas
 */
export const RunOutput = Schema.Union(TeamOutput, Output)

/**
 * A session's `RunRecord` as the API sends it (the same schema, described for OpenAPI).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunRecord = Records.RunRecord.annotations({
  jsonSchema: {
    type: "object",
    description: "The record of one run of a session: status (completed, failed, cancelled), runId, userId, " +
      "sessionId, agent, input, messages, toolCalls, metrics, startedAt, finishedAt, and output or error"
  }
})

/**
 * What a run is asked: a user message, or a whole conversation of `@effect/ai` prompt messages
 * (`{ role: "user", content: "Hi" }`, ...).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunInput = Schema.Union(
  Schema.NonEmptyString.annotations({ description: "A user message" }),
  Schema.NonEmptyArray(Message).annotations({ description: "A conversation (@effect/ai prompt messages)" })
)

/**
 * @since 0.1.0
 * @category models
 */
export type RunInput = typeof RunInput.Type

/**
 * The body of a run request.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunRequest = Schema.Struct({
  input: RunInput,
  /** Run in this session: its history is loaded and the run is recorded in it. */
  sessionId: Schema.optional(Schema.NonEmptyString),
  userId: Schema.optional(Schema.NonEmptyString),
  /** The run's id, chosen by the client so it can cancel the run while it waits. Default: a UUID. */
  runId: Schema.optional(Schema.NonEmptyString.pipe(Schema.maxLength(200))),
  /** How many earlier runs of the session the run is given. */
  historyRuns: Schema.optional(Schema.Int.pipe(Schema.between(0, 1000))),
  /** Answer with Server-Sent Events, one per `RunEvent` (as `Accept: text/event-stream` does). */
  stream: Schema.optional(Schema.Boolean),
  /**
   * With `stream`: the run goes on when the client disconnects, and its events (numbered, the SSE
   * `id:`) are kept in its event log, read again from `GET /runs/:runId/events`.
   */
  detach: Schema.optional(Schema.Boolean)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RunRequest extends Schema.Schema.Type<typeof RunRequest> {}

/**
 * A run in flight.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunInfo = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  startedAt: Schema.DateTimeUtc
})

/**
 * @since 0.1.0
 * @category models
 */
export interface RunInfo extends Schema.Schema.Type<typeof RunInfo> {}

/**
 * Every event of an SSE run stream: the run's `RunEvent`s, then, for a run that did not end with
 * `RunCompleted` or `RunFailed`, `RunCancelled` or `RunError`. The SSE `event:` field is the
 * `_tag`, the `data:` field the event's JSON encoding.
 *
 * @since 0.1.0
 * @category schemas
 */
export const StreamEvent = Schema.Union(RunEvent.RunEvent, RunCancelled, RunError)

/**
 * @since 0.1.0
 * @category models
 */
export type StreamEvent = typeof StreamEvent.Type

// -----------------------------------------------------------------------------
// Batches
// -----------------------------------------------------------------------------

/**
 * The body of a batch: one agent, many inputs, run at most `concurrency` at a time.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchRequest = Schema.Struct({
  agent: Schema.NonEmptyString,
  // An array (not a non-empty tuple type), so a client can send a `string[]` it built.
  inputs: Schema.Array(RunInput).pipe(Schema.minItems(1), Schema.maxItems(10_000)),
  /** How many inputs run at once. Default 4. */
  concurrency: Schema.optional(Schema.Int.pipe(Schema.between(1, 256))),
  userId: Schema.optional(Schema.NonEmptyString)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchRequest extends Schema.Schema.Type<typeof BatchRequest> {}

/**
 * Where an input of a batch is. `interrupted`: the server shut down before it finished.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchItemStatus = Schema.Literal("pending", "running", "completed", "failed", "cancelled", "interrupted")

/**
 * @since 0.1.0
 * @category models
 */
export type BatchItemStatus = typeof BatchItemStatus.Type

/**
 * One input of a batch: its status, and its output or its typed error once it has one.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchItem = Schema.Struct({
  index: Schema.Number,
  status: BatchItemStatus,
  runId: Schema.optional(Schema.String),
  output: Schema.optional(Output),
  error: Schema.optional(RunFailure)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchItem extends Schema.Schema.Type<typeof BatchItem> {}

/**
 * Where a batch is: `running` until every input has ended, then `completed` (each input completed
 * or failed), `cancelled`, or `interrupted` (the server shut down while it ran).
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchState = Schema.Literal("running", "completed", "cancelled", "interrupted")

/**
 * @since 0.1.0
 * @category models
 */
export type BatchState = typeof BatchState.Type

/**
 * How many inputs of a batch are in each status.
 *
 * @since 0.1.0
 * @category schemas
 */
export const BatchCounts = Schema.Struct({
  total: Schema.Number,
  pending: Schema.Number,
  running: Schema.Number,
  completed: Schema.Number,
  failed: Schema.Number,
  cancelled: Schema.Number,
  interrupted: Schema.Number
})

/**
 * @since 0.1.0
 * @category models
 */
export interface BatchCounts extends Schema.Schema.Type<typeof BatchCounts> {}

/**
 * A batch and its inputs, with the results so far.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Batch = Schema.Struct({
  batchId: Schema.String,
  agent: Schema.String,
  status: BatchState,
  concurrency: Schema.Number,
  createdAt: Schema.DateTimeUtc,
  finishedAt: Schema.optional(Schema.DateTimeUtc),
  counts: BatchCounts,
  items: Schema.Array(BatchItem)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Batch extends Schema.Schema.Type<typeof Batch> {}

// -----------------------------------------------------------------------------
// OpenAI Chat Completions
// -----------------------------------------------------------------------------

/**
 * A message of a Chat Completions request. What the app does not use (tool calls of the client's
 * own tools, images) is accepted and left out of the run's input.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatMessage = Schema.Struct({
  role: Schema.Literal("system", "developer", "user", "assistant", "tool"),
  content: Schema.optional(Schema.NullOr(Schema.Union(
    Schema.String,
    Schema.Array(Schema.Struct({ type: Schema.String, text: Schema.optional(Schema.String) }))
  ))),
  name: Schema.optional(Schema.String),
  tool_call_id: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatMessage extends Schema.Schema.Type<typeof ChatMessage> {}

/**
 * A Chat Completions request. `model` names the agent or team; other OpenAI parameters are
 * accepted and ignored (the agent has its own model and settings).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletionRequest = Schema.Struct({
  model: Schema.NonEmptyString,
  messages: Schema.NonEmptyArray(ChatMessage),
  stream: Schema.optional(Schema.NullOr(Schema.Boolean)),
  stream_options: Schema.optional(Schema.NullOr(Schema.Struct({ include_usage: Schema.optional(Schema.Boolean) }))),
  user: Schema.optional(Schema.String)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatCompletionRequest extends Schema.Schema.Type<typeof ChatCompletionRequest> {}

/**
 * Token usage in OpenAI's shape.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatUsage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.Number
})

/**
 * A `chat.completion` answer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletion = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("chat.completion"),
  created: Schema.Number,
  model: Schema.String,
  choices: Schema.Array(Schema.Struct({
    index: Schema.Number,
    message: Schema.Struct({ role: Schema.Literal("assistant"), content: Schema.NullOr(Schema.String) }),
    finish_reason: Schema.NullOr(Schema.String),
    logprobs: Schema.Null
  })),
  usage: ChatUsage
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatCompletion extends Schema.Schema.Type<typeof ChatCompletion> {}

/**
 * An error in OpenAI's shape, as OpenAI client libraries read it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ChatCompletionError = Schema.Struct({
  error: Schema.Struct({
    message: Schema.String,
    type: Schema.String,
    param: Schema.NullOr(Schema.String),
    code: Schema.NullOr(Schema.String)
  })
}).annotations({ identifier: "ChatCompletionError" })

/**
 * @since 0.1.0
 * @category models
 */
export interface ChatCompletionError extends Schema.Schema.Type<typeof ChatCompletionError> {}

/**
 * The bearer token was missing or wrong, in OpenAI's error shape (status 401, code
 * `invalid_api_key`), as OpenAI's clients expect it from the Chat Completions endpoint.
 *
 * @since 0.2.0
 * @category errors
 */
export const ChatCompletionUnauthorized = Schema.Struct({
  error: Schema.Struct({
    message: Schema.String,
    type: Schema.Literal("invalid_request_error"),
    param: Schema.Null,
    // Its own code keeps it apart from the endpoint's other errors, which have the same shape.
    code: Schema.Literal("invalid_api_key")
  })
}).annotations({ ...HttpApiSchema.annotations({ status: 401 }), identifier: "ChatCompletionUnauthorized" })

// -----------------------------------------------------------------------------
// AG-UI and the AI SDK's UI messages
// -----------------------------------------------------------------------------

/**
 * The body of an AG-UI run (the protocol's `RunAgentInput`): the thread, the run's id and the
 * conversation so far. The conversation's text (system, developer, user, assistant, tool results)
 * is the run's input; `state`, `tools`, `context` and `forwardedProps` are accepted and not used.
 *
 * @since 0.1.0
 * @category schemas
 */
export const AgUiInput = Schema.Struct({
  threadId: Schema.String,
  runId: Schema.NonEmptyString.pipe(Schema.maxLength(200)),
  messages: Schema.Array(Schema.Struct({
    id: Schema.optional(Schema.String),
    role: Schema.String,
    content: Schema.optional(Schema.Unknown),
    toolCallId: Schema.optional(Schema.String)
  })),
  state: Schema.optional(Schema.Unknown),
  tools: Schema.optional(Schema.Array(Schema.Unknown)),
  context: Schema.optional(Schema.Array(Schema.Unknown)),
  forwardedProps: Schema.optional(Schema.Unknown),
  /**
   * The answers to the interrupts a paused run ended with (AG-UI's `ResumeEntry`): `interruptId` is
   * the interrupt's id, `status` `resolved` (with `payload` `{ "approved": boolean, "editedArgs"?,
   * "reason"? }`, or a question's answer) or `cancelled` (a rejection).
   */
  resume: Schema.optional(Schema.Array(Schema.Struct({
    interruptId: Schema.String,
    status: Schema.Literal("resolved", "cancelled"),
    payload: Schema.optional(Schema.Unknown),
    metadata: Schema.optional(Schema.Unknown)
  })))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface AgUiInput extends Schema.Schema.Type<typeof AgUiInput> {}

/**
 * The body `useChat` (the AI SDK's UI) sends: the chat's id and its UI messages, whose text parts
 * are the run's input. A last assistant message whose tool parts are `approval-responded` (the
 * client's `addToolApprovalResponse`) carries the decisions on a paused run's calls, by their
 * `approval.id`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UiMessagesRequest = Schema.Struct({
  id: Schema.optional(Schema.String),
  messages: Schema.NonEmptyArray(Schema.Struct({
    id: Schema.optional(Schema.String),
    role: Schema.Literal("system", "user", "assistant"),
    parts: Schema.Array(Schema.Struct({
      type: Schema.String,
      text: Schema.optional(Schema.String),
      toolCallId: Schema.optional(Schema.String),
      state: Schema.optional(Schema.String),
      approval: Schema.optional(Schema.Struct({
        id: Schema.String,
        approved: Schema.optional(Schema.Boolean),
        reason: Schema.optional(Schema.String)
      }))
    }))
  }))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface UiMessagesRequest extends Schema.Schema.Type<typeof UiMessagesRequest> {}

// -----------------------------------------------------------------------------
// Approvals
// -----------------------------------------------------------------------------

/**
 * A run that waits for people's decisions: its agent (or team), what it waits for, and where its
 * decisions go (`POST` to `decideAt`): `/runs/{runId}/resume` for a run of this server's process,
 * `/durable/runs/{runId}/decisions` for a durable run (`durable: true`), which any server on its
 * store takes them at.
 *
 * @since 0.3.0
 * @category schemas
 */
export const PausedRun = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  pending: Schema.Array(Approval.Request),
  /** A durable run's pause: it survives a restart, and its decisions go to the durable runs' endpoint. */
  durable: Schema.Boolean,
  /** The path to `POST` the decisions to. */
  decideAt: Schema.String
})

/**
 * @since 0.3.0
 * @category models
 */
export interface PausedRun extends Schema.Schema.Type<typeof PausedRun> {}

/**
 * Decisions on a paused run's pending calls (`Approval.Decision`: `{ "_tag": "Approve", "toolCallId",
 * "path"?, "arguments"? }` or `{ "_tag": "Reject", "toolCallId", "path"?, "reason" }`), answered as
 * JSON or, with `"stream": true`, as Server-Sent Events.
 *
 * @since 0.3.0
 * @category schemas
 */
export const ResumeRequest = Schema.Struct({
  decisions: Schema.Array(Approval.Decision),
  stream: Schema.optional(Schema.Boolean),
  /** With `stream`: the resumed run's events are kept for `GET /runs/{runId}/events`, as a detached run's. */
  detach: Schema.optional(Schema.Boolean)
})



// -----------------------------------------------------------------------------
// Durable runs
// -----------------------------------------------------------------------------

/**
 * A durable run to start in the background: the agent, team or workflow (by name), its input, and
 * optionally its id (a fresh one by default).
 *
 * @since 0.3.0
 * @category schemas
 */
export const DurableRunRequest = Schema.Struct({
  agent: Schema.NonEmptyString,
  input: RunInput,
  runId: Schema.optional(Schema.NonEmptyString.pipe(Schema.maxLength(200)))
})

/**
 * @since 0.3.0
 * @category models
 */
export interface DurableRunRequest extends Schema.Schema.Type<typeof DurableRunRequest> {}

/**
 * Where a durable run is: `running`, `waiting` (on a signal: see `waitingFor`; or for decisions on
 * its tool calls: see `pending`), or ended.
 *
 * @since 0.3.0
 * @category schemas
 */
export const DurableRunStatus = Schema.Literal("running", "waiting", "completed", "failed", "cancelled")

/**
 * @since 0.3.0
 * @category models
 */
export type DurableRunStatus = typeof DurableRunStatus.Type

/**
 * A step of a durable workflow run that has settled: its output, or its error.
 *
 * @since 0.3.0
 * @category schemas
 */
export const DurableStep = Schema.Struct({
  stepId: Schema.String,
  step: Schema.String,
  status: Schema.Literal("completed", "failed"),
  output: Schema.optional(Schema.Unknown),
  error: Schema.optional(RunFailure)
})

/**
 * @since 0.3.0
 * @category models
 */
export interface DurableStep extends Schema.Schema.Type<typeof DurableStep> {}

/**
 * A durable run: its status, the signals it waits for, the steps settled so far (a workflow's
 * partial results), and at its end its output or its error.
 *
 * @since 0.3.0
 * @category schemas
 */
export const DurableRun = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  status: DurableRunStatus,
  startedAt: Schema.DateTimeUtc,
  finishedAt: Schema.optional(Schema.DateTimeUtc),
  /** The signals its steps wait for now (`POST /durable/runs/{runId}/signals/{signal}`). */
  waitingFor: Schema.Array(Schema.String),
  /** The tool calls it paused on, waiting for decisions (`POST /durable/runs/{runId}/decisions`). */
  pending: Schema.optional(Schema.Array(Approval.Request)),
  /** Why the last decisions sent were refused when the run took them (nothing ran; it waits for others). */
  refused: Schema.optional(Schema.String),
  steps: Schema.Array(DurableStep),
  output: Schema.optional(RunOutput),
  error: Schema.optional(RunFailure)
})

/**
 * @since 0.3.0
 * @category models
 */
export interface DurableRun extends Schema.Schema.Type<typeof DurableRun> {}

/**
 * Decisions on the pending calls of a durable run that paused for approval (`Approval.Decision`s,
 * as for `POST /runs/{runId}/resume`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const DecisionsRequest = Schema.Struct({ decisions: Schema.Array(Approval.Decision) })

/**
 * @since 0.3.0
 * @category models
 */
export interface DecisionsRequest extends Schema.Schema.Type<typeof DecisionsRequest> {}

/**
 * The value sent to a signal step, as JSON: the step is given it as it was sent.
 *
 * @since 0.3.0
 * @category schemas
 */
export const SignalRequest = Schema.Struct({
  value: Schema.Union(
    Schema.String,
    Schema.Number,
    Schema.Boolean,
    Schema.Null,
    Schema.Array(Schema.Unknown),
    Schema.Record({ key: Schema.String, value: Schema.Unknown })
  ).annotations({ identifier: "JsonValue", description: "Any JSON value" })
})

/**
 * @since 0.3.0
 * @category models
 */
export interface SignalRequest extends Schema.Schema.Type<typeof SignalRequest> {}
