/**
 * `npm start` as a person runs it, and stops it: the server is the command's own process, so
 * signalling the command (as `kill <pid>` or a process manager does) stops the server with it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")

const refuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(true))
  })

describe("npm start", () => {
  it("stops serving when the command is signalled", async () => {
    const data = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-start-"))
    const npm = ChildProcess.spawn("npm", ["start", "--silent"], {
      cwd: root,
      env: { ...process.env, EFFECT_AGENTS_HTTP_PORT: "0", EFFECT_AGENTS_DATA_DIR: data },
      stdio: ["ignore", "pipe", "pipe"]
    })
    try {
      let printed = ""
      const port = await new Promise<number>((resolve, reject) => {
        npm.stdout.on("data", (chunk: Buffer) => {
          printed += chunk.toString("utf8")
          const found = /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(printed)
          if (found !== null) resolve(Number(found[1]))
        })
        npm.once("exit", (code) => reject(new Error(`npm start exited (${code}) before serving:\n${printed}`)))
      })
      assert.isFalse(await refuses(port), "the server answers")
      const exited = new Promise<number | null>((resolve) => npm.once("exit", resolve))
      npm.kill("SIGTERM")
      await exited
      // The command has ended: the port is closed once the server's grace period has passed.
      let closed = false
      for (let attempt = 0; attempt < 100 && !closed; attempt++) {
        closed = await refuses(port)
        if (!closed) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      assert.isTrue(closed, "the server stopped with the command")
    } finally {
      npm.kill("SIGKILL")
      Fs.rmSync(data, { recursive: true, force: true })
    }
  }, 60_000)
})
