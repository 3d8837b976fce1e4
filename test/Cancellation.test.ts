/**
 * Interrupting a run at every phase of its model call, over real HTTP against the simulator, on
 * every wire protocol, for JSON and streamed (SSE) answers: the interruption returns at once, the
 * request is aborted (the simulator sees its client leave), finalizers run, and nothing is raised
 * outside Effect. The suite fails on any uncaught exception or unhandled rejection in the process.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Anthropic from "../layers/Anthropic.js"
import * as OpenAi from "../layers/OpenAi.js"
import * as OpenAiCompatible from "../layers/OpenAiCompatible.js"
import * as Simulator from "../layers/Simulator.js"
import * as Agent from "../src/Agent.js"
import type * as AgentError from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"

// -----------------------------------------------------------------------------
// Nothing may escape: every uncaught exception and unhandled rejection is a failure.
// -----------------------------------------------------------------------------

const escaped: Array<string> = []
const onUncaught = (error: unknown) => escaped.push(`uncaughtException: ${String(error)}`)
const onUnhandled = (reason: unknown) => escaped.push(`unhandledRejection: ${String(reason)}`)
beforeAll(() => {
  process.on("uncaughtException", onUncaught)
  process.on("unhandledRejection", onUnhandled)
})
afterEach(() => {
  const seen = escaped.splice(0)
  assert.deepStrictEqual(seen, [], "raised outside Effect")
})

// What each phase measured, printed at the end when asked for.
const measured: Array<{ readonly case: string; readonly interruptMs: number; readonly openAfter: number }> = []
afterAll(() => {
  process.off("uncaughtException", onUncaught)
  process.off("unhandledRejection", onUnhandled)
  if (process.env.EFFECT_AGENTS_PRINT_CANCELLATION === "1") console.table(measured)
})

// -----------------------------------------------------------------------------
// Setup
// -----------------------------------------------------------------------------

const providers: ReadonlyArray<{
  readonly name: string
  readonly layer: (simulator: Simulator.Service) => Layer.Layer<LanguageModel.LanguageModel>
}> = [
  {
    name: "OpenAI Responses",
    layer: (s) => OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("test"), baseUrl: s.openAiUrl })
  },
  {
    name: "Anthropic Messages",
    layer: (s) => Anthropic.layer({ model: "claude-sonnet-4-5", apiKey: Redacted.make("test"), baseUrl: s.anthropicUrl })
  },
  {
    name: "Chat Completions",
    layer: (s) => OpenAiCompatible.layer({ baseUrl: s.openAiUrl, model: "gpt-4o-mini", apiKey: Redacted.make("test") })
  }
]

const modes = ["JSON", "SSE"] as const
type Mode = typeof modes[number]

const Slow = Tool.make("slow", {
  description: "A tool that takes its time",
  parameters: { input: Schema.String },
  success: Schema.String
})
const Tools = Toolkit.make(Slow)

const agent = Agent.make({ retry: Retry.none, toolkit: Tools })
// Backs off for a minute after a failure: interrupted while it waits.
const patient = Agent.make({
  toolkit: Tools,
  retry: Retry.exponential({ base: "1 minute", times: 3, jitter: false })
})

/** A run as `mode` makes it: a whole JSON answer, or an SSE stream of events. */
const runIn = (mode: Mode, subject: typeof agent, input: string) =>
  mode === "JSON" ? Effect.asVoid(Agent.run(subject, input)) : Stream.runDrain(Agent.stream(subject, input))

const setup = (
  provider: typeof providers[number],
  script: Simulator.Script,
  tool: (input: string) => Effect.Effect<string> = () => Effect.succeed("done")
) =>
  Effect.gen(function*() {
    const simulator = yield* Simulator.make({ script })
    const model = yield* Layer.build(Layer.merge(provider.layer(simulator), Tools.toLayer({ slow: ({ input }) => tool(input) })))
    return { simulator, provide: Effect.provide(model) }
  })

/**
 * How long `Fiber.interrupt` took, and how many responses the simulator still had open 1 s after it
 * returned at most. (The latencies are measured by `npm run bench:cancel`; here they are bounds.)
 */
const interruptAndMeasure = (simulator: Simulator.Service, fibers: ReadonlyArray<Fiber.RuntimeFiber<unknown, unknown>>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* Fiber.interruptAll(fibers)
    const interruptMs = performance.now() - start
    const stats = yield* simulator.awaitStats((stats) => stats.activeResponses === 0).pipe(
      Effect.timeoutTo({ duration: "1 second", onSuccess: (stats) => stats, onTimeout: () => undefined }),
      Effect.flatMap((stats) => (stats === undefined ? simulator.stats : Effect.succeed(stats)))
    )
    return { interruptMs, openAfter: stats.activeResponses, clientAborts: stats.clientAborts }
  })

