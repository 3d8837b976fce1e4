/**
 * The registry's runnables served as MCP tools: the official SDK's client, and ours, against the
 * server over stdio (`effect-agents mcp` as a child process) and over Streamable HTTP on 127.0.0.1.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, describe, it } from "@effect/vitest"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as HttpApp from "../layers/HttpApp.js"
import * as Mcp from "../layers/Mcp.js"
import * as McpServer from "../layers/McpServer.js"
import * as SessionStoreMemory from "../layers/SessionStoreMemory.js"
import * as TestModel from "../layers/TestModel.js"
import * as McpClient from "../services/McpClient.js"
import * as Agent from "../src/Agent.js"
import type * as SessionStore from "../services/SessionStore.js"
import type * as Registry from "../src/Registry.js"
import CliAgents from "./fixtures/cliAgents.js"
import Agents from "./fixtures/mcpAgents.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

/** `effect-agents mcp` serving the fixture's agents, as an MCP client starts it. */
const cli = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(Path.join(tmpdir(), "mcp-serve-"))
    const log = Path.join(dir, "seen.log")
    const config: McpClient.StdioServer = {
      command: process.execPath,
      args: [
        "--import",
        "tsx",
        Path.join(root, "cli", "bin.ts"),
        "mcp",
        "--agents",
        Path.join(root, "test", "fixtures", "mcpAgents.ts"),
        "--data",
        dir
      ],
      env: { MCP_FIXTURE_LOG: Redacted.make(log), NO_COLOR: Redacted.make("1") },
      cwd: root
    }
    const seen = () => {
      try {
        return readFileSync(log, "utf8")
      } catch {
        return ""
      }
    }
    return { dir, config, seen }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The official SDK's client, connected over `transport`, closed with the scope. */
const sdkClient = (transport: () => StdioClientTransport | StreamableHTTPClientTransport) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "sdk-test", version: "1.0.0" })
      await client.connect(transport())
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const stdioTransport = (config: McpClient.StdioServer) => () =>
  new StdioClientTransport({
    command: config.command,
    args: [...config.args!],
    env: {
      ...process.env as Record<string, string>,
      ...Object.fromEntries(Object.entries(config.env!).map(([key, value]) => [key, Redacted.value(value)]))
    },
    cwd: config.cwd!,
    stderr: "ignore"
  })

const until = (what: string, found: () => boolean) =>
  Effect.suspend(() => found() ? Effect.void : Effect.fail(what)).pipe(
    Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500 }),
    Effect.orDie
  )

const textOf = (result: { readonly content?: ReadonlyArray<{ readonly type: string; readonly text?: string }> }) =>
  (result.content ?? []).map((part) => part.text ?? "").join("")

describe("MCP server over stdio (effect-agents mcp)", () => {
  it.scopedLive("offers the agents as tools to the official SDK's client, with progress from the run", () =>
    Effect.gen(function*() {
      const server = yield* cli
      const client = yield* sdkClient(stdioTransport(server.config))
      const { tools } = yield* Effect.promise(() => client.listTools())
      assert.deepStrictEqual(tools.map((tool) => [tool.name, tool.description]), [
        ["Shouter", "Says your message back, loudly"],
        ["Sleeper", "Never answers"]
      ])
      assert.deepStrictEqual(tools[0]?.inputSchema.required, ["input"])
      const progress: Array<string> = []
      const result = yield* Effect.promise(() =>
        client.callTool({ name: "Shouter", arguments: { input: "hello" } }, {
          onprogress: (update) => void progress.push(update.message ?? "")
        })
      )
      assert.strictEqual(textOf(result as never), "HELLO!")
      assert.isFalse(result.isError === true)
      // The SDK hands notifications to its callback a little later than responses: those sent just
      // before the answer may come after it, and are dropped. Those before the tool's work arrive.
      assert.includeMembers(progress, ["RunStarted", "Thinking", "Calling shout"])
    }), { timeout: 60_000 })

  it.scopedLive("says what to give when the arguments are wrong", () =>
    Effect.gen(function*() {
      const server = yield* cli
      const client = yield* sdkClient(stdioTransport(server.config))
      const result = yield* Effect.promise(() => client.callTool({ name: "Shouter", arguments: { text: "hello" } }))
      assert.isTrue(result.isError)
      assert.match(textOf(result as never), /give \{ "input": "<your message>" \}/)
    }), { timeout: 60_000 })

  it.scopedLive("interrupts the run when the client cancels the call", () =>
    Effect.gen(function*() {
      const server = yield* cli
      const seen = server.seen
      const client = yield* sdkClient(stdioTransport(server.config))
      const controller = new AbortController()
      const call = client.callTool({ name: "Sleeper", arguments: { input: "zzz" } }, { signal: controller.signal })
      call.catch(() => undefined)
      yield* until("the run to start", () => seen().includes("started"))
      controller.abort()
      yield* until("the run's interruption", () => seen().includes("interrupted"))
    }), { timeout: 60_000 })

  it.scopedLive("is used by our own client: an agent calls another agent served over MCP", () =>
    Effect.gen(function*() {
      const server = yield* cli
      const caller = Agent.make({ name: "Caller", tools: Mcp.toolset({ prefix: true }) })
      const model = TestModel.layer((request) => {
        const result = request.prompt.content.flatMap((message) =>
          message.role === "tool" ? message.content.map((part) => part.result) : []
        )[0]
        return result === undefined
          ? TestModel.toolCall("agents_Shouter", { input: "over mcp" })
          : TestModel.text(`they said ${String(result)}`)
      })
      const client = yield* Mcp.make({ servers: { agents: server.config } })
      const output = yield* Agent.run(caller, "go").pipe(
        Effect.provide(model),
        Effect.provideService(McpClient.McpClient, client)
      )
      assert.strictEqual(output.content, "they said OVER MCP!")
      const progress: Array<string> = []
      const result = yield* client.callTool("agents", "Shouter", { input: "again" }, {
        onProgress: (update) => void progress.push(update.message ?? "")
      })
      assert.strictEqual(result.text, "AGAIN!")
      assert.includeMembers(progress, ["RunStarted", "Thinking", "Calling shout"])
    }), { timeout: 60_000 })
})

