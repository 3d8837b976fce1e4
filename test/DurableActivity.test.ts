import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as DurableActivity from "../layers/internal/durable/activity.js"
import * as AgentError from "../src/AgentError.js"
import * as Run from "../src/Run.js"

const Failure = Schema.Union(AgentError.AgentError, Schema.Unknown)

describe("DurableActivity.make", () => {
  it("gives activities of the same schemas one exit schema, and others another", () => {
    const first = DurableActivity.make({ name: "a", success: Run.ToolCall, error: Failure, execute: Effect.never })
    const second = DurableActivity.make({ name: "b", success: Run.ToolCall, error: Failure, execute: Effect.never })
    const other = DurableActivity.make({ name: "c", success: Schema.Unknown, error: Failure, execute: Effect.never })
    assert.strictEqual(first.exitSchema, second.exitSchema)
    assert.notStrictEqual<unknown>(first.exitSchema, other.exitSchema)
  })

  it.effect("decodes a stored result with the activity's schemas: a failure keeps its class", () =>
    Effect.gen(function*() {
      const activity = DurableActivity.make({ name: "a", success: Schema.Unknown, error: Failure, execute: Effect.never })
      const error = new AgentError.ToolError({ tool: "lookup", toolCallId: "call_1", message: "down" })
      // As the engine has it after storing it as JSON: the error encoded, then parsed back.
      const stored = Exit.fail(JSON.parse(JSON.stringify(Schema.encodeSync(Failure)(error))))
      const decoded = yield* Schema.decode(activity.exitSchema as Schema.Schema<Exit.Exit<unknown, unknown>, Exit.Exit<unknown, unknown>>)(
        stored
      )
      assert.isTrue(Exit.isFailure(decoded))
      const failure = Exit.isFailure(decoded) && decoded.cause._tag === "Fail" ? decoded.cause.error : undefined
      assert.instanceOf(failure, AgentError.ToolError)
      const success = yield* Schema.decode(activity.exitSchema as Schema.Schema<Exit.Exit<unknown, unknown>, Exit.Exit<unknown, unknown>>)(
        Exit.succeed({ text: "hi" })
      )
      assert.deepStrictEqual(success, Exit.succeed({ text: "hi" }))
    }))
})
