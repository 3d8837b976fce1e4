// The web chat page of effect-agents: plain JavaScript, no build step. It speaks the app's own HTTP
// API (the one documented at /docs): the registry at /agents, detached streamed runs (their events
// read from the run's event log, so a reload picks the run up again), cancel, and sessions.
// Markdown is rendered by marked and sanitized by DOMPurify before it touches the page.
import { marked } from "/ui/marked.js"
import DOMPurify from "/ui/purify.js"

const $ = (id) => document.getElementById(id)
const ui = {
  agent: $("agent"),
  description: $("agent-description"),
  auth: $("auth"),
  token: $("token"),
  error: $("error"),
  sessions: $("sessions"),
  toggleSessions: $("toggle-sessions"),
  newSession: $("new-session"),
  user: $("user"),
  sessionList: $("session-list"),
  transcript: $("transcript"),
  composer: $("composer"),
  input: $("input"),
  send: $("send"),
  stop: $("stop")
}

// The token lives in this tab's session storage only: never in a URL, never in local storage.
const store = {
  get token() { return sessionStorage.getItem("effect-agents.token") ?? "" },
  set token(value) { value ? sessionStorage.setItem("effect-agents.token", value) : sessionStorage.removeItem("effect-agents.token") },
  get user() { return localStorage.getItem("effect-agents.user") || "web" },
  set user(value) { localStorage.setItem("effect-agents.user", value) },
  get session() { return sessionStorage.getItem("effect-agents.session") },
  set session(value) { sessionStorage.setItem("effect-agents.session", value) },
  get agent() { return sessionStorage.getItem("effect-agents.agent") },
  set agent(value) { sessionStorage.setItem("effect-agents.agent", value) },
  // The run in flight of each session, so that a reload, or another tab that opens the session,
  // can follow it again.
  pending(sessionId) {
    try { return JSON.parse(localStorage.getItem(`effect-agents.pending.${sessionId}`) ?? "null") } catch { return null }
  },
  setPending(sessionId, value) {
    const key = `effect-agents.pending.${sessionId}`
    value ? localStorage.setItem(key, JSON.stringify(value)) : localStorage.removeItem(key)
  },
  /** Forgets the session's run in flight, when it is this one. */
  clearPending(sessionId, runId) {
    if (this.pending(sessionId)?.runId === runId) this.setPending(sessionId, null)
  }
}

// crypto.randomUUID needs a secure context; a server reached over plain HTTP on a LAN is not one.
const uuid = () => {
  if (crypto.randomUUID) return crypto.randomUUID()
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

let agents = []
let knownSessions = new Set()
let current = null // { runId, turn, controller, lastId, ended }

// ---------------------------------------------------------------------------------------------
// HTTP

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `The server answered ${status}.`)
    this.status = status
    this.body = body
  }
}

const headers = (extra = {}) => {
  const out = { ...extra }
  if (store.token) out.authorization = `Bearer ${store.token}`
  return out
}

const api = async (path, init = {}) => {
  const response = await fetch(path, { ...init, headers: headers(init.headers) })
  if (!response.ok) {
    let body = null
    try { body = await response.json() } catch {}
    throw new ApiError(response.status, body)
  }
  return response
}

const json = async (path, init) => (await api(path, init)).json()

/** Reads a response as Server-Sent Events: { id, event, data } each. */
async function* events(response) {
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += decoder.decode(value, { stream: true })
    let end
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const message = { id: undefined, event: "message", data: "" }
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":")
        const field = colon < 0 ? line : line.slice(0, colon)
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "")
        if (field === "id") message.id = Number(text)
        else if (field === "event") message.event = text
        else if (field === "data") message.data += text
      }
      if (message.data) yield message
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Errors and auth

const showError = (message) => {
  ui.error.textContent = message
  ui.error.hidden = !message
}

const handleError = (error) => {
  if (error instanceof ApiError && error.status === 401) {
    ui.auth.hidden = false
    showError(`${error.message} Enter the server's token above.`)
    ui.token.focus()
    return
  }
  if (error?.name === "AbortError") return
  showError(error instanceof Error ? error.message : String(error))
}

// ---------------------------------------------------------------------------------------------
// Rendering

