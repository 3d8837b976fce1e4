/**
 * What a workflow step is, and the steps that do work or chain other steps: a plain Effect
 * ({@link step}), an agent, a team or any runnable ({@link agent}), steps one after the other
 * ({@link sequence}, {@link andThen}), and a step's output reshaped ({@link map}, {@link withInput}).
 *
 * Every name here is also `Workflow`'s (`Workflow.step`, `Workflow.Step`): import it from there.
 *
 * @since 0.3.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import * as Internal from "./internal/workflow.js"
import type * as Run from "./Run.js"
import type * as Runnable from "./Runnable.js"

/**
 * @since 0.3.0
 * @category type ids
 */
export const StepTypeId: typeof Internal.StepTypeId = Internal.StepTypeId

/**
 * @since 0.3.0
 * @category type ids
 */
export type StepTypeId = typeof StepTypeId


/**
 * A step that takes an `I`, gives an `O`, may fail with `E` and needs `R`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Step<I, O, E = never, R = never> extends Pipeable {
  readonly [StepTypeId]: {
    readonly _I: (_: I) => void
    readonly _O: (_: never) => O
    readonly _E: (_: never) => E
    readonly _R: (_: never) => R
  }
  /** Shown in the step's events and in the workflow's output. */
  readonly name: string
  /** `agent`, `effect`, `sequence`, `parallel`, `condition`, `loop`, `router`, `signal`, `approval` or `workflow`. */
  readonly kind: string
  /** What it does: a router's model reads it when choosing. */
  readonly description: string | undefined
}

/**
 * Any step.
 *
 * @since 0.3.0
 * @category models
 */
export type Any = Step<any, any, any, any>

/**
 * The input of a step (of several steps: what each of them accepts).
 *
 * @since 0.3.0
 * @category models
 */
export type Input<S> = [S] extends [Step<infer I, infer _O, infer _E, infer _R>] ? I : never

/**
 * The output of a step (of several steps: any of theirs).
 *
 * @since 0.3.0
 * @category models
 */
export type Output<S> = S extends Step<infer _I, infer O, infer _E, infer _R> ? O : never

/**
 * The errors of a step.
 *
 * @since 0.3.0
 * @category models
 */
export type Error<S> = S extends Step<infer _I, infer _O, infer E, infer _R> ? E : never

/**
 * The requirements of a step.
 *
 * @since 0.3.0
 * @category models
 */
export type Context<S> = S extends Step<infer _I, infer _O, infer _E, infer R> ? R : never

/**
 * @since 0.3.0
 * @category guards
 */
export const isStep = (u: unknown): u is Any => Predicate.hasProperty(u, StepTypeId)

/**
 * A step that is a plain Effect of its input.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "effect-agents"
 *
 * // Step<string, number>
 * const length = Workflow.step("length", (text: string) => Effect.succeed(text.length))
 * ```
 */
export const step = <I, O, E = never, R = never>(
  name: string,
  run: (input: I) => Effect.Effect<O, E, R>,
  options?: { readonly description?: string | undefined }
): Step<I, O, E, R> =>
  Internal.makeNode(name, "effect", options?.description, (input: I) => run(input), { shape: "leaf" }) as unknown as Step<I, O, E, R>

/**
 * A step that runs an agent, a team or any runnable, and gives its answer. Without `prompt` the
 * step's input is the runnable's input (a string, usually the previous step's text); with it, the
 * step takes any input and `prompt` says what to ask. The runnable's run is in the workflow's
 * output (`steps`), and its events are nested in the workflow's.
 *
 * @since 0.3.0
 * @category constructors
 */
