/**
 * Human approval of tool calls, and the runs that wait for it.
 *
 * A tool can require approval: always, or when a predicate over its decoded arguments (which may
 * read the run's services, a user's role) says so. When the model calls it, the run does not run
 * it: it reports an `ApprovalRequested` event, runs the other calls of the turn that need no
 * approval, reports `RunPaused` and fails with the typed `RunPaused` error, which carries the
 * pending {@link Request}s and the run's {@link State}. The state is a plain value with a schema
 * (it can be stored and sent), signed with the {@link Keys} of the process. Resuming
 * (`Agent.resume`, `Team.resume`, or `Runnable.resume` for any runnable) takes that state and the
 * {@link Decision}s and goes on as if the run had never paused: an approved call runs once (with
 * edited arguments, when the decision gives them), a rejected one goes back to the model as the
 * tool's result, with the reason; a call that already ran is not run again.
 *
 * Why a failure and not a second kind of success: a run that may pause still answers with a
 * `Run.Output<A>` when it finishes, so every caller keeps its types; a paused run is something the
 * caller must act on, which in Effect is what the error channel says (`Effect.catchTag("RunPaused")`),
 * and it crosses HTTP and SSE like the other errors of a run.
 *
 * @since 0.3.0
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Run from "./Run.js"

/**
 * A tool call that waits for a person's decision. `path` names the team members from the top run
 * down to the agent that asked (empty when the agent is the top run); `token` identifies this
 * request of this pause.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Request = Schema.Struct({
  toolCallId: Schema.String,
  tool: Schema.String,
  arguments: Schema.Unknown,
  path: Schema.Array(Schema.String),
  token: Schema.String,
  /** `input`: the call is a question to a person (see {@link input}), answered with {@link answer}. */
  kind: Schema.optional(Schema.Literal("approval", "input"))
})

/**
 * @since 0.3.0
 * @category models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

/**
 * Run the call; with `arguments`, run it with these instead of the model's (encoded as the model
 * would send them, decoded with the tool's schema).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Approve = Schema.TaggedStruct("Approve", {
  toolCallId: Schema.String,
  path: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  arguments: Schema.optional(Schema.Unknown)
})

/**
 * Do not run the call: the model is told it was rejected, with the reason, as the tool's result.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Reject = Schema.TaggedStruct("Reject", {
  toolCallId: Schema.String,
  path: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  reason: Schema.String
})

/**
 * The answer to a question a tool asked (a request of kind `input`): the tool's result, encoded as
 * the tool's success schema encodes it (and decoded with it).
 *
 * @since 0.3.0
 * @category schemas
 */
export const Answer = Schema.TaggedStruct("Answer", {
  toolCallId: Schema.String,
  path: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  value: Schema.Unknown
})

/**
 * A person's decision on one {@link Request}.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Decision = Schema.Union(Approve, Reject, Answer)

/**
 * @since 0.3.0
 * @category models
 */
export type Decision = typeof Decision.Type

type RequestRef = string | { readonly toolCallId: string; readonly path?: ReadonlyArray<string> | undefined }

const refOf = (request: RequestRef) =>
  typeof request === "string" ? { toolCallId: request, path: [] } : { toolCallId: request.toolCallId, path: request.path ?? [] }

/**
 * Approves a request (or the call with this id, in the top run), optionally with edited arguments.
 *
 * @since 0.3.0
 * @category constructors
 */
export const approve = (request: RequestRef, options?: { readonly arguments?: unknown }): Decision =>
  options !== undefined && "arguments" in options
    ? { _tag: "Approve", ...refOf(request), arguments: options.arguments }
    : { _tag: "Approve", ...refOf(request) }

/**
 * Rejects a request (or the call with this id, in the top run), with the reason the model is given.
 *
 * @since 0.3.0
 * @category constructors
 */
export const reject = (request: RequestRef, reason: string): Decision => ({ _tag: "Reject", ...refOf(request), reason })

/**
 * Answers a tool's question (a request of kind `input`) with `value`, the tool's result.
 *
 * @since 0.3.0
 * @category constructors
 */
export const answer = (request: RequestRef, value: unknown): Decision => ({ _tag: "Answer", ...refOf(request), value })

