/**
 * From "Async Usage in AGNO": Real-World Examples › Multi-Agent Workflow.
 *
 * The `research_workflow` coroutine becomes a `Workflow`: three searchers run at once (a parallel
 * step, its answers in order), then the analyst reads their findings, then the writer turns the
 * analysis into a report. Each step's output flows to the next by its type, and `withInput` keeps the
 * topic beside what a step found, for the steps after it. If any step fails, the workflow fails with
 * that step's typed error (and the searchers still running are interrupted), so nothing half-done is
 * reported. The progress lines come from the workflow's events: each step's start, and each
 * searcher's finished run, nested in its step's events.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, type RunEvent, Workflow } from "../src/index.js"
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

// Step 1: research, all three at once. Step<string, [string, string, string]>
const research = Workflow.parallel([
  Workflow.agent(webSearcher, (topic: string) => `Find latest info on ${topic}`),
  Workflow.agent(academicSearcher, (topic: string) => `Find papers on ${topic}`),
  Workflow.agent(newsSearcher, (topic: string) => `Find recent news on ${topic}`)
], { name: "Research" })

// Step 2: analyse the combined results, given the topic beside them
const analyse = Workflow.agent(
  analyst,
  ([topic, [web, academic, news]]: readonly [string, readonly [string, string, string]]) =>
    `Analyze this research on ${topic}:\n\n` +
    `Web Searcher:\n${web}\n\nAcademic Searcher:\n${academic}\n\nNews Searcher:\n${news}`
)

// Step 3: write the report
const write = Workflow.agent(
  writer,
  ([[topic], analysis]: readonly [readonly [string, unknown], string]) =>
    `Write a comprehensive report on ${topic}:\n\n${analysis}`
)

export const researchWorkflow = Workflow.make({
  name: "Research Workflow",
  input: Schema.String,
  steps: Workflow.sequence(Workflow.withInput(research), Workflow.withInput(analyse), write)
})

/** Prints the workflow's progress from its events. */
const progress = (topic: string) => (event: RunEvent.RunEvent): Effect.Effect<void> => {
  if (event._tag === "StepStarted") {
    switch (event.step) {
      case "Research":
        return Console.log(`Step 1: researching "${topic}" (3 searchers at once)...`)
      case "Analyst":
        return Console.log("Step 2: analysing the findings...")
      case "Writer":
        return Console.log("Step 3: writing the report...\n")
    }
  }
  if (event._tag === "StepEvent" && event.step.endsWith("Searcher") && event.event._tag === "RunCompleted") {
    const finding = event.event.output
    return Console.log(`  ${finding.agent}: ${finding.text.split("\n")[0]} (${finding.metrics.outputTokens} tokens)`)
  }
  return Effect.void
}

export const main: Effect.Effect<string, AgentError.AgentError> = Workflow.run(
  researchWorkflow,
  "quantum computing",
  { onEvent: progress("quantum computing") }
).pipe(
  Effect.map((report) => report.content),
  Effect.tap((report) => Console.log(report))
)

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
