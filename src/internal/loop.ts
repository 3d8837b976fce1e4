import * as IdGenerator from "@effect/ai/IdGenerator"
import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { type AgentError, MaxTurnsExceeded, OutputDecodeError, RunTimeout } from "../AgentError.js"
import type * as Run from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type { Definition, RunOptions } from "./definition.js"
import * as EventStream from "./eventStream.js"
import * as ModelCall from "./modelCall.js"
import * as ToolCall from "./toolCall.js"

type Emit = EventStream.Emit

/** Runs an agent to its final answer. With `emit`, every step is reported as it happens. */
export const run = (
  agent: Definition,
  input: Run.Input,
  options: RunOptions | undefined,
  emit: Emit | undefined
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> =>
  Effect.suspend(() => {
    const runId = options?.runId ?? crypto.randomUUID()
    let effect: Effect.Effect<Run.Output<unknown>, AgentError, unknown> = loop(agent, runId, input, options, emit)
    if (agent.timeout !== undefined) {
      const timeout = agent.timeout
      effect = Effect.timeoutFail(effect, { duration: timeout, onTimeout: () => new RunTimeout({ timeout }) })
    }
    if (emit !== undefined) {
      effect = Effect.tapError(effect, (error) => emit(new RunEvent.RunFailed({ runId, error }, true)))
    }
    return Effect.withSpan(effect, "Agent.run", {
      captureStackTrace: false,
      attributes: { "agent.name": agent.name, "run.id": runId }
    })
  })

/** Runs an agent as a stream of its events (see `EventStream.fromRun`). */
export const stream = (
  agent: Definition,
  input: Run.Input,
  options: RunOptions | undefined
): Stream.Stream<RunEvent.RunEvent, AgentError, unknown> =>
  EventStream.fromRun((emit) => run(agent, input, options, emit), options?.onEvent)

const loop = (
  agent: Definition,
  runId: string,
  input: Run.Input,
  options: RunOptions | undefined,
  emit: Emit | undefined
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> => {
  const body = Effect.gen(function*() {
    const clock = yield* Effect.clock
    const state: ModelCall.RunState = {
      runId,
      startedAt: clock.unsafeCurrentTimeMillis(),
      emit,
      clock,
      retries: 0,
      firstTokenAt: undefined
    }
    if (emit !== undefined) yield* emit(new RunEvent.RunStarted({ runId, agent: agent.name }, true))

    const messages: Array<Prompt.Message> = []
    const system = yield* systemPrompt(agent)
    if (system.length > 0) messages.push(Prompt.makeMessage("system", { content: system }))
    if (options?.history !== undefined) messages.push(...options.history)
    messages.push(...inputMessages(input))

    const tools = ModelCall.toolSet(agent.toolkit)
    const models = ModelCall.models(agent)
    const context = yield* Effect.context<never>()
    const toolCalls: Array<Run.ToolCall> = []
    const usage = { input: 0, output: 0, total: 0, reasoning: undefined as number | undefined, cached: undefined as number | undefined }
    let repairs = agent.outputRepairs
    const stream = emit !== undefined

    for (let turn = 1;; turn++) {
      if (turn > agent.maxTurns) return yield* new MaxTurnsExceeded({ maxTurns: agent.maxTurns })
      if (emit !== undefined) yield* emit(new RunEvent.ModelRequestStarted({ runId, turn }, true))
      const response = yield* ModelCall.call(
        agent,
        tools,
        { prompt: Prompt.fromMessages(messages.slice()), turn, stream },
        state,
        models
      )
      usage.input += response.usage.inputTokens
      usage.output += response.usage.outputTokens
      usage.total += response.usage.totalTokens
      if (response.usage.reasoningTokens !== undefined) {
        usage.reasoning = (usage.reasoning ?? 0) + response.usage.reasoningTokens
      }
      if (response.usage.cachedInputTokens !== undefined) {
        usage.cached = (usage.cached ?? 0) + response.usage.cachedInputTokens
      }
      if (emit !== undefined) {
        yield* emit(
          new RunEvent.ModelRequestCompleted({
            runId,
            turn,
            finishReason: response.finishReason,
            usage: response.usage.reasoningTokens === undefined && response.usage.cachedInputTokens === undefined
              ? {
                inputTokens: response.usage.inputTokens,
                outputTokens: response.usage.outputTokens,
                totalTokens: response.usage.totalTokens
              }
              : response.usage as Run.Usage,
            ...(response.model !== undefined ? { model: response.model } : {})
          }, true)
        )
      }
      messages.push(assistantMessage(response))

      const pending = response.toolCalls.filter((call) => !call.providerExecuted)
      if (pending.length > 0) {
        // One call needs no fibers: a concurrent forEach forks even for a single element.
        const outcomes = pending.length === 1
          ? [yield* ToolCall.run(agent, pending[0]!, state, context)]
          : yield* Effect.forEach(
            pending,
            (call) => ToolCall.run(agent, call, state, context),
            { concurrency: agent.toolConcurrency }
          )
        for (const outcome of outcomes) toolCalls.push(outcome.record)
        messages.push(Prompt.makeMessage("tool", { content: outcomes.map((outcome) => outcome.part) }))
        continue
      }

      let content: unknown = response.text
      if (agent.output !== undefined) {
        const decoded = decodeOutput(agent.output)(response.text)
        if (Either.isLeft(decoded)) {
          const problem = ParseResult.TreeFormatter.formatErrorSync(decoded.left)
          if (repairs-- > 0) {
            messages.push(Prompt.makeMessage("user", {
              content: [Prompt.makePart("text", {
                text: `Your answer could not be read as the required JSON:\n${problem}\n` +
                  "Answer again with only a JSON value that matches the schema."
              })]
            }))
            continue
          }
          return yield* new OutputDecodeError({
            message: `The model's answer does not match the output schema:\n${problem}`,
            text: response.text
          })
        }
        content = decoded.right
      }

      const now = clock.unsafeCurrentTimeMillis()
      const metrics: Run.Metrics = {
        inputTokens: usage.input,
        outputTokens: usage.output,
        totalTokens: usage.total,
        ...(usage.reasoning !== undefined ? { reasoningTokens: usage.reasoning } : {}),
        ...(usage.cached !== undefined ? { cachedInputTokens: usage.cached } : {}),
        modelCalls: turn,
        toolCalls: toolCalls.length,
        retries: state.retries,
        ...(state.firstTokenAt !== undefined
          ? { timeToFirstToken: Duration.millis(state.firstTokenAt - state.startedAt) }
          : {}),
        duration: Duration.millis(now - state.startedAt)
      }
      const output: Run.Output<unknown> = {
        runId,
        agent: agent.name,
        content,
        text: response.text,
        messages,
        toolCalls,
        finishReason: response.finishReason,
        ...(response.model !== undefined ? { model: response.model } : {}),
        metrics
      }
      yield* Effect.annotateCurrentSpan({
        "gen_ai.usage.input_tokens": usage.input,
        "gen_ai.usage.output_tokens": usage.output,
        "run.model_calls": turn,
        "run.tool_calls": toolCalls.length
      })
      if (emit !== undefined) yield* emit(new RunEvent.RunCompleted({ runId, output }, true))
      return output
    }
  })
  // A scope is needed only to build the agent's own model layers (a scope costs a few µs per run).
  // The lean model path's parts may ask for ids: one generator for the whole run.
  const withIds = Effect.provideService(body, IdGenerator.IdGenerator, IdGenerator.defaultIdGenerator)
  return agent.model === undefined && agent.fallback.length === 0
    ? (withIds as Effect.Effect<Run.Output<unknown>, AgentError, unknown>)
    : Effect.scoped(withIds)
}

const decoders = new WeakMap<Schema.Schema<unknown, unknown, unknown>, (text: string) => Either.Either<unknown, ParseResult.ParseError>>()
const decodeOutput = (schema: Schema.Schema<unknown, unknown, unknown>) => {
  let decode = decoders.get(schema)
  if (decode === undefined) {
    decode = Schema.decodeEither(Schema.parseJson(schema as Schema.Schema<unknown, unknown>))
    decoders.set(schema, decode)
  }
  return decode
}

const inputMessages = (input: Run.Input): ReadonlyArray<Prompt.Message> =>
  typeof input === "string"
    ? [Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text: input })] })]
    : Prompt.make(input).content

