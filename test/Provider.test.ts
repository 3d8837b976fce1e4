import { assert, describe, it } from "@effect/vitest"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Provider from "../layers/Provider.js"
import * as Simulator from "../layers/Simulator.js"
import * as Agent from "../src/Agent.js"
import { chunk, json, server, sse } from "./fixtures/chatServer.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("Provider", () => {
  it("parses provider:model strings", () => {
    assert.deepStrictEqual(Provider.parse("openai:gpt-4o-mini"), Either.right({ provider: "openai", model: "gpt-4o-mini" }))
    assert.deepStrictEqual(
      Provider.parse("openai-compatible:meta/llama-3.1:8b"),
      Either.right({ provider: "openai-compatible", model: "meta/llama-3.1:8b" })
    )
    assert.deepStrictEqual(Provider.parse("Ollama: llama3.2"), Either.right({ provider: "ollama", model: "llama3.2" }))
    assert.isTrue(Either.isLeft(Provider.parse("gpt-4o")))
    assert.isTrue(Either.isLeft(Provider.parse("openai:")))
    const unknown = Provider.parse("acme:big-model")
    assert.isTrue(Either.isLeft(unknown) && unknown.left.includes("known providers: openai, anthropic"))
  })

  it.effect("names the variable when the model string is malformed", () =>
    Effect.gen(function*() {
      const error = yield* Layer.build(Provider.layerConfig()).pipe(
        Effect.scoped,
        withEnv({ EFFECT_AGENTS_MODEL: "gpt-4o" }),
        Effect.flip
      )
      assert.strictEqual(
        error.message,
        `EFFECT_AGENTS_MODEL is malformed: expected "provider:model", e.g. "openai:gpt-4o-mini", got "gpt-4o".`
      )
    }))

  /** The error of building the configured model in `env`. */
  const configError = (env: Record<string, string>) =>
    Layer.build(Provider.layerConfig()).pipe(Effect.scoped, withEnv(env), Effect.flip)

  it.effect("names the variable when the model string is missing", () =>
    Effect.gen(function*() {
      const error = yield* configError({})
      assert.strictEqual(error.message, `EFFECT_AGENTS_MODEL is not set: set it to "provider:model", e.g. "openai:gpt-4o-mini".`)
    }))

  for (
    const [model, message] of [
      ["openai:gpt-4o-mini", "OPENAI_API_KEY is not set: set it to your OpenAI API key."],
      ["anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY is not set: set it to your Anthropic API key."],
      ["groq:llama-3.3-70b", "GROQ_API_KEY is not set: set it to your Groq API key."],
      ["openrouter:some/model", "OPENROUTER_API_KEY is not set: set it to your OpenRouter API key."],
      [
        "openai-compatible:m",
        "OPENAI_COMPATIBLE_BASE_URL is not set: set it to the API's base URL, e.g. http://127.0.0.1:8000/v1."
      ]
    ] as const
  ) {
    it.effect(`names the missing setting of ${model} and says what to set it to`, () =>
      Effect.gen(function*() {
        const error = yield* configError({ EFFECT_AGENTS_MODEL: model })
        // Effect's own error for a missing Config.redacted says only "<redacted>".
        assert.strictEqual(error.message, message)
        assert.deepStrictEqual(error, ConfigError.MissingData([message.split(" ")[0]!], message))
      }))
  }

  it.effect("a blank or unsendable key is an error naming it that never quotes it", () =>
    Effect.gen(function*() {
      const blank = yield* configError({ EFFECT_AGENTS_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: " \t" })
      assert.strictEqual(blank.message, "OPENAI_API_KEY is empty: set it to your OpenAI API key.")
      const broken = yield* configError({ EFFECT_AGENTS_MODEL: "anthropic:claude-sonnet-4-5", ANTHROPIC_API_KEY: "sk-secret\nline" })
      assert.strictEqual(
        broken.message,
        "ANTHROPIC_API_KEY contains spaces or control characters, which an HTTP header cannot carry: set it to your Anthropic API key alone."
      )
      assert.notInclude(String(broken), "secret")
    }))

  for (
    const [env, message] of [
      [
        { EFFECT_AGENTS_MODEL: "openai:gpt-4o-mini", OPENAI_API_KEY: "sk", OPENAI_BASE_URL: "api.openai.com/v1" },
        "OPENAI_BASE_URL is not an http:// or https:// URL: set it to the API's base URL, e.g. https://api.openai.com/v1."
      ],
      [
        { EFFECT_AGENTS_MODEL: "anthropic:claude-sonnet-4-5", ANTHROPIC_API_KEY: "sk", ANTHROPIC_BASE_URL: "ftp://x" },
        "ANTHROPIC_BASE_URL is not an http:// or https:// URL: set it to the API's base URL, e.g. https://api.anthropic.com."
      ],
      [
        { EFFECT_AGENTS_MODEL: "lmstudio:m", LMSTUDIO_BASE_URL: "localhost:1234/v1" },
        "LMSTUDIO_BASE_URL is not an http:// or https:// URL: set it to the API's base URL, e.g. http://127.0.0.1:1234/v1."
      ]
    ] as const
  ) {
    it.effect(`a malformed base URL is an error naming it: ${Object.keys(env).at(-1)}`, () =>
      Effect.gen(function*() {
        const error = yield* configError(env)
        assert.strictEqual(error.message, message)
      }))
  }

  it.scopedLive("runs an agent on the configured OpenAI-compatible server (ollama preset with its base URL set)", () =>
    Effect.gen(function*() {
      const s = yield* server([
        json({ model: "llama3.2", choices: [{ message: { content: "Hi from llama" }, finish_reason: "stop" }] })
      ])
      const output = yield* Agent.run(Agent.make({}), "Hello").pipe(
        Effect.provide(Provider.layerConfig()),
        withEnv({ EFFECT_AGENTS_MODEL: "ollama:llama3.2", OLLAMA_BASE_URL: s.url })
      )
      assert.strictEqual(output.content, "Hi from llama")
      assert.strictEqual(s.bodies[0].model, "llama3.2")
      assert.isUndefined(s.headers[0]!.authorization)
    }))

  it.scopedLive("the configured client, provided once, serves an agent's own models run after run on one pool", () =>
    Effect.gen(function*() {
      // The configured model always refuses (401, never retried): every run also calls the other.
      const simulator = yield* Simulator.make({
        script: (request) => request.model === "primary" ? Simulator.unauthorized() : Simulator.text(`from ${request.model}`)
      })
      const agent = Agent.make({ model: Provider.model(), fallback: [Provider.model("backup")] })
      const outputs = yield* Effect.forEach(Array.from({ length: 100 }), () => Agent.run(agent, "Hello")).pipe(
        Effect.provide(Provider.layerClientConfig()),
        withEnv({ EFFECT_AGENTS_MODEL: "openai-compatible:primary", OPENAI_COMPATIBLE_BASE_URL: simulator.openAiUrl })
      )
      assert.deepStrictEqual(new Set(outputs.map((output) => output.content)), new Set(["from backup"]))
      const stats = yield* simulator.stats
      assert.strictEqual(stats.requests, 200)
      // One keep-alive pool (a pool per run would open 100 or more).
      assert.isAtMost(stats.connections, 3)
    }), { timeout: 20_000 })

  it.scopedLive("a blank optional key is none, and a key's surrounding whitespace is not sent", () =>
    Effect.gen(function*() {
      const s = yield* server([
        json({ model: "m", choices: [{ message: { content: "one" }, finish_reason: "stop" }] }),
        json({ model: "m", choices: [{ message: { content: "two" }, finish_reason: "stop" }] })
      ])
      yield* Agent.run(Agent.make({}), "Hello").pipe(
        Effect.provide(Provider.layerConfig()),
        withEnv({ EFFECT_AGENTS_MODEL: "vllm:m", VLLM_BASE_URL: s.url, VLLM_API_KEY: " " })
      )
      assert.isUndefined(s.headers[0]!.authorization)
      yield* Agent.run(Agent.make({}), "Hello").pipe(
        Effect.provide(Provider.layerConfig()),
        withEnv({ EFFECT_AGENTS_MODEL: "groq:m", GROQ_BASE_URL: ` ${s.url} `, GROQ_API_KEY: " gsk-key\n" })
      )
      assert.strictEqual(s.headers[1]!.authorization, "Bearer gsk-key")
    }))

  it.scopedLive("sends the configured key to a compatible server that needs one", () =>
    Effect.gen(function*() {
      const s = yield* server([sse([chunk({ content: "ok" }), chunk({}, "stop"), "[DONE]"])])
      yield* Agent.run(Agent.make({}), "Hello", { onEvent: () => Effect.void }).pipe(
        Effect.provide(Provider.layerConfig("MODEL")),
        withEnv({ MODEL: "openrouter:some/model", OPENROUTER_API_KEY: "or-key", OPENROUTER_BASE_URL: s.url })
      )
      assert.strictEqual(s.headers[0]!.authorization, "Bearer or-key")
    }))
})
