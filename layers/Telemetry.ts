/**
 * OpenTelemetry export of runs: the spans (`invoke_agent`, `chat`, `execute_tool`, named and
 * attributed by the GenAI semantic conventions), the metrics (`gen_ai.client.token.usage`,
 * `gen_ai.client.operation.duration`, ... and the framework's counters) and Effect's logs, sent over
 * OTLP/HTTP to a collector or a tracing backend (Jaeger, Tempo, Honeycomb, Langfuse, Datadog,
 * Grafana). It uses `@effect/opentelemetry`'s OTLP exporters, which need no OpenTelemetry SDK in
 * the process.
 *
 * Configured the standard way, from the environment ({@link layerConfig}): with no
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, the layer is empty and runs make no spans at all.
 *
 * @since 0.2.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { CaptureContent } from "../services/Telemetry.js"

export {
  /**
   * Whether spans carry message content (off by default).
   *
   * @since 0.2.0
   * @category references
   */
  CaptureContent
} from "../services/Telemetry.js"

/**
 * Where and how to export.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The OTLP/HTTP base URL (the collector's, e.g. `http://localhost:4318`): signals go to `/v1/traces`, `/v1/metrics`, `/v1/logs`. */
  readonly endpoint: string
  /** `http/protobuf` (the OpenTelemetry default) or `http/json`. */
  readonly protocol?: Protocol | undefined
  /** Headers of every export request, such as a backend's API key; their values are never logged. */
  readonly headers?: Readonly<Record<string, string | Redacted.Redacted<string>>> | undefined
  /** `service.name` (default `unknown_service:node`, as the OpenTelemetry SDKs name a service with none). */
  readonly serviceName?: string | undefined
  readonly serviceVersion?: string | undefined
  /** More resource attributes (`deployment.environment.name`, ...). */
  readonly resourceAttributes?: Readonly<Record<string, string>> | undefined
  /** Record message content on spans (see `CaptureContent`). Default `false`. */
  readonly captureContent?: boolean | undefined
  /**
   * Which signals to export; all three by default. The runs' metrics are recorded on traced runs,
   * so exporting metrics without traces exports only what other code records.
   */
  readonly traces?: boolean | undefined
  readonly metrics?: boolean | undefined
  readonly logs?: boolean | undefined
  /** How often buffered spans, metrics and logs are sent (default 5 seconds for spans and logs, 10 for metrics). */
  readonly exportInterval?: Duration.DurationInput | undefined
  /** How long shutting down waits for the last export (default 3 seconds). */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export type Protocol = "http/protobuf" | "http/json"

/**
 * Exports runs' spans, metrics and logs to an OTLP/HTTP endpoint.
 *
 * @since 0.2.0
 * @category layers
 * @example
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Agent } from "effect-agents"
 * import { Telemetry, TestModel } from "effect-agents/layers"
 *
 * const TelemetryLive = Telemetry.layer({
 *   endpoint: "http://localhost:4318",
 *   serviceName: "support-bot",
 *   headers: { "x-api-key": Redacted.make("secret") }
 * })
 *
 * const program = Agent.run(Agent.make({ name: "Helper" }), "Hello").pipe(
 *   Effect.provide(TestModel.layer([TestModel.text("Hi!")])),
 *   Effect.provide(TelemetryLive)
 * )
 * ```
 */
