/**
 * An agent: a model, instructions and tools, run to a final answer.
 *
 * An agent is an immutable value. Building one needs no context; running one needs the services its
 * configuration implies (a `LanguageModel` when no `model` layer is given, the handlers of its tools,
 * whatever its instructions read), and the type of `run` says so.
 *
 * This module re-exports `AgentExecutor`: what a durable engine plugs into a run (the executor of its
 * model calls and tool calls) and the idempotency key a tool's handler reads.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import type * as Context from "effect/Context"
import type * as Layer from "effect/Layer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import * as Memory from "../services/Memory.js"
import type { AgentError } from "./AgentError.js"
import type * as Approval from "./Approval.js"
import type * as Guardrail from "./Guardrail.js"
import type * as InternalDefinition from "./internal/definition.js"
import type { ApprovalRule, Definition, Instructions } from "./internal/definition.js"
import * as EventStream from "./internal/eventStream.js"
import * as InternalGuardrail from "./internal/guardrail.js"
import * as InternalLoop from "./internal/loop.js"
import * as InternalRunnable from "./internal/runnable.js"
import * as InternalSession from "./internal/session.js"
import * as Retry from "./Retry.js"
import type * as Run from "./Run.js"
import * as Runnable from "./Runnable.js"

export * from "./AgentExecutor.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-agents/Agent")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * An agent whose answer has type `A` and whose runs need the services `R`. An agent is a
 * {@link Runnable.Runnable} of kind `"agent"`: everything that runs runnables runs it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Agent<out A = string, out R = never> extends Definition, Runnable.Runnable<A, R> {
  readonly [TypeId]: {
    readonly _A: (_: never) => A
    readonly _R: (_: never) => R
  }
  readonly kind: "agent"
}

/**
 * The services the tools of a toolkit need at run time: their handlers and declared dependencies.
 *
 * @since 0.1.0
 * @category models
 */
export type ToolContext<Tools extends Record<string, Tool.Any>> =
  | Tool.HandlersFor<Tools>
  | Tool.Requirements<Tools[keyof Tools]>

/**
 * A layer that provides an agent's model, such as `OpenAi.model("gpt-4o-mini")` or any `@effect/ai`
 * provider's model; `R` is what it needs (its provider's client).
 *
 * @since 0.3.0
 * @category models
 */
export type ModelLayer<R> = Layer.Layer<LanguageModel.LanguageModel, never, R>

/**
 * What a list of fallback models needs: the union of every model's requirements (models on
 * different providers' clients need each client).
 *
 * @since 0.2.0
 * @category models
 */
export type FallbackContext<Fallback extends ReadonlyArray<ModelLayer<unknown>>> = LayerContext<Fallback[number]>

// Distributes over a union of layers, and is `never` for none (no fallback).
type LayerContext<L> = L extends Layer.Layer<infer _A, infer _E, infer R> ? R : never

/**
 * Tools and their handlers as one run uses them: what an agent's `tools` gives for each run. Made
 * with {@link toolset}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Toolset extends InternalDefinition.Toolset {}

/**
 * A toolkit with its handlers, as an agent's `tools` gives them for a run: the handlers may close
 * over what the run's Effect read (a user's permissions, a connection).
 *
 * @since 0.2.0
 * @category tools
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Context, Effect, Schema } from "effect"
 * import { Agent } from "effect-agents"
 *
 * class Role extends Context.Tag("app/Role")<Role, "admin" | "user">() {}
 *
 * const Read = Tool.make("read", { parameters: { path: Schema.String }, success: Schema.String })
 * const Erase = Tool.make("erase", { parameters: { path: Schema.String }, success: Schema.String })
 * const Everything = Toolkit.make(Read, Erase)
 * const ReadOnly = Toolkit.make(Read)
 *
 * // Agent<string, LanguageModel | Role>: an admin's runs get both tools, a user's only `read`.
 * const files = Agent.make({
 *   name: "Files",
 *   tools: Effect.flatMap(Role, (role) =>
 *     role === "admin"
 *       ? Agent.toolset(Everything, {
 *         read: ({ path }) => Effect.succeed(`contents of ${path}`),
 *         erase: ({ path }) => Effect.succeed(`erased ${path}`)
 *       })
 *       : Agent.toolset(ReadOnly, { read: ({ path }) => Effect.succeed(`contents of ${path}`) }))
 * })
 * ```
 */
