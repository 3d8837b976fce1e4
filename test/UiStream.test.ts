/**
 * The AI SDK UI message stream endpoint, over real HTTP: every chunk checked against the `ai`
 * package's own UI message chunk schema, their order asserted, and the stream read by the AI SDK's
 * own client side (`DefaultChatTransport`, what `useChat` uses, and `readUIMessageStream`) into
 * the message a chat shows, for an agent with tools, one with reasoning, a team, a failed tool, a
 * failed run, and a client that leaves.
 */
import { asSchema, DefaultChatTransport, readUIMessageStream, type UIMessage, uiMessageChunkSchema } from "ai"
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

type Chunk = { readonly type: string } & Record<string, any>

const schema = asSchema(uiMessageChunkSchema)

const userMessage = (text: string): UIMessage => ({ id: "u1", role: "user", parts: [{ type: "text", text }] })

const post = (agent: string, body: unknown, signal?: AbortSignal) =>
  fetch(`${app.url}/agents/${agent}/ui-message-stream`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal === undefined ? {} : { signal })
  })

/** The chunks of a response, each validated with the `ai` package's schema; `[DONE]` last. */
const chunks = async (agent: string, text: string): Promise<ReadonlyArray<Chunk>> => {
  const response = await post(agent, { id: "chat-1", messages: [userMessage(text)], trigger: "submit-message" })
  assert.strictEqual(response.status, 200)
  assert.strictEqual(response.headers.get("x-vercel-ai-ui-message-stream"), "v1")
  assert.include(response.headers.get("content-type") ?? "", "text/event-stream")
  const blocks = (await response.text()).split("\n\n").filter((block) => block.length > 0)
  assert.strictEqual(blocks.at(-1), "data: [DONE]")
  const out: Array<Chunk> = []
  for (const block of blocks.slice(0, -1)) {
    assert.match(block, /^data: /)
    const value = JSON.parse(block.slice("data: ".length))
    const checked = await schema.validate!(value)
    assert.isTrue(checked.success, `${block}: ${checked.success ? "" : String(checked.error)}`)
    out.push(value)
  }
  return out
}

/** The message a `useChat` front end ends up with, read through the AI SDK's own transport. */
const message = async (agent: string, text: string): Promise<UIMessage> => {
  const transport = new DefaultChatTransport({ api: `${app.url}/agents/${agent}/ui-message-stream` })
  const stream = await transport.sendMessages({
    chatId: "chat-1",
    messages: [userMessage(text)],
    trigger: "submit-message",
    messageId: undefined,
    abortSignal: undefined
  })
  let last: UIMessage | undefined
  for await (const message of readUIMessageStream({ stream })) last = message
  assert.isDefined(last)
  return last!
}

const types = (all: ReadonlyArray<Chunk>) => all.map((chunk) => chunk.type)

