/**
 * A workflow: steps (agents, teams, other workflows, plain Effects) composed into one run with a
 * typed input and a typed output, the third kind of runnable beside agents and teams.
 *
 * A step is a value `Step<I, O, E, R>`: it takes an `I`, gives an `O`, may fail with `E` and needs
 * `R`. Steps compose with:
 *
 * - {@link sequence}: each step's output is the next one's input, checked by type.
 * - {@link parallel}: several steps on the same input at once (bounded), results in order, and a
 *   policy for a branch that fails (fail the step, or keep every branch's result as an `Either`).
 * - {@link condition}: a step when a predicate holds, another (`else`) when it does not.
 * - {@link loop}: a step run again on its own previous output, until a predicate holds or a maximum
 *   number of iterations.
 * - {@link router}: one of several steps, chosen by a function or by a model.
 * - {@link signal}: waits for a value sent from outside the run ({@link send}, by the run's id).
 *
 * A workflow ({@link make}) is a step too (so workflows nest) and a runnable: it runs, streams,
 * prints, keeps sessions, serves over HTTP and is a team's member like an agent. Its events are one
 * stream: every step's start and end, and every event of an agent or team step nested in a
 * `StepEvent`. Its metrics are the sum of its steps' runs.
 *
 * @since 0.3.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Either from "effect/Either"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as Agent from "./Agent.js"
import { type AgentError, WorkflowError } from "./AgentError.js"
import type { ModelLayer } from "./internal/definition.js"
import * as EventStream from "./internal/eventStream.js"
import * as Id from "./internal/id.js"
import * as Telemetry from "./internal/telemetry.js"
import * as Internal from "./internal/workflow.js"
import * as Run from "./Run.js"
import * as RunEvent from "./RunEvent.js"
import * as Runnable from "./Runnable.js"

/**
 * @since 0.3.0
 * @category type ids
 */
export const TypeId: typeof Internal.TypeId = Internal.TypeId

/**
 * @since 0.3.0
 * @category type ids
 */
export type TypeId = typeof TypeId

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

// -----------------------------------------------------------------------------
// Models
// -----------------------------------------------------------------------------

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
  /** `agent`, `effect`, `sequence`, `parallel`, `condition`, `loop`, `router`, `signal` or `workflow`. */
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
 * One step run of a workflow run, in the workflow's output: its output (and the whole run of an
 * agent or team step), or its typed error. `parentStepId` is the step it ran under.
 *
 * @since 0.3.0
 * @category models
 */
export type StepRun = Internal.StepRun

/**
 * The output of a workflow run: the last step's output as `content` (its text as `text`: the
 * content when it is a string, else its JSON), every step run in the order they started (`steps`),
 * and metrics that add up every agent and team step's run (the duration is the workflow's own).
 *
 * @since 0.3.0
 * @category models
 */
export interface WorkflowOutput<A> extends Run.Output<A> {
  readonly steps: ReadonlyArray<StepRun>
}

/**
 * A workflow with input `I` and output `O`; its steps may fail with `E` and need `R`. It is a step
 * (workflows nest) and a runnable (its answer is `O`).
 *
 * @since 0.3.0
 * @category models
 */
export interface Workflow<I, O, E = never, R = never> extends Step<I, O, E, R>, Runnable.Runnable<O, R> {
  readonly [TypeId]: TypeId
  readonly kind: "workflow"
  readonly name: string
  readonly description: string | undefined
  /** The schema its input is decoded with when it is run from text (HTTP, the command line). */
  readonly input: Schema.Schema<I, any, any>
}

/**
 * A signal step: waits for a value sent to the run with {@link send}.
 *
 * @since 0.3.0
 * @category models
 */
export interface Signal<A, I = unknown, O = A> extends Step<I, O> {
  readonly kind: "signal"
  readonly signal: string
  readonly schema: Schema.Schema<A, any>
}

// -----------------------------------------------------------------------------
// Steps
// -----------------------------------------------------------------------------

class StepImpl implements Internal.Node, Pipeable {
  constructor(
    readonly name: string,
    readonly kind: string,
    readonly description: string | undefined,
    readonly transparent: boolean,
    readonly leaf: boolean,
    readonly body: Internal.Node["body"]
  ) {}
  pipe() {
    return pipeArguments(this, arguments)
  }
}
Object.assign(StepImpl.prototype, { [StepTypeId]: Internal.stepVariance })

