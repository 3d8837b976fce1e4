import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as DiagnosticsChannel from "node:diagnostics_channel"
import { readdirSync } from "node:fs"
import { inspect } from "node:util"
import * as backgroundBatch from "../examples/background-batch.js"
import * as bestPractices from "../examples/best-practices.js"
import * as cleanup from "../examples/cleanup.js"
import * as collectStream from "../examples/collect-stream.js"
import * as concurrentAgents from "../examples/concurrent-agents.js"
import * as concurrentErrors from "../examples/concurrent-errors.js"
import * as errorHandling from "../examples/error-handling.js"
import * as fastapiIntegration from "../examples/fastapi-integration.js"
import * as gracefulDegradation from "../examples/graceful-degradation.js"
import * as manualStream from "../examples/manual-stream.js"
import * as mcpAgent from "../examples/mcp-agent.js"
import * as methodComparison from "../examples/method-comparison.js"
import * as prettyStream from "../examples/pretty-stream.js"
import * as printResponse from "../examples/print-response.js"
import * as researchWorkflow from "../examples/research-workflow.js"
import * as responseData from "../examples/response-data.js"
import * as reviewWorkflow from "../examples/review-workflow.js"
import * as retryBackoff from "../examples/retry-backoff.js"
import * as sequentialVsConcurrent from "../examples/sequential-vs-concurrent.js"
import * as simple from "../examples/simple.js"
import * as streaming from "../examples/streaming.js"
import * as teamBasic from "../examples/team-basic.js"
import * as teamConcurrent from "../examples/team-concurrent.js"
import * as teamStreaming from "../examples/team-streaming.js"
import * as timeout from "../examples/timeout.js"
import * as traceTree from "../examples/trace-tree.js"
import { flaky, unavailable } from "../examples/model.js"
import * as Simulator from "../layers/Simulator.js"
import { Agent, AgentError, Retry } from "../src/index.js"

// -----------------------------------------------------------------------------
// Harness
// -----------------------------------------------------------------------------

/** What an example did: its result, everything it printed, and what it wrote to stdout piece by piece. */
interface Captured<A> {
  readonly value: A
  readonly output: string
  readonly writes: ReadonlyArray<string>
  /** How long the example took on the clock it ran on. */
  readonly elapsed: Duration.Duration
}

/**
 * Records what an effect prints: Effect's `Console` and logger are replaced for it, and
 * `process.stdout.write` (where the printer and the examples' streaming writes go) is swapped for the
 * duration of the effect.
 */
const capture = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<Captured<A>, E> =>
  Effect.gen(function*() {
    const out: Array<string> = []
    const writes: Array<string> = []
    const line = (...args: ReadonlyArray<unknown>) =>
      Effect.sync(() => {
        out.push(args.map((arg) => (typeof arg === "string" ? arg : inspect(arg))).join(" ") + "\n")
      })
    const base = yield* Effect.console
    const console: Console.Console = { ...base, log: line, info: line, warn: line, error: line }
    const logger = Logger.make(({ logLevel, message }) => {
      out.push(`${logLevel.label}: ${Array.isArray(message) ? message.join(" ") : String(message)}\n`)
    })
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const original = process.stdout.write
        process.stdout.write = ((chunk: string | Uint8Array) => {
          const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8")
          out.push(text)
          writes.push(text)
          return true
        }) as typeof process.stdout.write
        return original
      }),
      (original) =>
        Effect.sync(() => {
          process.stdout.write = original
        })
    )
    const [elapsed, value] = yield* Effect.timed(effect).pipe(
      Effect.withConsole(console),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
    return { value, output: out.join(""), writes, elapsed }
  }).pipe(Effect.scoped)

const withSettings = (settings: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(settings))))

/**
 * On the real clock, with a fast demo: the default transport, so the model is the demo served by
 * the local simulator over HTTP.
 */
const live = <A, E>(main: Effect.Effect<A, E>) => capture(withSettings({ DEMO_MODEL_LATENCY: "10 millis" })(main))

