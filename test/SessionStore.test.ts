import * as Prompt from "@effect/ai/Prompt"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"
import * as SessionStore from "../services/SessionStore.js"
import { ModelError } from "../src/AgentError.js"
import * as RunRecord from "../src/RunRecord.js"
import { backends, newUser, skipped } from "./fixtures/sessionStores.js"

const root = Path.resolve(import.meta.dirname, "..")

// One conformance suite, run against every backend (see fixtures/sessionStores.ts for which run).

const text = (role: "user" | "assistant", content: string): Prompt.Message =>
  role === "user"
    ? Prompt.makeMessage("user", { content: [Prompt.makePart("text", { text: content })] })
    : Prompt.makeMessage("assistant", { content: [Prompt.makePart("text", { text: content })] })

const at = (seconds: number) => DateTime.unsafeMake(1_700_000_000_000 + seconds * 1000)

const completed = (key: SessionStore.SessionKey, n: number, content: unknown = `answer ${n}`): SessionStore.RunRecord => ({
  status: "completed",
  runId: `run-${n}`,
  userId: key.userId,
  sessionId: key.sessionId,
  agent: "Chat",
  input: [text("user", `question ${n}`)],
  messages: [text("user", `question ${n}`), text("assistant", `answer ${n}`)],
  toolCalls: [{ id: "call_1", name: "add", arguments: { a: 1, b: n }, result: 1 + n, duration: Duration.millis(3) }],
  metrics: {
    inputTokens: 10,
    outputTokens: 5,
    totalTokens: 15,
    modelCalls: 2,
    toolCalls: 1,
    retries: 0,
    duration: Duration.millis(120)
  },
  startedAt: at(n),
  finishedAt: at(n + 0.5),
  output: { content, text: `answer ${n}`, finishReason: "stop", model: "test-model" }
})

const failed = (key: SessionStore.SessionKey, n: number): SessionStore.RunRecord => ({
  status: "failed",
  runId: `run-${n}`,
  userId: key.userId,
  sessionId: key.sessionId,
  agent: "Chat",
  input: [text("user", `question ${n}`)],
  messages: [text("user", `question ${n}`)],
  toolCalls: [],
  startedAt: at(n),
  finishedAt: at(n + 1),
  error: new ModelError({
    reason: "RateLimited",
    message: "429",
    retryable: true,
    retryAfter: Duration.seconds(5),
    status: 429
  })
})

const cancelled = (key: SessionStore.SessionKey, n: number): SessionStore.RunRecord => ({
  status: "cancelled",
  runId: `run-${n}`,
  userId: key.userId,
  sessionId: key.sessionId,
  agent: "Chat",
  input: [text("user", `question ${n}`)],
  messages: [text("user", `question ${n}`)],
  toolCalls: [],
  startedAt: at(n),
  finishedAt: at(n + 2)
})

const encoded = Schema.encodeSync(RunRecord.RunRecord)
const runIds = (records: ReadonlyArray<SessionStore.RunRecord>) => records.map((record) => record.runId)
const newKey = (): SessionStore.SessionKey => ({ userId: newUser(), sessionId: "main" })

const store = SessionStore.SessionStore

if (Option.isSome(skipped)) {
  describe.skip(`SessionStore [postgres] (skipped: ${skipped.value})`, () => {
    it("conformance", () => {})
  })
}