const node = (step: Any): Internal.Node => step as unknown as Internal.Node

const makeStep = <I, O, E, R>(
  name: string,
  kind: string,
  description: string | undefined,
  body: (input: I, at: Internal.At) => Effect.Effect<O, E, R>,
  shape: "composite" | "leaf" | "transparent" = "composite"
): Step<I, O, E, R> =>
  new StepImpl(
    name,
    kind,
    description,
    shape === "transparent",
    shape === "leaf",
    body as Internal.Node["body"]
  ) as unknown as Step<I, O, E, R>

/**
 * @since 0.3.0
 * @category guards
 */
export const isStep = (u: unknown): u is Any => Predicate.hasProperty(u, StepTypeId)

/**
 * @since 0.3.0
 * @category guards
 */
export const isWorkflow = (u: unknown): u is Workflow<unknown, unknown, unknown, unknown> => Predicate.hasProperty(u, TypeId)

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
): Step<I, O, E, R> => makeStep(name, "effect", options?.description, (input: I) => run(input), "leaf")

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
  return makeStep(
    name,
    runnable.kind === "workflow" ? "workflow" : runnable.kind,
    options?.description ?? runnable.role ?? runnable.description,
    (input: unknown, at) => Effect.map(Internal.runRunnable(runnable, prompt(input), at, name), (output) => output.content),
    "leaf"
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
  const nodes = steps.map(node)
  return makeStep("sequence", "sequence", undefined, (input: unknown, at) =>
    Effect.suspend(() => {
      let effect: Effect.Effect<unknown, unknown, unknown> = Effect.succeed(input)
      nodes.forEach((each, i) => {
        effect = Effect.flatMap(effect, (value) => Internal.runStep(each, value, at, String(i)))
      })
      return effect
    }), "transparent")
}

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
  const inner = node(self)
  return makeStep(inner.name, inner.kind, inner.description, (input: unknown, at) =>
    Effect.map(Internal.runStep(inner, input, at, "0"), f), "transparent")
})

/**
 * A step whose output is its input beside the step's output, `[input, output]`: for a later step
 * that needs what an earlier one was given (the workflow's topic, next to the research on it).
 *
 * @since 0.3.0
 * @category combinators
 */
export const withInput = <I, O, E, R>(self: Step<I, O, E, R>): Step<I, readonly [I, O], E, R> => {
  const inner = node(self)
  return makeStep(inner.name, inner.kind, inner.description, (input: I, at) =>
    Effect.map(Internal.runStep(inner, input, at, "0"), (output) => [input, output as O] as const), "transparent") as Step<
      I,
      readonly [I, O],
      E,
      R
    >
}

/**
 * What a parallel step does when a branch fails: `"fail"` (the default) interrupts the other
 * branches and fails the step with that error; `"either"` lets every branch finish and gives each
 * branch's result as an `Either` (a failed branch is a `Left`), so one failure loses nothing else.
 *
 * @since 0.3.0
 * @category models
 */
export type FailurePolicy = "fail" | "either"

type Outputs<Steps extends ReadonlyArray<Any>> = { -readonly [K in keyof Steps]: Output<Steps[K]> }
type Results<Steps extends ReadonlyArray<Any>> = {
  -readonly [K in keyof Steps]: Either.Either<Output<Steps[K]>, Error<Steps[K]>>
}

/**
 * Steps run at once on the same input, at most `concurrency` at a time (default: all of them); the
 * output is their outputs, in the order of the steps, whatever order they finish in. With
 * `onFailure: "either"`, a branch's failure is its `Left` and the other branches still finish.
 * Interrupting the step interrupts every branch.
 *
 * @since 0.3.0
 * @category combinators
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "effect-agents"
 *
 * const upper = Workflow.step("upper", (text: string) => Effect.succeed(text.toUpperCase()))
 * const length = Workflow.step("length", (text: string) => Effect.succeed(text.length))
 *
 * // Step<string, [string, number]>
 * const both = Workflow.parallel([upper, length], { concurrency: 2 })
 * ```
 */
