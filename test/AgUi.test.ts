/**
 * The AG-UI endpoint, over real HTTP: every event checked against @ag-ui/core's published schemas,
 * and their order against the protocol's rules (a message's content between its start and end, a
 * tool call's arguments and end after its start and before its result, a subagent's events between
 * its start and its end, the run's first and last events), for an agent with tools, one with
 * reasoning, a team, a failed tool, a failed run, and a client that leaves.
 */
import { EventSchemas, RunAgentInputSchema } from "@ag-ui/core/schemas"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as Fixture from "./fixtures/web.js"

let scope: Scope.CloseableScope
let app: Fixture.Started

beforeAll(async () => {
  scope = Effect.runSync(Scope.make())
  app = await Effect.runPromise(Scope.extend(Fixture.start(), scope))
})

afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

type Event = { readonly type: string } & Record<string, any>

const input = (runId: string, text: string) => ({
  threadId: "thread-1",
  runId,
  state: {},
  messages: [{ id: "m1", role: "user", content: text }],
  tools: [],
  context: [],
  forwardedProps: {}
})

const post = (agent: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${app.url}/agents/${agent}/ag-ui`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal })
  })

/** The events of a response, each parsed with the protocol's own schema (which throws on a bad one). */
const run = (agent: string, runId: string, text: string): Promise<ReadonlyArray<Event>> =>
  read(post(agent, input(runId, text)))

/**
 * The events of a response, checked as {@link run}'s; `known` are the tool calls of the run it
 * resumes, whose results may come without their start.
 */
const read = async (sent: Promise<Response>, known: ReadonlyArray<string> = []): Promise<ReadonlyArray<Event>> => {
  const response = await sent
  assert.strictEqual(response.status, 200)
  assert.include(response.headers.get("content-type") ?? "", "text/event-stream")
  const body = await response.text()
  const events = body.split("\n\n").filter((block) => block.length > 0).map((block) => {
    assert.match(block, /^data: /)
    return EventSchemas.parse(JSON.parse(block.slice("data: ".length))) as Event
  })
  verify(events, known)
  return events
}

/** The protocol's ordering rules. */
const verify = (events: ReadonlyArray<Event>, known: ReadonlyArray<string> = []) => {
  assert.strictEqual(events[0]?.type, "RUN_STARTED")
  const last = events.at(-1)!
  assert.include(["RUN_FINISHED", "RUN_ERROR"], last.type)
  const text = new Set<string>()
  const reasoning = new Set<string>()
  const tools = new Map<string, "open" | "ended" | "answered">(known.map((id) => [id, "ended"]))
  const subagents = new Map<string, "open" | "closed">()
  events.forEach((event, index) => {
    if (index > 0) assert.notStrictEqual(event.type, "RUN_STARTED")
    if (index < events.length - 1) assert.notInclude(["RUN_FINISHED", "RUN_ERROR"], event.type)
    if (event.subagentRunId !== undefined && !event.type.startsWith("SUBAGENT_")) {
      assert.strictEqual(subagents.get(event.subagentRunId), "open", `${event.type} outside its subagent`)
    }
    switch (event.type) {
      case "TEXT_MESSAGE_START":
        assert.isFalse(text.has(event.messageId))
        text.add(event.messageId)
        break
      case "TEXT_MESSAGE_CONTENT":
        assert.isTrue(text.has(event.messageId))
        assert.isAbove(event.delta.length, 0)
        break
      case "TEXT_MESSAGE_END":
        assert.isTrue(text.delete(event.messageId))
        break
      case "REASONING_START":
        reasoning.add(event.messageId)
        break
      case "REASONING_MESSAGE_START":
      case "REASONING_MESSAGE_CONTENT":
      case "REASONING_MESSAGE_END":
        assert.isTrue(reasoning.has(event.messageId))
        break
      case "REASONING_END":
        assert.isTrue(reasoning.delete(event.messageId))
        break
      case "TOOL_CALL_START":
        assert.isFalse(tools.has(event.toolCallId))
        tools.set(event.toolCallId, "open")
        break
      case "TOOL_CALL_ARGS":
        assert.strictEqual(tools.get(event.toolCallId), "open")
        JSON.parse(event.delta)
        break
      case "TOOL_CALL_END":
        assert.strictEqual(tools.get(event.toolCallId), "open")
        tools.set(event.toolCallId, "ended")
        break
      case "TOOL_CALL_RESULT":
        assert.strictEqual(tools.get(event.toolCallId), "ended")
        tools.set(event.toolCallId, "answered")
        break
      case "SUBAGENT_STARTED":
        assert.isFalse(subagents.has(event.subagentRunId))
        subagents.set(event.subagentRunId, "open")
        break
      case "SUBAGENT_FINISHED":
      case "SUBAGENT_ERROR":
        assert.strictEqual(subagents.get(event.subagentRunId), "open")
        subagents.set(event.subagentRunId, "closed")
        break
    }
  })
  // Everything opened was closed before the run's end.
  assert.strictEqual(text.size, 0)
  assert.strictEqual(reasoning.size, 0)
  for (const state of subagents.values()) assert.strictEqual(state, "closed")
}

const types = (events: ReadonlyArray<Event>) => events.map((event) => event.type)

describe("AG-UI", () => {
  it("an agent with a tool: the run, its tool call and result, then its answer, in order", async () => {
    const events = await run("Weather", "agui-tools", "Weather in Paris?")
    assert.deepStrictEqual(types(events), [
      "RUN_STARTED",
      "TOOL_CALL_START",
      "TOOL_CALL_ARGS",
      "TOOL_CALL_END",
      "TOOL_CALL_RESULT",
      "TEXT_MESSAGE_START",
      "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_END",
      "RUN_FINISHED"
    ])
    assert.deepInclude(events[0], { threadId: "thread-1", runId: "agui-tools" })
    assert.deepInclude(events[1], { toolCallName: "weather" })
    assert.deepStrictEqual(JSON.parse(events[2]!.delta), { city: "Paris" })
    assert.deepInclude(events[4], { content: "Sunny in Paris, 24°C", role: "tool" })
    assert.strictEqual(events.filter((e) => e.type === "TEXT_MESSAGE_CONTENT").map((e) => e.delta).join(""), "It is sunny in Paris.")
    assert.deepInclude(events.at(-1), { threadId: "thread-1", runId: "agui-tools", result: "It is sunny in Paris." })
    assert.deepStrictEqual(events.at(-1)!.usage, [{ inputTokens: 50, outputTokens: 12, totalTokens: 62 }])
  })

  it("reasoning comes as a reasoning message before the text", async () => {
    const events = await run("Writer", "agui-reasoning", "hi")
    assert.deepStrictEqual(types(events).slice(0, 6), [
      "RUN_STARTED",
      "REASONING_START",
      "REASONING_MESSAGE_START",
      "REASONING_MESSAGE_CONTENT",
      "REASONING_MESSAGE_END",
      "REASONING_END"
    ])
    assert.strictEqual(events[3]!.delta, "The user wants a short answer.")
    assert.include(events.filter((e) => e.type === "TEXT_MESSAGE_CONTENT").map((e) => e.delta).join(""), "You said **hi**")
  })

  it("a failed tool call's result says why", async () => {
    const events = await run("Weather", "agui-tool-failed", "Weather in Atlantis?")
    const result = events.find((event) => event.type === "TOOL_CALL_RESULT")!
    assert.include(result.content, "No weather is known for Atlantis.")
    assert.strictEqual(events.at(-1)!.type, "RUN_FINISHED")
  })

  it("a team: its member's run is a subagent, whose events carry its id", async () => {
    const events = await run("Desk", "agui-team", "What is the weather?")
    const started = events.find((event) => event.type === "SUBAGENT_STARTED")!
    assert.deepInclude(started, { name: "Weather", parentToolCallId: "delegation-1" })
    const member = events.filter((event) => event.subagentRunId === started.subagentRunId).map((event) => event.type)
    assert.deepStrictEqual(member, [
      "SUBAGENT_STARTED",
      "TOOL_CALL_START",
      "TOOL_CALL_ARGS",
      "TOOL_CALL_END",
      "TOOL_CALL_RESULT",
      "TEXT_MESSAGE_START",
      "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_CONTENT",
      "TEXT_MESSAGE_END",
      "SUBAGENT_FINISHED"
    ])
    // The leader's delegation is a tool call of the run itself, answered with the member's answer.
    const delegation = events.filter((event) => event.toolCallId === "delegation-1" && event.subagentRunId === undefined)
    assert.deepStrictEqual(types(delegation), ["TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT"])
    assert.strictEqual(delegation[3]!.content, "It is sunny in Paris.")
    assert.deepInclude(events.at(-1), { type: "RUN_FINISHED", result: "The desk says: sunny." })
  })

  it("a workflow: each step between STEP_STARTED and STEP_FINISHED, its agent's work as the run's", async () => {
    const events = await run("Pipeline", "agui-workflow", "hello")
    const steps = events.filter((event) => event.type.startsWith("STEP_")).map((event) => `${event.type} ${event.stepName}`)
    assert.deepStrictEqual(steps, ["STEP_STARTED Writer", "STEP_FINISHED Writer", "STEP_STARTED Weather", "STEP_FINISHED Weather"])
    const weather = events.slice(events.findIndex((event) => event.type === "STEP_STARTED" && event.stepName === "Weather"))
    assert.deepStrictEqual(types(weather).slice(0, 6), [
      "STEP_STARTED",
      "TOOL_CALL_START",
      "TOOL_CALL_ARGS",
      "TOOL_CALL_END",
      "TOOL_CALL_RESULT",
      "TEXT_MESSAGE_START"
    ])
    assert.include(events.filter((event) => event.type === "REASONING_MESSAGE_CONTENT").map((event) => event.delta).join(""), "short answer")
    assert.deepInclude(events.at(-1), { type: "RUN_FINISHED", result: "It is sunny in Paris." })
  })

  it("a run that waits for approval ends with an interrupt per pending call", async () => {
    const events = await run("Banker", "agui-approval", "Pay Ada")
    const requested = events.find((event) => event.type === "CUSTOM" && event.name === "effect-agents.ApprovalRequested")!
    assert.deepInclude(requested.value, { tool: "transfer", arguments: { to: "Ada", amount: 500 } })
    const last = events.at(-1)!
    assert.strictEqual(last.type, "RUN_FINISHED")
    assert.strictEqual(last.outcome.type, "interrupt")
    assert.deepStrictEqual(last.outcome.interrupts.map((i: Event) => [i.id, i.toolCallId, i.reason]), [
      [requested.value.token, requested.value.toolCallId, "tool_call"]
    ])
  })

  /** The input an AG-UI client sends to answer interrupts: the thread's conversation and `resume`. */
  const resumeInput = (runId: string, resume: ReadonlyArray<Record<string, unknown>>) =>
    RunAgentInputSchema.parse({ ...input(runId, "Pay Ada"), resume })

  const resumeRun = (runId: string, resume: ReadonlyArray<Record<string, unknown>>, known: ReadonlyArray<string>) =>
    read(post("Banker", resumeInput(runId, resume)), known)

  it("a client's resume answers the interrupt: the paused run goes on as the new run, its call's result first", async () => {
    const paused = await run("Banker", "agui-resume-1", "Pay Ada")
    const [interrupt] = paused.at(-1)!.outcome.interrupts
    assert.strictEqual(interrupt.reason, "tool_call")
    assert.deepStrictEqual(interrupt.responseSchema.required, ["approved"])
    const before = await Effect.runPromise(app.transfers)

    const resume = [{ interruptId: interrupt.id, status: "resolved", payload: { approved: true, editedArgs: { to: "Ada", amount: 450 } } }]
    const events = await resumeRun("agui-resume-2", resume, [interrupt.toolCallId])
    // The call is not announced again: its result comes against the first run's id.
    assert.deepStrictEqual(types(events).filter((type) => type !== "TEXT_MESSAGE_CONTENT"), [
      "RUN_STARTED",
      "TOOL_CALL_RESULT",
      "TEXT_MESSAGE_START",
      "TEXT_MESSAGE_END",
      "RUN_FINISHED"
    ])
    assert.deepInclude(events[0], { threadId: "thread-1", runId: "agui-resume-2" })
    assert.deepInclude(events[1], { toolCallId: interrupt.toolCallId, content: "sent 450 to Ada" })
    assert.deepInclude(events.at(-1), { runId: "agui-resume-2", result: "Done: sent 450 to Ada." })
    assert.deepStrictEqual((await Effect.runPromise(app.transfers)).slice(before.length), ["450 to Ada"])

    // The same resume again: the interrupt was answered, nothing runs twice.
    const again = await resumeRun("agui-resume-3", resume, [])
    assert.deepStrictEqual(types(again), ["RUN_STARTED", "RUN_ERROR"])
    assert.include(again[1]!.message, interrupt.id)
    assert.deepStrictEqual((await Effect.runPromise(app.transfers)).slice(before.length), ["450 to Ada"])
  })

  it("a resume it cannot take ends with RUN_ERROR and the run still waits; a cancelled interrupt is a rejection", async () => {
    const paused = await run("Banker", "agui-deny-1", "Pay Ada")
    const [interrupt] = paused.at(-1)!.outcome.interrupts
    const before = await Effect.runPromise(app.transfers)
    const refusals: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
      [{ interruptId: interrupt.id, status: "resolved", payload: { approved: "yes" } }, `"approved"`],
      [{ interruptId: interrupt.id, status: "resolved", payload: { approved: true, editedArgs: { to: "Ada", amount: "lots" } } }, "amount"],
      [{ interruptId: "no-such-interrupt", status: "resolved", payload: { approved: true } }, "no-such-interrupt"]
    ]
    for (const [entry, says] of refusals) {
      const events = await resumeRun("agui-deny-refused", [entry], [])
      assert.deepStrictEqual(types(events), ["RUN_STARTED", "RUN_ERROR"])
      assert.include(events[1]!.message, says)
      assert.strictEqual(events[1]!.code, "ApprovalError")
    }
    const denied = await resumeRun("agui-deny-2", [{ interruptId: interrupt.id, status: "cancelled" }], [interrupt.toolCallId])
    const result = denied.find((event) => event.type === "TOOL_CALL_RESULT")!
    assert.strictEqual(result.toolCallId, interrupt.toolCallId)
    assert.strictEqual(JSON.parse(result.content).error, "Rejected")
    assert.deepInclude(denied.at(-1), { type: "RUN_FINISHED", result: "The transfer was not made." })
    assert.deepStrictEqual((await Effect.runPromise(app.transfers)).slice(before.length), [])
  })

  it("a failed run ends with RUN_ERROR, its code the error's tag", async () => {
    const events = await run("Broken", "agui-failed", "hello")
    assert.deepStrictEqual(types(events), ["RUN_STARTED", "RUN_ERROR"])
    assert.strictEqual(events[1]!.code, "ModelError")
    assert.isAbove(events[1]!.message.length, 0)
  })

  it("bad input gets a 400 that says what is wrong, an unknown agent a 404", async () => {
    const bad = await post("Weather", { threadId: "t", messages: [] })
    assert.strictEqual(bad.status, 400)
    assert.include(await bad.text(), "runId")
    const unknown = await post("Nobody", input("agui-unknown", "hi"))
    assert.strictEqual(unknown.status, 404)
  })

  it("a client that leaves cancels the run, its tool included", async () => {
    const before = await Effect.runPromise(app.waitInterrupted)
    const started = await Effect.runPromise(app.waitStarted)
    const controller = new AbortController()
    const response = await post("Waiter", input("agui-leaves", "wait"), controller.signal)
    const reader = response.body!.getReader()
    // Read until the tool has started, then leave.
    let seen = ""
    while (!seen.includes("TOOL_CALL_START")) {
      const chunk = await reader.read()
      if (chunk.done) break
      seen += new TextDecoder().decode(chunk.value)
    }
    for (let i = 0; i < 500 && await Effect.runPromise(app.waitStarted) === started; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.strictEqual(await Effect.runPromise(app.waitStarted), started + 1)
    controller.abort()
    for (let i = 0; i < 200 && await Effect.runPromise(app.waitInterrupted) === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.strictEqual(await Effect.runPromise(app.waitInterrupted), before + 1)
  })
})
