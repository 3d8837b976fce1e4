/**
 * The check of an agent's resume, before anything runs: the state's signature, the agent it belongs
 * to, the decisions against the pending calls (edited arguments and answers decoded with the tool's
 * schemas); then the pause is spent.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import { ApprovalError } from "../AgentError.js"
import * as Approval from "../Approval.js"
import type { Definition } from "./definition.js"
import type * as ModelCall from "./modelCall.js"
import * as ToolCall from "./toolCall.js"

/** A decision on a call of the paused turn, checked. */
export interface Decided {
  readonly call: ModelCall.ToolCallRequest
  /** The reason of a rejection; `undefined` for an approval. */
  readonly rejection: string | undefined
  /** A question's answer, encoded as the tool's result: the call settles with it and is not run. */
  readonly answer?: Either.Right<ParseResult.ParseError, unknown> | undefined
}

/** A resume, checked: the paused state and the decisions the run goes on with. */
export interface Checked {
  readonly body: Approval.AgentState
  readonly decided: ReadonlyArray<Decided>
  /** Decisions for the runs paused inside calls, by the call's id, their paths without the call's name. */
  readonly nested: ReadonlyMap<string, ReadonlyArray<Approval.Decision>>
}

/**
 * Checks a resume before anything runs (see `Approval.admit`): the signature, the agent, the
 * decisions; then spends the pause.
 */
export const checkResume = (
  agent: Definition,
  state: Approval.State,
  decisions: ReadonlyArray<Approval.Decision>
): Effect.Effect<Checked, ApprovalError> =>
  Approval.admit(state, (body) => {
    if (body._tag !== "Agent" || body.agent !== agent.name) {
      return Effect.fail(
        new ApprovalError({
          reason: "Stale",
          message: `The paused run belongs to ${Approval.ownerOf(body)}, ` +
            `not to "${agent.name}": resume it with the runnable that paused it.`
        })
      )
    }
    const decided: Array<Decided> = []
    const nested = new Map<string, Array<Approval.Decision>>()
    const seen = new Set<string>()
    for (const decision of decisions) {
      const key = [...decision.path, decision.toolCallId].join("/")
      const request = body.pending.find((r) =>
        r.toolCallId === decision.toolCallId && r.path.length === decision.path.length &&
        r.path.every((name, i) => decision.path[i] === name)
      )
      const inside = decision.path.length === 0 ? undefined : body.nested?.find((entry) => entry.name === decision.path[0])
      if (request === undefined || seen.has(key) || (decision.path.length > 0 && inside === undefined)) {
        return Effect.fail(
          new ApprovalError({
            reason: "UnknownCall",
            toolCallId: decision.toolCallId,
            message: seen.has(key)
              ? `Two decisions were given for tool call "${key}": give one.`
              : `No call "${[...decision.path, decision.toolCallId].join("/")}" waits for a decision in this run. ` +
                `Waiting: ${body.pending.map((r) => r.toolCallId).join(", ") || "none"}.`
          })
        )
      }
      seen.add(key)
      if (inside !== undefined) {
        const list = nested.get(inside.toolCallId) ?? []
        list.push({ ...decision, path: decision.path.slice(1) })
        nested.set(inside.toolCallId, list)
        continue
      }
      const call = body.calls.find((c) => c.id === decision.toolCallId)!
      if (decision._tag === "Reject") {
        decided.push({ call: { ...call, providerExecuted: false }, rejection: decision.reason })
        continue
      }
      const wrong = Approval.wrongKind(request, decision)
      if (wrong !== undefined) return Effect.fail(wrong)
      if (decision._tag === "Answer") {
        const tool = ToolCall.toolOf(agent, call.name)
        const result = tool === undefined ? undefined : ToolCall.decodeAnswer(tool, decision.value)
        if (result === undefined || Either.isLeft(result)) {
          return Effect.fail(
            new ApprovalError({
              reason: "InvalidArguments",
              toolCallId: call.id,
              message: `The answer to "${call.name}" does not match its result's schema${
                result === undefined ? "" : `:\n${ParseResult.TreeFormatter.formatErrorSync(result.left)}`
              }\nAnswer again with a value that does.`
            })
          )
        }
        decided.push({ call: { ...call, providerExecuted: false }, rejection: undefined, answer: result })
        continue
      }
      if (decision.arguments === undefined) {
        decided.push({ call: { ...call, providerExecuted: false }, rejection: undefined })
        continue
      }
      const tool = ToolCall.toolOf(agent, call.name)
      const params = tool === undefined ? undefined : ToolCall.decodeArguments(tool, decision.arguments)
      if (params !== undefined && Either.isLeft(params)) {
        return Effect.fail(
          new ApprovalError({
            reason: "InvalidArguments",
            toolCallId: call.id,
            message: `The edited arguments of "${call.name}" do not match its parameters:\n${
              ParseResult.TreeFormatter.formatErrorSync(params.left)
            }\nDecide again with arguments that do.`
          })
        )
      }
      decided.push({ call: { ...call, params: decision.arguments, providerExecuted: false }, rejection: undefined })
    }
    return Effect.succeed({ body, decided, nested })
  })
