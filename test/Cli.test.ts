import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"
import * as Simulator from "../layers/Simulator.js"
import * as TestModel from "../layers/TestModel.js"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Cli from "../cli/Cli.js"

const root = Path.resolve(import.meta.dirname, "..")

// -----------------------------------------------------------------------------
// In process: the commands on a scripted model, an in-memory store and a scripted terminal
// -----------------------------------------------------------------------------

/** A model that answers from the whole conversation: it names every "My name is X" it was sent. */
const recalling = (prompts: Array<string>) =>
  TestModel.layer((request) => {
    const conversation = JSON.stringify(request.prompt.content)
    prompts.push(conversation)
    const names = [...conversation.matchAll(/My name is (\w+)/g)].map((match) => match[1]!)
    return TestModel.text(
      names.length === 0 ? `Hello! You said: ${request.lastUserText}` : `You are ${names.join(" and ")}.`,
      { chunks: 3 }
    )
  })

interface Outcome {
  readonly exit: Exit.Exit<void, unknown>
  readonly out: string
  readonly err: string
  /** The lines left unread. */
  readonly unread: ReadonlyArray<string>
}

/**
 * Runs a command line in process: its terminal is scripted (`lines` are its input), its model is
 * `model`, its store one in-memory store shared by every command of the test (`store`).
 */
const cli = (
  args: ReadonlyArray<string>,
  options: {
    readonly model: Layer.Layer<LanguageModel.LanguageModel>
    readonly store: Layer.Layer<SessionStore.SessionStore | Memory.Memory>
    readonly lines?: ReadonlyArray<string>
  }
): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const out = yield* Ref.make("")
    const err = yield* Ref.make("")
    const input = yield* Ref.make(options.lines ?? [])
    const stdio = Cli.Stdio.of({
      out: (text) => Ref.update(out, (all) => all + text),
      err: (text) => Ref.update(err, (all) => all + text),
      readLine: () =>
        Ref.modify(input, (lines) => [Option.fromNullable(lines[0]), lines.slice(1)]),
      color: false
    })
    const backend = Layer.effect(
      Cli.Backend,
      Effect.map(Cli.Backend, (live) =>
        Cli.Backend.of({
          ...live,
          model: Layer.merge(options.model, Layer.succeed(Cli.ModelInUse, { name: "test:scripted" })),
          store: () => options.store
        }))
    ).pipe(Layer.provide(Cli.layerBackend))
    const exit = yield* Cli.run(["node", "effect-agents", ...args]).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Cli.Stdio, stdio), backend)),
      Effect.provide(NodeContext.layer),
      Effect.exit
    )
    return { exit, out: yield* Ref.get(out), err: yield* Ref.get(err), unread: yield* Ref.get(input) }
  })

/** One in-memory store, built once for the test, so that commands share it as they share a file. */
const sharedStore = Effect.map(
  Layer.build(SessionStoreMemory.layer),
  (context) => Layer.succeedContext(context)
)

