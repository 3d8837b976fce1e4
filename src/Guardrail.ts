/**
 * Guardrails: checks that stand before the first model call (input), after the answer and on its
 * streaming text (output), and before and after each tool call (tool). Each is an Effect that may
 * read services and decides to pass, to block with a reason, or to rewrite what it checked. An agent's guardrails of one stage run concurrently; the first to block wins and the
 * others are interrupted. A guardrail that fails or does not decide within its timeout blocks
 * (fails closed), unless it was made with `failOpen: true`.
 *
 * A block ends the run with a typed `GuardrailTripped` failure, never a success with a flag. An
 * input guardrail that blocks means no model call and no tool call happened; an output guardrail
 * that blocks on streaming text means the text that tripped it, and any after it, is never emitted,
 * and the model's stream is interrupted.
 *
 * @since 0.3.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * What a guardrail decided: pass, block with a reason, or pass a rewritten value on.
 *
 * @since 0.3.0
 * @category models
 */
export type Verdict<A> =
  | { readonly _tag: "Pass" }
  | { readonly _tag: "Block"; readonly reason: string }
  | { readonly _tag: "Rewrite"; readonly value: A }

/**
 * @since 0.3.0
 * @category constructors
 */
export const pass: Verdict<never> = { _tag: "Pass" }

/**
 * @since 0.3.0
 * @category constructors
 */
export const block = (reason: string): Verdict<never> => ({ _tag: "Block", reason })

/**
 * Passes `value` on instead of what was checked: the user's message (input), the final answer
 * (output, not its streaming text), a tool call's arguments (decoded: the tool runs with them) or
 * its result (encoded: the model is told it). Several rewrites of one stage apply in order, the last
 * one's value winning. A tool call's rewritten arguments or result that do not match the tool's
 * schema block the run, in the name of the guardrail that rewrote them.
 *
 * @since 0.3.0
 * @category constructors
 */
export const rewrite = <A>(value: A): Verdict<A> => ({ _tag: "Rewrite", value })

/**
 * Where a guardrail stands.
 *
 * @since 0.3.0
 * @category models
 */
export type Stage = "input" | "output" | "tool"

/**
 * What a tool guardrail checks: a call before it runs (its decoded arguments), or after it
 * returned (its result, encoded as the model will see it). Failed calls are not checked after.
 *
 * @since 0.3.0
 * @category models
 */
export type ToolCheck =
  | { readonly phase: "call"; readonly tool: string; readonly toolCallId: string; readonly arguments: unknown }
  | {
    readonly phase: "result"
    readonly tool: string
    readonly toolCallId: string
    readonly arguments: unknown
    readonly result: unknown
  }

/**
 * A guardrail of a stage, checking values of type `A`, needing services `R`.
 *
 * @since 0.3.0
 * @category models
 */
export interface Guardrail<S extends Stage, A, R = never> {
  readonly stage: S
  readonly name: string
  readonly check: (value: A) => Effect.Effect<Verdict<A>, unknown, R>
  /** How long it may take to decide; past it, it blocks (or passes, when `failOpen`). */
  readonly timeout: Duration.Duration | undefined
  /** Pass when it fails or times out, instead of blocking. Default `false`. */
  readonly failOpen: boolean
  /** For an output guardrail: also check the answer's text as it streams (the text so far). */
  readonly streaming: boolean
}

/**
 * @since 0.3.0
 * @category models
 */
export interface Input<R = never> extends Guardrail<"input", string, R> {}

/**
 * @since 0.3.0
 * @category models
 */
export interface Output<R = never> extends Guardrail<"output", string, R> {}

/**
 * @since 0.3.0
 * @category models
 */
export interface Tool<R = never> extends Guardrail<"tool", ToolCheck, R> {}

/**
 * Any guardrail needing `R`, as an agent's `guardrails` lists them.
 *
 * @since 0.3.0
 * @category models
 */
export type Any<R = never> = Input<R> | Output<R> | Tool<R>

interface Options<A, R> {
  readonly name: string
  readonly check: (value: A) => Effect.Effect<Verdict<A>, unknown, R>
  readonly timeout?: Duration.DurationInput | undefined
  readonly failOpen?: boolean | undefined
}

const make = <S extends Stage, A, R>(stage: S, options: Options<A, R>, streaming: boolean): Guardrail<S, A, R> => ({
  stage,
  name: options.name,
  check: options.check,
  timeout: options.timeout === undefined ? undefined : Duration.decode(options.timeout),
  failOpen: options.failOpen ?? false,
  streaming
})

