/**
 * Runs one example by name: `npm run example -- simple`, or `npx tsx examples/run.ts simple`.
 * Without a name, or with an unknown one, it lists the examples.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const directory = fileURLToPath(new URL(".", import.meta.url))

/** The modules of this folder that are not examples: the model, the demo it serves, this runner, the CLI's agents. */
const notExamples = new Set(["model.ts", "demo.ts", "run.ts", "agents.ts"])

/** Every example in this folder, with the section of the guide it mirrors (from its first comment). */
const examples = (): ReadonlyArray<{ readonly name: string; readonly section: string }> =>
  readdirSync(directory)
    .filter((file) => file.endsWith(".ts") && !notExamples.has(file))
    .sort()
    .map((file) => {
      const source = readFileSync(new URL(file, import.meta.url), "utf8")
      const title = /From "Async Usage in AGNO": (.+)$/m.exec(source)?.[1] ?? ""
      return { name: file.slice(0, -".ts".length), section: title.replace(/\s*\(.*\)\.$|\.$/, "") }
    })

const usage = (all: ReadonlyArray<{ readonly name: string; readonly section: string }>, problem: string) => {
  const width = Math.max(...all.map((example) => example.name.length))
  return [
    problem,
    "",
    "Usage: npm run example -- <name>",
    "",
    "Examples:",
    ...all.map((example) => `  ${example.name.padEnd(width)}  ${example.section}`),
    "",
    "Settings: EFFECT_AGENTS_MODEL (a real model, e.g. \"openai:gpt-4o-mini\"; unset: the offline demo, served",
    "by the local LLM simulator over HTTP), DEMO_MODEL_LATENCY (e.g. \"50 millis\"), DEMO_MODEL_TRANSPORT",
    "(\"simulator\", the default, or \"in-process\")."
  ].join("\n")
}

const program = Effect.gen(function*() {
  const all = examples()
  const name = process.argv[2]
  if (name === undefined || !all.some((example) => example.name === name)) {
    yield* Console.error(usage(all, name === undefined ? "Which example?" : `There is no example called "${name}".`))
    return yield* Effect.sync(() => {
      process.exitCode = 1
    })
  }
  const module: { readonly main?: unknown } = yield* Effect.promise(() => import(`./${name}.ts`))
  if (!Effect.isEffect(module.main)) return yield* Effect.dieMessage(`examples/${name}.ts does not export main`)
  // Every example provides what its program needs (the tests check that each `main` runs as it is).
  yield* (module.main as Effect.Effect<unknown, unknown>)
})

NodeRuntime.runMain(program)
