/**
 * The benchmark suite. Every scenario runs in fresh processes (several, one after another, the
 * scenarios taking turns so that a burst of load elsewhere on the machine does not land on one
 * scenario only); inside each process it runs in batches after a warm-up and reports the median
 * batch; the table shows the median, min and max of the processes' figures, next to the target.
 *
 *   npm run bench                          everything, 3 processes per scenario
 *   npm run bench -- inprocess             a group: inprocess, http, import
 *   npm run bench -- single-turn tool-call scenarios by name
 *   npm run bench -- --quick               fewer and smaller batches, one process per scenario
 *   npm run bench -- --processes 5         more processes per scenario
 *   npm run bench -- --profile single-turn one process under --cpu-prof, then a summary of it
 *   npm run bench -- --list                the scenarios
 *
 * The figures go to bench/results.json (a full run) or to a file in the system's temporary
 * directory (a subset or a quick run), or to `--out <file>`.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { bundle } from "./lib/build.js"
import { median, type Metric, RESULT_PREFIX } from "./lib/measure.js"
import { runNode } from "./lib/process.js"
import { format, readSourceMap, summarize } from "./lib/profile.js"
import { all } from "./scenarios/index.js"
import type { Scenario } from "./scenarios/types.js"

interface Args {
  readonly selectors: ReadonlyArray<string>
  readonly quick: boolean
  readonly processes: number | undefined
  readonly profile: string | undefined
  readonly out: string | undefined
  readonly list: boolean
}

const parseArgs = (argv: ReadonlyArray<string>): Args => {
  const selectors: Array<string> = []
  let quick = false
  let processes: number | undefined
  let profile: string | undefined
  let out: string | undefined
  let list = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--quick") quick = true
    else if (arg === "--list") list = true
    else if (arg === "--processes") processes = Number(argv[++i])
    else if (arg === "--profile") profile = argv[++i]
    else if (arg === "--out") out = argv[++i]
    else if (arg.startsWith("--")) throw new Error(`unknown option ${arg}`)
    else selectors.push(arg)
  }
  if (processes !== undefined && !(Number.isInteger(processes) && processes > 0)) {
    throw new Error("--processes needs a whole number above 0")
  }
  return { selectors, quick, processes, profile, out, list }
}

const select = (selectors: ReadonlyArray<string>): ReadonlyArray<Scenario> => {
  if (selectors.length === 0) return all
  const chosen = all.filter((s) => selectors.includes(s.name) || selectors.includes(s.group))
  const unknown = selectors.filter((name) => !all.some((s) => s.name === name || s.group === name))
  if (unknown.length > 0) {
    throw new Error(`unknown scenario or group: ${unknown.join(", ")} (see --list)`)
  }
  return chosen
}

interface WorkerResult {
  readonly scenario: string
  readonly metrics: ReadonlyArray<Metric>
  readonly maxRssKb: number
  readonly loadBefore: number
}

const runWorker = async (
  command: ReadonlyArray<string>,
  scenario: string,
  flags: ReadonlyArray<string>
): Promise<WorkerResult> => {
  const loadBefore = Os.loadavg()[0]!
  const { code, stdout } = await runNode([...command, scenario, ...flags])
  const line = stdout.split("\n").reverse().find((l) => l.startsWith(RESULT_PREFIX))
  if (code !== 0 || line === undefined) throw new Error(`scenario ${scenario} exited with ${code}:\n${stdout.slice(-2000)}`)
  return { ...(JSON.parse(line.slice(RESULT_PREFIX.length)) as Omit<WorkerResult, "loadBefore">), loadBefore }
}

/**
 * The worker runs as one esbuild bundle of the project's sources (its packages left external, so
 * `effect` and the rest load as published): the framework compiled to plain JavaScript, the way an
 * application's build runs it and the way other frameworks' published code is measured. Through tsx
 * the figures would include tsx's own cost: it keeps function names by wrapping every named function
 * in a call that defines its `name` each time the function is created, which no build does.
 */
const buildWorker = async () => {
  const built = await bundle("bench/worker.ts", { external: true, sourcemap: false })
  return { command: ["--expose-gc", built.file], remove: built.remove }
}

// -----------------------------------------------------------------------------
// Aggregation
// -----------------------------------------------------------------------------

interface Row {
  readonly scenario: string
  readonly id: string
  readonly label: string
  readonly unit: string
  readonly median: number
  readonly min: number
  readonly max: number
  readonly cpuMedian: number | undefined
  readonly target: number | undefined
  readonly raw: string | undefined
  ratio: number | undefined
  readonly ratioTarget: number | undefined
  met: boolean | undefined
  readonly note: string | undefined
  readonly perProcess: ReadonlyArray<number>
}

