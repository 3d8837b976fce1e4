import { assert, describe, it } from "@effect/vitest"
import * as Prompt from "@effect/ai/Prompt"
import * as Arbitrary from "effect/Arbitrary"
import * as Duration from "effect/Duration"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Run from "../src/Run.js"

// Whole numbers, so that sums are exact and the laws can be checked with equality.
const count = Schema.Int.pipe(Schema.between(0, 1_000_000))
const millis = Schema.DurationFromSelf.pipe(
  Schema.filter((d) => Duration.isFinite(d) && Number.isInteger(Duration.toMillis(d)) && Duration.toMillis(d) < 1e9)
)
const Metrics = Schema.Struct({
  inputTokens: count,
  outputTokens: count,
  totalTokens: count,
  reasoningTokens: Schema.optional(count),
  cachedInputTokens: Schema.optional(count),
  modelCalls: count,
  toolCalls: count,
  retries: count,
  timeToFirstToken: Schema.optional(millis),
  duration: millis
})
const metrics = Arbitrary.make(Metrics)

const plain = (m: Run.Metrics) =>
  JSON.stringify(Schema.encodeSync(Run.Metrics)(m), Object.keys(Schema.encodeSync(Run.Metrics)(m)).sort())

describe("Run.combineMetrics", () => {
  it("is a monoid with Run.emptyMetrics: associative, with an identity on both sides", () =>
    FastCheck.assert(
      FastCheck.property(metrics, metrics, metrics, (a, b, c) => {
        const left = Run.combineMetrics(Run.combineMetrics(a, b), c)
        const right = Run.combineMetrics(a, Run.combineMetrics(b, c))
        return plain(left) === plain(right) &&
          plain(Run.combineMetrics(Run.emptyMetrics, a)) === plain(a) &&
          plain(Run.combineMetrics(a, Run.emptyMetrics)) === plain(a)
      })
    ))

  it("sums the tallies and durations, and keeps the first time to a first token", () => {
    const a: Run.Metrics = {
      inputTokens: 10,
      outputTokens: 2,
      totalTokens: 12,
      reasoningTokens: 1,
      modelCalls: 1,
      toolCalls: 0,
      retries: 1,
      timeToFirstToken: Duration.millis(4),
      duration: Duration.millis(30)
    }
    const b: Run.Metrics = {
      inputTokens: 5,
      outputTokens: 5,
      totalTokens: 10,
      cachedInputTokens: 3,
      modelCalls: 2,
      toolCalls: 1,
      retries: 0,
      timeToFirstToken: Duration.millis(7),
      duration: Duration.millis(20)
    }
    assert.deepStrictEqual(Run.combineMetrics(a, b), {
      inputTokens: 15,
      outputTokens: 7,
      totalTokens: 22,
      reasoningTokens: 1,
      cachedInputTokens: 3,
      modelCalls: 3,
      toolCalls: 1,
      retries: 1,
      timeToFirstToken: Duration.millis(4),
      duration: Duration.millis(50)
    })
  })
})

describe("Run.textOf", () => {
  it("gives a message's text parts, leaving out tool calls and reasoning", () => {
    const [system, user, assistant] = Prompt.make([
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "Hi" }, { type: "text", text: "there" }] },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "thinking" },
          { type: "text", text: "Hello." },
          { type: "tool-call", id: "c1", name: "get_weather", params: {}, providerExecuted: false }
        ]
      }
    ]).content
    assert.deepStrictEqual([system, user, assistant].map((message) => Run.textOf(message!)), ["Be brief.", "Hi\nthere", "Hello."])
  })
})