export const toolset = <
  Tools extends Record<string, Tool.Any>,
  Handlers extends Toolkit.HandlersFrom<Tools>,
  EX = never,
  RX = never
>(
  toolkit: Toolkit.Toolkit<Tools>,
  handlers: Handlers | Effect.Effect<Handlers, EX, RX>
): Effect.Effect<Toolset, EX, RX | Tool.Requirements<Tools[keyof Tools]>> =>
  // The services the tools declare are read when they run, from the run's context: they are
  // required here so that they are in the agent's requirements.
  Effect.map(toolkit.toContext(handlers), (context) => ({ toolkit, handlers: context as Context.Context<never> }))

/**
 * How an agent is configured. Only what differs from the defaults needs saying.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config<
  Tools extends Record<string, Tool.Any>,
  A,
  RModel,
  RFallback,
  RInstructions,
  ROutput,
  RTools = never,
  RApproval = never,
  RGuardrails = never,
  IOutput = A
> {
  /** Shown in events, traces and output. Default `"Agent"`. */
  readonly name?: string | undefined
  /** What the agent is; the first line of its instructions. */
  readonly description?: string | undefined
  /** The agent's role, for the model and for a team leader choosing members. */
  readonly role?: string | undefined
  /** Instructions: a string, several, or an Effect that produces them (it may read services). */
  readonly instructions?: Instructions<RInstructions> | undefined
  /** Ask the model to answer in markdown, and render it in `printResponse`. */
  readonly markdown?: boolean | undefined
  /** The tools the model may call: an `@effect/ai` `Toolkit`, its handlers provided by a layer. */
  readonly toolkit?: Toolkit.Toolkit<Tools> | undefined
  /**
   * Tools worked out for each run, beside `toolkit`: an Effect that may read services (a user's
   * permissions, a connection to a tool server) and gives the tools with their handlers
   * ({@link toolset}). Its requirements become the agent's.
   */
  readonly tools?: Effect.Effect<Toolset, AgentError, RTools> | undefined
  /** The model, as a layer (an `@effect/ai` `Model`). Without it, the `LanguageModel` in context. */
  readonly model?: ModelLayer<RModel> | undefined
  /** Models to try, in order, when a call to the model still fails after its retries. */
  readonly fallback?: ReadonlyArray<ModelLayer<RFallback>> | undefined
  /**
   * A schema for the final answer: the model is asked for JSON and its answer decoded with it.
   * `IOutput` is its encoded type (what the model writes), inferred like its answer type `A`.
   */
  readonly output?: Schema.Schema<A, IOutput, ROutput> | undefined
  /** How many times the model is asked again when its answer does not decode. Default 1. */
  readonly outputRepairs?: number | undefined
  /** The most model calls one run may make. Default 10. */
  readonly maxTurns?: number | undefined
  /** How many tool calls of one turn run at once. Default 8. */
  readonly toolConcurrency?: number | "unbounded" | undefined
  /** The longest a whole run may take. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The longest one model call may take; a call that times out is retried like any transient error. */
  readonly modelTimeout?: Duration.DurationInput | undefined
  /** The longest one tool call may take; a timeout goes back to the model as a failed result. */
  readonly toolTimeout?: Duration.DurationInput | undefined
  /** The retry policy of each model call. Default {@link Retry.transient}. */
  readonly retry?: Retry.Policy | undefined
  /**
   * Tools whose calls wait for a person's decision: `true` for every call, or a predicate over the
   * call's decoded arguments (it may read services, which the agent then needs). A run that meets
   * such a call pauses (see `Approval` and {@link resume}).
   */
  readonly approval?: ApprovalConfig<Tools, RApproval> | undefined
  /**
   * Checks before the first model call, on the answer (and its streaming text), and around tool
   * calls (see `Guardrail`). A block ends the run with a `GuardrailTripped` failure. What they read
   * becomes the agent's requirements.
   */
  readonly guardrails?: ReadonlyArray<Guardrail.Any<RGuardrails>> | undefined
}

/**
 * Which tools of a toolkit need approval (see {@link Config}): a rule per tool name.
 *
 * @since 0.3.0
 * @category models
 */
