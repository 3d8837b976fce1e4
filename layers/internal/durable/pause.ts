/**
 * Durable pauses: a run of a durable execution that pauses for approval does not end its
 * execution. It waits on a durable deferred whose value is the decisions, and, when they come (from
 * this process or another), resumes the paused run with them in the workflow's body, where the
 * resumed part's model and tool calls are activities too; then it goes on to the run's end, pausing
 * again as often as its run does.
 *
 * The engine runs the body again from its start each time it wakes the execution up, replaying the
 * settled activities: the pause is reached again, with a state signed again (a fresh token, a new
 * `pausedAt`), and its deferred, already completed, gives the same decisions at once. What makes a
 * pause's decisions count once is the deferred: it is named by the pause's ordinal in the run
 * (`approval 1`, `approval 2`, …), which a replay computes the same, and it is completed once
 * ({@link Service.decide} takes a pause's decisions once), so every replay resumes the same pause
 * with the same decisions, and the calls they run are activities settled once. The in-process
 * record of spent pauses (`Approval.Keys`) plays no part in it: each replay's pause is a new one.
 *
 * Decisions the run refuses when it takes them (edited arguments its tool's schema does not decode,
 * an answer of the wrong shape: nothing ran) leave it waiting: on the deferred of the pause's next
 * attempt (`approval 1#2`), with the refusal kept beside its pending calls for whoever decides next.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as DurableDeferred from "@effect/workflow/DurableDeferred"
import type * as EngineWorkflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ApprovalError, RunPaused } from "../../../src/AgentError.js"
import * as Approval from "../../../src/Approval.js"
import * as Table from "./table.js"

/** A pause a durable execution waits on now: the deferred's name, its pending calls, why the last decisions were refused. */
export interface Waiting {
  readonly executionId: string
  readonly name: string
  readonly pending: ReadonlyArray<Approval.Request>
  readonly refused: string | undefined
}

export interface Service {
  /** The execution waits on the pause `name` (kept as it was when it was recorded before, decided or not). */
  readonly wait: (waiting: Waiting) => Effect.Effect<void>
  /** The pause the execution waits on now, if any. */
  readonly current: (executionId: string) => Effect.Effect<Option.Option<Waiting>>
  /** The pauses waited on now, of every execution. */
  readonly all: Effect.Effect<ReadonlyArray<Waiting>>
  /** Takes the pause's decisions: `true` the first time, `false` when it was decided already. */
  readonly decide: (executionId: string, name: string) => Effect.Effect<boolean>
  /** The execution ended: its pauses are dropped. */
  readonly forget: (executionId: string) => Effect.Effect<void>
}

/**
 * The pauses of durable runs, kept beside the engine's storage: what a process lists and checks
 * decisions against, whichever process paused.
 */
export class Pauses extends Context.Tag("effect-agents/Durable/Pauses")<Pauses, Service>() {}

const Pending = Schema.parseJson(Schema.Array(Approval.Request))
const encodePending = Schema.encodeSync(Pending)
const decodePending = Schema.decodeUnknownSync(Pending)

/** Pauses in memory, for the in-memory engine: they last as long as the layer. */
export const layerMemory: Layer.Layer<Pauses> = Layer.sync(Pauses, () => {
  const pauses = new Map<string, Map<string, Waiting & { decided: boolean }>>()
  const undecided = (executionId: string) =>
    Array.from(pauses.get(executionId)?.values() ?? []).filter((pause) => !pause.decided)
  const strip = ({ decided: _, ...waiting }: Waiting & { decided: boolean }): Waiting => waiting
  return {
    wait: (waiting) =>
      Effect.sync(() => {
        const byName = pauses.get(waiting.executionId) ?? new Map()
        pauses.set(waiting.executionId, byName)
        if (!byName.has(waiting.name)) byName.set(waiting.name, { ...waiting, decided: false })
      }),
    current: (executionId) => Effect.sync(() => Option.map(Option.fromNullable(undecided(executionId)[0]), strip)),
    all: Effect.sync(() => Array.from(pauses.keys()).flatMap((id) => undecided(id).map(strip))),
    decide: (executionId, name) =>
      Effect.sync(() => {
        const pause = pauses.get(executionId)?.get(name)
        if (pause === undefined || pause.decided) return false
        pause.decided = true
        return true
      }),
    forget: (executionId) => Effect.sync(() => void pauses.delete(executionId))
  }
})

