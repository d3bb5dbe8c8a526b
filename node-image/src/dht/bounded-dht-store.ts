import { AsyncLocalStorage } from 'node:async_hooks'
import { BaseDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { NotFoundError } from 'interface-store'
import type { KeyQuery, Pair, Query } from 'interface-datastore'

/** Where kad-dht keeps its records with the default `datastorePrefix`. */
const PROVIDER_PREFIX = '/dht/provider/'

export const DHT_RECORD_KINDS = ['provider', 'value'] as const
export type DhtRecordKind = (typeof DHT_RECORD_KINDS)[number]

/** A record refused because a limit is reached; kad-dht then fails the request (and closes its stream). */
export class DhtRecordLimitError extends Error {
  override readonly name = 'DhtRecordLimitError'
  readonly kind: DhtRecordKind
  constructor (kind: DhtRecordKind, message: string) {
    super(message)
    this.kind = kind
  }
}

export interface BoundedDhtStoreInit {
  /** Records of each kind kept at most. */
  readonly maxRecords: number
  /** Records of each kind one peer may have stored. */
  readonly maxRecordsPerPeer: number
  /** Peers the per-peer limit does not apply to (this anchor, its fellow anchors). */
  readonly unlimited: (peer: string) => boolean
  /** Called for every refused record (a metric). */
  readonly onRefused?: (kind: DhtRecordKind) => void
  /**
   * Whether a value record may replace the one stored under its key (both as kad-dht stores
   * them); e.g. a signed record never gives way to an older one. Default: always.
   */
  readonly replaces?: (stored: Uint8Array, incoming: Uint8Array) => boolean
  /**
   * Whether a stored value record is past its use (e.g. a signed record gone stale): kad-dht
   * deletes a value only when someone reads it long after, so {@link BoundedDhtStore.sweep}
   * removes these, on a timer and whenever the store is full.
   */
  readonly expired?: (stored: Uint8Array, now: number) => boolean
  /** Called for every value refused because a newer one is stored (a metric). */
  readonly onOutdated?: () => void
}

/** A value record refused because the one stored is newer. */
export class DhtRecordOutdatedError extends Error {
  override readonly name = 'DhtRecordOutdatedError'
}

/**
 * The DHT's datastore, bounded: provider records and value records each up to `maxRecords`,
 * and up to `maxRecordsPerPeer` from one peer (the provider, for provider records; the peer
 * whose request stored it, for value records, known from {@link BoundedDhtStore.runAs}). Past a
 * limit a put is refused, never evicting live records: what is stored stays until kad-dht
 * expires it on a late read, or {@link BoundedDhtStore.sweep} finds it past its use.
 * Provider records are indexed by CID, so a provider lookup costs the CID's records, not all.
 */
export class BoundedDhtStore extends BaseDatastore {
  private readonly init: BoundedDhtStoreInit
  private readonly requester = new AsyncLocalStorage<string>()
  /** Provider records by CID prefix (`/dht/provider/<cid>`), then by full key. */
  private readonly providers = new Map<string, Map<string, Uint8Array>>()
  private readonly values = new Map<string, { value: Uint8Array, owner?: string }>()
  private readonly counts = { provider: 0, value: 0 }
  private readonly perPeer = { provider: new Map<string, number>(), value: new Map<string, number>() }

  constructor (init: BoundedDhtStoreInit) {
    super()
    this.init = init
  }

  /** Runs `fn` (a DHT request handler) with `peer` as the requester whose records it stores. */
  async runAs<T> (peer: string, fn: () => Promise<T>): Promise<T> {
    return await this.requester.run(peer, fn)
  }

  /** Removes the value records `expired` says are past their use; returns how many. */
  sweep (now = Date.now()): number {
    const expired = this.init.expired
    if (expired == null) return 0
    let removed = 0
    for (const [key, entry] of this.values) {
      if (!expired(entry.value, now)) continue
      this.values.delete(key)
      this.release('value', entry.owner)
      removed++
    }
    return removed
  }

  count (kind: DhtRecordKind): number {
    return this.counts[kind]
  }

  override put (key: Key, value: Uint8Array): Key {
    const text = key.toString()
    if (text.startsWith(PROVIDER_PREFIX)) {
      const split = text.lastIndexOf('/')
      const cidPrefix = text.slice(0, split)
      let records = this.providers.get(cidPrefix)
      if (records?.has(text) !== true) this.admit('provider', text.slice(split + 1))
      if (records == null) this.providers.set(cidPrefix, records = new Map<string, Uint8Array>())
      records.set(text, value)
      return key
    }
    const existing = this.values.get(text)
    if (existing != null) {
      if (this.init.replaces != null && !this.init.replaces(existing.value, value)) {
        this.init.onOutdated?.()
        throw new DhtRecordOutdatedError(`a newer record is stored under ${text}`)
      }
      existing.value = value
      return key
    }
    const owner = this.requester.getStore()
    this.admit('value', owner)
    this.values.set(text, { value, ...(owner != null ? { owner } : {}) })
    return key
  }

  override get (key: Key): Uint8Array {
    const text = key.toString()
    const found = text.startsWith(PROVIDER_PREFIX)
      ? this.providers.get(text.slice(0, text.lastIndexOf('/')))?.get(text)
      : this.values.get(text)?.value
    if (found == null) throw new NotFoundError(`no DHT record ${text}`)
    return found
  }

  override has (key: Key): boolean {
    const text = key.toString()
    return text.startsWith(PROVIDER_PREFIX)
      ? this.providers.get(text.slice(0, text.lastIndexOf('/')))?.has(text) === true
      : this.values.has(text)
  }

  override delete (key: Key): void {
    const text = key.toString()
    if (text.startsWith(PROVIDER_PREFIX)) {
      const split = text.lastIndexOf('/')
      const cidPrefix = text.slice(0, split)
      const records = this.providers.get(cidPrefix)
      if (records?.delete(text) !== true) return
      if (records.size === 0) this.providers.delete(cidPrefix)
      this.release('provider', text.slice(split + 1))
      return
    }
    const existing = this.values.get(text)
    if (existing == null) return
    this.values.delete(text)
    this.release('value', existing.owner)
  }

  override * _all (q: Query): Generator<Pair> {
    for (const [key, value] of this.entries(q.prefix)) yield { key: new Key(key), value }
  }

  override * _allKeys (q: KeyQuery): Generator<Key> {
    for (const [key] of this.entries(q.prefix)) yield new Key(key)
  }

  private * entries (prefix?: string): Generator<[string, Uint8Array]> {
    if (prefix?.startsWith(PROVIDER_PREFIX) === true && prefix.length > PROVIDER_PREFIX.length && !prefix.slice(PROVIDER_PREFIX.length).includes('/')) {
      // kad-dht asks for one CID's providers with the prefix `/dht/provider/<cid>`.
      const records: Map<string, Uint8Array> = this.providers.get(prefix) ?? new Map<string, Uint8Array>()
      yield * records
      return
    }
    if (prefix == null || prefix.startsWith(PROVIDER_PREFIX) || PROVIDER_PREFIX.startsWith(prefix)) {
      for (const records of this.providers.values()) yield * records
    }
    if (prefix == null || !prefix.startsWith(PROVIDER_PREFIX)) {
      for (const [key, entry] of this.values) yield [key, entry.value]
    }
  }

  private admit (kind: DhtRecordKind, peer: string | undefined): void {
    if (kind === 'value' && this.counts.value >= this.init.maxRecords) this.sweep()
    if (this.counts[kind] >= this.init.maxRecords) {
      this.init.onRefused?.(kind)
      throw new DhtRecordLimitError(kind, `this anchor keeps at most ${this.init.maxRecords} ${kind} records`)
    }
    if (peer != null && !this.init.unlimited(peer)) {
      const held = this.perPeer[kind].get(peer) ?? 0
      if (held >= this.init.maxRecordsPerPeer) {
        this.init.onRefused?.(kind)
        throw new DhtRecordLimitError(kind, `peer ${peer} has ${held} ${kind} records here; the limit is ${this.init.maxRecordsPerPeer}`)
      }
      this.perPeer[kind].set(peer, held + 1)
    }
    this.counts[kind]++
  }

  private release (kind: DhtRecordKind, peer: string | undefined): void {
    this.counts[kind]--
    if (peer == null) return
    const held = (this.perPeer[kind].get(peer) ?? 0) - 1
    if (held <= 0) this.perPeer[kind].delete(peer)
    else this.perPeer[kind].set(peer, held)
  }
}
