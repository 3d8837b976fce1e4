/**
 * What a durable engine plugs into a run of an agent (or of a team, whose leader and members run as
 * agents do): the executor that carries out the run's model calls and tool calls ({@link Executor},
 * {@link CurrentExecutor}), and the idempotency key of a tool call ({@link idempotencyKey}), which
 * the handler of a tool whose effect must not happen twice reads.
 *
 * Every name here is also `Agent`'s (`Agent.idempotencyKey`, `Agent.Executor`): import it from there.
 *
 * @since 0.3.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type { AgentError, ModelError } from "./AgentError.js"
import { currentIdempotencyKey } from "./internal/idempotencyKey.js"
import type * as Run from "./Run.js"

/**
 * The idempotency key of the tool call whose handler is running: the run's id and the call's id,
 * the same every time the call is executed. A durable run executes a tool call that was in flight
 * at a crash once more, with the same key, so a handler whose effect must not happen twice (a
 * payment, an email) passes the key on to the service it calls, or records it and skips a key it
 * has seen. The tool must be annotated with {@link ReadsIdempotencyKey}: reading the key elsewhere
 * is a defect. Keys are unique in a run as the model's call ids are (OpenAI's and Anthropic's are);
 * a durable run also tells apart an id the model gives again in a later turn (`<key>#2`).
 *
 * @since 0.3.0
 * @category idempotency
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Effect, Schema } from "effect"
 * import { Agent } from "effect-agents"
 *
 * const Pay = Tool.make("pay", { parameters: { cents: Schema.Number }, success: Schema.String })
 *   .annotate(Agent.ReadsIdempotencyKey, true)
 * const Payments = Toolkit.make(Pay)
 *
 * const PaymentsLive = Payments.toLayer({
 *   pay: ({ cents }) =>
 *     Effect.map(Agent.idempotencyKey, (key) => `paid ${cents} once, under ${key}`)
 * })
 * ```
 */
export const idempotencyKey: Effect.Effect<string> = Effect.flatMap(
  FiberRef.get(currentIdempotencyKey),
  (key) =>
    key === undefined
      ? Effect.dieMessage(
        "effect-agents: no idempotency key here: read it in a tool's handler, and annotate the tool with " +
          "Agent.ReadsIdempotencyKey (`tool.annotate(Agent.ReadsIdempotencyKey, true)`)"
      )
      : Effect.succeed(key)
)

/**
 * A tool annotation: its handler reads {@link idempotencyKey}. (Handing a key to every handler
 * would cost each in-process tool call two fiber-ref updates; only the tools that read it pay.)
 *
 * @since 0.3.0
 * @category idempotency
 */
export class ReadsIdempotencyKey extends Context.Reference<ReadsIdempotencyKey>()(
  "effect-agents/ToolCall/ReadsIdempotencyKey",
  { defaultValue: () => false }
) {}

/**
 * How a run's model calls and tool calls are carried out. In process there is none; a durable
 * engine (`Durable` in `effect-agents/layers`) provides one for the runs it executes, and settles
 * each call once under its key (`<runId>/model/<turn>`, `<runId>/tool/<toolCallId>`): a replay
 * of the run gets the call's result from storage instead of making it again. What a model call
 * gives is plain data (JSON); a tool call settles to its record, and is given the key it is settled
 * under (its idempotency key), which the executor may make unique: a model may give the same call id
 * in two turns.
 *
 * @since 0.3.0
 * @category executors
 */
export interface Executor {
  readonly modelCall: <A>(key: string, call: Effect.Effect<A, ModelError>) => Effect.Effect<A, ModelError>
  readonly toolCall: (
    key: string,
    call: (key: string) => Effect.Effect<Run.ToolCall, AgentError>
  ) => Effect.Effect<Run.ToolCall, AgentError>
}

/**
 * The run executor of the runs started in this context (none by default: in process).
 *
 * @since 0.3.0
 * @category executors
 */
export class CurrentExecutor extends Context.Reference<CurrentExecutor>()("effect-agents/RunExecutor", {
  defaultValue: (): Executor | undefined => undefined
}) {}