for (const backend of backends) {
  describe(`SessionStore [${backend.name}]`, () => {
    const live = <A, E>(name: string, effect: Effect.Effect<A, E, SessionStore.SessionStore>) =>
      it.live(name, () => Effect.provide(effect, backend.layer))

    live("returns a session's runs oldest first, exactly as they were appended, of every status", Effect.gen(function*() {
      const sessions = yield* store
      const key = newKey()
      const records = [completed(key, 1, { title: "Dune", year: 1965 }), failed(key, 2), cancelled(key, 3), completed(key, 4)]
      for (const record of records) yield* sessions.append(record)
      const loaded = yield* sessions.load(key)
      assert.deepStrictEqual(loaded.map((record) => encoded(record)), records.map((record) => encoded(record)))
      const error = loaded[1]!.status === "failed" ? loaded[1]!.error : undefined
      assert.instanceOf(error, ModelError)
      assert.deepStrictEqual((error as ModelError).retryAfter, Duration.seconds(5))
    }))

    live("loads the last runs, and only those that ended as asked", Effect.gen(function*() {
      const sessions = yield* store
      const key = newKey()
      yield* sessions.append(completed(key, 1))
      yield* sessions.append(completed(key, 2))
      yield* sessions.append(failed(key, 3))
      yield* sessions.append(completed(key, 4))
      yield* sessions.append(cancelled(key, 5))
      assert.deepStrictEqual(runIds(yield* sessions.load(key, { last: 2 })), ["run-4", "run-5"])
      assert.deepStrictEqual(runIds(yield* sessions.load(key, { status: "completed" })), ["run-1", "run-2", "run-4"])
      assert.deepStrictEqual(runIds(yield* sessions.load(key, { last: 2, status: "completed" })), ["run-2", "run-4"])
      assert.deepStrictEqual(runIds(yield* sessions.load(key, { last: 0 })), [])
    }))

    live("an unknown session is an error, not an empty history", Effect.gen(function*() {
      const sessions = yield* store
      const key = newKey()
      const error = yield* Effect.flip(sessions.load(key))
      assert.instanceOf(error, SessionStore.SessionNotFound)
      assert.deepStrictEqual({ userId: error.userId, sessionId: error.sessionId }, key)
      assert.instanceOf(yield* Effect.flip(sessions.state(key)), SessionStore.SessionNotFound)
      assert.instanceOf(yield* Effect.flip(sessions.delete(key)), SessionStore.SessionNotFound)
    }))

    live("two users with the same session id have two sessions", Effect.gen(function*() {
      const sessions = yield* store
      const ada = { userId: newUser("ada"), sessionId: "default" }
      const bob = { userId: newUser("bob"), sessionId: "default" }
      yield* sessions.append(completed(ada, 1))
      yield* sessions.append(completed(bob, 2))
      yield* sessions.append(completed(ada, 3))
      yield* sessions.modifyState(bob, (state) => [undefined, { ...state, secret: "bob's" }])

      assert.deepStrictEqual(runIds(yield* sessions.load(ada)), ["run-1", "run-3"])
      assert.deepStrictEqual(runIds(yield* sessions.load(bob)), ["run-2"])
      assert.deepStrictEqual(yield* sessions.state(ada), {})
      assert.deepStrictEqual((yield* sessions.list(ada.userId)).map((s) => [s.sessionId, s.runs]), [["default", 2]])
      assert.deepStrictEqual((yield* sessions.list(bob.userId)).map((s) => [s.sessionId, s.runs]), [["default", 1]])

      yield* sessions.delete(ada)
      assert.instanceOf(yield* Effect.flip(sessions.load(ada)), SessionStore.SessionNotFound)
      assert.deepStrictEqual(runIds(yield* sessions.load(bob)), ["run-2"])
      assert.deepStrictEqual(yield* sessions.state(bob), { secret: "bob's" })
    }))

    live("lists a user's sessions, the most recently updated first", Effect.gen(function*() {
      const sessions = yield* store
      const userId = newUser()
      assert.deepStrictEqual(yield* sessions.list(userId), [])
      yield* sessions.append(completed({ userId, sessionId: "a" }, 1))
      yield* Effect.sleep("5 millis")
      yield* sessions.append(completed({ userId, sessionId: "b" }, 1))
      yield* Effect.sleep("5 millis")
      yield* sessions.append(completed({ userId, sessionId: "a" }, 2))
      const listed = yield* sessions.list(userId)
      assert.deepStrictEqual(listed.map((s) => [s.userId, s.sessionId, s.runs]), [[userId, "a", 2], [userId, "b", 1]])
      assert.isTrue(DateTime.lessThan(listed[0]!.createdAt, listed[0]!.updatedAt))
    }))

    live("deletes a session's runs and state; a new session under the same id starts empty", Effect.gen(function*() {
      const sessions = yield* store
      const key = newKey()
      yield* sessions.append(completed(key, 1))
      yield* sessions.modifyState(key, () => [undefined, { cart: ["tea"] }])
      yield* sessions.delete(key)
      assert.instanceOf(yield* Effect.flip(sessions.state(key)), SessionStore.SessionNotFound)
      yield* sessions.append(completed(key, 2))
      assert.deepStrictEqual(runIds(yield* sessions.load(key)), ["run-2"])
      assert.deepStrictEqual(yield* sessions.state(key), {})
    }))

    live("100 concurrent appends to one session: 100 records, each once, in one order", Effect.gen(function*() {
      const sessions = yield* store
      const key = newKey()
      const acknowledged: Array<string> = []
      yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => completed(key, i)),
        (record) => Effect.tap(sessions.append(record), () => Effect.sync(() => acknowledged.push(record.runId))),
        { concurrency: "unbounded", discard: true }
      )
      const first = runIds(yield* sessions.load(key))
      const second = runIds(yield* sessions.load(key))
      assert.strictEqual(first.length, 100)
      assert.strictEqual(new Set(first).size, 100)
      assert.deepStrictEqual(second, first)
      assert.deepStrictEqual([...first].sort(), [...acknowledged].sort())
      assert.deepStrictEqual(runIds(yield* sessions.load(key, { last: 3 })), first.slice(-3))
      assert.strictEqual((yield* sessions.list(key.userId))[0]!.runs, 100)
    }))

    live("refuses a record it cannot store, and stores nothing of it", Effect.gen(function*() {
      const sessions = yield* store
      const key = newKey()
      const empty = yield* Effect.flip(sessions.append({ ...completed(key, 1), sessionId: "" }))
      assert.strictEqual(empty.reason, "InvalidInput")
      const bigint = yield* Effect.flip(sessions.append(completed(key, 2, 10n)))
      assert.strictEqual(bigint.reason, "InvalidInput")
      assert.match(bigint.message, /run-2/)
      assert.instanceOf(yield* Effect.flip(sessions.load(key)), SessionStore.SessionNotFound)
    }))

    live("state: created with the session, changed atomically, never a lost update", Effect.gen(function*() {
      const sessions = yield* store
      const key = newKey()
      const before = yield* sessions.modifyState(key, (state) => [state, { ...state, visits: 0 }])
      assert.deepStrictEqual(before, {})
      assert.deepStrictEqual(yield* sessions.load(key), [])
      yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        () => sessions.modifyState(key, (state) => [undefined, { ...state, visits: (state["visits"] as number) + 1 }]),
        { concurrency: "unbounded", discard: true }
      )
      assert.deepStrictEqual(yield* sessions.state(key), { visits: 50 })
      yield* sessions.append(completed(key, 1))
      assert.deepStrictEqual(yield* sessions.state(key), { visits: 50 })
      const bad = yield* Effect.flip(sessions.modifyState(key, (state) => [undefined, { ...state, n: 1n }]))
      assert.strictEqual(bad._tag === "SessionStoreError" && bad.reason, "InvalidInput")
      assert.deepStrictEqual(yield* sessions.state(key), { visits: 50 })
    }))

    if (Option.isSome(backend.withSql)) {
      const withSql = backend.withSql.value
      const sqlLive = <A, E>(name: string, effect: Effect.Effect<A, E, SessionStore.SessionStore | SqlClient.SqlClient>) =>
        it.live(name, () => Effect.provide(effect, withSql))

      sqlLive("an append inside the caller's transaction commits and rolls back with it", Effect.gen(function*() {
        const sessions = yield* store
        const sql = yield* SqlClient.SqlClient
        const kept = newKey()
        yield* sql.withTransaction(sessions.append(completed(kept, 1)))
        assert.deepStrictEqual(runIds(yield* sessions.load(kept)), ["run-1"])
        const dropped = newKey()
        const exit = yield* Effect.exit(sql.withTransaction(
          Effect.zipRight(sessions.append(completed(dropped, 1)), Effect.fail("abort" as const))
        ))
        assert.isTrue(exit._tag === "Failure")
        assert.strictEqual((yield* Effect.flip(sessions.load(dropped)))._tag, "SessionNotFound")
        // The store still works after the rollback.
        yield* sessions.append(completed(dropped, 2))
        assert.deepStrictEqual(runIds(yield* sessions.load(dropped)), ["run-2"])
      }))

      sqlLive("a damaged row is a Corrupt error naming it, never a shorter history", Effect.gen(function*() {
        const sessions = yield* store
        const sql = yield* SqlClient.SqlClient
        const key = newKey()
        for (const n of [1, 2, 3]) yield* sessions.append(completed(key, n))
        yield* sql`UPDATE effect_agents_runs SET record = ${"{\"status\":\"completed\",\"runId\""}
          WHERE user_id = ${key.userId} AND seq = 2`
        const error = yield* Effect.flip(sessions.load(key))
        assert.strictEqual(error._tag === "SessionStoreError" && error.reason, "Corrupt")
        assert.match(error.message, /Run 2/)
        // A later window that does not reach the damaged row still loads.
        assert.deepStrictEqual(runIds(yield* sessions.load(key, { last: 1 })), ["run-3"])

        yield* sql`UPDATE effect_agents_runs SET record = ${JSON.stringify({ status: "completed", runId: 7 })}
          WHERE user_id = ${key.userId} AND seq = 2`
        const invalid = yield* Effect.flip(sessions.load(key))
        assert.strictEqual(invalid._tag === "SessionStoreError" && invalid.reason, "Corrupt")
      }))

      sqlLive("a row written by a newer version is an UnsupportedVersion error", Effect.gen(function*() {
        const sessions = yield* store
        const sql = yield* SqlClient.SqlClient
        const key = newKey()
        yield* sessions.append(completed(key, 1))
        yield* sql`UPDATE effect_agents_runs SET version = 99 WHERE user_id = ${key.userId}`
        const error = yield* Effect.flip(sessions.load(key))
        assert.strictEqual(error._tag === "SessionStoreError" && error.reason, "UnsupportedVersion")
        yield* sql`UPDATE effect_agents_sessions SET state_version = 99 WHERE user_id = ${key.userId}`
        const state = yield* Effect.flip(sessions.state(key))
        assert.strictEqual(state._tag === "SessionStoreError" && state.reason, "UnsupportedVersion")
      }))

      sqlLive("a row that holds another session's record is Corrupt, not shown", Effect.gen(function*() {
        const sessions = yield* store
        const sql = yield* SqlClient.SqlClient
        const ada = newKey()
        const bob = newKey()
        yield* sessions.append(completed(ada, 1))
        yield* sessions.append(completed(bob, 1))
        yield* sql`UPDATE effect_agents_runs SET record = (SELECT record FROM effect_agents_runs WHERE user_id = ${ada.userId})
          WHERE user_id = ${bob.userId}`
        const error = yield* Effect.flip(sessions.load(bob))
        assert.strictEqual(error._tag === "SessionStoreError" && error.reason, "Corrupt")
      }))

      sqlLive("damaged state is a Corrupt error", Effect.gen(function*() {
        const sessions = yield* store
        const sql = yield* SqlClient.SqlClient
        const key = newKey()
        yield* sessions.modifyState(key, () => [undefined, { a: 1 }])
        yield* sql`UPDATE effect_agents_sessions SET state = ${"[1,"} WHERE user_id = ${key.userId}`
        const error = yield* Effect.flip(sessions.state(key))
        assert.strictEqual(error._tag === "SessionStoreError" && error.reason, "Corrupt")
        const modify = yield* Effect.flip(sessions.modifyState(key, (state) => [undefined, state]))
        assert.strictEqual(modify.reason, "Corrupt")
      }))
    }

    if (Option.isSome(backend.empty)) {
      const empty = backend.empty.value
      it.live("migrates an empty database once, and refuses one migrated by a newer version", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const stores = Layer.provide(SessionStoreSql.layer, Layer.succeedContext(yield* Effect.context<SqlClient.SqlClient>()))
          // Twice: the second time there is nothing to do.
          yield* Effect.scoped(Layer.build(stores))
          yield* Effect.scoped(Layer.build(stores))
          const migrations = yield* sql<{ readonly migration_id: number }>`SELECT migration_id FROM ${
            sql(SessionStoreSql.migrationsTable)
          }`
          assert.deepStrictEqual(migrations.map((row) => Number(row.migration_id)), [1])

          yield* sql`INSERT INTO ${sql(SessionStoreSql.migrationsTable)} (migration_id, name) VALUES (99, ${"from_the_future"})`
          const exit = yield* Effect.exit(Effect.scoped(Layer.build(stores)))
          assert.isTrue(Exit.isFailure(exit))
          const error = yield* Effect.flip(Effect.scoped(Layer.build(stores)))
          assert.strictEqual(error.reason, "UnsupportedVersion")
        }).pipe(Effect.provide(empty)))
    }
  })
}

