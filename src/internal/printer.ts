/**
 * The terminal renderer behind `Printer`: sections with a gutter, word wrapping to the terminal's
 * width, markdown rendered as it streams, and plain text when the output is not styled.
 */
import * as Prompt from "@effect/ai/Prompt"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Run from "../Run.js"
import * as TeamOutput from "./teamOutput.js"

export interface Settings {
  readonly color: boolean
  readonly markdown: boolean
  readonly showToolCalls: boolean
  readonly showMemberResponses: boolean
  readonly width: number
  readonly write: (text: string) => Effect.Effect<void>
}

/** The frame shared by both ways of printing: the message first, the end of the run last. */
export const printing = <A, E, R>(
  settings: Settings,
  input: Run.Input,
  body: (screen: Screen, write: (text: string) => Effect.Effect<void>) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const screen = makeScreen(settings)
    const { write } = settings
    return Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
      write(screen.message(inputText(input))).pipe(
        Effect.zipRight(body(screen, write)),
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.flatMap(Clock.currentTimeMillis, (now) =>
              write(screen.failed(exit.cause, Duration.millis(now - startedAt))))
        )
      ))
  })

const inputText = (input: Run.Input): string =>
  Run.lastUserText(input) ?? `(${Prompt.make(input).content.length} messages)`

// ---------------------------------------------------------------------------------------------
// The screen: sections in the order things happen
// ---------------------------------------------------------------------------------------------

interface ToolView {
  readonly name: string
  readonly arguments: unknown
  readonly result: unknown
  readonly failure: Run.ToolFailure | undefined
  readonly duration: Duration.Duration
}

export interface Screen {
  readonly message: (text: string) => string
  readonly text: (delta: string) => string
  readonly turnEnded: () => string
  readonly tool: (call: ToolView) => string
  readonly retrying: (attempt: number, delay: Duration.Duration, message: string) => string
  readonly fallback: (fallback: number, message: string) => string
  readonly waited: (waited: Duration.Duration) => string
  /** A workflow's step that ended: its name and time, or its error. */
  readonly step: (name: string, error: string | undefined, duration: Duration.Duration | undefined) => string
  /** A member's answer (or its error) as a section of its own, titled with the member's path. */
  readonly member: (path: ReadonlyArray<string>, run: MemberView) => string
  /** The run's final answer, for a streamed run whose answer did not arrive as text (a routed team). */
  readonly answer: (output: Run.Output<unknown>) => string
  /** A finished run's steps, as `text`, `turnEnded` and `tool` would have printed them live. */
  readonly replay: (output: Run.Output<unknown>) => string
  readonly completed: (output: Run.Output<unknown>) => string
  readonly failed: (cause: Cause.Cause<unknown>, elapsed: Duration.Duration) => string
}

/** What a member section shows: the member's answer, or its typed error. */
export type MemberView =
  | { readonly _tag: "Completed"; readonly output: Run.Output<unknown> }
  | { readonly _tag: "Failed"; readonly error: TeamOutput.MemberError }

type Tone = "message" | "tools" | "response" | "error" | "member" | "memberError"

const toneColor: Record<Tone, number> = { message: 36, tools: 33, response: 32, error: 31, member: 35, memberError: 31 }
const toneTitle: Record<Tone, string> = {
  message: "Message",
  tools: "Tool calls",
  response: "Response",
  error: "Error",
  member: "Response from",
  memberError: "Error from"
}

const DIM = 2
const BOLD = 1
const ITALIC = 3
const UNDERLINE = 4
const RED = 31
const GREEN = 32
const CYAN = 36