/**
 * A tool call of the paused turn, as the model asked for it.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Call = Schema.Struct({ id: Schema.String, name: Schema.String, params: Schema.Unknown })

/**
 * A call of the paused turn whose own run paused inside it (a team member's, behind the leader's
 * delegation): its requests are under `name` in the paths, and `inner` is that run's state, encoded.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Nested = Schema.Struct({
  toolCallId: Schema.String,
  name: Schema.String,
  runId: Schema.String,
  inner: Schema.Unknown
})

/**
 * @since 0.3.0
 * @category models
 */
export interface Nested extends Schema.Schema.Type<typeof Nested> {}

/**
 * The run of an agent at a pause: its conversation, what it has spent, the calls of the turn that
 * paused (in the model's order) and those of them still waiting.
 *
 * @since 0.3.0
 * @category schemas
 */
export const AgentState = Schema.TaggedStruct("Agent", {
  agent: Schema.String,
  runId: Schema.String,
  /** The pause: resuming spends it, so the same state resumes once. */
  token: Schema.String,
  turn: Schema.Number,
  messages: Schema.Array(Prompt.Message),
  /** The tool calls of earlier turns. */
  toolCalls: Schema.Array(Run.ToolCall),
  /** The calls of the turn that paused, in the model's order, and those of them already settled. */
  calls: Schema.Array(Call),
  settled: Schema.Array(Run.ToolCall),
  pending: Schema.Array(Request),
  usage: Run.Usage,
  retries: Schema.Number,
  repairs: Schema.Number,
  /** How long the run had run, in milliseconds, and when its first token came. */
  elapsed: Schema.Number,
  firstToken: Schema.optional(Schema.Number),
  nested: Schema.optional(Schema.Array(Nested))
})

/**
 * The run of a team in coordinate mode at a pause: its leader's, paused on delegations whose members
 * wait, and what the team had done (its members' runs, encoded).
 *
 * @since 0.3.0
 * @category schemas
 */
export const CoordinateState = Schema.TaggedStruct("Coordinate", {
  team: Schema.String,
  runId: Schema.String,
  token: Schema.String,
  memberRuns: Schema.Array(Schema.Unknown),
  delegations: Schema.Number,
  elapsed: Schema.Number,
  leader: AgentState
})

/**
 * @since 0.3.0
 * @category models
 */
export interface CoordinateState extends Schema.Schema.Type<typeof CoordinateState> {}

/**
 * @since 0.3.0
 * @category models
 */
export interface AgentState extends Schema.Schema.Type<typeof AgentState> {}

/**
 * A member of a broadcast team that waits for decisions: its own requests (paths from the member
 * down) and its run's state, encoded.
 *
 * @since 0.3.0
 * @category schemas
 */
export const Waiting = Schema.Struct({
  member: Schema.String,
  memberRunId: Schema.String,
  pending: Schema.Array(Request),
  inner: Schema.Unknown
})

/**
 * The run of a team in broadcast mode at a pause: its members that wait, what the others answered
 * (their runs, encoded), and the input the leader will read with their answers.
 *
 * @since 0.3.0
 * @category schemas
 */
export const BroadcastState = Schema.TaggedStruct("Broadcast", {
  team: Schema.String,
  runId: Schema.String,
  token: Schema.String,
  input: Schema.Union(Schema.String, Schema.Array(Prompt.Message)),
  memberRuns: Schema.Array(Schema.Unknown),
  waiting: Schema.Array(Waiting),
  elapsed: Schema.Number
})

/**
 * @since 0.3.0
 * @category models
 */
export interface BroadcastState extends Schema.Schema.Type<typeof BroadcastState> {}

/**
 * The run of a team at a pause: a member waits for decisions (its own state is `member`), and what
 * the team had done before it (its leader's runs, its other members' runs, encoded) is kept.
 *
 * @since 0.3.0
 * @category models
 */
export interface TeamState {
  readonly _tag: "Team"
  readonly team: string
  readonly runId: string
  readonly token: string
  readonly member: string
  readonly memberRunId: string
  readonly task: string
  readonly toolCallId?: string | undefined
  readonly leaders: ReadonlyArray<Run.Output<unknown>>
  readonly memberRuns: ReadonlyArray<unknown>
  readonly delegations: number
  readonly turns: number
  readonly elapsed: number
  readonly memberStartedAt: number
  readonly inner: Body
}

