import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import { ModelError } from "../src/AgentError.js"
import * as Printer from "../src/Printer.js"
import * as Retry from "../src/Retry.js"
import * as Runnable from "../src/Runnable.js"
import * as Workflow from "../src/Workflow.js"

// -----------------------------------------------------------------------------
// Fixtures
// -----------------------------------------------------------------------------

const GetWeather = Tool.make("get_weather", {
  description: "The weather in a city",
  parameters: { city: Schema.String },
  success: Schema.Struct({ city: Schema.String, celsius: Schema.Number })
})

const Tools = Toolkit.make(GetWeather)

const ToolsLive = Tools.toLayer({
  get_weather: ({ city }) => Effect.as(Effect.sleep("200 millis"), { city, celsius: 21 })
})

const weatherAgent = Agent.make({ name: "Weather", toolkit: Tools, retry: Retry.none })

const usage = { inputTokens: 10, outputTokens: 2 }

interface Written {
  readonly at: number
  readonly text: string
}

/** Captures what is printed, with the virtual time of each write. */
const capture = Effect.map(Ref.make<ReadonlyArray<Written>>([]), (ref) => ({
  write: (text: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => Ref.update(ref, (all) => [...all, { at, text }])),
  writes: Ref.get(ref),
  text: Effect.map(Ref.get(ref), (all) => all.map((written) => written.text).join(""))
}))

/** Runs a print under the test clock, moving time on until it is done; returns the printed text. */
const printed = <A, E>(print: (write: (text: string) => Effect.Effect<void>) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const out = yield* capture
    const fiber = yield* Effect.fork(Effect.exit(print(out.write)))
    yield* TestClock.adjust("1 minute")
    const exit = yield* Fiber.join(fiber)
    return { exit, text: yield* out.text, writes: yield* out.writes }
  })

const withModel = (script: ReadonlyArray<TestModel.Reply>) =>
  Effect.provide(Layer.merge(TestModel.layer(script), ToolsLive))

const both = [false, true] as const

// Styled output, as the tests expect it.
const sgr = (codes: string, text: string) => `\x1b[${codes}m${text}\x1b[0m`
const gutter = (color: number) => `${sgr(`2;${color}`, "│")} `
const header = (color: number, title: string) => `${gutter(color)}${sgr(`1;${color}`, title)}\n`
const GREEN = 32

// -----------------------------------------------------------------------------
// Plain text
// -----------------------------------------------------------------------------