describe("Cli in process", () => {
  it.scoped("run: streams the answer of the named agent, and says which model", () =>
    Effect.gen(function*() {
      const prompts: Array<string> = []
      const result = yield* cli(["run", "assistant", "Hi there"], { model: recalling(prompts), store: yield* sharedStore })
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.include(result.out, "Message:\nHi there")
      assert.include(result.out, "Response:\nHello! You said: Hi there")
      assert.include(result.err, "Model: test:scripted")
      assert.strictEqual(prompts.length, 1)
    }))

  it.scoped("run: a session's earlier turns reach the model", () =>
    Effect.gen(function*() {
      const prompts: Array<string> = []
      const options = { model: recalling(prompts), store: yield* sharedStore }
      yield* cli(["run", "assistant", "My name is Ada.", "--session", "s1", "--user", "ada"], options)
      const second = yield* cli(["run", "--session", "s1", "--user", "ada", "assistant", "What is my name?"], options)
      assert.include(second.out, "You are Ada.")
      // Another user's session of the same id is another conversation.
      const other = yield* cli(["run", "assistant", "What is my name?", "--session", "s1", "--user", "bob"], options)
      assert.include(other.out, "Hello! You said: What is my name?")
      assert.strictEqual(prompts.length, 3)
    }))

  it.scoped("run: an unknown agent fails with the names that exist", () =>
    Effect.gen(function*() {
      const result = yield* cli(["run", "nobody", "hello"], { model: recalling([]), store: yield* sharedStore })
      assert.isTrue(Exit.isFailure(result.exit))
      assert.include(
        result.err,
        `There is no agent or team called "nobody". Available: assistant, weather, research-team, help-desk.`
      )
      assert.strictEqual(result.out, "")
    }))

  it.scoped("run: a name differing only in case finds its agent", () =>
    Effect.gen(function*() {
      const result = yield* cli(["run", "Assistant", "Hi"], { model: recalling([]), store: yield* sharedStore })
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.include(result.out, "Hello! You said: Hi")
    }))

  it.scoped("run: the weather agent calls its tool, whose handler the agents module provides", () =>
    Effect.gen(function*() {
      const model = TestModel.layer([TestModel.toolCall("get_weather", { city: "Paris" }), TestModel.text("Mild.")])
      const result = yield* cli(["run", "weather", "Weather in Paris?"], { model, store: yield* sharedStore })
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.match(result.out, /get_weather\(\{"city":"Paris"\}\) → \{"city":"Paris","celsius":\d+,"sky":"[a-z ]+"\}/)
      assert.include(result.out, "Mild.")
    }))

  it.scoped("run: a failed run is printed, and the command fails with its error", () =>
    Effect.gen(function*() {
      const result = yield* cli(["run", "assistant", "Hi"], {
        model: TestModel.layer([TestModel.httpError(401)]),
        store: yield* sharedStore
      })
      assert.isTrue(Exit.isFailure(result.exit))
      assert.include(result.out, "Error")
      assert.match(result.err, /^effect-agents: .+/m)
    }))

  it.scoped("chat: each line is a turn of one session, until /exit", () =>
    Effect.gen(function*() {
      const prompts: Array<string> = []
      const result = yield* cli(["chat", "assistant", "--session", "talk"], {
        model: recalling(prompts),
        store: yield* sharedStore,
        lines: ["My name is Ada.", "   ", "What is my name?", "/exit", "never read"]
      })
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.include(result.out, "Message:\nWhat is my name?\n\nResponse:\nYou are Ada.")
      // The blank line is no turn; /exit ends the chat before the next line is read.
      assert.strictEqual(prompts.length, 2)
      assert.deepStrictEqual(result.unread, ["never read"])
      assert.include(result.err, "session talk")
    }))

  it.scoped("chat: the end of the input ends it; without --session it starts a new one and says which", () =>
    Effect.gen(function*() {
      const prompts: Array<string> = []
      const store = yield* sharedStore
      const result = yield* cli(["chat", "assistant"], { model: recalling(prompts), store, lines: ["My name is Bo."] })
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.include(result.out, "You are Bo.")
      const sessionId = /--session (chat-[0-9a-f]+)/.exec(result.err)?.[1]
      assert.isDefined(sessionId)
      const resumed = yield* cli(["chat", "assistant", "--session", sessionId!], {
        model: recalling(prompts),
        store,
        lines: ["Who am I?"]
      })
      assert.include(resumed.out, "You are Bo.")
    }))

  it.scoped("chat: a failed turn is printed and the chat goes on", () =>
    Effect.gen(function*() {
      const result = yield* cli(["chat", "assistant"], {
        model: TestModel.layer([TestModel.httpError(401), TestModel.text("Back again.")]),
        store: yield* sharedStore,
        lines: ["first", "second"]
      })
      assert.isTrue(Exit.isSuccess(result.exit))
      assert.include(result.out, "Error")
      assert.include(result.out, "Back again.")
    }))

  it.scoped("--agents: loads a module's registry; its agents run on their own model or the application's", () =>
    Effect.gen(function*() {
      const store = yield* sharedStore
      const prompts: Array<string> = []
      const module = Path.join(root, "test/fixtures/cliAgents.ts")
      const recall = yield* cli(["chat", "recall", "--agents", module], {
        model: recalling(prompts),
        store,
        lines: ["My name is Cy.", "And my name?"]
      })
      assert.include(recall.out, "Message:\nAnd my name?\n\nResponse:\nYou are Cy.")
      assert.strictEqual(prompts.length, 0)
      const plain = yield* cli(["run", "plain", "Hi", "--agents", module], { model: recalling(prompts), store })
      assert.include(plain.out, "Hello! You said: Hi")
      const unknown = yield* cli(["run", "assistant", "Hi", "--agents", module], { model: recalling(prompts), store })
      assert.include(unknown.err, "Available: recall, plain.")
    }))

  it.scoped("--agents: a module that cannot serve is a clear error naming it", () =>
    Effect.gen(function*() {
      const options = { model: recalling([]), store: yield* sharedStore }
      const noDefault = yield* cli(["run", "x", "y", "--agents", "test/fixtures/cliNoDefault.ts"], options)
      assert.isTrue(Exit.isFailure(noDefault.exit))
      assert.include(
        noDefault.err,
        `The agents module "test/fixtures/cliNoDefault.ts" has no default export that is a Layer of the Registry`
      )
      const missing = yield* cli(["run", "x", "y", "--agents", "test/fixtures/nowhere.ts"], options)
      assert.include(missing.err, `The agents module "test/fixtures/nowhere.ts" does not exist.`)
      const broken = yield* cli(["run", "x", "y", "--agents", "test/fixtures/cliBroken.ts"], options)
      assert.include(
        broken.err,
        `The agents module "test/fixtures/cliBroken.ts" failed to build its agents: the agents' configuration is missing`
      )
    }))
})

