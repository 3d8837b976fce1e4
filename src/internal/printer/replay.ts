/**
 * A finished run told as its stream would have told it: each model call's text, then its tool calls,
 * and a team's member runs where they happened. The printer replays a run that was not streamed with
 * these steps, through the same screen as a streamed one.
 */
import type * as Prompt from "@effect/ai/Prompt"
import type * as Run from "../../Run.js"
import * as TeamOutput from "../teamOutput.js"
import { json } from "./format.js"
import type { ToolView } from "./tools.js"

/** What a member section shows: the member's answer, or its typed error. */
export type MemberView =
  | { readonly _tag: "Completed"; readonly output: Run.Output<unknown> }
  | { readonly _tag: "Failed"; readonly error: TeamOutput.MemberError }

/** One thing a finished run did, as an event of its stream would report it. */
export type Step =
  | { readonly _tag: "Text"; readonly text: string; readonly markdown: boolean | undefined }
  | { readonly _tag: "TurnEnded" }
  | { readonly _tag: "Tool"; readonly call: ToolView; readonly delegated: boolean }
  | { readonly _tag: "Member"; readonly path: ReadonlyArray<string>; readonly run: MemberView }

/** The run's answer as text: a structured answer as indented JSON, not read as markdown. */
export const finalText = (output: Run.Output<unknown>): { readonly text: string; readonly markdown: boolean | undefined } =>
  typeof output.content === "string"
    ? { text: output.content, markdown: undefined }
    : { text: json(output.content, 2), markdown: false }

/** A member run's section, after the sections of its own members (a member team's), as they finish. */
const memberSteps = (path: ReadonlyArray<string>, run: TeamOutput.MemberRun, into: Array<Step>): void => {
  if (run._tag === "Completed" && TeamOutput.isOutput(run.output)) {
    for (const inner of run.output.memberRuns) memberSteps([...path, inner.member], inner, into)
  }
  into.push({ _tag: "Member", path, run })
}

const textOf = (message: Prompt.Message): string =>
  typeof message.content === "string"
    ? message.content
    : (message.content as ReadonlyArray<Prompt.Part>).flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")

/**
 * The steps of a finished run, in the order the events of a streamed run would report them: each
 * model call's text, then its tool calls. The run's own model calls are the last
 * `metrics.modelCalls` assistant messages (a team's: its leader's); the conversation before them is
 * history. A team's member runs come where they happened: before the delegation that started them,
 * or first, when the team gave every member the message (broadcast) or routed it to one. When the
 * answer is not the leader's own (a routed team), the leader's text is not shown, as in a stream.
 */
export const steps = (output: Run.Output<unknown>): ReadonlyArray<Step> => {
  const team = TeamOutput.isOutput(output) ? output : undefined
  const modelCalls = team === undefined ? output.metrics.modelCalls : team.leaderMetrics.modelCalls
  const assistant = output.messages.filter((message) => message.role === "assistant")
  const turns = assistant.slice(Math.max(0, assistant.length - modelCalls))
  const result: Array<Step> = []
  const delegations = new Map<string, Array<TeamOutput.MemberRun>>()
  if (team !== undefined) {
    const calls = new Set(output.toolCalls.map((call) => call.id))
    for (const run of team.memberRuns) {
      if (run.toolCallId !== undefined && calls.has(run.toolCallId)) {
        const runs = delegations.get(run.toolCallId)
        if (runs === undefined) delegations.set(run.toolCallId, [run])
        else runs.push(run)
      } else {
        memberSteps([run.member], run, result)
      }
    }
  }
  const final: Step = { _tag: "Text", ...finalText(output) }
  const own = turns.length === 0 || team === undefined || textOf(turns[turns.length - 1]!) === output.text
  const view = (call: Run.ToolCall): void => {
    const runs = delegations.get(call.id)
    if (runs !== undefined) for (const run of runs) memberSteps([run.member], run, result)
    result.push({ _tag: "Tool", call: { ...call, failure: call.failure }, delegated: runs !== undefined })
  }
  let next = 0
  turns.forEach((turn, index) => {
    const text = textOf(turn)
    if (index === turns.length - 1) result.push(final)
    else if (text.length > 0 && own) result.push({ _tag: "Text", text, markdown: undefined })
    result.push({ _tag: "TurnEnded" })
    for (const part of turn.content as ReadonlyArray<Prompt.AssistantMessagePart>) {
      if (part.type === "tool-call" && !part.providerExecuted && next < output.toolCalls.length) {
        view(output.toolCalls[next++]!)
      }
    }
  })
  if (turns.length === 0) result.push(final)
  while (next < output.toolCalls.length) view(output.toolCalls[next++]!)
  return result
}
