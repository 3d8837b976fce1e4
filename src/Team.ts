/**
 * A team: a leader model and members (agents or other teams), run to one answer.
 *
 * A team has the face of an agent: it is an immutable value built with `make`, run with `run`,
 * `stream` or `printResponse`, and provided as a service with `layer`. How the leader works with its
 * members is the team's `mode`:
 *
 * - `"coordinate"` (the default): the leader hands tasks to members through a tool, as many at once
 *   as it likes (run concurrently, at most `memberConcurrency` at a time), then answers from what they
 *   found.
 * - `"route"`: the leader picks the one member best suited to the message, and that member's answer
 *   is the team's answer (typed as the members' answers are).
 * - `"broadcast"`: every member answers the message, concurrently; the leader brings their answers
 *   together.
 *
 * Each member run has its own history: a member sees only the task it is given. A member's typed
 * failure goes back to the leader, which may ask another member; a defect fails the team's run.
 * Interrupting a team interrupts every member run under it.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Agent from "./Agent.js"
import type { ModelLayer } from "./Agent.js"
import type { AgentError } from "./AgentError.js"
import type * as Approval from "./Approval.js"
import type { Definition, Instructions } from "./internal/definition.js"
import * as EventStream from "./internal/eventStream.js"
import * as InternalRunnable from "./internal/runnable.js"
import * as InternalTeam from "./internal/team.js"
import * as InternalTeamOutput from "./internal/teamOutput.js"
import * as InternalTeamResume from "./internal/teamResume.js"
import * as Printer from "./Printer.js"
import * as Retry from "./Retry.js"
import type * as Run from "./Run.js"
import type * as RunEvent from "./RunEvent.js"
import * as Runnable from "./Runnable.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: typeof InternalTeam.TypeId = InternalTeam.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * How the leader works with its members: `"coordinate"` (delegates tasks through a tool, then
 * answers), `"route"` (picks one member, whose answer is the team's) or `"broadcast"` (every member
 * answers, then the leader brings the answers together).
 *
 * @since 0.1.0
 * @category models
 */
export type Mode = InternalTeam.Mode

/**
 * A team whose answer has type `A` and whose runs need the services `R` (the leader's and every
 * member's).
 *
 * @since 0.1.0
 * @category models
 */
export interface Team<out A = string, out R = never> extends InternalTeam.TeamDefinition, Runnable.Runnable<A, R> {
  readonly [TypeId]: {
    readonly _A: (_: never) => A
    readonly _R: (_: never) => R
  }
  readonly kind: "team"
}

/**
 * What a team can have as a member: an agent, another team, or any runnable.
 *
 * @since 0.1.0
 * @category models
 */
export type Member = Runnable.Runnable<unknown, unknown>

/**
 * What `make` accepts as a member: any runnable. It names no type parameter, so that an agent built
 * inline (`members: [Agent.make({...})]`) infers its own types.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberLike = { readonly name: string; readonly [Runnable.TypeId]: unknown }

/**
 * The type of a member's answer.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberAnswer<M> = M extends Runnable.Runnable<infer A, infer _R> ? A : never

/**
 * The services a member's runs need.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberContext<M> = M extends Runnable.Runnable<infer _A, infer R> ? R : never

/**
 * A member run of a team run: what the member was asked, and its output or its typed error.
 * `toolCallId` is the leader's delegation call (coordinate mode). A member that is a team has a
 * team {@link Output} as its output.
 *
 * @since 0.1.0
 * @category models
 */
export type MemberRun = InternalTeamOutput.MemberRun

/**
 * The schema of {@link MemberRun}.
 *
 * @since 0.1.0
 * @category schemas
 */
export const MemberRun: Schema.Schema<MemberRun, InternalTeamOutput.MemberRunEncoded> = InternalTeamOutput.MemberRun

/**
 * The output of a team run: the answer (`content`, `text`), the leader's conversation (`messages`,
 * `toolCalls`), every member run in the order they started (`memberRuns`), and metrics that add
 * up: `metrics` are the team's totals — the leader's (`leaderMetrics`) plus each finished member
 * run's (`memberMetrics`, by member) — except `duration`, which is the team run's own. A member run
 * that failed counts in none of them, having no output.
 *
 * @since 0.1.0
 * @category models
 */