export const agent: {
  <A, R>(
    runnable: Runnable.Runnable<A, R>,
    options?: { readonly name?: string | undefined; readonly description?: string | undefined }
  ): Step<Run.Input, A, Runnable.Errors<R, {}>, R>
  <I, A, R>(
    runnable: Runnable.Runnable<A, R>,
    prompt: (input: I) => Run.Input,
    options?: { readonly name?: string | undefined; readonly description?: string | undefined }
  ): Step<I, A, Runnable.Errors<R, {}>, R>
} = (
  runnable: Runnable.Runnable<unknown, unknown>,
  promptOrOptions?: ((input: unknown) => Run.Input) | { readonly name?: string | undefined; readonly description?: string | undefined },
  maybeOptions?: { readonly name?: string | undefined; readonly description?: string | undefined }
): any => {
  const prompt = typeof promptOrOptions === "function" ? promptOrOptions : Internal.promptOf
  const options = typeof promptOrOptions === "function" ? maybeOptions : promptOrOptions
  const name = options?.name ?? runnable.name
  return Internal.makeNode(
    name,
    runnable.kind === "workflow" ? "workflow" : runnable.kind,
    options?.description ?? runnable.role ?? runnable.description,
    (input: unknown, at) => Effect.map(Internal.runRunnable(runnable, prompt(input), at, name), (output) => output.content),
    {
      shape: "leaf",
      resume: (paused, decisions, at) =>
        Effect.map(Internal.resumeRunnable(runnable, paused, decisions, at, name), (output) => output.content),
      check: (paused, decisions, userId) => Internal.checkRunnable(runnable, paused, decisions, userId)
    }
  )
}

/**
 * Steps one after the other: each step's output is the next one's input (the types must match),
 * and the last one's is the sequence's.
 *
 * @since 0.3.0
 * @category combinators
 */
export const sequence: {
  <I, A, E1, R1>(s1: Step<I, A, E1, R1>): Step<I, A, E1, R1>
  <I, A, B, E1, E2, R1, R2>(s1: Step<I, A, E1, R1>, s2: Step<A, B, E2, R2>): Step<I, B, E1 | E2, R1 | R2>
  <I, A, B, C, E1, E2, E3, R1, R2, R3>(
    s1: Step<I, A, E1, R1>,
    s2: Step<A, B, E2, R2>,
    s3: Step<B, C, E3, R3>
  ): Step<I, C, E1 | E2 | E3, R1 | R2 | R3>
  <I, A, B, C, D, E1, E2, E3, E4, R1, R2, R3, R4>(
    s1: Step<I, A, E1, R1>,
    s2: Step<A, B, E2, R2>,
    s3: Step<B, C, E3, R3>,
    s4: Step<C, D, E4, R4>
  ): Step<I, D, E1 | E2 | E3 | E4, R1 | R2 | R3 | R4>
  <I, A, B, C, D, F, E1, E2, E3, E4, E5, R1, R2, R3, R4, R5>(
    s1: Step<I, A, E1, R1>,
    s2: Step<A, B, E2, R2>,
    s3: Step<B, C, E3, R3>,
    s4: Step<C, D, E4, R4>,
    s5: Step<D, F, E5, R5>
  ): Step<I, F, E1 | E2 | E3 | E4 | E5, R1 | R2 | R3 | R4 | R5>
  <I, A, B, C, D, F, G, E1, E2, E3, E4, E5, E6, R1, R2, R3, R4, R5, R6>(
    s1: Step<I, A, E1, R1>,
    s2: Step<A, B, E2, R2>,
    s3: Step<B, C, E3, R3>,
    s4: Step<C, D, E4, R4>,
    s5: Step<D, F, E5, R5>,
    s6: Step<F, G, E6, R6>
  ): Step<I, G, E1 | E2 | E3 | E4 | E5 | E6, R1 | R2 | R3 | R4 | R5 | R6>
  <I, A, B, C, D, F, G, H, E1, E2, E3, E4, E5, E6, E7, R1, R2, R3, R4, R5, R6, R7>(
    s1: Step<I, A, E1, R1>,
    s2: Step<A, B, E2, R2>,
    s3: Step<B, C, E3, R3>,
    s4: Step<C, D, E4, R4>,
    s5: Step<D, F, E5, R5>,
    s6: Step<F, G, E6, R6>,
    s7: Step<G, H, E7, R7>
  ): Step<I, H, E1 | E2 | E3 | E4 | E5 | E6 | E7, R1 | R2 | R3 | R4 | R5 | R6 | R7>
  <I, A, B, C, D, F, G, H, J, E1, E2, E3, E4, E5, E6, E7, E8, R1, R2, R3, R4, R5, R6, R7, R8>(
    s1: Step<I, A, E1, R1>,
    s2: Step<A, B, E2, R2>,
    s3: Step<B, C, E3, R3>,
    s4: Step<C, D, E4, R4>,
    s5: Step<D, F, E5, R5>,
    s6: Step<F, G, E6, R6>,
    s7: Step<G, H, E7, R7>,
    s8: Step<H, J, E8, R8>
  ): Step<I, J, E1 | E2 | E3 | E4 | E5 | E6 | E7 | E8, R1 | R2 | R3 | R4 | R5 | R6 | R7 | R8>
} = (...steps: ReadonlyArray<Any>): any => {
  const nodes = steps.map(Internal.nodeOf)
  return Internal.makeNode("sequence", "sequence", undefined, (input: unknown, at) =>
    Effect.suspend(() => {
      let effect: Effect.Effect<unknown, unknown, unknown> = Effect.succeed(input)
      nodes.forEach((each, i) => {
        effect = Effect.flatMap(effect, (value) => Internal.runStep(each, value, at, String(i)))
      })
      return effect
    }), { shape: "transparent", child: (place) => nodes[Number(place)] })
}

