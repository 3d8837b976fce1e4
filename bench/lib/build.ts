/**
 * Bundles with esbuild (installed with tsx) into a fresh folder under the system's temporary
 * directory, never inside the project. The folder gets a link to the project's `node_modules`, so
 * what is left external still resolves as it would from the project.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

export interface Bundle {
  readonly dir: string
  readonly file: string
  readonly remove: () => void
}

export const bundle = async (
  entry: string,
  options: { readonly external: boolean; readonly sourcemap: boolean }
): Promise<Bundle> => {
  const esbuild = await import("esbuild")
  const root = process.cwd()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-agents-bench-"))
  Fs.symlinkSync(Path.join(root, "node_modules"), Path.join(dir, "node_modules"), "dir")
  const file = Path.join(dir, Path.basename(entry).replace(/\.ts$/, ".mjs"))
  await esbuild.build({
    entryPoints: [Path.join(root, entry)],
    outfile: file,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "error",
    sourcemap: options.sourcemap ? "external" : false,
    ...(options.external ? { packages: "external" as const } : {}),
    // Some dependencies are CommonJS and call `require`: an ES module has none of its own.
    banner: { js: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);" }
  })
  return { dir, file, remove: () => Fs.rmSync(dir, { recursive: true, force: true }) }
}