export const parallel: {
  <const Steps extends readonly [Any, ...Array<Any>]>(
    steps: Steps,
    options?: {
      readonly name?: string | undefined
      readonly concurrency?: number | "unbounded" | undefined
      readonly onFailure?: "fail" | undefined
    }
  ): Step<Input<Steps[number]>, Outputs<Steps>, Error<Steps[number]>, Context<Steps[number]>>
  <const Steps extends readonly [Any, ...Array<Any>]>(
    steps: Steps,
    options: {
      readonly name?: string | undefined
      readonly concurrency?: number | "unbounded" | undefined
      readonly onFailure: "either"
    }
  ): Step<Input<Steps[number]>, Results<Steps>, never, Context<Steps[number]>>
} = (
  steps: ReadonlyArray<Any>,
  options?: {
    readonly name?: string | undefined
    readonly concurrency?: number | "unbounded" | undefined
    readonly onFailure?: FailurePolicy | undefined
  }
): any => {
  const nodes = steps.map(node)
  const concurrency = options?.concurrency ?? "unbounded"
  const settle = options?.onFailure === "either"
  return makeStep(options?.name ?? "parallel", "parallel", undefined, (input: unknown, at) =>
    Effect.forEach(
      nodes,
      (each, i) => settle ? Effect.either(Internal.runStep(each, input, at, String(i))) : Internal.runStep(each, input, at, String(i)),
      { concurrency }
    ))
}

type Decision = boolean | Effect.Effect<boolean, any, any>
type DecisionError<P> = P extends Effect.Effect<infer _A, infer E, infer _R> ? E : never
type DecisionContext<P> = P extends Effect.Effect<infer _A, infer _E, infer R> ? R : never

/**
 * A step that runs `then` when `when` holds for its input, and `else` when it does not (without
 * `else`, the input passes through unchanged). `when` may be an Effect (ask a service, a model).
 *
 * @since 0.3.0
 * @category combinators
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "effect-agents"
 *
 * const short = Workflow.step("short", (text: string) => Effect.succeed(`short: ${text}`))
 * const long = Workflow.step("long", (text: string) => Effect.succeed(`long: ${text.slice(0, 10)}…`))
 *
 * const summarise = Workflow.condition({ when: (text: string) => text.length < 40, then: short, else: long })
 * ```
 */
export const condition = <I, O1, E1, R1, O2 = I, E2 = never, R2 = never, P extends Decision = boolean>(options: {
  readonly name?: string | undefined
  readonly when: (input: I) => P
  readonly then: Step<I, O1, E1, R1>
  readonly else?: Step<I, O2, E2, R2> | undefined
}): Step<I, O1 | O2, E1 | E2 | DecisionError<P>, R1 | R2 | DecisionContext<P>> => {
  const then = node(options.then)
  const otherwise = options.else === undefined ? undefined : node(options.else)
  return makeStep(options.name ?? "condition", "condition", undefined, (input: I, at) =>
    Effect.flatMap(
      Internal.decide(options.when(input), at, "when"),
      (holds): Effect.Effect<unknown, unknown, unknown> =>
        holds
          ? Internal.runStep(then, input, at, "then")
          : otherwise === undefined
          ? Effect.succeed(input)
          : Internal.runStep(otherwise, input, at, "else")
    )) as any
}

/**
 * A step run again and again, each time on its own previous output (the first time on the loop's
 * input), until `until` holds for an output or `maxIterations` runs were made (default 10); the
 * loop's output is the last one. `until` is given the output and the iteration (from 1).
 *
 * @since 0.3.0
 * @category combinators
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "effect-agents"
 *
 * const double = Workflow.step("double", (n: number) => Effect.succeed(n * 2))
 *
 * // 1 → 2 → 4 → … → 128
 * const grow = Workflow.loop(double, { until: (n) => n > 100, maxIterations: 20 })
 * ```
 */
