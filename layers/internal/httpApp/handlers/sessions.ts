/** The handlers of the sessions, read from the `SessionStore`. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import * as SessionStore from "../../../../services/SessionStore.js"
import * as HttpApi from "../../../../src/HttpApi.js"

export const SessionsLive = HttpApiBuilder.group(HttpApi.Api, "sessions", (handlers) =>
  handlers
    .handle("list", ({ path }) => Effect.flatMap(SessionStore.SessionStore, (store) => store.list(path.userId)))
    .handle("runs", ({ path }) => Effect.flatMap(SessionStore.SessionStore, (store) => store.load(path))))