interface Row {
  readonly execution_id: string
  readonly name: string
  readonly pending: string
  readonly refused: string | null
}

const fromRow = (row: Row): Waiting => ({
  executionId: row.execution_id,
  name: row.name,
  pending: decodePending(row.pending),
  refused: row.refused ?? undefined
})

/** Pauses in a SQL database's table `effect_agents_durable_pauses`, beside the engine's tables. */
export const layerSql: Layer.Layer<Pauses, never, SqlClient.SqlClient> = Layer.effect(
  Pauses,
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* Table.create(
      sql`CREATE TABLE IF NOT EXISTS effect_agents_durable_pauses (
        execution_id VARCHAR(512) NOT NULL,
        name VARCHAR(64) NOT NULL,
        pending TEXT NOT NULL,
        refused TEXT,
        decided INTEGER NOT NULL,
        PRIMARY KEY (execution_id, name)
      )`,
      "the durable pauses' table"
    )
    return {
      wait: (waiting) =>
        sql`INSERT INTO effect_agents_durable_pauses (execution_id, name, pending, refused, decided)
          VALUES (${waiting.executionId}, ${waiting.name}, ${encodePending(waiting.pending)}, ${waiting.refused ?? null}, 0)
          ON CONFLICT (execution_id, name) DO NOTHING`.pipe(Effect.asVoid, Effect.orDie),
      current: (executionId) =>
        sql<Row>`SELECT execution_id, name, pending, refused FROM effect_agents_durable_pauses
          WHERE execution_id = ${executionId} AND decided = 0`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), fromRow)),
          Effect.orDie
        ),
      all: sql<Row>`SELECT execution_id, name, pending, refused FROM effect_agents_durable_pauses WHERE decided = 0`.pipe(
        Effect.map((rows) => rows.map(fromRow)),
        Effect.orDie
      ),
      decide: (executionId, name) =>
        sql<{ readonly name: string }>`UPDATE effect_agents_durable_pauses SET decided = 1
          WHERE execution_id = ${executionId} AND name = ${name} AND decided = 0 RETURNING name`.pipe(
          Effect.map((rows) => rows.length > 0),
          Effect.orDie
        ),
      forget: (executionId) =>
        sql`DELETE FROM effect_agents_durable_pauses WHERE execution_id = ${executionId}`.pipe(Effect.asVoid, Effect.orDie)
    }
  })
)

/** The durable deferred a pause waits on: its value is the decisions, encoded. */
export const deferredOf = (name: string) => DurableDeferred.make(name, { success: Schema.Unknown })

const Decisions = Schema.Array(Approval.Decision)
const encodeDecisions = Schema.encode(Decisions)
const decodeDecisions = Schema.decodeUnknownEither(Decisions, { errors: "all" })

const nameOf = (pause: number, attempt: number) => attempt === 1 ? `approval ${pause}` : `approval ${pause}#${attempt}`

/**
 * Runs `run` in a durable execution's body: when it pauses for approval, the execution waits for
 * the decisions ({@link decide}) and `resume` resumes the paused run with them, as often as the run
 * pauses, to its end. Without {@link Pauses} (an engine of one's own) a pause ends the run, as in
 * process. `resume` must check the decisions before anything runs (an `ApprovalError` is taken to
 * mean nothing ran: the pause waits for other decisions).
 */
