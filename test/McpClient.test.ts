/**
 * The MCP client against a server made with the official server SDK, over real transports: a child
 * process over stdio, and Streamable HTTP on 127.0.0.1. An agent uses the server's tools through
 * `Mcp.toolset`, driven by TestModel.
 */
import * as Tool from "@effect/ai/Tool"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as TestServices from "effect/TestServices"
import * as Tracer from "effect/Tracer"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Mcp from "../layers/Mcp.js"
import * as TestModel from "../layers/TestModel.js"
import * as McpClient from "../services/McpClient.js"
import * as Agent from "../src/Agent.js"
import { type HttpFixture, type Seen, serveHttp, serveSse } from "./fixtures/mcpServer.js"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const fixture = Path.join(root, "test", "fixtures", "mcpServer.ts")

/** A stdio server's configuration, and what the server process saw (read from its log). */
const stdioServer = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(Path.join(tmpdir(), "mcp-"))
    const log = Path.join(dir, "seen.jsonl")
    const config: McpClient.StdioServer = {
      command: process.execPath,
      args: ["--import", "tsx", fixture],
      env: { MCP_FIXTURE_LOG: Redacted.make(log) },
      cwd: root
    }
    const seen = (): ReadonlyArray<Seen> => {
      try {
        return readFileSync(log, "utf8").trim().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
      } catch {
        return []
      }
    }
    return { dir, config, seen }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Waits (on the real clock) until the server saw what `found` looks for. */
const until = (what: string, found: () => boolean) =>
  Effect.suspend(() => found() ? Effect.void : Effect.fail(what)).pipe(
    Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500 }),
    TestServices.provideLive,
    Effect.orDie
  )

/** A process that never speaks MCP; it writes its pid to a file. */
const muteServer = (dir: string) => {
  const file = Path.join(dir, "mute.pid")
  const config: McpClient.StdioServer = {
    command: process.execPath,
    args: ["-e", "require('fs').writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)", file]
  }
  const pid = Effect.suspend(() => {
    try {
      return Effect.succeed(Number(readFileSync(file, "utf8")))
    } catch {
      return Effect.fail("no pid yet")
    }
  }).pipe(Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500 }), TestServices.provideLive, Effect.orDie)
  return { config, pid }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const httpServer = Effect.acquireRelease(
  Effect.promise(() => serveHttp()),
  (server: HttpFixture) => Effect.promise(() => server.close())
)

/** Calls `add` with 2 and 3, then `echo` with the sum, then answers with what it was told. */
const adder = TestModel.layer((request) => {
  const results = request.prompt.content.flatMap((message) =>
    message.role === "tool" ? message.content.map((part) => part.result) : []
  )
  return results.length === 0
    ? TestModel.toolCall("add", { a: 2, b: 3 })
    : results.length === 1
    ? TestModel.toolCall("echo", { text: `the sum is ${String(results[0])}` })
    : TestModel.text(`done: ${String(results[1])}`)
})

const agent = Agent.make({ name: "Calculator", tools: Mcp.toolset() })

