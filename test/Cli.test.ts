import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
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
    readonly model: Layer.Layer<LanguageModel.LanguageModel, Cli.Error>
    readonly store: Layer.Layer<SessionStore.SessionStore | Memory.Memory>
    readonly lines?: ReadonlyArray<string>
    /** What the terminal's signal is; by default none comes. */
    readonly interrupted?: Effect.Effect<Cli.Signal>
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
      color: false,
      interrupted: options.interrupted ?? Effect.never
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

describe("Cli in process: signals", () => {
  const after = (millis: number, signal: Cli.Signal) => Effect.as(Effect.sleep(millis), signal)

  it.scopedLive("run: a signal interrupts the run and the command fails with Cancelled, one line, exit code 130", () =>
    Effect.gen(function*() {
      const result = yield* cli(["run", "assistant", "Hi"], {
        model: TestModel.layer([TestModel.text("Too late.", { delay: "1 minute" })]),
        store: yield* sharedStore,
        interrupted: after(50, "SIGINT")
      })
      assert.deepStrictEqual(result.exit, Exit.fail(new Cli.Cancelled({ signal: "SIGINT", stopped: true })))
      assert.strictEqual(Cli.exitCode(result.exit), 130)
      assert.strictEqual(result.err, "Model: test:scripted (from EFFECT_AGENTS_MODEL)\neffect-agents: cancelled\n")
      assert.include(result.out, "Interrupted after")
    }))

  it.scopedLive("chat: SIGTERM as it starts fails with Cancelled, exit code 143", () =>
    Effect.gen(function*() {
      const result = yield* cli(["chat", "assistant"], {
        model: recalling([]),
        store: yield* sharedStore,
        lines: [],
        interrupted: Effect.as(Effect.void, "SIGTERM")
      })
      assert.strictEqual(Cli.exitCode(result.exit), 143)
      assert.strictEqual(result.err, "effect-agents: cancelled\n")
    }))

  it.scopedLive("a command that does not stop within 800 ms is left behind, and says so", () =>
    Effect.gen(function*() {
      // A model whose layer takes seconds to build and cannot be interrupted while it does.
      const stuck = Layer.merge(
        TestModel.layer([TestModel.text("Never.")]),
        Layer.effectDiscard(Effect.uninterruptible(Effect.sleep("5 seconds")))
      )
      const start = Date.now()
      const result = yield* cli(["run", "assistant", "Hi"], {
        model: stuck,
        store: yield* sharedStore,
        interrupted: after(50, "SIGINT")
      })
      const millis = Date.now() - start
      assert.deepStrictEqual(result.exit, Exit.fail(new Cli.Cancelled({ signal: "SIGINT", stopped: false })))
      assert.strictEqual(Cli.exitCode(result.exit), 130)
      assert.isAtLeast(millis, 800)
      assert.isBelow(millis, 2000)
      assert.strictEqual(
        result.err,
        "effect-agents: cancelled (it did not stop within 800ms, so the process exits without waiting)\n"
      )
    }))

  it.effect("exit codes: 0 for success, 1 for an error, 128 and the signal's number for a cancellation", () =>
    Effect.sync(() => {
      assert.strictEqual(Cli.exitCode(Exit.void), 0)
      assert.strictEqual(Cli.exitCode(Exit.fail(new Cli.UnknownAgent({ name: "x", available: [] }))), 1)
      assert.strictEqual(Cli.exitCode(Exit.fail(new Cli.Cancelled({ signal: "SIGINT", stopped: true }))), 130)
      assert.strictEqual(Cli.exitCode(Exit.fail(new Cli.Cancelled({ signal: "SIGTERM", stopped: false }))), 143)
    }))
})

