/**
 * The HTTP API of effect-agents, as one typed definition: its endpoints, the schemas of what they
 * take and give, and their typed errors with HTTP statuses. The server (`HttpApp` in
 * `effect-agents/layers`), the OpenAPI document, the Swagger page and the typed {@link client} are
 * all derived from it, so they cannot disagree.
 *
 * @since 0.1.0
 */
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
import * as SessionStore from "../services/SessionStore.js"
import * as Registry from "./Registry.js"
import {
  AgentNotFound,
  BatchNotFound,
  DecisionsRefused,
  DurableRunsDisabled,
  InternalError,
  InvalidRunInput,
  Paused,
  PayloadTooLarge,
  RunCancelled,
  RunError,
  RunIdInUse,
  RunNotFound,
  RunNotWaiting,
  InvalidSignalValue,
  ShuttingDown,
  Unauthorized,
  UnsupportedMediaType,
} from "./HttpApiError.js"
import {
  AgUiInput,
  Batch,
  BatchRequest,
  ChatCompletion,
  ChatCompletionError,
  ChatCompletionRequest,
  ChatCompletionUnauthorized,
  DecisionsRequest,
  DurableRun,
  DurableRunRequest,
  Output,
  PausedRun,
  ResumeRequest,
  RunInfo,
  RunOutput,
  RunRecord,
  RunRequest,
  SignalRequest,
  StreamEvent,
  UiMessagesRequest,
} from "./HttpApiModels.js"

export * from "./HttpApiError.js"
export * from "./HttpApiModels.js"

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
      .addError(Paused)
      .annotate(OpenApi.Summary, "Run an agent or team")
      .annotate(
        OpenApi.Description,
        "Answers with the run's output as JSON, or, with `\"stream\": true` or `Accept: text/event-stream`, " +
          "with Server-Sent Events: one per event of the run, `event:` its `_tag` and `data:` its JSON, the " +
          "first `RunStarted` (with the run's id), the last `RunCompleted`, `RunFailed`, `RunCancelled` or " +
          "`RunError`. The run's id is also in the `x-run-id` header. A client that disconnects cancels its run. " +
          "A JSON run that pauses for approval answers 202 `Paused`, with its pending calls."
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
      .annotate(OpenApi.Summary, "Follow a detached or durable run's events, from a cursor")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events of a run started with `\"stream\": true, \"detach\": true`, or of a durable run " +
          "(`POST /durable/runs`): the events after the cursor (the `Last-Event-ID` header, or `?after=`; none: " +
          "from the first), then the rest as they come, until the run ends. Each event's `id:` is its number in " +
          "the run. A detached run's log is kept in memory (the logs of runs in flight and of the 100 most " +
          "recently finished runs, the last 10,000 events of each). A durable run's events are stored with its " +
          "execution, each once however often the engine replays the run, and numbered the same by every " +
          "server on its database, after a restart too; a server whose process does not run the run follows what is stored. " +
          "Text and reasoning deltas are not stored: they are sent live by the server whose process runs the " +
          "model call, with the `id:` of the stored event before them, so a client that reconnects with the " +
          "last id it saw resumes after that stored event and gets no delta again (`RunCompleted` holds the " +
          "whole text)."
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
          "RUN_FINISHED or RUN_ERROR. A run that pauses for approval ends with RUN_FINISHED whose outcome is " +
          "`interrupt`, one per pending call (reason `tool_call`, or `input_required` for a tool's question); the " +
          "next input's `resume` answers them (`{ \"approved\": true, \"editedArgs\"? }`, `{ \"approved\": false, " +
          "\"reason\"? }`, a question's answer, or `cancelled`) and the paused run goes on as this run. A resume " +
          "it cannot take ends with RUN_ERROR, and the paused run still waits."
      )
  )
  .add(
    HttpApiEndpoint.post("uiMessageStream", "/agents/:name/ui-message-stream")
      .setPath(NamePath)
      .setPayload(UiMessagesRequest)
      .addSuccess(EventStream)
      .addError(AgentNotFound)
      .addError(RunNotFound)
      .addError(RunIdInUse)
      .addError(DecisionsRefused)
      .annotate(OpenApi.Summary, "Run an agent or team for the AI SDK's useChat (UI message stream)")
      .annotate(
        OpenApi.Description,
        "Server-Sent Events of the AI SDK's UI message stream protocol (`x-vercel-ai-ui-message-stream: v1`): " +
          "start, text-*, reasoning-*, tool-*, data-* parts for a team's members, retries and waits, finish or " +
          "error, then `[DONE]`. A call that needs approval is a `tool-approval-request`; when the last message " +
          "sent is the assistant's with its tool parts `approval-responded` (`addToolApprovalResponse`), the paused " +
          "run goes on in that message. Approval responses refused before anything ran answer 400 " +
          "`DecisionsRefused`, ones no paused run waits on 404 `RunNotFound`."
      )
  )
  .middleware(Authorization)
{}

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
      .annotate(
        OpenApi.Description,
        "The runs of this server's process that paused for approval and, on a server with a durable store, the " +
          "durable runs that did (`durable: true`). Each says where its decisions go (`POST` to `decideAt`): " +
          "`/runs/{runId}/resume` or `/durable/runs/{runId}/decisions`."
      )
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
      .addError(Paused)
      .addError(DecisionsRefused)
      .annotate(OpenApi.Summary, "Decide on a paused run's tool calls and resume it")
      .annotate(
        OpenApi.Description,
        "Approves or rejects the pending tool calls of a run that paused (listed by `GET /approvals`), and " +
          "resumes it: it answers as `POST /agents/{name}/runs` does, with the run's output, or with 202 " +
          "`Paused` when calls still wait. A paused run's event stream ends with `RunPaused`; with " +
          "`\"stream\": true` the resumed run streams its events again, and with `\"detach\": true` too its events " +
          "are kept for `GET /runs/{runId}/events` (numbered from 1 again: the resumed part's log replaces the paused one's). " +
          "Decisions refused before anything ran answer 400 `DecisionsRefused`, as JSON or as a stream (before any " +
          "event), and the run still waits. A durable run's decisions go to `POST /durable/runs/{runId}/decisions`."
      )
  )
  .middleware(Authorization)
{}

