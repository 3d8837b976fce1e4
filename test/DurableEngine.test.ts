import * as Activity from "@effect/workflow/Activity"
import * as DurableClock from "@effect/workflow/DurableClock"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import * as EngineWorkflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Engine from "../layers/internal/durable/engine.js"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"

/** How often each piece of work ran, kept outside the engines (one engine stands for one process). */
type Counts = Record<string, number>
const count = (counts: Counts, name: string) => Effect.sync(() => void (counts[name] = (counts[name] ?? 0) + 1))

/** A real wait (the engine's I/O is real), whatever clock the test runs on. */
const pause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

const tempFile = Effect.acquireRelease(
  Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-engine-"))),
  (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => Path.join(dir, "runs.db")))

const Approval = DurableDeferred.make("approval", { success: Schema.String })

const Waits = EngineWorkflow.make({
  name: "Waits",
  payload: { id: Schema.String },
  success: Schema.String,
  idempotencyKey: ({ id }) => id
})

/** An activity, then a wait for the approval, then another activity; the workflow's finalizer counts. */
const waitsLayer = (counts: Counts) =>
  Waits.toLayer(({ id }) =>
    Effect.gen(function*() {
      yield* EngineWorkflow.addFinalizer(() => count(counts, "finalized"))
      const first = yield* Activity.make({
        name: "first",
        success: Schema.String,
        execute: Effect.as(count(counts, "first"), `first of ${id}`)
      })
      const approved = yield* DurableDeferred.await(Approval)
      return yield* Activity.make({
        name: "last",
        success: Schema.String,
        execute: Effect.as(count(counts, "last"), `${first}, ${approved}`)
      })
    })
  )

/** One process's engine on `database`, with the workflow registered, in a scope the test closes. */
const engineOn = <ROut>(database: string, workflows: Layer.Layer<ROut, never, WorkflowEngine.WorkflowEngine>, options?: Engine.Options) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      workflows.pipe(
        Layer.provideMerge(Engine.layer(options)),
        Layer.provideMerge(SessionStoreSql.layerSqliteClient({ filename: database })),
        Layer.orDie
      ),
      scope
    )
    return { scope, context: context as Context.Context<WorkflowEngine.WorkflowEngine | SqlClient.SqlClient> }
  })

/** Polls the execution until it is not running: its result, suspended or complete. */
const settled = (
  workflow: {
    readonly poll: (executionId: string) => Effect.Effect<EngineWorkflow.Result<unknown, unknown> | undefined, never, WorkflowEngine.WorkflowEngine>
  },
  executionId: string
) =>
  Effect.gen(function*() {
    while (true) {
      const result = yield* workflow.poll(executionId)
      if (result !== undefined) return result
      yield* pause(10)
    }
  })

const executionOf = (id: string) => Waits.executionId({ id })

describe("DurableEngine, stored exits", () => {
  const schema = Schema.parseJson(Schema.Exit({ success: Schema.Unknown, failure: Schema.Unknown, defect: Schema.Defect }))
  it.prop("a success's JSON, written without the schema, is the schema's, and reads back as the schema reads it", {
    value: FastCheck.jsonValue()
  }, ({ value }) => {
    const exit = Exit.succeed(value)
    const json = Engine.encodeExit(exit)
    assert.strictEqual(json, Schema.encodeSync(schema)(exit))
    assert.deepStrictEqual(Engine.decodeExit(json), Schema.decodeSync(schema)(json))
  })

  it("a failure goes through the schema: its error and its defect read back", () => {
    const failed = Engine.decodeExit(Engine.encodeExit(Exit.fail({ reason: "no" })))
    assert.deepStrictEqual(failed, Exit.fail({ reason: "no" }))
    const died = Engine.decodeExit(Engine.encodeExit(Exit.die(new Error("boom"))))
    assert.isTrue(Exit.isFailure(died) && Cause.isDie(died.cause))
  })
})

