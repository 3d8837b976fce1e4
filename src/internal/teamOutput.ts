/**
 * What a team's run gives back, apart from the team module so that the printer can read it without
 * depending on the team (which depends on the printer).
 */
import * as Schema from "effect/Schema"
import * as Memory from "../../services/Memory.js"
import * as AgentError from "../AgentError.js"
import * as Run from "../Run.js"

/**
 * How a member run can fail: an agent's error, or its user's memory that could not be read (a
 * member with memory runs for the team's user).
 */
export type MemberError = AgentError.AgentError | Memory.MemoryError

/** {@link MemberError} as a Schema. */
export const MemberError: Schema.Schema<MemberError, Schema.Schema.Encoded<typeof AgentError.AgentError> | Schema.Schema.Encoded<typeof Memory.MemoryError>> = Schema.Union(AgentError.AgentError, Memory.MemoryError)

/** A member run that finished. `toolCallId` is the leader's delegation call, when there was one. */
export interface MemberRunCompleted {
  readonly _tag: "Completed"
  readonly runId: string
  readonly member: string
  readonly task: string
  readonly toolCallId?: string
  readonly output: Run.Output<unknown>
}

/** A member run that failed with a typed error, which went back to the leader. */
export interface MemberRunFailed {
  readonly _tag: "Failed"
  readonly runId: string
  readonly member: string
  readonly task: string
  readonly toolCallId?: string
  readonly error: MemberError
}

export type MemberRun = MemberRunCompleted | MemberRunFailed

export interface Output<A = string> extends Run.Output<A> {
  readonly memberRuns: ReadonlyArray<MemberRun>
  readonly leaderMetrics: Run.Metrics
  readonly memberMetrics: { readonly [member: string]: Run.Metrics }
}

type RunOutputEncoded = Schema.Schema.Encoded<typeof Run.Output>
type MetricsEncoded = Schema.Schema.Encoded<typeof Run.Metrics>

export interface OutputEncoded extends RunOutputEncoded {
  readonly memberRuns: ReadonlyArray<MemberRunEncoded>
  readonly leaderMetrics: MetricsEncoded
  readonly memberMetrics: { readonly [member: string]: MetricsEncoded }
}

export type MemberRunEncoded =
  | {
    readonly _tag: "Completed"
    readonly runId: string
    readonly member: string
    readonly task: string
    readonly toolCallId?: string
    readonly output: OutputEncoded | RunOutputEncoded
  }
  | {
    readonly _tag: "Failed"
    readonly runId: string
    readonly member: string
    readonly task: string
    readonly toolCallId?: string
    readonly error: Schema.Schema.Encoded<typeof MemberError>
  }

const memberRunFields = {
  runId: Schema.String,
  member: Schema.String,
  task: Schema.String,
  toolCallId: Schema.optional(Schema.String)
}

// A member that is a team answers with a team output; the first schema that fits is used.
const MemberOutput = Schema.Union(
  Schema.suspend((): Schema.Schema<Output<unknown>, OutputEncoded> => Output),
  Run.Output
)

export const MemberRun: Schema.Schema<MemberRun, MemberRunEncoded> = Schema.Union(
  Schema.TaggedStruct("Completed", { ...memberRunFields, output: MemberOutput }),
  Schema.TaggedStruct("Failed", { ...memberRunFields, error: MemberError })
) as Schema.Schema<MemberRun, MemberRunEncoded>

export const Output: Schema.Schema<Output<unknown>, OutputEncoded> = Schema.Struct({
  ...Run.Output.fields,
  memberRuns: Schema.Array(Schema.suspend(() => MemberRun)),
  leaderMetrics: Run.Metrics,
  memberMetrics: Schema.Record({ key: Schema.String, value: Run.Metrics })
})

export const isOutput = (output: Run.Output<unknown>): output is Output<unknown> =>
  Array.isArray((output as Partial<Output<unknown>>).memberRuns)
