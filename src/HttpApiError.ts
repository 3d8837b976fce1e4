/**
 * The typed errors of the HTTP API, each with its HTTP status: what a client of the API can be
 * answered besides success. Re-exported by `HttpApi`.
 *
 * @since 0.3.0
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
import * as AgentError from "./AgentError.js"
import * as Approval from "./Approval.js"

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
 * A run paused: it waits for decisions on its `pending` tool calls (see `Approval`). Answered with
 * 202 Accepted, since nothing failed; `POST /runs/{runId}/resume` with the decisions resumes it (the
 * server keeps its `state`, which is also given here, signed, for a client that stores it).
 *
 * @since 0.3.0
 * @category errors
 */
export class Paused extends Schema.TaggedError<Paused>("effect-agents/HttpApi/Paused")(
  "Paused",
  {
    runId: Schema.String,
    pending: Schema.Array(Approval.Request),
    state: Approval.State,
    message: Schema.String
  },
  HttpApiSchema.annotations({ status: 202 })
) {
  /** The pause of a run, as the HTTP app answers it. */
  static fromRunPaused(error: AgentError.RunPaused): Paused {
    return new Paused({
      runId: error.runId,
      pending: error.pending,
      state: error.state,
      message: `The run waits for decisions on ${error.pending.length} tool call(s): ` +
        `POST /runs/${error.runId}/resume with them (GET /approvals lists the runs that wait).`
    })
  }
}

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


/**
 * A signal was sent to a durable run that does not wait for it (it waits for another signal, has
 * not reached its signal step yet, or has ended): `GET /durable/runs?waiting=true` lists the runs
 * that wait and what for.
 *
 * @since 0.3.0
 * @category errors
 */
export class RunNotWaiting extends Schema.TaggedError<RunNotWaiting>("effect-agents/HttpApi/RunNotWaiting")(
  "RunNotWaiting",
  { runId: Schema.String, signal: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {}

/**
 * A signal's value is not what the signal step it is sent to takes (its schema does not decode it):
 * the message says what was expected. The run was not given it and still waits.
 *
 * @since 0.3.0
 * @category errors
 */
export class InvalidSignalValue extends Schema.TaggedError<InvalidSignalValue>("effect-agents/HttpApi/InvalidSignalValue")(
  "InvalidSignalValue",
  { runId: Schema.String, signal: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/**
 * The decisions sent to resume a paused run were refused, and nothing of them ran: a decision names
 * no call the run waits on, or one twice (`UnknownCall`), edited arguments do not decode with the
 * tool's schema (`InvalidArguments`), the pause is too old or already resumed (`Stale`), or its
 * state was not signed by this server's keys (`Forged`). The run still waits: send the decisions
 * again, corrected (`GET /approvals` or `GET /durable/runs/{runId}` lists its pending calls).
 *
 * @since 0.3.0
 * @category errors
 */
export class DecisionsRefused extends Schema.TaggedError<DecisionsRefused>("effect-agents/HttpApi/DecisionsRefused")(
  "DecisionsRefused",
  {
    runId: Schema.String,
    reason: Schema.Literal("Forged", "Stale", "UnknownCall", "InvalidArguments"),
    toolCallId: Schema.optional(Schema.String),
    message: Schema.String
  },
  HttpApiSchema.annotations({ status: 400 })
) {
  /**
   * The refusal of a resume of the run `runId`, from the run's `ApprovalError`: its message says
   * that the run still waits, but for a pause that is spent or too old (`Stale`).
   */
  static fromApprovalError(runId: string, error: Approval.ApprovalError): DecisionsRefused {
    return new DecisionsRefused({
      runId,
      reason: error.reason,
      message: error.reason === "Stale"
        ? error.message
        : `${error.message} The run still waits for decisions on its pending calls.`,
      ...(error.toolCallId === undefined ? {} : { toolCallId: error.toolCallId })
    })
  }
}

/**
 * The server runs no durable runs: it was started without a durable store (`HttpApp`'s `durable`
 * option, `effect-agents serve --durable <file.db>`).
 *
 * @since 0.3.0
 * @category errors
 */
export class DurableRunsDisabled extends Schema.TaggedError<DurableRunsDisabled>(
  "effect-agents/HttpApi/DurableRunsDisabled"
)(
  "DurableRunsDisabled",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 501 })
) {}
