/**
 * The AI SDK UI message stream endpoint, over real HTTP: every chunk checked against the `ai`
 * package's own UI message chunk schema, their order asserted, and the stream read by the AI SDK's
 * own client side (`DefaultChatTransport`, what `useChat` uses, and `readUIMessageStream`) into
 * the message a chat shows, for an agent with tools, one with reasoning, a team, a failed tool, a
 * failed run, and a client that leaves.
 */
import {
  AbstractChat,
  asSchema,
  type ChatState,
  type ChatStatus,
  DefaultChatTransport,
  readUIMessageStream,
  type UIMessage,
  uiMessageChunkSchema
} from "ai"
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

/** A chat's messages kept as the AI SDK's own front ends keep them (a new array on each change). */
class MessagesState implements ChatState<UIMessage> {
  status: ChatStatus = "ready"
  error: Error | undefined = undefined
  messages: Array<UIMessage> = []
  pushMessage = (message: UIMessage) => {
    this.messages = [...this.messages, message]
  }
  popMessage = () => {
    this.messages = this.messages.slice(0, -1)
  }
  replaceMessage = (index: number, message: UIMessage) => {
    this.messages = this.messages.map((m, i) => (i === index ? message : m))
  }
  snapshot = <T>(thing: T): T => structuredClone(thing)
}

class Chat extends AbstractChat<UIMessage> {}

/** The AI SDK's chat (what `useChat` wraps) on the endpoint, with the bodies it sent and got. */
const makeChat = (agent: string) => {
  const sent: Array<string> = []
  const received: Array<Promise<string>> = []
  const chat = new Chat({
    id: "chat-1",
    state: new MessagesState(),
    transport: new DefaultChatTransport({
      api: `${app.url}/agents/${agent}/ui-message-stream`,
      fetch: async (input, init) => {
        sent.push(String(init?.body))
        const response = await fetch(input, init)
        received.push(response.clone().text())
        return response
      }
    })
  })
  return { chat, sent, received }
}

/** The chunks of a response's body, each validated with the `ai` package's schema; `[DONE]` last. */
const parse = async (body: string): Promise<ReadonlyArray<Chunk>> => {
  const blocks = body.split("\n\n").filter((block) => block.length > 0)
  assert.strictEqual(blocks.at(-1), "data: [DONE]")
  const out: Array<Chunk> = []
  for (const block of blocks.slice(0, -1)) {
    const value = JSON.parse(block.slice("data: ".length))
    const checked = await schema.validate!(value)
    assert.isTrue(checked.success, block)
    out.push(value)
  }
  return out
}

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

  it("the client's approval response resumes the paused run in the same message; a denial is denied", async () => {
    for (const approved of [true, false]) {
      const before = await Effect.runPromise(app.transfers)
      const { chat, received, sent } = makeChat("Banker")
      await chat.sendMessage({ text: "Pay Ada" })
      assert.strictEqual(chat.status, "ready")
      const paused = chat.lastMessage!
      const asked = paused.parts.find((part) => part.type === "dynamic-tool")!
      assert.strictEqual(asked.state, "approval-requested")

      await chat.addToolApprovalResponse({ id: asked.approval!.id, approved, ...(approved ? {} : { reason: "Not today." }) })
      // With no new message, the client sends its approval responses (as sendAutomaticallyWhen does).
      await chat.sendMessage()
      assert.strictEqual(chat.status, "ready", String(chat.error))
      // What it sent: the assistant message, its tool part `approval-responded`.
      const body = JSON.parse(sent.at(-1)!)
      assert.deepInclude(body.messages.at(-1).parts.find((part: any) => part.type === "dynamic-tool"), {
        state: "approval-responded",
        approval: { id: asked.approval!.id, approved, ...(approved ? {} : { reason: "Not today." }) }
      })

      // The same assistant message goes on: the call's outcome, then the answer.
      assert.deepStrictEqual(chat.messages.map((message) => message.role), ["user", "assistant"])
      const shown = chat.lastMessage!
      assert.strictEqual(shown.id, paused.id)
      const tools = shown.parts.filter((part) => part.type === "dynamic-tool")
      assert.strictEqual(tools.length, 1)
      assert.deepInclude(tools[0]!.approval, { id: asked.approval!.id, approved })
      // The resumed stream: the call is not announced again, only its outcome comes, then the answer.
      const resumed = await parse(await received.at(-1)!)
      assert.deepStrictEqual(types(resumed), [
        "start",
        approved ? "tool-output-available" : "tool-output-denied",
        "start-step",
        "text-start",
        "text-delta",
        "text-end",
        "finish-step",
        "finish"
      ])
      assert.deepInclude(resumed[0], { messageId: paused.id })
      const text = shown.parts.filter((part) => part.type === "text").map((part) => part.text).join("")
      if (approved) {
        assert.deepInclude(tools[0], { toolCallId: asked.toolCallId, state: "output-available", output: "sent 500 to Ada" })
        assert.strictEqual(text, "Done: sent 500 to Ada.")
        assert.deepStrictEqual((await Effect.runPromise(app.transfers)).slice(before.length), ["500 to Ada"])
      } else {
        assert.deepInclude(tools[0], { toolCallId: asked.toolCallId, state: "output-denied" })
        assert.strictEqual(text, "The transfer was not made.")
        assert.deepStrictEqual((await Effect.runPromise(app.transfers)).slice(before.length), [])
      }

      // Sent again, the answered approval finds no paused run: 404, and nothing runs twice.
      const again = await post("Banker", body)
      assert.strictEqual(again.status, 404)
      assert.include(await again.text(), asked.approval!.id)
      assert.strictEqual((await Effect.runPromise(app.transfers)).length, before.length + (approved ? 1 : 0))
    }
  })

  it("approval responses on no pending call of the paused run are refused with 400 before any chunk; the run still waits", async () => {
    const { chat, sent } = makeChat("Banker")
    await chat.sendMessage({ text: "Pay Ada" })
    const asked = chat.lastMessage!.parts.find((part) => part.type === "dynamic-tool")!
    await chat.addToolApprovalResponse({ id: asked.approval!.id, approved: true })
    const body = JSON.parse(JSON.stringify({ id: "chat-1", messages: chat.messages, trigger: "submit-message" }))
    const assistant = body.messages.at(-1)
    const stray = { ...assistant.parts.find((part: any) => part.type === "dynamic-tool"), toolCallId: "other", approval: { id: "stray", approved: true } }
    assistant.parts.push(stray)
    const refused = await post("Banker", body)
    assert.strictEqual(refused.status, 400)
    const error = (await refused.json()) as { readonly _tag: string; readonly reason: string; readonly message: string }
    assert.deepStrictEqual([error._tag, error.reason], ["DecisionsRefused", "UnknownCall"])
    assert.include(error.message, "stray")
    assert.strictEqual(sent.length, 1)
    // The pause still waits: the client's own request resumes it.
    await chat.sendMessage()
    assert.strictEqual(chat.status, "ready", String(chat.error))
    assert.deepInclude(chat.lastMessage!.parts.find((part) => part.type === "dynamic-tool"), { state: "output-available" })
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