const makeScreen = (settings: Settings): Screen => {
  let section: { readonly tone: Tone; readonly flow: Flow } | undefined
  // What the response section printed last: a paragraph break separates text from tool calls and
  // the text of one model call from the next.
  let last: "text" | "turn" | "tool" | undefined
  let detached = false

  const paint = (text: string, codes: ReadonlyArray<number>) => settings.color ? ansi(text, codes) : text

  const close = (): string => {
    if (section === undefined) return ""
    const out = section.flow.end() + "\n"
    section = undefined
    return out
  }

  const open = (tone: Tone, subject?: string): string => {
    const out = close() + (detached ? "\n" : "")
    detached = false
    last = undefined
    const color = toneColor[tone]
    const bar = paint("│", [DIM, color])
    section = {
      tone,
      flow: makeFlow({
        color: settings.color,
        markdown: settings.markdown,
        width: settings.color ? settings.width - 2 : Infinity,
        gutter: settings.color ? bar + " " : "",
        bar: settings.color ? bar : ""
      })
    }
    const title = subject === undefined ? toneTitle[tone] : `${toneTitle[tone]} ${subject}`
    return out + (settings.color ? `${bar} ${paint(title, [BOLD, color])}\n` : `${title}:\n`)
  }

  const current = (tone: Tone): { readonly out: string; readonly flow: Flow } => {
    if (section !== undefined && section.tone === tone) return { out: "", flow: section.flow }
    const out = open(tone)
    return { out, flow: section!.flow }
  }

  const footer = (text: string) => {
    const out = close() + (detached ? "\n" : "")
    detached = false
    return out + (settings.color ? `  ${paint(text, [DIM])}` : text) + "\n\n"
  }

  const text = (delta: string, markdown?: boolean): string => {
    if (delta.length === 0) return ""
    const { flow, out } = current("response")
    const gap = last === "tool" || last === "turn" ? flow.paragraph() : ""
    last = "text"
    return out + gap + flow.push(delta, markdown)
  }

  const turnEnded = (): string => {
    if (section === undefined) return ""
    if (section.tone === "response" && last === "text") last = "turn"
    return section.flow.settle()
  }

  const line = (words: ReadonlyArray<Word>, indent: number): string => {
    if (section === undefined || section.tone !== "tools" && section.tone !== "response") {
      // Nothing to attach it to yet (a retry before any output): a line of its own.
      const out = close() + words.map((word) => word.map((s) => paint(s.text, s.codes)).join("")).join(" ")
      detached = true
      return `${out}\n`
    }
    const flow = section.flow
    const gap = section.tone === "response" && (last === "text" || last === "turn") ? flow.paragraph() : ""
    last = "tool"
    return gap + flow.line(words, indent)
  }

  const tool = (call: ToolView): string => {
    if (!settings.showToolCalls) return ""
    const out = section === undefined || section.tone !== "tools" && section.tone !== "response" ? open("tools") : ""
    let text = out + line(toolWords(call), 0)
    if (call.failure !== undefined) {
      for (const detail of detailLines(call.result)) {
        const indent = detail.length - detail.trimStart().length
        text += line(detail.trim().split(/\s+/).map((word) => [{ text: word, codes: [DIM] }]), 4 + indent)
      }
    }
    return text
  }

  // A model call that has streamed text is not tried again, so none is announced.
  const retrying = (attempt: number, delay: Duration.Duration, message: string): string =>
    last === "text" ? "" : line(
      [`↻ retry ${attempt} in ${formatDuration(delay)}:`, ...oneLine(message, 200).split(" ")].map((word) => [
        { text: word, codes: [DIM] }
      ]),
      0
    )

  const fallback = (index: number, message: string): string =>
    line(
      [`↪ fallback model ${index} after:`, ...oneLine(message, 200).split(" ")].map((word) => [
        { text: word, codes: [DIM] }
      ]),
      0
    )

  const member = (path: ReadonlyArray<string>, run: MemberView): string => {
    const subject = path.join(" › ")
    if (run._tag === "Failed") {
      return open("memberError", subject) + section!.flow.push(errorText(run.error), false) + close()
    }
    const answer = finalText(run.output)
    return open("member", subject) + section!.flow.push(answer.text, answer.markdown) + close()
  }

  const answer = (output: Run.Output<unknown>): string => {
    const final = finalText(output)
    return text(final.text, final.markdown)
  }

  const waited = (duration: Duration.Duration): string =>
    line([`⏳ waited ${formatDuration(duration)} for the rate limit`].flatMap((text) => text.split(" ")).map((word) => [
      { text: word, codes: [DIM] }
    ]), 0)

  const step = (name: string, error: string | undefined, duration: Duration.Duration | undefined): string => {
    const out = section === undefined || section.tone !== "tools" && section.tone !== "response" ? open("tools") : ""
    const words = error === undefined
      ? [`▸ ${name}`, ...(duration === undefined ? [] : [`(${formatDuration(duration)})`])]
      : [`✗ ${name}:`, ...oneLine(error, 200).split(" ")]
    return out + line(words.map((word) => [{ text: word, codes: [DIM] }]), 0)
  }

  const replay = (output: Run.Output<unknown>): string => {
    let out = ""
    for (const step of steps(output)) {
      switch (step._tag) {
        case "Text":
          out += text(step.text, step.markdown)
          break
        case "TurnEnded":
          out += turnEnded()
          break
        case "Tool":
          // With the members' answers shown, a delegation is shown by its member's section.
          if (!(step.delegated && settings.showMemberResponses)) out += tool(step.call)
          break
        case "Member":
          if (settings.showMemberResponses) out += member(step.path, step.run)
          break
      }
    }
    return out
  }

  const completed = (output: Run.Output<unknown>): string => {
    const metrics = output.metrics
    const tokens = metrics.totalTokens > 0 ? ` · ${metrics.totalTokens} tokens` : ""
    return footer(`Done in ${formatDuration(metrics.duration)}${tokens}`)
  }

  const failed = (cause: Cause.Cause<unknown>, elapsed: Duration.Duration): string => {
    if (Cause.isInterruptedOnly(cause)) return footer(`Interrupted after ${formatDuration(elapsed)}`)
    const failure = Cause.failureOption(cause)
    const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
    const { out, flow } = current("error")
    // A run that waits for approval has not failed: it is paused, to be resumed.
    const paused = Predicate.hasProperty(error, "_tag") && error._tag === "RunPaused"
    return out + flow.push(errorText(error), false) +
      footer(`${paused ? "Paused" : "Failed"} after ${formatDuration(elapsed)}`)
  }

  const message = (text: string): string => {
    const { out, flow } = current("message")
    return out + flow.push(text, false) + close()
  }

  return { message, text, turnEnded, tool, retrying, fallback, waited, step, member, answer, replay, completed, failed }
}