describe("MCP client over stdio", () => {
  it.scoped("lists the server's tools, with their JSON Schemas", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const client = yield* Mcp.make({ servers: { fixture: server.config } })
      const tools = yield* client.listTools()
      assert.deepStrictEqual(tools.map((tool) => tool.name).sort(), ["add", "echo", "fail", "grow", "slow"])
      const add = tools.find((tool) => tool.name === "add")!
      assert.strictEqual(add.server, "fixture")
      assert.strictEqual(add.description, "Adds two numbers")
      assert.deepStrictEqual(add.inputSchema["required"], ["a", "b"])
    }), { timeout: 30_000 })

  it.scoped("starts a server with its configured environment, not this process's", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      yield* Effect.acquireRelease(
        Effect.sync(() => (process.env["MCP_FIXTURE_PARENT_ONLY"] = "a key of this program")),
        () => Effect.sync(() => delete process.env["MCP_FIXTURE_PARENT_ONLY"])
      )
      yield* Mcp.make({ servers: { fixture: server.config } })
      // The log the server writes is named by its configured environment.
      assert.deepStrictEqual(server.seen().map((line) => line.event === "started" && line.inherited), [false])
    }), { timeout: 30_000 })

  it.scoped("runs an agent's multi-turn tool loop on the server's tools", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const output = yield* Agent.run(agent, "add 2 and 3").pipe(
        Effect.provide(Layer.merge(adder, Mcp.layer({ servers: { fixture: server.config } })))
      )
      assert.strictEqual(output.content, "done: the sum is 5")
      assert.deepStrictEqual(output.toolCalls.map((call) => [call.name, call.result, call.failure]), [
        ["add", "5", undefined],
        ["echo", "the sum is 5", undefined]
      ])
      assert.deepStrictEqual(server.seen().filter((line) => line.event === "call"), [
        { event: "call", tool: "add", arguments: { a: 2, b: 3 } },
        { event: "call", tool: "echo", arguments: { text: "the sum is 5" } }
      ])
    }), { timeout: 30_000 })

  it.scoped("sends invalid arguments back to the model, without calling the server", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const model = TestModel.layer((request) =>
        request.prompt.content.some((message) => message.role === "tool")
          ? TestModel.text("gave up")
          : TestModel.toolCall("add", { a: "two", b: 3 })
      )
      const output = yield* Agent.run(agent, "add").pipe(
        Effect.provide(Layer.merge(model, Mcp.layer({ servers: { fixture: server.config } })))
      )
      const [call] = output.toolCalls
      assert.strictEqual(call?.failure, "InvalidArguments")
      assert.match(String(call?.result), /Invalid arguments for tool "add"/)
      assert.match(String(call?.result), /must be number/)
      assert.deepStrictEqual(server.seen().filter((line) => line.event === "call"), [])
    }), { timeout: 30_000 })

  it.scoped("gives a tool's error back to the model as the tool's failure", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const model = TestModel.layer((request) =>
        request.prompt.content.some((message) => message.role === "tool")
          ? TestModel.text("sorry")
          : TestModel.toolCall("fail", {})
      )
      const output = yield* Agent.run(agent, "fail").pipe(
        Effect.provide(Layer.merge(model, Mcp.layer({ servers: { fixture: server.config } })))
      )
      const [call] = output.toolCalls
      assert.strictEqual(call?.failure, "Failed")
      assert.deepStrictEqual(call?.result, {
        _tag: "McpToolFailed",
        server: "fixture",
        tool: "fail",
        message: "the disk is full"
      })
      const client = yield* Mcp.make({ servers: { fixture: server.config } })
      const error = yield* Effect.flip(client.callTool("fixture", "fail", {}))
      assert.strictEqual(error._tag, "McpToolFailed")
    }), { timeout: 30_000 })

  it.scoped("cancels a call that outlives its timeout (on Effect's clock), and the server is told", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const client = yield* Mcp.make({ servers: { fixture: server.config }, timeout: "5 seconds" })
      const call = yield* Effect.fork(client.callTool("fixture", "slow", {}))
      yield* until("the call", () => server.seen().some((line) => line.event === "call"))
      yield* TestClock.adjust("4999 millis")
      assert.isNull(call.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(call))
      assert.strictEqual(error._tag, "McpError")
      assert.strictEqual(error._tag === "McpError" && error.reason, "Timeout")
      assert.match(error.message, /did not answer within 5s \(calling slow\)/)
      yield* until("the cancellation", () => server.seen().some((line) => line.event === "cancelled"))
    }), { timeout: 30_000 })

  it.scoped("cancels the call on the server when the run is interrupted mid-call", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const model = TestModel.layer([TestModel.toolCall("slow", {}), TestModel.text("never")])
      const run = yield* Effect.fork(
        Agent.run(agent, "wait").pipe(Effect.provide(Layer.merge(model, Mcp.layer({ servers: { fixture: server.config } }))))
      )
      yield* until("the call", () => server.seen().some((line) => line.event === "call"))
      const exit = yield* Fiber.interrupt(run)
      assert.isTrue(Exit.isInterrupted(exit))
      yield* until("the cancellation", () => server.seen().some((line) => line.event === "cancelled"))
    }), { timeout: 30_000 })

  it.scoped("asks again for the tools once the server says they changed", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const client = yield* Mcp.make({ servers: { fixture: server.config } })
      const before = yield* client.listTools()
      assert.isFalse(before.some((tool) => tool.name === "late"))
      assert.strictEqual((yield* client.listTools())[0], before[0], "the listing is kept while nothing changed")
      yield* client.callTool("fixture", "grow", {})
      const after = yield* client.listTools()
      assert.isTrue(after.some((tool) => tool.name === "late"))
      assert.strictEqual((yield* client.callTool("fixture", "late", {})).text, "late but here")
    }), { timeout: 30_000 })

  it.scoped("fails a call whose server process was killed with a typed error, and starts it again next time", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const client = yield* Mcp.make({ servers: { fixture: server.config } })
      const pids = () => server.seen().flatMap((line) => line.event === "started" ? [line.pid] : [])
      const call = yield* Effect.fork(client.callTool("fixture", "slow", {}))
      yield* until("the call", () => server.seen().some((line) => line.event === "call"))
      process.kill(pids()[0]!, "SIGKILL")
      const error = yield* Effect.flip(Fiber.join(call))
      assert.strictEqual(error._tag === "McpError" && error.reason, "Closed")
      assert.match(error.message, /closed the connection/)
      assert.strictEqual((yield* client.callTool("fixture", "add", { a: 1, b: 1 })).text, "2")
      assert.strictEqual(pids().length, 2)
    }), { timeout: 30_000 })

  it.scoped("gives up on a server that does not shake hands in time, and stops its process", () =>
    Effect.gen(function*() {
      const { dir } = yield* stdioServer
      const mute = muteServer(dir)
      const connecting = yield* Effect.fork(Effect.scoped(Mcp.make({ servers: { mute: mute.config }, connectTimeout: "10 seconds" })))
      const pid = yield* mute.pid
      yield* TestClock.adjust("10 seconds")
      const error = yield* Effect.flip(Fiber.join(connecting))
      assert.strictEqual(error.reason, "Connect")
      assert.match(error.message, /Cannot connect to the MCP server "mute" \(command .*\): no answer within 10s/)
      yield* until("the process to end", () => !alive(pid))
    }), { timeout: 30_000 })

  it.scoped("stops the server's process when connecting is interrupted", () =>
    Effect.gen(function*() {
      const { dir } = yield* stdioServer
      const mute = muteServer(dir)
      const connecting = yield* Effect.fork(Effect.scoped(Mcp.make({ servers: { mute: mute.config } })))
      const pid = yield* mute.pid
      const exit = yield* Fiber.interrupt(connecting)
      assert.isTrue(Exit.isInterrupted(exit))
      yield* until("the process to end", () => !alive(pid))
    }), { timeout: 30_000 })

  it.scoped("serves 50 concurrent runs over one client", () =>
    Effect.gen(function*() {
      const server = yield* stdioServer
      const model = TestModel.layer((request) => {
        const result = request.prompt.content.flatMap((message) =>
          message.role === "tool" ? message.content.map((part) => part.result) : []
        )[0]
        const n = Number(request.lastUserText)
        return result === undefined ? TestModel.toolCall("add", { a: n, b: 1000 }) : TestModel.text(String(result))
      })
      const outputs = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        (i) => Agent.run(agent, String(i)),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(Layer.merge(model, Mcp.layer({ servers: { fixture: server.config } }))))
      assert.deepStrictEqual(outputs.map((output) => output.content), Array.from({ length: 50 }, (_, i) => String(i + 1000)))
      assert.strictEqual(server.seen().filter((line) => line.event === "started").length, 1)
    }), { timeout: 60_000 })
})

