import type * as Prompt from "@effect/ai/Prompt"
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as HttpApp from "../layers/HttpApp.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import type { RunPaused } from "../src/AgentError.js"
import * as Approval from "../src/Approval.js"
import * as Registry from "../src/Registry.js"
import * as Retry from "../src/Retry.js"
import * as RunRecord from "../src/RunRecord.js"
import * as Runnable from "../src/Runnable.js"
import * as Team from "../src/Team.js"
import { backends, newUser, skipped } from "./fixtures/sessionStores.js"

const Transfer = Tool.make("transfer", {
  parameters: { to: Schema.String, amount: Schema.Number },
  success: Schema.String
})
const Bank = Toolkit.make(Transfer)
const BankLive = Bank.toLayer({ transfer: ({ amount, to }) => Effect.succeed(`sent ${amount} to ${to}`) })

const teller = Agent.make({ name: "Teller", toolkit: Bank, retry: Retry.none, approval: { transfer: true } })

const paused = <A, R>(effect: Effect.Effect<A, { readonly _tag: string }, R>): Effect.Effect<RunPaused, string, R> =>
  Effect.flip(effect).pipe(
    Effect.mapError(() => "the run finished instead of pausing"),
    Effect.flatMap((error) =>
      error._tag === "RunPaused" ? Effect.succeed(error as RunPaused) : Effect.fail(`the run failed with ${error._tag}`)
    )
  )

/** A prompt as lines a test can count: `role: text` per text part, `tool: result` per tool result. */
const transcript = (messages: ReadonlyArray<Prompt.Message>): Array<string> =>
  messages.flatMap((message) =>
    typeof message.content === "string"
      ? [`${message.role}: ${message.content}`]
      : message.content.flatMap((part) =>
        part.type === "text"
          ? [`${message.role}: ${part.text}`]
          : part.type === "tool-call"
          ? [`call: ${part.name}${JSON.stringify(part.params)}`]
          : part.type === "tool-result"
          ? [`result: ${JSON.stringify(part.result)}`]
          : []
      )
  )

const count = (lines: ReadonlyArray<string>, line: string) => lines.filter((one) => one === line).length

const promptOf = (index: number) =>
  Effect.map(TestModel.requests, (requests) => transcript(requests[index]!.prompt.content))

const statuses = (records: ReadonlyArray<SessionStore.RunRecord>) => records.map((record) => [record.runId, record.status])

if (Option.isSome(skipped)) {
  describe.skip(`SessionPause [postgres] (skipped: ${skipped.value})`, () => {
    it("pauses in sessions", () => {})
  })
}

