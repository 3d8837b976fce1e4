/**
 * The control flow of a workflow: steps at once on the same input ({@link parallel}), a step or
 * another by a predicate ({@link condition}), a step again on its own output ({@link loop}), and one
 * of several steps chosen by a function or a model ({@link router}).
 *
 * Every name here is also `Workflow`'s (`Workflow.parallel`, `Workflow.router`): import it from there.
 *
 * @since 0.3.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Agent from "./Agent.js"
import type { AgentError } from "./AgentError.js"
import type { ModelLayer } from "./Agent.js"
import * as Internal from "./internal/workflow.js"
import type * as Run from "./Run.js"
import type * as Runnable from "./Runnable.js"
import type { Any, Context, Error, Input, Output, Step, StepTypeId } from "./WorkflowStep.js"

/**
 * What a parallel step does when a branch fails: `"fail"` (the default) interrupts the other
 * branches and fails the step with that error (each step it interrupts runs its finalizers and ends
 * with a `StepFailed` that says it was interrupted, and why); `"either"` lets every branch finish and
 * gives each branch's result as an `Either` (a failed branch is a `Left`), so one failure loses
 * nothing else. A branch that waits for a person's approval has not failed: the other branches go
 * on, and the workflow run pauses once none of them runs, asking for every approval they wait for.
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
  const nodes = steps.map(Internal.nodeOf)
  const concurrency = options?.concurrency ?? "unbounded"
  const settle = options?.onFailure === "either"
  const name = options?.name ?? "parallel"
  return Internal.makeNode(name, "parallel", undefined, (input: unknown, at) =>
    Effect.suspend(() => {
      // A branch that fails fails the step, and the branches it interrupts say why.
      const cancel: Internal.Cancel | undefined = settle ? undefined : { reason: undefined, outer: at.cancelled }
      const under: Internal.At = cancel === undefined ? at : { ...at, cancelled: cancel }
      return Effect.flatMap(
        Effect.forEach(
          nodes,
          (each, i): Effect.Effect<unknown, unknown, unknown> => {
            const branch = Internal.runStep(each, input, under, String(i))
            // A branch that waits for a person is not a failed branch, nor the end of the others:
            // they go on, and the step pauses with every branch that waits once none runs.
            if (settle) {
              return Effect.map(Effect.either(branch), (result) =>
                result._tag === "Left" && Internal.isPause(result.left) ? result.left : result)
            }
            return Effect.catchIf(
              Effect.tapError(branch, (error) =>
                Effect.sync(() => {
                  if (!Internal.isPause(error) && cancel!.reason === undefined) {
                    cancel!.reason = `the step "${each.name}" beside it in the parallel step "${name}" failed`
                  }
                })),
              Internal.isPause,
              (pause) => Effect.succeed(pause)
            )
          },
          { concurrency }
        ),
        (results) => {
          const pauses = results.filter(Internal.isPause)
          return pauses.length === 0 ? Effect.succeed(results) : Effect.fail(Internal.mergePauses(pauses))
        }
      )
    }), { child: (place) => nodes[Number(place)] })
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
  const then = Internal.nodeOf(options.then)
  const otherwise = options.else === undefined ? undefined : Internal.nodeOf(options.else)
  return Internal.makeNode(options.name ?? "condition", "condition", undefined, (input: I, at) =>
    Effect.flatMap(
      Internal.decide(options.when(input), at, "when"),
      (holds): Effect.Effect<unknown, unknown, unknown> =>
        holds
          ? Internal.runStep(then, input, at, "then")
          : otherwise === undefined
          ? Effect.succeed(input)
          : Internal.runStep(otherwise, input, at, "else")
    ), { child: (place) => (place === "then" ? then : place === "else" ? otherwise : undefined) }) as any
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
  const inner = Internal.nodeOf(body)
  const max = Math.max(1, Math.floor(options.maxIterations ?? 10))
  return Internal.makeNode(options.name ?? "loop", "loop", undefined, (input: A, at) =>
    Effect.gen(function*() {
      let value = input
      for (let iteration = 1; iteration <= max; iteration++) {
        value = (yield* Internal.runStep(inner, value, at, String(iteration))) as A
        if (yield* Internal.decide(options.until(value, iteration), at, `until${iteration}`)) break
      }
      return value
    }), { child: () => inner }) as any
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
  /** The model's layer (written out, not by an alias: a declaration that reads it names no path inside the package). */
  readonly model: Layer.Layer<LanguageModel.LanguageModel, never, R> | undefined
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
  const routes = new Map(keys.map((key) => [key, Internal.nodeOf(options.routes[key]!)]))
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
  return Internal.makeNode(name, "router", undefined, (input: unknown, at) =>
    Effect.flatMap(pick(input, at), (key) => {
      const route = routes.get(key)
      return route === undefined
        ? Effect.dieMessage(`effect-agents: the router "${name}" chose "${key}", which is none of its routes (${keys.join(", ")})`)
        : Internal.runStep(route, input, at, key)
    }), { child: (place) => routes.get(place) })
}