describe("MCP client over Streamable HTTP", () => {
  it.scoped("lists and calls tools, and a second server's tools are told apart by a prefix", () =>
    Effect.gen(function*() {
      const http = yield* httpServer
      const stdio = yield* stdioServer
      const client = yield* Mcp.make({ servers: { remote: { url: http.url }, local: stdio.config } })
      assert.strictEqual((yield* client.callTool("remote", "add", { a: 40, b: 2 })).text, "42")
      const clash = yield* Effect.flip(Mcp.toolset().pipe(Effect.provideService(McpClient.McpClient, client)))
      assert.match(clash.message, /both offer a tool "add": set Mcp.toolset's prefix option/)
      const set = yield* Mcp.toolset({ prefix: true, filter: (tool) => tool.name === "add" }).pipe(
        Effect.provideService(McpClient.McpClient, client)
      )
      assert.deepStrictEqual(Object.keys(set.toolkit.tools).sort(), ["local_add", "remote_add"])
      // The model is shown the server's own JSON Schema.
      const add = (yield* client.listTools(["remote"])).find((tool) => tool.name === "add")!
      assert.deepStrictEqual(Tool.getJsonSchema(set.toolkit.tools["remote_add"]! as never), add.inputSchema as never)
      assert.deepInclude(add.inputSchema, { required: ["a", "b"] })
    }), { timeout: 30_000 })

  it.scoped("traces listings and calls, naming the server and the tool but not the arguments", () =>
    Effect.gen(function*() {
      const http = yield* httpServer
      const base = yield* Effect.tracer
      const spans: Array<Tracer.Span> = []
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind, options) => {
          const span = base.span(name, parent, context, links, startTime, kind, options)
          spans.push(span)
          return span
        },
        context: (f, fiber) => base.context(f, fiber)
      })
      const client = yield* Mcp.make({ servers: { remote: { url: http.url } } })
      yield* client.listTools().pipe(Effect.withTracer(tracer))
      yield* client.callTool("remote", "echo", { text: "private words" }).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans.map((span) => [span.name, Object.fromEntries(span.attributes)]), [
        ["McpClient.listTools", { "mcp.server": "remote" }],
        ["McpClient.callTool", { "mcp.server": "remote", "mcp.tool": "echo" }]
      ])
    }), { timeout: 30_000 })

  it.scoped("starts a session again when the server forgot it, and retries the call once", () =>
    Effect.gen(function*() {
      const http = yield* httpServer
      const client = yield* Mcp.make({ servers: { remote: { url: http.url } } })
      assert.strictEqual((yield* client.callTool("remote", "echo", { text: "one" })).text, "one")
      assert.strictEqual(http.sessions(), 1)
      http.forget()
      assert.strictEqual((yield* client.callTool("remote", "echo", { text: "two" })).text, "two")
      assert.strictEqual(http.sessions(), 2)
    }), { timeout: 30_000 })

  it.scoped("asks again for the tools once the server says they changed", () =>
    Effect.gen(function*() {
      const http = yield* httpServer
      const client = yield* Mcp.make({ servers: { remote: { url: http.url } } })
      assert.isFalse((yield* client.listTools()).some((tool) => tool.name === "late"))
      yield* client.callTool("remote", "grow", {})
      // Over HTTP the notification comes on the session's own stream, not before the call's answer.
      yield* client.listTools().pipe(
        Effect.filterOrFail((tools) => tools.some((tool) => tool.name === "late")),
        Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 250 }),
        TestServices.provideLive
      )
    }), { timeout: 30_000 })

  it.scoped("cancels an interrupted call on the server", () =>
    Effect.gen(function*() {
      const http = yield* httpServer
      const client = yield* Mcp.make({ servers: { remote: { url: http.url } } })
      const call = yield* Effect.fork(client.callTool("remote", "slow", {}))
      yield* until("the call", () => http.seen.some((line) => line.event === "call"))
      yield* Fiber.interrupt(call)
      yield* until("the cancellation", () => http.seen.some((line) => line.event === "cancelled"))
    }), { timeout: 30_000 })

  it.scoped("falls back to the older SSE transport for a server that speaks only that", () =>
    Effect.gen(function*() {
      const sse = yield* Effect.acquireRelease(Effect.promise(() => serveSse()), (server) => Effect.promise(() => server.close()))
      const client = yield* Mcp.make({ servers: { legacy: { url: sse.url } } })
      assert.deepStrictEqual((yield* client.listTools()).map((tool) => tool.name).sort(), ["add", "echo", "fail", "grow", "slow"])
      assert.strictEqual((yield* client.callTool("legacy", "add", { a: 1, b: 2 })).text, "3")
      const strict = yield* Effect.flip(Mcp.make({ servers: { legacy: { url: sse.url, transport: "streamable-http" } } }))
      assert.match(strict.message, /405/, strict.message)
    }), { timeout: 30_000 })

  it.scoped("reports a server that is not there as a typed connect error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Mcp.make({ servers: { gone: { url: "http://127.0.0.1:1/mcp" } } }))
      assert.strictEqual(error.reason, "Connect")
      assert.match(error.message, /Cannot connect to the MCP server "gone"/)
    }), { timeout: 30_000 })
})

