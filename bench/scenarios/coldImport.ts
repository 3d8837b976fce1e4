/**
 * Cold import: fresh `node` processes that import the package and print how long the import took
 * (measured inside the process), next to processes that import nothing or only `effect`. The
 * package is imported three ways: its build (`dist`, as Node loads the installed package, one file
 * per module), an esbuild bundle of `src/index.ts` (ESM, every dependency bundled) as an
 * application's bundler would load it, and its TypeScript sources through tsx (as in this
 * repository). The whole process's wall time is reported too.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Url from "node:url"
import { bundle } from "../lib/build.js"
import { median, metric, type Metric } from "../lib/measure.js"
import { runNode } from "../lib/process.js"
import type { Scenario } from "./types.js"

interface Sample {
  readonly wall: number
  /** The import, in the process: wall time and CPU time (ms). */
  readonly import: number
  readonly cpu: number
}

/** One fresh process: `node [flags] -e "import targets"` (one after the other), timed from the outside and inside. */
const spawnOnce = async (
  flags: ReadonlyArray<string>,
  target: string | ReadonlyArray<string> | undefined
): Promise<Sample> => {
  const code = target === undefined
    ? "console.log(0, 0)"
    : `const c = process.cpuUsage(); const t = performance.now(); for (const m of ${
      JSON.stringify(typeof target === "string" ? [target] : target)
    }) await import(m); const d = process.cpuUsage(c); console.log(performance.now() - t, (d.user + d.system) / 1000)`
  const finished = await runNode([...flags, "--input-type=module", "-e", code])
  if (finished.code !== 0) throw new Error(`import of ${target} exited with ${finished.code}`)
  const [imported, cpu] = finished.stdout.trim().split("\n").pop()!.split(" ").map(Number)
  return { wall: finished.wall, import: imported!, cpu: cpu! }
}

export const coldImport: Scenario = {
  name: "cold-import",
  group: "import",
  description: "a fresh node process importing the package: its build, an esbuild bundle, and its sources through tsx",
  run: async (effort) => {
    const built = await bundle("src/index.ts", { external: false, sourcemap: false })
    try {
      const src = Url.pathToFileURL(Path.resolve("src/index.ts")).href
      const variants = [
        { id: "empty", flags: [], target: undefined },
        { id: "effect", flags: [], target: "effect" },
        { id: "bundle", flags: [], target: Url.pathToFileURL(built.file).href },
        // The package's own name, from its root: its exports, resolved as an installed package's.
        { id: "dist", flags: [], target: "effect-agents" },
        { id: "tsx-empty", flags: ["--import", "tsx"], target: undefined },
        { id: "tsx", flags: ["--import", "tsx"], target: src },
        // What a program that runs agents on one provider imports, through the per-module entries,
        // against what it would import anyway to call a model over HTTP with Effect.
        { id: "agent-provider", flags: [], target: ["effect-agents/Agent", "effect-agents/layers/OpenAi"] },
        { id: "effect-ai-undici", flags: [], target: ["effect", "@effect/ai", "undici"] },
        { id: "barrels", flags: [], target: ["effect-agents", "effect-agents/layers"] }
      ] as const
      const samples = new Map<string, Array<Sample>>(variants.map((v) => [v.id, []]))
      // One untimed round first: the disk cache, and tsx's cache of transformed files.
      for (const variant of variants) await spawnOnce(variant.flags, variant.target)
      const rounds = effort.quick ? 3 : 7
      for (let round = 0; round < rounds; round++) {
        for (const variant of variants) samples.get(variant.id)!.push(await spawnOnce(variant.flags, variant.target))
      }
      const of = (id: string, pick: (s: Sample) => number) => samples.get(id)!.map(pick)
      const emptyWall = median(of("empty", (s) => s.wall))
      const tsxEmptyWall = median(of("tsx-empty", (s) => s.wall))
      const out: Array<Metric> = [
        metric(
          { id: "cold-import/bundle", label: "cold import, bundled build (time of the import)", unit: "ms", target: 150 },
          { wall: of("bundle", (s) => s.import), cpu: of("bundle", (s) => s.cpu) }
        ),
        metric(
          { id: "cold-import/bundle-process", label: "  process wall time − empty node process", unit: "ms" },
          of("bundle", (s) => s.wall - emptyWall)
        ),
        metric({ id: "cold-import/bundle-size", label: "  bundle size", unit: "KB" }, [Fs.statSync(built.file).size / 1e3]),
        metric(
          { id: "cold-import/dist", label: "cold import, the package's build as Node loads it (time of the import)", unit: "ms" },
          { wall: of("dist", (s) => s.import), cpu: of("dist", (s) => s.cpu) }
        ),
        metric(
          { id: "cold-import/tsx", label: "cold import, sources through tsx (time of the import)", unit: "ms", target: 150 },
          { wall: of("tsx", (s) => s.import), cpu: of("tsx", (s) => s.cpu) }
        ),
        metric(
          { id: "cold-import/tsx-process", label: "  process wall time − empty node --import tsx process", unit: "ms" },
          of("tsx", (s) => s.wall - tsxEmptyWall)
        ),
        metric(
          {
            id: "cold-import/agent-provider",
            label: "cold import, effect-agents/Agent + effect-agents/layers/OpenAi (time of the import)",
            unit: "ms"
          },
          { wall: of("agent-provider", (s) => s.import), cpu: of("agent-provider", (s) => s.cpu) }
        ),
        metric(
          {
            id: "cold-import/agent-provider-ratio",
            label: "  ÷ importing effect + @effect/ai + undici (CPU time, medians of one run)",
            unit: "×",
            target: 1.15
          },
          [median(of("agent-provider", (s) => s.cpu)) / median(of("effect-ai-undici", (s) => s.cpu))]
        ),
        metric(
          { id: "cold-import/barrels", label: "  the barrels effect-agents + effect-agents/layers (time of the import)", unit: "ms" },
          { wall: of("barrels", (s) => s.import), cpu: of("barrels", (s) => s.cpu) }
        ),
        metric({ id: "cold-import/effect", label: "  baseline: import of effect alone", unit: "ms" }, {
          wall: of("effect", (s) => s.import),
          cpu: of("effect", (s) => s.cpu)
        }),
        metric({ id: "cold-import/empty", label: "  baseline: empty node process, wall time", unit: "ms" }, of("empty", (s) => s.wall)),
        metric(
          { id: "cold-import/tsx-empty", label: "  baseline: empty node --import tsx process, wall time", unit: "ms" },
          of("tsx-empty", (s) => s.wall)
        )
      ]
      return out
    } finally {
      built.remove()
    }
  }
}