export interface Output<A = string> extends InternalTeamOutput.Output<A> {}

/**
 * The schema of {@link Output}, with `content` of any type, for encoding a team's output as JSON.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Output: Schema.Schema<Output<unknown>, InternalTeamOutput.OutputEncoded> = InternalTeamOutput.Output

/**
 * Whether a run's output is a team's (a team's members answer with it too).
 *
 * @since 0.1.0
 * @category guards
 */
export const isOutput = <A>(output: Run.Output<A>): output is Output<A> =>
  InternalTeamOutput.isOutput(output as Run.Output<unknown>)

/**
 * How a team is configured. Only what differs from the defaults needs saying.
 *
 * @since 0.1.0
 * @category models
 */
export interface Config<
  Members extends ReadonlyArray<MemberLike>,
  M extends Mode,
  Tools extends Record<string, Tool.Any>,
  A,
  I,
  RModel,
  RFallback,
  RInstructions,
  ROutput
> {
  /** Shown in events, traces and output. Default `"Team"`. */
  readonly name?: string | undefined
  /** What the team is; the first line of the leader's instructions. */
  readonly description?: string | undefined
  /** The team's role, for the leader and for a team that has this team as a member. */
  readonly role?: string | undefined
  /** The members: agents and teams. Their names tell them apart; a repeated name gets a number. */
  readonly members: Members
  /** How the leader works with its members. Default `"coordinate"`. */
  readonly mode?: M | undefined
  /** The leader's instructions: a string, several, or an Effect that produces them. */
  readonly instructions?: Instructions<RInstructions> | undefined
  /** Ask the leader to answer in markdown, and render it in `printResponse`. */
  readonly markdown?: boolean | undefined
  /** The leader's model, as a layer. Without it, the `LanguageModel` in context. */
  readonly model?: ModelLayer<RModel> | undefined
  /** Models the leader tries, in order, when a call to its model still fails after its retries. */
  readonly fallback?: ReadonlyArray<ModelLayer<RFallback>> | undefined
  /** Tools of the leader's own, beside delegation: an `@effect/ai` `Toolkit`, handlers from a layer. */
  readonly toolkit?: Toolkit.Toolkit<Tools> | undefined
  /** A schema for the leader's final answer (coordinate and broadcast modes). */
  readonly output?: Schema.Schema<A, I, ROutput> | undefined
  /** How many times the leader is asked again when its answer does not decode. Default 1 (route: 2). */
  readonly outputRepairs?: number | undefined
  /** The most model calls one leader run may make. Default 10. */
  readonly maxTurns?: number | undefined
  /** How many member runs (and other tool calls of the leader) run at once. Default 8. */
  readonly memberConcurrency?: number | "unbounded" | undefined
  /**
   * The most member runs the leader may start in one team run (coordinate: delegations past it are
   * refused and the leader is told; route: choices after a failed member). Default 10.
   */
  readonly maxDelegations?: number | undefined
  /** The longest a whole team run may take, member runs included. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The longest one call to the leader's model may take. */
  readonly modelTimeout?: Duration.DurationInput | undefined
  /** The retry policy of each call to the leader's model. Default {@link Retry.transient}. */
  readonly retry?: Retry.Policy | undefined
}

/**
 * Options of one team run (`history` is the leader's; members always start afresh).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends Runnable.RunOptions {}

/**
 * The answer type of a team: in route mode a member's answer, else the leader's.
 *
 * @since 0.1.0
 * @category models
 */
export type Answer<M extends Mode, Members extends ReadonlyArray<unknown>, A> = [M] extends ["route"]
  ? MemberAnswer<Members[number]>
  : A

// One constructor, with every field in the same order, as an agent's.
type Mutable<T> = { -readonly [K in keyof T]: T[K] }
interface TeamImpl extends Mutable<InternalTeam.TeamDefinition> {}
class TeamImpl extends Runnable.Base {
  constructor(definition: InternalTeam.TeamDefinition) {
    super()
    this.name = definition.name
    this.description = definition.description
    this.role = definition.role
    this.mode = definition.mode
    this.markdown = definition.markdown
    this.members = definition.members
    this.memberConcurrency = definition.memberConcurrency
    this.maxDelegations = definition.maxDelegations
    this.timeout = definition.timeout
    this.leader = definition.leader
  }

