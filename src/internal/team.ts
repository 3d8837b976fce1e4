/**
 * The run of a team. The leader is an agent definition run by the core loop; what makes it a team
 * is around it: in coordinate mode its toolkit has a delegation tool whose handler (provided per
 * run, closing over the run's state and event emitter) runs members; in broadcast mode every member
 * runs first and the leader reads their answers; in route mode the leader answers with the name of
 * the member whose answer becomes the team's. A team that waits for decisions signs its state
 * (`teamState.ts`); its resume goes on from there (`teamResume.ts`).
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { type AgentError, ApprovalError, RunPaused, RunTimeout, type ToolError } from "../AgentError.js"
import * as Approval from "../Approval.js"
import * as Run from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type { Definition, Instructions, RunOptions } from "./definition.js"
import * as EventStream from "./eventStream.js"
import * as Executor from "./executor.js"
import * as Fast from "./fast.js"
import * as Id from "./id.js"
import * as InternalLoop from "./loop.js"
import * as InternalRunnable from "./runnable.js"
import type { Runnable } from "./runnable.js"
import * as Telemetry from "./telemetry.js"
import * as ToolCall from "./toolCall.js"
import * as TeamOutput from "./teamOutput.js"
import * as TeamState from "./teamState.js"
import type { State } from "./teamState.js"

type Emit = EventStream.Emit

export const TypeId: unique symbol = Symbol.for("effect-agents/Team")

export type Mode = "coordinate" | "route" | "broadcast"

/** A member as the team runs it: a runnable (an agent, a team, ...), under a name unique in the team. */
export interface Member {
  readonly name: string
  readonly runnable: Runnable<unknown, unknown>
}

/** The configuration of a team as its run reads it, with every default filled in. */
export interface TeamDefinition {
  readonly name: string
  readonly description: string | undefined
  readonly role: string | undefined
  readonly mode: Mode
  readonly markdown: boolean
  readonly members: ReadonlyArray<Member>
  readonly memberConcurrency: number | "unbounded"
  readonly maxDelegations: number
  readonly timeout: Duration.Duration | undefined
  /** The leader, as the core loop runs it: the team's model, instructions and (per mode) tools or output. */
  readonly leader: Definition
}

export const isTeam = (u: unknown): u is TeamDefinition => Predicate.hasProperty(u, TypeId)

// -----------------------------------------------------------------------------
// Building
// -----------------------------------------------------------------------------

/** The name of the leader's delegation tool (coordinate mode). */
export const delegateToolName = "delegate_task_to_member"

// One tool for every team: its schemas, and the codecs the loop caches for them, are built once.
const Delegate = Tool.make(delegateToolName, {
  description: "Hand a task to a member of your team and get the member's answer back. " +
    "The member sees only the task, so describe it fully. Call it several times in one turn to have " +
    "several members work at once.",
  parameters: {
    member: Schema.String.annotations({ description: "The member's name, exactly as listed" }),
    task: Schema.String.annotations({ description: "The task, with everything the member needs to know" })
  },
  success: Schema.String,
  failure: Schema.String
}).annotate(ToolCall.ReadsCallId, true)

const Delegation = Toolkit.make(Delegate)

/** The members under names unique in the team: a repeated name gets a number. */
export const members = (list: ReadonlyArray<Runnable<unknown, unknown>>): ReadonlyArray<Member> => {
  const seen = new Map<string, number>()
  return list.map((runnable) => {
    const count = (seen.get(runnable.name) ?? 0) + 1
    seen.set(runnable.name, count)
    return { name: count === 1 ? runnable.name : `${runnable.name} (${count})`, runnable }
  })
}

const roster = (members: ReadonlyArray<Member>): string =>
  "The members of your team:\n" + members.map((member) => {
    const about = member.runnable.role ?? member.runnable.description
    return about === undefined ? `- ${member.name}` : `- ${member.name}: ${about}`
  }).join("\n")

const guidance: Record<Mode, string> = {
  coordinate: `Hand tasks to members with the ${delegateToolName} tool, naming the member exactly as listed. ` +
    "A member sees only the task you give it. To have several members work at once, call the tool several " +
    "times in one turn. When they have answered, answer the user yourself from what they found.",
  route: "Choose the one member best suited to answer the user's message: that member's answer is the " +
    "team's answer. Name the member exactly as listed.",
  broadcast: "Every member answers the user's message on its own; their answers follow the message. Answer " +
    "the user with one answer that brings theirs together."
}

