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
  readonly exports: Record<string, Record<string, string> | string | null>
  readonly bin: Record<string, string>
  readonly files: ReadonlyArray<string>
}

/** The modules a source pattern (`./layers/*.ts`) matches: the folder's own `.ts` files, not its subfolders. */
const modulesOf = (pattern: string): ReadonlyArray<string> => {
  const folder = Path.join(root, Path.dirname(pattern))
  return Fs.readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => entry.name.slice(0, -3))
}

/** Runs an ES module in plain Node from the package's root, where `effect-agents` names the package itself. */
const node = (code: string) =>
  ChildProcess.spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: root, encoding: "utf8" })

describe("the built package", () => {
  it("points every export at compiled JavaScript with its declarations, inside the published files", () => {
    for (const [subpath, targets] of Object.entries(manifest.exports)) {
      if (targets === null || typeof targets === "string") continue
      for (const condition of ["types", "default"]) {
        const target: string | undefined = targets[condition]
        assert.isDefined(target, `${subpath} has a "${condition}" target`)
        assert.match(target!, condition === "types" ? /^\.\/dist\/.*\.d\.ts$/ : /^\.\/dist\/.*\.js$/)
        // A pattern (`./layers/*`) stands for every module of its folder: each has its build.
        const sources = subpath.includes("*")
          ? modulesOf(targets["effect-agents-source"]!).map((name) => target!.replace("*", name))
          : [target!]
        assert.isNotEmpty(sources, subpath)
        for (const file of sources) {
          assert.isTrue(Fs.existsSync(Path.join(root, file)), `${file} exists (run npm run build)`)
        }
      }
    }
    assert.include(manifest.files, "dist")
  })

  it("gives every public module its own entry and keeps the internals out of reach", () => {
    const result = node(`
      const unreachable = ["ERR_PACKAGE_PATH_NOT_EXPORTED", "ERR_MODULE_NOT_FOUND"]
      const load = (name) => import(name).then((m) => Object.keys(m).length > 0, (e) => unreachable.includes(e.code) ? "unreachable" : e.code)
      const names = [
        "effect-agents/Agent", "effect-agents/Team", "effect-agents/Runnable", "effect-agents/services/SessionStore",
        "effect-agents/layers/OpenAi", "effect-agents/layers/Anthropic", "effect-agents/testing",
        "effect-agents/internal/loop", "effect-agents/layers/internal/http", "effect-agents/dist/src/Agent.js"
      ]
      console.log(JSON.stringify(await Promise.all(names.map(load))))
    `)
    assert.strictEqual(result.status, 0, result.stderr)
    assert.deepStrictEqual(JSON.parse(result.stdout.trim().split("\n").pop()!), [
      true, true, true, true, true, true, true,
      "unreachable", "unreachable", "unreachable"
    ])
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

  it("loads without the optional peers, and a store whose driver is missing says what to install", () => {
    // A resolve hook makes the optional peers missing (storage drivers, telemetry export, durable
    // runs, the MCP client), as in a project that never installed them.
    const hook = `export async function resolve(specifier, context, next) {
      if (/^(@effect\\/(sql-pg|sql-sqlite-node|opentelemetry|workflow|cluster)|@modelcontextprotocol\\/client|pg|better-sqlite3)(\\/|$)/.test(specifier)) {
        throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: "ERR_MODULE_NOT_FOUND" })
      }
      return next(specifier, context)
    }`
    const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})`
    const result = ChildProcess.spawnSync(process.execPath, [
      "--import", `data:text/javascript,${encodeURIComponent(register)}`,
      "--input-type=module", "-e", `
        import { SessionStoreSql, SessionStoreMemory } from "effect-agents/layers"
        await Promise.all(["effect-agents", "effect-agents/services", "effect-agents/testing", "effect-agents/http"].map((name) => import(name)))
        import * as Effect from "effect/Effect"
        import * as Layer from "effect/Layer"
        const open = (layer) => Effect.runPromise(Effect.either(Layer.build(layer).pipe(Effect.scoped)))
        const sqlite = await open(SessionStoreSql.layerSqlite({ filename: ":memory:" }))
        const pg = await open(SessionStoreSql.layerPg({ host: "127.0.0.1" }))
        const memory = await open(SessionStoreMemory.layer)
        console.log(JSON.stringify([sqlite.left?._tag, sqlite.left?.message, pg.left?.message, memory._tag]))
      `
    ], { cwd: root, encoding: "utf8" })
    assert.strictEqual(result.status, 0, result.stderr)
    const [tag, sqlite, pg, memory] = JSON.parse(result.stdout.trim().split("\n").pop()!) as Array<string>
    assert.strictEqual(tag, "SessionStoreError")
    assert.include(sqlite, "npm install @effect/sql-sqlite-node better-sqlite3")
    assert.include(pg, "npm install @effect/sql-pg pg")
    assert.strictEqual(memory, "Right")
  })

  it("installs an executable that plain Node runs", () => {
    const bin = Path.join(root, manifest.bin["effect-agents"]!)
    assert.isTrue(Fs.readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n"))
    const result = ChildProcess.spawnSync(process.execPath, [bin, "--version"], { cwd: root, encoding: "utf8" })
    assert.strictEqual(result.status, 0, result.stderr)
    assert.include(result.stdout, "0.1.0")
  })
})
