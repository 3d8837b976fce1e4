import type { Effort, Metric } from "../lib/measure.js"

/** A scenario: run in a process of its own by the worker, several times by the runner. */
export interface Scenario {
  readonly name: string
  readonly group: "inprocess" | "http" | "import"
  readonly description: string
  /** Fresh processes the runner starts for it (quick mode: one). */
  readonly processes?: number
  readonly run: (effort: Effort) => Promise<ReadonlyArray<Metric>>
}
