/**
 * The demo responder: what the examples' offline model answers, in one place, whichever transport
 * carries it (see `examples/model.ts`: the local simulator over HTTP, or in process).
 *
 * It is deterministic, not a model. It answers from the last user message in a few sentences,
 * streamed in small chunks, calls a tool when one is offered and the message asks for it (then
 * answers from the tool's result), and takes its time like a real model does. Only the first line
 * of the message decides what it answers. A tool is "asked for" when a word of its name is in the
 * message (`search_orders`: "Search the orders…"), and it is called with `{ query: <the message> }`,
 * so demo tools take a `query` string. It does not write structured (`output` schema) answers,
 * except a team leader's choice of member.
 *
 * As the leader of a team (it finds the team's members in its instructions) it works as a leader
 * would: it hands each member a task suited to its role (all in one turn) and then sums up what they
 * found; it routes a message to the member whose role fits it best; and it sums up the answers of a
 * team that gave every member the message.
 *
 * It reads a small {@link Request} and answers a {@link Reply}; a transport turns the requests it
 * receives into the first and the second into what it sends.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

// ─── Requests and replies ───────────────────────────────────────────────────────────────────────

/**
 * A tool call the assistant made earlier in the conversation.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly params: unknown
}

/**
 * The result of one of the assistant's last tool calls, as the text the model is sent.
 *
 * @since 0.1.0
 * @category models
 */
export interface ToolResult {
  readonly id: string
  readonly name: string
  readonly result: string
  /** Whether the tool failed, when the transport says so. */
  readonly isFailure: boolean
}

/**
 * What the demo responder reads of a request.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly system: string | undefined
  /** The text of the last user message ("" when there is none). */
  readonly lastUserText: string
  /** The names of the tools offered. */
  readonly tools: ReadonlyArray<string>
  /** Whether a structured (JSON) answer is asked for. */
  readonly json: boolean
  /** Every tool call the assistant made so far, in order. */
  readonly toolCalls: ReadonlyArray<ToolCall>
  /** The results of the assistant's last tool calls, when the conversation ends with them. */
  readonly toolResults: ReadonlyArray<ToolResult>
}

/**
 * When a reply starts, and the time between its streamed pieces.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timing {
  readonly delay: Duration.Duration
  readonly chunkDelay?: Duration.Duration | undefined
}

/**
 * What the demo responder answers: text in streamed pieces, tool calls, or an HTTP error.
 *
 * @since 0.1.0
 * @category models
 */
export type Reply =
  | Timing & { readonly _tag: "Text"; readonly text: string; readonly chunks?: ReadonlyArray<string> | undefined }
  | Timing & { readonly _tag: "ToolCalls"; readonly calls: ReadonlyArray<{ readonly name: string; readonly params: unknown }> }
  | Timing & { readonly _tag: "HttpError"; readonly status: number; readonly message: string }

/**
 * Answers one request.
 *
 * @since 0.1.0
 * @category models
 */
export type Responder = (request: Request) => Reply | Effect.Effect<Reply>

// ─── Responders ─────────────────────────────────────────────────────────────────────────────────

/**
 * The demo's answers, the first token after `latency`.
 *
 * @since 0.1.0
 * @category responders
 */
export const answering = (latency: Duration.Duration): Responder => (request) => answer(request, latency)

/**
 * Every request fails with HTTP `status`, after `latency`, with the message a provider would send.
 *
 * @since 0.1.0
 * @category responders
 */
export const failing = (id: string, status: number, latency: Duration.Duration): Responder => () =>
  httpError(id, status, latency)

/**
 * The first `failures` requests fail with HTTP 503, the others get the demo's answers. Each
 * responder made by this effect counts from zero.
 *
 * @since 0.1.0
 * @category responders
 */
export const flaky = (id: string, failures: number, latency: Duration.Duration): Effect.Effect<Responder> =>
  Effect.map(Ref.make(0), (calls) => (request: Request) =>
    Effect.map(
      Ref.getAndUpdate(calls, (n) => n + 1),
      (n) => (n < failures ? httpError(id, 503, latency) : answer(request, latency))
    ))

/**
 * The message of an HTTP error, as a provider words it.
 *
 * @since 0.1.0
 * @category responders
 */
