/**
 * The event log of durable runs, stored with their executions: every event of a run but its text
 * and reasoning deltas (its start and end, its steps, its model calls' starts and ends, its tool
 * calls and their results, its requests for approval, its waits, its completion or failure) is a
 * row of `effect_agents_durable_events`, in the database of the engine, numbered from 1 in the run
 * (`seq`). The engine runs a run's body again from its start each time it resumes it (after a
 * signal, a decision, a restart, on another runner), replaying its settled steps and calls, which
 * report their events again: each event has a key made of what it is about (its step, its run and
 * turn, its tool call, ...) and how many times the body reported that before in this execution,
 * stored once (`ON CONFLICT DO NOTHING`), so a replayed event is stored once however often and
 * wherever the engine replays it. An event without such a name (a retry's wait, a fallback) is
 * reported only where its call runs, and stored each time.
 *
 * A reader (`GET /runs/{runId}/events`) gets the stored events after its cursor (`Last-Event-ID`,
 * `?after=`), each with its `seq` as its SSE `id:`, then the live tail until the run ends: the
 * events stored in this process as they are stored, the deltas of a run whose body runs in this
 * process as they come, and every other process's events by reading the table again at a short
 * interval. A delta is sent with the id of the stored event before it and is never stored: a client
 * that reconnects with the last id it saw resumes after that stored event, its deltas not sent
 * again (the `RunCompleted` at the end holds the whole text). So ids are the same from any server
 * and after any restart.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as HttpApi from "../../../src/HttpApi.js"
import * as Table from "../durable/table.js"

/** How often a reader reads the table again for events stored by another process. */
export const pollInterval: Duration.Duration = Duration.millis(200)

/** How many notifications of this process's events wait for a slow reader (the oldest are dropped). */
const capacity = 16_384

const Body = Schema.parseJson(HttpApi.StreamEvent)
const encodeBody = Schema.encode(Body)
const decodeBody = Schema.decodeUnknown(Body)

/** Creates the table, tried again while another process creates it. */
export const createTable = (sql: SqlClient.SqlClient): Effect.Effect<void> =>
  Table.create(
    sql`CREATE TABLE IF NOT EXISTS effect_agents_durable_events (
      run_id VARCHAR(512) NOT NULL, seq INTEGER NOT NULL, event_key TEXT, body TEXT NOT NULL,
      PRIMARY KEY (run_id, seq), UNIQUE (run_id, event_key))`,
    "the durable runs' event log"
  )

/** A text or reasoning delta, at any depth of steps and members: live only, never stored. */
export const isDelta = (event: HttpApi.StreamEvent): boolean => {
  switch (event._tag) {
    case "TextDelta":
    case "ReasoningDelta":
      return true
    case "StepEvent":
    case "MemberEvent":
      return isDelta(event.event)
    default:
      return false
  }
}

/**
 * What an event is about, which a replay of the run reports the same: the run's start and end, a
 * step's, a model call's (its run and turn), a tool call's and its request for approval, a member
 * run's; nested in a step or a member run, prefixed with it. `undefined` for the events that name
 * nothing of the kind (a retry's wait, a fallback), reported only where their call runs.
 */
const about = (event: HttpApi.StreamEvent): string | undefined => {
  switch (event._tag) {
    case "RunStarted":
    case "RunCompleted":
    case "RunFailed":
      return `${event._tag} ${event.runId}`
    case "RunCancelled":
    case "RunError":
      return event._tag
    case "ModelRequestStarted":
    case "ModelRequestCompleted":
      return `${event._tag} ${event.runId} ${event.turn}`
    case "ToolCallStarted":
    case "ToolCallCompleted":
    case "ToolCallFailed":
    case "ApprovalRequested":
      return `${event._tag} ${event.runId} ${event.toolCallId}`
    case "MemberRunStarted":
    case "MemberRunCompleted":
    case "MemberRunFailed":
      return `${event._tag} ${event.memberRunId}`
    case "StepStarted":
    case "StepCompleted":
    case "StepFailed":
    case "StepWaiting":
      return `${event._tag} ${event.stepId}`
    case "StepEvent": {
      const inner = about(event.event)
      return inner === undefined ? undefined : `${event.stepId} ${inner}`
    }
    case "MemberEvent": {
      const inner = about(event.event)
      return inner === undefined ? undefined : `${event.memberRunId} ${inner}`
    }
    default:
      return undefined
  }
}

