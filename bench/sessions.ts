/**
 * Sessions benchmark: a 25-turn conversation on the scripted TestModel, with the in-memory store and
 * with SQLite (a file in a temporary directory), and the same conversation without a store (the
 * caller keeps the history) as the baseline. For each turn: the whole run, and inside it the time
 * spent loading the history and appending the record, and the size of the record written.
 *
 * What to look for: loading and appending cost the same at turn 25 as at turn 10 with the default
 * window (`historyRuns` 10), and grow with the window, linearly, when every turn is loaded
 * (`historyRuns: Infinity`); the record written per turn does not grow at all.
 *
 *   node --expose-gc --import tsx bench/sessions.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as SessionStoreSql from "../layers/SessionStoreSql.js"
import * as TestModel from "../layers/TestModel.js"
import * as SessionStore from "../services/SessionStore.js"
import * as Agent from "../src/Agent.js"
import * as RunRecord from "../src/RunRecord.js"

const turns = 25
const conversations = 40
const warmup = 15

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

// A user message of ~120 characters and an answer of ~400, as in a chat.
const question = (turn: number) => `Turn ${turn}: ${"tell me a little more about the topic we discussed, please. ".repeat(2)}`
const answer = TestModel.text("Here is a considered answer. ".repeat(14))
const model = TestModel.layer(() => answer, { record: false })
const agent = Agent.make({ name: "Chat", instructions: "Be helpful and brief." })

interface Stats {
  load: number
  append: number
  bytes: number
}

const encodeJson = Schema.encodeSync(Schema.parseJson(RunRecord.RunRecord))

/** The store, with the time of each load and append and the size of each record added to `stats`. */
const timed = (stats: Stats) =>
  Layer.effect(
    SessionStore.SessionStore,
    Effect.map(SessionStore.SessionStore, (store): SessionStore.Service => ({
      ...store,
      load: (key, options) =>
        Effect.suspend(() => {
          const start = performance.now()
          return Effect.ensuring(store.load(key, options), Effect.sync(() => void (stats.load += performance.now() - start)))
        }),
      append: (record) =>
        Effect.suspend(() => {
          stats.bytes += encodeJson(record).length
          const start = performance.now()
          return Effect.ensuring(store.append(record), Effect.sync(() => void (stats.append += performance.now() - start)))
        })
    }))
  )

interface Turn {
  readonly run: number
  readonly load: number
  readonly append: number
  readonly bytes: number
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

type Mode = "baseline" | { readonly historyRuns: number }

const conversation = (mode: Mode, sessionId: string, stats: Stats) =>
  Effect.gen(function*() {
    const perTurn: Array<Turn> = []
    let history: ReadonlyArray<import("@effect/ai/Prompt").Message> = []
    for (let turn = 1; turn <= turns; turn++) {
      stats.load = 0
      stats.append = 0
      stats.bytes = 0
      const start = performance.now()
      // A fresh scripted model per turn: TestModel keeps every request it gets (for tests), which
      // would otherwise keep every prompt alive and make the garbage collector's work grow.
      if (mode === "baseline") {
        const output = yield* Effect.provide(Agent.run(agent, question(turn), { history }), model)
        history = output.messages.slice(1)
      } else {
        yield* Effect.provide(
          Agent.run(agent, question(turn), { sessionId, userId: "bench", historyRuns: mode.historyRuns }),
          model
        )
      }
      perTurn.push({ run: performance.now() - start, load: stats.load, append: stats.append, bytes: stats.bytes })
    }
    return perTurn
  })

const scenario = async (
  name: string,
  store: Layer.Layer<SessionStore.SessionStore, unknown>,
  mode: Mode
) => {
  const stats: Stats = { load: 0, append: 0, bytes: 0 }
  gc()
  const runtime = ManagedRuntime.make(Layer.provide(timed(stats), store))
  const results: Array<ReadonlyArray<Turn>> = []
  for (let i = 0; i < warmup + conversations; i++) {
    const perTurn = await runtime.runPromise(conversation(mode, `${name}-${i}`, stats))
    if (i >= warmup) results.push(perTurn)
  }
  await runtime.dispose()
  gc()
  const at = (turn: number): Turn => ({
    run: median(results.map((r) => r[turn - 1]!.run)),
    load: median(results.map((r) => r[turn - 1]!.load)),
    append: median(results.map((r) => r[turn - 1]!.append)),
    bytes: median(results.map((r) => r[turn - 1]!.bytes))
  })
  const total = median(results.map((r) => r.reduce((sum, turn) => sum + turn.run, 0)))
  return { name, at, total }
}

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-bench-"))
const sqlite = (file: string) => SessionStoreSql.layerSqlite({ filename: Path.join(dir, file) })

// The first scenario on a path pays for its warm-up (JIT, statement caches): one unreported round.
await scenario("warm-up", sqlite("warm-up.db"), { historyRuns: 10 })

const rows = [
  await scenario("no store (caller keeps the history)", SessionStoreMemory.layer, "baseline"),
  await scenario("memory, historyRuns 10 (default)", SessionStoreMemory.layer, { historyRuns: 10 }),
  await scenario("memory, historyRuns all", SessionStoreMemory.layer, { historyRuns: Infinity }),
  await scenario("SQLite, historyRuns 10 (default)", sqlite("default.db"), { historyRuns: 10 }),
  await scenario("SQLite, historyRuns all", sqlite("all.db"), { historyRuns: Infinity })
]
Fs.rmSync(dir, { recursive: true, force: true })

const ms = (n: number) => n.toFixed(3).padStart(7)
const sample = [1, 5, 10, 15, 20, 25]
console.log(`${turns}-turn conversation on TestModel; medians of ${conversations} conversations, per turn, in ms.`)
console.log("load = history loading, append = writing the record (both inside run); bytes = the record written.\n")
for (const row of rows) {
  console.log(`${row.name}: whole conversation ${row.total.toFixed(1)} ms`)
  console.log(`  turn    ${sample.map((t) => String(t).padStart(7)).join("")}   turn 25 / turn 5`)
  const line = (label: string, pick: (turn: Turn) => number, format: (n: number) => string = ms) => {
    const ratio = pick(row.at(5)) === 0 ? "" : `   ×${(pick(row.at(25)) / pick(row.at(5))).toFixed(2)}`
    console.log(`  ${label.padEnd(8)}${sample.map((t) => format(pick(row.at(t)))).join("")}${ratio}`)
  }
  line("run", (t) => t.run)
  if (row.at(5).append > 0) {
    line("load", (t) => t.load)
    line("append", (t) => t.append)
    line("bytes", (t) => t.bytes, (n) => String(n).padStart(7))
  }
  console.log()
}