describe("Cli in process: configuration errors", () => {
  it.scoped("a setting Effect reads itself is named, and a secret's value never printed", () =>
    Effect.gen(function*() {
      // The model layer of an application that reads its own settings with Config.
      const model = Layer.unwrapEffect(
        Effect.as(
          Config.all([Config.redacted("ACME_API_KEY"), Config.integer("ACME_PORT"), Config.redacted("ACME_TOKEN")]),
          recalling([])
        )
      )
      const result = yield* cli(["run", "assistant", "Hi"], { model, store: yield* sharedStore }).pipe(
        Effect.withConfigProvider(
          ConfigProvider.fromMap(new Map([["ACME_PORT", "eighty"], ["ACME_TOKEN", "tok-secret"]]))
        )
      )
      assert.isTrue(Exit.isFailure(result.exit))
      assert.strictEqual(
        result.err,
        `effect-agents: ACME_API_KEY is not set: set it in the environment. ` +
          `ACME_PORT is invalid: Expected an integer value but received "eighty".\n`
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

/**
 * The environment of the executable: this process's, with `env` added, and without any setting of
 * the model that `env` does not give (so that a developer's own key or model cannot leak in).
 */
const childEnv = (env: Record<string, string> = {}): Record<string, string | undefined> => {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== "EFFECT_AGENTS_MODEL" && !/_(API_KEY|BASE_URL)$/.test(name))
  )
  return { ...inherited, NO_COLOR: "1", ...env }
}

/** Runs the executable with `args`, feeding it `stdin`, and waits for it to exit. */
const bin = (args: ReadonlyArray<string>, options: { readonly stdin?: string; readonly env?: Record<string, string> } = {}) =>
  Effect.async<Finished>((resume) => {
    const child = ChildProcess.spawn(process.execPath, [executable, ...args], {
      cwd: root,
      env: childEnv(options.env),
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

describe("effect-agents: configuration errors", () => {
  // Each is one line that names the variable and says what to set it to; no value of a key.
  const cases: ReadonlyArray<readonly [string, Record<string, string>, string]> = [
    ["a missing key", { EFFECT_AGENTS_MODEL: "openai:gpt-4o-mini" }, "OPENAI_API_KEY is not set: set it to your OpenAI API key."],
    [
      "a blank key",
      { EFFECT_AGENTS_MODEL: "anthropic:claude-sonnet-4-5", ANTHROPIC_API_KEY: "  " },
      "ANTHROPIC_API_KEY is empty: set it to your Anthropic API key."
    ],
    [
      "a key with a space in it",
      { EFFECT_AGENTS_MODEL: "groq:llama-3.3-70b", GROQ_API_KEY: "gsk-secret-part two" },
      "GROQ_API_KEY contains spaces or control characters, which an HTTP header cannot carry: set it to your Groq API key alone."
    ],
    [
      "a base URL without its scheme",
      { EFFECT_AGENTS_MODEL: "ollama:llama3.2", OLLAMA_BASE_URL: "localhost:11434" },
      "OLLAMA_BASE_URL is not an http:// or https:// URL: set it to the API's base URL, e.g. http://127.0.0.1:11434/v1."
    ],
    [
      "a missing base URL",
      { EFFECT_AGENTS_MODEL: "openai-compatible:m" },
      "OPENAI_COMPATIBLE_BASE_URL is not set: set it to the API's base URL, e.g. http://127.0.0.1:8000/v1."
    ],
    [
      "a malformed model string",
      { EFFECT_AGENTS_MODEL: "gpt-4o" },
      `EFFECT_AGENTS_MODEL is malformed: expected "provider:model", e.g. "openai:gpt-4o-mini", got "gpt-4o".`
    ]
  ]
  for (const [name, env, message] of cases) {
    it.scopedLive(`${name}: exits with 1 and one line naming the variable`, () =>
      Effect.gen(function*() {
        const data = yield* tempDirectory
        const result = yield* bin(["run", "assistant", "Hello", "--data", data], { env })
        assert.strictEqual(result.code, 1)
        assert.strictEqual(result.stderr, `effect-agents: ${message}\n`)
        assert.notInclude(result.stderr, "secret")
        assert.strictEqual(result.stdout, "")
      }), { timeout: 120_000 })
  }
})

// -----------------------------------------------------------------------------
// Signals: `run` and `chat` stop at once, whatever they are waiting on
// -----------------------------------------------------------------------------

interface Spawned {
  readonly child: ChildProcess.ChildProcessWithoutNullStreams
  readonly stdout: () => string
  readonly stderr: () => string
  /** Waits until the output satisfies `predicate` (fails the test if the process exits first). */
  readonly waitFor: (predicate: (out: { readonly stdout: string; readonly stderr: string }) => boolean) => Effect.Effect<void>
  /** `effect`, unless the process exits first (then the test fails with its output). */
  readonly whileRunning: <A>(effect: Effect.Effect<A>) => Effect.Effect<A>
  /** Sends `signal` and waits for the exit: its code, how long after the signal it came, what it wrote to stderr since. */
  readonly signal: (signal: "SIGINT" | "SIGTERM") => Effect.Effect<Signalled>
}

interface Signalled {
  readonly code: number | null
  readonly millis: number
  readonly stderr: string
}

/** Starts the executable and leaves it running (killed at the end of the test's scope). */
const spawn = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.gen(function*() {
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(process.execPath, [executable, ...args], { cwd: root, env: childEnv(env), stdio: "pipe" })
      ),
      (child) => Effect.sync(() => child.kill("SIGKILL"))
    )
    let stdout = ""
    let stderr = ""
    const listeners = new Set<() => void>()
    const changed = () => listeners.forEach((listener) => listener())
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk)
      changed()
    })
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk)
      changed()
    })
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    const exitedEarly = Effect.flatMap(
      Effect.promise(() => exit),
      (code) => Effect.die(`exited early with ${code}:\n${stdout}\n${stderr}`)
    )
    const whileRunning: Spawned["whileRunning"] = (effect) => Effect.raceFirst(effect, exitedEarly)
    const waitFor: Spawned["waitFor"] = (predicate) =>
      whileRunning(Effect.async<void>((resume) => {
        const check = () => {
          if (predicate({ stdout, stderr })) resume(Effect.void)
        }
        listeners.add(check)
        check()
        return Effect.sync(() => listeners.delete(check))
      }))
    const signal: Spawned["signal"] = (name) =>
      Effect.promise(async () => {
        const start = performance.now()
        const before = stderr.length
        child.kill(name)
        const code = await exit
        return { code, millis: performance.now() - start, stderr: stderr.slice(before) }
      })
    return { child, stdout: () => stdout, stderr: () => stderr, waitFor, whileRunning, signal } satisfies Spawned
  })