const el = (tag, className, text) => {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

const pretty = (value) => {
  if (typeof value === "string") return value
  try { return JSON.stringify(value, null, 2) } catch { return String(value) }
}

const ms = (value) => value === undefined || value === null ? "" : value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`

const textOf = (content) =>
  typeof content === "string"
    ? content
    : Array.isArray(content) ? content.map((part) => part?.type === "text" ? part.text : "").join("") : ""

const scrollDown = () => {
  const t = ui.transcript
  if (t.scrollHeight - t.scrollTop - t.clientHeight < 160) t.scrollTop = t.scrollHeight
}

/**
 * Renders the events of one run (or of one member run inside it) into `container`: markdown text,
 * reasoning, tool cards, nested member runs, retries and waits, in the order they happen.
 */
class RunView {
  constructor(container) {
    this.container = container
    this.text = null // { node, source }
    this.reasoning = null // { node, source }
    this.tools = new Map()
    this.failedTools = new Map()
    this.members = new Map()
    // A workflow's step runs, by step id: shared by the views of nested steps.
    this.steps = new Map()
    this.pendingRender = false
  }

  markdown(source) {
    const node = el("div", "markdown")
    this.container.append(node)
    const entry = { node, source }
    this.renderMarkdown(entry)
    return entry
  }

  renderMarkdown(entry) {
    entry.node.innerHTML = DOMPurify.sanitize(marked.parse(entry.source, { async: false }))
  }

  appendText(delta) {
    this.reasoning = null
    if (this.text === null) this.text = this.markdown("")
    this.text.source += delta
    // Rendered once a frame, not once a delta.
    if (!this.pendingRender) {
      this.pendingRender = true
      requestAnimationFrame(() => {
        this.pendingRender = false
        if (this.text) this.renderMarkdown(this.text)
        scrollDown()
      })
    }
  }

  flush() {
    if (this.text) this.renderMarkdown(this.text)
  }

  appendReasoning(delta) {
    if (this.reasoning === null) {
      this.flush()
      this.text = null
      const details = el("details", "reasoning")
      details.append(el("summary", "", "Reasoning"))
      const node = el("div", "text")
      details.append(node)
      this.container.append(details)
      this.reasoning = { node, source: "" }
    }
    this.reasoning.source += delta
    this.reasoning.node.textContent = this.reasoning.source
  }

  breakText() {
    this.flush()
    this.text = null
    this.reasoning = null
  }

  toolCard({ toolCallId, name, arguments: args }) {
    this.breakText()
    const card = el("section", "card tool running")
    card.dataset.toolCallId = toolCallId
    const header = el("header")
    header.append(el("span", "name", name))
    const status = el("span", "meta status-line", "running…")
    header.append(status)
    const retries = this.failedTools.get(name) ?? 0
    if (retries > 0) header.append(el("span", "meta retries", `retry ${retries}`))
    card.append(header)
    const argsNode = el("pre", "args", pretty(args))
    card.append(argsNode)
    const result = el("pre", "result")
    result.hidden = true
    card.append(result)
    this.container.append(card)
    const view = { card, status, result, name }
    this.tools.set(toolCallId, view)
    return view
  }

  toolDone(event, failed) {
    const view = this.tools.get(event.toolCallId) ?? this.toolCard({ toolCallId: event.toolCallId, name: event.name, arguments: null })
    view.card.classList.remove("running")
    view.card.classList.toggle("failed", failed)
    view.status.textContent = `${failed ? `failed (${event.reason})` : "done"} · ${ms(event.duration)}`
    view.result.hidden = false
    view.result.textContent = failed ? pretty(event.error) : pretty(event.result)
    if (failed) this.failedTools.set(view.name, (this.failedTools.get(view.name) ?? 0) + 1)
  }

  notice(text) {
    this.breakText()
    this.container.append(el("div", "notice", text))
  }

  member(event) {
    const view = this.nested("member", event.member, event.task ? ` — ${event.task}` : "")
    this.members.set(event.memberRunId, view)
    return view
  }

  nested(className, title, detail) {
    this.breakText()
    const details = el("details", className)
    details.open = true
    const summary = el("summary")
    summary.append(el("strong", "", title), document.createTextNode(detail))
    const status = el("span", "meta", " · running…")
    summary.append(status)
    details.append(summary)
    const body = el("div", "assistant")
    details.append(body)
    this.container.append(details)
    const view = new RunView(body)
    view.status = status
    return view
  }

  step(event) {
    const parent = (event.parentStepId && this.steps.get(event.parentStepId)) || this
    const view = parent.nested("member step", event.step, event.kind ? ` (${event.kind})` : "")
    view.steps = this.steps
    this.steps.set(event.stepId, view)
    return view
  }

  approval(event) {
    this.breakText()
    const card = el("section", "card approval running")
    const header = el("header")
    header.append(el("span", "name", event.tool), el("span", "meta", "needs approval"))
    card.append(header, el("pre", "args", pretty(event.arguments)))
    // The decisions are asked for once the run has paused (RunPaused lists every pending call).
    this.container.append(card)
  }

  /** One event of the run; returns true for the run's last event. */
  apply(event) {
    switch (event._tag) {
      case "TextDelta":
        this.appendText(event.delta)
        break
      case "ReasoningDelta":
        this.appendReasoning(event.delta)
        break
      case "ToolCallStarted":
        this.toolCard(event)
        break
      case "ToolCallCompleted":
        this.toolDone(event, false)
        break
      case "ToolCallFailed":
        this.toolDone(event, true)
        break
      case "Retrying":
        this.notice(`Retrying in ${ms(event.delay)} (attempt ${event.attempt}): ${event.error?.message ?? ""}`)
        break
      case "RateLimitWaited":
        this.notice(`Waited ${ms(event.waited)} for the model's rate limit.`)
        break
      case "FallbackStarted":
        this.notice(`Falling back to model ${event.fallback}: ${event.error?.message ?? ""}`)
        break
      case "MemberRunStarted":
        this.member(event)
        break
      case "MemberEvent":
        (this.members.get(event.memberRunId) ?? this.member({ ...event, task: "" })).apply(event.event)
        break
      case "MemberRunCompleted": {
        const view = this.members.get(event.memberRunId)
        if (view) {
          view.flush()
          view.status.textContent = ` · done in ${ms(event.output?.metrics?.duration)}`
        }
        break
      }
      case "MemberRunFailed": {
        const view = this.members.get(event.memberRunId)
        if (view) view.status.textContent = ` · failed: ${event.error?.message ?? ""}`
        break
      }
      case "ModelRequestCompleted":
        this.breakText()
        break
      case "StepStarted":
        this.step(event)
        break
      case "StepEvent":
        (this.steps.get(event.stepId) ?? this).apply(event.event)
        break
      case "StepWaiting": {
        const view = this.steps.get(event.stepId)
        if (view) view.status.textContent = ` · waiting for the signal ${event.signal}`
        break
      }
      case "StepCompleted": {
        const view = this.steps.get(event.stepId)
        if (view) {
          view.flush()
          view.status.textContent = ` · done in ${ms(event.duration)}`
        }
        break
      }
      case "StepFailed": {
        const view = this.steps.get(event.stepId)
        if (view) view.status.textContent = ` · failed: ${event.error?.message ?? ""}`
        break
      }
      case "ApprovalRequested":
        this.approval(event)
        break
      default:
        break
    }
    scrollDown()
  }
}

