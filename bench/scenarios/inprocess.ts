/**
 * In process, on the scripted TestModel: the framework's own cost, with no network and no
 * provider. The model keeps no record of its requests (`record: false`) and hands out replies made
 * once, so that what is measured is the framework's work, not the mock's. Each batch still gets a
 * fresh runtime (built untimed), so that what a session store holds does not grow from batch to
 * batch.
 */
import * as Tool from "@effect/ai/Tool"
import * as Toolkit from "@effect/ai/Toolkit"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import Sqlite from "better-sqlite3"
import * as SessionStoreMemory from "../../layers/SessionStoreMemory.js"
import * as SessionStoreSql from "../../layers/SessionStoreSql.js"
import * as TestModel from "../../layers/TestModel.js"
import * as Agent from "../../src/Agent.js"
import { divide, type Effort, gc, hasGc, median, metric, type Metric, type Samples, scaled, timeBatches } from "../lib/measure.js"
import type { Scenario } from "./types.js"

const Add = Tool.make("add", { parameters: { a: Schema.Number, b: Schema.Number }, success: Schema.Number })
const Tools = Toolkit.make(Add)
const ToolsLive = Tools.toLayer({ add: ({ a, b }) => Effect.succeed(a + b) })

const CHUNKS = 500

/**
 * The script: `turns=N` makes a run of N model calls (N - 1 tool calls, then the answer);
 * `stream` answers in 500 chunks; anything else is answered at once.
 */
// Replies say their usage, as a provider's do: the model then has no tokens to estimate.
const usage = { inputTokens: 120, outputTokens: 40 }
const streamed = TestModel.text("x".repeat(CHUNKS), { chunks: CHUNKS, usage })
const answer = TestModel.text("The answer is 42.", { usage })
const toolCalls = Array.from({ length: 50 }, (_, calls) => TestModel.toolCall("add", { a: calls, b: 1 }, { usage }))
const model = TestModel.layer((request) => {
  const text = request.lastUserText
  if (text === "stream") return streamed
  const turns = text.startsWith("turns=") ? Number(text.slice(6)) : 1
  let calls = 0
  for (const message of request.prompt.content) if (message.role === "assistant") calls++
  return calls + 1 < turns ? toolCalls[calls]! : answer
}, { record: false })

const plain = Agent.make({ name: "plain", instructions: "Be brief." })
const tooled = Agent.make({ name: "tooled", instructions: "Use tools.", toolkit: Tools, maxTurns: 50 })

const fresh = async <R, E>(layer: Layer.Layer<R, E>) => {
  const runtime = ManagedRuntime.make(layer)
  await runtime.runtime()
  return runtime
}

const times = <A, E, R>(effect: Effect.Effect<A, E, R>, n: number): Effect.Effect<void, E, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* effect
  })

/** Runs of `effect`, `ops` per batch, each batch on a fresh runtime: µs per run. */
const runs = async <E>(
  effort: Effort,
  ops: number,
  effect: Effect.Effect<unknown, E, any>,
  scale = 1
): Promise<Samples> => {
  const n = scaled(effort, ops)
  const samples = await timeBatches(
    { warmup: 2, warmupMs: effort.quick ? 500 : 2_000, batches: effort.quick ? 5 : 9, ops: n * scale },
    async () => {
      const runtime = await fresh(Layer.merge(model, ToolsLive))
      return { run: () => runtime.runPromise(times(effect, n)), teardown: () => runtime.dispose() }
    }
  )
  return samples
}

let sink: unknown

const construct: Scenario = {
  name: "construct",
  group: "inprocess",
  description: "Agent.make with a name and instructions",
  run: async (effort) => {
    const n = scaled(effort, 200_000)
    const samples = await timeBatches({ warmup: 3, batches: 9, ops: n }, () => ({
      run: () => {
        for (let i = 0; i < n; i++) sink = Agent.make({ name: "a", instructions: "b" })
      }
    }))
    return [metric({ id: "construct", label: "construct an agent", unit: "µs", target: 0.25 }, samples)]
  }
}

/** A scenario that times one effect, `ops` of it per batch (µs per run, or per chunk with `scale`). */
const timed = (
  name: string,
  description: string,
  figure: { readonly label: string; readonly unit: string; readonly target: number },
  ops: number,
  effect: Effect.Effect<unknown, unknown, any>,
  scale = 1
): Scenario => ({
  name,
  group: "inprocess",
  description,
  run: async (effort) => [metric({ id: name, ...figure }, await runs(effort, ops, effect, scale))]
})

const singleTurn = timed(
  "single-turn",
  "Agent.run: one model call, text answer",
  { label: "single-turn run", unit: "µs/run", target: 40 },
  2_000,
  Agent.run(plain, "hi")
)

const toolCall = timed(
  "tool-call",
  "Agent.run: a tool call, then the answer (two model calls)",
  { label: "run with one tool call", unit: "µs/run", target: 75 },
  1_000,
  Agent.run(tooled, "turns=2")
)