/**
 * The keys of the events of one execution of a run's body: what the event is about, numbered by how
 * many times the body reported it before (a routing leader asked again makes a turn twice). A
 * replay meets its events in the same order, so it gives them the same keys. Make one per execution.
 */
export const keys = (): (event: HttpApi.StreamEvent) => string | undefined => {
  const seen = new Map<string, number>()
  return (event) => {
    const name = about(event)
    if (name === undefined) return undefined
    const n = (seen.get(name) ?? 0) + 1
    seen.set(name, n)
    return n === 1 ? name : `${name} #${n}`
  }
}

/** The key of an event reported once by whatever ends the run (`RunCancelled`, `RunError`). */
export const keyOfEnd = (event: HttpApi.StreamEvent): string | undefined => about(event)

type Notice =
  | { readonly _tag: "Stored"; readonly runId: string; readonly seq: number; readonly event: HttpApi.StreamEvent }
  | { readonly _tag: "Delta"; readonly runId: string; readonly after: number; readonly event: HttpApi.StreamEvent }
  | { readonly _tag: "Ended"; readonly runId: string }

/** The event log of the durable runs, for the runs whose bodies run here and for readers here. */
export interface Events {
  /**
   * Reports an event of a run: a delta goes to the readers here, any other event is stored under
   * `key` (once per key; always when `undefined`) and then goes to them.
   */
  readonly record: (runId: string, event: HttpApi.StreamEvent, key: string | undefined) => Effect.Effect<void>
  /** The run has ended (its last event stored, its status written): readers here stop at once. */
  readonly ended: (runId: string) => Effect.Effect<void>
  /**
   * The run's stored events after `after` (0: from the first), each with its `seq`, then the live
   * tail (deltas with the `seq` of the stored event before them) until the run has ended.
   */
  readonly read: (runId: string, after: number) => Stream.Stream<readonly [number, HttpApi.StreamEvent]>
}

interface Cursor {
  readonly seq: number
  /** The run was seen ended at the last look at the table. */
  readonly ended: boolean
}

/**
 * The event log on `sql` (its table created when missing). `isEnded` tells whether a run has ended:
 * a reader stops once it has seen the run ended twice in a row, with no event stored in between
 * (whatever ends a run stores its last event before it says so; the second look leaves time for
 * an event written by another process as the run ended), or at once on `ended` here.
 */
