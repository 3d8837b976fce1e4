/**
 * `effect-agents serve`: the HTTP app, and the banner that says where it serves.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Path from "@effect/platform/Path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Registry from "../../src/Registry.js"
import { agentsOption, dataOption, modelLine, type Running, untilInterrupted, withAgents } from "./command.js"
import { Stdio } from "./terminal.js"

const servingBanner = (
  url: string,
  context: Running,
  token: boolean,
  durable?: string
): string => {
  const names = context.registry.entries.map((entry) => entry.name)
  const example = names[0] === undefined ? "<agent>" : encodeURIComponent(names[0])
  const auth = token ? ` -H "authorization: Bearer $EFFECT_AGENTS_HTTP_TOKEN"` : ""
  const run = `curl -s ${url}/agents/${example}/runs${auth} -H 'content-type: application/json'`
  return [
    `effect-agents is serving on ${url} (open it in a browser to chat with the agents)`,
    "",
    `  Web chat:          ${url}/`,
    `  Agents and teams:  ${names.length === 0 ? "none" : names.join(", ")}`,
    `  API docs:          ${url}/docs  (OpenAPI: ${url}/openapi.json)`,
    `  ${modelLine(context.model)}`,
    `  Data:              ${context.dataDirectory} (sessions.db)`,
    ...(durable === undefined ? [] : [`  Durable runs:      ${durable} (POST ${url}/durable/runs)`]),
    ...(token ? ["  Auth:              a bearer token (EFFECT_AGENTS_HTTP_TOKEN) is required"] : []),
    "",
    "Try it:",
    `  ${run} -d '{"input":"Hello"}'`,
    `  ${run.replace("curl -s", "curl -N")} -d '{"input":"Hello","stream":true}'`,
    "",
    "Ctrl-C stops it (runs in flight get a grace period to finish).",
    ""
  ].join("\n")
}

/**
 * `serve`: the HTTP app (see `HttpApp`) until SIGINT or SIGTERM, then a graceful shutdown. Its
 * address and token are read from `EFFECT_AGENTS_HTTP_HOST`, `_PORT` and `_TOKEN` unless
 * `--host` and `--port` are given.
 *
 * @since 0.1.0
 * @category commands
 */
export const serveCommand = Command.make(
  "serve",
  {
    agents: agentsOption,
    data: dataOption,
    host: Options.text("host").pipe(
      Options.withDescription("The address to listen on (default: $EFFECT_AGENTS_HTTP_HOST, else 127.0.0.1)"),
      Options.optional
    ),
    port: Options.integer("port").pipe(
      Options.withDescription("The port, 0 for any free one (default: $EFFECT_AGENTS_HTTP_PORT, else 3000)"),
      Options.optional
    ),
    durable: Options.text("durable").pipe(
      Options.withDescription(
        "A SQLite file for durable background runs (POST /durable/runs): they survive a restart of the server"
      ),
      Options.optional
    )
  },
  (flags) =>
    untilInterrupted(withAgents(flags, (context) =>
      Effect.gen(function*() {
        const stdio = yield* Stdio
        const token = Option.isSome(yield* Config.option(Config.redacted("EFFECT_AGENTS_HTTP_TOKEN")))
        // Loaded here, so that `run` and `chat` do not load the HTTP stack.
        const HttpApp = yield* Effect.promise(() => import("../../layers/HttpApp.js"))
        const path = yield* Path.Path
        const durable = Option.map(flags.durable, (file) => path.resolve(file))
        const app = HttpApp.layerConfig({
          ...(Option.isSome(flags.host) ? { host: flags.host.value } : {}),
          ...(Option.isSome(flags.port) ? { port: flags.port.value } : {}),
          ...(Option.isSome(durable) ? { durable: { filename: durable.value } } : {})
        }).pipe(
          Layer.provide(Layer.succeed(Registry.Registry, context.registry))
        )
        yield* Effect.gen(function*() {
          const { url } = yield* HttpApp.HttpApp
          yield* stdio.out(servingBanner(url, context, token, Option.getOrUndefined(durable)))
          return yield* Effect.never
        }).pipe(Effect.provide(app))
      })))
).pipe(Command.withDescription("Serve the agents and teams over HTTP, with an OpenAPI document and a Swagger page"))
