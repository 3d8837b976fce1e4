/**
 * What happens during a run, as a Schema tagged union. `Agent.stream` emits these; the HTTP layer
 * encodes the very same values to SSE/JSON through {@link RunEvent}, so there is one event model.
 *
 * @since 0.1.0
 */
import * as Response from "@effect/ai/Response"
import * as Schema from "effect/Schema"
import * as AgentError from "./AgentError.js"
import * as Run from "./Run.js"

/**
 * A run began.
 *
 * @since 0.1.0
 * @category events
 */
export class RunStarted extends Schema.TaggedClass<RunStarted>("effect-agents/RunStarted")("RunStarted", {
  runId: Schema.String,
  agent: Schema.String
}) {}

/**
 * A model call began. `turn` counts model calls in the run from 1.
 *
 * @since 0.1.0
 * @category events
 */
export class ModelRequestStarted extends Schema.TaggedClass<ModelRequestStarted>("effect-agents/ModelRequestStarted")(
  "ModelRequestStarted",
  { runId: Schema.String, turn: Schema.Number }
) {}

/**
 * A piece of the answer's text, as it arrived.
 *
 * @since 0.1.0
 * @category events
 */
export class TextDelta extends Schema.TaggedClass<TextDelta>("effect-agents/TextDelta")("TextDelta", {
  runId: Schema.String,
  delta: Schema.String
}) {}

/**
 * A piece of the model's reasoning, where the provider streams it.
 *
 * @since 0.1.0
 * @category events
 */
export class ReasoningDelta extends Schema.TaggedClass<ReasoningDelta>("effect-agents/ReasoningDelta")(
  "ReasoningDelta",
  { runId: Schema.String, delta: Schema.String }
) {}

/**
 * The model asked for a tool call; it is about to be checked and run.
 *
 * @since 0.1.0
 * @category events
 */
export class ToolCallStarted extends Schema.TaggedClass<ToolCallStarted>("effect-agents/ToolCallStarted")(
  "ToolCallStarted",
  { runId: Schema.String, toolCallId: Schema.String, name: Schema.String, arguments: Schema.Unknown }
) {}

/**
 * A tool call returned a result, which goes back to the model.
 *
 * @since 0.1.0
 * @category events
 */
export class ToolCallCompleted extends Schema.TaggedClass<ToolCallCompleted>("effect-agents/ToolCallCompleted")(
  "ToolCallCompleted",
  {
    runId: Schema.String,
    toolCallId: Schema.String,
    name: Schema.String,
    result: Schema.Unknown,
    duration: Schema.DurationFromMillis
  }
) {}

/**
 * A tool call did not produce a result (bad arguments, unknown tool, a typed failure, a timeout).
 * The error goes back to the model, which may correct itself; the run goes on.
 *
 * @since 0.1.0
 * @category events
 */
export class ToolCallFailed extends Schema.TaggedClass<ToolCallFailed>("effect-agents/ToolCallFailed")(
  "ToolCallFailed",
  {
    runId: Schema.String,
    toolCallId: Schema.String,
    name: Schema.String,
    reason: Run.ToolFailure,
    error: Schema.Unknown,
    duration: Schema.DurationFromMillis
  }
) {}

/**
 * A model call finished, with its token usage.
 *
 * @since 0.1.0
 * @category events
 */
export class ModelRequestCompleted extends Schema.TaggedClass<ModelRequestCompleted>(
  "effect-agents/ModelRequestCompleted"
)("ModelRequestCompleted", {
  runId: Schema.String,
  turn: Schema.Number,
  finishReason: Response.FinishReason,
  usage: Run.Usage,
  model: Schema.optional(Schema.String)
}) {}

/**
 * A model call failed with a retryable error and will be tried again after `delay`.
 *
 * @since 0.1.0
 * @category events
 */
export class Retrying extends Schema.TaggedClass<Retrying>("effect-agents/Retrying")("Retrying", {
  runId: Schema.String,
  attempt: Schema.Number,
  delay: Schema.DurationFromMillis,
  error: AgentError.ModelError
}) {}

/**
 * A model call failed for good on one model (after its retries), and the next fallback model
 * takes the call. `fallback` counts the agent's fallback models from 1.
 *
 * @since 0.1.0
 * @category events
 */
export class FallbackStarted extends Schema.TaggedClass<FallbackStarted>("effect-agents/FallbackStarted")(
  "FallbackStarted",
  { runId: Schema.String, fallback: Schema.Number, error: AgentError.ModelError }
) {}

/**
 * The run finished with its output.
 *
 * @since 0.1.0
 * @category events
 */
export class RunCompleted extends Schema.TaggedClass<RunCompleted>("effect-agents/RunCompleted")("RunCompleted", {
  runId: Schema.String,
  output: Run.Output
}) {}

/**
 * The run failed; the stream fails with the same error right after this event.
 *
 * @since 0.1.0
 * @category events
 */
export class RunFailed extends Schema.TaggedClass<RunFailed>("effect-agents/RunFailed")("RunFailed", {
  runId: Schema.String,
  error: AgentError.AgentError
}) {}

/**
 * Every event of a run.
 *
 * @since 0.1.0
 * @category models
 */
export type RunEvent =
  | RunStarted
  | ModelRequestStarted
  | TextDelta
  | ReasoningDelta
  | ToolCallStarted
  | ToolCallCompleted
  | ToolCallFailed
  | ModelRequestCompleted
  | Retrying
  | FallbackStarted
  | RunCompleted
  | RunFailed

/**
 * The schema of {@link RunEvent}: one JSON object per event, tagged by `_tag`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunEvent: Schema.Union<[
  typeof RunStarted,
  typeof ModelRequestStarted,
  typeof TextDelta,
  typeof ReasoningDelta,
  typeof ToolCallStarted,
  typeof ToolCallCompleted,
  typeof ToolCallFailed,
  typeof ModelRequestCompleted,
  typeof Retrying,
  typeof FallbackStarted,
  typeof RunCompleted,
  typeof RunFailed
]> = Schema.Union(
  RunStarted,
  ModelRequestStarted,
  TextDelta,
  ReasoningDelta,
  ToolCallStarted,
  ToolCallCompleted,
  ToolCallFailed,
  ModelRequestCompleted,
  Retrying,
  FallbackStarted,
  RunCompleted,
  RunFailed
)
