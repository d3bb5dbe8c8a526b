import { PEER_RECORD_QUORUM } from '@meganet/contracts'
import { checkPeerRecord, peerRecordKey } from './peer-records.js'
import type { VerifiedPeerRecord } from './peer-records.js'
import type { PeerRecordRejection } from '@meganet/contracts'

/** The events of kad-dht's `get` this reads: answers from anchors, and the final value. */
export type RecordQueryEvent = { name: 'PEER_RESPONSE', record?: { value: Uint8Array } } | { name: 'VALUE', value: Uint8Array } | { name: string }

export interface RecordDht {
  get: (key: Uint8Array, options: { signal: AbortSignal }) => AsyncIterable<RecordQueryEvent>
}

export interface FindPeerRecordOptions {
  readonly signal: AbortSignal
  /** Valid records to wait for before choosing (fewer when the walk ends first). */
  readonly quorum?: number
  /** This node's own stored copy, when it is a DHT server. */
  readonly local?: Uint8Array
  /** Called for each record that fails verification (a forgery, or a stale copy). */
  readonly onRejected?: (reason: PeerRecordRejection) => void
}

/**
 * Reads a peer's signed record from the DHT directory: walks towards the anchors closest to
 * its key until `quorum` of them gave a record that verifies against `peerId`, and returns the
 * newest. Anchors that answer with forged or stale records are outvoted by the signature, not
 * by numbers: a single valid record is enough once the walk has ended.
 */
export async function findPeerRecord (dht: RecordDht, peerId: string, options: FindPeerRecordOptions): Promise<VerifiedPeerRecord | undefined> {
  const quorum = options.quorum ?? PEER_RECORD_QUORUM
  let best: VerifiedPeerRecord | undefined
  let valid = 0
  const consider = async (bytes: Uint8Array): Promise<void> => {
    const checked = await checkPeerRecord(bytes, peerId)
    if (!checked.ok) {
      options.onRejected?.(checked.reason)
      return
    }
    valid++
    if (best == null || checked.record.seq > best.seq) best = checked.record
  }
  if (options.local != null) await consider(options.local)
  const controller = new AbortController()
  const signal = AbortSignal.any([options.signal, controller.signal])
  try {
    for await (const event of dht.get(peerRecordKey(peerId), { signal })) {
      if (event.name === 'PEER_RESPONSE' && 'record' in event && event.record != null) await consider(event.record.value)
      else if (event.name === 'VALUE' && 'value' in event) await consider(event.value)
      if (valid >= quorum) break
    }
  } catch {
    // A walk cut short (timeout, no peers) still returns what it found.
  } finally {
    controller.abort()
  }
  return best
}

/** How long a miss is remembered, and how many at most: a flood of lookups for made-up PeerIds walks the DHT once per PeerId per window. */
const MISS_TTL_MS = 1_000
const MAX_REMEMBERED_MISSES = 10_000

/**
 * An anchor's lookups in the DHT directory on behalf of its peers: lookups of the same PeerId at
 * once share one walk, and a miss is remembered for {@link MISS_TTL_MS}, so a flood of lookups
 * costs walks per distinct PeerId, not per request.
 */
export class SharedRecordLookups {
  private readonly find: (peerId: string) => Promise<VerifiedPeerRecord | undefined>
  private readonly inflight = new Map<string, Promise<VerifiedPeerRecord | undefined>>()
  private readonly misses = new Map<string, number>()

  constructor (find: (peerId: string) => Promise<VerifiedPeerRecord | undefined>) {
    this.find = find
  }

  async lookup (peerId: string, now = Date.now()): Promise<VerifiedPeerRecord | undefined> {
    const missedAt = this.misses.get(peerId)
    if (missedAt != null && now - missedAt < MISS_TTL_MS) return undefined
    const running = this.inflight.get(peerId)
    if (running != null) return await running
    const lookup = this.find(peerId).then(record => {
      if (record == null) this.rememberMiss(peerId)
      return record
    }).finally(() => { this.inflight.delete(peerId) })
    this.inflight.set(peerId, lookup)
    return await lookup
  }

  private rememberMiss (peerId: string): void {
    this.misses.delete(peerId)
    this.misses.set(peerId, Date.now())
    if (this.misses.size > MAX_REMEMBERED_MISSES) {
      const oldest = this.misses.keys().next().value
      if (oldest != null) this.misses.delete(oldest)
    }
  }
}
