// The built-in responder and the step that turns any content reply into concrete wire content:
// tool names and arguments filled in from the request's tools, ids, argument fragments, the
// finish reason and deterministic usage.
import type { Answer, FinishReason, Request, Respond, ToolCallSpec, ToolSpec } from "./simulatorModel.js"
import * as SimulatorSchema from "./simulatorSchema.js"

/** A tool call ready for the wire. */
export interface ResolvedToolCall {
  readonly id: string
  readonly name: string
  /** The arguments as sent (JSON text, or not, for the invalid-arguments fault). */
  readonly arguments: string
  /** The streamed fragments of `arguments`. */
  readonly chunks: ReadonlyArray<string>
}

/** Content ready for the wire. */
export interface Resolved {
  readonly text: ReadonlyArray<string>
  readonly toolCalls: ReadonlyArray<ResolvedToolCall>
  readonly finishReason: FinishReason
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number
  readonly reasoningTokens: number
  readonly model: string
}

// -----------------------------------------------------------------------------
// Chunking
// -----------------------------------------------------------------------------

const argumentChunkSize = 16
const jsonChunkSize = 12

/** Splits `text` into `count` pieces of (almost) equal length. */
export const splitEvenly = (text: string, count: number): ReadonlyArray<string> => {
  const n = Math.max(1, Math.min(Math.floor(count), text.length))
  if (text.length === 0) return [""]
  const size = Math.ceil(text.length / n)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

const splitBySize = (text: string, size: number): ReadonlyArray<string> =>
  text.length <= size ? [text] : splitEvenly(text, Math.ceil(text.length / size))

/** Word by word (each word with the spaces after it), or in small pieces when there are no spaces. */
export const splitWords = (text: string): ReadonlyArray<string> => {
  if (text.length === 0) return []
  const words = text.match(/\s*\S+\s*/g)
  if (words === null) return [text]
  if (words.length === 1) return splitBySize(text, jsonChunkSize)
  return words
}

// -----------------------------------------------------------------------------
// The built-in responder
// -----------------------------------------------------------------------------

const stopWords = new Set([
  "get", "set", "list", "fetch", "find", "make", "create", "run", "the", "tool", "call", "use", "for", "with",
  "from", "and", "into", "via", "current", "info", "data", "value", "values"
])

const tokensOf = (name: string): ReadonlyArray<string> =>
  name.split(/[_\-\s.:/]+|(?<=[a-z0-9])(?=[A-Z])/).map((t) => t.toLowerCase()).filter((t) => t.length > 0)

const wordsOf = (text: string): ReadonlyArray<string> => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

/** Whether the user's words ask for `tool`: its name, or a significant word of it (or a close form). */
const calledFor = (tool: ToolSpec, words: ReadonlyArray<string>, text: string): boolean => {
  const tokens = tokensOf(tool.name)
  if (tokens.length > 1 && text.toLowerCase().includes(tokens.join(" "))) return true
  if (text.toLowerCase().includes(tool.name.toLowerCase())) return true
  const significant = tokens.filter((t) => t.length >= 3 && !stopWords.has(t))
  return significant.some((token) => {
    const stem = token.length >= 5 ? token.slice(0, Math.max(5, token.length - 3)) : undefined
    return words.some((word) => word === token || word === `${token}s` || (stem !== undefined && word.startsWith(stem)))
  })
}

const quote = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

const jsonAnswer = (request: Request, hintText: string): string | undefined =>
  request.responseFormat.type === "json"
    ? JSON.stringify(SimulatorSchema.example(request.responseFormat.schema, SimulatorSchema.hintsFrom(hintText)))
    : undefined

/**
 * The members a team's leader is told of: the lines of the roster its instructions list
 * ("The members of your team:" then "- name" or "- name: role").
 */
const rosterOf = (system: string | undefined): ReadonlyArray<string> => {
  const at = system?.indexOf("The members of your team:") ?? -1
  if (at === -1) return []
  const names: Array<string> = []
  for (const line of system!.slice(at).split("\n").slice(1)) {
    if (!line.startsWith("- ")) break
    const entry = line.slice(2)
    const colon = entry.indexOf(": ")
    names.push(colon === -1 ? entry.trim() : entry.slice(0, colon).trim())
  }
  return names
}

/** A tool that hands a task to a member: its arguments name a `member` and give a `task`. */
const isDelegation = (tool: ToolSpec): boolean => {
  const properties = (tool.parameters as { readonly properties?: Record<string, unknown> } | null)?.properties
  return properties !== undefined && "member" in properties && "task" in properties
}

/**
 * A leader with members hands the user's message to the members it names, or to every member: the
 * simulator then shows a team at work, as a model leading one would.
 */
const delegate = (request: Request, tools: ReadonlyArray<ToolSpec>): ReadonlyArray<ToolCallSpec> => {
  const tool = tools.find(isDelegation)
  const roster = rosterOf(request.system)
  if (tool === undefined || roster.length === 0) return []
  const text = request.lastUserText.toLowerCase()
  const named = roster.filter((name) => text.includes(name.toLowerCase()))
  return (named.length > 0 ? named : roster).map((member) => ({
    name: tool.name,
    arguments: { member, task: request.lastUserText },
    rawArguments: undefined,
    invalid: false,
    id: undefined,
    chunks: undefined
  }))
}

/** What the user said before the last message, most recent first. */
const earlierUserTexts = (request: Request): ReadonlyArray<string> => {
  const texts = request.messages.filter((message) => message.role === "user").map((message) => message.text)
  return texts.slice(0, -1).filter((text) => text.trim().length > 0).reverse()
}

/** What the built-in responder says to `request`: deterministic, from the request alone. */
export const builtIn = (request: Request): { readonly text: string; readonly toolCalls: ReadonlyArray<ToolCallSpec> } => {
  if (request.toolResults.length > 0) {
    const summary = request.toolResults
      .map((result) => `${result.name ?? "the tool"} ${result.isError ? "failed with" : "returned"} ${quote(result.content, 200)}`)
      .join("; ")
    return {
      text: jsonAnswer(request, request.toolResults.map((r) => r.content).join(" ")) ??
        `Simulated answer from the tool results: ${summary}.`,
      toolCalls: []
    }
  }
  const tools = request.toolChoice === "none" ? [] : request.tools
  if (tools.length > 0) {
    let chosen: ReadonlyArray<ToolSpec>
    const choice = request.toolChoice
    if (typeof choice === "object") {
      const named = tools.find((tool) => tool.name === choice.name)
      chosen = [named ?? { name: choice.name, description: undefined, parameters: { type: "object" } }]
    } else {
      const delegations = delegate(request, tools)
      if (delegations.length > 0) return { text: "", toolCalls: delegations }
      const words = wordsOf(request.lastUserText)
      chosen = tools.filter((tool) => !isDelegation(tool) && calledFor(tool, words, request.lastUserText))
      if (chosen.length === 0 && choice === "required") chosen = [tools[0]!]
    }
    if (chosen.length > 0) {
      return {
        text: "",
        toolCalls: chosen.map((tool) => ({
          name: tool.name,
          arguments: SimulatorSchema.example(tool.parameters, SimulatorSchema.hintsFrom(request.lastUserText)),
          rawArguments: undefined,
          invalid: false,
          id: undefined,
          chunks: undefined
        }))
      }
    }
  }
  // Earlier turns of the conversation reach the reply, so a session visibly remembers.
  const earlier = earlierUserTexts(request)
  const recalled = earlier.length === 0
    ? ""
    : ` Earlier you wrote: ${earlier.slice(0, 2).map((text) => `"${quote(text, 100)}"`).join(" and before that ")}.`
  return {
    text: jsonAnswer(request, request.lastUserText) ??
      (request.lastUserText.length === 0
        ? "This is a simulated reply from the local LLM simulator, not a model."
        : `This is a simulated reply from the local LLM simulator, not a model. You wrote: "${
          quote(request.lastUserText, 200)
        }"${recalled}`),
    toolCalls: []
  }
}

// -----------------------------------------------------------------------------
// Usage
// -----------------------------------------------------------------------------

/** Four characters a token, at least one. */
export const tokens = (chars: number): number => Math.max(1, Math.ceil(chars / 4))

/** The characters of the input: every message, tool call, and tool definition. */
export const inputChars = (request: Request): number => {
  let chars = 0
  for (const message of request.messages) {
    chars += message.text.length
    for (const call of message.toolCalls) chars += call.name.length + call.arguments.length
  }
  for (const tool of request.tools) {
    chars += tool.name.length + (tool.description?.length ?? 0) + JSON.stringify(tool.parameters ?? {}).length
  }
  return chars
}

// -----------------------------------------------------------------------------
// Resolution
// -----------------------------------------------------------------------------

const resolveCall = (spec: ToolCallSpec, request: Request, id: string): ResolvedToolCall => {
  const name = spec.name ?? request.tools[0]?.name ?? "tool"
  const tool = request.tools.find((t) => t.name === name)
  const args = spec.rawArguments ??
    (spec.invalid
      ? JSON.stringify(SimulatorSchema.counterexample(tool?.parameters ?? {}))
      : JSON.stringify(
        spec.arguments !== undefined
          ? spec.arguments
          : SimulatorSchema.example(tool?.parameters ?? { type: "object" }, SimulatorSchema.hintsFrom(request.lastUserText))
      ))
  const chunks = Array.isArray(spec.chunks)
    ? spec.chunks as ReadonlyArray<string>
    : typeof spec.chunks === "number"
    ? splitEvenly(args, spec.chunks)
    : splitBySize(args, argumentChunkSize)
  return { id: spec.id ?? id, name, arguments: args, chunks }
}

/** The concrete content of a content reply for `request`. */
export const resolve = (reply: Answer | Respond, request: Request): Resolved => {
  let text: ReadonlyArray<string>
  let specs: ReadonlyArray<ToolCallSpec>
  if (reply._tag === "Respond") {
    const answer = builtIn(request)
    text = splitWords(answer.text)
    specs = answer.toolCalls
  } else {
    text = reply.text
    specs = reply.toolCalls
  }
  const prefix = request.protocol === "messages" ? "toolu_sim" : "call_sim"
  const toolCalls = specs.map((spec, i) => resolveCall(spec, request, `${prefix}${request.index}_${i}`))
  let outputChars = 0
  for (const piece of text) outputChars += piece.length
  for (const call of toolCalls) outputChars += call.name.length + call.arguments.length
  const usage = reply._tag === "Answer" ? reply.usage : undefined
  return {
    text,
    toolCalls,
    finishReason: (reply._tag === "Answer" ? reply.finishReason : undefined) ??
      (toolCalls.length > 0 ? "tool-calls" : "stop"),
    inputTokens: usage?.inputTokens ?? tokens(inputChars(request)),
    outputTokens: usage?.outputTokens ?? tokens(outputChars),
    cachedInputTokens: usage?.cachedInputTokens ?? 0,
    reasoningTokens: usage?.reasoningTokens ?? 0,
    model: (reply._tag === "Answer" ? reply.model : undefined) ?? request.model
  }
}