export const loop = <A, E, R, P extends Decision = boolean>(
  body: Step<A, A, E, R>,
  options: {
    readonly name?: string | undefined
    readonly until: (output: A, iteration: number) => P
    readonly maxIterations?: number | undefined
  }
): Step<A, A, E | DecisionError<P>, R | DecisionContext<P>> => {
  const inner = node(body)
  const max = Math.max(1, Math.floor(options.maxIterations ?? 10))
  return makeStep(options.name ?? "loop", "loop", undefined, (input: A, at) =>
    Effect.gen(function*() {
      let value = input
      for (let iteration = 1; iteration <= max; iteration++) {
        value = (yield* Internal.runStep(inner, value, at, String(iteration))) as A
        if (yield* Internal.decide(options.until(value, iteration), at, `until${iteration}`)) break
      }
      return value
    })) as any
}

/**
 * How a router chooses with a model: an agent answers with the name of a route, given each route's
 * description (a step's `description`, an agent's role). Without `model`, the `LanguageModel` in context.
 *
 * @since 0.3.0
 * @category models
 */
export interface ModelChoice<I, R> {
  readonly _tag: "ModelChoice"
  readonly model: ModelLayer<R> | undefined
  readonly instructions: string | undefined
  readonly prompt: (input: I) => Run.Input
  readonly [StepTypeId]?: undefined
}

/**
 * A router's choice made by a model (see {@link router}).
 *
 * @since 0.3.0
 * @category constructors
 */
export const chooseByModel: {
  <I = Run.Input>(options?: {
    readonly instructions?: string | undefined
    readonly prompt?: ((input: I) => Run.Input) | undefined
  }): ModelChoice<I, LanguageModel.LanguageModel>
  <R, I = Run.Input>(options: {
    readonly model: ModelLayer<R>
    readonly instructions?: string | undefined
    readonly prompt?: ((input: I) => Run.Input) | undefined
  }): ModelChoice<I, R>
} = (options?: {
  readonly model?: ModelLayer<unknown> | undefined
  readonly instructions?: string | undefined
  readonly prompt?: ((input: unknown) => Run.Input) | undefined
}): ModelChoice<any, any> => ({
  _tag: "ModelChoice",
  model: options?.model,
  instructions: options?.instructions,
  prompt: options?.prompt ?? Internal.promptOf
})

type Routes = Record<string, Any>

/**
 * A step that runs one of its routes, chosen for its input: by `choose`, a function of the input
 * giving a route's key (or an Effect of one), or by a model ({@link chooseByModel}). The output is
 * the chosen route's.
 *
 * @since 0.3.0
 * @category combinators
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "effect-agents"
 *
 * const refund = Workflow.step("refund", (text: string) => Effect.succeed(`refund: ${text}`))
 * const question = Workflow.step("question", (text: string) => Effect.succeed(`answer: ${text}`))
 *
 * const desk = Workflow.router({
 *   routes: { refund, question },
 *   choose: (text: string) => (text.includes("refund") ? "refund" : "question")
 * })
 * ```
 */
export const router: {
  <const T extends Routes, K extends keyof T & string, P extends K | Effect.Effect<K, any, any>>(options: {
    readonly name?: string | undefined
    readonly routes: T
    readonly choose: (input: Input<T[keyof T]>) => P
  }): Step<
    Input<T[keyof T]>,
    Output<T[keyof T]>,
    Error<T[keyof T]> | DecisionError<P>,
    Context<T[keyof T]> | DecisionContext<P>
  >
  <const T extends Routes, RM>(options: {
    readonly name?: string | undefined
    readonly routes: T
    readonly choose: ModelChoice<Input<T[keyof T]>, RM>
  }): Step<
    Input<T[keyof T]>,
    Output<T[keyof T]>,
    Error<T[keyof T]> | AgentError,
    Context<T[keyof T]> | RM
  >
} = (options: {
  readonly name?: string | undefined
  readonly routes: Routes
  readonly choose: ((input: unknown) => string | Effect.Effect<string, unknown, unknown>) | ModelChoice<unknown, unknown>
}): any => {
  const name = options.name ?? "router"
  const keys = Object.keys(options.routes)
  const routes = new Map(keys.map((key) => [key, node(options.routes[key]!)]))
  const choose = options.choose
  let pick: (input: unknown, at: Internal.At) => Effect.Effect<string, unknown, unknown>
  if (typeof choose === "function") {
    pick = (input, at) => {
      const chosen = choose(input)
      return typeof chosen === "string" ? Effect.succeed(chosen) : Internal.settle(chosen, at, "choice")
    }
  } else {
    const described = keys.map((key) => {
      const route = routes.get(key)!
      return route.description === undefined ? `- ${key}` : `- ${key}: ${route.description}`
    }).join("\n")
    const chooser = Agent.make({
      name: `${name} (choice)`,
      ...(choose.model !== undefined ? { model: choose.model } : {}),
      instructions: [
        ...(choose.instructions !== undefined ? [choose.instructions] : []),
        `Choose the one route best suited to the message. The routes:\n${described}\n\nAnswer with the route's key, exactly as listed.`
      ],
      output: Schema.Struct({ route: Schema.Literal(...(keys as [string, ...Array<string>])) })
    })
    pick = (input, at) =>
      Internal.settle(
        Effect.map(
          Internal.runRunnable(chooser as Runnable.Runnable<unknown, unknown>, choose.prompt(input), at, name),
          (output) => (output.content as { readonly route: string }).route
        ),
        at,
        "choice"
      )
  }
  return makeStep(name, "router", undefined, (input: unknown, at) =>
    Effect.flatMap(pick(input, at), (key) => {
      const route = routes.get(key)
      return route === undefined
        ? Effect.dieMessage(`effect-agents: the router "${name}" chose "${key}", which is none of its routes (${keys.join(", ")})`)
        : Internal.runStep(route, input, at, key)
    }))
}

