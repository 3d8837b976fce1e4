/** The handlers of the health check and of the registry's agents and teams. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import * as HttpApi from "../../../../src/HttpApi.js"
import * as Registry from "../../../../src/Registry.js"
import { lookup } from "./entry.js"

const describe = (entry: Registry.Entry): Registry.Description => ({
  name: entry.name,
  kind: entry.kind,
  ...(entry.description === undefined ? {} : { description: entry.description }),
  ...(entry.members === undefined ? {} : { members: entry.members })
})

/** `GET /health`. */
export const HealthLive = HttpApiBuilder.group(HttpApi.Api, "health", (handlers) =>
  handlers.handle("health", () => Effect.succeed({ status: "ok" as const })))

/** The agents and teams of the registry, listed and described by name. */
export const AgentsLive = HttpApiBuilder.group(HttpApi.Api, "agents", (handlers) =>
  handlers
    .handle("list", () => Effect.map(Registry.Registry, (registry) => registry.entries.map(describe)))
    .handle("get", ({ path }) => Effect.map(lookup(path.name), describe)))
