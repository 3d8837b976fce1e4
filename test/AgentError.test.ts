import * as AiError from "@effect/ai/AiError"
import { assert, describe, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { AgentError, ModelError } from "../src/AgentError.js"

const httpError = (status: number, body?: string, headers: Record<string, string> = {}) =>
  new AiError.HttpResponseError({
    module: "openai",
    method: "generateText",
    reason: "StatusCode",
    request: { method: "POST", url: "http://127.0.0.1/v1", urlParams: [], hash: Option.none(), headers: {} },
    response: { status, headers },
    ...(body !== undefined ? { body } : {})
  })

const messageOf = (status: number, body?: string) => ModelError.fromAiError(httpError(status, body)).message

const classify = (status: number, body?: string, headers?: Record<string, string>) => {
  const error = ModelError.fromAiError(httpError(status, body, headers))
  return [error.reason, error.retryable] as const
}

const quotaHint =
  "The account has no quota or credit left: check its plan and billing with the provider (a retry will not help until then)"

describe("ModelError.fromAiError, the message of an HTTP error", () => {
  it("carries the message and code of an OpenAI error", () => {
    const body = JSON.stringify({
      error: {
        message: "Incorrect API key provided.",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key"
      }
    })
    assert.strictEqual(messageOf(401, body), "openai: HTTP 401: Incorrect API key provided. (invalid_api_key)")
  })

  it("falls back to the error type when the code is null", () => {
    const body = JSON.stringify({
      error: { message: "The server is overloaded or not ready yet.", type: "server_error", param: null, code: null }
    })
    assert.strictEqual(messageOf(503, body), "openai: HTTP 503: The server is overloaded or not ready yet. (server_error)")
  })

  it("shows no code when the error has neither a code nor a type", () => {
    assert.strictEqual(messageOf(400, `{"error":{"message":"bad input"}}`), "openai: HTTP 400: bad input")
    // A numeric code (OpenRouter sends the status again) is not a code worth repeating.
    assert.strictEqual(messageOf(402, `{"error":{"message":"Insufficient credits","code":402}}`), `openai: HTTP 402: Insufficient credits. ${quotaHint}`)
  })

  it("carries the message and type of an Anthropic error", () => {
    const body = JSON.stringify({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
      request_id: "req_1"
    })
    assert.strictEqual(messageOf(529, body), "openai: HTTP 529: Overloaded (overloaded_error)")
  })

  it("reads pretty-printed JSON", () => {
    const body = JSON.stringify({ error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }, null, 2)
    assert.strictEqual(messageOf(429, body), "openai: HTTP 429: Rate limit reached (rate_limit_exceeded)")
  })

  it("carries the text of {\"error\": text}, {\"message\": text} and {\"detail\": text}", () => {
    assert.strictEqual(messageOf(404, `{"error":"model 'llama9' not found"}`), "openai: HTTP 404: model 'llama9' not found")
    assert.strictEqual(messageOf(400, `{"message":"Invalid model name"}`), "openai: HTTP 400: Invalid model name")
    assert.strictEqual(
      messageOf(400, `{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}`),
      "openai: HTTP 400: max_tokens is too large (BadRequestError)"
    )
    assert.strictEqual(messageOf(404, `{"detail":"Not Found"}`), "openai: HTTP 404: Not Found")
  })

  it("keeps a body that is not JSON as it is", () => {
    assert.strictEqual(messageOf(502, "<html>Bad Gateway</html>"), "openai: HTTP 502: <html>Bad Gateway</html>")
    assert.strictEqual(messageOf(500, "upstream down"), "openai: HTTP 500: upstream down")
    assert.strictEqual(messageOf(500, `{"error":{"message":"cut`), `openai: HTTP 500: {"error":{"message":"cut`)
  })

  it("keeps JSON of another shape as it is", () => {
    for (
      const body of [
        `{"error":{"code":"context_length_exceeded"}}`,
        `{"error":{"message":""}}`,
        `{"detail":[{"loc":["body","model"],"msg":"field required","type":"value_error.missing"}]}`,
        `{"status":"failed"}`,
        `["error"]`,
        `"error"`
      ]
    ) {
      assert.strictEqual(messageOf(400, body), `openai: HTTP 400: ${body}`)
    }
  })

  it("has no body part when the body is absent or empty", () => {
    assert.strictEqual(messageOf(503), "openai: HTTP 503")
    assert.strictEqual(messageOf(503, ""), "openai: HTTP 503")
  })

  it("cuts a long message at 300 characters", () => {
    const long = "x".repeat(1000)
    assert.strictEqual(
      messageOf(400, JSON.stringify({ error: { message: long, type: "invalid_request_error", code: null } })),
      `openai: HTTP 400: ${"x".repeat(300)}… (invalid_request_error)`
    )
    assert.strictEqual(messageOf(400, long), `openai: HTTP 400: ${"x".repeat(300)}…`)
    const other = JSON.stringify({ status: long })
    assert.strictEqual(messageOf(400, other), `openai: HTTP 400: ${other.slice(0, 300)}…`)
  })

  it("still classifies on the whole body", () => {
    const body = JSON.stringify({
      error: {
        message: "This model's maximum context length is 128000 tokens.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded"
      }
    })
    const error = ModelError.fromAiError(httpError(400, body))
    assert.deepStrictEqual([error.reason, error.retryable, error.status], ["ContextTooLong", false, 400])
    // The words that classify it are in the body's code, not only in its message.
    const coded = ModelError.fromAiError(httpError(400, `{"error":{"message":"Too big.","code":"context_length_exceeded"}}`))
    assert.deepStrictEqual([coded.reason, coded.message], ["ContextTooLong", "openai: HTTP 400: Too big. (context_length_exceeded)"])
  })

  it("keeps the whole body reachable through its cause, also once encoded", () => {
    const body = JSON.stringify({
      error: { message: "Incorrect API key provided.", type: "invalid_request_error", param: null, code: "invalid_api_key" }
    })
    const error = ModelError.fromAiError(httpError(401, body))
    assert.instanceOf(error.cause, AiError.HttpResponseError)
    if (error.cause instanceof AiError.HttpResponseError) assert.strictEqual(error.cause.body, body)
    const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(AgentError)(error)))
    assert.include(encoded.cause.message, body)
  })
})