describe("AI SDK UI message stream", () => {
  it("an agent with a tool: steps, the tool's input and output, then the text, in order", async () => {
    const all = await chunks("Weather", "Weather in Paris?")
    assert.deepStrictEqual(types(all), [
      "start",
      "start-step",
      "tool-input-start",
      "tool-input-available",
      "tool-output-available",
      "finish-step",
      "start-step",
      "text-start",
      "text-delta",
      "text-delta",
      "text-end",
      "finish-step",
      "finish"
    ])
    assert.deepInclude(all[3], { toolName: "weather", input: { city: "Paris" }, dynamic: true })
    assert.deepInclude(all[4], { output: "Sunny in Paris, 24°C" })
    assert.deepInclude(all.at(-1), { finishReason: "stop" })
    assert.deepInclude(all.at(-1)!.messageMetadata, { inputTokens: 50, outputTokens: 12, totalTokens: 62 })

    const shown = await message("Weather", "Weather in Paris?")
    assert.strictEqual(shown.role, "assistant")
    const tool = shown.parts.find((part) => part.type === "dynamic-tool")
    assert.deepInclude(tool, { toolName: "weather", state: "output-available", input: { city: "Paris" }, output: "Sunny in Paris, 24°C" })
    assert.deepInclude(shown.parts.find((part) => part.type === "text"), { text: "It is sunny in Paris.", state: "done" })
  })

  it("reasoning is a reasoning part before the text", async () => {
    const all = await chunks("Writer", "hi")
    assert.deepStrictEqual(types(all).slice(0, 6), ["start", "start-step", "reasoning-start", "reasoning-delta", "reasoning-end", "text-start"])
    const shown = await message("Writer", "hi")
    assert.deepStrictEqual(shown.parts.filter((part) => part.type !== "step-start").map((part) => part.type), ["reasoning", "text"])
    assert.deepInclude(shown.parts.find((part) => part.type === "reasoning"), { text: "The user wants a short answer." })
  })

  it("a failed tool call is a tool output error", async () => {
    const all = await chunks("Weather", "Weather in Atlantis?")
    const error = all.find((chunk) => chunk.type === "tool-output-error")!
    assert.include(error.errorText, "No weather is known for Atlantis.")
    const shown = await message("Weather", "Weather in Atlantis?")
    assert.deepInclude(shown.parts.find((part) => part.type === "dynamic-tool"), { state: "output-error" })
  })

  it("a team: each member run is a data part updated from running to completed, its events transient data", async () => {
    const all = await chunks("Desk", "What is the weather?")
    const members = all.filter((chunk) => chunk.type === "data-member")
    assert.strictEqual(members.length, 2)
    assert.strictEqual(members[0]!.id, members[1]!.id)
    assert.deepInclude(members[0]!.data, { member: "Weather", status: "running" })
    assert.deepInclude(members[1]!.data, { member: "Weather", status: "completed", text: "It is sunny in Paris." })
    const memberEvents = all.filter((chunk) => chunk.type === "data-member-event")
    assert.isTrue(memberEvents.every((chunk) => chunk.transient === true))
    assert.deepStrictEqual(
      memberEvents.map((chunk) => chunk.data.event._tag).filter((tag) => tag === "ToolCallStarted" || tag === "TextDelta"),
      ["ToolCallStarted", "TextDelta", "TextDelta"]
    )
    // Member events come between the member's start and end.
    const first = all.indexOf(members[0]!)
    const last = all.indexOf(members[1]!)
    assert.isTrue(all.every((chunk, i) => chunk.type !== "data-member-event" || (i > first && i < last)))

    const shown = await message("Desk", "What is the weather?")
    // The data part was updated in place (same id), and the transient ones are not kept.
    const parts = shown.parts.filter((part) => part.type === "data-member")
    assert.strictEqual(parts.length, 1)
    assert.deepInclude((parts[0] as { data: unknown }).data, { status: "completed" })
    assert.isFalse(shown.parts.some((part) => part.type === "data-member-event"))
    assert.deepInclude(shown.parts.find((part) => part.type === "text"), { text: "The desk says: sunny." })
  })

  it("a workflow: a data part per step, updated from running to completed, and the answer as text", async () => {
    const all = await chunks("Pipeline", "hello")
    const steps = all.filter((chunk) => chunk.type === "data-step").map((chunk) => `${chunk.data.step} ${chunk.data.status}`)
    assert.deepStrictEqual(steps, ["Writer running", "Writer completed", "Weather running", "Weather completed"])
    assert.isTrue(all.filter((chunk) => chunk.type === "data-step-event").every((chunk) => chunk.transient === true))
    const shown = await message("Pipeline", "hello")
    assert.strictEqual(shown.parts.filter((part) => part.type === "data-step").length, 2)
    assert.deepInclude(shown.parts.find((part) => part.type === "text"), { text: "It is sunny in Paris." })
  })

  it("a run that waits for approval asks for it and finishes paused", async () => {
    const all = await chunks("Banker", "Pay Ada")
    const request = all.find((chunk) => chunk.type === "tool-approval-request")!
    assert.isDefined(request)
    assert.isAbove(all.indexOf(request), all.findIndex((chunk) => chunk.type === "tool-input-available" && chunk.toolCallId === request.toolCallId))
    assert.deepInclude(all.at(-1), { type: "finish", finishReason: "other" })
    assert.deepInclude(all.at(-1)!.messageMetadata, { paused: true })
    const shown = await message("Banker", "Pay Ada")
    assert.deepInclude(shown.parts.find((part) => part.type === "dynamic-tool"), { toolName: "transfer", state: "approval-requested" })
  })

  it("a failed run ends with an error chunk", async () => {
    const all = await chunks("Broken", "hello")
    assert.deepStrictEqual(types(all), ["start", "start-step", "finish-step", "error"])
    assert.isAbove(all.at(-1)!.errorText.length, 0)
  })

  it("bad input gets a 400, an unknown agent a 404", async () => {
    const bad = await post("Weather", { messages: [] })
    assert.strictEqual(bad.status, 400)
    const unknown = await post("Nobody", { messages: [userMessage("hi")] })
    assert.strictEqual(unknown.status, 404)
  })

  it("a client that leaves cancels the run, its tool included", async () => {
    const before = await Effect.runPromise(app.waitInterrupted)
    const started = await Effect.runPromise(app.waitStarted)
    const controller = new AbortController()
    const response = await post("Waiter", { messages: [userMessage("wait")] }, controller.signal)
    const reader = response.body!.getReader()
    let seen = ""
    while (!seen.includes("tool-input-available")) {
      const chunk = await reader.read()
      if (chunk.done) break
      seen += new TextDecoder().decode(chunk.value)
    }
    for (let i = 0; i < 500 && await Effect.runPromise(app.waitStarted) === started; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.strictEqual(await Effect.runPromise(app.waitStarted), started + 1)
    controller.abort()
    for (let i = 0; i < 500 && await Effect.runPromise(app.waitInterrupted) === before; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    assert.strictEqual(await Effect.runPromise(app.waitInterrupted), before + 1)
  })
})
