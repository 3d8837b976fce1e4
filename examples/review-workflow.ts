/**
 * A workflow that waits for a person: a writer drafts, an editor improves the draft until it is
 * short enough (a loop that carries the last version), then the run waits for a reviewer's
 * decision, sent to it from outside by its run id; approved, the draft is published, else shelved
 * (a condition with an else). Here the reviewer is a fiber beside the run, which approves when the
 * run says it is waiting; in an application it is a person behind an HTTP request or a queue.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { fileURLToPath } from "node:url"
import { Agent, type AgentError, Run, Workflow } from "../src/index.js"
import { model } from "./model.js"

const writer = Agent.make({ name: "Writer", model: model("gpt-4o-mini"), role: "Write short drafts" })
const editor = Agent.make({ name: "Editor", model: model("gpt-4o-mini"), role: "Tighten drafts" })

const Review = Schema.Struct({ approved: Schema.Boolean, note: Schema.String })
interface Reviewed {
  readonly draft: string
  readonly approved: boolean
  readonly note: string
}

// Step<string, Reviewed>: the draft and what the reviewer decided about it.
export const review = Workflow.signal("review", Review, {
  merge: (draft: string, decision): Reviewed => ({ draft, ...decision })
})

interface Draft {
  readonly topic: string
  readonly text: string
}

// One editing pass: the editor's shorter version, with the topic kept beside it for the next pass.
const edit = Workflow.withInput(
  Workflow.agent(editor, ({ topic, text }: Draft) => `Write a shorter draft about ${topic}, from this one:\n\n${text}`)
).pipe(Workflow.map(([{ topic }, text]): Draft => ({ topic, text })))

export const reviewWorkflow = Workflow.make({
  name: "Review Workflow",
  input: Schema.String,
  steps: Workflow.sequence(
    Workflow.withInput(Workflow.agent(writer, (topic: string) => `Write a draft about ${topic}`)),
    Workflow.step("draft", ([topic, text]: readonly [string, string]) => Effect.succeed<Draft>({ topic, text })),
    // At most two editing passes, each on the last version; done as soon as it is short enough.
    Workflow.loop(edit, { until: ({ text }) => text.length < 400, maxIterations: 2 }),
    Workflow.step("text", ({ text }: Draft) => Effect.succeed(text)),
    review,
    Workflow.condition({
      when: ({ approved }: Reviewed) => approved,
      then: Workflow.step("publish", ({ draft, note }: Reviewed) => Effect.succeed(`Published (${note}):\n\n${draft}`)),
      else: Workflow.step("shelve", ({ note }: Reviewed) => Effect.succeed(`Shelved: ${note}`))
    })
  )
})

export const main: Effect.Effect<string, AgentError.AgentError> = Effect.gen(function*() {
  const runId = Run.makeId()
  const waiting = yield* Deferred.make<void>()
  const run = yield* Effect.fork(Workflow.run(reviewWorkflow, "fibers", {
    runId,
    onEvent: (event) => {
      switch (event._tag) {
        case "StepCompleted":
          return Console.log(`✓ ${event.step}`)
        case "StepWaiting":
          return Console.log(`… waiting for the ${event.signal}`).pipe(Effect.zipRight(Deferred.succeed(waiting, undefined)))
        default:
          return Effect.void
      }
    }
  }))
  // The reviewer: once the run waits, the decision goes to it by its run id.
  yield* Deferred.await(waiting)
  yield* Workflow.send(review, runId, { approved: true, note: "looks good" }).pipe(Effect.orDie)
  const output = yield* Fiber.join(run)
  yield* Console.log(`\n${output.content}`)
  return output.content
})

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