const failureText: Record<Run.ToolFailure, string> = {
  InvalidArguments: "failed: invalid arguments",
  UnknownTool: "failed: unknown tool",
  Failed: "failed",
  Timeout: "failed: timed out",
  Rejected: "rejected"
}

const toolWords = (call: ToolView): ReadonlyArray<Word> => {
  const head: Word = [{ text: call.name, codes: [BOLD] }, { text: `(${oneLine(json(call.arguments), 200)})`, codes: [DIM] }]
  const duration: Word = [{ text: `(${formatDuration(call.duration)})`, codes: [DIM] }]
  return call.failure === undefined
    ? [
      [{ text: "✓", codes: [GREEN] }],
      head,
      [{ text: "→", codes: [DIM] }],
      [{ text: oneLine(json(call.result), 200), codes: [] }],
      duration
    ]
    : [[{ text: "✗", codes: [RED] }], head, [{ text: failureText[call.failure], codes: [RED] }], duration]
}

const MAX_DETAIL_LINES = 8

const detailLines = (result: unknown): ReadonlyArray<string> => {
  const lines = json(result).split("\n").filter((line) => line.trim().length > 0)
  return lines.length <= MAX_DETAIL_LINES ? lines : [...lines.slice(0, MAX_DETAIL_LINES - 1), "…"]
}

type Step =
  | { readonly _tag: "Text"; readonly text: string; readonly markdown: boolean | undefined }
  | { readonly _tag: "TurnEnded" }
  | { readonly _tag: "Tool"; readonly call: ToolView; readonly delegated: boolean }
  | { readonly _tag: "Member"; readonly path: ReadonlyArray<string>; readonly run: MemberView }

const finalText = (output: Run.Output<unknown>): { readonly text: string; readonly markdown: boolean | undefined } =>
  typeof output.content === "string"
    ? { text: output.content, markdown: undefined }
    : { text: json(output.content, 2), markdown: false }

/** A member run's section, after the sections of its own members (a member team's), as they finish. */
const memberSteps = (path: ReadonlyArray<string>, run: TeamOutput.MemberRun, into: Array<Step>): void => {
  if (run._tag === "Completed" && TeamOutput.isOutput(run.output)) {
    for (const inner of run.output.memberRuns) memberSteps([...path, inner.member], inner, into)
  }
  into.push({ _tag: "Member", path, run })
}

const textOf = (message: Prompt.Message): string =>
  typeof message.content === "string"
    ? message.content
    : (message.content as ReadonlyArray<Prompt.Part>).flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")

/**
 * The steps of a finished run, in the order the events of a streamed run would report them: each
 * model call's text, then its tool calls. The run's own model calls are the last
 * `metrics.modelCalls` assistant messages (a team's: its leader's); the conversation before them is
 * history. A team's member runs come where they happened: before the delegation that started them,
 * or first, when the team gave every member the message (broadcast) or routed it to one. When the
 * answer is not the leader's own (a routed team), the leader's text is not shown, as in a stream.
 */