describe("MCP configuration", () => {
  it.effect("reads mcpServers as other tools write it, with secrets redacted", () =>
    Effect.gen(function*() {
      const config = yield* Mcp.decodeConfig({
        mcpServers: {
          files: { command: "npx", args: ["-y", "server-files"], env: { TOKEN: "secret-1" } },
          search: { url: "https://mcp.example.com/mcp", headers: { authorization: "Bearer secret-2" } }
        }
      })
      const files = config.mcpServers["files"] as McpClient.StdioServer
      const search = config.mcpServers["search"] as McpClient.HttpServer
      assert.isTrue(Redacted.isRedacted(files.env?.["TOKEN"]))
      assert.strictEqual(Redacted.value(files.env!["TOKEN"]!), "secret-1")
      assert.isTrue(Redacted.isRedacted(search.headers?.["authorization"]))
      assert.notInclude(JSON.stringify(config), "secret")
      assert.notInclude(String(config.mcpServers["search"]?.toString?.()), "secret")
    }))

  it.effect("says what to write when the configuration is wrong", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Mcp.decodeConfig({ mcpServers: { files: { url: "ftp://x" } } }))
      assert.strictEqual(error.reason, "Config")
      assert.match(error.message, /an http:\/\/ or https:\/\/ URL/)
      const name = yield* Effect.flip(Mcp.decodeConfig({ mcpServers: { "a b": { command: "x" } } }))
      assert.match(name.message, /letters, digits/)
    }))

  it.scoped("reads the servers from EFFECT_AGENTS_MCP_SERVERS or from the file EFFECT_AGENTS_MCP_CONFIG names", () =>
    Effect.gen(function*() {
      const { dir } = yield* stdioServer
      const json = JSON.stringify({ mcpServers: { files: { command: "npx", env: { TOKEN: "secret-3" } } } })
      const file = Path.join(dir, "mcp.json")
      writeFileSync(file, json)
      const withEnv = (env: Record<string, string>) =>
        Effect.withConfigProvider(Mcp.configFromEnv, ConfigProvider.fromMap(new Map(Object.entries(env))))
      const inline = yield* withEnv({ EFFECT_AGENTS_MCP_SERVERS: json })
      const fromFile = yield* withEnv({ EFFECT_AGENTS_MCP_CONFIG: file })
      assert.deepStrictEqual(Object.keys(inline.mcpServers), ["files"])
      assert.deepStrictEqual(Object.keys(fromFile.mcpServers), ["files"])
      assert.deepStrictEqual(yield* withEnv({}), { mcpServers: {} })
      const broken = yield* Effect.flip(withEnv({ EFFECT_AGENTS_MCP_SERVERS: "{ mcpServers" }))
      assert.match(broken.message, /EFFECT_AGENTS_MCP_SERVERS is not valid JSON/)
      const missing = yield* Effect.flip(withEnv({ EFFECT_AGENTS_MCP_CONFIG: Path.join(dir, "nope.json") }))
      assert.match(missing.message, /Cannot read the MCP configuration file named by EFFECT_AGENTS_MCP_CONFIG \(ENOENT\)/)
    }))

  it.effect("leaves out a tool whose JSON Schema cannot be used, and offers the others", () =>
    Effect.gen(function*() {
      const tool = (name: string, inputSchema: McpClient.McpTool["inputSchema"]): McpClient.McpTool => ({
        server: "odd",
        name,
        description: undefined,
        inputSchema
      })
      const client: McpClient.Service = {
        servers: ["odd"],
        listTools: () => Effect.succeed([tool("fine", { type: "object" }), tool("broken", { type: "no such type" })]),
        callTool: () => Effect.die("not called")
      }
      const set = yield* Mcp.toolset().pipe(Effect.provideService(McpClient.McpClient, client))
      assert.deepStrictEqual(Object.keys(set.toolkit.tools), ["fine"])
    }))
})

