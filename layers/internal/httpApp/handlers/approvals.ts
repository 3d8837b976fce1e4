/**
 * The handlers of the runs that wait for approval: listed (with the durable runs' pauses when the
 * server has a durable store), and resumed with decisions as a run of their entry (the same JSON
 * and Server-Sent Events answers as a new run's; decisions refused before anything ran are a 400,
 * as JSON or as a stream).
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Approval from "../../../../src/Approval.js"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Registry from "../../../../src/Registry.js"
import * as Approvals from "../approvals.js"
import { State } from "../state.js"
import { admission, eventStream, pausedAccepted, runToEnd, setRunId, wantsEventStream } from "./entry.js"

/** The pauses of the durable runs, where a durable store is configured. */
const durablePauses = Effect.flatMap(State, ({ durable }) =>
  durable === undefined ? Effect.succeed([]) : Effect.map(durable.list(true), (runs) =>
    runs.flatMap((run): ReadonlyArray<HttpApi.PausedRun> =>
      run.pending === undefined || run.pending.length === 0 ? [] : [{
        runId: run.runId,
        agent: run.agent,
        pending: run.pending,
        durable: true,
        decideAt: `/durable/runs/${run.runId}/decisions`
      }]
    )))

/** Why no run with this id waits here: none does, or it is a durable run, whose decisions go elsewhere. */
const notWaiting = (runId: string) =>
  Effect.flatMap(durablePauses, (durable) =>
    Effect.fail(
      new HttpApi.RunNotFound({
        runId,
        message: durable.some((run) => run.runId === runId)
          ? `The run "${runId}" is a durable run: POST its decisions to /durable/runs/${runId}/decisions.`
          : `No run with id "${runId}" waits for approval (GET /approvals lists those that do).`
      })
    ))

export const ApprovalsLive = HttpApiBuilder.group(HttpApi.Api, "approvals", (handlers) =>
  handlers
    .handle("list", () =>
      Effect.gen(function*() {
        const { approvals } = yield* State
        return [...(yield* approvals.list), ...(yield* durablePauses)]
      }))
    .handle("resume", ({ path, payload, request }) =>
      Effect.gen(function*() {
        const { approvals } = yield* State
        const found = yield* approvals.get(path.runId)
        const registry = yield* Registry.Registry
        const entry = Option.flatMap(found, (paused) => registry.get(paused.agent))
        if (Option.isNone(found) || Option.isNone(entry) || entry.value.resume === undefined) {
          return yield* notWaiting(path.runId)
        }
        const resumed = Approvals.resumed(approvals.tracking(entry.value), found.value, payload.decisions)
        const options = { runId: path.runId }
        yield* setRunId(path.runId)
        if (payload.stream === true || wantsEventStream(request)) {
          // The response starts once the resume is admitted: a refusal is a 400, not a stream.
          const gate = yield* admission(resumed)
          const response = yield* eventStream(gate.entry, "", options, payload.detach === true, true)
          yield* Effect.mapError(gate.admitted, (error) => HttpApi.DecisionsRefused.fromApprovalError(path.runId, error))
          return response
        }
        return yield* runToEnd(resumed, "", options).pipe(pausedAccepted, refusedDecisions(path.runId))
      })))

// A resume whose decisions or state are refused ran nothing, and its run still waits: a client's
// error (400), not the run's failure.
const refusedDecisions = (runId: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | HttpApi.DecisionsRefused, R> =>
  Effect.catchIf(
    effect,
    (error): error is E & HttpApi.RunError =>
      error instanceof HttpApi.RunError && error.error instanceof Approval.ApprovalError,
    (error) => Effect.fail(HttpApi.DecisionsRefused.fromApprovalError(runId, error.error as Approval.ApprovalError))
  )