const steps = (output: Run.Output<unknown>): ReadonlyArray<Step> => {
  const team = TeamOutput.isOutput(output) ? output : undefined
  const modelCalls = team === undefined ? output.metrics.modelCalls : team.leaderMetrics.modelCalls
  const assistant = output.messages.filter((message) => message.role === "assistant")
  const turns = assistant.slice(Math.max(0, assistant.length - modelCalls))
  const result: Array<Step> = []
  const delegations = new Map<string, Array<TeamOutput.MemberRun>>()
  if (team !== undefined) {
    const calls = new Set(output.toolCalls.map((call) => call.id))
    for (const run of team.memberRuns) {
      if (run.toolCallId !== undefined && calls.has(run.toolCallId)) {
        const runs = delegations.get(run.toolCallId)
        if (runs === undefined) delegations.set(run.toolCallId, [run])
        else runs.push(run)
      } else {
        memberSteps([run.member], run, result)
      }
    }
  }
  const final: Step = { _tag: "Text", ...finalText(output) }
  const own = turns.length === 0 || team === undefined || textOf(turns[turns.length - 1]!) === output.text
  const view = (call: Run.ToolCall): void => {
    const runs = delegations.get(call.id)
    if (runs !== undefined) for (const run of runs) memberSteps([run.member], run, result)
    result.push({ _tag: "Tool", call: { ...call, failure: call.failure }, delegated: runs !== undefined })
  }
  let next = 0
  turns.forEach((turn, index) => {
    const text = textOf(turn)
    if (index === turns.length - 1) result.push(final)
    else if (text.length > 0 && own) result.push({ _tag: "Text", text, markdown: undefined })
    result.push({ _tag: "TurnEnded" })
    for (const part of turn.content as ReadonlyArray<Prompt.AssistantMessagePart>) {
      if (part.type === "tool-call" && !part.providerExecuted && next < output.toolCalls.length) {
        view(output.toolCalls[next++]!)
      }
    }
  })
  if (turns.length === 0) result.push(final)
  while (next < output.toolCalls.length) view(output.toolCalls[next++]!)
  return result
}

const errorText = (error: unknown): string => {
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string") {
    const name = Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"
      ? error._tag
      : error instanceof Error
      ? error.name
      : undefined
    const message = error.message.length > 0 ? error.message : undefined
    return name === undefined ? message ?? "" : message === undefined ? name : `${name}: ${message}`
  }
  return json(error)
}

const json = (value: unknown, indent?: number): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value, null, indent) ?? String(value)
  } catch {
    return String(value)
  }
}