const modelTurns = (turns: number, ops: number, target: number): Scenario =>
  timed(
    `model-turns-${turns}`,
    `one Agent.run of ${turns} model calls (${turns - 1} tool calls, then the answer)`,
    { label: `${turns}-turn run: one run, ${turns - 1} tool calls`, unit: "µs/run", target },
    ops,
    Agent.run(tooled, `turns=${turns}`)
  )

const streamChunk = timed(
  "stream-chunk",
  "Agent.stream of a 500-chunk answer, drained",
  { label: "streamed chunk (500-chunk Agent.stream)", unit: "µs/chunk", target: 3 },
  40,
  Stream.runDrain(Agent.stream(plain, "stream")),
  CHUNKS
)

const memoryPerAgent: Scenario = {
  name: "memory-per-agent",
  group: "inprocess",
  description: "heap held by 1,000 live agents (after a full collection), per agent",
  run: async () => {
    if (!hasGc) throw new Error("memory-per-agent needs node --expose-gc")
    const count = 1_000
    const samples: Array<number> = []
    // Every round's agents stay alive to the end: a round's garbage collected during the next
    // round's measurement (a stale register still held it) would make that delta negative.
    const held: Array<ReadonlyArray<unknown>> = []
    for (let round = 0; round < 9; round++) {
      // The names exist before the measurement: they are the caller's data, not the agent's.
      const names = Array.from({ length: count }, (_, i) => `agent-${round}-${i}`)
      const instructions = "Be brief."
      gc()
      gc()
      const before = process.memoryUsage().heapUsed
      const agents = names.map((name) => Agent.make({ name, instructions }))
      gc()
      gc()
      const after = process.memoryUsage().heapUsed
      held.push(agents)
      samples.push((after - before) / count / 1000)
    }
    sink = held
    return [
      metric(
        { id: "memory-per-agent", label: "memory per agent (1,000 held)", unit: "KB", target: 0.3 },
        samples.slice(2)
      )
    ]
  }
}

// -----------------------------------------------------------------------------
// Conversations: N user turns in one session, each an Agent.run with the same sessionId
// -----------------------------------------------------------------------------

type Store = "memory" | "sqlite"

const storeLayer = (store: Store, dir: string, file: string) =>
  store === "memory"
    ? SessionStoreMemory.layer
    : SessionStoreSql.layerSqlite({ filename: Path.join(dir, file) })

// A user message of ~120 characters and an answer of ~400, as in a chat.
const question = (turn: number) => `Turn ${turn}: ${"tell me a little more about the topic we discussed, please. ".repeat(2)}`
const chatAnswer = TestModel.text("Here is a considered answer. ".repeat(14), { usage: { inputTokens: 400, outputTokens: 100 } })
const chatModel = TestModel.layer(() => chatAnswer, { record: false })
const chat = Agent.make({ name: "chat", instructions: "Be helpful and brief." })

/** One conversation of `turns` user turns; returns the µs of each turn. */
const conversation = (turns: number, sessionId: string) =>
  Effect.gen(function*() {
    const perTurn: Array<number> = []
    for (let turn = 1; turn <= turns; turn++) {
      const start = performance.now()
      yield* Agent.run(chat, question(turn), { sessionId, userId: "bench" })
      perTurn.push((performance.now() - start) * 1000)
    }
    return perTurn
  })

