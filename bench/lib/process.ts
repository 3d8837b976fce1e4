/**
 * A fresh `node` process run to its end: what it printed on standard output and how it exited.
 * Its standard error goes to this process's, so a failing child is seen as it fails.
 */
import * as ChildProcess from "node:child_process"

export interface Finished {
  readonly code: number | null
  readonly stdout: string
  /** From the spawn to the exit, in ms. */
  readonly wall: number
}

export const runNode = (args: ReadonlyArray<string>): Promise<Finished> =>
  new Promise((resolve, reject) => {
    const start = performance.now()
    const child = ChildProcess.spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, wall: performance.now() - start }))
  })