const withTeam = (instructions: Instructions<unknown>, team: string): Instructions<unknown> => {
  if (typeof instructions === "string") return [team, instructions]
  if (Effect.isEffect(instructions)) {
    return Effect.map(instructions, (produced) => (typeof produced === "string" ? [team, produced] : [team, ...produced]))
  }
  return [team, ...(instructions as ReadonlyArray<string>)]
}

/**
 * The leader's definition for a mode: built once per team, so a run builds no schema and no
 * instructions of its own.
 */
export const leader = (base: Definition, mode: Mode, list: ReadonlyArray<Member>): Definition => {
  if (list.length === 0) return base
  const team = `You lead a team.\n\n${roster(list)}\n\n${guidance[mode]}`
  const instructions = withTeam(base.instructions, team)
  switch (mode) {
    case "coordinate":
      return {
        ...base,
        instructions,
        toolkit: base.toolkit === undefined ? Delegation : Toolkit.merge(Delegation, base.toolkit),
        // A member that waits for approval pauses the leader's run on its delegation.
        nests: true
      }
    case "route": {
      const names = list.map((member) => member.name) as [string, ...Array<string>]
      const member = Schema.Literal(...names).annotations({
        message: (issue) => ({
          message: `There is no member called ${JSON.stringify(issue.actual)}. The members of your team are: ${
            names.join(", ")
          }.`,
          override: true
        })
      })
      return {
        ...base,
        instructions,
        output: Schema.Struct({ member }) as Schema.Schema<unknown, unknown, unknown>
      }
    }
    case "broadcast":
      return { ...base, instructions }
  }
}

// -----------------------------------------------------------------------------
// Running
// -----------------------------------------------------------------------------

/**
 * The id of a member's run: random in process; under a run executor, named by its place in the
 * team's run (the delegation's tool call, the member's index, the delegation's number).
 */
const memberRunIdOf = (state: State, member: Member, place: string | undefined): string =>
  state.placed && place !== undefined ? `${state.runId}/${member.name}/${place}` : Id.uuid()

/** The options of a team run: a run's, and the user it runs for. */
export interface TeamRunOptions extends RunOptions {
  readonly userId?: string | undefined
}

/** Runs a team to its final answer. With `emit`, every step (members' steps nested) is reported. */
export const run = (
  team: TeamDefinition,
  input: Run.Input,
  options: TeamRunOptions | undefined,
  emit: Emit | undefined
): Effect.Effect<TeamOutput.Output<unknown>, TeamOutput.MemberError, unknown> =>
  Effect.suspend(() => {
    const runId = options?.runId ?? Id.uuid()
    let effect = body(team, runId, input, options, emit)
    if (team.timeout !== undefined) {
      const timeout = team.timeout
      effect = Effect.timeoutFail(effect, { duration: timeout, onTimeout: () => new RunTimeout({ timeout }) })
    }
    if (emit !== undefined) {
      // A memory that could not be read is not an agent's failure: the run fails without the event,
      // as an agent's run in a session does when its store fails.
      effect = Effect.tapError(effect, reportEnd(runId, emit))
    }
    const sessionId = (options as { readonly sessionId?: string | undefined } | undefined)?.sessionId
    return Telemetry.invokeAgentIfTraced(effect, { name: team.name, runId, conversationId: sessionId, teamMode: team.mode })
  })

// A memory that could not be read is not an agent's failure: the run fails without the event, as an
// agent's run in a session does when its store fails. A pause ends with the pause.
export const reportEnd = (runId: string, emit: Emit) => (error: TeamOutput.MemberError): Effect.Effect<void> =>
  error._tag === "MemoryError"
    ? Effect.void
    : error._tag === "RunPaused"
    ? emit(new RunEvent.RunPaused({ runId, pending: error.pending, state: error.state }, true))
    : emit(new RunEvent.RunFailed({ runId, error }, true))

