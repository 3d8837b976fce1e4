/**
 * The durable soak: durable runs submitted across two runner processes that share PostgreSQL
 * (`Durable.layerPg`), while runners are killed with SIGKILL at random moments, each replaced by a
 * new one. Run on demand (it takes minutes):
 *
 *   npm run bench:soak                       # 500 runs, 5 kills
 *   npm run bench:soak -- --runs 60 --kills 2 [--out file.json] [--timeout 600]
 *
 * Needs the PostgreSQL server named by EFFECT_AGENTS_TEST_PG_HOST, _PORT, _DATABASE, _USER and
 * _PASSWORD; the soak makes a schema of its own there and drops it at the end. Nothing else runs on
 * that database's runners while it runs: `@effect/cluster`'s shard locks are advisory locks, the
 * database's, not a schema's.
 *
 * Each runner (`bench/soakRunner.ts`) reads run ids on its standard input and prints each run's
 * output. A run is an agent step (the scripted TestModel asks for the tool `lookup`, whose handler
 * appends `<runId> <callId>` to a file outside the processes, then answers) and a plain step. The
 * soak keeps at most 40 runs unanswered, sends each new one to the runners in turn, and, when the
 * number of runs answered reaches one of `--kills` random points between 5% and 90% of `--runs`,
 * kills a random runner with SIGKILL and starts a new one in its place, to which it sends again the
 * runs the dead one had not answered (a run started before is awaited where it is, not run again).
 *
 * What it checks, at the end: every run answered once, with its expected output, and none lost
 * (none unanswered at the end: a run lost is listed with where it was); each tool call's line in the
 * file once. A tool call whose line is there twice was settled twice unless the process that ran it
 * first was killed after it ran, before its record was stored (the engine runs a call in flight at a
 * crash once more): those are counted apart, as "in flight at a kill". The same for the plain step.
 * What it measures: the wall time, and for each kill, from the SIGKILL to the first model call,
 * tool call or step of a run the dead runner was in the middle of (one ran there, and it was not
 * answered yet), run by another runner (takeover), and until the last of those runs was answered.
 *
 * The figures go to the console and as JSON to `--out` (by default `effect-agents-soak.json` in the
 * system's temporary directory); the runners' files stay in a temporary directory it names. It exits with 1 if a run was lost, answered twice or wrongly, or a
 * call settled twice.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Readline from "node:readline"

const root = Path.resolve(import.meta.dirname, "..")
const runnerScript = Path.join(root, "bench/soakRunner.ts")

const option = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`)
  if (at === -1) return fallback
  const value = Number(process.argv[at + 1])
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} takes a whole number (0 or more), got ${process.argv[at + 1]}`)
    process.exit(1)
  }
  return value
}
const runs = option("runs", 500)
const kills = option("kills", 5)
const timeoutSeconds = option("timeout", 900)
const outAt = process.argv.indexOf("--out")
const out = outAt === -1 ? Path.join(Os.tmpdir(), "effect-agents-soak.json") : process.argv[outAt + 1]!
/** At most this many runs sent and not yet answered. */
const window = 40

const names = ["HOST", "PORT", "DATABASE", "USER", "PASSWORD"] as const
const missing = names.map((name) => `EFFECT_AGENTS_TEST_PG_${name}`).filter((name) => process.env[name] === undefined)
if (missing.length > 0) {
  console.error(
    `The soak runs on PostgreSQL: set ${missing.join(", ")} (the server, its database and a user that may create ` +
      `a schema there), e.g. EFFECT_AGENTS_TEST_PG_HOST=127.0.0.1 EFFECT_AGENTS_TEST_PG_PORT=5432 ...`
  )
  process.exit(1)
}
const env = (name: (typeof names)[number]) => process.env[`EFFECT_AGENTS_TEST_PG_${name}`]!
const url = Redacted.make(
  `postgres://${encodeURIComponent(env("USER"))}:${encodeURIComponent(env("PASSWORD"))}@${env("HOST")}:${env("PORT")}/` +
    encodeURIComponent(env("DATABASE"))
)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A line of `tools.txt` (`<runId> <callId> <pid> <at>`) or `steps.txt` (`<runId> <what> <pid> <at>`). */
interface Line {
  readonly runId: string
  readonly what: string
  readonly pid: number
  readonly at: number
}
const read = (file: string): Array<Line> =>
  Fs.existsSync(file)
    ? Fs.readFileSync(file, "utf8").split("\n").filter((line) => line.length > 0).map((line) => {
      const [runId, what, pid, at] = line.split(" ")
      return { runId: runId!, what: what!, pid: Number(pid), at: Number(at) }
    })
    : []