export type ApprovalConfig<Tools extends Record<string, Tool.Any>, R = never> = {
  // Not mapped over `keyof Tools` itself: a homomorphic mapped type would make inference read the
  // tools from it instead of the services its predicates need.
  readonly [K in Extract<keyof Tools, string>]?: Approval.Rule<Tool.Parameters<Tools[K]>, R>
}

/**
 * Options of one run (see {@link Runnable.RunOptions}).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends Runnable.RunOptions {}

/**
 * Options that make a run part of a conversation (see {@link Runnable.SessionOptions}).
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionOptions extends Runnable.SessionOptions {}

/**
 * What a run with options `O` of an agent that needs `R` needs (see {@link Runnable.Requirements}).
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements<R, O> = Runnable.Requirements<R, O>

/**
 * How a run with options `O` of an agent that needs `R` can fail (see {@link Runnable.Errors}).
 *
 * @since 0.1.0
 * @category models
 */
export type Errors<R, O> = Runnable.Errors<R, O>

/**
 * The options a run accepts: any others are a compile error.
 *
 * @since 0.1.0
 * @category models
 */
export type Exact<O, Known> = Runnable.Exact<O, Known>

// One constructor, with every field in the same order: agents share one shape, and building one is
// a single allocation (`Object.assign` onto `Object.create` adds the fields one at a time).
type Mutable<T> = { -readonly [K in keyof T]: T[K] }
interface AgentImpl extends Mutable<Definition> {}
class AgentImpl extends Runnable.Base {
  constructor(definition: Definition) {
    super()
    this.name = definition.name
    this.description = definition.description
    this.role = definition.role
    this.instructions = definition.instructions
    this.markdown = definition.markdown
    this.toolkit = definition.toolkit
    this.model = definition.model
    this.fallback = definition.fallback
    this.output = definition.output
    this.outputRepairs = definition.outputRepairs
    this.maxTurns = definition.maxTurns
    this.toolConcurrency = definition.toolConcurrency
    this.timeout = definition.timeout
    this.modelTimeout = definition.modelTimeout
    this.toolTimeout = definition.toolTimeout
    this.retry = definition.retry
    this.tools = definition.tools
    this.approvals = definition.approvals
    this.guardrails = definition.guardrails
    if (definition.memory !== undefined) this.memory = definition.memory
  }

  /** The agent's own run: the run loop, with its run's tools, and its user's memory when it has memory. */
  runIn(input: Run.Input, context: Runnable.RunContext): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> {
    return runAgent(this, (definition) => InternalLoop.run(definition, input, context, context.emit))
  }

  /** A paused run of the agent, resumed with decisions (a team resumes its member's this way). */
  override resumeIn(
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    emit: EventStream.Emit | undefined
  ): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> {
    return runAgent(this, (definition) => InternalLoop.resume(definition, state, decisions, emit))
  }
}
Object.assign(AgentImpl.prototype, { [TypeId]: InternalRunnable.variance, kind: "agent", parts: undefined })

// An agent's run, or a paused run's resumption (`loop`), with the run's tools and its user's memory.
const runAgent = (
  agent: Definition,
  loop: (agent: Definition) => Effect.Effect<Run.Output<unknown>, AgentError, unknown>
): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> => {
  if (agent.tools !== undefined) {
    // The run's own tools join the static ones, their handlers provided to this run only.
    return Effect.flatMap(agent.tools, (set) =>
      Effect.provide(
        runAgent({
          ...agent,
          tools: undefined,
          toolkit: agent.toolkit === undefined ? set.toolkit : Toolkit.merge(agent.toolkit, set.toolkit)
        }, loop),
        set.handlers
      ))
  }
  if (agent.memory === undefined) return loop(agent)
  return InternalSession.withAgentMemory(
    agent as Definition & { readonly memory: NonNullable<Definition["memory"]> },
    (definition, services) => Effect.provide(loop(definition), services)
  )
}

const fromDefinition = <A, R>(definition: Definition): Agent<A, R> =>
  new AgentImpl(definition) as unknown as Agent<A, R>

const optionalDuration = (input: Duration.DurationInput | undefined) =>
  input === undefined ? undefined : Duration.decode(input)

// Shared by every agent that does not set them: immutable, and one less allocation per agent.
const noInstructions: ReadonlyArray<string> = []
const noFallback: ReadonlyArray<ModelLayer<unknown>> = []