const body = (
  team: TeamDefinition,
  runId: string,
  input: Run.Input,
  options: TeamRunOptions | undefined,
  emit: Emit | undefined
): Effect.Effect<TeamOutput.Output<unknown>, TeamOutput.MemberError, unknown> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const state: State = {
      runId,
      startedAt: clock.unsafeCurrentTimeMillis(),
      clock,
      emit,
      memberRuns: [],
      delegations: 0,
      turns: 0,
      userId: options?.userId,
      placed: Executor.of(yield* Effect.context<never>()) !== undefined
    }
    if (emit !== undefined) yield* emit(new RunEvent.RunStarted({ runId, agent: team.name }, true))
    const leaderOptions: RunOptions = { runId, history: options?.history }
    let output: TeamOutput.Output<unknown>
    if (team.members.length === 0) {
      const leader = yield* InternalLoop.run(team.leader, input, leaderOptions, leaderEmit(state, false))
      output = finish(team, state, [leader], leader, state.startedAt)
    } else if (team.mode === "coordinate") {
      const leader = yield* coordinating(team, state, InternalLoop.run(team.leader, input, leaderOptions, leaderEmit(state, false)))
      output = finish(team, state, [leader], leader, state.startedAt)
    } else if (team.mode === "broadcast") {
      output = yield* broadcast(team, state, input, leaderOptions)
    } else {
      output = yield* route(team, state, input, leaderOptions)
    }
    if (emit !== undefined) yield* emit(new RunEvent.RunCompleted({ runId, output }, true))
    return output
  })

/**
 * The leader's events as the team's: the team reports its own start and end (the leader may run
 * more than once), model calls are counted across leader runs, and in route mode the leader's text
 * (its choice, as JSON) is not part of the team's answer.
 */
export const leaderEmit = (state: State, quiet: boolean): Emit | undefined => {
  const emit = state.emit
  if (emit === undefined) return undefined
  return (event) => {
    switch (event._tag) {
      case "RunStarted":
      case "RunCompleted":
      case "RunFailed":
        return Effect.void
      case "TextDelta":
        return quiet ? Effect.void : emit(event)
      case "ModelRequestStarted":
        return state.turns === 0
          ? emit(event)
          : emit(new RunEvent.ModelRequestStarted({ runId: event.runId, turn: event.turn + state.turns }, true))
      case "ModelRequestCompleted":
        return state.turns === 0 ? emit(event) : emit(
          new RunEvent.ModelRequestCompleted({
            runId: event.runId,
            turn: event.turn + state.turns,
            finishReason: event.finishReason,
            usage: event.usage,
            ...(event.model !== undefined ? { model: event.model } : {})
          }, true)
        )
      default:
        return emit(event)
    }
  }
}

/**
 * Runs one member on a task, in a run of its own (its own history, its own run id), reporting its
 * events nested in the team's. A typed failure is the member's result; a defect or an interruption
 * is the team's.
 */
export const runMember = (
  state: State,
  member: Member,
  task: Run.Input,
  taskText: string,
  toolCallId: string | undefined,
  memberRunId: string = memberRunIdOf(state, member, toolCallId),
  resumed?: (emit: Emit | undefined) => Effect.Effect<Run.Output<unknown>, TeamOutput.MemberError, unknown>
): Effect.Effect<Run.Output<unknown>, TeamOutput.MemberError, unknown> =>
  Effect.suspend(() => {
    const slot = state.memberRuns.length
    state.memberRuns.push(undefined)
    const emit = state.emit
    const record = { runId: memberRunId, member: member.name, task: taskText, ...(toolCallId !== undefined ? { toolCallId } : {}) }
    const nested: Emit | undefined = emit === undefined
      ? undefined
      : (event) => emit(new RunEvent.MemberEvent({ runId: state.runId, memberRunId, member: member.name, event }, true))
    // A member runs for the team's user (with the user's memory, when it has memory), in a run of its own.
    const effect = resumed !== undefined
      ? resumed(nested)
      : InternalRunnable.run(member.runnable, task, { runId: memberRunId, userId: state.userId }, nested) as Effect.Effect<
        Run.Output<unknown>,
        TeamOutput.MemberError,
        unknown
      >
    const tracked = Effect.tapBoth(effect, {
      onSuccess: (output) => {
        state.memberRuns[slot] = { _tag: "Completed", ...record, output }
        return emit === undefined
          ? Effect.void
          : emit(new RunEvent.MemberRunCompleted({ runId: state.runId, memberRunId, member: member.name, output }, true))
      },
      onFailure: (error) => {
        // A member that waits for approval has not failed: the team pauses with it.
        if (error._tag === "RunPaused") return Effect.void
        state.memberRuns[slot] = { _tag: "Failed", ...record, error }
        return emit === undefined
          ? Effect.void
          : emit(new RunEvent.MemberRunFailed({ runId: state.runId, memberRunId, member: member.name, error }, true))
      }
    })
    return emit === undefined || resumed !== undefined ? tracked : Effect.zipRight(
      emit(
        new RunEvent.MemberRunStarted({
          runId: state.runId,
          memberRunId,
          member: member.name,
          task: taskText,
          ...(toolCallId !== undefined ? { toolCallId } : {})
        }, true)
      ),
      tracked
    )
  })

