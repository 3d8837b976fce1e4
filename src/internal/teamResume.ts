/**
 * The resume of a paused team run: the checks that are the team's own (that it paused this team, and
 * the decisions' paths under its members' names), then the run going on where it paused, in the
 * team's mode: a broadcast's waiting members, a route's member, a coordinating leader. Every member
 * (and a coordinating leader) checks the decisions for it before the team's pause is spent.
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { type AgentError, ApprovalError, RunPaused, RunTimeout } from "../AgentError.js"
import * as Approval from "../Approval.js"
import type * as Run from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type * as EventStream from "./eventStream.js"
import * as InternalLoop from "./loop.js"
import * as InternalResume from "./resume.js"
import * as InternalRunnable from "./runnable.js"
import * as InternalWorkflow from "./workflow.js"
import {
  type BroadcastResult,
  broadcastThen,
  coordinating,
  finish,
  indexOf,
  inputText,
  leaderEmit,
  reportEnd,
  routeFrom,
  runMember,
  stale,
  type TeamDefinition
} from "./team.js"
import type * as TeamOutput from "./teamOutput.js"
import * as TeamState from "./teamState.js"

type Emit = EventStream.Emit

/**
 * Resumes a paused team run: the member that waits gets the decisions under its name (their paths
 * without it), and the team goes on from there as if it had never paused.
 */
export const resume = (
  team: TeamDefinition,
  paused: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>,
  emit: Emit | undefined
): Effect.Effect<TeamOutput.Output<unknown>, TeamOutput.MemberError, unknown> =>
  Effect.flatMap(Approval.admit(paused, (body) => resumeOf(team, body, decisions, emit)), (resumed) => {
    let effect = resumed
    if (team.timeout !== undefined) {
      const timeout = team.timeout
      effect = Effect.timeoutFail(effect, { duration: timeout, onTimeout: () => new RunTimeout({ timeout }) })
    }
    return emit === undefined ? effect : Effect.tapError(effect, reportEnd(paused.body.runId, emit))
  })

/**
 * The checks of a team's resume that are its own (see `Approval.admit`): that it paused this team,
 * its member that waits, the decisions' paths; and the resumed run, to run once the pause is spent.
 */
const resumeOf = (
  team: TeamDefinition,
  body: Approval.Body,
  decisions: ReadonlyArray<Approval.Decision>,
  emit: Emit | undefined
): Effect.Effect<Effect.Effect<TeamOutput.Output<unknown>, TeamOutput.MemberError, unknown>, ApprovalError, unknown> => {
  if (body._tag === "Agent" || body._tag === "Workflow" || body.team !== team.name) {
    return Effect.fail(stale(
      `The paused run belongs to ${Approval.ownerOf(body)}, ` +
        `not to team "${team.name}": resume it with the runnable that paused it.`
    ))
  }
  if (body._tag === "Coordinate") {
    return Effect.as(checkCoordinate(team, body, decisions), resumeCoordinate(team, body, decisions, emit))
  }
  if (body._tag === "Broadcast") {
    const byMember = new Map<string, Array<Approval.Decision>>()
    for (const decision of decisions) {
      const name = decision.path[0]
      const entry = body.waiting.find((waiting) => waiting.member === name)
      const member = name === undefined ? undefined : indexOf(team.members).byName.get(name)
      if (entry === undefined || member === undefined) {
        return Effect.fail(
          new ApprovalError({
            reason: "UnknownCall",
            toolCallId: decision.toolCallId,
            message: `No call "${[...decision.path, decision.toolCallId].join("/")}" waits for a decision in this run: ` +
              `its requests are under ${body.waiting.map((waiting) => `"${waiting.member}"`).join(", ")}.`
          })
        )
      }
      const list = byMember.get(entry.member) ?? []
      list.push({ ...decision, path: decision.path.slice(1) })
      byMember.set(entry.member, list)
    }
    // Each member that gets decisions checks them before the team's pause is spent.
    const checks = body.waiting.flatMap((entry) => {
      const decided = byMember.get(entry.member)
      const member = indexOf(team.members).byName.get(entry.member)
      return decided === undefined || member === undefined ? [] : [
        Effect.flatMap(
          Approval.sign(Approval.decodeBody(entry.inner)),
          (memberState) => InternalWorkflow.checkRunnable(member.runnable, memberState, decided, body.userId)
        )
      ]
    })
    return Effect.as(Effect.all(checks, { discard: true }), resumeBroadcast(team, body, byMember, emit))
  }
  const member = indexOf(team.members).byName.get(body.member)
  if (member === undefined) {
    return Effect.fail(stale(`Team "${team.name}" has no member "${body.member}" that can resume its run.`))
  }
  const resumable = member.runnable
  const inner: Array<Approval.Decision> = []
  for (const decision of decisions) {
    if (decision.path[0] !== body.member) {
      return Effect.fail(
        new ApprovalError({
          reason: "UnknownCall",
          toolCallId: decision.toolCallId,
          message: `No call "${[...decision.path, decision.toolCallId].join("/")}" waits for a decision in this run: ` +
            `its requests are under "${body.member}".`
        })
      )
    }
    inner.push({ ...decision, path: decision.path.slice(1) })
  }
  // The member checks its decisions before the team's pause is spent.
  const check = Effect.flatMap(
    Approval.sign(body.inner),
    (memberState) => InternalWorkflow.checkRunnable(resumable, memberState, inner, body.userId)
  )
  return Effect.as(check, Effect.gen(function*() {
    const state = yield* TeamState.resumed(body, emit)
    // The team's signature covers its member's state: the member's is made again for it.
    const memberState = yield* Approval.sign(body.inner)
    const output = yield* routeFrom(team, state, body.task, [...body.leaders], { runId: body.runId }, {
      member,
      memberRunId: body.memberRunId,
      startedAt: state.startedAt + body.memberStartedAt,
      run: (nested) => resumeMember(resumable, memberState, inner, state.userId, nested)
    })
    if (emit !== undefined) yield* emit(new RunEvent.RunCompleted({ runId: body.runId, output }, true))
    return output
  }))
}

