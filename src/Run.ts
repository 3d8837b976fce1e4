/**
 * What a run takes and what it gives back: its input, and its output with metrics.
 * Outputs are plain values described by schemas, so they encode to JSON (HTTP, SSE, storage) as
 * they are and cost nothing to build on the hot path.
 *
 * @since 0.1.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Schema from "effect/Schema"

/**
 * What a run is asked: a user message, or a whole conversation (`@effect/ai` prompt input).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = string | Prompt.Prompt | ReadonlyArray<Prompt.MessageEncoded>

/**
 * Why a tool call did not produce a result.
 *
 * @since 0.1.0
 * @category models
 */
export const ToolFailure = Schema.Literal("InvalidArguments", "UnknownTool", "Failed", "Timeout")

/**
 * @since 0.1.0
 * @category models
 */
export type ToolFailure = typeof ToolFailure.Type

/**
 * One tool call of a run: what the model asked for and what it was given back. On failure,
 * `result` is exactly what the model was told.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown,
  result: Schema.Unknown,
  failure: Schema.optional(ToolFailure),
  duration: Schema.DurationFromMillis
})

/**
 * @since 0.1.0
 * @category models
 */
export interface ToolCall extends Schema.Schema.Type<typeof ToolCall> {}

/**
 * Token usage and timing of a run. Token counts add up over every model call of the run;
 * `reasoningTokens` and `cachedInputTokens` are present when the provider reports them.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Metrics = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  totalTokens: Schema.Number,
  reasoningTokens: Schema.optional(Schema.Number),
  cachedInputTokens: Schema.optional(Schema.Number),
  modelCalls: Schema.Number,
  toolCalls: Schema.Number,
  retries: Schema.Number,
  timeToFirstToken: Schema.optional(Schema.DurationFromMillis),
  duration: Schema.DurationFromMillis
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Metrics extends Schema.Schema.Type<typeof Metrics> {}

/**
 * Token usage of one model call.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  outputTokens: Schema.Number,
  totalTokens: Schema.Number,
  reasoningTokens: Schema.optional(Schema.Number),
  cachedInputTokens: Schema.optional(Schema.Number)
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Usage extends Schema.Schema.Type<typeof Usage> {}

/**
 * The output of a finished run, with `content` of any type (the schema used on the wire).
 *
 * @since 0.1.0
 * @category schemas
 */
export const Output = Schema.Struct({
  runId: Schema.String,
  agent: Schema.String,
  /** The final answer: the text, or the value decoded with the agent's `output` schema. */
  content: Schema.Unknown,
  /** The final answer's text as the model wrote it. */
  text: Schema.String,
  /** The whole conversation of the run: instructions, history, input, model and tool messages. */
  messages: Schema.Array(Prompt.Message),
  toolCalls: Schema.Array(ToolCall),
  finishReason: Response.FinishReason,
  /** The model that gave the final answer, as the provider named it. */
  model: Schema.optional(Schema.String),
  metrics: Metrics
})

/**
 * The output of a finished run whose answer has type `A`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Output<A = string> extends Omit<Schema.Schema.Type<typeof Output>, "content"> {
  readonly content: A
}
