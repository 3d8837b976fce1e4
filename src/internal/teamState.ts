/**
 * The state of a team's run, and its pause: what a team that waits for decisions signs (its mode's
 * `Approval` body, around the state of its member or leader that waits), and the run's state made
 * again from such a body when it resumes.
 */
import * as Prompt from "@effect/ai/Prompt"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { RunPaused } from "../AgentError.js"
import * as Approval from "../Approval.js"
import type * as Run from "../Run.js"
import type * as EventStream from "./eventStream.js"
import * as InternalRunnable from "./runnable.js"
import * as TeamOutput from "./teamOutput.js"

type Emit = EventStream.Emit

/** What a pause needs of a team, or of one of its members: its name. */
interface Named {
  readonly name: string
}

/** The state of one team run, shared by its leader's and its members' runs. */
export interface State {
  readonly runId: string
  readonly startedAt: number
  readonly clock: Clock.Clock
  readonly emit: Emit | undefined
  /** In the order the member runs started; a slot is filled when its run ends. */
  readonly memberRuns: Array<TeamOutput.MemberRun | undefined>
  delegations: number
  /** Model calls the leader made in earlier leader runs (route mode asks again after a failure). */
  turns: number
  /** The user the team runs for: its members run for that user too (with their memory). */
  readonly userId: string | undefined
  /**
   * Whether its member runs are named by their place in the team's run (under a run executor: a
   * durable engine's, whose replay of the team must name them, and so key their calls, the same).
   */
  readonly placed: boolean
}

const encodeMemberRun = Schema.encodeSync(TeamOutput.MemberRun)
const decodeMemberRun = Schema.decodeUnknownSync(TeamOutput.MemberRun)

const encodedMemberRuns = (state: State) =>
  state.memberRuns.flatMap((run) => (run === undefined ? [] : [encodeMemberRun(run)]))

/**
 * The state of a paused team run, made again to resume it: its run id, its start (now, less the time
 * it had run when it paused), its member runs so far and its counts, and the user it ran for (signed
 * with it, else the user its resume names: its members run for that user again, and its next pause
 * carries it). It names its member runs as the paused run did.
 */
export const resumed = (
  body: Approval.TeamState | Approval.CoordinateState | Approval.BroadcastState,
  emit: Emit | undefined
): Effect.Effect<State> =>
  Effect.zipWith(Effect.clock, InternalRunnable.resumeUser(body.userId), (clock, userId) => ({
    runId: body.runId,
    startedAt: clock.unsafeCurrentTimeMillis() - body.elapsed,
    clock,
    emit,
    memberRuns: body.memberRuns.map((run) => decodeMemberRun(run)),
    delegations: body._tag === "Broadcast" ? 0 : body.delegations,
    turns: body._tag === "Team" ? body.turns : 0,
    userId,
    placed: false
  }))

/** The user a team ran for, as its paused state carries it (nothing when it named none). */
const userOf = (state: State): { readonly userId?: string } => state.userId === undefined ? {} : { userId: state.userId }

/** The broadcast team pauses with its members that wait: their requests under their names. */
export const pauseBroadcast = (
  team: Named,
  state: State,
  input: Run.Input,
  waiting: ReadonlyArray<{ readonly member: Named; readonly memberRunId: string; readonly paused: RunPaused }>
): Effect.Effect<never, RunPaused> => {
  const body: Approval.BroadcastState = {
    _tag: "Broadcast",
    team: team.name,
    runId: state.runId,
    token: Approval.makeToken(),
    ...userOf(state),
    input: typeof input === "string" ? input : Prompt.make(input).content,
    memberRuns: encodedMemberRuns(state),
    waiting: waiting.map(({ member, memberRunId, paused }) => ({
      member: member.name,
      memberRunId,
      pending: paused.pending,
      inner: Approval.encodeBody(paused.state.body)
    })),
    elapsed: state.clock.unsafeCurrentTimeMillis() - state.startedAt
  }
  const pending = waiting.flatMap(({ member, paused }) =>
    paused.pending.map((request) => ({ ...request, path: [member.name, ...request.path] }))
  )
  return Effect.flatMap(
    Approval.sign(body),
    (signed) => Effect.fail(new RunPaused({ runId: state.runId, pending, state: signed }))
  )
}

/** The team pauses with its member: the member's requests, under its name, and the team's state around its own. */
export const pauseRoute = (
  team: Named,
  state: State,
  task: string,
  leaders: ReadonlyArray<Run.Output<unknown>>,
  member: Named,
  memberRunId: string,
  memberStartedAt: number,
  paused: RunPaused
): Effect.Effect<never, RunPaused> => {
  const body: Approval.TeamState = {
    _tag: "Team",
    team: team.name,
    runId: state.runId,
    token: Approval.makeToken(),
    ...userOf(state),
    member: member.name,
    memberRunId,
    task,
    leaders,
    memberRuns: encodedMemberRuns(state),
    delegations: state.delegations,
    turns: state.turns,
    elapsed: state.clock.unsafeCurrentTimeMillis() - state.startedAt,
    memberStartedAt: memberStartedAt - state.startedAt,
    inner: paused.state.body
  }
  const pending = paused.pending.map((request) => ({ ...request, path: [member.name, ...request.path] }))
  return Effect.flatMap(
    Approval.sign(body),
    (signed) => Effect.fail(new RunPaused({ runId: state.runId, pending, state: signed }))
  )
}

/** The team pauses with its leader, whose delegations wait for members that wait for decisions. */
export const pauseCoordinate = (team: Named, state: State, paused: RunPaused): Effect.Effect<never, RunPaused> => {
  const body: Approval.CoordinateState = {
    _tag: "Coordinate",
    team: team.name,
    runId: state.runId,
    token: Approval.makeToken(),
    ...userOf(state),
    memberRuns: encodedMemberRuns(state),
    delegations: state.delegations,
    elapsed: state.clock.unsafeCurrentTimeMillis() - state.startedAt,
    leader: paused.state.body as Approval.AgentState
  }
  return Effect.flatMap(
    Approval.sign(body),
    (signed) => Effect.fail(new RunPaused({ runId: state.runId, pending: paused.pending, state: signed }))
  )
}

/** A member's pause as the team's: its requests under the member's name. */
export const underMember = (name: string, paused: RunPaused): RunPaused =>
  new RunPaused({
    runId: paused.runId,
    pending: paused.pending.map((request) => ({ ...request, path: [name, ...request.path] })),
    state: paused.state
  })
