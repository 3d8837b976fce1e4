/**
 * The handlers of every group of the API as one layer, with the OpenAPI document, the Swagger page,
 * the web page and the registry's MCP server, behind the bearer token.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as HttpApi from "../../../src/HttpApi.js"
import type * as Registry from "../../../src/Registry.js"
import { AgentsLive, HealthLive } from "./handlers/agents.js"
import { ApprovalsLive } from "./handlers/approvals.js"
import { authorization } from "./handlers/authorization.js"
import { BatchesLive } from "./handlers/batches.js"
import { DurableLive } from "./handlers/durable.js"
import { OpenAiLive } from "./handlers/openAi.js"
import { RunsLive } from "./handlers/runs.js"
import { SessionsLive } from "./handlers/sessions.js"
import { UiLive } from "./handlers/ui.js"
import * as Page from "./page.js"

/**
 * The registry as an MCP server over Streamable HTTP at `/mcp`, behind the same token. Its module
 * (and `@effect/rpc`, which `@effect/ai`'s server needs) is loaded when the app is built; without
 * them the app serves everything else.
 */
const mcp = (token: Redacted.Redacted | undefined): Layer.Layer<never, never, Registry.Registry | HttpApiBuilder.Router> =>
  Layer.unwrapEffect(
    Effect.tryPromise(() => import("../../McpServer.js")).pipe(
      Effect.match({
        onFailure: () => Layer.empty,
        onSuccess: (McpServer) => McpServer.layerHttp({ path: "/mcp", token, routerTag: HttpApiBuilder.Router })
      })
    )
  )

/**
 * The handlers of every group of the API, with the OpenAPI document and the Swagger page, needing
 * the app's `State` (`./state.ts`).
 */
export const handlers = (token: Redacted.Redacted | undefined) =>
  Layer.mergeAll(
    HttpApiSwagger.layer({ path: "/docs" }),
    Page.layer,
    HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
    mcp(token)
  ).pipe(
    Layer.provideMerge(HttpApiBuilder.api(HttpApi.Api)),
    Layer.provide([
      HealthLive,
      AgentsLive,
      RunsLive,
      ApprovalsLive,
      SessionsLive,
      BatchesLive,
      DurableLive,
      OpenAiLive,
      UiLive
    ]),
    Layer.provide(authorization(token))
  )