describe("Cli backend", () => {
  it.scopedLive("without EFFECT_AGENTS_MODEL the model is the local simulator, and an agent runs on it", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(Cli.layerModel)
      const model = Context.get(context, Cli.ModelInUse)
      assert.strictEqual(model.name, "simulator")
      assert.match(model.simulatorUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+$/)
      const result = yield* cli(["run", "assistant", "Ping"], {
        model: Layer.succeedContext(context),
        store: yield* sharedStore
      })
      assert.include(result.out, `This is a simulated reply from the local LLM simulator, not a model. You wrote: "Ping"`)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))

  it.scoped("EFFECT_AGENTS_MODEL chooses the provider; a malformed one is a ConfigError naming it", () =>
    Effect.gen(function*() {
      const model = yield* Cli.ModelInUse.pipe(
        Effect.provide(Cli.layerModel),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["EFFECT_AGENTS_MODEL", "ollama:llama3.2"]])))
      )
      assert.deepStrictEqual(model, { name: "ollama:llama3.2" })
      const bad = yield* Cli.ModelInUse.pipe(
        Effect.provide(Cli.layerModel),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["EFFECT_AGENTS_MODEL", "gpt-4o"]]))),
        Effect.flip
      )
      assert.include(String(bad), "EFFECT_AGENTS_MODEL")
    }))

  it.scoped("the store creates its folder and keeps sessions in it", () =>
    Effect.gen(function*() {
      const directory = Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-cli-")), "nested", "data")
      yield* Effect.addFinalizer(() => Effect.sync(() => Fs.rmSync(Path.dirname(Path.dirname(directory)), { recursive: true, force: true })))
      const prompts: Array<string> = []
      const store = Cli.layerStore(directory).pipe(Layer.provide(NodeContext.layer), Layer.orDie)
      yield* cli(["run", "assistant", "My name is Di.", "--session", "kept"], { model: recalling(prompts), store })
      assert.isTrue(Fs.existsSync(Path.join(directory, "sessions.db")))
      const again = yield* cli(["run", "assistant", "Name?", "--session", "kept"], { model: recalling(prompts), store })
      assert.include(again.out, "You are Di.")
    }))
})

// -----------------------------------------------------------------------------
// The executable, as a user runs it
// -----------------------------------------------------------------------------

interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

// The executable as the package installs it: the build's `bin`, run by plain Node (`npm test` builds
// first).
const executable = Path.join(root, "dist", "cli", "bin.js")

/** Runs the executable with `args`, feeding it `stdin`, and waits for it to exit. */
const bin = (args: ReadonlyArray<string>, options: { readonly stdin?: string; readonly env?: Record<string, string> } = {}) =>
  Effect.async<Finished>((resume) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...options.env }
    if (options.env?.["EFFECT_AGENTS_MODEL"] === undefined) delete env["EFFECT_AGENTS_MODEL"]
    const child = ChildProcess.spawn(process.execPath, [executable, ...args], {
      cwd: root,
      env,
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => void (stdout += String(chunk)))
    child.stderr.on("data", (chunk) => void (stderr += String(chunk)))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    child.stdin.end(options.stdin ?? "")
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const tempDirectory = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-cli-"))),
  (directory) => Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true }))
)