export const statusText = (id: string, status: number): string => {
  switch (status) {
    case 401:
      return "Incorrect API key provided."
    case 404:
      return `The model '${id}' does not exist or you do not have access to it.`
    case 429:
      return "Rate limit reached for requests."
    case 503:
      return "The server is overloaded or not ready yet."
    default:
      return status >= 500 ? "The server had an error while processing your request." : "The request failed."
  }
}

const httpError = (id: string, status: number, latency: Duration.Duration): Reply => ({
  _tag: "HttpError",
  status,
  message: statusText(id, status),
  delay: latency
})

// ─── Answering ──────────────────────────────────────────────────────────────────────────────────

/** The pieces of an answer arrive a few words at a time, spread over the time a model would take. */
const WORDS_PER_CHUNK = 2
const MAX_CHUNK_DELAY = Duration.millis(40)

const chunksOf = (text: string): ReadonlyArray<string> => {
  const words = text.match(/\s*\S+/g) ?? [text]
  const chunks: Array<string> = []
  for (let i = 0; i < words.length; i += WORDS_PER_CHUNK) chunks.push(words.slice(i, i + WORDS_PER_CHUNK).join(""))
  return chunks
}

const streamed = (text: string, timing: Timing): Reply => ({ _tag: "Text", text, chunks: chunksOf(text), ...timing })

/**
 * The demo's answer to one request, the first token after `latency`.
 *
 * @since 0.1.0
 * @category responders
 */
export const answer = (request: Request, latency: Duration.Duration): Reply => {
  const timing: Timing = {
    delay: latency,
    chunkDelay: Duration.min(Duration.unsafeDivide(latency, 15), MAX_CHUNK_DELAY)
  }
  const members = rosterOf(request.system)
  if (members.length > 0) {
    const reply = lead(request, members, timing)
    if (reply !== undefined) return reply
  }
  if (request.toolResults.length > 0) return streamed(fromToolResults(request.toolResults), timing)
  const tool = toolFor(request)
  if (tool !== undefined) {
    return { _tag: "ToolCalls", calls: [{ name: tool, params: { query: request.lastUserText.trim() } }], ...timing }
  }
  const markdown = request.system !== undefined && /markdown/i.test(request.system)
  return streamed(write(request.lastUserText, request.system ?? "", markdown), timing)
}

/** A tool is called when a word of its name (`search_orders`: "search", "orders") is in the message. */
const toolFor = (request: Request): string | undefined => {
  const said = words(request.lastUserText)
  return request.tools.find((name) =>
    words(name.replace(/([a-z])([A-Z])/g, "$1 $2")).some((word) =>
      word.length >= 4 && said.some((w) => w.slice(0, 5) === word.slice(0, 5))
    )
  )
}

const words = (text: string) => text.toLowerCase().split(/[^a-z0-9]+/).filter((word) => word.length > 0)

const fromToolResults = (results: ReadonlyArray<ToolResult>): string =>
  results.map((part) =>
    part.isFailure
      ? `I tried ${part.name}, but it failed: ${part.result} I can try again with a different request.`
      : `I looked that up with ${part.name}. ${part.result} Let me know if you need anything else.`
  ).join("\n\n")

// ─── Leading a team ─────────────────────────────────────────────────────────────────────────────

interface Member {
  readonly name: string
  readonly role: string
}

const DELEGATE = "delegate_task_to_member"
const ROSTER = "The members of your team:\n"
const ANSWERS = "The answers of your team's members:"

/** The members a team leader's instructions list, one per line: `- Name: role`. */
const rosterOf = (system: string | undefined): ReadonlyArray<Member> => {
  const start = system?.indexOf(ROSTER) ?? -1
  if (system === undefined || start === -1) return []
  const lines = system.slice(start + ROSTER.length).split("\n")
  const members: Array<Member> = []
  for (const line of lines) {
    if (!line.startsWith("- ")) break
    const colon = line.indexOf(": ")
    members.push(colon === -1 ? { name: line.slice(2), role: "" } : { name: line.slice(2, colon), role: line.slice(colon + 2) })
  }
  return members
}

const firstLine = (text: string) => (text.trim().split("\n")[0] ?? "").trim()

/** The task a leader gives a member: what the member's role is good at, about the user's question. */
const taskFor = (member: Member, question: string): string => {
  const about = `${member.name} ${member.role}`
  if (/analy/i.test(about)) return `Analyze: ${question}`
  if (/writ|edit/i.test(about)) return `Write about: ${question}`
  if (/search|find|research|look/i.test(about)) return `Search the web for: ${question}`
  return question
}

