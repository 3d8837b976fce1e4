/**
 * `Activity.make` with the exit schema of an activity built once per pair of success and error
 * schemas. The engine decodes each activity's result with the activity's `exitSchema`, and
 * `effect/Schema` compiles (and keeps) a parser per schema object: `Activity.make` builds a new
 * `ExitFromSelf` for each activity, so every model call, tool call and step of a durable run
 * compiled its decoder again. Measured on this machine: decoding a tool call's exit with a schema
 * built for the call took 1.3–2.2 ms, with a kept one 0.12–0.19 ms. The schemas are weakly held: a
 * schema made for one call is collected with it (and gains nothing: pass schemas made once).
 */
import * as Activity from "@effect/workflow/Activity"
import * as Schema from "effect/Schema"

const exits = new WeakMap<object, WeakMap<object, Schema.Schema.Any>>()

const exitOf = (success: Schema.Schema.Any, error: Schema.Schema.All): Schema.Schema.Any => {
  let byError = exits.get(success)
  if (byError === undefined) {
    byError = new WeakMap()
    exits.set(success, byError)
  }
  let exit = byError.get(error)
  if (exit === undefined) {
    exit = Schema.ExitFromSelf({ success, failure: error, defect: Schema.Defect })
    byError.set(error, exit)
  }
  return exit
}

/** `Activity.make`, whose activity decodes its result with the exit schema kept for its schemas. */
export const make: typeof Activity.make = (options) => {
  const activity = Activity.make(options)
  // The engine reads `exitSchema` from the activity when its result comes back; `Activity.make`
  // gives a plain object, whose property this replaces with the kept schema of the same shape.
  ;(activity as { exitSchema: unknown }).exitSchema = exitOf(activity.successSchema, activity.errorSchema)
  return activity
}
