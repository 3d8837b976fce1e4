/** Running an agent's guardrails (see `Guardrail`): one stage's at once, the first block winning. */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import { GuardrailTripped } from "../AgentError.js"
import type * as Guardrail from "../Guardrail.js"

type Any = Guardrail.Guardrail<Guardrail.Stage, any, unknown>

/** An agent's guardrails by where they stand, worked out once per agent. */
export interface Guardrails {
  readonly input: ReadonlyArray<Any>
  /** On the final answer: every output guardrail. */
  readonly output: ReadonlyArray<Any>
  /** On the streaming text: the output guardrails made with `streaming: true`. */
  readonly streaming: ReadonlyArray<Any>
  readonly tool: ReadonlyArray<Any>
}

export const fromList = (list: ReadonlyArray<Guardrail.Any<unknown>> | undefined): Guardrails | undefined => {
  if (list === undefined || list.length === 0) return undefined
  const input = list.filter((g) => g.stage === "input")
  const output = list.filter((g) => g.stage === "output")
  const tool = list.filter((g) => g.stage === "tool")
  return { input, output, streaming: output.filter((g) => g.streaming), tool }
}

type TrippedStage = GuardrailTripped["stage"]

class TimedOut {
  readonly _tag = "GuardrailTimedOut"
}

const tripped = (guardrail: Any, stage: TrippedStage, reason: string, tool: string | undefined) =>
  new GuardrailTripped(
    tool === undefined ? { guardrail: guardrail.name, stage, reason } : { guardrail: guardrail.name, stage, reason, tool }
  )

const describe = (error: unknown): string =>
  Predicate.hasProperty(error, "message") && typeof error.message === "string" ? error.message : String(error)

/** One guardrail's verdict; a failure or a timeout is a block unless it fails open. */
const one = <A>(
  guardrail: Any,
  value: A,
  stage: TrippedStage,
  tool: string | undefined
): Effect.Effect<Guardrail.Verdict<A>, GuardrailTripped> => {
  let effect: Effect.Effect<Guardrail.Verdict<A>, unknown> = Effect.suspend(() => guardrail.check(value)) as Effect.Effect<
    Guardrail.Verdict<A>,
    unknown
  >
  const timeout = guardrail.timeout
  if (timeout !== undefined) effect = Effect.timeoutFail(effect, { duration: timeout, onTimeout: () => new TimedOut() })
  return Effect.matchCauseEffect(effect, {
    onSuccess: (verdict) =>
      verdict._tag === "Block" ? Effect.fail(tripped(guardrail, stage, verdict.reason, tool)) : Effect.succeed(verdict),
    onFailure: (cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      if (guardrail.failOpen) return Effect.succeed({ _tag: "Pass" } as const)
      const error = Cause.squash(cause)
      return Effect.fail(tripped(
        guardrail,
        stage,
        error instanceof TimedOut
          ? `The guardrail did not decide within ${Duration.format(timeout!)}, so it blocked (it fails closed).`
          : `The guardrail failed, so it blocked (it fails closed): ${describe(error)}`,
        tool
      ))
    }
  })
}

/**
 * Runs guardrails on a value, all at once: the first block fails with `GuardrailTripped` and
 * interrupts the others. Otherwise the value, rewritten by those that rewrite it (in order). With
 * `rewritten`, a rewrite is checked before it is passed on: a rewrite it turns down (with what is
 * wrong) blocks, in the name of the guardrail that made it.
 */
export const check = <A>(
  guardrails: ReadonlyArray<Any>,
  value: A,
  stage: TrippedStage,
  tool?: string,
  rewritten?: (value: A) => string | undefined
): Effect.Effect<A, GuardrailTripped> => {
  if (guardrails.length === 0) return Effect.succeed(value)
  const verdicts = guardrails.length === 1
    ? Effect.map(one(guardrails[0]!, value, stage, tool), (verdict) => [verdict])
    : Effect.all(guardrails.map((guardrail) => one(guardrail, value, stage, tool)), { concurrency: "unbounded" })
  return Effect.flatMap(verdicts, (all) => {
    let result = value
    for (let i = 0; i < all.length; i++) {
      const verdict = all[i]!
      if (verdict._tag !== "Rewrite") continue
      const problem = rewritten?.(verdict.value)
      if (problem !== undefined) return Effect.fail(tripped(guardrails[i]!, stage, problem, tool))
      result = verdict.value
    }
    return Effect.succeed(result)
  })
}
