/**
 * From "Async Usage in AGNO": Async Teams › Basic Async Team.
 *
 * `Team(name=..., model=..., members=[...])` is `Team.make({...})` and `await research_team.arun(...)`
 * is `yield* Team.run(researchTeam, ...)`. The leader (on `gpt-4o`) hands the searcher and the
 * analyst a task each, in one turn, so both work at once; then it answers from what they found. The
 * searcher's web search is an `@effect/ai` tool whose handler comes from a layer (here an offline
 * index, where the original uses Exa), so `main` provides it: a missing handler would not compile.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, Team } from "../src/index.js"
import { model } from "./model.js"

const SearchWeb = Tool.make("search_web", {
  description: "Search the web; returns the top results in a sentence or two",
  parameters: { query: Schema.String },
  success: Schema.String
})

export const SearchTools = Toolkit.make(SearchWeb)

/** An offline stand-in for a search API: a few canned results per topic. */
export const SearchToolsLive = SearchTools.toLayer({
  search_web: ({ query }) =>
    Effect.succeed(
      /quantum/i.test(query)
        ? "Top results: error-corrected logical qubits outlived their physical qubits for the first time; " +
          "two labs showed chips with over 100 qubits; quantum-safe encryption standards were published."
        : /nvidia|stock/i.test(query)
        ? "Top results: data-centre revenue grew several times over in a year; the share price more than " +
          "doubled; analysts warn that expectations are now very high."
        : `No recent results for "${query}".`
    )
})

// Team members
const searcher = Agent.make({
  name: "Web Searcher",
  model: model("gpt-4o-mini"),
  role: "Search the web for information",
  toolkit: SearchTools
})

const analyst = Agent.make({
  name: "Analyst",
  model: model("gpt-4o-mini"),
  role: "Analyze and synthesize information"
})

// The team
export const researchTeam = Team.make({
  name: "Research Team",
  model: model("gpt-4o"),
  members: [searcher, analyst],
  markdown: true
})

export const main: Effect.Effect<Team.Output, AgentError.AgentError> = Effect.gen(function*() {
  const response = yield* Team.run(researchTeam, "What are the latest developments in quantum computing?")
  yield* Console.log(response.content)
  return response
}).pipe(Effect.provide(SearchToolsLive))

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