describe("Printer, plain text", () => {
  for (const stream of both) {
    it.effect(`prints the message, the response and the timing (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const agent = Agent.make({ name: "Joker" })
        const { exit, text } = yield* printed((write) =>
          Agent.printResponse(agent, "Tell me a joke.", { stream, color: false, write }).pipe(
            withModel([
              TestModel.text("Why did the fiber yield?\nTo let the others run.", { delay: "1500 millis", usage })
            ])
          )
        )
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(
          text,
          [
            "Message:",
            "Tell me a joke.",
            "",
            "Response:",
            "Why did the fiber yield?",
            "To let the others run.",
            "",
            "Done in 1.5s · 12 tokens",
            "",
            ""
          ].join("\n")
        )
      }))

    it.effect(`prints tool calls, a failed one with what the model was told (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const { exit, text } = yield* printed((write) =>
          Agent.printResponse(weatherAgent, "What is the weather in Paris?", { stream, color: false, write }).pipe(
            withModel([
              TestModel.toolCall("get_weather", { town: "Paris" }, { delay: "1 second", usage }),
              TestModel.toolCall("get_weather", { city: "Paris" }, { delay: "500 millis", usage }),
              TestModel.text("It is sunny in Paris.", { delay: "300 millis", usage })
            ])
          )
        )
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(
          text,
          [
            "Message:",
            "What is the weather in Paris?",
            "",
            "Tool calls:",
            "✗ get_weather({\"town\":\"Paris\"}) failed: invalid arguments (0ms)",
            "    Invalid arguments for tool \"get_weather\":",
            "    { readonly city: string }",
            "    └─ [\"city\"]",
            "       └─ is missing",
            "    Call the tool again with arguments that match its parameters.",
            "✓ get_weather({\"city\":\"Paris\"}) → {\"city\":\"Paris\",\"celsius\":21} (200ms)",
            "",
            "Response:",
            "It is sunny in Paris.",
            "",
            "Done in 2.0s · 36 tokens",
            "",
            ""
          ].join("\n")
        )
      }))

    it.effect(`places tool calls made after some text inside the response (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const { text } = yield* printed((write) =>
          Agent.printResponse(weatherAgent, "Weather in Paris?", { stream, color: false, write }).pipe(
            withModel([
              TestModel.toolCalls([{ name: "get_weather", params: { city: "Paris" } }], {
                text: "Let me check.",
                usage
              }),
              TestModel.text("Sunny, 21°C.", { usage })
            ])
          )
        )
        assert.strictEqual(
          text,
          [
            "Message:",
            "Weather in Paris?",
            "",
            "Response:",
            "Let me check.",
            "",
            "✓ get_weather({\"city\":\"Paris\"}) → {\"city\":\"Paris\",\"celsius\":21} (200ms)",
            "",
            "Sunny, 21°C.",
            "",
            "Done in 200ms · 24 tokens",
            "",
            ""
          ].join("\n")
        )
      }))

    it.effect(`hides tool calls with showToolCalls: false (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const { text } = yield* printed((write) =>
          Agent.printResponse(weatherAgent, "Weather in Paris?", {
            stream,
            color: false,
            showToolCalls: false,
            write
          }).pipe(
            withModel([
              TestModel.toolCalls([{ name: "get_weather", params: { city: "Paris" } }], {
                text: "Let me check.",
                usage
              }),
              TestModel.text("Sunny.", { usage })
            ])
          )
        )
        assert.strictEqual(
          text,
          [
            "Message:",
            "Weather in Paris?",
            "",
            "Response:",
            "Let me check.",
            "",
            "Sunny.",
            "",
            "Done in 200ms · 24 tokens",
            "",
            ""
          ].join("\n")
        )
      }))

    it.effect(`prints an Error section and still fails with the typed error (stream: ${stream})`, () =>
      Effect.gen(function*() {
        const agent = Agent.make({ name: "Joker", retry: Retry.none })
        const { exit, text } = yield* printed((write) =>
          Agent.printResponse(agent, "Tell me a joke.", { stream, color: false, write }).pipe(
            withModel([TestModel.httpError(500, { body: "upstream down", delay: "1500 millis" })])
          )
        )
        const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        assert.isTrue(Option.isSome(error) && error.value instanceof ModelError && error.value.reason === "ServerError")
        assert.strictEqual(
          text,
          [
            "Message:",
            "Tell me a joke.",
            "",
            "Error:",
            "ModelError: TestModel: HTTP 500: upstream down",
            "",
            "Failed after 1.5s",
            "",
            ""
          ].join("\n")
        )
      }))
  }

  it.effect("a streamed run that fails after some text keeps the text and adds the error", () =>
    Effect.gen(function*() {
      // The default policy retries a 503, but not once text was streamed.
      const agent = Agent.make({ name: "Joker" })
      const { exit, text } = yield* printed((write) =>
        Agent.printResponse(agent, "Tell me a joke.", { stream: true, color: false, write }).pipe(
          withModel([TestModel.httpError(503, { afterText: "Why did the", delay: "1 second" })])
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(
        text,
        [
          "Message:",
          "Tell me a joke.",
          "",
          "Response:",
          "Why did the",
          "",
          "Error:",
          "ModelError: TestModel: HTTP 503",
          "",
          "Failed after 1.0s",
          "",
          ""
        ].join("\n")
      )
    }))

  it.effect("prints structured output as JSON", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        name: "Critic",
        output: Schema.Struct({ title: Schema.String, score: Schema.Number })
      })
      const { exit, text } = yield* printed((write) =>
        Agent.printResponse(agent, "Rate Dune.", { color: false, write }).pipe(
          withModel([TestModel.text("{\"title\":\"Dune\",\"score\":9}", { delay: "1 second", usage })])
        )
      )
      assert.deepStrictEqual(Exit.map(exit, (output) => output.content), Exit.succeed({ title: "Dune", score: 9 }))
      assert.strictEqual(
        text,
        [
          "Message:",
          "Rate Dune.",
          "",
          "Response:",
          "{",
          "  \"title\": \"Dune\",",
          "  \"score\": 9",
          "}",
          "",
          "Done in 1.0s · 12 tokens",
          "",
          ""
        ].join("\n")
      )
    }))

  it.effect("shows the last user message when the input is a conversation", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Joker" })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, [
          { role: "user", content: "Tell me a joke." },
          { role: "assistant", content: "Why did the fiber yield?" },
          { role: "user", content: [{ type: "text", text: "Why?" }] }
        ], { color: false, write }).pipe(withModel([TestModel.text("To let the others run.", { usage })]))
      )
      assert.isTrue(text.startsWith("Message:\nWhy?\n\nResponse:\nTo let the others run.\n"))
    }))

  it.effect("prints an interrupted run's elapsed time", () =>
    Effect.gen(function*() {
      const out = yield* capture
      const agent = Agent.make({ name: "Joker" })
      const fiber = yield* Effect.fork(
        Agent.printResponse(agent, "Tell me a joke.", { stream: true, color: false, write: out.write }).pipe(
          withModel([TestModel.text("Never told.", { delay: "1 minute" })])
        )
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.interrupt(fiber)
      assert.strictEqual(yield* out.text, "Message:\nTell me a joke.\n\nInterrupted after 2.0s\n\n")
    }))
})