/**
 * A step that waits for a value sent to the run from outside ({@link send}, by the run's id and
 * this step): a person's approval, a webhook's payload. Its output is the value, or with `merge`
 * what `merge` makes of the step's input and the value. A value sent before the step waits is kept
 * for it. While it waits, the run reports a `StepWaiting` event; interrupting the run stops the wait.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Workflow } from "effect-agents"
 *
 * const Approval = Schema.Struct({ approved: Schema.Boolean, note: Schema.String })
 *
 * // Step<string, { draft: string; approved: boolean }>: the draft, and what the reviewer said
 * const review = Workflow.signal("review", Approval, {
 *   merge: (draft: string, { approved }) => ({ draft, approved })
 * })
 * ```
 */
export const signal: {
  <A, AI>(name: string, schema: Schema.Schema<A, AI>): Signal<A>
  <A, AI, I, O>(
    name: string,
    schema: Schema.Schema<A, AI>,
    options: { readonly merge: (input: I, value: A) => O }
  ): Signal<A, I, O>
} = (
  name: string,
  schema: Schema.Schema<unknown, unknown>,
  options?: { readonly merge: (input: unknown, value: unknown) => unknown }
): any => {
  const merge = options?.merge
  const made = makeStep(name, "signal", undefined, (input: unknown, at) =>
    Effect.gen(function*() {
      const state = at.state
      if (state.emit !== undefined) {
        yield* state.emit(new RunEvent.StepWaiting({ runId: state.runId, stepId: at.stepId, step: name, signal: name }, true))
      }
      const value = yield* (state.executor === undefined
        ? state.signals.await(state.runId, name)
        : state.executor.signal(name))
      return merge === undefined ? value : merge(input, value)
    }))
  return Object.assign(made, { signal: name, schema })
}

/**
 * Why a signal was not delivered: the run is not running (it ended, or never started: check the
 * run id), or a value for this signal is already waiting to be taken.
 *
 * @since 0.3.0
 * @category errors
 */
export class SignalError extends Schema.TaggedError<SignalError>("effect-agents/Workflow/SignalError")("SignalError", {
  reason: Schema.Literal("NotRunning", "AlreadySent"),
  runId: Schema.String,
  signal: Schema.String
}) {
  override get message(): string {
    return this.reason === "NotRunning"
      ? `No workflow run "${this.runId}" is running here: check the run id (a run takes signals only while it runs)`
      : `The signal "${this.signal}" of the run "${this.runId}" was already sent and not yet taken: send it again after the step took it`
  }
}

/**
 * Sends a value to the signal step `signal` of the run `runId`. The value is checked against the
 * signal's schema (`ParseError` when it does not match, and nothing is sent).
 *
 * @since 0.3.0
 * @category signals
 */