/** A turn of the conversation: the user's message and the run's answer. */
const makeTurn = (input, runId) => {
  const article = el("article", "turn")
  if (runId) article.dataset.runId = runId
  article.append(el("div", "user", input))
  const body = el("div", "assistant")
  article.append(body)
  const footer = el("footer", "meta")
  article.append(footer)
  ui.transcript.append(article)
  const view = new RunView(body)
  return { article, view, footer }
}

const metricsLine = (metrics) => {
  if (!metrics) return ""
  const parts = [`${metrics.inputTokens} in / ${metrics.outputTokens} out tokens`, `${ms(metrics.duration)}`]
  if (metrics.timeToFirstToken !== undefined) parts.push(`first token ${ms(metrics.timeToFirstToken)}`)
  const count = (n, one, many) => `${n} ${n === 1 ? one : many}`
  if (metrics.modelCalls > 1) parts.push(count(metrics.modelCalls, "model call", "model calls"))
  if (metrics.toolCalls > 0) parts.push(count(metrics.toolCalls, "tool call", "tool calls"))
  if (metrics.retries > 0) parts.push(count(metrics.retries, "retry", "retries"))
  return parts.join(" · ")
}

const finish = (turn, status, text, metrics) => {
  turn.view.flush()
  turn.article.dataset.status = status
  turn.footer.replaceChildren()
  turn.footer.append(el("span", `status ${status}`, text))
  const line = metricsLine(metrics)
  if (line) turn.footer.append(document.createTextNode(` · ${line}`))
}