const aggregate = (results: ReadonlyArray<WorkerResult>): Array<Row> => {
  const rows: Array<Row> = []
  const byId = new Map<string, Array<{ readonly metric: Metric; readonly process: WorkerResult }>>()
  const order: Array<{ readonly scenario: string; readonly id: string }> = []
  for (const result of results) {
    for (const metric of result.metrics) {
      let list = byId.get(metric.id)
      if (list === undefined) {
        byId.set(metric.id, list = [])
        order.push({ scenario: result.scenario, id: metric.id })
      }
      list.push({ metric, process: result })
    }
  }
  for (const { id, scenario } of order) {
    const entries = byId.get(id)!
    const first = entries[0]!.metric
    const values = entries.map((e) => e.metric.value)
    const cpus = entries.flatMap((e) => (e.metric.cpu === undefined ? [] : [e.metric.cpu]))
    // A ratio to a raw figure of the same process is taken per process, then the median of those.
    const sameProcess = entries.flatMap((e) => {
      const raw = first.raw === undefined ? undefined : e.process.metrics.find((m) => m.id === first.raw)
      return raw === undefined ? [] : [e.metric.value / raw.value]
    })
    rows.push({
      scenario,
      id,
      label: first.label,
      unit: first.unit,
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
      cpuMedian: cpus.length === 0 ? undefined : median(cpus),
      target: first.target,
      raw: first.raw,
      ratio: sameProcess.length > 0 ? median(sameProcess) : undefined,
      ratioTarget: first.ratioTarget,
      met: undefined,
      note: first.note,
      perProcess: values.map((v) => Number(v.toPrecision(6)))
    })
  }
  // A raw figure measured in processes of its own: the ratio of the medians.
  for (const row of rows) {
    if (row.raw !== undefined && row.ratio === undefined) {
      const raw = rows.find((r) => r.id === row.raw)
      if (raw !== undefined) row.ratio = row.median / raw.median
    }
    const checks: Array<boolean> = []
    if (row.target !== undefined) checks.push(row.median <= row.target)
    if (row.ratioTarget !== undefined && row.ratio !== undefined) checks.push(row.ratio <= row.ratioTarget)
    row.met = checks.length === 0 ? undefined : checks.every((c) => c)
  }
  return rows
}

const num = (n: number | undefined): string => {
  if (n === undefined || Number.isNaN(n)) return ""
  const abs = Math.abs(n)
  if (abs >= 1000) return Math.round(n).toLocaleString("en-US")
  if (abs >= 100) return n.toFixed(0)
  if (abs >= 10) return n.toFixed(1)
  if (abs >= 1) return n.toFixed(2)
  return n.toFixed(3)
}

const table = (rows: ReadonlyArray<Row>): string => {
  const lines = [
    "| scenario | median | min | max | CPU time | target | ratio to raw | |",
    "|---|---:|---:|---:|---:|---:|---:|:-:|"
  ]
  for (const row of rows) {
    const target = [
      row.target === undefined ? "" : `≤ ${num(row.target)}`,
      row.ratioTarget === undefined ? "" : `≤ ${row.ratioTarget}× raw`
    ].filter((s) => s.length > 0).join(", ")
    const mark = row.met === undefined ? "" : row.met ? "met" : "**missed**"
    lines.push(
      `| ${row.label} | ${num(row.median)} ${row.unit} | ${num(row.min)} | ${num(row.max)} | ${num(row.cpuMedian)} | ${target} | ${
        row.ratio === undefined ? "" : `${row.ratio.toFixed(2)}×`
      } | ${mark} |`
    )
  }
  return lines.join("\n")
}