/**
 * A guardrail on the user's message (the text of the last user message), before the first model
 * call.
 *
 * @since 0.3.0
 * @category constructors
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Guardrail } from "effect-agents"
 *
 * const noSecrets = Guardrail.input({
 *   name: "no-secrets",
 *   timeout: "2 seconds",
 *   check: (text) => Effect.succeed(/password/i.test(text) ? Guardrail.block("asks for a password") : Guardrail.pass)
 * })
 * ```
 */
export const input = <R = never>(options: Options<string, R>): Input<R> => make("input", options, false)

/**
 * A guardrail on the final answer's text (before it is decoded with the agent's `output` schema);
 * with `streaming: true`, also on the text as it streams, checked with each new piece before the
 * piece is emitted.
 *
 * @since 0.3.0
 * @category constructors
 */
export const output = <R = never>(options: Options<string, R> & { readonly streaming?: boolean | undefined }): Output<R> =>
  make("output", options, options.streaming ?? false)

/**
 * A guardrail on tool calls: before each runs, and on each result.
 *
 * @since 0.3.0
 * @category constructors
 */
export const tool = <R = never>(options: Options<ToolCheck, R>): Tool<R> => make("tool", options, false)

// -----------------------------------------------------------------------------
// Shipped guardrails
// -----------------------------------------------------------------------------

/**
 * Blocks a user's message longer than `max` characters.
 *
 * @since 0.3.0
 * @category guardrails
 */
export const maxInputLength = (max: number): Input =>
  input({
    name: "max-input-length",
    check: (text) =>
      Effect.succeed(
        text.length > max ? block(`The message has ${text.length} characters; at most ${max} are allowed.`) : pass
      )
  })

const piiPatterns: ReadonlyArray<readonly [string, RegExp]> = [
  ["an email address", /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g],
  ["a card number", /\b(?:\d[ -]?){13,19}\b/g],
  ["a phone number", /(?:\+\d{1,3}[ .-]?)?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}\b/g]
]

/**
 * Keeps personal data (email addresses, card numbers, phone numbers) out of the model's prompt:
 * blocks a message that has any, or with `redact: true` passes it on with each replaced by
 * `[redacted]`.
 *
 * @since 0.3.0
 * @category guardrails
 */
export const pii = (options?: { readonly redact?: boolean | undefined }): Input =>
  input({
    name: "pii",
    check: (text) =>
      Effect.sync(() => {
        const found = piiPatterns.filter(([, pattern]) => new RegExp(pattern.source).test(text))
        if (found.length === 0) return pass
        if (options?.redact !== true) {
          return block(`The message contains ${found.map(([what]) => what).join(" and ")}: remove it and ask again.`)
        }
        let redacted = text
        for (const [, pattern] of piiPatterns) redacted = redacted.replace(new RegExp(pattern.source, "g"), "[redacted]")
        return rewrite(redacted)
      })
  })

/**
 * Blocks an answer whose text matches `pattern` (checked as it streams, with `streaming: true`).
 *
 * @since 0.3.0
 * @category guardrails
 */
export const forbidPattern = (
  pattern: RegExp,
  options?: { readonly name?: string | undefined; readonly streaming?: boolean | undefined }
): Output =>
  output({
    name: options?.name ?? "forbid-pattern",
    streaming: options?.streaming ?? false,
    check: (text) =>
      Effect.sync(() =>
        new RegExp(pattern.source, pattern.flags.replace("g", "")).test(text)
          ? block(`The answer matches ${pattern}.`)
          : pass
      )
  })

/**
 * Blocks a final answer that is not JSON matching `schema` (a check, not the agent's `output`
 * decoding: the agent's answer stays its text or its own output type).
 *
 * @since 0.3.0
 * @category guardrails
 */
export const outputSchema = <A, I>(schema: Schema.Schema<A, I>, options?: { readonly name?: string | undefined }): Output => {
  const decode = Schema.decodeEither(Schema.parseJson(schema))
  return output({
    name: options?.name ?? "output-schema",
    check: (text) =>
      Effect.sync(() => {
        const decoded = decode(text)
        return Either.isRight(decoded)
          ? pass
          : block(`The answer does not match the schema:\n${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`)
      })
  })
}
