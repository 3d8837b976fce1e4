/**
 * A scripted `LanguageModel` for tests: each model call gets the next scripted reply (text in
 * chunks, tool calls, usage, latency, failures such as a rate limit with `Retry-After`), and every
 * request is recorded so a test can assert what the model was sent. Latency is `Effect.sleep`, so
 * under `TestClock` a test decides when time passes. No network, no randomness.
 *
 * @since 0.1.0
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ModelParts from "../services/ModelParts.js"

/**
 * A request the model received.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly prompt: Prompt.Prompt
  /** The names of the tools offered. */
  readonly tools: ReadonlyArray<string>
  readonly responseFormat: "text" | "json"
  readonly stream: boolean
  /** The text of the last user message, for quick assertions and responders. */
  readonly lastUserText: string
  /** The system message, if any. */
  readonly system: string | undefined
}

/**
 * Token usage reported by a reply.
 *
 * @since 0.1.0
 * @category models
 */
export interface Usage {
  readonly inputTokens?: number
  readonly outputTokens?: number
  readonly reasoningTokens?: number
  readonly cachedInputTokens?: number
}

interface Timing {
  /** Latency before the first part. */
  readonly delay?: Duration.DurationInput | undefined
  /** Latency between streamed chunks. */
  readonly chunkDelay?: Duration.DurationInput | undefined
}

/**
 * One scripted reply.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reply {
  readonly text: ReadonlyArray<string>
  readonly reasoning: string | undefined
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly finishReason: Response.FinishReason | undefined
  readonly usage: Usage | undefined
  readonly model: string | undefined
  readonly failure: AiError.AiError | undefined
  readonly streamError: unknown
  readonly delay: Duration.Duration
  readonly chunkDelay: Duration.Duration
}

/**
 * A tool call the model makes.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCall {
  readonly name: string
  readonly params: unknown
  readonly id?: string | undefined
}

const reply = (options: Partial<Omit<Reply, "delay" | "chunkDelay">> & Timing): Reply => ({
  text: options.text ?? [],
  reasoning: options.reasoning,
  toolCalls: options.toolCalls ?? [],
  finishReason: options.finishReason,
  usage: options.usage,
  model: options.model,
  failure: options.failure,
  streamError: options.streamError,
  delay: Duration.decode(options.delay ?? Duration.zero),
  chunkDelay: Duration.decode(options.chunkDelay ?? Duration.zero)
})

const splitChunks = (text: string, chunks: number | ReadonlyArray<string> | undefined): ReadonlyArray<string> => {
  if (Array.isArray(chunks)) return chunks as ReadonlyArray<string>
  const count = Math.max(1, Math.min(typeof chunks === "number" ? chunks : 1, text.length))
  const size = Math.ceil(text.length / count)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out.length === 0 ? [""] : out
}

/**
 * A text answer, streamed as `chunks` pieces (a number, or the pieces themselves).
 *
 * @since 0.1.0
 * @category replies
 */
export const text = (
  content: string,
  options?: Timing & {
    readonly chunks?: number | ReadonlyArray<string> | undefined
    readonly usage?: Usage | undefined
    readonly finishReason?: Response.FinishReason | undefined
    readonly reasoning?: string | undefined
    readonly model?: string | undefined
  }
): Reply =>
  reply({
    ...options,
    text: splitChunks(content, options?.chunks),
    finishReason: options?.finishReason ?? "stop"
  })

/**
 * Tool calls, optionally after some text.
 *
 * @since 0.1.0
 * @category replies
 */
export const toolCalls = (
  calls: ReadonlyArray<ToolCall>,
  options?: Timing & { readonly text?: string | undefined; readonly usage?: Usage | undefined; readonly model?: string | undefined }
): Reply =>
  reply({
    ...options,
    text: options?.text === undefined ? [] : [options.text],
    toolCalls: calls,
    finishReason: "tool-calls"
  })

/**
 * One tool call.
 *
 * @since 0.1.0
 * @category replies
 */
export const toolCall = (
  name: string,
  params: unknown,
  options?: Timing & { readonly id?: string | undefined; readonly usage?: Usage | undefined }
): Reply => toolCalls([{ name, params, id: options?.id }], options)

/**
 * {@link toolCall} checked against a toolkit: the name must be one of its tools and the parameters
 * that tool's, as the model sends them (encoded). A call the toolkit would reject (a typo in a name,
 * a missing field) is then a compile error, not a test that passes for the wrong reason.
 *
 * @since 0.2.0
 * @category replies
 * @example
 * ```ts
 * import { Tool, Toolkit } from "@effect/ai"
 * import { Schema } from "effect"
 * import { TestModel } from "effect-agents/testing"
 *
 * const Weather = Toolkit.make(Tool.make("get_weather", { parameters: { city: Schema.String } }))
 * const call = TestModel.toolCallOf(Weather)
 *
 * const reply = call("get_weather", { city: "Paris" })
 * // call("get_wether", { city: "Paris" })  does not compile
 * ```
 */