// -----------------------------------------------------------------------------
// Streaming
// -----------------------------------------------------------------------------

describe("Printer, streaming", () => {
  it.effect("writes the text as it arrives, in order, before the run completes", () =>
    Effect.gen(function*() {
      const out = yield* capture
      const agent = Agent.make({ name: "Typist" })
      const script = [
        TestModel.text("The quick brown fox jumps over the lazy dog.", {
          chunks: 4,
          chunkDelay: "100 millis",
          usage
        })
      ]
      const fiber = yield* Effect.fork(
        Agent.printResponse(agent, "Type.", { stream: true, color: false, write: out.write }).pipe(
          withModel(script)
        )
      )
      yield* TestClock.adjust("150 millis")
      const early = yield* out.text
      assert.isTrue(early.includes("The quick brown fox"))
      assert.isFalse(early.includes("dog"))
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))

      yield* TestClock.adjust("1 second")
      const output = yield* Fiber.join(fiber)
      // The chunks are "The quick b", "rown fox ju", "mps over th", "e lazy dog.", one every 100ms;
      // a word is printed once the space after it has arrived, the last one when the call ends.
      assert.deepStrictEqual(yield* out.writes, [
        { at: 0, text: "Message:\nType.\n\n" },
        { at: 0, text: "Response:\nThe quick" },
        { at: 100, text: " brown fox" },
        { at: 200, text: " jumps over" },
        { at: 300, text: " the lazy" },
        { at: 300, text: " dog." },
        { at: 300, text: "\n\nDone in 300ms · 12 tokens\n\n" }
      ])
      assert.strictEqual(output.content, "The quick brown fox jumps over the lazy dog.")

      // The same run printed when it is done reads the same, but for the time streaming took.
      const done = yield* printed((write) =>
        Agent.printResponse(agent, "Type.", { color: false, write }).pipe(withModel(script))
      )
      assert.strictEqual(done.text, (yield* out.text).replace("300ms", "0ms"))
    }))

  it.effect("Printer.printStream prints any run's event stream", () =>
    Effect.gen(function*() {
      const input = "Weather in Paris?"
      const { exit, text } = yield* printed((write) =>
        Printer.printStream(Agent.stream(weatherAgent, input), input, { color: false, write }).pipe(
          withModel([
            TestModel.toolCall("get_weather", { city: "Paris" }, { usage }),
            TestModel.text("Sunny.", { chunks: 3, chunkDelay: "10 millis", usage })
          ])
        )
      )
      assert.deepStrictEqual(Exit.map(exit, (output) => output.content), Exit.succeed("Sunny."))
      assert.strictEqual(
        text,
        [
          "Message:",
          "Weather in Paris?",
          "",
          "Tool calls:",
          "✓ get_weather({\"city\":\"Paris\"}) → {\"city\":\"Paris\",\"celsius\":21} (200ms)",
          "",
          "Response:",
          "Sunny.",
          "",
          // The tool's 200ms and two 10ms pauses between the pieces of the answer.
          "Done in 220ms · 24 tokens",
          "",
          ""
        ].join("\n")
      )
    }))

  it.effect("prints a scheduled retry as it happens", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        name: "Joker",
        retry: Retry.exponential({ base: "1 second", times: 2, jitter: false })
      })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Tell me a joke.", { stream: true, color: false, write }).pipe(
          withModel([TestModel.httpError(429), TestModel.text("Ha.", { usage })])
        )
      )
      assert.strictEqual(
        text,
        [
          "Message:",
          "Tell me a joke.",
          "",
          "↻ retry 1 in 1.0s: TestModel: HTTP 429",
          "",
          "Response:",
          "Ha.",
          "",
          "Done in 1.0s · 12 tokens",
          "",
          ""
        ].join("\n")
      )
    }))

  it.effect("prints the switch to a fallback model", () =>
    Effect.gen(function*() {
      const agent = Agent.make({
        name: "Joker",
        model: TestModel.layer([TestModel.httpError(503)]),
        fallback: [TestModel.layer([TestModel.text("Ha.", { usage })])],
        retry: Retry.none
      })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Tell me a joke.", { stream: true, color: false, write })
      )
      assert.strictEqual(
        text,
        [
          "Message:",
          "Tell me a joke.",
          "",
          "↪ fallback model 1 after: TestModel: HTTP 503",
          "",
          "Response:",
          "Ha.",
          "",
          "Done in 0ms · 12 tokens",
          "",
          ""
        ].join("\n")
      )
    }))

  it.effect("does not announce a retry for an error that is not retried", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Joker" })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Tell me a joke.", { stream: true, color: false, write }).pipe(
          withModel([TestModel.httpError(401)])
        )
      )
      assert.strictEqual(
        text,
        "Message:\nTell me a joke.\n\nError:\nModelError: TestModel: HTTP 401\n\nFailed after 0ms\n\n"
      )
    }))
})