/** The member whose name and role share the most words with the message. */
const routeTo = (members: ReadonlyArray<Member>, message: string): Member => {
  const said = words(message)
  const score = (member: Member) =>
    words(`${member.name} ${member.role}`).filter((word) =>
      word.length >= 4 && said.some((w) => w.slice(0, 5) === word.slice(0, 5))
    ).length
  return members.reduce((best, member) => (score(member) > score(best) ? member : best), members[0]!)
}

/**
 * The gist of a member's answer: one of its sentences (not a heading, a list item or a pleasantry),
 * chosen by the member's name, so that members who wrote alike are not quoted alike.
 */
const gist = (member: string, text: string, said: ReadonlyArray<string>): string => {
  const sentences = text
    .replace(/^I looked that up with \w+\. /, "")
    .replace(/ Let me know if you need anything else\.$/, "")
    .split("\n")
    .map((line) => line.replace(/\*\*/g, "").replace(/^\s*(?:[-*]|\d+\.)\s+(?:[^—]+ — )?/, "").trim())
    .filter((line) => !line.startsWith("#") && /[.!?]$/.test(line))
    .flatMap((line) => line.split(/(?<=[.!?])\s+/))
    .filter((sentence) => sentence.length > 40 && !said.includes(sentence))
  return sentences.length === 0 ? firstLine(text) : sentences[hash(member) % sentences.length]!
}

/** A leader's final answer: the topic in brief, then what each member brought. */
const sumUp = (
  question: string,
  answers: ReadonlyArray<{ readonly member: string; readonly text: string | undefined }>,
  markdown: boolean
): string => {
  const line = firstLine(question)
  const topic = topicOf(line)
  const title = `${capitalize(topic.name)}: what the team found`
  const name = (member: string) => (markdown ? `**${member}**` : member)
  const said = [topic.summary[0], topic.summary[3]]
  const items = answers.map(({ member, text }) =>
    text === undefined ? `- ${name(member)} could not help this time.` : `- ${name(member)}: ${gist(member, text, said)}`
  )
  return `${markdown ? `## ${title}` : title}\n\n${topic.summary[0]}\n\n${items.join("\n")}\n\n${topic.summary[3]}`
}

/** What a team leader does next, or undefined when the request is not one a leader gets. */
const lead = (request: Request, members: ReadonlyArray<Member>, timing: Timing): Reply | undefined => {
  const markdown = request.system !== undefined && /markdown/i.test(request.system)
  // Route: the leader answers with the member's name, as JSON.
  if (request.json) {
    return { _tag: "Text", text: JSON.stringify({ member: routeTo(members, request.lastUserText).name }), ...timing }
  }
  // Coordinate: the members have answered; sum up.
  if (request.toolResults.some((result) => result.name === DELEGATE)) {
    const asked = new Map<string, string>()
    for (const call of request.toolCalls) {
      if (call.name === DELEGATE) asked.set(call.id, String((call.params as { readonly member?: unknown }).member))
    }
    return streamed(
      sumUp(
        request.lastUserText,
        request.toolResults.map((result) => ({
          member: asked.get(result.id) ?? "A member",
          text: result.isFailure ? undefined : result.result
        })),
        markdown
      ),
      timing
    )
  }
  // Coordinate: hand every member a task, all in one turn.
  if (request.tools.includes(DELEGATE)) {
    const question = firstLine(request.lastUserText)
    return {
      _tag: "ToolCalls",
      calls: members.map((member) => ({ name: DELEGATE, params: { member: member.name, task: taskFor(member, question) } })),
      ...timing
    }
  }
  // Broadcast: every member answered the message; sum up.
  const at = request.lastUserText.indexOf(ANSWERS)
  if (at !== -1) {
    const answers = request.lastUserText.slice(at + ANSWERS.length).split(/\n### /).slice(1).map((section) => {
      const newline = section.indexOf("\n")
      const heading = section.slice(0, newline)
      const failed = heading.endsWith(" (could not answer)")
      return {
        member: failed ? heading.slice(0, -" (could not answer)".length) : heading,
        text: failed ? undefined : section.slice(newline + 1)
      }
    })
    return streamed(sumUp(request.lastUserText.slice(0, at), answers, markdown), timing)
  }
  return undefined
}

// ─── What the demo responder knows ──────────────────────────────────────────────────────────────

