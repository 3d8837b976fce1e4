/**
 * The provider layers' settings, read from `Config`: a missing or malformed one is a `ConfigError`
 * whose message names its variable and says what to set it to. A key's value is never quoted (a
 * missing `Config.redacted` says only "<redacted>", which names nothing).
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** Visible ASCII only: what an `authorization` header can carry. */
const headerSafe = /^[\x21-\x7e]+$/

const checkKey = (
  name: string,
  what: string,
  key: Redacted.Redacted
): Either.Either<Redacted.Redacted, ConfigError.ConfigError> => {
  // Surrounding whitespace is a copy-and-paste accident, not part of any key.
  const value = Redacted.value(key).trim()
  if (value.length === 0) return Either.left(ConfigError.MissingData([name], `${name} is empty: set it to ${what}.`))
  if (!headerSafe.test(value)) {
    return Either.left(
      ConfigError.InvalidData(
        [name],
        `${name} contains spaces or control characters, which an HTTP header cannot carry: set it to ${what} alone.`
      )
    )
  }
  return Either.right(value === Redacted.value(key) ? key : Redacted.make(value))
}

/** A required API key; `what` says what it is, e.g. "your OpenAI API key". */
export const apiKey = (name: string, what: string): Config.Config<Redacted.Redacted> =>
  Config.mapOrFail(Config.option(Config.redacted(name)), (key) =>
    Option.isNone(key)
      ? Either.left(ConfigError.MissingData([name], `${name} is not set: set it to ${what}.`))
      : checkKey(name, what, key.value))

/** An optional API key: unset or blank is none. */
export const optionalApiKey = (name: string, what: string): Config.Config<Redacted.Redacted | undefined> =>
  Config.mapOrFail(Config.option(Config.redacted(name)), (key) =>
    Option.isNone(key) || Redacted.value(key.value).trim().length === 0
      ? Either.right(undefined)
      : checkKey(name, what, key.value))

const checkUrl = (name: string, example: string, text: string): Either.Either<string, ConfigError.ConfigError> => {
  const value = text.trim()
  let protocol = ""
  try {
    protocol = new URL(value).protocol
  } catch {
    // not a URL: reported below
  }
  // Not quoted: a URL may carry credentials.
  return protocol === "http:" || protocol === "https:"
    ? Either.right(value)
    : Either.left(
      ConfigError.InvalidData(
        [name],
        `${name} is not an http:// or https:// URL: set it to the API's base URL, e.g. ${example}.`
      )
    )
}

/** A required base URL: an http or https URL. */
export const baseUrl = (name: string, example: string): Config.Config<string> =>
  Config.mapOrFail(Config.option(Config.string(name)), (text) =>
    Option.isNone(text)
      ? Either.left(ConfigError.MissingData([name], `${name} is not set: set it to the API's base URL, e.g. ${example}.`))
      : checkUrl(name, example, text.value))

/** An optional base URL: unset or blank is none, else an http or https URL. */
export const optionalBaseUrl = (name: string, example: string): Config.Config<string | undefined> =>
  Config.mapOrFail(Config.option(Config.string(name)), (text) =>
    Option.isNone(text) || text.value.trim().length === 0
      ? Either.right(undefined)
      : checkUrl(name, example, text.value))

/**
 * A provider's key and base URL from the environment: `<ENV>_API_KEY` (required; `what` says what
 * it is) and `<ENV>_BASE_URL` (optional; `example` is the provider's own, named in messages).
 */
export const keyAndBaseUrl = (
  env: string,
  what: string,
  example: string
): Config.Config<{ readonly apiKey: Redacted.Redacted; readonly baseUrl: string | undefined }> =>
  Config.all({ apiKey: apiKey(`${env}_API_KEY`, what), baseUrl: optionalBaseUrl(`${env}_BASE_URL`, example) })
