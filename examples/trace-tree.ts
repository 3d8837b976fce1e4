/**
 * A run's trace, as a tracing backend would show it, printed in the terminal.
 *
 * The research team of `team-basic.ts` runs with `Telemetry.layer` exporting its spans over
 * OTLP/HTTP, the way it would to Jaeger or a collector, but to a small receiver started in this
 * process on 127.0.0.1 (so the example needs no network and no backend). When the telemetry layer
 * closes, it flushes what it has; the receiver then holds the OTLP JSON payloads, and this prints
 * their spans as a tree: the team's `invoke_agent` span, the leader's `chat` calls, its delegations
 * (`execute_tool`) and, under each, the member's own run with its model and tool calls.
 *
 * To see the same run in Jaeger instead: `docker run --rm -p 16686:16686 -p 4318:4318
 * jaegertracing/all-in-one`, then run any program with `Telemetry.layerConfig()` and
 * `OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318`, and open http://localhost:16686.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import * as Telemetry from "../layers/Telemetry.js"
import { type AgentError, Team } from "../src/index.js"
import { researchTeam, SearchToolsLive } from "./team-basic.js"

/** One span of the tree, as printed. */
export interface Node {
  readonly depth: number
  readonly name: string
  readonly durationMs: number
  readonly attributes: Readonly<Record<string, unknown>>
  readonly error: boolean
}

/** An OTLP/HTTP receiver on 127.0.0.1 that keeps the spans of the JSON trace exports it gets. */
const receiver = Effect.acquireRelease(
  Effect.async<{ readonly server: Http.Server; readonly url: string; readonly spans: Array<any> }>((resume) => {
    const spans: Array<any> = []
    const server = Http.createServer((request, response) => {
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => chunks.push(chunk))
      request.on("end", () => {
        if (request.url === "/v1/traces") {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8"))
          for (const resource of body.resourceSpans) {
            for (const scope of resource.scopeSpans) spans.push(...scope.spans)
          }
        }
        response.writeHead(200, { "content-type": "application/json" })
        response.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans })))
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

const plain = (value: any): unknown =>
  value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ??
    value.boolValue ?? value.arrayValue?.values?.map(plain)

/** The spans as a depth-first tree, children in the order they started. */
export const tree = (spans: ReadonlyArray<any>): Array<Node> => {
  const children = new Map<string | undefined, Array<any>>()
  const ids = new Set(spans.map((span) => span.spanId))
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined
    children.set(parent, [...(children.get(parent) ?? []), span])
  }
  const nodes: Array<Node> = []
  const visit = (parent: string | undefined, depth: number) => {
    const list = (children.get(parent) ?? []).sort((a, b) => Number(BigInt(a.startTimeUnixNano) - BigInt(b.startTimeUnixNano)))
    for (const span of list) {
      nodes.push({
        depth,
        name: span.name,
        durationMs: Number(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)) / 1e6,
        attributes: Object.fromEntries(span.attributes.map((kv: any) => [kv.key, plain(kv.value)])),
        error: span.status?.code === 2
      })
      visit(span.spanId, depth + 1)
    }
  }
  visit(undefined, 0)
  return nodes
}

/** One line of the tree: the span, its duration, and what matters of its attributes. */
const line = (node: Node): string => {
  const a = node.attributes
  const details: Array<string> = [`${node.durationMs.toFixed(1)} ms`]
  if (a["gen_ai.usage.input_tokens"] !== undefined) {
    details.push(`${a["gen_ai.usage.input_tokens"]} in / ${a["gen_ai.usage.output_tokens"]} out tokens`)
  }
  const reasons = a["gen_ai.response.finish_reasons"]
  if (Array.isArray(reasons)) details.push(`finish: ${reasons.join(", ")}`)
  if (a["gen_ai.tool.call.id"] !== undefined) details.push(`call ${a["gen_ai.tool.call.id"]}`)
  if (a["error.type"] !== undefined) details.push(`error: ${a["error.type"]}`)
  return `${"  ".repeat(node.depth)}${node.depth === 0 ? "" : "└─ "}${node.name}  (${details.join(", ")})`
}

export const main: Effect.Effect<ReadonlyArray<Node>, AgentError.AgentError> = Effect.scoped(
  Effect.gen(function*() {
    const { spans, url } = yield* receiver
    yield* Team.run(researchTeam, "What are the latest developments in quantum computing?").pipe(
      Effect.provide(SearchToolsLive),
      // `Telemetry.layerConfig()` reads the same settings from OTEL_EXPORTER_OTLP_ENDPOINT and the
      // other standard variables; JSON is the easier body to read here.
      Effect.provide(Telemetry.layer({ endpoint: url, protocol: "http/json", serviceName: "trace-tree", metrics: false, logs: false }))
    )
    const nodes = tree(spans)
    yield* Console.log(nodes.map(line).join("\n"))
    return nodes
  })
)

if (process.argv[1] === fileURLToPath(import.meta.url)) NodeRuntime.runMain(main)
