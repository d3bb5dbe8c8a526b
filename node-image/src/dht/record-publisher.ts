import { MAX_PEER_RECORD_AGE_MS } from '@meganet/contracts'
import { checkPeerRecord, peerRecordKey } from './peer-records.js'
import type { Logger } from '../logging/logger.js'
import type { VerifiedPeerRecord } from './peer-records.js'
import type { IdentifyResult, PeerId, PeerStore } from '@libp2p/interface'

/** What the publisher needs of the anchor's libp2p node. */
export interface PublisherNode {
  readonly peerId: PeerId
  readonly peerStore: Pick<PeerStore, 'get'>
  getConnections: (peer: PeerId) => Array<{ readonly limits?: unknown }>
  readonly services: {
    readonly dht: { put: (key: Uint8Array, value: Uint8Array, options: { signal: AbortSignal }) => AsyncIterable<{ name: string, messageName?: string, error?: unknown }> }
    readonly identify: { identify: (connection: never, options?: { signal?: AbortSignal }) => Promise<IdentifyResult> }
  }
  addEventListener: (type: 'peer:identify', listener: (event: CustomEvent<IdentifyResult>) => void) => void
  removeEventListener: (type: 'peer:identify', listener: (event: CustomEvent<IdentifyResult>) => void) => void
}

/**
 * Just after a reservation the peer has not yet taken its circuit address (and then pushes it
 * after a debounce): it is asked to identify at these delays until its record names one.
 */
const ASK_AFTER_RESERVATION_MS = [100, 400, 1_200] as const
/** One peer's record is put at most this often (each identify push may carry a new one). */
const MIN_PUT_INTERVAL_MS = 10_000
/** Otherwise a peer is asked at most this often (a record half-way to stale). */
const ASK_AGAIN_AFTER_MS = 60_000
/**
 * A put no other anchor took (a fleet of one, or a DHT not yet warm after a restart) is tried
 * again after this, doubling up to half the refresh interval; not at each identify, which in a
 * fleet of one would put every record again at every push.
 */
const FAILED_PUT_RETRY_MS = 60_000
/** How often the refresh loop looks for records due (at most; a quarter of the refresh interval if shorter). */
const REFRESH_TICK_MS = 30_000

/** What was last put for one reserved peer. */
interface Published {
  readonly peer: PeerId
  /** The record's sequence number; undefined forces the next put. */
  readonly seq?: bigint
  /** Its addresses, sorted: a newer record naming the same ones waits for the refresh. */
  readonly addresses?: string
  readonly at: number
  /** Puts in a row that no other anchor took. */
  readonly failures: number
}

const addressesOf = (record: VerifiedPeerRecord): string => record.multiaddrs.map(a => a.toString()).sort().join(' ')

export interface RecordPublisherInit {
  /** Re-publish each reserved peer's record this often (anchors that restarted lost theirs). */
  readonly refreshMs: number
  /** DHT puts in flight at once: a reconnect storm queues rather than floods the DHT. */
  readonly concurrency: number
  /** How long one put (a walk to the closest anchors, then a store on each) may take. */
  readonly timeoutMs: number
}

export interface RecordPublisherComponents {
  readonly node: PublisherNode
  /** Whether the peer holds a reservation on this anchor now. */
  readonly isReserved: (peer: PeerId) => boolean
  readonly onPublished: (result: 'stored' | 'failed') => void
  readonly log: Logger
}

/**
 * Puts the signed records of the peers reserved on this anchor into the DHT directory, so any
 * operator's anchors and peers can find them without NATS. The record is the peer's own (it
 * signs one in every identify; go-libp2p peers too), so this anchor only carries it: it is
 * published once it names a circuit address through this anchor, again when the peer signs one
 * naming other addresses, and every `refreshMs` while the reservation lasts (the latest then).
 */
export class RecordPublisher {
  private readonly init: RecordPublisherInit
  private readonly components: RecordPublisherComponents
  private readonly published = new Map<string, Published>()
  private readonly queue = new Map<string, PeerId>()
  /** Peers with a put running, and those of them due another once it is done (never two puts of one peer at once). */
  private readonly publishing = new Set<string>()
  private readonly again = new Set<string>()
  /** Puts held back by {@link MIN_PUT_INTERVAL_MS}, by peer. */
  private readonly later = new Map<string, ReturnType<typeof setTimeout>>()
  /** When each peer was last asked to renew its record: its answer schedules a publish, which must not ask again at once. */
  private readonly asked = new Map<string, number>()
  private running = 0
  private timer?: ReturnType<typeof setInterval>
  private readonly controller = new AbortController()
  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => { this.schedule(event.detail.peerId) }

  constructor (init: RecordPublisherInit, components: RecordPublisherComponents) {
    this.init = init
    this.components = components
  }

