/**
 * The screen: the printed run as sections in the order things happen (the message, tool calls, the
 * response, a member's answer, an error), each under a titled gutter, and the footer last. It keeps
 * which section is open and what it printed last, so that a paragraph break separates text from
 * tool calls and the text of one model call from the next.
 */
import type * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Run from "../../Run.js"
import { type Flow, makeFlow, type Word } from "./flow.js"
import { errorText } from "./format.js"
import * as Notices from "./notices.js"
import { finalText, type MemberView, steps } from "./replay.js"
import * as Summary from "./summary.js"
import { ansi, BOLD, DIM } from "./terminal.js"
import * as Tools from "./tools.js"

/** How a run is printed: styled or plain, markdown rendered or not, what is shown, and where. */
export interface Settings {
  readonly color: boolean
  readonly markdown: boolean
  readonly showToolCalls: boolean
  readonly showMemberResponses: boolean
  readonly width: number
  readonly write: (text: string) => Effect.Effect<void>
}

/** What each thing a run reports prints; each returns the text to write, which may be empty. */
export interface Screen {
  readonly message: (text: string) => string
  readonly text: (delta: string) => string
  readonly turnEnded: () => string
  readonly tool: (call: Tools.ToolView) => string
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

/** A screen for one printed run (it keeps that run's state: its sections, its last output). */
export const makeScreen = (settings: Settings): Screen => {
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

  // Tool calls and a workflow's steps go into the response when it is open, or a section of their own.
  const lines = (): string =>
    section === undefined || section.tone !== "tools" && section.tone !== "response" ? open("tools") : ""

  const tool = (call: Tools.ToolView): string => {
    if (!settings.showToolCalls) return ""
    let out = lines()
    for (const { indent, words } of Tools.lines(call)) out += line(words, indent)
    return out
  }

  // A model call that has streamed text is not tried again, so none is announced.
  const retrying = (attempt: number, delay: Duration.Duration, message: string): string =>
    last === "text" ? "" : line(Notices.retrying(attempt, delay, message), 0)

  const fallback = (index: number, message: string): string => line(Notices.fallback(index, message), 0)

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

  const waited = (duration: Duration.Duration): string => line(Notices.waited(duration), 0)

  const step = (name: string, error: string | undefined, duration: Duration.Duration | undefined): string => {
    const out = lines()
    return out + line(Notices.step(name, error, duration), 0)
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

  const completed = (output: Run.Output<unknown>): string => footer(Summary.completed(output.metrics))

  const failed = (cause: Cause.Cause<unknown>, elapsed: Duration.Duration): string => {
    const end = Summary.ended(cause, elapsed)
    if (end.error === undefined) return footer(end.footer)
    const { out, flow } = current("error")
    return out + flow.push(end.error, false) + footer(end.footer)
  }

  const message = (text: string): string => {
    const { out, flow } = current("message")
    return out + flow.push(text, false) + close()
  }

  return { message, text, turnEnded, tool, retrying, fallback, waited, step, member, answer, replay, completed, failed }
}