/** The server of `agents` over HTTP on 127.0.0.1 (port 0), optionally behind a token; gives its URL. */
const httpServer = (token?: string, agents: Layer.Layer<Registry.Registry, never, SessionStore.SessionStore> = Agents) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      HttpRouter.Default.serve().pipe(
        Layer.provideMerge(McpServer.layerHttp({ path: "/mcp", token: token === undefined ? undefined : Redacted.make(token) })),
        Layer.provide(agents),
        Layer.provide(SessionStoreMemory.layer),
        Layer.provide(HttpRouter.Default.Live),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
      )
    )
    const server = yield* Effect.provide(HttpServer.HttpServer, context)
    const address = server.address as HttpServer.TcpAddress
    return `http://127.0.0.1:${address.port}/mcp`
  })

describe("MCP server over Streamable HTTP", () => {
  it.scopedLive("offers the agents to the official SDK's client", () =>
    Effect.gen(function*() {
      const url = yield* httpServer()
      const client = yield* sdkClient(() => new StreamableHTTPClientTransport(new URL(url)))
      const { tools } = yield* Effect.promise(() => client.listTools())
      assert.deepStrictEqual(tools.map((tool) => tool.name), ["Shouter", "Sleeper"])
      const result = yield* Effect.promise(() => client.callTool({ name: "Shouter", arguments: { input: "web" } }))
      assert.strictEqual(textOf(result as never), "WEB!")
    }), { timeout: 60_000 })

  it.scopedLive("refuses a client without the bearer token, and serves one with it", () =>
    Effect.gen(function*() {
      const url = yield* httpServer("s3cret")
      const refused = yield* Effect.flip(Mcp.make({ servers: { agents: { url } } }))
      assert.strictEqual(refused.reason, "Connect")
      assert.match(refused.message, /401|Unauthorized|bearer/i)
      const client = yield* Mcp.make({
        servers: { agents: { url, headers: { authorization: Redacted.make("Bearer s3cret") } } }
      })
      assert.strictEqual((yield* client.callTool("agents", "Shouter", { input: "ok" })).text, "OK!")
    }), { timeout: 60_000 })

  it.scopedLive("is mounted at /mcp in the HTTP app, behind the app's token", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        HttpApp.layer({ port: 0, host: "127.0.0.1", token: Redacted.make("app-token") }).pipe(
          Layer.provide(Agents),
          Layer.provide(SessionStoreMemory.layer)
        )
      )
      const { url } = yield* Effect.provide(HttpApp.HttpApp, context)
      const refused = yield* Effect.flip(Mcp.make({ servers: { app: { url: `${url}/mcp` } } }))
      assert.strictEqual(refused.reason, "Connect")
      const client = yield* sdkClient(() =>
        new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
          requestInit: { headers: { authorization: "Bearer app-token" } }
        })
      )
      const { tools } = yield* Effect.promise(() => client.listTools())
      assert.deepStrictEqual(tools.map((tool) => tool.name), ["Shouter", "Sleeper"])
      const result = yield* Effect.promise(() => client.callTool({ name: "Shouter", arguments: { input: "app" } }))
      assert.strictEqual(textOf(result as never), "APP!")
    }), { timeout: 60_000 })

  it.scopedLive("interrupts the run when the client cancels the call", () =>
    Effect.gen(function*() {
      const { dir, seen } = yield* cli
      yield* Effect.acquireRelease(
        Effect.sync(() => (process.env["MCP_FIXTURE_LOG"] = Path.join(dir, "seen.log"))),
        () => Effect.sync(() => delete process.env["MCP_FIXTURE_LOG"])
      )
      const url = yield* httpServer()
      const client = yield* sdkClient(() => new StreamableHTTPClientTransport(new URL(url)))
      const controller = new AbortController()
      const call = client.callTool({ name: "Sleeper", arguments: { input: "zzz" } }, { signal: controller.signal })
      call.catch(() => undefined)
      yield* until("the run to start", () => seen().includes("started"))
      controller.abort()
      yield* until("the run's interruption", () => seen().includes("interrupted"))
    }), { timeout: 60_000 })

  it.scopedLive("continues the session a call names", () =>
    Effect.gen(function*() {
      const url = yield* httpServer(undefined, CliAgents.pipe(Layer.provide(TestModel.layer([]))))
      const client = yield* Mcp.make({ servers: { agents: { url } } })
      const turn = (input: string, sessionId: string) =>
        Effect.map(client.callTool("agents", "recall", { input, sessionId, userId: "ada" }), (result) => result.text)
      assert.strictEqual(yield* turn("My name is Ada.", "one"), "You are Ada.")
      assert.strictEqual(yield* turn("What is my name?", "one"), "You are Ada.")
      assert.strictEqual(yield* turn("What is my name?", "two"), "I do not know your name.")
    }), { timeout: 60_000 })
})