const describeError = (error: TeamOutput.MemberError): string => `${error._tag}: ${error.message}`

// The loop names the tool call whose handler is running; that is how a delegation learns which call
// of the leader it answers.
const currentToolCallId: Effect.Effect<string | undefined> = FiberRef.get(ToolCall.currentToolCallId)

interface Index {
  readonly byName: ReadonlyMap<string, Member>
  readonly names: string
}

// Worked out once per team, not per run.
export const indexOf = Fast.weak((members: ReadonlyArray<Member>): Index => ({
  byName: new Map(members.map((member) => [member.name, member])),
  names: members.map((member) => member.name).join(", ")
}))

/** The handler of the leader's delegation tool, for one team run. */
const delegate = (team: TeamDefinition, state: State) => {
  const { byName, names } = indexOf(team.members)
  return ({ member: name, task }: { readonly member: string; readonly task: string }) => {
    const member = byName.get(name)
    if (member === undefined) {
      return Effect.fail(`There is no member called "${name}". The members of your team are: ${names}.`)
    }
    if (state.delegations >= team.maxDelegations) {
      return Effect.fail(
        `This run has made all the ${team.maxDelegations} delegations it may make. Answer with what you have.`
      )
    }
    state.delegations++
    return currentToolCallId.pipe(
      Effect.flatMap((toolCallId) => runMember(state, member, task, task, toolCallId)),
      Effect.map((output) => output.text),
      Effect.catchAll((error): Effect.Effect<never, RunPaused | string> =>
        error._tag === "RunPaused"
          ? Effect.fail(TeamState.underMember(member.name, error))
          : Effect.fail(`${member.name} could not do the task: ${describeError(error)}`)
      )
    ) as Effect.Effect<string, string>
  }
}

export const inputText = (input: Run.Input): string => Run.lastUserText(input) ?? ""

const broadcast = (
  team: TeamDefinition,
  state: State,
  input: Run.Input,
  leaderOptions: RunOptions
): Effect.Effect<TeamOutput.Output<unknown>, AgentError, unknown> =>
  Effect.gen(function*() {
    const text = inputText(input)
    const results = yield* Effect.forEach(
      team.members,
      (member, index) => {
        const memberRunId = memberRunIdOf(state, member, String(index))
        return Effect.map(
          Effect.either(runMember(state, member, input, text, undefined, memberRunId)),
          (result) => ({ member, memberRunId, result })
        )
      },
      { concurrency: team.memberConcurrency }
    )
    return yield* broadcastThen(team, state, input, leaderOptions, results)
  })

export interface BroadcastResult {
  readonly member: Member
  readonly memberRunId: string
  readonly result: Either.Either<Run.Output<unknown>, TeamOutput.MemberError>
}

/**
 * With every member's result: when some wait for decisions the team pauses with them (the others'
 * answers kept); otherwise the leader answers from theirs.
 */
export const broadcastThen = (
  team: TeamDefinition,
  state: State,
  input: Run.Input,
  leaderOptions: RunOptions,
  results: ReadonlyArray<BroadcastResult>
): Effect.Effect<TeamOutput.Output<unknown>, AgentError, unknown> =>
  Effect.gen(function*() {
    const waiting = results.flatMap(({ member, memberRunId, result }) =>
      result._tag === "Left" && result.left._tag === "RunPaused" ? [{ member, memberRunId, paused: result.left }] : []
    )
    if (waiting.length > 0) return yield* TeamState.pauseBroadcast(team, state, input, waiting)
    const answers = results.map(({ member, result }) =>
      result._tag === "Right"
        ? `### ${member.name}\n${result.right.text}`
        : `### ${member.name} (could not answer)\n${describeError(result.left)}`
    ).join("\n\n")
    const note = `The answers of your team's members:\n\n${answers}`
    const leaderInput: Run.Input = typeof input === "string" ? `${input}\n\n${note}` : Prompt.merge(Prompt.make(input), note)
    const leaderStartedAt = state.clock.unsafeCurrentTimeMillis()
    const leader = yield* InternalLoop.run(team.leader, leaderInput, leaderOptions, leaderEmit(state, false))
    return finish(team, state, [leader], leader, leaderStartedAt)
  })

