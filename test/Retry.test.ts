import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Anthropic from "../layers/Anthropic.js"
import * as OpenAi from "../layers/OpenAi.js"
import * as Simulator from "../layers/Simulator.js"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { AgentError } from "../src/AgentError.js"
import * as Retry from "../src/Retry.js"
import type * as RunEvent from "../src/RunEvent.js"

const backoff = Retry.exponential({ base: "1 second", times: 3, jitter: false })

/**
 * Starts a run of an agent with `policy` and keeps its events: `delays` are its Retrying events'
 * delays in milliseconds, `content` its answer once it completed, and `failure` the error it ended
 * with (a run still waiting fails the test at once rather than hang it on the test clock).
 */
const start = (policy: Retry.Policy) =>
  Effect.gen(function*() {
    const seen: Array<RunEvent.RunEvent> = []
    const fiber = yield* Agent.stream(Agent.make({ retry: policy }), "hi").pipe(
      Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
      Effect.fork
    )
    return {
      delays: () => seen.flatMap((event) => (event._tag === "Retrying" ? [Duration.toMillis(event.delay)] : [])),
      content: () => {
        const last = seen[seen.length - 1]
        return last?._tag === "RunCompleted" ? last.output.content : undefined
      },
      failure: Effect.suspend(() => {
        const exit = fiber.unsafePoll()
        return exit === null
          ? Effect.dieMessage("the run is still waiting")
          : Exit.isSuccess(exit)
          ? Effect.dieMessage("the run succeeded")
          : Effect.flip(exit)
      })
    }
  })

const modelError = (error: AgentError) => {
  if (error._tag !== "ModelError") return assert.fail(`expected a ModelError, got ${error._tag}`)
  return error
}

const rateLimited = (retryAfter: Duration.DurationInput) => TestModel.httpError(429, { retryAfter })

const insufficientQuota = JSON.stringify({
  error: {
    message: "You exceeded your current quota, please check your plan and billing details.",
    type: "insufficient_quota",
    param: null,
    code: "insufficient_quota"
  }
})

describe("Retry-After cap", () => {
  it.effect("fails at once, with the server's delay, when Retry-After is longer than the default 60 seconds", () =>
    Effect.gen(function*() {
      const run = yield* start(backoff)
      // No time passes: the run does not sleep the hour.
      yield* TestClock.adjust("1 millis")
      const error = modelError(yield* run.failure)
      assert.strictEqual(error.reason, "RateLimited")
      assert.deepStrictEqual(error.retryAfter, Duration.hours(1))
      assert.deepStrictEqual(run.delays(), [])
      assert.strictEqual((yield* TestModel.requests).length, 1)
    }).pipe(Effect.provide(TestModel.layer([rateLimited("1 hour"), TestModel.text("too late")]))))

  it.effect("waits a Retry-After of exactly the cap", () =>
    Effect.gen(function*() {
      const run = yield* start(backoff)
      yield* TestClock.adjust("59999 millis")
      assert.strictEqual((yield* TestModel.requests).length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* TestModel.requests).length, 2)
      assert.deepStrictEqual(run.delays(), [60_000])
      assert.strictEqual(run.content(), "ok")
    }).pipe(Effect.provide(TestModel.layer([rateLimited("60 seconds"), TestModel.text("ok")]))))

  it.effect("is the policy's maxRetryAfter when it has one, longer or shorter", () =>
    Effect.gen(function*() {
      const patient = yield* start(Retry.exponential({ base: "1 second", times: 3, jitter: false, maxRetryAfter: "10 minutes" }))
      yield* TestClock.adjust("5 minutes")
      // 5 minutes waited, then an hour asked for: past the policy's own cap.
      assert.deepStrictEqual(patient.delays(), [300_000])
      assert.deepStrictEqual(modelError(yield* patient.failure).retryAfter, Duration.hours(1))
      assert.strictEqual((yield* TestModel.requests).length, 2)
    }).pipe(Effect.provide(TestModel.layer([rateLimited("5 minutes"), rateLimited("1 hour"), TestModel.text("x")]))))

  it.effect("a shorter maxRetryAfter fails a Retry-After the default would wait", () =>
    Effect.gen(function*() {
      const hasty = yield* start(Retry.exponential({ base: "1 second", times: 3, jitter: false, maxRetryAfter: "10 seconds" }))
      yield* TestClock.adjust("10 seconds")
      // 10 seconds waited, then 11 asked for.
      assert.deepStrictEqual(hasty.delays(), [10_000])
      assert.deepStrictEqual(modelError(yield* hasty.failure).retryAfter, Duration.seconds(11))
    }).pipe(Effect.provide(TestModel.layer([rateLimited("10 seconds"), rateLimited("11 seconds"), TestModel.text("x")]))))

  it.effect("applies the default cap to a Schedule of the user's own", () =>
    Effect.gen(function*() {
      const run = yield* start(Schedule.recurs(3))
      yield* TestClock.adjust("30 seconds")
      assert.deepStrictEqual(run.delays(), [30_000])
      assert.deepStrictEqual(modelError(yield* run.failure).retryAfter, Duration.minutes(2))
      assert.strictEqual((yield* TestModel.requests).length, 2)
    }).pipe(Effect.provide(TestModel.layer([rateLimited("30 seconds"), rateLimited("2 minutes"), TestModel.text("x")]))))

  it.effect("Retry.maxRetryAfter sets the cap of any Schedule", () =>
    Effect.gen(function*() {
      const run = yield* start(Schedule.recurs(3).pipe(Retry.maxRetryAfter("2 hours")))
      yield* TestClock.adjust("1 hour")
      assert.deepStrictEqual(run.delays(), [3_600_000])
      assert.strictEqual(run.content(), "worth the wait")
    }).pipe(Effect.provide(TestModel.layer([rateLimited("1 hour"), TestModel.text("worth the wait")]))))

  it.effect("does not stop a policy that waits longer than the Retry-After anyway", () =>
    Effect.gen(function*() {
      const run = yield* start(Schedule.intersect(Schedule.spaced("2 minutes"), Schedule.recurs(1)))
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(run.delays(), [120_000])
      assert.strictEqual(run.content(), "ok")
    }).pipe(Effect.provide(TestModel.layer([rateLimited("90 seconds"), TestModel.text("ok")]))))

  it.effect("hands the call to the fallback model at once", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        model: Layer.fresh(TestModel.layer([rateLimited("1 hour")], { model: "primary" })),
        fallback: [Layer.fresh(TestModel.layer([TestModel.text("from the backup", { model: "backup" })]))],
        retry: backoff
      })
      const fiber = yield* Effect.fork(Agent.run(agent, "hi"))
      yield* TestClock.adjust("1 millis")
      const exit = fiber.unsafePoll()
      if (exit === null) return assert.fail("the run is still waiting")
      const output = yield* exit
      assert.deepStrictEqual([output.content, output.model, output.metrics.retries], ["from the backup", "backup", 0])
    }))
})