describe("SessionStoreSql.layerSqlite", () => {
  const pragmas = (options: Omit<SessionStoreSql.SqliteOptions, "filename">) =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-pragmas-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const context = yield* Layer.build(
        SessionStoreSql.layerSqliteClient({ filename: Path.join(dir, "sessions.db"), ...options })
      )
      const sql = Context.get(context, SqlClient.SqlClient)
      const [mode] = yield* sql<{ readonly journal_mode: string }>`PRAGMA journal_mode`
      const [sync] = yield* sql<{ readonly synchronous: number }>`PRAGMA synchronous`
      return { journal: mode!.journal_mode, synchronous: Number(sync!.synchronous) }
    }).pipe(Effect.scoped)

  it.live("opens its file in WAL mode, with commits that wait for the file and not the disk", () =>
    Effect.gen(function*() {
      // SQLite's codes: 1 is NORMAL, 2 is FULL.
      assert.deepStrictEqual(yield* pragmas({}), { journal: "wal", synchronous: 1 })
      assert.deepStrictEqual(yield* pragmas({ synchronous: "full" }), { journal: "wal", synchronous: 2 })
      // A rollback journal is safe from a power loss with FULL only: its default.
      assert.deepStrictEqual(yield* pragmas({ disableWAL: true }), { journal: "delete", synchronous: 2 })
      assert.deepStrictEqual(yield* pragmas({ disableWAL: true, synchronous: "normal" }), { journal: "delete", synchronous: 1 })
    }))

  it.live("a file that cannot be opened is a typed error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(SessionStoreSql.layerSqlite({ filename: "/nonexistent-directory/sessions.db" })))
      )
      assert.strictEqual(error._tag, "SessionStoreError")
      assert.strictEqual(error.operation, "open")
      assert.match(error.message, /nonexistent-directory/)
    }))
})

