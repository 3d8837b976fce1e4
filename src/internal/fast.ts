/**
 * The run's hot path's low-level helpers, gathered here with one name each: what is remembered per
 * value (`weak`), and the values the hot path builds by hand instead of through their library's
 * constructor (prompt parts and messages, text and reasoning deltas, the span of an untraced call).
 * Each hand-built value is the very same object its constructor makes, and stays only with the
 * benchmark figure that shows what it saves, written beside it.
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Context from "effect/Context"
import * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import * as RunEvent from "../RunEvent.js"

// -----------------------------------------------------------------------------
// Memo
// -----------------------------------------------------------------------------

/*
 * What is worked out once per value and kept as long as the value lives: a tool's codecs, an agent's
 * system prompt, a schema's decoder or JSON Schema, a team's index of its members. Each is pure in
 * its key and costs more to make than a lookup (a schema walk, a string built from instructions), and
 * agents, tools and schemas are immutable values made once and run many times.
 */

/** `f`, remembered per key for as long as the key lives. */
export const weak = <K extends object, V>(f: (key: K) => V): (key: K) => V => {
  const cache = new WeakMap<K, V>()
  return (key) => {
    let value = cache.get(key)
    if (value === undefined) {
      value = f(key)
      cache.set(key, value)
    }
    return value
  }
}

// -----------------------------------------------------------------------------
// Spans and events
// -----------------------------------------------------------------------------

/**
 * What a provider is given as the call's span when the run records none: it keeps nothing. A real
 * span (`Effect.useSpan`) would be made, timed and dropped on every model call of every run.
 */
export const untracedSpan: Tracer.Span = {
  _tag: "Span",
  name: "chat",
  spanId: "untraced",
  traceId: "untraced",
  parent: Option.none(),
  context: Context.empty(),
  status: { _tag: "Started", startTime: BigInt(0) },
  attributes: new Map(),
  links: [],
  sampled: false,
  kind: "internal",
  end: () => {},
  attribute: () => {},
  event: () => {},
  addLinks: () => {}
}

/**
 * Text and reasoning deltas are the events of every streamed chunk. `new TextDelta(props, true)`
 * goes through the generic Schema class constructor (it copies the props, looks for defaults and
 * hands them down a chain of constructors): ~2 µs, most of a chunk's own handling. A delta has no
 * defaults, so this builds the very same instance (its class's prototype, the same own fields in
 * the same order) directly. It is checked against the constructor once, and the constructor is
 * used if the two ever differ. Measured (`npm run bench -- stream-chunk`, 3 processes, same machine,
 * alternating): 1.30–1.61 µs a streamed chunk with it, 2.44–2.60 with the constructor, against a
 * target of 3.0; over HTTP the same ~1.2 µs lands on the streamed-chunk ratios to raw undici
 * (target 2×, today 1.5–2.1×).
 */
export const deltaConstructor = <E extends { readonly runId: string; readonly delta: string }>(
  Class: new(props: { readonly runId: string; readonly delta: string }, disableValidation: true) => E,
  tag: string
): (runId: string, delta: string) => E => {
  const proto = Class.prototype
  const direct = (runId: string, delta: string): E => {
    const event = Object.create(proto)
    event.runId = runId
    event.delta = delta
    event._tag = tag
    return event
  }
  const made = new Class({ runId: "run", delta: "delta" }, true) as Record<PropertyKey, unknown>
  const built = direct("run", "delta") as Record<PropertyKey, unknown>
  const keys = Reflect.ownKeys(made)
  const same = Object.getPrototypeOf(made) === proto &&
    keys.length === Reflect.ownKeys(built).length &&
    keys.every((key, i) => Reflect.ownKeys(built)[i] === key && made[key] === built[key])
  return same ? direct : (runId, delta) => new Class({ runId, delta }, true)
}

export const textDelta = deltaConstructor(RunEvent.TextDelta, "TextDelta")
export const reasoningDelta = deltaConstructor(RunEvent.ReasoningDelta, "ReasoningDelta")

// -----------------------------------------------------------------------------
// Prompt values
// -----------------------------------------------------------------------------

// `Prompt.makePart` and `Prompt.makeMessage` spread their parameters into an object with a computed
// key, which V8 builds on a slow path. These build the very same objects, with the same keys in the
// same order, as plain literals. Measured (one A/B run of `npm run bench`, same machine, alternating,
// under load): with `makePart`/`makeMessage` instead, a single-turn run took 1.7× the CPU time, a
// 5-turn run 2.3×, a 5-turn conversation 1.15×.
const PartTypeId = Prompt.PartTypeId
const MessageTypeId = Prompt.MessageTypeId

export const textPart = (text: string): Prompt.TextPart => ({
  text,
  [PartTypeId]: PartTypeId,
  type: "text",
  options: {}
})

export const reasoningPart = (text: string): Prompt.ReasoningPart => ({
  text,
  [PartTypeId]: PartTypeId,
  type: "reasoning",
  options: {}
})

export const toolCallPart = (
  id: string,
  name: string,
  params: unknown,
  providerExecuted: boolean
): Prompt.ToolCallPart => ({
  id,
  name,
  params,
  providerExecuted,
  [PartTypeId]: PartTypeId,
  type: "tool-call",
  options: {}
})

export const toolResultPart = (
  id: string,
  name: string,
  isFailure: boolean,
  result: unknown,
  providerExecuted: boolean
): Prompt.ToolResultPart => ({
  id,
  name,
  isFailure,
  result,
  providerExecuted,
  [PartTypeId]: PartTypeId,
  type: "tool-result",
  options: {}
})

export const systemMessage = (content: string): Prompt.SystemMessage => ({
  content,
  [MessageTypeId]: MessageTypeId,
  role: "system",
  options: {}
})

export const userMessage = (content: Array<Prompt.UserMessagePart>): Prompt.UserMessage => ({
  content,
  [MessageTypeId]: MessageTypeId,
  role: "user",
  options: {}
})

export const assistantMessage = (content: Array<Prompt.AssistantMessagePart>): Prompt.AssistantMessage => ({
  content,
  [MessageTypeId]: MessageTypeId,
  role: "assistant",
  options: {}
})

export const toolMessage = (content: Array<Prompt.ToolMessagePart>): Prompt.ToolMessage => ({
  content,
  [MessageTypeId]: MessageTypeId,
  role: "tool",
  options: {}
})