// -----------------------------------------------------------------------------
// On a terminal
// -----------------------------------------------------------------------------

const markdown = "# Weather\n\nIt is **sunny** and `21°C` today.\n- light *jacket*\n- no umbrella\n"

const response = (lines: ReadonlyArray<string>) =>
  header(GREEN, "Response") + lines.map((line) => (line === "" ? sgr(`2;${GREEN}`, "│") : gutter(GREEN) + line))
    .join("\n") + "\n"

describe("Printer, on a terminal", () => {
  it.effect("renders markdown: headings, bold, inline code, bullet lists", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Weather", markdown: true })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Weather?", { color: true, width: 80, write }).pipe(
          withModel([TestModel.text(markdown, { usage })])
        )
      )
      assert.strictEqual(
        text,
        header(36, "Message") + gutter(36) + "Weather?\n\n" +
          response([
            `${sgr("1;4", "Weather")}`,
            "",
            `It is ${sgr("1", "sunny")} and ${sgr("36", "21°C")} today.`,
            `${sgr("2", "•")} light ${sgr("3", "jacket")}`,
            `${sgr("2", "•")} no umbrella`
          ]) + `\n  ${sgr("2", "Done in 0ms · 12 tokens")}\n\n`
      )
    }))

  it.effect("renders markdown split across stream chunks mid-line as it renders the whole text", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Weather", markdown: true })
      const chunks = ["# Wea", "ther\n\nIt is **su", "nny** and `21", "°C` to", "day.\n- li", "ght *jack", "et*\n- no umbrella\n"]
      assert.strictEqual(chunks.join(""), markdown)
      const whole = yield* printed((write) =>
        Agent.printResponse(agent, "Weather?", { color: true, width: 80, write }).pipe(
          withModel([TestModel.text(markdown, { usage })])
        )
      )
      const streamed = yield* printed((write) =>
        Agent.printResponse(agent, "Weather?", { stream: true, color: true, width: 80, write }).pipe(
          withModel([TestModel.text(markdown, { chunks, usage })])
        )
      )
      assert.strictEqual(streamed.text, whole.text)
      assert.isAbove(streamed.writes.length, chunks.length)
    }))

  it.effect.skipIf(process.stdout.isTTY === true)("prints plain text by default when stdout is not a terminal", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Weather", markdown: true })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Weather?", { write }).pipe(withModel([TestModel.text("**Sunny.**", { usage })]))
      )
      assert.strictEqual(text, "Message:\nWeather?\n\nResponse:\n**Sunny.**\n\nDone in 0ms · 12 tokens\n\n")
    }))

  it.effect("leaves markdown alone in plain text", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Weather", markdown: true })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Weather?", { color: false, write }).pipe(
          withModel([TestModel.text(markdown, { usage })])
        )
      )
      assert.isTrue(text.includes(`Response:\n${markdown}\nDone in`))
    }))

  it.effect("wraps long lines at word boundaries under the gutter", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Talker" })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Talk.", { stream: true, color: true, width: 32, write }).pipe(
          withModel([
            TestModel.text("The quick brown fox jumps over the lazy dog, then sleeps.", { chunks: 7, usage })
          ])
        )
      )
      assert.isTrue(text.includes(response([
        "The quick brown fox jumps over",
        "the lazy dog, then sleeps."
      ])))
    }))

  it.effect("styles tool calls and errors", () =>
    Effect.gen(function*() {
      const { exit, text } = yield* printed((write) =>
        Agent.printResponse(weatherAgent, "Weather in Paris?", { stream: true, color: true, width: 100, write }).pipe(
          withModel([
            TestModel.toolCall("get_weather", { city: "Paris" }, { usage }),
            TestModel.httpError(401)
          ])
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(
        text,
        header(36, "Message") + gutter(36) + "Weather in Paris?\n\n" +
          header(33, "Tool calls") + gutter(33) +
          `${sgr("32", "✓")} ${sgr("1", "get_weather")}${sgr("2", "({\"city\":\"Paris\"})")} ${sgr("2", "→")} ` +
          `{"city":"Paris","celsius":21} ${sgr("2", "(200ms)")}\n\n` +
          header(31, "Error") + gutter(31) + "ModelError: TestModel: HTTP 401\n\n" +
          `  ${sgr("2", "Failed after 200ms")}\n\n`
      )
    }))

  it.effect("marks each ended step of a workflow with ▸, its name and its time", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make({
        name: "Tea",
        input: Schema.String,
        steps: Workflow.sequence(
          Workflow.step("draft", (topic: string) => Effect.as(Effect.sleep("200 millis"), `about ${topic}`)),
          Workflow.step("polish", (text: string) => Effect.succeed(`${text}.`))
        )
      })
      const plain = yield* printed((write) => Runnable.printResponse(workflow, "tea", { stream: true, color: false, write }))
      assert.strictEqual(
        plain.text,
        "Message:\ntea\n\nTool calls:\n▸ draft (200ms)\n▸ polish (0ms)\n\nResponse:\nabout tea.\n\nDone in 200ms\n\n"
      )
      const styled = yield* printed((write) =>
        Runnable.printResponse(workflow, "tea", { stream: true, color: true, width: 80, write })
      )
      assert.strictEqual(
        styled.text,
        header(36, "Message") + gutter(36) + "tea\n\n" +
          header(33, "Tool calls") +
          `${gutter(33)}${sgr("2", "▸ draft")} ${sgr("2", "(200ms)")}\n` +
          `${gutter(33)}${sgr("2", "▸ polish")} ${sgr("2", "(0ms)")}\n\n` +
          response(["about tea."]) + `\n  ${sgr("2", "Done in 200ms")}\n\n`
      )
    }))

  // The first and last code point of each range of wide characters (East Asian wide, emoji), and
  // the one narrow character inside a range (U+303F, the half-fill space).
  const wide = [
    [0x1100, 0x115f], // Hangul Jamo (leading consonants)
    [0x2e80, 0xa4cf], // CJK radicals to Yi
    [0xac00, 0xd7a3], // Hangul syllables
    [0xf900, 0xfaff], // CJK compatibility ideographs
    [0xfe30, 0xfe4f], // CJK compatibility forms
    [0xff00, 0xff60], // fullwidth forms
    [0xffe0, 0xffe6], // fullwidth signs
    [0x1f300, 0x1f64f], // pictographs and emoticons
    [0x1f900, 0x1f9ff], // supplemental pictographs
    [0x20000, 0x3fffd] // CJK ideographs, planes 2 and 3
  ] as const

  it.effect("wraps wide characters at two columns each, in every range of the width table", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Wide" })
      // At width 20 a line holds 18 columns: 18 narrow characters, or 9 wide ones.
      const lines = (char: string) =>
        Effect.map(
          printed((write) =>
            Agent.printResponse(agent, "Wide?", { color: true, width: 20, write }).pipe(
              withModel([TestModel.text(char.repeat(18), { usage })])
            )
          ),
          ({ text }) => text.slice(text.indexOf(header(GREEN, "Response")), text.indexOf("\n\n  "))
        )
      for (const code of [...wide.flat(), 0x303f]) {
        const char = String.fromCodePoint(code)
        const expected = code === 0x303f ? [char.repeat(18)] : [char.repeat(9), char.repeat(9)]
        assert.strictEqual(yield* lines(char), response(expected).slice(0, -1), `U+${code.toString(16).toUpperCase()}`)
      }
    }))

  it.effect("wraps Hangul and CJK text at word boundaries by its columns", () =>
    Effect.gen(function*() {
      const agent = Agent.make({ name: "Wide" })
      const { text } = yield* printed((write) =>
        Agent.printResponse(agent, "Wide?", { color: true, width: 20, write }).pipe(
          withModel([TestModel.text("한국어 문장은 두 칸씩 漢字も 同じ", { usage })])
        )
      )
      // 한국어 문장은 is 13 columns; 두 would make 16, 칸씩 19 (over 18).
      assert.isTrue(text.includes(response(["한국어 문장은 두", "칸씩 漢字も 同じ"])), text)
    }))
})