/**
 * On the `TestClock`, for the examples that wait on purpose (backoff, timeouts, interruption) or
 * measure time: the example runs in a fiber while the clock is moved on, so what it waits for
 * happens at once and what it measures is exact. The demo runs in process here: its latency is then
 * `Effect.sleep` on the virtual clock, where the simulator's would be real time on real sockets.
 */
const virtual = <A, E>(main: Effect.Effect<A, E>, advance: Duration.DurationInput = "10 minutes") =>
  Effect.gen(function*() {
    const settings = { DEMO_MODEL_LATENCY: "300 millis", DEMO_MODEL_TRANSPORT: "in-process" }
    const fiber = yield* Effect.fork(capture(withSettings(settings)(main)))
    yield* TestClock.adjust(advance)
    const exit = yield* Fiber.poll(fiber)
    if (Option.isNone(exit)) return yield* Effect.dieMessage(`the example did not finish within ${advance}`)
    return yield* exit.value
  })

const count = (text: string, part: string) => text.split(part).length - 1

const before = (text: string, first: string, second: string) => {
  const a = text.indexOf(first)
  const b = text.indexOf(second)
  assert.isAtLeast(a, 0, `missing: ${first}`)
  assert.isAtLeast(b, 0, `missing: ${second}`)
  assert.isBelow(a, b, `"${first}" should come before "${second}"`)
}

// -----------------------------------------------------------------------------
// Every example, by file name
// -----------------------------------------------------------------------------

const tested = new Set<string>()

/** Declares the test of the example in `examples/<name>.ts`. */
const example = (
  name: string,
  clock: "live" | "virtual",
  test: () => Effect.Effect<void, unknown>
) => {
  tested.add(name)
  if (clock === "live") it.live(name, test)
  else it.effect(name, test)
}

