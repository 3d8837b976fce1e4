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
})
