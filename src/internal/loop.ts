import * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import type * as Fiber from "effect/Fiber"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { type AgentError, MaxTurnsExceeded, OutputDecodeError, RunTimeout } from "../AgentError.js"
import type * as Run from "../Run.js"
import * as RunEvent from "../RunEvent.js"
import type { Definition, RunOptions } from "./definition.js"
import * as EventStream from "./eventStream.js"
import * as Id from "./id.js"
import * as Memo from "./memo.js"
import * as ModelCall from "./modelCall.js"
import * as Telemetry from "./telemetry.js"
import * as ToolCall from "./toolCall.js"

type Emit = EventStream.Emit

/** Runs an agent to its final answer. With `emit`, every step is reported as it happens. */
export const run = (
  agent: Definition,
  input: Run.Input,
  options: RunOptions | undefined,
  emit: Emit | undefined
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> =>
  Effect.withFiberRuntime((fiber) => {
    const runId = options?.runId ?? Id.uuid()
    const traced = ModelCall.isTraced(fiber)
    let effect: Effect.Effect<Run.Output<unknown>, AgentError, unknown> = loop(agent, runId, input, options, emit, traced)
    if (agent.timeout !== undefined) {
      const timeout = agent.timeout
      effect = Effect.timeoutFail(effect, { duration: timeout, onTimeout: () => new RunTimeout({ timeout }) })
    }
    if (emit !== undefined) {
      effect = Effect.tapError(effect, (error) => emit(new RunEvent.RunFailed({ runId, error }, true)))
    }
    if (!traced) return effect
    // A run in a session is given its session id with its options (by the session machinery).
    const sessionId = (options as { readonly sessionId?: string | undefined } | undefined)?.sessionId
    return Telemetry.invokeAgent(effect, { name: agent.name, runId, conversationId: sessionId })
  })

// The loop is an object with methods, chained as continuations rather than written as a generator:
// a turn is a handful of operations, and a generator step (or a closure made per run) costs about
// as much as one of them.
const loop = (
  agent: Definition,
  runId: string,
  input: Run.Input,
  options: RunOptions | undefined,
  emit: Emit | undefined,
  traced: boolean
): Effect.Effect<Run.Output<unknown>, AgentError, unknown> => {
  const body = Effect.withFiberRuntime<Run.Output<unknown>, AgentError, unknown>((fiber) =>
    new Loop(agent, runId, emit, traced, fiber).start(input, options)
  )
  // A scope is needed only to build the agent's own model layers (a scope costs a few µs per run).
  return agent.model === undefined && agent.fallback.length === 0 ? body : Effect.scoped(body)
}

// The loop is also the run's state, as its model and tool calls see it: one object per run.
class Loop implements ModelCall.Run {
  readonly startedAt: number
  readonly clock: Clock.Clock
  retries = 0
  firstTokenAt: number | undefined = undefined
  readonly context: Context.Context<never>
  readonly tools: ModelCall.ToolSet
  readonly models: ModelCall.Models
  readonly messages: Array<Prompt.Message> = []
  readonly toolCalls: Array<Run.ToolCall> = []
  inputTokens = 0
  outputTokens = 0
  totalTokens = 0
  reasoningTokens: number | undefined = undefined
  cachedInputTokens: number | undefined = undefined
  repairs: number

  constructor(
    readonly agent: Definition,
    readonly runId: string,
    readonly emit: Emit | undefined,
    readonly traced: boolean,
    fiber: Fiber.RuntimeFiber<unknown, unknown>
  ) {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    this.clock = clock
    this.startedAt = clock.unsafeCurrentTimeMillis()
    this.context = fiber.currentContext
    this.tools = ModelCall.toolSet(agent.toolkit)
    this.models = ModelCall.models(agent, this.context)
    this.repairs = agent.outputRepairs
  }

  start(input: Run.Input, options: RunOptions | undefined): Effect.Effect<Run.Output<unknown>, AgentError, unknown> {
    if (this.emit === undefined) return this.begin(input, options)
    return Effect.flatMap(
      this.emit(new RunEvent.RunStarted({ runId: this.runId, agent: this.agent.name }, true)),
      () => this.begin(input, options)
    )
  }

  begin(input: Run.Input, options: RunOptions | undefined): Effect.Effect<Run.Output<unknown>, AgentError, unknown> {
    const instructions = systemPrompt(this.agent)
    return typeof instructions === "string"
      ? this.first(instructions, input, options)
      : Effect.flatMap(instructions, (system) => this.first(system, input, options))
  }

  first(system: string, input: Run.Input, options: RunOptions | undefined) {
    const messages = this.messages
    if (system.length > 0) messages.push(systemMessage(this.agent, system))
    if (options?.history !== undefined) for (const message of options.history) messages.push(message)
    if (typeof input === "string") messages.push(ModelCall.userMessage([ModelCall.textPart(input)]))
    else for (const message of Prompt.make(input).content) messages.push(message)
    return this.turn(1)
  }

  turn(n: number): Effect.Effect<Run.Output<unknown>, AgentError> {
    if (n > this.agent.maxTurns) return Effect.fail(new MaxTurnsExceeded({ maxTurns: this.agent.maxTurns }))
    if (this.emit === undefined) return this.call(n)
    return Effect.flatMap(
      this.emit(new RunEvent.ModelRequestStarted({ runId: this.runId, turn: n }, true)),
      () => this.call(n)
    )
  }

  call(n: number): Effect.Effect<Run.Output<unknown>, AgentError> {
    return Effect.flatMap(
      ModelCall.call(this, Prompt.fromMessages(this.messages.slice()), n),
      (response) => this.answered(n, response)
    )
  }

  answered(n: number, response: ModelCall.Turn): Effect.Effect<Run.Output<unknown>, AgentError> {
    const usage = response.usage
    this.inputTokens += usage.inputTokens
    this.outputTokens += usage.outputTokens
    this.totalTokens += usage.totalTokens
    if (usage.reasoningTokens !== undefined) this.reasoningTokens = (this.reasoningTokens ?? 0) + usage.reasoningTokens
    if (usage.cachedInputTokens !== undefined) {
      this.cachedInputTokens = (this.cachedInputTokens ?? 0) + usage.cachedInputTokens
    }
    if (this.emit === undefined) return this.next(n, response)
    return Effect.flatMap(
      this.emit(
        new RunEvent.ModelRequestCompleted({
          runId: this.runId,
          turn: n,
          finishReason: response.finishReason,
          usage: usage.reasoningTokens === undefined && usage.cachedInputTokens === undefined
            ? { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, totalTokens: usage.totalTokens }
            : usage as Run.Usage,
          ...(response.model !== undefined ? { model: response.model } : {})
        }, true)
      ),
      () => this.next(n, response)
    )
  }

  next(n: number, response: ModelCall.Turn): Effect.Effect<Run.Output<unknown>, AgentError> {
    this.messages.push(assistantMessage(response))
    const pending = response.toolCalls.filter((call) => !call.providerExecuted)
    if (pending.length > 0) {
      if (pending.length === 1) {
        // One call needs no fibers: a concurrent forEach forks even for a single element.
        return Effect.flatMap(
          ToolCall.run(this.agent, pending[0]!, this, this.context),
          (outcome) => this.toolResults(n, [outcome])
        )
      }
      return Effect.flatMap(
        Effect.forEach(pending, (call) => ToolCall.run(this.agent, call, this, this.context), {
          concurrency: this.agent.toolConcurrency
        }),
        (outcomes) => this.toolResults(n, outcomes)
      )
    }
    return this.answer(n, response)
  }

  toolResults(n: number, outcomes: ReadonlyArray<ToolCall.Outcome>): Effect.Effect<Run.Output<unknown>, AgentError> {
    const parts: Array<Prompt.ToolResultPart> = []
    for (const outcome of outcomes) {
      this.toolCalls.push(outcome.record)
      parts.push(outcome.part)
    }
    this.messages.push(ModelCall.toolMessage(parts))
    return this.turn(n + 1)
  }

  answer(n: number, response: ModelCall.Turn): Effect.Effect<Run.Output<unknown>, AgentError> {
    let content: unknown = response.text
    const schema = this.agent.output
    if (schema !== undefined) {
      const decoded = decodeOutput(schema)(response.text)
      if (Either.isLeft(decoded)) {
        const problem = ParseResult.TreeFormatter.formatErrorSync(decoded.left)
        if (this.repairs-- > 0) {
          this.messages.push(ModelCall.userMessage([
            ModelCall.textPart(
              `Your answer could not be read as the required JSON:\n${problem}\n` +
                "Answer again with only a JSON value that matches the schema."
            )
          ]))
          return this.turn(n + 1)
        }
        return Effect.fail(
          new OutputDecodeError({
            message: `The model's answer does not match the output schema:\n${problem}`,
            text: response.text
          })
        )
      }
      content = decoded.right
    }

    const now = this.clock.unsafeCurrentTimeMillis()
    const metrics: Run.Metrics = {
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      totalTokens: this.totalTokens,
      ...(this.reasoningTokens !== undefined ? { reasoningTokens: this.reasoningTokens } : {}),
      ...(this.cachedInputTokens !== undefined ? { cachedInputTokens: this.cachedInputTokens } : {}),
      modelCalls: n,
      toolCalls: this.toolCalls.length,
      retries: this.retries,
      ...(this.firstTokenAt !== undefined
        ? { timeToFirstToken: Duration.millis(this.firstTokenAt - this.startedAt) }
        : {}),
      duration: Duration.millis(now - this.startedAt)
    }
    const output: Run.Output<unknown> = {
      runId: this.runId,
      agent: this.agent.name,
      content,
      text: response.text,
      messages: this.messages,
      toolCalls: this.toolCalls,
      finishReason: response.finishReason,
      ...(response.model !== undefined ? { model: response.model } : {}),
      metrics
    }
    let done: Effect.Effect<Run.Output<unknown>> = this.emit === undefined
      ? Effect.succeed(output)
      : Effect.as(this.emit(new RunEvent.RunCompleted({ runId: this.runId, output }, true)), output)
    if (this.traced) {
      done = Effect.zipRight(
        Effect.annotateCurrentSpan({
          "gen_ai.usage.input_tokens": this.inputTokens,
          "gen_ai.usage.output_tokens": this.outputTokens,
          "run.model_calls": n,
          "run.tool_calls": this.toolCalls.length
        }),
        done
      )
    }
    return done
  }
}

const decodeOutput = Memo.weak(
  (schema: Schema.Schema<unknown, unknown, unknown>): (text: string) => Either.Either<unknown, ParseResult.ParseError> =>
    Schema.decodeEither(Schema.parseJson(schema as Schema.Schema<unknown, unknown>))
)

const assistantMessage = (turn: ModelCall.Turn): Prompt.AssistantMessage => {
  const content: Array<Prompt.AssistantMessagePart> = []
  if (turn.reasoning.length > 0) content.push(ModelCall.reasoningPart(turn.reasoning))
  if (turn.text.length > 0) content.push(ModelCall.textPart(turn.text))
  for (const call of turn.toolCalls) {
    content.push(ModelCall.toolCallPart(call.id, call.name, call.params, call.providerExecuted))
  }
  for (const result of turn.providerResults) {
    content.push(ModelCall.toolResultPart(result.id, result.name, result.isFailure, result.result, true))
  }
  return ModelCall.assistantMessage(content)
}

const buildSystemPrompt = (agent: Definition, lines: ReadonlyArray<string>): string => {
  const parts: Array<string> = []
  if (agent.description !== undefined) parts.push(agent.description)
  if (agent.role !== undefined) parts.push(`Your role: ${agent.role}`)
  for (const line of lines) if (line.length > 0) parts.push(line)
  if (agent.markdown) parts.push("Use markdown to format your answers.")
  if (agent.output !== undefined) parts.push(outputInstruction(agent.output))
  return parts.join("\n\n")
}

// The instructions of an agent whose instructions are not an Effect are the same on every run.
const staticSystemPrompt = Memo.weak((agent: Definition): string => {
  const instructions = agent.instructions as string | ReadonlyArray<string>
  return buildSystemPrompt(agent, typeof instructions === "string" ? [instructions] : instructions)
})

const systemPrompt = (agent: Definition): string | Effect.Effect<string, never, unknown> => {
  const instructions = agent.instructions
  return Effect.isEffect(instructions)
    ? Effect.map(instructions, (produced) => buildSystemPrompt(agent, typeof produced === "string" ? [produced] : produced))
    : staticSystemPrompt(agent)
}

// Messages are immutable values: an agent's system message is made once for all its runs.
const systemMessages = new WeakMap<Definition, Prompt.SystemMessage>()
const systemMessage = (agent: Definition, content: string): Prompt.SystemMessage => {
  let message = systemMessages.get(agent)
  if (message === undefined || message.content !== content) {
    message = ModelCall.systemMessage(content)
    systemMessages.set(agent, message)
  }
  return message
}

const outputInstruction = Memo.weak((schema: Schema.Schema<unknown, unknown, unknown>): string =>
  "Give your final answer as a single JSON value, with no other text, that matches this JSON Schema:\n" +
  JSON.stringify(Tool.getJsonSchemaFromSchemaAst(schema.ast) satisfies JSONSchema.JsonSchema7)
)