export const send: {
  <A>(signal: Signal<A, any, any>, runId: string, value: A): Effect.Effect<void, SignalError | ParseResult.ParseError>
} = <A>(signal: Signal<A, any, any>, runId: string, value: A) =>
  Effect.gen(function*() {
    const checked = yield* Schema.validate(signal.schema)(value)
    const signals = yield* Internal.SignalRegistry
    const sent = yield* signals.send(runId, signal.signal, checked)
    if (sent !== "Sent") return yield* new SignalError({ reason: sent, runId, signal: signal.signal })
  })

/**
 * The signals that running workflow steps wait for now, by run id.
 *
 * @since 0.3.0
 * @category signals
 */
export const waiting: Effect.Effect<ReadonlyArray<{ readonly runId: string; readonly signal: string }>> = Effect
  .flatMap(Internal.SignalRegistry, (signals) => signals.waiting)

/**
 * Where signals are delivered: one registry per process by default. Provide another (made with
 * {@link makeSignals}) to keep a part of a program, or a test, apart.
 *
 * @since 0.3.0
 * @category signals
 */
export const Signals: typeof Internal.SignalRegistry = Internal.SignalRegistry

/**
 * A fresh signal registry (see {@link Signals}).
 *
 * @since 0.3.0
 * @category signals
 */
export const makeSignals: () => Internal.Signals = Internal.makeSignals

// -----------------------------------------------------------------------------
// Executors (durable runs)
// -----------------------------------------------------------------------------

/**
 * What a leaf step (a plain Effect, an agent's or a team's run) settles to: its output, and the run
 * it made, if any.
 *
 * @since 0.3.0
 * @category executors
 */
export interface Settled extends Internal.Settled {}

/**
 * How the leaf steps and the signal steps of a workflow run are executed. In process there is none
 * and each step's body runs as it is. A durable engine (`Durable` in `effect-agents/layers`) provides
 * one for the runs it executes: `leaf` gets a step's key — its place in the workflow, the same in
 * every run (`0/1/2`) — and its body, and settles it once (an activity, replayed after a restart);
 * `signal` waits for a signal that survives a restart.
 *
 * @since 0.3.0
 * @category executors
 */
export interface Executor extends Internal.Executor {}

/**
 * The executor of the workflow runs started in this context (none by default: in process).
 *
 * @since 0.3.0
 * @category executors
 */
export const CurrentExecutor: typeof Internal.CurrentExecutor = Internal.CurrentExecutor

// -----------------------------------------------------------------------------
// Workflows
// -----------------------------------------------------------------------------

class WorkflowImpl extends Runnable.Base implements Internal.Node {
  readonly kind = "workflow" as const
  readonly markdown: boolean
  readonly parts: ReadonlyArray<{ readonly name: string }> | undefined
  readonly transparent = false
  readonly leaf = false
  constructor(
    readonly name: string,
    readonly description: string | undefined,
    readonly role: string | undefined,
    markdown: boolean | undefined,
    readonly input: Schema.Schema<any, any, any>,
    readonly output: Schema.Schema<any, any, any> | undefined,
    readonly root: Internal.Node
  ) {
    super()
    this.markdown = markdown ?? false
    this.parts = undefined
  }

  /** As a step of another workflow: its steps run under this step, in the same run. */
  body(input: unknown, at: Internal.At): Effect.Effect<unknown, unknown, unknown> {
    return Internal.runStep(this.root, input, at, "0")
  }

  /** As a runnable: its input decoded from the run's text, its errors the protocol's. */
  runIn(input: Run.Input, context: Runnable.RunContext): Effect.Effect<Run.Output<unknown>, Runnable.RunError, unknown> {
    return runWorkflow(this, decodeInput(this, input), context.runId, context.userId, context.emit, true) as Effect.Effect<
      Run.Output<unknown>,
      Runnable.RunError,
      unknown
    >
  }
}
Object.assign(WorkflowImpl.prototype, { [StepTypeId]: Internal.stepVariance, [TypeId]: TypeId })