const route = (
  team: TeamDefinition,
  state: State,
  input: Run.Input,
  leaderOptions: RunOptions
): Effect.Effect<TeamOutput.Output<unknown>, TeamOutput.MemberError, unknown> =>
  routeFrom(team, state, input, [], leaderOptions, undefined)

/** A member run that paused, resumed: it goes on where the team's route left it. */
interface ResumedMember {
  readonly member: Member
  readonly memberRunId: string
  readonly startedAt: number
  readonly run: (emit: Emit | undefined) => Effect.Effect<Run.Output<unknown>, TeamOutput.MemberError, unknown>
}

export const routeFrom = (
  team: TeamDefinition,
  state: State,
  input: Run.Input,
  leaders: Array<Run.Output<unknown>>,
  leaderOptions: RunOptions,
  resumed: ResumedMember | undefined
): Effect.Effect<TeamOutput.Output<unknown>, TeamOutput.MemberError, unknown> =>
  Effect.gen(function*() {
    const text = inputText(input)
    const { byName } = indexOf(team.members)
    const emit = leaderEmit(state, true)
    let ask: Run.Input = input
    let options = leaderOptions
    let next = resumed
    for (;;) {
      let leader: Run.Output<unknown>
      let member: Member
      let startedAt: number
      let memberRunId: string
      let result: Either.Either<Run.Output<unknown>, TeamOutput.MemberError>
      if (next !== undefined) {
        leader = leaders[leaders.length - 1]!
        member = next.member
        memberRunId = next.memberRunId
        startedAt = next.startedAt
        result = yield* Effect.either(runMember(state, member, input, text, undefined, memberRunId, next.run))
        next = undefined
      } else {
        leader = yield* InternalLoop.run(team.leader, ask, options, emit)
        leaders.push(leader)
        state.turns += leader.metrics.modelCalls
        // The leader's output schema admits only the members' names.
        member = byName.get((leader.content as { readonly member: string }).member)!
        state.delegations++
        memberRunId = memberRunIdOf(state, member, String(state.delegations))
        startedAt = state.clock.unsafeCurrentTimeMillis()
        result = yield* Effect.either(runMember(state, member, input, text, undefined, memberRunId))
      }
      if (result._tag === "Right") return finish(team, state, leaders, leader, startedAt, result.right)
      if (result.left._tag === "RunPaused") {
        return yield* TeamState.pauseRoute(team, state, text, leaders, member, memberRunId, startedAt, result.left)
      }
      if (state.delegations >= team.maxDelegations) return yield* Effect.fail(result.left)
      // Ask again, with the conversation so far: the leader may choose another member.
      const messages = leader.messages
      options = { runId: state.runId, history: messages[0]?.role === "system" ? messages.slice(1) : messages }
      ask = `${member.name} could not answer: ${describeError(result.left)}\nChoose another member.`
    }
  })

/**
 * A coordinating leader's run (a new one, or a resumed one): with its delegation's tools, its pause a
 * pause of the team, and a member that died a defect of the team (the loop reports a tool that died
 * as a ToolError).
 */
