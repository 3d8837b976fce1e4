/**
 * The web chat page in a real browser: headless Chromium (Debian's package) driven by
 * playwright-core, against the real HTTP app on 127.0.0.1 with scripted agents. One browser for the
 * file, a fresh context (fresh storage) per test. Screenshots of the main states go to
 * `test/.screenshots/` (ignored by git) for a person to look at.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { mkdirSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as Fixture from "./fixtures/web.js"

const executablePath = "/usr/bin/chromium"
const screenshots = Path.join(Path.dirname(fileURLToPath(import.meta.url)), ".screenshots")

let browser: Browser
let scope: Scope.CloseableScope
let app: Fixture.Started
let secured: Fixture.Started

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true })
  scope = Effect.runSync(Scope.make())
  app = await Effect.runPromise(Scope.extend(Fixture.start(), scope))
  secured = await Effect.runPromise(Scope.extend(Fixture.start({ token: Redacted.make("s3cret") }), scope))
  // launch() gives the browser a fresh profile in a temporary directory of its own (the
  // --user-data-dir it passes), removed when the browser closes.
  browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
})

interface Opened {
  readonly context: BrowserContext
  readonly page: Page
  /** Console errors and uncaught exceptions of the page. */
  readonly problems: Array<string>
}

const open = async (url: string, viewport = { width: 1100, height: 800 }): Promise<Opened> => {
  const context = await browser.newContext({ viewport })
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const problems: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text())
  })
  page.on("pageerror", (error) => problems.push(error.message))
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`)
  })
  await page.goto(url)
  return { context, page, problems }
}

const pick = async (page: Page, agent: string) => {
  await page.locator("#agent option", { hasText: agent }).first().waitFor({ state: "attached" })
  await page.selectOption("#agent", agent)
}

const say = async (page: Page, text: string) => {
  await page.fill("#input", text)
  await page.press("#input", "Enter")
}

const lastTurn = (page: Page) => page.locator(".turn").last()

const shot = (page: Page, name: string) => page.screenshot({ path: Path.join(screenshots, `${name}.png`), fullPage: true })

describe("the web page", () => {
  it("is served at / with a strict Content-Security-Policy and loads without errors", async () => {
    const response = await fetch(`${app.url}/`)
    const csp = response.headers.get("content-security-policy") ?? ""
    assert.include(csp, "default-src 'none'")
    assert.include(csp, "script-src 'self'")
    assert.notInclude(csp, "unsafe-inline")
    assert.include(await response.text(), "<script type=\"module\" src=\"/ui/app.js\">")
    const { context, page, problems } = await open(app.url)
    await pick(page, "Writer")
    assert.include(await page.textContent("#agent-description") ?? "", "Writes short answers in markdown")
    assert.deepStrictEqual(problems, [])
    await context.close()
  })

  it("sends a message with Enter and shows the streamed answer as sanitized markdown, reasoning, usage", async () => {
    const { context, page, problems } = await open(app.url)
    await pick(page, "Writer")
    // Shift+Enter is a new line, not a send.
    await page.fill("#input", "hello")
    await page.press("#input", "Shift+Enter")
    assert.strictEqual(await page.locator(".turn").count(), 0)
    await say(page, "hello <img src=x onerror=\"window.pwned=1\"> there")
    const turn = lastTurn(page)
    await page.locator(".turn[data-status=completed]").waitFor()
    assert.strictEqual(await turn.locator(".markdown h2").textContent(), "Notes")
    assert.strictEqual(await turn.locator(".markdown li").count(), 2)
    assert.include(await turn.locator(".markdown strong").textContent() ?? "", "hello")
    // The model echoed raw HTML: it was sanitized (and the policy forbids inline handlers anyway).
    assert.strictEqual(await page.locator("[onerror]").count(), 0)
    assert.isUndefined(await page.evaluate("window.pwned"))
    assert.include(await turn.locator("details.reasoning").textContent() ?? "", "The user wants a short answer.")
    const footer = await turn.locator("footer").textContent() ?? ""
    assert.include(footer, "Done")
    assert.include(footer, "12 in / 20 out tokens")
    assert.match(footer, /first token \d+/)
    // The image the answer held was kept (without its handler), and its source does not exist.
    assert.deepStrictEqual(problems.filter((problem) => !problem.includes("/x") && !problem.includes("404 (Not Found)")), [])
    await shot(page, "answer")
    await context.close()
  })

  it("shows tool calls as cards: name, arguments, result or error, duration, retries", async () => {
    const { context, page } = await open(app.url)
    await pick(page, "Weather")
    await say(page, "Weather in Paris?")
    await page.locator(".turn[data-status=completed]").waitFor()
    const card = page.locator(".card.tool").first()
    assert.strictEqual(await card.locator(".name").textContent(), "weather")
    assert.include(await card.locator(".args").textContent() ?? "", "\"city\": \"Paris\"")
    assert.include(await card.locator(".result").textContent() ?? "", "Sunny in Paris, 24°C")
    assert.match(await card.locator(".status-line").textContent() ?? "", /^done · \d+ ms$/)
    assert.include(await lastTurn(page).locator(".markdown").textContent() ?? "", "It is sunny in Paris.")

    await say(page, "And in Atlantis?")
    await page.locator(".turn[data-status=completed]").nth(1).waitFor()
    const failed = lastTurn(page).locator(".card.tool.failed").first()
    assert.include(await failed.locator(".status-line").textContent() ?? "", "failed")
    assert.include(await failed.locator(".result").textContent() ?? "", "No weather is known for Atlantis.")
    await shot(page, "tool-cards")
    await context.close()
  })

  it("shows a retry as it happens, and counts it in the run's footer", async () => {
    const { context, page } = await open(app.url)
    await pick(page, "Flaky")
    await say(page, "hello")
    await page.locator(".turn[data-status=completed]").waitFor()
    assert.match(await page.locator(".notice").textContent() ?? "", /^Retrying in 50 ms \(attempt 1\): /)
    assert.strictEqual((await lastTurn(page).locator(".markdown").textContent())?.trim(), "Recovered.")
    assert.include(await lastTurn(page).locator("footer").textContent() ?? "", "1 retry")
    await context.close()
  })

  it("Stop and Escape cancel the run on the server, its tool included", async () => {
    const { context, page } = await open(app.url)
    await pick(page, "Waiter")
    const before = await Effect.runPromise(app.waitInterrupted)
    await say(page, "Wait for it")
    await page.locator(".card.tool.running").waitFor()
    await page.click("#stop")
    await page.locator(".turn[data-status=cancelled]").waitFor()
    assert.strictEqual(await Effect.runPromise(app.waitInterrupted), before + 1)
    assert.include(await lastTurn(page).locator("footer").textContent() ?? "", "Cancelled")
    await shot(page, "cancelled")

    await say(page, "Wait again")
    await lastTurn(page).locator(".card.tool.running").waitFor()
    await page.keyboard.press("Escape")
    await page.locator(".turn[data-status=cancelled]").nth(1).waitFor()
    assert.strictEqual(await Effect.runPromise(app.waitInterrupted), before + 2)
    assert.isTrue(await page.locator("#stop").isDisabled())
    await context.close()
  })

  it("asks for approval of a tool call, and an approved call runs with its edited arguments", async () => {
    const { context, page } = await open(app.url)
    await pick(page, "Banker")
    const before = (await Effect.runPromise(app.transfers)).length
    await say(page, "Pay Ada")
    await page.locator(".turn[data-status=paused]").waitFor()
    assert.include(await page.locator(".card.approval").textContent() ?? "", "transfer")
    assert.strictEqual((await Effect.runPromise(app.transfers)).length, before)
    await shot(page, "approval")
    await page.fill(".decision textarea", JSON.stringify({ to: "Ada", amount: 50 }))
    await page.click(".decision button.approve")
    await page.locator(".turn[data-status=completed]").waitFor()
    assert.deepStrictEqual((await Effect.runPromise(app.transfers)).slice(before), ["50 to Ada"])
    assert.include(await lastTurn(page).locator(".markdown").last().textContent() ?? "", "Done: sent 50 to Ada.")

    await say(page, "Pay Ada again")
    await page.locator(".turn[data-status=paused]").waitFor()
    await page.click(".decision button.reject")
    await page.locator(".turn[data-status=completed]").nth(1).waitFor()
    assert.include(await lastTurn(page).locator(".markdown").last().textContent() ?? "", "The transfer was not made.")
    assert.strictEqual((await Effect.runPromise(app.transfers)).length, before + 1)
    await context.close()
  })

  it("a reload mid-run shows the rest of the run", async () => {
    const { context, page } = await open(app.url)
    await pick(page, "Storyteller")
    await say(page, "Tell me a story")
    await lastTurn(page).locator(".markdown", { hasText: "typed" }).waitFor()
    assert.notInclude(await lastTurn(page).textContent() ?? "", "The end.")
    await page.reload()
    await page.locator(".turn[data-status=completed]").waitFor()
    assert.strictEqual(await page.locator(".turn").count(), 1)
    const text = await lastTurn(page).locator(".markdown").textContent() ?? ""
    assert.strictEqual(text.trim(), Fixture.story.join("").replace(/\*\*/g, "").trim())
    await shot(page, "after-reload")
    await context.close()
  })

  it("a second tab that opens the session follows its run in flight", async () => {
    const { context, page } = await open(app.url)
    await page.fill("#user", "bob")
    await page.press("#user", "Tab")
    await pick(page, "Writer")
    await say(page, "first")
    await page.locator(".turn[data-status=completed]").waitFor()
    await pick(page, "Storyteller")
    await say(page, "Tell me a story")
    await lastTurn(page).locator(".markdown", { hasText: "typed" }).waitFor()
    const other = await context.newPage()
    await other.goto(app.url)
    await other.locator("#session-list button").first().click()
    await other.locator(".turn").nth(1).waitFor()
    // Both tabs see the run to its end.
    await other.locator(".turn[data-status=completed]").nth(1).waitFor()
    await page.locator(".turn[data-status=completed]").nth(1).waitFor()
    const story = Fixture.story.join("").replace(/\*\*/g, "").trim()
    assert.strictEqual((await other.locator(".turn").nth(1).locator(".markdown").textContent())?.trim(), story)
    assert.strictEqual((await page.locator(".turn").nth(1).locator(".markdown").textContent())?.trim(), story)
    await context.close()
  })

  it("opens a past session from the sidebar and continues it", async () => {
    const { context, page } = await open(app.url)
    // A user of its own: the sessions of the other tests' user are not listed.
    await page.fill("#user", "alice")
    await page.press("#user", "Tab")
    await pick(page, "Writer")
    await say(page, "first session")
    await page.locator(".turn[data-status=completed]").waitFor()
    await page.click("#new-session")
    assert.strictEqual(await page.locator(".turn").count(), 0)
    await say(page, "second session")
    await page.locator(".turn[data-status=completed]").waitFor()
    await page.locator("#session-list button").nth(1).waitFor()
    assert.strictEqual(await page.locator("#session-list button").count(), 2)
    // The most recent session is listed first: the first one is second.
    await page.locator("#session-list button").nth(1).click()
    await page.locator(".turn .user", { hasText: "first session" }).waitFor()
    assert.strictEqual(await page.locator(".turn").count(), 1)
    assert.include(await lastTurn(page).locator(".markdown").textContent() ?? "", "You said first session")
    await say(page, "still the first")
    await page.locator(".turn[data-status=completed]").nth(1).waitFor()
    assert.strictEqual(await page.locator(".turn").count(), 2)
    await shot(page, "sessions")
    await context.close()
  })

  it("asks for a token when auth is on, shows a wrong token's error, keeps the token in the tab only", async () => {
    const { context, page } = await open(secured.url)
    await page.locator("#auth").waitFor()
    assert.include(await page.textContent("#error") ?? "", "bearer token is required")
    await page.fill("#token", "wrong")
    await page.press("#token", "Enter")
    await page.locator("#error", { hasText: "The bearer token is not valid." }).waitFor()
    await shot(page, "wrong-token")
    await page.fill("#token", "s3cret")
    await page.press("#token", "Enter")
    await page.locator("#agent option", { hasText: "Writer" }).waitFor({ state: "attached" })
    assert.isTrue(await page.locator("#error").isHidden())
    assert.strictEqual(await page.evaluate("sessionStorage.getItem('effect-agents.token')"), "s3cret")
    assert.isNull(await page.evaluate("localStorage.getItem('effect-agents.token')"))
    assert.notInclude(page.url(), "s3cret")
    await pick(page, "Writer")
    await say(page, "authorized")
    await page.locator(".turn[data-status=completed]").waitFor()
    await context.close()
  })

  it("nests a workflow's steps and the work of their agents", async () => {
    const { context, page } = await open(app.url)
    await pick(page, "Pipeline")
    await say(page, "plan")
    await page.locator(".turn[data-status=completed]").waitFor()
    const steps = page.locator("details.step > summary > strong")
    assert.deepStrictEqual(await steps.allTextContents(), ["Writer", "Weather"])
    assert.include(await page.locator("details.step").nth(0).locator(".markdown").textContent() ?? "", "You said plan")
    assert.strictEqual(await page.locator("details.step").nth(1).locator(".card .name").textContent(), "weather")
    assert.match(await page.locator("details.step").nth(1).locator("summary").textContent() ?? "", /done in \d+ ms/)
    await shot(page, "workflow")
    await context.close()
  })

  it("is usable 360 px wide", async () => {
    const { context, page } = await open(app.url, { width: 360, height: 740 })
    await pick(page, "Desk")
    await say(page, "What is the weather?")
    await page.locator(".turn[data-status=completed]").waitFor()
    // A team's member run is nested under it.
    assert.include(await page.locator("details.member summary").textContent() ?? "", "Weather")
    assert.include(await page.locator("details.member .card .name").textContent() ?? "", "weather")
    assert.isAtMost(await page.evaluate<number>("document.documentElement.scrollWidth"), 360)
    assert.isTrue(await page.locator("#send").isVisible())
    await page.click("#toggle-sessions")
    assert.isTrue(await page.locator("#sessions").isVisible())
    await shot(page, "narrow")
    await context.close()
  })
})
