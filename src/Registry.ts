/**
 * A registry: the agents, teams and other runnables an application serves, by name, each with its
 * requirements already provided. The HTTP app and the command line look agents up here, so they run any agent or
 * team without knowing its type, and a test can provide a registry of its own.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as SessionStore from "../services/SessionStore.js"
import type { AgentError } from "./AgentError.js"
import type * as Approval from "./Approval.js"
import type * as Run from "./Run.js"
import type * as RunEvent from "./RunEvent.js"
import * as Runnable from "./Runnable.js"

/**
 * What kind of runnable an entry is: `agent`, `team`, or the kind a runnable of one's own gives.
 *
 * @since 0.1.0
 * @category models
 */
export const Kind = Schema.String

/**
 * @since 0.1.0
 * @category models
 */
export type Kind = typeof Kind.Type

/**
 * How an entry describes itself, as the HTTP app lists it.
 *
 * @since 0.1.0
 * @category models
 */
export const Description = Schema.Struct({
  name: Schema.String,
  kind: Kind,
  description: Schema.optional(Schema.String),
  members: Schema.optional(Schema.Array(Schema.String))
})

/**
 * @since 0.1.0
 * @category models
 */
export interface Description extends Schema.Schema.Type<typeof Description> {}

/**
 * The options of a run through the registry: a session and a user are optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends Runnable.RunOptions, Runnable.SessionOptions {}

/**
 * How a run through the registry can fail: its `AgentError` (a user's memory included) and its
 * session store's error.
 *
 * @since 0.1.0
 * @category models
 */
export type Error = AgentError | SessionStore.SessionStoreError

/**
 * An agent or team ready to run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry extends Description {
  readonly run: (input: Run.Input, options?: RunOptions) => Effect.Effect<Run.Output<unknown>, Error>
  readonly stream: (input: Run.Input, options?: RunOptions) => Stream.Stream<RunEvent.RunEvent, Error>
  /**
   * Resumes a paused run of this entry with decisions (see `Approval`): every runnable's, through
   * the protocol (a kind that cannot pause fails with an `ApprovalError`). A run that paused in a
   * session resumes in it with its `sessionId` and `userId` (see `Runnable.resume`). Optional for
   * entries made by hand.
   */
  readonly resume?: ((
    state: Approval.State,
    decisions: ReadonlyArray<Approval.Decision>,
    options?: {
      readonly onEvent?: RunOptions["onEvent"]
      readonly sessionId?: string | undefined
      readonly userId?: string | undefined
    }
  ) => Effect.Effect<Run.Output<unknown>, Error>) | undefined
}

/**
 * The registry's service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The entries, in the order they were given. */
  readonly entries: ReadonlyArray<Entry>
  readonly get: (name: string) => Option.Option<Entry>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Registry extends Context.Tag("effect-agents/Registry")<Registry, Service>() {}

/**
 * What the registry can hold: any runnable (agents, teams, runnables of one's own). A registry's
 * requirements are read from each member's own type (see {@link Requirements}), never from this one.
 *
 * @since 0.1.0
 * @category models
 */
export type Member = Runnable.Runnable<unknown, unknown>

type MemberContext<M> = M extends Runnable.Runnable<infer _A, infer R> ? R : never

/**
 * What a registry of the members `M` needs: their requirements, run in sessions (so a
 * `SessionStore`, and a `Memory` store when an agent uses memory).
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements<M extends ReadonlyArray<Member>> = Exclude<
  Runnable.Requirements<MemberContext<M[number]>, Runnable.SessionRunOptions>,
  Scope.Scope
>

/**
 * Thrown (as a defect, when the layer is built) for two entries with one name.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateName extends Schema.TaggedError<DuplicateName>("effect-agents/DuplicateName")("DuplicateName", {
  name: Schema.String
}) {
  override get message() {
    return `Two agents or teams are named "${this.name}"; names must be unique in a registry.`
  }
}

const describe = (member: Member): Description => ({
  name: member.name,
  kind: member.kind,
  ...(member.description === undefined ? {} : { description: member.description }),
  ...(member.parts === undefined ? {} : { members: member.parts.map((part) => part.name) })
})

const bind = (member: Member, context: Context.Context<unknown>): Entry => {
  const bound = Runnable.bind(member, context)
  // Every runnable resumes through the protocol; one that cannot pause answers with an ApprovalError.
  const resume: NonNullable<Entry["resume"]> = (state, decisions, options) =>
    Effect.provide(
      Runnable.resume(member, state, decisions, options ?? {}),
      context as Context.Context<never>
    ) as Effect.Effect<
      Run.Output<unknown>,
      Error
    >
  return { ...describe(member), run: bound.run, stream: bound.stream, resume } as Entry
}

/**
 * Builds a registry from entries already bound (a test can hand-make them).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEntries = (entries: ReadonlyArray<Entry>): Service => {
  const byName = new Map<string, Entry>()
  for (const entry of entries) {
    if (byName.has(entry.name)) throw new DuplicateName({ name: entry.name })
    byName.set(entry.name, entry)
  }
  return { entries, get: (name) => Option.fromNullable(byName.get(name)) }
}

/**
 * The registry of the given agents and teams, bound to the context the layer is built in: the
 * layer needs what they need to run in sessions. Two members with one name are a defect when the
 * layer is built.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Agent, Registry } from "effect-agents"
 * import { SessionStoreMemory, TestModel } from "effect-agents/layers"
 * import { Layer } from "effect"
 *
 * const RegistryLive = Registry.layer([Agent.make({ name: "Writer" })]).pipe(
 *   Layer.provide([TestModel.layer([TestModel.text("Hi")]), SessionStoreMemory.layer])
 * )
 * ```
 */
export const layer = <const M extends ReadonlyArray<Member>>(
  // A variadic tuple, not `M` itself: with `M`, a member made inline (`[Agent.make({...})]`) would
  // take `Member` as the type its constructor returns, and infer its requirements as `unknown`.
  members: readonly [...M]
): Layer.Layer<Registry, never, Requirements<M>> =>
  Layer.effect(
    Registry,
    Effect.map(Effect.context<unknown>(), (context) => fromEntries(members.map((member) => bind(member, context))))
  ) as Layer.Layer<Registry, never, any>
