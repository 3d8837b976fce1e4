/**
 * Tools worked out for each run: an agent whose tools come from a service (here, the role of the
 * user it runs for) offers each run the tools that run may use, and runs their handlers.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestModel from "../layers/TestModel.js"
import * as Agent from "../src/Agent.js"
import type { AgentError } from "../src/AgentError.js"
import type * as Run from "../src/Run.js"

class Role extends Context.Tag("test/Role")<Role, "admin" | "user">() {}
/** What the tools did, for the test to read. */
class Journal extends Context.Tag("test/Journal")<Journal, Ref.Ref<ReadonlyArray<string>>>() {}

const Read = Tool.make("read", { parameters: { path: Schema.String }, success: Schema.String })
const Erase = Tool.make("erase", { parameters: { path: Schema.String }, success: Schema.String })
const Everything = Toolkit.make(Read, Erase)
const ReadOnly = Toolkit.make(Read)

const Clock_ = Tool.make("clock", { success: Schema.String })
const Static = Toolkit.make(Clock_)
const StaticLive = Static.toLayer({ clock: () => Effect.succeed("noon") })

const files = Agent.make({
  name: "Files",
  toolkit: Static,
  tools: Effect.gen(function*() {
    const role = yield* Role
    const journal = yield* Journal
    const note = (line: string) => Ref.update(journal, (lines) => [...lines, line])
    const read = ({ path }: { readonly path: string }) => Effect.as(note(`${role} read ${path}`), `contents of ${path}`)
    return role === "admin"
      ? yield* Agent.toolset(Everything, { read, erase: ({ path }) => Effect.as(note(`${role} erased ${path}`), "erased") })
      : yield* Agent.toolset(ReadOnly, { read })
  })
})

/** Calls `erase` then `read` then answers, and records what each request offered. */
const model = (offered: Array<ReadonlyArray<string>>) =>
  TestModel.layer((request) => {
    offered.push([...request.tools].sort())
    const turn = request.prompt.content.filter((message) => message.role === "tool").length
    return turn === 0
      ? TestModel.toolCall("erase", { path: "/tmp/x" })
      : turn === 1
      ? TestModel.toolCall("read", { path: "/tmp/x" })
      : TestModel.text("done")
  })

const runAs = (role: "admin" | "user") =>
  Effect.gen(function*() {
    const journal = yield* Ref.make<ReadonlyArray<string>>([])
    const offered: Array<ReadonlyArray<string>> = []
    const output = yield* Agent.run(files, "tidy up").pipe(
      Effect.provide(Layer.mergeAll(model(offered), StaticLive, Layer.succeed(Role, role), Layer.succeed(Journal, journal)))
    )
    return { output, offered, journal: yield* Ref.get(journal) }
  })

describe("tools worked out for each run", () => {
  it("put what building them needs in the agent's requirements", () => {
    expectTypeOf(files).toEqualTypeOf<
      Agent.Agent<string, LanguageModel.LanguageModel | Tool.Handler<"clock"> | Role | Journal>
    >()
    expectTypeOf(Agent.run(files, "x")).toEqualTypeOf<
      Effect.Effect<Run.Output<string>, AgentError, LanguageModel.LanguageModel | Tool.Handler<"clock"> | Role | Journal>
    >()
  })

  it.effect("offer an admin's run every tool, beside the static ones, and run their handlers", () =>
    Effect.gen(function*() {
      const { journal, offered, output } = yield* runAs("admin")
      assert.strictEqual(output.content, "done")
      assert.deepStrictEqual(offered[0], ["clock", "erase", "read"])
      assert.deepStrictEqual(journal, ["admin erased /tmp/x", "admin read /tmp/x"])
      assert.deepStrictEqual(output.toolCalls.map((call) => [call.name, call.failure]), [
        ["erase", undefined],
        ["read", undefined]
      ])
    }))

  it.effect("offer a user's run only its tools: a call to another goes back to the model as unknown", () =>
    Effect.gen(function*() {
      const { journal, offered, output } = yield* runAs("user")
      assert.deepStrictEqual(offered[0], ["clock", "read"])
      assert.deepStrictEqual(journal, ["user read /tmp/x"])
      assert.deepStrictEqual(output.toolCalls.map((call) => [call.name, call.failure]), [
        ["erase", "UnknownTool"],
        ["read", undefined]
      ])
    }))

  it.effect("are worked out again for every run, so one agent serves both roles at once", () =>
    Effect.gen(function*() {
      const [admin, user] = yield* Effect.all([runAs("admin"), runAs("user")], { concurrency: "unbounded" })
      assert.deepStrictEqual(admin.offered[0], ["clock", "erase", "read"])
      assert.deepStrictEqual(user.offered[0], ["clock", "read"])
    }))
})
