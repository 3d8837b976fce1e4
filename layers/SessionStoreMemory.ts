/**
 * Sessions and user memory in memory: for tests and for one process that need not remember after it
 * exits. Deterministic, no I/O; it checks what it is given exactly as the SQL stores do (a record
 * that does not encode is refused), so a test on it means the same as on SQLite.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Memory from "../services/Memory.js"
import * as SessionStore from "../services/SessionStore.js"
import * as InternalStore from "./internal/sessionStore.js"

interface Session {
  readonly runs: Chunk.Chunk<SessionStore.RunRecord>
  readonly state: SessionStore.StateRecord
  readonly createdAt: DateTime.Utc
  readonly updatedAt: DateTime.Utc
}

const keyOf = (userId: string, sessionId: string) => JSON.stringify([userId, sessionId])

// Checks the record encodes (and to JSON) the way a SQL store would store it.
const encodeRecord = Schema.encodeEither(Schema.parseJson(SessionStore.RunRecord))
const encodeState = Schema.encodeEither(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })))

/**
 * An in-memory session store. Its sessions live as long as the service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSessionStore: Effect.Effect<SessionStore.Service> = Effect.map(
  Ref.make(HashMap.empty<string, Session>()),
  (sessions): SessionStore.Service => {
    const find = (key: SessionStore.SessionKey) =>
      Effect.flatMap(Ref.get(sessions), (all) =>
        Option.match(HashMap.get(all, keyOf(key.userId, key.sessionId)), {
          onNone: () => Effect.fail(new SessionStore.SessionNotFound(key)),
          onSome: Effect.succeed
        }))
    return {
      load: (key, options) =>
        Effect.map(find(key), (session) => {
          let runs = session.runs
          if (options?.status !== undefined) {
            const status = options.status
            runs = Chunk.filter(runs, (run) => run.status === status)
          }
          if (options?.last !== undefined) runs = Chunk.takeRight(runs, Math.max(0, options.last))
          return Chunk.toReadonlyArray(runs)
        }),
      append: (record) =>
        Effect.gen(function*() {
          yield* InternalStore.checkKey("append", record)
          const encoded = encodeRecord(record)
          if (Either.isLeft(encoded)) {
            return yield* InternalStore.invalidRecord(record, ParseResult.TreeFormatter.formatErrorSync(encoded.left))
          }
          const now = yield* DateTime.now
          const id = keyOf(record.userId, record.sessionId)
          yield* Ref.update(sessions, (all) =>
            HashMap.set(
              all,
              id,
              Option.match(HashMap.get(all, id), {
                onNone: (): Session => ({ runs: Chunk.of(record), state: {}, createdAt: now, updatedAt: now }),
                onSome: (session): Session => ({ ...session, runs: Chunk.append(session.runs, record), updatedAt: now })
              })
            ))
        }),
      list: (userId) =>
        Effect.map(Ref.get(sessions), (all) => {
          const found: Array<SessionStore.SessionSummary> = []
          for (const [id, session] of all) {
            const [owner, sessionId] = JSON.parse(id) as [string, string]
            if (owner !== userId) continue
            found.push({
              userId,
              sessionId,
              runs: Chunk.size(session.runs),
              createdAt: session.createdAt,
              updatedAt: session.updatedAt
            })
          }
          return found.sort((a, b) =>
            DateTime.toEpochMillis(b.updatedAt) - DateTime.toEpochMillis(a.updatedAt) ||
            (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0)
          )
        }),
      delete: (key) =>
        Effect.flatMap(
          Ref.modify(sessions, (all) => {
            const id = keyOf(key.userId, key.sessionId)
            return HashMap.has(all, id) ? [true, HashMap.remove(all, id)] : [false, all]
          }),
          (deleted) => (deleted ? Effect.void : Effect.fail(new SessionStore.SessionNotFound(key)))
        ),
      state: (key) => Effect.map(find(key), (session) => session.state),
      modifyState: <A>(
        key: SessionStore.SessionKey,
        f: (state: SessionStore.StateRecord) => readonly [A, SessionStore.StateRecord]
      ) =>
        Effect.gen(function*() {
          yield* InternalStore.checkKey("state", key)
          const now = yield* DateTime.now
          const id = keyOf(key.userId, key.sessionId)
          return yield* Effect.flatten(Ref.modify(sessions, (all): readonly [
            Effect.Effect<A, SessionStore.SessionStoreError>,
            HashMap.HashMap<string, Session>
          ] => {
            const session = Option.getOrElse(
              HashMap.get(all, id),
              (): Session => ({ runs: Chunk.empty(), state: {}, createdAt: now, updatedAt: now })
            )
            const [result, state] = f(session.state)
            const json = encodeState(state)
            if (Either.isLeft(json)) {
              return [
                Effect.fail(
                  new SessionStore.SessionStoreError({
                    operation: "state",
                    reason: "InvalidInput",
                    message: `The session's state does not encode to JSON:\n${
                      ParseResult.TreeFormatter.formatErrorSync(json.left)
                    }`,
                    userId: key.userId,
                    sessionId: key.sessionId
                  })
                ),
                all
              ]
            }
            return [Effect.succeed(result), HashMap.set(all, id, { ...session, state, updatedAt: now })]
          }))
        })
    }
  }
)

/**
 * An in-memory memory store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Memory.Service> = Effect.map(
  Ref.make(HashMap.empty<string, Chunk.Chunk<Memory.Fact>>()),
  (users): Memory.Service => {
    const facts = (userId: string) => Effect.map(Ref.get(users), (all) => Option.getOrElse(HashMap.get(all, userId), Chunk.empty))
    // Replaces (`Some`) or removes (`None`) a fact; returns what it became, or what was removed.
    const change = (
      userId: string,
      id: string,
      f: (fact: Memory.Fact) => Option.Option<Memory.Fact>
    ): Effect.Effect<Memory.Fact, Memory.FactNotFound> =>
      Effect.flatten(Ref.modify(users, (all): readonly [
        Effect.Effect<Memory.Fact, Memory.FactNotFound>,
        HashMap.HashMap<string, Chunk.Chunk<Memory.Fact>>
      ] => {
        const current = Option.getOrElse(HashMap.get(all, userId), Chunk.empty<Memory.Fact>)
        const index = Chunk.findFirstIndex(current, (fact) => fact.id === id)
        if (Option.isNone(index)) return [Effect.fail(new Memory.FactNotFound({ userId, id })), all]
        const before = Chunk.unsafeGet(current, index.value)
        const next = f(before)
        const updated = Option.match(next, {
          onNone: () => Chunk.remove(current, index.value),
          onSome: (fact) => Chunk.replace(current, index.value, fact)
        })
        return [Effect.succeed(Option.getOrElse(next, () => before)), HashMap.set(all, userId, updated)]
      }))
    return {
      list: (userId) => Effect.map(facts(userId), Chunk.toReadonlyArray),
      remember: (userId, text) =>
        Effect.gen(function*() {
          const checked = yield* InternalStore.checkFact("remember", userId, text)
          const now = yield* DateTime.now
          const fact: Memory.Fact = { id: crypto.randomUUID(), userId, text: checked, createdAt: now, updatedAt: now }
          yield* Ref.update(users, (all) =>
            HashMap.set(all, userId, Chunk.append(Option.getOrElse(HashMap.get(all, userId), Chunk.empty), fact)))
          return fact
        }),
      update: (userId, id, text) =>
        Effect.gen(function*() {
          const checked = yield* InternalStore.checkFact("update", userId, text)
          const now = yield* DateTime.now
          return yield* change(userId, id, (fact) => Option.some({ ...fact, text: checked, updatedAt: now }))
        }),
      forget: (userId, id) => Effect.asVoid(change(userId, id, () => Option.none())),
      clear: (userId) => Ref.update(users, HashMap.remove(userId))
    }
  }
)

/**
 * Sessions and user memory in memory: provides `SessionStore` and `Memory`.
 *
 * @since 0.1.0
 * @category layers
 * @example
 * ```ts
 * import { Agent } from "effect-agents"
 * import { SessionStoreMemory, TestModel } from "effect-agents/layers"
 * import { Effect, Layer } from "effect"
 *
 * const agent = Agent.make({ name: "Chat" })
 * const program = Effect.gen(function*() {
 *   yield* Agent.run(agent, "My name is Ada.", { sessionId: "s1", userId: "ada" })
 *   return yield* Agent.run(agent, "What is my name?", { sessionId: "s1", userId: "ada" })
 * }).pipe(Effect.provide(Layer.merge(SessionStoreMemory.layer, TestModel.layer((r) => TestModel.text(r.lastUserText)))))
 * ```
 */
export const layer: Layer.Layer<SessionStore.SessionStore | Memory.Memory> = Layer.merge(
  Layer.effect(SessionStore.SessionStore, makeSessionStore),
  Layer.effect(Memory.Memory, makeMemory)
)