describe("examples", () => {
  example("simple", "live", () =>
    Effect.gen(function*() {
      const { output } = yield* live(simple.main)
      assert.strictEqual(count(output.trim(), "\n"), 0, "one answer, on one line")
      assert.include(output, "Why do programmers prefer dark mode?")
    }))

  example("fastapi-integration", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(fastapiIntegration.main)
      assert.include(output, `Answer: ${value.answer}\n`)
      assert.match(value.answer, /^Here is my answer to "Effect"/)
      assert.match(value.streamed, /^Here is my answer to "a fiber"/)
    }))

  example("background-batch", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(backgroundBatch.main)
      assert.deepStrictEqual([value.successful, value.failed, value.results.length], [3, 0, 3])
      before(output, "{ status: \"processing\", count: 3 }", "Successful: 3, failed: 0")
    }))

  example("print-response", "live", () =>
    Effect.gen(function*() {
      const { output } = yield* live(printResponse.main)
      before(output, "What is quantum computing?", "Quantum computing uses qubits")
    }))

  example("method-comparison", "live", () =>
    Effect.gen(function*() {
      const { output } = yield* live(methodComparison.main)
      assert.include(output, "Content: Artificial intelligence is the field")
      assert.include(output, "Model: gpt-4o-mini\n")
      const metrics = /Metrics: (\{.*\})\n/.exec(output)
      assert.isNotNull(metrics)
      const encoded: unknown = JSON.parse(metrics![1]!)
      assert.deepInclude(encoded, { modelCalls: 1, toolCalls: 0, retries: 0 })
      // Then printResponse shows the question and the same answer again.
      before(output, "Metrics:", "Explain AI in one sentence.")
      assert.strictEqual(count(output, "Artificial intelligence"), 2)
    }))

  example("response-data", "live", () =>
    Effect.gen(function*() {
      const { output } = yield* live(responseData.main)
      assert.match(output, /^Here are 3 programming languages:\n\n1\. Python/)
      assert.match(output, /Time to first token: \d+\.\d\ds\n/)
      const tokens = /Output tokens: (\d+)\n/.exec(output)
      assert.isNotNull(tokens)
      assert.isAbove(Number(tokens![1]), 0)
      before(output, "user: List 3 programming languages.\n", "assistant: Here are 3 programming languages:")
    }))

  example("streaming", "live", () =>
    Effect.gen(function*() {
      const { output, writes } = yield* live(streaming.main)
      before(output, "Write a short story about AI.", "The Night Shift")
      // Printed as it arrived: in many pieces, none of them the whole story.
      assert.isAbove(writes.length, 20)
      assert.isFalse(writes.some((text) => text.includes("small program called Ada") && text.includes("trusted her")))
    }))

  example("manual-stream", "live", () =>
    Effect.gen(function*() {
      const { output, writes } = yield* live(manualStream.main)
      assert.isAbove(writes.length, 10, "one write per text delta")
      assert.strictEqual(writes[writes.length - 1], "\n")
      assert.strictEqual(writes.join(""), output)
      assert.match(output, /^Machine learning, step by step\n/)
      assert.include(output, "1. Collect data")
    }))

  example("pretty-stream", "live", () =>
    Effect.gen(function*() {
      const { output } = yield* live(prettyStream.main)
      before(output, "Describe neural networks.", "A neural network is a stack of simple computing units")
    }))

  example("collect-stream", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(collectStream.main)
      assert.isAtLeast(value.chunks, 20)
      const progress = Math.floor(value.chunks / 10)
      assert.strictEqual(count(output, "chunks...\n"), progress)
      for (let i = 1; i <= progress; i++) assert.include(output, `Received ${i * 10} chunks...\n`)
      assert.include(output, `Total chunks: ${value.chunks}\n`)
      assert.include(output, `Full content length: ${value.content.length} chars\n`)
      assert.match(value.content, /^Here are 5 AI applications:/)
    }))

  example("concurrent-agents", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(concurrentAgents.main)
      assert.deepStrictEqual(value.map((response) => response.agent), ["Researcher", "Writer", "Analyst"])
      for (const [i, response] of value.entries()) {
        assert.strictEqual(response.model, "gpt-4o")
        assert.include(output, `Agent ${i + 1} (${response.agent}) response:\n${response.content.slice(0, 200)}...\n`)
      }
      assert.match(value[0]!.content, /^Here is what I found on AI trends/)
      assert.match(value[2]!.content, /^Analysis: tech stock performance/)
    }))

  example("concurrent-errors", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(concurrentErrors.main)
      assert.deepStrictEqual(value.map(Either.isRight), [true, true, false])
      const failure = value[2]!
      assert.isTrue(Either.isLeft(failure))
      if (Either.isLeft(failure)) {
        assert.strictEqual(failure.left._tag, "ModelError")
        if (failure.left._tag === "ModelError") {
          assert.strictEqual(failure.left.reason, "NotFound")
          assert.strictEqual(failure.left.status, 404)
        }
      }
      assert.include(output, "Agent 1 succeeded: ")
      assert.include(output, "Agent 2 succeeded: ")
      // The provider layer's message: the status, then the message and code of the error the simulator sent.
      assert.include(
        output,
        "Agent 3 failed: ModelError: simulator: HTTP 404: The model 'gpt-4o-analysis-preview' does not exist or you do not have access to it. (model_not_found)\n"
      )
    }))

  example("sequential-vs-concurrent", "virtual", () =>
    Effect.gen(function*() {
      const { output, value } = yield* virtual(sequentialVsConcurrent.main)
      // On the virtual clock each run takes exactly the model's 300 ms latency.
      assert.strictEqual(Duration.toMillis(value.sequential), 900)
      assert.strictEqual(Duration.toMillis(value.concurrent), 300)
      assert.strictEqual(output, "Sequential: 0.90s\nConcurrent: 0.30s\n")
    }))

  example("error-handling", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(errorHandling.main)
      assert.deepStrictEqual(value, ["ok", "ModelError"])
      before(output, "With a working model:\nHere is my answer", "With a wrong API key:")
      assert.include(output, "Error: the model call failed: simulator: HTTP 401: Incorrect API key provided. (invalid_api_key)\n")
      assert.include(output, "(check the API key)")
    }))

  example("retry-backoff", "virtual", () =>
    Effect.gen(function*() {
      const { elapsed, output, value } = yield* virtual(retryBackoff.main)
      assert.strictEqual(value.metrics.retries, 2)
      assert.strictEqual(value.model, "gpt-4o-mini")
      before(output, "Attempt 1 failed: TestModel: HTTP 503", "Retrying in 1s...\n")
      before(output, "Retrying in 1s...\n", "Attempt 2 failed: TestModel: HTTP 503")
      before(output, "Attempt 2 failed", "Retrying in 2s...\n")
      before(output, "Retrying in 2s...\n", "Quantum entanglement is a link between particles")
      assert.notInclude(output, "Attempt 3")
      // Three calls of 300 ms each, and the 1 s and 2 s of backoff between them.
      assert.isAtLeast(Duration.toMillis(elapsed), 3 * 300 + 1000 + 2000)
    }))

  example("timeout", "virtual", () =>
    Effect.gen(function*() {
      const { elapsed, output, value } = yield* virtual(timeout.main)
      assert.deepStrictEqual(value, ["RunTimeout", "TimeoutException"])
      assert.strictEqual(count(output, "Request timed out after 2s\n"), 2)
      // Both runs were cut off at their 2 second limit, not left to run for the model's minute.
      assert.strictEqual(Duration.toMillis(elapsed), 4000)
    }))

  example("graceful-degradation", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(gracefulDegradation.main)
      const [first, second] = value
      assert.strictEqual(first!.agent, "Backup")
      assert.strictEqual(first!.model, "gpt-4o-mini")
      assert.strictEqual(second!.agent, "Resilient")
      assert.strictEqual(second!.model, "gpt-4o-mini")
      assert.include(
        output,
        "Primary failed (simulator: HTTP 503: The server is overloaded or not ready yet. (server_error)), using backup...\n"
      )
      assert.include(output, "Answered by Backup (gpt-4o-mini): ")
      assert.include(output, "Answered by Resilient (gpt-4o-mini): ")
    }))

  example("cleanup", "virtual", () =>
    Effect.gen(function*() {
      const { output, value } = yield* virtual(cleanup.main)
      const [succeeded, failed, interrupted] = value
      assert.isTrue(Exit.isSuccess(succeeded!))
      const failure = Exit.isFailure(failed!) ? Cause.failureOption(failed.cause) : Option.none()
      assert.strictEqual(Option.getOrUndefined(failure)?._tag, "RunTimeout")
      assert.isTrue(Exit.isInterrupted(interrupted!))
      // Each scenario opens its own connection, and closes it before it reports how the run ended.
      const scenarios = output.split(/\n(?=\d\. )/)
      assert.strictEqual(scenarios.length, 3)
      for (const scenario of scenarios) {
        before(scenario, "[database] connection opened", "[database] query: Search the")
        before(scenario, "[database] query: Search the", "[database] connection closed")
        before(scenario, "[database] connection closed", "[finally] cleanup done")
        before(scenario, "[finally] cleanup done", "  → the run")
      }
      assert.include(scenarios[0]!, "Order #1042")
      assert.include(scenarios[1]!, "→ the run failed: RunTimeout")
      assert.include(scenarios[2]!, "→ the run was interrupted")
    }))

  example("best-practices", "virtual", () =>
    Effect.gen(function*() {
      const { output, value } = yield* virtual(bestPractices.main)
      assert.deepStrictEqual(value, { concurrent: 3, errorHandling: "Error occurred", timeout: "Request timed out" })
      assert.include(output, "ERROR: Agent failed: TestModel: HTTP 401: Incorrect API key provided.\n")
      before(output, "Write a detailed essay on AI ethics.", "AI ethics asks how to build")
      before(output, "Cleanup done\n", "Result: the run failed (ModelError), and the cleanup ran\n")
    }))

  example("research-workflow", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(researchWorkflow.main)
      before(output, "Step 1: researching \"quantum computing\"", "Step 2: analysing")
      before(output, "Step 2: analysing", "Step 3: writing")
      assert.include(output, "  Web Searcher: Here is what I found on quantum computing:")
      assert.include(output, "  Academic Searcher: Relevant research on quantum computing:")
      assert.include(output, "  News Searcher: Recent news on quantum computing:")
      assert.match(value, /^Quantum computing\n\n/)
      assert.include(value, "Key points")
      assert.isTrue(output.trimEnd().endsWith(value.trimEnd()))
    }))

  example("review-workflow", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(reviewWorkflow.main)
      before(output, "✓ Writer", "✓ loop")
      before(output, "✓ loop", "… waiting for the review")
      before(output, "… waiting for the review", "✓ publish")
      assert.notInclude(output, "shelve")
      // One or two editing passes, each on the previous one's draft.
      assert.include([1, 2], count(output, "✓ Editor\n"))
      assert.match(value, /^Published \(looks good\):\n\n\S/)
      assert.isTrue(output.trimEnd().endsWith(value.trimEnd()))
    }))
})

