/**
 * A paused run as a value: the requests it waits on and, by kind of runnable (an agent, a team in
 * each of its modes, a workflow), what it was doing when it paused ({@link Body}), signed into the
 * {@link State} that resuming takes. Every part has a schema, so a paused run can be stored and sent.
 * `Approval` re-exports this module: its names are `Approval.Request`, `Approval.State`, and so on.
 *
 * @since 0.3.0
 */
import * as Prompt from "@effect/ai/Prompt"
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
  /** `input`: the call is a question to a person (see `Approval.input`), answered with `Approval.answer`. */
  kind: Schema.optional(Schema.Literal("approval", "input"))
})

/**
 * @since 0.3.0
 * @category models
 */
export interface Request extends Schema.Schema.Type<typeof Request> {}

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
  /** The user the agent ran for: the resumed run runs for them too (their memory, their session). */
  userId: Schema.optional(Schema.String),
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
  /** The user the team ran for: the resumed run (its leader, its members) runs for them too. */
  userId: Schema.optional(Schema.String),
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
  /** The user the team ran for: the resumed run (its members) runs for them too. */
  userId: Schema.optional(Schema.String),
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
  /** The user the team ran for: the resumed run (its members) runs for them too. */
  readonly userId?: string | undefined
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
  readonly userId?: string | undefined
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
  userId: Schema.optional(Schema.String),
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
 * user it runs for, the outputs of the steps that already ran (by their place in the workflow, so
 * a resumed run does not run them again), the steps that wait for approval before they start
 * (`gates`), the steps whose own run waits (`nested`), and the steps whose start (`started`) and end
 * (`ended`) were reported, which a resumed run does not report again.
 *
 * @since 0.3.0
 * @category schemas
 */
export const WorkflowState = Schema.TaggedStruct("Workflow", {
  workflow: Schema.String,
  runId: Schema.String,
  token: Schema.String,
  userId: Schema.optional(Schema.String),
  input: Schema.Unknown,
  settled: Schema.Array(Schema.Struct({ key: Schema.String, output: Schema.Unknown, run: Schema.optional(Run.Output) })),
  gates: Schema.Array(Schema.Struct({ key: Schema.String, request: Request })),
  nested: Schema.Array(WorkflowNested),
  elapsed: Schema.Number,
  started: Schema.optional(Schema.Array(Schema.String)),
  ended: Schema.optional(Schema.Array(Schema.String))
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
 * The user a paused agent, team or workflow ran for, signed with it: its resumed run runs for them.
 * `undefined` for a run that named no user, and for a state signed before states carried their user.
 *
 * @since 0.3.0
 * @category models
 */
export const userOf = (body: Body): string | undefined => body.userId

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
 * (or one sharing its `Approval.Keys`) made it.
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
