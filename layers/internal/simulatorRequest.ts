// Reading a request of each protocol into one shape. Unknown fields and content types are skipped,
// never fatal; only what a real provider would refuse (no model, no messages, ...) is an error.
import type { Message, Protocol, Request, ResponseFormat, ToolCallRecord, ToolChoice, ToolResult, ToolSpec } from "./simulatorModel.js"

/** A request the protocol would refuse, with the parameter at fault. */
export interface Invalid {
  readonly _tag: "Invalid"
  readonly message: string
  readonly param: string | undefined
}

type Json = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)
const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)
const arr = (u: unknown): ReadonlyArray<unknown> => (Array.isArray(u) ? u : [])

const invalid = (message: string, param?: string): Invalid => ({ _tag: "Invalid", message, param })

const textOfParts = (content: unknown): string => {
  if (typeof content === "string") return content
  let out = ""
  for (const part of arr(content)) {
    if (typeof part === "string") out += part
    else if (isObject(part)) {
      const text = str(part.text) ?? str(part.refusal)
      if (text !== undefined) out += text
      else if (part.type === "tool_result") continue
      else if (typeof part.type === "string" && /image|file|document|audio/.test(part.type)) out += `[${part.type}]`
    }
  }
  return out
}

const message = (
  role: Message["role"],
  text: string,
  toolCalls: ReadonlyArray<ToolCallRecord> = [],
  toolCallId?: string,
  isError = false
): Message => ({ role, text, toolCalls, toolCallId, isError })

const redacted = new Set(["authorization", "x-api-key", "proxy-authorization", "cookie", "openai-organization", "openai-project"])

const copyHeaders = (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>) => {
  const out: Record<string, string> = {}
  for (const key in headers) {
    const value = headers[key]
    if (value === undefined) continue
    out[key] = redacted.has(key) ? "<redacted>" : typeof value === "string" ? value : value.join(", ")
  }
  return out
}

const toolResultsOf = (messages: ReadonlyArray<Message>): ReadonlyArray<ToolResult> => {
  let start = messages.length
  while (start > 0 && messages[start - 1]!.role === "tool") start--
  if (start === messages.length) return []
  const names = new Map<string, string>()
  for (let i = start - 1; i >= 0; i--) {
    const previous = messages[i]!
    if (previous.role !== "assistant") break
    for (const call of previous.toolCalls) names.set(call.id, call.name)
  }
  return messages.slice(start).map((m) => ({
    id: m.toolCallId ?? "",
    name: names.get(m.toolCallId ?? ""),
    content: m.text,
    isError: m.isError
  }))
}

const lastUserTextOf = (messages: ReadonlyArray<Message>): string => {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user") return messages[i]!.text
  }
  return ""
}

const systemOf = (messages: ReadonlyArray<Message>): string | undefined => {
  const parts = messages.filter((m) => m.role === "system").map((m) => m.text)
  return parts.length === 0 ? undefined : parts.join("\n\n")
}

interface Parsed {
  readonly model: string
  readonly stream: boolean
  readonly messages: ReadonlyArray<Message>
  readonly tools: ReadonlyArray<ToolSpec>
  readonly toolChoice: ToolChoice
  readonly responseFormat: ResponseFormat
  readonly includeUsage: boolean
  readonly maxTokens: number | undefined
}

const jsonFormat = (name: unknown, schema: unknown): ResponseFormat => ({
  type: "json",
  name: str(name),
  schema: schema ?? { type: "object" }
})

// -----------------------------------------------------------------------------
// OpenAI Responses
// -----------------------------------------------------------------------------