/** Applies a stream event to the turn; true when it ends the run. */
const applyToTurn = (turn, event) => {
  switch (event._tag) {
    case "RunStarted":
      turn.footer.textContent = "running…"
      return false
    case "RunCompleted":
      finish(turn, "completed", "Done", event.output?.metrics)
      return true
    case "RunFailed":
      finish(turn, "failed", `Failed: ${event.error?.message ?? event.error?._tag}`)
      return true
    case "RunError":
      finish(turn, "failed", `Failed: ${event.error?.message ?? "error"}`)
      return true
    case "RunPaused":
      finish(turn, "paused", "Paused: waiting for approval")
      askDecisions(turn, event)
      return true
    case "RunCancelled":
      finish(turn, "cancelled", event.reason === "shutdown" ? "Cancelled: the server shut down" : "Cancelled")
      return true
    default:
      turn.view.apply(event)
      return false
  }
}

// ---------------------------------------------------------------------------------------------
// Runs

const setRunning = (running) => {
  ui.stop.disabled = !running
  ui.send.disabled = running
}

/** Reads a run's events from `response` into the current turn; reconnects from the last id if cut. */
const follow = async (run, response) => {
  let attempts = 0
  for (;;) {
    try {
      for await (const message of events(response)) {
        if (message.id !== undefined) run.lastId = message.id
        attempts = 0
        if (applyToTurn(run.turn, JSON.parse(message.data))) {
          run.ended = true
          return
        }
      }
    } catch (error) {
      if (error?.name === "AbortError") return
    }
    if (run.ended || run.controller.signal.aborted) return
    // A resumed run is not detached: it has no log to read on from.
    if (run.resumed) throw new Error("The connection to the run was lost.")
    // The connection ended before the run did: read on from the last event seen.
    if (++attempts > 5) throw new Error("The connection to the run was lost.")
    await new Promise((resolve) => setTimeout(resolve, 300 * attempts))
    response = await api(`/runs/${encodeURIComponent(run.runId)}/events`, {
      headers: { accept: "text/event-stream", "last-event-id": String(run.lastId ?? 0) },
      signal: run.controller.signal
    })
  }
}

const track = async (run, start) => {
  current = run
  setRunning(true)
  try {
    await follow(run, await start())
  } catch (error) {
    if (run.fromLog && error instanceof ApiError && error.status === 404) {
      // The run's log is gone (the server restarted, or it ended long ago): its record, if it has
      // one, is in the session's history.
      run.turn.article.remove()
    } else {
      handleError(error)
      if (!run.ended) finish(run.turn, "failed", `Failed: ${error?.message ?? error}`)
    }
  } finally {
    if (current === run) {
      current = null
      setRunning(false)
    }
    store.clearPending(run.sessionId, run.runId)
    loadSessions().catch(() => {})
  }
}

const send = () => {
  const input = ui.input.value.trim()
  if (!input || current) return
  const agent = ui.agent.value
  if (!agent) return showError("Pick an agent first.")
  showError("")
  ui.input.value = ""
  const runId = uuid()
  const sessionId = currentSession()
  store.setPending(sessionId, { runId, agent, input })
  const run = { runId, sessionId, turn: makeTurn(input, runId), controller: new AbortController(), lastId: 0, ended: false }
  scrollDown()
  track(run, () =>
    api(`/agents/${encodeURIComponent(agent)}/runs`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ input, runId, sessionId, userId: store.user, stream: true, detach: true }),
      signal: run.controller.signal
    }))
}

/**
 * A paused run's pending tool calls, each with Approve (its arguments editable) and Reject; once
 * every call has a decision, the run is resumed with them (POST /runs/:runId/resume) and its events
 * are shown in the same turn.
 */