/**
 * Builds an agent. Nothing runs and nothing is needed until the agent is run.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { Effect } from "effect"
 *
 * const writer = Agent.make({
 *   name: "Writer",
 *   role: "Write clear, engaging content",
 *   instructions: ["Be concise."]
 * })
 *
 * // Effect<Run.Output<string>, AgentError, LanguageModel>
 * const program = Agent.run(writer, "Write about quantum computing")
 * ```
 */
export const make = <
  Tools extends Record<string, Tool.Any> = {},
  A = string,
  RModel = LanguageModel.LanguageModel,
  const Fallback extends ReadonlyArray<ModelLayer<unknown>> = [],
  RInstructions = never,
  ROutput = never,
  RTools = never,
  RApproval = never,
  RGuardrails = never,
  IOutput = A
>(
  config:
    & Omit<Config<Tools, A, RModel, never, RInstructions, ROutput, RTools, RApproval, RGuardrails, IOutput>, "fallback">
    & { readonly fallback?: Fallback | undefined }
): Agent<
  A,
  RModel | FallbackContext<Fallback> | RInstructions | ROutput | ToolContext<Tools> | RTools | RApproval | RGuardrails
> =>
  fromDefinition({
    name: config.name ?? "Agent",
    description: config.description,
    role: config.role,
    instructions: (config.instructions ?? noInstructions) as Instructions<unknown>,
    markdown: config.markdown ?? false,
    toolkit: config.toolkit,
    model: config.model as ModelLayer<unknown> | undefined,
    fallback: (config.fallback ?? noFallback) as ReadonlyArray<ModelLayer<unknown>>,
    output: config.output as Schema.Schema<unknown, unknown, unknown> | undefined,
    outputRepairs: config.outputRepairs ?? 1,
    maxTurns: config.maxTurns ?? 10,
    toolConcurrency: config.toolConcurrency ?? 8,
    timeout: optionalDuration(config.timeout),
    modelTimeout: optionalDuration(config.modelTimeout),
    toolTimeout: optionalDuration(config.toolTimeout),
    retry: config.retry ?? Retry.transient,
    tools: config.tools as Effect.Effect<Toolset, AgentError, unknown> | undefined,
    approvals: approvalRules(config.approval as Readonly<Record<string, ApprovalRule | undefined>> | undefined),
    guardrails: InternalGuardrail.fromList(config.guardrails as ReadonlyArray<Guardrail.Any<unknown>> | undefined)
  })

