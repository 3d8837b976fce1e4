/**
 * The agents and teams the command line serves when it is given no module of its own
 * (`effect-agents serve`, `effect-agents run assistant "Hello"`): a plain assistant, an agent with a
 * tool, a research team whose leader coordinates two members, and a help desk that routes each
 * message to one member.
 *
 * A module for `--agents` has the same shape: its default export is a `Layer` of the `Registry`
 * whose only requirements are what the application provides — the model (`LanguageModel`), the
 * session store (`SessionStore`) and, for agents with memory, the `Memory` store. So the agents
 * here name no model: the application chooses it (`EFFECT_AGENTS_MODEL`, or the local simulator),
 * and their tools' handlers are provided here, where the tools are.
 *
 * @since 0.1.0
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import * as Registry from "../src/Registry.js"
import * as Team from "../src/Team.js"
import { SearchTools, SearchToolsLive } from "./team-basic.js"

const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number, sky: Schema.String })
})

/**
 * The weather agent's tools.
 *
 * @since 0.1.0
 * @category tools
 */
export const WeatherTools = Toolkit.make(GetWeather)

const skies = ["clear", "partly cloudy", "overcast", "light rain"] as const

/**
 * An offline stand-in for a weather service: the same city always gets the same weather.
 *
 * @since 0.1.0
 * @category tools
 */
export const WeatherToolsLive = WeatherTools.toLayer({
  get_weather: ({ city }) =>
    Effect.sync(() => {
      let hash = 0
      for (const char of city.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
      return { city, celsius: 5 + (hash % 25), sky: skies[hash % skies.length]! }
    })
})

/**
 * A general assistant, no tools.
 *
 * @since 0.1.0
 * @category agents
 */
export const assistant = Agent.make({
  name: "assistant",
  description: "A helpful general assistant",
  instructions: ["Answer clearly and briefly.", "Say so when you are not sure."],
  markdown: true
})

/**
 * An agent with a tool: it looks the weather up before it answers.
 *
 * @since 0.1.0
 * @category agents
 */
export const weather = Agent.make({
  name: "weather",
  description: "Answers questions about the weather, with a weather tool",
  instructions: "Use the get_weather tool for any question about the weather in a place, then answer in a sentence.",
  toolkit: WeatherTools,
  toolTimeout: "10 seconds"
})

const searcher = Agent.make({
  name: "Web Searcher",
  role: "Search the web for information",
  toolkit: SearchTools
})

const analyst = Agent.make({
  name: "Analyst",
  role: "Analyze and synthesize information"
})

/**
 * A team in coordinate mode: the leader hands the searcher and the analyst a task each (they run at
 * once), then answers from what they found.
 *
 * @since 0.1.0
 * @category teams
 */
export const researchTeam = Team.make({
  name: "research-team",
  description: "A research team: a web searcher and an analyst, coordinated by a leader",
  members: [searcher, analyst],
  memberConcurrency: 4,
  maxDelegations: 6,
  markdown: true,
  timeout: "5 minutes"
})

const writer = Agent.make({
  name: "Writer",
  role: "Write short texts: notes, summaries, poems"
})

/**
 * A team in route mode: the leader picks the one member suited to the message, whose answer is the
 * team's.
 *
 * @since 0.1.0
 * @category teams
 */
export const helpDesk = Team.make({
  name: "help-desk",
  description: "Routes each message to the weather agent or to a writer",
  mode: "route",
  members: [weather, writer]
})

/**
 * Every agent and team above, their tools' handlers provided: what is left is the model and the
 * session store.
 *
 * @since 0.1.0
 * @category layers
 */
const Agents: Layer.Layer<Registry.Registry, never, LanguageModel.LanguageModel | SessionStore.SessionStore> = Registry
  .layer([assistant, weather, researchTeam, helpDesk])
  .pipe(Layer.provide([WeatherToolsLive, SearchToolsLive]))

export default Agents