const askDecisions = (turn, event) => {
  const panel = el("section", "card decisions")
  panel.append(el("header", "meta", "Waiting for your decision"))
  const decisions = new Map()
  const decide = () => {
    if (decisions.size < event.pending.length) return
    panel.remove()
    const run = {
      runId: event.runId,
      sessionId: currentSession(),
      turn,
      controller: new AbortController(),
      lastId: 0,
      ended: false,
      resumed: true
    }
    turn.article.dataset.status = "running"
    turn.footer.textContent = "running…"
    track(run, () =>
      api(`/runs/${encodeURIComponent(event.runId)}/resume`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ decisions: [...decisions.values()], stream: true }),
        signal: run.controller.signal
      }))
  }
  for (const request of event.pending) {
    const row = el("div", "decision")
    row.dataset.toolCallId = request.toolCallId
    row.append(el("span", "name", request.tool))
    const args = el("textarea", "args")
    args.setAttribute("aria-label", `Arguments of ${request.tool}`)
    args.value = pretty(request.arguments)
    args.rows = Math.min(8, args.value.split("\n").length)
    const approve = el("button", "approve", "Approve")
    const reject = el("button", "reject ghost", "Reject")
    approve.type = reject.type = "button"
    const path = request.path?.length ? { path: request.path } : {}
    approve.addEventListener("click", () => {
      let edited
      if (args.value !== pretty(request.arguments)) {
        try {
          edited = JSON.parse(args.value)
        } catch {
          return showError(`The arguments of ${request.tool} are not valid JSON.`)
        }
      }
      showError("")
      decisions.set(request.toolCallId, {
        _tag: "Approve",
        toolCallId: request.toolCallId,
        ...path,
        ...(edited === undefined ? {} : { arguments: edited })
      })
      row.replaceChildren(el("span", "meta", `${request.tool}: approved`))
      decide()
    })
    reject.addEventListener("click", () => {
      decisions.set(request.toolCallId, { _tag: "Reject", toolCallId: request.toolCallId, ...path, reason: "Rejected from the web page." })
      row.replaceChildren(el("span", "meta", `${request.tool}: rejected`))
      decide()
    })
    const actions = el("div", "actions")
    actions.append(approve, reject)
    row.append(args, actions)
    panel.append(row)
  }
  turn.article.insertBefore(panel, turn.footer)
  scrollDown()
}

/** Cancels the run on the server; its stream then ends with RunCancelled. */
const stop = async () => {
  if (!current) return
  try {
    await api(`/runs/${encodeURIComponent(current.runId)}/cancel`, { method: "POST" })
  } catch (error) {
    // Ended meanwhile: nothing to cancel.
    if (!(error instanceof ApiError && error.status === 404)) handleError(error)
  }
}

/** After a reload, or in another tab: follows the session's run in flight, from its first event. */
const resume = (sessionId, history) => {
  const pending = store.pending(sessionId)
  if (!pending || current) return
  if (history.some((record) => record.runId === pending.runId)) {
    store.setPending(sessionId, null)
    return
  }
  const run = {
    runId: pending.runId,
    sessionId,
    turn: makeTurn(pending.input, pending.runId),
    controller: new AbortController(),
    lastId: 0,
    ended: false,
    fromLog: true
  }
  track(run, () =>
    api(`/runs/${encodeURIComponent(pending.runId)}/events`, {
      headers: { accept: "text/event-stream" },
      signal: run.controller.signal
    }))
}

// ---------------------------------------------------------------------------------------------
// Sessions

const currentSession = () => {
  let id = store.session
  if (!id) {
    id = uuid()
    store.session = id
  }
  return id
}

const renderRecord = (record) => {
  const input = record.input.filter((message) => message.role === "user").map((message) => textOf(message.content)).join("\n")
  const turn = makeTurn(input, record.runId)
  for (const call of record.toolCalls ?? []) {
    turn.view.toolCard({ toolCallId: call.id, name: call.name, arguments: call.arguments })
    turn.view.toolDone({ ...call, toolCallId: call.id, reason: call.failure, error: call.result }, call.failure !== undefined)
  }
  if (record.status === "completed") {
    turn.view.markdown(record.output?.text ?? "")
    finish(turn, "completed", "Done", record.metrics)
  } else if (record.status === "failed") {
    finish(turn, "failed", `Failed: ${record.error?.message ?? record.error?._tag}`, record.metrics)
  } else {
    finish(turn, "cancelled", "Cancelled", record.metrics)
  }
}