  get parts(): ReadonlyArray<InternalTeam.Member> {
    return this.members
  }

  /** The team's own run: the leader and its members, for the run's user. */
  runIn(input: Run.Input, context: Runnable.RunContext): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> {
    return InternalTeam.run(this, input, context, context.emit)
  }

  /** A paused run of the team, resumed with decisions (a team resumes its member's this way). */
  override resumeIn(
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    emit: EventStream.Emit | undefined
  ): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> {
    return InternalTeamResume.resume(this, state, decisions, emit)
  }
}
Object.assign(TeamImpl.prototype, { [TypeId]: InternalRunnable.variance, kind: "team" })

const fromDefinition = <A, R>(definition: InternalTeam.TeamDefinition): Team<A, R> =>
  new TeamImpl(definition) as unknown as Team<A, R>

/**
 * Builds a team. Nothing runs and nothing is needed until the team is run.
 *
 * @since 0.1.0
 * @category constructors
 * @example
 * ```ts
 * import { Agent, Team } from "effect-agents"
 *
 * const searcher = Agent.make({ name: "Web Searcher", role: "Search the web for information" })
 * const analyst = Agent.make({ name: "Analyst", role: "Analyze and synthesize information" })
 *
 * const researchTeam = Team.make({ name: "Research Team", members: [searcher, analyst], markdown: true })
 *
 * // Effect<Team.Output<string>, AgentError, LanguageModel>
 * const program = Team.run(researchTeam, "What are the latest developments in quantum computing?")
 * ```
 */
export const make = <
  const Members extends ReadonlyArray<MemberLike>,
  M extends Mode = "coordinate",
  Tools extends Record<string, Tool.Any> = {},
  A = string,
  I = string,
  RModel = LanguageModel.LanguageModel,
  const Fallback extends ReadonlyArray<ModelLayer<unknown>> = [],
  RInstructions = never,
  ROutput = never
>(
  config:
    & Omit<Config<Members, M, Tools, A, I, RModel, never, RInstructions, ROutput>, "fallback">
    & { readonly fallback?: Fallback | undefined }
    // A routed team's answer is its member's: there is no answer of the leader's to decode.
    & ([M] extends ["route"] ? { readonly output?: undefined } : unknown)
): Team<
  Answer<M, Members, A>,
  | RModel
  | Agent.FallbackContext<Fallback>
  | RInstructions
  | ROutput
  | Agent.ToolContext<Tools>
  | MemberContext<Members[number]>
> => {
  const mode: Mode = config.mode ?? "coordinate"
  const memberConcurrency = config.memberConcurrency ?? 8
  const members = InternalTeam.members(config.members as unknown as ReadonlyArray<Member>)
  const base: Definition = {
    name: config.name ?? "Team",
    description: config.description,
    role: config.role,
    instructions: (config.instructions ?? []) as Instructions<unknown>,
    markdown: config.markdown ?? false,
    toolkit: config.toolkit,
    model: config.model as ModelLayer<unknown> | undefined,
    fallback: (config.fallback ?? []) as ReadonlyArray<ModelLayer<unknown>>,
    output: config.output as Schema.Schema<unknown, unknown, unknown> | undefined,
    outputRepairs: config.outputRepairs ?? (mode === "route" ? 2 : 1),
    maxTurns: config.maxTurns ?? 10,
    toolConcurrency: memberConcurrency,
    timeout: undefined,
    modelTimeout: config.modelTimeout === undefined ? undefined : Duration.decode(config.modelTimeout),
    toolTimeout: undefined,
    retry: config.retry ?? Retry.transient,
    tools: undefined
  }
  return fromDefinition({
    name: base.name,
    description: base.description,
    role: base.role,
    mode,
    markdown: base.markdown,
    members,
    memberConcurrency,
    maxDelegations: config.maxDelegations ?? 10,
    timeout: config.timeout === undefined ? undefined : Duration.decode(config.timeout),
    leader: InternalTeam.leader(base, mode, members)
  })
}

