/**
 * The package as it is installed: its exports and its executable resolve to the build in `dist`
 * (`npm test` builds first) and load in plain Node, with no TypeScript loader.
 */
import { assert, describe, it } from "@effect/vitest"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")
const manifest = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8")) as {
  readonly exports: Record<string, Record<string, string>>
  readonly bin: Record<string, string>
  readonly files: ReadonlyArray<string>
}

/** Runs an ES module in plain Node from the package's root, where `effect-agents` names the package itself. */
const node = (code: string) =>
  ChildProcess.spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" })

describe("the built package", () => {
  it("points every export at compiled JavaScript with its declarations, inside the published files", () => {
    for (const [subpath, targets] of Object.entries(manifest.exports)) {
      for (const condition of ["types", "default"]) {
        const target = targets[condition]
        assert.isDefined(target, `${subpath} has a "${condition}" target`)
        assert.match(target!, condition === "types" ? /^\.\/dist\/.*\.d\.ts$/ : /^\.\/dist\/.*\.js$/)
        assert.isTrue(Fs.existsSync(Path.join(root, target!)), `${target} exists (run npm run build)`)
      }
    }
    assert.include(manifest.files, "dist")
  })

  it("runs an agent through its exports in plain Node", () => {
    const result = node(`
      import { Agent } from "effect-agents"
      import { TestModel } from "effect-agents/layers"
      import * as Effect from "effect/Effect"
      const agent = Agent.make({ name: "Echo", instructions: "Say hello." })
      const output = await Effect.runPromise(
        Agent.run(agent, "Hi").pipe(Effect.provide(TestModel.layer([TestModel.text("Hello from the build")])))
      )
      const modules = await Promise.all(["effect-agents/services", "effect-agents/http", "effect-agents/cli"].map((name) => import(name)))
      console.log(JSON.stringify({ content: output.content, url: import.meta.resolve("effect-agents"), exports: modules.map((m) => Object.keys(m).length > 0) }))
    `)
    assert.strictEqual(result.status, 0, result.stderr)
    const printed = JSON.parse(result.stdout.trim().split("\n").pop()!) as { content: string; url: string; exports: Array<boolean> }
    assert.strictEqual(printed.content, "Hello from the build")
    assert.isTrue(printed.url.endsWith("/dist/src/index.js"), printed.url)
    assert.deepStrictEqual(printed.exports, [true, true, true])
  })

  it("installs an executable that plain Node runs", () => {
    const bin = Path.join(root, manifest.bin["effect-agents"]!)
    assert.isTrue(Fs.readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n"))
    const result = ChildProcess.spawnSync(process.execPath, [bin, "--version"], { cwd: root, encoding: "utf8" })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.include(result.stdout, "0.1.0")
  })
})