const openSession = async (sessionId) => {
  if (current) return
  store.session = sessionId
  ui.transcript.replaceChildren()
  ui.sessions.classList.remove("open")
  let history = []
  // A new session has no runs yet (and the store does not know it).
  if (knownSessions.has(sessionId)) {
    history = await json(`/users/${encodeURIComponent(store.user)}/sessions/${encodeURIComponent(sessionId)}/runs`)
  }
  for (const record of history) renderRecord(record)
  const last = history.at(-1)
  if (last && agents.some((agent) => agent.name === last.agent)) selectAgent(last.agent)
  markCurrentSession()
  ui.transcript.scrollTop = ui.transcript.scrollHeight
  resume(sessionId, history)
}

const markCurrentSession = () => {
  for (const button of ui.sessionList.querySelectorAll("button")) {
    button.setAttribute("aria-current", String(button.dataset.sessionId === store.session))
  }
}

const loadSessions = async () => {
  const sessions = await json(`/users/${encodeURIComponent(store.user)}/sessions`)
  knownSessions = new Set(sessions.map((session) => session.sessionId))
  ui.sessionList.replaceChildren()
  for (const session of sessions) {
    const item = el("li")
    const button = el("button", "session")
    button.type = "button"
    button.dataset.sessionId = session.sessionId
    button.append(document.createTextNode(session.sessionId.slice(0, 8)))
    button.append(el("small", "", `${session.runs} run${session.runs === 1 ? "" : "s"} · ${new Date(session.updatedAt).toLocaleString()}`))
    button.addEventListener("click", () => openSession(session.sessionId).catch(handleError))
    item.append(button)
    ui.sessionList.append(item)
  }
  markCurrentSession()
}

// ---------------------------------------------------------------------------------------------
// Agents

const selectAgent = (name) => {
  ui.agent.value = name
  store.agent = name
  const entry = agents.find((agent) => agent.name === name)
  const members = entry?.members?.length ? ` Members: ${entry.members.join(", ")}.` : ""
  ui.description.textContent = entry ? `${entry.kind}${entry.description ? ` — ${entry.description}` : ""}.${members}` : ""
}

const loadAgents = async () => {
  agents = await json("/agents")
  ui.agent.replaceChildren()
  for (const agent of agents) {
    const option = el("option", "", `${agent.name} (${agent.kind})`)
    option.value = agent.name
    ui.agent.append(option)
  }
  const saved = store.agent
  selectAgent(agents.some((agent) => agent.name === saved) ? saved : agents[0]?.name ?? "")
}

const start = async () => {
  showError("")
  await loadAgents()
  ui.auth.hidden = !store.token
  await loadSessions()
  await openSession(currentSession())
}

// ---------------------------------------------------------------------------------------------
// Wiring

ui.user.value = store.user
ui.composer.addEventListener("submit", (event) => {
  event.preventDefault()
  send()
})
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    send()
  }
})
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && current) {
    event.preventDefault()
    stop()
  }
})
ui.stop.addEventListener("click", stop)
ui.agent.addEventListener("change", () => selectAgent(ui.agent.value))
ui.newSession.addEventListener("click", () => {
  if (current) return
  store.session = uuid()
  ui.transcript.replaceChildren()
  ui.sessions.classList.remove("open")
  markCurrentSession()
  ui.input.focus()
})
ui.user.addEventListener("change", () => {
  store.user = ui.user.value.trim() || "web"
  ui.user.value = store.user
  store.session = uuid()
  ui.transcript.replaceChildren()
  loadSessions().catch(handleError)
})
ui.toggleSessions.addEventListener("click", () => {
  const open = ui.sessions.classList.toggle("open")
  ui.toggleSessions.setAttribute("aria-expanded", String(open))
})
ui.auth.addEventListener("submit", (event) => {
  event.preventDefault()
  store.token = ui.token.value.trim()
  ui.token.value = ""
  start().catch(handleError)
})

start().catch(handleError)