/**
 * @since 0.1.0
 * @category guards
 */
export const isTeam = (u: unknown): u is Team<unknown, unknown> => Predicate.hasProperty(u, TypeId)

/**
 * Runs the team to its final answer.
 *
 * @since 0.1.0
 * @category running
 * @example
 * ```ts
 * import { Agent, Team } from "effect-agents"
 * import { TestModel } from "effect-agents/layers"
 * import { Effect } from "effect"
 *
 * const team = Team.make({ name: "Desk", mode: "broadcast", members: [Agent.make({ name: "Writer" })] })
 *
 * const program = Effect.gen(function*() {
 *   const response = yield* Team.run(team, "Write a haiku.")
 *   console.log(response.content, response.memberRuns.length, response.metrics.totalTokens)
 * }).pipe(Effect.provide(TestModel.layer((request) => TestModel.text(`Answer to: ${request.lastUserText}`))))
 * ```
 */
export const run: {
  <O extends RunOptions & Runnable.SessionOptions = {}>(
    input: Run.Input,
    options?: Runnable.Exact<O, RunOptions & Runnable.SessionOptions>
  ): <A, R>(self: Team<A, R>) => Effect.Effect<Output<A>, Runnable.Errors<R, O>, Runnable.Requirements<R, O>>
  <A, R, O extends RunOptions & Runnable.SessionOptions = {}>(
    self: Team<A, R>,
    input: Run.Input,
    options?: Runnable.Exact<O, RunOptions & Runnable.SessionOptions>
  ): Effect.Effect<Output<A>, Runnable.Errors<R, O>, Runnable.Requirements<R, O>>
} = Runnable.run as any

/**
 * Runs the team as a stream of its events: the leader's (text as it arrives, tool calls, model
 * calls, retries), each member run's start and end, and every event of every member run nested in a
 * `MemberEvent` (twice for a member of a member team), and last the completed run. A consumer that
 * stops reading interrupts the team run and every member run.
 *
 * @since 0.1.0
 * @category running
 */
export const stream: typeof Runnable.stream = Runnable.stream

/**
 * Resumes a paused team run (see `Agent.resume`): its member that waits gets the decisions, named
 * by the paths of the `RunPaused` requests (`Approval.approve(request)` keeps the path), and the
 * team goes on as if it had never paused. In route mode a member's pause pauses the team; in
 * coordinate mode the leader's delegation to it waits (the turn's other delegations finish) and the
 * leader goes on with the member's answer; in broadcast mode the team pauses with every member that
 * waits, each resumes with its own decisions, and the leader answers once none waits. The decisions
 * are checked (by the leader and the members they are for) before the team's pause is spent, so a
 * refused one leaves it waiting for a corrected one. The team resumes for the user its signed state
 * carries; a `userId` naming another is refused (see `Runnable.ResumeOptions`).
 *
 * @since 0.3.0
 * @category running
 */
export const resume: {
  <O extends Runnable.ResumeOptions = {}>(
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    options?: Runnable.Exact<O, Runnable.ResumeOptions>
  ): <A, R>(self: Team<A, R>) => Effect.Effect<Output<A>, Runnable.Errors<R, O>, Runnable.Requirements<R, O>>
  <A, R, O extends Runnable.ResumeOptions = {}>(
    self: Team<A, R>,
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    options?: Runnable.Exact<O, Runnable.ResumeOptions>
  ): Effect.Effect<Output<A>, Runnable.Errors<R, O>, Runnable.Requirements<R, O>>
  // The protocol's resume, which runs the team's `resumeIn`: its output is the team's.
} = Runnable.resume as any

/**
 * {@link resume} as a stream of the resumed run's events.
 *
 * @since 0.3.0
 * @category running
 */
export const resumeStream: typeof Runnable.resumeStream = Runnable.resumeStream

/**
 * Runs the team and prints the exchange to the terminal, as `Agent.printResponse` does. With
 * `showMemberResponses: true`, each member's answer is printed too, under the member's name.
 *
 * @since 0.1.0
 * @category running
 */