const DurableRunPath = Schema.Struct({ runId: Schema.String })

/**
 * Durable runs: background runs of any agent, team or workflow on the durable engine, which
 * survive a restart of the server (settled steps are not run again), with their status and the
 * steps settled so far, cancel, and signals for the runs that wait for one. Answered with
 * `DurableRunsDisabled` (501) by a server started without a durable store.
 *
 * @since 0.3.0
 * @category groups
 */
export class DurableGroup extends HttpApiGroup.make("durable")
  .add(
    HttpApiEndpoint.post("start", "/durable/runs")
      .setPayload(DurableRunRequest)
      .addSuccess(DurableRun, { status: 202 })
      .addError(AgentNotFound)
      .addError(RunIdInUse)
      .addError(DurableRunsDisabled)
      .annotate(OpenApi.Summary, "Start a durable run in the background")
  )
  .add(
    HttpApiEndpoint.get("list", "/durable/runs")
      .setUrlParams(Schema.Struct({ waiting: Schema.optional(Schema.BooleanFromString) }))
      .addSuccess(Schema.Array(DurableRun.pipe(Schema.omit("steps", "output"))))
      .addError(DurableRunsDisabled)
      .annotate(OpenApi.Summary, "The durable runs, the most recent first (`?waiting=true`: those waiting on a signal or for decisions)")
  )
  .add(
    HttpApiEndpoint.get("get", "/durable/runs/:runId")
      .setPath(DurableRunPath)
      .addSuccess(DurableRun)
      .addError(RunNotFound)
      .addError(DurableRunsDisabled)
      .annotate(OpenApi.Summary, "A durable run: its status, the steps settled so far, its output or error")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/durable/runs/:runId/cancel")
      .setPath(DurableRunPath)
      .addSuccess(DurableRun, { status: 202 })
      .addError(RunNotFound)
      .addError(DurableRunsDisabled)
      .annotate(OpenApi.Summary, "Cancel a durable run: the steps it is in are interrupted")
  )
  .add(
    HttpApiEndpoint.post("signal", "/durable/runs/:runId/signals/:signal")
      .setPath(Schema.Struct({ runId: Schema.String, signal: Schema.String }))
      .setPayload(SignalRequest)
      .addSuccess(DurableRun, { status: 202 })
      .addError(RunNotFound)
      .addError(RunNotWaiting)
      .addError(InvalidSignalValue)
      .addError(DurableRunsDisabled)
      .annotate(OpenApi.Summary, "Send a value to the signal step a durable run waits on")
  )
  .add(
    HttpApiEndpoint.post("decide", "/durable/runs/:runId/decisions")
      .setPath(DurableRunPath)
      .setPayload(DecisionsRequest)
      .addSuccess(DurableRun, { status: 202 })
      .addError(RunNotFound)
      .addError(RunNotWaiting)
      .addError(DecisionsRefused)
      .addError(DurableRunsDisabled)
      .annotate(OpenApi.Summary, "Decide on the tool calls a durable run paused on (its `pending`), and resume it")
  )
  .middleware(Authorization)
{}

/**
 * The whole API.
 *
 * @since 0.1.0
 * @category api
 */
export class Api extends PlatformHttpApi.make("effect-agents")
  .add(HealthGroup)
  .add(AgentsGroup)
  .add(RunsGroup)
  .add(ApprovalsGroup)
  .add(SessionsGroup)
  .add(BatchesGroup)
  .add(DurableGroup)
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