/** A member's paused run, resumed for the team's user (with the user's memory, as its run was). */
const resumeMember = (
  member: InternalRunnable.Runnable<unknown, unknown>,
  paused: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>,
  userId: string | undefined,
  emit: Emit | undefined
): Effect.Effect<Run.Output<unknown>, TeamOutput.MemberError, unknown> =>
  InternalRunnable.resume(member, paused, decisions, { userId }, emit) as Effect.Effect<
    Run.Output<unknown>,
    TeamOutput.MemberError,
    unknown
  >

/**
 * A paused broadcast team, resumed: each waiting member that has decisions resumes with them (the
 * others keep waiting), and when none waits any more the leader answers from every member's answer,
 * in the members' order, as if the team had never paused.
 */
const resumeBroadcast = (
  team: TeamDefinition,
  body: Approval.BroadcastState,
  byMember: ReadonlyMap<string, ReadonlyArray<Approval.Decision>>,
  emit: Emit | undefined
): Effect.Effect<TeamOutput.Output<unknown>, AgentError, unknown> =>
  Effect.gen(function*() {
    const state = yield* TeamState.resumed(body, emit)
    const input: Run.Input = typeof body.input === "string" ? body.input : Prompt.fromMessages(body.input)
    const text = inputText(input)
    const { byName } = indexOf(team.members)
    const resumed = yield* Effect.forEach(body.waiting, (entry) => {
      const member = byName.get(entry.member)!
      const decisions = byMember.get(entry.member)
      const memberBody = Approval.decodeBody(entry.inner)
      if (decisions === undefined) {
        // No decision for it yet: it waits on, with the same pause.
        return Effect.map(Approval.sign(memberBody), (memberState) => ({
          member,
          memberRunId: entry.memberRunId,
          result: Either.left(new RunPaused({ runId: entry.memberRunId, pending: entry.pending, state: memberState }))
        }))
      }
      const resumable = member.runnable
      return Effect.flatMap(Approval.sign(memberBody), (memberState) =>
        Effect.map(
          Effect.either(
            runMember(state, member, input, text, undefined, entry.memberRunId, (nested) =>
              resumeMember(resumable, memberState, decisions, state.userId, nested))
          ),
          (result) => ({ member, memberRunId: entry.memberRunId, result })
        ))
    }, { concurrency: team.memberConcurrency })
    // Every member's result in the members' order: the answers kept at the pause, and the resumed ones.
    const results: Array<BroadcastResult> = []
    for (const member of team.members) {
      const again = resumed.find((entry) => entry.member.name === member.name)
      if (again !== undefined) {
        results.push(again)
        continue
      }
      const memberRun = state.memberRuns.find((run) => run !== undefined && run.member === member.name)
      if (memberRun === undefined) continue
      results.push({
        member,
        memberRunId: memberRun.runId,
        result: memberRun._tag === "Completed" ? Either.right(memberRun.output) : Either.left(memberRun.error)
      })
    }
    const output = yield* broadcastThen(team, state, input, { runId: body.runId }, results)
    if (emit !== undefined) yield* emit(new RunEvent.RunCompleted({ runId: body.runId, output }, true))
    return output
  })

/**
 * A coordinating team's decisions, checked before its pause is spent: the leader's (its own calls'),
 * and those for each member paused behind a delegation, by the member, as it checks them when it
 * resumes. A refused decision leaves the team's pause waiting for a corrected one.
 */
const checkCoordinate = (
  team: TeamDefinition,
  body: Approval.CoordinateState,
  decisions: ReadonlyArray<Approval.Decision>
): Effect.Effect<void, ApprovalError, unknown> =>
  Effect.flatMap(InternalResume.checkDecisions(team.leader, body.leader, decisions), (checked) =>
    Effect.forEach(body.leader.nested ?? [], (entry) => {
      const decided = checked.nested.get(entry.toolCallId)
      const member = indexOf(team.members).byName.get(entry.name)
      // A member the team no longer has is the resume's to refuse (as `Stale`) when it resumes it.
      if (decided === undefined || member === undefined) return Effect.void
      return Effect.flatMap(
        Approval.sign(Approval.decodeBody(entry.inner)),
        (memberState) => InternalWorkflow.checkRunnable(member.runnable, memberState, decided, body.userId)
      )
    }, { discard: true }))

const resumeCoordinate = (
  team: TeamDefinition,
  body: Approval.CoordinateState,
  decisions: ReadonlyArray<Approval.Decision>,
  emit: Emit | undefined
): Effect.Effect<TeamOutput.Output<unknown>, TeamOutput.MemberError, unknown> =>
  Effect.gen(function*() {
    const state = yield* TeamState.resumed(body, emit)
    // The team's signature covers its leader's state: the leader's is made again for it.
    const leaderState = yield* Approval.sign(body.leader)
    const leader = yield* coordinating(
      team,
      state,
      InternalLoop.resume(team.leader, leaderState, decisions, leaderEmit(state, false))
    )
    const output = finish(team, state, [leader], leader, state.startedAt)
    if (emit !== undefined) yield* emit(new RunEvent.RunCompleted({ runId: body.runId, output }, true))
    return output
  })
