/**
 * What happens during a run, as a Schema tagged union. `Agent.stream` emits these; the HTTP layer
 * encodes the very same values to SSE/JSON through {@link RunEvent}, so there is one event model.
 *
 * @since 0.1.0
 */
import * as Response from "@effect/ai/Response"
import * as Schema from "effect/Schema"
import * as Memory from "../services/Memory.js"
import * as AgentError from "./AgentError.js"
import * as Approval from "./Approval.js"
import * as Run from "./Run.js"

/**
 * A run began.
 *
 * @since 0.1.0
 * @category events
 */
export class RunStarted extends Schema.TaggedClass<RunStarted>("effect-agents/RunStarted")("RunStarted", {
  runId: Schema.String,
  agent: Schema.String
}) {}

/**
 * A model call began. `turn` counts model calls in the run from 1.
 *
 * @since 0.1.0
 * @category events
 */
export class ModelRequestStarted extends Schema.TaggedClass<ModelRequestStarted>("effect-agents/ModelRequestStarted")(
  "ModelRequestStarted",
  { runId: Schema.String, turn: Schema.Number }
) {}

/**
 * A piece of the answer's text, as it arrived.
 *
 * @since 0.1.0
 * @category events
 */
export class TextDelta extends Schema.TaggedClass<TextDelta>("effect-agents/TextDelta")("TextDelta", {
  runId: Schema.String,
  delta: Schema.String
}) {}

/**
 * A piece of the model's reasoning, where the provider streams it.
 *
 * @since 0.1.0
 * @category events
 */
export class ReasoningDelta extends Schema.TaggedClass<ReasoningDelta>("effect-agents/ReasoningDelta")(
  "ReasoningDelta",
  { runId: Schema.String, delta: Schema.String }
) {}

/**
 * The model asked for a tool call; it is about to be checked and run.
 *
 * @since 0.1.0
 * @category events
 */
export class ToolCallStarted extends Schema.TaggedClass<ToolCallStarted>("effect-agents/ToolCallStarted")(
  "ToolCallStarted",
  { runId: Schema.String, toolCallId: Schema.String, name: Schema.String, arguments: Schema.Unknown }
) {}

/**
 * A tool call returned a result, which goes back to the model.
 *
 * @since 0.1.0
 * @category events
 */
export class ToolCallCompleted extends Schema.TaggedClass<ToolCallCompleted>("effect-agents/ToolCallCompleted")(
  "ToolCallCompleted",
  {
    runId: Schema.String,
    toolCallId: Schema.String,
    name: Schema.String,
    result: Schema.Unknown,
    duration: Schema.DurationFromMillis
  }
) {}

/**
 * A tool call did not produce a result (bad arguments, unknown tool, a typed failure, a timeout).
 * The error goes back to the model, which may correct itself; the run goes on.
 *
 * @since 0.1.0
 * @category events
 */
export class ToolCallFailed extends Schema.TaggedClass<ToolCallFailed>("effect-agents/ToolCallFailed")(
  "ToolCallFailed",
  {
    runId: Schema.String,
    toolCallId: Schema.String,
    name: Schema.String,
    reason: Run.ToolFailure,
    error: Schema.Unknown,
    duration: Schema.DurationFromMillis
  }
) {}

/**
 * A model call finished, with its token usage.
 *
 * @since 0.1.0
 * @category events
 */
export class ModelRequestCompleted extends Schema.TaggedClass<ModelRequestCompleted>(
  "effect-agents/ModelRequestCompleted"
)("ModelRequestCompleted", {
  runId: Schema.String,
  turn: Schema.Number,
  finishReason: Response.FinishReason,
  usage: Run.Usage,
  model: Schema.optional(Schema.String)
}) {}

/**
 * A model call failed with a retryable error and will be tried again after `delay`.
 *
 * @since 0.1.0
 * @category events
 */
export class Retrying extends Schema.TaggedClass<Retrying>("effect-agents/Retrying")("Retrying", {
  runId: Schema.String,
  attempt: Schema.Number,
  delay: Schema.DurationFromMillis,
  error: AgentError.ModelError
}) {}