const only = (inner: Internal.Node) => (place: string) => place === "0" ? inner : undefined

/**
 * A step, then another on its output: `sequence` as a pipeable.
 *
 * @since 0.3.0
 * @category combinators
 */
export const andThen: {
  <O, P, E2, R2>(next: Step<O, P, E2, R2>): <I, E1, R1>(self: Step<I, O, E1, R1>) => Step<I, P, E1 | E2, R1 | R2>
  <I, O, P, E1, R1, E2, R2>(self: Step<I, O, E1, R1>, next: Step<O, P, E2, R2>): Step<I, P, E1 | E2, R1 | R2>
} = dual(2, (self: Any, next: Any) => sequence(self, next))

/**
 * A step whose output is changed by a function: to shape one step's output into the next one's input.
 *
 * @since 0.3.0
 * @category combinators
 */
export const map: {
  <O, P>(f: (output: O) => P): <I, E, R>(self: Step<I, O, E, R>) => Step<I, P, E, R>
  <I, O, E, R, P>(self: Step<I, O, E, R>, f: (output: O) => P): Step<I, P, E, R>
} = dual(2, (self: Any, f: (output: unknown) => unknown) => {
  const inner = Internal.nodeOf(self)
  return Internal.makeNode(inner.name, inner.kind, inner.description, (input: unknown, at) =>
    Effect.map(Internal.runStep(inner, input, at, "0"), f), { shape: "transparent", child: only(inner) })
})

/**
 * A step whose output is its input beside the step's output, `[input, output]`: for a later step
 * that needs what an earlier one was given (the workflow's topic, next to the research on it).
 *
 * @since 0.3.0
 * @category combinators
 */
export const withInput = <I, O, E, R>(self: Step<I, O, E, R>): Step<I, readonly [I, O], E, R> => {
  const inner = Internal.nodeOf(self)
  return Internal.makeNode(inner.name, inner.kind, inner.description, (input: I, at) =>
    Effect.map(Internal.runStep(inner, input, at, "0"), (output) => [input, output as O] as const), {
      shape: "transparent",
      child: only(inner)
    }) as unknown as Step<
      I,
      readonly [I, O],
      E,
      R
    >
}
