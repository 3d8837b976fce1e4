/**
 * From "Async Usage in AGNO": Real-World Examples › Multi-Agent Workflow.
 *
 * The `research_workflow` coroutine becomes an `Effect.fn` generator: three searchers run at once
 * with `Effect.all` and `concurrency: "unbounded"`, then the analyst reads their findings, then the
 * writer turns the analysis into a report. If any step fails, the workflow fails with that step's
 * typed error (and the searchers still running are interrupted), so nothing half-done is reported.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError } from "../src/index.js"
import { model } from "./model.js"

const webSearcher = Agent.make({
  name: "Web Searcher",
  model: model("gpt-4o-mini"),
  role: "Search the web for the latest information"
})

const academicSearcher = Agent.make({
  name: "Academic Searcher",
  model: model("gpt-4o-mini"),
  role: "Find and summarise academic papers"
})

const newsSearcher = Agent.make({
  name: "News Searcher",
  model: model("gpt-4o-mini"),
  role: "Follow recent news"
})

const analyst = Agent.make({
  name: "Analyst",
  model: model("gpt-4o"),
  role: "Analyze research and draw conclusions"
})

const writer = Agent.make({
  name: "Writer",
  model: model("gpt-4o"),
  role: "Write clear, comprehensive reports"
})

export const researchWorkflow = Effect.fn("researchWorkflow")(function*(topic: string) {
  // Step 1: research, all three at once
  yield* Console.log(`Step 1: researching "${topic}" (3 searchers at once)...`)
  const research = yield* Effect.all([
    Agent.run(webSearcher, `Find latest info on ${topic}`),
    Agent.run(academicSearcher, `Find papers on ${topic}`),
    Agent.run(newsSearcher, `Find recent news on ${topic}`)
  ], { concurrency: "unbounded" })
  for (const finding of research) {
    yield* Console.log(`  ${finding.agent}: ${finding.content.split("\n")[0]} (${finding.metrics.outputTokens} tokens)`)
  }

  // Step 2: analyse the combined results
  yield* Console.log("Step 2: analysing the findings...")
  const findings = research.map((finding) => `${finding.agent}:\n${finding.content}`).join("\n\n")
  const analysis = yield* Agent.run(analyst, `Analyze this research on ${topic}:\n\n${findings}`)

  // Step 3: write the report
  yield* Console.log("Step 3: writing the report...\n")
  const report = yield* Agent.run(writer, `Write a comprehensive report on ${topic}:\n\n${analysis.content}`)

  return report.content
})

export const main: Effect.Effect<string, AgentError.AgentError> = researchWorkflow("quantum computing").pipe(
  Effect.tap((report) => Console.log(report))
)

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
