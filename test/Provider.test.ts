import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Provider from "../layers/Provider.js"
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
      assert.include(String(error), "EFFECT_AGENTS_MODEL")
      assert.include(String(error), "expected \"provider:model\"")
    }))

  for (const [model, variable] of [["openai:gpt-4o-mini", "OPENAI_API_KEY"], ["anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"], ["groq:llama-3.3-70b", "GROQ_API_KEY"], ["openai-compatible:m", "OPENAI_COMPATIBLE_BASE_URL"]] as const) {
    it.effect(`names the missing setting of ${model}`, () =>
      Effect.gen(function*() {
        const error = yield* Layer.build(Provider.layerConfig()).pipe(
          Effect.scoped,
          withEnv({ EFFECT_AGENTS_MODEL: model }),
          Effect.flip
        )
        assert.include(String(error), variable)
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