export const toolCallOf = <Tools extends Record<string, Tool.Any>>(_toolkit: Toolkit.Toolkit<Tools>) =>
<Name extends keyof Tools & string>(
  name: Name,
  params: Tool.ParametersEncoded<Tools[Name]>,
  options?: Timing & { readonly id?: string | undefined; readonly usage?: Usage | undefined }
): Reply => toolCall(name, params, options)

/**
 * A failed call. With `afterText`, the stream first sends that text, then fails.
 *
 * @since 0.1.0
 * @category replies
 */
export const fail = (
  error: AiError.AiError,
  options?: Timing & { readonly afterText?: string | undefined }
): Reply => reply({ ...options, failure: error, text: options?.afterText === undefined ? [] : [options.afterText] })

/**
 * A call that fails with an HTTP status, as a provider would report it (429 with `Retry-After`,
 * 500, 503, 401, …). `headers` are response headers (names in lower case, as an HTTP client reads
 * them), such as `x-should-retry`; `retryAfter` is sent as `retry-after-ms`.
 *
 * @since 0.1.0
 * @category replies
 * @example
 * ```ts
 * import { TestModel } from "effect-agents/layers"
 *
 * // OpenAI's answer when the account's quota is used up, which no retry gets past.
 * const noQuota = TestModel.httpError(429, {
 *   body: JSON.stringify({ error: { message: "You exceeded your current quota.", type: "insufficient_quota", code: "insufficient_quota" } }),
 *   headers: { "x-should-retry": "false" }
 * })
 * ```
 */
export const httpError = (
  status: number,
  options?: Timing & {
    readonly retryAfter?: Duration.DurationInput | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
    readonly body?: string | undefined
    readonly afterText?: string | undefined
  }
): Reply => {
  const headers: Record<string, string> = {}
  for (const name in options?.headers) headers[name.toLowerCase()] = options.headers[name]
  if (options?.retryAfter !== undefined) {
    headers["retry-after-ms"] = String(Duration.toMillis(Duration.decode(options.retryAfter)))
  }
  return fail(
    new AiError.HttpResponseError({
      module: "TestModel",
      method: "streamText",
      reason: "StatusCode",
      request: { method: "POST", url: "test-model:/v1/responses", urlParams: [], hash: Option.none(), headers: {} },
      response: { status, headers },
      ...(options?.body !== undefined ? { body: options.body } : {})
    }),
    options
  )
}

/**
 * A stream that carries an error part from the provider (as some providers do mid-stream).
 *
 * @since 0.1.0
 * @category replies
 */
export const streamError = (error: unknown, options?: Timing & { readonly afterText?: string | undefined }): Reply =>
  reply({ ...options, streamError: error, text: options?.afterText === undefined ? [] : [options.afterText] })

/**
 * What the model answers: a list of replies used one per call, or a function of each request.
 *
 * @since 0.1.0
 * @category models
 */
export type Script = ReadonlyArray<Reply> | ((request: Request) => Reply | Effect.Effect<Reply>)

/**
 * What a test can ask the scripted model.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service {
  /** Every request received so far, in order of arrival. */
  readonly requests: Effect.Effect<ReadonlyArray<Request>>
}

/**
 * @since 0.1.0
 * @category services
 */
export class TestModel extends Context.Tag("effect-agents/TestModel")<TestModel, Service>() {}

const epoch = new Date(0).toISOString()

const textOf = (message: Prompt.Message): string => {
  if (typeof message.content === "string") return message.content
  let text = ""
  for (const part of message.content) if (part.type === "text") text += part.text
  return text
}

// The length of `textOf`, without building the text: every message of the prompt is measured on
// every call.
const textLength = (message: Prompt.Message): number => {
  if (typeof message.content === "string") return message.content.length
  let length = 0
  for (const part of message.content) if (part.type === "text") length += part.text.length
  return length
}

const describe = (options: LanguageModel.ProviderOptions, stream: boolean): Request => {
  // From the end: the last user message and the last system message are the ones reported.
  const messages = options.prompt.content
  let lastUser: Prompt.UserMessage | undefined
  let system: string | undefined
  for (let i = messages.length - 1; i >= 0 && (lastUser === undefined || system === undefined); i--) {
    const message = messages[i]!
    if (message.role === "user") lastUser ??= message
    else if (message.role === "system") system ??= message.content
  }
  return {
    prompt: options.prompt,
    tools: options.tools.map((tool) => tool.name),
    responseFormat: options.responseFormat.type,
    stream,
    lastUserText: lastUser === undefined ? "" : textOf(lastUser),
    system
  }
}

const estimateTokens = (chars: number) => Math.max(1, Math.ceil(chars / 4))