/**
 * The exit a signal causes: within a second (the bound leaves room for a loaded machine), with its
 * code, and one line on stderr: no trace, no undici error, not the message of a run left behind.
 */
const assertCancelled = (
  cli: Spawned,
  result: Signalled,
  code: number,
  { stderr = "effect-agents: cancelled\n", within = 1500 }: { readonly stderr?: string; readonly within?: number } = {}
) => {
  assert.strictEqual(result.code, code, cli.stderr())
  assert.isBelow(result.millis, within)
  assert.strictEqual(result.stderr, stderr, cli.stderr())
}

/** The simulator saw the client go: the response it was writing was abandoned, none is left. */
const assertAborted = (simulator: Simulator.Service) =>
  Effect.gen(function*() {
    const stats = yield* simulator.awaitStats((stats) => stats.clientAborts === 1 && stats.activeResponses === 0).pipe(
      Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "the simulator saw no client abort" }),
      Effect.catchAll((message) => Effect.flatMap(simulator.stats, (stats) => Effect.die(`${message}: ${JSON.stringify(stats)}`)))
    )
    assert.strictEqual(stats.requests, 1)
  })

const configured = (simulator: Simulator.Service) => ({
  EFFECT_AGENTS_MODEL: "openai-compatible:scripted",
  OPENAI_COMPATIBLE_BASE_URL: simulator.openAiUrl
})

