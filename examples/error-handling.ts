/**
 * From "Async Usage in AGNO": Error Handling › Basic Try-Except.
 *
 * `try: ... except Exception as e:` becomes `Effect.catchTags` over the typed `AgentError` union.
 * The compiler knows every failure a run can have (`ModelError`, `ToolError`, `MaxTurnsExceeded`,
 * `OutputDecodeError`, `RunTimeout`) and which ones are still unhandled; after the last `catchAll`
 * the error type is `never`. Defects (bugs) and interruptions are not caught here, as they should not
 * be. The same handler runs twice: with a working model and with one whose API key is wrong.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, AgentError } from "../src/index.js"
import { model, unavailable } from "./model.js"

const agent = Agent.make({ model: model("gpt-4o-mini") })

// The provider rejects this agent's API key: a 401, which no retry can fix.
const misconfigured = Agent.make({ model: unavailable("gpt-4o-mini", 401) })

/** What a user can do about a model error. */
const hint = (error: AgentError.ModelError): string => {
  switch (error.reason) {
    case "Unauthorized":
      return "check the API key"
    case "NotFound":
      return "check the model name"
    case "RateLimited":
    case "Overloaded":
    case "ServerError":
    case "Network":
    case "Timeout":
      return "the provider is having trouble; try again later"
    default:
      return "see the message above"
  }
}

/** Runs a query and reports how it went: `"ok"` or the tag of the error it handled. */
const handleErrors = (agent: Agent.Agent): Effect.Effect<"ok" | AgentError.AgentError["_tag"]> =>
  Agent.run(agent, "Complex query...").pipe(
    Effect.tap((response) => Console.log(response.content)),
    Effect.as("ok" as const),
    Effect.catchTags({
      ModelError: (error) =>
        Effect.as(Console.log(`Error: the model call failed: ${error.message}\n(${hint(error)})`), error._tag),
      RunTimeout: (error) => Effect.as(Console.log(`Error: ${error.message}`), error._tag)
    }),
    // Whatever is left: ToolError | MaxTurnsExceeded | OutputDecodeError
    Effect.catchAll((error) => Effect.as(Console.log(`Error: ${error._tag}: ${error.message}`), error._tag))
  )

export const main: Effect.Effect<ReadonlyArray<"ok" | AgentError.AgentError["_tag"]>> = Effect.gen(function*() {
  yield* Console.log("With a working model:")
  const first = yield* handleErrors(agent)
  yield* Console.log("\nWith a wrong API key:")
  const second = yield* handleErrors(misconfigured)
  return [first, second] as const
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
