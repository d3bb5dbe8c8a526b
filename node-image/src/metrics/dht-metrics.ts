import { Counter, Gauge } from 'prom-client'
import { PEER_RECORD_REJECTIONS } from '@meganet/contracts'
import { DHT_RECORD_KINDS } from '../dht/bounded-dht-store.js'
import type { BoundedDhtStore, DhtRecordKind } from '../dht/bounded-dht-store.js'
import type { Registry } from 'prom-client'

export const DHT_STREAM_REFUSALS = ['budget', 'oversized'] as const

/** `meganet_dht_*` bounds: records kept against their limits, and what was refused. */
export class DhtMetrics {
  readonly refused: Counter<'kind'>
  readonly streamsRefused: Counter<'reason'>
  /** Signed peer records thrown out: sent to be stored here, or received in a lookup. Forgeries show here. */
  readonly peerRecordsRejected: Counter<'reason'>
  readonly peerRecordsPublished: Counter<'result'>
  private store?: BoundedDhtStore

  constructor (registry: Registry, limits: { maxRecords: number, maxRecordsPerPeer: number }) {
    const registers = [registry]
    const count = (kind: DhtRecordKind): number => this.store?.count(kind) ?? 0
    new Gauge({
      name: 'meganet_dht_stored_records', help: 'DHT records this anchor keeps, by kind', labelNames: ['kind'], registers,
      collect () { for (const kind of DHT_RECORD_KINDS) this.set({ kind }, count(kind)) }
    })
    const limit = new Gauge({ name: 'meganet_dht_record_limit', help: 'DHT record limits: per kind in total, and per peer', labelNames: ['kind'], registers })
    limit.set({ kind: 'total' }, limits.maxRecords)
    for (const kind of DHT_RECORD_KINDS) limit.set({ kind: `${kind}_per_peer` }, limits.maxRecordsPerPeer)
    this.refused = new Counter({ name: 'meganet_dht_records_refused_total', help: 'DHT records refused at a limit, by kind', labelNames: ['kind'], registers })
    this.streamsRefused = new Counter({ name: 'meganet_dht_streams_refused_total', help: 'Inbound DHT streams refused (budget) or cut (too many bytes)', labelNames: ['reason'], registers })
    for (const kind of DHT_RECORD_KINDS) this.refused.inc({ kind }, 0)
    for (const reason of DHT_STREAM_REFUSALS) this.streamsRefused.inc({ reason }, 0)
    this.peerRecordsRejected = new Counter({
      name: 'meganet_dht_peer_records_rejected_total',
      help: 'Signed peer records refused (to store) or thrown out (from a lookup), by why: bad-signature and wrong-peer are forgeries',
      labelNames: ['reason'],
      registers
    })
    for (const reason of PEER_RECORD_REJECTIONS) this.peerRecordsRejected.inc({ reason }, 0)
    this.peerRecordsPublished = new Counter({
      name: 'meganet_dht_peer_records_published_total',
      help: 'Reserved peers\' signed records this anchor put into the DHT directory: stored on other anchors, or failed',
      labelNames: ['result'],
      registers
    })
    for (const result of ['stored', 'failed']) this.peerRecordsPublished.inc({ result }, 0)
  }

  bindStore (store: BoundedDhtStore): void {
    this.store = store
  }

  onRefused (kind: DhtRecordKind): void {
    this.refused.inc({ kind })
  }
}