/**
 * @since 0.3.0
 * @category models
 */
export interface TeamStateEncoded {
  readonly _tag: "Team"
  readonly team: string
  readonly runId: string
  readonly token: string
  readonly member: string
  readonly memberRunId: string
  readonly task: string
  readonly toolCallId?: string | undefined
  readonly leaders: ReadonlyArray<Schema.Schema.Encoded<typeof Run.Output>>
  readonly memberRuns: ReadonlyArray<unknown>
  readonly delegations: number
  readonly turns: number
  readonly elapsed: number
  readonly memberStartedAt: number
  readonly inner: BodyEncoded
}

/**
 * @since 0.3.0
 * @category schemas
 */
export const TeamState: Schema.Schema<TeamState, TeamStateEncoded> = Schema.TaggedStruct("Team", {
  team: Schema.String,
  runId: Schema.String,
  token: Schema.String,
  member: Schema.String,
  memberRunId: Schema.String,
  task: Schema.String,
  toolCallId: Schema.optional(Schema.String),
  leaders: Schema.Array(Run.Output),
  memberRuns: Schema.Array(Schema.Unknown),
  delegations: Schema.Number,
  turns: Schema.Number,
  elapsed: Schema.Number,
  memberStartedAt: Schema.Number,
  inner: Schema.suspend((): Schema.Schema<Body, BodyEncoded> => Body)
}) as any

/**
 * A step of a paused workflow run whose own run paused inside it (an agent step whose tool waits):
 * its requests are under `name` in the paths, and `inner` is that run's state, encoded.
 *
 * @since 0.3.0
 * @category schemas
 */
export const WorkflowNested = Schema.Struct({
  key: Schema.String,
  name: Schema.String,
  pending: Schema.Array(Request),
  inner: Schema.Unknown
})

/**
 * The run of a workflow at a pause: its input (encoded with the workflow's input schema), the
 * outputs of the steps that already ran (by their place in the workflow, so a resumed run does not
 * run them again), the steps that wait for approval before they start (`gates`), and the steps
 * whose own run waits (`nested`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const WorkflowState = Schema.TaggedStruct("Workflow", {
  workflow: Schema.String,
  runId: Schema.String,
  token: Schema.String,
  input: Schema.Unknown,
  settled: Schema.Array(Schema.Struct({ key: Schema.String, output: Schema.Unknown, run: Schema.optional(Run.Output) })),
  gates: Schema.Array(Schema.Struct({ key: Schema.String, request: Request })),
  nested: Schema.Array(WorkflowNested),
  elapsed: Schema.Number
})

/**
 * @since 0.3.0
 * @category models
 */
export interface WorkflowState extends Schema.Schema.Type<typeof WorkflowState> {}

/**
 * What a paused run was doing: an agent's run, or a team's with its member's inside.
 *
 * @since 0.3.0
 * @category models
 */
export type Body = AgentState | TeamState | CoordinateState | BroadcastState | WorkflowState

/**
 * @since 0.3.0
 * @category models
 */
export type BodyEncoded =
  | Schema.Schema.Encoded<typeof AgentState>
  | TeamStateEncoded
  | Schema.Schema.Encoded<typeof CoordinateState>
  | Schema.Schema.Encoded<typeof BroadcastState>
  | Schema.Schema.Encoded<typeof WorkflowState>

/**
 * @since 0.3.0
 * @category schemas
 */
export const Body: Schema.Schema<Body, BodyEncoded> = Schema.Union(
  AgentState,
  TeamState,
  CoordinateState,
  BroadcastState,
  WorkflowState
)

/**
 * Who a paused run belongs to, for a message: `agent "Writer"`, `team "Desk"`, `workflow "Post"`.
 *
 * @since 0.3.0
 * @category models
 */
export const ownerOf = (body: Body): string =>
  body._tag === "Agent"
    ? `agent "${body.agent}"`
    : body._tag === "Workflow"
    ? `workflow "${body.workflow}"`
    : `team "${body.team}"`

/**
 * A body as it is stored inside another's (`Nested.inner`).
 *
 * @since 0.3.0
 * @category schemas
 */
export const encodeBody: (body: Body) => BodyEncoded = Schema.encodeSync(Body)

/**
 * A body stored inside another's, decoded.
 *
 * @since 0.3.0
 * @category schemas
 */
