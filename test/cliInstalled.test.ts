/**
 * The command as it is installed: the build on plain Node (no TypeScript loader in the process),
 * given the user's agents as a TypeScript module.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")

describe("the installed command", () => {
  it("runs the agents of a TypeScript module", () => {
    const data = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-cli-"))
    try {
      const result = ChildProcess.spawnSync(
        process.execPath,
        [Path.join(root, "dist/cli/bin.js"), "run", "echo", "Hello there", "--agents", "test/fixtures/installedAgents.ts"],
        { cwd: root, encoding: "utf8", env: { ...process.env, EFFECT_AGENTS_DATA_DIR: data, NO_COLOR: "1" }, timeout: 60_000 }
      )
      assert.strictEqual(result.status, 0, result.stderr)
      assert.include(result.stdout, "You said: Hello there")
    } finally {
      Fs.rmSync(data, { recursive: true, force: true })
    }
  }, 90_000)

  it("prints its help and its usage errors without terminal styles into a pipe", () => {
    const bin = Path.join(root, "dist/cli/bin.js")
    const env = { ...process.env }
    delete env["FORCE_COLOR"]
    const help = ChildProcess.spawnSync(process.execPath, [bin, "--help"], { cwd: root, encoding: "utf8", env })
    assert.strictEqual(help.status, 0, help.stderr)
    assert.include(help.stdout, "USAGE")
    assert.notMatch(help.stdout, /\u001b\[/)
    const usage = ChildProcess.spawnSync(process.execPath, [bin, "run"], { cwd: root, encoding: "utf8", env })
    assert.notStrictEqual(usage.status, 0)
    assert.include(usage.stderr, "Missing argument <agent>")
    assert.notMatch(usage.stderr, /\u001b\[/)
  })
})
