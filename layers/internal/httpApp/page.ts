/**
 * The web chat page at `/`: static files (no build step), shipped in the package under
 * `layers/internal/httpApp/web/`, and the two libraries it renders with, `marked` (markdown) and
 * `dompurify` (sanitizing what marked makes), served from the package's own dependencies: nothing
 * comes from another origin, so the page works offline under a strict Content-Security-Policy (no
 * inline script or style, everything from the page's own origin).
 *
 * The files are read once, when the app starts. The page needs no token to load: it holds no data,
 * and asks for the token (kept in the tab's session storage) when the API answers 401.
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The page's Content-Security-Policy: its own origin only, no inline code, no frames, no forms. */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-cache"
} as const

/**
 * Where the static files are: beside this module when it runs from source, and in the package's
 * `layers/` folder (shipped as source) when it runs built, from `dist/layers/internal/httpApp/`.
 */
const webDirectory = (): string | undefined => {
  const here = Path.dirname(fileURLToPath(import.meta.url))
  const candidates = [Path.join(here, "web"), Path.join(here, "..", "..", "..", "..", "layers", "internal", "httpApp", "web")]
  return candidates.find((directory) => existsSync(Path.join(directory, "index.html")))
}

interface Asset {
  readonly route: string
  readonly contentType: string
  readonly file: () => string
}

const require = createRequire(import.meta.url)

const assets = (directory: string): ReadonlyArray<Asset> => [
  { route: "/", contentType: "text/html; charset=utf-8", file: () => Path.join(directory, "index.html") },
  { route: "/ui/app.js", contentType: "text/javascript; charset=utf-8", file: () => Path.join(directory, "app.js") },
  { route: "/ui/app.css", contentType: "text/css; charset=utf-8", file: () => Path.join(directory, "app.css") },
  { route: "/ui/icon.svg", contentType: "image/svg+xml", file: () => Path.join(directory, "icon.svg") },
  // marked's package main is its ES module build.
  { route: "/ui/marked.js", contentType: "text/javascript; charset=utf-8", file: () => require.resolve("marked") },
  // dompurify's main is its CommonJS build; its ES module build is beside it.
  {
    route: "/ui/purify.js",
    contentType: "text/javascript; charset=utf-8",
    file: () => Path.join(Path.dirname(require.resolve("dompurify")), "purify.es.mjs")
  }
]

/** Strips the source map comment: the maps are not served. */
const withoutSourceMap = (text: string) => text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n")

/** The routes of the page and its files, on the API's router. */
export const layer: Layer.Layer<never, never, HttpApiBuilder.Router> = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const directory = webDirectory()
    if (directory === undefined) {
      yield* Effect.logWarning("The web page's files were not found; the page at / is not served.")
      return
    }
    for (const asset of assets(directory)) {
      const loaded = yield* Effect.try(() => withoutSourceMap(readFileSync(asset.file(), "utf8"))).pipe(
        Effect.tapError((cause) => Effect.logWarning(`The web page's file for ${asset.route} could not be read`, cause)),
        Effect.option
      )
      if (loaded._tag === "None") continue
      const response = HttpServerResponse.text(loaded.value, {
        contentType: asset.contentType,
        headers: securityHeaders
      })
      yield* router.get(asset.route as "/", Effect.succeed(response))
    }
  })
)