const parseResponses = (body: Json): Parsed | Invalid => {
  const model = str(body.model)
  if (model === undefined) return invalid("Missing required parameter: 'model'.", "model")
  const messages: Array<Message> = []
  const instructions = str(body.instructions)
  if (instructions !== undefined && instructions.length > 0) messages.push(message("system", instructions))
  if (typeof body.input === "string") messages.push(message("user", body.input))
  else if (Array.isArray(body.input)) {
    for (const item of body.input) {
      if (!isObject(item)) continue
      const type = str(item.type) ?? "message"
      if (type === "message") {
        const role = item.role === "developer" || item.role === "system"
          ? "system"
          : item.role === "assistant"
          ? "assistant"
          : "user"
        messages.push(message(role, textOfParts(item.content)))
      } else if (type === "function_call") {
        const call: ToolCallRecord = {
          id: str(item.call_id) ?? "",
          name: str(item.name) ?? "",
          arguments: str(item.arguments) ?? ""
        }
        const last = messages[messages.length - 1]
        if (last !== undefined && last.role === "assistant") {
          messages[messages.length - 1] = { ...last, toolCalls: [...last.toolCalls, call] }
        } else messages.push(message("assistant", "", [call]))
      } else if (type === "function_call_output") {
        const output = typeof item.output === "string" ? item.output : textOfParts(item.output)
        messages.push(message("tool", output, [], str(item.call_id) ?? ""))
      }
    }
  } else if (body.input !== undefined && body.input !== null) {
    return invalid("Invalid type for 'input': expected a string or an array of input items.", "input")
  }
  const tools: Array<ToolSpec> = []
  for (const tool of arr(body.tools)) {
    if (isObject(tool) && tool.type === "function" && typeof tool.name === "string") {
      tools.push({ name: tool.name, description: str(tool.description), parameters: tool.parameters ?? {} })
    }
  }
  const choice = body.tool_choice
  const toolChoice: ToolChoice = choice === "none" || choice === "required" || choice === "auto"
    ? choice
    : isObject(choice) && typeof choice.name === "string"
    ? { name: choice.name }
    : "auto"
  const format = isObject(body.text) && isObject(body.text.format) ? body.text.format : undefined
  const responseFormat: ResponseFormat = format?.type === "json_schema"
    ? jsonFormat(format.name, format.schema)
    : format?.type === "json_object"
    ? jsonFormat(undefined, undefined)
    : { type: "text" }
  return {
    model,
    stream: body.stream === true,
    messages,
    tools,
    toolChoice,
    responseFormat,
    includeUsage: true,
    maxTokens: typeof body.max_output_tokens === "number" ? body.max_output_tokens : undefined
  }
}

// -----------------------------------------------------------------------------
// OpenAI Chat Completions
// -----------------------------------------------------------------------------

const parseChatCompletions = (body: Json): Parsed | Invalid => {
  const model = str(body.model)
  if (model === undefined) return invalid("Missing required parameter: 'model'.", "model")
  if (!Array.isArray(body.messages)) return invalid("Missing required parameter: 'messages'.", "messages")
  const messages: Array<Message> = []
  for (const item of body.messages) {
    if (!isObject(item)) continue
    switch (item.role) {
      case "system":
      case "developer":
        messages.push(message("system", textOfParts(item.content)))
        break
      case "assistant": {
        const calls: Array<ToolCallRecord> = []
        for (const call of arr(item.tool_calls)) {
          if (!isObject(call)) continue
          const fn = isObject(call.function) ? call.function : {}
          calls.push({ id: str(call.id) ?? "", name: str(fn.name) ?? "", arguments: str(fn.arguments) ?? "" })
        }
        messages.push(message("assistant", textOfParts(item.content ?? ""), calls))
        break
      }
      case "tool":
      case "function":
        messages.push(message("tool", textOfParts(item.content), [], str(item.tool_call_id) ?? str(item.name) ?? ""))
        break
      default:
        messages.push(message("user", textOfParts(item.content)))
    }
  }
  const tools: Array<ToolSpec> = []
  for (const tool of arr(body.tools)) {
    if (isObject(tool) && isObject(tool.function) && typeof tool.function.name === "string") {
      tools.push({
        name: tool.function.name,
        description: str(tool.function.description),
        parameters: tool.function.parameters ?? {}
      })
    }
  }
  const choice = body.tool_choice
  const toolChoice: ToolChoice = choice === "none" || choice === "required" || choice === "auto"
    ? choice
    : isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string"
    ? { name: choice.function.name }
    : "auto"
  const format = isObject(body.response_format) ? body.response_format : undefined
  const schema = format !== undefined && isObject(format.json_schema) ? format.json_schema : undefined
  const responseFormat: ResponseFormat = format?.type === "json_schema"
    ? jsonFormat(schema?.name, schema?.schema)
    : format?.type === "json_object"
    ? jsonFormat(undefined, undefined)
    : { type: "text" }
  const maxTokens = typeof body.max_completion_tokens === "number"
    ? body.max_completion_tokens
    : typeof body.max_tokens === "number"
    ? body.max_tokens
    : undefined
  return {
    model,
    stream: body.stream === true,
    messages,
    tools,
    toolChoice,
    responseFormat,
    includeUsage: isObject(body.stream_options) && body.stream_options.include_usage === true,
    maxTokens
  }
}