describe("x-should-retry", () => {
  it.effect("false: a retryable status is not retried", () =>
    Effect.gen(function*() {
      const run = yield* start(backoff)
      yield* TestClock.adjust("1 millis")
      const error = modelError(yield* run.failure)
      assert.deepStrictEqual([error.reason, error.retryable], ["Overloaded", false])
      assert.strictEqual((yield* TestModel.requests).length, 1)
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.httpError(503, { headers: { "x-should-retry": "false" } }),
      TestModel.text("x")
    ]))))

  it.effect("true: a status that is not retryable is retried with the policy's delay", () =>
    Effect.gen(function*() {
      const run = yield* start(backoff)
      yield* TestClock.adjust("999 millis")
      assert.strictEqual((yield* TestModel.requests).length, 1)
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(run.delays(), [1000])
      assert.strictEqual(run.content(), "ok")
    }).pipe(Effect.provide(TestModel.layer([
      TestModel.httpError(409, { headers: { "X-Should-Retry": "true" } }),
      TestModel.text("ok")
    ]))))
})

describe("an exhausted quota", () => {
  it.effect("is never retried by the default policy", () =>
    Effect.gen(function*() {
      const run = yield* start(Retry.transient)
      yield* TestClock.adjust("1 millis")
      const error = modelError(yield* run.failure)
      assert.deepStrictEqual([error.reason, error.retryable, error.status], ["QuotaExceeded", false, 429])
      assert.include(error.message, "check its plan and billing")
      assert.deepStrictEqual(run.delays(), [])
      assert.strictEqual((yield* TestModel.requests).length, 1)
    }).pipe(Effect.provide(TestModel.layer([TestModel.httpError(429, { body: insufficientQuota }), TestModel.text("x")]))))
})

describe("over HTTP, against the simulator", () => {
  const fast = Retry.exponential({ base: "10 millis", times: 2, jitter: false })

  /** Runs an agent once against a simulator with `script`, and returns its failure and the requests made. */
  const failOver = (
    provider: "openai" | "anthropic",
    script: Simulator.Script,
    policy: Retry.Policy = fast
  ) =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script })
      const model = provider === "openai"
        ? OpenAi.layer({ model: "gpt-4o-mini", apiKey: Redacted.make("test"), baseUrl: simulator.openAiUrl })
        : Anthropic.layer({ model: "claude-sonnet-4-5", apiKey: Redacted.make("test"), baseUrl: simulator.anthropicUrl })
      // A run that slept a long Retry-After would hold the test: it fails after 5 seconds instead.
      const error = yield* Agent.run(Agent.make({ model, retry: policy }), "hi").pipe(
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the run is still waiting" }),
        Effect.andThen(Effect.fail("the run succeeded")),
        Effect.flip
      )
      if (typeof error === "string") return assert.fail(error)
      return { error: modelError(error), requests: (yield* simulator.requests).length }
    })

  it.scopedLive("a Retry-After past the cap fails at once, with the server's delay", () =>
    Effect.gen(function*() {
      const { error, requests } = yield* failOver("openai", [Simulator.rateLimited({ retryAfter: "1 hour" }), Simulator.respond()])
      assert.deepStrictEqual([error.reason, error.retryAfter, requests], ["RateLimited", Duration.hours(1), 1])
    }))

  it.scopedLive("x-should-retry: false is obeyed", () =>
    Effect.gen(function*() {
      const { error, requests } = yield* failOver("anthropic", [
        Simulator.serverError(500, { headers: { "x-should-retry": "false" } }),
        Simulator.respond()
      ])
      assert.deepStrictEqual([error.reason, error.retryable, requests], ["ServerError", false, 1])
    }))

  it.scopedLive("OpenAI's insufficient_quota and Anthropic's credit balance are not retried", () =>
    Effect.gen(function*() {
      const openAi = yield* failOver("openai", [Simulator.httpError(429, { body: insufficientQuota }), Simulator.respond()])
      assert.deepStrictEqual([openAi.error.reason, openAi.error.retryable, openAi.requests], ["QuotaExceeded", false, 1])
      const anthropic = yield* failOver("anthropic", [
        Simulator.badRequest({
          message:
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."
        }),
        Simulator.respond()
      ])
      assert.deepStrictEqual([anthropic.error.reason, anthropic.error.status, anthropic.requests], ["QuotaExceeded", 400, 1])
    }))
})