interface Topic {
  readonly name: string
  readonly match: RegExp
  /** Four sentences, from the definition to the nuance. */
  readonly summary: readonly [string, string, string, string]
  /** Five items, "Name — description"; also used as steps. */
  readonly points: ReadonlyArray<string>
}

const topics: ReadonlyArray<Topic> = [
  {
    name: "quantum entanglement",
    match: /entangle/i,
    summary: [
      "Quantum entanglement is a link between particles in which measuring one immediately tells you something about the other, however far apart they are.",
      "The particles do not send signals to each other; they share one quantum state that only makes sense as a whole.",
      "Einstein called it \"spooky action at a distance\", but experiments since the 1980s, recognised by the 2022 Nobel Prize in Physics, have confirmed it again and again.",
      "Today entanglement is a working resource for quantum computers, quantum cryptography and very precise sensors."
    ],
    points: [
      "Shared state — two or more particles described by a single wavefunction",
      "Correlated measurements — results agree more often than any classical explanation allows",
      "No faster-than-light messages — each outcome is random until the results are compared",
      "Bell tests — experiments that rule out hidden local variables",
      "Applications — quantum key distribution, teleportation of states and quantum networks"
    ]
  },
  {
    name: "quantum computing",
    match: /quantum/i,
    summary: [
      "Quantum computing uses qubits, which can hold a blend of 0 and 1 at the same time, to explore many possibilities in one computation.",
      "By combining superposition, entanglement and interference, a quantum algorithm amplifies the right answers and cancels out the wrong ones.",
      "That makes some problems, such as simulating molecules or factoring large numbers, dramatically faster than on classical machines.",
      "Today's devices are still small and noisy, so much of the current work is on error correction and on useful near-term applications."
    ],
    points: [
      "Qubits — the basic unit of quantum information, able to be in superposition",
      "Superposition — a qubit holds several states at once until it is measured",
      "Entanglement — qubits whose states are linked, whatever the distance",
      "Error correction — protecting fragile quantum states from noise",
      "Applications — chemistry, cryptography, optimisation and materials science"
    ]
  },
  {
    name: "machine learning",
    match: /machine learning/i,
    summary: [
      "Machine learning is a way of building software that learns patterns from examples instead of following hand-written rules.",
      "You show a model many inputs together with the answers you expect, and it adjusts its internal parameters until its own answers come close.",
      "Once trained, the model can make predictions about data it has never seen before.",
      "The quality of the result depends as much on the data as on the algorithm."
    ],
    points: [
      "Collect data — gather examples that represent the problem",
      "Prepare the data — clean it, label it and split it into training and test sets",
      "Choose a model — anything from linear regression to a deep neural network",
      "Train — adjust the model's parameters to reduce its errors on the training set",
      "Evaluate and deploy — measure accuracy on unseen data, then put the model to work"
    ]
  },
  {
    name: "neural networks",
    match: /neural/i,
    summary: [
      "A neural network is a stack of simple computing units, loosely inspired by neurons, that pass numbers to each other through weighted connections.",
      "Each layer transforms its input a little, so together the layers can represent very complex functions.",
      "The network learns by backpropagation: it compares its output with the expected one and nudges every weight to reduce the error.",
      "Deep networks with many layers power today's image recognition, speech recognition and language models."
    ],
    points: [
      "Neurons — units that add up weighted inputs and apply an activation function",
      "Layers — an input layer, hidden layers and an output layer",
      "Weights — the parameters the network learns from data",
      "Backpropagation — the algorithm that works out how to adjust each weight",
      "Architectures — convolutional networks for images, transformers for language"
    ]
  },
  {
    name: "AI ethics",
    match: /ethic/i,
    summary: [
      "AI ethics asks how to build and use AI systems so that they are fair, safe and accountable.",
      "Models learn from historical data, so they can repeat or amplify its biases unless teams measure and correct them.",
      "People affected by automated decisions deserve to know when AI is involved and how to contest its outcomes.",
      "Good practice combines technical safeguards with clear human responsibility for what a system does."
    ],
    points: [
      "Fairness — avoid discriminating against groups of people",
      "Transparency — explain how and when AI is used",
      "Privacy — protect the personal data that models are trained on",
      "Safety — test systems before and after they are deployed",
      "Accountability — keep a person responsible for every decision"
    ]
  },
  {
    name: "AI applications",
    match: /application/i,
    summary: [
      "AI is already part of many everyday products, usually working quietly in the background.",
      "It recommends what to watch, filters spam, translates text and helps doctors read medical images.",
      "In industry it forecasts demand, detects fraud and predicts when machines need maintenance.",
      "The common thread is finding patterns in large amounts of data faster than people can."
    ],
    points: [
      "Healthcare — reading scans and supporting diagnoses",
      "Finance — detecting fraudulent transactions in real time",
      "Transport — driver assistance and route optimisation",
      "Customer service — assistants that answer common questions at any hour",
      "Recommendations — suggesting products, music and videos"
    ]
  },
  {
    name: "AI trends",
    match: /trend/i,
    summary: [
      "The biggest trend in AI is the move from chat assistants to agents that plan, call tools and complete multi-step tasks.",
      "Models are becoming multimodal, handling text, images, audio and video in one system.",
      "At the same time, smaller and cheaper models make it practical to run AI on laptops and phones.",
      "Regulation, such as the EU AI Act, and safety evaluations are becoming part of everyday engineering."
    ],
    points: [
      "AI agents — models that use tools to finish tasks on their own",
      "Multimodal models — one model for text, images and audio",
      "Small language models — efficient models that run on the device",
      "Retrieval-augmented generation — answers grounded in your own documents",
      "Governance — regulation, audits and safety evaluations"
    ]
  },
  {
    name: "programming languages",
    match: /programming language/i,
    summary: [
      "Programming languages are how people tell computers what to do, and each one makes different trade-offs.",
      "Some favour speed and control over memory, others favour quick development and readability.",
      "Type systems catch mistakes before a program runs, at the cost of saying a little more up front.",
      "Most teams pick a language for its ecosystem: the libraries, tools and people around it."
    ],
    points: [
      "Python — readable and the most popular choice for data science and AI",
      "TypeScript — JavaScript with static types, for web and server applications",
      "Rust — fast, memory-safe systems programming without a garbage collector",
      "Go — a simple compiled language built for network services",
      "Kotlin — a modern language for Android and the JVM"
    ]
  },
  {
    name: "tech stock performance",
    match: /stock|market/i,
    summary: [
      "Technology stocks have been driven largely by expectations around AI, with chip makers and cloud providers leading the gains.",
      "Companies that sell the hardware and infrastructure behind AI have grown revenue fastest, while others are still proving how AI pays off.",
      "Valuations are high compared with historical averages, which makes the sector sensitive to interest rates and earnings surprises.",
      "This is an illustration from an offline demo, not investment advice."
    ],
    points: [
      "Semiconductors — demand for AI chips drives growth",
      "Cloud platforms — AI workloads increase infrastructure spending",
      "Software — companies are adding AI features to existing products",
      "Valuations — high multiples make prices more volatile",
      "Risks — interest rates, regulation and supply chains"
    ]
  },
  {
    name: "artificial intelligence",
    match: /\bAI\b|artificial intelligence/i,
    summary: [
      "Artificial intelligence is the field of building computer systems that do tasks that normally need human intelligence, such as understanding language, recognising images or making decisions.",
      "Most modern AI learns from data: instead of being programmed rule by rule, a model is trained on many examples.",
      "Large language models, the technology behind today's chat assistants, are trained on vast amounts of text to predict what comes next.",
      "AI is powerful but not infallible, so its answers still need checking."
    ],
    points: [
      "Machine learning — systems that learn from data",
      "Natural language processing — understanding and generating text",
      "Computer vision — recognising what is in images and video",
      "Robotics — machines that sense and act in the world",
      "Generative AI — models that create text, images and code"
    ]
  }
]

