/**
 * From "Async Usage in AGNO": Async Teams › Concurrent Team Execution.
 *
 * `asyncio.gather` over three teams is `Effect.all([...], { concurrency: "unbounded" })`, as for
 * agents: a team is an immutable value like an agent, so running several at once needs nothing
 * more. The three teams also show the three ways a leader can work with its members: the research
 * team's leader delegates a task to each member, the analysis team gives every member the question
 * and brings their answers together, and the writing team routes the request to the one member who
 * fits it best, whose answer is the team's.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, Team } from "../src/index.js"
import { model } from "./model.js"

const member = (name: string, role: string) => Agent.make({ name, role, model: model("gpt-4o-mini") })

const researchTeam = Team.make({
  name: "Research Team",
  model: model("gpt-4o"),
  members: [member("Researcher", "Research and find information"), member("Analyst", "Analyze the findings")]
})

const analysisTeam = Team.make({
  name: "Analysis Team",
  mode: "broadcast",
  model: model("gpt-4o"),
  members: [member("Market Analyst", "Analyze markets and prices"), member("Data Analyst", "Analyze data and trends")]
})

const writingTeam = Team.make({
  name: "Writing Team",
  mode: "route",
  model: model("gpt-4o"),
  members: [member("Writer", "Write clear summaries and reports"), member("Editor", "Edit and shorten drafts")]
})

export const main: Effect.Effect<ReadonlyArray<Team.Output>, AgentError.AgentError> = Effect.gen(function*() {
  // Run the three teams at once
  const results = yield* Effect.all([
    Team.run(researchTeam, "Research AI trends"),
    Team.run(analysisTeam, "Analyze market data"),
    Team.run(writingTeam, "Write summary report")
  ], { concurrency: "unbounded" })

  // Combine the results
  const finalReport = results.map((result) => result.content).join("\n\n")
  yield* Console.log(finalReport)
  return results
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
