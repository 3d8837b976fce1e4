import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { promisify } from "node:util"
import ts from "typescript"

// The README is the user's door: its code must compile against the current API, and the
// quickstart must run as pasted.
const root = Path.resolve(import.meta.dirname, "..")
const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)
// Inside the package, so that `import ... from "effect-agents"` resolves to this checkout.
const scratch = Path.join(root, "test", ".readme")

describe("README", () => {
  it("has TypeScript examples", () => {
    assert.isAtLeast(blocks.length, 8)
  })

  it("type-checks every TypeScript block", () => {
    Fs.rmSync(scratch, { recursive: true, force: true })
    Fs.mkdirSync(scratch, { recursive: true })
    const files = blocks.map((code, i) => {
      const file = Path.join(scratch, `block${i + 1}.ts`)
      // Each block is its own module.
      Fs.writeFileSync(file, `${code}\nexport {}\n`)
      return file
    })
    const config = ts.getParsedCommandLineOfConfigFile(Path.join(root, "tsconfig.json"), {}, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => assert.fail(String(diagnostic.messageText))
    })!
    const program = ts.createProgram(files, { ...config.options, noUnusedLocals: false })
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file
        ? `${Path.basename(diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start!).line + 1}`
        : ""
      return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`
    })
    assert.deepStrictEqual(problems, [])
  }, 60_000)

  it("runs the quickstart as pasted", async () => {
    const start = readme.indexOf("## Quickstart")
    const quickstart = /```ts\n([\s\S]*?)```/.exec(readme.slice(start))![1]!
    Fs.mkdirSync(scratch, { recursive: true })
    const file = Path.join(scratch, "quickstart.ts")
    Fs.writeFileSync(file, quickstart)
    const tsx = Path.join(root, "node_modules", ".bin", "tsx")
    const { stdout } = await promisify(execFile)(tsx, [file], { cwd: root })
    assert.strictEqual(stdout, "It is 21°C in Paris.\n[ 'get_weather' ] 50 tokens\n")
  }, 60_000)
})
