/**
 * The record of a run in a session: what a `SessionStore` keeps of each run, whether it completed,
 * failed, was cancelled or paused for approval, as one `Schema` that every store encodes and decodes.
 *
 * @since 0.1.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Schema from "effect/Schema"
import * as AgentError from "./AgentError.js"
import * as Approval from "./Approval.js"
import * as Run from "./Run.js"

/**
 * How a run ended, or stopped: `paused` is a run waiting for approval (see `Approval`), which a
 * resume in the same session records again when it ends.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunStatus = Schema.Literal("completed", "failed", "cancelled", "paused")

/**
 * @since 0.1.0
 * @category models
 */
export type RunStatus = typeof RunStatus.Type

/**
 * A run that died of a defect (a bug, not a typed failure), as its record keeps it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunDefect = Schema.TaggedStruct("RunDefect", { message: Schema.String })

/**
 * @since 0.1.0
 * @category models
 */
export interface RunDefect extends Schema.Schema.Type<typeof RunDefect> {}

/**
 * The answer of a completed run: its `Run.Output` without what the record keeps at its top level
 * (messages, tool calls, metrics, ids).
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunAnswer = Run.Output.pick("content", "text", "finishReason", "model")

/**
 * @since 0.1.0
 * @category models
 */
export interface RunAnswer extends Schema.Schema.Type<typeof RunAnswer> {}

const recordFields = {
  runId: Schema.String,
  userId: Schema.NonEmptyString,
  sessionId: Schema.NonEmptyString,
  /** The agent (or team) that ran. */
  agent: Schema.String,
  /** What the run was asked. */
  input: Schema.Array(Prompt.Message),
  /**
   * The messages the run added to the conversation: its input, then the model's and the tools'
   * messages. Neither the instructions nor the history it was given: each record holds only its own
   * turn, so a session grows by one run at a time and is never written twice.
   */
  messages: Schema.Array(Prompt.Message),
  toolCalls: Schema.Array(Run.ToolCall),
  metrics: Schema.optional(Run.Metrics),
  startedAt: Schema.DateTimeUtc,
  finishedAt: Schema.DateTimeUtc
}

/**
 * The record of one run in a session. `status` tells the kinds apart: a completed run has its
 * `output`, a failed one its `error` (the run's typed `AgentError`, or the defect it died of), a
 * paused one the requests it waits on (`pending`), a cancelled one none of these. A failed, paused
 * or cancelled run keeps its input; its `messages` are its input only.
 *
 * A paused run that is resumed in its session (`Runnable.resume` with the session's options) is
 * recorded again under the same `runId` when it ends: the paused record stays (the session's log is
 * appended to, never rewritten), and the later record, completed, is the one history reads. A run
 * that pauses twice has two paused records before its last one.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunRecord = Schema.Union(
  Schema.Struct({ status: Schema.Literal("completed"), ...recordFields, output: RunAnswer }),
  Schema.Struct({
    status: Schema.Literal("failed"),
    ...recordFields,
    error: Schema.Union(AgentError.AgentError, RunDefect)
  }),
  Schema.Struct({ status: Schema.Literal("cancelled"), ...recordFields }),
  Schema.Struct({ status: Schema.Literal("paused"), ...recordFields, pending: Schema.Array(Approval.Request) })
)

/**
 * @since 0.1.0
 * @category models
 */
export type RunRecord = typeof RunRecord.Type
