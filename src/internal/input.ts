import * as Prompt from "@effect/ai/Prompt"
import type * as Run from "../Run.js"

/** The text of the last user message of a run's input, or `undefined` when it has none. */
export const lastUserText = (input: Run.Input): string | undefined => {
  if (typeof input === "string") return input
  const messages = Prompt.make(input).content
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role === "user") {
      return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n")
    }
  }
  return undefined
}