const oneLine = (text: string, max: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

const formatDuration = (duration: Duration.Duration): string => {
  const millis = Math.round(Duration.toMillis(duration))
  if (millis < 1000) return `${millis}ms`
  if (millis < 60_000) return `${(millis / 1000).toFixed(1)}s`
  const seconds = Math.round(millis / 1000)
  return `${Math.floor(seconds / 60)}m ${seconds % 60}s`
}

// ---------------------------------------------------------------------------------------------
// The flow: text as it streams in, wrapped under a gutter, markdown rendered word by word
// ---------------------------------------------------------------------------------------------

interface Segment {
  readonly text: string
  readonly codes: ReadonlyArray<number>
}

/** What is never split across lines (unless it is wider than a line). */
type Word = ReadonlyArray<Segment>

interface Flow {
  /** Adds text; returns what can be printed now. A word is held until the whitespace after it. */
  readonly push: (delta: string, markdown?: boolean) => string
  /** Prints what is held back: the text so far is complete. */
  readonly settle: () => string
  /** Ends the paragraph: what comes next starts after a blank line. */
  readonly paragraph: () => string
  /** Prints a line of words of its own, indented, wrapped lines indented two more. */
  readonly line: (words: ReadonlyArray<Word>, indent: number) => string
  /** Ends the flow's last line. */
  readonly end: () => string
}

interface FlowOptions {
  readonly color: boolean
  readonly markdown: boolean
  /** Columns after the gutter; `Infinity` never wraps. */
  readonly width: number
  /** Printed at the start of every line. */
  readonly gutter: string
  /** Printed on a blank line. */
  readonly bar: string
}

const ansi = (text: string, codes: ReadonlyArray<number>) =>
  codes.length === 0 || text.length === 0 ? text : `\x1b[${codes.join(";")}m${text}\x1b[0m`

// East Asian wide characters and emoji take two columns of a terminal.
const charWidth = (char: string): number => {
  const code = char.codePointAt(0) ?? 0
  return (code >= 0x1100 && code <= 0x115f) || (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
      (code >= 0xac00 && code <= 0xd7a3) || (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) || (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1f300 && code <= 0x1f64f) ||
      (code >= 0x1f900 && code <= 0x1f9ff) || (code >= 0x20000 && code <= 0x3fffd)
    ? 2
    : 1
}

const columns = (text: string) => {
  let count = 0
  for (const char of text) count += charWidth(char)
  return count
}

const isSpace = (char: string | undefined) => char === " " || char === "\t"

const wordEnd = (text: string): number => {
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (char === " " || char === "\t" || char === "\n") return i
  }
  return -1
}

const LEADING = "([{\"'*_`~"
const RULE = /^([-*_])\1{2,}$/

const makeFlow = (options: FlowOptions): Flow => {
  const { color, width } = options
  let markdown = options.markdown
  let pending = ""
  // Output state: whether anything was printed, newlines owed, the column, the pending spaces.
  let started = false
  let breaks = 0
  let column = 0
  let hang = 0
  let space = ""
  // Source state: at the start of a source line, inside a fenced code block, styles of the line.
  let lineStart = true
  let fence = false
  let base: ReadonlyArray<number> = []
  let bold = false
  let italic = false
  let code = false

  const paint = (segment: Segment) => (color ? ansi(segment.text, segment.codes) : segment.text)

  const wrap = () => {
    column = hang < width / 2 ? hang : 0
    return `\n${options.gutter}${" ".repeat(column)}`
  }

  const emit = (word: Word): string => {
    let length = 0
    for (const segment of word) length += columns(segment.text)
    if (length === 0) return ""
    let out = ""
    if (!started) {
      started = true
      column = 0
      out += options.gutter
    } else if (breaks > 0) {
      out += breaks > 1 ? `\n${options.bar}\n${options.gutter}` : `\n${options.gutter}`
      column = 0
    }
    breaks = 0
    if (column > 0 && column + columns(space) + length > width) {
      out += wrap()
    } else {
      // Between the words of a styled line (an underlined heading), the space is styled too.
      out += column > 0 && base.length > 0 && space.length > 0 ? paint({ text: space, codes: base }) : space
      column += columns(space)
    }
    space = ""
    // A word wider than the line is broken where the line ends.
    for (const segment of word) {
      let piece = ""
      for (const char of segment.text) {
        const size = charWidth(char)
        if (column + size > width && column > 0) {
          out += paint({ text: piece, codes: segment.codes }) + wrap()
          piece = ""
        }
        piece += char
        column += size
      }
      out += paint({ text: piece, codes: segment.codes })
    }
    return out
  }

  const endLine = () => {
    breaks++
    space = ""
    hang = 0
    lineStart = true
    base = fence ? [CYAN] : []
    bold = italic = code = false
  }

  const styled = (text: string): Segment => ({
    text,
    codes: [...base, ...(bold ? [BOLD] : []), ...(italic ? [ITALIC] : []), ...(code ? [CYAN] : [])]
  })

  // Inline markdown of one word. Emphasis opens at the start of a word and closes at its end (or,
  // for `*`, inside it), so `snake_case`, `2*3` and a lone `**` stay as they are.
  const inline = (word: string): Word => {
    if (!markdown || fence) return [styled(word)]
    const segments: Array<Segment> = []
    let text = ""
    const cut = () => {
      if (text.length > 0) segments.push(styled(text))
      text = ""
    }
    let i = 0
    while (i < word.length) {
      const char = word[i]!
      if (char === "\\" && i + 1 < word.length && "*_`\\".includes(word[i + 1]!)) {
        text += word[i + 1]
        i += 2
        continue
      }
      if (char === "`") {
        cut()
        code = !code
        i++
        continue
      }
      if (!code && (char === "*" || char === "_")) {
        let run = 1
        while (word[i + run] === char) run++
        const before = word.slice(0, i)
        const after = word.slice(i + run)
        const canOpen = after.length > 0 && [...before].every((c) => LEADING.includes(c))
        const canClose = before.length > 0 && (char === "*" || after.length === 0 || /^[\p{P}]*$/u.test(after))
        const wantsBold = run >= 2
        const wantsItalic = run === 1 || run === 3
        const toggles = run <= 3 &&
          (!wantsBold || (bold ? canClose : canOpen)) &&
          (!wantsItalic || (italic ? canClose : canOpen))
        if (toggles) {
          cut()
          if (wantsBold) bold = !bold
          if (wantsItalic) italic = !italic
        } else {
          text += word.slice(i, i + run)
        }
        i += run
        continue
      }
      text += char
      i++
    }
    cut()
    return segments
  }

  // Decides what a source line is from its first word. Returns undefined to wait for more text.
  const startLine = (final: boolean): string | undefined => {
    let indent = 0
    while (isSpace(pending[indent])) indent++
    if (indent === pending.length) {
      if (!final) return undefined
      pending = ""
      return ""
    }
    const rest = pending.slice(indent)
    if (rest[0] === "\n") {
      pending = rest.slice(1)
      endLine()
      return ""
    }
    const leading = pending.slice(0, indent)
    if (!markdown) {
      lineStart = false
      space = leading
      pending = rest
      return ""
    }
    const end = wordEnd(rest)
    if (end === -1 && !final) return undefined
    const first = end === -1 ? rest : rest.slice(0, end)
    if (first.startsWith("```") || (!fence && RULE.test(first))) {
      const newline = rest.indexOf("\n")
      if (newline === -1 && !final) return undefined
      const line = newline === -1 ? rest : rest.slice(0, newline)
      if (first.startsWith("```")) {
        fence = !fence
        base = fence ? [CYAN] : []
        pending = newline === -1 ? "" : rest.slice(newline + 1)
        return ""
      }
      if (line.trim() === first) {
        lineStart = false
        pending = rest.slice(line.length)
        return emit([{ text: "─".repeat(Math.min(width, 40)), codes: [DIM] }])
      }
    }
    lineStart = false
    space = leading
    pending = rest
    if (fence || end === -1) return ""
    if (/^#{1,6}$/.test(first)) {
      base = first.length <= 2 ? [BOLD, UNDERLINE] : [BOLD]
      pending = rest.slice(end).replace(/^[ \t]+/, "")
      return ""
    }
    if (/^[-*+]$/.test(first)) {
      pending = rest.slice(1)
      const out = emit([{ text: "•", codes: [DIM] }])
      hang = indent + 2
      return out
    }
    if (/^\d{1,3}[.)]$/.test(first)) {
      pending = rest.slice(first.length)
      const out = emit([{ text: first, codes: [DIM] }])
      hang = indent + first.length + 1
      return out
    }
    if (first === ">") {
      pending = rest.slice(1)
      const out = emit([{ text: "▎", codes: [DIM] }])
      hang = indent + 2
      base = [ITALIC]
      return out
    }
    return ""
  }

  const run = (final: boolean): string => {
    let out = ""
    while (pending.length > 0) {
      if (lineStart) {
        const started = startLine(final)
        if (started === undefined) break
        out += started
        continue
      }
      const char = pending[0]!
      if (char === "\n") {
        pending = pending.slice(1)
        endLine()
        continue
      }
      if (isSpace(char)) {
        let n = 1
        while (isSpace(pending[n])) n++
        space += pending.slice(0, n)
        pending = pending.slice(n)
        continue
      }
      const end = wordEnd(pending)
      if (end === -1 && !final) break
      const word = end === -1 ? pending : pending.slice(0, end)
      pending = pending.slice(word.length)
      out += emit(inline(word))
    }
    return out
  }

  const reset = () => {
    space = ""
    hang = 0
    lineStart = true
    fence = false
    base = []
    bold = italic = code = false
    markdown = options.markdown
  }

  const settle = () => run(true)

  return {
    push: (delta, md) => {
      markdown = md ?? options.markdown
      pending += delta.replace(/\r/g, "")
      return run(false)
    },
    settle,
    paragraph: () => {
      const out = settle()
      reset()
      if (started) breaks = Math.max(breaks, 2)
      return out
    },
    line: (words, indent) => {
      let out = settle()
      reset()
      if (started) breaks = Math.max(breaks, 1)
      lineStart = false
      space = " ".repeat(indent)
      hang = indent + 2
      words.forEach((word, index) => {
        if (index > 0) space = " "
        out += emit(word)
      })
      reset()
      if (started) breaks = Math.max(breaks, 1)
      return out
    },
    end: () => {
      const out = settle()
      reset()
      return started ? `${out}\n` : out
    }
  }
}