export const layer = (options: Options): Layer.Layer<never> => {
  const base = options.endpoint.replace(/\/+$/, "")
  const headerNames = Object.keys(options.headers ?? {})
  const headers: Record<string, string> = {}
  for (const name of headerNames) {
    const value = options.headers![name]!
    headers[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  const resource = {
    serviceName: options.serviceName ?? "unknown_service:node",
    serviceVersion: options.serviceVersion,
    attributes: { ...options.resourceAttributes }
  }
  const common = { resource, headers, shutdownTimeout: options.shutdownTimeout, exportInterval: options.exportInterval }
  const { logs, metrics, traces } = options
  if (traces === false && metrics === false && logs === false) return Layer.empty
  const exporters = Layer.unwrapEffect(Effect.map(loadOtlp, (otlp) => {
    // @effect/opentelemetry's exporter sends a full batch from a fiber that its closing interrupts
    // before it sends what is left, so a batch request still in flight then was lost (1000 of 1200
    // spans, in the test of closing the exporter). The exporters' HTTP client counts its requests in flight, and a
    // finalizer that runs before the exporters close waits for them, up to the shutdown timeout.
    let inFlight = 0
    const counted = Layer.effect(
      HttpClient.HttpClient,
      Effect.map(HttpClient.HttpClient, (client) =>
        HttpClient.transform(client, (effect) =>
          Effect.suspend(() => {
            inFlight++
            return Effect.ensuring(effect, Effect.sync(() => void inFlight--))
          })))
    ).pipe(Layer.provide(FetchHttpClient.layer))
    const drain = Layer.scopedDiscard(Effect.addFinalizer(() =>
      Effect.suspend(() =>
        inFlight === 0 ? Effect.void : Effect.sleep("5 millis").pipe(
          Effect.repeat({ until: () => inFlight === 0 }),
          Effect.timeoutOption(options.shutdownTimeout ?? "3 seconds"),
          Effect.asVoid
        )
      )
    ))
    const signals: Array<Layer.Layer<never, never, any>> = []
    if (traces !== false) signals.push(otlp.OtlpTracer.layer({ ...common, url: `${base}/v1/traces` }))
    if (metrics !== false) signals.push(otlp.OtlpMetrics.layer({ ...common, url: `${base}/v1/metrics` }))
    if (logs !== false) signals.push(otlp.OtlpLogger.layer({ ...common, url: `${base}/v1/logs` }))
    const exporting = Layer.mergeAll(...(signals as [Layer.Layer<never, never, any>])).pipe(
      Layer.provide(
        options.protocol === "http/json" ? otlp.OtlpSerialization.layerJson : otlp.OtlpSerialization.layerProtobuf
      ),
      Layer.provide(counted)
    ) as Layer.Layer<never>
    // Built after the exporters, so its finalizer runs before theirs.
    return Layer.provideMerge(drain, exporting)
  })).pipe(
    // The exporters' fibers are forked while their layer is built: they inherit this list, so a
    // failed export that logs its request shows the headers' names, never their values.
    Layer.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...headerNames])
  )
  return options.captureContent === true
    ? Layer.merge(exporters, Layer.succeed(CaptureContent, true) as Layer.Layer<never>)
    : exporters
}

/**
 * The exporters configured from the environment, as every OpenTelemetry SDK reads it; an empty
 * layer (nothing exported, no spans made) when `OTEL_EXPORTER_OTLP_ENDPOINT` is not set or
 * `OTEL_SDK_DISABLED` is `true`.
 *
 * - `OTEL_EXPORTER_OTLP_ENDPOINT`: the OTLP/HTTP base URL, e.g. `http://localhost:4318`.
 * - `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` (default) or `http/json`.
 * - `OTEL_EXPORTER_OTLP_HEADERS`: `name=value,name2=value2`, values URL-encoded; read as secrets.
 * - `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` (`key=value,...`).
 * - `OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`: `none` turns one off.
 * - `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`: `true` records message content.
 *
 * A malformed setting is a `ConfigError` that names the variable and says what to set it to; a
 * header's value is never in it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerConfig = (defaults?: {
  /** The service name when `OTEL_SERVICE_NAME` (and `service.name` in the resource attributes) is not set. */
  readonly serviceName?: string | undefined
}): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Config.all({
      disabled: Config.withDefault(Config.boolean("OTEL_SDK_DISABLED"), false),
      endpoint: endpointConfig,
      protocol: protocolConfig,
      headers: headersConfig,
      serviceName: Config.option(Config.nonEmptyString("OTEL_SERVICE_NAME")),
      resourceAttributes: resourceAttributesConfig,
      traces: exporterConfig("OTEL_TRACES_EXPORTER"),
      metrics: exporterConfig("OTEL_METRICS_EXPORTER"),
      logs: exporterConfig("OTEL_LOGS_EXPORTER"),
      captureContent: Config.withDefault(Config.boolean("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"), false)
    }).pipe(
      Config.map((settings) => {
        if (settings.disabled || settings.endpoint === undefined) return Layer.empty
        const { "service.name": fromAttributes, ...attributes } = settings.resourceAttributes
        return layer({
          endpoint: settings.endpoint,
          protocol: settings.protocol,
          headers: settings.headers,
          serviceName: Option.getOrUndefined(settings.serviceName) ?? fromAttributes ?? defaults?.serviceName,
          resourceAttributes: attributes,
          traces: settings.traces,
          metrics: settings.metrics,
          logs: settings.logs,
          captureContent: settings.captureContent
        })
      })
    )
  )