const conversationScenario = (turns: number, store: Store, target: number | undefined): Scenario => ({
  name: `conversation-${turns}-${store}`,
  group: "inprocess",
  description:
    `${turns} user turns in one session (${store === "memory" ? "in-memory store" : "SQLite file"}): each an Agent.run with the same sessionId`,
  run: async (effort) => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-bench-"))
    try {
      const perBatch = Math.max(2, Math.round(scaled(effort, turns <= 5 ? 200 : 40)))
      const batches = effort.quick ? 5 : 9
      // The turns' times of each batch; the timed batches are the last ones.
      const byBatch: Array<Array<Array<number>>> = []
      const samples = await timeBatches(
        { warmup: 2, warmupMs: effort.quick ? 500 : 2_000, batches, ops: perBatch },
        async () => {
          const b = byBatch.length
          const times: Array<Array<number>> = []
          byBatch.push(times)
          const runtime = await fresh(Layer.merge(chatModel, storeLayer(store, dir, `batch-${b}.db`)))
          return {
            run: () =>
              runtime.runPromise(Effect.gen(function*() {
                for (let c = 0; c < perBatch; c++) times.push(yield* conversation(turns, `s-${b}-${c}`))
              })),
            teardown: () => runtime.dispose()
          }
        }
      )
      const raw = store === "sqlite" ? await rawSqlite(effort, dir, turns, perBatch, batches) : undefined
      const conversations = byBatch.slice(-batches).flat()
      const label = `${turns}-turn conversation, ${store === "memory" ? "memory store" : "SQLite store"}`
      const id = `conversation-${turns}-${store}`
      const turnAt = (i: number) => median(conversations.map((c) => c[i]!))
      const first = Array.from({ length: Math.min(5, turns) }, (_, i) => turnAt(i))
      const last = Array.from({ length: Math.min(5, turns) }, (_, i) => turnAt(turns - 1 - i))
      const firstMean = first.reduce((a, b) => a + b, 0) / first.length
      const lastMean = last.reduce((a, b) => a + b, 0) / last.length
      const out: Array<Metric> = [
        metric({ id, label, unit: "µs/conversation", ...(target === undefined ? {} : { target }) }, samples),
        metric({
          id: `${id}/turn`,
          label: `  per turn`,
          unit: "µs/turn",
          ...(raw === undefined ? {} : { raw: `${id}/turn-raw` })
        }, divide(samples, turns))
      ]
      if (raw !== undefined) {
        out.push(metric({
          id: `${id}/turn-raw`,
          label: "  raw better-sqlite3: the same statements per turn",
          unit: "µs/turn",
          note:
            "the physical limit of a durable turn: the history query and the append transaction as prepared statements, same schema, WAL and synchronous = NORMAL, no decoding"
        }, divide(raw, turns)))
      }
      if (turns > 5) {
        out.push(
          metric({ id: `${id}/first5`, label: "  per turn, turns 1-5", unit: "µs/turn" }, [firstMean]),
          metric({
            id: `${id}/last5`,
            label: `  per turn, turns ${turns - 4}-${turns}`,
            unit: "µs/turn",
            note: "a session's prompt holds its last 10 runs (historyRuns default), so turns 1-10 grow and later turns should not"
          }, [lastMean]),
          metric({ id: `${id}/growth`, label: "  last 5 / first 5", unit: "×" }, [lastMean / firstMean])
        )
      }
      return out
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  }
})

/**
 * What the SQL store's statements cost with nothing around them: per turn, the query for the
 * session's last 10 runs and the append transaction (the session row's run count, then the run's
 * row), as prepared better-sqlite3 statements on the store's own schema and settings, with a record
 * of the size the agent's turns wrote. Rows are read, not decoded.
 */
const rawSqlite = async (effort: Effort, dir: string, turns: number, perBatch: number, batches: number): Promise<Samples> => {
  // A record as the agent wrote it in the measured batches.
  const written = new Sqlite(Path.join(dir, `batch-0.db`), { readonly: true })
  const record = (written.prepare("SELECT record FROM effect_agents_runs LIMIT 1").get() as { readonly record: string }).record
  written.close()
  let b = 0
  return timeBatches({ warmup: 2, warmupMs: effort.quick ? 250 : 1_000, batches, ops: perBatch }, async () => {
    const filename = Path.join(dir, `raw-${b++}.db`)
    // The schema, made by the store's migrations.
    await Effect.runPromise(Effect.scoped(Layer.build(SessionStoreSql.layerSqlite({ filename }))))
    const db = new Sqlite(filename)
    db.pragma("journal_mode = WAL")
    db.pragma("synchronous = NORMAL")
    const history = db.prepare(
      "SELECT seq, version, record FROM effect_agents_runs WHERE user_id = ? AND session_id = ? ORDER BY seq DESC LIMIT ?"
    )
    const begin = db.prepare("BEGIN")
    const commit = db.prepare("COMMIT")
    const upsert = db.prepare(`INSERT INTO effect_agents_sessions
      (user_id, session_id, runs, state, state_version, created_at, updated_at) VALUES (?, ?, 1, '{}', 1, ?, ?)
      ON CONFLICT (user_id, session_id) DO UPDATE SET runs = effect_agents_sessions.runs + 1, updated_at = excluded.updated_at
      RETURNING runs`)
    const insert = db.prepare(`INSERT INTO effect_agents_runs
      (user_id, session_id, seq, run_id, status, version, record, started_at, finished_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`)
    return {
      run: () => {
        for (let c = 0; c < perBatch; c++) {
          const session = `s-${c}`
          for (let turn = 1; turn <= turns; turn++) {
            const rows = history.all("bench", session, 10) as ReadonlyArray<{ readonly record: string }>
            sink = rows.length
            const now = Date.now()
            begin.run()
            const { runs } = upsert.get("bench", session, now, now) as { readonly runs: number }
            insert.run("bench", session, runs, `run-${c}-${turn}`, "completed", record, now, now)
            commit.run()
          }
        }
      },
      teardown: () => db.close()
    }
  })
}

export const scenarios: ReadonlyArray<Scenario> = [
  construct,
  singleTurn,
  toolCall,
  conversationScenario(5, "memory", 250),
  conversationScenario(25, "memory", 1_200),
  conversationScenario(25, "sqlite", 1_200),
  modelTurns(5, 300, 250),
  modelTurns(25, 60, 1_200),
  memoryPerAgent,
  streamChunk
]

/** Keeps the construct loop's results observable, so it cannot be optimised away. */
export const keep = (): unknown => sink
