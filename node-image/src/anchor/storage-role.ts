import { PROTOCOLS } from '@meganet/contracts'
import { TypedEventEmitter } from 'main-event'
import { StorageMetrics } from '../metrics/storage-metrics.js'
import { Blockstore } from '../storage/blockstore.js'
import { PeerLimits } from '../storage/peer-limits.js'
import { ProvideQueue, isAnnounced } from '../storage/provide-queue.js'
import { Replicator } from '../storage/replicator.js'
import { StoreService } from '../storage/store-service.js'
import type { AnchorConfig } from '../config/anchor-config.js'
import type { Logger } from '../logging/logger.js'
import type { InflightMetrics } from '../metrics/inflight-metrics.js'
import type { RepairReport } from '../storage/replicator.js'
import type { StorageFleet } from '../storage/storage-fleet.js'
import type { Libp2p } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export type StorageSettings = AnchorConfig['storage']

export interface StorageRoleInit {
  readonly dataDir: string
  readonly storage: StorageSettings
}

export interface StorageRoleComponents {
  readonly node: Libp2p
  /** Storage membership as placement sees it now. */
  readonly fleet: StorageFleet
  readonly registry: Registry
  /** Where the store's in-flight memory budget is reported. */
  readonly inflight?: InflightMetrics
  readonly log: Logger
}

export interface StorageStatus {
  readonly blocks: number
  readonly storedBytes: number
  readonly capacityBytes: number
  readonly underReplicated: number
  readonly repairQueue: number
  /** Leases (pins) held on the blocks stored here. */
  readonly leases: number
}

/** Store streams one connection may have open at once: enough to pipeline, not to hoard. */
const MAX_STORE_STREAMS_PER_CONNECTION = 8

export interface StorageRoleEvents {
  /** After every repair round: while draining, the hand-off's progress. */
  round: CustomEvent<RepairReport>
}

/**
 * The anchor's storage role: the blockstore, the store protocol, repair and garbage collection,
 * and announcing stored blocks in the DHT. While draining, peers' puts are refused and the
 * blocks are handed to the anchors that take them; `blocksLeft` counts what is not yet placed.
 */
export class StorageRole extends TypedEventEmitter<StorageRoleEvents> {
  readonly store: Blockstore
  private readonly node: Libp2p
  private readonly service: StoreService
  private readonly replicator: Replicator
  private readonly provider: ProvideQueue
  private draining = false

  private constructor (store: Blockstore, init: StorageRoleInit, components: StorageRoleComponents) {
    super()
    const settings = init.storage
    this.store = store
    this.node = components.node
    const metrics = new StorageMetrics(components.registry, {
      storedBytes: () => store.usedBytes,
      blocks: () => store.blockCount,
      capacityBytes: () => store.capacityBytes,
      repairQueue: () => this.replicator.repairQueue,
      underReplicated: () => this.replicator.lastReport.underReplicated,
      drainBlocksLeft: () => this.draining ? this.blocksLeft : 0
    })
    this.service = new StoreService(components.node, store, components.fleet,
      new PeerLimits({
        bytesPerSecond: settings.peerRate,
        bytesPerDay: settings.peerQuota,
        networkBytesPerSecond: settings.prefixRate,
        networkBytesPerDay: settings.prefixQuota,
        // What one network may hold through this anchor: its share of the capacity, over R because
        // each block it puts lands on R anchors (so using every anchor as entry gets it no more).
        networkHeldBytes: Math.floor(settings.capacity * settings.prefixShare / settings.replication),
        heldWindowMs: settings.gcGrace,
        leaseBytes: settings.peerLeaseQuota
      }),
      metrics, {
        replication: settings.replication,
        writeQuorum: settings.writeQuorum,
        leaseTtlMs: settings.leaseTtl,
        maxInflightBytes: settings.maxInflight,
        grantKeys: settings.grantKeys
      }, components.log, components.inflight)
    this.replicator = new Replicator(components.node, store, this.service, components.fleet, metrics, {
      replication: settings.replication,
      repairIntervalMs: settings.repairInterval,
      gcIntervalMs: settings.gcInterval,
      gcGraceMs: settings.gcGrace
    }, components.log)
    this.provider = new ProvideQueue({ contentRouting: components.node.contentRouting, log: components.log })
    this.service.addEventListener('stored', event => { if (isAnnounced(event.detail)) this.provider.push(event.detail) })
    this.replicator.addEventListener('round', event => { this.safeDispatchEvent('round', { detail: event.detail }) })
  }

  static async open (init: StorageRoleInit, components: StorageRoleComponents): Promise<StorageRole> {
    const store = await Blockstore.open(init.dataDir, init.storage.capacity, { legacyOwner: components.fleet.self, legacyLeaseMs: init.storage.leaseTtl })
    return new StorageRole(store, init, components)
  }

  /** Local blocks not yet confirmed on every one of their anchors. */
  get blocksLeft (): number {
    return this.replicator.lastReport.unconfirmed
  }

  /** Serves the store protocol and starts repair and collection rounds. */
  async start (): Promise<void> {
    const service = this.service
    await this.node.handle(PROTOCOLS.store, async (stream, connection) => { await service.handle(stream, connection) },
      { maxInboundStreams: MAX_STORE_STREAMS_PER_CONNECTION })
    this.replicator.start()
  }

  async stop (): Promise<void> {
    this.replicator.stop()
    await this.provider.stop()
  }

  /** Refuses peers' puts and hands blocks off while draining; serves as before once undrained. */
  setDraining (draining: boolean): void {
    this.draining = draining
    this.service.setAccepting(!draining)
    this.replicator.setDraining(draining)
  }

  /** Membership changed: placement may have moved, so repair soon. */
  membershipChanged (): void {
    this.replicator.trigger()
  }

  status (): StorageStatus {
    return {
      blocks: this.store.blockCount,
      storedBytes: this.store.usedBytes,
      capacityBytes: this.store.capacityBytes,
      underReplicated: this.replicator.lastReport.underReplicated,
      repairQueue: this.replicator.repairQueue,
      leases: this.store.leaseCount
    }
  }
}