describe("ModelError.fromAiError, an account out of quota or credit", () => {
  it("is QuotaExceeded, not retryable, with what to do in its message (OpenAI's insufficient_quota 429)", () => {
    const body = JSON.stringify({
      error: {
        message: "You exceeded your current quota, please check your plan and billing details.",
        type: "insufficient_quota",
        param: null,
        code: "insufficient_quota"
      }
    })
    const error = ModelError.fromAiError(httpError(429, body))
    assert.deepStrictEqual([error.reason, error.retryable, error.status], ["QuotaExceeded", false, 429])
    assert.strictEqual(
      error.message,
      `openai: HTTP 429: You exceeded your current quota, please check your plan and billing details. (insufficient_quota). ${quotaHint}`
    )
    // The reason crosses the wire like the others.
    const decoded = Schema.decodeUnknownSync(AgentError)(JSON.parse(JSON.stringify(Schema.encodeSync(AgentError)(error))))
    assert.isTrue(decoded._tag === "ModelError" && decoded.reason === "QuotaExceeded")
  })

  it("reads the other providers' answers", () => {
    const cases: ReadonlyArray<readonly [number, string]> = [
      // Anthropic: a 400 invalid_request_error, and the billing_error type.
      [400, JSON.stringify({
        type: "error",
        error: {
          type: "invalid_request_error",
          message:
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."
        }
      })],
      [400, JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "Usage is blocked due to insufficient credits." } })],
      [402, JSON.stringify({ type: "error", error: { type: "billing_error", message: "There is an issue with your billing." } })],
      // OpenAI's older billing codes.
      [400, JSON.stringify({ error: { message: "Billing hard limit has been reached", type: "invalid_request_error", param: null, code: "billing_hard_limit_reached" } })],
      [429, JSON.stringify({ error: { message: "Your account is not active, please check your billing details on our website.", type: "billing_not_active", param: null, code: "billing_not_active" } })],
      // OpenRouter and DeepSeek: 402 Payment Required.
      [402, JSON.stringify({ error: { code: 402, message: "Insufficient credits. Add more using https://openrouter.ai/credits" } })],
      [402, JSON.stringify({ error: { message: "Insufficient Balance", type: "unknown_error", param: null, code: "invalid_request_error" } })],
      [402, "Payment Required"]
    ]
    assert.deepStrictEqual(cases.map(([status, body]) => classify(status, body)), cases.map(() => ["QuotaExceeded", false] as const))
    assert.strictEqual(ModelError.fromAiError(httpError(402)).message, `openai: HTTP 402. ${quotaHint}`)
  })

  it("leaves a rate limit a rate limit, also Gemini's per-minute quota", () => {
    assert.deepStrictEqual(
      classify(429, JSON.stringify({ error: { message: "Rate limit reached for gpt-4o", type: "requests", code: "rate_limit_exceeded" } })),
      ["RateLimited", true]
    )
    // Gemini says "exceeded your current quota" of its per-minute limits, which do pass.
    const gemini = JSON.stringify({
      error: {
        code: 429,
        message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        status: "RESOURCE_EXHAUSTED"
      }
    })
    assert.deepStrictEqual(classify(429, gemini), ["RateLimited", true])
    // A server error that mentions credits is still a server error.
    assert.deepStrictEqual(classify(500, "insufficient credits service down"), ["ServerError", true])
  })
})