describe("examples with MCP", () => {
  example("mcp-agent", "live", () =>
    Effect.gen(function*() {
      // The server is a real child process over stdio: the test ends only once it has stopped.
      const { output, value } = yield* live(mcpAgent.main)
      assert.include(output, "Tools of the server: search_notes (Searches the notes about Effect for the words of a query)\n")
      assert.deepStrictEqual(value.toolCalls.map((call) => [call.name, call.failure]), [["search_notes", undefined]])
      assert.deepStrictEqual(value.toolCalls[0]?.result, {
        notes: [
          "Interrupting a fiber runs its finalizers and interrupts the fibers it forked.",
          "Effect.timeout interrupts the effect when the time is up; the request it made is aborted."
        ]
      })
      before(output, "Called search_notes with", "I looked that up with search_notes.")
      assert.include(value.content, "Interrupting a fiber runs its finalizers")
    }))
})

describe("examples with teams", () => {
  example("team-basic", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(teamBasic.main)
      assert.strictEqual(output, `${value.content}\n`)
      assert.match(value.content, /^## Quantum computing: what the team found\n\n/)
      assert.include(value.content, "- **Web Searcher**: Top results: error-corrected logical qubits")
      assert.include(value.content, "- **Analyst**: ")
      // The leader gave each member a task of its own, in one turn, and the searcher used its tool.
      assert.deepStrictEqual(value.memberRuns.map((run) => [run._tag, run.member, run.task]), [
        ["Completed", "Web Searcher", "Search the web for: What are the latest developments in quantum computing?"],
        ["Completed", "Analyst", "Analyze: What are the latest developments in quantum computing?"]
      ])
      const searcher = value.memberRuns[0]!
      assert.deepStrictEqual(searcher._tag === "Completed" ? searcher.output.toolCalls.map((call) => call.name) : [], ["search_web"])
      assert.strictEqual(value.leaderMetrics.modelCalls, 2)
      assert.strictEqual(value.metrics.modelCalls, 2 + 2 + 1)
      assert.strictEqual(value.model, "gpt-4o")
    }))

  example("trace-tree", "live", () =>
    Effect.gen(function*() {
      const { output, value } = yield* live(traceTree.main)
      // The team's run, its leader's model calls and delegations, and each member's run under its delegation.
      assert.deepStrictEqual(value.map((node) => `${"  ".repeat(node.depth)}${node.name}`), [
        "invoke_agent Research Team",
        "  chat gpt-4o",
        "  execute_tool delegate_task_to_member",
        "    invoke_agent Web Searcher",
        "      chat gpt-4o-mini",
        "      execute_tool search_web",
        "      chat gpt-4o-mini",
        "  execute_tool delegate_task_to_member",
        "    invoke_agent Analyst",
        "      chat gpt-4o-mini",
        "  chat gpt-4o"
      ])
      assert.deepStrictEqual(value[1]!.attributes["gen_ai.response.finish_reasons"], ["tool-calls"])
      assert.isAbove(value[1]!.attributes["gen_ai.usage.input_tokens"] as number, 0)
      assert.match(output, /^invoke_agent Research Team {2}\(\d+\.\d ms, \d+ in \/ \d+ out tokens\)\n {2}└─ chat gpt-4o {2}\(/)
    }))

  example("team-streaming", "virtual", () =>
    Effect.gen(function*() {
      const { output, value, writes } = yield* virtual(teamStreaming.main)
      before(output, "Analyze NVIDIA's stock performance this year.", "Response from Web Searcher:\nI looked that up with search_web.")
      before(output, "Response from Web Searcher:", "Response from Analyst:\nAnalysis: tech stock performance")
      before(output, "Response from Analyst:", "Response:\n## Tech stock performance: what the team found")
      assert.include(output, "- **Web Searcher**: Top results: data-centre revenue grew")
      assert.notInclude(output, "delegate_task_to_member")
      assert.match(output, /\nDone in \d\.\ds · \d+ tokens\n/)
      // The leader's answer streamed in pieces after the members' sections.
      assert.isAbove(writes.length, 20)
      assert.strictEqual(value.content, (value as { readonly text: string }).text)
    }))

  example("team-concurrent", "virtual", () =>
    Effect.gen(function*() {
      const { elapsed, output, value } = yield* virtual(teamConcurrent.main)
      assert.deepStrictEqual(value.map((result) => result.agent), ["Research Team", "Analysis Team", "Writing Team"])
      assert.strictEqual(output, `${value.map((result) => result.content).join("\n\n")}\n`)
      // All at once: the program took as long as the slowest team, not the sum of the three.
      const durations = value.map((result) => Duration.toMillis(result.metrics.duration))
      assert.strictEqual(Duration.toMillis(elapsed), Math.max(...durations))
      assert.isBelow(Duration.toMillis(elapsed), durations.reduce((a, b) => a + b, 0))
      const [research, analysis, writing] = value
      assert.match(research!.content, /^AI trends: what the team found\n/)
      assert.deepStrictEqual(analysis!.memberRuns.map((run) => run.task), ["Analyze market data", "Analyze market data"])
      assert.match(analysis!.content, /^Tech stock performance: what the team found\n/)
      assert.deepStrictEqual(writing!.memberRuns.map((run) => run.member), ["Writer"])
      assert.strictEqual(writing!.content, writing!.memberRuns[0]!._tag === "Completed" ? writing!.memberRuns[0]!.output.content : "")
    }))
})