/** The run's text as the workflow's input: as it is when the schema takes it, else as JSON. */
const decodeInput = (self: WorkflowImpl, input: Run.Input): Effect.Effect<unknown, WorkflowError, unknown> => {
  const text = Run.lastUserText(input) ?? ""
  const invalid = (detail: string) =>
    new WorkflowError({
      reason: "InvalidInput",
      workflow: self.name,
      message: `The input of the workflow "${self.name}" is not valid: ${detail}`
    })
  return Effect.orElse(Schema.decodeUnknown(self.input)(text), () => {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return Effect.flatMap(
        Effect.flip(Schema.decodeUnknown(self.input)(text)),
        (error) => Effect.fail(invalid(`send it as JSON that matches its schema.\n${ParseResult.TreeFormatter.formatErrorSync(error)}`))
      )
    }
    return Effect.mapError(
      Schema.decodeUnknown(self.input)(json),
      (error) => invalid(`it does not match the schema.\n${ParseResult.TreeFormatter.formatErrorSync(error)}`)
    )
  })
}

/** The text of a workflow's answer: the content when it is a string, else its JSON. */
const textOf = (self: WorkflowImpl, content: unknown): Effect.Effect<string> => {
  if (typeof content === "string") return Effect.succeed(content)
  const encoded = self.output === undefined
    ? Effect.succeed(content)
    : Effect.orElseSucceed(Schema.encodeUnknown(self.output)(content), () => content)
  return Effect.map(encoded as Effect.Effect<unknown>, (value) => {
    try {
      return JSON.stringify(value) ?? ""
    } catch {
      return String(value)
    }
  })
}

const runWorkflow = (
  self: WorkflowImpl,
  input: Effect.Effect<unknown, unknown, unknown>,
  runId: string,
  userId: string | undefined,
  emit: EventStream.Emit | undefined,
  protocol: boolean
): Effect.Effect<WorkflowOutput<unknown>, unknown, unknown> =>
  Effect.gen(function*() {
    const signals = yield* Internal.SignalRegistry
    const startedAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
    const state: Internal.State = {
      runId,
      workflow: self.name,
      emit,
      userId,
      signals,
      steps: [],
      metrics: Run.emptyMetrics,
      failures: new Map(),
      executor: yield* Internal.CurrentExecutor
    }
    if (emit !== undefined) yield* emit(new RunEvent.RunStarted({ runId, agent: self.name }, true))
    const at: Internal.At = { state, parent: undefined, stepId: runId, key: "", run: undefined }
    const body = Effect.gen(function*() {
      const content = yield* Internal.runStep(self.root, yield* input, at, "0")
      const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      const { timeToFirstToken: _, ...tallies } = state.metrics
      const output: WorkflowOutput<unknown> = {
        runId,
        agent: self.name,
        content,
        text: yield* textOf(self, content),
        messages: [],
        toolCalls: [],
        finishReason: "stop",
        metrics: { ...tallies, duration: Duration.millis(now - startedAt) },
        steps: state.steps.filter((run): run is StepRun => run !== undefined)
      }
      if (emit !== undefined) yield* emit(new RunEvent.RunCompleted({ runId, output }, true))
      return output
    })
    const runError = (error: unknown) => state.failures.get(error) ?? Internal.toRunError(error, self.name, undefined)
    const failing = Effect.tapError(
      protocol ? Effect.mapError(body, runError) : body,
      (error) => {
        if (emit === undefined) return Effect.void
        const failure = runError(error)
        return failure._tag === "MemoryError" ? Effect.void : emit(new RunEvent.RunFailed({ runId, error: failure }, true))
      }
    )
    return yield* Effect.ensuring(Effect.zipRight(signals.open(runId), failing), signals.close(runId))
  }).pipe((run) => Telemetry.invokeAgentIfTraced(run, { name: self.name, runId, operation: "invoke_workflow" }))

/**
 * Builds a workflow from its input schema and its steps (one step, usually a {@link sequence}).
 * Run from text (the HTTP app, the command line, a team), its input is the text when the schema
 * takes a string, else JSON decoded with the schema; an input that does not decode fails with a
 * `WorkflowError` (`InvalidInput`) that says what was expected. With `output`, an answer that is not
 * a string is encoded with it for the run's `text`.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Agent, Workflow } from "effect-agents"
 *
 * const writer = Agent.make({ name: "Writer", role: "Write a short post" })
 *
 * const post = Workflow.make({
 *   name: "Post",
 *   input: Schema.Struct({ topic: Schema.String, words: Schema.Number }),
 *   steps: Workflow.sequence(
 *     Workflow.step("brief", ({ topic, words }: { readonly topic: string; readonly words: number }) =>
 *       Effect.succeed(`Write about ${topic} in at most ${words} words.`)),
 *     Workflow.agent(writer)
 *   )
 * })
 *
 * // Effect<Workflow.WorkflowOutput<string>, AgentError, LanguageModel>
 * const program = Workflow.run(post, { topic: "fibers", words: 50 })
 * ```
 */
