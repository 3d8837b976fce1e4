/**
 * `npm run simulator`: the local LLM simulator on `SIMULATOR_HOST:SIMULATOR_PORT` (default
 * 127.0.0.1:4010) until interrupted. It speaks OpenAI Responses, OpenAI Chat Completions and
 * Anthropic Messages; it is a simulator, not a model.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Simulator from "./Simulator.js"

const banner = (simulator: Simulator.Service) => `effect-agents LLM simulator on ${simulator.url}

This is a simulator, not a model: replies are generated locally and deterministically (it calls a
tool when your message names it, answers from tool results, and otherwise says it is a simulator).

  OpenAI Responses         POST ${simulator.openAiUrl}/responses
  OpenAI Chat Completions  POST ${simulator.openAiUrl}/chat/completions
  Anthropic Messages       POST ${simulator.anthropicUrl}/v1/messages

Point a client at it (any API key is accepted):
  EFFECT_AGENTS_MODEL=openai:gpt-4o-mini OPENAI_BASE_URL=${simulator.openAiUrl} OPENAI_API_KEY=simulator
  EFFECT_AGENTS_MODEL=anthropic:claude-sonnet-4-5 ANTHROPIC_BASE_URL=${simulator.anthropicUrl} ANTHROPIC_API_KEY=simulator
  EFFECT_AGENTS_MODEL=openai-compatible:simulator OPENAI_COMPATIBLE_BASE_URL=${simulator.openAiUrl}

  curl -s ${simulator.openAiUrl}/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"simulator","messages":[{"role":"user","content":"Hello"}],"stream":true}'

Faults per request, by header:
  x-simulator-fault: 503 | rate-limit; retry-after-ms=1500 | overloaded | server-error | unauthorized
                     | context-too-long | reset; after=3 | stall; after=3 | truncate; after=3
                     | malformed-json | malformed-sse | stream-error; kind=overloaded | invalid-tool-arguments
  x-simulator-delay: <ms before the first byte>    x-simulator-chunk-delay: <ms between chunks>

Ctrl-C stops it.`

const main = Effect.gen(function*() {
  const simulator = yield* Simulator.Simulator
  yield* Console.log(banner(simulator))
  return yield* Effect.never
}).pipe(
  Effect.provide(Simulator.layerConfig()),
  Effect.tapError((error) =>
    Console.error(
      error._tag === "SimulatorError" ? error.message : `Invalid simulator configuration: ${String(error)}`
    )
  )
)

// Failures are reported above in one line; the exit code is still 1.
NodeRuntime.runMain(main, { disableErrorReporting: true })
