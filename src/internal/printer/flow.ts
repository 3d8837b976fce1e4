/**
 * The flow: text as it streams in, wrapped to a width under a gutter, markdown rendered word by word
 * (a word is held until the whitespace after it, so no style is decided on half a word).
 */
import { ansi, BOLD, charWidth, columns, CYAN, DIM, ITALIC, UNDERLINE } from "./terminal.js"

export interface Segment {
  readonly text: string
  readonly codes: ReadonlyArray<number>
}

/** What is never split across lines (unless it is wider than a line). */
export type Word = ReadonlyArray<Segment>

export interface Flow {
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

export interface FlowOptions {
  readonly color: boolean
  readonly markdown: boolean
  /** Columns after the gutter; `Infinity` never wraps. */
  readonly width: number
  /** Printed at the start of every line. */
  readonly gutter: string
  /** Printed on a blank line. */
  readonly bar: string
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

export const makeFlow = (options: FlowOptions): Flow => {
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
