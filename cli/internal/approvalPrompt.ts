/**
 * A turn at the terminal: a run printed as it streams, and, when it pauses, a decision asked for
 * each pending call (approve, reject, edit, or a tool's question answered), then the run resumed.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { RunPaused } from "../../src/AgentError.js"
import * as Approval from "../../src/Approval.js"
import * as Printer from "../../src/Printer.js"
import type * as Registry from "../../src/Registry.js"
import { Stdio, type StdioService } from "./terminal.js"


export const printTurn = (entry: Registry.Entry, input: string, options: Registry.RunOptions) =>
  Effect.flatMap(Stdio, (stdio) => {
    const printing = { write: stdio.out, color: stdio.color, markdown: true }
    // A run that pauses for approval asks at the terminal, then goes on (and may ask again).
    const decided = (effect: Effect.Effect<unknown, Registry.Error>): Effect.Effect<unknown, Registry.Error> =>
      Effect.catchIf(
        effect,
        (error): error is RunPaused => error._tag === "RunPaused" && entry.resume !== undefined,
        (paused) =>
          Effect.flatMap(
            Effect.forEach(paused.pending, (request) => decide(stdio, request)),
            (decisions) => decided(Printer.printRun(entry.resume!(paused.state, decisions), input, printing))
          )
      )
    return decided(Printer.printStream(entry.stream(input, options), input, printing))
  })

/**
 * Asks the terminal for a decision on one call: `y` approves, `n` rejects (with a reason), `e`
 * approves with arguments typed as JSON (decoded with the tool's schema when the run resumes). No
 * more input rejects.
 */
export const decide = (stdio: StdioService, request: Approval.Request): Effect.Effect<Approval.Decision> =>
  Effect.gen(function*() {
    const call = `${[...request.path, request.tool].join("/")}(${JSON.stringify(request.arguments)})`
    if (request.kind === "input") {
      // A tool's question: the line typed is its answer (as JSON when it reads as JSON).
      const line = yield* stdio.readLine(`${call} asks; your answer › `)
      if (Option.isNone(line)) return Approval.reject(request, "No one answered.")
      const parsed = Schema.decodeUnknownEither(Schema.parseJson())(line.value)
      return Approval.answer(request, Either.isRight(parsed) ? parsed.right : line.value)
    }
    while (true) {
      const answer = yield* stdio.readLine(`Approve ${call}? [y]es / [n]o / [e]dit › `)
      if (Option.isNone(answer)) return Approval.reject(request, "No one answered.")
      const choice = answer.value.trim().toLowerCase()
      if (choice === "y" || choice === "yes") return Approval.approve(request)
      if (choice === "n" || choice === "no") {
        const reason = yield* stdio.readLine("Why not? › ")
        const why = Option.getOrElse(Option.map(reason, (text) => text.trim()), () => "")
        return Approval.reject(request, why.length > 0 ? why : "A person said no.")
      }
      if (choice === "e" || choice === "edit") {
        const edited = yield* stdio.readLine("Arguments as JSON › ")
        if (Option.isNone(edited)) return Approval.reject(request, "No one answered.")
        const parsed = Schema.decodeUnknownEither(Schema.parseJson())(edited.value)
        if (Either.isRight(parsed)) return Approval.approve(request, { arguments: parsed.right })
        yield* stdio.err("That is not JSON; answer again.\n")
        continue
      }
      yield* stdio.err("Answer y, n or e.\n")
    }
  })
