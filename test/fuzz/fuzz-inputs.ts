import fc from 'fast-check'

/**
 * Inputs a hostile sender would try: random bytes, random JSON, and small mutations of valid
 * encodings (a flipped byte, a cut, an insertion, a field replaced by any JSON value), which
 * get past the first checks and reach the deeper ones.
 */

export const anyBytes = fc.uint8Array({ maxLength: 4096 })

export const anyJsonText = fc.json({ depthSize: 'medium' }).map(text => new TextEncoder().encode(text))

/** Byte-level mutations of `base`. */
export function mutatedBytes (base: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
      const copy = Uint8Array.from(base)
      const i = at % Math.max(1, copy.length)
      copy[i] = (copy[i] ?? 0) ^ xor
      return copy
    }),
    fc.nat().map(at => base.subarray(0, at % (base.length + 1))),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([at, extra]) => {
      const i = at % (base.length + 1)
      return Uint8Array.from([...base.subarray(0, i), ...extra, ...base.subarray(i)])
    })
  )
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Every path into a JSON value, so a mutation can reach any field at any depth. */
function paths (value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix]
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])))
  else if (value != null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]))
  return out
}

function setPath (value: Json, path: Array<string | number>, replacement: Json | undefined): Json {
  if (path.length === 0) return replacement ?? null
  const copy = structuredClone(value) as Record<string | number, Json>
  let node = copy
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>
  const last = path[path.length - 1] as string | number
  if (replacement === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1)
    else delete node[last]
  } else {
    node[last] = replacement
  }
  return copy
}

/** Structural mutations of a JSON value: a field replaced by any JSON value, removed, or a key added. */
export function mutatedJson (base: unknown): fc.Arbitrary<unknown> {
  const all = paths(base as Json)
  return fc.oneof(
    fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([at, replacement]) => setPath(base as Json, all[at % all.length] ?? [], replacement as Json)),
    fc.nat().map(at => setPath(base as Json, all[at % all.length] ?? [], undefined)),
    fc.tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })).map(([key, extra]) =>
      base != null && typeof base === 'object' && !Array.isArray(base) ? { ...base, [key]: extra } : base)
  )
}

/** Bytes of: anything, any JSON, or a near miss of one of the valid examples. */
export function hostileBytes (valid: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const near = valid.map(example => mutatedBytes(example))
  const nearJson = valid.flatMap(example => {
    try {
      const json: unknown = JSON.parse(new TextDecoder().decode(example))
      return [mutatedJson(json).map(value => new TextEncoder().encode(JSON.stringify(value) ?? 'null'))]
    } catch {
      return []
    }
  })
  return fc.oneof(anyBytes, anyJsonText, ...near, ...nearJson)
}
