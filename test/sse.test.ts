import { assert, describe, it } from "@effect/vitest"
import * as Sse from "../layers/internal/sse.js"

const parseAll = (pieces: ReadonlyArray<string>) => {
  const parser = Sse.make()
  const events = pieces.flatMap((piece) => parser.feed(piece))
  return [...events, ...parser.end()]
}

const body = [
  ": a comment\n",
  "event: delta\ndata: {\"a\":1}\n\n",
  "data: line one\ndata: line two\n\n",
  "data:no-space\r\n\r\n",
  "event: done\ndata: [DONE]\n\n"
].join("")

const expected = [
  { event: "delta", data: "{\"a\":1}" },
  { event: "message", data: "line one\nline two" },
  { event: "message", data: "no-space" },
  { event: "done", data: "[DONE]" }
]

describe("SSE parser", () => {
  it("parses events, comments, multi-line data and CRLF", () => {
    assert.deepStrictEqual(parseAll([body]), expected)
  })

  it("gives the same events however the body is split into reads", () => {
    for (let cut = 1; cut < body.length; cut++) {
      assert.deepStrictEqual(parseAll([body.slice(0, cut), body.slice(cut)]), expected, `cut at ${cut}`)
    }
    assert.deepStrictEqual(parseAll(body.split("")), expected)
  })

  it("dispatches a last event that has no blank line after it", () => {
    assert.deepStrictEqual(parseAll(["data: tail"]), [{ event: "message", data: "tail" }])
  })

  it("parses a large body in one read, and a long line in many reads, in linear time", () => {
    const events = 20_000
    const large = Array.from({ length: events }, (_, i) => `data: {"i":${i},"text":"${"x".repeat(40)}"}\n\n`).join("")
    const parsed = parseAll([large])
    assert.strictEqual(parsed.length, events)
    assert.strictEqual(parsed[events - 1]!.data, `{"i":${events - 1},"text":"${"x".repeat(40)}"}`)
    // One 1 MB line fed a byte-pair at a time: each byte is scanned once (a quadratic parser would
    // make this test take minutes).
    const line = `data: ${"y".repeat(1_000_000)}\n\n`
    const pieces: Array<string> = []
    for (let i = 0; i < line.length; i += 2) pieces.push(line.slice(i, i + 2))
    const [long] = parseAll(pieces)
    assert.strictEqual(long!.data.length, 1_000_000)
  })
})
