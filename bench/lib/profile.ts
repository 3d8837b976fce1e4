/**
 * A summary of a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by module,
 * as a share of the sampled time, so the people making the loop faster see where it goes.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

// -----------------------------------------------------------------------------
// Source maps: a profile of a bundle names the bundle's lines; the map gives the sources'
// -----------------------------------------------------------------------------

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

interface Segment {
  readonly column: number
  readonly source: number
  readonly line: number
}

/** A decoded source map: for each generated line, its segments by column. */
export interface SourceMap {
  readonly file: string
  readonly sources: ReadonlyArray<string>
  readonly lines: ReadonlyArray<ReadonlyArray<Segment>>
}

export const readSourceMap = (bundleFile: string): SourceMap => {
  const raw = JSON.parse(Fs.readFileSync(`${bundleFile}.map`, "utf8")) as {
    readonly sources: ReadonlyArray<string>
    readonly mappings: string
  }
  const dir = Path.dirname(bundleFile)
  const lines: Array<Array<Segment>> = []
  let source = 0
  let line = 0
  for (const text of raw.mappings.split(";")) {
    const segments: Array<Segment> = []
    let column = 0
    for (const segment of text.split(",")) {
      if (segment.length === 0) continue
      const values: Array<number> = []
      let value = 0
      let shift = 0
      for (const char of segment) {
        const digit = BASE64.indexOf(char)
        value += (digit & 31) << shift
        if (digit & 32) shift += 5
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = 0
          shift = 0
        }
      }
      column += values[0]!
      if (values.length >= 4) {
        source += values[1]!
        line += values[2]!
        segments.push({ column, source, line })
      }
    }
    lines.push(segments)
  }
  return { file: bundleFile, sources: raw.sources.map((s) => Path.resolve(dir, s)), lines }
}

/** The source file and 0-based line of a generated position. */
const original = (map: SourceMap, line: number, column: number) => {
  const segments = map.lines[line]
  if (segments === undefined || segments.length === 0) return undefined
  let found = segments[0]!
  for (const segment of segments) {
    if (segment.column > column) break
    found = segment
  }
  return { file: map.sources[found.source]!, line: found.line }
}

/** A file's place, relative to the project and shortened inside node_modules. */
const where = (url: string, root: string): string => {
  if (url.length === 0) return "(native)"
  let path = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url
  const modules = path.lastIndexOf("/node_modules/")
  if (modules >= 0) return path.slice(modules + "/node_modules/".length)
  if (path.startsWith(root)) path = Path.relative(root, path)
  return path
}

/** The module a file belongs to: a package (with its subfolder for effect), or a project folder. */
const moduleOf = (file: string): string => {
  if (file.startsWith("node:") || file.startsWith("(")) return file.startsWith("node:") ? "node internals" : file
  const parts = file.split("/")
  if (parts[0]!.startsWith("@")) return `${parts[0]}/${parts[1]}`
  if (parts[0] === "effect") return "effect"
  if (["src", "layers", "services", "bench"].includes(parts[0]!)) return parts.slice(0, -1).join("/") || parts[0]!
  return parts[0]!
}

export interface Summary {
  readonly totalMs: number
  /** Time with the function on the stack (counted once per sample), for the project's own functions. */
  readonly inclusive: ReadonlyArray<{ readonly name: string; readonly ms: number; readonly share: number }>
  readonly functions: ReadonlyArray<{ readonly name: string; readonly ms: number; readonly share: number }>
  readonly modules: ReadonlyArray<{ readonly name: string; readonly ms: number; readonly share: number }>
}

/** Self time per function and per module, biggest first, `top` of each. */
export const summarize = (file: string, root: string, top = 25, map?: SourceMap): Summary => {
  const profile = JSON.parse(Fs.readFileSync(file, "utf8")) as Profile
  const byId = new Map<number, ProfileNode>()
  for (const node of profile.nodes) byId.set(node.id, node)
  const self = new Map<number, number>()
  let total = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0
    const id = profile.samples[i]!
    self.set(id, (self.get(id) ?? 0) + delta)
    total += delta
  }
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const described = new Map<number, { readonly name: string; readonly module: string; readonly own: boolean }>()
  const describe = (id: number) => {
    let found = described.get(id)
    if (found !== undefined) return found
    let frame = byId.get(id)!.callFrame
    if (map !== undefined && frame.url.endsWith(Path.basename(map.file))) {
      const at = original(map, frame.lineNumber, frame.columnNumber)
      if (at !== undefined) frame = { ...frame, url: at.file, lineNumber: at.line }
    }
    const file = where(frame.url, root)
    const name = frame.url.length === 0
      ? frame.functionName || "(anonymous)"
      : `${file}:${frame.lineNumber + 1} ${frame.functionName || "(anonymous)"}`
    const module = frame.url.length === 0 ? frame.functionName || "(native)" : moduleOf(file)
    found = { name, module, own: /^(src|layers|services)\//.test(file) }
    described.set(id, found)
    return found
  }
  const functions = new Map<string, number>()
  const modules = new Map<string, number>()
  for (const [id, us] of self) {
    const { module, name } = describe(id)
    functions.set(name, (functions.get(name) ?? 0) + us)
    modules.set(module, (modules.get(module) ?? 0) + us)
  }
  const inclusive = new Map<string, number>()
  for (const [id, us] of self) {
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = describe(at)
      if (frame.own && !seen.has(frame.name)) {
        seen.add(frame.name)
        inclusive.set(frame.name, (inclusive.get(frame.name) ?? 0) + us)
      }
    }
  }
  const rank = (entries: Map<string, number>) =>
    Array.from(entries, ([name, us]) => ({ name, ms: us / 1000, share: us / total }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
  return { totalMs: total / 1000, functions: rank(functions), modules: rank(modules), inclusive: rank(inclusive) }
}

export const format = (title: string, summary: Summary): string => {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`
  const lines = [
    `${title}: ${summary.totalMs.toFixed(0)} ms sampled`,
    "  self time by module:",
    ...summary.modules.slice(0, 12).map((m) => `    ${pct(m.share)}  ${m.name}`),
    "  self time by function (file:line function):",
    ...summary.functions.map((f) => `    ${pct(f.share)}  ${f.name}`),
    "  the project's functions by total time (on the stack, callees included):",
    ...summary.inclusive.slice(0, 20).map((f) => `    ${pct(f.share)}  ${f.name}`)
  ]
  return lines.join("\n")
}