/**
 * A model call failed for good on one model (after its retries), and the next fallback model
 * takes the call. `fallback` counts the agent's fallback models from 1.
 *
 * @since 0.1.0
 * @category events
 */
export class FallbackStarted extends Schema.TaggedClass<FallbackStarted>("effect-agents/FallbackStarted")(
  "FallbackStarted",
  { runId: Schema.String, fallback: Schema.Number, error: AgentError.ModelError }
) {}

/**
 * A model call waited for its provider's rate limit (see `RateLimit` in `effect-agents/layers`)
 * before it was sent.
 *
 * @since 0.1.0
 * @category events
 */
export class RateLimitWaited extends Schema.TaggedClass<RateLimitWaited>("effect-agents/RateLimitWaited")(
  "RateLimitWaited",
  { runId: Schema.String, waited: Schema.DurationFromMillis }
) {}

/**
 * The run finished with its output. `A` is the runnable's answer type: the stream of a structured
 * agent (`RunEvent<A>`) gives its output's content typed. The schema decodes any content (it is
 * `unknown` on the wire), so a decoded event is a `RunCompleted<unknown>`.
 *
 * @since 0.1.0
 * @category events
 */
export class RunCompleted<A = unknown>
  extends Schema.TaggedClass<RunCompleted>("effect-agents/RunCompleted")("RunCompleted", {
    runId: Schema.String,
    output: Run.Output
  })
{
  declare readonly output: Run.Output<A>
}

/**
 * The run failed; the stream fails with the same error right after this event.
 *
 * @since 0.1.0
 * @category events
 */
export class RunFailed extends Schema.TaggedClass<RunFailed>("effect-agents/RunFailed")("RunFailed", {
  runId: Schema.String,
  error: AgentError.AgentError
}) {}

/**
 * The model called a tool that needs a person's approval: the call does not run until a decision
 * comes (see `Approval`). `token` identifies this request of the pause.
 *
 * @since 0.3.0
 * @category events
 */
export class ApprovalRequested extends Schema.TaggedClass<ApprovalRequested>("effect-agents/ApprovalRequested")(
  "ApprovalRequested",
  {
    runId: Schema.String,
    toolCallId: Schema.String,
    tool: Schema.String,
    arguments: Schema.Unknown,
    token: Schema.String
  }
) {}

/**
 * The run paused, waiting for decisions on `pending`; the stream fails with the `RunPaused` error
 * right after this event. Resuming takes `state` (see `Agent.resume`).
 *
 * @since 0.3.0
 * @category events
 */
export class RunPaused extends Schema.TaggedClass<RunPaused>("effect-agents/RunPaused")("RunPaused", {
  runId: Schema.String,
  pending: Schema.Array(Approval.Request),
  state: Approval.State
}) {}

/**
 * A team's leader handed a task to one of its members, whose run begins. `memberRunId` is the
 * member run's own `runId`; `toolCallId` is the leader's delegation call, when there is one
 * (coordinate mode).
 *
 * @since 0.1.0
 * @category events
 */
export class MemberRunStarted extends Schema.TaggedClass<MemberRunStarted>("effect-agents/MemberRunStarted")(
  "MemberRunStarted",
  {
    runId: Schema.String,
    memberRunId: Schema.String,
    member: Schema.String,
    task: Schema.String,
    toolCallId: Schema.optional(Schema.String)
  }
) {}

/**
 * An event of a member's run, as the member reported it. A member that is itself a team reports
 * its own members' events the same way, so a nested team's events are nested twice.
 *
 * @since 0.1.0
 * @category events
 */
export class MemberEvent extends Schema.TaggedClass<MemberEvent>("effect-agents/MemberEvent")("MemberEvent", {
  runId: Schema.String,
  memberRunId: Schema.String,
  member: Schema.String,
  event: Schema.suspend((): Schema.Schema<RunEvent, RunEventEncoded> => RunEvent)
}) {}