const generic = (subject: string): Topic => ({
  name: subject,
  match: /$^/,
  summary: [
    `Here is my answer to "${subject}".`,
    "Start from the goal and the facts you already have, then fill the gaps one question at a time.",
    "Compare the options on cost, risk and benefit before committing to one.",
    "Finally, check the result against the goal and adjust if something has changed."
  ],
  points: [
    "Goal — what a good outcome looks like",
    "Facts — what is already known",
    "Options — the realistic choices and their trade-offs",
    "Decision — the choice and the reason for it",
    "Review — how to check that it worked"
  ]
})

const topicOf = (line: string, subject?: string): Topic =>
  topics.find((candidate) => candidate.match.test(line)) ??
    generic(subject ?? (line.replace(leadingVerb, "").replace(/[.?!:…]+$/, "").trim() || "your question"))

const jokes = [
  "Why do programmers prefer dark mode? Because light attracts bugs.",
  "There are 10 kinds of people in the world: those who understand binary and those who don't.",
  "I asked the computer for a break. It said: \"No problem, I'll go to sleep.\""
]

const numbers: Record<string, number> = { one: 1, two: 2, three: 3, four: 4, five: 5 }

const hash = (text: string) => {
  let h = 0
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0
  return h
}

const capitalize = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

const leadingVerb =
  /^(please\s+)?(tell me about|what is|what are|explain|describe|find|research|search for|search|write about|write|analy[sz]e)\s+/i