export const printResponse: {
  <O extends Printer.Options & RunOptions & Runnable.SessionOptions = {}>(
    input: Run.Input,
    options?: Runnable.Exact<O, Printer.Options & RunOptions & Runnable.SessionOptions>
  ): <A, R>(self: Team<A, R>) => Effect.Effect<Output<A>, Runnable.Errors<R, O>, Runnable.Requirements<R, O>>
  <A, R, O extends Printer.Options & RunOptions & Runnable.SessionOptions = {}>(
    self: Team<A, R>,
    input: Run.Input,
    options?: Runnable.Exact<O, Printer.Options & RunOptions & Runnable.SessionOptions>
  ): Effect.Effect<Output<A>, Runnable.Errors<R, O>, Runnable.Requirements<R, O>>
} = Runnable.printResponse as any

const update = <A, R>(self: Team<A, R>, patch: Partial<InternalTeam.TeamDefinition>): Team<A, R> =>
  fromDefinition({ ...self, ...patch })

/**
 * A copy of the team with a timeout for its whole run, member runs included.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTimeout: {
  (timeout: Duration.DurationInput): <A, R>(self: Team<A, R>) => Team<A, R>
  <A, R>(self: Team<A, R>, timeout: Duration.DurationInput): Team<A, R>
} = dual(2, <A, R>(self: Team<A, R>, timeout: Duration.DurationInput) =>
  update(self, { timeout: Duration.decode(timeout) }))

/**
 * A copy of the team with another bound on how many member runs run at once.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withMemberConcurrency: {
  (concurrency: number | "unbounded"): <A, R>(self: Team<A, R>) => Team<A, R>
  <A, R>(self: Team<A, R>, concurrency: number | "unbounded"): Team<A, R>
} = dual(2, <A, R>(self: Team<A, R>, concurrency: number | "unbounded") =>
  update(self, { memberConcurrency: concurrency, leader: { ...self.leader, toolConcurrency: concurrency } }))

/**
 * A team ready to run, with its requirements already provided. Its `run` gives a team
 * {@link Output}, which is a `Run.Output`, so a `Team.Service<A>` is also an `Agent.Service<A>`.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service<A = string> {
  readonly name: string
  readonly run: (input: Run.Input, options?: RunOptions) => Effect.Effect<Output<A>, AgentError>
  readonly stream: (input: Run.Input, options?: RunOptions) => Stream.Stream<RunEvent.RunEvent<A>, AgentError>
}

/**
 * The team as a {@link Service}, bound to the current context.
 *
 * @since 0.1.0
 * @category services
 */
export const toService = <A, R>(self: Team<A, R>): Effect.Effect<Service<A>, never, R> =>
  Runnable.toService(self) as Effect.Effect<Service<A>, never, R>

/**
 * Provides a team as a service under a tag, so an application can `yield*` it and a test can
 * provide another. The tag may be a `Team.Service` or an `Agent.Service`: code that runs an agent by
 * tag can be given a team. When the tag's service is an `Agent.SessionService`, the team runs in
 * sessions, and the layer also needs the session store (and the memory store, for members with
 * memory).
 *
 * @since 0.1.0
 * @category services
 * @example
 * ```ts
 * import { Agent, Team } from "effect-agents"
 * import { Context, Effect } from "effect"
 *
 * class Research extends Context.Tag("app/Research")<Research, Team.Service>() {}
 *
 * const ResearchLive = Team.layer(Research, Team.make({
 *   name: "Research Team",
 *   members: [Agent.make({ name: "Web Searcher" }), Agent.make({ name: "Analyst" })]
 * }))
 *
 * const program = Effect.gen(function*() {
 *   const research = yield* Research
 *   const answer = yield* research.run("What is new in quantum computing?")
 *   return answer.content
 * })
 * ```
 */
export const layer: {
  <Id, A, R>(
    tag: Context.Tag<Id, Agent.SessionService<A>>,
    team: Team<A, R>
  ): Layer.Layer<Id, never, Exclude<Runnable.Requirements<R, Runnable.SessionRunOptions>, Scope.Scope>>
  <Id, A, R>(
    tag: Context.Tag<Id, Service<A>> | Context.Tag<Id, Agent.Service<A>>,
    team: Team<A, R>
  ): Layer.Layer<Id, never, Exclude<R, Scope.Scope>>
} = Runnable.layer as any
