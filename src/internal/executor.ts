/**
 * The run executor: how a run's model calls and tool calls are carried out. In process there is
 * none, and each call runs as it is (the default costs a map lookup per call, nothing more). A
 * durable engine provides one for the runs it executes: each model call and each tool call is then
 * settled once, under a key that a replay of the run computes again, and replayed from storage
 * after a restart.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import type { AgentError, ModelError } from "../AgentError.js"
import type * as Run from "../Run.js"

/**
 * How a run's calls are carried out. `key` names the call in its run, the same in every replay of
 * it: `<runId>/model/<turn>` for the model call of a turn, `<runId>/tool/<toolCallId>` for a tool
 * call. What a model call gives is plain data (JSON); a tool call settles to its record. A tool
 * call is given the key it is settled under (its idempotency key), which the executor may make
 * unique: a model may give the same call id in two turns.
 */
export interface Executor {
  readonly modelCall: <A>(key: string, call: Effect.Effect<A, ModelError>) => Effect.Effect<A, ModelError>
  readonly toolCall: (
    key: string,
    call: (key: string) => Effect.Effect<Run.ToolCall, AgentError>
  ) => Effect.Effect<Run.ToolCall, AgentError>
}

/** The run executor of the runs started in this context: none (in process) unless provided. */
export class CurrentExecutor extends Context.Reference<CurrentExecutor>()("effect-agents/RunExecutor", {
  defaultValue: (): Executor | undefined => undefined
}) {}

/** The executor in a run's context, if any: a map lookup, no allocation. */
export const of = (context: Context.Context<never>): Executor | undefined =>
  context.unsafeMap.get(CurrentExecutor.key) as Executor | undefined

/** The key of the model call of a run's turn. */
export const modelCallKey = (runId: string, turn: number): string => `${runId}/model/${turn}`

/**
 * The key of a tool call of a run: also its idempotency key, handed to its handler. Tool call ids
 * are the model's, unique in a run, and a replay reads them from the settled model call.
 */
export const toolCallKey = (runId: string, toolCallId: string): string => `${runId}/tool/${toolCallId}`

/**
 * The idempotency key of the tool call whose handler is running. It is set for the tools annotated
 * with {@link ReadsIdempotencyKey}, and for every tool call of a run with an executor.
 */
export const currentIdempotencyKey: FiberRef.FiberRef<string | undefined> = FiberRef.unsafeMake<string | undefined>(
  undefined
)

/**
 * A tool annotation: its handler reads its call's idempotency key. Setting a fiber ref copies the
 * fiber's table of them, so only the tools that read the key pay for it in process.
 */
export class ReadsIdempotencyKey extends Context.Reference<ReadsIdempotencyKey>()(
  "effect-agents/ToolCall/ReadsIdempotencyKey",
  { defaultValue: () => false }
) {}

/** The idempotency key of the running tool call; a defect outside of one, which is a bug. */
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