const settle = Effect.sleep("100 millis")

// -----------------------------------------------------------------------------
// One run, each phase
// -----------------------------------------------------------------------------

for (const provider of providers) {
  for (const mode of modes) {
    describe(`${provider.name}, ${mode}`, () => {
      const record = (phase: string, result: { readonly interruptMs: number; readonly openAfter: number }) =>
        measured.push({ case: `${provider.name} ${mode} ${phase}`, ...result })

      const phases: ReadonlyArray<readonly [string, Simulator.Reply, "request" | "response"]> = [
        // The request has reached the server; no status line yet (a model thinking before its first byte).
        ["waiting for the headers", Simulator.stall({ before: "headers" }), "request"],
        // The status line and headers arrived; not one byte of the body.
        ["after the headers, before the body", Simulator.stall({ before: "body" }), "response"],
        // Part of the body arrived (half a JSON answer, the first events of a stream), then nothing.
        ["mid-body", Simulator.stall({ after: 2, reply: Simulator.text("x".repeat(400), { chunks: 8 }) }), "response"]
      ]

      for (const [phase, reply, wait] of phases) {
        it.scopedLive(`interrupting a run ${phase} aborts its request at once`, () =>
          Effect.gen(function*() {
            const { provide, simulator } = yield* setup(provider, [reply])
            const fiber = yield* Effect.fork(runIn(mode, agent, "hi").pipe(provide))
            yield* simulator.awaitStats((stats) => stats.activeResponses === 1)
            if (wait === "response") yield* settle
            const result = yield* interruptAndMeasure(simulator, [fiber])
            record(phase, result)
            assert.isBelow(result.interruptMs, 1000)
            assert.strictEqual(result.openAfter, 0)
            assert.strictEqual(result.clientAborts, 1)
            assert.isTrue(Fiber.isRuntimeFiber(fiber) && (yield* Fiber.await(fiber))._tag === "Failure")
          }))
      }

      it.scopedLive("interrupting a run before its request is sent leaves nothing behind", () =>
        Effect.gen(function*() {
          const { provide, simulator } = yield* setup(provider, [Simulator.text("never")])
          const fiber = yield* Effect.fork(runIn(mode, agent, "hi").pipe(provide))
          const result = yield* interruptAndMeasure(simulator, [fiber])
          record("before connect", result)
          assert.isBelow(result.interruptMs, 1000)
          // The request may or may not have left: either way nothing is open and nothing escaped.
          assert.strictEqual(result.openAfter, 0)
        }))

      it.scopedLive("interrupting a run between retries stops its backoff", () =>
        Effect.gen(function*() {
          const { provide, simulator } = yield* setup(provider, [Simulator.serverError(500), Simulator.text("late")])
          const fiber = yield* Effect.fork(runIn(mode, patient, "hi").pipe(provide))
          yield* simulator.awaitStats((stats) => stats.requests === 1 && stats.activeResponses === 0)
          yield* settle
          const result = yield* interruptAndMeasure(simulator, [fiber])
          record("between retries", result)
          assert.isBelow(result.interruptMs, 1000)
          assert.strictEqual((yield* simulator.stats).requests, 1)
        }))

      it.scopedLive("interrupting a run during a tool call interrupts the tool and runs its finalizers", () =>
        Effect.gen(function*() {
          const started = yield* Deferred.make<void>()
          const finalized = yield* Deferred.make<void>()
          const { provide, simulator } = yield* setup(
            provider,
            [Simulator.toolCall("slow", { input: "x" }), Simulator.text("never")],
            () =>
              Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(
                Effect.onInterrupt(() => Deferred.succeed(finalized, undefined))
              )
          )
          const fiber = yield* Effect.fork(runIn(mode, agent, "hi").pipe(provide))
          yield* Deferred.await(started)
          const result = yield* interruptAndMeasure(simulator, [fiber])
          record("during a tool call", result)
          assert.isBelow(result.interruptMs, 1000)
          assert.isTrue(yield* Deferred.isDone(finalized))
          assert.strictEqual((yield* simulator.stats).requests, 1)
        }))
    })
  }
}

// -----------------------------------------------------------------------------
// A thousand runs in flight, each phase
// -----------------------------------------------------------------------------

const many = 1000