/**
 * The HTTP requests the process sent while `effect` ran, `METHOD origin/path`, as undici (the
 * provider layers' HTTP client) reports each one it creates.
 */
const sentRequests = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const sent: Array<string> = []
      const listener = (message: unknown) => {
        const { request } = message as { readonly request: { method: string; origin: unknown; path: string } }
        sent.push(`${request.method} ${String(request.origin)}${request.path}`)
      }
      DiagnosticsChannel.subscribe("undici:request:create", listener)
      return { sent, listener }
    }),
    ({ sent }) => Effect.map(Effect.exit(effect), (exit) => ({ exit, sent: [...sent] })),
    ({ listener }) => Effect.sync(() => DiagnosticsChannel.unsubscribe("undici:request:create", listener))
  )

const toSimulator = /^POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions$/

/** The model error a run failed with. */
const modelError = <A>(exit: Exit.Exit<A, unknown>): AgentError.ModelError => {
  const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
  assert.isTrue(Option.isSome(failure) && failure.value instanceof AgentError.ModelError, "a ModelError")
  return Option.getOrThrow(failure) as AgentError.ModelError
}

describe("examples on the local simulator", () => {
  it.live("with no model configured, an example's model calls go over HTTP to a simulator on 127.0.0.1", () =>
    Effect.gen(function*() {
      const { exit, sent } = yield* sentRequests(live(simple.main))
      assert.isTrue(Exit.isSuccess(exit))
      if (Exit.isSuccess(exit)) assert.include(exit.value.output, "Why do programmers prefer dark mode?")
      assert.strictEqual(sent.length, 1)
      assert.match(sent[0]!, toSimulator)
      // In process, the same answer and no request at all.
      const inProcess = { DEMO_MODEL_LATENCY: "10 millis", DEMO_MODEL_TRANSPORT: "in-process" }
      const local = yield* sentRequests(capture(withSettings(inProcess)(simple.main)))
      assert.isTrue(Exit.isSuccess(local.exit))
      if (Exit.isSuccess(local.exit) && Exit.isSuccess(exit)) assert.strictEqual(local.exit.value.output, exit.value.output)
      assert.deepStrictEqual(local.sent, [])
    }))

  it.live("faults are HTTP errors from the simulator, classified by the provider layer", () =>
    Effect.gen(function*() {
      const retry = Retry.exponential({ base: "1 millis", times: 3, jitter: false })
      const run = (agent: Agent.Agent<string, never>) =>
        sentRequests(withSettings({ DEMO_MODEL_LATENCY: "1 millis" })(Agent.run(agent, "Tell me a joke.")))

      // 401 and 404: not retried, whatever the policy.
      for (const [status, reason] of [[401, "Unauthorized"], [404, "NotFound"]] as const) {
        const { exit, sent } = yield* run(Agent.make({ model: unavailable("gpt-4o-mini", status), retry }))
        const error = modelError(exit)
        assert.deepInclude(error, { status, reason, retryable: false, provider: "simulator" })
        assert.strictEqual(sent.length, 1)
        assert.match(sent[0]!, toSimulator)
      }

      // 503: retried, every attempt a request of its own, and still failing.
      const overloaded = yield* run(Agent.make({ model: unavailable("gpt-4o-mini", 503), retry }))
      assert.deepInclude(modelError(overloaded.exit), { status: 503, reason: "Overloaded", retryable: true })
      assert.strictEqual(overloaded.sent.length, 4)

      // Two 503s, then the answer.
      const recovered = yield* run(Agent.make({ model: flaky("gpt-4o-mini", { failures: 2 }), retry }))
      assert.isTrue(Exit.isSuccess(recovered.exit))
      if (Exit.isSuccess(recovered.exit)) {
        assert.strictEqual(recovered.exit.value.metrics.retries, 2)
        assert.include(recovered.exit.value.content, "Why do programmers prefer dark mode?")
      }
      assert.strictEqual(recovered.sent.length, 3)
      for (const request of recovered.sent) assert.match(request, toSimulator)
    }))
})

