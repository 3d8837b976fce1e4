/**
 * What a run takes and what it gives back: its input, and its output with metrics.
 * Outputs are plain values described by schemas, so they encode to JSON (HTTP, SSE, storage) as
 * they are and cost nothing to build on the hot path.
 *
 * @since 0.1.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import * as Id from "./internal/id.js"

/**
 * What a run is asked: a user message, or a whole conversation (`@effect/ai` prompt input).
 *
 * @since 0.1.0
 * @category models
 */
export type Input = string | Prompt.Prompt | ReadonlyArray<Prompt.MessageEncoded>

/**
 * A fresh run id: a random UUID (kept as a flat string, which a run holds for as long as it lives).
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeId: () => string = Id.uuid

/**
 * The text of the last user message of an input (the input itself when it is a string), or
 * `undefined` when it has none. A run in a session is given its input as a `Prompt`.
 *
 * @since 0.2.0
 * @category utils
 */
export const lastUserText = (input: Input): string | undefined => {
  if (typeof input === "string") return input
  const messages = Prompt.make(input).content
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role === "user") {
      return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n")
    }
  }
  return undefined
}

/**
 * The text of a message: its text parts, joined with new lines (a system message's content is its
 * text). Tool calls, tool results, files and reasoning are left out.
 *
 * @since 0.2.0
 * @category utils
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Agent, Run } from "effect-agents"
 *
 * const transcript = (agent: Agent.Agent<string, never>) =>
 *   Effect.map(Agent.run(agent, "Hi"), (output) => output.messages.map((m) => `${m.role}: ${Run.textOf(m)}`))
 * ```
 */
export const textOf = (message: Prompt.Message): string =>
  message.role === "system"
    ? message.content
    : (message.content as ReadonlyArray<Prompt.Part>).flatMap((part) => (part.type === "text" ? [part.text] : [])).join(
      "\n"
    )

/**
 * Why a tool call did not produce a result. `Rejected`: a person did not approve it.
 *
 * @since 0.1.0
 * @category models
 */
export const ToolFailure = Schema.Literal("InvalidArguments", "UnknownTool", "Failed", "Timeout", "Rejected")

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

/**
 * The metrics of a run that made no model call and no tool call, took no time and used no token:
 * where a run that is not an agent's starts its tally.
 *
 * @since 0.2.0
 * @category constructors
 */
export const emptyMetrics: Metrics = {
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  modelCalls: 0,
  toolCalls: 0,
  retries: 0,
  duration: Duration.zero
}

/**
 * Metrics added up: tokens, calls and retries are summed, durations too (the time spent in the
 * runs, which a run made of others replaces by its own), and the time to the first token is the
 * first one's. With {@link emptyMetrics} it is a monoid, so a team's metrics are its leader's
 * combined with its members', a workflow's its steps'.
 *
 * @since 0.2.0
 * @category combinators
 */
export const combineMetrics = (self: Metrics, that: Metrics): Metrics => {
  const reasoning = self.reasoningTokens === undefined
    ? that.reasoningTokens
    : that.reasoningTokens === undefined
    ? self.reasoningTokens
    : self.reasoningTokens + that.reasoningTokens
  const cached = self.cachedInputTokens === undefined
    ? that.cachedInputTokens
    : that.cachedInputTokens === undefined
    ? self.cachedInputTokens
    : self.cachedInputTokens + that.cachedInputTokens
  const firstToken = self.timeToFirstToken ?? that.timeToFirstToken
  return {
    inputTokens: self.inputTokens + that.inputTokens,
    outputTokens: self.outputTokens + that.outputTokens,
    totalTokens: self.totalTokens + that.totalTokens,
    ...(reasoning !== undefined ? { reasoningTokens: reasoning } : {}),
    ...(cached !== undefined ? { cachedInputTokens: cached } : {}),
    modelCalls: self.modelCalls + that.modelCalls,
    toolCalls: self.toolCalls + that.toolCalls,
    retries: self.retries + that.retries,
    ...(firstToken !== undefined ? { timeToFirstToken: firstToken } : {}),
    duration: Duration.sum(self.duration, that.duration)
  }
}

/**
 * An output, for a runnable of one's own: what is not given is empty (no messages, no tool calls,
 * {@link emptyMetrics}, finish reason `"stop"`), and `text` is the content when it is a string.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeOutput = <A>(options: {
  readonly runId: string
  readonly agent: string
  readonly content: A
  readonly text?: string | undefined
  readonly messages?: ReadonlyArray<Prompt.Message> | undefined
  readonly toolCalls?: ReadonlyArray<ToolCall> | undefined
  readonly finishReason?: Response.FinishReason | undefined
  readonly model?: string | undefined
  readonly metrics?: Metrics | undefined
}): Output<A> => ({
  runId: options.runId,
  agent: options.agent,
  content: options.content,
  text: options.text ?? (typeof options.content === "string" ? options.content : ""),
  messages: options.messages ?? [],
  toolCalls: options.toolCalls ?? [],
  finishReason: options.finishReason ?? "stop",
  ...(options.model !== undefined ? { model: options.model } : {}),
  metrics: options.metrics ?? emptyMetrics
})
