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