// -----------------------------------------------------------------------------
// Anthropic Messages
// -----------------------------------------------------------------------------

const parseMessages = (body: Json): Parsed | Invalid => {
  const model = str(body.model)
  if (model === undefined) return invalid("model: Field required", "model")
  if (!Array.isArray(body.messages)) return invalid("messages: Field required", "messages")
  if (typeof body.max_tokens !== "number") return invalid("max_tokens: Field required", "max_tokens")
  const messages: Array<Message> = []
  const system = typeof body.system === "string" ? body.system : textOfParts(body.system)
  if (system.length > 0) messages.push(message("system", system))
  for (const item of body.messages) {
    if (!isObject(item)) continue
    if (item.role === "assistant") {
      const calls: Array<ToolCallRecord> = []
      for (const block of arr(item.content)) {
        if (isObject(block) && block.type === "tool_use") {
          calls.push({ id: str(block.id) ?? "", name: str(block.name) ?? "", arguments: JSON.stringify(block.input ?? {}) })
        }
      }
      messages.push(message("assistant", textOfParts(item.content), calls))
    } else {
      for (const block of arr(item.content)) {
        if (isObject(block) && block.type === "tool_result") {
          messages.push(
            message("tool", textOfParts(block.content ?? ""), [], str(block.tool_use_id) ?? "", block.is_error === true)
          )
        }
      }
      const text = textOfParts(item.content)
      const onlyResults = Array.isArray(item.content) &&
        item.content.every((block) => isObject(block) && block.type === "tool_result")
      if (!onlyResults) messages.push(message("user", text))
    }
  }
  const tools: Array<ToolSpec> = []
  for (const tool of arr(body.tools)) {
    if (isObject(tool) && typeof tool.name === "string" && tool.input_schema !== undefined) {
      tools.push({ name: tool.name, description: str(tool.description), parameters: tool.input_schema })
    }
  }
  const choice = isObject(body.tool_choice) ? body.tool_choice : undefined
  const toolChoice: ToolChoice = choice?.type === "any"
    ? "required"
    : choice?.type === "none"
    ? "none"
    : choice?.type === "tool" && typeof choice.name === "string"
    ? { name: choice.name }
    : "auto"
  return {
    model,
    stream: body.stream === true,
    messages,
    tools,
    toolChoice,
    responseFormat: { type: "text" },
    includeUsage: true,
    maxTokens: body.max_tokens
  }
}

/** Reads a parsed JSON body of `protocol` into a {@link Request}, or says why the provider would refuse it. */
export const parse = (
  protocol: Protocol,
  body: unknown,
  headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  index: number
): Request | Invalid => {
  if (!isObject(body)) return invalid("The request body must be a JSON object.")
  const parsed = protocol === "responses"
    ? parseResponses(body)
    : protocol === "chat-completions"
    ? parseChatCompletions(body)
    : parseMessages(body)
  if ("_tag" in parsed) return parsed
  return {
    index,
    protocol,
    model: parsed.model,
    stream: parsed.stream,
    system: systemOf(parsed.messages),
    messages: parsed.messages,
    lastUserText: lastUserTextOf(parsed.messages),
    toolResults: toolResultsOf(parsed.messages),
    tools: parsed.tools,
    toolChoice: parsed.toolChoice,
    responseFormat: parsed.responseFormat,
    includeUsage: parsed.includeUsage,
    maxTokens: parsed.maxTokens,
    headers: copyHeaders(headers),
    body
  }
}
