/**
 * The HTTP API of effect-agents, as one typed definition: its endpoints, the schemas of what they
 * take and give, and their typed errors with HTTP statuses. The server (`HttpApp` in
 * `effect-agents/layers`), the OpenAPI document, the Swagger page and the typed {@link client} are
 * all derived from it, so they cannot disagree.
 *
 * @since 0.1.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Sse from "@effect/experimental/Sse"
import * as PlatformHttpApi from "@effect/platform/HttpApi"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
import * as AgentError from "./AgentError.js"
import * as Approval from "./Approval.js"
import * as Registry from "./Registry.js"
import * as Run from "./Run.js"
import * as Records from "./RunRecord.js"
import * as RunEvent from "./RunEvent.js"
import * as Team from "./Team.js"

// -----------------------------------------------------------------------------
// Errors
// -----------------------------------------------------------------------------

/**
 * The request carried no bearer token, or not the one the server was configured with.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("effect-agents/HttpApi/Unauthorized")(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

/**
 * No agent or team of the registry has this name.
 *
 * @since 0.1.0
 * @category errors
 */
export class AgentNotFound extends Schema.TaggedError<AgentNotFound>("effect-agents/HttpApi/AgentNotFound")(
  "AgentNotFound",
  { name: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * No run with this id is in flight.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunNotFound extends Schema.TaggedError<RunNotFound>("effect-agents/HttpApi/RunNotFound")(
  "RunNotFound",
  { runId: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * A run with the requested `runId` is already in flight.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunIdInUse extends Schema.TaggedError<RunIdInUse>("effect-agents/HttpApi/RunIdInUse")(
  "RunIdInUse",
  { runId: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

/**
 * No batch has this id.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchNotFound extends Schema.TaggedError<BatchNotFound>("effect-agents/HttpApi/BatchNotFound")(
  "BatchNotFound",
  { batchId: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * The request body is larger than the server accepts.
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>("effect-agents/HttpApi/PayloadTooLarge")(
  "PayloadTooLarge",
  { maxBytes: Schema.Number, message: Schema.String },
  HttpApiSchema.annotations({ status: 413 })
) {}

/**
 * The request body is not sent as JSON: the API reads bodies sent with
 * `content-type: application/json` (or with no `content-type`).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>(
  "effect-agents/HttpApi/UnsupportedMediaType"
)(
  "UnsupportedMediaType",
  { contentType: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 415 })
) {}

/**
 * The server is shutting down and takes no new work.
 *
 * @since 0.1.0
 * @category errors
 */
export class ShuttingDown extends Schema.TaggedError<ShuttingDown>("effect-agents/HttpApi/ShuttingDown")(
  "ShuttingDown",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/**
 * Something went wrong in the server that is not the request's fault. The details are in the
 * server's log, never in the response.
 *
 * @since 0.1.0
 * @category errors
 */
export class InternalError extends Schema.TaggedError<InternalError>("effect-agents/HttpApi/InternalError")(
  "InternalError",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {}

/**
 * Why a run failed: the run's typed error, a session or memory store's error, or (for a bug) an
 * internal error without details.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunFailure = Schema.Union(
  AgentError.AgentError,
  SessionStore.SessionStoreError,
  Memory.MemoryError,
  InternalError
)

/**
 * @since 0.1.0
 * @category models
 */
export type RunFailure = typeof RunFailure.Type

/**
 * A run failed. `error` is its typed failure. On an SSE stream this is also the last event of a
 * run that failed with something other than an `AgentError` (those end with `RunFailed`).
 *
 * @since 0.1.0
 * @category errors
 */
export class RunError extends Schema.TaggedError<RunError>("effect-agents/HttpApi/RunError")(
  "RunError",
  { runId: Schema.String, error: RunFailure },
  HttpApiSchema.annotations({ status: 500 })
) {
  override get message(): string {
    return `Run ${this.runId} failed: ${this.error.message}`
  }
}

/**
 * The run's input is not what the runnable takes (a workflow whose input schema the text does not
 * decode with): the message says what was expected. Nothing ran.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidRunInput extends Schema.TaggedError<InvalidRunInput>("effect-agents/HttpApi/InvalidRunInput")(
  "InvalidRunInput",
  { runId: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/**
 * Why a run was cancelled: by `POST /runs/:runId/cancel` (or a batch's cancel), because its client
 * went away, or because the server shut down and its grace period ran out.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CancelReason = Schema.Literal("cancelled", "disconnected", "shutdown")

/**
 * @since 0.1.0
 * @category models
 */
export type CancelReason = typeof CancelReason.Type

/**
 * A run was cancelled before it finished. On an SSE stream this is the last event of a cancelled
 * run.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunCancelled extends Schema.TaggedError<RunCancelled>("effect-agents/HttpApi/RunCancelled")(
  "RunCancelled",
  { runId: Schema.String, reason: CancelReason, message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

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
// The API
// -----------------------------------------------------------------------------

/**
 * The bearer-token check of every group but `health`. The server decides what a valid token is;
 * with no token configured it lets every request in.
 *
 * @since 0.1.0
 * @category middleware
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("effect-agents/HttpApi/Authorization", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/**
 * The same bearer-token check for the OpenAI-compatible endpoint, failing in OpenAI's error shape.
 *
 * @since 0.2.0
 * @category middleware
 */
export class ChatCompletionAuthorization extends HttpApiMiddleware.Tag<ChatCompletionAuthorization>()(
  "effect-agents/HttpApi/ChatCompletionAuthorization",
  { failure: ChatCompletionUnauthorized, security: { bearer: HttpApiSecurity.bearer } }
) {}

/**
 * The server's health, for load balancers: no token needed. 503 while it shuts down.
 *
 * @since 0.1.0
 * @category groups
 */
export class HealthGroup extends HttpApiGroup.make("health").add(
  HttpApiEndpoint.get("health", "/health")
    .addSuccess(Schema.Struct({ status: Schema.Literal("ok") }))
    .annotate(OpenApi.Summary, "Whether the server is up and taking work (no token needed)")
) {}

const NamePath = Schema.Struct({ name: Schema.String })

/** A Server-Sent Events body, as the raw responses of streaming endpoints send it. */
const EventStream = HttpApiSchema.Text({ contentType: "text/event-stream" })

/**
 * The agents and teams the server runs.
 *
 * @since 0.1.0
 * @category groups
 */
export class AgentsGroup extends HttpApiGroup.make("agents")
  .add(
    HttpApiEndpoint.get("list", "/agents")
      .addSuccess(Schema.Array(Registry.Description))
      .annotate(OpenApi.Summary, "The agents and teams, with their descriptions")
  )
  .add(
    HttpApiEndpoint.get("get", "/agents/:name")
      .setPath(NamePath)
      .addSuccess(Registry.Description)
      .addError(AgentNotFound)
      .annotate(OpenApi.Summary, "One agent or team")
  )
  .middleware(Authorization)
{}

/**
 * Runs: start one (JSON or SSE), list those in flight, cancel one.
 *
 * @since 0.1.0
 * @category groups
 */
export class RunsGroup extends HttpApiGroup.make("runs")
  .add(
    // The SSE answer of this endpoint is a raw response: HttpApi describes one body schema per
    // status, and a JSON and an event-stream body on 200 would confuse the derived client. It is
    // described in the endpoint's OpenAPI description; `client(...).stream` reads it.
    HttpApiEndpoint.post("run", "/agents/:name/runs")
      .setPath(NamePath)
      .setPayload(RunRequest)
      .addSuccess(RunOutput)
      .addError(AgentNotFound)
      .addError(RunIdInUse)
      .addError(InvalidRunInput)
      .addError(RunError)
      .addError(RunCancelled)
      .annotate(OpenApi.Summary, "Run an agent or team")
      .annotate(
        OpenApi.Description,
        "Answers with the run's output as JSON, or, with `\"stream\": true` or `Accept: text/event-stream`, " +
          "with Server-Sent Events: one per event of the run, `event:` its `_tag` and `data:` its JSON, the " +
          "first `RunStarted` (with the run's id), the last `RunCompleted`, `RunFailed`, `RunCancelled` or " +
          "`RunError`. The run's id is also in the `x-run-id` header. A client that disconnects cancels its run."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/runs")
      .addSuccess(Schema.Array(RunInfo))
      .annotate(OpenApi.Summary, "The runs in flight")
  )
  .add(
    // A raw SSE response, as `run`'s (see the note there).
    HttpApiEndpoint.get("events", "/runs/:runId/events")
      .setPath(Schema.Struct({ runId: Schema.String }))
      .setUrlParams(Schema.Struct({ after: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())) }))
      .setHeaders(Schema.Struct({ "last-event-id": Schema.optional(Schema.String) }))
      .addSuccess(EventStream)
      .addError(RunNotFound)
      .annotate(OpenApi.Summary, "Follow a detached run's events, from a cursor")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events of a run started with `\"stream\": true, \"detach\": true`: the events after the " +
          "cursor (the `Last-Event-ID` header, or `?after=`; none: from the first), then the rest as they come, " +
          "until the run ends. Each event's `id:` is its number in the run. The logs of runs in flight and of " +
          "the 100 most recently finished runs are kept in memory, the last 10,000 events of each."
      )
  )
  .add(
    HttpApiEndpoint.post("cancel", "/runs/:runId/cancel")
      .setPath(Schema.Struct({ runId: Schema.String }))
      .addSuccess(RunInfo, { status: 202 })
      .addError(RunNotFound)
      .annotate(OpenApi.Summary, "Cancel a run in flight")
  )
  .middleware(Authorization)
{}

const SessionPath = Schema.Struct({ userId: Schema.NonEmptyString, sessionId: Schema.NonEmptyString })

/**
 * The sessions of the session store.
 *
 * @since 0.1.0
 * @category groups
 */
export class SessionsGroup extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.get("list", "/users/:userId/sessions")
      .setPath(Schema.Struct({ userId: Schema.NonEmptyString }))
      .addSuccess(Schema.Array(SessionStore.SessionSummary))
      .addError(SessionStore.SessionStoreError, { status: 500 })
      .annotate(OpenApi.Summary, "The sessions of a user, the most recent first")
  )
  .add(
    HttpApiEndpoint.get("runs", "/users/:userId/sessions/:sessionId/runs")
      .setPath(SessionPath)
      .addSuccess(Schema.Array(RunRecord))
      .addError(SessionStore.SessionNotFound, { status: 404 })
      .addError(SessionStore.SessionStoreError, { status: 500 })
      .annotate(OpenApi.Summary, "The runs of a session, oldest first")
  )
  .middleware(Authorization)
{}

const BatchPath = Schema.Struct({ batchId: Schema.String })

/**
 * Background batches: many inputs to one agent, run with bounded concurrency after the request
 * has been answered.
 *
 * @since 0.1.0
 * @category groups
 */
export class BatchesGroup extends HttpApiGroup.make("batches")
  .add(
    HttpApiEndpoint.post("submit", "/batches")
      .setPayload(BatchRequest)
      .addSuccess(Batch, { status: 202 })
      .addError(AgentNotFound)
      .annotate(OpenApi.Summary, "Start a batch in the background")
  )
  .add(
    HttpApiEndpoint.get("list", "/batches")
      .addSuccess(Schema.Array(Batch.pipe(Schema.omit("items"))))
      .annotate(OpenApi.Summary, "The batches, without their items")
  )
  .add(
    HttpApiEndpoint.get("get", "/batches/:batchId")
      .setPath(BatchPath)
      .addSuccess(Batch)
      .addError(BatchNotFound)
      .annotate(OpenApi.Summary, "A batch, with the results so far")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/batches/:batchId/cancel")
      .setPath(BatchPath)
      .addSuccess(Batch)
      .addError(BatchNotFound)
      .annotate(OpenApi.Summary, "Cancel a batch: its unfinished inputs are cancelled")
  )
  .middleware(Authorization)
{}

/**
 * OpenAI Chat Completions, so that any OpenAI client can talk to an agent: `model` is the agent's
 * name.
 *
 * @since 0.1.0
 * @category groups
 */
export class OpenAiGroup extends HttpApiGroup.make("openai")
  .add(
    // With `stream: true` the answer is a raw SSE response of `chat.completion.chunk`s ending with
    // `data: [DONE]` (see the note on `runs.run`); errors are in OpenAI's shape.
    // The check comes first, so that its error is told apart from the endpoint's by its code.
    HttpApiEndpoint.post("chatCompletions", "/v1/chat/completions")
      .middleware(ChatCompletionAuthorization)
      .setPayload(ChatCompletionRequest)
      .addSuccess(ChatCompletion)
      .addError(ChatCompletionError, { status: 404 })
      .annotate(OpenApi.Summary, "OpenAI Chat Completions: `model` is the agent's name")
      .annotate(
        OpenApi.Description,
        "With `stream: true`, Server-Sent Events of `chat.completion.chunk`s ending with `data: [DONE]`."
      )
  )
{}

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
  forwardedProps: Schema.optional(Schema.Unknown)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface AgUiInput extends Schema.Schema.Type<typeof AgUiInput> {}

/**
 * The body `useChat` (the AI SDK's UI) sends: the chat's id and its UI messages, whose text parts
 * are the run's input.
 *
 * @since 0.1.0
 * @category schemas
 */
export const UiMessagesRequest = Schema.Struct({
  id: Schema.optional(Schema.String),
  messages: Schema.NonEmptyArray(Schema.Struct({
    id: Schema.optional(Schema.String),
    role: Schema.Literal("system", "user", "assistant"),
    parts: Schema.Array(Schema.Struct({ type: Schema.String, text: Schema.optional(Schema.String) }))
  }))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface UiMessagesRequest extends Schema.Schema.Type<typeof UiMessagesRequest> {}

/**
 * The protocols of other front ends, mapped from the same run events: AG-UI (CopilotKit and AG-UI
 * clients) and the AI SDK's UI message stream (`useChat`). A client that disconnects cancels its run.
 *
 * @since 0.1.0
 * @category groups
 */
export class UiGroup extends HttpApiGroup.make("ui")
  .add(
    HttpApiEndpoint.post("agUi", "/agents/:name/ag-ui")
      .setPath(NamePath)
      .setPayload(AgUiInput)
      .addSuccess(EventStream)
      .addError(AgentNotFound)
      .addError(RunIdInUse)
      .annotate(OpenApi.Summary, "Run an agent or team as an AG-UI agent")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events of AG-UI events (`data:` one JSON event each): RUN_STARTED, TEXT_MESSAGE_*, " +
          "REASONING_*, TOOL_CALL_*, SUBAGENT_* for a team's members, CUSTOM for retries and waits, then " +
          "RUN_FINISHED or RUN_ERROR."
      )
  )
  .add(
    HttpApiEndpoint.post("uiMessageStream", "/agents/:name/ui-message-stream")
      .setPath(NamePath)
      .setPayload(UiMessagesRequest)
      .addSuccess(EventStream)
      .addError(AgentNotFound)
      .annotate(OpenApi.Summary, "Run an agent or team for the AI SDK's useChat (UI message stream)")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events of the AI SDK's UI message stream protocol (`x-vercel-ai-ui-message-stream: v1`): " +
          "start, text-*, reasoning-*, tool-*, data-* parts for a team's members, retries and waits, finish or " +
          "error, then `[DONE]`."
      )
  )
  .middleware(Authorization)
{}

/**
 * The whole API.
 *
 * @since 0.1.0
 * @category api
 */
/**
 * A run that waits for people's decisions: its agent (or team) and what it waits for.
 *
 * @since 0.3.0
 * @category schemas
 */
export const PausedRun = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  pending: Schema.Array(Approval.Request)
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
  stream: Schema.optional(Schema.Boolean)
})

/**
 * Approvals: the runs that wait for decisions, and resuming one with them.
 *
 * @since 0.3.0
 * @category groups
 */
export class ApprovalsGroup extends HttpApiGroup.make("approvals")
  .add(
    HttpApiEndpoint.get("list", "/approvals")
      .addSuccess(Schema.Array(PausedRun))
      .annotate(OpenApi.Summary, "The runs that wait for approval, with their pending tool calls")
  )
  .add(
    // A raw SSE response with `"stream": true`, as `run`'s.
    HttpApiEndpoint.post("resume", "/runs/:runId/resume")
      .setPath(Schema.Struct({ runId: Schema.String }))
      .setPayload(ResumeRequest)
      .addSuccess(Output)
      .addError(RunNotFound)
      .addError(RunIdInUse)
      .addError(RunError)
      .addError(RunCancelled)
      .annotate(OpenApi.Summary, "Decide on a paused run's tool calls and resume it")
      .annotate(
        OpenApi.Description,
        "Approves or rejects the pending tool calls of a run that paused (listed by `GET /approvals`), and " +
          "resumes it: it answers as `POST /agents/{name}/runs` does, with the run's output, or with `RunError` " +
          "(`RunPaused`) when calls still wait. A paused run's event stream ends with `RunPaused`; with " +
          "`\"stream\": true` the resumed run streams its events again."
      )
  )
  .middleware(Authorization)
{}

export class Api extends PlatformHttpApi.make("effect-agents")
  .add(HealthGroup)
  .add(AgentsGroup)
  .add(RunsGroup)
  .add(ApprovalsGroup)
  .add(SessionsGroup)
  .add(BatchesGroup)
  .add(OpenAiGroup)
  .add(UiGroup)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
  .addError(ShuttingDown)
  .addError(InternalError)
  .annotate(OpenApi.Title, "effect-agents")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    "Run agents and teams over HTTP: JSON or Server-Sent Events, sessions, background batches, and OpenAI Chat Completions."
  )
{}

// -----------------------------------------------------------------------------
// The client
// -----------------------------------------------------------------------------

/**
 * Options of the {@link client}.
 *
 * @since 0.1.0
 * @category client
 */
export interface ClientOptions {
  /** Sent as `Authorization: Bearer …`. */
  readonly token?: Redacted.Redacted | undefined
}

/**
 * What can go wrong reading a run's event stream.
 *
 * @since 0.1.0
 * @category client
 */
export type StreamError =
  | AgentNotFound
  | RunIdInUse
  | Unauthorized
  | PayloadTooLarge
  | ShuttingDown
  | InternalError
  | HttpClientError.HttpClientError
  | ParseResult.ParseError

/**
 * The typed client: one method per endpoint, by group (`client.runs.run(...)`,
 * `client.batches.get(...)`), and {@link Client.stream} for a run's events.
 *
 * @since 0.1.0
 * @category client
 */
export interface Client extends TypedClient {
  /**
   * Runs an agent or team with its answer streamed: the run's events, decoded, as they arrive.
   * Stopping reading closes the connection, which cancels the run on the server.
   */
  readonly stream: (
    agent: string,
    request: Omit<RunRequest, "stream">
  ) => Stream.Stream<StreamEvent, StreamError>
}

const makeTyped = (httpClient: HttpClient.HttpClient, baseUrl: string) => HttpApiClient.makeWith(Api, { httpClient, baseUrl })

/**
 * The client of the endpoints, as `HttpApiClient` derives it from {@link Api}.
 *
 * @since 0.1.0
 * @category client
 */
export type TypedClient = Effect.Effect.Success<ReturnType<typeof makeTyped>>

const decodeEvent = Schema.decode(Schema.parseJson(StreamEvent))
const decodeStreamError = Schema.decodeUnknown(
  Schema.Union(AgentNotFound, RunIdInUse, Unauthorized, PayloadTooLarge, ShuttingDown, InternalError)
)
const encodeRunRequest = Schema.encode(RunRequest)

/**
 * The typed client of an effect-agents server at `baseUrl` (e.g. `http://127.0.0.1:3000`), derived
 * from the same definition as the server.
 *
 * @since 0.1.0
 * @category client
 * @example
 * ```ts
 * import { HttpApi } from "effect-agents"
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Redacted } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* HttpApi.client("http://127.0.0.1:3000", { token: Redacted.make("secret") })
 *   const output = yield* client.runs.run({ path: { name: "Writer" }, payload: { input: "Hello" } })
 *   console.log(output.text)
 * }).pipe(Effect.provide(FetchHttpClient.layer))
 * ```
 */
export const client = (
  baseUrl: string,
  options?: ClientOptions
): Effect.Effect<Client, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const token = options?.token
    const base = yield* HttpClient.HttpClient
    const httpClient = base.pipe(
      token === undefined ? identity : HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(token)))
    )
    const typed = yield* makeTyped(httpClient, baseUrl)
    const url = baseUrl.replace(/\/+$/, "")
    const stream = (agent: string, request: Omit<RunRequest, "stream">): Stream.Stream<StreamEvent, StreamError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const body = yield* encodeRunRequest({ ...request, stream: true })
        const response = yield* HttpClientRequest.post(`${url}/agents/${encodeURIComponent(agent)}/runs`).pipe(
          HttpClientRequest.setHeader("accept", "text/event-stream"),
          HttpClientRequest.bodyUnsafeJson(body),
          httpClient.execute
        )
        if (response.status !== 200) {
          const json = yield* response.json
          return yield* Effect.flatMap(decodeStreamError(json), Effect.fail)
        }
        return decodeStream(response)
      }))
    return { ...typed, stream }
  })

/**
 * Reads an HTTP response as the events of a run stream (for clients other than {@link client}).
 *
 * @since 0.1.0
 * @category client
 */
export const decodeStream = (
  response: HttpClientResponse.HttpClientResponse
): Stream.Stream<StreamEvent, HttpClientError.ResponseError | ParseResult.ParseError> =>
  response.stream.pipe(
    Stream.decodeText(),
    Stream.pipeThroughChannel(Sse.makeChannel()),
    Stream.mapEffect((event) => decodeEvent(event.data))
  )