describe("MCP test layer", () => {
  it.effect("answers an agent's MCP tools in the test itself, with no process", () =>
    Effect.gen(function*() {
      const Servers = Mcp.layerTest({
        weather: {
          forecast: {
            description: "The forecast for a city",
            inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            call: (args) => Effect.succeed({ city: (args as { city: string }).city, sky: "clear" })
          },
          alerts: { call: () => Effect.fail("no alerts service today") }
        }
      })
      const model = TestModel.layer((request) => {
        const turn = request.prompt.content.filter((message) => message.role === "tool").length
        return turn === 0
          ? TestModel.toolCalls([{ name: "weather_forecast", params: { city: "Oslo" } }, { name: "weather_alerts", params: {} }])
          : TestModel.text("done")
      })
      const output = yield* Agent.run(Agent.make({ tools: Mcp.toolset({ prefix: true }) }), "weather?").pipe(
        Effect.provide(Layer.merge(model, Servers))
      )
      assert.deepStrictEqual(output.toolCalls.map((call) => [call.name, call.result, call.failure]), [
        ["weather_forecast", { city: "Oslo", sky: "clear" }, undefined],
        ["weather_alerts", { _tag: "McpToolFailed", server: "weather", tool: "alerts", message: "no alerts service today" }, "Failed"]
      ])
    }))
})

describe("MCP without its SDK", () => {
  it("loads without the optional SDK, and a client built without it says what to install", () => {
    // A resolve hook makes the SDK missing, as in a project that never installed it.
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier.startsWith("@modelcontextprotocol/")) {
        throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: "ERR_MODULE_NOT_FOUND" })
      }
      return next(specifier, context)
    }`
    const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)})`
    const result = spawnSync(process.execPath, [
      "--import",
      `data:text/javascript,${encodeURIComponent(register)}`,
      "--import",
      "tsx",
      Path.join(root, "test", "fixtures", "mcpWithoutSdk.ts")
    ], { cwd: root, encoding: "utf8" })
    assert.strictEqual(result.status, 0, result.stderr)
    const printed = JSON.parse(result.stdout.trim().split("\n").pop()!) as { loaded: boolean; tag: string; message: string }
    assert.isTrue(printed.loaded)
    assert.strictEqual(printed.tag, "McpError")
    assert.include(printed.message, "npm install @modelcontextprotocol/client")
  }, 30_000)
})