const promptChars = (prompt: Prompt.Prompt) => {
  let chars = 0
  for (const message of prompt.content) chars += textLength(message)
  return chars
}

const outputChars = (reply: Reply): number => {
  let chars = reply.reasoning?.length ?? 0
  for (const piece of reply.text) chars += piece.length
  for (const call of reply.toolCalls) chars += JSON.stringify(call.params ?? {}).length
  return chars
}

const finishPart = (reply: Reply, request: Request, toolIds: ReadonlyArray<string>): Response.FinishPartEncoded => {
  // Estimated only when the reply does not say (each estimate reads the whole prompt or answer).
  const inputTokens = reply.usage?.inputTokens ?? estimateTokens(promptChars(request.prompt))
  const outputTokens = reply.usage?.outputTokens ?? estimateTokens(outputChars(reply)) + toolIds.length
  return {
    type: "finish",
    reason: reply.finishReason ?? (reply.toolCalls.length > 0 ? "tool-calls" : "stop"),
    usage: {
      inputTokens,
      outputTokens,
      totalTokens: inputTokens + outputTokens,
      ...(reply.usage?.reasoningTokens !== undefined ? { reasoningTokens: reply.usage.reasoningTokens } : {}),
      ...(reply.usage?.cachedInputTokens !== undefined ? { cachedInputTokens: reply.usage.cachedInputTokens } : {})
    }
  }
}

/**
 * The scripted model as a layer: a `LanguageModel` and the {@link TestModel} service to inspect it.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { TestModel } from "effect-agents/layers"
 * import { Effect } from "effect"
 *
 * const program = Agent.run(Agent.make({ name: "Weather" }), "Weather in Paris?").pipe(
 *   Effect.provide(TestModel.layer([
 *     TestModel.toolCall("get_weather", { city: "Paris" }),
 *     TestModel.text("It is sunny in Paris.", { chunks: 3 })
 *   ]))
 * )
 * ```
 */