export const coordinating = (
  team: TeamDefinition,
  state: State,
  leader: Effect.Effect<Run.Output<unknown>, AgentError, unknown>
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> =>
  Effect.flatMap(coordinateHandlers(team, state), (handlers) =>
    leader.pipe(
      Effect.provide(handlers),
      Effect.catchIf(
        (error): error is RunPaused => error._tag === "RunPaused",
        (paused) => TeamState.pauseCoordinate(team, state, paused)
      ),
      Effect.catchIf(
        (error): error is ToolError => error._tag === "ToolError" && error.tool === delegateToolName,
        (error) => Effect.die(error.cause)
      )
    ))

/** The leader's tools in coordinate mode: its delegation, and resuming a delegation whose member paused. */
export const coordinateHandlers = (team: TeamDefinition, state: State): Effect.Effect<Context.Context<never>> =>
  Effect.map(
    Delegation.toContext({ [delegateToolName]: delegate(team, state) }),
    (handlers) =>
      Context.add(handlers as Context.Context<never>, InternalLoop.NestedResume, (nested, call, decisions, run): Effect.Effect<
        ToolCall.Outcome,
        AgentError
      > => {
        const { byName } = indexOf(team.members)
        const member = byName.get(nested.name)
        if (member === undefined) {
          return Effect.fail(stale(`Team "${team.name}" has no member "${nested.name}" that can resume its run.`))
        }
        const resumable = member.runnable
        const task = String((call.params as { readonly task?: unknown } | undefined)?.task ?? "")
        return Effect.flatMap(Approval.sign(Approval.decodeBody(nested.inner)), (memberState): Effect.Effect<
          ToolCall.Outcome,
          AgentError,
          unknown
        > =>
          // For the team's user, as the member's run was.
          runMember(state, member, task, task, call.id, nested.runId, (emit) =>
            InternalRunnable.resume(resumable, memberState, decisions, { userId: state.userId }, emit) as Effect.Effect<
              Run.Output<unknown>,
              TeamOutput.MemberError,
              unknown
            >).pipe(
              Effect.matchEffect({
                onSuccess: (output) => ToolCall.settledLater(call, run, output.text, false),
                onFailure: (error) =>
                  error._tag === "RunPaused"
                    ? Effect.fail(TeamState.underMember(member.name, error))
                    : ToolCall.settledLater(call, run, `${member.name} could not do the task: ${describeError(error)}`, true)
              })
            )) as Effect.Effect<ToolCall.Outcome, AgentError>
      })
  )

export const stale = (message: string) => new ApprovalError({ reason: "Stale", message })

// -----------------------------------------------------------------------------
// The output
// -----------------------------------------------------------------------------

/**
 * The team's output. Totals are the leader's plus every finished member run's (a member that is a
 * team counts with its own totals), so they add up; the duration is the team's own, from start to end.
 * `answer` is the member run that gave the answer (route mode), which started at `answerStartedAt`.
 */
export const finish = (
  team: TeamDefinition,
  state: State,
  leaders: ReadonlyArray<Run.Output<unknown>>,
  last: Run.Output<unknown>,
  answerStartedAt: number,
  answer?: Run.Output<unknown>
): TeamOutput.Output<unknown> => {
  const now = state.clock.unsafeCurrentTimeMillis()
  const leaderMetrics = leaders.length === 1 ? leaders[0]!.metrics : sum(leaders)
  let totals = leaderMetrics
  const memberRuns: Array<TeamOutput.MemberRun> = []
  const byMember = new Map<string, Run.Metrics>()
  for (const memberRun of state.memberRuns) {
    if (memberRun === undefined) continue
    memberRuns.push(memberRun)
    if (memberRun._tag === "Failed") continue
    const metrics = memberRun.output.metrics
    totals = Run.combineMetrics(totals, metrics)
    const own = byMember.get(memberRun.member)
    byMember.set(memberRun.member, own === undefined ? metrics : Run.combineMetrics(own, metrics))
  }
  // A member's metrics are the sum of its runs, with no time to a first token of the team's.
  const memberMetrics: Record<string, Run.Metrics> = {}
  for (const [member, { timeToFirstToken: _, ...own }] of byMember) memberMetrics[member] = own
  const author = answer ?? last
  const firstToken = author.metrics.timeToFirstToken
  const toolCalls = leaders.length === 1 ? last.toolCalls : leaders.flatMap((leader) => leader.toolCalls)
  const model = author.model
  return {
    runId: state.runId,
    agent: team.name,
    content: author.content,
    text: author.text,
    messages: last.messages,
    toolCalls,
    finishReason: author.finishReason,
    ...(model !== undefined ? { model } : {}),
    metrics: withTiming(
      totals,
      now - state.startedAt,
      firstToken === undefined ? undefined : answerStartedAt - state.startedAt + Duration.toMillis(firstToken)
    ),
    memberRuns,
    leaderMetrics,
    memberMetrics
  }
}

// Several leader runs (route mode asks again after a failed member) add up to the leader's metrics.
const sum = (outputs: ReadonlyArray<Run.Output<unknown>>): Run.Metrics =>
  outputs.reduce((total, output) => Run.combineMetrics(total, output.metrics), Run.emptyMetrics)

// The team's totals, with the team's own duration and time to its first token.
const withTiming = (totals: Run.Metrics, duration: number, timeToFirstToken: number | undefined): Run.Metrics => {
  const { timeToFirstToken: _, ...tallies } = totals
  return {
    ...tallies,
    ...(timeToFirstToken !== undefined ? { timeToFirstToken: Duration.millis(timeToFirstToken) } : {}),
    duration: Duration.millis(duration)
  }
}
