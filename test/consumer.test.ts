/**
 * A project that installs the package: a TypeScript library of its own, strict, with
 * `exactOptionalPropertyTypes`, emitting declarations and checking every declaration file it reads
 * (`skipLibCheck: false`). It must compile against the package's built declarations as they are
 * published: the inferred types of its exports are nameable (every module the package's types
 * mention has an entry), no optional dependency's types are needed, and the type-level promises hold
 * (a registry's layer needs what its members need).
 */
import { assert, describe, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")

const source = `
import { Tool, Toolkit } from "@effect/ai"
import { Effect, type Layer, Redacted, Schema, Stream } from "effect"
import { Agent, type Approval, Registry, Runnable, Team, Workflow } from "effect-agents"
import * as Cli from "effect-agents/cli"
import { HttpApp, SessionStoreMemory, SessionStoreSql } from "effect-agents/layers"
import * as OpenAi from "effect-agents/layers/OpenAi"
import { TestModel } from "effect-agents/testing"

const GetWeather = Tool.make("get_weather", {
  description: "The current weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})
export const WeatherTools = Toolkit.make(GetWeather)
export const agent = Agent.make({ name: "Weather", instructions: "Use the tools.", toolkit: WeatherTools })
export const team = Team.make({ name: "Desk", members: [agent] })
export const run = Agent.run(agent, "What is the weather in Paris?")
export const stream = Agent.stream(agent, "Paris?")
export const teamRun = Team.run(team, "Paris?")
export const printed = Agent.printResponse(agent, "Paris?", { stream: true })
export const registry = Registry.layer([agent, team])
export const sqlite = SessionStoreSql.layerSqlite({ filename: "sessions.db" })
export const memory = SessionStoreMemory.layer
export const model = TestModel.layer([TestModel.text("Hello")])
export const openAi = OpenAi.layerClient({ apiKey: Redacted.make("sk-test") })
export const mini = OpenAi.model("gpt-4o-mini")

// @ts-expect-error the registry's layer needs a model and the tool's handler
export const incomplete: Layer.Layer<Registry.Registry> = Registry.layer([Agent.make({ name: "W", toolkit: WeatherTools })])

declare const maybePort: number | undefined
export const app = HttpApp.layer({ port: maybePort })

export const answer = Effect.gen(function*() {
  const output = yield* run
  return output.content
})

// A helper for every agent of the project: it reads the fields of the model's error.
export const reason = <A, R>(agent: Agent.Agent<A, R>) =>
  Agent.run(agent, "Paris?").pipe(
    Effect.map((output) => output.content),
    Effect.catchTags({ ModelError: (error) => Effect.succeed(error.reason) })
  )

// A structured agent's stream gives its answer typed.
export const critic = Agent.make({ name: "Critic", output: Schema.Struct({ stars: Schema.Number }) })
export const stars = Agent.stream(critic, "Rate it").pipe(
  Stream.filter((event) => event._tag === "RunCompleted"),
  Stream.map((event) => event.output.content.stars)
)
export const remembering = Agent.run(Agent.make({ name: "Assistant" }).pipe(Agent.withMemory()), "Hi", { userId: "ada" })

// What a durable engine plugs into a run, as a tool's annotation and an engine's wiring name it.
export const readsKey = Agent.ReadsIdempotencyKey
export const inProcess = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Agent.CurrentExecutor, undefined)

// The same of a workflow run, with its own signal registry, and what its output and a router's model read.
export const inProcessFlow = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Workflow.CurrentExecutor, undefined)
export const leafOf = Effect.map(Workflow.CurrentExecutor, (executor) => executor?.leaf)
export const apart = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Workflow.Signals, Workflow.makeSignals())
export const flow = Workflow.make({ name: "Flow", input: Schema.String, steps: Workflow.agent(agent) })
export const stepRuns = Effect.map(Workflow.run(flow, "Paris"), (output) => output.steps)
export const failures = Effect.map(stepRuns, (steps) => steps.flatMap((step) => step._tag === "Failed" ? [step.error] : []))
export const chooser = Workflow.chooseByModel().model

// What a run of any runnable fails with, and a model's layer, inferred where a helper hands them on.
export const runOnce = (runnable: Runnable.Runnable, context: Runnable.RunContext) => runnable.runIn("Hi", context)
export const resumeOnce = (runnable: Runnable.Runnable, state: Approval.State) => runnable.resumeIn(state, [], undefined)
export const emitOf = (context: Runnable.RunContext) => context.emit
export const made = Runnable.make({ name: "Echo", run: (input, context) => agent.runIn(input, context) })
export const onModel = Agent.withModel
export const withFallback = Agent.withFallback

// The command line embedded in an application: its errors and services are the cli entry's. Such an
// application has the command line's peers (@effect/cli, @effect/platform) as dependencies of its
// own, which its declarations name.
import type * as CliApp from "@effect/cli/CliApp"
import type * as FileSystem from "@effect/platform/FileSystem"
export type Embedded = CliApp.CliApp<unknown> | FileSystem.FileSystem
export const cli = Cli.run(["node", "effect-agents", "run", "Weather", "Hi"])
export const cliLayer = Cli.layer
export const loaded = Cli.loadAgents("agents.ts")
`

const tsconfig = {
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    // Effect's own declarations name DOM types (Storage, Transferable).
    lib: ["ES2022", "DOM"],
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    declaration: true,
    skipLibCheck: false,
    outDir: "out"
  },
  include: ["index.ts"]
}