const machine = () => {
  const cpus = Os.cpus()
  return {
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGb: Number((Os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverage: Os.loadavg().map((n) => Number(n.toFixed(2)))
  }
}

// -----------------------------------------------------------------------------
// Profiling
// -----------------------------------------------------------------------------

/**
 * One process of `scenario` under `--cpu-prof`. The worker is bundled first (with a source map)
 * so that the profile is of plain JavaScript whose positions map back to the project's sources,
 * and so that no module loader thread runs beside it.
 */
const profile = async (scenario: string): Promise<void> => {
  if (!all.some((s) => s.name === scenario)) throw new Error(`unknown scenario '${scenario}' (see --list)`)
  const built = await bundle("bench/worker.ts", { external: true, sourcemap: true })
  const dir = Path.join(built.dir, "profile")
  const result = await runWorker(["--expose-gc", "--cpu-prof", `--cpu-prof-dir=${dir}`, built.file], scenario, ["--profile"])
  for (const metric of result.metrics) console.log(`${metric.label}: ${num(metric.value)} ${metric.unit}`)
  // One profile per thread; the main thread's is the one with the most samples.
  const files = Fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => Path.join(dir, f))
  const main = files.sort((a, b) => Fs.statSync(b).size - Fs.statSync(a).size)[0]!
  const text = format(scenario, summarize(main, process.cwd(), 40, readSourceMap(built.file)))
  Fs.writeFileSync(Path.join(dir, `${scenario}.txt`), text + "\n")
  console.log(`\n${text}\n\nprofile: ${main}\nsummary: ${Path.join(dir, `${scenario}.txt`)}`)
}

// -----------------------------------------------------------------------------
// Main
// -----------------------------------------------------------------------------

const args = parseArgs(process.argv.slice(2))
if (args.list) {
  for (const s of all) console.log(`${s.name.padEnd(24)} ${s.group.padEnd(10)} ${s.description}`)
} else if (args.profile !== undefined) {
  await profile(args.profile)
} else {
  const scenarios = select(args.selectors)
  const processes = args.processes ?? (args.quick ? 1 : 3)
  const flags = args.quick ? ["--quick"] : []
  const started = new Date()
  const before = machine()
  const results: Array<WorkerResult> = []
  const worker = await buildWorker()
  const failures: Array<{ readonly scenario: string; readonly round: number; readonly error: string }> = []
  // A scenario may ask for more processes than the others (its figure varies more between them).
  const countOf = (scenario: Scenario) => (args.quick ? 1 : Math.max(processes, scenario.processes ?? 0))
  const rounds = Math.max(...scenarios.map(countOf))
  for (let round = 1; round <= rounds; round++) {
    for (const scenario of scenarios) {
      if (round > countOf(scenario)) continue
      const t = performance.now()
      const result = await runWorker(worker.command, scenario.name, flags).catch((error: unknown) => {
        failures.push({ scenario: scenario.name, round, error: String(error).slice(0, 500) })
        console.error(`[${round}/${countOf(scenario)}] ${scenario.name}: failed: ${String(error).slice(0, 500)}`)
        return undefined
      })
      if (result === undefined) continue
      results.push(result)
      const shown = result.metrics.slice(0, 2).map((m) => `${num(m.value)} ${m.unit}`).join(", ")
      console.error(
        `[${round}/${countOf(scenario)}] ${scenario.name}: ${shown} (${((performance.now() - t) / 1000).toFixed(1)} s, load ${
          result.loadBefore.toFixed(1)
        })`
      )
    }
  }
  worker.remove()
  const rows = aggregate(results)
  const info = { ...before, loadAverageAtEnd: Os.loadavg().map((n) => Number(n.toFixed(2))) }
  const more = scenarios.filter((s) => countOf(s) !== processes).map((s) => `${countOf(s)} for ${s.name}`)
  console.log(
    `\nnode ${info.node}, ${info.platform}, ${info.cpus} × ${info.cpuModel}, load average ${
      info.loadAverage[0]
    } at the start and ${info.loadAverageAtEnd[0]} at the end; ${processes} process${
      processes === 1 ? "" : "es"
    } per scenario${more.length > 0 ? ` (${more.join(", ")})` : ""}${args.quick ? ", quick mode" : ""}\n`
  )
  console.log(table(rows))
  if (failures.length > 0) {
    console.log(`\nfailed processes:\n${failures.map((f) => `- ${f.scenario} (round ${f.round}): ${f.error.split("\n")[0]}`).join("\n")}`)
  }
  const notes = Array.from(new Set(rows.flatMap((r) => (r.note === undefined ? [] : [r.note]))))
  if (notes.length > 0) console.log(`\n${notes.map((note) => `- ${note}`).join("\n")}`)
  const full = args.selectors.length === 0 && !args.quick
  const out = args.out ?? (full ? Path.join("bench", "results.json") : Path.join(Os.tmpdir(), "effect-agents-bench-results.json"))
  const document = {
    date: started.toISOString(),
    machine: info,
    options: { selection: args.selectors, quick: args.quick, processes },
    failures,
    scenarios: scenarios.map((s) => ({
      scenario: s.name,
      group: s.group,
      description: s.description,
      metrics: rows.filter((r) => r.scenario === s.name).map((r) => ({
        id: r.id,
        label: r.label.trim(),
        unit: r.unit,
        median: Number(r.median.toPrecision(6)),
        min: Number(r.min.toPrecision(6)),
        max: Number(r.max.toPrecision(6)),
        ...(r.cpuMedian === undefined ? {} : { cpuMedian: Number(r.cpuMedian.toPrecision(6)) }),
        ...(r.target === undefined ? {} : { target: r.target }),
        ...(r.raw === undefined ? {} : { raw: r.raw }),
        ...(r.ratio === undefined ? {} : { ratio: Number(r.ratio.toPrecision(4)) }),
        ...(r.ratioTarget === undefined ? {} : { ratioTarget: r.ratioTarget }),
        ...(r.met === undefined ? {} : { met: r.met }),
        perProcess: r.perProcess
      })),
      peakRssMb: results.filter((r) => r.scenario === s.name).map((r) => Number((r.maxRssKb / 1024).toFixed(1)))
    }))
  }
  Fs.writeFileSync(out, JSON.stringify(document, null, 2) + "\n")
  console.log(`\nwritten to ${out}`)
}