describe("DurableEngine, on a SQLite file", () => {
  it.scoped("a run waits on its deferred; the same execution id joins it and then gives its stored result", () =>
    Effect.gen(function*() {
      const database = yield* tempFile
      const counts: Counts = {}
      const { context } = yield* engineOn(database, waitsLayer(counts))
      const executionId = yield* executionOf("a")
      const first = yield* Effect.fork(Waits.execute({ id: "a" }).pipe(Effect.provide(context)))
      const second = yield* Effect.fork(Waits.execute({ id: "a" }).pipe(Effect.provide(context)))
      const suspended = yield* settled(Waits, executionId).pipe(Effect.provide(context))
      assert.strictEqual(suspended._tag, "Suspended")
      const token = DurableDeferred.tokenFromExecutionId(Approval, { workflow: Waits, executionId })
      yield* DurableDeferred.succeed(Approval, { token, value: "yes" }).pipe(Effect.provide(context))
      assert.strictEqual(yield* Fiber.join(first), "first of a, yes")
      assert.strictEqual(yield* Fiber.join(second), "first of a, yes")
      assert.strictEqual(yield* Waits.execute({ id: "a" }).pipe(Effect.provide(context)), "first of a, yes")
      assert.deepStrictEqual(counts, { first: 1, last: 1, finalized: 1 })
      // What the engine committed: the execution's result, its two activities, its deferred.
      const sql = Context.get(context, SqlClient.SqlClient)
      const rows = yield* sql<{ readonly status: string }>`SELECT status FROM effect_agents_engine_executions`
      assert.deepStrictEqual(rows.map((row) => row.status), ["complete"])
      const activities = yield* sql<{ readonly name: string }>`SELECT name FROM effect_agents_engine_activities ORDER BY name`
      assert.deepStrictEqual(activities.map((row) => row.name), ["first", "last"])
    }), 30_000)

  it.scoped("a run stopped while it waits is taken up by the next engine on the file, which finishes it", () =>
    Effect.gen(function*() {
      const database = yield* tempFile
      const counts: Counts = {}
      const executionId = yield* executionOf("b")
      const one = yield* engineOn(database, waitsLayer(counts))
      yield* Waits.execute({ id: "b" }, { discard: true }).pipe(Effect.provide(one.context))
      assert.strictEqual((yield* settled(Waits, executionId).pipe(Effect.provide(one.context)))._tag, "Suspended")
      yield* Scope.close(one.scope, Exit.void)
      assert.deepStrictEqual(counts, { first: 1 })

      const two = yield* engineOn(database, waitsLayer(counts))
      const token = DurableDeferred.tokenFromExecutionId(Approval, { workflow: Waits, executionId })
      yield* DurableDeferred.succeed(Approval, { token, value: "later" }).pipe(Effect.provide(two.context))
      assert.strictEqual(yield* Waits.execute({ id: "b" }).pipe(Effect.provide(two.context)), "first of b, later")
      // The settled activity is not run again; the finalizer runs once, when the run ends.
      assert.deepStrictEqual(counts, { first: 1, last: 1, finalized: 1 })
      yield* Scope.close(two.scope, Exit.void)

      // A third engine gives the stored result and runs nothing.
      const three = yield* engineOn(database, waitsLayer(counts))
      assert.strictEqual(yield* Waits.execute({ id: "b" }).pipe(Effect.provide(three.context)), "first of b, later")
      assert.deepStrictEqual(counts, { first: 1, last: 1, finalized: 1 })
    }), 30_000)

  it.scoped("a deferred completed after the run read it and before it suspended wakes it (no sweep)", () =>
    Effect.gen(function*() {
      const database = yield* tempFile
      const counts: Counts = {}
      // The run reads the deferred (not done) while its activity runs, and suspends only once the
      // activity ends (`@effect/workflow` waits for them): the activity completes the deferred in
      // between, after the read and before the suspension.
      const Race = EngineWorkflow.make({ name: "Race", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })
      const race = Race.toLayer((_, executionId) =>
        Effect.gen(function*() {
          const [, approved] = yield* Effect.all([
            Activity.make({
              name: "approve",
              execute: Effect.gen(function*() {
                yield* count(counts, "approve")
                // Let the run read the deferred first.
                yield* pause(50)
                const token = DurableDeferred.tokenFromExecutionId(Approval, { workflow: Race, executionId })
                yield* DurableDeferred.succeed(Approval, { token, value: "raced" })
              })
            }),
            Effect.zipRight(pause(10), DurableDeferred.await(Approval))
          ], { concurrency: 2 })
          return approved
        })
      )
      const { context } = yield* engineOn(database, race)
      const executionId = yield* Race.executionId({ id: "r" })
      yield* Race.execute({ id: "r" }, { discard: true }).pipe(Effect.provide(context))
      const result = yield* settled(Race, executionId).pipe(Effect.provide(context))
      assert.strictEqual(result._tag, "Complete")
      assert.deepStrictEqual(result._tag === "Complete" ? result.exit : undefined, Exit.succeed("raced"))
      assert.deepStrictEqual(counts, { approve: 1 })
    }), 30_000)

  it.scoped("a child workflow's suspension suspends its parent; the child's end resumes it, with the child's result", () =>
    Effect.gen(function*() {
      const database = yield* tempFile
      const counts: Counts = {}
      const Parent = EngineWorkflow.make({ name: "Parent", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })
      const parent = Parent.toLayer(({ id }) =>
        Effect.gen(function*() {
          yield* count(counts, "parent body")
          const child = yield* Waits.execute({ id: `${id}-child` })
          return `parent of ${child}`
        })
      )
      const { context } = yield* engineOn(database, Layer.merge(parent, waitsLayer(counts)))
      const parentId = yield* Parent.executionId({ id: "p" })
      const childId = yield* executionOf("p-child")
      yield* Parent.execute({ id: "p" }, { discard: true }).pipe(Effect.provide(context))
      assert.strictEqual((yield* settled(Waits, childId).pipe(Effect.provide(context)))._tag, "Suspended")
      assert.strictEqual((yield* settled(Parent, parentId).pipe(Effect.provide(context)))._tag, "Suspended")
      const token = DurableDeferred.tokenFromExecutionId(Approval, { workflow: Waits, executionId: childId })
      yield* DurableDeferred.succeed(Approval, { token, value: "ok" }).pipe(Effect.provide(context))
      assert.strictEqual(yield* Parent.execute({ id: "p" }).pipe(Effect.provide(context)), "parent of first of p-child, ok")
      assert.deepStrictEqual(counts, { "parent body": 2, first: 1, last: 1, finalized: 1 })
    }), 30_000)

  it.scoped("interrupt ends a waiting run interrupted, its finalizer runs once, and no engine runs it again", () =>
    Effect.gen(function*() {
      const database = yield* tempFile
      const counts: Counts = {}
      const executionId = yield* executionOf("c")
      const one = yield* engineOn(database, waitsLayer(counts))
      const waiter = yield* Effect.fork(Effect.exit(Waits.execute({ id: "c" }).pipe(Effect.provide(one.context))))
      assert.strictEqual((yield* settled(Waits, executionId).pipe(Effect.provide(one.context)))._tag, "Suspended")
      yield* Waits.interrupt(executionId).pipe(Effect.provide(one.context))
      const exit = yield* Fiber.join(waiter)
      assert.isTrue(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause), String(exit))
      assert.deepStrictEqual(counts, { first: 1, finalized: 1 })
      yield* Scope.close(one.scope, Exit.void)

      const two = yield* engineOn(database, waitsLayer(counts))
      const again = yield* Effect.exit(Waits.execute({ id: "c" }).pipe(Effect.provide(two.context)))
      assert.isTrue(Exit.isFailure(again) && Cause.isInterruptedOnly(again.cause), String(again))
      assert.deepStrictEqual(counts, { first: 1, finalized: 1 })
    }), 30_000)

  it.scoped("a durable clock rings after a restart, at the time set when the run first slept", () =>
    Effect.gen(function*() {
      const database = yield* tempFile
      const counts: Counts = {}
      const Sleeps = EngineWorkflow.make({ name: "Sleeps", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })
      const sleeps = Sleeps.toLayer(() =>
        Effect.gen(function*() {
          yield* Activity.make({ name: "before", execute: count(counts, "before") })
          yield* DurableClock.sleep({ name: "nap", duration: "1 hour", inMemoryThreshold: "1 second" })
          yield* Activity.make({ name: "after", execute: count(counts, "after") })
          return "woke"
        })
      )
      const executionId = yield* Sleeps.executionId({ id: "s" })
      const one = yield* engineOn(database, sleeps)
      yield* Sleeps.execute({ id: "s" }, { discard: true }).pipe(Effect.provide(one.context))
      assert.strictEqual((yield* settled(Sleeps, executionId).pipe(Effect.provide(one.context)))._tag, "Suspended")
      yield* TestClock.adjust("40 minutes")
      yield* Scope.close(one.scope, Exit.void)
      assert.deepStrictEqual(counts, { before: 1 })

      const two = yield* engineOn(database, sleeps)
      const done = yield* Effect.fork(Sleeps.execute({ id: "s" }).pipe(Effect.provide(two.context)))
      assert.strictEqual((yield* settled(Sleeps, executionId).pipe(Effect.provide(two.context)))._tag, "Suspended")
      // 40 minutes passed before the restart: the clock rings 20 minutes after it, not an hour.
      yield* TestClock.adjust("19 minutes")
      yield* pause(100)
      assert.isNull(done.unsafePoll())
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(done), "woke")
      assert.deepStrictEqual(counts, { before: 1, after: 1 })
    }), 30_000)

  it.scoped("stopping lets the activity in flight end and store its result; the run is left to the next engine", () =>
    Effect.gen(function*() {
      const database = yield* tempFile
      const counts: Counts = {}
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const Slow = EngineWorkflow.make({ name: "Slow", payload: { id: Schema.String }, success: Schema.String, idempotencyKey: ({ id }) => id })
      const slow = Slow.toLayer(() =>
        Effect.gen(function*() {
          const value = yield* Activity.make({
            name: "slow",
            success: Schema.String,
            execute: count(counts, "slow").pipe(
              Effect.zipRight(Deferred.succeed(started, undefined)),
              Effect.zipRight(Deferred.await(release)),
              Effect.as("slow done")
            )
          })
          yield* Activity.make({ name: "next", execute: count(counts, "next") })
          return value
        })
      )
      const one = yield* engineOn(database, slow, { terminationTimeout: "1 minute" })
      yield* Slow.execute({ id: "x" }, { discard: true }).pipe(Effect.provide(one.context))
      yield* Deferred.await(started)
      const closing = yield* Effect.fork(Scope.close(one.scope, Exit.void))
      yield* pause(50)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(closing)
      // The activity in flight ended and its result was stored; none started after it.
      assert.deepStrictEqual(counts, { slow: 1 })

      const two = yield* engineOn(database, slow)
      assert.strictEqual(yield* Slow.execute({ id: "x" }).pipe(Effect.provide(two.context)), "slow done")
      assert.deepStrictEqual(counts, { slow: 1, next: 1 })
    }), 30_000)
})