/**
 * The encoded form of {@link MemberEvent}.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemberEventEncoded {
  readonly _tag: "MemberEvent"
  readonly runId: string
  readonly memberRunId: string
  readonly member: string
  readonly event: RunEventEncoded
}

/**
 * A member's run finished with its output, which goes back to the leader.
 *
 * @since 0.1.0
 * @category events
 */
export class MemberRunCompleted extends Schema.TaggedClass<MemberRunCompleted>("effect-agents/MemberRunCompleted")(
  "MemberRunCompleted",
  { runId: Schema.String, memberRunId: Schema.String, member: Schema.String, output: Run.Output }
) {}

/**
 * A member's run failed with a typed error: an agent's, or the memory's of the user the team runs
 * for. The error goes back to the leader, which may hand the task to another member; the team's
 * run goes on.
 *
 * @since 0.1.0
 * @category events
 */
export class MemberRunFailed extends Schema.TaggedClass<MemberRunFailed>("effect-agents/MemberRunFailed")(
  "MemberRunFailed",
  {
    runId: Schema.String,
    memberRunId: Schema.String,
    member: Schema.String,
    error: Schema.Union(AgentError.AgentError, Memory.MemoryError)
  }
) {}

/**
 * A step of a workflow began. `stepId` names this execution of the step (a step in a loop runs
 * once per iteration, each time with its own id); `parentStepId` is the composite step it runs
 * under (a parallel, condition, loop or router step, or a nested workflow), when there is one.
 *
 * @since 0.3.0
 * @category events
 */
export class StepStarted extends Schema.TaggedClass<StepStarted>("effect-agents/StepStarted")("StepStarted", {
  runId: Schema.String,
  stepId: Schema.String,
  step: Schema.String,
  kind: Schema.String,
  parentStepId: Schema.optional(Schema.String)
}) {}

/**
 * An event of the run of an agent, a team or any runnable that is a workflow's step, as that run
 * reported it (a team step's member events are nested once more).
 *
 * @since 0.3.0
 * @category events
 */
export class StepEvent extends Schema.TaggedClass<StepEvent>("effect-agents/StepEvent")("StepEvent", {
  runId: Schema.String,
  stepId: Schema.String,
  step: Schema.String,
  event: Schema.suspend((): Schema.Schema<RunEvent, RunEventEncoded> => RunEvent)
}) {}

/**
 * The encoded form of {@link StepEvent}.
 *
 * @since 0.3.0
 * @category models
 */
export interface StepEventEncoded {
  readonly _tag: "StepEvent"
  readonly runId: string
  readonly stepId: string
  readonly step: string
  readonly event: RunEventEncoded
}

/**
 * A workflow's step is waiting for the external signal `signal` (see `Workflow.signal`).
 *
 * @since 0.3.0
 * @category events
 */
export class StepWaiting extends Schema.TaggedClass<StepWaiting>("effect-agents/StepWaiting")("StepWaiting", {
  runId: Schema.String,
  stepId: Schema.String,
  step: Schema.String,
  signal: Schema.String
}) {}

/**
 * A step of a workflow finished with its output (the value the next step is given).
 *
 * @since 0.3.0
 * @category events
 */
export class StepCompleted extends Schema.TaggedClass<StepCompleted>("effect-agents/StepCompleted")("StepCompleted", {
  runId: Schema.String,
  stepId: Schema.String,
  step: Schema.String,
  output: Schema.Unknown,
  duration: Schema.DurationFromMillis
}) {}

/**
 * A step of a workflow failed with a typed error: an agent's, or a plain step's own error as a
 * `WorkflowError`. Whether the workflow fails too is up to the step around it (a parallel step may
 * keep its other branches' results).
 *
 * @since 0.3.0
 * @category events
 */
export class StepFailed extends Schema.TaggedClass<StepFailed>("effect-agents/StepFailed")("StepFailed", {
  runId: Schema.String,
  stepId: Schema.String,
  step: Schema.String,
  error: Schema.Union(AgentError.AgentError, Memory.MemoryError)
}) {}