  start (): void {
    this.components.node.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { this.refresh() }, Math.max(1_000, Math.min(REFRESH_TICK_MS, Math.round(this.init.refreshMs / 4))))
    this.timer.unref?.()
  }

  stop (): void {
    this.components.node.removeEventListener('peer:identify', this.onIdentify)
    clearInterval(this.timer)
    for (const timer of this.later.values()) clearTimeout(timer)
    this.later.clear()
    this.controller.abort()
    this.queue.clear()
  }

  /** A peer reserved here: publish its record, and ask it for one that names this anchor until it does. */
  reserved (peer: PeerId): void {
    this.schedule(peer)
    // A renewal: its record is in hand already.
    if (this.published.get(peer.toString())?.seq != null) return
    for (const delay of ASK_AFTER_RESERVATION_MS) {
      const timer = setTimeout(() => { void this.askIfUnpublished(peer) }, delay)
      timer.unref?.()
    }
  }

  private async askIfUnpublished (peer: PeerId): Promise<void> {
    if (this.controller.signal.aborted || this.published.get(peer.toString())?.seq != null || !this.components.isReserved(peer)) return
    if ((await this.currentRecord(peer)) == null) await this.reidentify(peer)
    else this.schedule(peer)
  }

  /** A peer identified again (its record may be new), or due for a refresh: publish its record if it is newer than the last. */
  schedule (peer: PeerId): void {
    if (this.controller.signal.aborted || !this.components.isReserved(peer)) return
    this.queue.set(peer.toString(), peer)
    this.pump()
  }

  released (peer: PeerId): void {
    clearTimeout(this.later.get(peer.toString()))
    this.later.delete(peer.toString())
    this.published.delete(peer.toString())
    this.asked.delete(peer.toString())
    this.queue.delete(peer.toString())
    this.again.delete(peer.toString())
  }

  /** Records put `refreshMs` ago or more are put again, whether or not they changed; failed puts after their backoff. */
  private refresh (): void {
    const now = Date.now()
    for (const [id, entry] of this.published) {
      if (now - entry.at < this.dueAfter(entry)) continue
      this.published.set(id, { peer: entry.peer, at: entry.at, failures: entry.failures })
      this.schedule(entry.peer)
    }
  }

  private dueAfter (entry: Published): number {
    if (entry.failures === 0) return this.init.refreshMs
    return Math.min(FAILED_PUT_RETRY_MS * 2 ** (entry.failures - 1), this.init.refreshMs / 2)
  }

  private pump (): void {
    while (this.running < this.init.concurrency && this.queue.size > 0) {
      const [id, peer] = this.queue.entries().next().value as [string, PeerId]
      this.queue.delete(id)
      if (this.publishing.has(id)) { this.again.add(id); continue }
      this.publishing.add(id)
      this.running++
      void this.publish(peer).finally(() => {
        this.running--
        this.publishing.delete(id)
        if (this.again.delete(id)) this.schedule(peer)
        this.pump()
      })
    }
  }

  private async publish (peer: PeerId): Promise<void> {
    const id = peer.toString()
    if (!this.components.isReserved(peer)) { this.released(peer); return }
    let record = await this.currentRecord(peer)
    // A record half-way to stale is renewed: js-libp2p peers sign a fresh one when asked to identify.
    if (record != null && Date.now() - record.signedAt > MAX_PEER_RECORD_AGE_MS / 2 && this.mayAsk(id)) record = await this.reidentify(peer) ?? record
    const last = this.published.get(id)
    if (record == null) {
      // A forced refresh that found no record naming this anchor: tried again after a backoff, not at every tick.
      if (last != null && last.seq == null) this.published.set(id, { ...last, at: Date.now(), failures: last.failures + 1 })
      return
    }
    if (last?.seq != null && last.seq >= record.seq) return
    // Signed anew over the same addresses (a peer whose signed record outlived its cache, a client
    // that signs one per message): nothing new for a lookup, and the refresh puts the latest.
    const addresses = addressesOf(record)
    if (last?.seq != null && last.addresses === addresses) return
    // A peer that signs new records all the time gets one put per interval: the latest, once it is up.
    if (last?.seq != null && Date.now() - last.at < MIN_PUT_INTERVAL_MS) {
      if (!this.later.has(id)) {
        const timer = setTimeout(() => { this.later.delete(id); this.schedule(peer) }, last.at + MIN_PUT_INTERVAL_MS - Date.now())
        timer.unref?.()
        this.later.set(id, timer)
      }
      return
    }
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.timeoutMs)])
    let stored = 0
    try {
      // Anchors that took the record: answers to the PUT_VALUE itself (the walk before it answers too), less those kad-dht found wrong.
      for await (const event of this.components.node.services.dht.put(peerRecordKey(id), record.bytes, { signal })) {
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored++
        else if (event.name === 'QUERY_ERROR' && /not put correctly/.test(String((event.error as Error | undefined)?.message))) stored--
      }
    } catch (err) {
      this.components.log.debug({ peer: id, err: (err as Error).message }, 'could not publish the peer record')
    }
    if (!this.components.isReserved(peer)) return
    // A put that reached no other anchor (stored here only) is tried again after its backoff (see refresh).
    this.published.set(id, { peer, seq: record.seq, addresses, at: Date.now(), failures: stored > 0 ? 0 : (last?.failures ?? 0) + 1 })
    this.components.onPublished(stored > 0 ? 'stored' : 'failed')
  }

  private mayAsk (id: string): boolean {
    const now = Date.now()
    if (now - (this.asked.get(id) ?? 0) < ASK_AGAIN_AFTER_MS) return false
    this.asked.set(id, now)
    return true
  }

  /** The peer's latest signed record, if it names a circuit address through this anchor. */
  private async currentRecord (peer: PeerId): Promise<VerifiedPeerRecord | undefined> {
    let envelope: Uint8Array | undefined
    try {
      envelope = (await this.components.node.peerStore.get(peer)).peerRecordEnvelope
    } catch {
      return undefined
    }
    if (envelope == null) return undefined
    const checked = await checkPeerRecord(envelope, peer.toString())
    if (!checked.ok) return undefined
    const through = `/p2p/${this.components.node.peerId.toString()}/p2p-circuit`
    return checked.record.multiaddrs.some(a => a.toString().includes(through)) ? checked.record : undefined
  }

  private async reidentify (peer: PeerId): Promise<VerifiedPeerRecord | undefined> {
    const connection = this.components.node.getConnections(peer).find(c => c.limits == null)
    if (connection == null) return undefined
    try {
      await this.components.node.services.identify.identify(connection as never, { signal: AbortSignal.timeout(this.init.timeoutMs) })
    } catch {
      return undefined
    }
    return await this.currentRecord(peer)
  }
}
