/**
 * A conversation sent by a front end or an OpenAI client, as a run's input: system (and developer)
 * text as system messages, user and assistant text as they are, tool results as user text (the
 * run calls its own tools; a client's earlier tool results are context). Other roles are left out.
 */
import type * as Prompt from "@effect/ai/Prompt"
import type * as Run from "../../../src/Run.js"

/** One message of a client's conversation, its content already text. */
export interface Turn {
  readonly role: string
  readonly text: string
  readonly toolCallId?: string | null | undefined
}

export const toInput = (turns: Iterable<Turn>): Run.Input => {
  const out: Array<Prompt.MessageEncoded> = []
  for (const { role, text, toolCallId } of turns) {
    switch (role) {
      case "system":
      case "developer":
        out.push({ role: "system", content: text })
        break
      case "user":
        out.push({ role: "user", content: text })
        break
      case "assistant":
        if (text.length > 0) out.push({ role: "assistant", content: text })
        break
      case "tool":
        out.push({ role: "user", content: `Tool result${toolCallId ? ` (${toolCallId})` : ""}: ${text}` })
        break
    }
  }
  return out
}