/**
 * Every event of a run. A team's run has its members' runs in it: each one's start and end, and
 * every event of it inside a `MemberEvent`. `A` is the run's answer type, which its
 * `RunCompleted` carries; `unknown` (the default) for any run's events.
 *
 * @since 0.1.0
 * @category models
 */
export type RunEvent<A = unknown> =
  | RunStarted
  | ModelRequestStarted
  | TextDelta
  | ReasoningDelta
  | ToolCallStarted
  | ToolCallCompleted
  | ToolCallFailed
  | ModelRequestCompleted
  | Retrying
  | FallbackStarted
  | RateLimitWaited
  | MemberRunStarted
  | MemberEvent
  | MemberRunCompleted
  | MemberRunFailed
  | ApprovalRequested
  | RunPaused
  | StepStarted
  | StepEvent
  | StepWaiting
  | StepCompleted
  | StepFailed
  | RunCompleted<A>
  | RunFailed

/**
 * The encoded form of {@link RunEvent}: what goes over the wire.
 *
 * @since 0.1.0
 * @category models
 */
export type RunEventEncoded =
  | Schema.Schema.Encoded<typeof RunStarted>
  | Schema.Schema.Encoded<typeof ModelRequestStarted>
  | Schema.Schema.Encoded<typeof TextDelta>
  | Schema.Schema.Encoded<typeof ReasoningDelta>
  | Schema.Schema.Encoded<typeof ToolCallStarted>
  | Schema.Schema.Encoded<typeof ToolCallCompleted>
  | Schema.Schema.Encoded<typeof ToolCallFailed>
  | Schema.Schema.Encoded<typeof ModelRequestCompleted>
  | Schema.Schema.Encoded<typeof Retrying>
  | Schema.Schema.Encoded<typeof FallbackStarted>
  | Schema.Schema.Encoded<typeof RateLimitWaited>
  | Schema.Schema.Encoded<typeof MemberRunStarted>
  | MemberEventEncoded
  | Schema.Schema.Encoded<typeof MemberRunCompleted>
  | Schema.Schema.Encoded<typeof MemberRunFailed>
  | Schema.Schema.Encoded<typeof ApprovalRequested>
  | Schema.Schema.Encoded<typeof RunPaused>
  | Schema.Schema.Encoded<typeof StepStarted>
  | StepEventEncoded
  | Schema.Schema.Encoded<typeof StepWaiting>
  | Schema.Schema.Encoded<typeof StepCompleted>
  | Schema.Schema.Encoded<typeof StepFailed>
  | Schema.Schema.Encoded<typeof RunCompleted>
  | Schema.Schema.Encoded<typeof RunFailed>

/**
 * The schema of {@link RunEvent}: one JSON object per event, tagged by `_tag`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunEvent: Schema.Union<[
  typeof RunStarted,
  typeof ModelRequestStarted,
  typeof TextDelta,
  typeof ReasoningDelta,
  typeof ToolCallStarted,
  typeof ToolCallCompleted,
  typeof ToolCallFailed,
  typeof ModelRequestCompleted,
  typeof Retrying,
  typeof FallbackStarted,
  typeof RateLimitWaited,
  typeof MemberRunStarted,
  typeof MemberEvent,
  typeof MemberRunCompleted,
  typeof MemberRunFailed,
  typeof ApprovalRequested,
  typeof RunPaused,
  typeof StepStarted,
  typeof StepEvent,
  typeof StepWaiting,
  typeof StepCompleted,
  typeof StepFailed,
  typeof RunCompleted,
  typeof RunFailed
]> = Schema.Union(
  RunStarted,
  ModelRequestStarted,
  TextDelta,
  ReasoningDelta,
  ToolCallStarted,
  ToolCallCompleted,
  ToolCallFailed,
  ModelRequestCompleted,
  Retrying,
  FallbackStarted,
  RateLimitWaited,
  MemberRunStarted,
  MemberEvent,
  MemberRunCompleted,
  MemberRunFailed,
  ApprovalRequested,
  RunPaused,
  StepStarted,
  StepEvent,
  StepWaiting,
  StepCompleted,
  StepFailed,
  RunCompleted,
  RunFailed
)
