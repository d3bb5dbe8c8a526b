import { PEER_DIRECTORY_BUCKET, decodePayload, directoryEntrySchema, encodePayload } from '@meganet/contracts'
import type { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import type { DirectoryEntry, FleetScope } from '@meganet/contracts'
import type { KV } from '@nats-io/kv'

/**
 * The cross-fleet peer directory: PeerId → the anchor holding that peer's reservation. Entries
 * expire with the bucket's TTL (at least a reservation's lifetime) and are deleted when the
 * reservation ends; a lookup never trusts an entry past its own `expiresAt`.
 */
export class PeerDirectory {
  private readonly kv: KV
  private readonly anchor: string
  private readonly scope: FleetScope
  private readonly metrics: CoordinationMetrics

  constructor (kv: KV, anchor: string, scope: FleetScope, metrics: CoordinationMetrics) {
    this.kv = kv
    this.anchor = anchor
    this.scope = scope
    this.metrics = metrics
  }

  static readonly bucket = PEER_DIRECTORY_BUCKET

  async record (peerId: string, multiaddrs: readonly string[], ttlMs: number): Promise<void> {
    const now = Date.now()
    const entry: DirectoryEntry = {
      schema: 1, peerId, anchor: this.anchor, region: this.scope.region, fleet: this.scope.fleet,
      multiaddrs: [...multiaddrs], updatedAt: now, expiresAt: now + ttlMs
    }
    try {
      await this.kv.put(peerId, encodePayload(entry))
    } catch (err) {
      this.metrics.kvErrors.inc({ op: 'directory_put' })
      throw err
    }
  }

  /** Removes the entry if it is still ours: the peer may have reserved elsewhere meanwhile. */
  async remove (peerId: string): Promise<void> {
    try {
      const current = await this.kv.get(peerId)
      if (current == null || current.operation !== 'PUT') return
      const decoded = decodePayload(directoryEntrySchema, current.value)
      if (decoded.ok && decoded.value.anchor !== this.anchor) return
      await this.kv.delete(peerId, { previousSeq: current.revision })
    } catch (err) {
      this.metrics.kvErrors.inc({ op: 'directory_delete' })
      throw err
    }
  }

  async lookup (peerId: string, now = Date.now()): Promise<DirectoryEntry | undefined> {
    let entry
    try {
      entry = await this.kv.get(peerId)
    } catch (err) {
      this.metrics.kvErrors.inc({ op: 'directory_get' })
      throw err
    }
    if (entry == null || entry.operation !== 'PUT') return undefined
    const decoded = decodePayload(directoryEntrySchema, entry.value)
    if (!decoded.ok) {
      this.metrics.rejected.inc({ source: 'directory', reason: decoded.reason })
      return undefined
    }
    if (decoded.value.peerId !== peerId || decoded.value.expiresAt < now) return undefined
    return decoded.value
  }
}