describe("crash safety", () => {
  it.live("a writer killed with SIGKILL mid-stream leaves a readable file with every acknowledged append", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-crash-"))),
        (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
      )
      const filename = Path.join(dir, "sessions.db")
      const userId = newUser()
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          ChildProcess.spawn(process.execPath, ["--import", "tsx", Path.join(root, "test/fixtures/appendChild.ts"), filename, userId], {
            cwd: root,
            stdio: ["ignore", "pipe", "pipe"]
          })
        ),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      const acknowledged: Array<string> = []
      let stderr = ""
      child.stderr.on("data", (chunk) => void (stderr += String(chunk)))
      // Kill it once it has acknowledged 150 appends, while it is still writing.
      yield* Effect.async<void, Error>((resume) => {
        let buffered = ""
        let killing = false
        child.stdout.on("data", (chunk) => {
          buffered += String(chunk)
          const lines = buffered.split("\n")
          buffered = lines.pop()!
          acknowledged.push(...lines)
          if (acknowledged.length >= 150 && !killing) {
            killing = true
            // A little later, at no particular point of the writes.
            setTimeout(() => child.kill("SIGKILL"), Math.random() * 20)
          }
        })
        child.on("close", (_, signal) =>
          signal === "SIGKILL" ? resume(Effect.void) : resume(Effect.fail(new Error(`the writer exited: ${stderr}`))))
      }).pipe(Effect.timeout("60 seconds"))

      assert.isAtLeast(acknowledged.length, 150)
      const loaded = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const [check] = yield* sql<{ readonly integrity_check: string }>`PRAGMA integrity_check`
        assert.strictEqual(check!.integrity_check, "ok")
        const sessions = yield* store
        return yield* sessions.load({ userId, sessionId: "crash" })
      }).pipe(Effect.provide(Layer.provideMerge(SessionStoreSql.layer, SqliteClient.layer({ filename }))))
      const stored = new Set(loaded.map((record) => record.runId))
      for (const runId of acknowledged) assert.isTrue(stored.has(runId), `${runId} was acknowledged but is missing`)
      // In order, with nothing but whole records: at most the one in flight beyond the acknowledged.
      assert.deepStrictEqual(loaded.map((record) => record.runId), loaded.map((_, i) => `run-${i}`))
      assert.isAtMost(loaded.length - acknowledged.length, 1)
    }).pipe(Effect.scoped), 90_000)
})