export const decodeBody: (u: unknown) => Body = Schema.decodeUnknownSync(Body)

/**
 * A paused run, as resuming takes it: what it was doing, and the signature that shows this process
 * (or one sharing its {@link Keys}) made it.
 *
 * @since 0.3.0
 * @category schemas
 */
export const State = Schema.Struct({
  body: Body,
  /** When the run paused (epoch milliseconds), signed with the body: a pause resumes within the keys' `ttl`. */
  pausedAt: Schema.optional(Schema.Number),
  signature: Schema.String
}).annotations({
  // Its messages may hold file parts (bytes), which have no JSON Schema: to a client the state is
  // opaque, sent back as it was given.
  jsonSchema: {
    type: "object",
    description: "A paused run's state, signed: send it back as it was given to resume the run",
    properties: { body: { type: "object" }, pausedAt: { type: "number" }, signature: { type: "string" } },
    required: ["body", "signature"]
  }
})

/**
 * @since 0.3.0
 * @category models
 */
export interface State extends Schema.Schema.Type<typeof State> {}

// -----------------------------------------------------------------------------
// Keys
// -----------------------------------------------------------------------------

/**
 * What signs paused states and remembers which ones were resumed: a secret and a record of spent
 * pauses. `spend` answers `true` the first time it is given a pause's token, `false` after (or when
 * it can no longer tell, see {@link KeysOptions}). `admits` says whether a state paused at `pausedAt`
 * may still be resumed: a pause is remembered as spent only as long as it may be resumed, which is
 * what keeps the record bounded without letting a forgotten pause resume twice.
 *
 * @since 0.3.0
 * @category models
 */
export interface KeysService {
  readonly secret: Redacted.Redacted<string>
  readonly spend: (token: string) => Effect.Effect<boolean>
  readonly admits?: ((pausedAt: number | undefined) => Effect.Effect<boolean>) | undefined
}

/**
 * How long a paused run may wait to be resumed, and how many spent pauses are remembered.
 *
 * - `ttl`: a state older than this is refused (`ApprovalError`), and a spent pause is forgotten
 *   this long after it was spent. Default 24 hours.
 * - `capacity`: the most spent pauses remembered at once. When more pauses than this are resumed
 *   within `ttl`, the oldest is forgotten early, and every state paused before it was spent is
 *   refused from then on (fail closed: a forgotten pause must not resume a second time). Default
 *   100,000.
 *
 * @since 0.3.0
 * @category models
 */
export interface KeysOptions {
  readonly ttl?: Duration.DurationInput | undefined
  readonly capacity?: number | undefined
}

/**
 * Keys in memory: a secret (a random one when none is given) and the spent pauses of this process,
 * bounded by `ttl` and `capacity` (see {@link KeysOptions}).
 *
 * @since 0.3.0
 * @category constructors
 */
export const makeKeys = (secret?: Redacted.Redacted<string>, options?: KeysOptions): KeysService => {
  const ttl = Duration.toMillis(Duration.decode(options?.ttl ?? "24 hours"))
  const capacity = Math.max(1, options?.capacity ?? 100_000)
  // Spent tokens by when they are forgotten. Every entry lives `ttl`, so insertion order is expiry
  // order and the expired ones are always at the front.
  const spent = new Map<string, { readonly spentAt: number; readonly expires: number }>()
  // States paused at or before this instant are refused: a pause spent by then may have been forgotten.
  let floor = -Infinity
  const sweep = (now: number) => {
    for (const [token, entry] of spent) {
      if (entry.expires > now) break
      spent.delete(token)
    }
  }
  return {
    secret: secret ?? Redacted.make(randomHex(32)),
    spend: (token) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        sweep(now)
        if (spent.has(token)) return false
        if (spent.size >= capacity) {
          const [oldest, entry] = spent.entries().next().value!
          spent.delete(oldest)
          floor = Math.max(floor, entry.spentAt)
        }
        spent.set(token, { spentAt: now, expires: now + ttl })
        return true
      }),
    admits: (pausedAt) =>
      Effect.map(
        Clock.currentTimeMillis,
        (now) => pausedAt !== undefined && pausedAt > floor && now - pausedAt <= ttl
      )
  }
}

