/**
 * The direction of imports between the top-level folders, which the cycle check cannot see (a cycle
 * between folders is no cycle between files):
 *
 * - `services/` holds contracts: it may import types from `src/`, never values, and nothing of
 *   `layers/` or `cli/`.
 * - `src/` (the core) imports nothing of `layers/` or `cli/`.
 * - `layers/` implements contracts and uses the core's public modules, never `src/internal/`.
 *
 * `pending` lists the imports that still break a rule, each waiting for the change that removes it;
 * the list may only shrink: a new import that breaks a rule fails, and so does an entry that no
 * longer exists.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "..")
const folders = ["src", "services", "layers", "cli"] as const

interface Import {
  readonly from: string
  readonly to: string
  readonly typeOnly: boolean
}

const files = (folder: string): ReadonlyArray<string> =>
  Fs.readdirSync(Path.join(root, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))
    .map((file) => Path.join(folder, file).split(Path.sep).join("/"))

// Static imports and re-exports (`import type`/`export type` are type-only), and dynamic imports.
// A statement may span lines (a list of names), never into the next statement.
const statement = /^\s*(import|export)\s+(type\s+)?(?:(?!\n\s*(?:import|export)\b)[^;])*?from\s+"(\.[^"]+)"/gm
const dynamic = /import\(\s*"(\.[^"]+)"\s*\)/g

const importsOf = (file: string): ReadonlyArray<Import> => {
  const text = Fs.readFileSync(Path.join(root, file), "utf8")
  const resolve = (specifier: string) =>
    Path.posix.normalize(Path.posix.join(Path.posix.dirname(file), specifier)).replace(/\.js$/, ".ts")
  const found: Array<Import> = []
  for (const match of text.matchAll(statement)) {
    found.push({ from: file, to: resolve(match[3]!), typeOnly: match[2] !== undefined })
  }
  for (const match of text.matchAll(dynamic)) found.push({ from: file, to: resolve(match[1]!), typeOnly: false })
  return found
}

const rules: ReadonlyArray<{ readonly name: string; readonly breaks: (i: Import) => boolean }> = [
  {
    name: "services/ imports no values from src/, and nothing from layers/ or cli/",
    breaks: (i) =>
      i.from.startsWith("services/") &&
      ((i.to.startsWith("src/") && !i.typeOnly) || i.to.startsWith("layers/") || i.to.startsWith("cli/"))
  },
  {
    name: "src/ imports nothing from layers/ or cli/",
    breaks: (i) => i.from.startsWith("src/") && (i.to.startsWith("layers/") || i.to.startsWith("cli/"))
  },
  {
    name: "layers/ imports nothing from src/internal/",
    breaks: (i) => i.from.startsWith("layers/") && i.to.startsWith("src/internal/")
  }
]

// Imports that break a rule while they wait for a change that gives what they import a public home
// (none now; the list may only shrink).
const pending: ReadonlyArray<string> = []

describe("the direction of imports", () => {
  const all = folders.flatMap(files).flatMap(importsOf)

  it("sees the imports (the scan is not blind)", () => {
    assert.isTrue(all.some((i) => i.from === "layers/HttpApp.ts" && i.to === "src/Registry.ts"))
    assert.isTrue(all.some((i) => i.from === "src/Agent.ts" && i.to.startsWith("src/internal/")))
    assert.isTrue(all.some((i) => i.from === "services/SessionStore.ts" && i.to === "src/RunRecord.ts" && i.typeOnly))
    assert.isTrue(all.some((i) => i.from === "src/HttpApiModels.ts" && i.to === "src/RunRecord.ts" && !i.typeOnly))
  })

  for (const rule of rules) {
    it(rule.name, () => {
      const broken = all.filter(rule.breaks).map((i) => `${i.from} -> ${i.to}`)
      const unexpected = broken.filter((line) => !pending.includes(line))
      assert.deepStrictEqual(unexpected, [], `imports against the rule: ${rule.name}`)
    })
  }

  it("lists no pending import that is gone", () => {
    const broken = new Set(rules.flatMap((rule) => all.filter(rule.breaks).map((i) => `${i.from} -> ${i.to}`)))
    assert.deepStrictEqual(pending.filter((line) => !broken.has(line)), [])
  })
})
