/**
 * Runs one scenario in this process and prints its figures on one line for the runner
 * (`bench/run.ts`), which starts a fresh process per scenario and per repetition:
 *
 *   node --expose-gc --import tsx bench/worker.ts <scenario> [--quick] [--profile]
 */
import { RESULT_PREFIX } from "./lib/measure.js"
import { all } from "./scenarios/index.js"

const [name, ...flags] = process.argv.slice(2)
const scenario = all.find((s) => s.name === name)
if (scenario === undefined) {
  console.error(`unknown scenario '${name}'; one of: ${all.map((s) => s.name).join(", ")}`)
  process.exit(2)
}
const metrics = await scenario.run({ quick: flags.includes("--quick"), profile: flags.includes("--profile") })
const memory = process.resourceUsage()
console.log(RESULT_PREFIX + JSON.stringify({ scenario: scenario.name, metrics, maxRssKb: memory.maxRSS }))
// Servers, pools and timers the scenario left behind must not keep the process (and the runner) waiting.
process.exit(0)