/**
 * The keys of paused runs. By default a random secret of this process, so a state resumes only in
 * the process that paused it, within 24 hours; processes that share paused runs provide the same
 * secret ({@link layerKeys}) and a shared record of spent pauses.
 *
 * @since 0.3.0
 * @category services
 */
export class Keys extends Context.Reference<Keys>()("effect-agents/Approval/Keys", {
  defaultValue: () => makeKeys()
}) {}

/**
 * Keys with this secret, and spent pauses remembered in memory (bounded by `ttl` and `capacity`,
 * see {@link KeysOptions}), or by `spend`.
 *
 * @since 0.3.0
 * @category layers
 */
export const layerKeys = (options: KeysOptions & {
  readonly secret: Redacted.Redacted<string>
  readonly spend?: ((token: string) => Effect.Effect<boolean>) | undefined
}): Layer.Layer<Keys> =>
  Layer.sync(Keys, () => {
    const keys = makeKeys(options.secret, options)
    return options.spend === undefined ? keys : { ...keys, spend: options.spend }
  })

const randomHex = (bytes: number): string =>
  Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (byte) => byte.toString(16).padStart(2, "0"))
    .join("")

/** A fresh random token (a pause's, a request's). */
export const makeToken = (): string => randomHex(16)

const encodeBodyEither = Schema.encodeEither(Body)

// Web Crypto's HMAC: in every runtime the package supports, with nothing to install.
const hmac = (secret: string, text: string): Effect.Effect<string> =>
  Effect.promise(async () => {
    const encoder = new TextEncoder()
    const key = await globalThis.crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"]
    )
    const signature = await globalThis.crypto.subtle.sign("HMAC", key, encoder.encode(text))
    return Array.from(new Uint8Array(signature), (byte) => byte.toString(16).padStart(2, "0")).join("")
  })

// The signed text: the encoded body and, on its own line, when it paused (JSON has no raw newline).
const signed = (body: BodyEncoded, pausedAt: number | undefined): string =>
  pausedAt === undefined ? JSON.stringify(body) : `${JSON.stringify(body)}\n${pausedAt}`

/**
 * A paused run's body, signed with the current {@link Keys} (an HMAC-SHA256 of its encoded form and
 * of when it paused, now by the `Clock`).
 *
 * @since 0.3.0
 * @category signing
 */
export const sign = (body: Body): Effect.Effect<State> =>
  Effect.flatMap(Keys, (keys) =>
    Effect.flatMap(Clock.currentTimeMillis, (pausedAt) =>
      Effect.map(hmac(Redacted.value(keys.secret), signed(encodeBody(body), pausedAt)), (signature) => ({
        body,
        pausedAt,
        signature
      }))))

/**
 * Whether a state's signature is the one the current {@link Keys} give its body, and whether the
 * keys still admit it (it paused within their `ttl`, see {@link KeysOptions}).
 *
 * @since 0.3.0
 * @category signing
 */
export const verify = (state: State): Effect.Effect<boolean> =>
  Effect.map(check(state), (verdict) => verdict === "Valid")

/**
 * What the current {@link Keys} make of a paused state: `Valid`, `Forged` (changed, or signed with
 * other keys) or `Expired` (paused longer ago than the keys' `ttl`, or before a pause they had to
 * forget).
 *
 * @since 0.3.0
 * @category signing
 */
export const check = (state: State): Effect.Effect<"Valid" | "Forged" | "Expired"> =>
  Effect.suspend(() => {
    const encoded = encodeBodyEither(state.body)
    if (Either.isLeft(encoded) || typeof state.signature !== "string") return Effect.succeed("Forged" as const)
    return Effect.flatMap(Keys, (keys) =>
      Effect.flatMap(
        hmac(Redacted.value(keys.secret), signed(encoded.right, state.pausedAt)),
        (signature) =>
          !constantTimeEqual(signature, state.signature)
            ? Effect.succeed("Forged" as const)
            : keys.admits === undefined
            ? Effect.succeed("Valid" as const)
            : Effect.map(keys.admits(state.pausedAt), (admitted) => admitted ? "Valid" as const : "Expired" as const)
      ))
  })

const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}

// -----------------------------------------------------------------------------
// Resuming
// -----------------------------------------------------------------------------