export const make = (
  sql: SqlClient.SqlClient,
  isEnded: (runId: string) => Effect.Effect<boolean>
): Effect.Effect<Events> =>
  Effect.gen(function*() {
    yield* createTable(sql)
    const notices = yield* PubSub.sliding<Notice>(capacity)
    // Stored events are numbered one at a time, in the order their notices are published.
    const lock = yield* Effect.makeSemaphore(1)
    // The seq of each run's last stored event, for the deltas that follow it.
    const last = new Map<string, number>()

    const maxSeq = (runId: string) =>
      Effect.map(
        Effect.orDie(
          sql<{ readonly seq: number | null }>`SELECT MAX(seq) AS seq FROM effect_agents_durable_events WHERE run_id = ${runId}`
        ),
        (rows) => Number(rows[0]?.seq ?? 0)
      )

    const store = (runId: string, event: HttpApi.StreamEvent, key: string | undefined, body: string) =>
      lock.withPermits(1)(Effect.gen(function*() {
        // Another process taking a run up may number an event at the same moment: the loser of the
        // primary key tries again with the next number, after a random pause (tried again at once, a
        // loser lost five times in a row to a writer of the run on another connection).
        const rows = yield* sql<{ readonly seq: number }>`INSERT INTO effect_agents_durable_events (run_id, seq, event_key, body)
          SELECT ${runId}, COALESCE(MAX(seq), 0) + 1, ${key ?? null}, ${body}
          FROM effect_agents_durable_events WHERE run_id = ${runId}
          ON CONFLICT (run_id, event_key) DO NOTHING RETURNING seq`.pipe(
          Effect.retry({ times: 10, schedule: Schedule.jittered(Schedule.exponential("2 millis")) }),
          Effect.orDie
        )
        if (rows.length === 0) return
        const seq = Number(rows[0]!.seq)
        last.set(runId, seq)
        yield* PubSub.publish(notices, { _tag: "Stored", runId, seq, event })
      }))

    const record: Events["record"] = (runId, event, key) => {
      if (isDelta(event)) {
        const known = last.get(runId)
        return Effect.asVoid(
          known !== undefined
            ? PubSub.publish(notices, { _tag: "Delta", runId, after: known, event })
            : Effect.flatMap(maxSeq(runId), (after) => {
              if (!last.has(runId)) last.set(runId, after)
              return PubSub.publish(notices, { _tag: "Delta", runId, after: last.get(runId)!, event })
            })
        )
      }
      return encodeBody(event).pipe(
        Effect.flatMap((body) => store(runId, event, key, body)),
        // An event that is not JSON (a step's output of a class the schema cannot encode) is not
        // kept, and the run goes on: the run's record keeps its output as the engine stored it.
        Effect.catchTag("ParseError", (error) =>
          Effect.logWarning(`The event ${event._tag} of the durable run ${runId} is not stored: ${error.message}`))
      )
    }

    const ended: Events["ended"] = (runId) =>
      Effect.zipRight(
        Effect.sync(() => void last.delete(runId)),
        PubSub.publish(notices, { _tag: "Ended", runId })
      )

    const read: Events["read"] = (runId, after) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        // Subscribed before the first look at the table: nothing stored in between is missed.
        const subscription = yield* PubSub.subscribe(notices)
        const since = (cursor: Cursor) =>
          Effect.gen(function*() {
            const rows = yield* Effect.orDie(
              sql<{ readonly seq: number; readonly body: string }>`SELECT seq, body FROM effect_agents_durable_events
                WHERE run_id = ${runId} AND seq > ${cursor.seq} ORDER BY seq`
            )
            const events = yield* Effect.forEach(rows, (row) =>
              Effect.map(Effect.orDie(decodeBody(row.body)), (event) => [Number(row.seq), event] as const))
            return events
          })
        type Step = {
          readonly out: ReadonlyArray<readonly [number, HttpApi.StreamEvent]>
          readonly done: boolean
        }
        const look = (cursor: Cursor, endedHere: boolean) =>
          Effect.gen(function*() {
            // Whether it has ended is read first: its last event was stored before that was said.
            const over = endedHere || (yield* isEnded(runId))
            const out = yield* since(cursor)
            const seq = out.length === 0 ? cursor.seq : out[out.length - 1]![0]
            const done = over && (endedHere || (cursor.ended && out.length === 0))
            return [{ seq, ended: over }, { out, done }] as const
          })
        // A tick (`undefined`) looks at the table, for what other processes store.
        return Stream.merge(
          Stream.fromQueue(subscription).pipe(Stream.filter((notice) => notice.runId === runId)),
          Stream.map(Stream.tick(pollInterval), (): Notice | undefined => undefined)
        ).pipe(
          Stream.mapAccumEffect(
            { seq: Math.max(0, after), ended: false } as Cursor,
            (cursor, notice): Effect.Effect<readonly [Cursor, Step]> => {
              if (notice === undefined) return look(cursor, false)
              switch (notice._tag) {
                case "Ended":
                  return look(cursor, true)
                case "Stored":
                  return notice.seq <= cursor.seq
                    ? Effect.succeed([cursor, { out: [], done: false }] as const)
                    : notice.seq === cursor.seq + 1
                    ? Effect.succeed([{ seq: notice.seq, ended: false }, { out: [[notice.seq, notice.event]], done: false }] as const)
                    // Notices were dropped for this reader: the table has them.
                    : Effect.map(since(cursor), (out) =>
                      [
                        { seq: out.length === 0 ? cursor.seq : out[out.length - 1]![0], ended: false },
                        { out, done: false }
                      ] as const)
                case "Delta":
                  // A delta before the last event this reader has is late for it (it read that event
                  // from the table); one after an event it has not read yet comes after that event.
                  return notice.after === cursor.seq
                    ? Effect.succeed([cursor, { out: [[cursor.seq, notice.event]], done: false }] as const)
                    : notice.after < cursor.seq
                    ? Effect.succeed([cursor, { out: [], done: false }] as const)
                    : Effect.map(since(cursor), (out) => {
                      const seq = out.length === 0 ? cursor.seq : out[out.length - 1]![0]
                      return [
                        { seq, ended: false },
                        { out: seq === notice.after ? [...out, [seq, notice.event] as const] : out, done: false }
                      ] as const
                    })
              }
            }
          ),
          Stream.takeUntil((step) => step.done),
          Stream.mapConcat((step) => step.out)
        )
      }))

    return { record, ended, read }
  })
