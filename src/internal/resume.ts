/**
 * The check of an agent's resume, before anything runs: the state's signature, the agent it belongs
 * to, the decisions against the pending calls (edited arguments and answers decoded with the tool's
 * schemas); then the pause is spent. The loop checks the decisions again when it restores the run.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import { ApprovalError, type RunPaused } from "../AgentError.js"
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
): Effect.Effect<Checked, ApprovalError> => Approval.admit(state, (body) => checkDecisions(agent, body, decisions))

/**
 * The checks of an agent's resume that are its own, on a state already verified: the agent, the
 * decisions. A coordinating team checks its leader's with them before the team's pause is spent.
 */
export const checkDecisions = (
  agent: Definition,
  body: Approval.Body,
  decisions: ReadonlyArray<Approval.Decision>
): Effect.Effect<Checked, ApprovalError> => {
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
}

/**
 * The first decision of a resume that the paused run cannot use: one on a call that does not wait in
 * this run, or one of the wrong kind for its request (see `Approval.wrongKind`). The resume's check
 * refuses these before the pause is spent; the loop refuses them again rather than run a question's
 * handler, or settle a call that waits for approval with an answer.
 */
export const unusable = (body: Approval.AgentState, decided: ReadonlyArray<Decided>): ApprovalError | undefined => {
  for (const d of decided) {
    const request = body.pending.find((r) => r.path.length === 0 && r.toolCallId === d.call.id)
    if (request === undefined || !body.calls.some((call) => call.id === d.call.id)) {
      return new ApprovalError({
        reason: "UnknownCall",
        toolCallId: d.call.id,
        message: `No call "${d.call.id}" waits for a decision in this run. ` +
          `Waiting: ${body.pending.map((r) => r.toolCallId).join(", ") || "none"}.`
      })
    }
    const decision: Approval.Decision = d.rejection !== undefined
      ? Approval.reject(d.call.id, d.rejection)
      : d.answer !== undefined
      ? Approval.answer(d.call.id, d.answer.right)
      : Approval.approve(d.call.id)
    const wrong = Approval.wrongKind(request, decision)
    if (wrong !== undefined) return wrong
  }
  return undefined
}

/**
 * A pause inside a call, as the paused state keeps it (see `Approval.Nested`): its requests, already
 * named by the run that paused (a team's member), and that run's state, encoded.
 */
export const nestedOf = (toolCallId: string, name: string, paused: RunPaused) => ({
  entry: {
    toolCallId,
    name: paused.pending[0]?.path[0] ?? name,
    runId: paused.runId,
    inner: Approval.encodeBody(paused.state.body)
  } satisfies Approval.Nested,
  pending: paused.pending
})
