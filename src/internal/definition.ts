import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Toolkit from "@effect/ai/Toolkit"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Schema from "effect/Schema"
import type * as Prompt from "@effect/ai/Prompt"
import type { AgentError } from "../AgentError.js"
import type * as Retry from "../Retry.js"
import type * as RunEvent from "../RunEvent.js"
import type * as InternalGuardrail from "./guardrail.js"

/** The configuration of an agent as the run loop reads it, with every default filled in. */
export interface Definition {
  readonly name: string
  readonly description: string | undefined
  readonly role: string | undefined
  readonly instructions: Instructions<unknown>
  readonly markdown: boolean
  readonly toolkit: Toolkit.Any | undefined
  readonly model: ModelLayer<unknown> | undefined
  readonly fallback: ReadonlyArray<ModelLayer<unknown>>
  readonly output: Schema.Schema<unknown, unknown, unknown> | undefined
  readonly outputRepairs: number
  readonly maxTurns: number
  readonly toolConcurrency: number | "unbounded"
  readonly timeout: Duration.Duration | undefined
  readonly modelTimeout: Duration.Duration | undefined
  readonly toolTimeout: Duration.Duration | undefined
  readonly retry: Retry.Policy
  /** Tools worked out for each run (`Agent.Config.tools`), beside the static `toolkit`. */
  readonly tools: Effect.Effect<Toolset, AgentError, unknown> | undefined
  /** Tools whose calls wait for a person's decision (`Agent.Config.approval`), by tool name. */
  readonly approvals?: ReadonlyMap<string, ApprovalRule> | undefined
  /** Whether its tools run runs that may pause (a team leader's delegations): their pauses become its own. */
  readonly nests?: boolean | undefined
  /** The agent's guardrails by stage (`Agent.Config.guardrails`). */
  readonly guardrails?: InternalGuardrail.Guardrails | undefined
  /** Set by `Agent.withMemory`: add the user's facts to the instructions, and/or offer the memory tools. */
  readonly memory?: { readonly instructions: boolean; readonly tools: boolean } | undefined
}

/** When a tool's call needs approval: always, or when the predicate over its decoded arguments says so. */
export type ApprovalRule = boolean | "input" | ((params: any) => Effect.Effect<boolean, never, unknown>)

/** Tools and their handlers, as one run uses them (documented where exported, as `Agent.Toolset`). */
export interface Toolset {
  readonly toolkit: Toolkit.Any
  readonly handlers: Context.Context<never>
}

/** Instructions: a string, several, or an Effect that produces them (and may read services). */
export type Instructions<R> =
  | string
  | ReadonlyArray<string>
  | Effect.Effect<string | ReadonlyArray<string>, never, R>

/** A layer that provides a model, as the machinery writes it; the public modules name `Agent.ModelLayer`. */
export type ModelLayer<R> = Layer.Layer<LanguageModel.LanguageModel, never, R>

/** The options of one run (documented where they are exported, as `Runnable.RunOptions`). */
export interface RunOptions {
  readonly runId?: string | undefined
  readonly history?: ReadonlyArray<Prompt.Message> | undefined
  readonly onEvent?: ((event: RunEvent.RunEvent) => Effect.Effect<void>) | undefined
  readonly eventBuffer?: number | undefined
}

/** The session options of a run (documented where they are exported, as `Runnable.SessionOptions`). */
export interface SessionOptions {
  readonly sessionId?: string | undefined
  readonly userId?: string | undefined
  readonly historyRuns?: number | undefined
  readonly historyMessages?: number | undefined
}
