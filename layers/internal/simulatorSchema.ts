// Values that fit a JSON Schema (a tool's parameters, a response format), generated
// deterministically, with hints taken from the user's text so a demo reads naturally: the numbers
// of "add 2 and 3" go to the number fields, "Paris" in "weather in Paris?" to a string field.
// Also the opposite: arguments that do NOT fit a schema, for the invalid-tool-arguments fault.

type JsonSchema = { readonly [key: string]: unknown }

/** What the user's text offers to fill values with. */
export interface Hints {
  readonly text: string
  readonly quoted: ReadonlyArray<string>
  readonly names: ReadonlyArray<string>
  readonly numbers: ReadonlyArray<number>
}

const quotedPattern = /"([^"\n]+)"|“([^”\n]+)”|'([^'\n]{2,})'/g
const numberPattern = /(?<![\p{L}\d.])-?\d+(?:\.\d+)?(?![\p{L}\d])/gu
const wordPattern = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu

export const emptyHints: Hints = { text: "", quoted: [], names: [], numbers: [] }

/** Quoted phrases, capitalised names that do not start a sentence, and numbers, in order. */
export const hintsFrom = (text: string): Hints => {
  if (text.length === 0) return emptyHints
  const quoted: Array<string> = []
  for (const match of text.matchAll(quotedPattern)) quoted.push((match[1] ?? match[2] ?? match[3])!.trim())
  const numbers: Array<number> = []
  for (const match of text.matchAll(numberPattern)) numbers.push(Number(match[0]))
  const names: Array<string> = []
  let current: Array<string> = []
  let sentenceStart = true
  const flush = () => {
    if (current.length > 0) names.push(current.join(" "))
    current = []
  }
  let last = 0
  for (const match of text.matchAll(wordPattern)) {
    const between = text.slice(last, match.index)
    if (/[.!?:;\n]/.test(between)) {
      flush()
      sentenceStart = true
    } else if (/[,()"“”]/.test(between)) flush()
    const word = match[0]
    const capitalised = /^\p{Lu}/u.test(word) && word !== "I"
    if (capitalised && !sentenceStart) current.push(word.replace(/['’]s$/, ""))
    else flush()
    sentenceStart = false
    last = match.index + word.length
  }
  flush()
  return { text: text.trim(), quoted, names, numbers }
}

interface Context {
  readonly root: unknown
  readonly hints: Hints
  quoted: number
  names: number
  numbers: number
}

const maxDepth = 12
const fullDepth = 4

const isObject = (u: unknown): u is JsonSchema => typeof u === "object" && u !== null && !Array.isArray(u)

const resolveRef = (root: unknown, ref: string): unknown => {
  if (!ref.startsWith("#")) return {}
  const path = ref.slice(1).split("/").filter((s) => s.length > 0)
  let node: unknown = root
  for (const raw of path) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~")
    if (!isObject(node) && !Array.isArray(node)) return {}
    node = (node as Record<string, unknown>)[key]
  }
  return node ?? {}
}

const deref = (schema: unknown, root: unknown): unknown => {
  let current = schema
  for (let i = 0; i < 32 && isObject(current) && typeof current.$ref === "string"; i++) {
    const target = resolveRef(root, current.$ref)
    const { $ref: _ref, ...rest } = current
    current = Object.keys(rest).length === 0 ? target : isObject(target) ? { ...target, ...rest } : rest
  }
  return current
}

const typesOf = (schema: JsonSchema): ReadonlyArray<string> => {
  const type = schema.type
  if (typeof type === "string") return [type]
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === "string")
  return []
}

const isNullSchema = (schema: unknown): boolean =>
  isObject(schema) && (schema.type === "null" || (schema.const === null && Object.keys(schema).length <= 2))

const mergeAll = (schemas: ReadonlyArray<unknown>, root: unknown): JsonSchema => {
  const properties: Record<string, unknown> = {}
  const required: Array<string> = []
  let merged: Record<string, unknown> = {}
  for (const raw of schemas) {
    const schema = deref(raw, root)
    if (!isObject(schema)) continue
    merged = { ...merged, ...schema }
    if (isObject(schema.properties)) Object.assign(properties, schema.properties)
    if (Array.isArray(schema.required)) required.push(...schema.required.filter((k): k is string => typeof k === "string"))
  }
  if (Object.keys(properties).length > 0) merged.properties = properties
  if (required.length > 0) merged.required = required
  delete merged.allOf
  return merged
}

const mentioned = (text: string, value: string): boolean => {
  if (value.length === 0 || text.length === 0) return false
  const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escaped}($|[^\\p{L}\\p{N}])`, "iu").test(text)
}

const wholeTextName = /^(q|query|question|prompt|text|input|message|content|topic|task|instructions?|search|request)$|(Query|Question|Prompt|Text|Input|Message|Topic)$/

const formatExample = (format: string): string | undefined => {
  switch (format) {
    case "date-time":
      return "2025-01-01T12:00:00Z"
    case "date":
      return "2025-01-01"
    case "time":
      return "12:00:00"
    case "email":
    case "idn-email":
      return "user@example.com"
    case "uri":
    case "url":
    case "iri":
    case "uri-reference":
    case "iri-reference":
      return "https://example.com"
    case "uuid":
      return "00000000-0000-4000-8000-000000000000"
    case "ipv4":
      return "127.0.0.1"
    case "ipv6":
      return "::1"
    case "hostname":
    case "idn-hostname":
      return "example.com"
    case "duration":
      return "PT1M"
    default:
      return undefined
  }
}

const fitLength = (value: string, schema: JsonSchema): string => {
  const min = typeof schema.minLength === "number" ? schema.minLength : 0
  const max = typeof schema.maxLength === "number" ? schema.maxLength : Infinity
  let out = value
  if (out.length < min) out = out + "x".repeat(min - out.length)
  if (out.length > max) out = out.slice(0, max)
  return out
}

const stringExample = (schema: JsonSchema, ctx: Context, name: string | undefined, variant: number): string => {
  const format = typeof schema.format === "string" ? formatExample(schema.format) : undefined
  let value: string
  if (format !== undefined) value = format
  else if (name !== undefined && wholeTextName.test(name) && ctx.hints.text.length > 0) value = ctx.hints.text
  else if (ctx.quoted < ctx.hints.quoted.length) value = ctx.hints.quoted[ctx.quoted++]!
  else if (ctx.names < ctx.hints.names.length) value = ctx.hints.names[ctx.names++]!
  else value = variant > 0 ? `${name ?? "example"} ${variant + 1}` : name ?? "example"
  return fitLength(value, schema)
}

const numberExample = (schema: JsonSchema, ctx: Context, integer: boolean, variant: number): number => {
  const step = integer ? 1 : 0.5
  let lower = typeof schema.minimum === "number" ? schema.minimum : -Infinity
  let upper = typeof schema.maximum === "number" ? schema.maximum : Infinity
  if (typeof schema.exclusiveMinimum === "number") lower = Math.max(lower, schema.exclusiveMinimum + step)
  else if (schema.exclusiveMinimum === true && Number.isFinite(lower)) lower += step
  if (typeof schema.exclusiveMaximum === "number") upper = Math.min(upper, schema.exclusiveMaximum - step)
  else if (schema.exclusiveMaximum === true && Number.isFinite(upper)) upper -= step
  let value = ctx.numbers < ctx.hints.numbers.length ? ctx.hints.numbers[ctx.numbers++]! : 1 + variant
  if (integer) value = Math.round(value)
  if (value < lower) value = integer ? Math.ceil(lower) : lower
  if (value > upper) value = integer ? Math.floor(upper) : upper
  const multipleOf = typeof schema.multipleOf === "number" && schema.multipleOf > 0 ? schema.multipleOf : undefined
  if (multipleOf !== undefined) {
    let fitted = Math.ceil(value / multipleOf) * multipleOf
    if (fitted > upper) fitted = Math.floor(value / multipleOf) * multipleOf
    value = Number(fitted.toPrecision(12))
  }
  return value
}

const generate = (raw: unknown, ctx: Context, depth: number, name: string | undefined, variant: number): unknown => {
  if (raw === true || raw === undefined) return name ?? "example"
  if (raw === false) return null
  const schema = deref(raw, ctx.root)
  if (!isObject(schema)) return null
  if (depth > maxDepth) return null
  if ("const" in schema) return schema.const
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    const found = schema.enum.find((value) => typeof value === "string" && mentioned(ctx.hints.text, value))
    return found ?? schema.enum.find((value) => value !== null) ?? schema.enum[0]
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const { allOf, ...rest } = schema
    return generate(mergeAll([rest, ...allOf], ctx.root), ctx, depth, name, variant)
  }
  const union = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined
  if (union !== undefined && union.length > 0) {
    const branch = union.find((candidate) => !isNullSchema(deref(candidate, ctx.root))) ?? union[0]
    const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = schema
    const merged = Object.keys(rest).length === 0 ? branch : mergeAll([rest, branch], ctx.root)
    return generate(merged, ctx, depth, name, variant)
  }
  const types = typesOf(schema)
  const type = types.find((t) => t !== "null") ??
    (types.length > 0
      ? "null"
      : schema.properties !== undefined || schema.additionalProperties !== undefined
      ? "object"
      : schema.items !== undefined || schema.prefixItems !== undefined
      ? "array"
      : "string")
  switch (type) {
    case "null":
      return null
    case "boolean":
      return true
    case "integer":
      return numberExample(schema, ctx, true, variant)
    case "number":
      return numberExample(schema, ctx, false, variant)
    case "string":
      return stringExample(schema, ctx, name, variant)
    case "array": {
      const prefix = Array.isArray(schema.prefixItems)
        ? schema.prefixItems
        : Array.isArray(schema.items)
        ? schema.items
        : []
      const itemSchema = Array.isArray(schema.items) ? schema.additionalItems : schema.items
      const min = typeof schema.minItems === "number" ? schema.minItems : depth >= fullDepth ? 0 : 1
      const max = typeof schema.maxItems === "number" ? schema.maxItems : Infinity
      const count = Math.min(Math.max(min, prefix.length), max)
      const out: Array<unknown> = []
      const itemName = name !== undefined && name.endsWith("s") && name.length > 1 ? name.slice(0, -1) : name
      for (let i = 0; i < count; i++) {
        const item = i < prefix.length ? prefix[i] : itemSchema === false ? undefined : itemSchema
        if (item === undefined && i >= prefix.length) break
        out.push(generate(item, ctx, depth + 1, itemName, i))
      }
      return out
    }
    default: {
      const out: Record<string, unknown> = {}
      const properties = isObject(schema.properties) ? schema.properties : {}
      const required = new Set(
        Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === "string") : []
      )
      for (const key of Object.keys(properties)) {
        if (depth < fullDepth || required.has(key)) out[key] = generate(properties[key], ctx, depth + 1, key, 0)
      }
      for (const key of required) {
        if (!(key in out)) out[key] = generate(true, ctx, depth + 1, key, 0)
      }
      const minProperties = typeof schema.minProperties === "number" ? schema.minProperties : 0
      const extra = isObject(schema.additionalProperties) ? schema.additionalProperties : undefined
      for (let i = 0; Object.keys(out).length < minProperties && i < minProperties + 1; i++) {
        out[`key${i + 1}`] = generate(extra ?? true, ctx, depth + 1, `key${i + 1}`, 0)
      }
      return out
    }
  }
}

/** A value that fits `schema`, filled with `hints` where they fit. */
export const example = (schema: unknown, hints: Hints = emptyHints): unknown =>
  generate(schema, { root: schema, hints, quoted: 0, names: 0, numbers: 0 }, 0, undefined, 0)

const wrongValue = (raw: unknown, root: unknown): unknown => {
  const schema = deref(raw, root)
  if (!isObject(schema)) return { unexpected: true }
  if (Array.isArray(schema.enum) || "const" in schema) return "not-an-allowed-value"
  const type = typesOf(schema).find((t) => t !== "null")
  switch (type) {
    case "string":
      return 42
    case "number":
    case "integer":
      return "not a number"
    case "boolean":
      return "not a boolean"
    case "array":
      return "not an array"
    case "object":
      return "not an object"
    default:
      return schema.properties !== undefined ? "not an object" : { unexpected: true }
  }
}

/**
 * An object that does not fit `schema`: every required property (or, when none is required,
 * every property) with a value of the wrong type. A schema that accepts anything gets an object
 * with an unexpected property, the best that can be done.
 */
export const counterexample = (raw: unknown): Record<string, unknown> => {
  let schema = deref(raw, raw)
  if (isObject(schema) && Array.isArray(schema.allOf)) schema = mergeAll([schema, ...schema.allOf], raw)
  if (!isObject(schema)) return { unexpected_argument: true }
  const properties = isObject(schema.properties) ? schema.properties : {}
  const required = Array.isArray(schema.required)
    ? schema.required.filter((k): k is string => typeof k === "string")
    : []
  const keys = required.length > 0 ? required : Object.keys(properties)
  if (keys.length === 0) return { unexpected_argument: true }
  const out: Record<string, unknown> = {}
  for (const key of keys) out[key] = wrongValue(properties[key] ?? {}, raw)
  return out
}