for (const backend of backends) {
  describe(`a paused run in a session [${backend.name}]`, () => {
    const run = (name: string, script: TestModel.Script, body: Effect.Effect<void, unknown, any>) =>
      it.live(name, () =>
        body.pipe(
          Effect.provide(Layer.mergeAll(backend.layer, TestModel.layer(script), BankLive))
        ) as Effect.Effect<void, unknown>)

    run(
      "is recorded paused (not failed, not in history), and once resumed reads as if it had never paused",
      [
        TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
        TestModel.text("It is noon."),
        TestModel.text("Sent 10 to Ada."),
        TestModel.text("You're welcome.")
      ],
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = { userId: newUser(), sessionId: "main" }
        const options = { sessionId: key.sessionId, userId: key.userId }
        const pause = yield* paused(Agent.run(teller, "Pay Ada 10", options))

        const [record] = yield* store.load(key)
        assert.strictEqual(record!.status, "paused")
        assert.strictEqual(record!.runId, pause.runId)
        assert.deepStrictEqual(transcript(record!.input), ["user: Pay Ada 10"])
        assert.deepStrictEqual(
          record!.status === "paused" ? record!.pending.map((request) => [request.toolCallId, request.token]) : [],
          pause.pending.map((request) => [request.toolCallId, request.token])
        )
        assert.deepStrictEqual(yield* store.load(key, { status: "failed" }), [])

        // Another turn while the run waits: the paused question is not in its history.
        const other = yield* Agent.run(teller, "What time is it?", options)
        assert.strictEqual(other.text, "It is noon.")
        assert.strictEqual(count(yield* promptOf(1), "user: Pay Ada 10"), 0)

        const resumed = yield* Agent.resume(teller, pause.state, [Approval.approve("a")], options)
        assert.strictEqual(resumed.text, "Sent 10 to Ada.")
        assert.deepStrictEqual(statuses(yield* store.load(key)), [
          [pause.runId, "paused"],
          [other.runId, "completed"],
          [pause.runId, "completed"]
        ])
        const [done] = yield* store.load(key, { last: 1 })
        assert.deepStrictEqual(transcript(done!.messages), [
          "user: Pay Ada 10",
          "call: transfer{\"to\":\"Ada\",\"amount\":10}",
          "result: \"sent 10 to Ada\"",
          "assistant: Sent 10 to Ada."
        ])
        assert.deepStrictEqual(transcript(done!.input), ["user: Pay Ada 10"])
        assert.deepStrictEqual(done!.startedAt, record!.startedAt)
        assert.deepStrictEqual(done!.toolCalls.map((call) => call.id), ["a"])

        // The next turn's history has the resumed run's question and answer, once each.
        yield* Agent.run(teller, "Thanks", options)
        const prompt = yield* promptOf(3)
        assert.strictEqual(count(prompt, "user: Pay Ada 10"), 1)
        assert.strictEqual(count(prompt, "result: \"sent 10 to Ada\""), 1)
        assert.strictEqual(count(prompt, "assistant: Sent 10 to Ada."), 1)
        assert.strictEqual(count(prompt, "user: What time is it?"), 1)
      })
    )

    run(
      "a second pause of the same run, after a rejected call, is recorded paused again; the rejection is history",
      [
        TestModel.text("Hello."),
        TestModel.toolCall("transfer", { to: "Eve", amount: 5000 }, { id: "x" }),
        TestModel.toolCall("transfer", { to: "Eve", amount: 50 }, { id: "y" }),
        TestModel.text("Sent 50 to Eve instead."),
        TestModel.text("Ok.")
      ],
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = { userId: newUser(), sessionId: "main" }
        const options = { sessionId: key.sessionId, userId: key.userId }
        // A turn before: the paused run has history, which its resumed record must not take in.
        yield* Agent.run(teller, "Hi", options)
        const first = yield* paused(Agent.run(teller, "Pay Eve", options))
        const second = yield* paused(
          Runnable.resume(teller, first.state, [Approval.reject("x", "too much; at most 100")], options)
        )
        const records = yield* store.load(key)
        assert.deepStrictEqual(statuses(records.slice(1)), [[first.runId, "paused"], [first.runId, "paused"]])
        assert.deepStrictEqual(
          records.map((record) => record.status === "paused" ? record.pending.map((request) => request.toolCallId) : []),
          [[], ["x"], ["y"]]
        )
        assert.deepStrictEqual(transcript(records[2]!.input), ["user: Pay Eve"])

        const output = yield* Runnable.resume(teller, second.state, [Approval.approve("y")], options)
        assert.strictEqual(output.text, "Sent 50 to Eve instead.")
        assert.deepStrictEqual(statuses((yield* store.load(key)).slice(1)), [
          [first.runId, "paused"],
          [first.runId, "paused"],
          [first.runId, "completed"]
        ])
        const [, done] = yield* store.load(key, { status: "completed" })
        assert.deepStrictEqual(transcript(done!.messages)[0], "user: Pay Eve")
        assert.deepStrictEqual(done!.toolCalls.map((call) => [call.id, call.failure]), [["x", "Rejected"], ["y", undefined]])

        yield* Agent.run(teller, "Thanks", options)
        const prompt = yield* promptOf(4)
        assert.strictEqual(count(prompt, "user: Hi"), 1)
        assert.strictEqual(count(prompt, "assistant: Hello."), 1)
        assert.strictEqual(count(prompt, "user: Pay Eve"), 1)
        assert.strictEqual(count(prompt, "assistant: Sent 50 to Eve instead."), 1)
        assert.strictEqual(count(prompt, "result: \"sent 50 to Eve\""), 1)
        assert.strictEqual(prompt.filter((line) => line.startsWith("result:") && line.includes("too much; at most 100")).length, 1)
      })
    )

    run(
      "a resume that names no session the run paused in is a Stale ApprovalError (Forged for another user) and records nothing",
      [TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }), TestModel.text("Sent.")],
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = { userId: newUser(), sessionId: "main" }
        const pause = yield* paused(Agent.run(teller, "Pay Ada 10", key))
        // Another user's resume is refused before any session is read: the state is signed with its user.
        const others = [[{ ...key, sessionId: "other" }, "Stale"], [{ ...key, userId: newUser("intruder") }, "Forged"]] as const
        for (const [other, reason] of others) {
          const error = yield* Effect.flip(Runnable.resume(teller, pause.state, [Approval.approve("a")], other))
          assert.strictEqual(error._tag, "ApprovalError")
          assert.strictEqual(error._tag === "ApprovalError" && error.reason, reason)
          if (reason === "Stale") assert.include(error.message, pause.runId)
          assert.strictEqual((yield* Effect.flip(store.load(other)))._tag, "SessionNotFound")
        }
        // A refused resume in its own session (an edit the tool's schema refuses) records nothing.
        const invalid = yield* Effect.flip(
          Runnable.resume(teller, pause.state, [Approval.approve("a", { arguments: { to: "Ada", amount: "ten" } })], key)
        )
        assert.strictEqual(invalid._tag === "ApprovalError" && invalid.reason, "InvalidArguments")
        assert.deepStrictEqual(statuses(yield* store.load(key)), [[pause.runId, "paused"]])
        // The pause was not spent by the refused resumes: it resumes in its own session.
        const output = yield* Runnable.resume(teller, pause.state, [Approval.approve("a")], key)
        assert.strictEqual(output.text, "Sent.")
        // Resumed once: its last record is completed, so the session has no pause of it left.
        const again = yield* Effect.flip(Runnable.resume(teller, pause.state, [Approval.approve("a")], key))
        assert.strictEqual(again._tag === "ApprovalError" && again.reason, "Stale")
        assert.deepStrictEqual(statuses(yield* store.load(key)), [[pause.runId, "paused"], [pause.runId, "completed"]])
      })
    )

    run(
      "a resumed run that is interrupted is recorded cancelled, and stays out of history",
      [
        TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
        TestModel.text("late", { delay: "1 hour" }),
        TestModel.text("Hello.")
      ],
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const key = { userId: newUser(), sessionId: "main" }
        const pause = yield* paused(Agent.run(teller, "Pay Ada 10", key))
        const fiber = yield* Effect.fork(Runnable.resume(teller, pause.state, [Approval.approve("a")], key))
        // Interrupted while the model answers (after the approved call ran).
        while ((yield* TestModel.requests).length < 2 && Option.isNone(yield* Fiber.poll(fiber))) {
          yield* Effect.sleep("5 millis")
        }
        yield* Fiber.interrupt(fiber)
        assert.deepStrictEqual(statuses(yield* store.load(key)), [[pause.runId, "paused"], [pause.runId, "cancelled"]])
        yield* Agent.run(teller, "Hi", key)
        assert.strictEqual(count(yield* promptOf(2), "user: Pay Ada 10"), 0)
      })
    )

    run(
      "a routed team's member pauses; the team's run is recorded paused and, resumed as a stream, completed",
      [
        TestModel.text(JSON.stringify({ member: "Teller" })),
        TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
        TestModel.text("Sent 10 to Ada."),
        TestModel.text(JSON.stringify({ member: "Teller" })),
        TestModel.text("Ok.")
      ],
      Effect.gen(function*() {
        const store = yield* SessionStore.SessionStore
        const desk = Team.make({ name: "Desk", mode: "route", members: [teller], retry: Retry.none })
        const key = { userId: newUser(), sessionId: "main" }
        const pause = yield* paused(Team.run(desk, "Pay Ada 10", key))
        const [record] = yield* store.load(key)
        assert.deepStrictEqual([record!.agent, record!.status], ["Desk", "paused"])
        assert.deepStrictEqual(
          record!.status === "paused" ? record!.pending.map((request) => [request.path, request.toolCallId]) : [],
          [[["Teller"], "a"]]
        )
        const events = yield* Stream.runCollect(
          Team.resumeStream(desk, pause.state, [Approval.approve(pause.pending[0]!)], key)
        )
        assert.strictEqual(Chunk.last(events).pipe(Option.map((event) => event._tag), Option.getOrUndefined), "RunCompleted")
        assert.deepStrictEqual(statuses(yield* store.load(key)), [[pause.runId, "paused"], [pause.runId, "completed"]])
        yield* Team.run(desk, "Thanks", key)
        // A routed team's record is its router's conversation, as for a run that never paused.
        const prompt = yield* promptOf(3)
        assert.strictEqual(count(prompt, "user: Pay Ada 10"), 1)
        assert.strictEqual(count(prompt, "assistant: {\"member\":\"Teller\"}"), 1)
        assert.strictEqual(prompt.filter((line) => line.startsWith("system:")).length, 1)
      })
    )

    const withSql = backend.withSql
    if (Option.isSome(withSql)) {
      it.live("a store written before runs could pause still reads, and takes paused runs", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const store = yield* SessionStore.SessionStore
          const key = { userId: newUser(), sessionId: "main" }
          // A row as the previous version wrote it: its statuses had no "paused".
          const old = JSON.stringify({
            status: "completed",
            runId: "old-1",
            userId: key.userId,
            sessionId: key.sessionId,
            agent: "Teller",
            input: [{ role: "user", content: "Who are you?" }],
            messages: [{ role: "user", content: "Who are you?" }, { role: "assistant", content: "A teller." }],
            toolCalls: [],
            startedAt: "2025-01-01T00:00:00.000Z",
            finishedAt: "2025-01-01T00:00:01.000Z",
            output: { content: "A teller.", text: "A teller.", finishReason: "stop" }
          })
          yield* sql`INSERT INTO effect_agents_sessions
            (user_id, session_id, runs, state, state_version, created_at, updated_at)
            VALUES (${key.userId}, ${key.sessionId}, 1, '{}', 1, 0, 0)`
          yield* sql`INSERT INTO effect_agents_runs
            (user_id, session_id, seq, run_id, status, version, record, started_at, finished_at)
            VALUES (${key.userId}, ${key.sessionId}, 0, 'old-1', 'completed', 1, ${old}, 0, 1000)`

          const pause = yield* paused(Agent.run(teller, "Pay Ada 10", key))
          assert.include((yield* promptOf(0)).join("\n"), "assistant: A teller.")
          yield* Runnable.resume(teller, pause.state, [Approval.approve("a")], key)
          const records = yield* store.load(key)
          assert.deepStrictEqual(statuses(records), [["old-1", "completed"], [pause.runId, "paused"], [
            pause.runId,
            "completed"
          ]])
          assert.deepStrictEqual(records.map((record) => Schema.is(RunRecord.RunRecord)(record)), [true, true, true])
          assert.deepStrictEqual(transcript(records[2]!.messages)[0], "user: Pay Ada 10")
          yield* Agent.run(teller, "Thanks", key)
          const prompt = yield* promptOf(2)
          assert.strictEqual(count(prompt, "user: Who are you?"), 1)
          assert.strictEqual(count(prompt, "assistant: A teller."), 1)
          assert.strictEqual(count(prompt, "user: Pay Ada 10"), 1)
          assert.strictEqual(count(prompt, "assistant: Sent."), 1)
        }).pipe(
          Effect.provide(Layer.mergeAll(
            withSql.value,
            TestModel.layer([
              TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
              TestModel.text("Sent."),
              TestModel.text("Ok.")
            ]),
            BankLive
          ))
        ))
    }
  })
}