/**
 * A paused run could not be resumed: its state was not signed with this process's keys (`Forged`),
 * it is too old, was already resumed or belongs to another runnable (`Stale`), a decision names no
 * pending call (`UnknownCall`), or edited arguments do not decode with the tool's schema
 * (`InvalidArguments`). The message says what to do.
 *
 * @since 0.3.0
 * @category errors
 */
export class ApprovalError extends Schema.TaggedError<ApprovalError>("effect-agents/ApprovalError")(
  "ApprovalError",
  {
    reason: Schema.Literal("Forged", "Stale", "UnknownCall", "InvalidArguments"),
    message: Schema.String,
    toolCallId: Schema.optional(Schema.String)
  }
) {}

/**
 * Admits the resume of a paused run, before anything of it runs. A state that was changed or signed
 * with other keys fails with an {@link ApprovalError} `Forged`, one paused too long ago (see
 * {@link KeysOptions}) with `Stale`. Otherwise `accept` checks the state as the runnable that resumes
 * it must (that it paused this runnable, that the decisions name its pending calls) and gives what
 * the resume goes on with; only when it succeeds is the pause spent, so a resume refused by any check
 * leaves the pause waiting for a valid one. A pause already spent fails with `Stale`: a state resumes
 * once.
 *
 * @since 0.3.0
 * @category resuming
 */
export const admit: {
  <A, E, R>(accept: (body: Body) => Effect.Effect<A, E, R>): (state: State) => Effect.Effect<A, ApprovalError | E, R>
  <A, E, R>(state: State, accept: (body: Body) => Effect.Effect<A, E, R>): Effect.Effect<A, ApprovalError | E, R>
} = dual(
  2,
  <A, E, R>(state: State, accept: (body: Body) => Effect.Effect<A, E, R>): Effect.Effect<A, ApprovalError | E, R> =>
    Effect.flatMap(check(state), (verdict): Effect.Effect<A, ApprovalError | E, R> => {
      if (verdict === "Forged") {
        return Effect.fail(
          new ApprovalError({
            reason: "Forged",
            message: "The paused run's state is not signed with this process's keys: it was changed, or made by a " +
              "process with other keys (provide the same Approval.layerKeys to every process that resumes runs)."
          })
        )
      }
      if (verdict === "Expired") {
        return Effect.fail(
          new ApprovalError({
            reason: "Stale",
            message: "This pause of the run is too old to resume (older than the keys' ttl, see Approval.KeysOptions): " +
              "run it again instead."
          })
        )
      }
      return Effect.flatMap(accept(state.body), (accepted) =>
        Effect.flatMap(Keys, (keys) =>
          Effect.flatMap(keys.spend(state.body.token), (fresh) =>
            fresh ? Effect.succeed(accepted) : Effect.fail(
              new ApprovalError({
                reason: "Stale",
                message: "This pause of the run was already resumed: resume the run with the state of its latest pause."
              })
            ))))
    })
)

// -----------------------------------------------------------------------------
// Rules
// -----------------------------------------------------------------------------

/**
 * When a tool needs approval: always (`true`), or when a predicate over its decoded arguments says
 * so. The predicate may read services, which the agent then needs.
 *
 * @since 0.3.0
 * @category models
 */
export type Rule<Params, R = never> = boolean | typeof input | ((params: Params) => Effect.Effect<boolean, never, R>)

/**
 * The rule of a tool that asks a person a question: its parameters are the typed question, and a
 * person's {@link answer}, decoded with its success schema, is its result. Its handler is not run.
 *
 * @since 0.3.0
 * @category rules
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Effect, Schema } from "effect"
 * import { Agent, Approval } from "effect-agents"
 *
 * const AskUser = Tool.make("ask_user", {
 *   description: "Ask the user a question",
 *   parameters: { question: Schema.String },
 *   success: Schema.Struct({ reply: Schema.String })
 * })
 *
 * const agent = Agent.make({ name: "Planner", toolkit: Toolkit.make(AskUser), approval: { ask_user: Approval.input } })
 *
 * const program = Agent.run(agent, "Plan my trip").pipe(
 *   Effect.catchTag("RunPaused", (paused) =>
 *     Agent.resume(agent, paused.state, paused.pending.map((request) => Approval.answer(request, { reply: "Lisbon" }))))
 * )
 * ```
 */
export const input = "input" as const