describe("a consumer project", () => {
  it("type-checks and emits declarations against the built package with skipLibCheck off", () => {
    const project = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-consumer-"))
    try {
      const modules = Path.join(project, "node_modules")
      Fs.mkdirSync(Path.join(modules, "@types"), { recursive: true })
      // The package as installed (its exports, its dist), and the packages it and the project use.
      Fs.symlinkSync(root, Path.join(modules, "effect-agents"), "dir")
      for (const name of ["effect", "@effect", "@types/node", "undici", "undici-types"]) {
        Fs.symlinkSync(Path.join(root, "node_modules", name), Path.join(modules, name), "dir")
      }
      Fs.writeFileSync(Path.join(project, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }))
      Fs.writeFileSync(Path.join(project, "tsconfig.json"), JSON.stringify(tsconfig))
      Fs.writeFileSync(Path.join(project, "index.ts"), source)
      const tsc = Path.join(root, "node_modules", "typescript", "bin", "tsc")
      const result = ChildProcess.spawnSync(process.execPath, [tsc, "-p", project], { encoding: "utf8" })
      assert.strictEqual(result.stdout + result.stderr, "")
      assert.strictEqual(result.status, 0)
      const declarations = Fs.readFileSync(Path.join(project, "out", "index.d.ts"), "utf8")
      // The inferred types name the package's public entries, never a path inside it.
      assert.include(declarations, `import("effect-agents/Run")`)
      assert.notInclude(declarations, "dist/")
      assert.notInclude(declarations, "node_modules")
      assert.deepStrictEqual(declarations.split("\n").filter((line) => line.includes("/internal/")), [])
      // What a user reads (in declarations as in hover): the error and the services, not unresolved aliases.
      const run = declarations.split("\n").find((line) => line.startsWith("export declare const run:"))
      assert.strictEqual(
        run,
        `export declare const run: Effect.Effect<import("effect-agents/Run").Output<string>, ` +
          `import("effect-agents/AgentError").AgentError, ` +
          `import("@effect/ai/LanguageModel").LanguageModel | Tool.Handler<"get_weather">>;`
      )
      const line = (name: string) => declarations.split("\n").find((line) => line.startsWith(`export declare const ${name}:`))
      assert.strictEqual(
        line("stream"),
        `export declare const stream: Stream.Stream<import("effect-agents/RunEvent").RunEvent<string>, ` +
          `import("effect-agents/AgentError").AgentError, ` +
          `import("@effect/ai/LanguageModel").LanguageModel | Tool.Handler<"get_weather">>;`
      )
      assert.strictEqual(
        line("stars"),
        `export declare const stars: Stream.Stream<number, import("effect-agents/AgentError").AgentError, ` +
          `import("@effect/ai/LanguageModel").LanguageModel>;`
      )
      assert.strictEqual(
        line("remembering"),
        `export declare const remembering: Effect.Effect<import("effect-agents/Run").Output<string>, ` +
          `import("effect-agents/AgentError").AgentError, ` +
          `import("@effect/ai/LanguageModel").LanguageModel | import("effect-agents/services/Memory").Memory>;`
      )
      // The types a helper hands on are the public modules' own.
      assert.include(line("runOnce"), `, Runnable.RunError, never>;`)
      assert.include(line("resumeOnce"), `, Runnable.RunError, never>;`)
      assert.strictEqual(line("emitOf"), `export declare const emitOf: (context: Runnable.RunContext) => Runnable.Emit | undefined;`)
      assert.include(declarations, `(model: Agent.ModelLayer<RM>): <A, R>(self: Agent.Agent<A, R>)`)
      // (The project imports @effect/cli's CliApp itself, so TypeScript names it by its alias.)
      assert.include(line("cli"), `Cli.Error, CliApp.CliApp.Environment | Cli.Backend | Cli.Stdio>;`)
      // No any in what the project's declarations say of the package's types.
      assert.notMatch(declarations, /\bany\b/)
    } finally {
      Fs.rmSync(project, { recursive: true, force: true })
    }
  }, 120_000)
})