describe("effect-agents: SIGINT and SIGTERM", () => {
  it.scopedLive("run: SIGINT before the model's first byte exits with 130 at once, and the request is aborted", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({ script: [Simulator.text("Too late.", { delay: "30 seconds" })] })
      const cli = yield* spawn(["run", "assistant", "Hello", "--data", data], configured(simulator))
      yield* cli.whileRunning(simulator.awaitStats((stats) => stats.activeResponses === 1))
      assertCancelled(cli, yield* cli.signal("SIGINT"), 130)
      yield* assertAborted(simulator)
    }), { timeout: 120_000 })

  it.scopedLive("run: SIGINT while the command line is still loading exits with 130 at once", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({ script: [Simulator.text("Too late.", { delay: "30 seconds" })] })
      const cli = yield* spawn(["run", "assistant", "Hello", "--data", data], configured(simulator))
      // Loading takes half a second or more; a signal then finds no command yet, only the executable.
      yield* Effect.sleep("300 millis")
      // Node 22 and later load the modules synchronously: no JavaScript runs until they are loaded,
      // so the signal is acted on then, which on a loaded machine can be more than a second later.
      assertCancelled(cli, yield* cli.signal("SIGINT"), 130, { within: 3000 })
      assert.strictEqual((yield* simulator.stats).requests, 0)
    }), { timeout: 120_000 })

  it.scopedLive("run: SIGINT mid-stream exits with 130 at once; the answer so far is printed as interrupted", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({ script: [Simulator.stall({ after: 2 })] })
      const cli = yield* spawn(["run", "assistant", "Hello", "--data", data], configured(simulator))
      yield* cli.waitFor(({ stdout }) => stdout.includes("Response:\n"))
      assertCancelled(cli, yield* cli.signal("SIGINT"), 130)
      assert.include(cli.stdout(), "Interrupted after")
      yield* assertAborted(simulator)
    }), { timeout: 120_000 })

  it.scopedLive("run: SIGTERM before the first byte exits with 143", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({ script: [Simulator.text("Too late.", { delay: "30 seconds" })] })
      const cli = yield* spawn(["run", "assistant", "Hello", "--data", data], configured(simulator))
      yield* cli.whileRunning(simulator.awaitStats((stats) => stats.activeResponses === 1))
      assertCancelled(cli, yield* cli.signal("SIGTERM"), 143)
      yield* assertAborted(simulator)
    }), { timeout: 120_000 })

  it.scopedLive("chat: SIGINT mid-stream exits with 130, and the session records the run as cancelled", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({ script: [Simulator.stall({ after: 2 })] })
      const cli = yield* spawn(["chat", "assistant", "--session", "stopped", "--data", data], configured(simulator))
      cli.child.stdin.write("Hello\n")
      yield* cli.waitFor(({ stdout }) => stdout.includes("Response:\n"))
      assertCancelled(cli, yield* cli.signal("SIGINT"), 130)
      yield* assertAborted(simulator)
      const runs = yield* Effect.flatMap(SessionStore.SessionStore, (store) =>
        store.load({ userId: "anonymous", sessionId: "stopped" })).pipe(
          Effect.provide(SessionStoreSql.layerSqlite({ filename: Path.join(data, "sessions.db") }))
        )
      assert.deepStrictEqual(runs.map((run) => run.status), ["cancelled"])
    }), { timeout: 120_000 })

  it.scopedLive("chat: SIGINT while waiting for the next line exits with 130", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({ script: [Simulator.text("Hi.")] })
      const cli = yield* spawn(["chat", "assistant", "--data", data], configured(simulator))
      cli.child.stdin.write("Hello\n")
      yield* cli.waitFor(({ stdout }) => stdout.includes("Hi."))
      assertCancelled(cli, yield* cli.signal("SIGINT"), 130)
    }), { timeout: 120_000 })

  it.scopedLive("chat: SIGINT during a tool call interrupts the tool and exits with 130", () =>
    Effect.gen(function*() {
      // An agents module of plain JavaScript, as a user writes one against the installed package;
      // inside the repository, so that its imports resolve as they would in a project.
      const folder = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(root, ".cli-agents-"))),
        (folder) => Effect.sync(() => Fs.rmSync(folder, { recursive: true, force: true }))
      )
      const module = Path.join(folder, "agents.mjs")
      Fs.writeFileSync(
        module,
        [
          `import * as Tool from "@effect/ai/Tool"`,
          `import * as Toolkit from "@effect/ai/Toolkit"`,
          `import * as Effect from "effect/Effect"`,
          `import * as Layer from "effect/Layer"`,
          `import * as Schema from "effect/Schema"`,
          `import { Agent, Registry } from "effect-agents"`,
          `const Tools = Toolkit.make(Tool.make("slow", { parameters: {}, success: Schema.String }))`,
          `const say = (line) => Effect.sync(() => process.stderr.write(line + "\\n"))`,
          `const ToolsLive = Tools.toLayer({`,
          `  slow: () => say("tool started").pipe(Effect.zipRight(Effect.never), Effect.onInterrupt(() => say("tool interrupted")))`,
          `})`,
          `export default Registry.layer([Agent.make({ name: "slow", toolkit: Tools })]).pipe(Layer.provide(ToolsLive))`
        ].join("\n")
      )
      const data = yield* tempDirectory
      const simulator = yield* Simulator.make({ script: [Simulator.toolCall("slow", {}), Simulator.text("Done.")] })
      const cli = yield* spawn(["chat", "slow", "--agents", module, "--data", data], configured(simulator))
      cli.child.stdin.write("Go\n")
      yield* cli.waitFor(({ stderr }) => stderr.includes("tool started"))
      assertCancelled(cli, yield* cli.signal("SIGINT"), 130, { stderr: "tool interrupted\neffect-agents: cancelled\n" })
      // The model answered the call in full; the run stopped before its second call.
      assert.strictEqual((yield* simulator.stats).requests, 1)
    }), { timeout: 120_000 })
})

describe("effect-agents serve", () => {
  it.scopedLive("prints where it serves, answers over HTTP, and exits cleanly on SIGTERM", () =>
    Effect.gen(function*() {
      const data = yield* tempDirectory
      const env = childEnv()
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
      assert.include(banner, `Web chat:          ${url}/`)
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