describe("effect-agents (the executable)", () => {
  it.scopedLive("run: streams a simulated answer when no model is configured", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const result = yield* bin(["run", "assistant", "Hello there", "--data", data])
      assert.strictEqual(result.code, 0, result.stderr)
      assert.include(result.stdout, `You wrote: "Hello there"`)
      assert.include(result.stderr, "a simulator, not a model")
    }), { timeout: 120_000 })

  it.scopedLive("run: an unknown agent exits with 1 and lists the names", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const result = yield* bin(["run", "nobody", "Hello", "--data", data])
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, "Available: assistant, weather, research-team, help-desk.")
      assert.notInclude(result.stderr, "    at ")
    }), { timeout: 120_000 })

  it.scopedLive("chat: piped lines are the turns of one session, kept in the data folder", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const result = yield* bin(["chat", "assistant", "--session", "piped", "--data", data], {
        stdin: "My name is Ada.\nWhat is my name?\n"
      })
      assert.strictEqual(result.code, 0, result.stderr)
      assert.include(result.stdout, `You wrote: "My name is Ada."`)
      assert.include(result.stdout, `You wrote: "What is my name?"`)
      const runs = yield* Effect.flatMap(SessionStore.SessionStore, (store) =>
        store.load({ userId: "anonymous", sessionId: "piped" })).pipe(
          Effect.provide(SessionStoreSql.layerSqlite({ filename: Path.join(data, "sessions.db") }))
        )
      assert.deepStrictEqual(runs.map((run) => run.status), ["completed", "completed"])
    }), { timeout: 120_000 })

  it.scopedLive("chat: with EFFECT_AGENTS_MODEL the configured provider gets each turn with the session's history", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({
        script: (request) => {
          const names = request.messages.flatMap((message) =>
            message.role === "user" ? [...message.text.matchAll(/My name is (\w+)/g)].map((match) => match[1]!) : []
          )
          return Simulator.text(names.length === 0 ? "Who are you?" : `You are ${names.join(" and ")}.`)
        }
      })
      const result = yield* bin(["chat", "assistant", "--data", data], {
        stdin: "My name is Ada.\nWhat is my name?\n",
        env: { EFFECT_AGENTS_MODEL: "openai-compatible:scripted", OPENAI_COMPATIBLE_BASE_URL: simulator.openAiUrl }
      })
      assert.strictEqual(result.code, 0, result.stderr)
      assert.include(result.stderr, "Model: openai-compatible:scripted")
      assert.include(result.stdout, "Message:\nWhat is my name?\n\nResponse:\nYou are Ada.")
      const requests = yield* simulator.requests
      assert.strictEqual(requests.length, 2)
      assert.deepStrictEqual(requests.map((request) => request.model), ["scripted", "scripted"])
    }), { timeout: 120_000 })
})

describe("effect-agents serve", () => {
  it.scopedLive("prints where it serves, answers over HTTP, and exits cleanly on SIGTERM", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" }
      delete env["EFFECT_AGENTS_MODEL"]
      delete env["EFFECT_AGENTS_HTTP_TOKEN"]
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          ChildProcess.spawn(process.execPath, [executable, "serve", "--port", "0", "--data", data], {
            cwd: root,
            env,
            stdio: ["ignore", "pipe", "pipe"]
          })
        ),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      let stdout = ""
      let stderr = ""
      child.stderr.on("data", (chunk) => void (stderr += String(chunk)))
      const exited = Effect.async<number | null>((resume) => {
        if (child.exitCode !== null) return resume(Effect.succeed(child.exitCode))
        child.on("exit", (code) => resume(Effect.succeed(code)))
      })
      const banner = yield* Effect.async<string>((resume) => {
        child.stdout.on("data", (chunk) => {
          stdout += String(chunk)
          if (stdout.includes("Ctrl-C stops it")) resume(Effect.succeed(stdout))
        })
        child.on("exit", () => resume(Effect.succeed(stdout)))
      })
      const url = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1]
      assert.isDefined(url, `${banner}\n${stderr}`)
      assert.include(banner, `${url}/docs`)
      assert.include(banner, "a simulator, not a model")
      assert.include(banner, `Data:              ${data}`)
      assert.include(banner, `curl -s ${url}/agents/assistant/runs`)

      const health = yield* Effect.promise(() => fetch(`${url}/health`))
      assert.strictEqual(health.status, 200)
      const run = yield* Effect.promise(() =>
        fetch(`${url}/agents/assistant/runs`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: "Hello over HTTP" })
        }).then((response) => response.json() as Promise<{ readonly content: string }>)
      )
      assert.include(run.content, `You wrote: "Hello over HTTP"`)

      child.kill("SIGTERM")
      assert.strictEqual(yield* exited, 0, stderr)
    }), { timeout: 120_000 })
})
