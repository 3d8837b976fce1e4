/**
 * `effect-agents run <agent> "<input>"`.
 */
import * as Args from "@effect/cli/Args"
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
 * `run <agent> "<input>"`: one run, printed as it streams.
 *
 * @since 0.1.0
 * @category commands
 */
export const runCommand = Command.make(
  "run",
  {
    agent: agentArg,
    input: Args.text({ name: "input" }).pipe(Args.withDescription("The message")),
    agents: agentsOption,
    data: dataOption,
    session: sessionOption,
    user: userOption
  },
  (flags) =>
    cancellable(withAgents(flags, ({ model, registry }) =>
      Effect.gen(function*() {
        const stdio = yield* Stdio
        const entry = yield* lookup(registry, flags.agent)
        yield* stdio.err(`${modelLine(model)}\n`)
        yield* printTurn(entry, flags.input, {
          sessionId: Option.getOrUndefined(flags.session),
          userId: Option.getOrUndefined(flags.user)
        })
      })))
).pipe(Command.withDescription("Run an agent or team once and print its answer as it streams"))