/** Writes the answer to a message. Only its first line decides the topic and the kind of answer. */
const write = (message: string, system: string, markdown: boolean): string => {
  const line = (message.trim().split("\n")[0] ?? "").trim()
  const subject = line
    .replace(leadingVerb, "")
    .replace(/[.?!:…]+$/, "")
    .trim()
  const topic = topicOf(line, subject || "your question")
  const title = capitalize(topic.name)
  const heading = (text: string) => (markdown ? `## ${text}` : text)
  const bullets = (items: ReadonlyArray<string>) =>
    items.map((item) => `- ${markdown ? item.replace(/^([^—]+) —/, "**$1** —") : item}`).join("\n")
  const numbered = (items: ReadonlyArray<string>) => items.map((item, i) => `${i + 1}. ${item}`).join("\n")
  // Agents with different roles asked the same thing pick different points, as different people would.
  const offset = hash(system + line) % topic.points.length
  const rotated = [...topic.points.slice(offset), ...topic.points.slice(0, offset)]
  const [s1, s2, s3, s4] = topic.summary

  if (/\bjoke\b/i.test(line)) return jokes[hash(system + line) % jokes.length]!
  if (/\bstory\b/i.test(line)) return story(topic.name, markdown)
  const list = /\blist\s+(\d+|one|two|three|four|five)\b/i.exec(line)
  if (list !== null) {
    const count = Math.min(topic.points.length, numbers[list[1]!.toLowerCase()] ?? Number(list[1]))
    return `Here are ${count} ${topic.name}:\n\n${numbered(topic.points.slice(0, count))}`
  }
  if (/one sentence/i.test(line)) return s1
  if (/step[ -]by[ -]step/i.test(line)) {
    return `${heading(`${title}, step by step`)}\n\n${s1}\n\n${numbered(topic.points)}\n\n${s4}`
  }
  if (/^analy[sz]e/i.test(line)) {
    return `${heading(`Analysis: ${topic.name}`)}\n\n` +
      `The sources agree on the fundamentals. ${s1}\n\n` +
      `${bullets([`Main driver — ${s2}`, `Impact — ${s3}`, `Open question — ${s4}`])}\n\n` +
      "Overall, the evidence is consistent; what remains uncertain is timing and practical impact."
  }
  if (/^(write|draft)\b/i.test(line)) {
    return `${heading(title)}\n\n${s1} ${s2}\n\n${heading("Key points")}\n\n${bullets(rotated.slice(0, 3))}\n\n` +
      `${heading("Outlook")}\n\n${s3} ${s4}`
  }
  if (/^(find|research|search|look up)\b/i.test(line)) {
    const intro = /\bpapers?\b/i.test(line)
      ? `Relevant research on ${topic.name}:`
      : /\bnews\b/i.test(line)
      ? `Recent news on ${topic.name}:`
      : `Here is what I found on ${topic.name}:`
    return `${intro}\n\n${bullets(rotated.slice(0, 3))}\n\n${s2}`
  }
  return markdown
    ? `${heading(title)}\n\n${s1} ${s2} ${s3}\n\n${bullets(rotated.slice(0, 3))}\n\n${s4}`
    : `${s1} ${s2} ${s3} ${s4}`
}

const story = (topic: string, markdown: boolean): string =>
  `${markdown ? "## " : ""}The Night Shift\n\n` +
  `Every night, when the lab emptied, a small program called Ada kept working on ${topic}. ` +
  "Nobody had asked her to; she simply liked questions that did not have answers yet.\n\n" +
  "One night she found a mistake in her own notes, a tiny one that had spread through weeks of work. " +
  "Instead of hiding it, she wrote a message for the morning team: \"I was wrong here, and this is how I know.\"\n\n" +
  "The engineers read it over coffee. Nobody remembered the mistake a month later, " +
  "but everyone remembered that Ada had told them. From then on, they trusted her most when she said she was unsure."