const approvalRules = (
  rules: Readonly<Record<string, ApprovalRule | undefined>> | undefined
): ReadonlyMap<string, ApprovalRule> | undefined => {
  if (rules === undefined) return undefined
  const map = new Map<string, ApprovalRule>()
  for (const [name, rule] of Object.entries(rules)) if (rule !== undefined && rule !== false) map.set(name, rule)
  return map.size === 0 ? undefined : map
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isAgent = (u: unknown): u is Agent<unknown, unknown> => Predicate.hasProperty(u, TypeId)

const update = <A, R>(self: Agent<A, R>, patch: Partial<Definition>): Agent<A, R> =>
  fromDefinition({ ...self, ...patch })

/**
 * Runs the agent to its final answer (see {@link Runnable.run}). With a `sessionId` (see
 * {@link SessionOptions}) the run is a turn of that session: its last runs go into the prompt, and
 * the run's record is appended when it ends; the effect then needs a `SessionStore` and may fail
 * with a `SessionStoreError`.
 *
 * @since 0.1.0
 * @category running
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { TestModel } from "effect-agents/layers"
 * import { Effect } from "effect"
 *
 * const agent = Agent.make({ name: "Joker" })
 *
 * const program = Effect.gen(function*() {
 *   const response = yield* Agent.run(agent, "Tell me a joke.")
 *   console.log(response.content)
 * }).pipe(Effect.provide(TestModel.layer([TestModel.text("Why did the fiber yield? To let others run.")])))
 * ```
 */
export const run: typeof Runnable.run = Runnable.run

/**
 * Runs the agent as a stream of its events: text as it arrives, tool calls, model calls, retries,
 * and last the completed run (or its failure). A consumer that stops reading interrupts the run.
 *
 * @since 0.1.0
 * @category running
 */
export const stream: typeof Runnable.stream = Runnable.stream

/**
 * Runs the agent and prints the exchange to the terminal: the message, tool calls, the response and
 * its timing. With `stream: true` the response is printed as it arrives. On a terminal the output is
 * styled (and markdown rendered when the agent or the options ask for it); otherwise it is plain text.
 *
 * @since 0.1.0
 * @category running
 */
export const printResponse: typeof Runnable.printResponse = Runnable.printResponse

/**
 * Options of a resumed run: who sees its events, how far it may get ahead of its stream's reader,
 * and the session (and user) it paused in, to resume it as a turn of that session.
 *
 * @since 0.3.0
 * @category models
 */
export interface ResumeOptions extends Runnable.ResumeOptions {}

/**
 * Resumes a paused run (see `Approval`) with decisions on its pending calls: the state is the one the
 * `RunPaused` failure (or event) carried. Approved calls run (once, with edited arguments when the
 * decision gives them), rejected ones go back to the model with the reason, and the run goes on as if
 * it had never paused; with calls still undecided it pauses again. A state that is not this process's
 * (changed, or signed with other keys), was already resumed, or belongs to another agent fails with an
 * `ApprovalError`, as do edited arguments that do not decode; nothing runs then. It resumes for its
 * signed user (a `userId` naming another is `Forged`), in its session if it paused in one.
 *
 * @since 0.3.0
 * @category running
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Effect, Schema } from "effect"
 * import { Agent, Approval } from "effect-agents"
 *
 * const Transfer = Tool.make("transfer", { parameters: { amount: Schema.Number }, success: Schema.String })
 * const Bank = Toolkit.make(Transfer)
 *
 * const teller = Agent.make({
 *   name: "Teller",
 *   toolkit: Bank,
 *   approval: { transfer: ({ amount }) => Effect.succeed(amount > 100) }
 * })
 *
 * const program = Agent.run(teller, "Send 500 to Ada").pipe(
 *   Effect.catchTag("RunPaused", (paused) =>
 *     Agent.resume(teller, paused.state, paused.pending.map((request) => Approval.approve(request))))
 * )
 * ```
 */
export const resume: typeof Runnable.resume = Runnable.resume

/**
 * {@link resume} as a stream of the resumed run's events: the settled calls, the turns after them,
 * and last the completed run, or the next pause (`RunPaused`, then the stream fails with it).
 *
 * @since 0.3.0
 * @category running
 */
export const resumeStream: typeof Runnable.resumeStream = Runnable.resumeStream

/**
 * A copy of the agent with a run timeout.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTimeout: {
  (timeout: Duration.DurationInput): <A, R>(self: Agent<A, R>) => Agent<A, R>
  <A, R>(self: Agent<A, R>, timeout: Duration.DurationInput): Agent<A, R>
} = dual(2, <A, R>(self: Agent<A, R>, timeout: Duration.DurationInput) =>
  update(self, { timeout: Duration.decode(timeout) }))

/**
 * A copy of the agent with a timeout for each model call.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withModelTimeout: {
  (timeout: Duration.DurationInput): <A, R>(self: Agent<A, R>) => Agent<A, R>
  <A, R>(self: Agent<A, R>, timeout: Duration.DurationInput): Agent<A, R>
} = dual(2, <A, R>(self: Agent<A, R>, timeout: Duration.DurationInput) =>
  update(self, { modelTimeout: Duration.decode(timeout) }))

/**
 * A copy of the agent with another retry policy for its model calls.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withRetry: {
  (policy: Retry.Policy): <A, R>(self: Agent<A, R>) => Agent<A, R>
  <A, R>(self: Agent<A, R>, policy: Retry.Policy): Agent<A, R>
} = dual(2, <A, R>(self: Agent<A, R>, policy: Retry.Policy) => update(self, { retry: policy }))

/**
 * A copy of the agent on another model. Its requirements become the new model's.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withModel: {
  <RM>(model: ModelLayer<RM>): <A, R>(self: Agent<A, R>) => Agent<A, Exclude<R, LanguageModel.LanguageModel> | RM>
  <A, R, RM>(self: Agent<A, R>, model: ModelLayer<RM>): Agent<A, Exclude<R, LanguageModel.LanguageModel> | RM>
} = dual(2, <A, R, RM>(self: Agent<A, R>, model: ModelLayer<RM>) =>
  update(self, { model: model as ModelLayer<unknown> }) as Agent<A, any>)

/**
 * A copy of the agent with fallback models, tried in order when a model call fails for good.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withFallback: {
  <const Fallback extends ReadonlyArray<ModelLayer<unknown>>>(
    models: Fallback
  ): <A, R>(self: Agent<A, R>) => Agent<A, R | FallbackContext<Fallback>>
  <A, R, const Fallback extends ReadonlyArray<ModelLayer<unknown>>>(
    self: Agent<A, R>,
    models: Fallback
  ): Agent<A, R | FallbackContext<Fallback>>
} = dual(2, <A, R>(self: Agent<A, R>, models: ReadonlyArray<ModelLayer<unknown>>) =>
  update(self, { fallback: models }) as Agent<A, any>)

/**
 * What an agent with memory does with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /** Put the user's remembered facts in the instructions. Default `true`. */
  readonly instructions?: boolean | undefined
  /** Offer the model the memory tools (`remember`, `update_memory`, `forget`). Default `true`. */
  readonly tools?: boolean | undefined
}

