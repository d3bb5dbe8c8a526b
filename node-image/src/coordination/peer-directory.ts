import { jetstreamManager } from '@nats-io/jetstream'
import { PEER_DIRECTORY_BUCKET, directoryKey, encodePayload } from '@meganet/contracts'
import { signDirectoryEntry, verifyDirectoryEntry } from '@meganet/fleet-client'
import type { SigningKey } from '@meganet/fleet-client'
import type { CoordinationMetrics } from '../metrics/coordination-metrics.js'
import type { DirectoryEntry, FleetScope } from '@meganet/contracts'
import type { JetStreamManager } from '@nats-io/jetstream'
import type { KV } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/nats-core'

/** Entries for one peer read per lookup at most: one per anchor it holds a reservation on. */
const MAX_ENTRIES_PER_PEER = 16

export interface PeerDirectoryInit {
  /** This anchor's PeerId: it writes entries under `<peer>.<anchor>` only. */
  readonly anchor: string
  readonly scope: FleetScope
}

export interface PeerDirectoryComponents {
  readonly nc: NatsConnection
  readonly kv: KV
  /** Signs entries: the anchor's own key. */
  readonly key: SigningKey
  /** True when `anchor` is a live, serving member of its fleet, by its own signed record. */
  readonly isLiveAnchor: (anchor: string, scope: FleetScope) => Promise<boolean>
  readonly metrics: CoordinationMetrics
}

/**
 * The cross-fleet peer directory: PeerId → the anchors holding that peer's reservations. Each
 * anchor writes its own entries, signed with its key, under `<peer>.<anchor>` (so NATS
 * permissions can confine an anchor to its own keys). A lookup believes an entry only when its
 * signature, key and addresses check out and its anchor is a live member of the fleet it names;
 * the newest such entry wins. Entries expire with the bucket's TTL and by their own `expiresAt`.
 */
export class PeerDirectory {
  private readonly init: PeerDirectoryInit
  private readonly components: PeerDirectoryComponents
  private jsm?: Promise<JetStreamManager>
  private directGet = true

  constructor (init: PeerDirectoryInit, components: PeerDirectoryComponents) {
    this.init = init
    this.components = components
  }

  static readonly bucket = PEER_DIRECTORY_BUCKET

  async record (peerId: string, multiaddrs: readonly string[], ttlMs: number): Promise<void> {
    const now = Date.now()
    const entry: DirectoryEntry = {
      schema: 1, peerId, anchor: this.init.anchor, region: this.init.scope.region, fleet: this.init.scope.fleet,
      multiaddrs: [...multiaddrs], updatedAt: now, expiresAt: now + ttlMs
    }
    try {
      await this.components.kv.put(directoryKey(peerId, this.init.anchor), encodePayload(await signDirectoryEntry(this.components.key, entry)))
    } catch (err) {
      this.components.metrics.kvErrors.inc({ op: 'directory_put' })
      throw err
    }
  }

  /** Removes this anchor's entry for the peer (other anchors' entries are theirs). */
  async remove (peerId: string): Promise<void> {
    try {
      await this.components.kv.delete(directoryKey(peerId, this.init.anchor))
    } catch (err) {
      this.components.metrics.kvErrors.inc({ op: 'directory_delete' })
      throw err
    }
  }

  async lookup (peerId: string, now = Date.now()): Promise<DirectoryEntry | undefined> {
    let raw: Array<{ key: string, value: Uint8Array }>
    try {
      raw = await this.entriesOf(peerId)
    } catch (err) {
      this.components.metrics.kvErrors.inc({ op: 'directory_get' })
      throw err
    }
    let best: DirectoryEntry | undefined
    for (const { key, value } of raw) {
      const verified = verifyDirectoryEntry(value, { key, now })
      if (!verified.ok) {
        if (verified.reason !== 'stale') this.components.metrics.rejected.inc({ source: 'directory', reason: verified.reason })
        continue
      }
      const entry = verified.value
      if (entry.peerId !== peerId || (best != null && best.updatedAt >= entry.updatedAt)) continue
      if (!(await this.components.isLiveAnchor(entry.anchor, { region: entry.region, fleet: entry.fleet }))) {
        this.components.metrics.rejected.inc({ source: 'directory', reason: 'untrusted' })
        continue
      }
      best = entry
    }
    return best
  }

  /** The latest value under every `<peer>.*` key: one batched direct get (NATS ≥ 2.11), else key by key. */
  private async entriesOf (peerId: string): Promise<Array<{ key: string, value: Uint8Array }>> {
    const prefix = `$KV.${PEER_DIRECTORY_BUCKET}.`
    if (this.directGet) {
      try {
        this.jsm ??= jetstreamManager(this.components.nc)
        const messages = await (await this.jsm).direct.getLastMessagesFor(`KV_${PEER_DIRECTORY_BUCKET}`, { multi_last: [`${prefix}${peerId}.*`], batch: MAX_ENTRIES_PER_PEER })
        const entries: Array<{ key: string, value: Uint8Array }> = []
        for await (const message of messages) {
          const operation = message.header?.get('KV-Operation')
          if (operation === 'DEL' || operation === 'PURGE' || message.data.byteLength === 0) continue
          entries.push({ key: message.subject.slice(prefix.length), value: message.data })
        }
        return entries
      } catch (err) {
        // No messages for the peer is an answer, not a failure.
        if (/no results|not found|404/i.test((err as Error).message)) return []
        if (!/unknown|not supported|invalid|400/i.test((err as Error).message)) throw err
        this.directGet = false
      }
    }
    const entries: Array<{ key: string, value: Uint8Array }> = []
    for await (const key of await this.components.kv.keys(`${peerId}.*`)) {
      if (entries.length >= MAX_ENTRIES_PER_PEER) break
      const entry = await this.components.kv.get(key)
      if (entry?.operation === 'PUT') entries.push({ key, value: entry.value })
    }
    return entries
  }
}
