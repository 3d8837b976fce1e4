/**
 * Timing helpers shared by the scenarios: batches after a warm-up, medians, and the line a worker
 * process prints so the runner can collect its figures.
 */

/** One figure a scenario reports from one process. */
export interface Metric {
  /** Unique across the suite: the runner aggregates by it. */
  readonly id: string
  readonly label: string
  readonly unit: string
  /** The median of the process's batches. */
  readonly value: number
  /** The batches' values, for the record. */
  readonly samples?: ReadonlyArray<number>
  /**
   * The same figure in CPU time of the process (user + system) instead of wall time: on a busy
   * machine, wall time includes waiting for a core and CPU time does not.
   */
  readonly cpu?: number
  /** The figure must be at most this (same unit). */
  readonly target?: number
  /** The id of the raw (physical limit) figure this one is compared with. */
  readonly raw?: string
  /** The ratio to `raw` must be at most this. */
  readonly ratioTarget?: number
  /** A line of explanation under the table. */
  readonly note?: string
}

/** How hard a scenario works: the runner's quick mode and profiling mode change it. */
export interface Effort {
  readonly quick: boolean
  readonly profile: boolean
}

/** Scales a count for the effort: a quarter in quick mode, four times when profiling. */
export const scaled = (effort: Effort, n: number): number =>
  Math.max(1, Math.round(effort.quick ? n / 4 : effort.profile ? n * 4 : n))

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const mean = (values: ReadonlyArray<number>): number =>
  values.reduce((sum, value) => sum + value, 0) / values.length

const gcFunction = (globalThis as { gc?: () => void }).gc

/** A full collection, so that one batch does not pay for the garbage of the one before. */
export const gc = (): void => {
  gcFunction?.()
}

export const hasGc = gcFunction !== undefined

/** A batch: `run` is timed, `setup` and `teardown` are not. */
export interface Batch {
  readonly run: () => Promise<unknown> | unknown
  readonly teardown?: () => Promise<unknown> | unknown
}

export interface BatchOptions {
  /** Batches run and thrown away first (JIT, caches). */
  readonly warmup: number
  /**
   * And the warm-up goes on until it has taken this long: code with many paths (a turn in a
   * session) is still getting faster after a couple of thousand runs. Default 0.
   */
  readonly warmupMs?: number | undefined
  readonly batches: number
  /** Operations in one batch: the result is µs per operation. */
  readonly ops: number
}

/**
 * Times `batches` batches after `warmup` untimed ones and returns µs per operation of each timed
 * batch. Each batch gets a fresh `setup` (untimed).
 *
 * No full collection is forced between batches: a forced collection shrinks V8's young generation
 * to its smallest size, so the batch after it pays for many more scavenges (and early promotions)
 * than a process that has been running does. Measured on the single-turn run: about 35 µs per run
 * after a forced collection, 11-14 µs without. The garbage a batch leaves is collected during the
 * next one, as it is in a running service, so collection stays part of every figure.
 */
export const timeBatches = async (
  options: BatchOptions,
  setup: () => Promise<Batch> | Batch
): Promise<Samples> => {
  const wall: Array<number> = []
  const cpu: Array<number> = []
  const warmUntil = performance.now() + (options.warmupMs ?? 0)
  for (let i = 0, timed = 0; timed < options.batches; i++) {
    const warming = i < options.warmup || performance.now() < warmUntil
    const batch = await setup()
    const cpuStart = process.cpuUsage()
    const start = performance.now()
    await batch.run()
    const elapsed = performance.now() - start
    const cpuUsed = process.cpuUsage(cpuStart)
    await batch.teardown?.()
    if (!warming) {
      timed++
      wall.push((elapsed * 1000) / options.ops)
      cpu.push((cpuUsed.user + cpuUsed.system) / options.ops)
    }
  }
  return { wall, cpu }
}

/** Per-batch figures: wall time and the process's CPU time, per operation. */
export interface Samples {
  readonly wall: ReadonlyArray<number>
  readonly cpu?: ReadonlyArray<number> | undefined
}

/** Divides every sample by `by` (per turn from per conversation, per chunk from per stream). */
export const divide = (samples: Samples, by: number): Samples => ({
  wall: samples.wall.map((s) => s / by),
  cpu: samples.cpu?.map((s) => s / by)
})

/** A metric from the samples of its batches: the median is the value. */
export const metric = (
  fields: Omit<Metric, "value" | "samples" | "cpu">,
  samples: Samples | ReadonlyArray<number>
): Metric => {
  const { cpu, wall } = "wall" in samples ? samples : { wall: samples, cpu: undefined }
  return {
    ...fields,
    value: median(wall),
    samples: wall.map((s) => Number(s.toPrecision(6))),
    ...(cpu === undefined ? {} : { cpu: median(cpu) })
  }
}

/** The line a worker prints; the runner reads the last one from its output. */
export const RESULT_PREFIX = "@@bench-result "
