/**
 * The local simulator in a process of its own, for the HTTP scenarios: a client measured in its
 * process then pays only for its own work (and its peak memory is its own). It prints its URL and
 * runs until its standard input closes, which happens when the process that started it ends.
 *
 *   node --import tsx bench/simulator.ts [--delay <ms>]
 *
 * The script: a message "stream" is answered with 500 chunks, "stream one-write" with the same
 * 500 chunks in one write; a conversation that ends with a tool result gets a short answer; any
 * other message gets a call of the tool `add` (the message `HOLD` gets it after `HOLD_MS`).
 */
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as Simulator from "../layers/Simulator.js"

export const CHUNKS = 500
export const READY_PREFIX = "@@simulator "
/** A message answered like any other, but only after `HOLD_MS`: runs then wait with their state held. */
export const HOLD = "add, after a while"
export const HOLD_MS = 4_000

const flag = process.argv.indexOf("--delay")
const delay = flag >= 0 ? Number(process.argv[flag + 1]) : 0

const script: Simulator.Script = (request) =>
  request.lastUserText === "stream"
    ? Simulator.text("w ".repeat(CHUNKS), { chunks: CHUNKS })
    : request.lastUserText === "stream one-write"
    ? Simulator.text("w ".repeat(CHUNKS), { chunks: CHUNKS, oneWrite: true })
    : request.toolResults.length > 0
    ? Simulator.text("The answer is 3.")
    : request.lastUserText === HOLD
    ? Simulator.toolCall("add", { a: 1, b: 2 }, { delay: `${HOLD_MS} millis` })
    : Simulator.toolCall("add", { a: 1, b: 2 })

if (process.argv[1]?.endsWith("simulator.ts")) {
  const scope = Effect.runSync(Scope.make())
  const simulator = await Effect.runPromise(
    // Idle connections are kept for a minute, as API providers' load balancers keep them: with
    // Node's default of 5 seconds, a batch that runs longer than that (thousands of runs at once)
    // has its connections closed under it, and both sides pay for new ones and for resets.
    Scope.extend(
      Simulator.make({ script, recordLimit: 0, keepAlive: "60 seconds", ...(delay > 0 ? { delay: `${delay} millis` } : {}) }),
      scope
    )
  )
  console.log(READY_PREFIX + simulator.url)
  process.stdin.resume()
  process.stdin.on("end", () => process.exit(0))
  process.stdin.on("close", () => process.exit(0))
}
