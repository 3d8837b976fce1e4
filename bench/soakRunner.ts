/**
 * One runner process of the soak (`bench/soak.ts`): a runner of the durable engine on PostgreSQL
 * (`Durable.layerPg`, schema `<schema>`) that reads run ids on its standard input, one a line, runs
 * each (or, when another runner holds it or it was started before, awaits it where it is) and
 * prints one line of JSON for each run that ends: `{"runId","content"}` or `{"runId","error"}`.
 *
 *   node --import tsx bench/soakRunner.ts <dir> <schema>
 *
 * A run is a workflow of an agent step and a plain step. The agent (on the scripted TestModel) calls
 * the tool `lookup` once, then answers. The tool's handler works for 20 to 80 ms, then appends
 * `<runId> <callId> <pid> <time in ms>` to `<dir>/tools.txt`, a file outside the processes: the soak
 * reads from it which calls ran twice. The plain step appends `<runId> sign <pid> <time in ms>` to
 * `<dir>/steps.txt`, and so does each model call (`<runId> model <pid> <time in ms>`). The runner appends `- up <pid> <time in ms>` to `<dir>/steps.txt` once its
 * engine is up (its tables made).
 *
 * PostgreSQL is the server named by EFFECT_AGENTS_TEST_PG_HOST, _PORT, _DATABASE, _USER and
 * _PASSWORD.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Readline from "node:readline"
import * as Durable from "../layers/Durable.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import * as Retry from "../src/Retry.js"
import * as Workflow from "../src/Workflow.js"

const [dir, schema] = process.argv.slice(2) as [string, string]

const env = (name: string) => {
  const value = process.env[`EFFECT_AGENTS_TEST_PG_${name}`]
  if (value === undefined) throw new Error(`EFFECT_AGENTS_TEST_PG_${name} is not set`)
  return value
}
const url = Redacted.make(
  `postgres://${encodeURIComponent(env("USER"))}:${encodeURIComponent(env("PASSWORD"))}@${env("HOST")}:${env("PORT")}/` +
    `${encodeURIComponent(env("DATABASE"))}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
)

const append = (file: string, line: string) =>
  Effect.sync(() => Fs.appendFileSync(Path.join(dir, file), `${line} ${process.pid} ${Date.now()}\n`))

const Lookup = Tool.make("lookup", { parameters: { query: Schema.String }, success: Schema.String })
  .annotate(Agent.ReadsIdempotencyKey, true)
const Tools = Toolkit.make(Lookup)
const ToolsLive = Tools.toLayer({
  lookup: ({ query }) =>
    Effect.gen(function*() {
      // The key is `<agent's run id>/tool/<callId>`; the agent's run id begins with the workflow run's.
      const key = yield* Agent.idempotencyKey
      const at = key.lastIndexOf("/tool/")
      const runId = key.slice(0, at).split(/[/#]/)[0]
      const callId = key.slice(at + "/tool/".length).replaceAll(" ", "_")
      yield* Effect.sleep(`${20 + Math.floor(Math.random() * 60)} millis`)
      yield* append("tools.txt", `${runId} ${callId}`)
      return `facts about ${query}`
    })
})

// The model asks for the tool, then answers with what it gave.
// Each model call appends `<runId> model <pid> <time in ms>` to `<dir>/steps.txt`.
const model = TestModel.layer((request) =>
  Effect.as(
    append("steps.txt", `${request.lastUserText} model`),
    request.prompt.content.some((message) => message.role === "tool")
      ? TestModel.text(`${request.lastUserText}: found`, { usage: { inputTokens: 20, outputTokens: 8 } })
      : TestModel.toolCall("lookup", { query: request.lastUserText })
  ), { record: false })

const researcher = Agent.make({ name: "Researcher", toolkit: Tools, model, retry: Retry.none })

const workflow = Workflow.make({
  name: "Soak",
  input: Schema.String,
  steps: Workflow.sequence(
    Workflow.agent(researcher),
    Workflow.step("sign", (text: string) =>
      Effect.as(append("steps.txt", `${text.split(":")[0]} sign`), `${text} (signed)`))
  )
})

const durable = Durable.make(workflow)

const runtime = ManagedRuntime.make(
  durable.layer.pipe(
    Layer.provideMerge(Durable.layerPg({ url })),
    Layer.provide(ToolsLive),
    Layer.orDie
  )
)

const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)

runtime.runPromise(append("steps.txt", "- up")).then(
  () => {
    const input = Readline.createInterface({ input: process.stdin })
    input.on("line", (runId) => {
      if (runId.length === 0) return
      runtime.runPromise(durable.run(runId, { runId })).then(
        (output) => print({ runId, content: output.content }),
        (error) => print({ runId, error: String(error) })
      )
    })
  },
  (error) => {
    process.stderr.write(`${error}\n`)
    process.exit(1)
  }
)