describe("examples on a configured model", () => {
  it.scopedLive("the same example code runs on the model EFFECT_AGENTS_MODEL names", () =>
    Effect.gen(function*() {
      const simulator = yield* Simulator.make({ script: [Simulator.text("A joke from the configured model.")] })
      const env = new Map([
        ["EFFECT_AGENTS_MODEL", "openai-compatible:gpt-4o-mini"],
        ["OPENAI_COMPATIBLE_BASE_URL", simulator.openAiUrl]
      ])
      const { output } = yield* capture(simple.main.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(env))))
      assert.strictEqual(output.trim(), "A joke from the configured model.")
      const stats = yield* simulator.stats
      assert.strictEqual(stats.requestsByProtocol["chat-completions"], 1)
    }))

  it.live("a malformed model string stops the example with a message that names the variable", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        simple.main.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["EFFECT_AGENTS_MODEL", "gpt-4o"]]))))
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(Cause.pretty(exit.cause), "EFFECT_AGENTS_MODEL")
    }))
})

describe("examples/", () => {
  it("has a test for every example", () => {
    const files = readdirSync(new URL("../examples/", import.meta.url))
      .filter((file) => file.endsWith(".ts") && !["model.ts", "demo.ts", "run.ts", "agents.ts"].includes(file))
      .map((file) => file.slice(0, -".ts".length))
      .sort()
    assert.deepStrictEqual(files, [...tested].sort())
  })
})
