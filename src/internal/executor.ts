/**
 * The run executor's machinery: how a run finds its executor and names its calls. In process there
 * is none, and each call runs as it is (the default costs a map lookup per call, nothing more). A
 * durable engine provides one for the runs it executes: each model call and each tool call is then
 * settled once, under a key that a replay of the run computes again, and replayed from storage
 * after a restart. The executor's contract and the idempotency key are `AgentExecutor`'s.
 */
import type * as Context from "effect/Context"
import { CurrentExecutor, type Executor } from "../AgentExecutor.js"

export { CurrentExecutor, type Executor, idempotencyKey, ReadsIdempotencyKey } from "../AgentExecutor.js"
export { currentIdempotencyKey } from "./idempotencyKey.js"

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