for (const provider of providers) {
  for (const mode of modes) {
    describe(`${provider.name}, ${mode}, ${many} runs in flight`, () => {
      const phases: ReadonlyArray<readonly [string, () => Simulator.Reply]> = [
        ["waiting for the headers", () => Simulator.stall({ before: "headers" })],
        ["after the headers, before the body", () => Simulator.stall({ before: "body" })],
        ["mid-body", () => Simulator.stall({ after: 2, reply: Simulator.text("x".repeat(400), { chunks: 8 }) })]
      ]
      for (const [phase, reply] of phases) {
        it.scopedLive(`interrupting them all ${phase} closes every connection within 1 s`, () =>
          Effect.gen(function*() {
            const { provide, simulator } = yield* setup(provider, reply)
            const fibers = yield* Effect.forEach(
              Array.from({ length: many }, (_, i) => i),
              (i) => Effect.fork(runIn(mode, agent, `run ${i}`).pipe(provide))
            )
            yield* simulator.awaitStats((stats) => stats.activeResponses === many)
            yield* settle
            const result = yield* interruptAndMeasure(simulator, fibers)
            measured.push({ case: `${provider.name} ${mode} ${phase} x${many}`, ...result })
            // A liveness bound on a shared machine, not a speed target: see `npm run bench:cancel`.
            assert.isBelow(result.interruptMs, 5000)
            assert.strictEqual(result.openAfter, 0)
            assert.strictEqual(result.clientAborts, many)
          }), { timeout: 60_000 })
      }
    })
  }
}

// -----------------------------------------------------------------------------
// Every call has a bounded wait
// -----------------------------------------------------------------------------

describe("a call's wait is bounded by the provider's timeouts", () => {
  /** The message of the run's `ModelError`, which must be a retryable timeout. */
  const failureMessage = <A, E extends { readonly _tag: string; readonly message: string }>(exit: Exit.Exit<A, E>) => {
    const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    assert.isTrue(Option.isSome(error) && error.value._tag === "ModelError", `expected a ModelError, got ${String(exit)}`)
    const modelError = Option.getOrThrow(error) as unknown as AgentError.ModelError
    assert.deepStrictEqual([modelError.reason, modelError.retryable], ["Timeout", true])
    return modelError.message
  }
  const chat = (simulator: Simulator.Service, timeouts: Pick<OpenAiCompatible.Options, "idleTimeout" | "requestTimeout">) =>
    OpenAiCompatible.layer({ baseUrl: simulator.openAiUrl, model: "m", apiKey: Redacted.make("test"), ...timeouts })

  it.scopedLive("a JSON answer whose headers never come fails after requestTimeout", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.stall({ before: "headers" })] })
      const exit = yield* Effect.exit(
        Agent.run(Agent.make({ retry: Retry.none }), "hi").pipe(Effect.provide(chat(simulator, { requestTimeout: "300 millis" })))
      )
      assert.match(failureMessage(exit), /within 300ms \(headers timeout\)/)
      yield* simulator.awaitStats((stats) => stats.activeResponses === 0)
    }))

  it.scopedLive("a JSON answer whose body stops half-way fails after idleTimeout", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.stall({ after: 1, reply: Simulator.text("x".repeat(200)) })] })
      const exit = yield* Effect.exit(
        Agent.run(Agent.make({ retry: Retry.none }), "hi").pipe(Effect.provide(chat(simulator, { idleTimeout: "300 millis" })))
      )
      assert.match(failureMessage(exit), /no data for 300ms \(idle timeout\)/)
      yield* simulator.awaitStats((stats) => stats.activeResponses === 0)
    }))

  it.scopedLive("a streamed answer whose headers never come fails after idleTimeout", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.stall({ before: "headers" })] })
      const exit = yield* Effect.exit(
        Stream.runDrain(Agent.stream(Agent.make({ retry: Retry.none }), "hi")).pipe(
          Effect.provide(chat(simulator, { idleTimeout: "300 millis" }))
        )
      )
      assert.match(failureMessage(exit), /within 300ms \(headers timeout\)/)
      yield* simulator.awaitStats((stats) => stats.activeResponses === 0)
    }))

  it.scopedLive("a streamed answer whose body never starts fails after idleTimeout", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.stall({ before: "body" })] })
      const exit = yield* Effect.exit(
        Stream.runDrain(Agent.stream(Agent.make({ retry: Retry.none }), "hi")).pipe(
          Effect.provide(chat(simulator, { idleTimeout: "300 millis" }))
        )
      )
      assert.match(failureMessage(exit), /no data for 300ms \(idle timeout\)/)
      yield* simulator.awaitStats((stats) => stats.activeResponses === 0)
    }))
})