describe("a paused run in a session, over HTTP", () => {
  const post = (url: string, body: unknown) =>
    Effect.promise(() =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
        .then(async (response) => ({ status: response.status, text: await response.text() }))
    )
  const get = (url: string) => Effect.promise(() => fetch(url).then((response) => response.json()))

  it.scopedLive("the session lists the pause; the app's resume records the run in the session; history has it once", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0 }).pipe(
          Layer.provideMerge(Registry.layer([teller])),
          Layer.provide(BankLive),
          Layer.provideMerge(TestModel.layer([
            TestModel.toolCall("transfer", { to: "Ada", amount: 10 }, { id: "a" }),
            TestModel.toolCall("transfer", { to: "Ada", amount: 5 }, { id: "b" }),
            TestModel.text("Sent 15 to Ada."),
            TestModel.text("Bye.")
          ])),
          Layer.provideMerge(SessionStoreMemory.layer)
        )
      )
      const { url } = Context.get(context, HttpApp.HttpApp)
      const userId = newUser()
      const session = { sessionId: "main", userId }
      const runsUrl = `${url}/users/${userId}/sessions/main/runs`

      const first = yield* post(`${url}/agents/Teller/runs`, { input: "Pay Ada 15", runId: "h1", ...session })
      assert.strictEqual(first.status, 202)
      const listed = (yield* get(runsUrl)) as Array<{ status: string; runId: string; pending?: Array<{ toolCallId: string }> }>
      assert.deepStrictEqual(listed.map((run) => [run.runId, run.status]), [["h1", "paused"]])
      assert.deepStrictEqual(listed[0]!.pending!.map((request) => request.toolCallId), ["a"])

      // The resume names no session: the app remembers the one the run paused in, across two rounds.
      const second = yield* post(`${url}/runs/h1/resume`, { decisions: [{ _tag: "Approve", toolCallId: "a" }] })
      assert.strictEqual(second.status, 202)
      const done = yield* post(`${url}/runs/h1/resume`, { decisions: [{ _tag: "Approve", toolCallId: "b" }] })
      assert.strictEqual(done.status, 200)
      const after = (yield* get(runsUrl)) as Array<{ status: string; runId: string }>
      assert.deepStrictEqual(after.map((run) => [run.runId, run.status]), [["h1", "paused"], ["h1", "paused"], [
        "h1",
        "completed"
      ]])

      yield* post(`${url}/agents/Teller/runs`, { input: "Thanks", ...session })
      const prompt = transcript((yield* TestModel.requests.pipe(Effect.provide(context)))[3]!.prompt.content)
      assert.strictEqual(count(prompt, "user: Pay Ada 15"), 1)
      assert.strictEqual(count(prompt, "assistant: Sent 15 to Ada."), 1)
    }))
})