export const layer = (
  script: Script,
  options?: {
    readonly model?: string | undefined
    /**
     * Keep every request for {@link requests}. Default `true`. A long benchmark or load test turns
     * it off, so that the model holds no memory of its own; {@link requests} then fails.
     */
    readonly record?: boolean | undefined
  }
): Layer.Layer<LanguageModel.LanguageModel | TestModel> =>
  Layer.effectContext(Effect.gen(function*() {
    // A plain array and counter: every change happens in one synchronous step (nothing between a
    // read and its write can yield), which a Ref would add two operations per call to guarantee.
    const record = options?.record ?? true
    const received: Array<Request> = []
    let count = 0
    const modelId = options?.model ?? "test-model"

    // Called once per request: its index is the number of requests received before it.
    const next = (request: Request, index: number): Effect.Effect<Reply> => {
      if (typeof script === "function") {
        const answer = script(request)
        return Effect.isEffect(answer) ? answer : Effect.succeed(answer)
      }
      const found = (script as ReadonlyArray<Reply>)[index]
      return found === undefined
        ? Effect.dieMessage(
          `TestModel: no reply scripted for model call ${index + 1} (the script has ${script.length})`
        )
        : Effect.succeed(found)
    }

    const receive = <A, E>(
      options: LanguageModel.ProviderOptions,
      stream: boolean,
      answer: (reply: Reply, request: Request) => Effect.Effect<A, E>
    ): Effect.Effect<A, E> =>
      Effect.suspend(() => {
        const request = describe(options, stream)
        if (record) received.push(request)
        return Effect.flatMap(next(request, count++), (reply) => answer(reply, request))
      })

    const metadata = (reply: Reply): Response.ResponseMetadataPartEncoded => ({
      type: "response-metadata",
      id: "test-response",
      modelId: reply.model ?? modelId,
      timestamp: epoch
    })

    const ids = (reply: Reply) => reply.toolCalls.map((call, i) => call.id ?? `call_${i + 1}`)

    const generated = (reply: Reply, request: Request): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> => {
      if (reply.failure !== undefined) return Effect.fail(reply.failure)
      if (reply.streamError !== undefined) {
        return Effect.fail(
          new AiError.UnknownError({ module: "TestModel", method: "generateText", description: String(reply.streamError) })
        )
      }
      const toolIds = ids(reply)
      const parts: Array<Response.PartEncoded> = [metadata(reply)]
      if (reply.reasoning !== undefined) parts.push({ type: "reasoning", text: reply.reasoning })
      const content = reply.text.join("")
      if (content.length > 0) parts.push({ type: "text", text: content })
      reply.toolCalls.forEach((call, i) =>
        parts.push({ type: "tool-call", id: toolIds[i]!, name: call.name, params: call.params })
      )
      parts.push(finishPart(reply, request, toolIds))
      return Effect.succeed(parts)
    }

    // Parts arrive in groups, a `chunkDelay` apart: the first text piece comes with the response's
    // start, each further piece and each tool call on its own.
    const groups = (reply: Reply): Array<Array<Response.StreamPartEncoded>> => {
      const toolIds = ids(reply)
      const first: Array<Response.StreamPartEncoded> = [metadata(reply)]
      const chunks: Array<Array<Response.StreamPartEncoded>> = [first]
      if (reply.reasoning !== undefined) {
        first.push(
          { type: "reasoning-start", id: "reasoning_0" },
          { type: "reasoning-delta", id: "reasoning_0", delta: reply.reasoning },
          { type: "reasoning-end", id: "reasoning_0" }
        )
      }
      if (reply.text.length > 0) {
        first.push({ type: "text-start", id: "text_0" })
        reply.text.forEach((delta, i) => {
          const part: Response.StreamPartEncoded = { type: "text-delta", id: "text_0", delta }
          if (i === 0) first.push(part)
          else chunks.push([part])
        })
        chunks[chunks.length - 1]!.push({ type: "text-end", id: "text_0" })
      }
      reply.toolCalls.forEach((call, i) => {
        const id = toolIds[i]!
        chunks.push([
          { type: "tool-params-start", id, name: call.name },
          { type: "tool-params-delta", id, delta: JSON.stringify(call.params ?? {}) },
          { type: "tool-params-end", id },
          { type: "tool-call", id, name: call.name, params: call.params }
        ])
      })
      return chunks
    }

    // What closes a streamed answer: its finish, a provider's error part, or nothing (a failure).
    const ending = (reply: Reply, request: Request): Response.StreamPartEncoded | undefined =>
      reply.failure !== undefined
        ? undefined
        : reply.streamError !== undefined
        ? { type: "error", error: reply.streamError }
        : finishPart(reply, request, ids(reply))

    const hasDelay = (duration: Duration.Duration) => Duration.greaterThan(duration, Duration.zero)

    const service = yield* ModelParts.make({
      generateText: (options) =>
        receive(options, false, (reply, request) =>
          hasDelay(reply.delay)
            ? Effect.zipRight(Effect.sleep(reply.delay), generated(reply, request))
            : generated(reply, request)),
      streamText: (options) =>
        Stream.unwrap(receive(options, true, (reply, request) => {
          const chunks = groups(reply)
          const first = chunks[0]
          const pause = hasDelay(reply.chunkDelay) ? Effect.sleep(reply.chunkDelay) : undefined
          // One stream chunk per group: a stream per group (`Stream.flatMap`) costs ~100 µs each.
          const body = pause === undefined
            ? Stream.fromChunks(...chunks.map((group) => Chunk.unsafeFromArray(group)))
            : Stream.fromIterable(chunks).pipe(
              Stream.tap((group) => (group === first ? Effect.void : pause)),
              Stream.mapConcat((group) => group)
            )
          const last = ending(reply, request)
          const all = Stream.concat(
            body,
            last === undefined ? Stream.fail(reply.failure!) : Stream.make(last)
          )
          return Effect.succeed(hasDelay(reply.delay) ? Stream.concat(Stream.execute(Effect.sleep(reply.delay)), all) : all)
        })),
      // The same parts as `streamText`, in the same groups, handed over without a stream.
      streamParts: <E>(
        options: LanguageModel.ProviderOptions,
        onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<void, E>
      ) =>
        receive(options, true, (reply, request) => {
          const chunks = groups(reply)
          const pause = hasDelay(reply.chunkDelay) ? Effect.sleep(reply.chunkDelay) : undefined
          const last = ending(reply, request)
          const close: Effect.Effect<void, AiError.AiError | E> = last === undefined
            ? Effect.fail(reply.failure!)
            : onParts([last])
          const from = (i: number): Effect.Effect<void, AiError.AiError | E> => {
            if (i === chunks.length) return close
            const group = Effect.flatMap(onParts(chunks[i]!), () => from(i + 1))
            return i > 0 && pause !== undefined ? Effect.zipRight(pause, group) : group
          }
          return hasDelay(reply.delay) ? Effect.zipRight(Effect.sleep(reply.delay), from(0)) : from(0)
        }),
      info: { provider: "test", model: modelId }
    })

    return Context.make(LanguageModel.LanguageModel, service).pipe(
      Context.add(TestModel, {
        requests: record
          ? Effect.sync((): ReadonlyArray<Request> => received.slice())
          : Effect.dieMessage("TestModel: this model keeps no requests (it was made with `record: false`)")
      })
    )
  }))

/**
 * The requests the scripted model has received.
 *
 * @since 0.1.0
 * @category accessors
 */
export const requests: Effect.Effect<ReadonlyArray<Request>, never, TestModel> = Effect.flatMap(
  TestModel,
  (model) => model.requests
)
