/**
 * `effect-agents chat <agent>`.
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { printTurn } from "./approvalPrompt.js"
import {
  agentArg,
  agentsOption,
  cancellable,
  dataOption,
  lookup,
  modelLine,
  sessionOption,
  userOption,
  withAgents
} from "./command.js"
import { Stdio } from "./terminal.js"

/**
 * `chat <agent>`: a conversation in one session, a run per line of input, until `/exit` or the end
 * of the input.
 *
 * @since 0.1.0
 * @category commands
 */
export const chatCommand = Command.make(
  "chat",
  { agent: agentArg, agents: agentsOption, data: dataOption, session: sessionOption, user: userOption },
  (flags) =>
    cancellable(withAgents(flags, ({ dataDirectory, model, registry }) =>
      Effect.gen(function*() {
        const stdio = yield* Stdio
        const entry = yield* lookup(registry, flags.agent)
        const sessionId = Option.getOrElse(flags.session, () => `chat-${crypto.randomUUID().slice(0, 8)}`)
        const userId = Option.getOrUndefined(flags.user)
        yield* stdio.err(
          `${modelLine(model)}\n` +
            `Chatting with ${entry.name} (${entry.kind}) in session ${sessionId}` +
            `${userId === undefined ? "" : ` of ${userId}`}, stored in ${dataDirectory}.\n` +
            `Continue it later with --session ${sessionId}. Type /exit or press Ctrl-D to leave.\n`
        )
        while (true) {
          const line = yield* stdio.readLine("› ")
          if (Option.isNone(line)) break
          const input = line.value.trim()
          if (input === "/exit" || input === "/quit") break
          if (input.length === 0) continue
          // A failed turn is printed by the printer and recorded in the session; the chat goes on.
          yield* Effect.ignore(printTurn(entry, input, { sessionId, userId }))
        }
      })))
).pipe(Command.withDescription("Chat with an agent or team in the terminal, one session, streamed answers"))