export const durably = <A, E, R, R2>(
  run: Effect.Effect<A, E, R>,
  resume: (state: Approval.State, decisions: ReadonlyArray<Approval.Decision>) => Effect.Effect<A, E, R2>
): Effect.Effect<A, E, R | R2> =>
  Effect.gen(function*() {
    const pauses = yield* Effect.serviceOption(Pauses)
    const instance = yield* Effect.serviceOption(WorkflowEngine.WorkflowInstance)
    if (Option.isNone(pauses) || Option.isNone(instance)) return yield* run
    const engine = yield* WorkflowEngine.WorkflowEngine
    const store = pauses.value
    const executionId = instance.value.executionId
    let outcome: Either.Either<A, E> = yield* Effect.either(run)
    let pause = 0
    while (Either.isLeft(outcome) && outcome.left instanceof RunPaused) {
      pause++
      const paused: RunPaused = outcome.left
      let state = paused.state
      let attempt = 1
      let refused: string | undefined = undefined
      for (;;) {
        const name = nameOf(pause, attempt)
        // A replay that reaches a pause decided before does not wait on it again: once the run's
        // pauses were dropped at its end (a crash before its result was stored), the pause would be
        // listed as waiting, and decisions taken for it, until the replay ended again.
        const decided = yield* engine.deferredResult(deferredOf(name)).pipe(
          Effect.provideService(WorkflowEngine.WorkflowInstance, instance.value)
        )
        if (decided === undefined) yield* store.wait({ executionId, name, pending: paused.pending, refused })
        const value = yield* (DurableDeferred.await(deferredOf(name)) as Effect.Effect<unknown>)
        const decisions = decodeDecisions(value)
        if (Either.isLeft(decisions)) {
          refused = `The decisions are not Approval.Decisions:\n${ParseResult.TreeFormatter.formatErrorSync(decisions.left)}`
          attempt++
          continue
        }
        const next: Either.Either<A, E> = yield* Effect.either(resume(state, decisions.right))
        if (Either.isLeft(next) && next.left instanceof ApprovalError) {
          refused = next.left.message
          attempt++
          // Nothing ran. Agents, teams and workflows check the decisions before they spend their
          // pause, so the same state would do; a runnable of a user's own may check them only once it
          // runs, after the spend: the next attempt resumes the same pause under a token of its own.
          state = yield* Approval.sign({ ...state.body, token: Approval.makeToken() })
          continue
        }
        outcome = next
        break
      }
    }
    yield* store.forget(executionId)
    return yield* outcome
  }) as Effect.Effect<A, E, R | R2>

/**
 * Sends decisions to the pause the execution waits on now: checked first against its pending calls
 * (each decision names one, once, of the right kind), then taken once; the run checks what only its
 * tools know (edited arguments, answers) when it takes them.
 */
export const decide = (
  store: Service,
  workflow: EngineWorkflow.Any,
  executionId: string,
  runId: string,
  decisions: ReadonlyArray<Approval.Decision>
): Effect.Effect<Waiting, ApprovalError, WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function*() {
    const found = yield* store.current(executionId)
    if (Option.isNone(found)) {
      return yield* new ApprovalError({
        reason: "Stale",
        message: `The durable run "${runId}" waits for no decision now (it has not paused, its pause was decided, or it ended).`
      })
    }
    const waiting = found.value
    yield* check(waiting, decisions)
    const encoded = yield* Effect.orDie(encodeDecisions(decisions))
    if (!(yield* store.decide(executionId, waiting.name))) {
      return yield* new ApprovalError({
        reason: "Stale",
        message: `The pause of the durable run "${runId}" was decided already: read the run again to see what it waits for.`
      })
    }
    const deferred = deferredOf(waiting.name)
    const token = DurableDeferred.tokenFromExecutionId(deferred, { workflow, executionId })
    yield* DurableDeferred.succeed(deferred, { token, value: encoded })
    return waiting
  })

const pathOf = (request: { readonly toolCallId: string; readonly path: ReadonlyArray<string> }) =>
  [...request.path, request.toolCallId].join("/")

/** The checks of decisions that the pending calls allow: each names a pending call, once, of the right kind. */
const check = (waiting: Waiting, decisions: ReadonlyArray<Approval.Decision>): Effect.Effect<void, ApprovalError> => {
  const seen = new Set<string>()
  for (const decision of decisions) {
    const key = pathOf(decision)
    const request = waiting.pending.find((r) => pathOf(r) === key)
    if (request === undefined || seen.has(key)) {
      return Effect.fail(
        new ApprovalError({
          reason: "UnknownCall",
          toolCallId: decision.toolCallId,
          message: seen.has(key)
            ? `Two decisions were given for tool call "${key}": give one.`
            : `No call "${key}" waits for a decision in this run. Waiting: ${
              waiting.pending.map(pathOf).join(", ") || "none"
            }.`
        })
      )
    }
    seen.add(key)
    const wrong = Approval.wrongKind(request, decision)
    if (wrong !== undefined) return Effect.fail(wrong)
  }
  return Effect.void
}
