import type { Multiaddr } from '@multiformats/multiaddr'

/** One peer's whole-DHT search for a newer record runs at most this often: a peer that is simply offline fails every dial. */
export const NEWER_RECORD_INTERVAL_MS = 10_000
/** Peers whose last search time is remembered; the oldest is forgotten first. */
const MAX_REMEMBERED = 1_024

/** A peer's newest signed record in the DHT, as the addresses this peer could dial. */
export interface NewestRecord { readonly seq: bigint, readonly multiaddrs: Multiaddr[] }

/**
 * A lookup can answer with a peer's old signed record: it stops at the first two valid copies,
 * and an anchor whose copy a newer put missed can make up that quorum with another stale one.
 * The relays an old record names may all be gone (their operator lost). When a dial to such an
 * answer fails, the whole DHT is asked for the newest record, at most once per peer per
 * {@link NEWER_RECORD_INTERVAL_MS}, and its addresses are used if it is newer than the one that failed.
 */
export class NewerRecords {
  private readonly newest: (peerId: string, signal: AbortSignal) => Promise<NewestRecord | undefined>
  private readonly searched = new Map<string, number>()

  constructor (newest: (peerId: string, signal: AbortSignal) => Promise<NewestRecord | undefined>) {
    this.newest = newest
  }

  /** Addresses from a record newer than `failedSeq`, or undefined (none, not newer, or searched too recently). */
  async after (peerId: string, failedSeq: bigint, signal: AbortSignal, now = Date.now()): Promise<Multiaddr[] | undefined> {
    const last = this.searched.get(peerId)
    if (last != null && now - last < NEWER_RECORD_INTERVAL_MS) return undefined
    this.searched.delete(peerId)
    this.searched.set(peerId, now)
    if (this.searched.size > MAX_REMEMBERED) this.searched.delete(this.searched.keys().next().value as string)
    const record = await this.newest(peerId, signal)
    if (record == null || record.seq <= failedSeq || record.multiaddrs.length === 0) return undefined
    return record.multiaddrs
  }
}