const assistantMessage = (turn: ModelCall.Turn): Prompt.AssistantMessage => {
  const content: Array<Prompt.AssistantMessagePart> = []
  if (turn.reasoning.length > 0) content.push(Prompt.makePart("reasoning", { text: turn.reasoning }))
  if (turn.text.length > 0) content.push(Prompt.makePart("text", { text: turn.text }))
  for (const call of turn.toolCalls) {
    content.push(Prompt.makePart("tool-call", {
      id: call.id,
      name: call.name,
      params: call.params,
      providerExecuted: call.providerExecuted
    }))
  }
  for (const result of turn.providerResults) {
    content.push(Prompt.makePart("tool-result", {
      id: result.id,
      name: result.name,
      isFailure: result.isFailure,
      result: result.result,
      providerExecuted: true
    }))
  }
  return Prompt.makeMessage("assistant", { content })
}

const systemPrompt = (agent: Definition): Effect.Effect<string, never, unknown> => {
  const instructions = agent.instructions
  const build = (lines: ReadonlyArray<string>) => {
    const parts: Array<string> = []
    if (agent.description !== undefined) parts.push(agent.description)
    if (agent.role !== undefined) parts.push(`Your role: ${agent.role}`)
    for (const line of lines) if (line.length > 0) parts.push(line)
    if (agent.markdown) parts.push("Use markdown to format your answers.")
    if (agent.output !== undefined) parts.push(outputInstruction(agent.output))
    return parts.join("\n\n")
  }
  if (typeof instructions === "string") return Effect.succeed(build([instructions]))
  if (Effect.isEffect(instructions)) {
    return Effect.map(instructions, (produced) => build(typeof produced === "string" ? [produced] : produced))
  }
  return Effect.succeed(build(instructions as ReadonlyArray<string>))
}

const outputInstructions = new WeakMap<Schema.Schema<unknown, unknown, unknown>, string>()
const outputInstruction = (schema: Schema.Schema<unknown, unknown, unknown>): string => {
  let text = outputInstructions.get(schema)
  if (text === undefined) {
    text = "Give your final answer as a single JSON value, with no other text, that matches this JSON Schema:\n" +
      JSON.stringify(Tool.getJsonSchemaFromSchemaAst(schema.ast) satisfies JSONSchema.JsonSchema7)
    outputInstructions.set(schema, text)
  }
  return text
}
