/**
 * What is worked out once per value and kept as long as the value lives: a tool's codecs, an agent's
 * system prompt, a schema's decoder or JSON Schema, a team's index of its members. Each is pure in
 * its key and costs more to make than a lookup (a schema walk, a string built from instructions), and
 * agents, tools and schemas are immutable values made once and run many times.
 */

/** `f`, remembered per key for as long as the key lives. */
export const weak = <K extends object, V>(f: (key: K) => V): (key: K) => V => {
  const cache = new WeakMap<K, V>()
  return (key) => {
    let value = cache.get(key)
    if (value === undefined) {
      value = f(key)
      cache.set(key, value)
    }
    return value
  }
}
