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
  /** Oldest first; only ever appended to. */
  readonly runs: Array<SessionStore.RunRecord>
  state: SessionStore.StateRecord
  // Epoch milliseconds: a `DateTime` is made only when a summary is read (one made on every append
  // would cost as much as the rest of the append).
  readonly createdAt: number
  updatedAt: number
}

// Checks the state encodes to JSON the way a SQL store would store it.
const encodeState = Schema.encodeEither(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })))

/** The runs `load` returns: the last `last` of those with the status asked, oldest first. */
const select = (
  runs: ReadonlyArray<SessionStore.RunRecord>,
  options: SessionStore.LoadOptions | undefined
): ReadonlyArray<SessionStore.RunRecord> => {
  const status = options?.status
  const last = options?.last === undefined ? runs.length : Math.max(0, Math.floor(options.last))
  if (status === undefined) return last >= runs.length ? runs.slice() : runs.slice(runs.length - last)
  // From the newest back, so a turn reads its window only, however long the session is.
  const found: Array<SessionStore.RunRecord> = []
  for (let i = runs.length - 1; i >= 0 && found.length < last; i--) {
    if (runs[i]!.status === status) found.push(runs[i]!)
  }
  return found.reverse()
}

/**
 * An in-memory session store. Its sessions live as long as the service.
 *
 * The sessions are kept in maps of the service's own, changed only inside one synchronous step of
 * an effect (a read, then a write, with nothing between them that could yield), which makes every
 * operation atomic without a lock: appending a run is an array push, and loading the last runs
 * reads those runs only.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSessionStore: Effect.Effect<SessionStore.Service> = Effect.sync((): SessionStore.Service => {
  const users = new Map<string, Map<string, Session>>()
  const find = (key: SessionStore.SessionKey): Session | undefined => users.get(key.userId)?.get(key.sessionId)
  const findOrCreate = (key: SessionStore.SessionKey, now: number): Session => {
    let sessions = users.get(key.userId)
    if (sessions === undefined) {
      sessions = new Map()
      users.set(key.userId, sessions)
    }
    let session = sessions.get(key.sessionId)
    if (session === undefined) {
      session = { runs: [], state: {}, createdAt: now, updatedAt: now }
      sessions.set(key.sessionId, session)
    }
    return session
  }
  const notFound = (key: SessionStore.SessionKey) => Effect.fail(InternalStore.sessionNotFound(key))
  return {
    load: (key, options) =>
      Effect.suspend(() => {
        const session = find(key)
        return session === undefined ? notFound(key) : Effect.succeed(select(session.runs, options))
      }),
    append: (record) =>
      Effect.clockWith((clock) => {
        if (record.userId.length === 0 || record.sessionId.length === 0) return InternalStore.invalidKey("append", record)
        const problem = InternalStore.checkRecord(record)
        if (problem !== undefined) return InternalStore.invalidRecord(record, problem)
        const now = clock.unsafeCurrentTimeMillis()
        const session = findOrCreate(record, now)
        session.runs.push(record)
        session.updatedAt = now
        return Effect.void
      }),
    list: (userId) =>
      Effect.sync(() => {
        const found: Array<SessionStore.SessionSummary> = []
        for (const [sessionId, session] of users.get(userId) ?? []) {
          found.push({
            userId,
            sessionId,
            runs: session.runs.length,
            createdAt: DateTime.unsafeMake(session.createdAt),
            updatedAt: DateTime.unsafeMake(session.updatedAt)
          })
        }
        return found.sort((a, b) =>
          DateTime.toEpochMillis(b.updatedAt) - DateTime.toEpochMillis(a.updatedAt) ||
          (a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0)
        )
      }),
    delete: (key) =>
      Effect.suspend(() => {
        const sessions = users.get(key.userId)
        if (sessions === undefined || !sessions.delete(key.sessionId)) return notFound(key)
        if (sessions.size === 0) users.delete(key.userId)
        return Effect.void
      }),
    state: (key) =>
      Effect.suspend(() => {
        const session = find(key)
        return session === undefined ? notFound(key) : Effect.succeed(session.state)
      }),
    modifyState: <A>(
      key: SessionStore.SessionKey,
      f: (state: SessionStore.StateRecord) => readonly [A, SessionStore.StateRecord]
    ): Effect.Effect<A, SessionStore.SessionStoreError> =>
      Effect.clockWith((clock) => {
        if (key.userId.length === 0 || key.sessionId.length === 0) return InternalStore.invalidKey("state", key)
        const now = clock.unsafeCurrentTimeMillis()
        const [result, state] = f(find(key)?.state ?? {})
        const json = encodeState(state)
        if (Either.isLeft(json)) {
          return Effect.fail(
            new SessionStore.SessionStoreError({
              operation: "state",
              reason: "InvalidInput",
              message: `The session's state does not encode to JSON:\n${
                ParseResult.TreeFormatter.formatErrorSync(json.left)
              }`,
              userId: key.userId,
              sessionId: key.sessionId
            })
          )
        }
        // Created only once the change is known to be stored, as a SQL store would.
        const session = findOrCreate(key, now)
        session.state = state
        session.updatedAt = now
        return Effect.succeed(result)
      })
  }
})

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
