import { BootstrapListError, fetchSignedBootstrapList, verifyBootstrapList, verifyPeeredFleets } from '../bootstrap/signed-list.js'
import type { BootstrapList } from '@meganet/contracts'

/**
 * Where a peer keeps the last bootstrap list it verified, so it can find the network again when
 * the anchors (or the whole operator) it joined through are gone: a file for Node peers
 * ({@link fileBootstrapCache}), `localStorage` for pages ({@link storageBootstrapCache}), or the app's own.
 */
export interface BootstrapCache {
  load: () => Promise<string | undefined>
  save: (text: string) => Promise<void>
}

/** A cache in Web Storage (`localStorage` in pages). */
export function storageBootstrapCache (storage: Pick<Storage, 'getItem' | 'setItem'>, key = 'meganet:bootstrap'): BootstrapCache {
  return {
    load: async () => await Promise.resolve(storage.getItem(key) ?? undefined),
    save: async text => { storage.setItem(key, text); await Promise.resolve() }
  }
}

/** One fleet's anchors, each as its multiaddrs. */
export type FleetAnchors = ReadonlyArray<readonly string[]>

/** The anchors a peer knows of: its own fleet's, and those of the fleets its fleet peers with. */
export interface KnownFleets {
  readonly anchors: string[]
  /** Each peered fleet's anchors: where the peer goes, a few at a time, when every anchor of its own fleet is gone. */
  readonly fallback: FleetAnchors[]
}

/**
 * Fetches and verifies the signed list at `url` against `trusted` and keeps it in `cache`; when
 * the fetch fails, uses the cached list, verified again (so an expired one is refused). Peered
 * fleets' lists inside are verified against the pins the list gives.
 */
export async function knownFleets (url: string, trusted: readonly string[], cache?: BootstrapCache): Promise<KnownFleets> {
  const cached = await readCache(cache, url)
  let list: BootstrapList
  try {
    // With a kept list to start from, a failed fetch is not worth waiting on.
    const fetched = await fetchWithRetries(url, trusted, cached == null ? FETCH_RETRY_DELAYS_MS : [])
    list = fetched.list
    await cache?.save(JSON.stringify({ url, signed: fetched.signed })).catch(() => {})
  } catch (err) {
    if (cached == null) throw err
    try {
      list = await verifyBootstrapList(cached, trusted)
    } catch (cacheErr) {
      throw new BootstrapListError(`${(err as Error).message}; the list kept from before is no good either: ${(cacheErr as Error).message}`, { cause: err })
    }
  }
  const peered = await verifyPeeredFleets(list)
  return {
    anchors: list.anchors.flatMap(a => a.multiaddrs),
    fallback: peered.map(p => p.list.anchors.map(a => a.multiaddrs))
  }
}

/** Waits before each retry of a list fetch that failed on the network (not one that answered wrong). */
const FETCH_RETRY_DELAYS_MS = [500, 2_000]

/**
 * A connection reset or refused while an anchor is busy or restarting is worth a second try; a
 * list that answered and failed to verify is not. Network errors name their cause (`fetch
 * failed` alone says nothing).
 */
async function fetchWithRetries (url: string, trusted: readonly string[], delaysMs: readonly number[]): Promise<Awaited<ReturnType<typeof fetchSignedBootstrapList>>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetchSignedBootstrapList(url, trusted)
    } catch (err) {
      if (err instanceof BootstrapListError) throw err
      const delay = delaysMs[attempt]
      if (delay == null) throw new BootstrapListError(`could not fetch the bootstrap list ${url}${attempt > 0 ? ` (${attempt + 1} tries)` : ''}: ${networkReason(err)}`, { cause: err })
      await new Promise(resolve => setTimeout(resolve, delay))
    }
  }
}

function networkReason (err: unknown): string {
  const cause = (err as { cause?: { code?: unknown, message?: unknown } }).cause
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined
  return `${(err as Error).message}${detail != null ? ` (${detail})` : ''}`
}

async function readCache (cache: BootstrapCache | undefined, url: string): Promise<unknown> {
  const text = await cache?.load().catch(() => undefined)
  if (text == null) return undefined
  try {
    const parsed = JSON.parse(text) as { url?: unknown, signed?: unknown }
    return parsed.url === url ? parsed.signed : undefined
  } catch {
    return undefined
  }
}