export const make = <I, II, RI, O, E, R, OI = unknown, RO = never>(options: {
  readonly name: string
  readonly description?: string | undefined
  readonly role?: string | undefined
  readonly markdown?: boolean | undefined
  readonly input: Schema.Schema<I, II, RI>
  readonly output?: Schema.Schema<NoInfer<O>, OI, RO> | undefined
  readonly steps: Step<I, O, E, R>
}): Workflow<I, O, E, R | RI | RO> =>
  new WorkflowImpl(
    options.name,
    options.description,
    options.role,
    options.markdown,
    options.input,
    options.output,
    node(options.steps)
  ) as unknown as Workflow<I, O, E, R | RI | RO>

/**
 * Options of a typed run of a workflow: its id (a random UUID when not given; signals are sent to
 * it), the user it runs for, and `onEvent`, called with each event as it happens.
 *
 * @since 0.3.0
 * @category models
 */
export interface RunOptions {
  readonly runId?: string | undefined
  readonly userId?: string | undefined
  readonly onEvent?: ((event: RunEvent.RunEvent) => Effect.Effect<void>) | undefined
  readonly eventBuffer?: number | undefined
}

/**
 * Runs a workflow on a typed input (no decoding), to its typed output; it fails with its steps'
 * errors as they are. To run it from text, in a session, or print it, use `Runnable.run`,
 * `Runnable.stream`, `Runnable.printResponse` (its errors are then `AgentError`s: a plain step's own
 * error is a `WorkflowError` carrying it).
 *
 * @since 0.3.0
 * @category running
 */
export const run: {
  <I>(input: NoInfer<I>, options?: RunOptions): <O, E, R>(self: Workflow<I, O, E, R>) => Effect.Effect<WorkflowOutput<O>, E, R>
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: NoInfer<I>, options?: RunOptions): Effect.Effect<WorkflowOutput<O>, E, R>
} = dual(
  (args) => isWorkflow(args[0]),
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: I, options?: RunOptions) =>
    Effect.suspend(() =>
      runWorkflow(
        self as unknown as WorkflowImpl,
        Effect.succeed(input),
        options?.runId ?? Id.uuid(),
        options?.userId,
        options?.onEvent,
        false
      )
    ) as Effect.Effect<WorkflowOutput<O>, E, R>
)

/**
 * Runs a workflow on a typed input as a stream of its events: each step's start and end, the
 * events of agent and team steps nested in `StepEvent`s, and last the completed run. A consumer
 * that stops reading interrupts the run.
 *
 * @since 0.3.0
 * @category running
 */
export const stream: {
  <I>(input: NoInfer<I>, options?: RunOptions): <O, E, R>(self: Workflow<I, O, E, R>) => Stream.Stream<RunEvent.RunEvent, E, R>
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: NoInfer<I>, options?: RunOptions): Stream.Stream<RunEvent.RunEvent, E, R>
} = dual(
  (args) => isWorkflow(args[0]),
  <I, O, E, R>(self: Workflow<I, O, E, R>, input: I, options?: RunOptions) =>
    EventStream.fromRun(
      (emit) =>
        Effect.suspend(() =>
          runWorkflow(self as unknown as WorkflowImpl, Effect.succeed(input), options?.runId ?? Id.uuid(), options?.userId, emit, false)
        ),
      options?.onEvent,
      options?.eventBuffer
    ) as Stream.Stream<RunEvent.RunEvent, E, R>
)

/**
 * Whether a run's output is a workflow's.
 *
 * @since 0.3.0
 * @category guards
 */
export const isOutput = <A>(output: Run.Output<A>): output is WorkflowOutput<A> =>
  Array.isArray((output as { readonly steps?: unknown }).steps)
