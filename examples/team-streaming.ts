/**
 * From "Async Usage in AGNO": Async Teams › Async Team with Streaming.
 *
 * `apprint_run_response(research_team.arun(..., stream=True))` is
 * `Printer.printStream(Team.stream(...))`, with the research team of the basic example. One stream
 * carries the whole team: the leader's events, and each member's events nested under its name.
 * With `showMemberResponses` (the original's `show_members_responses=True`) each member's answer is
 * printed under its name when it is done, then the leader's answer streams in.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { fileURLToPath } from "node:url"
import { type AgentError, Printer, type Run, Team } from "../src/index.js"
import { researchTeam, SearchToolsLive } from "./team-basic.js"

const input = "Analyze NVIDIA's stock performance this year."

export const main: Effect.Effect<Run.Output<unknown>, AgentError.AgentError> = Printer.printStream(
  Team.stream(researchTeam, input),
  input,
  { markdown: true, showMemberResponses: true }
).pipe(Effect.provide(SearchToolsLive))

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