// `@effect/opentelemetry` is an optional peer dependency: it is loaded when an exporter is built,
// so that importing the layers does not need it.
const loadOtlp = Effect.tryPromise(async () => ({
  OtlpLogger: await import("@effect/opentelemetry/OtlpLogger"),
  OtlpMetrics: await import("@effect/opentelemetry/OtlpMetrics"),
  OtlpSerialization: await import("@effect/opentelemetry/OtlpSerialization"),
  OtlpTracer: await import("@effect/opentelemetry/OtlpTracer")
})).pipe(
  Effect.orDieWith((cause) =>
    new Error(
      "effect-agents: exporting telemetry needs the package @effect/opentelemetry: install it (npm install @effect/opentelemetry).",
      { cause }
    )
  )
)

const endpointConfig: Config.Config<string | undefined> = Config.mapOrFail(
  Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
  (text) => {
    if (Option.isNone(text) || text.value.trim().length === 0) return Either.right(undefined)
    const value = text.value.trim()
    let protocol = ""
    try {
      protocol = new URL(value).protocol
    } catch {
      // not a URL: reported below
    }
    // Not quoted: a URL may carry credentials.
    return protocol === "http:" || protocol === "https:"
      ? Either.right(value)
      : Either.left(ConfigError.InvalidData(
        ["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "OTEL_EXPORTER_OTLP_ENDPOINT is not an http:// or https:// URL: set it to your collector's OTLP/HTTP base URL, e.g. http://localhost:4318."
      ))
  }
)

const protocolConfig: Config.Config<Protocol> = Config.mapOrFail(
  Config.withDefault(Config.string("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf"),
  (text) => {
    const value = text.trim()
    return value === "http/protobuf" || value === "http/json"
      ? Either.right(value)
      : Either.left(ConfigError.InvalidData(
        ["OTEL_EXPORTER_OTLP_PROTOCOL"],
        `OTEL_EXPORTER_OTLP_PROTOCOL is "${value}", which is not supported: set it to http/protobuf or http/json (gRPC is not).`
      ))
  }
)

// `name=value` pairs separated by commas, values URL-encoded (the OpenTelemetry format). The whole
// variable is a secret; so is each value.
const headersConfig: Config.Config<Record<string, Redacted.Redacted<string>>> = Config.mapOrFail(
  Config.option(Config.redacted("OTEL_EXPORTER_OTLP_HEADERS")),
  (option) => {
    const headers: Record<string, Redacted.Redacted<string>> = {}
    if (Option.isNone(option)) return Either.right(headers)
    const pairs = Redacted.value(option.value).split(",")
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!.trim()
      if (pair.length === 0) continue
      const at = pair.indexOf("=")
      const name = at > 0 ? pair.slice(0, at).trim() : ""
      let value: string | undefined
      try {
        value = at > 0 ? decodeURIComponent(pair.slice(at + 1).trim()) : undefined
      } catch {
        value = undefined
      }
      if (name.length === 0 || value === undefined || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        // Neither the pair nor the name is quoted: a mistyped separator can put a secret in either.
        return Either.left(ConfigError.InvalidData(
          ["OTEL_EXPORTER_OTLP_HEADERS"],
          `OTEL_EXPORTER_OTLP_HEADERS: entry ${i + 1} is not name=value: set it to comma-separated name=value pairs with URL-encoded values, e.g. x-api-key=abc123,x-team=ops.`
        ))
      }
      headers[name.toLowerCase()] = Redacted.make(value)
    }
    return Either.right(headers)
  }
)

const resourceAttributesConfig: Config.Config<Record<string, string>> = Config.map(
  Config.withDefault(Config.string("OTEL_RESOURCE_ATTRIBUTES"), ""),
  (text) => {
    const attributes: Record<string, string> = {}
    for (const pair of text.split(",")) {
      const at = pair.indexOf("=")
      if (at <= 0) continue
      try {
        attributes[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim())
      } catch {
        // The specification says to drop a pair that does not decode.
      }
    }
    return attributes
  }
)

const exporterConfig = (name: string): Config.Config<boolean> =>
  Config.map(Config.withDefault(Config.string(name), "otlp"), (value) => value.trim().toLowerCase() !== "none")