describe("ModelError.fromAiError, x-should-retry", () => {
  it("false makes a retryable status not retryable", () => {
    for (const status of [429, 500, 503, 529, 408]) {
      const [reason, retryable] = classify(status, undefined, { "x-should-retry": "false" })
      assert.deepStrictEqual([reason, retryable], [classify(status)[0], false], `HTTP ${status}`)
    }
  })

  it("true makes a status that is not retryable retryable", () => {
    for (const status of [400, 401, 403, 404, 409, 413]) {
      const [reason, retryable] = classify(status, undefined, { "x-should-retry": "true" })
      assert.deepStrictEqual([reason, retryable], [classify(status)[0], true], `HTTP ${status}`)
    }
  })

  it("ignores any other value, and reads the value in any case", () => {
    assert.deepStrictEqual(classify(503, undefined, { "x-should-retry": "maybe" }), ["Overloaded", true])
    assert.deepStrictEqual(classify(400, undefined, { "x-should-retry": "" }), ["BadRequest", false])
    assert.deepStrictEqual(classify(503, undefined, { "x-should-retry": " False " }), ["Overloaded", false])
  })
})

describe("ModelError.fromStreamError", () => {
  it("reads an exhausted quota in a stream error", () => {
    const error = ModelError.fromStreamError({
      type: "error",
      sequence_number: 2,
      code: "insufficient_quota",
      message: "You exceeded your current quota, please check your plan and billing details.",
      param: null
    })
    assert.deepStrictEqual([error.reason, error.retryable], ["QuotaExceeded", false])
    assert.strictEqual(
      error.message,
      `The model stream failed: You exceeded your current quota, please check your plan and billing details. (insufficient_quota). ${quotaHint}`
    )
  })

  it("carries the provider's message of a stream error event", () => {
    // Anthropic's `error` event, as the whole event and as its error object.
    assert.strictEqual(
      ModelError.fromStreamError({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }).message,
      "The model stream failed: Overloaded (overloaded_error)"
    )
    const overloaded = ModelError.fromStreamError({ type: "overloaded_error", message: "Overloaded" })
    assert.deepStrictEqual(
      [overloaded.reason, overloaded.retryable, overloaded.message],
      ["Overloaded", true, "The model stream failed: Overloaded (overloaded_error)"]
    )
    // OpenAI Responses' `error` event: its type is "error", its code tells more.
    const responses = ModelError.fromStreamError({
      type: "error",
      sequence_number: 3,
      code: "rate_limit_exceeded",
      message: "Rate limit reached for gpt-4o",
      param: null
    })
    assert.deepStrictEqual(
      [responses.reason, responses.message],
      ["RateLimited", "The model stream failed: Rate limit reached for gpt-4o (rate_limit_exceeded)"]
    )
    // A Chat Completions chunk's error object.
    const chat = ModelError.fromStreamError({ message: "The server had an error", type: "server_error", param: null, code: null })
    assert.deepStrictEqual([chat.reason, chat.message], ["ServerError", "The model stream failed: The server had an error (server_error)"])
    // The error event's text, when it came as JSON text.
    assert.strictEqual(
      ModelError.fromStreamError(`{"error":{"message":"Overloaded","type":"overloaded_error"}}`).message,
      "The model stream failed: Overloaded (overloaded_error)"
    )
  })

  it("classifies on the whole error, not only its message", () => {
    const error = ModelError.fromStreamError({ message: "Try again later.", code: "server_error" })
    assert.deepStrictEqual([error.reason, error.retryable], ["ServerError", true])
    assert.strictEqual(error.message, "The model stream failed: Try again later. (server_error)")
  })

  it("keeps anything else as it is, cut at 300 characters", () => {
    assert.strictEqual(ModelError.fromStreamError("connection lost").message, "The model stream failed: connection lost")
    assert.strictEqual(ModelError.fromStreamError({ status: "failed" }).message, `The model stream failed: {"status":"failed"}`)
    const long = { reason: "y".repeat(1000) }
    assert.strictEqual(
      ModelError.fromStreamError(long).message,
      `The model stream failed: ${JSON.stringify(long).slice(0, 300)}…`
    )
    assert.strictEqual(
      ModelError.fromStreamError({ message: "z".repeat(1000) }).message,
      `The model stream failed: ${"z".repeat(300)}…`
    )
  })
})