interface Runner {
  readonly child: ChildProcess.ChildProcess
  readonly pid: number
  readonly startedAt: number
  /** Sent to it and not answered by it. */
  readonly unanswered: Set<string>
  killed: boolean
  exited: boolean
  stderr: string
}

interface Answer {
  readonly pid: number
  readonly at: number
  readonly content?: string
  readonly error?: string
}

interface Kill {
  readonly victim: number
  readonly replacement: number
  readonly at: number
  readonly answered: number
  /** The dead runner's unanswered runs, sent again to its replacement. */
  readonly resent: number
  /** From the SIGKILL to the replacement's engine up. */
  replacementUpMs?: number
  /** The runs the dead runner was in the middle of: a model call, tool call or step of theirs ran there, not answered yet. */
  inMiddle?: number
  takeoverMs?: number | null
  /** The runner that ran the first of them again. */
  takenBy?: number | null
  /** From the SIGKILL to the last of them answered. */
  allAnsweredMs?: number | null
}

const main = async () => {
  const admin = ManagedRuntime.make(Layer.orDie(PgClient.layer({ url })))
  const sql = await admin.runPromise(SqlClient.SqlClient)
  const query = <A extends object>(text: string) => admin.runPromise(Effect.orDie(sql.unsafe<A>(text)))
  const schema = `soak_${Crypto.randomUUID().replaceAll("-", "")}`
  await query(`CREATE SCHEMA ${schema}`)
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-soak-"))
  const stepsFile = Path.join(dir, "steps.txt")
  const toolsFile = Path.join(dir, "tools.txt")

  const answers = new Map<string, Array<Answer>>()
  const live: Array<Runner> = []
  const all: Array<Runner> = []
  const unexpected: Array<string> = []
  const logged: Array<string> = []
  let answered = 0

  const spawn = (): Runner => {
    const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", runnerScript, dir, schema], {
      cwd: root,
      stdio: ["pipe", "pipe", "pipe"]
    })
    const runner: Runner = {
      child,
      pid: child.pid!,
      startedAt: Date.now(),
      unanswered: new Set(),
      killed: false,
      exited: false,
      stderr: ""
    }
    Readline.createInterface({ input: child.stdout! }).on("line", (text) => {
      // Anything else is the engine's log (its warnings go to the standard output).
      if (!text.startsWith(`{"runId"`)) {
        logged.push(`${runner.pid} ${text}`)
        return
      }
      const line = JSON.parse(text) as { runId: string; content?: string; error?: string }
      const of = answers.get(line.runId) ?? []
      if (of.length === 0) answered++
      of.push({ pid: runner.pid, at: Date.now(), ...(line.error === undefined ? { content: line.content! } : { error: line.error }) })
      answers.set(line.runId, of)
      runner.unanswered.delete(line.runId)
    })
    child.stderr!.on("data", (chunk) => {
      runner.stderr = (runner.stderr + String(chunk)).slice(-4000)
    })
    child.stdin!.on("error", () => {})
    child.on("close", (code, signal) => {
      runner.exited = true
      if (!runner.killed) {
        unexpected.push(`runner ${runner.pid} exited with ${code ?? signal}: ${runner.stderr.trim()}`)
        if (live.includes(runner)) live.splice(live.indexOf(runner), 1)
      }
    })
    live.push(runner)
    all.push(runner)
    process.once("exit", () => runner.exited || runner.child.kill("SIGKILL"))
    return runner
  }
  const send = (runner: Runner, runId: string) => {
    runner.unanswered.add(runId)
    runner.child.stdin!.write(`${runId}\n`)
  }
  const up = async (runner: Runner) => {
    while (!read(stepsFile).some((line) => line.what === "up" && line.pid === runner.pid)) {
      if (runner.exited) throw new Error(`runner ${runner.pid} exited before its engine was up: ${runner.stderr.trim()}`)
      await sleep(50)
    }
    return Date.now()
  }

  const start = Date.now()
  const loadAverage = Os.loadavg()
  const ids = Array.from({ length: runs }, (_, i) => `soak-${i}`)
  const points = new Set<number>()
  while (points.size < Math.min(kills, runs)) {
    points.add(Math.floor(runs * 0.05 + Math.random() * runs * 0.85))
  }
  const thresholds = [...points].sort((a, b) => a - b)
  const killLog: Array<Kill> = []
  let outcome: "done" | "timed out" = "done"

  try {
    // The second runner starts once the first is up (its tables made), and the runs once both are
    // registered and have taken their shards (the runners refresh their assignments every second).
    const first = spawn()
    await up(first)
    spawn()
    await up(all[1]!)
    while (((await query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.cluster_runners`))[0]?.n ?? 0) < 2) {
      await sleep(100)
    }
    await sleep(2000)
    const begun = Date.now()
    console.log(`soak: ${runs} runs, ${kills} kills (${thresholds.length === 0 ? "none" : `after ${thresholds.join(", ")} answered`}), schema ${schema}, files in ${dir}`)

    // The kills, each once the number of runs answered reaches its point and the last replacement is up.
    const killing = (async () => {
      for (const threshold of thresholds) {
        while (answered < threshold) await sleep(20)
        const victim = live[Math.floor(Math.random() * live.length)]!
        const at = Date.now()
        victim.killed = true
        const gone = new Promise((resolve) => victim.child.once("close", resolve))
        victim.child.kill("SIGKILL")
        await gone
        live.splice(live.indexOf(victim), 1)
        const replacement = spawn()
        const kill: Kill = { victim: victim.pid, replacement: replacement.pid, at, answered, resent: victim.unanswered.size }
        killLog.push(kill)
        for (const runId of victim.unanswered) send(replacement, runId)
        console.log(`kill ${killLog.length}: runner ${victim.pid} at ${answered} answered; ${kill.resent} of its runs sent again to ${replacement.pid}`)
        kill.replacementUpMs = (await up(replacement)) - at
      }
    })()

    let next = 0
    const replaced = new Set<Runner>()
    const deadline = begun + timeoutSeconds * 1000
    while (answered < runs && Date.now() < deadline) {
      const unanswered = next - answered
      if (next < runs && unanswered < window && live.length > 0) {
        send(live[next % live.length]!, ids[next]!)
        next++
      } else {
        await sleep(10)
      }
      // A runner that died by itself (reported below) is replaced too, its runs sent again.
      const dead = all.find((runner) => runner.exited && !runner.killed && !replaced.has(runner))
      if (dead !== undefined && replaced.size < 3) {
        replaced.add(dead)
        const replacement = spawn()
        for (const runId of dead.unanswered) send(replacement, runId)
      }
    }
    if (answered < runs) outcome = "timed out"
    await Promise.race([killing, sleep(1000)])
    const wallMs = Date.now() - begun

    // What the files say.
    const steps = read(stepsFile)
    const tools = read(toolsFile)
    const killedAt = new Map(killLog.map((kill) => [kill.victim, kill.at]))
    const answeredAt = (runId: string) => (answers.get(runId) ?? [])[0]?.at
    for (const kill of killLog) {
      // The runs the dead runner was in the middle of: a model call, tool call or step of theirs ran
      // there, and they were not answered yet (the last step's result may not have been stored).
      const inMiddle = new Set(
        [...steps, ...tools]
          .filter((line) => line.at <= kill.at && line.pid === kill.victim && line.runId !== "-")
          .map((line) => line.runId)
          .filter((runId) => (answeredAt(runId) ?? Infinity) > kill.at)
      )
      kill.inMiddle = inMiddle.size
      const after = [...steps, ...tools].filter((line) => line.at > kill.at && line.pid !== kill.victim && inMiddle.has(line.runId))
      const firstAfter = after.reduce<Line | undefined>((first, line) => first === undefined || line.at < first.at ? line : first, undefined)
      kill.takeoverMs = firstAfter === undefined ? null : firstAfter.at - kill.at
      kill.takenBy = firstAfter?.pid ?? null
      const ends = [...inMiddle].map(answeredAt)
      kill.allAnsweredMs = ends.length === 0 || ends.some((at) => at === undefined) ? null : Math.max(...ends.map((at) => at!)) - kill.at
    }

    // A line twice: in flight at a kill when the process that wrote it first was killed after.
    const twice = (lines: ReadonlyArray<Line>, key: (line: Line) => string) => {
      const groups = new Map<string, Array<Line>>()
      for (const line of lines) groups.set(key(line), [...(groups.get(key(line)) ?? []), line])
      const inFlight: Array<string> = []
      const settledTwice: Array<string> = []
      for (const [name, group] of groups) {
        if (group.length < 2) continue
        const describe = `${name}: ${group.map((line) => `pid ${line.pid} at ${line.at - begun} ms`).join(", ")}`
        const killedAfter = (line: Line) => (killedAt.get(line.pid) ?? -1) >= line.at
        if (group.slice(0, -1).every(killedAfter)) inFlight.push(describe)
        else settledTwice.push(describe)
      }
      return { calls: groups.size, inFlight, settledTwice }
    }
    const toolCalls = twice(tools, (line) => `${line.runId} ${line.what}`)
    const signSteps = twice(steps.filter((line) => line.what === "sign"), (line) => line.runId)

    const lost = ids.filter((runId) => (answers.get(runId) ?? []).length === 0).map((runId) => {
      const holders = all.filter((runner) => runner.unanswered.has(runId)).map((runner) => runner.pid)
      const seen = [...steps, ...tools].filter((line) => line.runId === runId).map((line) => `${line.what}@${line.pid}`)
      return `${runId} (awaited by ${holders.join(", ") || "none"}; lines: ${seen.join(" ") || "none"})`
    })
    const answeredTwice = ids.filter((runId) => (answers.get(runId) ?? []).length > 1)
    const wrong = ids.flatMap((runId) => {
      const answer = (answers.get(runId) ?? [])[0]
      return answer === undefined || answer.content === `${runId}: found (signed)`
        ? []
        : [`${runId}: ${answer.error ?? answer.content}`]
    })
    const noTool = ids.filter((runId) => !tools.some((line) => line.runId === runId))

    // What each runner ran: its model calls, tool calls and sign steps.
    const byRunner = all.map((runner) => {
      const mine = (lines: ReadonlyArray<Line>, what?: string) =>
        lines.filter((line) => line.pid === runner.pid && line.runId !== "-" && (what === undefined || line.what === what)).length
      return {
        pid: runner.pid,
        killed: killedAt.has(runner.pid),
        modelCalls: mine(steps, "model"),
        toolCalls: mine(tools),
        signSteps: mine(steps, "sign"),
        answered: [...answers.values()].filter((of) => of.some((answer) => answer.pid === runner.pid)).length
      }
    })

    const report = {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: Os.cpus().length, loadAverage, loadAverageAtEnd: Os.loadavg() },
      options: { runs, kills, window, timeoutSeconds },
      outcome,
      wallMs,
      startupMs: begun - start,
      runsPerSecond: answered / (wallMs / 1000),
      answered,
      lost,
      answeredTwice,
      wrong,
      withoutToolCall: noTool,
      toolCalls: { recorded: toolCalls.calls, inFlightAtKill: toolCalls.inFlight, settledTwice: toolCalls.settledTwice },
      signSteps: { recorded: signSteps.calls, inFlightAtKill: signSteps.inFlight, settledTwice: signSteps.settledTwice },
      kills: killLog,
      byRunner,
      engineLogLines: logged.length,
      engineLog: logged.slice(0, 200),
      runnersExitedUnasked: unexpected
    }
    Fs.writeFileSync(out, JSON.stringify(report, null, 2) + "\n")

    const row = (name: string, value: string | number) => console.log(`${name.padEnd(44)} ${value}`)
    console.log("")
    row("outcome", outcome)
    row("wall time (first run sent to last answered)", `${(wallMs / 1000).toFixed(1)} s (${report.runsPerSecond.toFixed(1)} runs/s)`)
    row("runs answered / sent", `${answered} / ${runs}`)
    row("runs lost (never answered)", lost.length)
    row("runs answered twice", answeredTwice.length)
    row("runs answered wrongly (or failed)", wrong.length)
    row("tool calls recorded", toolCalls.calls)
    row("tool calls run again, in flight at a kill", toolCalls.inFlight.length)
    row("tool calls settled and run again", toolCalls.settledTwice.length)
    row("sign steps run again, in flight at a kill", signSteps.inFlight.length)
    row("sign steps settled and run again", signSteps.settledTwice.length)
    row("runners that exited unasked", unexpected.length)
    row("lines of the engine's log (warnings)", logged.length)
    console.log("")
    console.log("kill  victim    at answered  resent  in the middle  replacement up  takeover  by        all answered")
    killLog.forEach((kill, i) => {
      const ms = (value: number | null | undefined) => value === undefined || value === null ? "-" : `${(value / 1000).toFixed(1)} s`
      console.log(
        `${String(i + 1).padEnd(6)}${String(kill.victim).padEnd(10)}${String(kill.answered).padEnd(13)}${String(kill.resent).padEnd(8)}` +
          `${String(kill.inMiddle).padEnd(15)}${ms(kill.replacementUpMs).padEnd(16)}${ms(kill.takeoverMs).padEnd(10)}` +
          `${String(kill.takenBy ?? "-").padEnd(10)}${ms(kill.allAnsweredMs)}`
      )
    })
    console.log("\nrunner    killed  model calls  tool calls  sign steps  answered")
    for (const runner of byRunner) {
      console.log(
        `${String(runner.pid).padEnd(10)}${(runner.killed ? "yes" : "no").padEnd(8)}${String(runner.modelCalls).padEnd(13)}` +
          `${String(runner.toolCalls).padEnd(12)}${String(runner.signSteps).padEnd(12)}${runner.answered}`
      )
    }
    for (const [name, list] of [
      ["lost", lost],
      ["answered twice", answeredTwice],
      ["wrong", wrong],
      ["without a tool call", noTool],
      ["tool calls run again, in flight at a kill", toolCalls.inFlight],
      ["tool calls settled and run again", toolCalls.settledTwice],
      ["sign steps run again, in flight at a kill", signSteps.inFlight],
      ["sign steps settled and run again", signSteps.settledTwice],
      ["runners that exited unasked", unexpected]
    ] as const) {
      if (list.length > 0) console.log(`\n${name}:\n  ${list.slice(0, 50).join("\n  ")}`)
    }
    console.log(`\nJSON: ${out}`)
    const failed = outcome !== "done" || lost.length + answeredTwice.length + wrong.length + noTool.length +
          toolCalls.settledTwice.length + signSteps.settledTwice.length + unexpected.length > 0
    process.exitCode = failed ? 1 : 0
  } finally {
    for (const runner of all) {
      if (!runner.exited) {
        runner.killed = true
        runner.child.kill("SIGKILL")
      }
    }
    await sleep(500)
    await query(`DROP SCHEMA ${schema} CASCADE`).catch((error) => console.error(`could not drop schema ${schema}: ${error}`))
    await admin.dispose()
    console.log(`the runners' files (tools.txt, steps.txt) are in ${dir}`)
  }
}

main().then(
  () => process.exit(),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