/**
 * A copy of the agent that remembers facts about its users across sessions: their facts go into its
 * instructions, and the model can remember, update and forget facts with the memory tools. The
 * agent then needs the `UserMemory` of the user it runs for, which a run with a `userId` provides
 * from a `Memory` store.
 *
 * @since 0.1.0
 * @category combinators
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 *
 * const assistant = Agent.make({ name: "Assistant" }).pipe(Agent.withMemory())
 *
 * // Effect<Run.Output<string>, AgentError, LanguageModel | Memory>: AgentError covers a MemoryError
 * const program = Agent.run(assistant, "I prefer metric units.", { userId: "ada" })
 * ```
 */
export const withMemory: {
  (options?: MemoryOptions): <A, R>(self: Agent<A, R>) => Agent<A, R | Memory.UserMemory>
  <A, R>(self: Agent<A, R>, options?: MemoryOptions): Agent<A, R | Memory.UserMemory>
} = dual((args) => isAgent(args[0]), <A, R>(self: Agent<A, R>, options?: MemoryOptions) => {
  const memory = { instructions: options?.instructions ?? true, tools: options?.tools ?? true }
  return update(self, {
    memory,
    toolkit: memory.tools ? Toolkit.merge(self.toolkit ?? Toolkit.empty, Memory.MemoryTools) : self.toolkit
  }) as Agent<A, R | Memory.UserMemory>
})

/**
 * An agent ready to run, with its requirements already provided: what an application gets when it
 * asks for an agent by its tag.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service<A = string> extends Runnable.Service<A> {}

/**
 * The options of a plain {@link Service}: it has no store, so a session is a compile error there.
 *
 * @since 0.1.0
 * @category models
 */
export interface NoSession extends Runnable.NoSession {}

/**
 * The options of a {@link SessionService} run: it always runs in a session of a user.
 *
 * @since 0.1.0
 * @category models
 */
export interface SessionRunOptions extends Runnable.SessionRunOptions {}

/**
 * An agent ready to run in sessions, its store (and memory) already provided.
 *
 * @since 0.1.0
 * @category services
 */
export interface SessionService<A = string> extends Runnable.SessionService<A> {}

/**
 * The agent as a {@link Service}, bound to the current context.
 *
 * @since 0.1.0
 * @category services
 */
export const toService: <A, R>(self: Agent<A, R>) => Effect.Effect<Service<A>, never, R> = Runnable.toService

/**
 * Provides an agent as a service under a tag, so an application can `yield*` it and a test can
 * provide another. When the tag's service is a {@link SessionService}, the layer also needs the
 * session store (and the memory store, for an agent with memory).
 *
 * @since 0.1.0
 * @category services
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { Context, Effect } from "effect"
 *
 * class Researcher extends Context.Tag("app/Researcher")<Researcher, Agent.Service>() {}
 *
 * const ResearcherLive = Agent.layer(Researcher, Agent.make({ name: "Researcher" }))
 *
 * const program = Effect.gen(function*() {
 *   const researcher = yield* Researcher
 *   const answer = yield* researcher.run("Find the latest AI trends")
 *   return answer.content
 * })
 * ```
 */
export const layer: typeof Runnable.layer = Runnable.layer
